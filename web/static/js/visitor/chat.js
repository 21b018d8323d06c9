// The visitor's chat page: start an anonymous conversation (or reopen the one this tab keeps),
// show the resume code once, wait in the queue, and talk. Every word is encrypted here before it
// leaves (chat/session.js); if any cryptographic step fails, nothing is sent (fail closed).

import { b64decode, fromHex, ProtocolError, resumeConversation, shortCentreFingerprint, toHex } from "../protocol.js";
import { FrameRouter } from "../chat/router.js";
import { ChatSession } from "../chat/session.js";
import { Announcer } from "../shared/announcer.js";
import { wireComposer } from "../shared/composer.js";
import { byId, showView } from "../shared/dom.js";
import { pagePin, TrustProblem, trustFrom } from "../shared/trust.js";
import { api, ApiError } from "./api.js";
import { lastRequest, renderStatus, renderTranscript, renderTyping } from "./chat-view.js";
import { Consent } from "./consent.js";
import { describe, wireInterpreterForm } from "./interpreter-form.js";
import { Members } from "./members.js";
import { askToDelete, deleteChoice, forgetEverything, goneText } from "./deletion.js";
import { Move } from "./move.js";
import { socketUrl, VisitorSocket } from "./socket.js";
import { start, takeBooking } from "./start.js";
import { t } from "./strings.js";

const QUEUE_MIN_GAP_MS = 2000;

const app = byId("chat-app");
const views = [...app.querySelectorAll(".view")];
const show = (id) => showView(id, views);

// The page never adds history entries; drop anything after the path (nothing should be there).
history.replaceState(null, "", window.location.pathname);

const chat = {
  token: null,
  session: null,
  socket: null,
  status: null,
  counsellorId: null, // who has it, as the server says
  standing: null, // place in the queue: the pushed `standing` frame (or GET /api/visitor/queue)
  lastQueueFetch: 0,
  extra: new Map(), // seq -> notes found later (an invitation that could not be verified)
  finished: false,
  drawing: false,
  announcer: new Announcer(byId("announcer")), // new messages, read out (shared/announcer.js)
};
/** Who is in the conversation, and the interpreters asking to join: new, knowing nobody. */
function freshMembers() {
  chat.members = new Members({ changed: draw, remove: removeInterpreter });
  chat.consent = new Consent({
    session: () => chat.session,
    remove: removeInterpreter,
    note: (seq, text) => {
      chat.extra.set(seq, [...(chat.extra.get(seq) ?? []), text]);
      draw();
    },
    request: () => (lastRequest(chat.session) ? describe(lastRequest(chat.session)) : null),
  });
  chat.move ??= new Move({
    session: () => chat.session,
    decline: () => chat.socket?.send({ type: "decline_move", conversation: chat.session?.id, ref: "decline_move" }),
    failed: showChatError,
  });
  chat.move.offer = null;
  chat.move.shareWith = false;
  chat.move.render();
}
freshMembers();

// --- failing closed -----------------------------------------------------------------

function failureText(error) {
  if (error instanceof TrustProblem) return t("error_trust");
  if (error instanceof ProtocolError) return error.code === "no_recipients" ? t("error_no_counsellors") : t("error_crypto");
  if (error instanceof ApiError) return error.serverMessage || t("error_network");
  if (error && error.message === "no_directory") return t("error_no_counsellors");
  return t("error_network");
}

function fail(error) {
  byId("error-text").textContent = failureText(error);
  show("view-error");
}

function showChatError(text) {
  byId("chat-error").textContent = text;
  byId("chat-error").hidden = false;
}

// --- the chat ------------------------------------------------------------------------

function openChat(stored, conversation, resumeState, firstMessages) {
  chat.token = stored.token;
  show("view-chat");
  showCentreFingerprint();
  const me = toHex((conversation ?? resumeState).me.memberId);
  const open = async (genesis) => {
    const conversation = await resumeConversation(resumeState, genesis); // under the root sealed in her state
    await knowThisCentre(conversation);
    return conversation;
  };
  const isRead = () => document.visibilityState === "visible";
  const send = (frame) => chat.socket.send(frame);
  const directory = async () => {
    const published = await api.directory(); // verified by the chat core under the conversation's anchors
    return published.directory ? b64decode(published.directory) : null;
  };
  chat.session = new ChatSession({ id: stored.conversation, me, visitor: true, conversation, open, send, isRead, directory });
  chat.session.on(onEvent);
  const router = new FrameRouter(onFrame);
  router.add(chat.session);
  chat.session.follow();
  const booked = takeBooking();
  if (booked) chat.session.writeJson(booked); // booked from this chat: tell the counsellor, encrypted
  for (const value of firstMessages) chat.session.writeJson(value); // e.g. an interpreter request
  chat.router = router;
  connect(socketUrl());
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") chat.session?.seen();
  });
  const composer = wireComposer({
    form: byId("composer"),
    input: byId("message-text"),
    current: () => chat.session,
    canWrite: (session) => !session.broken && chat.status !== "closed",
    send: (session, text) => session.write(text),
  });
  composer.show(chat.session);
  wireActions();
  wireInterpreterForm({
    send: (request) => Boolean(chat.session && !chat.session.broken && chat.session.writeJson(request)),
    invalid: () => showChatError(t("interpreter_invalid")),
  });
  setInterval(() => renderTyping(chat), 1000);
  draw();
}

/** A conversation that was moved to the centre of this page (PROTOCOL.md §8.6): its move commit
 * verifies against this centre's root, chained to the pin this page carries. */
async function knowThisCentre(conversation) {
  try {
    const own = await trustFrom(await api.directory());
    if (toHex(own.centreId) !== toHex(conversation.centreId)) conversation.knowCentre(own);
  } catch {
    // No verified root here: a move to this centre cannot be accepted (fail closed).
  }
}

/** The websocket at `url` (this centre's, or the one the conversation moved to). */
function connect(url) {
  const router = chat.router;
  chat.socket = new VisitorSocket(
    chat.token,
    {
      welcome: () => {
        setConnection("");
        router.connected();
        refreshQueue(true); // once per connection; after that the server pushes `standing`
      },
      frame: (frame) => router.route(frame),
      down: () => {
        router.disconnected();
        setConnection(t("offline"));
      },
      unauthorized: () => finish(t("gone")),
    },
    { url },
  );
  setConnection(t("connecting"));
  chat.socket.start();
}

/** The conversation moved to another centre (PROTOCOL.md §8.6): from now on this page talks to
 * that centre's address (its API and websocket), where the same token works. */
function followMove(frame) {
  if (typeof frame.address !== "string" || !/^\/c\/[a-z0-9-]{1,40}$/.test(frame.address)) return;
  let root = document.querySelector('meta[name="trygg-root"]');
  if (!root) {
    root = document.createElement("meta");
    root.name = "trygg-root";
    document.head.append(root);
  }
  root.content = frame.address;
  // A reload opens the conversation at its new centre's page (the token works only there).
  history.replaceState(null, "", `${frame.address}/${app.dataset.lang}/chat`);
  chat.socket?.stop();
  chat.router.disconnected();
  chat.standing = null;
  byId("moved-note").textContent = t("moved", { centre: String(frame.name ?? "") });
  byId("moved-note").hidden = false;
  byId("centre-fingerprint").hidden = true; // the leaflet's number was the other centre's
  connect(socketUrl(window.location, frame.address));
}

/** The centre's short fingerprint (from the pin this page carries), to compare with the leaflet. */
function showCentreFingerprint() {
  const pin = pagePin();
  const box = byId("centre-fingerprint");
  if (!pin || !box) return;
  shortCentreFingerprint(pin).then((digits) => {
    box.textContent = t("centre_fingerprint", { number: digits });
    box.hidden = false;
  });
}

function setConnection(text) {
  if (byId("connection").textContent !== text) byId("connection").textContent = text; // a status region
  draw();
}

function onEvent(name, detail) {
  if (chat.finished) return;
  if (name === "entry") chat.consent.entry(detail.entry);
  else if (name === "status") {
    chat.move.status(detail.moveTo, detail.status, detail.counsellor);
    onStatus(detail.status, detail.counsellor);
  }
  else if (name === "failed" && detail.item.kind === "op") {
    showChatError(t("interpreter_failed"));
    chat.consent.render();
  } else if (name === "broken") {
    showChatError(t("error_broken"));
    chat.socket?.stop();
    setComposerEnabled(false);
  } else if (name === "gone") {
    finish(t("gone"));
    return;
  }
  draw();
}

/** Frames no conversation takes: where I am in the queue, pushed by the server. */
function onFrame(frame) {
  if (frame.type === "moved" && !chat.finished && frame.conversation === chat.session?.id) followMove(frame);
  if (frame.type !== "standing" || chat.finished) return;
  chat.standing = frame;
  onStatus(frame.status);
}

/** Draw the page once after the current burst of changes. */
function draw() {
  if (chat.drawing || !chat.session) return;
  chat.drawing = true;
  queueMicrotask(() => {
    chat.drawing = false;
    if (chat.finished) return;
    renderTranscript(chat);
    renderStatus(chat);
    showConversationCode();
  });
}

/** The conversation code with the counsellor I talk to (PROTOCOL.md §14.3), for comparing by
 * phone; worked out again whenever the counsellor or the epoch changes. */
function showConversationCode() {
  const box = byId("conversation-code");
  const conversation = chat.session?.conversation;
  const id = chat.status === "active" ? chat.members.view.counsellor : null;
  const member = id ? chat.members.view.known.get(id) : null;
  const key = conversation && member ? `${id}:${conversation.epoch}` : null;
  if (key === chat.codeKey) return;
  chat.codeKey = key;
  if (!key) {
    box.hidden = true;
    box.textContent = "";
    return;
  }
  conversation
    .conversationCode(fromHex(id))
    .then((code) => {
      if (chat.codeKey !== key) return;
      box.textContent = t("conversation_code", { name: member.name, code });
      box.hidden = false;
    })
    .catch(() => {
      box.hidden = true; // not a member of this epoch: nothing to compare
    });
}

// --- status and queue ------------------------------------------------------------------

async function refreshQueue(force) {
  if (!chat.token || chat.finished) return;
  if (!force && chat.status !== null && chat.status !== "queued") return;
  if (!force && Date.now() - chat.lastQueueFetch < QUEUE_MIN_GAP_MS) return;
  chat.lastQueueFetch = Date.now();
  try {
    chat.standing = await api.queue(chat.token);
    onStatus(chat.standing.status);
  } catch (error) {
    if (error instanceof ApiError && (error.status === 401 || error.status === 404)) finish(t("gone"));
  }
}

function onStatus(status, counsellor) {
  const changed = status !== chat.status;
  chat.status = status;
  if (counsellor !== undefined) chat.counsellorId = counsellor;
  if (status === "deleted") {
    finish(t("gone"));
    return;
  }
  if (status === "queued" && changed) refreshQueue(false);
  setComposerEnabled(status !== "closed");
  byId("end").hidden = status === "closed";
  draw();
}

function setComposerEnabled(enabled) {
  byId("message-text").disabled = !enabled;
  byId("send").disabled = !enabled;
}

/** Commit the member list without `id` (a new epoch they have no key for). */
function removeInterpreter(id) {
  if (chat.session && !chat.session.broken) chat.session.removeMembers([id]);
}

// --- ending and deleting ----------------------------------------------------------------------

function wireActions() {
  byId("end").addEventListener("click", async () => {
    byId("end").disabled = true;
    try {
      await api.end(chat.token);
      onStatus("closed", chat.counsellorId);
    } catch {
      showChatError(t("end_failed"));
    } finally {
      byId("end").disabled = false;
    }
  });
  byId("delete").addEventListener("click", async () => {
    byId("delete").disabled = true;
    try {
      const transcript = chat.session?.transcript.entries ?? [];
      await askToDelete({ token: chat.token, transcript, lang: app.dataset.lang, timeZone: app.dataset.timeZone });
    } finally {
      byId("delete").disabled = false;
    }
  });
  byId("delete-no").addEventListener("click", () => {
    byId("confirm-delete").hidden = true;
    byId("delete").focus();
  });
  byId("delete-yes").addEventListener("click", async () => {
    byId("delete-yes").disabled = true;
    const choice = deleteChoice();
    const text = goneText(choice);
    try {
      await api.remove(chat.token, choice);
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 401)) {
        byId("delete-yes").disabled = false;
        showChatError(t("delete_failed"));
        return;
      }
    }
    finish(text);
  });
}

/** The conversation is gone (deleted here or elsewhere): forget everything this tab held of it
 * and of its bookings (the holder token from /book, a booking note not yet posted). */
function finish(text) {
  if (chat.finished) return;
  chat.finished = true;
  chat.socket?.stop();
  chat.session?.shred();
  forgetEverything();
  chat.session = null;
  chat.token = null;
  chat.standing = null;
  chat.counsellorId = null;
  chat.extra.clear();
  chat.announcer.clear();
  chat.codeKey = null;
  freshMembers(); // the names and security numbers go with the rest
  for (const id of ["messages", "outbox", "counsellors", "chat-status", "typing", "consent-who", "consent-language", "consent-fingerprint", "conversation-code"]) {
    byId(id).replaceChildren();
  }
  delete byId("chat-status").dataset.said;
  byId("consent").hidden = true;
  byId("message-text").value = "";
  if (text) byId("gone-text").textContent = text;
  show("view-gone");
}

// --- the page ----------------------------------------------------------------------------------

start({ open: openChat, fail, show });

// The visitor's chat page: start an anonymous conversation (or reopen the one this tab
// keeps), show the resume code once, wait in the queue, and talk.  Every word is encrypted
// here before it leaves; if any cryptographic step fails, nothing is sent (fail closed).

import {
  b64decode,
  b64encode,
  createConversation,
  deriveResumeKeys,
  fingerprint,
  fromHex,
  generateResumeCode,
  importVisitorState,
  ProtocolError,
  Role,
  toHex,
  verifyCertificate,
} from "../protocol.js";
import { describeRequest, interpreterRequest, readDeclined, readInterpreterRequest, searchLanguages } from "../shared/interpreter-request.js";
import { api, ApiError } from "./api.js";
import { ChatClient } from "./client.js";
import { byId, el, showView } from "../shared/dom.js";
import { clearSession, loadSession, saveSession } from "./session.js";
import { VisitorSocket } from "./socket.js";
import { t } from "./strings.js";

const QUEUE_POLL_MS = 15000;
const QUEUE_MIN_GAP_MS = 2000;

const app = byId("chat-app");
const lang = app.dataset.lang;
const openNow = app.dataset.open === "true";
const views = [...app.querySelectorAll(".view")];
const show = (id) => showView(id, views);

// The page never adds history entries; drop anything after the path (nothing should be there).
history.replaceState(null, "", window.location.pathname);

const chat = {
  token: null,
  client: null,
  socket: null,
  status: null,
  standing: null,
  lastQueueFetch: 0,
  poller: null,
  members: new Map(), // member id hex -> { name, role, fingerprint }
  staffNow: [], // staff in the current epoch
  counsellorId: null,
  membership: Promise.resolve(), // member changes are shown one after another, in order
  pendingCommit: null, // {detail, ready, timer}: a commit whose meaning the counsellor's marker settles
  mine: new Map(), // seq -> receipt <span> of my messages
  pending: new Map(), // clientId -> <li>
  receipts: { delivered: -1, read: -1 },
  typingTimer: null,
  finished: false,
  invitations: new Map(), // interpreter id hex -> {cert, name, fingerprint, language}: waiting for my answer
  answered: new Set(), // interpreter ids I said "no thanks" to (until they are invited again)
  lastRequest: null, // my latest interpreter request, for the consent box
  leaving: new Map(), // interpreter id hex -> timer: they asked to leave; commit if nobody else does
};

const LEAVE_FALLBACK_MS = 10000;

// --- failing closed -----------------------------------------------------------------

function failureText(error) {
  if (error instanceof ProtocolError) {
    return error.code === "no_recipients" ? t("error_no_counsellors") : t("error_crypto");
  }
  if (error instanceof ApiError) return error.serverMessage || t("error_network");
  if (error && error.message === "no_directory") return t("error_no_counsellors");
  return t("error_network");
}

function fail(error) {
  byId("error-text").textContent = failureText(error);
  show("view-error");
}

// --- starting -----------------------------------------------------------------------

async function prepare() {
  show("view-preparing");
  byId("preparing-status").textContent = t("preparing");
  const directory = await api.directory();
  if (!directory.directory) throw new Error("no_directory");
  const centreId = fromHex(directory.centre_id);
  const code = generateResumeCode();
  const keys = await deriveResumeKeys(code, centreId);
  const created = await createConversation({
    directory: b64decode(directory.directory),
    anchors: directory.anchors.map((a) => b64decode(a)),
    resumeKeys: keys,
  });
  return { code, keys, created, centreId };
}

function showCode(prepared) {
  const codeBox = byId("resume-code");
  codeBox.textContent = prepared.code;
  const written = byId("written-down");
  const next = byId("continue");
  written.checked = false;
  next.disabled = true;
  written.addEventListener("change", () => {
    next.disabled = !written.checked;
  });
  byId("copy-code").addEventListener("click", async () => {
    const status = byId("copy-status");
    try {
      await navigator.clipboard.writeText(prepared.code);
      status.textContent = t("copied");
    } catch {
      window.getSelection()?.selectAllChildren(codeBox);
      status.textContent = t("copy_failed");
    }
  });
  next.addEventListener("click", () => create(prepared), { once: true });
  show("view-code");
}

async function create({ keys, created, centreId }) {
  byId("continue").disabled = true;
  const body = {
    conversation: toHex(created.conversation.conversationId),
    lookup: toHex(keys.lookupId),
    verifier: b64encode(keys.accessVerifier),
    state: b64encode(created.visitorState),
    genesis: b64encode(created.genesis),
    language: lang,
  };
  let answer;
  try {
    answer = await api.create(body);
  } catch (error) {
    fail(error);
    return;
  } finally {
    byId("resume-code").textContent = ""; // shown once: gone from the page now
  }
  const session = {
    conversation: body.conversation,
    token: answer.token,
    state: body.state,
    stateKey: b64encode(keys.stateKey),
    iterations: keys.iterations,
    centreId: toHex(centreId),
  };
  try {
    saveSession(session, byId("keep-signed-in").checked);
  } catch {
    // Storage refused (some private modes): the chat still works until the tab closes.
  }
  openChat(session, created.conversation, null);
  const request = byId("need-interpreter").checked ? readRequestForm("interpreter-") : null;
  if (request) chat.client.writeJson(request);
}

// --- asking for an interpreter ------------------------------------------------------------

/** The server's list of languages, each named in itself: [{code, name}]. */
const LANGUAGES = (() => {
  try {
    const raw = JSON.parse(byId("interpreter-languages")?.textContent || "[]");
    return raw
      .map((entry) => (Array.isArray(entry) ? { code: entry[0], name: entry[1] } : { code: entry.code, name: entry.name ?? entry.endonym }))
      .filter((entry) => typeof entry.code === "string" && typeof entry.name === "string");
  } catch {
    return [];
  }
})();
const LANGUAGE_CODES = new Set(LANGUAGES.map((l) => l.code));

function displayNames(locale) {
  try {
    return new Intl.DisplayNames([locale], { type: "language" });
  } catch {
    return null;
  }
}
const pageNames = displayNames(lang);
const englishNames = displayNames("en");

/** Names to search by besides the language's own: in the page's language and in English. */
function otherNames(code) {
  const names = [];
  for (const names_ of [pageNames, englishNames]) {
    try {
      const name = names_?.of(code);
      if (name && name !== code) names.push(name);
    } catch {
      // an unknown code: search by its own name only
    }
  }
  return names;
}

/** Filter the language <select> as the visitor types in the search box above it. */
function wireLanguageFilter(prefix) {
  const filter = byId(`${prefix}language-filter`);
  const select = byId(`${prefix}language`);
  if (!filter || !select) return;
  filter.addEventListener("input", () => {
    const chosen = select.value;
    const shown = searchLanguages(LANGUAGES, filter.value, otherNames);
    const options = shown.map((l) => el("option", { value: l.code, lang: l.code }, l.name));
    select.replaceChildren(...options);
    if (shown.some((l) => l.code === chosen)) select.value = chosen;
    else if (shown.length) select.value = shown[0].code;
  });
  filter.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown") {
      event.preventDefault();
      select.focus();
    }
  });
}

/** The request the form with ids `prefix…` describes, checked; null if it is not valid. */
function readRequestForm(prefix) {
  const mode = document.querySelector(`input[name="${prefix}mode"]:checked`)?.value ?? "";
  return interpreterRequest(
    {
      language: byId(`${prefix}language`).value,
      dialect: byId(`${prefix}dialect`).value,
      mode,
      gender: byId(`${prefix}gender`).value,
    },
    LANGUAGE_CODES.size ? LANGUAGE_CODES : null,
  );
}

function describe(request) {
  return describeRequest(request, languageName, {
    dialect: t("dialect_value"),
    in_person: t("mode_in_person"),
    remote: t("mode_remote"),
    female: t("gender_female"),
    male: t("gender_male"),
  });
}

function wireInterpreterForm() {
  const form = byId("interpreter-form");
  wireLanguageFilter("chat-interpreter-");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!chat.client || chat.client.broken) return;
    const request = readRequestForm("chat-interpreter-");
    if (!request) {
      showChatError(t("interpreter_invalid"));
      return;
    }
    chat.client.writeJson(request);
    byId("ask-interpreter").open = false;
    byId("chat-interpreter-dialect").value = "";
  });
}

function languageName(code) {
  try {
    return pageNames?.of(code) || LANGUAGES.find((l) => l.code === code)?.name || code;
  } catch {
    return LANGUAGES.find((l) => l.code === code)?.name || code;
  }
}

async function reopen(session) {
  show("view-preparing");
  byId("preparing-status").textContent = t("connecting");
  let resumeState;
  try {
    const keys = { stateKey: b64decode(session.stateKey), iterations: session.iterations, centreId: fromHex(session.centreId) };
    resumeState = await importVisitorState(b64decode(session.state), keys);
  } catch (error) {
    clearSession();
    fail(error);
    return;
  }
  openChat(session, null, resumeState);
}

// --- the chat ------------------------------------------------------------------------

function openChat(session, conversation, resumeState) {
  chat.token = session.token;
  show("view-chat");
  renderStatus();
  chat.client = new ChatClient({
    conversationId: session.conversation,
    conversation,
    resumeState,
    send: (frame) => chat.socket.send(frame),
    emit: onEvent,
    isVisible: () => document.visibilityState === "visible",
  });
  const booked = takeBooking();
  if (booked) chat.client.writeJson(booked); // booked from this chat: tell the counsellor, encrypted
  chat.socket = new VisitorSocket(session.token, {
    welcome: () => {
      setConnection("");
      chat.client.connected();
      refreshPending();
    },
    frame: (frame) => chat.client.frame(frame),
    down: () => {
      chat.client.disconnected();
      setConnection(t("offline"));
      refreshPending();
    },
    unauthorized: () => finish(t("gone")),
  });
  setConnection(t("connecting"));
  chat.socket.start();
  refreshQueue(true);
  chat.poller = setInterval(() => refreshQueue(false), QUEUE_POLL_MS);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") chat.client?.seen();
  });
  wireComposer();
  wireActions();
  wireConsent();
  wireInterpreterForm();
}

function setConnection(text) {
  byId("connection").textContent = text;
}

function onEvent(name, detail) {
  if (chat.finished) return;
  switch (name) {
    case "message":
      addMessage(detail);
      break;
    case "data":
      if (detail.item) dropPending(detail.item.clientId);
      if (detail.mine && readInterpreterRequest(detail.value)) {
        chat.lastRequest = readInterpreterRequest(detail.value);
        addNote(t("interpreter_requested", { language: describe(chat.lastRequest) }));
      } else if (detail.mine && readDeclined(detail.value)) {
        onDeclined(readDeclined(detail.value));
      } else if (!detail.mine && detail.value.kind === "handover") {
        onHandover(detail.value, detail.senderId);
      } else if (detail.mine && detail.value.kind === "booking" && typeof detail.value.start === "string") {
        addNote(t("booked", { when: bookingTime(detail.value.start), reference: String(detail.value.reference) }));
      }
      break;
    case "members":
      updateMembers(detail);
      break;
    case "proposal":
      onProposal(detail);
      break;
    case "history":
      if (detail.item) addNote(t("history_shared"));
      break;
    case "status":
      onStatus(detail.status, detail.counsellor);
      break;
    case "receipts":
      chat.receipts = detail;
      for (const [seq, span] of chat.mine) span.textContent = receiptText(seq);
      break;
    case "typing":
      showTyping(detail.member, detail.seconds);
      break;
    case "settled":
      dropPending(detail.item.clientId);
      break;
    case "failed":
      markFailed(detail.item.clientId);
      if (detail.item.kind === "op") {
        showChatError(t("interpreter_failed"));
        renderConsent();
      }
      break;
    case "broken":
      showChatError(t("error_broken"));
      chat.socket?.stop();
      setComposerEnabled(false);
      break;
    case "gone":
      finish(t("gone"));
      break;
    default:
      break;
  }
}

// --- status and queue ------------------------------------------------------------------

async function refreshQueue(force) {
  if (!chat.token || chat.finished) return;
  if (!force && chat.status !== null && chat.status !== "queued") return;
  if (!force && Date.now() - chat.lastQueueFetch < QUEUE_MIN_GAP_MS) return;
  chat.lastQueueFetch = Date.now();
  try {
    const standing = await api.queue(chat.token);
    chat.standing = standing;
    onStatus(standing.status, chat.counsellorId);
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
  renderStatus();
}

function renderStatus() {
  const box = byId("chat-status");
  const lines = [];
  const status = chat.status;
  if (status === "queued" || status === null) {
    lines.push(t("waiting"));
    const standing = chat.standing;
    if (standing && standing.status === "queued") {
      if (standing.position) lines.push(t("queue_position", { position: standing.position }));
      lines.push(
        standing.estimated_wait_minutes === null
          ? t("queue_no_estimate")
          : t("queue_estimate", { minutes: standing.estimated_wait_minutes }),
      );
      if (!standing.open_now) lines.push(t("queue_closed"));
    } else if (!openNow) {
      lines.push(t("queue_closed"));
    }
  } else if (status === "active") {
    const counsellor = chat.counsellorId ? chat.members.get(chat.counsellorId) : null;
    lines.push(counsellor ? t("talking_to", { name: counsellor.name }) : t("status_active"));
  } else if (status === "closed") {
    lines.push(t("status_closed"));
  }
  box.replaceChildren(...lines.map((line) => el("p", {}, line)));
}

// --- a booking made from this chat ------------------------------------------------------------

const BOOKED_KEY = "trygg.booked"; // left by /book when the booking was made from this chat

/** The booking the booking page left for this chat, once (then forgotten). */
function takeBooking() {
  let value = null;
  try {
    value = JSON.parse(sessionStorage.getItem(BOOKED_KEY) ?? "null");
  } catch {
    value = null;
  }
  sessionStorage.removeItem(BOOKED_KEY);
  if (!value || typeof value.reference !== "string" || typeof value.start !== "string") return null;
  if (!["in_person", "phone", "video"].includes(value.meeting)) return null;
  return { kind: "booking", reference: value.reference, start: value.start, meeting: value.meeting };
}

function bookingTime(start) {
  const when = new Date(start);
  if (Number.isNaN(when.getTime())) return start;
  const timeZone = byId("chat-app").dataset.timeZone || undefined;
  return when.toLocaleString(lang, { timeZone, dateStyle: "full", timeStyle: "short" });
}

// --- members (who can read), with fingerprints --------------------------------------------

const HANDOVER_WAIT_MS = 3000;

/** Learn the names and fingerprints of members not seen before. */
async function learnMembers(members) {
  for (const m of members) {
    const id = toHex(m.memberId);
    if (!chat.members.has(id)) {
      const name = m.displayName || (m.role === Role.INTERPRETER ? t("interpreter") : t("counsellor"));
      chat.members.set(id, { name, role: m.role, fingerprint: await fingerprint(m.memberId, m.sigPublic, m.kemPublic) });
    }
  }
}

// Decided at once, in transcript order (a handover marker may follow its commit immediately);
// shown once the new members' fingerprints are known.
function updateMembers(detail) {
  const { members } = detail;
  const ready = learnMembers(members);
  settleCommit(null); // an earlier commit still waiting for its marker: read it as it stands
  const committer = members.find((m) => toHex(m.memberId) === detail.senderId);
  const counsellors = members.filter((m) => m.role === Role.COUNSELLOR).length;
  for (const id of detail.added) closeInvitation(id); // they are in: nothing left to answer
  if (counsellors > 3) {
    showMembership(detail, "release", ready); // a return to the queue lists every counsellor
  } else if (committer?.role === Role.COUNSELLOR && detail.added.length && !detail.removed.length) {
    // A transfer, or — when the centre has two counsellors — a return to the queue: the same
    // member list. The counsellor's signed handover marker, sent right after, tells which.
    chat.pendingCommit = { detail, ready, timer: setTimeout(() => settleCommit(null), HANDOVER_WAIT_MS) };
  } else {
    showMembership(detail, "change", ready);
  }
}

/** Show the commit that waits for a handover marker, as `action` says (null: as it looks). */
function settleCommit(action) {
  const pending = chat.pendingCommit;
  if (!pending) return;
  chat.pendingCommit = null;
  clearTimeout(pending.timer);
  showMembership(pending.detail, action === "release" ? "release" : "change", pending.ready);
}

function onHandover(value, senderId) {
  const pending = chat.pendingCommit;
  if (pending && pending.detail.seq === value.commit && pending.detail.senderId === senderId) settleCommit(value.action);
}

function showMembership({ members, added, removed }, kind, ready) {
  chat.membership = chat.membership.then(async () => {
    await ready;
    chat.staffNow = members.map((m) => toHex(m.memberId));
    const small = kind !== "release";
    const note = (id, key) => {
      const member = chat.members.get(id);
      if (!member) return;
      addNote(t(member.role === Role.INTERPRETER ? `interpreter_${key}` : key, { name: member.name }));
    };
    for (const id of removed) {
      clearTimeout(chat.leaving.get(id));
      chat.leaving.delete(id);
    }
    if (small) {
      for (const id of added) note(id, "joined");
      for (const id of removed) note(id, "left");
      if (!chat.counsellorId || !chat.staffNow.includes(chat.counsellorId)) {
        const counsellor = chat.staffNow.find((id) => chat.members.get(id)?.role === Role.COUNSELLOR);
        chat.counsellorId = counsellor ?? null;
      }
    }
    renderMembers(small);
    renderStatus();
  });
}

function renderMembers(small) {
  const box = byId("counsellors");
  if (!small || chat.staffNow.length === 0) {
    box.hidden = true;
    box.replaceChildren();
    return;
  }
  const rows = [];
  for (const id of chat.staffNow) {
    const member = chat.members.get(id);
    if (!member) continue;
    const short = member.fingerprint.split(" ").slice(0, 2).join(" ");
    const role = member.role === Role.INTERPRETER ? t("interpreter") : t("counsellor");
    rows.push(
      el("div", { class: "member", "data-member": id },
        el("p", {}, el("strong", { class: "member-name" }, member.name), ` (${role})`),
        el("details", {},
          el("summary", {}, t("fingerprint", { number: short })),
          el("p", { class: "fingerprint" }, member.fingerprint)),
        member.role === Role.INTERPRETER ? removeButton(id, member.name) : null),
    );
  }
  box.replaceChildren(...rows);
  box.hidden = false;
}

function removeButton(id, name) {
  const button = el("button", { type: "button", class: "remove-member", "data-remove": id }, t("remove_interpreter", { name }));
  button.addEventListener("click", () => {
    button.disabled = true;
    removeInterpreter(id);
  });
  return button;
}

/** Commit the member list without `id` (a new epoch they have no key for). */
function removeInterpreter(id) {
  if (!chat.client || chat.client.broken) return;
  chat.client.membership("remove", async (conversation) => {
    if (!conversation.members.some((m) => toHex(m.memberId) === id)) return null; // already gone
    return { type: "commit", message: await conversation.removeMember(fromHex(id)) };
  });
}

// --- an interpreter asks to join: verify, ask the visitor, commit or decline -----------------

async function onProposal({ proposal, senderId, senderRole }) {
  const conversation = chat.client?.conversation;
  if (!conversation) return;
  if (proposal.action === 2) {
    // "Leave": an interpreter asks to be removed. Their counsellor's client commits it; if
    // nobody has after a while, this client does (only if they are still a member then).
    const id = toHex(proposal.value);
    if (id !== senderId || senderRole !== Role.INTERPRETER || chat.leaving.has(id)) return;
    chat.leaving.set(id, setTimeout(() => removeInterpreter(id), LEAVE_FALLBACK_MS));
    return;
  }
  if (proposal.action !== 1 || senderRole !== Role.COUNSELLOR) return;
  let cert;
  let number;
  try {
    cert = await verifyCertificate(proposal.value, conversation.anchors, Math.floor(Date.now() / 1000));
    if (cert.role !== Role.INTERPRETER || toHex(cert.centreId) !== toHex(conversation.centreId)) throw new ProtocolError("bad_certificate");
    number = await fingerprint(cert.staffId, cert.sigPublic, cert.kemPublic);
  } catch {
    addNote(t("invitation_unverified")); // fail closed: nobody is asked about, nobody joins
    return;
  }
  const id = toHex(cert.staffId);
  if (conversation.members.some((m) => toHex(m.memberId) === id)) return; // already in
  chat.answered.delete(id);
  chat.invitations.set(id, { cert, name: cert.displayName, fingerprint: number });
  renderConsent();
}

function closeInvitation(id) {
  if (chat.invitations.delete(id)) renderConsent();
}

function onDeclined(id) {
  chat.answered.add(id);
  const invitation = chat.invitations.get(id);
  closeInvitation(id);
  if (invitation) addNote(t("you_declined", { name: invitation.name }));
}

function currentInvitation() {
  const open = [...chat.invitations.entries()].filter(([id]) => !chat.answered.has(id));
  return open.length ? open[open.length - 1] : null;
}

function renderConsent() {
  const box = byId("consent");
  const current = currentInvitation();
  if (!current) {
    box.hidden = true;
    delete box.dataset.member;
    return;
  }
  const [id, invitation] = current;
  const wasShown = !box.hidden && box.dataset.member === id;
  box.dataset.member = id;
  byId("consent-who").textContent = t("consent_who", { name: invitation.name, role: t("interpreter") });
  byId("consent-language").textContent = chat.lastRequest
    ? t("consent_language", { language: describe(chat.lastRequest) })
    : "";
  byId("consent-fingerprint").textContent = invitation.fingerprint;
  for (const id_ of ["consent-yes", "consent-no"]) byId(id_).disabled = false;
  if (!wasShown) byId("consent-history").checked = false; // off unless the visitor ticks it
  box.hidden = false;
  if (!wasShown) byId("consent-heading").focus();
}

function wireConsent() {
  byId("consent-yes").addEventListener("click", () => {
    const current = currentInvitation();
    if (!current || !chat.client || chat.client.broken) return;
    const [id, invitation] = current;
    const withHistory = byId("consent-history").checked;
    byId("consent-yes").disabled = byId("consent-no").disabled = true;
    chat.client.membership("add", async (conversation) => {
      if (conversation.members.some((m) => toHex(m.memberId) === id)) return null;
      return { type: "commit", message: await conversation.addMember(invitation.cert.raw) };
    });
    if (withHistory) {
      chat.client.membership("history", async (conversation) => {
        // Only once they are in, and only the epochs before the one that let them in.
        const inside = conversation.members.some((m) => toHex(m.memberId) === id);
        const epochs = conversation.knownEpochs().filter((e) => e < conversation.epoch);
        if (!inside || epochs.length === 0) return null;
        return { type: "send", message: await conversation.shareHistory(fromHex(id), epochs) };
      });
    }
  });
  byId("consent-no").addEventListener("click", () => {
    const current = currentInvitation();
    if (!current || !chat.client || chat.client.broken) return;
    chat.answered.add(current[0]);
    chat.client.writeJson({ kind: "interpreter_declined", member: current[0] });
    renderConsent();
  });
}

// --- the transcript ------------------------------------------------------------------------

function timeOf(at) {
  const when = at ? new Date(at) : new Date();
  return Number.isNaN(when.getTime()) ? "" : when.toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit" });
}

function receiptText(seq) {
  if (chat.receipts.read >= seq) return t("read");
  if (chat.receipts.delivered >= seq) return t("delivered");
  return t("sent");
}

function senderName(detail) {
  const member = chat.members.get(detail.senderId);
  if (member) return member.name;
  const current = chat.client?.conversation?.members ?? [];
  const found = current.find((m) => toHex(m.memberId) === detail.senderId);
  if (found && found.displayName) return found.displayName;
  return detail.senderRole === Role.INTERPRETER ? t("interpreter") : t("counsellor");
}

function addMessage(detail) {
  if (detail.item) dropPending(detail.item.clientId);
  const meta = el("p", { class: "meta" }, el("span", { class: "who" }, detail.mine ? t("you") : senderName(detail)), el("time", {}, timeOf(detail.at)));
  if (detail.mine) {
    const receipt = el("span", { class: "receipt" }, receiptText(detail.seq));
    chat.mine.set(detail.seq, receipt);
    meta.append(receipt);
  }
  const item = el("li", { class: `message ${detail.mine ? "mine" : "theirs"}`, "data-seq": detail.seq }, el("p", { class: "text" }, detail.text), meta);
  byId("messages").append(item);
  if (!detail.mine) showTyping(detail.senderId, 0);
  item.scrollIntoView({ block: "nearest" });
}

function addNote(text) {
  byId("messages").append(el("li", { class: "system-note" }, text));
}

function pendingText() {
  return chat.socket && chat.socket.up ? t("sending") : t("waiting_connection");
}

function addPending(item) {
  const li = el("li", { class: "message mine pending", "data-client-id": item.clientId },
    el("p", { class: "text" }, item.text),
    el("p", { class: "meta" }, el("span", { class: "receipt" }, pendingText())));
  chat.pending.set(item.clientId, li);
  byId("outbox").append(li);
  li.scrollIntoView({ block: "nearest" });
}

function refreshPending() {
  for (const li of chat.pending.values()) {
    if (!li.classList.contains("failed")) li.querySelector(".receipt").textContent = pendingText();
  }
}

function dropPending(clientId) {
  chat.pending.get(clientId)?.remove();
  chat.pending.delete(clientId);
}

function markFailed(clientId) {
  const li = chat.pending.get(clientId);
  if (!li) return;
  li.classList.add("failed");
  li.querySelector(".receipt").textContent = t("failed");
}

function showTyping(member, seconds) {
  const line = byId("typing");
  clearTimeout(chat.typingTimer);
  if (!seconds) {
    line.textContent = "";
    return;
  }
  const known = chat.members.get(member);
  line.textContent = known ? t("typing_named", { name: known.name }) : t("typing");
  chat.typingTimer = setTimeout(() => {
    line.textContent = "";
  }, seconds * 1000);
}

function showChatError(text) {
  const box = byId("chat-error");
  box.textContent = text;
  box.hidden = false;
}

// --- writing ---------------------------------------------------------------------------------

function setComposerEnabled(enabled) {
  byId("message-text").disabled = !enabled;
  byId("send").disabled = !enabled;
}

function wireComposer() {
  const form = byId("composer");
  const box = byId("message-text");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = box.value.trim();
    if (!text || !chat.client || chat.client.broken) return;
    addPending(chat.client.write(text));
    box.value = "";
    box.focus();
  });
  box.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  box.addEventListener("input", () => {
    if (box.value.trim()) chat.client?.typing();
  });
}

// --- ending and deleting ----------------------------------------------------------------------

function wireActions() {
  const confirmBox = byId("confirm-delete");
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
  byId("delete").addEventListener("click", () => {
    confirmBox.hidden = false;
    byId("confirm-heading").focus();
  });
  byId("delete-no").addEventListener("click", () => {
    confirmBox.hidden = true;
    byId("delete").focus();
  });
  byId("delete-yes").addEventListener("click", async () => {
    byId("delete-yes").disabled = true;
    try {
      await api.remove(chat.token);
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 401)) {
        byId("delete-yes").disabled = false;
        showChatError(t("delete_failed"));
        return;
      }
    }
    finish(null);
  });
}

/** The conversation is gone (deleted here or elsewhere): forget everything in this browser. */
function finish(text) {
  if (chat.finished) return;
  chat.finished = true;
  chat.socket?.stop();
  clearInterval(chat.poller);
  clearTimeout(chat.typingTimer);
  try {
    clearSession();
  } catch {
    // nothing stored
  }
  chat.client = null;
  chat.token = null;
  for (const id of ["messages", "outbox", "counsellors", "chat-status", "typing"]) byId(id).replaceChildren();
  byId("message-text").value = "";
  if (text) byId("gone-text").textContent = text;
  show("view-gone");
}

// --- the page ----------------------------------------------------------------------------------

function main() {
  let found = null;
  try {
    found = loadSession();
  } catch {
    found = null;
  }
  if (found) {
    reopen(found.session);
    return;
  }
  wireLanguageFilter("interpreter-");
  const need = byId("need-interpreter");
  need.addEventListener("change", () => {
    byId("interpreter-choice").hidden = !need.checked;
  });
  const start = byId("start");
  start.addEventListener("click", async () => {
    start.disabled = true;
    try {
      showCode(await prepare());
    } catch (error) {
      fail(error);
    }
  });
  start.disabled = false;
  show("view-start");
}

main();

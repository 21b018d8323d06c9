// /staff/chat: the counsellor's live dashboard. The queue (with waiting times, the visitor's
// interface language and — decrypted here — whether they asked for an interpreter), colleagues
// on duty, my open conversations, and the chat itself: claim, write, transfer, return to the
// queue, close with an outcome. Everything a person wrote is decrypted only in this browser.

import { el, say } from "../shared/dom.js";
import { staffApi } from "../shared/http.js";
import { format, pageStrings } from "../shared/strings.js";
import { certifies, identityForPage } from "./identity.js";
import { b64decode, ContentType, encodeAddProposal, fromHex, Role, toHex, utf8, verifyDirectory } from "./keys-lib.js";
import { describeRequest, rankInterpreters } from "../shared/interpreter-request.js";
import { StaffSocket } from "./socket.js";
import { wireComposer } from "./composer.js";
import { ChatConversation, handoverMarker } from "./conversation.js";
import { Notifier } from "./notify.js";
import * as canned from "./canned.js";

const t = pageStrings();
const $ = (id) => document.getElementById(id);
const RECEIPT_DELAY_MS = 600;

const state = {
  info: null, // my keys as the server has them
  identity: null,
  me: null,
  anchors: [],
  counsellors: new Map(), // staff id hex -> {name, certificate}, from the verified directory
  interpreters: new Map(), // staff id hex -> {name, certificate, languages}: verified directory + the server's list
  convs: new Map(), // conversation id -> ChatConversation
  queue: [], // conversation ids, oldest first
  onDuty: [],
  tabs: [], // conversation ids shown in "My conversations"
  selected: null,
  seenQueue: null, // ids already announced (null until the first queue frame)
  socket: null,
  notifier: null,
  queueNotice: "",
  receiptTimers: new Map(),
  receiptsSent: new Map(), // id -> {delivered, read}
  failed: new Map(), // id -> [{text, reason}]
  replies: [],
};

const languageNames = (() => {
  try {
    return new Intl.DisplayNames([document.documentElement.lang || "en"], { type: "language" });
  } catch {
    return null;
  }
})();

function languageName(code) {
  if (t.language_names?.[code]) return t.language_names[code];
  try {
    return languageNames?.of(code) || code;
  } catch {
    return code;
  }
}

/** The languages interpreters can be asked for, each named in itself (from the server's list). */
const ENDONYMS = (() => {
  try {
    const raw = JSON.parse($("interpreter-languages")?.textContent || "[]");
    return new Map(raw.map((e) => (Array.isArray(e) ? [e[0], e[1]] : [e.code, e.name ?? e.endonym])));
  } catch {
    return new Map();
  }
})();
const englishNames = (() => {
  try {
    return new Intl.DisplayNames(["en"], { type: "language" });
  } catch {
    return null;
  }
})();

/** An interpreter language as "ትግርኛ (Tigrinya)": in itself, and in English. */
function interpreterLanguage(code) {
  let english = code;
  try {
    english = englishNames?.of(code) || code;
  } catch {
    english = code;
  }
  const own = ENDONYMS.get(code);
  return own && own !== english ? `${own} (${english})` : english;
}

/** The whole request: language, dialect, in person or remote, preferred gender. */
function describeInterpreter(request) {
  return describeRequest(request, interpreterLanguage, {
    dialect: t.dialect_value,
    in_person: t.mode_in_person,
    remote: t.mode_remote,
    female: t.gender_female,
    male: t.gender_male,
  });
}

function elapsed(since) {
  const seconds = Math.max(0, Math.floor((Date.now() - Date.parse(since)) / 1000));
  const hours = Math.floor(seconds / 3600);
  const mm = String(Math.floor((seconds % 3600) / 60)).padStart(hours ? 2 : 1, "0");
  const ss = String(seconds % 60).padStart(2, "0");
  return hours ? `${hours}:${mm}:${ss}` : `${mm}:${ss}`;
}

function clock(at) {
  if (!at) return "";
  return new Date(at).toLocaleTimeString(document.documentElement.lang || undefined, { hour: "2-digit", minute: "2-digit" });
}

const visible = () => document.visibilityState === "visible";

// --- start-up: my key, the directory, the socket -----------------------------------------

async function start() {
  const { identity, info } = await identityForPage({ t, errorBox: $("dashboard-error") });
  state.info = info;
  await begin(identity);
}

async function loadDirectory() {
  const published = await staffApi("GET", "/api/directory");
  state.anchors = published.anchors.map((a) => b64decode(a));
  state.counsellors.clear();
  state.interpreters.clear();
  if (!published.directory || state.anchors.length === 0) return;
  const now = Math.floor(Date.now() / 1000);
  const directory = await verifyDirectory(b64decode(published.directory), state.anchors, now);
  for (const cert of directory.certificates) {
    if (cert.notBefore > now || cert.notAfter < now) continue;
    const entry = { name: cert.displayName, certificate: cert.raw };
    if (cert.role === Role.COUNSELLOR) state.counsellors.set(toHex(cert.staffId), entry);
    if (cert.role === Role.INTERPRETER) state.interpreters.set(toHex(cert.staffId), { ...entry, languages: [] });
  }
  await loadInterpreters();
}

/** Which languages each interpreter covers (the server's list); only those in the verified directory count. */
async function loadInterpreters() {
  try {
    const answer = await staffApi("GET", "/api/staff/interpreters");
    for (const person of answer?.interpreters || []) {
      const known = state.interpreters.get(person.staff_id);
      if (known && Array.isArray(person.languages)) known.languages = person.languages.filter((c) => typeof c === "string");
    }
  } catch {
    // Without the list every certified interpreter is offered, unsorted by language.
  }
}

async function begin(identity) {
  state.identity = identity;
  state.me = toHex(identity.memberId);
  $("not-certified").hidden = certifies(state.info.certificate, identity);
  await loadDirectory();
  $("dashboard").hidden = false;
  state.notifier = new Notifier({ soundUrl: $("dashboard").dataset.sound, toggle: $("sound-on") });
  state.socket = new StaffSocket({ open: onOpen, down: onDown, frame: onFrame });
  state.socket.start();
  setInterval(tick, 1000);
  loadReplies();
  render();
  document.body.dataset.ready = "yes";
}

function onOpen() {
  setConnection("online");
  state.socket.request({ type: "queue" }).catch(() => {});
  for (const conv of state.convs.values()) {
    if (conv.synced) conv.sync();
    conv.pump();
  }
}

function onDown() {
  setConnection("offline");
}

function setConnection(which) {
  const line = $("connection");
  line.dataset.state = which;
  line.textContent = t[which];
}

// --- frames ---------------------------------------------------------------------------------

function onFrame(frame) {
  const conv = frame.conversation ? state.convs.get(frame.conversation) : undefined;
  switch (frame.type) {
    case "queue":
      onQueue(frame);
      break;
    case "assignments":
      onAssignments(frame);
      break;
    case "message":
      conv?.deliver(frame);
      break;
    case "conversation":
      if (conv) onStatus(conv, frame);
      break;
    case "typing":
      if (conv) {
        conv.typingUntil = Date.now() + (frame.seconds || 5) * 1000;
        conv.typingWho = frame.member;
        renderTyping();
      }
      break;
    case "receipt":
      if (conv && frame.member === conv.visitorId) {
        conv.visitorReceipt = {
          delivered: Math.max(conv.visitorReceipt.delivered, frame.delivered),
          read: Math.max(conv.visitorReceipt.read, frame.read),
        };
        if (conv.id === state.selected) renderMessages();
      }
      break;
    default:
      break;
  }
}

function conversation(id) {
  let conv = state.convs.get(id);
  if (!conv) {
    conv = new ChatConversation(id, {
      identity: state.identity,
      anchors: state.anchors,
      socket: state.socket,
      onChange: changed,
      counsellorIds: new Set(state.counsellors.keys()),
    });
    state.convs.set(id, conv);
  }
  return conv;
}

function onQueue(frame) {
  const ids = frame.items.map((item) => item.conversation);
  const first = state.seenQueue === null;
  state.seenQueue ??= new Set();
  let fresh = false;
  for (const item of frame.items) {
    const conv = conversation(item.conversation);
    conv.status = "queued";
    conv.language = item.language;
    conv.queuedAt = item.queued_at;
    if (!conv.synced) conv.sync();
    if (!state.seenQueue.has(item.conversation)) {
      state.seenQueue.add(item.conversation);
      fresh = true;
    }
  }
  for (const [id, conv] of state.convs) {
    const idle = conv.outbox.length === 0; // never drop what is still being sent
    if (conv.status === "queued" && !ids.includes(id) && !state.tabs.includes(id) && idle) state.convs.delete(id);
  }
  state.queue = ids;
  state.onDuty = frame.on_duty || [];
  if (fresh && !first) state.notifier.chime();
  render();
}

function onAssignments(frame) {
  for (const item of frame.items) {
    const conv = conversation(item.conversation);
    conv.mine = true;
    if (conv.status === "queued") conv.status = "active";
    if (!conv.synced) conv.sync();
    openTab(item.conversation);
  }
  render();
}

function onStatus(conv, frame) {
  const previous = conv.counsellor;
  conv.counsellor = frame.counsellor;
  if (frame.status === "deleted") {
    conv.shred();
    conv.status = "deleted";
    conv.notice = t.deleted;
    conv.mine = false;
    if (!state.tabs.includes(conv.id)) state.convs.delete(conv.id);
  } else if (frame.status === "closed") {
    if (conv.status !== "closed") conv.notice = conv.closedByMe ? t.closed : t.ended;
    conv.status = "closed";
    conv.mine = false;
  } else if (frame.status === "queued") {
    const wasMine = conv.mine && conv.status === "active";
    conv.status = "queued"; // first: closing the tab must keep it (it is still in the queue, and mine to follow)
    conv.transferredTo = null; // whoever had it before, it is nobody's now
    if (wasMine) {
      conv.mine = false;
      closeTab(conv.id);
    }
  } else if (frame.status === "active") {
    if (conv.status === "queued" && frame.counsellor !== state.me && !state.tabs.includes(conv.id)) {
      state.convs.delete(conv.id); // a colleague took it
      state.queue = state.queue.filter((id) => id !== conv.id);
    } else if (frame.counsellor === state.me) {
      if (previous !== state.me) {
        conv.transferredTo = null; // mine (again)
        conv.notice = null;
      }
      conv.status = "active";
      conv.mine = true;
      openTab(conv.id);
    } else if (conv.mine && previous === state.me && frame.counsellor) {
      const name = state.counsellors.get(frame.counsellor)?.name || "";
      conv.notice = conv.outbox.length ? format(t.transfer_pending, { name }) : format(t.transferred, { name });
      conv.transferredTo = name;
      conv.status = "active";
    }
  }
  render();
}

// --- changes from a conversation ------------------------------------------------------------

function changed(conv, what) {
  if (what === "messages") {
    if (conv.id === state.selected && visible()) conv.unread = 0;
    if (conv.unread > (conv.notified || 0)) state.notifier?.chime();
    conv.notified = conv.unread;
    scheduleReceipt(conv);
    checkHandover(conv);
    checkLeave(conv);
  }
  if (what === "outbox" && conv.transferredTo && conv.outbox.length === 0) {
    conv.notice = format(t.transferred, { name: conv.transferredTo });
  }
  render();
}

/** A colleague handed this conversation to me: once they are done, take them out of it. */
function checkHandover(conv) {
  const from = conv.handoverDue();
  if (!from || conv.handoverQueued === from) return;
  conv.handoverQueued = from;
  conv.enqueue("commit", () => {
    const still = conv.members.some((m) => toHex(m.memberId) === from);
    return still ? conv.protocol.removeMember(fromHex(from)) : null;
  });
}

/** An interpreter asked to leave: the conversation's counsellor (me) commits their removal. */
function checkLeave(conv) {
  if (!conv.mine || conv.status !== "active" || (conv.counsellor && conv.counsellor !== state.me)) return;
  const id = conv.leaveDue();
  if (!id || conv.leaveQueued === id) return;
  conv.leaveQueued = id;
  removeInterpreter(conv, id);
}

function removeInterpreter(conv, id) {
  return conv.enqueue("commit", () => {
    const still = conv.members.some((m) => toHex(m.memberId) === id);
    return still ? conv.protocol.removeMember(fromHex(id)) : null;
  });
}

function scheduleReceipt(conv) {
  if (!conv.mine || conv.status !== "active" || !conv.canRead) return;
  clearTimeout(state.receiptTimers.get(conv.id));
  state.receiptTimers.set(
    conv.id,
    setTimeout(() => {
      const sent = state.receiptsSent.get(conv.id) || { delivered: -1, read: -1 };
      const read = conv.id === state.selected && visible() ? conv.lastSeq : sent.read;
      if (conv.lastSeq <= sent.delivered && read <= sent.read) return;
      if (state.socket.send({ type: "receipt", conversation: conv.id, delivered: conv.lastSeq, read })) {
        state.receiptsSent.set(conv.id, { delivered: conv.lastSeq, read });
      }
    }, RECEIPT_DELAY_MS),
  );
}

document.addEventListener("visibilitychange", () => {
  const conv = state.convs.get(state.selected);
  if (conv && visible()) {
    conv.unread = 0;
    conv.notified = 0;
    scheduleReceipt(conv);
    render();
  }
});

function tick() {
  for (const node of document.querySelectorAll("[data-since]")) {
    node.textContent = format(t.waiting_since, { time: elapsed(node.dataset.since) });
  }
  renderTyping();
  for (const conv of state.convs.values()) if (conv.handover) checkHandover(conv);
}

// --- tabs -----------------------------------------------------------------------------------

function openTab(id) {
  if (!state.tabs.includes(id)) state.tabs.push(id);
  if (!state.selected) select(id);
}

function closeTab(id) {
  state.tabs = state.tabs.filter((x) => x !== id);
  if (state.selected === id) state.selected = state.tabs[0] || null;
  const conv = state.convs.get(id);
  if (conv && conv.status !== "queued") state.convs.delete(id);
}

function select(id) {
  state.selected = id;
  const conv = state.convs.get(id);
  if (conv) {
    conv.unread = 0;
    conv.notified = 0;
    scheduleReceipt(conv);
  }
  render();
  $("message-input").focus();
}

// --- actions --------------------------------------------------------------------------------

async function take(conv) {
  state.queueNotice = "";
  const result = await conv.enqueue("claim", () => conv.protocol.claim());
  if (result.ok) {
    conv.mine = true;
    conv.status = "active";
    openTab(conv.id);
    select(conv.id);
  } else {
    state.queueNotice = result.code === "already_claimed" ? t.already_claimed : result.message || t.failed;
    if (result.code === "already_claimed") {
      state.convs.delete(conv.id);
      state.queue = state.queue.filter((id) => id !== conv.id);
    }
  }
  render();
}

function selectedConv() {
  return state.selected ? state.convs.get(state.selected) : undefined;
}

function remember(conv, text, result) {
  if (result.ok) return;
  const list = state.failed.get(conv.id) || [];
  list.push({ text, reason: result.message || result.code });
  state.failed.set(conv.id, list);
  render();
}

$("composer").addEventListener("submit", async (event) => {
  event.preventDefault();
  const conv = selectedConv();
  const input = $("message-input");
  const text = input.value.trim();
  if (!conv || !text || !writable(conv)) return;
  input.value = "";
  remember(conv, text, await conv.sendText(text));
});

wireComposer({ current: () => selectedConv(), canWrite: (conv) => writable(conv), socket: () => state.socket });

$("transfer-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const conv = selectedConv();
  const to = $("transfer-to").value;
  const colleague = state.counsellors.get(to);
  if (!conv || !colleague || !writable(conv)) return;
  const note = $("transfer-note").value.trim();
  $("transfer").open = false;
  conv.notice = format(t.transfer_pending, { name: colleague.name });
  render();
  const moved = await conv.enqueue("transfer", () => conv.protocol.addMember(colleague.certificate), { extra: { to } });
  if (!moved.ok) {
    conv.notice = moved.message || t.failed;
    render();
    return;
  }
  $("transfer-note").value = "";
  conv.transferredTo = colleague.name;
  conv.enqueue("send", () => conv.protocol.encrypt(ContentType.APP_JSON, handoverMarker("transfer", moved.seq, to)));
  // The note is an ordinary message: everyone in the conversation reads it, the visitor too.
  if (note) conv.enqueue("send", () => conv.protocol.encrypt(ContentType.TEXT, utf8(note)), { text: note });
  // Then the earlier epochs' keys for the colleague, so they can read what came before.
  conv.enqueue("send", () => {
    const epochs = conv.protocol.knownEpochs().filter((e) => e < conv.protocol.epoch);
    return epochs.length ? conv.protocol.shareHistory(fromHex(to), epochs) : null;
  });
});

$("interpreter-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const conv = selectedConv();
  const id = $("interpreter-to").value;
  const person = state.interpreters.get(id);
  if (!conv || !person || !writable(conv)) return;
  // The proposal carries the certificate from the verified directory; the visitor's client
  // verifies it again, shows the name and security number, and only the visitor can commit.
  const result = await conv.enqueue("send", () => conv.protocol.encrypt(ContentType.PROPOSAL, encodeAddProposal(person.certificate)));
  if (!result.ok) conv.notice = result.message || t.failed;
  render();
});

$("remove-interpreter").addEventListener("click", async () => {
  const conv = selectedConv();
  if (!conv || !writable(conv)) return;
  for (const person of conv.interpreters) {
    const result = await removeInterpreter(conv, person.id);
    if (!result.ok) conv.notice = result.message || t.failed;
  }
  render();
});

function releaseCertificates() {
  const certificates = new Map([...state.counsellors].map(([id, c]) => [id, c.certificate]));
  if (!certificates.has(state.me) && state.info.certificate) {
    certificates.set(state.me, b64decode(state.info.certificate, 1024));
  }
  return [...certificates.values()];
}

$("release").addEventListener("click", async () => {
  const conv = selectedConv();
  if (!conv || !writable(conv)) return;
  const result = await conv.enqueue("release", () => conv.protocol.commit(releaseCertificates()));
  if (result.ok) {
    // Signed, so every member can tell a return to the queue from a transfer (same member list
    // when the centre has two counsellors). Not sent if a colleague has claimed it meanwhile.
    conv.enqueue("send", () =>
      conv.protocol.isMember ? conv.protocol.encrypt(ContentType.APP_JSON, handoverMarker("release", result.seq)) : null,
    );
    conv.mine = false;
    conv.status = "queued";
    closeTab(conv.id);
    state.queueNotice = t.released;
  } else {
    conv.notice = result.message || t.failed;
  }
  render();
});

$("close-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const conv = selectedConv();
  const outcome = $("outcome").value;
  if (!conv || !outcome) return;
  try {
    const answer = await state.socket.request({ type: "close", conversation: conv.id, outcome });
    if (answer.type === "closed") {
      conv.closedByMe = true;
      conv.status = "closed";
      conv.mine = false;
      conv.notice = t.closed;
      $("close").open = false;
      $("outcome").value = "";
    } else {
      conv.notice = answer.message || t.failed;
    }
  } catch {
    conv.notice = t.offline;
  }
  render();
});

$("dismiss").addEventListener("click", () => {
  if (state.selected) closeTab(state.selected);
  render();
});

// --- saved replies ---------------------------------------------------------------------------

async function loadReplies() {
  try {
    state.replies = await canned.listReplies(state.identity);
  } catch {
    state.replies = [];
  }
  renderReplies();
}

$("canned-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const text = $("canned-text").value.trim();
  if (!text) return;
  try {
    await canned.saveReply(state.identity, text.slice(0, canned.MAX_CHARS));
    $("canned-text").value = "";
    await loadReplies();
  } catch (error) {
    say($("dashboard-error"), error?.message || t.failed);
  }
});

function renderReplies() {
  const list = $("canned-list");
  if (state.replies.length === 0) {
    list.replaceChildren(el("li", { class: "note", text: t.no_canned }));
    return;
  }
  list.replaceChildren(
    ...state.replies.map((reply) => {
      const insert = el("button", { type: "button", class: "insert", "data-reply": reply.id, text: reply.text });
      insert.addEventListener("click", () => insertReply(reply.text));
      const remove = el("button", { type: "button", class: "delete-reply", text: t.delete });
      remove.addEventListener("click", async () => {
        await canned.deleteReply(reply.id).catch(() => {});
        await loadReplies();
      });
      return el("li", {}, insert, " ", remove);
    }),
  );
}

function insertReply(text) {
  const input = $("message-input");
  const start = input.selectionStart ?? input.value.length;
  const end = input.selectionEnd ?? input.value.length;
  input.value = input.value.slice(0, start) + text + input.value.slice(end);
  input.focus();
  input.selectionStart = input.selectionEnd = start + text.length;
}

// --- rendering ------------------------------------------------------------------------------

function writable(conv) {
  return conv.mine && conv.status === "active" && conv.canRead && !conv.transferredTo && !conv.broken;
}

function render() {
  renderQueue();
  renderMine();
  renderDuty();
  renderChat();
  const unread = state.tabs.reduce((sum, id) => sum + (state.convs.get(id)?.unread || 0), 0);
  state.notifier?.badge(unread + state.queue.length);
}

function renderQueue() {
  $("queue-count").textContent = String(state.queue.length);
  $("queue-empty").hidden = state.queue.length > 0;
  const full = state.tabs.filter((id) => state.convs.get(id)?.mine).length >= Number($("dashboard").dataset.maxOpen);
  const items = state.queue.map((id) => {
    const conv = state.convs.get(id);
    if (!conv) return null;
    const button = el("button", {
      type: "button",
      class: "primary take",
      id: `take-${id}`,
      text: t.take,
      disabled: !conv.canRead || full || conv.outbox.length > 0,
    });
    button.addEventListener("click", () => take(conv));
    return el(
      "li",
      { class: "queue-item", "data-conversation": id },
      el("span", { class: "wait", "data-since": conv.queuedAt, text: format(t.waiting_since, { time: elapsed(conv.queuedAt) }) }),
      el("span", { class: "tag", text: format(t.interface, { language: languageName(conv.language) }) }),
      conv.interpreter
        ? el("span", { class: "tag interpreter", text: format(t.interpreter_tag, { language: describeInterpreter(conv.interpreter) }) })
        : null,
      conv.protocol && !conv.canRead ? el("span", { class: "tag", text: t.unreadable }) : null,
      button,
    );
  });
  const notice = state.queueNotice ? el("li", { class: "notice", id: "queue-notice", role: "status", text: state.queueNotice }) : null;
  const limit = full && items.length
    ? el("li", { class: "notice", id: "queue-full", text: format(t.at_limit, { count: $("dashboard").dataset.maxOpen }) })
    : null;
  $("queue").replaceChildren(...[notice, limit, ...items].filter(Boolean));
}

function renderMine() {
  const open = state.tabs.filter((id) => state.convs.get(id)?.mine).length;
  $("open-count").textContent = String(open);
  $("my-conversations").replaceChildren(
    ...state.tabs.map((id) => {
      const conv = state.convs.get(id);
      if (!conv) return null;
      const label = [t.visitor, conv.language ? `(${languageName(conv.language)})` : "", conv.unread ? `· ${conv.unread}` : ""]
        .filter(Boolean)
        .join(" ");
      const button = el("button", {
        type: "button",
        class: conv.unread ? "tab unread" : "tab",
        "data-conversation": id,
        "aria-current": id === state.selected ? "true" : null,
        text: label,
      });
      button.addEventListener("click", () => select(id));
      return el("li", {}, button);
    }),
  );
}

function renderDuty() {
  const others = state.onDuty.filter((person) => person.staff_id !== state.me);
  $("on-duty").replaceChildren(
    ...(others.length
      ? others.map((person) => el("li", { "data-staff-id": person.staff_id, text: person.display_name }))
      : [el("li", { class: "note", text: t.on_duty_none })]),
  );
}

function senderName(conv, entry) {
  if (entry.from === state.me) return t.you;
  if (entry.from === conv.visitorId) return t.visitor;
  const member = conv.members.find((m) => toHex(m.memberId) === entry.from);
  return member?.displayName || "";
}

function renderChat() {
  const conv = selectedConv();
  $("no-chat").hidden = Boolean(conv);
  $("chat-view").hidden = !conv;
  if (!conv) return;
  $("chat-view").dataset.conversation = conv.id;
  const header = [t.visitor];
  if (conv.language) header.push(format(t.interface, { language: languageName(conv.language) }));
  if (conv.interpreter) header.push(format(t.interpreter_tag, { language: describeInterpreter(conv.interpreter) }));
  $("chat-header").textContent = header.join(" · ");
  const notice = conv.broken ? t.broken : conv.notice || "";
  say($("chat-notice"), notice);
  const canWrite = writable(conv);
  for (const id of ["message-input", "send", "transfer-go", "release", "close-go", "canned-save"]) $(id).disabled = !canWrite;
  $("close-go").disabled = !(conv.mine && conv.status === "active" && !conv.transferredTo);
  $("dismiss").hidden = conv.mine && conv.status === "active" && !conv.transferredTo;
  renderTransferChoices();
  renderInterpreterControls(conv, canWrite);
  renderMessages();
  renderTyping();
}

function renderTransferChoices() {
  const select = $("transfer-to");
  const current = select.value;
  const duty = new Set(state.onDuty.map((p) => p.staff_id));
  const options = [...state.counsellors]
    .filter(([id]) => id !== state.me)
    .sort(([a], [b]) => Number(duty.has(b)) - Number(duty.has(a)))
    .map(([id, c]) => el("option", { value: id, text: duty.has(id) ? `${c.name} (${t.on_duty_tag})` : c.name }));
  if (options.length === 0) options.push(el("option", { value: "", text: t.no_colleague }));
  select.replaceChildren(...options);
  if ([...select.options].some((o) => o.value === current)) select.value = current;
}

function renderInterpreterControls(conv, canWrite) {
  const select = $("interpreter-to");
  const current = select.value;
  const inside = new Set(conv.interpreters.map((p) => p.id));
  const people = [...state.interpreters].map(([id, p]) => ({ id, ...p })).filter((p) => !inside.has(p.id));
  const ranked = rankInterpreters(people, conv.interpreter?.language);
  const options = ranked.map((p) =>
    el("option", { value: p.id, text: p.languages.length ? `${p.name} (${p.languages.map(interpreterLanguage).join(", ")})` : p.name }),
  );
  if (options.length === 0) options.push(el("option", { value: "", text: t.no_interpreter }));
  select.replaceChildren(...options);
  if ([...select.options].some((o) => o.value === current)) select.value = current;
  $("invite-interpreter").disabled = !canWrite || ranked.length === 0;
  $("remove-interpreter").hidden = inside.size === 0;
  $("remove-interpreter").disabled = !canWrite;
  $("interpreter-status").replaceChildren(
    ...[...conv.invites].map(([id, invite]) =>
      el("li", { "data-interpreter": id, "data-state": invite.state, text: format(t[`invite_${invite.state}`], { name: invite.name }) }),
    ),
  );
}

function renderMessages() {
  const conv = selectedConv();
  if (!conv) return;
  const list = $("messages");
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  const nodes = conv.entries.map((entry) => {
    if (entry.kind === "system") {
      const values = { ...entry.values };
      if (entry.key === "interpreter") values.language = describeInterpreter(values.request);
      if (entry.key === "booked") {
        values.when = new Date(values.start).toLocaleString(document.documentElement.lang || "en", {
          timeZone: $("dashboard").dataset.timeZone,
          dateStyle: "full",
          timeStyle: "short",
        });
        values.meeting = t[`meeting_${values.meeting}`];
      }
      const key = entry.key === "interpreter" ? "interpreter_requested" : entry.key;
      return el("li", { class: "system", "data-seq": entry.seq, text: format(t[key], values) });
    }
    const mine = entry.from === state.me;
    let status = "";
    if (mine) {
      const r = conv.visitorReceipt;
      status = r.read >= entry.seq ? "read" : r.delivered >= entry.seq ? "delivered" : "sent";
    }
    const meta = [senderName(conv, entry), clock(entry.at), status ? t[status] : ""].filter(Boolean).join(" · ");
    return el(
      "li",
      { class: mine ? "mine" : "theirs", "data-seq": entry.seq, "data-status": status || null },
      el("span", { class: "meta", text: meta }),
      entry.text,
    );
  });
  for (const item of conv.outbox) {
    if (item.text === null) continue;
    nodes.push(el("li", { class: "mine pending", "data-client-id": item.clientId }, el("span", { class: "meta", text: t.sending }), item.text));
  }
  for (const failed of state.failed.get(conv.id) || []) {
    nodes.push(
      el(
        "li",
        { class: "mine pending failed" },
        el("span", { class: "meta", text: format(t.not_sent, { reason: failed.reason }) }),
        failed.text,
      ),
    );
  }
  list.replaceChildren(...nodes);
  if (atBottom) list.scrollTop = list.scrollHeight;
}

function renderTyping() {
  const conv = selectedConv();
  const line = $("typing");
  if (!conv || conv.typingUntil < Date.now()) {
    if (line.textContent) line.textContent = "";
    return;
  }
  const who = conv.typingWho === "visitor" || conv.typingWho === conv.visitorId ? t.typing_visitor : t.typing_colleague;
  if (line.textContent !== who) line.textContent = who;
}

start().catch(() => say($("dashboard-error"), t.failed));

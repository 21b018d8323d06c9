// /staff/interpret: the interpreter's page. Only the conversations a visitor has let them into
// (the websocket's `assignments`; never the queue), each decrypted here from the epoch they
// joined (or earlier, if the visitor shared it): read, write, and leave. Leaving sends a
// *remove* proposal for myself; the counsellor's (or visitor's) client commits it, and from
// then on nothing written reaches this page.

import { el, say } from "../shared/dom.js";
import { staffApi } from "../shared/http.js";
import { format, pageStrings } from "../shared/strings.js";
import { certifies, identityForPage } from "./identity.js";
import { b64decode, ContentType, encodeRemoveProposal, fromHex, toHex, utf8 } from "./keys-lib.js";
import { StaffSocket } from "./socket.js";
import { wireComposer } from "./composer.js";
import { ChatConversation } from "./conversation.js";

const t = pageStrings();
const $ = (id) => document.getElementById(id);
const ASSIGNMENTS_EVERY_MS = 15000;

const state = {
  info: null,
  identity: null,
  me: null,
  anchors: [],
  convs: new Map(), // conversation id -> ChatConversation
  tabs: [], // ids in the order they arrived
  selected: null,
  socket: null,
  failed: new Map(), // id -> [{text, reason}]
};

function clock(at) {
  if (!at) return "";
  return new Date(at).toLocaleTimeString(document.documentElement.lang || undefined, { hour: "2-digit", minute: "2-digit" });
}

// --- start-up: my key, the anchors, the socket ------------------------------------------------

async function start() {
  const { identity, info } = await identityForPage({ t, errorBox: $("dashboard-error") });
  state.info = info;
  await begin(identity);
}

async function begin(identity) {
  state.identity = identity;
  state.me = toHex(identity.memberId);
  $("not-certified").hidden = certifies(state.info.certificate, identity);
  const published = await staffApi("GET", "/api/directory");
  state.anchors = published.anchors.map((a) => b64decode(a));
  $("dashboard").hidden = false;
  state.socket = new StaffSocket({ open: onOpen, down: () => setConnection("offline"), frame: onFrame });
  state.socket.start();
  setInterval(() => {
    renderTyping();
    askAssignments();
  }, ASSIGNMENTS_EVERY_MS);
  setInterval(renderTyping, 1000);
  render();
  document.body.dataset.ready = "yes";
}

function setConnection(which) {
  const line = $("connection");
  line.dataset.state = which;
  line.textContent = t[which];
}

function onOpen() {
  setConnection("online");
  askAssignments();
  for (const conv of state.convs.values()) {
    if (conv.synced && !conv.left) conv.sync();
    conv.pump();
  }
}

/** My conversations, from the server (an interpreter never asks for the queue). */
function askAssignments() {
  if (!state.socket?.up) return;
  state.socket
    .request({ type: "assignments" })
    .then((frame) => {
      if (frame.type === "assignments") onAssignments(frame);
    })
    .catch(() => {});
}

// --- frames ------------------------------------------------------------------------------------

function onFrame(frame) {
  const conv = frame.conversation ? state.convs.get(frame.conversation) : undefined;
  switch (frame.type) {
    case "assignments":
      onAssignments(frame);
      break;
    case "message":
      if (conv && !conv.left) conv.deliver(frame);
      break;
    case "conversation":
      if (conv) onStatus(conv, frame);
      break;
    case "typing":
      if (conv && !conv.left) {
        conv.typingUntil = Date.now() + (frame.seconds || 5) * 1000;
        conv.typingWho = frame.member;
        renderTyping();
      }
      break;
    default:
      break;
  }
}

function conversation(id) {
  let conv = state.convs.get(id);
  if (!conv) {
    conv = new ChatConversation(id, { identity: state.identity, anchors: state.anchors, socket: state.socket, onChange: changed });
    conv.status = "active";
    conv.mine = true;
    state.convs.set(id, conv);
    state.tabs.push(id);
  }
  return conv;
}

function onAssignments(frame) {
  const listed = new Set(frame.items.map((item) => item.conversation));
  for (const item of frame.items) {
    const conv = conversation(item.conversation);
    if (conv.left) continue;
    conv.status = item.status || "active";
    if (!conv.synced) conv.sync();
  }
  // No longer listed: I have been removed (or left); the removal commit is not sent to me.
  for (const conv of state.convs.values()) {
    if (!listed.has(conv.id) && conv.status === "active" && !conv.left) markLeft(conv);
  }
  if (!state.selected && state.tabs.length) state.selected = state.tabs[0];
  render();
}

function onStatus(conv, frame) {
  if (frame.status === "deleted") {
    conv.shred();
    conv.status = "deleted";
    conv.notice = t.deleted;
  } else if (frame.status === "closed") {
    conv.status = "closed";
    conv.notice = t.closed;
  }
  render();
}

function markLeft(conv) {
  conv.left = true;
  conv.notice = t.you_left;
  conv.typingUntil = 0;
}

function changed(conv, what) {
  // The transcript is replayed from the genesis: I am "in" from the commit that added me, and
  // have left once a later commit no longer lists me.
  if (what === "messages" && conv.protocol) {
    if (conv.protocol.isMember) conv.joined = true;
    else if (conv.joined && !conv.left) markLeft(conv);
  }
  render();
}

// --- actions ---------------------------------------------------------------------------------

function selectedConv() {
  return state.selected ? state.convs.get(state.selected) : undefined;
}

function writable(conv) {
  return conv.status === "active" && !conv.left && !conv.leaveRequested && conv.canRead && !conv.broken;
}

$("composer").addEventListener("submit", async (event) => {
  event.preventDefault();
  const conv = selectedConv();
  const input = $("message-input");
  const text = input.value.trim();
  if (!conv || !text || !writable(conv)) return;
  input.value = "";
  const result = await conv.sendText(text);
  if (!result.ok) {
    const list = state.failed.get(conv.id) || [];
    list.push({ text, reason: result.message || result.code });
    state.failed.set(conv.id, list);
    render();
  }
});

wireComposer({ current: () => selectedConv(), canWrite: (conv) => writable(conv), socket: () => state.socket });

$("leave").addEventListener("click", async () => {
  const conv = selectedConv();
  if (!conv || !writable(conv)) return;
  conv.leaveRequested = true;
  conv.notice = t.leaving;
  render();
  const result = await conv.enqueue("send", () =>
    conv.protocol.isMember ? conv.protocol.encrypt(ContentType.PROPOSAL, encodeRemoveProposal(fromHex(state.me))) : null,
  );
  if (!result.ok && !conv.left) {
    conv.leaveRequested = false;
    conv.notice = result.message || t.failed;
  }
  render();
});

$("dismiss").addEventListener("click", () => {
  const id = state.selected;
  if (!id) return;
  state.tabs = state.tabs.filter((x) => x !== id);
  state.convs.delete(id);
  state.selected = state.tabs[0] || null;
  render();
});

// --- rendering -------------------------------------------------------------------------------

function render() {
  const open = state.tabs.filter((id) => !state.convs.get(id)?.left);
  $("open-count").textContent = String(open.length);
  $("none-yet").hidden = state.tabs.length > 0;
  $("my-conversations").replaceChildren(
    ...state.tabs.map((id, index) => {
      const conv = state.convs.get(id);
      const button = el("button", {
        type: "button",
        class: conv.left ? "tab left" : "tab",
        "data-conversation": id,
        "aria-current": id === state.selected ? "true" : null,
        text: format(t.conversation, { number: String(index + 1) }),
      });
      button.addEventListener("click", () => {
        state.selected = id;
        render();
        $("message-input").focus();
      });
      return el("li", {}, button);
    }),
  );
  renderChat();
}

function senderName(conv, entry) {
  if (entry.from === state.me) return t.you;
  if (entry.from === conv.visitorId) return t.visitor;
  return conv.members.find((m) => toHex(m.memberId) === entry.from)?.displayName || "";
}

function renderChat() {
  const conv = selectedConv();
  $("no-chat").hidden = Boolean(conv);
  $("chat-view").hidden = !conv;
  if (!conv) return;
  $("chat-view").dataset.conversation = conv.id;
  $("chat-view").dataset.left = conv.left ? "yes" : "no";
  $("chat-header").textContent = format(t.conversation, { number: String(state.tabs.indexOf(conv.id) + 1) });
  say($("chat-notice"), conv.broken ? t.broken : conv.notice || "");
  const canWrite = writable(conv);
  for (const id of ["message-input", "send", "leave"]) $(id).disabled = !canWrite;
  $("leave").hidden = conv.left;
  $("dismiss").hidden = !conv.left && conv.status === "active";
  const list = $("messages");
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  const nodes = [];
  if (conv.held.size > 0) nodes.push(el("li", { class: "system earlier-hidden", text: t.earlier_hidden }));
  for (const entry of conv.entries) {
    if (entry.kind === "system") {
      if (!t[entry.key]) continue; // what only counsellors' pages explain (requests, bookings)
      nodes.push(el("li", { class: "system", "data-seq": entry.seq, text: format(t[entry.key], entry.values) }));
      continue;
    }
    const mine = entry.from === state.me;
    const meta = [senderName(conv, entry), clock(entry.at)].filter(Boolean).join(" · ");
    nodes.push(el("li", { class: mine ? "mine" : "theirs", "data-seq": entry.seq }, el("span", { class: "meta", text: meta }), entry.text));
  }
  for (const item of conv.outbox) {
    if (item.text === null) continue;
    nodes.push(el("li", { class: "mine pending", "data-client-id": item.clientId }, el("span", { class: "meta", text: t.sending }), item.text));
  }
  for (const failed of state.failed.get(conv.id) || []) {
    nodes.push(el("li", { class: "mine pending failed" }, el("span", { class: "meta", text: format(t.not_sent, { reason: failed.reason }) }), failed.text));
  }
  list.replaceChildren(...nodes);
  if (atBottom) list.scrollTop = list.scrollHeight;
  renderTyping();
}

function renderTyping() {
  const conv = selectedConv();
  const line = $("typing");
  if (!conv || conv.left || conv.typingUntil < Date.now()) {
    if (line.textContent) line.textContent = "";
    return;
  }
  const who = conv.typingWho === "visitor" || conv.typingWho === conv.visitorId ? t.typing_visitor : t.typing_colleague;
  if (line.textContent !== who) line.textContent = who;
}

start().catch(() => say($("dashboard-error"), t.failed));

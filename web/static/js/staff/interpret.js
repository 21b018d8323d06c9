// /staff/interpret: the interpreter's page. Only the conversations a visitor has let them into
// (the websocket's `assignments`; never the queue), each decrypted here from the epoch they
// joined (or earlier, if the visitor shared it): read, write, and leave. Leaving sends a
// *remove* proposal for myself; the counsellor's (or visitor's) client commits it, and from
// then on nothing written reaches this page.

import { byId as $, el, say } from "../shared/dom.js";
import { staffApi } from "../shared/http.js";
import { format, pageStrings } from "../shared/strings.js";
import { Desk } from "./desk.js";
import { encodeRemoveProposal, fromHex } from "./keys-lib.js";

const t = { ...pageStrings("chat-strings"), ...pageStrings() };

const desk = new Desk({ t, writable, opened: askAssignments, frame, event, render });

async function loadAnchors() {
  await desk.loadTrust(await staffApi("GET", "/api/directory")); // to the page's pin, and the log
}

/** My conversations, from the server (an interpreter never asks for the queue). */
function askAssignments() {
  if (!desk.socket?.up) return;
  desk.socket
    .request({ type: "assignments" })
    .then((answer) => {
      if (answer.type === "assignments") frame(answer);
    })
    .catch(() => {});
}

function frame(f) {
  if (f.type !== "assignments") return;
  const listed = new Set(f.items.map((item) => item.conversation));
  for (const item of f.items) {
    const known = desk.convs.has(item.conversation);
    const rec = desk.conversation(item.conversation);
    if (!known) Object.assign(rec, { status: "active", mine: true });
    rec.startedAt = item.started_at ?? rec.startedAt;
    if (!rec.left) rec.status = item.status || "active";
    if (!desk.tabs.includes(rec.id)) desk.tabs.push(rec.id);
  }
  // No longer listed: I have been removed (or left); the removal commit is not sent to me.
  for (const rec of desk.convs.values()) {
    if (!listed.has(rec.id) && rec.status === "active" && !rec.left) markLeft(rec);
  }
  if (!desk.selected && desk.tabs.length) desk.select(desk.tabs[0], { focus: false });
  desk.changed();
}

function event(rec, name, detail) {
  if (name === "status" && detail.status === "deleted") {
    rec.session.shred();
    Object.assign(rec, { status: "deleted", notice: t.deleted });
  } else if (name === "status" && detail.status === "closed") {
    Object.assign(rec, { status: "closed", notice: t.closed });
  }
  // The transcript is replayed from the genesis: I am "in" from the commit that added me, and
  // have left once a later commit no longer lists me.
  const conversation = rec.session.conversation;
  if (name === "entry" && conversation) {
    if (conversation.isMember) rec.joined = true;
    else if (rec.joined && !rec.left) markLeft(rec);
  }
}

function markLeft(rec) {
  rec.left = true;
  rec.notice = t.you_left;
  rec.session.unfollow();
  rec.session.signals.typing.clear();
}

function writable(rec) {
  return Boolean(rec && rec.status === "active" && !rec.left && !rec.leaveRequested && rec.session.canRead && !rec.session.broken);
}

$("leave").addEventListener("click", async () => {
  const rec = desk.current();
  if (!writable(rec)) return;
  Object.assign(rec, { leaveRequested: true, notice: t.leaving });
  desk.changed();
  const result = await rec.session.propose(encodeRemoveProposal(fromHex(desk.me))).result;
  if (!result.ok && !rec.left) Object.assign(rec, { leaveRequested: false, notice: result.message || t.failed });
  desk.changed();
});

$("dismiss").addEventListener("click", () => {
  const id = desk.selected;
  if (!id) return;
  desk.tabs = desk.tabs.filter((x) => x !== id);
  desk.forget(id);
  desk.select(desk.tabs[0] || null, { focus: false });
});

function render() {
  $("open-count").textContent = String(desk.tabs.filter((id) => !desk.convs.get(id)?.left).length);
  $("none-yet").hidden = desk.tabs.length > 0;
  $("my-conversations").replaceChildren(
    ...desk.tabs.map((id) => {
      const rec = desk.convs.get(id);
      const current = id === desk.selected ? "true" : null;
      const attributes = { type: "button", class: rec.left ? "tab left" : "tab", "data-conversation": id, "aria-current": current };
      return el("li", {}, el("button", { ...attributes, text: desk.label(rec), onclick: () => desk.select(id) }));
    }),
  );
  const rec = desk.current();
  const systemText = ({ key, values }) => (t[key] ? format(t[key], values) : null); // requests, bookings: counsellors' only
  const header = rec ? [desk.label(rec), rec.code ? format(t.conversation_code, { code: rec.code }) : ""] : [];
  desk.renderChat(rec, { header: header.filter(Boolean).join(" · "), notice: rec?.notice, systemText, earlierHidden: true });
  if (!rec) return;
  $("chat-view").dataset.left = rec.left ? "yes" : "no";
  const canWrite = writable(rec);
  for (const id of ["message-input", "send", "leave"]) $(id).disabled = !canWrite;
  $("leave").hidden = Boolean(rec.left);
  $("dismiss").hidden = !rec.left && rec.status === "active";
}

// Asked once per (re)connection (`opened`); after that the server pushes `assignments`.
desk
  .start(loadAnchors)
  .catch(() => say($("dashboard-error"), t.failed));

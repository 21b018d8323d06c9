// /staff/chat: the counsellor's live dashboard. The queue (waiting times, the visitor's interface
// language and — decrypted here — whether they asked for an interpreter), colleagues on duty, my
// open conversations, and the chat itself: take, write, transfer, return to the queue, close with
// an outcome. Everything a person wrote is decrypted only in this browser (staff/desk.js and the
// chat core do the following and sending; this page decides what the counsellor can do).

import { handoverMarker } from "../chat/content.js";
import { byId as $, el, say } from "../shared/dom.js";
import { staffApi } from "../shared/http.js";
import { describeRequest } from "../shared/interpreter-request.js";
import { languageLabel, readLanguages } from "../shared/languages.js";
import { format, pageStrings } from "../shared/strings.js";
import { Desk } from "./desk.js";
import { InterpreterPanel } from "./interpreter-panel.js";
import { b64decode, ContentType, fromHex, Role, toHex, utf8, verifyDirectory } from "./keys-lib.js";
import { Notifier } from "./notify.js";
import { QueuePanel } from "./queue-panel.js";
import { SavedReplies } from "./replies.js";

const t = { ...pageStrings("chat-strings"), ...pageStrings() };
const HANDOVER_GRACE_MS = 90000;
const board = $("dashboard").dataset;
const interfaceNames = readLanguages("interface-languages");
const interpreterNames = readLanguages("interpreter-languages");

const state = {
  counsellors: new Map(), // staff id hex -> {name, certificate}, from the verified directory
  interpreters: new Map(), // staff id hex -> {name, certificate, languages}: verified directory + the server's list
  notifier: null,
};

const desk = new Desk({ t, writable, mayReceipt, opened, frame, event, render });
const panel = new InterpreterPanel({ t, desk, interpreters: state.interpreters, writable, describe: interpreterLanguage });
const replies = new SavedReplies({ t, input: $("message-input") });
const queue = new QueuePanel({ t, desk, describe: describeInterpreter, interfaceNames, maxOpen: board.maxOpen });

/** An interpreter language as "ትግርኛ (Tigrinya)": in itself, and as the reader says it. */
function interpreterLanguage(code) {
  return languageLabel(code, { own: interpreterNames });
}

function describeInterpreter(request) {
  const words = { dialect: t.dialect_value, in_person: t.mode_in_person, remote: t.mode_remote, female: t.gender_female, male: t.gender_male };
  return describeRequest(request, interpreterLanguage, words);
}


// --- start-up: the directory, then the socket ---------------------------------------------

async function loadDirectory() {
  const published = await staffApi("GET", "/api/directory");
  await desk.loadTrust(published); // the root verified to the page's pin, the log checked
  if (!published.directory) return;
  const now = Math.floor(Date.now() / 1000);
  const directory = await verifyDirectory(b64decode(published.directory), desk.anchors.anchors, now);
  for (const cert of directory.certificates) {
    if (cert.notBefore > now || cert.notAfter < now) continue;
    const entry = { name: cert.displayName, certificate: cert.raw };
    if (cert.role === Role.COUNSELLOR) state.counsellors.set(toHex(cert.staffId), entry);
    if (cert.role === Role.INTERPRETER) state.interpreters.set(toHex(cert.staffId), { ...entry, languages: [] });
  }
  desk.counsellorIds = new Set(state.counsellors.keys()); // a release re-keys to all of them
  try {
    // Which languages each interpreter covers (the server's list); only certified ones count.
    for (const person of (await staffApi("GET", "/api/staff/interpreters"))?.interpreters || []) {
      const known = state.interpreters.get(person.staff_id);
      if (known && Array.isArray(person.languages)) known.languages = person.languages.filter((c) => typeof c === "string");
    }
  } catch {
    // Without the list every certified interpreter is offered, unsorted by language.
  }
}

function opened() {
  desk.socket.request({ type: "queue" }).catch(() => {});
}

// --- frames and session events ---------------------------------------------------------------

function frame(f) {
  if (f.type === "queue" && queue.update(f)) state.notifier?.chime();
  else if (f.type === "assignments") onAssignments(f);
  else if (f.type === "presence") queue.onDuty = f.on_duty || [];
  desk.changed();
}


function onAssignments(f) {
  for (const item of f.items) {
    const rec = desk.conversation(item.conversation);
    rec.mine = true;
    rec.startedAt = item.started_at ?? rec.startedAt;
    if (rec.status === "queued") rec.status = "active";
    desk.openTab(item.conversation);
  }
}

function event(rec, name, detail) {
  if (name === "status") onStatus(rec, detail);
  if (name === "entry" || name === "revealed") {
    if (rec.unread > rec.notified) state.notifier?.chime();
    rec.notified = rec.unread;
    checkHandover(rec);
    checkLeave(rec);
  }
  if (rec.transferredTo && rec.session.outbox.waiting === 0) rec.notice = format(t.transferred, { name: rec.transferredTo });
}

function onStatus(rec, { status, counsellor }) {
  const me = desk.me;
  const wasMine = rec.mine && rec.status === "active";
  if (status === "deleted") {
    rec.session.shred();
    Object.assign(rec, { status: "deleted", notice: t.deleted, mine: false });
    if (!desk.tabs.includes(rec.id)) desk.forget(rec.id);
  } else if (status === "closed") {
    if (rec.status !== "closed") rec.notice = rec.closedByMe ? t.closed : t.ended;
    Object.assign(rec, { status: "closed", mine: false });
  } else if (status === "queued") {
    Object.assign(rec, { status: "queued", transferredTo: null }); // first: closing the tab keeps it
    if (wasMine) {
      rec.mine = false;
      desk.closeTab(rec.id);
    }
  } else if (status === "active" && rec.status === "queued" && counsellor !== me && !desk.tabs.includes(rec.id)) {
    desk.forget(rec.id); // a colleague took it
    queue.drop(rec.id);
  } else if (status === "active" && counsellor === me) {
    if (rec.owner !== me) Object.assign(rec, { transferredTo: null, notice: null }); // mine (again)
    Object.assign(rec, { status: "active", mine: true });
    desk.openTab(rec.id);
  } else if (status === "active" && rec.mine && rec.owner === me && counsellor) {
    const name = state.counsellors.get(counsellor)?.name || "";
    rec.notice = format(rec.session.outbox.waiting ? t.transfer_pending : t.transferred, { name });
    Object.assign(rec, { transferredTo: name, status: "active" });
  }
  rec.owner = counsellor;
}

/** A colleague handed this conversation to me: once they are done, take them out of it. */
function checkHandover(rec) {
  const handover = desk.reading(rec).handover;
  if (!handover || !rec.mine || (rec.owner && rec.owner !== desk.me) || rec.handoverQueued === handover.from) return;
  if (!rec.session.members.some((m) => toHex(m.memberId) === handover.from)) return;
  if (!handover.shared && Date.now() - handover.at <= HANDOVER_GRACE_MS) return;
  rec.handoverQueued = handover.from;
  rec.session.removeMembers([handover.from]);
}

/** An interpreter asked to leave: the conversation's counsellor (me) commits their removal. */
function checkLeave(rec) {
  if (!rec.mine || rec.status !== "active" || (rec.owner && rec.owner !== desk.me)) return;
  const members = new Set(rec.session.members.map((m) => toHex(m.memberId)));
  const id = [...desk.reading(rec).leaving].find((x) => members.has(x));
  if (!id || rec.leaveQueued === id) return;
  rec.leaveQueued = id;
  rec.session.removeMembers([id]);
}

function writable(rec) {
  return Boolean(rec && rec.mine && rec.status === "active" && rec.session.canRead && !rec.transferredTo && !rec.session.broken);
}

function mayReceipt(rec) {
  return Boolean(rec && rec.mine && rec.status === "active" && rec.session.canRead);
}

// --- actions --------------------------------------------------------------------------------


// The note is sent as a message in its conversation (the visitor reads it too), so, like the
// message box, each conversation keeps its own note, in memory only: a note written about one
// visitor never goes to another after switching conversations.
const noteBox = $("transfer-note");
noteBox.addEventListener("input", () => {
  const rec = desk.current();
  if (rec && noteBox.dataset.conversation === rec.id) rec.transferNote = noteBox.value;
});

function showTransferNote(rec) {
  if (noteBox.dataset.conversation === (rec?.id ?? "")) return;
  noteBox.dataset.conversation = rec?.id ?? "";
  noteBox.value = rec?.transferNote ?? "";
}

$("transfer-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const rec = desk.current();
  const to = $("transfer-to").value;
  const colleague = state.counsellors.get(to);
  if (!colleague || !writable(rec) || noteBox.dataset.conversation !== rec.id) return;
  const { session } = rec;
  const note = noteBox.value.trim();
  $("transfer").open = false;
  rec.notice = format(t.transfer_pending, { name: colleague.name });
  desk.changed();
  const moved = await session.enqueue({ kind: "op", frame: "transfer", fields: { to }, build: (c) => c.addMember(colleague.certificate) }).result;
  if (!moved.ok) {
    rec.notice = moved.message || t.failed;
    desk.changed();
    return;
  }
  rec.transferNote = "";
  if (noteBox.dataset.conversation === rec.id) noteBox.value = "";
  rec.transferredTo = colleague.name;
  session.enqueue({ kind: "op", build: (c) => c.encrypt(ContentType.APP_JSON, handoverMarker("transfer", moved.seq, to)) });
  // The note is an ordinary message: everyone in the conversation reads it, the visitor too.
  if (note) session.enqueue({ text: note, build: (c) => c.encrypt(ContentType.TEXT, utf8(note)) });
  // Then the earlier epochs' keys for the colleague, so they can read what came before.
  session.enqueue({
    kind: "op",
    build: (c) => {
      const epochs = c.knownEpochs().filter((e) => e < c.epoch);
      return epochs.length ? c.shareHistory(fromHex(to), epochs) : null;
    },
  });
});

/** Every certified counsellor (and me): a conversation back in the queue is theirs to read. */
function releaseCertificates() {
  const certificates = new Map([...state.counsellors].map(([id, c]) => [id, c.certificate]));
  if (!certificates.has(desk.me) && desk.info.certificate) certificates.set(desk.me, b64decode(desk.info.certificate, 1024));
  return [...certificates.values()];
}

$("release").addEventListener("click", async () => {
  const rec = desk.current();
  if (!writable(rec)) return;
  const result = await rec.session.enqueue({ kind: "op", frame: "release", build: (c) => c.commit(releaseCertificates()) }).result;
  if (result.ok) {
    // Signed, so every member can tell a return to the queue from a transfer (same member list
    // when the centre has two counsellors). Not sent if a colleague has claimed it meanwhile.
    const marker = handoverMarker("release", result.seq);
    rec.session.enqueue({ kind: "op", build: (c) => (c.isMember ? c.encrypt(ContentType.APP_JSON, marker) : null) });
    Object.assign(rec, { mine: false, status: "queued" });
    desk.closeTab(rec.id);
    queue.notice = t.released;
  } else {
    rec.notice = result.message || t.failed;
  }
  desk.changed();
});

// Offer the visitor a move to another centre (PROTOCOL.md §8.6): she decides, and her own client
// re-keys the conversation to that centre's counsellors; from then on this page cannot read it.
$("move-form")?.addEventListener("submit", async (event) => {
  event.preventDefault();
  const rec = desk.current();
  const centre = $("move-to").value;
  if (!centre || !writable(rec)) return;
  try {
    const answer = await desk.socket.request({ type: "offer_move", conversation: rec.id, centre });
    rec.notice = answer.type === "move_offered" ? t.move_offered : answer.message || t.failed;
    $("move").open = false;
  } catch {
    rec.notice = t.offline;
  }
  desk.changed();
});

$("close-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const rec = desk.current();
  const outcome = $("outcome").value;
  if (!rec || !outcome) return;
  try {
    const answer = await desk.socket.request({ type: "close", conversation: rec.id, outcome });
    if (answer.type === "closed") {
      Object.assign(rec, { closedByMe: true, status: "closed", mine: false, notice: t.closed });
      $("close").open = false;
      $("outcome").value = "";
    } else {
      rec.notice = answer.message || t.failed;
    }
  } catch {
    rec.notice = t.offline;
  }
  desk.changed();
});

$("dismiss").addEventListener("click", () => {
  if (desk.selected) desk.closeTab(desk.selected);
});

// --- drawing ---------------------------------------------------------------------------------

function render() {
  const full = desk.tabs.filter((id) => desk.convs.get(id)?.mine).length >= Number(board.maxOpen);
  queue.render(full);
  renderMine();
  renderChat();
  const unread = desk.tabs.map((id) => desk.convs.get(id)).filter((rec) => rec?.unread);
  const newest = unread.sort((a, b) => b.unread - a.unread)[0];
  state.notifier?.badge(unread.reduce((sum, rec) => sum + rec.unread, 0) + queue.ids.length, newest ? desk.label(newest) : "");
}



function renderMine() {
  $("open-count").textContent = String(desk.tabs.filter((id) => desk.convs.get(id)?.mine).length);
  const tabs = desk.tabs.map((id) => desk.convs.get(id)).filter(Boolean);
  $("my-conversations").replaceChildren(
    ...tabs.map((rec) => {
      const text = rec.unread ? `${desk.label(rec)} (${rec.unread})` : desk.label(rec);
      const current = rec.id === desk.selected ? "true" : null;
      const attributes = { type: "button", class: rec.unread ? "tab unread" : "tab", "data-conversation": rec.id, "aria-current": current };
      return el("li", {}, el("button", { ...attributes, text, onclick: () => desk.select(rec.id) }));
    }),
  );
}


function systemText({ key, values }) {
  if (key === "interpreter") return format(t.interpreter_requested, { language: describeInterpreter(values.request) });
  if (key !== "booked") return format(t[key], values);
  const when = new Date(values.start).toLocaleString(desk.lang || "en", { timeZone: board.timeZone, dateStyle: "full", timeStyle: "short" });
  return format(t.booked, { ...values, when, meeting: t[`meeting_${values.meeting}`] });
}

function renderChat() {
  const rec = desk.current();
  showTransferNote(rec);
  const header = [];
  if (rec) {
    const interpreter = desk.reading(rec).interpreter;
    header.push(desk.label(rec));
    if (rec.code) header.push(format(t.conversation_code, { code: rec.code }));
    if (rec.language) header.push(format(t.interface, { language: languageLabel(rec.language, { own: interfaceNames }) }));
    if (interpreter) header.push(format(t.interpreter_tag, { language: describeInterpreter(interpreter) }));
  }
  desk.renderChat(rec, { header: header.join(" · "), notice: rec?.notice, systemText });
  if (!rec) return;
  const canWrite = writable(rec);
  for (const id of ["message-input", "send", "transfer-go", "release", "canned-save"]) $(id).disabled = !canWrite;
  const own = rec.mine && rec.status === "active" && !rec.transferredTo;
  $("close-go").disabled = !own;
  $("dismiss").hidden = own;
  renderTransferChoices();
  panel.render(rec, canWrite);
}

function renderTransferChoices() {
  const select = $("transfer-to");
  const current = select.value;
  const duty = new Set(queue.onDuty.map((p) => p.staff_id));
  const options = [...state.counsellors]
    .filter(([id]) => id !== desk.me)
    .sort(([a], [b]) => Number(duty.has(b)) - Number(duty.has(a)))
    .map(([id, c]) => el("option", { value: id, text: duty.has(id) ? `${c.name} (${t.on_duty_tag})` : c.name }));
  if (options.length === 0) options.push(el("option", { value: "", text: t.no_colleague }));
  select.replaceChildren(...options);
  if ([...select.options].some((o) => o.value === current)) select.value = current;
}

function tick() {
  queue.tick();
  for (const rec of desk.convs.values()) checkHandover(rec);
}

async function prepare() {
  await loadDirectory();
  state.notifier = new Notifier({ soundUrl: board.sound, toggle: $("sound-on") });
}

desk
  .start(prepare)
  .then(() => {
    setInterval(tick, 1000);
    replies.load(desk.identity);
  })
  .catch(() => say($("dashboard-error"), t.failed));

// What the visitor's chat page shows of the conversation (drawn again from the chat core's state
// at every change): the transcript with a note for everything that happened, what is still being
// sent, who is writing, and where the conversation stands (place in the queue, who is answering).

import { readBooking } from "../chat/content.js";
import { byId, el } from "../shared/dom.js";
import { readDeclined, readInterpreterRequest } from "../shared/interpreter-request.js";
import { clockTime, messageItem, noteItem, showItems } from "../shared/transcript-view.js";
import { describe } from "./interpreter-form.js";
import { t } from "./strings.js";

const app = byId("chat-app");
const lang = app.dataset.lang;
const openNow = app.dataset.open === "true";

/** The visitor's latest interpreter request in the transcript, or null. */
export function lastRequest(session) {
  const entries = session?.transcript.entries ?? [];
  for (let i = entries.length - 1; i >= 0; i--) {
    const request = entries[i].mine && entries[i].kind === "data" ? readInterpreterRequest(entries[i].value) : null;
    if (request) return request;
  }
  return null;
}

function bookingTime(start) {
  const when = new Date(start);
  if (Number.isNaN(when.getTime())) return start;
  return when.toLocaleString(lang, { timeZone: app.dataset.timeZone || undefined, dateStyle: "full", timeStyle: "short" });
}

/** The notes an entry of mine (or a commit, or a late finding) makes in the transcript. */
function notesFor(entry, { view, consent, extra }) {
  const notes = [...(view.notes.get(entry.seq) ?? []), ...(extra.get(entry.seq) ?? [])];
  if (!entry.mine) return notes;
  const request = entry.kind === "data" ? readInterpreterRequest(entry.value) : null;
  const declined = entry.kind === "data" ? readDeclined(entry.value) : null;
  const booking = entry.kind === "data" ? readBooking(entry.value) : null;
  if (request) notes.unshift(t("interpreter_requested", { language: describe(request) }));
  if (declined && consent.names.has(declined)) notes.unshift(t("you_declined", { name: consent.names.get(declined) }));
  if (booking) notes.unshift(t("booked", { when: bookingTime(booking.start), reference: booking.reference }));
  if (entry.kind === "history") notes.unshift(t("history_shared"));
  return notes;
}

/** The transcript and the outbox. `chat`: {session, socket, members, consent, extra, status, …}. */
export function renderTranscript(chat) {
  const { session, members } = chat;
  const view = members.read(session.transcript.entries, chat.counsellorId, Date.now(), session.initialMembers);
  members.render();
  const items = [];
  const said = []; // what a screen reader hears of it: others' messages and what happened
  for (const entry of session.transcript.entries) {
    if (entry.kind === "text") {
      const state = entry.mine ? session.transcript.state(entry) : null;
      const who = entry.mine ? t("you") : members.name(entry.from, entry.role);
      items.push(messageItem({ seq: entry.seq, mine: entry.mine, who, time: clockTime(entry.at || Date.now(), lang), state, stateText: state ? t(state) : "", text: entry.text }));
      if (!entry.mine) said.push({ key: `m${entry.seq}`, text: `${who}: ${entry.text}`, at: entry.at });
    }
    if (entry.kind === "unreadable" && entry.problem) {
      // Correctly signed by a member, but it does not open: said in its place, and the chat goes on.
      items.push(noteItem(t("message_unreadable"), { seq: entry.seq, className: "unreadable" }));
      said.push({ key: `u${entry.seq}`, text: t("message_unreadable"), at: entry.at });
    }
    for (const text of notesFor(entry, { view, consent: chat.consent, extra: chat.extra })) {
      items.push(noteItem(text, { seq: entry.seq }));
      said.push({ key: `n${entry.seq}:${text}`, text, at: entry.at });
    }
  }
  showItems(byId("messages"), items, { reveal: true });
  chat.announcer.update(said);
  const waiting = chat.socket?.up ? t("sending") : t("waiting_connection");
  const pending = session.outbox.items
    .filter((item) => item.kind === "text")
    .map((item) => messageItem({ clientId: item.clientId, mine: true, state: item.failed ? "failed" : "pending", stateText: item.failed ? t("failed") : waiting, text: item.text }));
  showItems(byId("outbox"), pending, { reveal: true });
  // Where the page stands, for people and tests alike: following, and how much is unsent.
  app.dataset.synced = session.synced && session.backlog === 0 ? "yes" : "no";
  app.dataset.unsent = String(session.outbox.waiting);
  renderTyping(chat);
}

export function renderTyping(chat) {
  const who = chat.session?.typingNow() ?? [];
  const member = chat.members.view.known.get(who[who.length - 1]);
  const text = who.length === 0 ? "" : member ? t("typing_named", { name: member.name }) : t("typing");
  if (byId("typing").textContent !== text) byId("typing").textContent = text;
}

/** Waiting (and where in the queue), talking to someone, or ended. */
export function renderStatus(chat) {
  const lines = [];
  const { status, standing } = chat;
  if (status === "queued" || status === null) {
    lines.push(t("waiting"));
    if (standing && standing.status === "queued") {
      if (standing.position) lines.push(t("queue_position", { position: standing.position }));
      const minutes = standing.estimated_wait_minutes;
      lines.push(minutes === null || minutes === undefined ? t("queue_no_estimate") : t("queue_estimate", { minutes }));
      if (!standing.open_now) lines.push(t("queue_closed"));
    } else if (!openNow) {
      lines.push(t("queue_closed"));
    }
  } else if (status === "active") {
    const id = chat.members.view.counsellor;
    const counsellor = id ? chat.members.view.known.get(id) : null;
    lines.push(counsellor ? t("talking_to", { name: counsellor.name }) : t("status_active"));
  } else if (status === "closed") {
    lines.push(t("status_closed"));
  }
  // A status region is read out whenever it changes: only when what it says changes.
  const box = byId("chat-status");
  if (box.dataset.said === lines.join("\n")) return;
  box.dataset.said = lines.join("\n");
  box.replaceChildren(...lines.map((line) => el("p", {}, line)));
}

// What a staff member's page makes of a conversation's transcript (chat/transcript.js), without
// any DOM: the lines to show (messages, and what happened: taken, returned to the queue, joined,
// left, an interpreter asked for or invited, a booking), the visitor's interpreter request, the
// invitations, who asked to leave, and whether a colleague has just handed it to me.
//
// Computed again from the whole transcript whenever it changes, so a marker that arrives after its
// commit (the counsellor's signed handover, docs/API.md) simply changes how that commit reads.

import { readBooking } from "../chat/content.js";
import { readDeclined, readInterpreterRequest } from "../shared/interpreter-request.js";
import { parseCertificateOf, Role, toHex } from "./keys-lib.js";

const cache = new WeakMap(); // session -> {version, reading}

/** The reading of `session`'s transcript, computed once per change. */
export function reading(session, { me, counsellorIds = new Set() }) {
  const known = cache.get(session);
  if (known && known.version === session.transcript.version) return known.reading;
  const result = read(session.transcript.entries, { me, counsellorIds, initial: session.initialMembers });
  cache.set(session, { version: session.transcript.version, reading: result });
  return result;
}

function read(entries, { me, counsellorIds, initial }) {
  const out = {
    lines: [], // {seq, kind: "message", entry} | {seq, kind: "system", key, values, at} | {seq, kind: "unreadable"}
    interpreter: null, // the visitor's latest request {language, dialect?, mode?, gender?}
    invites: new Map(), // interpreter id -> {name, state: "waiting"|"declined"|"joined"|"left"}
    leaving: new Set(), // interpreters (still members) who asked to leave
    handover: null, // {from, at, shared}: a colleague handed this conversation to me
    members: initial,
  };
  let inQueue = true; // waiting since the genesis or the last return to the queue
  const system = (entry, key, values = {}) => out.lines.push({ seq: entry.seq, kind: "system", key, values, at: entry.at });
  for (const entry of entries) {
    if (entry.kind === "text") out.lines.push({ seq: entry.seq, kind: "message", entry });
    else if (entry.kind === "unreadable" && entry.problem) system(entry, "message_unreadable"); // signed, but garbage (§9.6)
    else if (entry.kind === "unreadable") out.lines.push({ seq: entry.seq, kind: "unreadable" });
    else if (entry.kind === "data") data(out, entry, system);
    else if (entry.kind === "proposal") proposal(out, entry, system);
    else if (entry.kind === "history" && entry.readable && out.handover?.from === entry.from) out.handover.shared = true;
    else if (entry.kind === "commit") inQueue = commit(out, entry, system, { me, counsellorIds, inQueue });
  }
  return out;
}

function data(out, entry, system) {
  const byVisitor = entry.role === Role.VISITOR;
  const request = byVisitor ? readInterpreterRequest(entry.value) : null;
  const declined = byVisitor ? readDeclined(entry.value) : null;
  const booking = byVisitor ? readBooking(entry.value) : null;
  if (request) {
    out.interpreter = request;
    system(entry, "interpreter", { request });
  } else if (declined) {
    const invite = out.invites.get(declined);
    if (invite) invite.state = "declined";
    system(entry, "interpreter_declined", { name: invite?.name || "" });
  } else if (booking) {
    system(entry, "booked", booking);
  }
}

/** A counsellor invites an interpreter (action 1), or an interpreter asks to leave (action 2). */
function proposal(out, entry, system) {
  const p = entry.proposal;
  const isMember = (id) => out.members.some((m) => toHex(m.memberId) === id);
  if (p?.action === 1 && entry.role === Role.COUNSELLOR) {
    let cert;
    try {
      cert = parseCertificateOf(p.value); // for the name only: the visitor's client verifies it
    } catch {
      return;
    }
    const id = toHex(cert.staffId);
    if (cert.role !== Role.INTERPRETER || isMember(id)) return;
    out.invites.set(id, { name: cert.displayName, state: "waiting" });
    system(entry, "interpreter_invited", { name: cert.displayName });
  } else if (p?.action === 2 && entry.role === Role.INTERPRETER && toHex(p.value) === entry.from && isMember(entry.from)) {
    out.leaving.add(entry.from);
    const name = out.members.find((m) => toHex(m.memberId) === entry.from)?.displayName || "";
    system(entry, "interpreter_leaving", { name });
  }
}

/** One commit: how it reads, and whether the conversation is in the queue after it. */
function commit(out, entry, system, { me, counsellorIds, inQueue }) {
  const before = new Map(out.members.map((m) => [toHex(m.memberId), m]));
  const names = new Map(entry.members.map((m) => [toHex(m.memberId), m]));
  out.members = entry.members;
  // Counsellors only: an interpreter never changes what a claim, release or handover looks like.
  const staff = entry.members.filter((m) => m.role === Role.COUNSELLOR).map((m) => toHex(m.memberId));
  const { added, removed, from } = entry;
  for (const id of added) {
    if (names.get(id)?.role === Role.INTERPRETER) out.invites.set(id, { name: names.get(id).displayName, state: "joined" });
  }
  for (const id of removed) {
    out.leaving.delete(id);
    if (before.get(id)?.role === Role.INTERPRETER) out.invites.set(id, { name: before.get(id).displayName, state: "left" });
  }
  if (added.includes(me) && from !== me && entry.role === Role.COUNSELLOR && staff.length <= 3) {
    out.handover = { from, at: entry.receivedAt, shared: false };
  }
  if (out.handover && removed.includes(out.handover.from)) out.handover = null;
  const committer = { name: names.get(from)?.displayName || "" };
  const membership = () => {
    const key = (member, what) => (member?.role === Role.INTERPRETER ? `interpreter_${what}` : what);
    for (const id of added) system(entry, key(names.get(id), "joined"), { name: names.get(id)?.displayName || "" });
    for (const id of removed) system(entry, key(before.get(id), "left"), { name: before.get(id)?.displayName || "" });
  };
  // The committer's signed marker settles what a move was; without one, the member lists tell
  // (in a centre with two counsellors a transfer and a return to the queue look the same).
  const action = entry.explained?.action;
  if (action === "release") {
    if (out.handover?.from === from) out.handover = null; // returned to the queue, not handed to me
    system(entry, "requeued", committer);
    return true;
  }
  if (action === "transfer") {
    membership();
    return false;
  }
  const everyone = counsellorIds.size > 1 && [...counsellorIds].every((id) => staff.includes(id));
  if (inQueue && staff.length === 1 && staff[0] === from) {
    system(entry, "claimed", committer);
    return false;
  }
  if (everyone || added.length > 2) {
    system(entry, "requeued", committer);
    return true;
  }
  membership();
  return inQueue;
}

// How pages read a transcript without a browser: the staff pages' lines (staff/reading.js), the
// conversation labels (chat/label.js) and the application content the core decodes
// (chat/content.js). Entries are written by hand, as chat/session.js makes them.

import assert from "node:assert/strict";
import { test } from "node:test";

import { Role, utf8 } from "../../web/static/js/protocol.js";
import { decodeContent, handoverMarker, readBooking, readHandover } from "../../web/static/js/chat/content.js";
import { conversationCode, conversationLabel, startTime } from "../../web/static/js/chat/label.js";
import { Transcript } from "../../web/static/js/chat/transcript.js";
import { reading } from "../../web/static/js/staff/reading.js";

const id = (byte) => new Uint8Array(16).fill(byte);
const hex = (byte) => byte.toString(16).padStart(2, "0").repeat(16);
const member = (byte, role, displayName = "") => ({ memberId: id(byte), role, displayName });
const VISITOR = member(0x11, Role.VISITOR);
const ANNA = member(0x41, Role.COUNSELLOR, "Anna");
const BODIL = member(0x42, Role.COUNSELLOR, "Bodil");
const IVAN = member(0x49, Role.INTERPRETER, "Ivan");

function session(entries, initial = [VISITOR, ANNA, BODIL]) {
  const transcript = new Transcript();
  for (const entry of entries) transcript.add({ receivedAt: 0, at: null, mine: false, ...entry });
  return { transcript, initialMembers: initial };
}

const commit = (seq, from, role, members, added, removed) => ({ seq, kind: "commit", from: hex(from), role, members, added: added.map(hex), removed: removed.map(hex), explained: null });
const systemLines = (read) => read.lines.filter((l) => l.kind === "system").map((l) => [l.seq, l.key, l.values.name ?? null]);

test("labels: a short code from the id and the start time in the centre's zone", () => {
  assert.equal(conversationCode("0001f0000"), "000Z");
  assert.equal(conversationCode("fffff0000"), "ZZZZ");
  assert.match(conversationCode("3c8326ddc4d7c93df2301439460de80c"), /^[0-9A-HJKMNP-TV-Z]{4}$/);
  assert.equal(startTime("2026-07-01T12:05:00Z", { lang: "en", timeZone: "Europe/Oslo" }), "14:05");
  assert.equal(startTime("2026-12-01T12:05:00Z", { lang: "nb", timeZone: "Europe/Stockholm" }), "13:05");
  assert.equal(startTime(null), "");
  assert.equal(conversationLabel("Visitor 000Z", null, {}), "Visitor 000Z");
  assert.equal(conversationLabel("Visitor 000Z", "2026-07-01T12:05:00Z", { lang: "en", timeZone: "Europe/Oslo" }), "Visitor 000Z · 14:05");
});

test("content: text, JSON objects only, proposals that do not parse change nothing", () => {
  assert.deepEqual(decodeContent(1, utf8("hei")), { kind: "text", text: "hei" });
  assert.deepEqual(decodeContent(2, utf8('{"kind":"x"}')), { kind: "data", value: { kind: "x" } });
  assert.deepEqual(decodeContent(2, utf8("[1]")), { kind: "data", value: null });
  assert.deepEqual(decodeContent(3, utf8("garbage")), { kind: "proposal", proposal: null });
  const marker = JSON.parse(new TextDecoder().decode(handoverMarker("transfer", 7, hex(0x42))));
  assert.deepEqual(readHandover(marker), { action: "transfer", commit: 7, to: hex(0x42) });
  assert.equal(readHandover({ kind: "handover", action: "steal", commit: 7 }), null);
  assert.equal(readBooking({ kind: "booking", reference: "AB12-CD34", start: "2026-12-01T10:00:00Z", meeting: "phone" }).meeting, "phone");
  assert.equal(readBooking({ kind: "booking", reference: "<b>", start: "2026-12-01T10:00:00Z", meeting: "phone" }), null);
});

test("staff reading: taken, and a transfer or a return to the queue as the committer's marker says", () => {
  const claimed = commit(2, 0x41, Role.COUNSELLOR, [VISITOR, ANNA], [], [0x42]);
  const moved = commit(3, 0x41, Role.COUNSELLOR, [VISITOR, ANNA, BODIL], [0x42], []);
  const me = hex(0x42);
  const counsellorIds = new Set([hex(0x41), hex(0x42)]);
  // Two counsellors: the member lists of a transfer and a release are the same.
  const unmarked = reading(session([claimed, moved]), { me, counsellorIds });
  assert.deepEqual(systemLines(unmarked), [[2, "claimed", "Anna"], [3, "requeued", "Anna"]]);
  const transfer = { seq: 4, kind: "data", from: hex(0x41), role: Role.COUNSELLOR, value: { kind: "handover", action: "transfer", commit: 3, to: me } };
  const read = reading(session([claimed, moved, transfer]), { me, counsellorIds });
  assert.deepEqual(systemLines(read), [[2, "claimed", "Anna"], [3, "joined", "Bodil"]]);
  assert.equal(read.handover.from, hex(0x41)); // handed to me: I take Anna out once she has shared
  const release = { ...transfer, value: { kind: "handover", action: "release", commit: 3 } };
  const back = reading(session([claimed, moved, release]), { me, counsellorIds });
  assert.deepEqual(systemLines(back), [[2, "claimed", "Anna"], [3, "requeued", "Anna"]]);
  assert.equal(back.handover, null);
  const forged = { ...transfer, from: hex(0x11), role: Role.VISITOR }; // only the committer's marker counts
  assert.deepEqual(systemLines(reading(session([claimed, moved, forged]), { me, counsellorIds })), systemLines(unmarked));
});

test("staff reading: the interpreter request, invitations, leaving, and what cannot be read yet", () => {
  const claimed = commit(2, 0x41, Role.COUNSELLOR, [VISITOR, ANNA], [], [0x42]);
  const request = { seq: 3, kind: "data", from: hex(0x11), role: Role.VISITOR, value: { kind: "interpreter_request", language: "ti" } };
  const joined = commit(4, 0x11, Role.VISITOR, [VISITOR, ANNA, IVAN], [0x49], []);
  const leaving = { seq: 5, kind: "proposal", from: hex(0x49), role: Role.INTERPRETER, proposal: { action: 2, value: id(0x49) } };
  const hidden = { seq: 6, kind: "unreadable", from: hex(0x11), role: Role.VISITOR, data: new Uint8Array(1) };
  const read = reading(session([claimed, request, joined, leaving, hidden]), { me: hex(0x41) });
  assert.deepEqual(read.interpreter, { kind: "interpreter_request", language: "ti" });
  assert.deepEqual(systemLines(read).map(([, key]) => key), ["claimed", "interpreter", "interpreter_joined", "interpreter_leaving"]);
  assert.deepEqual([...read.invites], [[hex(0x49), { name: "Ivan", state: "joined" }]]);
  assert.deepEqual([...read.leaving], [hex(0x49)]);
  assert.equal(read.lines.at(-1).kind, "unreadable");
  const removed = commit(7, 0x41, Role.COUNSELLOR, [VISITOR, ANNA], [], [0x49]);
  const after = reading(session([claimed, request, joined, leaving, hidden, removed]), { me: hex(0x41) });
  assert.deepEqual([...after.leaving], []);
  assert.equal(after.invites.get(hex(0x49)).state, "left");
});

test("staff reading is computed once per transcript change", () => {
  const s = session([commit(2, 0x41, Role.COUNSELLOR, [VISITOR, ANNA], [], [0x42])]);
  const first = reading(s, { me: hex(0x41) });
  assert.equal(reading(s, { me: hex(0x41) }), first);
  s.transcript.add({ seq: 3, kind: "text", from: hex(0x11), role: Role.VISITOR, text: "hei", receivedAt: 0 });
  assert.notEqual(reading(s, { me: hex(0x41) }), first);
});

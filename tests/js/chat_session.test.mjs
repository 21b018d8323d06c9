// The chat core (web/static/js/chat/: outbox, session, transcript, router) without a browser:
// real protocol.js conversations against a small in-memory server with the real server's rules
// (a message is stored only at the head, else `conflict`; sending is idempotent by client_id; a
// pump delivers everything after each connection's cursor, in order), over a fake socket.

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  b64decode,
  b64encode,
  certify,
  ContentType,
  createConversation,
  encodeAddProposal,
  generateAdminKey,
  memberFromPrivateBytes,
  openConversation,
  peek,
  Role,
  signDirectory,
  toHex,
  utf8,
  utf8Decode,
} from "../../web/static/js/protocol.js";
import { handoverMarker } from "../../web/static/js/chat/content.js";
import { Outbox } from "../../web/static/js/chat/outbox.js";
import { FrameRouter } from "../../web/static/js/chat/router.js";
import { ChatSession } from "../../web/static/js/chat/session.js";
import { signatureInput } from "../../web/static/js/protocol/keyschedule.js";
import { ed25519Sign } from "../../web/static/js/protocol/primitives.js";

const NOW = Math.floor(Date.now() / 1000); // commits the chat core builds use the clock (PROTOCOL.md §9.7)

function ids(prefix = "00000000") {
  let n = 0;
  return () => `${prefix}-0000-4000-8000-${String(++n).padStart(12, "0")}`;
}

const text = (value) => ({ text: value, build: (c) => c.encrypt(ContentType.TEXT, utf8(value)) });

// --- the outbox alone ------------------------------------------------------------------------

test("outbox: one in flight, in order; conflict waits for the message that took the seq", () => {
  const box = new Outbox(ids());
  const a = box.add(text("a"));
  const b = box.add(text("b"));
  assert.equal(box.next(1), a);
  box.sending(a, "wire-a1", 1);
  assert.equal(box.next(1), null); // a is in flight
  box.conflict(a.clientId);
  assert.equal(box.next(1), null); // seq 1 is someone else's: wait for it
  assert.equal(box.next(2), a);
  box.sending(a, "wire-a2", 2);
  assert.equal(box.acked(a.clientId, 2, 2), null); // echo not yet seen
  assert.equal(box.echoed("wire-a2", 2), a);
  assert.equal(box.next(3), b);
});

test("outbox: an echo of any earlier attempt settles the message; an ack after the echo too", async () => {
  const box = new Outbox(ids());
  const a = box.add(text("a"));
  box.sending(a, "first", 1);
  box.interrupted(); // connection lost before the ack
  box.sending(a, "second", 1);
  assert.equal(box.echoed("first", 1), a); // the server had stored the first attempt
  assert.equal(box.waiting, 0);
  assert.deepEqual(await a.result, { ok: true, seq: 1 });
  const b = box.add(text("b"));
  box.sending(b, "b1", 2);
  assert.equal(box.acked(b.clientId, 2, 3), b); // echo applied before the ack came
  assert.equal(box.inFlight, null);
});

test("outbox: a refused message is marked and skipped", async () => {
  const box = new Outbox(ids());
  const a = box.add(text("a"));
  const b = box.add(text("b"));
  box.sending(a, "x", 1);
  assert.equal(box.failed(a.clientId, "closed", "The conversation is closed."), a);
  assert.equal(box.next(1), b);
  assert.equal(box.waiting, 1);
  assert.deepEqual(await a.result, { ok: false, code: "closed", message: "The conversation is closed." });
});

test("outbox: someone else writing first twenty times in a row fails the item", () => {
  const box = new Outbox(ids());
  const a = box.add(text("a"));
  for (let seq = 1; seq <= 20; seq++) {
    box.sending(a, `w${seq}`, seq);
    assert.equal(box.conflict(a.clientId).failed, false);
  }
  box.sending(a, "w21", 21);
  assert.equal(box.conflict(a.clientId).failed, true);
});

// --- sessions over a fake socket ------------------------------------------------------------

async function world() {
  const centreId = new Uint8Array(16).fill(7);
  const admin = await generateAdminKey();
  const rand = (n) => globalThis.crypto.getRandomValues(new Uint8Array(n));
  const people = {};
  const certs = {};
  for (const [name, byte, role] of [["anna", 65, Role.COUNSELLOR], ["bodil", 66, Role.COUNSELLOR], ["ivan", 73, Role.INTERPRETER]]) {
    const staffId = new Uint8Array(16).fill(byte);
    people[name] = await memberFromPrivateBytes(staffId, role, centreId, rand(32), rand(32));
    certs[name] = await certify(admin, {
      centreId, staffId, role, displayName: name[0].toUpperCase() + name.slice(1),
      kemPublic: people[name].kemPublic, sigPublic: people[name].sigPublic, notBefore: NOW - 10, notAfter: NOW + 1e7,
    });
  }
  const directory = await signDirectory(admin, { centreId, serial: 1, issuedAt: NOW - 10, expiresAt: NOW + 1e6, certificates: Object.values(certs) });
  const anchors = [admin.public];
  const created = await createConversation({ directory, anchors, now: NOW });
  const staff = await openConversation(people.anna, created.genesis, anchors);
  return { created, staff, people, certs, anchors, directory, admin, centreId };
}

/** The server's rules, in memory; frames are delivered asynchronously, as over a socket. */
class FakeServer {
  constructor(id, genesis) {
    this.id = id;
    this.log = [b64encode(genesis)];
    this.byClient = new Map();
    this.connections = new Set();
    this.refuse = () => null; // frame -> error code, or null to accept
  }

  connect(deliver) {
    const conn = { cursor: null, open: true, dropAcks: false, holdMessages: false, held: [] };
    conn.deliver = (f) => {
      if (conn.holdMessages && f.type === "message") conn.held.push(f);
      else setTimeout(() => conn.open && deliver(f), 0);
    };
    conn.release = () => {
      conn.holdMessages = false;
      for (const f of conn.held.splice(0)) conn.deliver(f);
    };
    this.connections.add(conn);
    return conn;
  }

  async handle(conn, frame) {
    if (frame.type === "sync") {
      conn.cursor = frame.after;
      conn.deliver({ type: "synced", conversation: this.id, ref: frame.ref });
      this.pump();
    } else if (frame.message) {
      const refused = this.refuse(frame);
      if (refused) {
        conn.deliver({ type: "error", code: refused, message: `refused: ${refused}`, ref: frame.ref });
        return;
      }
      const seq = await this.store(frame.client_id, frame.message);
      if (seq === null) conn.deliver({ type: "error", code: "conflict", ref: frame.ref });
      else if (!conn.dropAcks) conn.deliver({ type: "ack", ref: frame.ref, client_id: frame.client_id, conversation: this.id, seq });
    }
  }

  async store(clientId, message) {
    if (this.byClient.has(clientId)) return this.byClient.get(clientId);
    const r = await peek(b64decode(message));
    const last = await peek(b64decode(this.log[this.log.length - 1]));
    if (r.seq !== this.log.length || toHex(r.prevHash) !== toHex(last.messageHash)) return null;
    this.log.push(message);
    this.byClient.set(clientId, r.seq);
    this.pump();
    return r.seq;
  }

  pump() {
    for (const conn of this.connections) {
      if (conn.cursor === null || !conn.open) continue;
      while (conn.cursor < this.log.length - 1) {
        conn.cursor += 1;
        conn.deliver({ type: "message", conversation: this.id, seq: conn.cursor, message: this.log[conn.cursor], at: "" });
      }
    }
  }
}

/** A session behind a router on a fake socket: connect() and disconnect() as the network does. */
function client(server, options, prefix) {
  const events = [];
  const sent = [];
  let conn = null;
  const router = new FrameRouter((frame) => events.push(["other", frame]));
  const session = new ChatSession({
    id: server.id,
    send: (frame) => {
      if (!conn || !conn.open) return false;
      sent.push(frame);
      server.handle(conn, frame);
      return true;
    },
    newId: ids(prefix),
    ...options,
  });
  session.on((name, detail) => events.push([name, detail]));
  router.add(session);
  session.follow();
  const connect = () => {
    conn = server.connect((frame) => router.route(frame));
    router.connected();
    return conn;
  };
  const disconnect = () => {
    conn.open = false;
    server.connections.delete(conn);
    router.disconnected();
  };
  return { session, router, events, sent, connect, disconnect };
}

function visitorClient(server, conversation) {
  return client(server, { conversation, me: toHex(conversation.me.memberId), visitor: true }, "00000000");
}

function staffClient(server, member, anchors) {
  const me = toHex(member.memberId);
  return client(server, { me, open: (genesis) => openConversation(member, genesis, anchors) }, `${me.slice(0, 8)}`);
}

async function settle(...sessions) {
  for (let i = 0; i < 25; i++) {
    await new Promise((resolve) => setTimeout(resolve, 5));
    for (const s of sessions) await s.idle();
  }
}

async function texts(conversationOf, server, after = 0) {
  const out = [];
  for (const message of server.log.slice(after + 1)) {
    const r = await conversationOf.receive(b64decode(message));
    if (r.contentType === ContentType.TEXT) out.push(utf8Decode(r.body));
  }
  return out;
}

const shown = (session) => session.transcript.entries.filter((e) => e.kind === "text").map((e) => [e.seq, e.mine, e.text]);

test("conflict: the counsellor wrote first; the visitor catches up and re-encrypts at the new head, same client_id", async () => {
  const { created, staff } = await world();
  const server = new FakeServer(toHex(created.conversation.conversationId), created.genesis);
  const v = visitorClient(server, created.conversation);
  v.connect();
  await settle(v.session);
  // The counsellor's message is stored first, but reaches the visitor only after the conflict.
  const theirs = await staff.encrypt(ContentType.TEXT, utf8("counsellor first"));
  const conn = [...server.connections][0];
  conn.holdMessages = true;
  await server.store("11111111-1111-4111-8111-111111111111", b64encode(theirs));
  const item = v.session.write("visitor second");
  await settle(v.session);
  assert.equal(server.log.length, 2); // refused with `conflict`; the visitor waits for seq 1
  assert.equal(v.session.outbox.items[0].waitFor, 1);
  conn.release();
  await settle(v.session);
  assert.deepEqual(await texts(staff, server), ["counsellor first", "visitor second"]);
  assert.equal(v.session.outbox.waiting, 0);
  assert.deepEqual(shown(v.session), [[1, false, "counsellor first"], [2, true, "visitor second"]]);
  assert.equal(server.byClient.size, 2);
  assert.equal(server.byClient.get("00000000-0000-4000-8000-000000000001"), 2); // same client_id, new head
  assert.deepEqual(await item.result, { ok: true, seq: 2 });
  const attempts = v.sent.filter((f) => f.type === "send");
  assert.equal(new Set(attempts.map((f) => f.client_id)).size, 1);
  assert.equal(new Set(attempts.map((f) => f.message)).size, attempts.length); // built again each time
});

test("reconnect: a message stored but not acknowledged before the connection dropped is stored once", async () => {
  const { created, staff } = await world();
  const server = new FakeServer(toHex(created.conversation.conversationId), created.genesis);
  const v = visitorClient(server, created.conversation);
  const conn = v.connect();
  await settle(v.session);
  conn.dropAcks = true;
  conn.deliver = () => {}; // nothing comes back on this connection: no ack, no echo
  v.session.write("only once");
  await settle(v.session);
  assert.equal(server.log.length, 2); // stored
  v.disconnect();
  v.connect(); // sync, then the same client_id again: acknowledged with the seq it already has
  await settle(v.session);
  assert.deepEqual(await texts(staff, server), ["only once"]);
  assert.equal(v.session.outbox.waiting, 0);
  assert.deepEqual(shown(v.session), [[1, true, "only once"]]);
  const echoes = v.events.filter(([n, d]) => n === "entry" && d.entry.mine);
  assert.equal(echoes.length, 1);
  assert.equal(echoes[0][1].item.text, "only once");
});

test("reconnect: what is written while offline goes out in order once connected, built at the new head", async () => {
  const { created, staff } = await world();
  const server = new FakeServer(toHex(created.conversation.conversationId), created.genesis);
  const v = visitorClient(server, created.conversation);
  v.session.write("one");
  v.session.write("two");
  await settle(v.session);
  assert.equal(server.log.length, 1); // nothing can leave without a connection
  await server.store("22222222-2222-4222-8222-222222222222", b64encode(await staff.encrypt(ContentType.TEXT, utf8("meanwhile"))));
  v.connect();
  await settle(v.session);
  assert.deepEqual(await texts(staff, server), ["meanwhile", "one", "two"]);
  assert.deepEqual(shown(v.session), [[1, false, "meanwhile"], [2, true, "one"], [3, true, "two"]]);
  assert.equal(new Set(v.sent.filter((f) => f.type === "send").map((f) => f.client_id)).size, 2); // one client_id each
});

test("duplicate echo: a message delivered twice (an old connection and a sync) is applied once", async () => {
  const { created, staff } = await world();
  const server = new FakeServer(toHex(created.conversation.conversationId), created.genesis);
  const v = visitorClient(server, created.conversation);
  v.connect();
  await settle(v.session);
  v.session.write("hello");
  await settle(v.session);
  await staff.receive(b64decode(server.log[1]));
  await server.store("33333333-3333-4333-8333-333333333333", b64encode(await staff.encrypt(ContentType.TEXT, utf8("hi"))));
  await settle(v.session);
  for (const seq of [1, 2, 1]) v.router.route({ type: "message", conversation: server.id, seq, message: server.log[seq], at: "" });
  v.router.route({ type: "ack", conversation: server.id, client_id: "00000000-0000-4000-8000-000000000001", seq: 1, ref: "s.x" });
  await settle(v.session);
  assert.deepEqual(shown(v.session), [[1, true, "hello"], [2, false, "hi"]]);
  assert.ok(!v.session.broken);
  assert.equal(v.events.filter(([n]) => n === "entry").length, 2);
});

test("out-of-order frames: a gap asks again from where we are; nothing is applied out of order", async () => {
  const { created, people, anchors } = await world();
  const server = new FakeServer(toHex(created.conversation.conversationId), created.genesis);
  const s = staffClient(server, people.anna, anchors);
  await server.store("44444444-4444-4444-8444-444444444444", b64encode(await created.conversation.encrypt(ContentType.TEXT, utf8("first"))));
  await created.conversation.receive(b64decode(server.log[1]));
  await server.store("55555555-5555-4555-8555-555555555555", b64encode(await created.conversation.encrypt(ContentType.TEXT, utf8("second"))));
  const conn = s.connect();
  conn.holdMessages = true; // the pump's delivery is held: we feed frames by hand, out of order
  await settle(s.session);
  for (const seq of [0, 2, 1]) s.router.route({ type: "message", conversation: server.id, seq, message: server.log[seq], at: "" });
  await settle(s.session);
  assert.deepEqual(shown(s.session), [[1, false, "first"]]); // seq 2 came before seq 1: dropped
  const syncs = s.sent.filter((f) => f.type === "sync").map((f) => f.after);
  assert.deepEqual(syncs, [-1, 0]); // asked again after seq 0 when seq 2 arrived
  conn.release();
  await settle(s.session);
  assert.deepEqual(shown(s.session), [[1, false, "first"], [2, false, "second"]]);
  assert.ok(!s.session.broken);
});

test("a refused message is marked failed, the next one still goes, and the promise says why", async () => {
  const { created, staff } = await world();
  const server = new FakeServer(toHex(created.conversation.conversationId), created.genesis);
  const v = visitorClient(server, created.conversation);
  server.refuse = (frame) => (frame.client_id.endsWith("1") ? "not_allowed" : null);
  v.connect();
  await settle(v.session);
  const refused = v.session.write("refused");
  const next = v.session.write("accepted");
  await settle(v.session);
  assert.deepEqual(await refused.result, { ok: false, code: "not_allowed", message: "refused: not_allowed" });
  assert.equal(refused.failed, true);
  assert.deepEqual(v.session.outbox.items, [refused]); // kept, marked, for the page to show
  assert.deepEqual(await next.result, { ok: true, seq: 1 });
  assert.deepEqual(await texts(staff, server), ["accepted"]);
  assert.ok(v.events.some(([n, d]) => n === "failed" && d.item === refused && d.code === "not_allowed"));
});

test("a message that fails verification stops the conversation (fail closed)", async () => {
  const { created } = await world();
  const server = new FakeServer(toHex(created.conversation.conversationId), created.genesis);
  const v = visitorClient(server, created.conversation);
  v.connect();
  await settle(v.session);
  const other = await world(); // a message from another conversation's key
  const forged = await other.staff.encrypt(ContentType.TEXT, utf8("forged"));
  server.log.push(b64encode(forged));
  server.pump();
  await settle(v.session);
  assert.ok(v.session.broken);
  assert.ok(v.events.some(([n]) => n === "broken"));
  const after = v.session.write("after the break");
  await settle(v.session);
  assert.equal(server.log.length, 2); // nothing more was sent
  assert.equal((await after.result).ok, false);
  assert.ok(!v.session.transcript.entries.some((e) => e.text === "forged"));
});

test("a build that throws sends nothing (fail closed) and the queue moves on", async () => {
  const { created, staff } = await world();
  const server = new FakeServer(toHex(created.conversation.conversationId), created.genesis);
  const v = visitorClient(server, created.conversation);
  v.connect();
  await settle(v.session);
  const bad = v.session.enqueue({ kind: "op", build: (c) => c.encrypt(ContentType.TEXT, new Uint8Array(70000)) });
  v.session.write("fine");
  await settle(v.session);
  assert.equal((await bad.result).code, "oversize");
  assert.equal(v.sent.filter((f) => f.type === "send").length, 1);
  assert.deepEqual(await texts(staff, server), ["fine"]);
});

test("staff: claim, receipts from the visitor only, typing, and a history share that reveals what came before", async () => {
  const w = await world();
  const server = new FakeServer(toHex(w.created.conversation.conversationId), w.created.genesis);
  const v = visitorClient(server, w.created.conversation);
  const anna = staffClient(server, w.people.anna, w.anchors);
  const annaId = toHex(w.people.anna.memberId);
  anna.session.transcript.countsFor = (member) => member === anna.session.visitorId;
  v.connect();
  anna.connect();
  v.session.write("waiting");
  await settle(v.session, anna.session);
  const claim = anna.session.enqueue({ kind: "op", frame: "claim", build: (c) => c.claim() });
  await settle(v.session, anna.session);
  assert.deepEqual(await claim.result, { ok: true, seq: 2 });
  const reply = anna.session.write("I am here");
  await settle(v.session, anna.session);
  assert.deepEqual(shown(v.session).map(([, , t]) => t), ["waiting", "I am here"]);
  const entry = anna.session.transcript.at((await reply.result).seq);
  assert.equal(anna.session.transcript.state(entry), "sent");
  anna.router.route({ type: "receipt", conversation: server.id, member: "ffffffffffffffffffffffffffffffff", delivered: 3, read: 3 });
  await anna.session.idle();
  assert.equal(anna.session.transcript.state(entry), "sent"); // not the visitor's
  anna.router.route({ type: "receipt", conversation: server.id, member: anna.session.visitorId, delivered: 3, read: 2 });
  await anna.session.idle();
  assert.equal(anna.session.transcript.state(entry), "delivered");
  anna.router.route({ type: "typing", conversation: server.id, member: "visitor", seconds: 5 });
  assert.deepEqual(anna.session.typingNow(), ["visitor"]);
  v.router.route({ type: "typing", conversation: server.id, member: "visitor", seconds: 5 }); // my own other tab
  v.router.route({ type: "typing", conversation: server.id, member: annaId, seconds: 5 });
  assert.deepEqual(v.session.typingNow(), [annaId]);
  v.session.write("thanks");
  await settle(v.session, anna.session);
  assert.deepEqual(anna.session.typingNow(), []); // the visitor's message ends their typing

  // The visitor lets Ivan in with the history: his page reads what came before.
  const ivan = staffClient(server, w.people.ivan, w.anchors);
  ivan.connect();
  await settle(ivan.session);
  assert.equal(ivan.session.transcript.unreadable.length, 3);
  anna.session.propose(encodeAddProposal(w.certs.ivan));
  await settle(v.session, anna.session);
  v.session.enqueue({ kind: "op", frame: "commit", build: (c) => c.addMember(w.certs.ivan, NOW + 5) });
  v.session.enqueue({ kind: "op", build: (c) => c.shareHistory(w.people.ivan.memberId, c.knownEpochs().filter((e) => e < c.epoch)) });
  await settle(v.session, anna.session, ivan.session);
  assert.equal(ivan.session.transcript.unreadable.length, 0); // epochs 0 and 1 were shared
  assert.deepEqual(shown(ivan.session).map(([, , t]) => t), ["waiting", "I am here", "thanks"]);
  assert.ok(ivan.events.some(([n]) => n === "revealed"));
});

test("a handover marker explains the commit it names, only from its committer", async () => {
  const w = await world();
  const server = new FakeServer(toHex(w.created.conversation.conversationId), w.created.genesis);
  const v = visitorClient(server, w.created.conversation);
  const anna = staffClient(server, w.people.anna, w.anchors);
  v.connect();
  anna.connect();
  await settle(v.session, anna.session);
  const claim = anna.session.enqueue({ kind: "op", frame: "claim", build: (c) => c.claim() });
  await settle(v.session, anna.session);
  const { seq } = await claim.result;
  const moved = anna.session.enqueue({ kind: "op", frame: "transfer", fields: { to: "42".repeat(16) }, build: (c) => c.addMember(w.certs.bodil, NOW + 5) });
  await settle(v.session, anna.session);
  const commitSeq = (await moved.result).seq;
  assert.equal(commitSeq, seq + 1);
  v.session.writeJson({ kind: "handover", action: "release", commit: commitSeq }); // not the committer
  anna.session.enqueue({ kind: "op", build: (c) => c.encrypt(ContentType.APP_JSON, handoverMarker("transfer", commitSeq, "42".repeat(16))) });
  await settle(v.session, anna.session);
  const commit = v.session.transcript.at(commitSeq);
  assert.equal(commit.kind, "commit");
  assert.deepEqual(commit.explained, { action: "transfer", commit: commitSeq, to: "42".repeat(16) });
  const transfer = anna.sent.find((f) => f.type === "transfer");
  assert.equal(transfer.to, "42".repeat(16));
});

test("router: refs and conversation ids find their session; everything else goes to the page", async () => {
  const w = await world();
  const server = new FakeServer(toHex(w.created.conversation.conversationId), w.created.genesis);
  const v = visitorClient(server, w.created.conversation);
  v.router.route({ type: "standing", conversation: server.id, position: 2 });
  v.router.route({ type: "presence", on_duty: [] });
  assert.deepEqual(v.events.filter(([n]) => n === "other").map(([, f]) => f.type), ["standing", "presence"]);
  v.router.route({ type: "error", code: "forbidden", ref: `sync.${server.id}` });
  await v.session.idle();
  assert.equal(v.session.gone, "forbidden");
  const item = v.session.write("x");
  await v.session.idle();
  v.router.route({ type: "error", code: "closed", ref: `s.${item.clientId}` });
  await settle(v.session);
  assert.equal((await item.result).code, "closed");
});

test("shred forgets everything decrypted and fails what was waiting", async () => {
  const w = await world();
  const server = new FakeServer(toHex(w.created.conversation.conversationId), w.created.genesis);
  const v = visitorClient(server, w.created.conversation);
  v.connect();
  v.session.write("kept?");
  await settle(v.session);
  v.session.draft = "half a sentence";
  v.disconnect();
  const waiting = v.session.write("never");
  v.session.shred();
  assert.deepEqual(await waiting.result, { ok: false, code: "deleted", message: "" });
  assert.deepEqual(v.session.transcript.entries, []);
  assert.deepEqual(v.session.outbox.items, []);
  assert.equal(v.session.draft, "");
  assert.equal(v.session.conversation, null);
});

// --- keeping the conversation going: revocation, scheduled re-keys, bad members (§8.5, §9.6) --

/** The commits stored after `after`, as the visitor's copy reads them. */
async function commitsAfter(server, after) {
  const out = [];
  for (const message of server.log.slice(after + 1)) {
    const r = await peek(b64decode(message));
    if (r.type === 0x11) out.push(r);
  }
  return out;
}

/** A team: Anna claims, then adds Bodil. Returns the sessions, all caught up. */
async function team(w, options = {}) {
  const server = new FakeServer(toHex(w.created.conversation.conversationId), w.created.genesis);
  const directory = async () => w.directory;
  const v = client(server, { conversation: w.created.conversation, me: toHex(w.created.conversation.me.memberId), visitor: true, directory, ...options }, "00000000");
  const annaMe = toHex(w.people.anna.memberId);
  const anna = client(server, { me: annaMe, open: (g) => openConversation(w.people.anna, g, w.anchors), directory, ...options }, annaMe.slice(0, 8));
  const bodilMe = toHex(w.people.bodil.memberId);
  const bodil = client(server, { me: bodilMe, open: (g) => openConversation(w.people.bodil, g, w.anchors), directory }, bodilMe.slice(0, 8));
  for (const c of [v, anna, bodil]) c.connect();
  await settle(v.session, anna.session, bodil.session);
  anna.session.enqueue({ kind: "op", frame: "claim", build: (c) => c.claim() });
  await settle(v.session, anna.session, bodil.session);
  anna.session.enqueue({ kind: "op", frame: "commit", build: (c) => c.addMember(w.certs.bodil) });
  await settle(v.session, anna.session, bodil.session);
  for (const c of [v, anna]) c.router.route({ type: "conversation", conversation: server.id, status: "active", counsellor: annaMe });
  await settle(v.session, anna.session, bodil.session);
  return { server, v, anna, bodil };
}

test("rekey_needed: one remaining member's client re-keys without the member who must go; the others find it done", async () => {
  const w = await world();
  const { server, v, anna, bodil } = await team(w);
  assert.ok(bodil.session.canRead);
  const before = server.log.length - 1;
  const bodilId = toHex(w.people.bodil.memberId);
  const frame = { type: "rekey_needed", conversation: server.id, members: [bodilId], action: "rekey" };
  for (const c of [v, anna, bodil]) c.router.route(frame); // pushed to every online member
  await settle(v.session, anna.session, bodil.session);
  const commits = await commitsAfter(server, before);
  assert.equal(commits.length, 1); // the server kept the first; the other client found nothing left to do
  assert.deepEqual(commits[0].members.map(([id]) => toHex(id)).sort(), [toHex(w.people.anna.memberId), v.session.visitorId].sort());
  assert.ok(!bodil.sent.some((f) => f.type === "commit")); // the one who must go does nothing
  assert.ok(v.session.canRead && anna.session.canRead);
  assert.ok(!bodil.session.conversation.isMember);
  assert.ok(!bodil.session.canRead); // no wrap of the new epoch: cryptography keeps her out
  v.session.write("after the re-key");
  await settle(v.session, anna.session, bodil.session);
  assert.deepEqual(shown(anna.session).map(([, , t]) => t), ["after the re-key"]);
  assert.ok(!bodil.session.transcript.entries.some((e) => e.text === "after the re-key"));
  assert.ok(v.events.some(([n, d]) => n === "rekey_needed" && d.members[0] === bodilId));
});

test("rekey_needed while queued: the visitor re-wraps the queue epoch to the counsellors still certified", async () => {
  const w = await world();
  const server = new FakeServer(toHex(w.created.conversation.conversationId), w.created.genesis);
  const v = client(server, { conversation: w.created.conversation, me: toHex(w.created.conversation.me.memberId), visitor: true, directory: async () => w.directory }, "00000000");
  v.connect();
  await settle(v.session);
  const bodilId = toHex(w.people.bodil.memberId);
  v.router.route({ type: "rekey_needed", conversation: server.id, members: [bodilId], action: "requeue" });
  await settle(v.session);
  const [commit] = await commitsAfter(server, 0);
  const listed = commit.members.map(([id]) => toHex(id));
  assert.ok(listed.includes(toHex(w.people.anna.memberId)));
  assert.ok(!listed.includes(bodilId));
  assert.ok(!listed.includes(toHex(w.people.ivan.memberId))); // interpreters are never in the queue
  assert.ok(v.session.canRead);
});

test("scheduled re-key: when the epoch is due one member re-keys, once", async () => {
  const w = await world();
  const { server, v, anna } = await team(w, { rekeyPolicy: { maxAge: 86400, maxMessages: 3 } });
  const before = server.log.length - 1;
  v.session.write("one");
  v.session.write("two");
  await settle(v.session, anna.session);
  assert.equal((await commitsAfter(server, before)).length, 0);
  anna.session.write("three");
  await settle(v.session, anna.session);
  const commits = await commitsAfter(server, before);
  assert.equal(commits.length, 1);
  assert.equal(commits[0].members.length, 3); // the same members, a fresh secret
  v.session.write("four");
  await settle(v.session, anna.session);
  assert.deepEqual(shown(anna.session).map(([, , t]) => t), ["one", "two", "three", "four"]);
});

test("a correctly signed message that does not open is shown as unreadable and the conversation goes on", async () => {
  const w = await world();
  const { server, v, anna, bodil } = await team(w);
  // Bodil's client sends garbage: a real message with its ciphertext changed, signed again.
  const good = await bodil.session.conversation.encrypt(ContentType.TEXT, utf8("hidden"));
  const tbs = good.slice(0, good.length - 64);
  tbs[tbs.length - 1] ^= 1;
  const garbage = new Uint8Array([...tbs, ...(await ed25519Sign(w.people.bodil.sigPrivate, signatureInput("application", tbs)))]);
  await server.store("66666666-6666-4666-8666-666666666666", b64encode(garbage));
  v.session.write("still talking");
  anna.session.write("me too");
  await settle(v.session, anna.session, bodil.session);
  for (const c of [v, anna]) {
    assert.ok(!c.session.broken);
    const bad = c.session.transcript.entries.find((e) => e.kind === "unreadable");
    assert.equal(bad.problem, "bad_tag");
    assert.equal(c.session.transcript.state(bad), "unreadable");
  }
  assert.deepEqual(shown(v.session).map(([, , t]) => t).sort(), ["me too", "still talking"]); // either may go first
  assert.equal((await v.session.transcript.openHeld(v.session.conversation)).length, 0); // never openable
});

test("a key request for the current epoch is answered with one re-key; the asker reads again", async () => {
  const w = await world();
  const { server, v, anna, bodil } = await team(w);
  const before = server.log.length - 1;
  // Bodil says her wrap failed (a reason-1 key request; no key needed to send it).
  await server.store("77777777-7777-4777-8777-777777777777", b64encode(await bodil.session.conversation.requestRekey(1)));
  await settle(v.session, anna.session, bodil.session);
  const commits = await commitsAfter(server, before);
  assert.equal(commits.length, 1); // the visitor and Anna both may answer; one commit is kept
  assert.equal(commits[0].members.length, 3);
  assert.ok(bodil.session.canRead);
  bodil.session.write("thanks");
  await settle(v.session, anna.session, bodil.session);
  assert.deepEqual(shown(v.session).map(([, , t]) => t), ["thanks"]);
});

test("rekey_needed with a renewal: the member certified anew is renewed, not removed, and reads on with new keys", async () => {
  const w = await world();
  const { server, v, anna } = await team(w);
  const before = server.log.length - 1;
  const rand = (n) => globalThis.crypto.getRandomValues(new Uint8Array(n));
  const staffId = w.people.bodil.memberId;
  const fresh = await memberFromPrivateBytes(staffId, Role.COUNSELLOR, w.centreId, rand(32), rand(32));
  const renewed = await certify(w.admin, {
    centreId: w.centreId, staffId, role: Role.COUNSELLOR, displayName: "Bodil",
    kemPublic: fresh.kemPublic, sigPublic: fresh.sigPublic, notBefore: NOW - 10, notAfter: NOW + 1e7,
  });
  w.directory = await signDirectory(w.admin, { centreId: w.centreId, serial: 2, issuedAt: NOW - 5, expiresAt: NOW + 1e6, certificates: [w.certs.anna, renewed, w.certs.ivan] });
  const id = toHex(staffId);
  for (const c of [v, anna]) c.router.route({ type: "rekey_needed", conversation: server.id, members: [id], renewed: [id], action: "rekey" });
  await settle(v.session, anna.session);
  const commits = await commitsAfter(server, before);
  assert.equal(commits.length, 1); // renewed once; the other client found the old certificate gone
  assert.ok(commits[0].members.some(([member]) => toHex(member) === id));
  const again = client(server, { me: id, open: (g) => openConversation(fresh, g, w.anchors) }, "bbbbbbbb");
  again.connect();
  v.session.write("with your new keys");
  await settle(v.session, anna.session, again.session);
  assert.ok(again.session.canRead);
  assert.deepEqual(shown(again.session).map(([, , t]) => t), ["with your new keys"]);
});

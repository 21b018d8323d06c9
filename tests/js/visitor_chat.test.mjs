// The visitor chat's delivery logic (web/static/js/visitor/outbox.js and client.js) against a
// small in-memory server with the real server's rules: a message is stored only at the head
// (else `conflict`), sending is idempotent by client_id, and a pump delivers everything after
// each connection's cursor in order.  Conversations are real protocol.js conversations.

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  b64decode,
  b64encode,
  certify,
  ContentType,
  createConversation,
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
import { Outbox } from "../../web/static/js/visitor/outbox.js";
import { ChatClient } from "../../web/static/js/visitor/client.js";

const NOW = 1767225600;

function ids() {
  let n = 0;
  return () => `00000000-0000-4000-8000-${String(++n).padStart(12, "0")}`;
}

test("outbox: one in flight, in order; conflict waits for the message that took the seq", () => {
  const box = new Outbox(ids());
  const a = box.add("a");
  const b = box.add("b");
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

test("outbox: an echo of any earlier attempt settles the message; an ack after the echo too", () => {
  const box = new Outbox(ids());
  const a = box.add("a");
  box.sending(a, "first", 1);
  box.interrupted(); // connection lost before the ack
  box.sending(a, "second", 1);
  assert.equal(box.echoed("first", 1), a); // the server had stored the first attempt
  assert.equal(box.waiting, 0);
  const b = box.add("b");
  box.sending(b, "b1", 2);
  assert.equal(box.acked(b.clientId, 2, 3), b); // echo applied before the ack came
  assert.equal(box.inFlight, null);
});

test("outbox: a refused message is marked and skipped", () => {
  const box = new Outbox(ids());
  const a = box.add("a");
  const b = box.add("b");
  box.sending(a, "x", 1);
  assert.equal(box.failed(a.clientId), a);
  assert.equal(box.next(1), b);
  assert.equal(box.waiting, 1);
});

async function world() {
  const centreId = new Uint8Array(16).fill(7);
  const admin = await generateAdminKey();
  const staffId = new Uint8Array(16).fill(65);
  const rand = (n) => globalThis.crypto.getRandomValues(new Uint8Array(n));
  const anna = await memberFromPrivateBytes(staffId, Role.COUNSELLOR, centreId, rand(32), rand(32));
  const cert = await certify(admin, {
    centreId, staffId, role: Role.COUNSELLOR, displayName: "Anna",
    kemPublic: anna.kemPublic, sigPublic: anna.sigPublic, notBefore: NOW - 10, notAfter: NOW + 1e7,
  });
  const directory = await signDirectory(admin, { centreId, serial: 1, issuedAt: NOW - 10, expiresAt: NOW + 1e6, certificates: [cert] });
  const created = await createConversation({ directory, anchors: [admin.public], now: NOW });
  const staff = await openConversation(anna, created.genesis, [admin.public]);
  return { created, staff };
}

/** The server's rules, in memory; frames are delivered asynchronously, as over a socket. */
class FakeServer {
  constructor(id, genesis) {
    this.id = id;
    this.log = [b64encode(genesis)];
    this.byClient = new Map();
    this.connections = new Set();
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
    } else if (frame.type === "send") {
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

function visitorClient(server, conversation) {
  const events = [];
  let conn = null;
  const client = new ChatClient({
    conversationId: server.id,
    conversation,
    send: (frame) => {
      if (!conn || !conn.open) return false;
      server.handle(conn, frame);
      return true;
    },
    emit: (name, detail) => events.push([name, detail]),
    newId: ids(),
  });
  const connect = () => {
    conn = server.connect((frame) => client.frame(frame));
    client.connected();
    return conn;
  };
  const disconnect = () => {
    conn.open = false;
    server.connections.delete(conn);
    client.disconnected();
  };
  return { client, events, connect, disconnect };
}

async function settle(client, ms = 30) {
  for (let i = 0; i < 20; i++) {
    await new Promise((resolve) => setTimeout(resolve, ms / 10));
    await client.idle();
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

test("client: a conflict with the counsellor is resolved by re-encrypting at the new head, same client_id", async () => {
  const { created, staff } = await world();
  const server = new FakeServer(toHex(created.conversation.conversationId), created.genesis);
  const v = visitorClient(server, created.conversation);
  v.connect();
  await settle(v.client);
  // The counsellor's message is stored first, but reaches the visitor only after the conflict.
  const theirs = await staff.encrypt(ContentType.TEXT, utf8("counsellor first"));
  const conn = [...server.connections][0];
  conn.holdMessages = true;
  await server.store("11111111-1111-4111-8111-111111111111", b64encode(theirs));
  v.client.write("visitor second");
  await settle(v.client, 100);
  assert.equal(server.log.length, 2); // refused with `conflict`; the visitor waits for seq 1
  assert.equal(v.client.outbox.items[0].waitFor, 1);
  conn.release();
  await settle(v.client, 100);
  assert.deepEqual(await texts(staff, server), ["counsellor first", "visitor second"]);
  assert.equal(v.client.outbox.waiting, 0);
  const messages = v.events.filter(([n]) => n === "message").map(([, d]) => [d.seq, d.mine, d.text]);
  assert.deepEqual(messages, [[1, false, "counsellor first"], [2, true, "visitor second"]]);
  assert.equal(server.byClient.size, 2);
  assert.equal(server.byClient.get("00000000-0000-4000-8000-000000000001"), 2); // same client_id, new head
});

test("client: a message stored but not acknowledged before the connection dropped is stored once", async () => {
  const { created, staff } = await world();
  const server = new FakeServer(toHex(created.conversation.conversationId), created.genesis);
  const v = visitorClient(server, created.conversation);
  const conn = v.connect();
  await settle(v.client);
  conn.dropAcks = true;
  conn.deliver = () => {}; // nothing comes back on this connection: no ack, no echo
  v.client.write("only once");
  await settle(v.client);
  assert.equal(server.log.length, 2); // stored
  v.disconnect();
  v.connect(); // resend with the same client_id after sync
  await settle(v.client, 100);
  assert.deepEqual(await texts(staff, server), ["only once"]);
  assert.equal(v.client.outbox.waiting, 0);
  const mine = v.events.filter(([n, d]) => n === "message" && d.mine);
  assert.equal(mine.length, 1);
  assert.equal(mine[0][1].item.text, "only once");
});

test("client: messages written while offline go out in order once connected", async () => {
  const { created, staff } = await world();
  const server = new FakeServer(toHex(created.conversation.conversationId), created.genesis);
  const v = visitorClient(server, created.conversation);
  v.client.write("one");
  v.client.write("two");
  await settle(v.client);
  assert.equal(server.log.length, 1); // nothing can leave without a connection
  v.connect();
  await settle(v.client, 100);
  assert.deepEqual(await texts(staff, server), ["one", "two"]);
});

test("client: a message that fails verification stops the chat (fail closed)", async () => {
  const { created } = await world();
  const server = new FakeServer(toHex(created.conversation.conversationId), created.genesis);
  const v = visitorClient(server, created.conversation);
  v.connect();
  await settle(v.client);
  const other = await world(); // a message from another conversation's key
  const forged = await other.staff.encrypt(ContentType.TEXT, utf8("forged"));
  server.log.push(b64encode(forged));
  server.pump();
  await settle(v.client);
  assert.ok(v.client.broken);
  assert.ok(v.events.some(([n]) => n === "broken"));
  v.client.write("after the break");
  await settle(v.client);
  assert.equal(server.log.length, 2); // nothing more was sent
  assert.ok(!v.events.some(([n, d]) => n === "message" && d.text === "forged"));
});

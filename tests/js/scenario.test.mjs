// A whole conversation through the public JS API (queue, claim, transfer, interpreter with the
// visitor's consent, leave, resume), plus random tampering that must always be rejected.

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  centreFingerprint,
  certify,
  ContentType,
  cosignTrustRoot,
  draftTrustRoot,
  verifyTrustRoot,
  createAdminKey,
  importAdminBackup,
  importStaffBackup,
  verifyCertificate,
  createConversation,
  createStaffIdentity,
  encodeAddProposal,
  encodeRemoveProposal,
  ErrorCode,
  generateAdminKey,
  generateResumeCode,
  openConversation,
  parseProposal,
  peek,
  Role,
  signDirectory,
  utf8,
  utf8Decode,
} from "../../web/static/js/protocol.js";
import { equal } from "../../web/static/js/protocol/bytes.js";
import * as p from "../../web/static/js/protocol/primitives.js";
import { errorOf } from "./helpers.mjs";
import { importModules, makeTesting } from "./vector_checks.mjs";

const { createConversationWith, deriveResumeKeysWithIterations, importVisitorStateLowIterations, resumeConversationWith } =
  makeTesting(await importModules(new URL("../../web/static/js/", import.meta.url).href));

const NOW = 1767225600;

async function world() {
  const centreId = new Uint8Array(16).fill(7);
  const admin = await generateAdminKey();
  const staff = {};
  const certs = {};
  for (const [name, role] of [["A", Role.COUNSELLOR], ["B", Role.COUNSELLOR], ["C", Role.COUNSELLOR], ["I", Role.INTERPRETER]]) {
    const staffId = new Uint8Array(16).fill(name.charCodeAt(0));
    const { identity } = await createStaffIdentity({ centreId, staffId, role });
    staff[name] = identity;
    certs[name] = await certify(admin, {
      centreId, staffId, role, displayName: `Staff ${name}`,
      kemPublic: identity.kemPublic, sigPublic: identity.sigPublic, notBefore: NOW - 10, notAfter: NOW + 1e7,
    });
  }
  const directory = await signDirectory(admin, { centreId, serial: 1, issuedAt: NOW - 10, expiresAt: NOW + 1e6, certificates: Object.values(certs) });
  const logKey = await generateAdminKey();
  const draft = await draftTrustRoot({
    centreId, version: 1, issuedAt: NOW - 100, previous: null, anchors: [admin.public], threshold: 1, logKey: logKey.public,
  });
  const pin = await centreFingerprint(centreId, admin.public);
  const trust = await verifyTrustRoot([await cosignTrustRoot(draft, admin)], pin);
  return { centreId, admin, anchors: trust, staff, certs, directory };
}

class Server {
  constructor(genesis) {
    this.log = [genesis];
  }

  async post(data) {
    const r = await peek(data);
    const last = await peek(this.log[this.log.length - 1]);
    if (r.seq !== this.log.length || !equal(r.prevHash, last.messageHash)) return false;
    this.log.push(data);
    return true;
  }
}

class Client {
  constructor(conversation, server) {
    this.conversation = conversation;
    this.server = server;
    this.inbox = [];
  }

  async sync() {
    for (const data of this.server.log.slice(this.conversation.nextSeq)) {
      const r = await this.conversation.receive(data);
      if (r.kind === "application") this.inbox.push([r.seq, r.body]);
    }
  }

  async send(build) {
    for (;;) {
      await this.sync();
      if (await this.server.post(await build(this.conversation))) return this.sync();
    }
  }

  say(text) {
    return this.send((c) => c.encrypt(ContentType.TEXT, utf8(text)));
  }

  lastText() {
    const body = this.inbox[this.inbox.length - 1][1];
    return body === null ? null : utf8Decode(body);
  }
}

test("whole conversation through the public API", async () => {
  const w = await world();
  const code = generateResumeCode();
  const keys = await deriveResumeKeysWithIterations(code, w.centreId, 1000);
  const created = await createConversationWith({ directory: w.directory, anchors: w.anchors, now: NOW, resumeKeys: keys }, p.systemRandom);
  assert.equal(created.conversation.me.kemPrivate.extractable, false);
  const server = new Server(created.genesis);
  const visitor = new Client(created.conversation, server);
  const c = {};
  for (const [n, m] of Object.entries(w.staff)) c[n] = new Client(await openConversation(m, created.genesis, w.anchors), server);

  await visitor.say("Hei, jeg trenger hjelp");
  for (const x of Object.values(c)) await x.sync();
  assert.equal(c.A.lastText(), "Hei, jeg trenger hjelp");
  assert.equal(c.C.lastText(), "Hei, jeg trenger hjelp");
  assert.equal(c.I.lastText(), null);

  await c.A.send((conv) => conv.claim(NOW + 1));
  await c.A.say("Hei, jeg heter Anna");
  for (const x of [visitor, c.B, c.C]) await x.sync();
  assert.equal(visitor.lastText(), "Hei, jeg heter Anna");
  assert.equal(c.B.lastText(), null);
  assert.equal(c.B.conversation.isMember, false);

  await c.A.send((conv) => conv.addMember(w.certs.B, NOW + 2));
  await c.A.send((conv) => conv.shareHistory(w.staff.B.memberId, [0, 1]));
  await c.B.sync();
  const held = c.B.inbox.filter(([, body]) => body === null).map(([seq]) => seq);
  const recovered = [];
  for (const s of held) recovered.push(utf8Decode((await c.B.conversation.decryptPast(server.log[s])).body));
  assert.ok(recovered.includes("Hei, jeg heter Anna"));
  await c.B.send((conv) => conv.removeMember(w.staff.A.memberId, NOW + 3));
  await c.B.say("Bjørn tar over");
  await c.A.sync();
  assert.equal(c.A.lastText(), null);

  assert.equal(await errorOf(() => c.B.conversation.addMember(w.certs.I, NOW + 4)), ErrorCode.FORBIDDEN);
  await c.B.send((conv) => conv.encrypt(ContentType.PROPOSAL, encodeAddProposal(w.certs.I)));
  await visitor.sync();
  const proposal = parseProposal(visitor.inbox[visitor.inbox.length - 1][1]);
  assert.equal(proposal.action, 1);
  await visitor.send((conv) => conv.addMember(proposal.value, NOW + 5));
  await visitor.say("Tolken kan lese dette");
  await c.I.sync();
  assert.equal(c.I.lastText(), "Tolken kan lese dette");

  await c.I.send((conv) => conv.encrypt(ContentType.PROPOSAL, encodeRemoveProposal(w.staff.I.memberId)));
  await c.B.sync();
  await c.B.send((conv) => conv.removeMember(w.staff.I.memberId, NOW + 6));
  await c.B.say("Tolken har gått");
  await c.I.sync();
  assert.equal(c.I.lastText(), null);
  assert.equal(await errorOf(() => c.I.conversation.encrypt(1, utf8("x"))), ErrorCode.NOT_A_MEMBER);

  const state = await importVisitorStateLowIterations(created.visitorState, keys);
  const again = new Client(await resumeConversationWith(state, server.log[0], w.anchors, p.systemRandom), server);
  await again.sync();
  await visitor.sync();
  assert.equal(again.lastText(), "Tolken har gått");
  assert.ok(equal(again.conversation.lastHash, visitor.conversation.lastHash));
});

test("concurrent claims: the server keeps one, the other counsellor sees it was removed", async () => {
  const w = await world();
  const created = await createConversation({ directory: w.directory, anchors: w.anchors, now: NOW });
  const server = new Server(created.genesis);
  const a = await openConversation(w.staff.A, created.genesis, w.anchors);
  const b = await openConversation(w.staff.B, created.genesis, w.anchors);
  const [ca, cb] = [await a.claim(NOW + 1), await b.claim(NOW + 1)];
  assert.ok(await server.post(ca));
  assert.ok(!(await server.post(cb)));
  const r = await b.receive(server.log[1]);
  assert.ok(r.removed.some((id) => equal(id, w.staff.B.memberId)));
  assert.equal(await errorOf(() => b.claim(NOW + 2)), ErrorCode.NOT_A_MEMBER);
});

test("random tampering is always rejected with a protocol error, never a crash", async () => {
  const w = await world();
  const created = await createConversation({ directory: w.directory, anchors: w.anchors, now: NOW });
  const a = await openConversation(w.staff.A, created.genesis, w.anchors);
  const message = await created.conversation.encrypt(ContentType.TEXT, utf8("hemmelig"));
  const codes = new Set(Object.values(ErrorCode));
  const seen = new Set();
  let state = 12345;
  const next = () => (state = (state * 1103515245 + 12345) % 2 ** 31);
  for (let i = 0; i < 300; i++) {
    const data = message.slice();
    const pos = next() % data.length;
    data[pos] ^= 1 + (next() % 255);
    const code = await errorOf(() => a.receive(data));
    assert.ok(codes.has(code) && code !== ErrorCode.INTERNAL, `byte ${pos}: ${code}`);
    seen.add(code);
    assert.equal(await errorOf(() => a.receive(message.slice(0, next() % message.length))), ErrorCode.TRUNCATED);
  }
  assert.ok(seen.has(ErrorCode.BAD_SIGNATURE));
  assert.equal(a.nextSeq, 1);
  assert.equal((await a.receive(message)).readable, true);
});

test("fail closed: nothing to send when encryption cannot happen", async () => {
  const w = await world();
  const created = await createConversation({ directory: w.directory, anchors: w.anchors, now: NOW });
  assert.ok(!Object.keys(created.conversation).some((k) => k.startsWith("_")), "secrets are not enumerable");
  assert.ok(!JSON.stringify(created.conversation).includes("secret"));
  assert.equal(await errorOf(() => created.conversation.encrypt(1, new Uint8Array(65532))), ErrorCode.OVERSIZE);
  assert.equal(await errorOf(() => created.conversation.encrypt(0, utf8("x"))), ErrorCode.MALFORMED);
  assert.equal(await errorOf(() => created.conversation.encrypt(1, "not bytes")), ErrorCode.MALFORMED);
  const weak = await deriveResumeKeysWithIterations(generateResumeCode(), w.centreId, 1000);
  assert.equal(await errorOf(() => createConversation({ directory: w.directory, anchors: w.anchors, now: NOW, resumeKeys: weak })), ErrorCode.WEAK_PARAMETERS);
  const chosen = { centreId: w.centreId, staffId: new Uint8Array(16), role: Role.COUNSELLOR, passphrase: "en lang og god passfrase" };
  assert.equal(await errorOf(() => createStaffIdentity(chosen)), ErrorCode.BAD_CODE_CHARACTER);
  assert.equal(await errorOf(() => createStaffIdentity({ ...chosen, passphrase: undefined, iterations: 2000001 })), ErrorCode.WEAK_PARAMETERS);
});

test("admin and staff keys survive a move to another device through their backups", async () => {
  const { admin, backup, recoveryPhrase } = await createAdminKey();
  assert.equal(admin.privateKey.extractable, false);
  assert.equal(recoveryPhrase.split(" ").length, 9);
  const again = await importAdminBackup(backup, recoveryPhrase.toUpperCase());
  assert.ok(equal(again.public, admin.public));
  const centreId = new Uint8Array(16);
  const staffId = new Uint8Array(16).fill(1);
  const made = await createStaffIdentity({ centreId, staffId, role: Role.COUNSELLOR });
  const { identity, backup: staffBackup } = made;
  const cert = await certify(again, {
    centreId, staffId, role: Role.COUNSELLOR, displayName: "Anna", kemPublic: identity.kemPublic, sigPublic: identity.sigPublic, notBefore: 0, notAfter: 10,
  });
  const restored = await importStaffBackup(staffBackup, made.recoveryPhrase);
  assert.ok(equal(restored.kemPublic, identity.kemPublic));
  const verified = await verifyCertificate(cert, [admin.public], 5);
  assert.ok(equal(verified.sigPublic, restored.sigPublic));
  assert.equal(await errorOf(() => importAdminBackup(backup, made.recoveryPhrase)), ErrorCode.BAD_TAG);
  assert.equal(await errorOf(() => importAdminBackup(backup, "feil passfrase")), ErrorCode.BAD_CODE_CHARACTER);
  assert.equal(await errorOf(() => importStaffBackup(backup, recoveryPhrase)), ErrorCode.MALFORMED);
});

test("public helpers raise only ProtocolError, whatever they are given", async () => {
  const P = await import("../../web/static/js/protocol.js");
  const { b64decode, encodeRemoveProposal, parseProposal, peek, safetyNumber, formatResumeCode, fromHex } = P;
  const codes = new Set(Object.values(ErrorCode).filter((c) => c !== ErrorCode.INTERNAL));
  let state = 99;
  const next = () => (state = (state * 1103515245 + 12345) % 2 ** 31);
  const inputs = [undefined, null, 42, "text", {}, [], new Uint8Array(0)];
  for (let i = 0; i < 200; i++) {
    const bytes = Uint8Array.from({ length: next() % 300 }, () => next() % 256);
    inputs.push(bytes, String.fromCharCode(...bytes.slice(0, 40)));
  }
  for (const input of inputs) {
    for (const call of [
      () => parseProposal(input),
      () => encodeRemoveProposal(input),
      () => peek(input),
      () => b64decode(input),
      () => formatResumeCode(input),
      () => safetyNumber(input, "x"),
      () => fromHex(input),
      () => P.parseRecoveryPhrase(input),
      () => P.verifyTrustRoot([input], input),
      () => P.parseLogHead(input),
      () => P.verifySenderSignature(input),
      () => P.checkClaimedTime(input, 0),
      () => P.shortCentreFingerprint(input),
    ]) {
      const code = await errorOf(call);
      assert.ok(code === null || codes.has(code), `${code}`);
    }
  }
});

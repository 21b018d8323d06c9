// Whole flows through protocol.js: a bad member cannot stop a conversation, a key request is
// answered by a re-key, a revoked member is removed, anchors rotate 2-of-3 after a key is lost, the
// log catches a directory shown only to visitors, and live receivers refuse implausible times.

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  centreFingerprint,
  certify,
  checkClaimedTime,
  ContentType,
  cosignTrustRoot,
  createConversation,
  createStaffIdentity,
  draftTrustRoot,
  entryOf,
  ErrorCode,
  generateAdminKey,
  LogKind,
  logChain,
  openConversation,
  peek,
  Role,
  signDirectory,
  signLogHead,
  utf8,
  verifyDirectory,
  verifyLogConsistency,
  verifyLogHead,
  verifyLogInclusion,
  verifySenderSignature,
  verifyTrustRoot,
} from "../../web/static/js/protocol.js";
import { concat, toHex } from "../../web/static/js/protocol/bytes.js";
import { signatureInput } from "../../web/static/js/protocol/keyschedule.js";
import * as p from "../../web/static/js/protocol/primitives.js";
import { errorOf } from "./helpers.mjs";

const NOW = 1767225600;
const DAY = 86400;

async function centre() {
  const centreId = new Uint8Array(16).fill(9);
  const [k1, k2, k3, k4, logKey] = await Promise.all([1, 2, 3, 4, 5].map(() => generateAdminKey()));
  const root = async (version, issuedAt, previous, keys, threshold, signers) => {
    let data = await draftTrustRoot({ centreId, version, issuedAt, previous, anchors: keys.map((k) => k.public), threshold, logKey: logKey.public });
    for (const s of signers) data = await cosignTrustRoot(data, s);
    return data;
  };
  const v1 = await root(1, NOW - 10 * DAY, null, [k1], 1, [k1]);
  const v2 = await root(2, NOW - 5 * DAY, v1, [k1, k2, k3], 2, [k1, k2]);
  const pin = await centreFingerprint(centreId, k1.public);
  const trust = await verifyTrustRoot([v1, v2], pin);
  const staff = {};
  const certs = {};
  for (const [name, role] of [["A", Role.COUNSELLOR], ["B", Role.COUNSELLOR], ["I", Role.INTERPRETER]]) {
    const staffId = new Uint8Array(16).fill(name.charCodeAt(0));
    staff[name] = (await createStaffIdentity({ centreId, staffId, role, iterations: 600000 })).identity;
    certs[name] = await certify(k1, {
      centreId, staffId, role, displayName: `Staff ${name}`,
      kemPublic: staff[name].kemPublic, sigPublic: staff[name].sigPublic, notBefore: NOW - DAY, notAfter: NOW + 300 * DAY,
    });
  }
  const sign = (serial, issuedAt, certificates, signer = k1) =>
    signDirectory(signer, { centreId, serial, issuedAt, expiresAt: issuedAt + 30 * DAY, certificates });
  const directory = await sign(1, NOW - 60, Object.values(certs));
  return { centreId, k1, k2, k3, k4, logKey, root, chain: [v1, v2], pin, trust, staff, certs, sign, directory };
}

async function start(c) {
  const created = await createConversation({ directory: c.directory, trust: c.trust, now: NOW });
  const staff = {};
  for (const [name, m] of Object.entries(c.staff)) staff[name] = await openConversation(m, created.genesis, c.trust);
  return { visitor: created.conversation, staff, genesis: created.genesis };
}

async function deliver(data, ...parties) {
  const out = [];
  for (const conv of parties) out.push(await conv.receive(data));
  return out;
}

test("an interpreter's signed garbage is shown as unreadable and the conversation goes on", async () => {
  const c = await centre();
  const { visitor, staff } = await start(c);
  const { A: a, I: i } = staff;
  await deliver(await a.claim(NOW + 10), visitor, a, i);
  await deliver(await visitor.addMember(c.certs.I, NOW + 20), visitor, a, i);
  const honest = await i.encrypt(ContentType.TEXT, utf8("x"));
  const tbs = honest.slice(0, honest.length - 64);
  tbs[100] ^= 0xff;
  const garbage = concat(tbs, await p.ed25519Sign(c.staff.I.sigPrivate, signatureInput("application", tbs)));
  assert.equal((await verifySenderSignature(garbage, c.staff.I.sigPublic)).seq, 3);
  for (const r of await deliver(garbage, visitor, a, i)) {
    assert.equal(r.readable, false);
    assert.equal(r.problem, ErrorCode.BAD_TAG);
  }
  for (const r of await deliver(await a.encrypt(ContentType.TEXT, utf8("Vi fortsetter.")), visitor, a, i)) {
    assert.equal(new TextDecoder().decode(r.body), "Vi fortsetter.");
  }
});

test("a key request is answered by a re-key from a member who may commit", async () => {
  const c = await centre();
  const { visitor, staff } = await start(c);
  const { A: a, I: i } = staff;
  await deliver(await a.claim(NOW + 10), visitor, a, i);
  await deliver(await visitor.addMember(c.certs.I, NOW + 20), visitor, a, i);
  assert.equal(i.canCommit, false);
  const request = await i.requestRekey();
  for (const r of await deliver(request, visitor, a, i)) {
    assert.deepEqual([r.kind, r.requestReason, r.requestSeq], ["key_request", 1, 2]);
  }
  assert.ok(a.canCommit);
  const answer = await a.rekey(null, NOW + 30);
  await deliver(answer, visitor, a, i);
  assert.equal(i.epoch, 3);
  assert.equal(i.canRead, true);
});

test("a member the directory no longer lists is removed by the helper's re-key", async () => {
  const c = await centre();
  const { visitor, staff } = await start(c);
  const { A: a, B: b } = staff;
  await deliver(await a.claim(NOW + 10), visitor, a, b);
  await deliver(await a.addMember(c.certs.B, NOW + 20), visitor, a, b);
  const edition = await verifyDirectory(await c.sign(2, NOW + 100, [c.certs.A, c.certs.I]), c.trust.anchors, NOW + 200);
  assert.deepEqual((await visitor.membersToRemove(edition, NOW + 200)).map(toHex), [toHex(c.staff.B.memberId)]);
  const keepsB = await a.rekey(null, NOW + 200);
  assert.equal(await errorOf(() => visitor.receive(keepsB, { now: NOW + 200, directory: edition })), ErrorCode.BAD_CERTIFICATE);
  const removal = await a.rekey(edition, NOW + 200);
  const [r] = await deliver(removal, visitor);
  assert.deepEqual(r.removed.map(toHex), [toHex(c.staff.B.memberId)]);
  await deliver(removal, a, b);
  assert.equal(b.isMember, false);
});

test("live receivers and the server refuse implausible times; history keeps what was valid then", async () => {
  const c = await centre();
  const { visitor, staff } = await start(c);
  const claim = await staff.A.claim(NOW + 10);
  assert.equal(await errorOf(() => checkClaimedTime(claim, NOW + 10 + 301)), ErrorCode.BAD_TIME);
  await checkClaimedTime(claim, NOW + 10 + 300);
  const directory = await verifyDirectory(c.directory, c.trust.anchors, NOW);
  assert.equal(await errorOf(() => visitor.receive(claim, { now: NOW + 10 + 601, directory })), ErrorCode.BAD_TIME);
  await visitor.receive(claim, { now: NOW + 10 + 600, directory });
  assert.equal(visitor.epochStartedAt, NOW + 10);
});

test("anchors rotate 2-of-3 after one key is lost, and old transcripts still verify", async () => {
  const c = await centre();
  const created = await createConversation({ directory: c.directory, trust: c.trust, now: NOW });
  const claim = await (await openConversation(c.staff.B, created.genesis, c.trust)).claim(NOW + 10);
  const rotation = NOW + 20 * DAY;
  const v3 = await c.root(3, rotation, c.chain[1], [c.k2, c.k3, c.k4], 2, [c.k2, c.k3]);
  const forged = await c.root(3, rotation, c.chain[1], [c.k1, c.k4], 1, [c.k1, c.k4]);
  assert.equal(await errorOf(() => verifyTrustRoot([...c.chain, forged], c.pin)), ErrorCode.BAD_ROOT);
  const after = await verifyTrustRoot([...c.chain, v3], c.pin, c.trust);
  assert.equal(await errorOf(() => verifyTrustRoot(c.chain, c.pin, after)), ErrorCode.BAD_ROOT);
  const b = await openConversation(c.staff.B, created.genesis, after);
  const v = await openConversation(created.conversation.me, created.genesis, after);
  await deliver(claim, b, v);
  const renewed = await certify(c.k2, {
    centreId: c.centreId, staffId: c.staff.B.memberId, role: Role.COUNSELLOR, displayName: "Staff B",
    kemPublic: c.staff.B.kemPublic, sigPublic: c.staff.B.sigPublic, notBefore: rotation, notAfter: rotation + 300 * DAY,
  });
  const edition = await verifyDirectory(await c.sign(9, rotation + 60, [renewed], c.k2), after.anchors, rotation + 120);
  assert.equal(await errorOf(() => b.rekey(null, rotation + 1000)), ErrorCode.BAD_CERTIFICATE);
  const renewal = await b.rekey(edition, rotation + 1000);
  const r = await v.receive(renewal, { now: rotation + 1000, directory: edition });
  assert.deepEqual([r.added.map(toHex), r.removed.map(toHex)], [[toHex(c.staff.B.memberId)], [toHex(c.staff.B.memberId)]]);
});

test("the log: staff find the genesis directory in it, and a rewritten history fails consistency", async () => {
  const c = await centre();
  const entries = [];
  const chain = [new Uint8Array(32)];
  const append = async (kind, obj) => {
    entries.push(await entryOf(kind, obj));
    chain.push(await logChain(chain[chain.length - 1], entries.length - 1, entries[entries.length - 1]));
  };
  for (const root of c.chain) await append(LogKind.TRUST_ROOT, root);
  await append(LogKind.DIRECTORY, c.directory);
  const head1 = await verifyLogHead(await signLogHead(c.logKey, c.centreId, 3, chain[3], NOW), c.trust.logKey, c.centreId);
  const { staff } = await start(c);
  assert.ok(toHex(staff.A.directoryHash) === toHex(await p.sha256(c.directory)));
  assert.equal(await verifyLogInclusion(head1, 2, chain[2], entries.slice(2), LogKind.DIRECTORY, c.directory), true);
  assert.equal((await staff.A.checkDirectory(c.directory)).serial, 1);
  const other = await c.sign(2, NOW - 30, [c.certs.A], c.k2);
  assert.equal(await errorOf(() => verifyLogInclusion(head1, 2, chain[2], entries.slice(2), LogKind.DIRECTORY, other)), ErrorCode.BAD_LOG);
  assert.equal(await errorOf(() => staff.A.checkDirectory(other)), ErrorCode.BAD_DIRECTORY);
  await append(LogKind.DIRECTORY, other);
  const head2 = await verifyLogHead(await signLogHead(c.logKey, c.centreId, 4, chain[4], NOW + 60), c.logKey.public, c.centreId);
  await verifyLogConsistency(head1, head2, entries.slice(3));
  const rewritten = await logChain(chain[2], 2, await entryOf(LogKind.DIRECTORY, other));
  const forked = await verifyLogHead(await signLogHead(c.logKey, c.centreId, 3, rewritten, NOW + 60), c.logKey.public, c.centreId);
  assert.equal(await errorOf(() => verifyLogConsistency(forked, head2, entries.slice(3))), ErrorCode.BAD_LOG);
  assert.equal((await peek(c.directory.slice(0, 0)).catch((e) => e.code)), ErrorCode.TRUNCATED);
});

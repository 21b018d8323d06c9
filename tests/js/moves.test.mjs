// Moving a conversation to another centre (PROTOCOL.md §8.6) through the public JS API: only the
// visitor moves it, only to a centre whose verified root her client holds; the sending centre
// holds no wrap of the move epoch; the receiving centre reads the history only if she shares it.

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  centreFingerprint,
  certify,
  ContentType,
  cosignTrustRoot,
  createStaffIdentity,
  draftTrustRoot,
  ErrorCode,
  generateAdminKey,
  generateResumeCode,
  openConversation,
  Role,
  signDirectory,
  utf8,
  utf8Decode,
  verifyDirectory,
  verifyTrustRoot,
} from "../../web/static/js/protocol.js";
import * as p from "../../web/static/js/protocol/primitives.js";
import { errorOf } from "./helpers.mjs";
import { importModules, makeTesting } from "./vector_checks.mjs";

const { createConversationWith, deriveResumeKeysWithIterations } = makeTesting(
  await importModules(new URL("../../web/static/js/", import.meta.url).href),
);

const NOW = 1767225600;

async function centre(fill, names) {
  const centreId = new Uint8Array(16).fill(fill);
  const admin = await generateAdminKey();
  const staff = {};
  const certs = {};
  for (const name of names) {
    const staffId = new Uint8Array(16).fill(name.charCodeAt(0));
    const { identity } = await createStaffIdentity({ centreId, staffId, role: Role.COUNSELLOR });
    staff[name] = identity;
    certs[name] = await certify(admin, {
      centreId, staffId, role: Role.COUNSELLOR, displayName: `Staff ${name}`,
      kemPublic: identity.kemPublic, sigPublic: identity.sigPublic, notBefore: NOW - 10, notAfter: NOW + 1e7,
    });
  }
  const signed = await signDirectory(admin, { centreId, serial: 1, issuedAt: NOW - 10, expiresAt: NOW + 1e6, certificates: Object.values(certs) });
  const logKey = await generateAdminKey();
  const draft = await draftTrustRoot({
    centreId, version: 1, issuedAt: NOW - 100, previous: null, anchors: [admin.public], threshold: 1, logKey: logKey.public,
  });
  const trust = await verifyTrustRoot([await cosignTrustRoot(draft, admin)], await centreFingerprint(centreId, admin.public));
  const directory = await verifyDirectory(signed, trust.anchorsAt(NOW), NOW);
  return { centreId, trust, staff, certs, signed, directory };
}

test("the visitor moves a conversation to another centre; the sending centre is out from that epoch", async () => {
  const a = await centre(7, ["A"]);
  const b = await centre(9, ["C", "D"]);
  const keys = await deriveResumeKeysWithIterations(generateResumeCode(), a.centreId, 1000);
  const created = await createConversationWith({ directory: a.signed, anchors: a.trust, now: NOW, resumeKeys: keys }, p.systemRandom);
  const visitor = created.conversation;
  const anna = await openConversation(a.staff.A, created.genesis, a.trust);
  const log = [];
  const everyone = (data) => Promise.all([visitor, anna].map((c) => c.receive(data)));
  const claim = await anna.claim(NOW + 1);
  await everyone(claim);
  log.push(claim);
  const said = await visitor.encrypt(ContentType.TEXT, utf8("I moved to the other town"));
  await everyone(said);
  log.push(said);

  // Without the receiving centre's verified root: fail closed. A counsellor cannot move it.
  assert.equal(await errorOf(() => visitor.move(b.directory, NOW + 2)), ErrorCode.BAD_CERTIFICATE);
  anna.knowCentre(b.trust);
  assert.equal(await errorOf(() => anna.move(b.directory, NOW + 2)), ErrorCode.FORBIDDEN);
  visitor.knowCentre(b.trust);
  // The sending centre's own directory is no move.
  assert.equal(await errorOf(() => visitor.move(a.directory, NOW + 2)), ErrorCode.BAD_CERTIFICATE);
  const move = await visitor.move(b.directory, NOW + 2);
  const annaSees = await anna.receive(move);
  assert.equal(annaSees.readable, false);
  assert.equal(anna.isMember, false);
  await visitor.receive(move);
  log.push(move);
  assert.deepEqual(visitor.centreId, b.centreId);
  assert.equal(visitor.members.length, 3); // the visitor and both of B's counsellors, nobody of A

  // A receiving counsellor checks the epochs before the move against A's root, the move against B's.
  const carl = await openConversation(b.staff.C, created.genesis, a.trust);
  const withoutB = await openConversation(b.staff.D, created.genesis, a.trust);
  for (const data of log.slice(0, -1)) {
    await carl.receive(data);
    await withoutB.receive(data);
  }
  assert.equal(await errorOf(() => withoutB.receive(move)), ErrorCode.BAD_CERTIFICATE);
  carl.knowCentre(b.trust);
  const seen = await carl.receive(move);
  assert.equal(seen.readable, true);
  const taken = await carl.claim(NOW + 3);
  await carl.receive(taken);
  await visitor.receive(taken);
  // History only if she shares it.
  const shared = await visitor.shareHistory(b.staff.C.memberId, [1]);
  await carl.receive(shared);
  await visitor.receive(shared);
  const past = await carl.decryptPast(said);
  assert.equal(utf8Decode(past.body), "I moved to the other town");
  const hello = await visitor.encrypt(ContentType.TEXT, utf8("Hello"));
  assert.equal(utf8Decode((await carl.receive(hello)).body), "Hello");
});

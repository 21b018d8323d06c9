// The sealed booking payload (web/static/js/shared/booking-seal.js, docs/BOOKING.md): sealed to every
// counsellor of a verified directory, opened by each of them and by nobody else; any change
// to the sealed bytes is refused.

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  certify,
  ErrorCode,
  generateAdminKey,
  memberFromPrivateBytes,
  Role,
  signDirectory,
  verifyDirectory,
} from "../../web/static/js/protocol.js";
import * as hpke from "../../web/static/js/protocol/hpke.js";
import * as p from "../../web/static/js/protocol/primitives.js";
import { concat, utf8 } from "../../web/static/js/protocol/bytes.js";
import { label } from "../../web/static/js/protocol/constants.js";
import { MAX_RECIPIENTS, newReference, open, parse, seal, sealForDirectory, sealVersion } from "../../web/static/js/shared/booking-seal.js";
import { errorOf } from "./helpers.mjs";

const NOW = Math.floor(Date.now() / 1000);
const PAYLOAD = {
  note: "Jeg vil snakke om det som skjedde i mai. Ikke ring før kl. 16.",
  contact: { phone: "+47 912 34 567", email: "hemmelig@example.org" },
  interpreter: { language: "ti", dialect: "Asmara", mode: "in_person", gender: "female" },
  lang: "nb",
};

const centreId = new Uint8Array(16).fill(3);

async function person(letter, role) {
  const staffId = new Uint8Array(16).fill(letter.charCodeAt(0));
  const kem = crypto.getRandomValues(new Uint8Array(32));
  const sig = crypto.getRandomValues(new Uint8Array(32));
  return memberFromPrivateBytes(staffId, role, centreId, kem, sig);
}

async function world() {
  const admin = await generateAdminKey();
  const people = {
    A: await person("A", Role.COUNSELLOR),
    B: await person("B", Role.COUNSELLOR),
    I: await person("I", Role.INTERPRETER),
    X: await person("X", Role.COUNSELLOR), // certified, but not in the directory
  };
  const certs = {};
  for (const [name, who] of Object.entries(people)) {
    certs[name] = await certify(admin, {
      centreId,
      staffId: who.memberId,
      role: who.role,
      displayName: `Staff ${name}`,
      kemPublic: who.kemPublic,
      sigPublic: who.sigPublic,
      notBefore: NOW - 60,
      notAfter: NOW + 86400,
    });
  }
  const directory = await signDirectory(admin, {
    centreId,
    serial: 1,
    issuedAt: NOW - 60,
    expiresAt: NOW + 86400,
    certificates: [certs.A, certs.B, certs.I],
  });
  const verified = await verifyDirectory(directory, [admin.public], NOW);
  return { admin, people, directory, anchors: [admin.public], verified };
}

const w = await world();
const BOOKING = { reference: "K7M4QX2P", kind: "in_person" };

test("round trip: both counsellors of the directory open the same details", async () => {
  const blob = await seal(PAYLOAD, w.verified.certificates, BOOKING);
  const { entries } = parse(blob);
  assert.equal(blob[0], 2);
  assert.equal(entries.length, 2, "the interpreter is not a recipient");
  assert.deepEqual(await open(w.people.A, blob, BOOKING), PAYLOAD);
  assert.deepEqual(await open(w.people.B, blob, BOOKING), PAYLOAD);
});

test("sealForDirectory verifies the directory first", async () => {
  const blob = await sealForDirectory(PAYLOAD, { directory: w.directory, anchors: w.anchors, ...BOOKING });
  assert.deepEqual(await open(w.people.B, blob, BOOKING), PAYLOAD);
  const stranger = await generateAdminKey();
  assert.equal(
    await errorOf(() => sealForDirectory(PAYLOAD, { directory: w.directory, anchors: [stranger.public], ...BOOKING })),
    ErrorCode.BAD_CERTIFICATE,
  );
  const tampered = w.directory.slice();
  tampered[40] ^= 1;
  assert.notEqual(await errorOf(() => sealForDirectory(PAYLOAD, { directory: tampered, anchors: w.anchors, ...BOOKING })), null);
});

test("layout: version, count, 96-byte entries, nonce, padded ciphertext", async () => {
  const blob = await seal({ lang: "en" }, w.verified.certificates, BOOKING);
  assert.equal(blob[1], 2);
  // 2 + 2 × 96 + 12 + (256 padded JSON + 16 tag)
  assert.equal(blob.length, 2 + 2 * 96 + 12 + 256 + 16);
  const longer = await seal({ lang: "en", note: "x".repeat(200) }, w.verified.certificates, BOOKING);
  assert.equal(longer.length, blob.length, "short notes are the same size");
  const plain = await open(w.people.A, blob, BOOKING);
  assert.deepEqual(plain, { lang: "en" });
});

test("someone the payload was not sealed to cannot open it", async () => {
  const blob = await seal(PAYLOAD, w.verified.certificates, BOOKING);
  assert.equal(await errorOf(() => open(w.people.X, blob, BOOKING)), ErrorCode.NOT_A_MEMBER);
  assert.equal(await errorOf(() => open(w.people.I, blob, BOOKING)), ErrorCode.NOT_A_MEMBER);
  // X pretending to be A (A's staff id, X's key) gets nothing either.
  const impostor = { memberId: w.people.A.memberId, kemPrivate: w.people.X.kemPrivate, kemPublic: w.people.X.kemPublic };
  assert.equal(await errorOf(() => open(impostor, blob, BOOKING)), ErrorCode.BAD_TAG);
});

test("tampering with any part is refused", async () => {
  const blob = await seal(PAYLOAD, w.verified.certificates, BOOKING);
  const regions = {
    "staff id": 2 + 5,
    enc: 2 + 16 + 3,
    "sealed key": 2 + 16 + 32 + 10,
    "sealed key tag": 2 + 96 - 1,
    nonce: 2 + 2 * 96 + 4,
    ciphertext: 2 + 2 * 96 + 12 + 20,
    tag: blob.length - 1,
  };
  for (const [name, at] of Object.entries(regions)) {
    const bad = blob.slice();
    bad[at] ^= 0x01;
    const code = await errorOf(() => open(w.people.A, bad, BOOKING));
    assert.ok([ErrorCode.BAD_TAG, ErrorCode.NOT_A_MEMBER].includes(code), `${name}: ${code}`);
  }
  // B's entry is untouched by a change in A's: B still opens it only if nothing shared changed.
  const onlyA = blob.slice();
  onlyA[2 + 16 + 3] ^= 1;
  assert.deepEqual(await open(w.people.B, onlyA, BOOKING), PAYLOAD);
  assert.equal(await errorOf(() => open(w.people.A, blob.slice(0, blob.length - 1), BOOKING)), ErrorCode.BAD_TAG);
  assert.equal(await errorOf(() => open(w.people.A, blob.slice(0, 2 + 2 * 96 + 12), BOOKING)), ErrorCode.TRUNCATED);
  const version = blob.slice();
  version[0] = 3;
  assert.equal(await errorOf(() => open(w.people.A, version, BOOKING)), ErrorCode.UNSUPPORTED_VERSION);
  const count = blob.slice();
  count[1] = 3;
  assert.notEqual(await errorOf(() => open(w.people.A, count, BOOKING)), null);
  // Swapping the two entries' sealed keys: each is bound to its staff id through the HPKE info.
  const swapped = blob.slice();
  swapped.set(blob.slice(2 + 16, 2 + 96), 2 + 96 + 16);
  swapped.set(blob.slice(2 + 96 + 16, 2 + 192), 2 + 16);
  assert.equal(await errorOf(() => open(w.people.A, swapped, BOOKING)), ErrorCode.BAD_TAG);
});

test("sealing fails closed: no counsellors, bad payloads, too many recipients, oversize", async () => {
  const interpreterOnly = w.verified.certificates.filter((c) => c.role === Role.INTERPRETER);
  assert.equal(await errorOf(() => seal(PAYLOAD, interpreterOnly, BOOKING)), ErrorCode.NO_RECIPIENTS);
  assert.equal(await errorOf(() => seal(PAYLOAD, [], BOOKING)), ErrorCode.NO_RECIPIENTS);
  for (const bad of [null, {}, { lang: "de" }, { lang: "nb", note: 5 }, { lang: "nb", interpreter: { language: "ti", mode: "car" } }]) {
    assert.equal(await errorOf(() => seal(bad, w.verified.certificates, BOOKING)), ErrorCode.MALFORMED, JSON.stringify(bad));
  }
  const many = [];
  for (let i = 0; i <= MAX_RECIPIENTS; i++) {
    const staffId = new Uint8Array(16);
    staffId[0] = i;
    staffId[1] = 9;
    many.push({ staffId, role: Role.COUNSELLOR, kemPublic: w.people.A.kemPublic });
  }
  assert.equal(await errorOf(() => seal(PAYLOAD, many, BOOKING)), ErrorCode.OVERSIZE);
  const exactly = await seal({ lang: "sv" }, many.slice(0, MAX_RECIPIENTS), BOOKING);
  assert.ok(exactly.length <= 16384);
  assert.equal(await errorOf(() => seal({ lang: "sv", note: "ø".repeat(4000) }, w.verified.certificates, BOOKING)), null);
  assert.equal(await errorOf(() => seal({ lang: "sv", note: "😀".repeat(4000) }, w.verified.certificates, BOOKING)), ErrorCode.MALFORMED);
});

test("a seal is bound to its booking: another reference or kind cannot open it", async () => {
  const blob = await seal(PAYLOAD, w.verified.certificates, BOOKING);
  assert.deepEqual(await open(w.people.A, blob, { reference: "K7M4-QX2P", kind: "in_person" }), PAYLOAD); // as shown
  assert.equal(await errorOf(() => open(w.people.A, blob, { ...BOOKING, reference: "K7M4QX2Q" })), ErrorCode.BAD_TAG);
  assert.equal(await errorOf(() => open(w.people.A, blob, { ...BOOKING, kind: "phone" })), ErrorCode.BAD_TAG);
  assert.equal(await errorOf(() => open(w.people.A, blob)), ErrorCode.MALFORMED);
  assert.equal(await errorOf(() => seal(PAYLOAD, w.verified.certificates, { reference: "short", kind: "phone" })), ErrorCode.MALFORMED);
  assert.equal(await errorOf(() => seal(PAYLOAD, w.verified.certificates, { reference: "K7M4QX2P", kind: "chat" })), ErrorCode.MALFORMED);
  assert.match(await newReference(), /^[0-9ABCDEFGHJKMNPQRSTVWXYZ]{8}$/);
  assert.equal(sealVersion(blob), 2);
});

test("an old, unbound seal (version 1) still opens, and says what it is", async () => {
  const key = crypto.getRandomValues(new Uint8Array(32));
  const nonce = crypto.getRandomValues(new Uint8Array(12));
  const a = w.people.A;
  const sealed = await hpke.seal(a.kemPublic, label("booking", a.memberId), new Uint8Array(0), key, p.systemRandom);
  const text = utf8(JSON.stringify({ lang: "nb" }).padEnd(256, " "));
  const ciphertext = await p.aeadSeal(key, nonce, text, utf8("TRYGG-v1 booking"));
  const old = concat(new Uint8Array([1, 1]), a.memberId, sealed.enc, sealed.ciphertext, nonce, ciphertext);
  assert.equal(sealVersion(old), 1);
  assert.deepEqual(await open(a, old, BOOKING), { lang: "nb" });
});

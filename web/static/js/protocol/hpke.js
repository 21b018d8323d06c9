// RFC 9180 HPKE, base mode, single shot: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM.

import { concat, utf8 } from "./bytes.js";
import { ErrorCode, fail } from "./errors.js";
import * as p from "./primitives.js";

const I2OSP2 = (n) => new Uint8Array([n >> 8, n & 0xff]);
const KEM_SUITE = concat(utf8("KEM"), I2OSP2(0x0020));
const HPKE_SUITE = concat(utf8("HPKE"), I2OSP2(0x0020), I2OSP2(0x0001), I2OSP2(0x0002));
const V1 = utf8("HPKE-v1");
const EMPTY = new Uint8Array(0);

function labeledExtract(suite, salt, label, ikm) {
  return p.hkdfExtract(salt, concat(V1, suite, utf8(label), ikm));
}

function labeledExpand(suite, prk, label, info, length) {
  return p.hkdfExpand(prk, concat(I2OSP2(length), V1, suite, utf8(label), info), length);
}

async function extractAndExpand(dh, kemContext) {
  const eaePrk = await labeledExtract(KEM_SUITE, EMPTY, "eae_prk", dh);
  return labeledExpand(KEM_SUITE, eaePrk, "shared_secret", kemContext, 32);
}

/** KeySchedule() for base mode; exported for the RFC 9180 known-answer tests. */
export async function keySchedule(sharedSecret, info) {
  const pskIdHash = await labeledExtract(HPKE_SUITE, EMPTY, "psk_id_hash", EMPTY);
  const infoHash = await labeledExtract(HPKE_SUITE, EMPTY, "info_hash", info);
  const context = concat(new Uint8Array([0]), pskIdHash, infoHash);
  const secret = await labeledExtract(HPKE_SUITE, sharedSecret, "secret", EMPTY);
  return {
    keyScheduleContext: context,
    secret,
    key: await labeledExpand(HPKE_SUITE, secret, "key", context, 32),
    baseNonce: await labeledExpand(HPKE_SUITE, secret, "base_nonce", context, 12),
    exporterSecret: await labeledExpand(HPKE_SUITE, secret, "exp", context, 32),
  };
}

/** Return {sharedSecret, enc}; a low-order recipient key is MALFORMED. */
export async function encap(recipientPublic, ephemeralSeed) {
  const eph = await p.x25519FromSeed(ephemeralSeed);
  let dh;
  try {
    dh = await p.x25519(eph.privateKey, recipientPublic);
  } catch {
    fail(ErrorCode.MALFORMED);
  }
  const sharedSecret = await extractAndExpand(dh, concat(eph.publicKey, recipientPublic));
  return { sharedSecret, enc: eph.publicKey };
}

export async function decap(enc, recipientPrivate, recipientPublic) {
  let dh;
  try {
    dh = await p.x25519(recipientPrivate, enc);
  } catch {
    fail(ErrorCode.BAD_TAG);
  }
  return extractAndExpand(dh, concat(enc, recipientPublic));
}

/** SealBase: {enc, ciphertext}; the ephemeral key comes from `rand`. */
export async function seal(recipientPublic, info, aad, plaintext, rand) {
  const { sharedSecret, enc } = await encap(recipientPublic, await rand(32));
  const ks = await keySchedule(sharedSecret, info);
  return { enc, ciphertext: await p.aeadSeal(ks.key, ks.baseNonce, plaintext, aad) };
}

/** OpenBase; any failure is BAD_TAG. */
export async function open(enc, recipientPrivate, recipientPublic, info, aad, ciphertext) {
  const ks = await keySchedule(await decap(enc, recipientPrivate, recipientPublic), info);
  return p.aeadOpen(ks.key, ks.baseNonce, ciphertext, aad);
}

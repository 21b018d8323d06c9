// A centre's trust root: a chain of anchor sets in which only anchors can name the next anchors.
// Version 1 is signed by its own anchors and must contain the pinned first anchor (whose
// fingerprint the operator configures outside the database); every later version names the
// previous version's hash and is signed by a threshold of the previous anchors and a threshold of
// its own, as TUF rotates its root (PROTOCOL.md §5.4).

import { concat, ctEqual, equal, Reader, toHex, Writer } from "./bytes.js";
import { checkAnchors, compareBytes, readHeader } from "./certificates.js";
import { HASH_LEN, ID_LEN, KEY_LEN, label, MAX_ANCHORS, MAX_CLOCK_SKEW, ObjectType, SIG_LEN, SUITE, VERSION, ZERO_HASH } from "./constants.js";
import { ErrorCode, fail, guard } from "./errors.js";
import { digitGroups } from "./fingerprint.js";
import * as p from "./primitives.js";

const MAX_ROOT_SIGNATURES = 2 * MAX_ANCHORS;
const MAX_ROOT = 3 + ID_LEN + 4 + 8 + HASH_LEN + 2 + MAX_ANCHORS * KEY_LEN + KEY_LEN + 1 + MAX_ROOT_SIGNATURES * (KEY_LEN + SIG_LEN);
const MAX_ROOT_CHAIN = 1024;

/** The pin: SHA-256 of the centre id and its first anchor key (configured as 64 hex digits). */
export const centreFingerprint = guard(async (centreId, anchorPublic) => {
  if (!(centreId instanceof Uint8Array) || centreId.length !== ID_LEN || !(anchorPublic instanceof Uint8Array) || anchorPublic.length !== KEY_LEN) {
    fail(ErrorCode.MALFORMED);
  }
  return p.sha256(label("centre", concat(centreId, anchorPublic)));
});

/** Four groups of five digits (about 66 bits) for a leaflet or the centre's web site. */
export const shortCentreFingerprint = guard(async (pin) => {
  if (!(pin instanceof Uint8Array) || pin.length !== HASH_LEN) fail(ErrorCode.MALFORMED);
  return digitGroups(pin, 4);
});

/** Structure only (bounds, order); signatures and the chain are checked by verifyTrustRoot. */
export async function parseTrustRoot(data) {
  if (!(data instanceof Uint8Array)) fail(ErrorCode.MALFORMED);
  if (data.length > MAX_ROOT) fail(ErrorCode.OVERSIZE);
  const r = new Reader(data);
  readHeader(r, ObjectType.TRUST_ROOT);
  const centreId = r.take(ID_LEN);
  const version = r.u32();
  const issuedAt = r.u64();
  const previous = r.take(HASH_LEN);
  const threshold = r.u8();
  const count = r.u8();
  if (count > MAX_ANCHORS) fail(ErrorCode.OVERSIZE);
  const anchors = [];
  for (let i = 0; i < count; i++) anchors.push(r.take(KEY_LEN));
  const logKey = r.take(KEY_LEN);
  const tbs = r.consumed();
  const sigCount = r.u8();
  if (sigCount > MAX_ROOT_SIGNATURES) fail(ErrorCode.OVERSIZE);
  const signatures = [];
  for (let i = 0; i < sigCount; i++) signatures.push([r.take(KEY_LEN), r.take(SIG_LEN)]);
  r.finish();
  const ascending = (list) => list.every((x, i) => i === 0 || compareBytes(list[i - 1], x) < 0);
  if (
    version < 1 ||
    count < 1 ||
    threshold < 1 ||
    threshold > count ||
    !ascending(anchors) ||
    !ascending(signatures.map((s) => s[0])) ||
    (version === 1) !== equal(previous, ZERO_HASH)
  ) {
    fail(ErrorCode.MALFORMED);
  }
  const raw = data.slice();
  return Object.freeze({
    centreId,
    version,
    issuedAt: Number(issuedAt),
    issuedAtExact: issuedAt,
    previous,
    threshold,
    anchors,
    logKey,
    signatures,
    tbs,
    raw,
    hash: await p.sha256(raw),
  });
}

function encode(root, signatures) {
  const sorted = [...signatures].sort((a, b) => compareBytes(a[0], b[0]));
  const w = new Writer().raw(root.tbs).u8(sorted.length);
  for (const [signer, signature] of sorted) w.fixed(signer, KEY_LEN).fixed(signature, SIG_LEN);
  return w.bytes();
}

/** An unsigned root version for the signers to cosign; `previous` is the prior version's bytes. */
export const draftTrustRoot = guard(async ({ centreId, version, issuedAt, previous, anchors, threshold, logKey }) => {
  const keys = checkAnchors(anchors).sort(compareBytes);
  if (new Set(keys.map(toHex)).size !== keys.length || (previous == null) !== (version === 1)) fail(ErrorCode.MALFORMED);
  const prevHash = previous == null ? ZERO_HASH : (await parseTrustRoot(previous)).hash;
  const w = new Writer().raw(new Uint8Array([VERSION, SUITE, ObjectType.TRUST_ROOT])).fixed(centreId, ID_LEN);
  w.u32(version).u64(issuedAt).fixed(prevHash, HASH_LEN).u8(threshold).u8(keys.length);
  for (const key of keys) w.fixed(key, KEY_LEN);
  const data = w.fixed(logKey, KEY_LEN).u8(0).bytes();
  await parseTrustRoot(data); // the structural rules (threshold range) in one place
  return data;
});

/** Add (or replace) one anchor's signature; `signer` is an admin key {privateKey, public}. */
export const cosignTrustRoot = guard(async (data, signer) => {
  const root = await parseTrustRoot(data);
  const signature = await p.ed25519Sign(signer.privateKey, label("sig/root", root.tbs));
  const others = root.signatures.filter((s) => !equal(s[0], signer.public));
  return encode(root, [...others, [signer.public, signature]]);
});

async function validSigners(root) {
  const out = new Set();
  for (const [signer, signature] of root.signatures) {
    if (await p.ed25519Verify(signer, signature, label("sig/root", root.tbs))) out.add(toHex(signer));
  }
  return out;
}

function countIn(signed, keys) {
  return keys.filter((k) => signed.has(toHex(k))).length;
}

async function checkVersion(root, previous, pin) {
  const signed = await validSigners(root);
  if (signed.size !== root.signatures.length) fail(ErrorCode.BAD_ROOT);
  if (countIn(signed, root.anchors) < root.threshold) fail(ErrorCode.BAD_ROOT);
  if (previous === null) {
    let pinned = null;
    for (const a of root.anchors) {
      if (pinned === null && ctEqual(await centreFingerprint(root.centreId, a), pin)) pinned = a;
    }
    if (root.version !== 1 || pinned === null || !signed.has(toHex(pinned))) fail(ErrorCode.BAD_ROOT);
    return;
  }
  if (
    !equal(root.centreId, previous.centreId) ||
    root.version !== previous.version + 1 ||
    !equal(root.previous, previous.hash) ||
    root.issuedAtExact <= previous.issuedAtExact ||
    countIn(signed, previous.anchors) < previous.threshold
  ) {
    fail(ErrorCode.BAD_ROOT);
  }
}

/**
 * A verified chain, or (for old callers) a bare anchor list with no history and no pin.
 * `anchors` are the newest version's; `anchorsAt(t)` adds older versions' anchors for times up
 * to MAX_CLOCK_SKEW after the version that replaced them was issued.
 */
export class TrustRoot {
  constructor(anchors, pin = null, centreId = null, versions = []) {
    this.anchors = anchors;
    this.pin = pin;
    this.centreId = centreId;
    this.versions = Object.freeze(versions);
    Object.freeze(this);
  }

  get newest() {
    return this.versions.length ? this.versions[this.versions.length - 1] : null;
  }

  get version() {
    return this.newest ? this.newest.version : 0;
  }

  get logKey() {
    return this.newest ? this.newest.logKey : null;
  }

  anchorsAt(when) {
    const t = BigInt(when);
    const out = [...this.anchors];
    for (let i = 0; i + 1 < this.versions.length; i++) {
      if (t <= this.versions[i + 1].issuedAtExact + BigInt(MAX_CLOCK_SKEW)) {
        for (const a of this.versions[i].anchors) if (!out.some((b) => equal(a, b))) out.push(a);
      }
    }
    return out;
  }
}

/** A verified TrustRoot as is; a bare list of anchor keys as a root without history. */
export function asTrust(trust) {
  return trust instanceof TrustRoot ? trust : new TrustRoot(checkAnchors(trust));
}

/**
 * Walk the chain from version 1 (which must carry the pinned anchor) to the newest. `known`, a
 * root this client verified before, must be a prefix of the chain (no rollback, no fork).
 */
export const verifyTrustRoot = guard(async (chain, pin, known = null) => {
  if (!(pin instanceof Uint8Array) || pin.length !== HASH_LEN || !Array.isArray(chain)) fail(ErrorCode.MALFORMED);
  if (chain.length === 0) fail(ErrorCode.MALFORMED);
  if (chain.length > MAX_ROOT_CHAIN) fail(ErrorCode.OVERSIZE);
  const versions = [];
  for (const data of chain) {
    const root = await parseTrustRoot(data);
    await checkVersion(root, versions.length ? versions[versions.length - 1] : null, pin);
    versions.push(root);
  }
  if (known && known.versions.length) {
    const seen = known.newest;
    if (!known.pin || !equal(known.pin, pin) || versions.length < seen.version || !equal(versions[seen.version - 1].hash, seen.hash)) {
      fail(ErrorCode.BAD_ROOT);
    }
  }
  const newest = versions[versions.length - 1];
  return new TrustRoot(newest.anchors, pin.slice(), newest.centreId, versions);
});

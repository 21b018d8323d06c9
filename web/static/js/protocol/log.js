// The append-only log of a centre's trust roots and directories: a hash chain with signed heads
// (PROTOCOL.md §5.6). Clients remember the last head they saw and check that each new one extends
// it (consistency), and that what they are shown is in it (inclusion).

import { equal, Reader, toHex, Writer } from "./bytes.js";
import { readHeader } from "./certificates.js";
import { HASH_LEN, ID_LEN, KEY_LEN, label, ObjectType, SIG_LEN, SUITE, VERSION, ZERO_HASH } from "./constants.js";
import { ErrorCode, fail, guard } from "./errors.js";
import * as p from "./primitives.js";

const HEAD_LEN = 3 + ID_LEN + 8 + HASH_LEN + 8 + KEY_LEN + SIG_LEN;
const MAX_PROOF_ENTRIES = 1 << 20;

export const LogKind = Object.freeze({ TRUST_ROOT: 1, DIRECTORY: 2 });

function checkEntry(entry) {
  const [kind, hash] = entry;
  if ((kind !== LogKind.TRUST_ROOT && kind !== LogKind.DIRECTORY) || !(hash instanceof Uint8Array) || hash.length !== HASH_LEN) {
    fail(ErrorCode.MALFORMED);
  }
}

/** The log entry [kind, SHA-256(object)] for a root version or a directory. */
export const entryOf = guard(async (kind, obj) => {
  if (kind !== LogKind.TRUST_ROOT && kind !== LogKind.DIRECTORY) fail(ErrorCode.MALFORMED);
  return [kind, await p.sha256(obj)];
});

/** chain(i+1) = SHA-256(label("log/entry", chain(i) || u64 i || u8 kind || object hash)). */
export const logChain = guard(async (previous, index, entry) => {
  checkEntry(entry);
  const context = new Writer().fixed(previous, HASH_LEN).u64(index).u8(entry[0]).fixed(entry[1], HASH_LEN).bytes();
  return p.sha256(label("log/entry", context));
});

async function extend(start, firstIndex, entries) {
  if (!Array.isArray(entries)) fail(ErrorCode.MALFORMED);
  if (entries.length > MAX_PROOF_ENTRIES) fail(ErrorCode.OVERSIZE);
  let value = start;
  for (const [offset, entry] of entries.entries()) value = await logChain(value, firstIndex + offset, entry);
  return value;
}

/** The server signs the head with its log key (tests; the server is the only signer). */
export const signLogHead = guard(async (logKey, centreId, size, head, timestamp) => {
  const w = new Writer().raw(new Uint8Array([VERSION, SUITE, ObjectType.LOG_HEAD])).fixed(centreId, ID_LEN);
  const tbs = w.u64(size).fixed(head, HASH_LEN).u64(timestamp).fixed(logKey.public, KEY_LEN).bytes();
  return new Writer().raw(tbs).raw(await p.ed25519Sign(logKey.privateKey, label("sig/log-head", tbs))).bytes();
});

export function parseLogHead(data) {
  if (!(data instanceof Uint8Array)) fail(ErrorCode.MALFORMED);
  if (data.length > HEAD_LEN) fail(ErrorCode.OVERSIZE);
  const r = new Reader(data);
  readHeader(r, ObjectType.LOG_HEAD);
  const centreId = r.take(ID_LEN);
  const size = r.u64();
  const head = r.take(HASH_LEN);
  const timestamp = r.u64();
  const logKey = r.take(KEY_LEN);
  const signature = r.take(SIG_LEN);
  r.finish();
  if ((size === 0n) !== equal(head, ZERO_HASH)) fail(ErrorCode.MALFORMED);
  if (size > BigInt(Number.MAX_SAFE_INTEGER)) fail(ErrorCode.OVERSIZE);
  return Object.freeze({ centreId, size: Number(size), head, timestamp: Number(timestamp), logKey, signature, raw: data.slice() });
}

/** A head signed by the log key the centre's trust root names, for this centre. */
export const verifyLogHead = guard(async (data, logKey, centreId) => {
  const head = parseLogHead(data);
  if (!logKey || !equal(head.logKey, logKey) || !equal(head.centreId, centreId)) fail(ErrorCode.BAD_LOG);
  const tbs = head.raw.slice(0, head.raw.length - SIG_LEN);
  if (!(await p.ed25519Verify(head.logKey, head.signature, label("sig/log-head", tbs)))) fail(ErrorCode.BAD_LOG);
  return head;
});

/** `next` extends `old`: the entries old.size .. next.size-1 chain from old.head to next.head. */
export const verifyLogConsistency = guard(async (old, next, entries) => {
  if (!equal(old.centreId, next.centreId) || next.size < old.size || entries.length !== next.size - old.size) fail(ErrorCode.BAD_LOG);
  if (!equal(await extend(old.head, old.size, entries), next.head)) fail(ErrorCode.BAD_LOG);
});

/**
 * `obj` is entry `index` of the log under `head`: `before` is chain(index), `entries` the entries
 * index .. head.size-1. Resolves true when no later entry is of the same kind (the newest).
 */
export const verifyLogInclusion = guard(async (head, index, before, entries, kind, obj) => {
  if (!Number.isInteger(index) || index < 0 || index >= head.size || entries.length !== head.size - index || before.length !== HASH_LEN) {
    fail(ErrorCode.BAD_LOG);
  }
  if (index === 0 && !equal(before, ZERO_HASH)) fail(ErrorCode.BAD_LOG);
  const [wantKind, wantHash] = await entryOf(kind, obj);
  if (entries[0][0] !== wantKind || toHex(entries[0][1]) !== toHex(wantHash)) fail(ErrorCode.BAD_LOG);
  if (!equal(await extend(before, index, entries), head.head)) fail(ErrorCode.BAD_LOG);
  return entries.slice(1).every((e) => e[0] !== kind);
});

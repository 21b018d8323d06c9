// Wire layouts of conversation messages: genesis, commit, application and history bundle.
// Parsing is purely structural; signatures, membership and keys are checked by Conversation.

import { compareBytes, parseCertificate } from "./certificates.js";
import { equal, Reader, toHex, Writer } from "./bytes.js";
import {
  CIPHERTEXT_SIZES,
  HASH_LEN,
  ID_LEN,
  KEY_LEN,
  KEY_NONCE_LEN,
  MAX_CERTIFICATE,
  MAX_HISTORY_EPOCHS,
  MAX_MEMBERS,
  MAX_OBJECT,
  ObjectType,
  Role,
  SECRET_LEN,
  SIG_LEN,
  SUITE,
  TAG_LEN,
  VERSION,
  WRAP_LEN,
  ZERO_HASH,
} from "./constants.js";
import { ErrorCode, fail, guardSync } from "./errors.js";

const CONVERSATION_TYPES = [ObjectType.GENESIS, ObjectType.COMMIT, ObjectType.APPLICATION, ObjectType.HISTORY, ObjectType.KEY_REQUEST];
export const REQUEST_REASONS = Object.freeze([1, 2]); // 1: I hold no secret for this epoch; 2: a history bundle for me failed
const MAX_CIPHERTEXT = Math.max(...CIPHERTEXT_SIZES);

export function encodeVisitorEntry(memberId, kemPublic, sigPublic) {
  return new Writer().u8(Role.VISITOR).fixed(memberId, ID_LEN).fixed(kemPublic, KEY_LEN).fixed(sigPublic, KEY_LEN).bytes();
}

export function encodeStaffEntry(cert) {
  return new Writer().u8(cert.role).opaque(cert.raw, 2).bytes();
}

export function visitorEntry(member) {
  const raw = encodeVisitorEntry(member.memberId, member.kemPublic, member.sigPublic);
  return entry(member.memberId, Role.VISITOR, member.kemPublic, member.sigPublic, null, raw);
}

export function staffEntry(certOrBytes) {
  const cert = certOrBytes instanceof Uint8Array ? parseCertificate(certOrBytes) : certOrBytes;
  return entry(cert.staffId, cert.role, cert.kemPublic, cert.sigPublic, cert, encodeStaffEntry(cert));
}

function entry(memberId, role, kemPublic, sigPublic, certificate, raw) {
  return Object.freeze({ memberId, id: toHex(memberId), role, kemPublic, sigPublic, certificate, raw, rawHex: toHex(raw) });
}

export function encodeEnvelope(env) {
  const w = new Writer().u8(VERSION).u8(SUITE).u8(env.type);
  w.fixed(env.conversationId, ID_LEN).u32(env.epoch).u32(env.seq);
  w.fixed(env.senderId, ID_LEN).fixed(env.prevHash, HASH_LEN);
  return w.bytes();
}

function readEntry(r) {
  const start = r.pos;
  const role = r.u8();
  if (role === Role.VISITOR) {
    const memberId = r.take(ID_LEN);
    const kemPublic = r.take(KEY_LEN);
    const sigPublic = r.take(KEY_LEN);
    return entry(memberId, role, kemPublic, sigPublic, null, r.consumed(start));
  }
  if (role !== Role.COUNSELLOR && role !== Role.INTERPRETER) fail(ErrorCode.MALFORMED);
  const cert = parseCertificate(r.opaque(2, MAX_CERTIFICATE));
  if (cert.role !== role) fail(ErrorCode.MALFORMED);
  return entry(cert.staffId, role, cert.kemPublic, cert.sigPublic, cert, r.consumed(start));
}

/** Header fields in wire order; version before suite before type. */
export function readEnvelope(r) {
  if (r.u8() !== VERSION) fail(ErrorCode.UNSUPPORTED_VERSION);
  if (r.u8() !== SUITE) fail(ErrorCode.UNSUPPORTED_SUITE);
  const type = r.u8();
  if (!CONVERSATION_TYPES.includes(type)) fail(ErrorCode.MALFORMED);
  return {
    type,
    conversationId: r.take(ID_LEN),
    epoch: r.u32(),
    seq: r.u32(),
    senderId: r.take(ID_LEN),
    prevHash: r.take(HASH_LEN),
  };
}

function parseCommit(r, env, data) {
  const createdAt = r.u64();
  const directoryHash = env.type === ObjectType.GENESIS ? r.take(HASH_LEN) : null;
  const count = r.u16();
  if (count > MAX_MEMBERS) fail(ErrorCode.OVERSIZE);
  if (count === 0) fail(ErrorCode.MALFORMED);
  const members = [];
  for (let i = 0; i < count; i++) members.push(readEntry(r));
  const wraps = [];
  for (let i = 0; i < count; i++) wraps.push(r.take(WRAP_LEN));
  const confirmInput = r.consumed();
  const confirmation = r.take(HASH_LEN);
  const tbs = r.consumed();
  const signature = r.take(SIG_LEN);
  r.finish();
  for (let i = 1; i < members.length; i++) {
    if (compareBytes(members[i - 1].memberId, members[i].memberId) >= 0) fail(ErrorCode.MALFORMED);
  }
  const visitors = members.filter((m) => m.role === Role.VISITOR);
  if (visitors.length !== 1) fail(ErrorCode.MALFORMED);
  if (env.type === ObjectType.GENESIS) {
    const staffRoles = new Set(members.filter((m) => m.role !== Role.VISITOR).map((m) => m.role));
    if (
      env.epoch !== 0 ||
      env.seq !== 0 ||
      !equal(env.prevHash, ZERO_HASH) ||
      !equal(env.senderId, visitors[0].memberId) ||
      staffRoles.size !== 1 ||
      !staffRoles.has(Role.COUNSELLOR)
    ) {
      fail(ErrorCode.MALFORMED);
    }
  }
  return { kind: "commit", envelope: env, createdAt, directoryHash, members, wraps, confirmation, confirmInput, tbs, signature, raw: data };
}

function parseApplication(r, env, data) {
  const keyNonce = r.take(KEY_NONCE_LEN);
  const ctLen = r.u32();
  if (ctLen > MAX_CIPHERTEXT) fail(ErrorCode.OVERSIZE);
  if (!CIPHERTEXT_SIZES.includes(ctLen)) fail(ErrorCode.MALFORMED);
  const aad = r.consumed();
  const ciphertext = r.take(ctLen);
  const tbs = r.consumed();
  const signature = r.take(SIG_LEN);
  r.finish();
  return { kind: "application", envelope: env, keyNonce, ciphertext, aad, tbs, signature, raw: data };
}

function parseHistory(r, env, data) {
  const recipientId = r.take(ID_LEN);
  const count = r.u16();
  if (count > MAX_HISTORY_EPOCHS) fail(ErrorCode.OVERSIZE);
  if (count === 0) fail(ErrorCode.MALFORMED);
  const epochs = [];
  for (let i = 0; i < count; i++) epochs.push(r.u32());
  const infoContext = r.consumed();
  const enc = r.take(KEY_LEN);
  const ciphertext = r.take(count * SECRET_LEN + TAG_LEN);
  const tbs = r.consumed();
  const signature = r.take(SIG_LEN);
  r.finish();
  for (let i = 1; i < epochs.length; i++) if (epochs[i - 1] >= epochs[i]) fail(ErrorCode.MALFORMED);
  if (equal(recipientId, env.senderId)) fail(ErrorCode.MALFORMED);
  return { kind: "history", envelope: env, recipientId, epochs, enc, ciphertext, infoContext, tbs, signature, raw: data };
}

function parseRequest(r, env, data) {
  const reason = r.u8();
  const refSeq = r.u32();
  const tbs = r.consumed();
  const signature = r.take(SIG_LEN);
  r.finish();
  if (!REQUEST_REASONS.includes(reason) || refSeq >= env.seq) fail(ErrorCode.MALFORMED);
  return { kind: "key_request", envelope: env, reason, refSeq, tbs, signature, raw: data };
}

/** Structural parse of any conversation message (bounds first, then fields in order). */
export function parseMessage(input) {
  if (!(input instanceof Uint8Array)) fail(ErrorCode.MALFORMED);
  if (input.length > MAX_OBJECT) fail(ErrorCode.OVERSIZE);
  const data = input.slice();
  const r = new Reader(data);
  const env = readEnvelope(r);
  if (env.type === ObjectType.GENESIS || env.type === ObjectType.COMMIT) return parseCommit(r, env, data);
  if (env.type === ObjectType.APPLICATION) return parseApplication(r, env, data);
  if (env.type === ObjectType.KEY_REQUEST) return parseRequest(r, env, data);
  return parseHistory(r, env, data);
}

/** Body of a PROPOSAL payload: {action: 1, value: certificate} or {action: 2, value: member id}. */
export const parseProposal = guardSync((body) => {
  const r = new Reader(body);
  const action = r.u8();
  let value;
  if (action === 1) {
    value = r.opaque(2, MAX_CERTIFICATE);
    parseCertificate(value);
  } else if (action === 2) {
    value = r.take(ID_LEN);
  } else {
    fail(ErrorCode.MALFORMED);
  }
  r.finish();
  return { action, value };
});

export const encodeAddProposal = guardSync((certificate) => {
  parseCertificate(certificate);
  return new Writer().u8(1).opaque(certificate, 2).bytes();
});

export const encodeRemoveProposal = guardSync((memberId) => new Writer().u8(2).fixed(memberId, ID_LEN).bytes());

// The visitor's side: start a conversation from the signed directory, export and resume it.
// The visitor's private keys exist as raw bytes only while the state export is sealed at
// creation; afterwards the conversation holds non-extractable CryptoKeys (PROTOCOL.md §13).

import { readHeader, validAt, verifyDirectory } from "./certificates.js";
import { ctEqual, equal, Reader, Writer } from "./bytes.js";
import {
  AEAD_NONCE_LEN,
  HASH_LEN,
  ID_LEN,
  KEY_LEN,
  MAX_OBJECT,
  MAX_STATE_CIPHERTEXT,
  MIN_ITERATIONS,
  ObjectType,
  Role,
  SUITE,
  TAG_LEN,
  VERSION,
} from "./constants.js";
import { newGenesis, openGenesis } from "./conversation.js";
import { parseMessage } from "./messages.js";
import { ErrorCode, fail, guard } from "./errors.js";
import { memberFromSeeds } from "./identity.js";
import { messageHash } from "./keyschedule.js";
import * as p from "./primitives.js";
import { asTrust, centreFingerprint } from "./trust.js";

function statePlaintext(conversation, kemSeed, sigSeed, pin) {
  const w = new Writer().fixed(conversation.centreId, ID_LEN).fixed(conversation.conversationId, ID_LEN);
  w.fixed(conversation.me.memberId, ID_LEN).fixed(kemSeed, KEY_LEN).fixed(sigSeed, KEY_LEN);
  w.fixed(conversation.genesisHash, HASH_LEN).fixed(pin, HASH_LEN);
  return w.bytes();
}

/** A verified root's pin; for a bare anchor list (old callers), its first key is the pinned one. */
function pinOf(trust, centreId) {
  return trust.pin ?? centreFingerprint(centreId, trust.anchors[0]);
}

async function exportState(conversation, kemSeed, sigSeed, keys, rand) {
  if (!ctEqual(keys.centreId, conversation.centreId)) fail(ErrorCode.MALFORMED);
  const plaintext = statePlaintext(conversation, kemSeed, sigSeed, await pinOf(conversation.trust, conversation.centreId));
  const nonce = await rand(AEAD_NONCE_LEN);
  const head = new Writer().raw(new Uint8Array([VERSION, SUITE, ObjectType.VISITOR_STATE])).u32(keys.iterations);
  const aad = head.fixed(nonce, AEAD_NONCE_LEN).u32(plaintext.length + TAG_LEN).bytes();
  const sealed = await p.aeadSeal(keys.stateKey, nonce, plaintext, aad);
  plaintext.fill(0);
  return new Writer().raw(aad).raw(sealed).bytes();
}

export async function createWith({ directory, trust, anchors, now, resumeKeys }, rand) {
  const when = now ?? Math.floor(Date.now() / 1000);
  const root = asTrust(trust ?? anchors);
  const verified = await verifyDirectory(directory, root.anchors, when);
  if (root.centreId && !equal(root.centreId, verified.centreId)) fail(ErrorCode.BAD_CERTIFICATE);
  const counsellors = verified.certificates.filter((c) => c.role === Role.COUNSELLOR && validAt(c, when));
  if (counsellors.length === 0) fail(ErrorCode.NO_RECIPIENTS);
  const memberId = await rand(ID_LEN);
  const kemSeed = await rand(32);
  const sigSeed = await rand(32);
  const me = await memberFromSeeds(memberId, Role.VISITOR, verified.centreId, kemSeed, sigSeed);
  const conversationId = await rand(ID_LEN);
  const genesis = await newGenesis(me, conversationId, counsellors, when, await p.sha256(directory), rand);
  const conversation = await openGenesis(me, genesis, root, rand);
  let visitorState = null;
  if (resumeKeys) visitorState = await exportState(conversation, kemSeed, sigSeed, resumeKeys, rand);
  kemSeed.fill(0);
  sigSeed.fill(0);
  return { conversation, genesis, visitorState };
}

/**
 * Visitor starts a conversation readable by every counsellor certified in the directory, which
 * must verify against the newest anchors of `trust` (the centre's verified TrustRoot; a bare
 * `anchors` list is still accepted, its first key standing for the pinned anchor).
 * Returns { conversation, genesis (send it), visitorState (store it under the resume code) }.
 */
export const createConversation = guard(async (options) => {
  if (options.resumeKeys && options.resumeKeys.iterations < MIN_ITERATIONS) fail(ErrorCode.WEAK_PARAMETERS);
  return createWith(options, p.systemRandom);
});

export async function importWithFloor(blob, keys, minIterations) {
  if (blob.length > MAX_OBJECT) fail(ErrorCode.OVERSIZE);
  const r = new Reader(blob);
  readHeader(r, ObjectType.VISITOR_STATE);
  const iterations = r.u32();
  const nonce = r.take(AEAD_NONCE_LEN);
  const ctLen = r.u32();
  if (ctLen > MAX_STATE_CIPHERTEXT) fail(ErrorCode.OVERSIZE);
  const aad = r.consumed();
  const ciphertext = r.take(ctLen);
  r.finish();
  if (iterations < minIterations || iterations !== keys.iterations) fail(ErrorCode.WEAK_PARAMETERS);
  const plain = await p.aeadOpen(keys.stateKey, nonce, ciphertext, aad);
  const s = new Reader(plain);
  const centreId = s.take(ID_LEN);
  const conversationId = s.take(ID_LEN);
  const memberId = s.take(ID_LEN);
  const kemSeed = s.take(KEY_LEN);
  const sigSeed = s.take(KEY_LEN);
  const genesisHash = s.take(HASH_LEN);
  const pin = s.take(HASH_LEN);
  s.finish();
  if (!ctEqual(centreId, keys.centreId)) fail(ErrorCode.WRONG_CONVERSATION);
  const me = await memberFromSeeds(memberId, Role.VISITOR, centreId, kemSeed, sigSeed);
  plain.fill(0);
  return Object.freeze({ me, conversationId, genesisHash, pin });
}

/** Open a state export; BAD_TAG means the code does not match this record. */
export const importVisitorState = guard(async (blob, keys) => importWithFloor(blob, keys, MIN_ITERATIONS));

/**
 * Old callers give no trust root: the anchor is then the genesis certificates' issuer whose
 * fingerprint is the sealed pin (BAD_ROOT if none is: after a rotation, pass the root).
 */
async function pinnedIssuer(state, genesis) {
  const msg = parseMessage(genesis);
  if (msg.kind !== "commit") fail(ErrorCode.MALFORMED);
  for (const m of msg.members) {
    if (m.certificate && ctEqual(await centreFingerprint(state.me.centreId, m.certificate.issuer), state.pin)) return [m.certificate.issuer];
  }
  return fail(ErrorCode.BAD_ROOT);
}

export async function resumeWith(state, genesis, trust, rand) {
  const root = asTrust(trust ?? (await pinnedIssuer(state, genesis)));
  if (!ctEqual(await pinOf(root, state.me.centreId), state.pin)) fail(ErrorCode.BAD_ROOT);
  if (!ctEqual(await messageHash(genesis), state.genesisHash)) fail(ErrorCode.FORK);
  const conversation = await openGenesis(state.me, genesis, root, rand);
  if (!ctEqual(conversation.visitorId, state.me.memberId)) fail(ErrorCode.NOT_A_MEMBER);
  return conversation;
}

/**
 * Rebuild the visitor's conversation from its genesis under the centre's verified TrustRoot, which
 * must chain to the pin sealed in the state (BAD_ROOT otherwise; a bare anchor list stands for a
 * root whose pinned anchor is its first key, and without one the pinned anchor must have issued a
 * certificate in the genesis); then receive() every later message.
 */
export const resumeConversation = guard(async (state, genesis, trust = null) => resumeWith(state, genesis, trust, p.systemRandom));

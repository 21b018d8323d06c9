// Every derivation from an epoch secret, and the info strings that bind wraps to their context.

import { concat, uint } from "./bytes.js";
import { AEAD_NONCE_LEN, HASH_LEN, label } from "./constants.js";
import * as p from "./primitives.js";

/** Per-message AES-256-GCM key and nonce: HKDF(epoch secret, salt = key nonce, info = header). */
export async function messageKey(epochSecret, keyNonce, aad) {
  const okm = await p.hkdf(epochSecret, keyNonce, label("message", aad), 32 + AEAD_NONCE_LEN);
  return { key: okm.slice(0, 32), nonce: okm.slice(32) };
}

/** Proof that the committer knew the epoch secret it wrapped to everyone. */
export function confirmation(epochSecret, confirmHash) {
  return p.hkdf(epochSecret, new Uint8Array(0), label("confirm", confirmHash), HASH_LEN);
}

export function wrapInfo(conversationId, epoch, senderId, recipientId) {
  return label("wrap", concat(conversationId, uint(epoch, 4), senderId, recipientId));
}

export function historyInfo(infoContext) {
  return label("history", infoContext);
}

export function signatureInput(kind, tbs) {
  return label("sig/" + kind, tbs);
}

export function messageHash(raw) {
  return p.sha256(raw);
}

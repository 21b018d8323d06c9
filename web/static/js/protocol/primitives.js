// Thin wrappers over WebCrypto for the suite-1 primitives; nothing here is home-made.
// HKDF-Extract/Expand are spelled out over HMAC (RFC 5869 §2) because HPKE's labeled
// extract needs them separately; everything else uses the platform's HKDF.

import { concat, fromHex } from "./bytes.js";
import { ErrorCode, fail } from "./errors.js";

const subtle = globalThis.crypto.subtle;
const X25519_PKCS8 = fromHex("302e020100300506032b656e04220420");
const ED25519_PKCS8 = fromHex("302e020100300506032b657004220420");

/** Production randomness; tests inject a deterministic source instead. */
export async function systemRandom(n) {
  return globalThis.crypto.getRandomValues(new Uint8Array(n));
}

export async function sha256(data) {
  return new Uint8Array(await subtle.digest("SHA-256", data));
}

export async function hmacSha256(key, data) {
  // An empty HMAC key equals 32 zero bytes (keys are zero-padded); WebCrypto refuses empty keys.
  const k = await subtle.importKey(
    "raw",
    key.length ? key : new Uint8Array(32),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return new Uint8Array(await subtle.sign("HMAC", k, data));
}

export async function hkdfExtract(salt, ikm) {
  return hmacSha256(salt, ikm);
}

export async function hkdfExpand(prk, info, length) {
  if (length > 255 * 32) fail(ErrorCode.MALFORMED);
  const blocks = [];
  let previous = new Uint8Array(0);
  for (let i = 1; blocks.length * 32 < length; i++) {
    previous = await hmacSha256(prk, concat(previous, info, new Uint8Array([i])));
    blocks.push(previous);
  }
  return concat(...blocks).slice(0, length);
}

export async function hkdf(ikm, salt, info, length) {
  if (length > 255 * 32) fail(ErrorCode.MALFORMED);
  const key = await subtle.importKey("raw", ikm, "HKDF", false, ["deriveBits"]);
  const bits = await subtle.deriveBits({ name: "HKDF", hash: "SHA-256", salt, info }, key, length * 8);
  return new Uint8Array(bits);
}

export async function pbkdf2Sha256(password, salt, iterations, length = 32) {
  const key = await subtle.importKey("raw", password, "PBKDF2", false, ["deriveBits"]);
  const bits = await subtle.deriveBits(
    { name: "PBKDF2", hash: "SHA-256", salt, iterations },
    key,
    length * 8,
  );
  return new Uint8Array(bits);
}

async function aesKey(key, usage) {
  return subtle.importKey("raw", key, "AES-GCM", false, [usage]);
}

export async function aeadSeal(key, nonce, plaintext, aad) {
  const k = await aesKey(key, "encrypt");
  const params = { name: "AES-GCM", iv: nonce, additionalData: aad, tagLength: 128 };
  return new Uint8Array(await subtle.encrypt(params, k, plaintext));
}

export async function aeadOpen(key, nonce, ciphertext, aad) {
  const k = await aesKey(key, "decrypt");
  const params = { name: "AES-GCM", iv: nonce, additionalData: aad, tagLength: 128 };
  try {
    return new Uint8Array(await subtle.decrypt(params, k, ciphertext));
  } catch {
    return fail(ErrorCode.BAD_TAG);
  }
}

async function publicFromPkcs8(pkcs8, algorithm, usages) {
  const extractable = await subtle.importKey("pkcs8", pkcs8, algorithm, true, usages);
  const jwk = await subtle.exportKey("jwk", extractable);
  const pad = "=".repeat((4 - (jwk.x.length % 4)) % 4);
  const b64 = (jwk.x + pad).replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

/**
 * Import an X25519 private key from its 32 raw bytes. The key is non-extractable unless
 * asked; the public key is computed once (through a short-lived extractable copy, since
 * WebCrypto cannot derive a public key from a non-extractable private key).
 */
export async function x25519FromSeed(seed, extractable = false) {
  const pkcs8 = concat(X25519_PKCS8, seed);
  const publicKey = await publicFromPkcs8(pkcs8, "X25519", ["deriveBits"]);
  const privateKey = await subtle.importKey("pkcs8", pkcs8, "X25519", extractable, ["deriveBits"]);
  return { privateKey, publicKey };
}

export async function ed25519FromSeed(seed, extractable = false) {
  const pkcs8 = concat(ED25519_PKCS8, seed);
  const publicKey = await publicFromPkcs8(pkcs8, "Ed25519", ["sign"]);
  const privateKey = await subtle.importKey("pkcs8", pkcs8, "Ed25519", extractable, ["sign"]);
  return { privateKey, publicKey };
}

/** Raw 32-byte private key out of an extractable CryptoKey (exports only; see PROTOCOL.md §13). */
export async function privateBytes(key) {
  const pkcs8 = new Uint8Array(await subtle.exportKey("pkcs8", key));
  return pkcs8.slice(pkcs8.length - 32);
}

/** Raw X25519; throws (OperationError) for a low-order public key (all-zero result). */
export async function x25519(privateKey, publicBytes) {
  const pub = await subtle.importKey("raw", publicBytes, "X25519", false, []);
  return new Uint8Array(await subtle.deriveBits({ name: "X25519", public: pub }, privateKey, 256));
}

export async function ed25519Sign(privateKey, message) {
  return new Uint8Array(await subtle.sign("Ed25519", privateKey, message));
}

const verifyKeys = new Map();

async function verifyKey(publicBytes) {
  const id = publicBytes.join(",");
  let key = verifyKeys.get(id);
  if (!key) {
    key = await subtle.importKey("raw", publicBytes, "Ed25519", false, ["verify"]);
    if (verifyKeys.size > 512) verifyKeys.clear();
    verifyKeys.set(id, key);
  }
  return key;
}

export async function ed25519Verify(publicBytes, signature, message) {
  if (publicBytes.length !== 32 || signature.length !== 64) return false;
  try {
    return await subtle.verify("Ed25519", await verifyKey(publicBytes), signature, message);
  } catch {
    return false;
  }
}

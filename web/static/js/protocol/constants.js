// Protocol constants: version and suite bytes, object types, roles, size bounds and labels.

import { utf8, concat } from "./bytes.js";

export const VERSION = 2; // wire version; 1 (before trust roots, logs and time rules) is refused
export const SUITE = 1; // X25519, Ed25519, HKDF-SHA256, AES-256-GCM, SHA-256; HPKE 0x0020/0x0001/0x0002

export const ID_LEN = 16;
export const KEY_LEN = 32;
export const SIG_LEN = 64;
export const HASH_LEN = 32;
export const SECRET_LEN = 32;
export const KEY_NONCE_LEN = 16;
export const AEAD_NONCE_LEN = 12;
export const TAG_LEN = 16;
export const WRAP_LEN = 32 + SECRET_LEN + TAG_LEN;

export const MAX_OBJECT = 131072;
export const MAX_MEMBERS = 256;
export const MAX_NAME = 64;
export const MAX_CERTIFICATE = 512;
export const MAX_DIRECTORY_ENTRIES = MAX_MEMBERS - 1;
export const MAX_HISTORY_EPOCHS = 1024;
export const MAX_ANCHORS = 8;
export const PAD_BUCKETS = Object.freeze([256, 1024, 4096, 16384, 65536]);
export const PLAINTEXT_OVERHEAD = 5;
export const MAX_BODY = PAD_BUCKETS[PAD_BUCKETS.length - 1] - PLAINTEXT_OVERHEAD;
export const CIPHERTEXT_SIZES = Object.freeze(PAD_BUCKETS.map((b) => b + TAG_LEN));
export const MAX_STATE_CIPHERTEXT = 4096;
export const ZERO_HASH = new Uint8Array(HASH_LEN);

export const MAX_CLOCK_SKEW = 300; // seconds: the server's bound on a commit's time; a retired anchor's grace
export const LIVE_SKEW = 600; // seconds: a live receiver's bound (its own clock may differ from the server's)

export const MIN_ITERATIONS = 600000;
export const MAX_ITERATIONS = 2000000; // ceiling on import: a hostile blob cannot stall an unlock

export const ObjectType = Object.freeze({
  CERTIFICATE: 0x01,
  DIRECTORY: 0x02,
  TRUST_ROOT: 0x03,
  LOG_HEAD: 0x04,
  GENESIS: 0x10,
  COMMIT: 0x11,
  APPLICATION: 0x12,
  HISTORY: 0x13,
  KEY_REQUEST: 0x14,
  STAFF_BACKUP: 0x20,
  VISITOR_STATE: 0x21,
  ADMIN_BACKUP: 0x22,
});

export const Role = Object.freeze({ VISITOR: 0, COUNSELLOR: 1, INTERPRETER: 2 });

export const ContentType = Object.freeze({ TEXT: 1, APP_JSON: 2, PROPOSAL: 3 });

/** Domain-separated input for every KDF info, HPKE info, signature and hash. */
export function label(name, context = new Uint8Array(0)) {
  return concat(utf8("TRYGG-v1 " + name), new Uint8Array([0]), context);
}

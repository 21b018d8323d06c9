// Key backups sealed under a generated recovery phrase: staff identities and the centre admin's
// signing key (the root of trust). Raw private keys exist only inside the create/import
// functions; the keys returned are non-extractable CryptoKeys. The type byte (in the AEAD's
// associated data) keeps a staff backup from opening as an admin backup and vice versa. The
// phrase's 88 random bits carry the security; PBKDF2 (Argon2id is not in WebCrypto) adds ~2^20
// per guess (PROTOCOL.md §13).

import { readHeader } from "./certificates.js";
import { concat, Reader, Writer } from "./bytes.js";
import {
  AEAD_NONCE_LEN,
  ID_LEN,
  KEY_LEN,
  label,
  MAX_ITERATIONS,
  MAX_OBJECT,
  MAX_STATE_CIPHERTEXT,
  MIN_ITERATIONS,
  ObjectType,
  Role,
  SUITE,
  TAG_LEN,
  VERSION,
} from "./constants.js";
import { ErrorCode, fail, guard } from "./errors.js";
import { memberFromSeeds, staffSeedsWith } from "./identity.js";
import * as p from "./primitives.js";
import { generateRecoveryPhrase, recoveryEntropy } from "./recovery.js";

const SALT_LEN = 16;

async function backupKey(phrase, salt, iterations) {
  const master = await p.pbkdf2Sha256(await recoveryEntropy(phrase), salt, iterations, 32);
  return p.hkdf(master, new Uint8Array(0), label("backup/key"), 32);
}

/** Bounded below (guessing cost) and above (a hostile blob must not stall an unlock). */
function checkIterations(iterations, floor = MIN_ITERATIONS) {
  if (!Number.isInteger(iterations) || iterations < floor || iterations > MAX_ITERATIONS) fail(ErrorCode.WEAK_PARAMETERS);
}

/** The phrase to seal under: the one given (checked), else a fresh one to show the person once. */
async function phraseFor(options) {
  const given = options.recoveryPhrase ?? options.passphrase;
  if (given === undefined) return generateRecoveryPhrase();
  await recoveryEntropy(given); // a chosen passphrase or a typo fails here, loudly
  return given;
}

async function seal(type, plaintext, phrase, iterations, rand) {
  const salt = await rand(SALT_LEN);
  const nonce = await rand(AEAD_NONCE_LEN);
  const head = new Writer().raw(new Uint8Array([VERSION, SUITE, type])).u32(iterations);
  const aad = head.fixed(salt, SALT_LEN).fixed(nonce, AEAD_NONCE_LEN).u32(plaintext.length + TAG_LEN).bytes();
  const sealed = await p.aeadSeal(await backupKey(phrase, salt, iterations), nonce, plaintext, aad);
  plaintext.fill(0);
  return concat(aad, sealed);
}

async function open(type, blob, phrase, minIterations) {
  if (blob.length > MAX_OBJECT) fail(ErrorCode.OVERSIZE);
  const r = new Reader(blob);
  readHeader(r, type);
  const iterations = r.u32();
  const salt = r.take(SALT_LEN);
  const nonce = r.take(AEAD_NONCE_LEN);
  const ctLen = r.u32();
  if (ctLen > MAX_STATE_CIPHERTEXT) fail(ErrorCode.OVERSIZE);
  const aad = r.consumed();
  const ciphertext = r.take(ctLen);
  r.finish();
  checkIterations(iterations, minIterations);
  return p.aeadOpen(await backupKey(phrase, salt, iterations), nonce, ciphertext, aad);
}

export async function exportFromSeeds({ centreId, staffId, role }, kemSeed, sigSeed, phrase, iterations, rand) {
  if (role !== Role.COUNSELLOR && role !== Role.INTERPRETER) fail(ErrorCode.MALFORMED);
  const w = new Writer().fixed(centreId, ID_LEN).fixed(staffId, ID_LEN).u8(role);
  const plaintext = w.fixed(kemSeed, KEY_LEN).fixed(sigSeed, KEY_LEN).bytes();
  return seal(ObjectType.STAFF_BACKUP, plaintext, phrase, iterations, rand);
}

/**
 * Fresh long-term keys for a counsellor or interpreter, and their backup under a recovery phrase.
 * Returns { identity (non-extractable keys), backup (store on the server), recoveryPhrase (show
 * it once; it is not kept) }. A `recoveryPhrase` option must be a valid generated phrase.
 */
export const createStaffIdentity = guard(async (options) => {
  const { centreId, staffId, role, iterations = MIN_ITERATIONS } = options;
  checkIterations(iterations);
  const recoveryPhrase = await phraseFor(options);
  const { kemSeed, sigSeed } = await staffSeedsWith(role, p.systemRandom);
  const backup = await exportFromSeeds({ centreId, staffId, role }, kemSeed, sigSeed, recoveryPhrase, iterations, p.systemRandom);
  const identity = await memberFromSeeds(staffId, role, centreId, kemSeed, sigSeed);
  kemSeed.fill(0);
  sigSeed.fill(0);
  return { identity, backup, recoveryPhrase };
});

export async function importWithFloor(blob, phrase, minIterations) {
  const plain = await open(ObjectType.STAFF_BACKUP, blob, phrase, minIterations);
  const s = new Reader(plain);
  const centreId = s.take(ID_LEN);
  const staffId = s.take(ID_LEN);
  const role = s.u8();
  const kemSeed = s.take(KEY_LEN);
  const sigSeed = s.take(KEY_LEN);
  s.finish();
  if (role !== Role.COUNSELLOR && role !== Role.INTERPRETER) fail(ErrorCode.MALFORMED);
  const identity = await memberFromSeeds(staffId, role, centreId, kemSeed, sigSeed);
  plain.fill(0);
  return identity;
}

/** Open a staff backup with its recovery phrase; BAD_TAG means a wrong phrase or a tampered blob. */
export const importStaffBackup = guard(async (blob, phrase) => importWithFloor(blob, phrase, MIN_ITERATIONS));

/** A fresh centre admin key and its backup: { admin (non-extractable), backup, recoveryPhrase }. */
export const createAdminKey = guard(async (options = {}) => {
  const { iterations = MIN_ITERATIONS } = options;
  checkIterations(iterations);
  const recoveryPhrase = await phraseFor(options);
  const seed = await p.systemRandom(32);
  const { privateKey, publicKey } = await p.ed25519FromSeed(seed);
  const backup = await seal(ObjectType.ADMIN_BACKUP, seed, recoveryPhrase, iterations, p.systemRandom);
  return { admin: Object.freeze({ privateKey, public: publicKey }), backup, recoveryPhrase };
});

export async function importAdminWithFloor(blob, phrase, minIterations) {
  const plain = await open(ObjectType.ADMIN_BACKUP, blob, phrase, minIterations);
  const s = new Reader(plain);
  const seed = s.take(KEY_LEN);
  s.finish();
  const { privateKey, publicKey } = await p.ed25519FromSeed(seed);
  seed.fill(0);
  plain.fill(0);
  return Object.freeze({ privateKey, public: publicKey });
}

/** Open an admin backup with its recovery phrase; BAD_TAG means a wrong phrase or a tampered blob. */
export const importAdminBackup = guard(async (blob, phrase) => importAdminWithFloor(blob, phrase, MIN_ITERATIONS));

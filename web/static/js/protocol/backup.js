// Key backups sealed under a passphrase: staff identities and the centre admin's signing key.
// Raw private keys exist only inside the create/import functions; the keys returned are
// non-extractable CryptoKeys. The type byte (in the AEAD's associated data) keeps a staff
// backup from opening as an admin backup and vice versa (PROTOCOL.md §13).

import { readHeader } from "./certificates.js";
import { concat, Reader, utf8, Writer } from "./bytes.js";
import {
  AEAD_NONCE_LEN,
  ID_LEN,
  KEY_LEN,
  label,
  MAX_OBJECT,
  MAX_PASSPHRASE_BYTES,
  MAX_STATE_CIPHERTEXT,
  MIN_ITERATIONS,
  MIN_PASSPHRASE_CHARS,
  ObjectType,
  Role,
  SUITE,
  TAG_LEN,
  VERSION,
} from "./constants.js";
import { ErrorCode, fail, guard } from "./errors.js";
import { memberFromSeeds, staffSeedsWith } from "./identity.js";
import * as p from "./primitives.js";

const SALT_LEN = 16;

function passphraseBytes(passphrase) {
  if (typeof passphrase !== "string") fail(ErrorCode.MALFORMED);
  const data = utf8(passphrase.normalize("NFC"));
  if (data.length === 0 || data.length > MAX_PASSPHRASE_BYTES) fail(ErrorCode.MALFORMED);
  return data;
}

async function backupKey(passphrase, salt, iterations) {
  const master = await p.pbkdf2Sha256(passphraseBytes(passphrase), salt, iterations, 32);
  return p.hkdf(master, new Uint8Array(0), label("backup/key"), 32);
}

function checkStrength(passphrase, iterations) {
  if (typeof passphrase !== "string") fail(ErrorCode.MALFORMED);
  if (iterations < MIN_ITERATIONS || [...passphrase.normalize("NFC")].length < MIN_PASSPHRASE_CHARS) {
    fail(ErrorCode.WEAK_PARAMETERS);
  }
}

async function seal(type, plaintext, passphrase, iterations, rand) {
  const salt = await rand(SALT_LEN);
  const nonce = await rand(AEAD_NONCE_LEN);
  const head = new Writer().raw(new Uint8Array([VERSION, SUITE, type])).u32(iterations);
  const aad = head.fixed(salt, SALT_LEN).fixed(nonce, AEAD_NONCE_LEN).u32(plaintext.length + TAG_LEN).bytes();
  const sealed = await p.aeadSeal(await backupKey(passphrase, salt, iterations), nonce, plaintext, aad);
  plaintext.fill(0);
  return concat(aad, sealed);
}

async function open(type, blob, passphrase, minIterations) {
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
  if (iterations < minIterations) fail(ErrorCode.WEAK_PARAMETERS);
  return p.aeadOpen(await backupKey(passphrase, salt, iterations), nonce, ciphertext, aad);
}

export async function exportFromSeeds({ centreId, staffId, role }, kemSeed, sigSeed, passphrase, iterations, rand) {
  if (role !== Role.COUNSELLOR && role !== Role.INTERPRETER) fail(ErrorCode.MALFORMED);
  const w = new Writer().fixed(centreId, ID_LEN).fixed(staffId, ID_LEN).u8(role);
  const plaintext = w.fixed(kemSeed, KEY_LEN).fixed(sigSeed, KEY_LEN).bytes();
  return seal(ObjectType.STAFF_BACKUP, plaintext, passphrase, iterations, rand);
}

/**
 * Fresh long-term keys for a counsellor or interpreter, and their passphrase backup.
 * Returns { identity (non-extractable keys), backup (store on the server) }.
 */
export const createStaffIdentity = guard(async ({ centreId, staffId, role, passphrase, iterations = MIN_ITERATIONS }) => {
  checkStrength(passphrase, iterations);
  const { kemSeed, sigSeed } = await staffSeedsWith(role, p.systemRandom);
  const backup = await exportFromSeeds({ centreId, staffId, role }, kemSeed, sigSeed, passphrase, iterations, p.systemRandom);
  const identity = await memberFromSeeds(staffId, role, centreId, kemSeed, sigSeed);
  kemSeed.fill(0);
  sigSeed.fill(0);
  return { identity, backup };
});

export async function importWithFloor(blob, passphrase, minIterations) {
  const plain = await open(ObjectType.STAFF_BACKUP, blob, passphrase, minIterations);
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

/** Open a staff backup; BAD_TAG means a wrong passphrase (or a tampered blob). */
export const importStaffBackup = guard(async (blob, passphrase) => importWithFloor(blob, passphrase, MIN_ITERATIONS));

/** A fresh centre admin key and its backup: { admin (non-extractable), backup }. */
export const createAdminKey = guard(async ({ passphrase, iterations = MIN_ITERATIONS }) => {
  checkStrength(passphrase, iterations);
  const seed = await p.systemRandom(32);
  const { privateKey, publicKey } = await p.ed25519FromSeed(seed);
  const backup = await seal(ObjectType.ADMIN_BACKUP, seed, passphrase, iterations, p.systemRandom);
  return { admin: Object.freeze({ privateKey, public: publicKey }), backup };
});

export async function importAdminWithFloor(blob, passphrase, minIterations) {
  const plain = await open(ObjectType.ADMIN_BACKUP, blob, passphrase, minIterations);
  const s = new Reader(plain);
  const seed = s.take(KEY_LEN);
  s.finish();
  const { privateKey, publicKey } = await p.ed25519FromSeed(seed);
  seed.fill(0);
  plain.fill(0);
  return Object.freeze({ privateKey, public: publicKey });
}

/** Open an admin backup; BAD_TAG means a wrong passphrase (or a tampered blob). */
export const importAdminBackup = guard(async (blob, passphrase) => importAdminWithFloor(blob, passphrase, MIN_ITERATIONS));

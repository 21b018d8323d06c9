// Staff key backup: private keys sealed under a passphrase so staff can work from another device.
// The raw private keys exist only inside createStaffIdentity() and importStaffBackup();
// the identity returned holds non-extractable CryptoKeys.

import { readHeader } from "./certificates.js";
import { Reader, utf8, Writer } from "./bytes.js";
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
  const data = utf8(passphrase.normalize("NFC"));
  if (data.length === 0 || data.length > MAX_PASSPHRASE_BYTES) fail(ErrorCode.MALFORMED);
  return data;
}

async function backupKey(passphrase, salt, iterations) {
  const master = await p.pbkdf2Sha256(passphraseBytes(passphrase), salt, iterations, 32);
  return p.hkdf(master, new Uint8Array(0), label("backup/key"), 32);
}

export async function exportFromSeeds({ centreId, staffId, role }, kemSeed, sigSeed, passphrase, iterations, rand) {
  if (role !== Role.COUNSELLOR && role !== Role.INTERPRETER) fail(ErrorCode.MALFORMED);
  const salt = await rand(SALT_LEN);
  const nonce = await rand(AEAD_NONCE_LEN);
  const plaintext = new Writer().fixed(centreId, ID_LEN).fixed(staffId, ID_LEN).u8(role);
  const plain = plaintext.fixed(kemSeed, KEY_LEN).fixed(sigSeed, KEY_LEN).bytes();
  const head = new Writer().raw(new Uint8Array([VERSION, SUITE, ObjectType.STAFF_BACKUP])).u32(iterations);
  const aad = head.fixed(salt, SALT_LEN).fixed(nonce, AEAD_NONCE_LEN).u32(plain.length + TAG_LEN).bytes();
  const sealed = await p.aeadSeal(await backupKey(passphrase, salt, iterations), nonce, plain, aad);
  plain.fill(0);
  return new Writer().raw(aad).raw(sealed).bytes();
}

/**
 * Fresh long-term keys for a counsellor or interpreter, and their passphrase backup.
 * Returns { identity (non-extractable keys), backup (store on the server) }.
 */
export const createStaffIdentity = guard(async ({ centreId, staffId, role, passphrase, iterations = MIN_ITERATIONS }) => {
  if (iterations < MIN_ITERATIONS || [...passphrase.normalize("NFC")].length < MIN_PASSPHRASE_CHARS) {
    fail(ErrorCode.WEAK_PARAMETERS);
  }
  const { kemSeed, sigSeed } = await staffSeedsWith(role, p.systemRandom);
  const fields = { centreId, staffId, role };
  const backup = await exportFromSeeds(fields, kemSeed, sigSeed, passphrase, iterations, p.systemRandom);
  const identity = await memberFromSeeds(staffId, role, centreId, kemSeed, sigSeed);
  kemSeed.fill(0);
  sigSeed.fill(0);
  return { identity, backup };
});

export async function importWithFloor(blob, passphrase, minIterations) {
  if (blob.length > MAX_OBJECT) fail(ErrorCode.OVERSIZE);
  const r = new Reader(blob);
  readHeader(r, ObjectType.STAFF_BACKUP);
  const iterations = r.u32();
  const salt = r.take(SALT_LEN);
  const nonce = r.take(AEAD_NONCE_LEN);
  const ctLen = r.u32();
  if (ctLen > MAX_STATE_CIPHERTEXT) fail(ErrorCode.OVERSIZE);
  const aad = r.consumed();
  const ciphertext = r.take(ctLen);
  r.finish();
  if (iterations < minIterations) fail(ErrorCode.WEAK_PARAMETERS);
  const plain = await p.aeadOpen(await backupKey(passphrase, salt, iterations), nonce, ciphertext, aad);
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

/** Open a backup; BAD_TAG means a wrong passphrase (or a tampered blob). */
export const importStaffBackup = guard(async (blob, passphrase) => importWithFloor(blob, passphrase, MIN_ITERATIONS));

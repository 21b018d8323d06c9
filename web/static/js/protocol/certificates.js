// Directory entries (staff certificates) and the signed directory, issued by the centre admin.

import { ctEqual, equal, Reader, utf8, utf8Decode, Writer } from "./bytes.js";
import {
  ID_LEN,
  KEY_LEN,
  label,
  MAX_ANCHORS,
  MAX_CERTIFICATE,
  MAX_DIRECTORY_ENTRIES,
  MAX_NAME,
  MAX_OBJECT,
  ObjectType,
  Role,
  SIG_LEN,
  SUITE,
  VERSION,
} from "./constants.js";
import { ErrorCode, fail, guard } from "./errors.js";
import * as p from "./primitives.js";

export function readHeader(r, expected) {
  if (r.u8() !== VERSION) fail(ErrorCode.UNSUPPORTED_VERSION);
  if (r.u8() !== SUITE) fail(ErrorCode.UNSUPPORTED_SUITE);
  if (r.u8() !== expected) fail(ErrorCode.MALFORMED);
}

function decodeName(raw) {
  const name = utf8Decode(raw);
  for (const ch of name) {
    const c = ch.codePointAt(0);
    if (c < 0x20 || c === 0x7f) fail(ErrorCode.MALFORMED);
  }
  return name;
}

/** Structure only: no signature or validity check (see verifyCertificate). */
export function parseCertificate(data) {
  if (data.length > MAX_CERTIFICATE) fail(ErrorCode.OVERSIZE);
  const r = new Reader(data);
  readHeader(r, ObjectType.CERTIFICATE);
  const centreId = r.take(ID_LEN);
  const staffId = r.take(ID_LEN);
  const role = r.u8();
  if (role !== Role.COUNSELLOR && role !== Role.INTERPRETER) fail(ErrorCode.MALFORMED);
  const displayName = decodeName(r.opaque(1, MAX_NAME, 1));
  const kemPublic = r.take(KEY_LEN);
  const sigPublic = r.take(KEY_LEN);
  const notBefore = r.u64();
  const notAfter = r.u64();
  const issuer = r.take(KEY_LEN);
  const signature = r.take(SIG_LEN);
  r.finish();
  if (notAfter < notBefore) fail(ErrorCode.MALFORMED);
  return Object.freeze({
    centreId,
    staffId,
    role,
    displayName,
    kemPublic,
    sigPublic,
    notBefore: Number(notBefore),
    notAfter: Number(notAfter),
    notBeforeExact: notBefore,
    notAfterExact: notAfter,
    issuer,
    signature,
    raw: data.slice(),
  });
}

export function validAt(cert, when) {
  const t = BigInt(when);
  return cert.notBeforeExact <= t && t <= cert.notAfterExact;
}

export function checkAnchors(anchors) {
  if (!Array.isArray(anchors) || anchors.length < 1 || anchors.length > MAX_ANCHORS) fail(ErrorCode.MALFORMED);
  for (const a of anchors) if (!(a instanceof Uint8Array) || a.length !== KEY_LEN) fail(ErrorCode.MALFORMED);
  return anchors.map((a) => a.slice());
}

/** Issuer is a trust anchor, the signature verifies, and `when` (unless null) is in validity. */
export async function checkCertificate(cert, anchors, when) {
  if (!anchors.some((a) => ctEqual(a, cert.issuer))) fail(ErrorCode.BAD_CERTIFICATE);
  const tbs = cert.raw.slice(0, cert.raw.length - SIG_LEN);
  if (!(await p.ed25519Verify(cert.issuer, cert.signature, label("sig/certificate", tbs)))) {
    fail(ErrorCode.BAD_CERTIFICATE);
  }
  if (when !== null && !validAt(cert, when)) fail(ErrorCode.BAD_CERTIFICATE);
}

/** Parse and verify a certificate against the trust anchors at time `when` (unix seconds). */
export const verifyCertificate = guard(async (data, anchors, when) => {
  const cert = parseCertificate(data);
  await checkCertificate(cert, checkAnchors(anchors), when);
  return cert;
});

/** Issue the directory entry binding a staff member's id, role, name and public keys. */
export const certify = guard(async (admin, fields) => {
  const { centreId, staffId, role, displayName, kemPublic, sigPublic, notBefore, notAfter } = fields;
  const name = utf8(displayName);
  if (
    (role !== Role.COUNSELLOR && role !== Role.INTERPRETER) ||
    name.length < 1 ||
    name.length > MAX_NAME ||
    BigInt(notAfter) < BigInt(notBefore)
  ) {
    fail(ErrorCode.MALFORMED);
  }
  decodeName(name);
  const w = new Writer().raw(new Uint8Array([VERSION, SUITE, ObjectType.CERTIFICATE]));
  w.fixed(centreId, ID_LEN).fixed(staffId, ID_LEN).u8(role).opaque(name, 1);
  w.fixed(kemPublic, KEY_LEN).fixed(sigPublic, KEY_LEN).u64(notBefore).u64(notAfter);
  w.fixed(admin.public, KEY_LEN);
  const tbs = w.bytes();
  return new Writer().raw(tbs).raw(await p.ed25519Sign(admin.privateKey, label("sig/certificate", tbs))).bytes();
});

function compareBytes(a, b) {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/** Sign the complete current staff list; entries are sorted by staff id. */
export const signDirectory = guard(async (admin, { centreId, serial, issuedAt, expiresAt, certificates }) => {
  const parsed = certificates.map(parseCertificate).sort((a, b) => compareBytes(a.staffId, b.staffId));
  if (parsed.length > MAX_DIRECTORY_ENTRIES || BigInt(expiresAt) < BigInt(issuedAt)) fail(ErrorCode.MALFORMED);
  const w = new Writer().raw(new Uint8Array([VERSION, SUITE, ObjectType.DIRECTORY]));
  w.fixed(centreId, ID_LEN).u64(serial).u64(issuedAt).u64(expiresAt).u16(parsed.length);
  for (const c of parsed) w.opaque(c.raw, 2);
  w.fixed(admin.public, KEY_LEN);
  const tbs = w.bytes();
  return new Writer().raw(tbs).raw(await p.ed25519Sign(admin.privateKey, label("sig/directory", tbs))).bytes();
});

export function parseDirectory(data) {
  if (data.length > MAX_OBJECT) fail(ErrorCode.OVERSIZE);
  const r = new Reader(data);
  readHeader(r, ObjectType.DIRECTORY);
  const centreId = r.take(ID_LEN);
  const serial = r.u64();
  const issuedAt = r.u64();
  const expiresAt = r.u64();
  const count = r.u16();
  if (count > MAX_DIRECTORY_ENTRIES) fail(ErrorCode.OVERSIZE);
  const certificates = [];
  for (let i = 0; i < count; i++) certificates.push(parseCertificate(r.opaque(2, MAX_CERTIFICATE)));
  const issuer = r.take(KEY_LEN);
  const signature = r.take(SIG_LEN);
  r.finish();
  for (let i = 1; i < certificates.length; i++) {
    if (compareBytes(certificates[i - 1].staffId, certificates[i].staffId) >= 0) fail(ErrorCode.MALFORMED);
  }
  if (expiresAt < issuedAt) fail(ErrorCode.MALFORMED);
  return {
    centreId,
    serial: Number(serial),
    issuedAt: Number(issuedAt),
    expiresAt: Number(expiresAt),
    issuedAtExact: issuedAt,
    expiresAtExact: expiresAt,
    certificates,
    issuer,
    signature,
    raw: data.slice(),
  };
}

/**
 * Verify the directory signature and freshness, and every entry's issuer and signature. A client
 * that remembers the highest serial it has seen passes it as `minSerial`: an older edition, even
 * unexpired, is refused (BAD_CERTIFICATE).
 */
export const verifyDirectory = guard(async (data, anchors, now, minSerial = 0) => {
  const directory = parseDirectory(data);
  const trusted = checkAnchors(anchors);
  if (!trusted.some((a) => ctEqual(a, directory.issuer))) fail(ErrorCode.BAD_CERTIFICATE);
  const tbs = data.slice(0, data.length - SIG_LEN);
  if (!(await p.ed25519Verify(directory.issuer, directory.signature, label("sig/directory", tbs)))) {
    fail(ErrorCode.BAD_CERTIFICATE);
  }
  const t = BigInt(now);
  if (!(directory.issuedAtExact <= t && t <= directory.expiresAtExact) || directory.serial < minSerial) fail(ErrorCode.BAD_CERTIFICATE);
  for (const cert of directory.certificates) {
    if (!equal(cert.centreId, directory.centreId)) fail(ErrorCode.BAD_CERTIFICATE);
    await checkCertificate(cert, trusted, null);
  }
  return directory;
});

export { compareBytes };

// The sealed details of a booking (docs/BOOKING.md, "The sealed payload"): the note, the way
// to reach the visitor and the interpreter request, sealed in the visitor's browser to every
// counsellor in the admin-signed staff directory and opened only on a counsellor's device.
//
//   0x02 | n (u8, 1..64) | n × (staff_id[16] | enc[32] | sealed_key[48]) | nonce[12] | ciphertext
//
// The seal is bound to its booking: binding = reference (8 characters of Crockford base 32,
// upper case, no dash; chosen by the visitor's browser and sent with the booking) || 0x00 ||
// kind ("in_person", "phone", "video"). A random 32-byte content key K encrypts the UTF-8 JSON
// with AES-256-GCM, aad = "TRYGG-v1 booking" || 0x00 || binding; K is sealed to each counsellor
// with the protocol's HPKE (base mode, X25519, HKDF-SHA256, AES-256-GCM), info = "TRYGG-v1
// booking" || 0x00 || staff_id, aad = binding. So a server that moves sealed details to another
// booking, or changes a booking's kind, makes them unreadable (BAD_TAG) instead of misleading.
// Version 0x01 (before binding: constant aad, empty HPKE aad) is still opened, and says so.
// The JSON is padded with trailing spaces (still valid JSON) to 256, 1024, 4096 or 8192 bytes
// so the size of the ciphertext says little about how much was written.
// WebCrypto only; every failure is a ProtocolError, so callers can fail closed.

import * as hpke from "../protocol/hpke.js";
import { concat, ctEqual, utf8, utf8Decode } from "../protocol/bytes.js";
import { label, Role } from "../protocol/constants.js";
import { validAt, verifyDirectory } from "../protocol/certificates.js";
import { ErrorCode, fail, guard } from "../protocol/errors.js";
import * as p from "../protocol/primitives.js";

export const VERSION = 2;
export const UNBOUND_VERSION = 1; // opened (old bookings), never made
const REFERENCE = /^[0-9ABCDEFGHJKMNPQRSTVWXYZ]{8}$/;
const KINDS = new Set(["in_person", "phone", "video"]);
export const MAX_RECIPIENTS = 64;
export const MAX_PAYLOAD_BYTES = 16384;
const ID = 16;
const ENC = 32;
const SEALED_KEY = 32 + 16;
const NONCE = 12;
const TAG = 16;
const ENTRY = ID + ENC + SEALED_KEY;
const AAD = utf8("TRYGG-v1 booking");
const EMPTY = new Uint8Array(0);
const PAD_TO = [256, 1024, 4096, 8192];
const LANGS = new Set(["nb", "sv", "en"]);

function info(staffId) {
  return label("booking", staffId);
}

/** reference || 0x00 || kind, for a reference as shown ("K7M4-QX2P") or stored ("K7M4QX2P"). */
export function binding({ reference, kind } = {}) {
  const ref = typeof reference === "string" ? reference.toUpperCase().replace("-", "") : "";
  if (!REFERENCE.test(ref) || !KINDS.has(kind)) fail(ErrorCode.MALFORMED);
  return concat(utf8(ref), new Uint8Array([0]), utf8(kind));
}

const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/** A new booking reference (40 random bits), made before sealing so the seal can bind it. */
export async function newReference(rand = p.systemRandom) {
  const bytes = await rand(8);
  return [...bytes].map((b) => ALPHABET[b & 31]).join("");
}

function isText(value, max) {
  return typeof value === "string" && value.length <= max;
}

/** The plaintext's shape, checked before sealing and after opening (anything else: MALFORMED). */
export function checkPayload(value) {
  const ok =
    value !== null &&
    typeof value === "object" &&
    !Array.isArray(value) &&
    LANGS.has(value.lang) &&
    (value.note === undefined || isText(value.note, 4000)) &&
    (value.contact === undefined ||
      (value.contact !== null &&
        typeof value.contact === "object" &&
        (value.contact.phone === undefined || isText(value.contact.phone, 64)) &&
        (value.contact.email === undefined || isText(value.contact.email, 254)))) &&
    (value.interpreter === undefined ||
      (value.interpreter !== null &&
        typeof value.interpreter === "object" &&
        typeof value.interpreter.language === "string" &&
        /^[a-z]{2,3}$/.test(value.interpreter.language) &&
        (value.interpreter.dialect === undefined || isText(value.interpreter.dialect, 100)) &&
        ["in_person", "remote"].includes(value.interpreter.mode) &&
        (value.interpreter.gender === undefined || ["female", "male"].includes(value.interpreter.gender))));
  if (!ok) fail(ErrorCode.MALFORMED);
  return value;
}

function padded(text) {
  const bytes = utf8(text);
  const size = PAD_TO.find((n) => n >= bytes.length);
  if (size === undefined) fail(ErrorCode.OVERSIZE);
  return concat(bytes, new Uint8Array(size - bytes.length).fill(0x20));
}

export async function sealWith(payload, certificates, rand, booking) {
  const bound = binding(booking);
  const plaintext = padded(JSON.stringify(checkPayload(payload)));
  const recipients = [];
  for (const cert of certificates) {
    if (cert.role !== Role.COUNSELLOR) continue;
    if (cert.staffId.length !== ID || cert.kemPublic.length !== 32) fail(ErrorCode.MALFORMED);
    if (recipients.some((r) => ctEqual(r.staffId, cert.staffId))) continue;
    recipients.push(cert);
  }
  if (recipients.length === 0) fail(ErrorCode.NO_RECIPIENTS);
  if (recipients.length > MAX_RECIPIENTS) fail(ErrorCode.OVERSIZE);
  const key = await rand(32);
  const nonce = await rand(NONCE);
  const parts = [new Uint8Array([VERSION, recipients.length])];
  try {
    for (const r of recipients) {
      const { enc, ciphertext } = await hpke.seal(r.kemPublic, info(r.staffId), bound, key, rand);
      if (enc.length !== ENC || ciphertext.length !== SEALED_KEY) fail(ErrorCode.INTERNAL);
      parts.push(r.staffId, enc, ciphertext);
    }
    parts.push(nonce, await p.aeadSeal(key, nonce, plaintext, concat(AAD, new Uint8Array([0]), bound)));
  } finally {
    key.fill(0);
  }
  const blob = concat(...parts);
  if (blob.length > MAX_PAYLOAD_BYTES) fail(ErrorCode.OVERSIZE);
  return blob;
}

/**
 * Seal `payload` ({note?, contact?, interpreter?, lang}) to every counsellor among
 * `certificates` — the entries of a directory already checked with verifyDirectory — bound to
 * `booking` = {reference, kind}. Returns the bytes to send (base64url-encode them for the API).
 */
export const seal = guard(async (payload, certificates, booking) => sealWith(payload, certificates, p.systemRandom, booking));

/**
 * Verify the signed directory against the trust anchors (as GET /api/directory gives them,
 * decoded) and seal to every counsellor whose certificate is valid now.
 */
export const sealForDirectory = guard(async (payload, { directory, anchors, now, reference, kind }) => {
  const when = now ?? Math.floor(Date.now() / 1000);
  const verified = await verifyDirectory(directory, anchors, when);
  const current = verified.certificates.filter((c) => c.role === Role.COUNSELLOR && validAt(c, when));
  return sealWith(payload, current, p.systemRandom, { reference, kind });
});

/** The structure: {entries: [{staffId, enc, sealedKey}], nonce, ciphertext}; MALFORMED if wrong. */
export function parse(blob) {
  if (!(blob instanceof Uint8Array)) fail(ErrorCode.MALFORMED);
  if (blob.length > MAX_PAYLOAD_BYTES) fail(ErrorCode.OVERSIZE);
  if (blob.length < 2) fail(ErrorCode.TRUNCATED);
  if (blob[0] !== VERSION && blob[0] !== UNBOUND_VERSION) fail(ErrorCode.UNSUPPORTED_VERSION);
  const n = blob[1];
  if (n < 1 || n > MAX_RECIPIENTS) fail(ErrorCode.MALFORMED);
  const head = 2 + n * ENTRY;
  if (blob.length < head + NONCE + TAG) fail(ErrorCode.TRUNCATED);
  const entries = [];
  for (let i = 0; i < n; i++) {
    const at = 2 + i * ENTRY;
    entries.push({
      staffId: blob.slice(at, at + ID),
      enc: blob.slice(at + ID, at + ID + ENC),
      sealedKey: blob.slice(at + ID + ENC, at + ENTRY),
    });
  }
  return { version: blob[0], entries, nonce: blob.slice(head, head + NONCE), ciphertext: blob.slice(head + NONCE) };
}

/**
 * Open a sealed booking payload with a staff identity ({memberId, kemPrivate, kemPublic},
 * as the staff pages load it), for the booking it is stored with (`booking` = {reference,
 * kind}, as the server lists it). NOT_A_MEMBER if it was not sealed to this person; BAD_TAG if
 * anything was changed or it was sealed for another booking; MALFORMED if what opens is not a
 * booking payload. `sealVersion(blob)` tells an old, unbound seal (version 1) apart.
 */
export const open = guard(async (identity, blob, booking) => {
  const { version, entries, nonce, ciphertext } = parse(blob);
  const mine = entries.find((e) => ctEqual(e.staffId, identity.memberId));
  if (!mine) fail(ErrorCode.NOT_A_MEMBER);
  const bound = version === VERSION ? binding(booking) : EMPTY;
  const aad = version === VERSION ? concat(AAD, new Uint8Array([0]), bound) : AAD;
  const key = await hpke.open(mine.enc, identity.kemPrivate, identity.kemPublic, info(identity.memberId), bound, mine.sealedKey);
  if (key.length !== 32) fail(ErrorCode.BAD_TAG);
  let plain;
  try {
    plain = await p.aeadOpen(key, nonce, ciphertext, aad);
  } finally {
    key.fill(0);
  }
  let value;
  try {
    value = JSON.parse(utf8Decode(plain));
  } catch (error) {
    if (error?.name === "ProtocolError") throw error;
    fail(ErrorCode.MALFORMED);
  }
  return checkPayload(value);
});

/** 2 for a seal bound to its booking, 1 for an old one that is not. */
export function sealVersion(blob) {
  return parse(blob).version;
}

// Visitor resume codes: generation, typo-catching parsing, and the three values derived from them.
// A code is 18 Crockford base32 symbols of randomness (90 bits) plus 2 check symbols, shown as
// five groups of four: 7K3D-QW9M-2XHB-T4RN-0PF8.

import { ID_LEN, label, MIN_ITERATIONS } from "./constants.js";
import { utf8 } from "./bytes.js";
import { ErrorCode, fail, guard, guardSync } from "./errors.js";
import * as p from "./primitives.js";

export const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"; // Crockford: no I, L, O, U
const DATA_SYMBOLS = 18;
const CODE_SYMBOLS = 20;
const CHECK_MODULUS = 1021;
const ENTROPY_BYTES = 12;
const CONFUSABLE = { O: "0", I: "1", L: "1" };
const SEPARATORS = new Set([" ", "-", "\t", "\n", "\r", "\u00a0"]);

function checksum(values) {
  let total = 0;
  values.forEach((v, i) => {
    total += (i + 1) * v;
  });
  total %= CHECK_MODULUS;
  return [Math.floor(total / 32), total % 32];
}

/** Canonical (undashed) code from 12 random bytes; deterministic, used by vectors. */
export function codeFromEntropy(entropy) {
  if (entropy.length !== ENTROPY_BYTES) fail(ErrorCode.MALFORMED);
  let number = 0n;
  for (const b of entropy) number = (number << 8n) | BigInt(b);
  number >>= BigInt(ENTROPY_BYTES * 8 - DATA_SYMBOLS * 5);
  const values = [];
  for (let i = 0; i < DATA_SYMBOLS; i++) values.push(Number((number >> BigInt(5 * (DATA_SYMBOLS - 1 - i))) & 31n));
  return [...values, ...checksum(values)].map((v) => ALPHABET[v]).join("");
}

/**
 * Normalise what a person typed and check it locally, before any network call: case is
 * ignored, spaces and dashes dropped, O reads as 0 and I/L as 1.
 */
export const parseResumeCode = guardSync((text) => {
  if (typeof text !== "string" || [...text].length > 64) fail(ErrorCode.BAD_CODE_LENGTH);
  const kept = [...text].filter((c) => !SEPARATORS.has(c));
  if (kept.some((c) => c.codePointAt(0) > 0x7f)) fail(ErrorCode.BAD_CODE_CHARACTER);
  const symbols = kept.map((c) => CONFUSABLE[c.toUpperCase()] ?? c.toUpperCase());
  if (symbols.some((c) => !ALPHABET.includes(c))) fail(ErrorCode.BAD_CODE_CHARACTER);
  if (symbols.length !== CODE_SYMBOLS) fail(ErrorCode.BAD_CODE_LENGTH);
  const values = symbols.map((c) => ALPHABET.indexOf(c));
  const check = checksum(values.slice(0, DATA_SYMBOLS));
  if (values[18] !== check[0] || values[19] !== check[1]) fail(ErrorCode.BAD_CODE_CHECKSUM);
  return symbols.join("");
});

/** Groups of four separated by dashes, for display and for writing down. */
export const formatResumeCode = guardSync((code) => {
  const canonical = parseResumeCode(code);
  return canonical.match(/.{4}/g).join("-");
});

/** A fresh code (90 random bits), formatted for display. */
export const generateResumeCode = guardSync(() =>
  formatResumeCode(codeFromEntropy(globalThis.crypto.getRandomValues(new Uint8Array(ENTROPY_BYTES)))),
);

export async function deriveWithIterations(code, centreId, iterations) {
  if (!(centreId instanceof Uint8Array) || centreId.length !== ID_LEN || !(iterations >= 1)) fail(ErrorCode.MALFORMED);
  const canonical = parseResumeCode(code);
  const master = await p.pbkdf2Sha256(utf8(canonical), label("resume", centreId), iterations, 32);
  const empty = new Uint8Array(0);
  const keys = { lookupId: await p.hkdf(master, empty, label("resume/lookup"), 16), centreId: centreId.slice(), iterations };
  // The two secrets are non-enumerable, so logging or serialising the object does not show them.
  Object.defineProperty(keys, "accessVerifier", { value: await p.hkdf(master, empty, label("resume/verifier"), 32) });
  Object.defineProperty(keys, "stateKey", { value: await p.hkdf(master, empty, label("resume/state-key"), 32) });
  Object.defineProperty(keys, "toJSON", { value: () => "ResumeKeys(<secret>)" });
  return Object.freeze(keys);
}

/**
 * PBKDF2-SHA256 (600,000 iterations) over the canonical code, then three HKDF labels:
 * { lookupId (16 B, sent), accessVerifier (32 B, sent), stateKey (32 B, never sent) }.
 */
export const deriveResumeKeys = guard(async (code, centreId) => deriveWithIterations(code, centreId, MIN_ITERATIONS));

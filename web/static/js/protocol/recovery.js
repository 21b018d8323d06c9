// Recovery phrases: nine words from a fixed public list (BIP-39 English), generated, shown once,
// never chosen. Eight words carry 88 random bits (11 bits each, big-endian); the ninth is a check
// word: the top 11 bits of SHA-256(label("recovery/check", entropy)). The first four letters of a
// word are enough (every list word is fixed by them). PROTOCOL.md §13.2.

import { label } from "./constants.js";
import { ErrorCode, fail, guard } from "./errors.js";
import * as p from "./primitives.js";
import { WORDS } from "./wordlist.js";

const ENTROPY_BYTES = 11;
const DATA_WORDS = 8;
const PHRASE_WORDS = 9;
const MAX_PHRASE_CHARS = 256;
const PREFIX = 4;
const INDEX = new Map(WORDS.map((w, i) => [w, i]));
const BY_PREFIX = new Map(WORDS.filter((w) => w.length >= PREFIX).map((w) => [w.slice(0, PREFIX), w]));
const SEPARATORS = new Set([" ", "\t", "\r", "\n", "\u00a0", "-", ",", "."]);

async function checkWord(entropy) {
  const digest = await p.sha256(label("recovery/check", entropy));
  return ((digest[0] << 8) | digest[1]) >> 5;
}

/** Canonical phrase (nine words, single spaces) from 11 random bytes; used by vectors. */
export async function phraseFromEntropy(entropy) {
  if (!(entropy instanceof Uint8Array) || entropy.length !== ENTROPY_BYTES) fail(ErrorCode.MALFORMED);
  let number = 0n;
  for (const b of entropy) number = (number << 8n) | BigInt(b);
  const words = [];
  for (let i = 0; i < DATA_WORDS; i++) words.push(WORDS[Number((number >> BigInt(11 * (DATA_WORDS - 1 - i))) & 2047n)]);
  words.push(WORDS[await checkWord(entropy)]);
  return words.join(" ");
}

/** A fresh phrase (88 random bits + a check word), to be shown once and written down. */
export const generateRecoveryPhrase = guard(async () => phraseFromEntropy(await p.systemRandom(ENTROPY_BYTES)));

function word(token) {
  if (!/^[a-z]+$/.test(token)) fail(ErrorCode.BAD_CODE_CHARACTER);
  if (INDEX.has(token)) return token;
  const candidate = token.length >= PREFIX ? BY_PREFIX.get(token.slice(0, PREFIX)) : undefined;
  if (candidate && candidate.startsWith(token)) return candidate;
  return fail(ErrorCode.BAD_CODE_CHARACTER);
}

/** The 11 bytes a phrase encodes, after the checks of parseRecoveryPhrase. */
export async function recoveryEntropy(text) {
  if (typeof text !== "string" || [...text].length > MAX_PHRASE_CHARS) fail(ErrorCode.BAD_CODE_LENGTH);
  const spaced = [...text.toLowerCase()].map((c) => (SEPARATORS.has(c) ? " " : c)).join("");
  const words = spaced.split(" ").filter((t) => t.length > 0).map(word);
  if (words.length !== PHRASE_WORDS) fail(ErrorCode.BAD_CODE_LENGTH);
  let number = 0n;
  for (const w of words.slice(0, DATA_WORDS)) number = (number << 11n) | BigInt(INDEX.get(w));
  const entropy = new Uint8Array(ENTROPY_BYTES);
  for (let i = ENTROPY_BYTES - 1; i >= 0; i--) {
    entropy[i] = Number(number & 0xffn);
    number >>= 8n;
  }
  if (INDEX.get(words[DATA_WORDS]) !== (await checkWord(entropy))) fail(ErrorCode.BAD_CODE_CHECKSUM);
  return entropy;
}

/**
 * Normalise what a person typed (case, separators, four-letter prefixes) and check it locally:
 * BAD_CODE_CHARACTER (a word not on the list), BAD_CODE_LENGTH (not nine words),
 * BAD_CODE_CHECKSUM (the check word does not match).
 */
export const parseRecoveryPhrase = guard(async (text) => phraseFromEntropy(await recoveryEntropy(text)));

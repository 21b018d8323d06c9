// Safety numbers: short digit strings people can compare out of band (in person, by phone).

import { concat } from "./bytes.js";
import { HASH_LEN, ID_LEN, KEY_LEN, label } from "./constants.js";
import { ErrorCode, fail, guard } from "./errors.js";
import * as p from "./primitives.js";

/** 30 digits in six groups of five, from SHA-256 over the member id and both public keys. */
export const fingerprint = guard(async (memberId, sigPublic, kemPublic) => {
  if (memberId.length !== ID_LEN || sigPublic.length !== KEY_LEN || kemPublic.length !== KEY_LEN) {
    fail(ErrorCode.MALFORMED);
  }
  return digitGroups(await p.sha256(label("fingerprint", concat(memberId, sigPublic, kemPublic))), 6);
});

/** Groups of five digits: each 5-byte big-endian chunk of the digest mod 100000. */
export function digitGroups(digest, groups) {
  const out = [];
  for (let i = 0; i < groups; i++) {
    let n = 0n;
    for (const b of digest.slice(i * 5, i * 5 + 5)) n = (n << 8n) | BigInt(b);
    out.push((n % 100000n).toString().padStart(5, "0"));
  }
  return out.join(" ");
}

/** Both parties' fingerprints, lower first, so both screens show the same 60 digits. */
export function safetyNumber(a, b) {
  if (typeof a !== "string" || typeof b !== "string") fail(ErrorCode.MALFORMED);
  const [first, second] = a < b ? [a, b] : [b, a];
  return `${first} ${second}`;
}

function party([memberId, sigPublic, kemPublic]) {
  if (memberId.length !== ID_LEN || sigPublic.length !== KEY_LEN || kemPublic.length !== KEY_LEN) fail(ErrorCode.MALFORMED);
  return concat(memberId, sigPublic, kemPublic);
}

/**
 * Twenty digits in five groups of four that a visitor and one staff member read to each other by
 * phone: SHA-256 over the genesis hash and both parties' [memberId, sigPublic, kemPublic]; the
 * first 10 bytes of the digest, big-endian, mod 10^20 (about 66 bits).
 */
export const conversationCode = guard(async (genesisHash, visitor, staff) => {
  if (genesisHash.length !== HASH_LEN) fail(ErrorCode.MALFORMED);
  const digest = await p.sha256(label("conversation-code", concat(genesisHash, party(visitor), party(staff))));
  let n = 0n;
  for (const b of digest.slice(0, 10)) n = (n << 8n) | BigInt(b);
  const digits = (n % 10n ** 20n).toString().padStart(20, "0");
  return digits.match(/.{4}/g).join(" ");
});

// Safety numbers: short digit strings people can compare out of band (in person, by phone).

import { concat } from "./bytes.js";
import { ID_LEN, KEY_LEN, label } from "./constants.js";
import { ErrorCode, fail, guard } from "./errors.js";
import * as p from "./primitives.js";

/** 30 digits in six groups of five, from SHA-256 over the member id and both public keys. */
export const fingerprint = guard(async (memberId, sigPublic, kemPublic) => {
  if (memberId.length !== ID_LEN || sigPublic.length !== KEY_LEN || kemPublic.length !== KEY_LEN) {
    fail(ErrorCode.MALFORMED);
  }
  const digest = await p.sha256(label("fingerprint", concat(memberId, sigPublic, kemPublic)));
  const groups = [];
  for (let i = 0; i < 6; i++) {
    let n = 0n;
    for (const b of digest.slice(i * 5, i * 5 + 5)) n = (n << 8n) | BigInt(b);
    groups.push((n % 100000n).toString().padStart(5, "0"));
  }
  return groups.join(" ");
});

/** Both parties' fingerprints, lower first, so both screens show the same 60 digits. */
export function safetyNumber(a, b) {
  if (typeof a !== "string" || typeof b !== "string") fail(ErrorCode.MALFORMED);
  const [first, second] = a < b ? [a, b] : [b, a];
  return `${first} ${second}`;
}

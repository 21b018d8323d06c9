// Key holders: the centre admin (trust anchor), staff identities, and visitors' per-conversation keys.
// A LocalMember is { memberId, role, centreId, kemPrivate, sigPrivate, kemPublic, sigPublic };
// the two private keys are non-extractable CryptoKeys.

import { ID_LEN, Role } from "./constants.js";
import { ErrorCode, fail, guard } from "./errors.js";
import * as p from "./primitives.js";

export async function memberFromSeeds(memberId, role, centreId, kemSeed, sigSeed, extractable = false) {
  if (memberId.length !== ID_LEN || centreId.length !== ID_LEN) fail(ErrorCode.MALFORMED);
  const kem = await p.x25519FromSeed(kemSeed, extractable);
  const sig = await p.ed25519FromSeed(sigSeed, extractable);
  return Object.freeze({
    memberId,
    role,
    centreId,
    kemPrivate: kem.privateKey,
    sigPrivate: sig.privateKey,
    kemPublic: kem.publicKey,
    sigPublic: sig.publicKey,
  });
}

/** Rebuild a LocalMember from raw private keys (backups, visitor state, vectors). */
export const memberFromPrivateBytes = guard(async (memberId, role, centreId, kemPrivate, sigPrivate) =>
  memberFromSeeds(memberId, role, centreId, kemPrivate, sigPrivate),
);

export async function generateAdminKeyWith(rand) {
  const { privateKey, publicKey } = await p.ed25519FromSeed(await rand(32));
  return Object.freeze({ privateKey, public: publicKey });
}

/** A fresh centre admin signing key { privateKey (non-extractable), public }. */
export const generateAdminKey = guard(async () => generateAdminKeyWith(p.systemRandom));

export async function staffSeedsWith(role, rand) {
  if (role !== Role.COUNSELLOR && role !== Role.INTERPRETER) fail(ErrorCode.MALFORMED);
  return { kemSeed: await rand(32), sigSeed: await rand(32) };
}

export async function generateVisitorWith(centreId, rand, extractable = false) {
  const memberId = await rand(ID_LEN);
  return memberFromSeeds(memberId, Role.VISITOR, centreId, await rand(32), await rand(32), extractable);
}

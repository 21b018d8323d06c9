// Test-only entry points: injected randomness and PBKDF2 counts below the production floor.
// Nothing in the clients may import this module (the page import map does not list it).

import { concat, uint } from "./bytes.js";
import { guard } from "./errors.js";
import { exportFromSeeds, importWithFloor as importBackupWithFloor } from "./backup.js";
import { openGenesis } from "./conversation.js";
import { generateAdminKeyWith, memberFromSeeds } from "./identity.js";
import { deriveWithIterations } from "./resume.js";
import { createWith, importWithFloor as importStateWithFloor, resumeWith } from "./visitor.js";
import * as p from "./primitives.js";

/** SHA-256 in counter mode over a seed: the same stream as crypto.testing.DeterministicRandom. */
export function deterministicRandom(seed) {
  let current = seed;
  let counter = 0n;
  const rand = async (n) => {
    const blocks = [];
    let have = 0;
    while (have < n) {
      const block = await p.sha256(concat(current, uint(counter, 8)));
      counter += 1n;
      blocks.push(block);
      have += block.length;
    }
    return concat(...blocks).slice(0, n);
  };
  rand.reseed = (next) => {
    current = next;
    counter = 0n;
  };
  return rand;
}

export const generateAdminKeyFrom = guard(async (rand) => generateAdminKeyWith(rand));
export const adminKeyFromSeed = guard(async (seed) => {
  const { privateKey, publicKey } = await p.ed25519FromSeed(seed);
  return Object.freeze({ privateKey, public: publicKey });
});
export const createConversationWith = guard(async (options, rand) => createWith(options, rand));
export const openConversationWith = guard(async (me, genesis, anchors, rand) => openGenesis(me, genesis, anchors, rand));
export const resumeConversationWith = guard(async (state, genesis, rand) => resumeWith(state, genesis, rand));
export const deriveResumeKeysWithIterations = guard(async (code, centreId, iterations) =>
  deriveWithIterations(code, centreId, iterations),
);
export const importVisitorStateLowIterations = guard(async (blob, keys) => importStateWithFloor(blob, keys, 1));
export const importStaffBackupLowIterations = guard(async (blob, passphrase) => importBackupWithFloor(blob, passphrase, 1));
export const exportStaffBackupWith = guard(async (fields, kemSeed, sigSeed, passphrase, iterations, rand) =>
  exportFromSeeds(fields, kemSeed, sigSeed, passphrase, iterations, rand),
);
export const memberFromSeedsForTests = guard(async (memberId, role, centreId, kemSeed, sigSeed) =>
  memberFromSeeds(memberId, role, centreId, kemSeed, sigSeed),
);

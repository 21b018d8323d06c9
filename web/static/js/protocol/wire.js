// What the server may read and check without keys (PROTOCOL.md §11): routing fields, membership
// lists, the sender's signature and the claimed time of commits.

import { equal, toHex } from "./bytes.js";
import { validAt } from "./certificates.js";
import { MAX_CLOCK_SKEW, ObjectType } from "./constants.js";
import { ErrorCode, fail, guard } from "./errors.js";
import { messageHash, signatureInput } from "./keyschedule.js";
import { parseMessage } from "./messages.js";
import * as p from "./primitives.js";

const SIGNATURE_KIND = {
  [ObjectType.GENESIS]: "genesis",
  [ObjectType.COMMIT]: "commit",
  [ObjectType.APPLICATION]: "application",
  [ObjectType.HISTORY]: "history",
  [ObjectType.KEY_REQUEST]: "request",
};

async function routing(msg) {
  const env = msg.envelope;
  const isCommit = msg.kind === "commit";
  return Object.freeze({
    type: env.type,
    conversationId: env.conversationId,
    epoch: env.epoch,
    seq: env.seq,
    senderId: env.senderId,
    prevHash: env.prevHash,
    messageHash: await messageHash(msg.raw),
    members: isCommit ? msg.members.map((m) => [m.memberId, m.role]) : [],
    historyRecipient: msg.kind === "history" ? msg.recipientId : null,
    createdAt: isCommit ? Number(msg.createdAt) : null,
    directoryHash: isCommit ? msg.directoryHash : null,
    memberKeys: isCommit
      ? msg.members.map((m) => ({
          memberId: m.memberId,
          role: m.role,
          sigPublic: m.sigPublic,
          kemPublic: m.kemPublic,
          certificate: m.certificate ? m.certificate.raw : null,
        }))
      : [],
  });
}

/** Parse the structure (no signature or key check) and return the routing fields. */
export const peek = guard(async (data) => routing(parseMessage(data)));

/**
 * Check a message's signature against its sender's Ed25519 key as the server knows it from the
 * transcript (memberKeys of the genesis and commits); for a genesis the key is its own visitor
 * entry's and may be omitted. BAD_SIGNATURE means a forgery.
 */
export const verifySenderSignature = guard(async (data, sigPublic = null) => {
  const msg = parseMessage(data);
  let key = sigPublic;
  if (msg.envelope.type === ObjectType.GENESIS) {
    const own = msg.members.find((m) => equal(m.memberId, msg.envelope.senderId)).sigPublic;
    if (key !== null && !equal(key, own)) fail(ErrorCode.BAD_SIGNATURE);
    key = own;
  }
  if (key === null) fail(ErrorCode.MALFORMED);
  if (!(await p.ed25519Verify(key, msg.signature, signatureInput(SIGNATURE_KIND[msg.envelope.type], msg.tbs)))) {
    fail(ErrorCode.BAD_SIGNATURE);
  }
  return routing(msg);
});

/** Refuse a genesis or commit whose created_at is more than maxSkew seconds from `now` (BAD_TIME). */
export const checkClaimedTime = guard(async (data, now, maxSkew = MAX_CLOCK_SKEW) => {
  const msg = parseMessage(data);
  if (msg.kind === "commit") {
    const d = msg.createdAt - BigInt(now);
    if ((d < 0n ? -d : d) > BigInt(maxSkew)) fail(ErrorCode.BAD_TIME);
  }
  return routing(msg);
});

/**
 * Server side: refuse a commit (or genesis) that lists a staff member who is not in the centre's
 * current verified `directory` byte for byte, or not valid at `now` (BAD_CERTIFICATE); the same
 * rule live receivers apply (PROTOCOL.md §8.2 rule 10). Other types pass.
 */
export const checkListedMembers = guard(async (data, directory, now) => {
  const msg = parseMessage(data);
  if (msg.kind === "commit") {
    const t = BigInt(now);
    if (!(directory.issuedAtExact <= t && t <= directory.expiresAtExact)) fail(ErrorCode.BAD_CERTIFICATE);
    const listed = new Set(directory.certificates.map((c) => toHex(c.raw)));
    for (const m of msg.members) {
      const cert = m.certificate;
      if (cert && (!listed.has(toHex(cert.raw)) || !equal(cert.centreId, directory.centreId) || !validAt(cert, now))) {
        fail(ErrorCode.BAD_CERTIFICATE);
      }
    }
  }
  return routing(msg);
});

// What the server may read without keys: routing fields and membership lists (PROTOCOL.md §11).

import { guard } from "./errors.js";
import { messageHash } from "./keyschedule.js";
import { parseMessage } from "./messages.js";

/** Parse the structure (no signature or key check) and return the routing fields. */
export const peek = guard(async (data) => {
  const msg = parseMessage(data);
  const env = msg.envelope;
  return Object.freeze({
    type: env.type,
    conversationId: env.conversationId,
    epoch: env.epoch,
    seq: env.seq,
    senderId: env.senderId,
    prevHash: env.prevHash,
    messageHash: await messageHash(msg.raw),
    members: msg.kind === "commit" ? msg.members.map((m) => [m.memberId, m.role]) : [],
    historyRecipient: msg.kind === "history" ? msg.recipientId : null,
  });
});

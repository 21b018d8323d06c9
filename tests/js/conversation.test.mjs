// Every receiver replays the shared conversation; every negative case fails with exactly the
// documented code and leaves the state unchanged; every message rebuilds byte for byte.

import assert from "node:assert/strict";
import { test } from "node:test";

import { b64decode, concat, toHex } from "../../web/static/js/protocol/bytes.js";
import { memberFromPrivateBytes, openConversation, peek } from "../../web/static/js/protocol.js";
import { createConversationWith, deterministicRandom, openConversationWith } from "../../web/static/js/protocol/testing.js";
import { errorOf, h, load } from "./helpers.mjs";

const DOC = load("conversation.json");
const ANCHORS = DOC.anchors_hex.map(h);
const TRANSCRIPT = DOC.transcript.map((m) => b64decode(m.message_b64url));

async function member(name) {
  const r = DOC.receivers[name];
  const m = await memberFromPrivateBytes(h(r.member_id_hex), r.role, h(r.centre_id_hex), h(r.kem_private_hex), h(r.sig_private_hex));
  assert.equal(toHex(m.kemPublic), r.kem_public_hex);
  assert.equal(toHex(m.sigPublic), r.sig_public_hex);
  return m;
}

async function replay(name, prefix) {
  const conv = await openConversation(await member(name), TRANSCRIPT[0], ANCHORS);
  for (const data of TRANSCRIPT.slice(1, prefix)) await conv.receive(data);
  return conv;
}

const snapshot = (c) => [c.nextSeq, toHex(c.lastHash), c.epoch, c.knownEpochs().join(",")].join("|");

for (const name of Object.keys(DOC.receivers)) {
  test(`transcript as ${name}`, async () => {
    const conv = await openConversation(await member(name), TRANSCRIPT[0], ANCHORS);
    assert.equal(conv.canRead, DOC.transcript[0].readable[name]);
    for (const [i, entry] of DOC.transcript.entries()) {
      if (i === 0) continue;
      const r = await conv.receive(TRANSCRIPT[i]);
      assert.equal(r.kind, entry.kind, `seq ${i}`);
      assert.equal(r.seq, entry.seq);
      assert.equal(r.epoch, entry.epoch);
      assert.equal(toHex(r.senderId), entry.sender_id_hex);
      assert.equal(r.senderRole, entry.sender_role);
      assert.deepEqual(r.added.map(toHex), entry.added_hex);
      assert.deepEqual(r.removed.map(toHex), entry.removed_hex);
      assert.equal(r.historyRecipient ? toHex(r.historyRecipient) : null, entry.history_recipient_hex);
      assert.deepEqual(r.historyEpochs, entry.history_epochs);
      assert.equal(r.readable, entry.readable[name], `seq ${i} readable`);
      if (r.kind === "application" && r.readable) {
        assert.equal(r.contentType, entry.content_type);
        assert.equal(toHex(r.body), entry.body_hex);
      } else {
        assert.equal(r.body, null);
      }
    }
  });
}

test("routing fields the server reads", async () => {
  for (const entry of DOC.transcript) {
    const r = await peek(b64decode(entry.message_b64url));
    const want = entry.routing;
    assert.equal(r.type, want.type);
    assert.equal(toHex(r.conversationId), want.conversation_id_hex);
    assert.equal(r.epoch, want.epoch);
    assert.equal(r.seq, want.seq);
    assert.equal(toHex(r.senderId), want.sender_id_hex);
    assert.equal(toHex(r.prevHash), want.prev_hash_hex);
    assert.equal(toHex(r.messageHash), want.message_hash_hex);
    assert.deepEqual(r.members.map(([id, role]) => [toHex(id), role]), want.members);
    assert.equal(r.historyRecipient ? toHex(r.historyRecipient) : null, want.history_recipient_hex);
  }
});

test("every negative case is rejected with its code and changes nothing", async () => {
  for (const c of DOC.cases) {
    const conv = await replay(c.receiver, c.prefix);
    const before = snapshot(conv);
    const data = concat(b64decode(c.message_b64url), new Uint8Array(c.append_zero_bytes ?? 0));
    assert.equal(await errorOf(() => conv.receive(data)), c.error, c.id);
    assert.equal(snapshot(conv), before, c.id);
    await conv.receive(TRANSCRIPT[c.prefix]);
  }
});

test("genesis rejections", async () => {
  for (const c of DOC.genesis_cases) {
    const me = await member(c.receiver);
    assert.equal(await errorOf(() => openConversation(me, b64decode(c.genesis_b64url), ANCHORS)), c.error, c.id);
  }
});

test("history: decryptPast after a bundle", async () => {
  for (const c of DOC.past_cases) {
    const conv = await replay(c.receiver, c.prefix);
    const data = TRANSCRIPT[c.message_index];
    if (c.result === "invalid") {
      assert.equal(await errorOf(() => conv.decryptPast(data)), c.error, c.id);
    } else {
      const r = await conv.decryptPast(data);
      assert.equal(r.contentType, c.content_type);
      assert.equal(toHex(r.body), c.body_hex);
    }
  }
});

test("every transcript message rebuilds byte for byte from its seed (Node: deterministic Ed25519)", async () => {
  let parties = {};
  for (const [i, entry] of DOC.transcript.entries()) {
    const b = entry.build;
    const rand = deterministicRandom(h(b.rand_seed_hex));
    if (b.op === "create") {
      const created = await createConversationWith({ directory: h(DOC.directory_hex), anchors: ANCHORS, now: b.now }, rand);
      assert.equal(toHex(created.genesis), toHex(TRANSCRIPT[0]));
      for (const name of Object.keys(DOC.receivers)) {
        parties[name] = await openConversationWith(await member(name), TRANSCRIPT[0], ANCHORS, deterministicRandom(new Uint8Array(0)));
      }
      continue;
    }
    const conv = parties[b.party];
    conv._rand = rand;
    let built;
    if (b.op === "encrypt") built = await conv.encrypt(b.content_type, h(b.body_hex));
    else if (b.op === "claim") built = await conv.claim(b.now);
    else if (b.op === "add_member") built = await conv.addMember(h(DOC.certificates_hex[b.certificate_of]), b.now);
    else if (b.op === "remove_member") built = await conv.removeMember(h(DOC.receivers[b.member].member_id_hex), b.now);
    else built = await conv.shareHistory(h(DOC.receivers[b.recipient].member_id_hex), b.epochs);
    assert.equal(toHex(built), toHex(TRANSCRIPT[i]), `seq ${i}`);
    for (const c of Object.values(parties)) await c.receive(built);
  }
});

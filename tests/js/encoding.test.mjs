// Strict base64url, padding buckets and every key-schedule known answer.

import assert from "node:assert/strict";
import { test } from "node:test";

import { b64decode, b64encode, toHex } from "../../web/static/js/protocol/bytes.js";
import { label } from "../../web/static/js/protocol/constants.js";
import { confirmation, historyInfo, messageKey, signatureInput, wrapInfo } from "../../web/static/js/protocol/keyschedule.js";
import { pad, unpad } from "../../web/static/js/protocol/padding.js";
import { sha256 } from "../../web/static/js/protocol/primitives.js";
import { errorOf, h, load } from "./helpers.mjs";

test("base64url vectors", async () => {
  for (const c of load("encoding.json").cases) {
    if (c.result === "valid") {
      assert.equal(toHex(b64decode(c.text)), c.bytes_hex, c.id);
      assert.equal(b64encode(h(c.bytes_hex)), c.text, c.id);
    } else {
      assert.equal(await errorOf(() => b64decode(c.text)), c.error, c.id);
    }
  }
  assert.equal(await errorOf(() => b64decode("A".repeat(20), 8)), "oversize");
});

test("padding vectors", async () => {
  for (const c of load("padding.json").cases) {
    if (c.kind === "pad") {
      const body = new Uint8Array(c.body_len).fill(parseInt(c.body_byte_hex, 16));
      if (c.result === "invalid") {
        assert.equal(await errorOf(() => pad(c.content_type, body)), c.error, c.id);
        continue;
      }
      const padded = pad(c.content_type, body);
      assert.equal(padded.length, c.padded_len, c.id);
      assert.equal(toHex(await sha256(padded)), c.padded_sha256_hex, c.id);
      if (c.padded_hex) assert.equal(toHex(padded), c.padded_hex, c.id);
      const back = unpad(padded);
      assert.equal(back.contentType, c.content_type);
      assert.equal(back.body.length, c.body_len);
    } else if (c.result === "valid") {
      const back = unpad(h(c.padded_hex));
      assert.equal(back.contentType, c.content_type);
      assert.equal(toHex(back.body), c.body_hex);
    } else {
      assert.equal(await errorOf(() => unpad(h(c.padded_hex))), c.error, c.id);
    }
  }
});

test("key schedule vectors", async () => {
  for (const c of load("key_schedule.json").cases) {
    if (c.kind === "message_key") {
      const { key, nonce } = await messageKey(h(c.epoch_secret_hex), h(c.key_nonce_hex), h(c.aad_hex));
      assert.equal(toHex(key), c.key_hex, c.id);
      assert.equal(toHex(nonce), c.nonce_hex, c.id);
    } else if (c.kind === "confirmation") {
      const hash = await sha256(h(c.confirm_input_hex));
      assert.equal(toHex(hash), c.confirm_hash_hex);
      assert.equal(toHex(await confirmation(h(c.epoch_secret_hex), hash)), c.confirmation_hex, c.id);
    } else if (c.kind === "wrap_info") {
      const info = wrapInfo(h(c.conversation_id_hex), c.epoch, h(c.sender_id_hex), h(c.recipient_id_hex));
      assert.equal(toHex(info), c.info_hex);
    } else if (c.kind === "history_info") {
      assert.equal(toHex(historyInfo(h(c.info_context_hex))), c.info_hex);
    } else if (c.kind === "label") {
      assert.equal(toHex(label(c.name, h(c.context_hex))), c.label_hex, c.id);
    } else if (c.kind === "signature_input") {
      assert.equal(toHex(signatureInput(c.name, h(c.tbs_hex))), c.input_hex);
    } else {
      assert.fail(`unknown kind ${c.kind}`);
    }
  }
});

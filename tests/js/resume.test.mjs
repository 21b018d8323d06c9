// Resume codes, the visitor state they unlock, staff backups and fingerprints.

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  b64decode,
  fingerprint,
  formatResumeCode,
  generateResumeCode,
  importStaffBackup,
  importVisitorState,
  parseResumeCode,
  safetyNumber,
  toHex,
} from "../../web/static/js/protocol.js";
import { ALPHABET, codeFromEntropy } from "../../web/static/js/protocol/resume.js";
import {
  deriveResumeKeysWithIterations,
  importStaffBackupLowIterations,
  importVisitorStateLowIterations,
} from "../../web/static/js/protocol/testing.js";
import { errorOf, h, load } from "./helpers.mjs";

test("resume code vectors", async () => {
  for (const c of load("resume_code.json").cases) {
    if (c.kind === "generate") {
      assert.equal(codeFromEntropy(h(c.entropy_hex)), c.code, c.id);
      assert.equal(formatResumeCode(c.code), c.formatted);
    } else if (c.kind === "parse") {
      if (c.result === "valid") assert.equal(parseResumeCode(c.input), c.code, c.id);
      else assert.equal(await errorOf(() => parseResumeCode(c.input)), c.error, c.id);
    } else {
      const keys = await deriveResumeKeysWithIterations(c.code, h(c.centre_id_hex), c.iterations);
      assert.equal(toHex(keys.lookupId), c.lookup_id_hex, c.id);
      assert.equal(toHex(keys.accessVerifier), c.access_verifier_hex, c.id);
      assert.equal(toHex(keys.stateKey), c.state_key_hex, c.id);
      assert.ok(!JSON.stringify(keys).includes(c.state_key_hex));
    }
  }
});

test("generated codes parse, and every single typo is caught", async () => {
  for (let i = 0; i < 50; i++) assert.equal(parseResumeCode(generateResumeCode()).length, 20);
  const code = codeFromEntropy(h("0123456789abcdef01234567"));
  for (let i = 0; i < 20; i++) {
    for (const s of ALPHABET) {
      if (s === code[i]) continue;
      assert.equal(await errorOf(() => parseResumeCode(code.slice(0, i) + s + code.slice(i + 1))), "bad_code_checksum");
    }
  }
});

test("visitor state vectors", async () => {
  for (const c of load("visitor_state.json").cases) {
    const keys = await deriveResumeKeysWithIterations(c.code, h(c.centre_id_hex), c.iterations);
    const blob = b64decode(c.state_b64url);
    const importer = c.floor === "production" ? importVisitorState : importVisitorStateLowIterations;
    if (c.result === "invalid") {
      assert.equal(await errorOf(() => importer(blob, keys)), c.error, c.id);
      continue;
    }
    const state = await importer(blob, keys);
    assert.equal(toHex(state.conversationId), c.conversation_id_hex);
    assert.equal(toHex(state.me.memberId), c.member_id_hex);
    assert.equal(toHex(state.me.kemPublic), c.kem_public_hex);
    assert.equal(toHex(state.me.sigPublic), c.sig_public_hex);
    assert.equal(toHex(state.genesisHash), c.genesis_hash_hex);
    assert.deepEqual(state.anchors.map(toHex), c.anchors_hex);
    assert.equal(state.me.kemPrivate.extractable, false);
    assert.equal(state.me.sigPrivate.extractable, false);
  }
});

test("staff backup vectors", async () => {
  for (const c of load("staff_backup.json").cases.filter((x) => x.kind === "import")) {
    const blob = b64decode(c.backup_b64url);
    const importer = c.floor === "production" ? importStaffBackup : importStaffBackupLowIterations;
    if (c.result === "invalid") {
      assert.equal(await errorOf(() => importer(blob, c.passphrase)), c.error, c.id);
      continue;
    }
    const m = await importer(blob, c.passphrase);
    assert.equal(toHex(m.memberId), c.member_id_hex);
    assert.equal(toHex(m.centreId), c.centre_id_hex);
    assert.equal(m.role, c.role);
    assert.equal(toHex(m.kemPublic), c.kem_public_hex);
    assert.equal(toHex(m.sigPublic), c.sig_public_hex);
    assert.equal(m.kemPrivate.extractable, false);
  }
});

test("fingerprint vectors", async () => {
  for (const c of load("fingerprint.json").cases) {
    if (c.kind === "safety_number") {
      assert.equal(safetyNumber(c.a, c.b), c.safety_number);
      assert.equal(safetyNumber(c.b, c.a), c.safety_number);
    } else if (c.result === "invalid") {
      assert.equal(await errorOf(() => fingerprint(h(c.member_id_hex), h(c.sig_public_hex), h(c.kem_public_hex))), c.error);
    } else {
      assert.equal(await fingerprint(h(c.member_id_hex), h(c.sig_public_hex), h(c.kem_public_hex)), c.fingerprint, c.id);
    }
  }
});

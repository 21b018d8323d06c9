// The suite-1 primitives and HPKE against RFC 7748 / 8032 / 9180 and Wycheproof.

import assert from "node:assert/strict";
import { test } from "node:test";

import * as hpke from "../../web/static/js/protocol/hpke.js";
import * as p from "../../web/static/js/protocol/primitives.js";
import { toHex } from "../../web/static/js/protocol/bytes.js";
import { errorOf, h, load } from "./helpers.mjs";

test("RFC 7748 §6.1 X25519", async () => {
  for (const c of load("rfc7748_x25519.json").cases) {
    const alice = await p.x25519FromSeed(h(c.alice_private_hex));
    const bob = await p.x25519FromSeed(h(c.bob_private_hex));
    assert.equal(toHex(alice.publicKey), c.alice_public_hex);
    assert.equal(toHex(bob.publicKey), c.bob_public_hex);
    assert.equal(toHex(await p.x25519(alice.privateKey, bob.publicKey)), c.shared_hex);
    assert.equal(toHex(await p.x25519(bob.privateKey, alice.publicKey)), c.shared_hex);
  }
});

test("Wycheproof X25519", async () => {
  for (const c of load("wycheproof_x25519.json").cases) {
    const { privateKey } = await p.x25519FromSeed(h(c.private_hex));
    let shared = null;
    try {
      shared = toHex(await p.x25519(privateKey, h(c.public_hex)));
    } catch {
      shared = null;
    }
    if (c.result === "valid") assert.equal(shared, c.shared_hex, c.id);
    else assert.equal(shared, null, c.id);
  }
});

test("RFC 8032 §7.1 Ed25519 (deterministic signing in Node and Chromium)", async () => {
  for (const c of load("rfc8032_ed25519.json").cases) {
    const key = await p.ed25519FromSeed(h(c.secret_hex));
    assert.equal(toHex(key.publicKey), c.public_hex);
    assert.equal(toHex(await p.ed25519Sign(key.privateKey, h(c.msg_hex))), c.sig_hex);
    assert.ok(await p.ed25519Verify(h(c.public_hex), h(c.sig_hex), h(c.msg_hex)));
  }
});

test("Wycheproof Ed25519 verification", async () => {
  for (const c of load("wycheproof_ed25519.json").cases) {
    const ok = await p.ed25519Verify(h(c.public_hex), h(c.sig_hex), h(c.msg_hex));
    assert.equal(ok, c.result === "valid", c.id);
  }
});

test("Wycheproof HKDF-SHA256 (RFC 5869 cases included), both HKDF paths", async () => {
  for (const c of load("wycheproof_hkdf_sha256.json").cases) {
    if (c.result === "valid") {
      assert.equal(toHex(await p.hkdf(h(c.ikm_hex), h(c.salt_hex), h(c.info_hex), c.size)), c.okm_hex, c.id);
      const prk = await p.hkdfExtract(h(c.salt_hex), h(c.ikm_hex));
      assert.equal(toHex(await p.hkdfExpand(prk, h(c.info_hex), c.size)), c.okm_hex, c.id);
    } else {
      assert.equal(await errorOf(() => p.hkdf(h(c.ikm_hex), h(c.salt_hex), h(c.info_hex), c.size)), "malformed");
    }
  }
});

test("Wycheproof AES-256-GCM", async () => {
  for (const c of load("wycheproof_aes256gcm.json").cases) {
    const sealed = toHex(h(c.ct_hex)) + c.tag_hex;
    if (c.result === "valid") {
      assert.equal(toHex(await p.aeadSeal(h(c.key_hex), h(c.iv_hex), h(c.msg_hex), h(c.aad_hex))), sealed, c.id);
      assert.equal(toHex(await p.aeadOpen(h(c.key_hex), h(c.iv_hex), h(sealed), h(c.aad_hex))), c.msg_hex, c.id);
    } else {
      assert.equal(await errorOf(() => p.aeadOpen(h(c.key_hex), h(c.iv_hex), h(sealed), h(c.aad_hex))), "bad_tag", c.id);
    }
  }
});

test("Wycheproof PBKDF2-HMAC-SHA256", async () => {
  for (const c of load("wycheproof_pbkdf2_sha256.json").cases) {
    const dk = await p.pbkdf2Sha256(h(c.password_hex), h(c.salt_hex), c.iterations, c.dk_len);
    assert.equal(toHex(dk), c.dk_hex, c.id);
  }
});

test("RFC 9180 HPKE base mode, X25519 / HKDF-SHA256 / AES-256-GCM", async () => {
  for (const c of load("rfc9180_hpke.json").cases) {
    const { sharedSecret, enc } = await hpke.encap(h(c.pkRm_hex), h(c.skEm_hex));
    assert.equal(toHex(enc), c.enc_hex);
    assert.equal(toHex(sharedSecret), c.shared_secret_hex);
    const recipient = await p.x25519FromSeed(h(c.skRm_hex));
    assert.equal(toHex(recipient.publicKey), c.pkRm_hex);
    assert.equal(toHex(await hpke.decap(enc, recipient.privateKey, recipient.publicKey)), c.shared_secret_hex);
    const ks = await hpke.keySchedule(sharedSecret, h(c.info_hex));
    assert.equal(toHex(ks.keyScheduleContext), c.key_schedule_context_hex);
    assert.equal(toHex(ks.secret), c.secret_hex);
    assert.equal(toHex(ks.key), c.key_hex);
    assert.equal(toHex(ks.baseNonce), c.base_nonce_hex);
    assert.equal(toHex(ks.exporterSecret), c.exporter_secret_hex);
    for (const e of c.encryptions) {
      const nonce = ks.baseNonce.slice();
      nonce[11] ^= e.seq; // seq < 256 here
      assert.equal(toHex(nonce), e.nonce_hex);
      assert.equal(toHex(await p.aeadSeal(ks.key, nonce, h(e.pt_hex), h(e.aad_hex))), e.ct_hex);
    }
    const first = c.encryptions[0];
    const opened = await hpke.open(enc, recipient.privateKey, recipient.publicKey, h(c.info_hex), h(first.aad_hex), h(first.ct_hex));
    assert.equal(toHex(opened), first.pt_hex);
  }
});

test("HPKE wrap vectors: seal known answers and rejected opens", async () => {
  for (const c of load("hpke_wrap.json").cases) {
    const recipient = await p.x25519FromSeed(h(c.recipient_private_hex));
    if (c.kind === "seal") {
      const eph = h(c.ephemeral_private_hex);
      const sealed = await hpke.seal(h(c.recipient_public_hex), h(c.info_hex), new Uint8Array(0), h(c.pt_hex), async () => eph);
      assert.equal(toHex(sealed.enc), c.enc_hex, c.id);
      assert.equal(toHex(sealed.ciphertext), c.ct_hex, c.id);
      const pt = await hpke.open(sealed.enc, recipient.privateKey, recipient.publicKey, h(c.info_hex), new Uint8Array(0), sealed.ciphertext);
      assert.equal(toHex(pt), c.pt_hex);
    } else {
      const code = await errorOf(() =>
        hpke.open(h(c.enc_hex), recipient.privateKey, recipient.publicKey, h(c.info_hex), new Uint8Array(0), h(c.ct_hex)),
      );
      assert.equal(code, c.error, c.id);
    }
  }
});

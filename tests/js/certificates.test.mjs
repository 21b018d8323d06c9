// Certificates and the signed directory.

import assert from "node:assert/strict";
import { test } from "node:test";

import { certify, toHex, verifyCertificate, verifyDirectory } from "../../web/static/js/protocol.js";
import { adminKeyFromSeed } from "../../web/static/js/protocol/testing.js";
import { errorOf, h, load } from "./helpers.mjs";

test("certificates are issued byte for byte like Python's (deterministic Ed25519)", async () => {
  for (const c of load("certificates.json").cases.filter((x) => x.kind === "certify")) {
    const admin = await adminKeyFromSeed(h(c.admin_secret_hex));
    const cert = await certify(admin, {
      centreId: h(c.centre_id_hex),
      staffId: h(c.staff_id_hex),
      role: c.role,
      displayName: c.display_name,
      kemPublic: h(c.kem_public_hex),
      sigPublic: h(c.sig_public_hex),
      notBefore: c.not_before,
      notAfter: c.not_after,
    });
    assert.equal(toHex(cert), c.certificate_hex, c.id);
  }
});

test("certificate verification vectors", async () => {
  for (const c of load("certificates.json").cases.filter((x) => x.kind === "verify")) {
    const anchors = c.anchors_hex.map(h);
    if (c.result === "invalid") {
      assert.equal(await errorOf(() => verifyCertificate(h(c.certificate_hex), anchors, c.at)), c.error, c.id);
      continue;
    }
    const cert = await verifyCertificate(h(c.certificate_hex), anchors, c.at);
    assert.equal(toHex(cert.centreId), c.centre_id_hex);
    assert.equal(toHex(cert.staffId), c.staff_id_hex);
    assert.equal(cert.role, c.role);
    assert.equal(cert.displayName, c.display_name);
    assert.equal(cert.notBefore, c.not_before);
    assert.equal(cert.notAfter, c.not_after);
    assert.equal(toHex(cert.issuer), c.issuer_hex);
  }
});

test("directory vectors", async () => {
  for (const c of load("directory.json").cases) {
    const anchors = c.anchors_hex.map(h);
    if (c.result === "invalid") {
      assert.equal(await errorOf(() => verifyDirectory(h(c.directory_hex), anchors, c.now)), c.error, c.id);
      continue;
    }
    const d = await verifyDirectory(h(c.directory_hex), anchors, c.now);
    assert.equal(toHex(d.centreId), c.centre_id_hex);
    assert.equal(d.serial, c.serial);
    assert.deepEqual(d.certificates.map((x) => toHex(x.staffId)), c.staff_ids_hex);
  }
});

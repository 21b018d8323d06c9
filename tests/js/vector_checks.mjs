// Checks of every shared vector file against protocol.js, written without static imports so the
// same code runs under `node --test` (tests/js/vectors.test.mjs) and inside a real Chromium page
// (tests/browser/test_protocol_interop.py evaluates this file's text there).
// Each check throws an Error naming the case on the first mismatch.

/** The protocol modules, loaded by dynamic import from `base` (a file URL or "/static/js/"). */
export async function importModules(base) {
  const names = [
    "bytes",
    "constants",
    "hpke",
    "keyschedule",
    "padding",
    "primitives",
    "resume",
    "conversation",
    "identity",
    "visitor",
    "backup",
    "trust",
    "log",
    "recovery",
    "wordlist",
  ];
  const m = { P: await import(`${base}protocol.js`) };
  for (const name of names) m[name] = await import(`${base}protocol/${name}.js`);
  return m;
}

/** Test-only helpers over internal entry points: injected randomness and low PBKDF2 counts. */
export function makeTesting(m) {
  const { concat, uint } = m.bytes;
  function deterministicRandom(seed) {
    let current = seed;
    let counter = 0n;
    const rand = async (n) => {
      const blocks = [];
      let have = 0;
      while (have < n) {
        const block = await m.primitives.sha256(concat(current, uint(counter, 8)));
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
  return {
    deterministicRandom,
    adminKeyFromSeed: async (seed) => {
      const { privateKey, publicKey } = await m.primitives.ed25519FromSeed(seed);
      return { privateKey, public: publicKey };
    },
    deriveResumeKeysWithIterations: (code, centreId, iterations) => m.resume.deriveWithIterations(code, centreId, iterations),
    importVisitorStateLowIterations: (blob, keys) => m.visitor.importWithFloor(blob, keys, 1),
    importStaffBackupLowIterations: (blob, passphrase) => m.backup.importWithFloor(blob, passphrase, 1),
    importAdminBackupLowIterations: (blob, passphrase) => m.backup.importAdminWithFloor(blob, passphrase, 1),
    createConversationWith: (options, rand) => m.visitor.createWith(options, rand),
    openConversationWith: (me, genesis, trust, rand) => m.conversation.openGenesis(me, genesis, trust, rand),
    resumeConversationWith: (state, genesis, trust, rand) => m.visitor.resumeWith(state, genesis, trust, rand),
  };
}

function eq(actual, expected, what) {
  if (actual !== expected) throw new Error(`${what}: expected ${expected}, got ${actual}`);
}

function ok(condition, what) {
  if (!condition) throw new Error(`${what}: check failed`);
}

/** Run fn; the ProtocolError code, or null on success; any other exception is a failure. */
async function errorOf(m, fn) {
  try {
    await fn();
  } catch (e) {
    if (e instanceof m.P.ProtocolError) return e.code;
    throw e;
  }
  return null;
}

export const CHECKS = {
  "rfc7748_x25519.json": async (doc, m) => {
    const { toHex, fromHex: h } = m.bytes;
    for (const c of doc.cases) {
      const alice = await m.primitives.x25519FromSeed(h(c.alice_private_hex));
      const bob = await m.primitives.x25519FromSeed(h(c.bob_private_hex));
      eq(toHex(alice.publicKey), c.alice_public_hex, c.id);
      eq(toHex(bob.publicKey), c.bob_public_hex, c.id);
      eq(toHex(await m.primitives.x25519(alice.privateKey, bob.publicKey)), c.shared_hex, c.id);
      eq(toHex(await m.primitives.x25519(bob.privateKey, alice.publicKey)), c.shared_hex, c.id);
    }
  },

  "wycheproof_x25519.json": async (doc, m) => {
    const { toHex, fromHex: h } = m.bytes;
    for (const c of doc.cases) {
      const { privateKey } = await m.primitives.x25519FromSeed(h(c.private_hex));
      let shared = null;
      try {
        shared = toHex(await m.primitives.x25519(privateKey, h(c.public_hex)));
      } catch {
        shared = null;
      }
      eq(shared, c.result === "valid" ? c.shared_hex : null, c.id);
    }
  },

  "rfc8032_ed25519.json": async (doc, m) => {
    const { toHex, fromHex: h } = m.bytes;
    for (const c of doc.cases) {
      const key = await m.primitives.ed25519FromSeed(h(c.secret_hex));
      eq(toHex(key.publicKey), c.public_hex, c.id);
      eq(toHex(await m.primitives.ed25519Sign(key.privateKey, h(c.msg_hex))), c.sig_hex, c.id);
      ok(await m.primitives.ed25519Verify(h(c.public_hex), h(c.sig_hex), h(c.msg_hex)), c.id);
    }
  },

  "wycheproof_ed25519.json": async (doc, m) => {
    const h = m.bytes.fromHex;
    for (const c of doc.cases) {
      eq(await m.primitives.ed25519Verify(h(c.public_hex), h(c.sig_hex), h(c.msg_hex)), c.result === "valid", c.id);
    }
  },

  "wycheproof_hkdf_sha256.json": async (doc, m) => {
    const { toHex, fromHex: h } = m.bytes;
    for (const c of doc.cases) {
      if (c.result === "valid") {
        eq(toHex(await m.primitives.hkdf(h(c.ikm_hex), h(c.salt_hex), h(c.info_hex), c.size)), c.okm_hex, c.id);
        const prk = await m.primitives.hkdfExtract(h(c.salt_hex), h(c.ikm_hex));
        eq(toHex(await m.primitives.hkdfExpand(prk, h(c.info_hex), c.size)), c.okm_hex, c.id);
      } else {
        eq(await errorOf(m, () => m.primitives.hkdf(h(c.ikm_hex), h(c.salt_hex), h(c.info_hex), c.size)), "malformed", c.id);
      }
    }
  },

  "wycheproof_aes256gcm.json": async (doc, m) => {
    const { toHex, fromHex: h } = m.bytes;
    for (const c of doc.cases) {
      const sealed = c.ct_hex + c.tag_hex;
      const [key, iv, aad] = [h(c.key_hex), h(c.iv_hex), h(c.aad_hex)];
      if (c.result === "valid") {
        eq(toHex(await m.primitives.aeadSeal(key, iv, h(c.msg_hex), aad)), sealed, c.id);
        eq(toHex(await m.primitives.aeadOpen(key, iv, h(sealed), aad)), c.msg_hex, c.id);
      } else {
        eq(await errorOf(m, () => m.primitives.aeadOpen(key, iv, h(sealed), aad)), "bad_tag", c.id);
      }
    }
  },

  "wycheproof_pbkdf2_sha256.json": async (doc, m) => {
    const { toHex, fromHex: h } = m.bytes;
    for (const c of doc.cases) {
      const dk = await m.primitives.pbkdf2Sha256(h(c.password_hex), h(c.salt_hex), c.iterations, c.dk_len);
      eq(toHex(dk), c.dk_hex, c.id);
    }
  },

  "rfc9180_hpke.json": async (doc, m) => {
    const { toHex, fromHex: h } = m.bytes;
    for (const c of doc.cases) {
      const { sharedSecret, enc } = await m.hpke.encap(h(c.pkRm_hex), h(c.skEm_hex));
      eq(toHex(enc), c.enc_hex, c.id);
      eq(toHex(sharedSecret), c.shared_secret_hex, c.id);
      const r = await m.primitives.x25519FromSeed(h(c.skRm_hex));
      eq(toHex(r.publicKey), c.pkRm_hex, c.id);
      eq(toHex(await m.hpke.decap(enc, r.privateKey, r.publicKey)), c.shared_secret_hex, c.id);
      const ks = await m.hpke.keySchedule(sharedSecret, h(c.info_hex));
      eq(toHex(ks.keyScheduleContext), c.key_schedule_context_hex, c.id);
      eq(toHex(ks.secret), c.secret_hex, c.id);
      eq(toHex(ks.key), c.key_hex, c.id);
      eq(toHex(ks.baseNonce), c.base_nonce_hex, c.id);
      eq(toHex(ks.exporterSecret), c.exporter_secret_hex, c.id);
      for (const e of c.encryptions) {
        const nonce = ks.baseNonce.slice();
        nonce[11] ^= e.seq;
        eq(toHex(nonce), e.nonce_hex, c.id);
        eq(toHex(await m.primitives.aeadSeal(ks.key, nonce, h(e.pt_hex), h(e.aad_hex))), e.ct_hex, c.id);
      }
      const first = c.encryptions[0];
      const pt = await m.hpke.open(enc, r.privateKey, r.publicKey, h(c.info_hex), h(first.aad_hex), h(first.ct_hex));
      eq(toHex(pt), first.pt_hex, c.id);
    }
  },

  "hpke_wrap.json": async (doc, m) => {
    const { toHex, fromHex: h } = m.bytes;
    const empty = new Uint8Array(0);
    for (const c of doc.cases) {
      const r = await m.primitives.x25519FromSeed(h(c.recipient_private_hex));
      if (c.kind === "seal") {
        const eph = h(c.ephemeral_private_hex);
        const sealed = await m.hpke.seal(h(c.recipient_public_hex), h(c.info_hex), empty, h(c.pt_hex), async () => eph);
        eq(toHex(sealed.enc), c.enc_hex, c.id);
        eq(toHex(sealed.ciphertext), c.ct_hex, c.id);
        eq(toHex(await m.hpke.open(sealed.enc, r.privateKey, r.publicKey, h(c.info_hex), empty, sealed.ciphertext)), c.pt_hex, c.id);
      } else {
        const code = await errorOf(m, () => m.hpke.open(h(c.enc_hex), r.privateKey, r.publicKey, h(c.info_hex), empty, h(c.ct_hex)));
        eq(code, c.error, c.id);
      }
    }
  },

  "encoding.json": async (doc, m) => {
    const { toHex, fromHex: h, b64decode, b64encode } = m.bytes;
    for (const c of doc.cases) {
      if (c.result === "valid") {
        eq(toHex(b64decode(c.text)), c.bytes_hex, c.id);
        eq(b64encode(h(c.bytes_hex)), c.text, c.id);
      } else {
        eq(await errorOf(m, () => b64decode(c.text)), c.error, c.id);
      }
    }
    eq(await errorOf(m, () => b64decode("A".repeat(20), 8)), "oversize", "bound");
  },

  "padding.json": async (doc, m) => {
    const { toHex, fromHex: h } = m.bytes;
    const { pad, unpad } = m.padding;
    for (const c of doc.cases) {
      if (c.kind === "pad") {
        const body = new Uint8Array(c.body_len).fill(parseInt(c.body_byte_hex, 16));
        if (c.result === "invalid") {
          eq(await errorOf(m, () => pad(c.content_type, body)), c.error, c.id);
          continue;
        }
        const padded = pad(c.content_type, body);
        eq(padded.length, c.padded_len, c.id);
        eq(toHex(await m.primitives.sha256(padded)), c.padded_sha256_hex, c.id);
        if (c.padded_hex) eq(toHex(padded), c.padded_hex, c.id);
        const back = unpad(padded);
        eq(back.contentType, c.content_type, c.id);
        eq(toHex(back.body), toHex(body), c.id);
      } else if (c.result === "valid") {
        const back = unpad(h(c.padded_hex));
        eq(back.contentType, c.content_type, c.id);
        eq(toHex(back.body), c.body_hex, c.id);
      } else {
        eq(await errorOf(m, () => unpad(h(c.padded_hex))), c.error, c.id);
      }
    }
  },

  "key_schedule.json": async (doc, m) => {
    const { toHex, fromHex: h } = m.bytes;
    const ks = m.keyschedule;
    for (const c of doc.cases) {
      if (c.kind === "message_key") {
        const { key, nonce } = await ks.messageKey(h(c.epoch_secret_hex), h(c.key_nonce_hex), h(c.aad_hex));
        eq(toHex(key), c.key_hex, c.id);
        eq(toHex(nonce), c.nonce_hex, c.id);
      } else if (c.kind === "confirmation") {
        const hash = await m.primitives.sha256(h(c.confirm_input_hex));
        eq(toHex(hash), c.confirm_hash_hex, c.id);
        eq(toHex(await ks.confirmation(h(c.epoch_secret_hex), hash)), c.confirmation_hex, c.id);
      } else if (c.kind === "wrap_info") {
        eq(toHex(ks.wrapInfo(h(c.conversation_id_hex), c.epoch, h(c.sender_id_hex), h(c.recipient_id_hex))), c.info_hex, c.id);
      } else if (c.kind === "history_info") {
        eq(toHex(ks.historyInfo(h(c.info_context_hex))), c.info_hex, c.id);
      } else if (c.kind === "label") {
        eq(toHex(m.constants.label(c.name, h(c.context_hex))), c.label_hex, c.id);
      } else if (c.kind === "signature_input") {
        eq(toHex(ks.signatureInput(c.name, h(c.tbs_hex))), c.input_hex, c.id);
      } else {
        throw new Error(`unknown kind ${c.kind}`);
      }
    }
  },

  "certificates.json": async (doc, m, t) => {
    const { toHex, fromHex: h } = m.bytes;
    for (const c of doc.cases) {
      if (c.kind === "certify") {
        const admin = await t.adminKeyFromSeed(h(c.admin_secret_hex));
        const cert = await m.P.certify(admin, {
          centreId: h(c.centre_id_hex),
          staffId: h(c.staff_id_hex),
          role: c.role,
          displayName: c.display_name,
          kemPublic: h(c.kem_public_hex),
          sigPublic: h(c.sig_public_hex),
          notBefore: c.not_before,
          notAfter: c.not_after,
        });
        eq(toHex(cert), c.certificate_hex, c.id);
        continue;
      }
      const anchors = c.anchors_hex.map(h);
      if (c.result === "invalid") {
        eq(await errorOf(m, () => m.P.verifyCertificate(h(c.certificate_hex), anchors, c.at)), c.error, c.id);
        continue;
      }
      const cert = await m.P.verifyCertificate(h(c.certificate_hex), anchors, c.at);
      eq(toHex(cert.centreId), c.centre_id_hex, c.id);
      eq(toHex(cert.staffId), c.staff_id_hex, c.id);
      eq(cert.role, c.role, c.id);
      eq(cert.displayName, c.display_name, c.id);
      eq(cert.notBefore, c.not_before, c.id);
      eq(cert.notAfter, c.not_after, c.id);
      eq(toHex(cert.issuer), c.issuer_hex, c.id);
    }
  },

  "directory.json": async (doc, m) => {
    const { toHex, fromHex: h } = m.bytes;
    for (const c of doc.cases) {
      const anchors = c.anchors_hex.map(h);
      if (c.result === "invalid") {
        eq(await errorOf(m, () => m.P.verifyDirectory(h(c.directory_hex), anchors, c.now, c.min_serial)), c.error, c.id);
        continue;
      }
      const d = await m.P.verifyDirectory(h(c.directory_hex), anchors, c.now, c.min_serial);
      eq(toHex(d.centreId), c.centre_id_hex, c.id);
      eq(d.serial, c.serial, c.id);
      eq(d.certificates.map((x) => toHex(x.staffId)).join(","), c.staff_ids_hex.join(","), c.id);
    }
  },

  "resume_code.json": async (doc, m, t) => {
    const { toHex, fromHex: h } = m.bytes;
    for (const c of doc.cases) {
      if (c.kind === "generate") {
        eq(m.resume.codeFromEntropy(h(c.entropy_hex)), c.code, c.id);
        eq(m.P.formatResumeCode(c.code), c.formatted, c.id);
      } else if (c.kind === "parse") {
        if (c.result === "valid") eq(m.P.parseResumeCode(c.input), c.code, c.id);
        else eq(await errorOf(m, () => m.P.parseResumeCode(c.input)), c.error, c.id);
      } else {
        const keys = c.iterations === 600000
          ? await m.P.deriveResumeKeys(c.code, h(c.centre_id_hex))
          : await t.deriveResumeKeysWithIterations(c.code, h(c.centre_id_hex), c.iterations);
        eq(toHex(keys.lookupId), c.lookup_id_hex, c.id);
        eq(toHex(keys.accessVerifier), c.access_verifier_hex, c.id);
        eq(toHex(keys.stateKey), c.state_key_hex, c.id);
        ok(!JSON.stringify(keys).includes(c.state_key_hex), `${c.id} JSON hides the key`);
      }
    }
  },

  "visitor_state.json": async (doc, m, t) => {
    const { toHex, fromHex: h, b64decode } = m.bytes;
    for (const c of doc.cases) {
      const keys = await t.deriveResumeKeysWithIterations(c.code, h(c.centre_id_hex), c.iterations);
      const blob = b64decode(c.state_b64url);
      const importer = c.floor === "production" ? m.P.importVisitorState : t.importVisitorStateLowIterations;
      if (c.result === "invalid") {
        eq(await errorOf(m, () => importer(blob, keys)), c.error, c.id);
        continue;
      }
      const state = await importer(blob, keys);
      eq(toHex(state.conversationId), c.conversation_id_hex, c.id);
      eq(toHex(state.me.memberId), c.member_id_hex, c.id);
      eq(toHex(state.me.kemPublic), c.kem_public_hex, c.id);
      eq(toHex(state.me.sigPublic), c.sig_public_hex, c.id);
      eq(toHex(state.genesisHash), c.genesis_hash_hex, c.id);
      eq(toHex(state.pin), c.pin_hex, c.id);
      eq(state.me.kemPrivate.extractable, false, c.id);
      eq(state.me.sigPrivate.extractable, false, c.id);
    }
  },

  "staff_backup.json": async (doc, m, t) => {
    const { toHex, b64decode } = m.bytes;
    for (const c of doc.cases) {
      if (c.kind === "export") {
        const args = { centreId: new Uint8Array(16), staffId: new Uint8Array(16), role: 1, recoveryPhrase: c.phrase, iterations: c.iterations };
        eq(await errorOf(m, () => m.P.createStaffIdentity(args)), c.error, c.id);
        continue;
      }
      const blob = b64decode(c.backup_b64url);
      const importer = c.floor === "production" ? m.P.importStaffBackup : t.importStaffBackupLowIterations;
      if (c.result === "invalid") {
        eq(await errorOf(m, () => importer(blob, c.phrase)), c.error, c.id);
        continue;
      }
      const member = await importer(blob, c.phrase);
      eq(toHex(member.memberId), c.member_id_hex, c.id);
      eq(toHex(member.centreId), c.centre_id_hex, c.id);
      eq(member.role, c.role, c.id);
      eq(toHex(member.kemPublic), c.kem_public_hex, c.id);
      eq(toHex(member.sigPublic), c.sig_public_hex, c.id);
      eq(member.kemPrivate.extractable, false, c.id);
    }
  },

  "admin_backup.json": async (doc, m, t) => {
    const { toHex, b64decode } = m.bytes;
    for (const c of doc.cases) {
      const blob = b64decode(c.backup_b64url);
      let importer = c.floor === "production" ? m.P.importAdminBackup : t.importAdminBackupLowIterations;
      if (c.kind === "import_staff") importer = t.importStaffBackupLowIterations;
      if (c.result === "invalid") {
        eq(await errorOf(m, () => importer(blob, c.phrase)), c.error, c.id);
        continue;
      }
      const admin = await importer(blob, c.phrase);
      eq(toHex(admin.public), c.admin_public_hex, c.id);
      eq(admin.privateKey.extractable, false, c.id);
    }
    eq(await errorOf(m, () => m.P.createAdminKey({ passphrase: "senterets lange passfrase" })), "bad_code_character", "chosen passphrase");
    const made = await m.P.createAdminKey({ iterations: 600000 });
    eq((await m.P.parseRecoveryPhrase(made.recoveryPhrase)) === made.recoveryPhrase, true, "generated phrase");
  },

  "fingerprint.json": async (doc, m) => {
    const h = m.bytes.fromHex;
    for (const c of doc.cases) {
      if (c.kind === "safety_number") {
        eq(m.P.safetyNumber(c.a, c.b), c.safety_number, c.id);
        eq(m.P.safetyNumber(c.b, c.a), c.safety_number, c.id);
        continue;
      }
      if (c.kind === "conversation_code") {
        const code = await m.P.conversationCode(h(c.genesis_hash_hex), c.visitor_hex.map(h), c.staff_hex.map(h));
        eq(code, c.code, c.id);
        continue;
      }
      const run = () => m.P.fingerprint(h(c.member_id_hex), h(c.sig_public_hex), h(c.kem_public_hex));
      if (c.result === "invalid") eq(await errorOf(m, run), c.error, c.id);
      else eq(await run(), c.fingerprint, c.id);
    }
  },

  "conversation.json": async (doc, m, t) => {
    const { toHex, fromHex: h, b64decode, concat } = m.bytes;
    const chain = doc.trust.chain_hex.map(h);
    const pin = h(doc.trust.pin_hex);
    const trust = await m.P.verifyTrustRoot(chain, pin);
    const trustOf = (length) => m.P.verifyTrustRoot(chain.slice(0, length), pin);
    const directories = {};
    for (const [name, d] of Object.entries(doc.directories)) {
      directories[name] = await m.P.verifyDirectory(h(d.directory_hex), (await trustOf(d.chain_length)).anchors, d.verify_at);
    }
    const liveOf = (c) => (c.live ? { now: c.live.now, directory: directories[c.live.directory] } : null);
    const transcript = doc.transcript.map((e) => b64decode(e.message_b64url));
    const member = async (name) => {
      const r = doc.receivers[name];
      const me = await m.P.memberFromPrivateBytes(h(r.member_id_hex), r.role, h(r.centre_id_hex), h(r.kem_private_hex), h(r.sig_private_hex));
      eq(toHex(me.kemPublic), r.kem_public_hex, name);
      eq(toHex(me.sigPublic), r.sig_public_hex, name);
      return me;
    };
    const replay = async (name, prefix) => {
      const conv = await m.P.openConversation(await member(name), transcript[0], trust);
      for (const data of transcript.slice(1, prefix)) await conv.receive(data);
      return conv;
    };
    const snapshot = (c) => [c.nextSeq, toHex(c.lastHash), c.epoch, c.knownEpochs().join(","), c.messagesInEpoch].join("|");
    const hexes = (list) => list.map(toHex).join(",");

    // 1. Every receiver replays the whole transcript.
    for (const name of Object.keys(doc.receivers)) {
      const conv = await m.P.openConversation(await member(name), transcript[0], trust);
      const first = doc.transcript[0];
      eq(conv.canRead, first.readable[name], `${name} genesis`);
      eq(toHex(conv.directoryHash), first.directory_hash_hex, `${name} directory hash`);
      eq(conv.epochStartedAt, first.created_at, `${name} genesis time`);
      for (const [i, e] of doc.transcript.entries()) {
        if (i === 0) continue;
        const where = `${name} seq ${i}`;
        const r = await conv.receive(transcript[i]);
        eq(r.kind, e.kind, where);
        eq(r.seq, e.seq, where);
        eq(r.epoch, e.epoch, where);
        eq(toHex(r.senderId), e.sender_id_hex, where);
        eq(r.senderRole, e.sender_role, where);
        eq(hexes(r.added), e.added_hex.join(","), where);
        eq(hexes(r.removed), e.removed_hex.join(","), where);
        eq(r.historyRecipient ? toHex(r.historyRecipient) : null, e.history_recipient_hex, where);
        eq(r.historyEpochs.join(","), e.history_epochs.join(","), where);
        eq(r.createdAt, e.created_at, where);
        eq(r.requestReason, e.request_reason, where);
        eq(r.requestSeq, e.request_seq, where);
        eq(r.readable, e.readable[name], where);
        eq(r.problem, null, where);
        if (r.kind === "application" && r.readable) {
          eq(r.contentType, e.content_type, where);
          eq(toHex(r.body), e.body_hex, where);
        } else {
          eq(r.body, null, where);
        }
        eq(conv.epochStartedAt, e.epoch_started_at, where);
        eq(conv.messagesInEpoch, e.messages_in_epoch, where);
      }
    }

    // 2. The routing fields the server reads.
    for (const e of doc.transcript) {
      const r = await m.P.peek(b64decode(e.message_b64url));
      const w = e.routing;
      const where = `routing seq ${e.seq}`;
      eq(r.type, w.type, where);
      eq(toHex(r.conversationId), w.conversation_id_hex, where);
      eq(r.epoch, w.epoch, where);
      eq(r.seq, w.seq, where);
      eq(toHex(r.senderId), w.sender_id_hex, where);
      eq(toHex(r.prevHash), w.prev_hash_hex, where);
      eq(toHex(r.messageHash), w.message_hash_hex, where);
      eq(JSON.stringify(r.members.map(([id, role]) => [toHex(id), role])), JSON.stringify(w.members), where);
      eq(JSON.stringify(r.memberKeys.map((k) => [toHex(k.memberId), k.role])), JSON.stringify(w.members), where);
      eq(r.historyRecipient ? toHex(r.historyRecipient) : null, w.history_recipient_hex, where);
      eq(r.createdAt, w.created_at, where);
      eq(r.directoryHash ? toHex(r.directoryHash) : null, w.directory_hash_hex, where);
    }

    // 3. Every negative case: exactly its code, and no state change.
    for (const c of doc.cases) {
      const conv = await replay(c.receiver, c.prefix);
      const before = snapshot(conv);
      const data = concat(b64decode(c.message_b64url), new Uint8Array(c.append_zero_bytes ?? 0));
      eq(await errorOf(m, () => conv.receive(data, liveOf(c))), c.error, c.id);
      eq(snapshot(conv), before, `${c.id} state`);
      await conv.receive(transcript[c.prefix]);
    }

    // 4. Survivals: accepted, unreadable, with the problem named; the transcript goes on.
    for (const c of doc.survival_cases) {
      const conv = await replay(c.receiver, c.prefix);
      const data = b64decode(c.message_b64url);
      const r = await conv.receive(data);
      eq(r.kind, c.kind, c.id);
      eq(r.readable, false, c.id);
      eq(r.problem, c.problem, c.id);
      eq(r.body, null, c.id);
      eq(conv.nextSeq, c.prefix + 1, c.id);
      eq(toHex(conv.lastHash), toHex((await m.P.peek(data)).messageHash), c.id);
      eq(conv.needsRekey, c.kind === "commit", c.id);
    }

    // 5. Acceptances (some only live).
    for (const c of doc.accept_cases) {
      const conv = await replay(c.receiver, c.prefix);
      const r = await conv.receive(b64decode(c.message_b64url), liveOf(c));
      eq(r.kind, c.kind, c.id);
      eq(r.readable, c.readable, c.id);
      eq(r.problem, null, c.id);
      eq(hexes(r.added), c.added_hex.join(","), c.id);
      eq(hexes(r.removed), c.removed_hex.join(","), c.id);
    }

    // 6. Genesis rejections and survivals.
    for (const c of doc.genesis_cases) {
      const me = await member(c.receiver);
      const data = b64decode(c.genesis_b64url);
      if (c.result === "invalid") {
        eq(await errorOf(m, () => m.P.openConversation(me, data, trust)), c.error, c.id);
      } else {
        const conv = await m.P.openConversation(me, data, trust);
        eq(conv.needsRekey, c.needs_rekey, c.id);
        eq(conv.canRead, false, c.id);
      }
    }

    // 7. History: decryptPast after a bundle.
    for (const c of doc.past_cases) {
      const conv = await replay(c.receiver, c.prefix);
      const data = transcript[c.message_index];
      if (c.result === "invalid") {
        eq(await errorOf(m, () => conv.decryptPast(data)), c.error, c.id);
      } else {
        const r = await conv.decryptPast(data);
        eq(r.contentType, c.content_type, c.id);
        eq(toHex(r.body), c.body_hex, c.id);
      }
    }

    // 8. Revocation: who must go, the re-key commit byte for byte, and every member accepts it.
    for (const c of doc.revocation_cases) {
      const directory = directories[c.directory];
      const conv = await replay(c.actor, c.prefix);
      eq(hexes(await conv.membersToRemove(directory, c.now)), c.remove_hex.join(","), c.id);
      conv._rand = t.deterministicRandom(h(c.rand_seed_hex));
      const built = c.op === "rekey" ? await conv.rekey(directory, c.now) : await conv.requeue(directory, c.now);
      eq(toHex(built), toHex(b64decode(c.message_b64url)), c.id);
      for (const name of Object.keys(doc.receivers)) {
        const live = name === "visitor" ? { now: c.now, directory } : null;
        const r = await (await replay(name, c.prefix)).receive(built, live);
        eq(r.members.map((x) => toHex(x.memberId)).join(","), c.members_hex.join(","), `${c.id} ${name}`);
        eq(hexes(r.added), c.added_hex.join(","), `${c.id} ${name}`);
        eq(hexes(r.removed), c.removed_hex.join(","), `${c.id} ${name}`);
      }
    }

    // 9. Conversation codes, as the visitor and the staff member compute them.
    for (const c of doc.code_cases) {
      const staff = await member(c.staff);
      eq(await (await replay("visitor", c.prefix)).conversationCode(staff.memberId), c.code, c.id);
      eq(await (await replay(c.staff, c.prefix)).conversationCode(), c.code, c.id);
    }

    // 10. A counsellor checks the directory the genesis names.
    for (const c of doc.directory_check_cases) {
      const conv = await replay(c.receiver, 1);
      if (c.result === "invalid") eq(await errorOf(m, () => conv.checkDirectory(h(c.directory_hex))), c.error, c.id);
      else eq((await conv.checkDirectory(h(c.directory_hex))).serial, 7, c.id);
    }

    // 11. The server's checks (the same functions exist here for other servers and tests).
    for (const c of doc.server_cases) {
      const data = b64decode(c.message_b64url);
      let run = () => m.P.checkClaimedTime(data, c.now);
      if (c.kind === "signature") run = () => m.P.verifySenderSignature(data, c.sig_public_hex ? h(c.sig_public_hex) : null);
      if (c.kind === "listed_members") run = () => m.P.checkListedMembers(data, directories[c.directory], c.now);
      eq(await errorOf(m, run), c.result === "invalid" ? c.error : null, c.id);
    }

    // 12. Every message rebuilds byte for byte from its seed (deterministic Ed25519 needed:
    //     Node and Chromium; Safari's randomized signatures would differ here only).
    const parties = {};
    const visitorTrust = await trustOf(2); // what the visitor's client knew at creation
    for (const [i, e] of doc.transcript.entries()) {
      const b = e.build;
      const rand = t.deterministicRandom(h(b.rand_seed_hex));
      if (b.op === "create") {
        const created = await t.createConversationWith({ directory: h(doc.directory_hex), trust: visitorTrust, now: b.now }, rand);
        eq(toHex(created.genesis), toHex(transcript[0]), "rebuilt genesis");
        for (const name of Object.keys(doc.receivers)) {
          parties[name] = await t.openConversationWith(await member(name), transcript[0], trust, t.deterministicRandom(new Uint8Array(0)));
        }
        continue;
      }
      const conv = parties[b.party];
      conv._rand = rand;
      let built;
      if (b.op === "encrypt") built = await conv.encrypt(b.content_type, h(b.body_hex));
      else if (b.op === "claim") built = await conv.claim(b.now);
      else if (b.op === "add_member") built = await conv.addMember(h(doc.certificates_hex[b.certificate_of]), b.now);
      else if (b.op === "remove_member") built = await conv.removeMember(h(doc.receivers[b.member].member_id_hex), b.now);
      else if (b.op === "request_rekey") built = await conv.requestRekey(b.reason);
      else if (b.op === "rekey") built = await conv.rekey(null, b.now);
      else built = await conv.shareHistory(h(doc.receivers[b.recipient].member_id_hex), b.epochs);
      eq(toHex(built), toHex(transcript[i]), `rebuilt seq ${i}`);
      for (const c of Object.values(parties)) await c.receive(built);
    }
  },

  "recovery_phrase.json": async (doc, m) => {
    const { toHex, fromHex: h, utf8 } = m.bytes;
    eq(toHex(await m.primitives.sha256(utf8(m.wordlist.WORDS.join("\n") + "\n"))), doc.wordlist_sha256_hex, "word list");
    for (const c of doc.cases) {
      if (c.kind === "generate") {
        eq(await m.recovery.phraseFromEntropy(h(c.entropy_hex)), c.phrase, c.id);
        eq(await m.P.parseRecoveryPhrase(c.phrase), c.phrase, c.id);
      } else if (c.result === "valid") {
        eq(await m.P.parseRecoveryPhrase(c.input), c.phrase, c.id);
      } else {
        eq(await errorOf(m, () => m.P.parseRecoveryPhrase(c.input)), c.error, c.id);
      }
    }
  },

  "trust_root.json": async (doc, m, t) => {
    const { toHex, fromHex: h } = m.bytes;
    const keys = {};
    for (const [name, k] of Object.entries(doc.keys)) keys[name] = await t.adminKeyFromSeed(h(k.seed_hex));
    const built = {};
    for (const c of doc.cases) {
      if (c.kind === "build") {
        let data = await m.P.draftTrustRoot({
          centreId: h(doc.centre_id_hex),
          version: c.version,
          issuedAt: c.issued_at,
          previous: c.previous_version ? built[c.previous_version] : null,
          anchors: c.anchors.map((n) => keys[n].public),
          threshold: c.threshold,
          logKey: h(doc.log_key_hex),
        });
        for (const signer of c.signers) data = await m.P.cosignTrustRoot(data, keys[signer]);
        eq(toHex(data), c.root_hex, c.id);
        built[c.version] = data;
      } else if (c.kind === "verify") {
        const chain = c.chain_hex.map(h);
        const pin = h(c.pin_hex);
        const known = c.known_hex ? await m.P.verifyTrustRoot(c.known_hex.map(h), pin) : null;
        if (c.result === "invalid") {
          eq(await errorOf(m, () => m.P.verifyTrustRoot(chain, pin, known)), c.error, c.id);
          continue;
        }
        const root = await m.P.verifyTrustRoot(chain, pin, known);
        eq(root.version, c.version, c.id);
        eq(root.anchors.map(toHex).join(","), c.anchors_hex.join(","), c.id);
        eq(root.newest.threshold, c.threshold, c.id);
        eq(toHex(root.logKey), c.log_key_hex, c.id);
        eq(toHex(root.newest.hash), c.hash_hex, c.id);
        for (const item of c.anchors_at) eq(root.anchorsAt(item.at).map(toHex).join(","), item.anchors_hex.join(","), `${c.id} at ${item.at}`);
      } else if (c.kind === "draft") {
        const run = () =>
          m.P.draftTrustRoot({
            centreId: new Uint8Array(16),
            version: 1,
            issuedAt: 0,
            previous: null,
            anchors: [keys.K1.public],
            threshold: c.threshold,
            logKey: new Uint8Array(32),
          });
        eq(await errorOf(m, run), c.error, c.id);
      } else {
        const pin = await m.P.centreFingerprint(h(doc.centre_id_hex), keys[c.anchor].public);
        eq(toHex(pin), c.pin_hex, c.id);
        eq(await m.P.shortCentreFingerprint(pin), c.short, c.id);
      }
    }
  },

  "log.json": async (doc, m, t) => {
    const { toHex, fromHex: h } = m.bytes;
    const entries = (items) => items.map((e) => [e.kind, h(e.object_hash_hex)]);
    const logKey = await t.adminKeyFromSeed(h(doc.log_key_seed_hex));
    const centreId = h(doc.centre_id_hex);
    for (const c of doc.cases) {
      if (c.kind === "chain") {
        let value = h(c.chain_hex[0]);
        for (const [i, o] of c.objects.entries()) {
          value = await m.P.logChain(value, i, await m.P.entryOf(o.kind, h(o.object_hex)));
          eq(toHex(value), c.chain_hex[i + 1], `${c.id} ${i}`);
        }
      } else if (c.kind === "sign_head") {
        eq(toHex(await m.P.signLogHead(logKey, centreId, c.size, h(c.head_hex), c.timestamp)), c.signed_hex, c.id);
      } else if (c.kind === "head") {
        const run = () => m.P.verifyLogHead(h(c.head_hex), h(c.log_key_hex), h(c.centre_id_hex));
        eq(await errorOf(m, run), c.result === "invalid" ? c.error : null, c.id);
      } else if (c.kind === "consistency") {
        const run = () => m.P.verifyLogConsistency(m.P.parseLogHead(h(c.old_hex)), m.P.parseLogHead(h(c.new_hex)), entries(c.entries));
        eq(await errorOf(m, run), c.result === "invalid" ? c.error : null, c.id);
      } else {
        const head = await m.P.verifyLogHead(h(c.head_hex), h(doc.log_key_hex), centreId);
        const run = () => m.P.verifyLogInclusion(head, c.index, h(c.before_hex), entries(c.entries), c.object_kind, h(c.object_hex));
        if (c.result === "invalid") eq(await errorOf(m, run), c.error, c.id);
        else eq(await run(), c.newest, c.id);
      }
    }
  },
};

// A conversation as one member's client sees it: the receiver state machine and outgoing messages.
// State changes only through receive(): build against the current state, send, and apply the
// bytes when the server echoes them back in order (PROTOCOL.md §7, §9, §10).

import { checkCertificate, validAt, verifyDirectory } from "./certificates.js";
import { concat, ctEqual, equal, toHex, uint, Writer } from "./bytes.js";
import { ID_LEN, LIVE_SKEW, MAX_HISTORY_EPOCHS, MAX_MEMBERS, ObjectType, Role, SECRET_LEN } from "./constants.js";
import { ErrorCode, fail, guard, ProtocolError } from "./errors.js";
import { conversationCode } from "./fingerprint.js";
import * as hpke from "./hpke.js";
import { confirmation, historyInfo, messageHash, messageKey, signatureInput, wrapInfo } from "./keyschedule.js";
import { encodeEnvelope, parseMessage, REQUEST_REASONS, staffEntry, visitorEntry } from "./messages.js";
import { pad, unpad } from "./padding.js";
import * as p from "./primitives.js";
import { asTrust } from "./trust.js";

const COMMITTERS = [Role.VISITOR, Role.COUNSELLOR];
const EMPTY = new Uint8Array(0);

function memberInfo(entry) {
  const cert = entry.certificate;
  return Object.freeze({
    memberId: entry.memberId,
    role: entry.role,
    displayName: cert ? cert.displayName : "",
    kemPublic: entry.kemPublic,
    sigPublic: entry.sigPublic,
    certificate: cert ? cert.raw : null,
  });
}

function received(fields) {
  return Object.freeze({
    readable: true,
    problem: null, // accepted, but what was meant for me failed (§9.6)
    contentType: null,
    body: null,
    members: [],
    added: [],
    removed: [],
    historyRecipient: null,
    historyEpochs: [],
    createdAt: null,
    requestReason: null,
    requestSeq: null,
    ...fields,
  });
}

function membersMap(entries) {
  return new Map(entries.map((e) => [e.id, e]));
}

/** Run fn; a ProtocolError becomes {problem: code} instead of propagating (§9.6). */
async function orProblem(fn) {
  try {
    return { value: await fn(), problem: null };
  } catch (e) {
    if (e instanceof ProtocolError) return { value: null, problem: e.code };
    throw e;
  }
}

/**
 * Open this client's wrap and check the confirmation: {secret}, {secret: null} if the epoch is
 * not mine, or {secret: null, problem} if my wrap is bad (the commit is still accepted, §9.6).
 */
async function unwrap(me, msg, members) {
  const myId = toHex(me.memberId);
  const mine = members.get(myId);
  if (!mine || !equal(mine.kemPublic, me.kemPublic) || !equal(mine.sigPublic, me.sigPublic)) return { secret: null, problem: null };
  const index = [...members.keys()].indexOf(myId);
  const wrap = msg.wraps[index];
  const env = msg.envelope;
  const info = wrapInfo(env.conversationId, env.epoch, env.senderId, me.memberId);
  const opened = await orProblem(() => hpke.open(wrap.slice(0, 32), me.kemPrivate, me.kemPublic, info, EMPTY, wrap.slice(32)));
  if (opened.problem) return { secret: null, problem: opened.problem };
  const expected = await confirmation(opened.value, await p.sha256(msg.confirmInput));
  if (!ctEqual(expected, msg.confirmation)) return { secret: null, problem: ErrorCode.BAD_CONFIRMATION };
  return { secret: opened.value, problem: null };
}

async function buildCommit(type, env, createdAt, entries, me, rand, directoryHash = null) {
  const secret = await rand(SECRET_LEN);
  const w = new Writer().raw(encodeEnvelope(env)).u64(createdAt);
  if (type === ObjectType.GENESIS) w.fixed(directoryHash, 32);
  w.u16(entries.length);
  for (const e of entries) w.raw(e.raw);
  for (const e of entries) {
    const info = wrapInfo(env.conversationId, env.epoch, env.senderId, e.memberId);
    const { enc, ciphertext } = await hpke.seal(e.kemPublic, info, EMPTY, secret, rand);
    w.raw(enc).raw(ciphertext);
  }
  const confirmInput = w.bytes();
  const tbs = concat(confirmInput, await confirmation(secret, await p.sha256(confirmInput)));
  const kind = type === ObjectType.GENESIS ? "genesis" : "commit";
  return concat(tbs, await p.ed25519Sign(me.sigPrivate, signatureInput(kind, tbs)));
}

function sortEntries(entries) {
  return entries.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

function nowSeconds(now) {
  return now ?? Math.floor(Date.now() / 1000);
}

function absDiff(a, b) {
  const d = BigInt(a) - BigInt(b);
  return d < 0n ? -d : d;
}

export class Conversation {
  constructor(me, trust, genesis, centreId, unwrapped, genesisHash, rand) {
    const env = genesis.envelope;
    // Epoch secrets, the randomness source and held-back hashes are non-enumerable, so that
    // logging a conversation object never prints key material.
    const hidden = (name, value) => Object.defineProperty(this, name, { value, writable: true });
    this.me = me;
    this.trust = trust;
    hidden("_rand", rand);
    hidden("_trusts", new Map([[toHex(centreId), trust]]));
    this.conversationId = env.conversationId;
    this.centreId = centreId;
    this.visitorId = env.senderId;
    this.genesisHash = genesisHash;
    this.directoryHash = genesis.directoryHash;
    this.nextSeq = 1;
    this.lastHash = genesisHash;
    this.epoch = 0;
    const first = {
      number: 0,
      members: membersMap(genesis.members),
      confirmHash: genesis.confirmHash,
      confirmation: genesis.confirmation,
      secret: unwrapped.secret,
      createdAt: genesis.createdAt,
      seq: 0,
      problem: unwrapped.problem,
      messages: 0,
    };
    hidden("_epochs", new Map([[0, first]]));
    hidden("_unread", new Map());
  }

  toString() {
    return `Conversation(${toHex(this.conversationId)}, epoch ${this.epoch}, next ${this.nextSeq})`;
  }

  toJSON() {
    return this.toString();
  }

  /**
   * Hold another centre's *verified* trust root (chained to that centre's pin), so a move of
   * this conversation to that centre (PROTOCOL.md §8.6) can be checked; without it a move is refused.
   */
  knowCentre(trust) {
    if (!trust.centreId) fail(ErrorCode.MALFORMED);
    if (!this._trusts.has(toHex(trust.centreId))) this._trusts.set(toHex(trust.centreId), trust);
  }

  /** The newest anchors (what proposals' certificates are verified against). */
  get anchors() {
    return this.trust.anchors;
  }

  get members() {
    return [...this._epochs.get(this.epoch).members.values()].map(memberInfo);
  }

  get isMember() {
    return this._epochs.get(this.epoch).members.has(toHex(this.me.memberId));
  }

  /** True when this client holds the current epoch's secret. */
  get canRead() {
    return this._epochs.get(this.epoch).secret !== null;
  }

  /** I am in the current epoch as the visitor or a counsellor (interpreters never commit). */
  get canCommit() {
    const mine = this._epochs.get(this.epoch).members.get(toHex(this.me.memberId));
    return Boolean(mine) && COMMITTERS.includes(mine.role) && equal(mine.sigPublic, this.me.sigPublic);
  }

  /** My wrap of the current epoch failed: commit a re-key if I may, else send a key request. */
  get needsRekey() {
    return this._epochs.get(this.epoch).problem !== null;
  }

  /** The claimed time of the genesis or commit that started the current epoch (unix seconds). */
  get epochStartedAt() {
    return Number(this._epochs.get(this.epoch).createdAt);
  }

  /** Application messages accepted in the current epoch (for scheduled re-keys). */
  get messagesInEpoch() {
    return this._epochs.get(this.epoch).messages;
  }

  /** Scheduled re-key policy: at most `maxAge` seconds of activity or `maxMessages` per epoch. */
  rekeyDue(now, maxAge = 86400, maxMessages = 1000) {
    const current = this._epochs.get(this.epoch);
    return current.messages >= maxMessages || (current.messages > 0 && BigInt(now) - current.createdAt >= BigInt(maxAge));
  }

  knownEpochs() {
    return [...this._epochs.values()].filter((e) => e.secret !== null).map((e) => e.number);
  }

  /** The code a visitor and one staff member compare by phone (§14.3); staff omit staffId. */
  async conversationCode(staffId = null) {
    const members = this._epochs.get(this.epoch).members;
    const staff = members.get(toHex(staffId ?? this.me.memberId));
    const visitor = members.get(toHex(this.visitorId));
    if (!staff || staff.role === Role.VISITOR) fail(ErrorCode.NOT_A_MEMBER);
    return conversationCode(
      this.genesisHash,
      [visitor.memberId, visitor.sigPublic, visitor.kemPublic],
      [staff.memberId, staff.sigPublic, staff.kemPublic],
    );
  }

  /**
   * A counsellor's check of a visitor's genesis (§9.2): `directory` (fetched by the hash the
   * genesis names, and found in the log) is that directory, verifies under the anchors trusted
   * at the genesis time and was current then, and the queue epoch lists exactly the visitor and
   * every counsellor it certified at that time. Else BAD_DIRECTORY.
   */
  async checkDirectory(directory) {
    const genesis = this._epochs.get(0);
    if (!ctEqual(await p.sha256(directory), this.directoryHash)) fail(ErrorCode.BAD_DIRECTORY);
    const verified = await orProblem(() => verifyDirectory(directory, this.trust.anchorsAt(genesis.createdAt), genesis.createdAt));
    if (verified.problem) fail(ErrorCode.BAD_DIRECTORY);
    const expected = new Set(
      verified.value.certificates.filter((c) => c.role === Role.COUNSELLOR && validAt(c, genesis.createdAt)).map((c) => toHex(c.raw)),
    );
    const listed = [...genesis.members.values()].filter((m) => m.certificate).map((m) => toHex(m.certificate.raw));
    if (!equal(verified.value.centreId, this.centreId) || listed.length !== expected.size || !listed.every((x) => expected.has(x))) {
      fail(ErrorCode.BAD_DIRECTORY);
    }
    return verified.value;
  }

  // -- receiving ------------------------------------------------------------------------

  async _evaluate(data, live = null) {
    const msg = parseMessage(data);
    const env = msg.envelope;
    if (!equal(env.conversationId, this.conversationId)) fail(ErrorCode.WRONG_CONVERSATION);
    if (env.seq < this.nextSeq) fail(ErrorCode.REPLAY);
    if (env.seq > this.nextSeq) fail(ErrorCode.GAP);
    if (!equal(env.prevHash, this.lastHash)) fail(ErrorCode.FORK);
    if (msg.kind === "commit") {
      if (env.type === ObjectType.GENESIS) fail(ErrorCode.MALFORMED);
      return this._evaluateCommit(msg, live);
    }
    if (msg.kind === "application") return this._evaluateApplication(msg);
    if (msg.kind === "key_request") return this._evaluateRequest(msg);
    return this._evaluateHistory(msg);
  }

  _sender(env, expectedEpoch) {
    if (env.epoch !== expectedEpoch) fail(ErrorCode.WRONG_EPOCH);
    const sender = this._epochs.get(this.epoch).members.get(toHex(env.senderId));
    if (!sender) fail(ErrorCode.NOT_A_MEMBER);
    return sender;
  }

  static async _verify(sender, kind, tbs, signature) {
    if (!(await p.ed25519Verify(sender.sigPublic, signature, signatureInput(kind, tbs)))) fail(ErrorCode.BAD_SIGNATURE);
  }

  async _evaluateCommit(msg, live) {
    const env = msg.envelope;
    const committer = this._sender(env, this.epoch + 1);
    await Conversation._verify(committer, "commit", msg.tbs, msg.signature);
    const current = this._epochs.get(this.epoch);
    if (msg.createdAt < current.createdAt) fail(ErrorCode.BAD_TIME);
    if (live && absDiff(msg.createdAt, live.now) > BigInt(LIVE_SKEW)) fail(ErrorCode.BAD_TIME);
    const old = current.members;
    const next = membersMap(msg.members);
    const centre = this._targetCentre(committer, next);
    await this._checkCommitRules(committer, old, next, msg.createdAt, centre);
    if (live) await this._checkLive(next, live, centre);
    const { secret, problem } = await unwrap(this.me, msg, next);
    const oldRaw = new Set([...old.values()].map((m) => m.rawHex));
    const newRaw = new Set(msg.members.map((m) => m.rawHex));
    const hash = await messageHash(msg.raw);
    const epoch = {
      number: env.epoch,
      members: next,
      confirmHash: await p.sha256(msg.confirmInput),
      confirmation: msg.confirmation,
      secret,
      createdAt: msg.createdAt,
      seq: env.seq,
      problem,
      messages: 0,
    };
    const r = received({
      kind: "commit",
      seq: env.seq,
      epoch: env.epoch,
      senderId: env.senderId,
      senderRole: committer.role,
      messageHash: hash,
      readable: secret !== null,
      problem,
      members: msg.members.map(memberInfo),
      added: msg.members.filter((m) => !oldRaw.has(m.rawHex)).map((m) => m.memberId),
      removed: [...old.values()].filter((m) => !newRaw.has(m.rawHex)).map((m) => m.memberId),
      createdAt: Number(msg.createdAt),
    });
    const moved = equal(centre, this.centreId) ? null : centre;
    return { received: r, update: { hash, newEpoch: epoch, centreId: moved } };
  }

  /**
   * The centre a commit's staff belong to (§8.6): this conversation's, or, for a move, another
   * centre whose verified root this client holds, named by the visitor alone.
   */
  _targetCentre(committer, next) {
    const centres = new Map();
    for (const m of next.values()) if (m.certificate) centres.set(toHex(m.certificate.centreId), m.certificate.centreId);
    if (centres.size === 0 || (centres.size === 1 && centres.has(toHex(this.centreId)))) return this.centreId;
    if (centres.size !== 1) fail(ErrorCode.BAD_CERTIFICATE);
    if (committer.role !== Role.VISITOR) fail(ErrorCode.FORBIDDEN);
    const [[hex, centre]] = centres;
    if (!this._trusts.has(hex)) fail(ErrorCode.BAD_CERTIFICATE);
    if ([...next.values()].some((m) => m.role === Role.INTERPRETER)) fail(ErrorCode.FORBIDDEN);
    return centre;
  }

  _trustOf(centre) {
    return this._trusts.get(toHex(centre ?? this.centreId));
  }

  /** Who may change membership how; one condition per line (PROTOCOL.md §8). */
  async _checkCommitRules(committer, old, next, createdAt, centre) {
    if (!COMMITTERS.includes(committer.role)) fail(ErrorCode.FORBIDDEN);
    if (!next.has(committer.id) || next.get(committer.id).role !== committer.role) fail(ErrorCode.FORBIDDEN);
    const visitorId = toHex(this.visitorId);
    if (!next.has(visitorId) || next.get(visitorId).rawHex !== old.get(visitorId).rawHex) fail(ErrorCode.FORBIDDEN);
    const oldRaw = new Set([...old.values()].map((m) => m.rawHex));
    const added = [...next.values()].filter((m) => !oldRaw.has(m.rawHex));
    for (const entry of added) {
      if (entry.role === Role.INTERPRETER && committer.role !== Role.VISITOR) fail(ErrorCode.FORBIDDEN);
    }
    const anchors = this._trustOf(centre).anchorsAt(createdAt);
    for (const entry of next.values()) {
      if (entry.role === Role.VISITOR) continue; // added and retained staff alike
      const cert = entry.certificate;
      if (!cert || !equal(cert.centreId, centre)) fail(ErrorCode.BAD_CERTIFICATE);
      await checkCertificate(cert, anchors, createdAt);
    }
  }

  /** Listed byte for byte in the current directory, valid now, issuer an anchor now. */
  _acceptableNow(cert, directory, now, centre = null) {
    const listed = directory.certificates.some((c) => equal(c.raw, cert.raw));
    const anchors = this._trustOf(centre).anchorsAt(now);
    return listed && validAt(cert, now) && anchors.some((a) => ctEqual(a, cert.issuer));
  }

  _checkDirectoryNow(directory, now, centre = null) {
    const t = BigInt(now);
    if (!equal(directory.centreId, centre ?? this.centreId) || !(directory.issuedAtExact <= t && t <= directory.expiresAtExact)) {
      fail(ErrorCode.BAD_CERTIFICATE);
    }
  }

  async _checkLive(next, live, centre = null) {
    this._checkDirectoryNow(live.directory, live.now, centre);
    for (const entry of next.values()) {
      if (entry.certificate && !this._acceptableNow(entry.certificate, live.directory, live.now, centre)) fail(ErrorCode.BAD_CERTIFICATE);
    }
  }

  async _evaluateApplication(msg) {
    const env = msg.envelope;
    const sender = this._sender(env, this.epoch);
    await Conversation._verify(sender, "application", msg.tbs, msg.signature);
    const hash = await messageHash(msg.raw);
    const secret = this._epochs.get(this.epoch).secret;
    if (secret === null) {
      return { received: application(env, sender, hash, null), update: { hash, unreadEpoch: env.epoch, counted: true } };
    }
    const opened = await orProblem(() => open(msg, secret));
    return { received: application(env, sender, hash, opened.value, opened.problem), update: { hash, counted: true } };
  }

  async _evaluateRequest(msg) {
    const env = msg.envelope;
    const sender = this._sender(env, this.epoch);
    await Conversation._verify(sender, "request", msg.tbs, msg.signature);
    const hash = await messageHash(msg.raw);
    const r = received({
      kind: "key_request",
      seq: env.seq,
      epoch: env.epoch,
      senderId: env.senderId,
      senderRole: sender.role,
      messageHash: hash,
      requestReason: msg.reason,
      requestSeq: msg.refSeq,
    });
    return { received: r, update: { hash } };
  }

  async _openHistory(msg) {
    const opened = await orProblem(() =>
      hpke.open(msg.enc, this.me.kemPrivate, this.me.kemPublic, historyInfo(msg.infoContext), EMPTY, msg.ciphertext),
    );
    if (opened.problem) return { secrets: new Map(), problem: opened.problem };
    const secrets = new Map();
    for (const [i, number] of msg.epochs.entries()) {
      const secret = opened.value.slice(i * SECRET_LEN, (i + 1) * SECRET_LEN);
      const epoch = this._epochs.get(number);
      if (!ctEqual(await confirmation(secret, epoch.confirmHash), epoch.confirmation)) {
        return { secrets: new Map(), problem: ErrorCode.BAD_CONFIRMATION };
      }
      secrets.set(number, secret);
    }
    return { secrets, problem: null };
  }

  async _evaluateHistory(msg) {
    const env = msg.envelope;
    const sender = this._sender(env, this.epoch);
    await Conversation._verify(sender, "history", msg.tbs, msg.signature);
    const members = this._epochs.get(this.epoch).members;
    const recipient = members.get(toHex(msg.recipientId));
    if (!COMMITTERS.includes(sender.role)) fail(ErrorCode.FORBIDDEN);
    if (!recipient) fail(ErrorCode.NOT_A_MEMBER);
    if (recipient.role === Role.INTERPRETER && sender.role !== Role.VISITOR) fail(ErrorCode.FORBIDDEN);
    if (msg.epochs[msg.epochs.length - 1] >= this.epoch) fail(ErrorCode.WRONG_EPOCH);
    const hash = await messageHash(msg.raw);
    const isMine = equal(msg.recipientId, this.me.memberId) && equal(recipient.kemPublic, this.me.kemPublic);
    const { secrets, problem } = isMine ? await this._openHistory(msg) : { secrets: new Map(), problem: null };
    const r = received({
      kind: "history",
      seq: env.seq,
      epoch: env.epoch,
      senderId: env.senderId,
      senderRole: sender.role,
      messageHash: hash,
      readable: isMine && problem === null,
      problem,
      historyRecipient: msg.recipientId,
      historyEpochs: [...msg.epochs],
    });
    return { received: r, update: { hash, secrets } };
  }

  _apply(r, update) {
    this.nextSeq += 1;
    this.lastHash = update.hash;
    if (update.counted) this._epochs.get(this.epoch).messages += 1;
    if (update.newEpoch) {
      this._epochs.set(update.newEpoch.number, update.newEpoch);
      this.epoch = update.newEpoch.number;
    }
    if (update.centreId) {
      this.centreId = update.centreId;
      this.trust = this._trustOf(update.centreId);
    }
    for (const [number, secret] of update.secrets ?? []) this._epochs.get(number).secret = secret;
    if (update.unreadEpoch !== undefined) this._unread.set(r.seq, { hash: update.hash, epoch: update.unreadEpoch });
  }

  /**
   * Verify the next transcript message and apply it; on any error the state is unchanged.
   * Pass `live` = {now, directory (verified)} when it arrives in real time (not a catch-up).
   */
  async receive(data, live = null) {
    const { received: r, update } = await this._evaluate(data, live);
    this._apply(r, update);
    return r;
  }

  /** Open a message receive() accepted earlier with readable=false (after a history bundle). */
  async decryptPast(data) {
    const msg = parseMessage(data);
    const env = msg.envelope;
    if (!equal(env.conversationId, this.conversationId)) fail(ErrorCode.WRONG_CONVERSATION);
    if (env.seq >= this.nextSeq) fail(ErrorCode.GAP);
    const held = this._unread.get(env.seq);
    if (msg.kind !== "application" || !held) fail(ErrorCode.FORK);
    const hash = await messageHash(msg.raw);
    if (!equal(held.hash, hash)) fail(ErrorCode.FORK);
    const epoch = this._epochs.get(held.epoch);
    if (epoch.secret === null) fail(ErrorCode.NO_KEY);
    const sender = epoch.members.get(toHex(env.senderId));
    const opened = await orProblem(() => open(msg, epoch.secret));
    return application(env, sender, hash, opened.value, opened.problem);
  }

  // -- revocation and scheduled re-keys (PROTOCOL.md §8.5) -------------------------------

  /**
   * Staff of the current epoch who must go: not listed (byte for byte) in the current verified
   * directory, not valid at `now`, or certified by a key that is no longer an anchor.
   */
  async membersToRemove(directory, now) {
    this._checkDirectoryNow(directory, now);
    return [...this._epochs.get(this.epoch).members.values()]
      .filter((m) => m.certificate && !this._acceptableNow(m.certificate, directory, now))
      .map((m) => m.memberId);
  }

  _renewal(entry, directory, now) {
    if (entry.role === Role.INTERPRETER && !equal(this.me.memberId, this.visitorId)) return null;
    for (const cert of directory.certificates) {
      if (equal(cert.staffId, entry.memberId) && cert.role === entry.role && this._acceptableNow(cert, directory, now)) return cert;
    }
    return null;
  }

  /**
   * A commit with a fresh secret for the same members; with a directory, members who must go
   * (see membersToRemove) are renewed from it where it lists them anew, else removed.
   */
  async rekey(directory = null, now = null) {
    const when = nowSeconds(now);
    const staff = [];
    for (const entry of this._epochs.get(this.epoch).members.values()) {
      const cert = entry.certificate;
      if (!cert) continue;
      if (directory === null || this._acceptableNow(cert, directory, when)) {
        staff.push(cert);
      } else {
        const renewed = this._renewal(entry, directory, when);
        if (renewed) staff.push(renewed);
      }
    }
    if (directory !== null) this._checkDirectoryNow(directory, when);
    return this._commit(staff, when, directory === null ? null : { now: when, directory });
  }

  /** Re-wrap a queued conversation to exactly the counsellors the directory lists and certifies now. */
  async requeue(directory, now = null) {
    const when = nowSeconds(now);
    this._checkDirectoryNow(directory, when);
    const staff = directory.certificates.filter((c) => c.role === Role.COUNSELLOR && this._acceptableNow(c, directory, when));
    return this._commit(staff, when, { now: when, directory });
  }

  /**
   * The visitor moves the conversation to another centre (§8.6): a commit wrapped to exactly the
   * counsellors that centre's directory lists and certifies now. The directory must be that
   * centre's, verified against its root, which `knowCentre` was given.
   */
  async move(directory, now = null) {
    const when = nowSeconds(now);
    const centre = directory.centreId;
    if (!equal(this.me.memberId, this.visitorId)) fail(ErrorCode.FORBIDDEN);
    if (equal(centre, this.centreId) || !this._trusts.has(toHex(centre))) fail(ErrorCode.BAD_CERTIFICATE);
    this._checkDirectoryNow(directory, when, centre);
    const staff = directory.certificates.filter((c) => c.role === Role.COUNSELLOR && this._acceptableNow(c, directory, when, centre));
    if (staff.length === 0) fail(ErrorCode.BAD_CERTIFICATE);
    return this._commit(staff, when, { now: when, directory });
  }

  // -- sending --------------------------------------------------------------------------

  _envelope(type, epoch) {
    return {
      type,
      conversationId: this.conversationId,
      epoch,
      seq: this.nextSeq,
      senderId: this.me.memberId,
      prevHash: this.lastHash,
    };
  }

  _staffCertificates() {
    return [...this._epochs.get(this.epoch).members.values()].filter((m) => m.certificate).map((m) => m.certificate);
  }

  /** Counsellor takes a queued conversation: new epoch with only the visitor and me. */
  async claim(now) {
    const mine = this._epochs.get(this.epoch).members.get(toHex(this.me.memberId));
    if (!mine || !mine.certificate) fail(ErrorCode.NOT_A_MEMBER);
    return this.commit([mine.certificate], now);
  }

  /** New epoch adding one staff member (an interpreter only if I am the visitor). */
  async addMember(certificate, now) {
    return this.commit([...this._staffCertificates(), certificate], now);
  }

  /** New epoch without `memberId`; they cannot read anything sent after it. */
  async removeMember(memberId, now) {
    const keep = this._staffCertificates().filter((c) => !equal(c.staffId, memberId));
    return this.commit(keep, now);
  }

  /** Seal and sign the next application message; throws rather than ever sending plaintext. */
  async encrypt(contentType, body) {
    const current = this._epochs.get(this.epoch);
    if (!current.members.has(toHex(this.me.memberId))) fail(ErrorCode.NOT_A_MEMBER);
    if (current.secret === null) fail(ErrorCode.NO_KEY);
    const padded = pad(contentType, body);
    const env = this._envelope(ObjectType.APPLICATION, this.epoch);
    const keyNonce = await this._rand(16);
    const aad = concat(encodeEnvelope(env), keyNonce, uint(padded.length + 16, 4));
    const { key, nonce } = await messageKey(current.secret, keyNonce, aad);
    const tbs = concat(aad, await p.aeadSeal(key, nonce, padded, aad));
    return concat(tbs, await p.ed25519Sign(this.me.sigPrivate, signatureInput("application", tbs)));
  }

  /**
   * Ask the other members for a re-key (reason 1: my wrap of this epoch failed) or for a history
   * bundle again (reason 2, refSeq = the bundle). Needs no key, only membership.
   */
  async requestRekey(reason = 1, refSeq = null) {
    const current = this._epochs.get(this.epoch);
    if (!current.members.has(toHex(this.me.memberId))) fail(ErrorCode.NOT_A_MEMBER);
    if (!REQUEST_REASONS.includes(reason)) fail(ErrorCode.MALFORMED);
    const env = this._envelope(ObjectType.KEY_REQUEST, this.epoch);
    const tbs = new Writer().raw(encodeEnvelope(env)).u8(reason).u32(refSeq ?? current.seq).bytes();
    const data = concat(tbs, await p.ed25519Sign(this.me.sigPrivate, signatureInput("request", tbs)));
    await this._evaluate(data);
    return data;
  }

  async _commit(staff, now, live) {
    const current = this._epochs.get(this.epoch);
    if (!current.members.has(toHex(this.me.memberId))) fail(ErrorCode.NOT_A_MEMBER);
    const entries = sortEntries([current.members.get(toHex(this.visitorId)), ...staff.map(staffEntry)]);
    if (new Set(entries.map((e) => e.id)).size !== entries.length) fail(ErrorCode.MALFORMED);
    if (entries.length > MAX_MEMBERS) fail(ErrorCode.OVERSIZE);
    // Never before the epoch it replaces: a clock behind the last committer's is not an error.
    const wanted = BigInt(nowSeconds(now));
    const createdAt = wanted < current.createdAt ? current.createdAt : wanted;
    const env = this._envelope(ObjectType.COMMIT, this.epoch + 1);
    const data = await buildCommit(ObjectType.COMMIT, env, createdAt, entries, this.me, this._rand);
    await this._evaluate(data, live); // the same checks every receiver will make
    return data;
  }

  /**
   * Start a new epoch whose members are the visitor plus `staff` (certificates, which must include
   * me unless I am the visitor). Fails with the error a receiver would give if not allowed.
   */
  async commit(staff, now) {
    return this._commit(staff, now, null);
  }

  /** Hand earlier epoch secrets to a current member, signed and visible to everyone. */
  async shareHistory(recipientId, epochs) {
    const current = this._epochs.get(this.epoch);
    const recipient = current.members.get(toHex(recipientId));
    if (!current.members.has(toHex(this.me.memberId)) || !recipient) fail(ErrorCode.NOT_A_MEMBER);
    const numbers = [...new Set(epochs)].sort((a, b) => a - b);
    if (numbers.length < 1 || numbers.length > MAX_HISTORY_EPOCHS) fail(ErrorCode.MALFORMED);
    const secrets = [];
    for (const number of numbers) {
      const epoch = this._epochs.get(number);
      if (number >= this.epoch || !epoch) fail(ErrorCode.WRONG_EPOCH);
      if (epoch.secret === null) fail(ErrorCode.NO_KEY);
      secrets.push(epoch.secret);
    }
    const env = this._envelope(ObjectType.HISTORY, this.epoch);
    const w = new Writer().raw(encodeEnvelope(env)).fixed(recipientId, ID_LEN).u16(numbers.length);
    for (const number of numbers) w.u32(number);
    const infoContext = w.bytes();
    const { enc, ciphertext } = await hpke.seal(recipient.kemPublic, historyInfo(infoContext), EMPTY, concat(...secrets), this._rand);
    const tbs = concat(infoContext, enc, ciphertext);
    const data = concat(tbs, await p.ed25519Sign(this.me.sigPrivate, signatureInput("history", tbs)));
    await this._evaluate(data);
    return data;
  }
}

// Every public method lets only ProtocolError escape (PROTOCOL.md §9).
for (const name of [
  "receive",
  "decryptPast",
  "encrypt",
  "commit",
  "claim",
  "addMember",
  "removeMember",
  "shareHistory",
  "requestRekey",
  "rekey",
  "requeue",
  "move",
  "membersToRemove",
  "conversationCode",
  "checkDirectory",
]) {
  Conversation.prototype[name] = guard(Conversation.prototype[name]);
}

function application(env, sender, hash, opened, problem = null) {
  return received({
    kind: "application",
    seq: env.seq,
    epoch: env.epoch,
    senderId: env.senderId,
    senderRole: sender.role,
    messageHash: hash,
    readable: opened !== null,
    problem,
    contentType: opened ? opened.contentType : null,
    body: opened ? opened.body : null,
  });
}

async function open(msg, secret) {
  const { key, nonce } = await messageKey(secret, msg.keyNonce, msg.aad);
  return unpad(await p.aeadOpen(key, nonce, msg.ciphertext, msg.aad));
}

export async function openGenesis(me, genesis, trust, rand) {
  const root = asTrust(trust);
  const msg = parseMessage(genesis);
  if (msg.kind !== "commit" || msg.envelope.type !== ObjectType.GENESIS) fail(ErrorCode.MALFORMED);
  const members = membersMap(msg.members);
  const visitor = members.get(toHex(msg.envelope.senderId));
  if (!(await p.ed25519Verify(visitor.sigPublic, msg.signature, signatureInput("genesis", msg.tbs)))) {
    fail(ErrorCode.BAD_SIGNATURE);
  }
  const certs = msg.members.filter((m) => m.certificate).map((m) => m.certificate);
  const centreId = certs[0].centreId;
  if (root.centreId && !equal(root.centreId, centreId)) fail(ErrorCode.BAD_CERTIFICATE);
  const anchors = root.anchorsAt(msg.createdAt);
  for (const cert of certs) {
    if (!equal(cert.centreId, centreId)) fail(ErrorCode.BAD_CERTIFICATE);
    await checkCertificate(cert, anchors, msg.createdAt);
  }
  const unwrapped = await unwrap(me, msg, members);
  const confirmHash = await p.sha256(msg.confirmInput);
  return new Conversation(me, root, { ...msg, confirmHash }, centreId, unwrapped, await messageHash(msg.raw), rand);
}

/**
 * Start following a conversation from its genesis (staff, or a visitor resuming). `trust` is the
 * centre's verified TrustRoot (a bare list of anchor keys is still accepted and trusted at all
 * times, for callers that have not moved to trust roots).
 */
export const openConversation = guard(async (me, genesis, trust) => openGenesis(me, genesis, trust, p.systemRandom));

export async function newGenesis(visitor, conversationId, counsellors, createdAt, directoryHash, rand) {
  const entries = sortEntries([visitorEntry(visitor), ...counsellors.map(staffEntry)]);
  const env = {
    type: ObjectType.GENESIS,
    conversationId,
    epoch: 0,
    seq: 0,
    senderId: visitor.memberId,
    prevHash: new Uint8Array(32),
  };
  return buildCommit(ObjectType.GENESIS, env, createdAt, entries, visitor, rand, directoryHash);
}

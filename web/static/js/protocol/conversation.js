// A conversation as one member's client sees it: the receiver state machine and outgoing messages.
// State changes only through receive(): build against the current state, send, and apply the
// bytes when the server echoes them back in order (PROTOCOL.md §7).

import { checkAnchors, checkCertificate } from "./certificates.js";
import { concat, ctEqual, equal, toHex, uint, Writer } from "./bytes.js";
import { ID_LEN, MAX_HISTORY_EPOCHS, MAX_MEMBERS, ObjectType, Role, SECRET_LEN } from "./constants.js";
import { ErrorCode, fail, guard } from "./errors.js";
import * as hpke from "./hpke.js";
import { confirmation, historyInfo, messageHash, messageKey, signatureInput, wrapInfo } from "./keyschedule.js";
import { encodeEnvelope, parseMessage, staffEntry, visitorEntry } from "./messages.js";
import { pad, unpad } from "./padding.js";
import * as p from "./primitives.js";

const KIND = {
  [ObjectType.GENESIS]: "genesis",
  [ObjectType.COMMIT]: "commit",
  [ObjectType.APPLICATION]: "application",
  [ObjectType.HISTORY]: "history",
};

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
    contentType: null,
    body: null,
    members: [],
    added: [],
    removed: [],
    historyRecipient: null,
    historyEpochs: [],
    ...fields,
  });
}

function membersMap(entries) {
  return new Map(entries.map((e) => [e.id, e]));
}

/** Open this client's wrap of the epoch secret and check the confirmation; null if not ours. */
async function unwrap(me, msg, members) {
  const myId = toHex(me.memberId);
  const mine = members.get(myId);
  if (!mine || !equal(mine.kemPublic, me.kemPublic) || !equal(mine.sigPublic, me.sigPublic)) return null;
  const index = [...members.keys()].indexOf(myId);
  const wrap = msg.wraps[index];
  const env = msg.envelope;
  const info = wrapInfo(env.conversationId, env.epoch, env.senderId, me.memberId);
  const secret = await hpke.open(wrap.slice(0, 32), me.kemPrivate, me.kemPublic, info, new Uint8Array(0), wrap.slice(32));
  const expected = await confirmation(secret, await p.sha256(msg.confirmInput));
  if (!ctEqual(expected, msg.confirmation)) fail(ErrorCode.BAD_CONFIRMATION);
  return secret;
}

async function buildCommit(type, env, createdAt, entries, me, rand) {
  const secret = await rand(SECRET_LEN);
  const w = new Writer().raw(encodeEnvelope(env)).u64(createdAt).u16(entries.length);
  for (const e of entries) w.raw(e.raw);
  for (const e of entries) {
    const info = wrapInfo(env.conversationId, env.epoch, env.senderId, e.memberId);
    const { enc, ciphertext } = await hpke.seal(e.kemPublic, info, new Uint8Array(0), secret, rand);
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

export class Conversation {
  constructor(me, anchors, genesis, centreId, secret, genesisHash, rand) {
    const env = genesis.envelope;
    // Epoch secrets, the randomness source and held-back hashes are non-enumerable, so that
    // logging a conversation object never prints key material.
    const hidden = (name, value) => Object.defineProperty(this, name, { value, writable: true });
    this.me = me;
    this.anchors = anchors;
    hidden("_rand", rand);
    this.conversationId = env.conversationId;
    this.centreId = centreId;
    this.visitorId = env.senderId;
    this.genesisHash = genesisHash;
    this.nextSeq = 1;
    this.lastHash = genesisHash;
    this.epoch = 0;
    hidden(
      "_epochs",
      new Map([
        [0, { number: 0, members: membersMap(genesis.members), confirmHash: genesis.confirmHash, confirmation: genesis.confirmation, secret }],
      ]),
    );
    hidden("_unread", new Map());
  }

  toString() {
    return `Conversation(${toHex(this.conversationId)}, epoch ${this.epoch}, next ${this.nextSeq})`;
  }

  toJSON() {
    return this.toString();
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

  knownEpochs() {
    return [...this._epochs.values()].filter((e) => e.secret !== null).map((e) => e.number);
  }

  // -- receiving ------------------------------------------------------------------------

  async _evaluate(data) {
    const msg = parseMessage(data);
    const env = msg.envelope;
    if (!equal(env.conversationId, this.conversationId)) fail(ErrorCode.WRONG_CONVERSATION);
    if (env.seq < this.nextSeq) fail(ErrorCode.REPLAY);
    if (env.seq > this.nextSeq) fail(ErrorCode.GAP);
    if (!equal(env.prevHash, this.lastHash)) fail(ErrorCode.FORK);
    if (msg.kind === "commit") {
      if (env.type === ObjectType.GENESIS) fail(ErrorCode.MALFORMED);
      return this._evaluateCommit(msg);
    }
    if (msg.kind === "application") return this._evaluateApplication(msg);
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

  async _evaluateCommit(msg) {
    const env = msg.envelope;
    const committer = this._sender(env, this.epoch + 1);
    await Conversation._verify(committer, "commit", msg.tbs, msg.signature);
    const old = this._epochs.get(this.epoch).members;
    const next = membersMap(msg.members);
    await this._checkCommitRules(committer, old, next, msg.createdAt);
    const secret = await unwrap(this.me, msg, next);
    const oldRaw = new Set([...old.values()].map((m) => m.rawHex));
    const newRaw = new Set(msg.members.map((m) => m.rawHex));
    const hash = await messageHash(msg.raw);
    const epoch = {
      number: env.epoch,
      members: next,
      confirmHash: await p.sha256(msg.confirmInput),
      confirmation: msg.confirmation,
      secret,
    };
    const r = received({
      kind: "commit",
      seq: env.seq,
      epoch: env.epoch,
      senderId: env.senderId,
      senderRole: committer.role,
      messageHash: hash,
      readable: secret !== null,
      members: msg.members.map(memberInfo),
      added: msg.members.filter((m) => !oldRaw.has(m.rawHex)).map((m) => m.memberId),
      removed: [...old.values()].filter((m) => !newRaw.has(m.rawHex)).map((m) => m.memberId),
    });
    return { received: r, update: { hash, newEpoch: epoch } };
  }

  /** Who may change membership how; one condition per line (PROTOCOL.md §8). */
  async _checkCommitRules(committer, old, next, createdAt) {
    if (committer.role !== Role.VISITOR && committer.role !== Role.COUNSELLOR) fail(ErrorCode.FORBIDDEN);
    if (!next.has(committer.id) || next.get(committer.id).rawHex !== committer.rawHex) fail(ErrorCode.FORBIDDEN);
    const visitorId = toHex(this.visitorId);
    if (!next.has(visitorId) || next.get(visitorId).rawHex !== old.get(visitorId).rawHex) fail(ErrorCode.FORBIDDEN);
    const oldRaw = new Set([...old.values()].map((m) => m.rawHex));
    const added = [...next.values()].filter((m) => !oldRaw.has(m.rawHex));
    for (const entry of added) {
      if (entry.role === Role.INTERPRETER && committer.role !== Role.VISITOR) fail(ErrorCode.FORBIDDEN);
    }
    for (const entry of added) {
      const cert = entry.certificate;
      if (!cert || !equal(cert.centreId, this.centreId)) fail(ErrorCode.BAD_CERTIFICATE);
      await checkCertificate(cert, this.anchors, createdAt);
    }
  }

  async _evaluateApplication(msg) {
    const env = msg.envelope;
    const sender = this._sender(env, this.epoch);
    await Conversation._verify(sender, "application", msg.tbs, msg.signature);
    const hash = await messageHash(msg.raw);
    const secret = this._epochs.get(this.epoch).secret;
    if (secret === null) {
      return { received: application(env, sender, hash, null), update: { hash, unreadEpoch: env.epoch } };
    }
    return { received: application(env, sender, hash, await open(msg, secret)), update: { hash } };
  }

  async _evaluateHistory(msg) {
    const env = msg.envelope;
    const sender = this._sender(env, this.epoch);
    await Conversation._verify(sender, "history", msg.tbs, msg.signature);
    const members = this._epochs.get(this.epoch).members;
    const recipient = members.get(toHex(msg.recipientId));
    if (sender.role !== Role.VISITOR && sender.role !== Role.COUNSELLOR) fail(ErrorCode.FORBIDDEN);
    if (!recipient) fail(ErrorCode.NOT_A_MEMBER);
    if (recipient.role === Role.INTERPRETER && sender.role !== Role.VISITOR) fail(ErrorCode.FORBIDDEN);
    if (msg.epochs[msg.epochs.length - 1] >= this.epoch) fail(ErrorCode.WRONG_EPOCH);
    const hash = await messageHash(msg.raw);
    const secrets = new Map();
    const isMine = equal(msg.recipientId, this.me.memberId) && equal(recipient.kemPublic, this.me.kemPublic);
    if (isMine) {
      const plain = await hpke.open(
        msg.enc,
        this.me.kemPrivate,
        this.me.kemPublic,
        historyInfo(msg.infoContext),
        new Uint8Array(0),
        msg.ciphertext,
      );
      for (const [i, number] of msg.epochs.entries()) {
        const secret = plain.slice(i * SECRET_LEN, (i + 1) * SECRET_LEN);
        const epoch = this._epochs.get(number);
        if (!ctEqual(await confirmation(secret, epoch.confirmHash), epoch.confirmation)) {
          fail(ErrorCode.BAD_CONFIRMATION);
        }
        secrets.set(number, secret);
      }
    }
    const r = received({
      kind: "history",
      seq: env.seq,
      epoch: env.epoch,
      senderId: env.senderId,
      senderRole: sender.role,
      messageHash: hash,
      readable: isMine,
      historyRecipient: msg.recipientId,
      historyEpochs: [...msg.epochs],
    });
    return { received: r, update: { hash, secrets } };
  }

  _apply(r, update) {
    this.nextSeq += 1;
    this.lastHash = update.hash;
    if (update.newEpoch) {
      this._epochs.set(update.newEpoch.number, update.newEpoch);
      this.epoch = update.newEpoch.number;
    }
    for (const [number, secret] of update.secrets ?? []) this._epochs.get(number).secret = secret;
    if (update.unreadEpoch !== undefined) this._unread.set(r.seq, { hash: update.hash, epoch: update.unreadEpoch });
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

  /** Verify the next transcript message and apply it; on any error the state is unchanged. */
  async receive(data) {
    const { received: r, update } = await this._evaluate(data);
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
    return application(env, sender, hash, await open(msg, epoch.secret));
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
   * Start a new epoch whose members are the visitor plus `staff` (certificates, which must include
   * me unless I am the visitor). Fails with the error a receiver would give if not allowed.
   */
  async commit(staff, now) {
    const current = this._epochs.get(this.epoch);
    if (!current.members.has(toHex(this.me.memberId))) fail(ErrorCode.NOT_A_MEMBER);
    const entries = sortEntries([current.members.get(toHex(this.visitorId)), ...staff.map(staffEntry)]);
    if (new Set(entries.map((e) => e.id)).size !== entries.length) fail(ErrorCode.MALFORMED);
    if (entries.length > MAX_MEMBERS) fail(ErrorCode.OVERSIZE);
    const createdAt = now ?? Math.floor(Date.now() / 1000);
    const env = this._envelope(ObjectType.COMMIT, this.epoch + 1);
    const data = await buildCommit(ObjectType.COMMIT, env, createdAt, entries, this.me, this._rand);
    await this._evaluate(data); // the same checks every receiver will make
    return data;
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
    const { enc, ciphertext } = await hpke.seal(
      recipient.kemPublic,
      historyInfo(infoContext),
      new Uint8Array(0),
      concat(...secrets),
      this._rand,
    );
    const tbs = concat(infoContext, enc, ciphertext);
    const data = concat(tbs, await p.ed25519Sign(this.me.sigPrivate, signatureInput("history", tbs)));
    await this._evaluate(data);
    return data;
  }
}

// Every public method lets only ProtocolError escape (PROTOCOL.md §9).
for (const name of ["receive", "decryptPast", "encrypt", "commit", "claim", "addMember", "removeMember", "shareHistory"]) {
  Conversation.prototype[name] = guard(Conversation.prototype[name]);
}

function application(env, sender, hash, opened) {
  return received({
    kind: "application",
    seq: env.seq,
    epoch: env.epoch,
    senderId: env.senderId,
    senderRole: sender.role,
    messageHash: hash,
    readable: opened !== null,
    contentType: opened ? opened.contentType : null,
    body: opened ? opened.body : null,
  });
}

async function open(msg, secret) {
  const { key, nonce } = await messageKey(secret, msg.keyNonce, msg.aad);
  return unpad(await p.aeadOpen(key, nonce, msg.ciphertext, msg.aad));
}






export async function openGenesis(me, genesis, anchors, rand) {
  const trusted = checkAnchors(anchors);
  const msg = parseMessage(genesis);
  if (msg.kind !== "commit" || msg.envelope.type !== ObjectType.GENESIS) fail(ErrorCode.MALFORMED);
  const members = membersMap(msg.members);
  const visitor = members.get(toHex(msg.envelope.senderId));
  if (!(await p.ed25519Verify(visitor.sigPublic, msg.signature, signatureInput("genesis", msg.tbs)))) {
    fail(ErrorCode.BAD_SIGNATURE);
  }
  const certs = msg.members.filter((m) => m.certificate).map((m) => m.certificate);
  const centreId = certs[0].centreId;
  for (const cert of certs) {
    if (!equal(cert.centreId, centreId)) fail(ErrorCode.BAD_CERTIFICATE);
    await checkCertificate(cert, trusted, msg.createdAt);
  }
  const secret = await unwrap(me, msg, members);
  const confirmHash = await p.sha256(msg.confirmInput);
  const conv = new Conversation(
    me,
    trusted,
    { ...msg, confirmHash },
    centreId,
    secret,
    await messageHash(msg.raw),
    rand,
  );
  return conv;
}

/** Start following a conversation from its genesis (staff, or a visitor resuming). */
export const openConversation = guard(async (me, genesis, anchors) => openGenesis(me, genesis, anchors, p.systemRandom));

export async function newGenesis(visitor, conversationId, counsellors, createdAt, rand) {
  const entries = sortEntries([visitorEntry(visitor), ...counsellors.map(staffEntry)]);
  const env = {
    type: ObjectType.GENESIS,
    conversationId,
    epoch: 0,
    seq: 0,
    senderId: visitor.memberId,
    prevHash: new Uint8Array(32),
  };
  return buildCommit(ObjectType.GENESIS, env, createdAt, entries, visitor, rand);
}

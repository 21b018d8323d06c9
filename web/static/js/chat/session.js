// One conversation as one member's client follows it over the websocket, without any DOM. The
// visitor's page, the counsellor's dashboard and the interpreter's page all use this.
//
// Frames are handled one at a time, in arrival order: the transcript is applied in seq order, a
// repeat is skipped and a gap asks the server again from where we are. Everything written goes
// through the outbox: built at the head the transcript has reached, sent with a client_id that
// never changes, done only when the server echoes it back (PROTOCOL.md §10); a conflict means
// someone wrote first, so catch up and build again. A message the protocol refuses stops the
// conversation: nothing unverified is shown and nothing is ever sent unencrypted (fail closed).
//
// Keeping the conversation going (PROTOCOL.md §8.5, §9.6): a correctly signed message that does
// not decrypt is shown as unreadable and the transcript goes on; a commit whose wrap to me failed
// makes me re-key (if I may commit) or send a key request (an interpreter); another member's key
// request for the current epoch is answered with a re-key; when the server says members must go
// (`rekey_needed`), or the epoch is due (24 h of activity or 1,000 messages), I re-key without
// them. Several clients may do it at once: the server keeps the first, the others find at the
// new head that nothing is left to do (their build returns null).

import { b64decode, b64encode, ContentType, ProtocolError, Role, toHex, utf8, verifyDirectory } from "../protocol.js";
import { Outbox } from "./outbox.js";
import { Signals } from "./signals.js";
import { entryFields, Transcript } from "./transcript.js";

export const ECHO_WAIT_MS = 8000;
export const REKEY_POLICY = Object.freeze({ maxAge: 86400, maxMessages: 1000 }); // §8.5
const REQUEST_NO_KEY = 1; // key request reason: my wrap of this epoch failed (§6.7)

const codeOf = (error) => (error instanceof ProtocolError ? error.code : "internal_error");

export class ChatSession {
  /**
   * id: the conversation (hex); me: my member id (hex); visitor: am I its visitor.
   * conversation: a protocol Conversation already open (a chat this client just created), or
   * open(genesis bytes) → Conversation, to open it from seq 0 (resume, staff).
   * send(frame) → bool: hand a frame to the socket (false when not connected).
   * countsFor(member): whose receipts say my messages were delivered/read (default: anyone else).
   * isRead, mayReceipt, receiptDelayMs: when to say how far I have read (chat/signals.js).
   * directory() → the centre's signed directory (bytes) or null: re-keys are built against it,
   * verified here under the conversation's anchors. clock() → unix seconds. rekeyPolicy: when
   * an epoch is due for a scheduled re-key ({maxAge, maxMessages}).
   */
  constructor({ id, me, visitor = false, conversation = null, open = null, send, newId, countsFor, directory = null, clock = null, rekeyPolicy = REKEY_POLICY, ...signals }) {
    this.id = id;
    this.me = me;
    this.isVisitor = visitor;
    this.conversation = conversation;
    this.initialMembers = conversation?.members ?? []; // the genesis's members (epoch 0)
    this.openGenesis = open;
    this.sendFrame = send;
    this.outbox = new Outbox(newId);
    this.transcript = new Transcript({ countsFor: countsFor ?? ((member) => member !== me) });
    this.signals = new Signals(this, signals); // typing notices and receipts
    this.listeners = new Set();
    this.online = false;
    this.following = false;
    this.synced = false;
    this.broken = null; // the error code that stopped this conversation
    this.gone = null; // the server no longer lets us follow it (deleted, or no longer a member)
    this.closed = false; // shredded: everything decrypted forgotten
    this.status = null;
    this.counsellor = null;
    this.draft = ""; // what is typed and not sent yet (memory only)
    this.queue = Promise.resolve();
    this.backlog = 0; // frames received and not yet applied
    this.askedAfter = null;
    this.waitTimer = null;
    this.fetchDirectory = directory;
    this.clock = clock ?? (() => Math.floor(Date.now() / 1000));
    this.rekeyPolicy = rekeyPolicy;
    this.rekeying = null; // the re-key waiting in the outbox: {item, gone: Set of member ids, action}
    this.answered = new Set(); // epochs I asked a re-key for, or answered a key request in
  }

  /** listener(name, detail, session) for every change; returns a function that stops it. */
  on(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get lastSeq() {
    return this.conversation ? this.conversation.nextSeq - 1 : -1;
  }

  get visitorId() {
    return this.conversation ? toHex(this.conversation.visitorId) : null;
  }

  get members() {
    return this.conversation?.members ?? [];
  }

  /** I hold the current epoch's key and am in it: I can read and write. */
  get canRead() {
    return Boolean(this.conversation && this.conversation.canRead && this.conversation.isMember);
  }

  // --- the connection -------------------------------------------------------------------

  /** Start following: ask for everything after what we have, now and after every reconnect. */
  follow() {
    if (this.following) return;
    this.following = true;
    if (this.online) this._later(() => this._sync());
  }

  /** Stop asking (I was removed): what is here stays readable. */
  unfollow() {
    this.following = false;
  }

  connected() {
    this.online = true;
    this.synced = false;
    this.askedAfter = null;
    if (this.following) this._later(() => this._sync());
  }

  disconnected() {
    this.online = false;
    this.synced = false;
    clearTimeout(this.waitTimer);
    this.outbox.interrupted();
    this._emit("connection");
  }

  /** The server dropped our frames for a while: later, ask again (if a sync was lost) and resend. */
  rateLimited(seconds) {
    this.outbox.interrupted();
    const again = () => {
      if (!this.synced) this._sync();
      return this._flush();
    };
    setTimeout(() => this._later(again), Math.max(1, Number(seconds) || 1) * 1000);
  }

  /** A frame for this conversation (the router picks them). */
  handle(frame) {
    if (frame.type === "typing") {
      if (this.signals.heard(frame)) this._emit("typing", { member: frame.member });
    } else {
      this.backlog += 1; // frames not yet applied: nothing is built before they are
      this._later(() => this._frame(frame));
    }
  }

  // --- writing --------------------------------------------------------------------------

  /** Queue a text message; returns its outbox item. Nothing leaves unencrypted. */
  write(text) {
    this.signals.wrote();
    return this.enqueue({ text, build: (c) => c.encrypt(ContentType.TEXT, utf8(text)) });
  }

  /** Queue a small structured message (ContentType.APP_JSON), e.g. an interpreter request. */
  writeJson(value) {
    const body = utf8(JSON.stringify(value));
    return this.enqueue({ kind: "json", build: (c) => c.encrypt(ContentType.APP_JSON, body) });
  }

  /** Queue a proposal (ContentType.PROPOSAL): invite an interpreter, or ask to leave. */
  propose(body) {
    return this.enqueue({ kind: "op", build: (c) => (c.isMember ? c.encrypt(ContentType.PROPOSAL, body) : null) });
  }

  /** Queue a new epoch without `ids` (those still in it); nothing if none of them is left. */
  removeMembers(ids, frame = "commit") {
    const gone = new Set(ids);
    return this.enqueue({
      kind: "op",
      frame,
      build: (c) => {
        const staff = c.members.filter((m) => m.certificate);
        if (!staff.some((m) => gone.has(toHex(m.memberId)))) return null;
        return c.commit(staff.filter((m) => !gone.has(toHex(m.memberId))).map((m) => m.certificate));
      },
    });
  }

  /**
   * Queue anything else: `build(conversation)` → bytes at the current head, or null when there
   * is nothing to do any more; if it throws, nothing is sent and the item fails (fail closed).
   */
  enqueue(spec) {
    const item = this.outbox.add(spec);
    if (this.broken || this.closed) this.outbox.failed(item.clientId, this.broken || "deleted");
    this._emit("outbox", { item });
    this._later(() => this._flush());
    return item;
  }

  /** Tell the others I am typing (paced: chat/signals.js). */
  typingNotice(now) {
    this.signals.typingNotice(now);
  }

  /** Who is typing now (member ids, or "visitor"). */
  typingNow(now) {
    return this.signals.typingNow(now);
  }

  /** What arrived may now count as read (the page became visible, the tab was chosen). */
  seen() {
    this.signals.scheduleReceipt();
  }

  /** Settle everything queued so far. */
  idle() {
    return this.queue;
  }

  /** Forget everything decrypted (the visitor deleted the conversation). */
  shred() {
    this.closed = true;
    this.following = false;
    this.outbox.abandon("deleted");
    this.outbox.items = [];
    this.transcript.clear();
    this.conversation = null;
    this.draft = "";
    this.signals.typing.clear();
    this._emit("shredded");
  }

  // --- inside -----------------------------------------------------------------------------

  _emit(name, detail = {}) {
    for (const listener of this.listeners) listener(name, detail, this);
  }

  _later(task) {
    this.queue = this.queue.then(task).catch((error) => this._stop(error));
    return this.queue;
  }

  _sync() {
    if (!this.online || !this.following || this.closed) return;
    this.synced = false;
    this.sendFrame({ type: "sync", conversation: this.id, after: this.lastSeq, ref: `sync.${this.id}` });
  }

  /** Ask again from where we are, once per position (a gap, or an echo that did not come). */
  _catchUp() {
    if (this.askedAfter === this.lastSeq) return;
    this.askedAfter = this.lastSeq;
    this._sync();
  }

  /**
   * If the transcript has not reached `seq` after a while, ask the server again. An `item` held
   * until then fails if asking again brought nothing (it can never be built).
   */
  _expect(seq, item = null) {
    clearTimeout(this.waitTimer);
    this.waitTimer = setTimeout(() => {
      this._later(() => {
        if (this.lastSeq >= seq || item?.failed) return;
        if (item && this.askedAfter === this.lastSeq) {
          this._failed(item, item.code ?? "conflict");
          return;
        }
        this._catchUp();
        if (item) this._expect(seq, item);
      });
    }, ECHO_WAIT_MS);
  }

  async _frame(frame) {
    try {
      if (this.broken || this.closed) return;
      if (frame.type === "message") await this._message(frame);
      else if (frame.type === "receipt") this._receipt(frame); // in order: they speak of seqs
      else if (frame.type === "conversation") this._status(frame);
      else if (frame.type === "synced") this.synced = true;
      else if (frame.type === "ack") this._ack(frame);
      else if (frame.type === "error") this._error(frame);
      else if (frame.type === "rekey_needed") this._rekeyNeeded(frame);
    } finally {
      this.backlog -= 1;
    }
    await this._flush();
    if (this.backlog === 0) this._emit("idle"); // everything received so far is applied
  }

  async _message(frame) {
    if (frame.seq <= this.lastSeq) return; // a repeat: already applied
    if (frame.seq !== this.lastSeq + 1) {
      this._catchUp(); // a gap: ask again from where we are
      return;
    }
    const data = b64decode(frame.message);
    let r;
    try {
      if (!this.conversation) {
        this.conversation = await this.openGenesis(data);
        this.initialMembers = this.conversation.members;
        this._emit("ready");
        return;
      }
      r = await this.conversation.receive(data);
    } catch (error) {
      this._refused(error, frame);
      return;
    }
    await this._entry(r, frame, data);
    this._keepGoing(r);
  }

  /**
   * The protocol refused the message in `frame`: stop (nothing after it can be trusted). The one
   * place to decide otherwise for some errors, e.g. "this message could not be read, go on".
   */
  _refused(error, _frame) {
    this._stop(error);
  }

  async _entry(r, frame, data) {
    const from = toHex(r.senderId);
    const mine = from === this.me;
    const base = { seq: r.seq, from, role: r.senderRole, at: frame.at || null, mine, receivedAt: Date.now() };
    const fields = entryFields(r, data);
    const item = mine ? this.outbox.echoed(frame.message, r.seq) : null;
    const entry = this.transcript.add({ ...base, ...fields, clientId: item?.clientId ?? null });
    if (!mine) this.signals.stopped(from, r.senderRole === Role.VISITOR);
    this._emit("entry", { entry, item });
    if (entry.kind === "history" && entry.readable) {
      // Earlier epochs' keys: open what could not be read before.
      for (const opened of await this.transcript.openHeld(this.conversation)) this._emit("revealed", { entry: opened });
    }
    this.signals.scheduleReceipt();
  }

  // --- keeping the conversation going (§8.5, §9.6) --------------------------------------------

  /** The server says members must go: re-key without them (or re-wrap the queue epoch). */
  _rekeyNeeded(frame) {
    const ids = (list) => new Set((Array.isArray(list) ? list : []).filter((m) => typeof m === "string"));
    const members = ids(frame.members);
    const renew = ids(frame.renewed); // certified anew: renewed from the directory, not removed
    if (members.size === 0 || members.has(this.me)) return; // I am the one going: nothing for me to do
    const gone = new Set([...members].filter((m) => !renew.has(m)));
    this._emit("rekey_needed", { members: [...members], renewed: [...renew], action: frame.action });
    this.rekey({ gone, renew, action: frame.action === "requeue" ? "requeue" : "rekey" });
  }

  /** After an accepted message: answer what it asks of me, and re-key when the epoch is due. */
  _keepGoing(r) {
    const c = this.conversation;
    if (!c || !r) return;
    if (r.kind === "commit" && c.isMember && c.needsRekey && !this.answered.has(c.epoch)) {
      // My wrap of this epoch failed: re-key myself if I may commit, else ask the others.
      this.answered.add(c.epoch);
      if (c.canCommit) this.rekey({ epoch: c.epoch, action: this.status === "queued" ? "requeue" : "rekey" });
      else this._askForKey(c.epoch, r.seq);
    } else if (r.kind === "key_request" && r.requestReason === REQUEST_NO_KEY && toHex(r.senderId) !== this.me) {
      // Another member holds no key for this epoch: any member who may commit answers once.
      if (r.epoch === c.epoch && c.canCommit && c.canRead && !this.answered.has(c.epoch)) {
        this.answered.add(c.epoch);
        this.rekey({ epoch: c.epoch, action: this.status === "queued" ? "requeue" : "rekey" });
      }
    } else if (this._due(c)) {
      this.answered.add(c.epoch);
      this.rekey({ epoch: c.epoch, scheduled: true, action: "rekey" });
    }
  }

  _due(c) {
    const { maxAge, maxMessages } = this.rekeyPolicy;
    if (this.status !== "active" || !c.canCommit || !c.canRead || this.answered.has(c.epoch)) return false;
    return c.rekeyDue(this.clock(), maxAge, maxMessages);
  }

  _askForKey(epoch, refSeq) {
    this.enqueue({
      kind: "rekey", // the page shows nothing of it (a failure is retried by the next reason)
      build: (c) => (c.epoch === epoch && c.isMember && c.needsRekey ? c.requestRekey(REQUEST_NO_KEY, refSeq) : null),
    });
  }

  /**
   * Queue a re-key: `gone` (member ids) must leave; `epoch`: only if still in that epoch (a
   * request or a failed wrap); `action` "requeue" re-wraps the queue epoch to the counsellors
   * the directory certifies now. One waits at a time; later reasons join it.
   */
  rekey({ gone = new Set(), renew = new Set(), epoch = null, action = "rekey", scheduled = false } = {}) {
    const waiting = this.rekeying;
    if (waiting && !waiting.item.failed && this.outbox.items.includes(waiting.item)) {
      for (const id of gone) waiting.gone.add(id);
      for (const id of renew) waiting.renew.add(id);
      if (action === "requeue") waiting.action = "requeue";
      if (epoch !== null) waiting.epoch = epoch;
      if (!scheduled) waiting.forced = true;
      return waiting.item;
    }
    const spec = { gone: new Set(gone), renew: new Set(renew), action, epoch, forced: !scheduled };
    const item = this.enqueue({ kind: "rekey", frame: "commit", build: (c) => this._buildRekey(c, spec) });
    spec.item = item;
    this.rekeying = spec;
    return item;
  }

  async _buildRekey(c, spec) {
    if (!c.canCommit) return null;
    const now = this.clock();
    const present = new Set(c.members.map((m) => toHex(m.memberId)));
    const leaving = [...spec.gone].some((id) => present.has(id));
    const renewing = [...spec.renew].filter((id) => present.has(id));
    let stillNeeded =
      leaving ||
      (spec.epoch !== null && c.epoch === spec.epoch && spec.forced) ||
      (!spec.forced && c.rekeyDue(now, this.rekeyPolicy.maxAge, this.rekeyPolicy.maxMessages));
    if (!stillNeeded && renewing.length === 0) return null; // someone else has re-keyed since
    const directory = await this._directory(now, spec.gone);
    if (!stillNeeded && directory !== null) {
      // Renewals: still needed while an old certificate of theirs is in the epoch.
      const stale = new Set((await c.membersToRemove(directory, now)).map(toHex));
      stillNeeded = renewing.some((id) => stale.has(id));
    }
    if (!stillNeeded) return null;
    if (directory === null) {
      // No directory to build from: only a re-key that drops who must go (a requeue needs one).
      if (spec.action === "requeue") return null;
      const keep = c.members.filter((m) => m.certificate && !spec.gone.has(toHex(m.memberId)));
      return spec.gone.size ? c.commit(keep.map((m) => m.certificate), now) : c.rekey(null, now);
    }
    if (spec.action === "requeue") return c.requeue(directory, now);
    return c.rekey(directory, now);
  }

  /** The centre's directory, verified now, less the members who must go; null if none is known. */
  async _directory(now, gone) {
    const raw = this.fetchDirectory ? await this.fetchDirectory() : null;
    if (!raw) return null;
    const verified = await verifyDirectory(raw, this.conversation.anchors, now);
    if (gone.size === 0) return verified;
    return { ...verified, certificates: verified.certificates.filter((cert) => !gone.has(toHex(cert.staffId))) };
  }

  _ack(frame) {
    const item = this.outbox.acked(frame.client_id, frame.seq, this.lastSeq + 1);
    if (item) this._emit("settled", { item, seq: frame.seq });
    else this._expect(frame.seq); // the echo should follow; if it does not, ask again
  }

  _error(frame) {
    const ref = typeof frame.ref === "string" ? frame.ref : "";
    if (frame.code === "rate_limited" || frame.code === "busy") {
      this.rateLimited(frame.retry_after);
    } else if (ref.startsWith("s.") && frame.code === "conflict") {
      const item = this.outbox.conflict(ref.slice(2)); // build again at the new head, same client_id
      if (item?.failed) this._emit("failed", { item, code: item.code, message: "" });
      else if (item) this._expect(item.waitFor);
    } else if (ref.startsWith("s.")) {
      const item = this.outbox.find(ref.slice(2));
      if (item) this._failed(item, frame.code, frame.message);
    } else if (ref === `sync.${this.id}`) {
      this.gone = frame.code;
      this._emit("gone", { code: frame.code });
    }
  }

  _failed(item, code, message = "") {
    if (!this.outbox.failed(item.clientId, code, message)) return;
    this._emit("failed", { item, code, message: message || "" });
  }

  _stop(error) {
    if (this.broken) return;
    this.broken = codeOf(error);
    this.outbox.interrupted();
    this.outbox.abandon(this.broken);
    this._emit("broken", { code: this.broken });
  }

  async _flush() {
    // Build at the head of everything that has arrived: never while frames are still waiting.
    while (this.online && this.synced && this.backlog === 0 && !this.broken && !this.closed && this.conversation) {
      const item = this.outbox.next(this.conversation.nextSeq);
      if (!item) return;
      const seq = this.conversation.nextSeq;
      let bytes;
      try {
        bytes = await item.build(this.conversation);
      } catch (error) {
        // Nothing leaves in clear. After a conflict we know the server is ahead: what we have
        // may stop in the middle of a change the next messages finish (removed, then let in
        // again), so wait for more before giving up; otherwise the item fails, marked so.
        item.code = codeOf(error);
        if (item.conflicts > 0 && !this.outbox.hold(item, seq, item.code).failed) {
          this._expect(seq, item);
          return;
        }
        this._failed(item, item.code);
        continue;
      }
      if (bytes === null) {
        this.outbox.done(item); // nothing to do any more (e.g. the interpreter has already gone)
        this._emit("settled", { item, seq: null });
        continue;
      }
      const wire = b64encode(bytes);
      this.outbox.sending(item, wire, seq);
      const frame = { type: item.frame, conversation: this.id, client_id: item.clientId, message: wire, ...item.fields };
      if (!this.sendFrame({ ...frame, ref: `s.${item.clientId}` })) this.outbox.interrupted();
      return;
    }
  }

  _receipt(frame) {
    if (frame.member === this.me) return;
    if (this.transcript.receipt(frame.member, frame.delivered, frame.read)) this._emit("receipts");
  }

  _status(frame) {
    this.status = frame.status;
    this.counsellor = frame.counsellor ?? null;
    this.moveTo = frame.move_to ?? null; // an open offer to move to another centre (§8.6)
    this._emit("status", { status: frame.status, counsellor: this.counsellor, moveTo: this.moveTo });
  }
}

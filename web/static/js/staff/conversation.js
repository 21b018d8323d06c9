// One conversation as the counsellor's dashboard follows it: the protocol state, what has been
// decrypted, and an outbox whose items are (re)built at the current head, sent with a stable
// client_id, and done only when the server echoes them back in the transcript.
//
// Nothing here touches the DOM; the dashboard listens through `onChange`.

import { b64decode, b64encode, ContentType, openConversation, parseCertificateOf, parseProposal, Role, toHex, utf8, utf8Decode } from "./keys-lib.js";
import { Disconnected } from "./socket.js";
import { readDeclined, readInterpreterRequest } from "../shared/interpreter-request.js";

const ECHO_WAIT_MS = 8000;
const HANDOVER_GRACE_MS = 90000;
const OPENED_AT = Date.now(); // messages older than the dashboard do not count as new

/** An application message with ContentType.APP_JSON that the dashboard understands. */
function parseJson(body) {
  try {
    const value = JSON.parse(utf8Decode(body));
    return value && typeof value === "object" && !Array.isArray(value) ? value : null;
  } catch {
    return null;
  }
}

/** The marker a counsellor sends right after returning a conversation or handing it over. */
export function handoverMarker(action, commitSeq, to = null) {
  return utf8(JSON.stringify(to ? { kind: "handover", action, commit: commitSeq, to } : { kind: "handover", action, commit: commitSeq }));
}

function isHandover(value) {
  return value?.kind === "handover" && (value.action === "release" || value.action === "transfer") && Number.isSafeInteger(value.commit);
}

/** {kind: "booking", reference, start, meeting}: the visitor booked a consultation (docs/BOOKING.md). */
function isBooking(value) {
  return (
    value?.kind === "booking" &&
    typeof value.reference === "string" &&
    /^[0-9A-Z]{4}-[0-9A-Z]{4}$/.test(value.reference) &&
    typeof value.start === "string" &&
    !Number.isNaN(Date.parse(value.start)) &&
    ["in_person", "phone", "video"].includes(value.meeting)
  );
}

export class ChatConversation {
  constructor(id, { identity, anchors, socket, onChange, counsellorIds = new Set() }) {
    this.id = id;
    this.identity = identity;
    this.me = toHex(identity.memberId);
    this.anchors = anchors;
    this.counsellorIds = counsellorIds; // every certified counsellor (a release re-keys to all of them)
    this.inQueue = true; // from the transcript: waiting since the genesis or the last release
    this.socket = socket;
    this.onChange = onChange;
    this.status = "queued";
    this.language = null;
    this.queuedAt = null;
    this.counsellor = null; // who owns it, per the server's status frames
    this.mine = false;
    this.protocol = null; // the protocol Conversation, from the genesis
    this.lastSeq = -1;
    this.synced = false;
    this.broken = null; // an error code when the transcript could not be followed
    this.entries = []; // {seq, kind: "text"|"system", from, role, text, at, key?, values?}
    this.held = new Map(); // seq -> bytes of messages we could not open yet (before a history share)
    this.interpreter = null; // the visitor's latest interpreter request {language, dialect?, mode?, gender?}
    this.invites = new Map(); // interpreter id hex -> {name, state: "waiting"|"declined"|"joined"|"left"}
    this.leaving = new Set(); // interpreters (still members) who asked to leave
    this.members = [];
    this.outbox = [];
    this.sending = false;
    this.waiters = [];
    this.visitorReceipt = { delivered: -1, read: -1 };
    this.typingUntil = 0;
    this.unread = 0;
    this.handover = null; // {from, at, shared}: a colleague handed this conversation to me
    this.chain = Promise.resolve(); // incoming messages are processed one at a time, in order
  }

  get visitorId() {
    return this.protocol ? toHex(this.protocol.visitorId) : null;
  }

  get canRead() {
    return Boolean(this.protocol && this.protocol.canRead && this.protocol.isMember);
  }

  changed(what = "conversation") {
    this.onChange?.(this, what);
  }

  // --- following the transcript ----------------------------------------------------------

  /** Ask the server for everything after what we have (again after a reconnect). */
  sync() {
    this.synced = true;
    return this.socket.send({ type: "sync", conversation: this.id, after: this.lastSeq });
  }

  /** A `message` frame: process it after any before it, strictly in order. */
  deliver(frame) {
    this.chain = this.chain.then(() => this._deliver(frame)).catch(() => {});
    return this.chain;
  }

  async _deliver(frame) {
    if (this.broken || frame.seq <= this.lastSeq) return;
    if (frame.seq !== this.lastSeq + 1) {
      this.sync(); // a gap: ask again from where we are
      return;
    }
    const data = b64decode(frame.message);
    try {
      if (frame.seq === 0) {
        this.protocol = await openConversation(this.identity, data, this.anchors);
        this.members = this.protocol.members;
      } else {
        this._apply(frame, await this.protocol.receive(data), data);
      }
    } catch (error) {
      this.broken = error?.code || "internal_error";
      this.changed();
      return;
    }
    this.lastSeq = frame.seq;
    this.waiters = this.waiters.filter((w) => {
      if (this.lastSeq < w.seq) return true;
      w.resolve();
      return false;
    });
    this.changed("messages");
  }

  _apply(frame, r, data) {
    const from = toHex(r.senderId);
    const base = { seq: r.seq, from, role: r.senderRole, at: frame.at };
    if (r.kind === "application") {
      if (!r.readable) {
        this.held.set(r.seq, data);
        return;
      }
      this._entry(base, r);
    } else if (r.kind === "commit") {
      this._commit(base, r, from);
    } else if (r.kind === "history" && r.readable) {
      for (const [seq, held] of [...this.held]) {
        this.protocol
          .decryptPast(held)
          .then((past) => {
            this.held.delete(seq);
            this._entry({ seq, from: toHex(past.senderId), role: past.senderRole, at: null }, past);
            this.entries.sort((a, b) => a.seq - b.seq);
            this.changed("messages");
          })
          .catch(() => {});
      }
      if (this.handover && this.handover.from === from) this.handover.shared = true;
    }
  }

  _commit(base, r, from) {
    const before = new Map(this.members.map((m) => [toHex(m.memberId), m]));
    this.members = r.members;
    const names = new Map(r.members.map((m) => [toHex(m.memberId), m]));
    // Counsellors only: an interpreter never changes what a claim, release or handover looks like.
    const staff = r.members.filter((m) => m.role === Role.COUNSELLOR).map((m) => toHex(m.memberId));
    const added = r.added.map(toHex);
    const removed = r.removed.map(toHex);
    for (const id of added) {
      const member = names.get(id);
      if (member?.role === Role.INTERPRETER) this.invites.set(id, { name: member.displayName, state: "joined" });
    }
    for (const id of removed) {
      this.leaving.delete(id);
      const member = before.get(id);
      if (member?.role === Role.INTERPRETER) this.invites.set(id, { name: member.displayName, state: "left" });
    }
    const committer = names.get(from)?.displayName || "";
    if (added.includes(this.me) && from !== this.me && r.senderRole === Role.COUNSELLOR && staff.length <= 3) {
      this.handover = { from, at: Date.now(), shared: false };
    }
    if (this.handover && removed.includes(this.handover.from)) this.handover = null;
    // Labels are a first reading of the member lists; the committer's signed handover marker
    // (right after a release or transfer) settles what it was — in a centre with two
    // counsellors a transfer and a return to the queue have the same member list.
    this.lastCommit = { seq: base.seq, base, from, committer, names, before, added, removed };
    const everyone = this.counsellorIds.size > 1 && [...this.counsellorIds].every((id) => staff.includes(id));
    if (this.inQueue && staff.length === 1 && staff[0] === from) {
      this.inQueue = false;
      this._system(base, "claimed", { name: committer });
    } else if (everyone || added.length > 2) {
      this.inQueue = true;
      this._system(base, "requeued", { name: committer });
    } else {
      this._membership(this.lastCommit);
    }
  }

  _membership({ base, names, before, added, removed }) {
    const key = (member, what) => (member?.role === Role.INTERPRETER ? `interpreter_${what}` : what);
    for (const id of added) this._system(base, key(names.get(id), "joined"), { name: names.get(id)?.displayName || "" });
    for (const id of removed) this._system(base, key(before.get(id), "left"), { name: before.get(id)?.displayName || "" });
  }

  /** The interpreters in the current epoch: [{id, name}]. */
  get interpreters() {
    return this.members.filter((m) => m.role === Role.INTERPRETER).map((m) => ({ id: toHex(m.memberId), name: m.displayName }));
  }

  /** A proposal (content type 3): a counsellor invites an interpreter, or an interpreter asks to leave. */
  _proposal(base, body) {
    let proposal;
    try {
      proposal = parseProposal(body);
    } catch {
      return; // malformed: changes nothing
    }
    if (proposal.action === 1 && base.role === Role.COUNSELLOR) {
      let cert;
      try {
        cert = parseCertificateOf(proposal.value); // for the name only: the visitor's client verifies it
      } catch {
        return;
      }
      if (cert.role !== Role.INTERPRETER) return;
      const id = toHex(cert.staffId);
      if (this.members.some((m) => toHex(m.memberId) === id)) return;
      this.invites.set(id, { name: cert.displayName, state: "waiting" });
      this.entries.push({ ...base, kind: "system", key: "interpreter_invited", values: { name: cert.displayName } });
    } else if (proposal.action === 2 && base.role === Role.INTERPRETER && toHex(proposal.value) === base.from) {
      if (!this.members.some((m) => toHex(m.memberId) === base.from)) return;
      this.leaving.add(base.from);
      const name = this.members.find((m) => toHex(m.memberId) === base.from)?.displayName || "";
      this.entries.push({ ...base, kind: "system", key: "interpreter_leaving", values: { name } });
    }
  }

  _system(base, key, values) {
    this.entries.push({ ...base, kind: "system", key, values, commitSeq: base.seq });
  }

  /** A signed {kind: "handover", action, commit} from the committer: relabel that commit. */
  _handover(value, from) {
    const last = this.lastCommit;
    if (!last || last.seq !== value.commit || last.from !== from) return;
    const at = this.entries.findIndex((e) => e.commitSeq === last.seq);
    const kept = this.entries.filter((e) => e.commitSeq !== last.seq);
    const tail = this.entries.length;
    if (value.action === "release") {
      this.inQueue = true;
      if (this.handover?.from === from) this.handover = null; // returned to the queue, not handed to me
      this._system(last.base, "requeued", { name: last.committer });
    } else {
      this.inQueue = false;
      this._membership(last);
    }
    const fresh = this.entries.slice(tail);
    kept.splice(at < 0 ? kept.length : at, 0, ...fresh);
    this.entries = kept;
  }

  _entry(base, r) {
    if (r.contentType === ContentType.TEXT) {
      this.entries.push({ ...base, kind: "text", text: utf8Decode(r.body) });
      const live = base.at !== null && Date.parse(base.at) > OPENED_AT - 5000;
      if (base.from !== this.me && live) this.unread += 1;
    } else if (r.contentType === ContentType.APP_JSON) {
      const value = parseJson(r.body);
      const request = base.role === Role.VISITOR ? readInterpreterRequest(value) : null;
      const declined = base.role === Role.VISITOR ? readDeclined(value) : null;
      if (request) {
        this.interpreter = request;
        this.entries.push({ ...base, kind: "system", key: "interpreter", values: { request } });
      } else if (declined) {
        const invite = this.invites.get(declined);
        if (invite) invite.state = "declined";
        this.entries.push({ ...base, kind: "system", key: "interpreter_declined", values: { name: invite?.name || "" } });
      } else if (isHandover(value)) {
        this._handover(value, base.from);
      } else if (isBooking(value) && base.role === Role.VISITOR) {
        this.entries.push({ ...base, kind: "system", key: "booked", values: { start: value.start, reference: value.reference, meeting: value.meeting } });
      }
    } else if (r.contentType === ContentType.PROPOSAL) {
      this._proposal(base, r.body);
    }
  }

  /** An interpreter who asked to leave and is still a member (for their counsellor to remove). */
  leaveDue() {
    for (const id of this.leaving) if (this.members.some((m) => toHex(m.memberId) === id)) return id;
    return null;
  }

  /** Resolve once the transcript has reached `seq` (or after a while, to check again). */
  reached(seq) {
    if (this.lastSeq >= seq) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter = { seq, resolve: () => resolve(true) };
      this.waiters.push(waiter);
      setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve(false);
      }, ECHO_WAIT_MS);
    });
  }

  /** Does the handover from a colleague call for removing them now? */
  handoverDue() {
    if (!this.handover || !this.mine) return null;
    if (this.counsellor && this.counsellor !== this.me) return null; // the server says it is not mine
    const stillThere = this.members.some((m) => toHex(m.memberId) === this.handover.from);
    if (!stillThere) return null;
    return this.handover.shared || Date.now() - this.handover.at > HANDOVER_GRACE_MS ? this.handover.from : null;
  }

  // --- sending ----------------------------------------------------------------------------

  /**
   * Queue an outgoing protocol object. `build()` makes it at the current head (null: nothing to
   * send any more); `type` is the frame type (send, claim, transfer, release, commit); `extra`
   * are further frame fields. Resolves with {ok: true, seq} or {ok: false, code, message}.
   */
  enqueue(type, build, { extra = {}, text = null } = {}) {
    return new Promise((resolve) => {
      this.outbox.push({ clientId: crypto.randomUUID(), type, build, extra, text, ackSeq: null, resolve, tries: 0 });
      this.changed("outbox");
      this.pump();
    });
  }

  /** Send the outbox, one item at a time; called again after every reconnect. */
  async pump() {
    if (this.sending) return;
    this.sending = true;
    try {
      while (this.outbox.length && this.socket.up) {
        const item = this.outbox[0];
        const outcome = await this._attempt(item);
        if (outcome === "retry") continue;
        if (outcome === "offline") break;
        this.outbox.shift();
        item.resolve(outcome);
        this.changed("outbox");
      }
    } finally {
      this.sending = false;
    }
  }

  async _attempt(item) {
    await this.chain; // build only on a fully applied transcript
    if (item.ackSeq !== null) {
      if (await this.reached(item.ackSeq)) return { ok: true, seq: item.ackSeq };
      this.sync();
      return "retry";
    }
    if (this.broken || !this.protocol) return { ok: false, code: this.broken || "not_ready" };
    const builtAt = this.protocol.nextSeq;
    let data;
    try {
      data = await item.build();
    } catch (error) {
      return { ok: false, code: error?.code || "internal_error" };
    }
    if (data === null) return { ok: true, seq: null };
    let answer;
    try {
      answer = await this.socket.request({
        type: item.type,
        conversation: this.id,
        client_id: item.clientId,
        message: b64encode(data),
        ...item.extra,
      });
    } catch (error) {
      if (error instanceof Disconnected) return "offline";
      throw error;
    }
    if (answer.type === "ack") {
      item.ackSeq = answer.seq;
      return "retry";
    }
    if (answer.code === "conflict" && item.tries++ < 20) {
      // Someone wrote first: catch up, then build again at the new head, same client_id.
      if (!(await this.reached(builtAt))) this.sync();
      return "retry";
    }
    return { ok: false, code: answer.code, message: answer.message };
  }

  /** Encrypt and send a text message. */
  sendText(text) {
    return this.enqueue("send", () => this.protocol.encrypt(ContentType.TEXT, utf8(text)), { text });
  }

  /** The transcript position of messages written by me, for receipts. */
  myLastSeq() {
    for (let i = this.entries.length - 1; i >= 0; i--) if (this.entries[i].from === this.me) return this.entries[i].seq;
    return -1;
  }

  /** Forget everything decrypted (the visitor deleted the conversation). */
  shred() {
    this.entries = [];
    this.held.clear();
    this.outbox.splice(0).forEach((item) => item.resolve({ ok: false, code: "deleted" }));
    this.protocol = null;
    this.interpreter = null;
  }
}

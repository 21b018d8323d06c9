// The visitor's side of one conversation over the websocket, without any DOM.
//
// Frames are handled one at a time, in arrival order (receive() is asynchronous and the
// transcript must be applied in seq order).  The conversation's state changes only through
// receive(), when the server echoes a message (PROTOCOL.md §10); sending builds against the
// current head and waits for the echo.  Anything the protocol refuses stops the chat: we
// never show an unverified message and never send anything unencrypted (fail closed).

import {
  b64decode,
  b64encode,
  ContentType,
  parseProposal,
  ProtocolError,
  resumeConversation,
  Role,
  toHex,
  utf8,
  utf8Decode,
} from "../protocol.js";
import { Outbox } from "./outbox.js";

const TYPING_EVERY_MS = 3000;
const RECEIPT_DELAY_MS = 300;

export class ChatClient {
  /**
   * conversationId: hex; conversation: a Conversation (new chats) or null with `resumeState`
   * (from importVisitorState) to rebuild it from the genesis; send(frame) -> bool;
   * emit(event, detail) for the page; isVisible() -> bool decides what counts as read.
   */
  constructor({ conversationId, conversation = null, resumeState = null, send, emit, isVisible = () => true, newId }) {
    this.conversationId = conversationId;
    this.conversation = conversation;
    this.resumeState = resumeState;
    this.sendFrame = send;
    this.emit = emit;
    this.isVisible = isVisible;
    this.outbox = new Outbox(newId);
    this.online = false;
    this.synced = false;
    this.broken = null;
    this.queue = Promise.resolve();
    this.others = { delivered: -1, read: -1 };
    this.sentReceipt = { delivered: -1, read: -1 };
    this.readSeq = -1;
    this.receiptTimer = null;
    this.lastTyping = 0;
    const me = conversation ? conversation.me : resumeState?.me;
    this.myId = me ? toHex(me.memberId) : null;
  }

  /** The last seq applied to the conversation (-1 before the genesis). */
  get lastSeq() {
    return this.conversation ? this.conversation.nextSeq - 1 : -1;
  }

  // --- from the socket ----------------------------------------------------------------

  /** The socket said `welcome`: ask for everything after what we have. */
  connected() {
    this.online = true;
    this.synced = false;
    this._later(async () => {
      this.sendFrame({ type: "sync", conversation: this.conversationId, after: this.lastSeq, ref: "sync" });
    });
  }

  disconnected() {
    this.online = false;
    this.synced = false;
    this.outbox.interrupted();
  }

  /** Every other frame from the server. */
  frame(frame) {
    this._later(() => this._handle(frame));
  }

  // --- from the page --------------------------------------------------------------------

  /** Queue a text for sending; returns its outbox item. Nothing leaves unencrypted. */
  write(text) {
    const item = this.outbox.add(text);
    this.lastTyping = 0; // the next words typed start a new burst: tell the other side at once
    this._later(() => this._flush());
    return item;
  }

  /** Queue a small structured message (ContentType.APP_JSON), e.g. an interpreter request. */
  writeJson(value) {
    const item = this.outbox.add(JSON.stringify(value), "json");
    this._later(() => this._flush());
    return item;
  }

  /**
   * Queue a membership step built at the current head: `build(conversation)` returns
   * {type: "commit"|"send", message: bytes}, or null when there is nothing to do any more.
   * If it throws, nothing is sent and the item fails (fail closed). Returns the outbox item.
   */
  membership(label, build) {
    const item = this.outbox.add(label, "op");
    item.build = build;
    this._later(() => this._flush());
    return item;
  }

  /** The visitor is typing (sent at most every few seconds). */
  typing(now = Date.now()) {
    if (!this.online || this.broken || now - this.lastTyping < TYPING_EVERY_MS) return;
    this.lastTyping = now;
    this.sendFrame({ type: "typing", conversation: this.conversationId });
  }

  /** The page became visible: what was received is now read. */
  seen() {
    this._scheduleReceipt();
  }

  /** Settle everything queued so far (tests and the page's own sequencing). */
  idle() {
    return this.queue;
  }

  // --- inside -----------------------------------------------------------------------------

  _later(task) {
    this.queue = this.queue.then(task).catch((error) => this._fail(error));
    return this.queue;
  }

  _fail(error) {
    if (this.broken) return;
    this.broken = error instanceof ProtocolError ? error.code : "internal_error";
    this.outbox.interrupted();
    this.emit("broken", { code: this.broken });
  }

  async _handle(frame) {
    if (this.broken) return;
    if (frame.conversation !== undefined && frame.conversation !== this.conversationId) return;
    switch (frame.type) {
      case "message":
        await this._message(frame);
        break;
      case "synced":
        this.synced = true;
        await this._flush();
        break;
      case "ack": {
        const item = this.outbox.acked(frame.client_id, frame.seq, this.conversation ? this.conversation.nextSeq : 0);
        if (item) this.emit("settled", { item, seq: frame.seq });
        await this._flush();
        break;
      }
      case "error":
        await this._error(frame);
        break;
      case "receipt":
        if (frame.member !== this.myId) this._receipt(frame);
        break;
      case "typing":
        if (frame.member !== "visitor" && frame.member !== this.myId) {
          this.emit("typing", { member: frame.member, seconds: frame.seconds ?? 5 });
        }
        break;
      case "conversation":
        this.emit("status", { status: frame.status, counsellor: frame.counsellor, lastSeq: frame.last_seq });
        break;
      default:
        break;
    }
  }

  async _message(frame) {
    if (frame.seq <= this.lastSeq) return; // a repeat: already applied
    const data = b64decode(frame.message);
    if (!this.conversation) {
      if (frame.seq !== 0) throw new ProtocolError("gap");
      this.conversation = await resumeConversation(this.resumeState, data);
      this.emit("ready", {});
      return;
    }
    const r = await this.conversation.receive(data);
    const senderId = toHex(r.senderId);
    const mine = senderId === this.myId;
    if (r.kind === "application" && r.readable && r.contentType === ContentType.TEXT) {
      const item = mine ? this.outbox.echoed(frame.message, r.seq) : null;
      this.emit("message", { seq: r.seq, mine, text: utf8Decode(r.body), at: frame.at, senderId, senderRole: r.senderRole, item });
    } else if (r.kind === "application" && r.readable && r.contentType === ContentType.APP_JSON) {
      const item = mine ? this.outbox.echoed(frame.message, r.seq) : null;
      let value = null;
      try {
        value = JSON.parse(utf8Decode(r.body));
      } catch {
        value = null;
      }
      if (value && typeof value === "object") this.emit("data", { seq: r.seq, mine, value, item, senderId });
    } else if (r.kind === "application" && r.readable && r.contentType === ContentType.PROPOSAL) {
      let proposal = null;
      try {
        proposal = parseProposal(r.body);
      } catch {
        proposal = null; // a malformed proposal changes nothing: ignore it
      }
      if (proposal && !mine) this.emit("proposal", { seq: r.seq, senderId, senderRole: r.senderRole, proposal });
    } else if (r.kind === "commit") {
      const item = mine ? this.outbox.echoed(frame.message, r.seq) : null;
      this.emit("members", {
        item,
        seq: r.seq,
        members: r.members.filter((m) => m.role !== Role.VISITOR),
        added: r.added.map(toHex),
        removed: r.removed.map(toHex),
        senderId,
      });
    } else if (r.kind === "history") {
      const item = mine ? this.outbox.echoed(frame.message, r.seq) : null;
      this.emit("history", { seq: r.seq, item, senderId, recipient: toHex(r.historyRecipient), epochs: r.historyEpochs });
    }
    if (!mine) this.emit("typing", { member: senderId, seconds: 0 });
    this._scheduleReceipt();
    await this._flush();
  }

  async _error(frame) {
    const ref = typeof frame.ref === "string" ? frame.ref : "";
    if (ref.startsWith("s.")) {
      const clientId = ref.slice(2);
      if (frame.code === "conflict") {
        this.outbox.conflict(clientId);
      } else {
        const item = this.outbox.failed(clientId);
        if (item) this.emit("failed", { item, code: frame.code });
      }
      await this._flush();
    } else if (frame.code === "rate_limited") {
      // The frame was dropped; send whatever was in flight again a little later (same client_id).
      this.outbox.interrupted();
      const wait = Math.max(1, Number(frame.retry_after) || 1) * 1000;
      setTimeout(() => this._later(() => this._flush()), wait);
    } else if (ref === "sync") {
      this.emit("gone", { code: frame.code });
    }
  }

  _receipt(frame) {
    this.others.delivered = Math.max(this.others.delivered, frame.delivered);
    this.others.read = Math.max(this.others.read, frame.read);
    this.emit("receipts", { ...this.others });
  }

  _scheduleReceipt() {
    if (this.receiptTimer !== null) return;
    this.receiptTimer = setTimeout(() => {
      this.receiptTimer = null;
      this._sendReceipt();
    }, RECEIPT_DELAY_MS);
  }

  _sendReceipt() {
    if (!this.online || this.broken || !this.conversation) return;
    const delivered = this.lastSeq;
    if (this.isVisible()) this.readSeq = delivered;
    const read = this.readSeq;
    if (delivered === this.sentReceipt.delivered && read === this.sentReceipt.read) return;
    if (this.sendFrame({ type: "receipt", conversation: this.conversationId, delivered, read })) {
      this.sentReceipt = { delivered, read };
    }
  }

  async _flush() {
    if (!this.online || !this.synced || this.broken || !this.conversation) return;
    const item = this.outbox.next(this.conversation.nextSeq);
    if (!item) return;
    const seq = this.conversation.nextSeq;
    let wire;
    let frameType = "send";
    try {
      if (item.kind === "op") {
        const built = await item.build(this.conversation);
        if (built === null) {
          // Nothing to do any more (e.g. the interpreter has already gone): done, nothing sent.
          this.outbox.done(item);
          this.emit("settled", { item, seq: null });
          await this._flush();
          return;
        }
        frameType = built.type === "commit" ? "commit" : "send";
        wire = b64encode(built.message);
      } else {
        const type = item.kind === "json" ? ContentType.APP_JSON : ContentType.TEXT;
        wire = b64encode(await this.conversation.encrypt(type, utf8(item.text)));
      }
    } catch (error) {
      // Fail closed: the message stays unsent and is marked so; nothing leaves in clear.
      this.outbox.failed(item.clientId);
      this.emit("failed", { item, code: error instanceof ProtocolError ? error.code : "internal_error" });
      return;
    }
    this.outbox.sending(item, wire, seq);
    const frame = { type: frameType, conversation: this.conversationId, client_id: item.clientId, message: wire, ref: `s.${item.clientId}` };
    if (!this.sendFrame(frame)) this.outbox.interrupted();
  }
}

// What the members of a conversation tell each other beside the transcript: who is typing, and
// how far each has received and read. Neither is part of the encrypted log: the server relays a
// typing notice for a few seconds and keeps receipts as numbers (docs/API.md).

export const TYPING_EVERY_MS = 3000;
export const RECEIPT_DELAY_MS = 300;
const TYPING_SECONDS = 5;

export class Signals {
  /**
   * session: the ChatSession they belong to (its id, me, connection and transcript).
   * isRead(): whether what has arrived counts as read now; mayReceipt(): whether to send
   * receipts at all; receiptDelayMs: how long arrivals must pause before a receipt goes.
   */
  constructor(session, { isRead, mayReceipt, receiptDelayMs = RECEIPT_DELAY_MS } = {}) {
    this.session = session;
    this.isRead = isRead ?? (() => true);
    this.mayReceipt = mayReceipt ?? (() => true);
    this.receiptDelayMs = receiptDelayMs;
    this.typing = new Map(); // member (or "visitor") -> until (ms)
    this.lastTyping = 0;
    this.readSeq = -1;
    this.sent = { delivered: -1, read: -1 };
    this.timer = null;
  }

  /** Tell the others I am typing (at most every few seconds). */
  typingNotice(now = Date.now()) {
    const s = this.session;
    if (!s.online || s.broken || s.closed || now - this.lastTyping < TYPING_EVERY_MS) return;
    this.lastTyping = now;
    s.sendFrame({ type: "typing", conversation: s.id });
  }

  /** I sent something: the next words typed start a new burst, told at once. */
  wrote() {
    this.lastTyping = 0;
  }

  /** A `typing` frame: someone else is writing (not me, nor my own other tab). */
  heard({ member, seconds }) {
    const s = this.session;
    if (member === s.me || (s.isVisitor && member === "visitor")) return false;
    this.typing.set(member, Date.now() + (Number.isFinite(seconds) ? seconds : TYPING_SECONDS) * 1000);
    return true;
  }

  /** A message from `member` arrived: they have stopped typing. */
  stopped(member, isVisitor) {
    this.typing.delete(member);
    if (isVisitor) this.typing.delete("visitor");
  }

  /** Who is typing now (member ids, or "visitor"). */
  typingNow(now = Date.now()) {
    return [...this.typing].filter(([, until]) => until > now).map(([member]) => member);
  }

  /** Say how far I have received and read, once messages stop arriving for a moment. */
  scheduleReceipt() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this._sendReceipt(), this.receiptDelayMs);
  }

  _sendReceipt() {
    const s = this.session;
    if (!s.online || s.broken || s.closed || !s.conversation || !this.mayReceipt()) return;
    const delivered = s.lastSeq;
    if (this.isRead()) this.readSeq = delivered;
    const read = this.readSeq;
    if (delivered === this.sent.delivered && read === this.sent.read) return;
    if (s.sendFrame({ type: "receipt", conversation: s.id, delivered, read })) this.sent = { delivered, read };
  }
}

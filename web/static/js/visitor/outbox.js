// Messages the visitor wrote that the server has not yet echoed back, in order.
//
// One message is in flight at a time: the protocol builds each message at the
// current head (seq, prev_hash), and the head moves only when the server echoes
// a message back (PROTOCOL.md §10).  Every message keeps one client_id for its
// whole life, so sending it again (after a conflict or a reconnect) is
// idempotent on the server: a message the server has already stored is
// acknowledged with its original seq and never stored twice.

export class Outbox {
  constructor(newId = () => globalThis.crypto.randomUUID()) {
    this.items = [];
    this.inFlight = null;
    this.newId = newId;
  }

  /** Queue a body (text, or JSON for `kind: "json"`); returns the item (its clientId names it from now on). */
  add(text, kind = "text") {
    const item = { clientId: this.newId(), text, kind, wires: new Set(), seq: null, ackSeq: null, waitFor: null, failed: false };
    this.items.push(item);
    return item;
  }

  find(clientId) {
    return this.items.find((i) => i.clientId === clientId) ?? null;
  }

  /** The item to encrypt now for a conversation whose next seq is `nextSeq`, or null. */
  next(nextSeq) {
    if (this.inFlight) return null;
    const item = this.items.find((i) => !i.failed);
    if (!item) return null;
    // After a conflict, wait until the message that took our place has arrived.
    if (item.waitFor !== null && nextSeq <= item.waitFor) return null;
    return item;
  }

  /** `item` was encrypted at `seq` as `wire` (base64url) and handed to the socket. */
  sending(item, wire, seq) {
    item.wires.add(wire);
    item.seq = seq;
    item.waitFor = null;
    this.inFlight = item;
  }

  /** The server stored `clientId` at `seq`; returns the item if its echo was already received. */
  acked(clientId, seq, nextSeq) {
    const item = this.find(clientId);
    if (!item) return null;
    item.ackSeq = seq;
    if (seq < nextSeq) {
      this._remove(item);
      return item;
    }
    return null;
  }

  /** Someone else's message took our seq: build again once it has arrived. */
  conflict(clientId) {
    const item = this.find(clientId);
    if (!item) return;
    item.waitFor = item.seq;
    if (this.inFlight === item) this.inFlight = null;
  }

  /** The server refused the message for good (e.g. the conversation has ended). */
  failed(clientId) {
    const item = this.find(clientId);
    if (!item) return null;
    item.failed = true;
    if (this.inFlight === item) this.inFlight = null;
    return item;
  }

  /** My own message came back at `seq`: the item it was (matched by bytes or ack), or null. */
  echoed(wire, seq) {
    const item = this.items.find((i) => i.wires.has(wire) || i.ackSeq === seq);
    if (!item) return null;
    this._remove(item);
    return item;
  }

  /** Finished without sending anything (an operation that had nothing left to do). */
  done(item) {
    this._remove(item);
  }

  /** The connection went away: whatever was in flight is sent again (same client_id). */
  interrupted() {
    this.inFlight = null;
  }

  get waiting() {
    return this.items.filter((i) => !i.failed).length;
  }

  _remove(item) {
    this.items = this.items.filter((i) => i !== item);
    if (this.inFlight === item) this.inFlight = null;
  }
}

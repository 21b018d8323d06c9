// What this client has written that the server has not yet echoed back, in order.
//
// One item is in flight at a time: the protocol builds each message at the current head (seq,
// prev_hash), and the head moves only when the server echoes a message back (PROTOCOL.md §10).
// Every item keeps one client_id for its whole life, so sending it again (after a conflict or a
// reconnect) is idempotent on the server: a message the server has already stored is
// acknowledged with its original seq and never stored twice.

export const MAX_CONFLICTS = 20; // someone else wrote first this many times in a row: give up

export class Outbox {
  constructor(newId = () => globalThis.crypto.randomUUID()) {
    this.items = [];
    this.inFlight = null;
    this.newId = newId;
  }

  /**
   * Queue an item. `build(conversation)` makes its bytes at the current head (null: nothing to
   * send any more); `frame` is the frame type (send, claim, transfer, release, commit) and
   * `fields` further frame fields; `text` is what the page shows while it waits (null: nothing).
   * `item.result` resolves with {ok: true, seq} or {ok: false, code, message}.
   */
  add({ build, frame = "send", fields = {}, text = null, kind = "text" }) {
    let settle;
    const result = new Promise((resolve) => {
      settle = resolve;
    });
    const item = {
      clientId: this.newId(),
      kind,
      frame,
      fields,
      text,
      build,
      result,
      settle,
      wires: new Set(),
      seq: null,
      ackSeq: null,
      waitFor: null,
      conflicts: 0,
      failed: false,
      code: null,
      message: "",
    };
    this.items.push(item);
    return item;
  }

  find(clientId) {
    return this.items.find((i) => i.clientId === clientId) ?? null;
  }

  /** The item to build now for a conversation whose next seq is `nextSeq`, or null. */
  next(nextSeq) {
    if (this.inFlight) return null;
    const item = this.items.find((i) => !i.failed);
    if (!item) return null;
    // After a conflict, wait until the message that took our place has arrived.
    if (item.waitFor !== null && nextSeq <= item.waitFor) return null;
    return item;
  }

  /** `item` was built at `seq` as `wire` (base64url) and handed to the socket. */
  sending(item, wire, seq) {
    item.wires.add(wire);
    item.seq = seq;
    item.waitFor = null;
    this.inFlight = item;
  }

  /** The server stored `clientId` at `seq`; returns the item if its echo was already applied. */
  acked(clientId, seq, nextSeq) {
    const item = this.find(clientId);
    if (!item) return null;
    item.ackSeq = seq;
    if (seq < nextSeq) {
      this._settle(item, { ok: true, seq });
      return item;
    }
    return null;
  }

  /** Someone else's message took our seq: build again once it has arrived (or give up). */
  conflict(clientId) {
    const item = this.find(clientId);
    return item ? this.hold(item, item.seq, "conflict") : null;
  }

  /**
   * Build `item` again only once the transcript has passed `seq` (we know the server is ahead);
   * after too many rounds it fails with `code`.
   */
  hold(item, seq, code) {
    item.conflicts += 1;
    if (item.conflicts > MAX_CONFLICTS) return this.failed(item.clientId, code);
    item.waitFor = seq;
    if (this.inFlight === item) this.inFlight = null;
    return item;
  }

  /** The item cannot be sent (refused by the server, or it could not be built): it stays, marked. */
  failed(clientId, code = "error", message = "") {
    const item = this.find(clientId);
    if (!item || item.failed) return item;
    item.failed = true;
    item.code = code;
    item.message = message || "";
    if (this.inFlight === item) this.inFlight = null;
    item.settle({ ok: false, code, message: message || "" });
    return item;
  }

  /** My own message came back at `seq`: the item it was (matched by bytes or ack), or null. */
  echoed(wire, seq) {
    const item = this.items.find((i) => !i.failed && (i.wires.has(wire) || i.ackSeq === seq));
    if (!item) return null;
    this._settle(item, { ok: true, seq });
    return item;
  }

  /** Finished without sending anything (an operation that had nothing left to do). */
  done(item) {
    this._settle(item, { ok: true, seq: null });
  }

  /** The connection went away: whatever was in flight is sent again (same client_id). */
  interrupted() {
    this.inFlight = null;
  }

  /** Fail everything still waiting (the conversation stopped or was deleted). */
  abandon(code) {
    for (const item of this.items) if (!item.failed) this.failed(item.clientId, code);
  }

  /** Items not yet stored (failed ones excluded). */
  get waiting() {
    return this.items.filter((i) => !i.failed).length;
  }

  _settle(item, outcome) {
    this.items = this.items.filter((i) => i !== item);
    if (this.inFlight === item) this.inFlight = null;
    item.settle(outcome);
  }
}

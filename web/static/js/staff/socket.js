// The staff pages' one websocket (reconnecting-socket.js): cookie-authenticated, paced under
// the server's frame limit, and with request/answer matching by `ref`.

import { ReconnectingSocket, socketUrl } from "../shared/reconnecting-socket.js";

export { socketUrl };

const TIMING = { firstBackoffMs: 1000, maxBackoffMs: 30000, heartbeatMs: 20000, silenceMs: 50000 };
const ANSWER_TIMEOUT_MS = 15000;
// The server allows 30 frames per 10 s; stay well under it so a busy queue never trips it.
const FRAMES_PER_WINDOW = 24;
const WINDOW_MS = 10000;

/** The connection went away before an answer came: the caller retries after reconnecting. */
export class Disconnected extends Error {
  constructor() {
    super("disconnected");
    this.name = "Disconnected";
  }
}

export class StaffSocket extends ReconnectingSocket {
  /** handlers: open(), down(), frame(frame) — every frame without a pending ref. */
  constructor(handlers, { url = socketUrl(), win = window } = {}) {
    super({ url, win, timing: TIMING });
    this.handlers = handlers;
    this.nextRef = 1;
    this.pending = new Map(); // ref -> {resolve, reject, timer}
    this.outgoing = []; // frames waiting for room under the rate limit
    this.sentAt = [];
    this.paceTimer = null;
  }

  /** Send a frame (paced); false if there is no connection (the caller keeps its state). */
  send(frame) {
    if (!this.up) return false;
    this.outgoing.push(frame);
    this._flush();
    return true;
  }

  /** Send a frame with a fresh ref and resolve with the answer carrying it (ack, error, …). */
  request(frame) {
    if (!this.up) return Promise.reject(new Disconnected());
    const ref = `r${this.nextRef++}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(ref);
        reject(new Disconnected());
      }, ANSWER_TIMEOUT_MS + this.outgoing.length * 500);
      this.pending.set(ref, { resolve, reject, timer });
      this.send({ ...frame, ref });
    });
  }

  _flush() {
    clearTimeout(this.paceTimer);
    const now = Date.now();
    this.sentAt = this.sentAt.filter((t) => now - t < WINDOW_MS);
    while (this.outgoing.length && this.sentAt.length < FRAMES_PER_WINDOW) {
      if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return;
      this.ws.send(JSON.stringify(this.outgoing.shift()));
      this.sentAt.push(now);
    }
    if (this.outgoing.length) {
      this.paceTimer = setTimeout(() => this._flush(), WINDOW_MS - (now - this.sentAt[0]) + 20);
    }
  }

  _opened() {
    this._ready();
    this.handlers.open?.();
  }

  _received(frame) {
    const waiting = frame.ref ? this.pending.get(frame.ref) : undefined;
    if (waiting) {
      clearTimeout(waiting.timer);
      this.pending.delete(frame.ref);
      waiting.resolve(frame);
      if (frame.type !== "queue") return; // a queue answer also updates the dashboard
    }
    this.handlers.frame?.(frame);
  }

  _lost(wasUp) {
    this.outgoing = [];
    for (const [ref, waiting] of this.pending) {
      clearTimeout(waiting.timer);
      waiting.reject(new Disconnected());
      this.pending.delete(ref);
    }
    if (wasUp) this.handlers.down?.();
  }
}

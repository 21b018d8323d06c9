// The dashboard's one websocket: cookie-authenticated, reconnecting with exponential backoff
// (and at once when the browser is online again), paced under the server's frame limit, and
// with request/answer matching by `ref`.

const MAX_BACKOFF_MS = 30000;
const HEARTBEAT_MS = 20000;
const SILENCE_MS = 50000;
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

export function socketUrl(loc = window.location) {
  return `${loc.protocol === "https:" ? "wss:" : "ws:"}//${loc.host}/ws`;
}

export class StaffSocket {
  /** handlers: open(), down(), frame(frame) — every frame without a pending ref. */
  constructor(handlers, { url = socketUrl(), win = window } = {}) {
    this.handlers = handlers;
    this.url = url;
    this.win = win;
    this.ws = null;
    this.up = false;
    this.stopped = true;
    this.attempt = 0;
    this.timer = null;
    this.heartbeat = null;
    this.lastHeard = 0;
    this.nextRef = 1;
    this.pending = new Map(); // ref -> {resolve, reject, timer}
    this.outgoing = []; // frames waiting for room under the rate limit
    this.sentAt = [];
    this.paceTimer = null;
    this.onOnline = () => this._now();
  }

  start() {
    this.stopped = false;
    this.win.addEventListener("online", this.onOnline);
    this.heartbeat = setInterval(() => this._beat(), HEARTBEAT_MS);
    this._open();
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

  _open() {
    if (this.stopped || this.ws) return;
    clearTimeout(this.timer);
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch {
      this._schedule();
      return;
    }
    this.ws = ws;
    ws.addEventListener("open", () => {
      if (this.ws !== ws) return;
      this.lastHeard = Date.now();
      this.up = true;
      this.attempt = 0;
      this.handlers.open?.();
    });
    ws.addEventListener("message", (event) => {
      if (this.ws !== ws) return;
      this.lastHeard = Date.now();
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      if (frame === null || typeof frame !== "object") return;
      const waiting = frame.ref ? this.pending.get(frame.ref) : undefined;
      if (waiting) {
        clearTimeout(waiting.timer);
        this.pending.delete(frame.ref);
        waiting.resolve(frame);
        if (frame.type !== "queue") return; // a queue answer also updates the dashboard
      }
      this.handlers.frame?.(frame);
    });
    const gone = () => {
      if (this.ws === ws) this._drop();
    };
    ws.addEventListener("close", gone);
    ws.addEventListener("error", gone);
  }

  _drop() {
    const ws = this.ws;
    const wasUp = this.up;
    this.ws = null;
    this.up = false;
    this.outgoing = [];
    for (const [ref, waiting] of this.pending) {
      clearTimeout(waiting.timer);
      waiting.reject(new Disconnected());
      this.pending.delete(ref);
    }
    if (ws) {
      try {
        ws.close();
      } catch {
        // already closed
      }
    }
    if (wasUp) this.handlers.down?.();
    this._schedule();
  }

  _schedule() {
    if (this.stopped) return;
    clearTimeout(this.timer);
    const base = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** this.attempt);
    this.attempt += 1;
    this.timer = setTimeout(() => this._open(), base / 2 + Math.random() * (base / 2));
  }

  _now() {
    if (this.stopped || this.up) return;
    this.attempt = 0;
    if (!this.ws) this._open();
  }

  _beat() {
    if (!this.up) return;
    if (Date.now() - this.lastHeard > SILENCE_MS) {
      this._drop();
      return;
    }
    this.send({ type: "ping" });
  }
}

// One websocket per tab, kept open: `hello` with the visitor's token, reconnect with
// exponential backoff (and at once when the browser says it is online again), and a
// heartbeat so a connection that died silently is noticed and replaced.

const MAX_BACKOFF_MS = 20000;
const HEARTBEAT_MS = 15000;
const SILENCE_MS = 35000;

export class VisitorSocket {
  /** handlers: welcome(frame), frame(frame), down(), unauthorized() */
  constructor(token, handlers, { url = socketUrl(), win = window } = {}) {
    this.token = token;
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
    this.onOnline = () => this._now();
    this.onOffline = () => this._drop();
  }

  start() {
    this.stopped = false;
    this.win.addEventListener("online", this.onOnline);
    this.win.addEventListener("offline", this.onOffline);
    this.heartbeat = setInterval(() => this._beat(), HEARTBEAT_MS);
    this._open();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.heartbeat);
    this.win.removeEventListener("online", this.onOnline);
    this.win.removeEventListener("offline", this.onOffline);
    const ws = this.ws;
    this.ws = null;
    this.up = false;
    if (ws) ws.close(1000);
  }

  /** Send a frame if the connection is authenticated; false otherwise (the caller keeps it). */
  send(frame) {
    if (!this.up || !this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
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
      this.lastHeard = Date.now();
      ws.send(JSON.stringify({ type: "hello", token: this.token, ref: "hello" }));
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
      if (frame.type === "welcome") {
        this.up = true;
        this.attempt = 0;
        this.handlers.welcome(frame);
      } else if (frame.type === "error" && frame.code === "unauthorized") {
        this.stop();
        this.handlers.unauthorized();
      } else if (frame.type !== "pong") {
        this.handlers.frame(frame);
      }
    });
    ws.addEventListener("close", () => {
      if (this.ws !== ws) return;
      this.ws = null;
      const wasUp = this.up;
      this.up = false;
      if (wasUp) this.handlers.down();
      this._schedule();
    });
  }

  _schedule() {
    if (this.stopped) return;
    const base = Math.min(MAX_BACKOFF_MS, 500 * 2 ** this.attempt);
    this.attempt += 1;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this._open(), base / 2 + Math.random() * (base / 2));
  }

  /** The browser is online again: try now rather than at the end of the backoff. */
  _now() {
    if (this.stopped) return;
    this.attempt = 0;
    if (!this.ws) this._open();
  }

  /** The browser went offline: the connection is no use; give it up and wait. */
  _drop() {
    const ws = this.ws;
    if (!ws) return;
    this.ws = null;
    const wasUp = this.up;
    this.up = false;
    ws.close();
    if (wasUp) this.handlers.down();
    this._schedule();
  }

  _beat() {
    if (!this.ws || !this.up) return;
    if (Date.now() - this.lastHeard > SILENCE_MS) {
      this._drop();
      return;
    }
    this.send({ type: "ping" });
  }
}

export function socketUrl(loc = window.location) {
  return `${loc.protocol === "https:" ? "wss:" : "ws:"}//${loc.host}/ws`;
}

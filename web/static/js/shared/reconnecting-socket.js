// A websocket that stays open: reconnects with exponential backoff and jitter (at once when
// the browser says it is online again), and a heartbeat so a connection that died silently is
// noticed and replaced. The visitor's and the staff's sockets extend it with how they log in
// and what they do with frames; neither knows anything about the other.

export function socketUrl(loc = window.location, root = centreRoot()) {
  return `${loc.protocol === "https:" ? "wss:" : "ws:"}//${loc.host}${root}/ws`;
}

/** This centre's path prefix ("/c/<slug>"), or "" (see <meta name="trygg-root">). */
function centreRoot() {
  if (typeof document === "undefined") return "";
  return document.querySelector('meta[name="trygg-root"]')?.getAttribute("content") || "";
}

/** How long a connection must have stayed up for the back-off to start again from the beginning. */
export const STABLE_MS = 10000;

export class ReconnectingSocket {
  /** timing: {firstBackoffMs, maxBackoffMs, heartbeatMs, silenceMs} */
  constructor({ url = socketUrl(), win = window, timing }) {
    this.url = url;
    this.win = win;
    this.timing = timing;
    this.ws = null;
    this.up = false; // authenticated and usable (the subclass decides when)
    this.stopped = true;
    this.attempt = 0;
    this.upSince = 0;
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
    this.heartbeat = setInterval(() => this._beat(), this.timing.heartbeatMs);
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

  /** The connection is open and authenticated.  The back-off starts again from the beginning
   * only once it has stayed up a while (STABLE_MS): a server that lets a tab in and then asks
   * it to come back later (4503, a restart storm) sees that tab back off further each time. */
  _ready() {
    this.up = true;
    this.upSince = Date.now();
  }

  // Hooks for subclasses.
  _opened(_ws) {}
  _received(_frame) {}
  _lost(_wasUp) {}

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
      this._opened(ws);
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
      if (frame !== null && typeof frame === "object" && frame.type !== "pong") this._received(frame);
    });
    const gone = () => {
      if (this.ws === ws) this._drop();
    };
    ws.addEventListener("close", gone);
    ws.addEventListener("error", gone);
  }

  /** Give the connection up (closed, silent, or the browser went offline) and try again later. */
  _drop() {
    const ws = this.ws;
    if (!ws) return;
    const wasUp = this.up;
    if (wasUp && Date.now() - this.upSince >= STABLE_MS) this.attempt = 0;
    this.ws = null;
    this.up = false;
    try {
      ws.close();
    } catch {
      // already closed
    }
    this._lost(wasUp);
    this._schedule();
  }

  _schedule() {
    if (this.stopped) return;
    clearTimeout(this.timer);
    const base = Math.min(this.timing.maxBackoffMs, this.timing.firstBackoffMs * 2 ** this.attempt);
    this.attempt += 1;
    // Equal jitter (half to all of the back-off). Measured against full jitter (a tenth to all)
    // in a 1,000-tab restart storm: fewer attempts and an earlier catch-up (docs/PERFORMANCE.md).
    this.timer = setTimeout(() => this._open(), base / 2 + Math.random() * (base / 2));
  }

  /** The browser is online again: try now rather than at the end of the backoff. */
  _now() {
    if (this.stopped || this.up) return;
    this.attempt = 0;
    if (!this.ws) this._open();
  }

  _beat() {
    if (!this.ws || !this.up) return;
    if (Date.now() - this.lastHeard > this.timing.silenceMs) {
      this._drop();
      return;
    }
    this.send({ type: "ping" });
  }
}

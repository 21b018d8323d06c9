// One websocket per tab, kept open (reconnecting-socket.js): `hello` with the visitor's token
// once it opens; usable after the server's `welcome`; an `unauthorized` answer ends it.

import { ReconnectingSocket, socketUrl } from "../shared/reconnecting-socket.js";

export { socketUrl };

const TIMING = { firstBackoffMs: 500, maxBackoffMs: 20000, heartbeatMs: 15000, silenceMs: 35000 };

export class VisitorSocket extends ReconnectingSocket {
  /** handlers: welcome(frame), frame(frame), down(), unauthorized() */
  constructor(token, handlers, { url = socketUrl(), win = window } = {}) {
    super({ url, win, timing: TIMING });
    this.token = token;
    this.handlers = handlers;
  }

  /** Send a frame if the connection is authenticated; false otherwise (the caller keeps it). */
  send(frame) {
    if (!this.up || !this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  _opened(ws) {
    ws.send(JSON.stringify({ type: "hello", token: this.token, ref: "hello" }));
  }

  _received(frame) {
    if (frame.type === "welcome") {
      this._ready();
      this.handlers.welcome(frame);
    } else if (frame.type === "error" && frame.code === "unauthorized") {
      this.stop();
      this.handlers.unauthorized();
    } else {
      this.handlers.frame(frame);
    }
  }

  _lost(wasUp) {
    if (wasUp) this.handlers.down();
  }
}

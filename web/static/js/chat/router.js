// One socket, several conversations: frames go to the session they concern (by conversation id,
// or by the ref a session put on its own frames), everything else to the page.

const SESSION_FRAMES = new Set(["message", "synced", "ack", "error", "typing", "receipt", "conversation", "rekey_needed"]);

export class FrameRouter {
  /** `other(frame)`: every frame no session takes (queue, assignments, presence, standing, …). */
  constructor(other = () => {}) {
    this.sessions = new Map();
    this.online = false;
    this.other = other;
  }

  /** Route this session's frames from now on (it learns at once whether we are connected). */
  add(session) {
    this.sessions.set(session.id, session);
    if (this.online) session.connected();
    return session;
  }

  get(id) {
    return this.sessions.get(id);
  }

  remove(id) {
    this.sessions.delete(id);
  }

  /** The socket is usable (staff: open; visitor: after `welcome`). */
  connected() {
    this.online = true;
    for (const session of this.sessions.values()) session.connected();
  }

  disconnected() {
    this.online = false;
    for (const session of this.sessions.values()) session.disconnected();
  }

  route(frame) {
    if (frame.type === "error" && frame.code === "rate_limited" && !frame.ref) {
      for (const session of this.sessions.values()) session.rateLimited(frame.retry_after);
      this.other(frame);
      return;
    }
    const session = SESSION_FRAMES.has(frame.type) ? this._sessionFor(frame) : null;
    if (session) session.handle(frame);
    else this.other(frame);
  }

  _sessionFor(frame) {
    if (typeof frame.conversation === "string") return this.sessions.get(frame.conversation) ?? null;
    const ref = typeof frame.ref === "string" ? frame.ref : "";
    if (ref.startsWith("sync.")) return this.sessions.get(ref.slice(5)) ?? null;
    if (ref.startsWith("s.")) {
      const clientId = ref.slice(2);
      for (const session of this.sessions.values()) if (session.outbox.find(clientId)) return session;
    }
    return null;
  }
}

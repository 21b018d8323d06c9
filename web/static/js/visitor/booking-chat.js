// After booking from a chat: tell the conversation, end-to-end encrypted like every message,
// with one small APP_JSON message {"kind": "booking", "reference", "start", "meeting"}
// (docs/API.md, application messages).
// It reopens the chat kept in this tab (sessionStorage) just long enough to catch up with the
// transcript (every message verified, as on the chat page), send, and see it stored.
// No receipts or typing notices are sent from here: the visitor has not read anything here.

import { b64decode, fromHex, importVisitorState, resumeConversation, toHex } from "../protocol.js";
import { FrameRouter } from "../chat/router.js";
import { ChatSession } from "../chat/session.js";
import { VisitorSocket } from "./socket.js";

/** Resolves true once the server has stored the message, false if it could not be sent. */
export async function tellChat(stored, value, timeoutMs = 20000) {
  const keys = { stateKey: b64decode(stored.stateKey), iterations: stored.iterations, centreId: fromHex(stored.centreId) };
  const resumeState = await importVisitorState(b64decode(stored.state), keys);
  return new Promise((resolve) => {
    let socket = null;
    let done = false;
    const finish = (ok) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket?.stop();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    const session = new ChatSession({
      id: stored.conversation,
      me: toHex(resumeState.me.memberId),
      visitor: true,
      open: (genesis) => resumeConversation(resumeState, genesis),
      send: (frame) => socket.send(frame),
      isRead: () => false,
      mayReceipt: () => false,
    });
    session.on((name) => {
      if (name === "broken" || name === "gone") finish(false);
    });
    const router = new FrameRouter();
    router.add(session);
    session.follow();
    // Built once the conversation is rebuilt from its genesis and caught up, at the head.
    session.writeJson(value).result.then((result) => finish(result.ok));
    socket = new VisitorSocket(stored.token, {
      welcome: () => router.connected(),
      frame: (frame) => router.route(frame),
      down: () => router.disconnected(),
      unauthorized: () => finish(false),
    });
    socket.start();
  });
}

// After booking from a chat: tell the conversation, end-to-end encrypted like every message,
// with one small APP_JSON message {"kind": "booking", "reference", "start", "meeting"}
// (docs/API.md, application messages).
// It reopens the chat kept in this tab (sessionStorage) just long enough to catch up with the
// transcript (every message verified, as on the chat page), send, and see it acknowledged.
// No receipts are sent from here: the visitor has not read anything on this page.

import { b64decode, fromHex, importVisitorState } from "../protocol.js";
import { ChatClient } from "./client.js";
import { VisitorSocket } from "./socket.js";

/** Resolves true once the server has stored the message, false if it could not be sent. */
export async function tellChat(session, value, timeoutMs = 20000) {
  const keys = { stateKey: b64decode(session.stateKey), iterations: session.iterations, centreId: fromHex(session.centreId) };
  const resumeState = await importVisitorState(b64decode(session.state), keys);
  return new Promise((resolve) => {
    let socket = null;
    let item = null;
    let done = false;
    const finish = (ok) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket?.stop();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    const ours = (detail) => item !== null && detail?.item?.clientId === item.clientId;
    const client = new ChatClient({
      conversationId: session.conversation,
      resumeState,
      send: (frame) => (frame.type === "receipt" || frame.type === "typing" ? false : socket.send(frame)),
      emit: (name, detail) => {
        // The conversation is rebuilt from its genesis when that arrives: write only then.
        if (name === "ready" && item === null) item = client.writeJson(value);
        else if ((name === "settled" || name === "data") && ours(detail)) finish(true);
        else if (name === "failed" && ours(detail)) finish(false);
        else if (name === "broken" || name === "gone") finish(false);
      },
      isVisible: () => false,
    });
    socket = new VisitorSocket(session.token, {
      welcome: () => client.connected(),
      frame: (frame) => client.frame(frame),
      down: () => client.disconnected(),
      unauthorized: () => finish(false),
    });
    socket.start();
  });
}

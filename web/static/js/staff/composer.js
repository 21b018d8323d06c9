// The message box the staff pages share: Enter sends (Shift+Enter is a new line), and typing
// tells the others at most every few seconds per conversation.

const TYPING_EVERY_MS = 3000;

/** `current()` → the selected conversation or null; `canWrite(conv)`; `socket()` → StaffSocket. */
export function wireComposer({ current, canWrite, socket }) {
  const input = document.getElementById("message-input");
  const lastTyping = new Map();
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      document.getElementById("composer").requestSubmit();
    }
  });
  input.addEventListener("input", () => {
    const conv = current();
    if (!conv || !canWrite(conv)) return;
    if (Date.now() - (lastTyping.get(conv.id) || 0) < TYPING_EVERY_MS) return;
    lastTyping.set(conv.id, Date.now());
    socket().send({ type: "typing", conversation: conv.id });
  });
}

// The message box every chat page has: Enter sends (Shift+Enter is a new line), typing tells the
// others (paced by the session), and each conversation keeps its own draft, in memory only. The
// box always shows the draft of the conversation it is bound to, so text typed for one person
// can never be sent to another after switching conversations.

/**
 * form, input: the composer's elements. current() → the ChatSession shown (or null);
 * canWrite(session); send(session, text) does the sending. Returns {show(session)}: call it
 * whenever another conversation is shown (or the shown one changes in a way that matters).
 */
export function wireComposer({ form, input, current, canWrite, send }) {
  const bound = () => {
    const session = current();
    return session && input.dataset.conversation === session.id ? session : null;
  };
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  input.addEventListener("input", () => {
    const session = bound();
    if (!session) return;
    session.draft = input.value;
    if (input.value.trim() && canWrite(session)) session.typingNotice();
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const session = bound();
    const text = input.value.trim();
    if (!session || !text || !canWrite(session)) return;
    input.value = "";
    session.draft = "";
    send(session, text);
    input.focus();
  });
  return {
    show(session) {
      const draft = session?.draft ?? "";
      if (input.dataset.conversation === (session?.id ?? "") && input.value === draft) return;
      input.dataset.conversation = session?.id ?? "";
      input.value = draft;
    },
  };
}

// The one transcript renderer of the chat pages (visitor, counsellor, interpreter): messages and
// notes as list items, built from text nodes only.
//
//   <li class="message mine|theirs [pending] [failed]" data-seq data-status data-client-id>
//     <p class="text">…</p>
//     <p class="meta"><span class="who">…</span> <time>…</time> <span class="receipt">…</span></p>
//   </li>
//   <li class="system" data-seq>what happened</li>

import { el } from "./dom.js";

/**
 * A message. `state` ("pending", "failed", "sent", "delivered", "read") is kept in data-status
 * for my own messages; `stateText` is what the reader sees about it.
 */
export function messageItem({ seq = null, clientId = null, mine, who = "", time = "", state = null, stateText = "", text }) {
  const classes = ["message", mine ? "mine" : "theirs"];
  if (state === "pending" || state === "failed") classes.push("pending");
  if (state === "failed") classes.push("failed");
  return el(
    "li",
    { class: classes.join(" "), "data-seq": seq, "data-client-id": clientId, "data-status": mine ? state : null },
    el("p", { class: "text" }, text),
    el(
      "p",
      { class: "meta" },
      el("span", { class: "who" }, who),
      time ? el("time", {}, time) : null,
      mine && stateText ? el("span", { class: "receipt" }, stateText) : null,
    ),
  );
}

/** A line about what happened in the conversation (joined, left, asked for an interpreter, …). */
export function noteItem(text, { seq = null, className = "" } = {}) {
  return el("li", { class: className ? `system ${className}` : "system", "data-seq": seq }, text);
}

/**
 * Show `items` in `list`. A list scrolled to its end stays there; with `reveal`, the page
 * scrolls so that a new last item is in view (the visitor's page scrolls as a whole).
 */
export function showItems(list, items, { reveal = false } = {}) {
  const grew = items.length > list.children.length;
  const atEnd = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  list.replaceChildren(...items);
  if (atEnd) list.scrollTop = list.scrollHeight;
  if (reveal && grew) list.lastElementChild?.scrollIntoView({ block: "nearest" });
}

/** "14:05" in the reader's language (an empty string for a missing or broken time). */
export function clockTime(at, lang, timeZone) {
  const when = at ? new Date(at) : null;
  if (!when || Number.isNaN(when.getTime())) return "";
  try {
    return when.toLocaleTimeString(lang || undefined, { hour: "2-digit", minute: "2-digit", timeZone });
  } catch {
    return when.toLocaleTimeString(lang || undefined, { hour: "2-digit", minute: "2-digit" });
  }
}

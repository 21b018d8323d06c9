// A stable name for a conversation that says nothing about the visitor: a short code from the
// conversation's random id and the time it started, in the centre's time zone ("K7QD · 14:05").
// Pages show it the same way in the queue, the tabs, the chat header and the page title.

const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"; // Crockford's base 32: no I, L, O or U

/** Four symbols from the first 20 bits of the conversation id (hex). */
export function conversationCode(id) {
  const bits = Number.parseInt(String(id).slice(0, 5), 16);
  if (!Number.isFinite(bits)) return "????";
  return [15, 10, 5, 0].map((shift) => ALPHABET[(bits >> shift) & 31]).join("");
}

/** "14:05": when it started, in `timeZone`; "" when unknown. */
export function startTime(startedAt, { lang, timeZone } = {}) {
  const when = startedAt ? new Date(startedAt) : null;
  if (!when || Number.isNaN(when.getTime())) return "";
  const options = { hour: "2-digit", minute: "2-digit", hourCycle: "h23" }; // short: "14:05"
  try {
    return when.toLocaleTimeString(lang || undefined, { ...options, timeZone });
  } catch {
    return when.toLocaleTimeString(lang || undefined, options);
  }
}

/** `named` (e.g. "Visitor %(code)s", already translated and filled in) and the start time. */
export function conversationLabel(named, startedAt, where) {
  const time = startTime(startedAt, where);
  return time ? `${named} · ${time}` : named;
}

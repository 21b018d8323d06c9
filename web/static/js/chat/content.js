// What goes inside application messages besides text (docs/API.md, "Application messages"):
// decoding a received body, and the small APP_JSON kinds every client reads the same way.

import { ContentType, parseProposal, utf8, utf8Decode } from "../protocol.js";

/** A readable application message's content as transcript fields: {kind, text|value|proposal}. */
export function decodeContent(contentType, body) {
  if (contentType === ContentType.TEXT) return { kind: "text", text: utf8Decode(body) };
  if (contentType === ContentType.APP_JSON) return { kind: "data", value: parseJson(body) };
  if (contentType === ContentType.PROPOSAL) {
    try {
      return { kind: "proposal", proposal: parseProposal(body) };
    } catch {
      return { kind: "proposal", proposal: null }; // malformed: changes nothing
    }
  }
  return { kind: "other" };
}

/** A JSON object (clients ignore anything else), or null. */
function parseJson(body) {
  try {
    const value = JSON.parse(utf8Decode(body));
    return value && typeof value === "object" && !Array.isArray(value) ? value : null;
  } catch {
    return null;
  }
}

/** The marker a counsellor sends right after returning a conversation or handing it over. */
export function handoverMarker(action, commitSeq, to = null) {
  return utf8(JSON.stringify(to ? { kind: "handover", action, commit: commitSeq, to } : { kind: "handover", action, commit: commitSeq }));
}

/** {kind: "handover", action: "release"|"transfer", commit: seq, to?}, or null. */
export function readHandover(value) {
  const ok = value?.kind === "handover" && (value.action === "release" || value.action === "transfer") && Number.isSafeInteger(value.commit);
  return ok ? { action: value.action, commit: value.commit, to: typeof value.to === "string" ? value.to : null } : null;
}

/** {kind: "booking", reference, start, meeting}: the visitor booked a consultation (docs/BOOKING.md). */
export function readBooking(value) {
  const ok =
    value?.kind === "booking" &&
    typeof value.reference === "string" &&
    /^[0-9A-Z]{4}-[0-9A-Z]{4}$/.test(value.reference) &&
    typeof value.start === "string" &&
    !Number.isNaN(Date.parse(value.start)) &&
    ["in_person", "phone", "video"].includes(value.meeting);
  return ok ? { reference: value.reference, start: value.start, meeting: value.meeting } : null;
}

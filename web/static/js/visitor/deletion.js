// "Delete everything" on the chat page: the confirm step, the choice about the appointments
// booked from this chat (keep them — still booked, reachable only by phoning the centre with
// the reference — or cancel them), and forgetting everything this tab held afterwards.
// The server unlinks or cancels the bookings in the same transaction as the deletion
// (DELETE /api/visitor/conversation?bookings=keep|cancel, docs/BOOKING.md).

import { readBooking } from "../chat/content.js";
import { byId, el } from "../shared/dom.js";
import { bookingApi, whenText } from "./booking-api.js";
import { t } from "./strings.js";

/** The confirmed appointments still to come that were booked from this chat. */
async function bookingsOfChat(chatToken, transcript, lang, timeZone) {
  try {
    const { token } = await bookingApi.fromChat(chatToken);
    const { bookings } = await bookingApi.list(token);
    return bookings
      .filter((b) => b.status === "confirmed" && Date.parse(b.start) > Date.now())
      .map((b) => ({ reference: b.reference, when: whenText(b, lang, timeZone) }));
  } catch {
    // The server could not say: what the transcript says was booked from here (on any device).
    const noted = new Map();
    for (const entry of transcript) {
      const booking = entry.mine && entry.kind === "data" ? readBooking(entry.value) : null;
      if (booking && Date.parse(booking.start) > Date.now()) noted.set(booking.reference, booking);
    }
    return [...noted.values()].map((b) => ({ reference: b.reference, when: localTime(b.start, lang, timeZone) }));
  }
}

function localTime(start, lang, timeZone) {
  try {
    return new Date(start).toLocaleString(lang, { timeZone: timeZone || undefined, dateStyle: "full", timeStyle: "short" });
  } catch {
    return start;
  }
}

/** Show the confirm box; with appointments booked from the chat, the choice about them. */
export async function askToDelete({ token, transcript, lang, timeZone }) {
  const bookings = await bookingsOfChat(token, transcript, lang, timeZone);
  const count = bookings.length;
  const box = byId("delete-bookings");
  box.hidden = count === 0;
  byId("delete-keep").checked = true;
  if (count) {
    byId("delete-bookings-legend").textContent = t("delete_bookings", { count });
    byId("delete-bookings-list").replaceChildren(
      ...bookings.map((b) => el("li", { class: "reference-line" }, t("delete_booking_line", { when: b.when, reference: b.reference }))),
    );
    byId("delete-keep-label").textContent = t("delete_keep", { count });
    byId("delete-keep-note").textContent = t("delete_keep_note", { count });
    byId("delete-cancel-label").textContent = t("delete_cancel", { count });
  }
  byId("confirm-delete").dataset.bookings = String(count);
  byId("confirm-delete").hidden = false;
  byId("confirm-heading").focus();
}

/** What to do with the appointments ("keep" when there are none to ask about). */
export function deleteChoice() {
  const shown = !byId("delete-bookings").hidden;
  return shown && byId("delete-cancel").checked ? "cancel" : "keep";
}

/** What the page says once the conversation is gone, after this tab deleted it. */
export function goneText(choice) {
  const count = Number(byId("confirm-delete").dataset.bookings || 0);
  if (!count) return null;
  return choice === "cancel" ? t("gone_cancelled", { count }) : t("gone_kept", { count });
}

/** Every trace this tab holds of the chat and its bookings, and the confirm box's contents. */
export function forgetEverything() {
  for (const store of [globalThis.sessionStorage, globalThis.localStorage]) {
    try {
      for (const key of Object.keys(store)) if (key.startsWith("trygg.")) store.removeItem(key);
    } catch {
      // storage unavailable: nothing kept there
    }
  }
  byId("delete-bookings-list").replaceChildren();
  byId("confirm-delete").hidden = true;
  delete byId("confirm-delete").dataset.bookings;
}

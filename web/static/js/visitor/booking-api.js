// The visitor booking API (docs/BOOKING.md) and what the two booking pages share: the holder
// token kept in this tab only, local dates in the centre's time zone, the calendar download.
// No cookies, no localStorage: the holder token lives in sessionStorage and dies with the tab.

import { ApiError, call } from "../shared/http.js";
import { byId, el, say } from "../shared/dom.js";

export { ApiError };

export const HOLDER_KEY = "trygg.booking";

const enc = encodeURIComponent;

export const bookingApi = {
  directory: () => call("GET", "/api/directory"),
  log: () => call("GET", "/api/log"),
  options: () => call("GET", "/api/booking/options"),
  slots: (from, days, { token, sameCounsellor } = {}) => {
    const query = new URLSearchParams({ days: String(days) });
    if (from) query.set("from", from);
    if (sameCounsellor) query.set("same_counsellor", "1");
    return call("GET", `/api/booking/slots?${query}`, { token: sameCounsellor ? token : undefined });
  },
  newHolder: (lookup, verifier) => call("POST", "/api/booking/holders", { body: { lookup, verifier } }),
  access: (lookup, verifier) => call("POST", "/api/booking/access", { body: { lookup, verifier } }),
  fromChat: (chatToken) => call("POST", "/api/booking/from-chat", { token: chatToken }),
  book: (token, body) => call("POST", "/api/booking/bookings", { token, body }),
  list: (token) => call("GET", "/api/booking/bookings", { token }),
  // `sequence`: the version of the booking the visitor last saw; 409 `changed` if it has moved on.
  cancel: (token, reference, sequence) =>
    call("POST", `/api/booking/bookings/${enc(reference)}/cancel`, { token, body: { sequence } }),
  reschedule: (token, reference, start, sequence) =>
    call("POST", `/api/booking/bookings/${enc(reference)}/reschedule`, { token, body: { start, sequence } }),
  invite: (token, reference, lang) =>
    call("GET", `/api/booking/bookings/${enc(reference)}/invite.ics?lang=${enc(lang)}`, { token, raw: true }),
};

// --- the holder token, for this tab only ---------------------------------------------------

export function saveHolder(token, fromChat = false) {
  try {
    sessionStorage.setItem(HOLDER_KEY, JSON.stringify({ v: 1, token, fromChat }));
  } catch {
    // storage refused: the page still works until it is left
  }
}

export function loadHolder() {
  try {
    const value = JSON.parse(sessionStorage.getItem(HOLDER_KEY) ?? "null");
    if (value && value.v === 1 && typeof value.token === "string" && value.token.length < 512) return value;
  } catch {
    // malformed: dropped below
  }
  try {
    sessionStorage.removeItem(HOLDER_KEY);
  } catch {
    // nothing stored
  }
  return null;
}

export function forgetHolder() {
  try {
    sessionStorage.removeItem(HOLDER_KEY);
  } catch {
    // nothing stored
  }
}

// --- dates and times in the centre's zone -----------------------------------------------------

/** "Tuesday 3 December" for a local date "YYYY-MM-DD" of the centre's zone, in `lang`. */
export function dateHeading(date, lang, timeZone) {
  const [y, m, d] = String(date).split("-").map(Number);
  // Noon UTC falls on the same calendar day in every zone from UTC−11 to UTC+11.
  const noon = new Date(Date.UTC(y, m - 1, d, 12));
  if (Number.isNaN(noon.getTime())) return String(date);
  try {
    return new Intl.DateTimeFormat(lang, { weekday: "long", day: "numeric", month: "long", timeZone }).format(noon);
  } catch {
    return String(date);
  }
}

/** "Tuesday 3 December 2026, 10:00" for a booking (its local date and time from the server). */
export function whenText(booking, lang, timeZone) {
  const [y, m, d] = String(booking.date).split("-").map(Number);
  const noon = new Date(Date.UTC(y, m - 1, d, 12));
  let day = String(booking.date);
  try {
    day = new Intl.DateTimeFormat(lang, { weekday: "long", day: "numeric", month: "long", year: "numeric", timeZone }).format(noon);
  } catch {
    // the plain date
  }
  return `${day}, ${booking.time}`;
}

/** YYYY-MM-DD of `instant` in `timeZone`. */
export function localDate(instant, timeZone) {
  try {
    const parts = new Intl.DateTimeFormat("en-CA", { year: "numeric", month: "2-digit", day: "2-digit", timeZone }).formatToParts(instant);
    const get = (type) => parts.find((p) => p.type === type)?.value;
    return `${get("year")}-${get("month")}-${get("day")}`;
  } catch {
    return instant.toISOString().slice(0, 10);
  }
}

/** The day after a local date "YYYY-MM-DD". */
export function nextDate(date) {
  const [y, m, d] = String(date).split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d + 1)).toISOString().slice(0, 10);
}

/** One section per local day that has free times: a heading and a button per time. */
export function slotSections(days, lang, timeZone, onPick) {
  return days
    .filter((day) => day.slots.length)
    .map((day) => {
      const headingId = `day-${day.date}`;
      return el("section", { class: "slot-day", "data-date": day.date, "aria-labelledby": headingId },
        el("h2", { id: headingId }, dateHeading(day.date, lang, timeZone)),
        el("ul", { class: "slot-list" },
          ...day.slots.map((slot) =>
            el("li", {},
              el("button", { type: "button", class: "slot", "data-start": slot.start, onclick: () => onPick(day.date, slot) }, slot.time)))));
    });
}

/**
 * One more page of free times into #slots (the first one again with `reset`). `state` keeps
 * {nextFrom, lastDate, zone}; `query` goes to bookingApi.slots; `pick(date, slot)` is called
 * when a time is chosen; `noneText` says there is nothing to choose.
 */
export async function loadSlotPage(state, { reset = false, days, lang, query = {}, pick, noneText }) {
  if (reset) {
    state.nextFrom = localDate(new Date(), state.zone);
    byId("slots").replaceChildren();
  }
  const from = state.nextFrom;
  const more = byId("more-slots");
  more.disabled = true;
  const answer = await bookingApi.slots(from, days, query);
  if (answer.time_zone) state.zone = answer.time_zone;
  const box = byId("slots");
  box.append(...slotSections(answer.days, lang, state.zone, pick));
  let next = from;
  for (let i = 0; i < days; i++) next = nextDate(next);
  state.nextFrom = next;
  say(byId("no-slots"), box.childElementCount ? "" : noneText);
  more.hidden = state.lastDate !== null && next > state.lastDate;
  more.disabled = false;
}

// --- the calendar file ------------------------------------------------------------------------

/** Fetch the booking's .ics with the bearer token and hand it to the browser as a download. */
export async function downloadInvite(token, reference, lang) {
  const blob = await bookingApi.invite(token, reference, lang);
  const file = new Blob([blob], { type: "text/calendar" });
  const url = URL.createObjectURL(file);
  const link = document.createElement("a");
  link.href = url;
  link.download = `${String(reference).replace(/[^A-Z0-9-]/gi, "")}.ics`;
  link.hidden = true;
  document.body.append(link);
  try {
    link.click();
  } finally {
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  }
}

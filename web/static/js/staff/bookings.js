// /staff/bookings: a counsellor's bookings with the visitor's sealed details (note, contact,
// interpreter request) opened here with the counsellor's own key (booking-seal.js); an admin
// sees every booking's time, type and status, never the contents.

import { open as openPayload, sealVersion, UNBOUND_VERSION } from "../shared/booking-seal.js";
import { el, say } from "../shared/dom.js";
import { rooted, staffApi } from "../shared/http.js";
import { describeRequest } from "../shared/interpreter-request.js";
import { languageLabel, readLanguages } from "../shared/languages.js";
import { format, pageStrings } from "../shared/strings.js";
import { identityForPage } from "./identity.js";
import { b64decode } from "./keys-lib.js";

const t = pageStrings();
const $ = (id) => document.getElementById(id);
const app = $("bookings-app");
const isAdmin = app.dataset.admin === "yes";
const isInterpreter = app.dataset.role === "interpreter";
const zone = app.dataset.timeZone || "Europe/Oslo";
const lang = document.documentElement.lang || undefined;
const state = { info: null, identity: null, interpreters: [] };

function whenText(booking) {
  const [y, m, d] = String(booking.date).split("-").map(Number);
  const noon = new Date(Date.UTC(y, m - 1, d, 12));
  let day = String(booking.date);
  try {
    day = new Intl.DateTimeFormat(lang, { weekday: "short", day: "numeric", month: "short", year: "numeric", timeZone: zone }).format(noon);
  } catch {
    // the plain date
  }
  return `${day} ${booking.time}`;
}

const interpreterNames = readLanguages("interpreter-languages");
const interfaceNames = readLanguages("interface-languages");
const languageName = (code) => languageLabel(code, { own: interpreterNames });

/** The opened payload as lines of text (never markup). */
function detailLines(payload) {
  const lines = [];
  if (payload.note) lines.push(el("p", { class: "sealed note-text" }, format(t.note, { text: payload.note })));
  if (payload.contact?.phone) lines.push(el("p", { class: "contact-phone" }, format(t.phone_contact, { number: payload.contact.phone })));
  if (payload.contact?.email) lines.push(el("p", { class: "contact-email" }, format(t.email_contact, { address: payload.contact.email })));
  if (payload.interpreter?.language) {
    const words = { dialect: t.dialect, in_person: t.mode_in_person, remote: t.mode_remote, female: t.gender_female, male: t.gender_male };
    const language = describeRequest({ mode: "in_person", ...payload.interpreter }, languageName, words);
    lines.push(el("p", { class: "interpreter-request" }, format(t.interpreter, { language })));
  }
  if (!lines.length) lines.push(el("p", { class: "note" }, t.nothing));
  if (interfaceNames.has(payload.lang)) {
    const language = languageLabel(payload.lang, { own: interfaceNames });
    lines.push(el("p", { class: "note" }, format(t.visitor_language, { language })));
  }
  return lines;
}

async function details(booking) {
  if (!booking.payload || !state.identity) return [el("p", { class: "note" }, t.unreadable)];
  try {
    const blob = b64decode(booking.payload, 16384);
    const lines = detailLines(await openPayload(state.identity, blob, { reference: booking.reference, kind: booking.kind }));
    if (sealVersion(blob) === UNBOUND_VERSION) lines.push(el("p", { class: "note unbound" }, t.unbound));
    return lines;
  } catch {
    return [el("p", { class: "note unreadable" }, t.unreadable)];
  }
}

async function row(booking) {
  const cells = [
    el("td", { class: "when" }, whenText(booking)),
    el("td", { class: "kind" }, t[booking.kind] || booking.kind),
    el("td", { class: "status" }, t[booking.status] || booking.status, booking.from_chat ? el("br") : null, booking.from_chat ? el("small", {}, t.from_chat) : null),
    el("td", { class: "reference" }, booking.reference),
    isAdmin || isInterpreter
      ? el("td", { class: "counsellor" }, booking.counsellor_name || "")
      : el("td", { class: "details" }, ...(await details(booking))),
    el("td", { class: "interpreter" }, ...interpreterCell(booking)),
    el("td", {}, el("a", { href: rooted(`/staff/bookings/${encodeURIComponent(booking.reference)}/invite.ics`), download: `${booking.reference}.ics` }, t.invite)),
  ];
  return el("tr", { "data-reference": booking.reference, "data-status": booking.status }, ...cells);
}

/** A counsellor picks the interpreter for an upcoming booking; everyone else sees the name. */
function interpreterCell(booking) {
  const upcoming = booking.status === "confirmed" && Date.parse(booking.end) > Date.now();
  if (isAdmin || isInterpreter || !upcoming) return [booking.interpreter_name || ""];
  const select = el(
    "select",
    { class: "pick-interpreter", "aria-label": format(t.interpreter_label, { reference: booking.reference }) },
    el("option", { value: "" }, t.no_interpreter),
    ...state.interpreters.map((i) => {
      const languages = i.languages.map(languageName).join(", ");
      return el("option", { value: i.staff_id }, languages ? `${i.display_name} (${languages})` : i.display_name);
    }),
  );
  select.value = booking.interpreter_id || "";
  const status = el("span", { class: "note", role: "status" });
  select.addEventListener("change", async () => {
    select.disabled = true;
    status.textContent = "";
    try {
      const path = `/api/staff/bookings/${encodeURIComponent(booking.reference)}/interpreter`;
      const answer = await staffApi("POST", path, { interpreter: select.value || null });
      booking.interpreter_id = answer.booking.interpreter_id ?? (select.value || null);
      status.textContent = t.interpreter_saved;
    } catch (error) {
      select.value = booking.interpreter_id || "";
      status.textContent = error?.message || t.failed;
    } finally {
      select.disabled = false;
    }
  });
  return [select, " ", status];
}

async function load() {
  if (!isAdmin && !isInterpreter && state.interpreters.length === 0) {
    try {
      state.interpreters = (await staffApi("GET", "/api/staff/interpreters")).interpreters;
    } catch {
      state.interpreters = []; // the list stays usable without the choice
    }
  }
  const answer = await staffApi("GET", "/api/staff/bookings");
  const rows = [];
  for (const booking of answer.bookings) rows.push(await row(booking));
  $("bookings").replaceChildren(...rows);
  $("bookings-table").hidden = rows.length === 0;
  $("no-bookings").hidden = rows.length !== 0;
  document.body.dataset.ready = "yes";
}

async function start() {
  if (isAdmin || isInterpreter) {
    await load();
    return;
  }
  const { identity, info } = await identityForPage({ t, errorBox: $("bookings-error") });
  state.info = info;
  state.identity = identity;
  await load();
}

start().catch(() => say($("bookings-error"), t.failed));

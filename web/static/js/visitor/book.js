// /{lang}/book: choose a free time, the type of meeting and (optionally) an interpreter, write
// a note or a way to reach you, and book.  The note, contact details and interpreter request
// are sealed here to the centre's counsellors (booking-seal.js) before anything is sent; if
// sealing fails nothing is sent (fail closed).  Without a chat, a new booking code is made
// here and shown once; from a chat (this tab keeps its token), the booking is tied to it.

import { b64decode, b64encode, deriveResumeKeys, fromHex, generateResumeCode, ProtocolError, toHex } from "../protocol.js";
import { newReference, sealForDirectory } from "../shared/booking-seal.js";
import { TrustProblem, trustForVisitor } from "../shared/trust.js";
import { ApiError, bookingApi, dateHeading, downloadInvite, loadSlotPage, localDate, nextDate, saveHolder, whenText } from "./booking-api.js";
import { tellChat } from "./booking-chat.js";
import { byId, el, showView } from "../shared/dom.js";
import { loadSession } from "./session.js";
import { t } from "./strings.js";

const DAYS_PER_PAGE = 14;
const BOOKED_KEY = "trygg.booked"; // read by the chat page (chat.js) when it could not be posted from here
const app = byId("book-app");
const lang = app.dataset.lang;
const views = [...app.querySelectorAll(".view")];
const show = (id) => showView(id, views);

history.replaceState(null, "", window.location.pathname);

const state = {
  options: null,
  zone: "Europe/Oslo",
  nextFrom: null, // the first local date not yet loaded
  lastDate: null, // the last local date bookable (horizon)
  chosen: null, // {start, date, time}
  holder: null, // holder token once we have one
  fromChat: false,
  counsellorName: null,
  chatSession: null, // the chat this tab keeps, when booking from it
  pending: null, // {code, keys} until the code is written down and the holder made
  busy: false,
};

// --- failing ------------------------------------------------------------------------------

function failureText(error) {
  if (error instanceof TrustProblem) return t("error_trust");
  if (error instanceof ProtocolError) return error.code === "no_recipients" ? t("error_no_counsellors") : t("error_crypto");
  if (error instanceof ApiError) {
    if (error.code === "too_many_bookings") return t("too_many");
    if (error.status === 429) return t("rate_limited");
    return error.serverMessage || t("error_network");
  }
  if (error && error.message === "no_directory") return t("error_no_counsellors");
  return t("error_network");
}

function fail(error) {
  byId("error-text").textContent = failureText(error);
  show("view-error");
}

function say(id, text) {
  const box = byId(id);
  box.textContent = text || "";
  box.hidden = !text;
}

function working(text) {
  byId("working-status").textContent = text;
  show("view-working");
}

// --- free times ----------------------------------------------------------------------------------

function kindText(kind) {
  return t(`kind_${kind}`);
}

function loadSlots(reset) {
  const query = { token: state.holder, sameCounsellor: byId("same-counsellor").checked };
  return loadSlotPage(state, { reset, days: DAYS_PER_PAGE, lang, query, pick: choose, noneText: t("no_slots") });
}

async function refreshSlots(message) {
  say("slots-error", message || "");
  show("view-slots");
  try {
    await loadSlots(true);
  } catch (error) {
    say("slots-error", failureText(error));
  }
}

function choose(date, slot) {
  state.chosen = { start: slot.start, date, time: slot.time };
  byId("chosen-time").textContent = t("chosen", { date: dateHeading(date, lang, state.zone), time: slot.time });
  say("details-error", "");
  say("slots-error", "");
  show("view-details");
}

// --- the details form ----------------------------------------------------------------------------

function renderKinds() {
  const kinds = state.options.kinds;
  const box = byId("kind-choices");
  if (kinds.length === 0) {
    box.replaceChildren(el("p", { class: "notice", id: "no-kinds" }, t("no_kinds")));
    return;
  }
  box.replaceChildren(
    ...kinds.map((kind, index) =>
      el("p", { class: "check" },
        el("label", {},
          el("input", { type: "radio", name: "kind", value: kind, id: `kind-${kind}`, checked: kinds.length === 1 || index === 0 }),
          ` ${kindText(kind)}`))),
  );
  const address = byId("kind-address");
  if (state.options.address && kinds.includes("in_person")) {
    address.textContent = state.options.address;
    address.hidden = false;
  }
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const PHONE = /^\+?[0-9 ()-]{4,30}$/;

/** The plaintext to seal, or null (and a message) when something needs fixing. */
function readDetails() {
  const payload = { lang };
  const note = byId("note").value.trim();
  if (note) payload.note = note;
  const phone = byId("contact-phone").value.trim();
  const email = byId("contact-email").value.trim();
  if (phone && !PHONE.test(phone)) return { error: t("bad_phone"), focus: "contact-phone" };
  if (email && !EMAIL.test(email)) return { error: t("bad_email"), focus: "contact-email" };
  if (phone || email) payload.contact = { ...(phone ? { phone } : {}), ...(email ? { email } : {}) };
  if (byId("need-interpreter").checked) {
    const language = byId("interpreter-language").value;
    const interpreter = { language, mode: document.querySelector("input[name=interpreter-mode]:checked")?.value || "in_person" };
    const dialect = byId("interpreter-dialect").value.trim();
    if (dialect) interpreter.dialect = dialect;
    const gender = byId("interpreter-gender").value;
    if (gender === "female" || gender === "male") interpreter.gender = gender;
    payload.interpreter = interpreter;
  }
  const kind = document.querySelector("input[name=kind]:checked")?.value;
  if (!kind || !state.options.kinds.includes(kind)) return { error: t("pick_kind"), focus: "kind-choices" };
  return { payload, kind };
}

/** Seal the details to the counsellors, bound to this booking's reference (chosen here) and kind. */
async function seal(payload, kind) {
  const directory = await bookingApi.directory();
  if (!directory.directory) throw new Error("no_directory");
  // Anchors that chain to this page's pin, the newest logged directory: else TrustProblem.
  const trust = await trustForVisitor(directory, fromHex(directory.centre_id), bookingApi.log);
  const reference = await newReference();
  const sealed = await sealForDirectory(payload, { directory: b64decode(directory.directory), anchors: trust.anchors, reference, kind });
  return { payload: b64encode(sealed), centreId: directory.centre_id, reference };
}

async function submitDetails(event) {
  event.preventDefault();
  if (state.busy || !state.chosen) return;
  const read = readDetails();
  if (read.error) {
    say("details-error", read.error);
    byId(read.focus)?.focus();
    return;
  }
  say("details-error", "");
  state.busy = true;
  working(t("sealing"));
  let sealed;
  try {
    sealed = await seal(read.payload, read.kind);
  } catch (error) {
    // Fail closed: nothing about this booking has been sent.
    state.busy = false;
    fail(error);
    return;
  }
  const request = {
    start: state.chosen.start,
    kind: read.kind,
    reference: sealed.reference,
    payload: sealed.payload,
    fuller_invite: byId("fuller-invite").checked,
    same_counsellor: state.fromChat && byId("same-counsellor").checked,
  };
  if (state.holder) {
    await book(request);
    return;
  }
  try {
    working(t("preparing"));
    const code = generateResumeCode();
    const keys = await deriveResumeKeys(code, fromHex(state.options.centre_id || sealed.centreId));
    state.pending = { code, keys };
  } catch (error) {
    state.busy = false;
    fail(error);
    return;
  }
  showCode(request);
}

// --- the code, shown once --------------------------------------------------------------------------

function showCode(request) {
  const codeBox = byId("booking-code");
  codeBox.textContent = state.pending.code;
  const written = byId("written-down");
  const next = byId("confirm-booking");
  written.checked = false;
  next.disabled = true;
  written.onchange = () => {
    next.disabled = !written.checked;
  };
  byId("copy-code").onclick = async () => {
    const status = byId("copy-status");
    try {
      await navigator.clipboard.writeText(state.pending.code);
      status.textContent = t("copied");
    } catch {
      window.getSelection()?.selectAllChildren(codeBox);
      status.textContent = t("copy_failed");
    }
  };
  next.onclick = async () => {
    next.disabled = true;
    working(t("booking"));
    const { keys } = state.pending;
    try {
      const made = await bookingApi.newHolder(toHex(keys.lookupId), b64encode(keys.accessVerifier));
      state.holder = made.token;
      saveHolder(made.token, false);
    } catch (error) {
      state.busy = false;
      fail(error);
      return;
    } finally {
      codeBox.textContent = ""; // shown once: gone from the page now
      state.pending = null;
    }
    await book(request);
  };
  state.busy = false;
  show("view-code");
}

// --- booking ---------------------------------------------------------------------------------------

async function book(request) {
  state.busy = true;
  working(t("booking"));
  let answer;
  try {
    answer = await bookingApi.book(state.holder, request);
  } catch (error) {
    state.busy = false;
    if (error instanceof ApiError && error.code === "slot_taken") {
      await refreshSlots(t("slot_taken"));
      return;
    }
    fail(error);
    return;
  }
  state.busy = false;
  showDone(answer.booking);
}

function showDone(booking) {
  byId("done-when").textContent = whenText(booking, lang, state.zone);
  byId("done-kind").textContent = kindText(booking.kind);
  byId("done-reference").textContent = booking.reference;
  const counsellor = byId("done-counsellor");
  if (booking.counsellor_name) {
    counsellor.textContent = t("with_counsellor", { name: booking.counsellor_name });
    counsellor.hidden = false;
  }
  if (state.fromChat) {
    byId("done-code-reminder").hidden = true;
    say("done-from-chat", t("from_chat"));
    noteInChat(booking);
  }
  const button = byId("download-invite");
  button.onclick = async () => {
    button.disabled = true;
    byId("download-status").textContent = "";
    try {
      await downloadInvite(state.holder, booking.reference, lang);
    } catch {
      byId("download-status").textContent = t("download_failed");
    } finally {
      button.disabled = false;
    }
  };
  app.dataset.booked = booking.reference;
  show("view-done");
}

/** Tell the chat about the booking (encrypted like any message); the booking stands either way. */
async function noteInChat(booking) {
  let ok = false;
  try {
    ok = await tellChat(state.chatSession, {
      kind: "booking",
      reference: booking.reference,
      start: booking.start,
      meeting: booking.kind,
    });
  } catch {
    ok = false;
  }
  if (!ok) {
    // The chat page posts it when the visitor goes back to the chat in this tab.
    try {
      sessionStorage.setItem(BOOKED_KEY, JSON.stringify({ reference: booking.reference, start: booking.start, meeting: booking.kind }));
    } catch {
      // storage refused: the booking stands, the chat just does not hear of it
    }
  }
  say("done-chat-status", ok ? t("chat_noted") : t("chat_not_noted"));
  app.dataset.chatNoted = ok ? "yes" : "no";
}

// --- from a chat -------------------------------------------------------------------------------------

async function linkChat() {
  let found = null;
  try {
    found = loadSession();
  } catch {
    found = null;
  }
  if (!found) return;
  try {
    const answer = await bookingApi.fromChat(found.session.token);
    state.holder = answer.token;
    state.fromChat = true;
    state.counsellorName = answer.counsellor_name ?? null;
    state.chatSession = found.session;
    saveHolder(answer.token, true);
  } catch {
    return; // the chat is gone or closed to booking: book with a new code instead
  }
  say("chat-linked", t("from_chat"));
  if (state.counsellorName) {
    byId("same-counsellor-label").textContent = t("same_counsellor", { name: state.counsellorName });
    byId("same-counsellor-choice").hidden = false;
  }
}

// --- the page ------------------------------------------------------------------------------------------

async function main() {
  byId("loading-status").textContent = t("loading");
  try {
    state.options = await bookingApi.options();
    state.zone = state.options.time_zone || state.zone;
    const today = localDate(new Date(), state.zone);
    let last = today;
    for (let i = 0; i < (state.options.horizon_days || 0); i++) last = nextDate(last);
    state.lastDate = last;
    await linkChat();
    renderKinds();
    await loadSlots(true);
  } catch (error) {
    fail(error);
    return;
  }
  const need = byId("need-interpreter");
  need.addEventListener("change", () => {
    byId("interpreter-choice").hidden = !need.checked;
  });
  byId("same-counsellor").addEventListener("change", () => refreshSlots(""));
  byId("more-slots").addEventListener("click", async () => {
    try {
      await loadSlots(false);
    } catch (error) {
      say("slots-error", failureText(error));
    }
  });
  byId("change-time").addEventListener("click", () => show("view-slots"));
  byId("details-form").addEventListener("submit", submitDetails);
  app.dataset.ready = "yes";
  show("view-slots");
}

main();

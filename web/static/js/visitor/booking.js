// /{lang}/booking: the bookings a code holds (or the chat's, when this tab came from /book):
// see them, cancel (after a confirm step), move to another free time, and download the
// calendar file (an invite while booked, a cancellation once cancelled).  The code is checked
// locally before any network call; the holder token lives in this tab's sessionStorage only.

import { b64encode, deriveResumeKeys, fromHex, parseResumeCode, ProtocolError, toHex } from "../protocol.js";
import { ApiError, bookingApi, downloadInvite, forgetHolder, loadHolder, loadSlotPage, localDate, nextDate, saveHolder, whenText } from "./booking-api.js";
import { byId, el, say, showView } from "../shared/dom.js";
import { rooted } from "../shared/http.js";
import { t } from "./strings.js";

const DAYS_PER_PAGE = 14;
const app = byId("manage-app");
const lang = app.dataset.lang;
const views = [...app.querySelectorAll(".view")];
const show = (id) => showView(id, views);

history.replaceState(null, "", window.location.pathname);

const state = { options: null, zone: "Europe/Oslo", token: null, moving: null, nextFrom: null, lastDate: null };

const LOCAL_ERRORS = {
  bad_code_length: "code_length",
  bad_code_character: "code_character",
  bad_code_checksum: "code_checksum",
};

function errorText(error) {
  if (error instanceof ApiError) {
    if (error.code === "changed") return t("changed");
    if (error.code === "slot_taken") return t("slot_taken");
    if (error.code === "already_cancelled") return t("already_cancelled");
    if (error.code === "too_many_bookings") return t("too_many");
    if (error.status === 429) return t("rate_limited");
    return error.serverMessage || t("error_network");
  }
  return t("error_network");
}

// --- the code ---------------------------------------------------------------------------------

const form = byId("code-form");
const input = byId("code");
const submit = byId("code-submit");

function codeError(text) {
  say(byId("code-error"), text);
  input.setAttribute("aria-invalid", "true");
  byId("code-status").textContent = "";
  submit.disabled = false;
  input.focus();
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  say(byId("code-error"), "");
  input.removeAttribute("aria-invalid");
  let code;
  try {
    code = parseResumeCode(input.value);
  } catch (error) {
    const key = error instanceof ProtocolError ? LOCAL_ERRORS[error.code] : null;
    codeError(t(key ?? "code_checksum"));
    return;
  }
  submit.disabled = true;
  byId("code-status").textContent = t("code_checking");
  try {
    const keys = await deriveResumeKeys(code, fromHex(state.options.centre_id));
    const answer = await bookingApi.access(toHex(keys.lookupId), b64encode(keys.accessVerifier));
    state.token = answer.token;
    saveHolder(answer.token, false);
  } catch (error) {
    if (error instanceof ApiError && (error.status === 401 || error.status === 404)) codeError(t("code_not_found"));
    else if (error instanceof ApiError) codeError(errorText(error));
    else if (error instanceof ProtocolError) codeError(t("code_not_found"));
    else codeError(t("error_network"));
    return;
  }
  input.value = "";
  byId("code-status").textContent = "";
  submit.disabled = false;
  await showList("");
});

input.addEventListener("input", () => say(byId("code-error"), ""));

// --- the list ---------------------------------------------------------------------------------

function kindText(kind) {
  return t(`kind_${kind}`);
}

function isFuture(booking) {
  return new Date(booking.start).getTime() > Date.now();
}

function row(booking) {
  const when = whenText(booking, lang, state.zone);
  const cancelled = booking.status === "cancelled";
  const past = !cancelled && !isFuture(booking);
  const status = cancelled ? t("status_cancelled") : past ? t("past") : t("status_confirmed");
  const download = el("button", { type: "button", class: "download" }, cancelled ? t("download_cancel") : t("download"));
  const note = el("span", { class: "download-status", role: "status" });
  download.addEventListener("click", async () => {
    download.disabled = true;
    note.textContent = "";
    try {
      await downloadInvite(state.token, booking.reference, lang);
    } catch {
      note.textContent = t("download_failed");
    } finally {
      download.disabled = false;
    }
  });
  const actions = el("div", { class: "actions" }, download);
  const item = el("li", { class: `booking ${booking.status}`, "data-reference": booking.reference, "data-status": booking.status },
    el("p", { class: "booking-when" }, el("strong", {}, when)),
    el("p", {}, `${status} · ${kindText(booking.kind)} · `, el("span", { class: "reference" }, t("reference", { reference: booking.reference }))),
    booking.counsellor_name ? el("p", {}, t("with_counsellor", { name: booking.counsellor_name })) : null,
    actions,
    note);
  if (!cancelled && !past) {
    const move = el("button", { type: "button", class: "reschedule" }, t("reschedule"));
    move.addEventListener("click", () => startMove(booking));
    const cancel = el("button", { type: "button", class: "danger cancel" }, t("cancel"));
    const confirmBox = el("div", { class: "confirm", role: "alertdialog", hidden: true },
      el("h2", { tabindex: "-1" }, t("cancel_confirm", { when })));
    const yes = el("button", { type: "button", class: "danger primary cancel-yes" }, t("cancel_yes"));
    const no = el("button", { type: "button", class: "cancel-no" }, t("cancel_no"));
    confirmBox.append(el("div", { class: "actions" }, yes, no));
    cancel.addEventListener("click", () => {
      confirmBox.hidden = false;
      confirmBox.querySelector("h2").focus();
    });
    no.addEventListener("click", () => {
      confirmBox.hidden = true;
      cancel.focus();
    });
    yes.addEventListener("click", async () => {
      yes.disabled = true;
      try {
        await bookingApi.cancel(state.token, booking.reference, booking.sequence);
      } catch (error) {
        if (changedElsewhere(error)) {
          await showList(errorText(error), true);
          return;
        }
        yes.disabled = false;
        say(byId("list-error"), error instanceof ApiError && error.code === "already_cancelled" ? t("already_cancelled") : t("cancel_failed"));
        return;
      }
      await showList(t("cancelled"));
    });
    actions.append(move, cancel);
    item.append(confirmBox);
  }
  return item;
}

/** Another tab or device changed the booking since this page showed it (409 `changed`). */
function changedElsewhere(error) {
  return error instanceof ApiError && (error.code === "changed" || error.code === "already_cancelled");
}

/** The bookings as they are now, with `message` above them (an error box when `problem`). */
async function showList(message, problem = false) {
  byId("working-status").textContent = t("loading");
  show("view-working");
  let answer;
  try {
    answer = await bookingApi.list(state.token);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      forgetHolder();
      state.token = null;
      show("view-code");
      return;
    }
    say(byId("list-error"), errorText(error));
    show("view-list");
    return;
  }
  say(byId("list-error"), problem ? message : "");
  say(byId("list-message"), problem ? "" : message);
  byId("bookings").replaceChildren(...answer.bookings.map(row));
  say(byId("no-bookings"), answer.bookings.length ? "" : t("no_bookings"));
  app.dataset.loaded = String(Number(app.dataset.loaded || 0) + 1);
  show("view-list");
}

byId("forget").addEventListener("click", () => {
  forgetHolder();
  state.token = null;
  byId("bookings").replaceChildren();
  window.location.replace(rooted(`/${lang}/`));
});

// --- moving a booking ----------------------------------------------------------------------------

function loadSlots(reset) {
  return loadSlotPage(state, { reset, days: DAYS_PER_PAGE, lang, pick: pickNew, noneText: t("no_slots") });
}

async function startMove(booking, message = "") {
  state.moving = booking;
  byId("reschedule-current").textContent = whenText(booking, lang, state.zone);
  say(byId("reschedule-error"), message);
  show("view-reschedule");
  try {
    await loadSlots(true);
  } catch (error) {
    say(byId("reschedule-error"), errorText(error));
  }
}

async function pickNew(date, slot) {
  const booking = state.moving;
  if (!booking) return;
  byId("working-status").textContent = t("booking");
  show("view-working");
  let answer;
  try {
    answer = await bookingApi.reschedule(state.token, booking.reference, slot.start, booking.sequence);
  } catch (error) {
    state.moving = null;
    if (changedElsewhere(error)) await showList(errorText(error), true);
    else await startMove(booking, errorText(error));
    return;
  }
  state.moving = null;
  await showList(t("rescheduled", { when: whenText(answer.booking, lang, state.zone) }));
}

byId("more-slots").addEventListener("click", async () => {
  try {
    await loadSlots(false);
  } catch (error) {
    say(byId("reschedule-error"), errorText(error));
  }
});
byId("reschedule-back").addEventListener("click", () => {
  state.moving = null;
  show("view-list");
});

// --- the page ------------------------------------------------------------------------------------

async function main() {
  try {
    state.options = await bookingApi.options();
    state.zone = state.options.time_zone || state.zone;
    let last = localDate(new Date(), state.zone);
    for (let i = 0; i < (state.options.horizon_days || 0); i++) last = nextDate(last);
    state.lastDate = last;
  } catch {
    codeError(t("error_network"));
    return;
  }
  const kept = loadHolder();
  submit.disabled = false;
  app.dataset.ready = "yes";
  if (kept) {
    state.token = kept.token;
    await showList("");
  } else {
    show("view-code");
  }
}

main();

// Starting the visitor's chat: a new anonymous conversation (keys made here, the resume code
// shown once, the conversation registered), or the one this tab (or device) keeps, reopened.

import {
  b64decode,
  b64encode,
  createConversation,
  deriveResumeKeys,
  fromHex,
  generateResumeCode,
  importVisitorState,
  toHex,
} from "../protocol.js";
import { byId } from "../shared/dom.js";
import { trustForVisitor } from "../shared/trust.js";
import { api } from "./api.js";
import { readRequestForm, wireLanguageFilter } from "./interpreter-form.js";
import { clearSession, loadSession, saveSession } from "./session.js";
import { t } from "./strings.js";

const BOOKED_KEY = "trygg.booked"; // left by /book when the booking was made from this chat
const app = byId("chat-app");
let hooks = null;

async function prepare() {
  hooks.show("view-preparing");
  byId("preparing-status").textContent = t("preparing");
  const directory = await api.directory();
  if (!directory.directory) throw new Error("no_directory");
  const centreId = fromHex(directory.centre_id);
  // Only anchors that chain to the pin this page carries (never the server's word), and only the
  // newest directory of the signed log: else nothing is made and the page says why (TrustProblem).
  const trust = await trustForVisitor(directory, centreId, api.log);
  const code = generateResumeCode();
  const keys = await deriveResumeKeys(code, centreId);
  const created = await createConversation({ directory: b64decode(directory.directory), trust, resumeKeys: keys });
  return { code, keys, created, centreId };
}

function showCode(prepared) {
  const codeBox = byId("resume-code");
  codeBox.textContent = prepared.code;
  const written = byId("written-down");
  const next = byId("continue");
  written.checked = false;
  next.disabled = true;
  written.addEventListener("change", () => {
    next.disabled = !written.checked;
  });
  byId("copy-code").addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(prepared.code);
      byId("copy-status").textContent = t("copied");
    } catch {
      window.getSelection()?.selectAllChildren(codeBox);
      byId("copy-status").textContent = t("copy_failed");
    }
  });
  next.addEventListener("click", () => create(prepared), { once: true });
  hooks.show("view-code");
}

async function create({ keys, created, centreId }) {
  byId("continue").disabled = true;
  const conversation = toHex(created.conversation.conversationId);
  const state = b64encode(created.visitorState);
  const body = { conversation, lookup: toHex(keys.lookupId), verifier: b64encode(keys.accessVerifier), state, genesis: b64encode(created.genesis), language: app.dataset.lang };
  let answer;
  try {
    answer = await api.create(body);
  } catch (error) {
    hooks.fail(error);
    return;
  } finally {
    byId("resume-code").textContent = ""; // shown once: gone from the page now
  }
  const session = { conversation, token: answer.token, state, stateKey: b64encode(keys.stateKey), iterations: keys.iterations, centreId: toHex(centreId) };
  try {
    saveSession(session, byId("keep-signed-in").checked);
  } catch {
    // Storage refused (some private modes): the chat still works until the tab closes.
  }
  const request = byId("need-interpreter").checked ? readRequestForm("interpreter-") : null;
  hooks.open(session, created.conversation, null, request ? [request] : []);
}

async function reopen(session) {
  hooks.show("view-preparing");
  byId("preparing-status").textContent = t("connecting");
  let resumeState;
  try {
    const keys = { stateKey: b64decode(session.stateKey), iterations: session.iterations, centreId: fromHex(session.centreId) };
    resumeState = await importVisitorState(b64decode(session.state), keys);
  } catch (error) {
    clearSession();
    hooks.fail(error);
    return;
  }
  hooks.open(session, null, resumeState, []);
}

/** The booking the booking page left for this chat, once (then forgotten). */
export function takeBooking() {
  let value = null;
  try {
    value = JSON.parse(sessionStorage.getItem(BOOKED_KEY) ?? "null");
  } catch {
    value = null;
  }
  sessionStorage.removeItem(BOOKED_KEY);
  if (!value || typeof value.reference !== "string" || typeof value.start !== "string") return null;
  if (!["in_person", "phone", "video"].includes(value.meeting)) return null;
  return { kind: "booking", reference: value.reference, start: value.start, meeting: value.meeting };
}

/**
 * Reopen the conversation this tab (or device) keeps, or offer to start one. Hooks from the page:
 * open(stored, conversation, resumeState, firstMessages), fail(error), show(viewId).
 */
export function start(given) {
  hooks = given;
  let found = null;
  try {
    found = loadSession();
  } catch {
    found = null;
  }
  if (found) {
    reopen(found.session);
    return;
  }
  wireLanguageFilter("interpreter-");
  const need = byId("need-interpreter");
  need.addEventListener("change", () => {
    byId("interpreter-choice").hidden = !need.checked;
  });
  const start = byId("start");
  start.addEventListener("click", async () => {
    start.disabled = true;
    try {
      showCode(await prepare());
    } catch (error) {
      hooks.fail(error);
    }
  });
  start.disabled = false;
  hooks.show("view-start");
}

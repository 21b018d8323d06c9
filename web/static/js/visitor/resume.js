// Come back to a conversation with the resume code, on this or any device.
//
// The code is checked locally first (its two check characters catch a typo before any
// network call).  Then the slow derivation, the server's check of the verifier, and the
// opening of the sealed visitor state (a wrong code cannot open it); only then is the
// session kept and the chat page opened, which replays the whole history from the server.

import { b64decode, b64encode, deriveResumeKeys, fromHex, importVisitorState, parseResumeCode, ProtocolError, toHex } from "../protocol.js";
import { api, ApiError } from "./api.js";
import { byId } from "../shared/dom.js";
import { rooted } from "../shared/http.js";
import { saveSession } from "./session.js";
import { t } from "./strings.js";

const app = byId("resume-app");
const lang = app.dataset.lang;
const form = byId("resume-form");
const input = byId("code");
const errorBox = byId("code-error");
const status = byId("resume-status");
const submit = byId("resume-submit");

history.replaceState(null, "", window.location.pathname);

const LOCAL_ERRORS = {
  bad_code_length: "code_length",
  bad_code_character: "code_character",
  bad_code_checksum: "code_checksum",
};

function showError(text) {
  errorBox.textContent = text;
  errorBox.hidden = false;
  input.setAttribute("aria-invalid", "true");
  status.textContent = "";
  submit.disabled = false;
  input.focus();
}

function clearError() {
  errorBox.hidden = true;
  errorBox.textContent = "";
  input.removeAttribute("aria-invalid");
}

async function open(code) {
  const directory = await api.directory();
  const centreId = fromHex(directory.centre_id);
  const keys = await deriveResumeKeys(code, centreId);
  const found = await api.resume(toHex(keys.lookupId), b64encode(keys.accessVerifier));
  // A code that is not this record's cannot open the sealed state: fail before keeping anything.
  await importVisitorState(b64decode(found.state), keys);
  return {
    conversation: found.conversation,
    token: found.token,
    state: found.state,
    stateKey: b64encode(keys.stateKey),
    iterations: keys.iterations,
    centreId: toHex(centreId),
  };
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearError();
  let code;
  try {
    code = parseResumeCode(input.value);
  } catch (error) {
    const key = error instanceof ProtocolError ? LOCAL_ERRORS[error.code] : null;
    showError(t(key ?? "code_checksum"));
    return;
  }
  submit.disabled = true;
  status.textContent = t("code_checking");
  let session;
  try {
    session = await open(code);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) showError(t("code_not_found"));
    else if (error instanceof ApiError && error.serverMessage) showError(error.serverMessage);
    else if (error instanceof ProtocolError) showError(t("code_not_found"));
    else showError(t("error_network"));
    return;
  }
  input.value = "";
  saveSession(session, byId("keep-signed-in").checked);
  window.location.replace(rooted(`/${lang}/chat`));
});

input.addEventListener("input", clearError);
submit.disabled = false;

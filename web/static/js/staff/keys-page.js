// /staff/keys: create my key (first time), unlock it on a new device, see its fingerprint
// and whether an administrator has certified it.

import { busy, say } from "../shared/dom.js";
import { pageStrings } from "../shared/strings.js";
import { certifies, create, forget, identityFingerprint, loadIdentity, serverKeys, unlock } from "./identity.js";
import { phraseProblem, phraseStrings, phraseSteps, wirePhraseFields } from "./recovery-phrase.js";

const t = { ...phraseStrings(), ...pageStrings() };
const $ = (id) => document.getElementById(id);
const errorBox = $("key-error");
const progress = $("key-progress");
const createForm = $("create-form");
const unlockForm = $("unlock-form");
const statusBox = $("key-status");

let info = null;

const steps = phraseSteps({
  errorBox,
  hide: [createForm, unlockForm, statusBox],
  confirmed: async (phrase) => {
    try {
      const form = $("phrase-check-form");
      const identity = await busy(progress, t.working, [...form.elements], () => create(phrase, info));
      info = await serverKeys();
      await showStatus(identity);
      return true;
    } catch (error) {
      say(errorBox, problem(error));
      return false;
    }
  },
});

function show(which, warning = "") {
  if (which !== "phrase") steps.cancel();
  createForm.hidden = which !== "create";
  unlockForm.hidden = which !== "unlock";
  statusBox.hidden = which !== "status";
  say(errorBox, warning);
}

async function showStatus(identity) {
  $("fingerprint").textContent = await identityFingerprint(identity);
  const ok = certifies(info.certificate, identity);
  const line = $("certified");
  line.textContent = ok ? t.certified : t.not_certified;
  line.dataset.certified = ok ? "yes" : "no";
  show("status");
}

function problem(error) {
  if (error?.code === "bad_tag") return t.wrong;
  return phraseProblem(error) ?? (error?.message && error.name === "ApiError" ? error.message : t.failed);
}

createForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  say(errorBox, "");
  await steps.start();
});

unlockForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  say(errorBox, "");
  try {
    const identity = await busy(progress, t.unlocking, [...unlockForm.elements], () =>
      unlock($("recovery-phrase").value, info),
    );
    unlockForm.reset();
    await showStatus(identity);
  } catch (error) {
    say(errorBox, problem(error));
  }
});

$("show-replace").addEventListener("click", () => show("create", t.replace_warning));

$("forget-key").addEventListener("click", async () => {
  await forget();
  show(info.backup ? "unlock" : "create");
});

async function start() {
  wirePhraseFields();
  info = await serverKeys();
  const identity = await loadIdentity();
  if (identity && (!info.certificate || certifies(info.certificate, identity) || !info.backup)) {
    await showStatus(identity);
  } else if (info.backup) {
    if (identity) await forget(); // a key replaced from another device: unlock the new one
    show("unlock");
  } else {
    show("create");
  }
  document.body.dataset.ready = "yes";
}

start().catch(() => say(errorBox, t.failed));

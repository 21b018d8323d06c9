// /staff/keys: create my key (first time), unlock it on a new device, see its fingerprint
// and whether an administrator has certified it.

import { busy, say } from "../shared/dom.js";
import { pageStrings } from "../shared/strings.js";
import { certifies, create, forget, identityFingerprint, loadIdentity, serverKeys, unlock } from "./identity.js";

const MIN_CHARS = 12;
const t = pageStrings();
const $ = (id) => document.getElementById(id);
const errorBox = $("key-error");
const progress = $("key-progress");
const createForm = $("create-form");
const unlockForm = $("unlock-form");
const statusBox = $("key-status");

let info = null;

function show(which, warning = "") {
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
  if (error?.code === "weak_parameters") return t.too_short;
  return error?.message && error.name === "ApiError" ? error.message : t.failed;
}

createForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const first = $("new-passphrase").value;
  if ([...first.normalize("NFC")].length < MIN_CHARS) return say(errorBox, t.too_short);
  if (first !== $("new-passphrase-again").value) return say(errorBox, t.mismatch);
  say(errorBox, "");
  try {
    const identity = await busy(progress, t.working, [...createForm.elements], () => create(first, info));
    createForm.reset();
    info = await serverKeys();
    await showStatus(identity);
  } catch (error) {
    say(errorBox, problem(error));
  }
});

unlockForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  say(errorBox, "");
  try {
    const identity = await busy(progress, t.unlocking, [...unlockForm.elements], () =>
      unlock($("passphrase").value, info),
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

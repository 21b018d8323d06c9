// /staff/admin/keys: the centre signing key (create or unlock), the staff keys with their
// fingerprints, and "Certify and publish": certificates for the selected keys, then a new
// signed directory listing every certified, active counsellor and interpreter.
//
// The unlocked centre key lives only in this page's memory (a non-extractable CryptoKey);
// it is never stored, so leaving the page locks it again.

import {
  b64decode,
  b64encode,
  certify,
  createAdminKey,
  fingerprint,
  fromHex,
  importAdminBackup,
  Role,
  signDirectory,
  toHex,
  verifyCertificate,
} from "./keys-lib.js";
import { AnchorsPanel } from "./anchors.js";
import { busy, el, say } from "../shared/dom.js";
import { staffApi } from "../shared/http.js";
import { format, pageStrings } from "../shared/strings.js";
import { bannerStale, refreshBanner } from "./directory-banner.js";
import { phraseProblem, phraseStrings, phraseSteps, wirePhraseFields } from "./recovery-phrase.js";

const YEAR = 365 * 86400;
const DIRECTORY_DAYS = 90;
const t = { ...phraseStrings(), ...pageStrings() };
const $ = (id) => document.getElementById(id);
const errorBox = $("admin-error");
const doneBox = $("admin-done");
const progress = $("admin-progress");
const createForm = $("centre-create-form");
const unlockForm = $("centre-unlock-form");
const publishButton = $("certify-publish");

let admin = null; // { privateKey (non-extractable), public }
let serverKey = null; // { sig_public, backup } | null
let staffKeys = [];
let centreId = null;
const anchors = new AnchorsPanel({ t, errorBox, doneBox, admin: () => admin, changed: () => loadStaffKeys() });

function problem(error) {
  if (error?.code === "bad_tag") return t.wrong;
  if (error?.badCertificate) return format(t.bad_certificate, { name: error.badCertificate });
  if (error?.code === "bad_directory") return t.bad_directory;
  if (error?.name === "ApiError" && error.message) return error.message;
  return phraseProblem(error) ?? t.failed;
}

function showCentreKey() {
  createForm.hidden = !(serverKey === null && admin === null);
  unlockForm.hidden = !(serverKey !== null && admin === null);
  $("centre-unlocked").hidden = admin === null;
  publishButton.disabled = admin === null;
}

async function loadCentreKey() {
  try {
    serverKey = await staffApi("GET", "/api/admin/centre-key");
  } catch (error) {
    if (error.status !== 404) throw error;
    serverKey = null;
  }
  showCentreKey();
}

async function loadStaffKeys() {
  staffKeys = await staffApi("GET", "/api/admin/staff-keys");
  const rows = $("keys-rows");
  rows.replaceChildren();
  if (staffKeys.length === 0) {
    rows.append(el("tr", {}, el("td", { colspan: "5", text: t.no_staff })));
  }
  for (const key of staffKeys) {
    const print = await fingerprint(fromHex(key.staff_id), b64decode(key.sig_public), b64decode(key.kem_public));
    key.good = key.certificate !== null && (await certificateHolds(key));
    const certified = key.good;
    const box = el("input", {
      type: "checkbox",
      class: "certify-box",
      "data-staff-id": key.staff_id,
      "aria-label": key.display_name,
      checked: !certified,
      disabled: certified,
    });
    rows.append(
      el(
        "tr",
        { "data-staff-id": key.staff_id, "data-certified": certified ? "yes" : "no" },
        el("td", {}, box),
        el("td", { text: key.display_name }),
        el("td", { text: t[key.role] || key.role }),
        el("td", { class: "fingerprint", text: print }),
        el("td", { class: "key-status", text: certified ? t.certified : key.certificate ? format(t.bad_certificate, { name: key.display_name }) : t.waiting }),
      ),
    );
  }
}

/** The certificate the server hands back verifies under the anchors this page verified to the pin,
 * and certifies exactly this person's keys and role: only then is it listed again. */
async function certificateHolds(key) {
  if (!anchors.trust) return false;
  try {
    const now = Math.floor(Date.now() / 1000);
    const cert = await verifyCertificate(b64decode(key.certificate, 1024), anchors.trust.anchors, now);
    return (
      toHex(cert.staffId) === key.staff_id &&
      toHex(cert.sigPublic) === toHex(b64decode(key.sig_public)) &&
      toHex(cert.kemPublic) === toHex(b64decode(key.kem_public)) &&
      cert.role === ROLE[key.role]
    );
  } catch {
    return false;
  }
}

async function loadDirectory() {
  const state = await staffApi("GET", "/api/admin/directory-status");
  const summary = $("directory-summary");
  if (!state.serial) {
    summary.textContent = t.none;
  } else {
    const expires = new Date(state.expires_at * 1000).toLocaleDateString(document.documentElement.lang);
    summary.textContent = format(t.summary, { serial: state.serial, expires, count: state.listed.length });
  }
  return state;
}

// Making the centre key: a new recovery phrase, shown once and checked (recovery-phrase.js), then
// the key is made, locked with it and sent to the server.
const steps = phraseSteps({
  errorBox,
  hide: [createForm],
  confirmed: async (phrase) => {
    try {
      await busy(progress, t.working, [...$("phrase-check-form").elements], async () => {
        const made = await createAdminKey({ recoveryPhrase: phrase });
        await staffApi("PUT", "/api/admin/centre-key", {
          sig_public: b64encode(made.admin.public),
          backup: b64encode(made.backup),
        });
        admin = made.admin;
        await anchors.ensureFirstRoot();
        await anchors.load();
      });
    } catch (error) {
      say(errorBox, problem(error));
      return false;
    }
    await loadCentreKey();
    return true;
  },
});

createForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  say(errorBox, "");
  await steps.start();
});

unlockForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  say(errorBox, "");
  try {
    const opened = await busy(progress, t.unlocking, [...unlockForm.elements], () =>
      importAdminBackup(b64decode(serverKey.backup, 8192), $("centre-phrase").value),
    );
    if (b64encode(opened.public) !== serverKey.sig_public) return say(errorBox, t.other_key);
    admin = opened;
    unlockForm.reset();
    await anchors.ensureFirstRoot();
    await anchors.load();
    await loadStaffKeys();
    showCentreKey(); // last: "unlocked" is shown once the anchors say what this key may do
  } catch (error) {
    say(errorBox, problem(error));
  }
});

const ROLE = { counsellor: Role.COUNSELLOR, interpreter: Role.INTERPRETER };

/** Certificates for the chosen keys, then a directory of exactly the certified, active staff. */
async function certifyAndPublish() {
  const now = Math.floor(Date.now() / 1000);
  const chosen = new Set(
    [...document.querySelectorAll(".certify-box:checked:not(:disabled)")].map((box) => box.dataset.staffId),
  );
  const fresh = {};
  const listed = [];
  for (const key of staffKeys) {
    if (key.good && (await certificateHolds(key))) {
      listed.push(b64decode(key.certificate, 1024));
    } else if (key.certificate !== null && !chosen.has(key.staff_id)) {
      // Never sign a directory around a certificate that does not verify: certify it anew.
      throw Object.assign(new Error("bad_certificate"), { badCertificate: key.display_name });
    } else if (chosen.has(key.staff_id)) {
      const certificate = await certify(admin, {
        centreId,
        staffId: fromHex(key.staff_id),
        role: ROLE[key.role],
        displayName: key.display_name,
        kemPublic: b64decode(key.kem_public),
        sigPublic: b64decode(key.sig_public),
        notBefore: now - 300,
        notAfter: now + YEAR,
      });
      fresh[key.staff_id] = b64encode(certificate);
      listed.push(certificate);
    }
  }
  const state = await staffApi("GET", "/api/admin/directory-status");
  const serial = state.serial + 1;
  const directory = await signDirectory(admin, {
    centreId,
    serial,
    issuedAt: now - 300,
    expiresAt: now + DIRECTORY_DAYS * 86400,
    certificates: listed,
  });
  await staffApi("POST", "/api/admin/directory", { certificates: fresh, directory: b64encode(directory) });
  return { serial, count: listed.length };
}

publishButton.addEventListener("click", async () => {
  if (!admin) return say(errorBox, t.unlock_first);
  bannerStale();
  say(errorBox, "");
  say(doneBox, "");
  let done = "";
  let failure = "";
  try {
    const result = await busy(progress, t.publishing, [publishButton], certifyAndPublish);
    done = format(t.published, result);
  } catch (error) {
    failure = problem(error);
  }
  // Show the outcome only once the lists below say what the server now holds.
  await anchors.load();
  await loadStaffKeys();
  await loadDirectory();
  await refreshBanner();
  publishButton.disabled = admin === null;
  say(doneBox, done);
  say(errorBox, failure);
});

async function start() {
  wirePhraseFields();
  const mine = await staffApi("GET", "/api/staff/keys");
  centreId = fromHex(mine.centre_id);
  await loadCentreKey();
  await anchors.load();
  await loadStaffKeys();
  await loadDirectory();
  document.body.dataset.ready = "yes";
}

start().catch((error) => say(errorBox, problem(error)));

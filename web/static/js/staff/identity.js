// The staff member's own identity (long-term keys) on this device.
//
// Made or unlocked with the passphrase (PBKDF2, 600 000 rounds, in protocol.js), then kept for
// the session in IndexedDB as *non-extractable* CryptoKeys: IndexedDB stores CryptoKey objects
// by structured clone, so the private keys can be used by this origin's pages but never read
// out as bytes, not even by our own script. The record is tied to the staff id and removed on
// logout, on the login page, and whenever another account is logged in (see session.js and
// docs/THREAT-MODEL.md).

import {
  b64decode,
  b64encode,
  createStaffIdentity,
  fingerprint,
  fromHex,
  importStaffBackup,
  parseCertificateOf,
  Role,
  toHex,
} from "./keys-lib.js";
import { busy, say } from "../shared/dom.js";
import { staffApi } from "../shared/http.js";

const DB_NAME = "trygg-staff";
const STORE = "identity";
const KEY = "current";

function request(idbRequest) {
  return new Promise((resolve, reject) => {
    idbRequest.onsuccess = () => resolve(idbRequest.result);
    idbRequest.onerror = () => reject(idbRequest.error);
  });
}

async function openDb() {
  const opening = indexedDB.open(DB_NAME, 1);
  opening.onupgradeneeded = () => opening.result.createObjectStore(STORE);
  return request(opening);
}

async function withStore(mode, fn) {
  const db = await openDb();
  try {
    const tx = db.transaction(STORE, mode);
    const result = await request(fn(tx.objectStore(STORE)));
    await new Promise((resolve, reject) => {
      tx.oncomplete = resolve;
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
    return result;
  } finally {
    db.close();
  }
}

async function save(identity) {
  await withStore("readwrite", (store) => store.put({ staffId: toHex(identity.memberId), identity }, KEY));
}

/** The logged-in staff member's id (32 hex digits), or "" on pages without a session. */
function currentStaffId() {
  return document.querySelector('meta[name="staff-id"]')?.getAttribute("content") || "";
}

/** The identity kept on this device for the logged-in account, or null. */
export async function loadIdentity() {
  const staffId = currentStaffId();
  let record;
  try {
    record = await withStore("readonly", (store) => store.get(KEY));
  } catch {
    return null; // storage unavailable: the passphrase is asked for again
  }
  if (!record) return null;
  if (!staffId || record.staffId !== staffId) {
    await forget(); // another account's key: never keep it around
    return null;
  }
  return record.identity;
}

/** Forget the identity on this device (logout, account change, "lock now"). */
export async function forget() {
  await new Promise((resolve) => {
    const deleting = indexedDB.deleteDatabase(DB_NAME);
    deleting.onsuccess = deleting.onerror = deleting.onblocked = () => resolve();
  });
}

/** What the server holds for me: {staff_id, centre_id, role, display_name, backup, certificate}. */
export async function serverKeys() {
  return staffApi("GET", "/api/staff/keys");
}

/** Open my backup from the server with my passphrase and keep the identity for the session. */
export async function unlock(passphrase, info = null) {
  const mine = info || (await serverKeys());
  if (!mine.backup) throw new Error("no_backup");
  const identity = await importStaffBackup(b64decode(mine.backup, 8192), passphrase);
  if (toHex(identity.memberId) !== mine.staff_id) throw new Error("wrong_account");
  await save(identity);
  return identity;
}

/** Make a new key pair, store its public half and passphrase backup on the server, keep it. */
export async function create(passphrase, info = null) {
  const mine = info || (await serverKeys());
  const role = mine.role === "interpreter" ? Role.INTERPRETER : Role.COUNSELLOR;
  const { identity, backup } = await createStaffIdentity({
    centreId: fromHex(mine.centre_id),
    staffId: fromHex(mine.staff_id),
    role,
    passphrase,
  });
  await staffApi("PUT", "/api/staff/keys", {
    kem_public: b64encode(identity.kemPublic),
    sig_public: b64encode(identity.sigPublic),
    backup: b64encode(backup),
  });
  await save(identity);
  return identity;
}

/** The 30-digit fingerprint people compare out of band. */
export async function identityFingerprint(identity) {
  return fingerprint(identity.memberId, identity.sigPublic, identity.kemPublic);
}

/** True when `certificateB64` certifies exactly this identity's public keys. */
export function certifies(certificateB64, identity) {
  if (!certificateB64) return false;
  try {
    const cert = parseCertificateOf(b64decode(certificateB64, 1024));
    return toHex(cert.kemPublic) === toHex(identity.kemPublic) && toHex(cert.sigPublic) === toHex(identity.sigPublic);
  } catch {
    return false;
  }
}

/**
 * The unlocked identity for a staff page: the one kept for this session, or — after showing
 * the page's unlock panel (#unlock-panel, #unlock-form, #passphrase, #no-key, #unlock-progress)
 * — the one the passphrase opens. Resolves with {identity, info} (info: serverKeys()).
 * A key replaced from another device is forgotten here and must be unlocked again.
 */
export async function identityForPage({ t, errorBox }) {
  const $ = (id) => document.getElementById(id);
  const info = await serverKeys();
  let identity = await loadIdentity();
  if (identity && info.certificate && !certifies(info.certificate, identity)) {
    await forget();
    identity = null;
  }
  if (identity) return { identity, info };
  $("unlock-panel").hidden = false;
  $("unlock-form").hidden = !info.backup;
  $("no-key").hidden = Boolean(info.backup);
  document.body.dataset.ready = "locked";
  return new Promise((resolve) => {
    $("unlock-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      say(errorBox, "");
      try {
        const opened = await busy($("unlock-progress"), t.unlocking, [...event.target.elements], () =>
          unlock($("passphrase").value, info),
        );
        $("unlock-panel").hidden = true;
        resolve({ identity: opened, info });
      } catch (error) {
        say(errorBox, error?.code === "bad_tag" ? t.wrong : t.failed);
      }
    });
  });
}

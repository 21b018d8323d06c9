// What is kept to reopen the conversation after a reload: in this tab's sessionStorage
// (gone when the tab closes), or, only if the visitor asks, in localStorage on this device.
//
// Kept: the bearer token, the conversation id, the sealed visitor state (from the server),
// the key that opens it (state_key) and the parameters to use it.  Never kept: the resume
// code itself, any message, the queue of unsent messages.  See docs/THREAT-MODEL.md.

export const STORAGE_KEY = "trygg.visitor";
const FIELDS = ["conversation", "token", "state", "stateKey", "iterations", "centreId"];

function stores() {
  return { session: globalThis.sessionStorage, local: globalThis.localStorage };
}

function valid(value) {
  return (
    value !== null &&
    typeof value === "object" &&
    value.v === 1 &&
    FIELDS.every((f) => f in value) &&
    /^[0-9a-f]{32}$/.test(value.conversation) &&
    typeof value.token === "string" &&
    Number.isInteger(value.iterations)
  );
}

/** Keep the session in this tab, or on this device when `keep` is true (and nowhere else). */
export function saveSession(session, keep, where = stores()) {
  const text = JSON.stringify({ v: 1, ...Object.fromEntries(FIELDS.map((f) => [f, session[f]])) });
  (keep ? where.local : where.session).setItem(STORAGE_KEY, text);
  (keep ? where.session : where.local).removeItem(STORAGE_KEY);
}

/** The kept session and whether it lives on the device, or null. Anything malformed is dropped. */
export function loadSession(where = stores()) {
  for (const [store, kept] of [
    [where.session, false],
    [where.local, true],
  ]) {
    let value = null;
    try {
      value = JSON.parse(store.getItem(STORAGE_KEY) ?? "null");
    } catch {
      value = null;
    }
    if (valid(value)) return { session: value, kept };
    store.removeItem(STORAGE_KEY);
  }
  return null;
}

export function clearSession(where = stores()) {
  where.session.removeItem(STORAGE_KEY);
  where.local.removeItem(STORAGE_KEY);
}

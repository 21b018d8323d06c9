// Whom a page trusts (PROTOCOL.md §5.4-§5.6): the pin the server rendered into the page from its
// configuration (<meta name="trygg-pin">), the root chain verified from it, and — for staff — the
// public log of roots and directories, remembered from one visit to the next.
//
// Every page that encrypts or verifies uses trustFrom() instead of the anchors the server lists:
// an anchor that does not chain to the pin (written into the database, added by a login without
// an anchor key) is refused here, and the page fails closed with TrustProblem.

import { b64decode, entryOf, fromHex, LogKind, logChain, toHex, verifyLogConsistency, verifyLogHead, verifyTrustRoot } from "../protocol.js";

/** Why the keys could not be trusted: "no_pin", "no_root", "bad_root", "bad_log", "log_fork". */
export class TrustProblem extends Error {
  constructor(code) {
    super(code);
    this.name = "TrustProblem";
    this.code = code;
  }
}

/** The pin this page carries (32 bytes), or null. */
export function pagePin() {
  const content = document.querySelector('meta[name="trygg-pin"]')?.getAttribute("content") ?? "";
  return /^[0-9a-f]{64}$/.test(content) ? fromHex(content) : null;
}

/** The pin of another centre of the network, by slug, as this page carries it (32 bytes), or null. */
export function networkPin(slug) {
  const content = document.querySelector('meta[name="trygg-network-pins"]')?.getAttribute("content") ?? "";
  for (const pair of content.split(" ")) {
    const [name, hex] = pair.split(":");
    if (name === slug && /^[0-9a-f]{64}$/.test(hex ?? "")) return fromHex(hex);
  }
  return null;
}

/**
 * The verified trust root of another centre of the network (its GET /c/<slug>/api/directory),
 * chained to that centre's pin as this page carries it; throws TrustProblem otherwise. Also the
 * verified directory, if it publishes one and it verifies now under that root.
 */
export async function otherCentre(slug) {
  const pin = networkPin(slug);
  if (!pin) throw new TrustProblem("no_pin");
  const answer = await fetch(`/c/${encodeURIComponent(slug)}/api/directory`, { headers: { accept: "application/json" } });
  if (!answer.ok) throw new TrustProblem("no_root");
  const published = await answer.json();
  return { trust: await trustFrom(published, pin), published };
}

/** The slugs of the network's other centres whose pins this page carries. */
export function networkSlugs() {
  const content = document.querySelector('meta[name="trygg-network-pins"]')?.getAttribute("content") ?? "";
  return content.split(" ").map((pair) => pair.split(":")[0]).filter((slug) => /^[a-z0-9-]{1,40}$/.test(slug));
}

/** The root chain of `published` (GET /api/directory or /api/trust) verified to the page's pin. */
export async function trustFrom(published, pin = pagePin()) {
  if (!pin) throw new TrustProblem("no_pin");
  const roots = Array.isArray(published?.roots) ? published.roots : [];
  if (roots.length === 0) throw new TrustProblem("no_root");
  try {
    return await verifyTrustRoot(roots.map((r) => b64decode(r, 4096)), pin);
  } catch {
    throw new TrustProblem("bad_root");
  }
}

const ZERO = new Uint8Array(32);
const storageKey = (centreId) => `trygg.log.${toHex(centreId)}`;

function remembered(centreId) {
  try {
    const saved = JSON.parse(localStorage.getItem(storageKey(centreId)) ?? "null");
    if (saved && Number.isInteger(saved.size) && /^[0-9a-f]{64}$/.test(saved.head)) return saved;
  } catch {
    // Nothing usable remembered: this visit starts the record.
  }
  return null;
}

/**
 * The log as this client checks it: the head is signed by the root's log key, it extends the
 * head this browser saw last (else "log_fork"), and every root version is in it. Resolves to
 * the set of logged directory hashes (hex) and the newest one; remembers the new head (staff
 * only: `remember` false for visitors, who keep nothing). `fetchLog()` returns GET /api/log.
 */
export async function checkLog(trust, centreId, fetchLog, { remember = true } = {}) {
  const answer = await fetchLog();
  let head;
  const entries = [];
  try {
    head = await verifyLogHead(b64decode(answer.head, 256), trust.logKey, centreId);
    for (const e of answer.entries) entries.push([e.kind, b64decode(e.hash, 32)]);
    await verifyLogConsistency({ centreId, size: 0, head: ZERO }, head, entries);
  } catch {
    throw new TrustProblem("bad_log");
  }
  const seen = remember ? remembered(centreId) : null;
  if (seen) {
    if (seen.size > head.size) throw new TrustProblem("log_fork");
    let chain = ZERO;
    for (let i = 0; i < seen.size; i++) chain = await logChain(chain, i, entries[i]);
    if (toHex(chain) !== seen.head) throw new TrustProblem("log_fork");
  }
  const logged = (kind) => new Set(entries.filter((e) => e[0] === kind).map((e) => toHex(e[1])));
  const roots = logged(LogKind.TRUST_ROOT);
  for (const version of trust.versions) {
    if (!roots.has(toHex(version.hash))) throw new TrustProblem("bad_log");
  }
  try {
    if (remember) localStorage.setItem(storageKey(centreId), JSON.stringify({ size: head.size, head: toHex(head.head) }));
  } catch {
    // Storage refused: the next visit checks against nothing older.
  }
  const directories = entries.filter((e) => e[0] === LogKind.DIRECTORY).map((e) => toHex(e[1]));
  return { directories: new Set(directories), newest: directories.at(-1) ?? null, size: head.size };
}

/** SHA-256 of a directory (hex), as the log and a genesis name it. */
export async function directoryHash(directory) {
  return toHex((await entryOf(LogKind.DIRECTORY, directory))[1]);
}

/**
 * What a visitor's client checks before encrypting to a directory: the chain to the page's pin,
 * and that the directory is the newest one the signed log holds (an older edition, even
 * unexpired, or one never logged is refused: "old_directory"). Resolves to the TrustRoot.
 */
export async function trustForVisitor(published, centreId, fetchLog) {
  const trust = await trustFrom(published);
  const log = await checkLog(trust, centreId, fetchLog, { remember: false });
  if (log.newest !== (await directoryHash(b64decode(published.directory)))) throw new TrustProblem("old_directory");
  return trust;
}

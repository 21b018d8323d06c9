// The trust root on /staff/admin/keys (PROTOCOL.md §5.4-§5.6): the centre's fingerprint (and the
// configuration line that pins it), the anchors and which admins' keys are among them, adding and
// removing an anchor (a new root version signed here; with a threshold above one it waits as a
// draft for other anchors to cosign on their own devices), and the public log's head.
//
// What this page trusts is the chain verified to the pin the page carries — never the server's
// list. Only on a zero-config install before the first root exists does the page have no pin;
// the first version then names the admin's own key, and the server pins it on first use.

import { staffApi } from "../shared/http.js";
import { el, say } from "../shared/dom.js";
import { format } from "../shared/strings.js";
import { pagePin } from "../shared/trust.js";
import {
  b64decode,
  b64encode,
  centreFingerprint,
  cosignTrustRoot,
  draftTrustRoot,
  fromHex,
  parseTrustRoot,
  shortCentreFingerprint,
  toHex,
  verifyLogHead,
  verifyTrustRoot,
} from "./keys-lib.js";

const $ = (id) => document.getElementById(id);

export class AnchorsPanel {
  /** t: the page's strings; errorBox, doneBox: where outcomes are said; admin(): the unlocked key. */
  constructor({ t, errorBox, doneBox, admin, changed }) {
    Object.assign(this, { t, errorBox, doneBox, admin, changed });
    this.info = null; // GET /api/trust
    this.trust = null; // the verified chain, or null (none yet, or it does not verify)
    this.centreId = null;
    this.admins = [];
    $("cosign-draft").addEventListener("click", () => this.cosignDraft());
    $("root-threshold").addEventListener("input", (event) => (event.target.dataset.touched = "yes"));
  }

  /** The pin to verify against: the page's; before any root exists on a zero-config install,
   * the one the admin's own key will make. */
  async pin() {
    const carried = pagePin();
    if (carried) return carried;
    const me = this.admin();
    return me && this.centreId ? centreFingerprint(this.centreId, me.public) : null;
  }

  async load() {
    this.info = await staffApi("GET", "/api/trust");
    this.centreId = fromHex(this.info.centre_id);
    this.admins = await staffApi("GET", "/api/admin/centre-keys");
    this.trust = null;
    this.problem = false;
    const pin = await this.pin();
    if (this.info.roots.length && pin) {
      try {
        this.trust = await verifyTrustRoot(this.info.roots.map((r) => b64decode(r, 4096)), pin);
      } catch {
        this.problem = true;
      }
    }
    if (this.problem) say(this.errorBox, this.t.bad_root);
    await this.render(pin);
    return this.trust;
  }

  /** My key is an anchor of the verified root. */
  isAnchor(key) {
    return Boolean(this.trust && key && this.trust.anchors.some((a) => toHex(a) === toHex(key)));
  }

  /** After the key is unlocked or made: a zero-config install's first root names it. */
  async ensureFirstRoot() {
    const me = this.admin();
    if (!me || this.info.roots.length) return;
    const draft = await draftTrustRoot({
      centreId: this.centreId,
      version: 1,
      issuedAt: Math.floor(Date.now() / 1000),
      previous: null,
      anchors: [me.public],
      threshold: 1,
      logKey: b64decode(this.info.log_key),
    });
    await staffApi("PUT", "/api/admin/trust-root", { root: b64encode(await cosignTrustRoot(draft, me)) });
    await this.load();
  }

  async render(pin) {
    if (pin) {
      $("trust-fingerprint").textContent = await shortCentreFingerprint(pin);
      $("trust-fingerprint-line").hidden = !this.trust;
      $("pin-config").hidden = !this.trust || this.info.pin_configured;
      $("pin-line").textContent = `TRYGG_TRUST_PIN=${toHex(pin)}`;
    }
    const newest = this.trust?.newest;
    $("root-summary").textContent = newest
      ? format(this.t.root_summary, { version: newest.version, anchors: newest.anchors.length, threshold: newest.threshold })
      : "";
    const me = this.admin();
    $("not-anchor").hidden = !(me && this.trust && !this.isAnchor(me.public));
    const threshold = $("root-threshold");
    if (newest && !threshold.dataset.touched) threshold.value = String(newest.threshold);
    this.renderRows();
    await this.renderDraft();
    await this.renderLog();
  }

  renderRows() {
    const rows = $("anchor-rows");
    const mayChange = Boolean(this.trust && this.isAnchor(this.admin()?.public));
    const anchors = new Set((this.trust?.anchors ?? []).map(toHex));
    const known = new Set();
    const lines = [];
    for (const person of this.admins) {
      const key = toHex(b64decode(person.sig_public));
      known.add(key);
      lines.push(this.row(person.display_name, key, anchors.has(key), mayChange));
    }
    for (const key of anchors) if (!known.has(key)) lines.push(this.row(this.t.unknown_admin, key, true, mayChange));
    rows.replaceChildren(...lines);
  }

  row(name, key, anchor, mayChange) {
    const label = format(anchor ? this.t.remove_anchor : this.t.add_anchor, { name });
    const onlyOne = anchor && this.trust?.anchors.length === 1;
    const button = el("button", { type: "button", class: "anchor-change", "data-key": key, disabled: !mayChange || onlyOne, text: label });
    button.addEventListener("click", () => this.change(key, !anchor));
    return el(
      "tr",
      { "data-key": key, "data-anchor": anchor ? "yes" : "no" },
      el("td", { text: name }),
      el("td", { class: "fingerprint", text: `${key.slice(0, 16)}…` }),
      el("td", { text: anchor ? this.t.anchor : this.t.not_anchor }),
      el("td", {}, button),
    );
  }

  /** A new root version with `key` added or removed, signed with my key, sent. */
  async change(key, add) {
    const me = this.admin();
    if (!me || !this.trust) return;
    const newest = this.trust.newest;
    const current = this.trust.anchors.map(toHex);
    const next = add ? [...current, key] : current.filter((k) => k !== key);
    const wanted = Number.parseInt($("root-threshold").value, 10) || newest.threshold;
    const draft = await draftTrustRoot({
      centreId: this.centreId,
      version: newest.version + 1,
      issuedAt: Math.max(Math.floor(Date.now() / 1000), newest.issuedAt + 1),
      previous: newest.raw,
      anchors: next.map(fromHex),
      threshold: Math.min(Math.max(1, wanted), next.length),
      logKey: b64decode(this.info.log_key),
    });
    await this.send(await cosignTrustRoot(draft, me));
  }

  /** Send a signed version; say the outcome once the page shows what the server now holds. */
  async send(data) {
    say(this.errorBox, "");
    say(this.doneBox, "");
    let done = "";
    let failure = "";
    try {
      const answer = await staffApi("PUT", "/api/admin/trust-root", { root: b64encode(data) });
      done = answer.state === "applied" ? this.t.root_applied : this.t.root_pending;
    } catch (error) {
      failure = error?.message || this.t.failed;
    }
    await this.load();
    await this.changed();
    say(this.doneBox, done);
    if (failure) say(this.errorBox, failure);
  }

  /** A draft that extends our verified root: what it would change, and a button to cosign. */
  async renderDraft() {
    const box = $("root-draft");
    box.hidden = true;
    if (!this.info.draft || !this.trust) return;
    let draft;
    try {
      draft = await parseTrustRoot(b64decode(this.info.draft, 4096));
    } catch {
      return;
    }
    const newest = this.trust.newest;
    if (draft.version !== newest.version + 1 || toHex(draft.previous) !== toHex(newest.hash)) return;
    const byKey = new Map(this.admins.map((a) => [toHex(b64decode(a.sig_public)), a.display_name]));
    const names = draft.anchors.map((a) => byKey.get(toHex(a)) ?? `${toHex(a).slice(0, 16)}…`).join(", ");
    $("draft-summary").textContent = format(this.t.draft_summary, { version: draft.version, threshold: draft.threshold, names });
    const me = this.admin();
    const signed = draft.signatures.some(([signer]) => me && toHex(signer) === toHex(me.public));
    $("cosign-draft").disabled = !me || signed || !this.isAnchor(me.public);
    box.hidden = false;
    this.draft = draft;
  }

  async cosignDraft() {
    const me = this.admin();
    if (!me || !this.draft) return;
    await this.send(await cosignTrustRoot(this.draft.raw, me));
  }

  /** The log's head, signed by the key the root names: what admins compare among themselves. */
  async renderLog() {
    const box = $("log-summary");
    box.textContent = "";
    if (!this.trust) return;
    try {
      const log = await staffApi("GET", "/api/log");
      const head = await verifyLogHead(b64decode(log.head, 256), this.trust.logKey, this.centreId);
      box.textContent = format(this.t.log_summary, { size: head.size, head: toHex(head.head).slice(0, 16) });
    } catch {
      box.textContent = this.t.bad_root;
    }
  }
}

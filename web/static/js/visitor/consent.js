// An interpreter asks to join (a counsellor's proposal, docs/INTERPRETERS.md): the visitor's page
// verifies the certificate against the anchors it trusts, shows the name and security number,
// and only the visitor's yes lets them in (with what was written before, if she ticks that).
// An interpreter who asks to leave is removed by their counsellor's client or, if nobody has
// after a while, by this one. Proposals are handled one at a time, in transcript order.

import { fingerprint, fromHex, ProtocolError, Role, toHex, verifyCertificate } from "../protocol.js";
import { readDeclined } from "../shared/interpreter-request.js";
import { byId } from "../shared/dom.js";
import { t } from "./strings.js";

const LEAVE_FALLBACK_MS = 10000;

export class Consent {
  /** session() → the ChatSession; remove(id); note(seq, text); request() → my latest request. */
  constructor({ session, remove, note, request }) {
    Object.assign(this, { session, remove, note, request });
    this.invitations = new Map(); // interpreter id -> {cert, name, fingerprint}: waiting for an answer
    this.answered = new Set(); // said "no thanks" to (until invited again)
    this.names = new Map(); // interpreter id -> name, for "you said no thanks to …"
    this.leaving = new Map(); // interpreter id -> timer: asked to leave; removed if nobody else does
    this.queue = Promise.resolve();
    byId("consent-yes").addEventListener("click", () => this.yes());
    byId("consent-no").addEventListener("click", () => this.no());
  }

  /** A new transcript entry (called in order). */
  entry(entry) {
    this.queue = this.queue.then(() => this._entry(entry)).catch(() => {});
  }

  async _entry(entry) {
    if (entry.kind === "proposal" && !entry.mine && entry.proposal) await this._proposal(entry);
    else if (entry.kind === "data" && entry.mine && readDeclined(entry.value)) this._declined(readDeclined(entry.value));
    else if (entry.kind === "commit") {
      for (const id of entry.added) this._close(id); // they are in: nothing left to answer
      for (const id of entry.removed) {
        clearTimeout(this.leaving.get(id));
        this.leaving.delete(id);
      }
    }
  }

  async _proposal({ proposal, from, role, seq }) {
    const conversation = this.session()?.conversation;
    if (!conversation) return;
    if (proposal.action === 2) {
      // "Leave": an interpreter asks to be removed. Their counsellor's client commits it; if
      // nobody has after a while, this client does (only if they are still a member then).
      const id = toHex(proposal.value);
      if (id !== from || role !== Role.INTERPRETER || this.leaving.has(id)) return;
      this.leaving.set(id, setTimeout(() => this.remove(id), LEAVE_FALLBACK_MS));
      return;
    }
    if (proposal.action !== 1 || role !== Role.COUNSELLOR) return;
    let cert;
    let number;
    try {
      cert = await verifyCertificate(proposal.value, conversation.anchors, Math.floor(Date.now() / 1000));
      if (cert.role !== Role.INTERPRETER || toHex(cert.centreId) !== toHex(conversation.centreId)) throw new ProtocolError("bad_certificate");
      number = await fingerprint(cert.staffId, cert.sigPublic, cert.kemPublic);
    } catch {
      this.note(seq, t("invitation_unverified")); // fail closed: nobody is asked about, nobody joins
      return;
    }
    const id = toHex(cert.staffId);
    if (conversation.members.some((m) => toHex(m.memberId) === id)) return; // already in
    this.answered.delete(id);
    this.names.set(id, cert.displayName);
    this.invitations.set(id, { cert, name: cert.displayName, fingerprint: number });
    this.render();
  }

  _declined(id) {
    this.answered.add(id);
    this._close(id);
  }

  _close(id) {
    if (this.invitations.delete(id)) this.render();
  }

  current() {
    const open = [...this.invitations.entries()].filter(([id]) => !this.answered.has(id));
    return open.length ? open[open.length - 1] : null;
  }

  yes() {
    const current = this.current();
    const session = this.session();
    if (!current || !session || session.broken) return;
    const [id, invitation] = current;
    const withHistory = byId("consent-history").checked;
    byId("consent-yes").disabled = byId("consent-no").disabled = true;
    const inside = (c) => c.members.some((m) => toHex(m.memberId) === id);
    session.enqueue({ kind: "op", frame: "commit", build: (c) => (inside(c) ? null : c.addMember(invitation.cert.raw)) });
    if (!withHistory) return;
    session.enqueue({
      kind: "op",
      build: (c) => {
        // Only once they are in, and only the epochs before the one that let them in.
        const epochs = c.knownEpochs().filter((e) => e < c.epoch);
        return inside(c) && epochs.length ? c.shareHistory(fromHex(id), epochs) : null;
      },
    });
  }

  no() {
    const current = this.current();
    const session = this.session();
    if (!current || !session || session.broken) return;
    this.answered.add(current[0]);
    session.writeJson({ kind: "interpreter_declined", member: current[0] });
    this.render();
  }

  render() {
    const box = byId("consent");
    const current = this.current();
    if (!current) {
      box.hidden = true;
      delete box.dataset.member;
      return;
    }
    const [id, invitation] = current;
    const wasShown = !box.hidden && box.dataset.member === id;
    const request = this.request();
    box.dataset.member = id;
    byId("consent-who").textContent = t("consent_who", { name: invitation.name, role: t("interpreter") });
    byId("consent-language").textContent = request ? t("consent_language", { language: request }) : "";
    byId("consent-fingerprint").textContent = invitation.fingerprint;
    for (const button of ["consent-yes", "consent-no"]) byId(button).disabled = false;
    if (!wasShown) byId("consent-history").checked = false; // off unless the visitor ticks it
    box.hidden = false;
    if (!wasShown) byId("consent-heading").focus();
  }
}

// Who can read the visitor's conversation, as the visitor's page shows it: the counsellors and
// interpreters of the current epoch with their security numbers, and a note whenever someone
// joins or leaves. Read again from the transcript's commits (chat/transcript.js) at every change.
//
// A commit by a counsellor that only adds someone is a transfer — or, when the centre has two
// counsellors, a return to the queue: the same member list. The counsellor's signed handover
// marker, sent right after, tells which; until it comes (at most a few seconds) the commit is
// not shown. A return to the queue lists every counsellor and shows no one in particular.

import { fingerprint, Role, toHex } from "../protocol.js";
import { byId, el } from "../shared/dom.js";
import { t } from "./strings.js";

export const HANDOVER_WAIT_MS = 3000;

const fallbackName = (role) => (role === Role.INTERPRETER ? t("interpreter") : t("counsellor"));

export class Members {
  /** changed(): draw again (a security number was worked out, a wait ended); remove(id). */
  constructor({ changed, remove }) {
    this.changed = changed;
    this.remove = remove;
    this.fingerprints = new Map(); // member id -> security number
    this.timer = null;
    this.shown = null; // what the members box shows now (drawn again only when that changes)
    this.view = { notes: new Map(), known: new Map(), staffNow: [], small: true, counsellor: null };
  }

  /**
   * Read the commits in `entries`; `statusCounsellor` is the server's word on who has it;
   * `initial`: the genesis's members, who can read before any commit (and before the first
   * message) — the visitor sees them all.
   */
  read(entries, statusCounsellor = null, now = Date.now(), initial = []) {
    const known = new Map(); // member id -> {name, role}: everyone listed by a commit so far
    const notes = new Map(); // seq -> [text]
    for (const m of initial) this._learn(known, m);
    let staffNow = initial.filter((m) => m.role !== Role.VISITOR).map((m) => toHex(m.memberId));
    let small = true;
    let counsellor = statusCounsellor;
    let waitUntil = null;
    const commits = entries.filter((e) => e.kind === "commit");
    commits.forEach((entry, index) => {
      for (const m of entry.members) this._learn(known, m);
      const kind = this._kind(entry, commits[index + 1], now);
      if (kind === "pending") {
        waitUntil = entry.receivedAt + HANDOVER_WAIT_MS;
        return;
      }
      staffNow = entry.members.filter((m) => m.role !== Role.VISITOR).map((m) => toHex(m.memberId));
      small = kind !== "release";
      if (!small) return;
      const lines = [];
      const note = (id, key) => {
        const member = known.get(id);
        if (member) lines.push(t(member.role === Role.INTERPRETER ? `interpreter_${key}` : key, { name: member.name }));
      };
      for (const id of entry.added) note(id, "joined");
      for (const id of entry.removed) note(id, "left");
      notes.set(entry.seq, lines);
      if (!counsellor || !staffNow.includes(counsellor)) {
        counsellor = staffNow.find((id) => known.get(id)?.role === Role.COUNSELLOR) ?? null;
      }
    });
    clearTimeout(this.timer);
    if (waitUntil !== null) this.timer = setTimeout(() => this.changed(), Math.max(0, waitUntil - now) + 50);
    this.view = { notes, known, staffNow, small, counsellor };
    return this.view;
  }

  /** "change", "release", or "pending" while a transfer-or-release waits for its marker. */
  _kind(entry, next, now) {
    const committer = entry.members.find((m) => toHex(m.memberId) === entry.from);
    if (entry.members.filter((m) => m.role === Role.COUNSELLOR).length > 3) return "release";
    if (committer?.role !== Role.COUNSELLOR || !entry.added.length || entry.removed.length) return "change";
    if (entry.explained) return entry.explained.action === "release" ? "release" : "change";
    if (next || now - entry.receivedAt >= HANDOVER_WAIT_MS) return "change"; // read as it stands
    return "pending";
  }

  _learn(known, m) {
    const id = toHex(m.memberId);
    if (m.role === Role.VISITOR || known.has(id)) return;
    known.set(id, { name: m.displayName || fallbackName(m.role), role: m.role });
    if (this.fingerprints.has(id)) return;
    this.fingerprints.set(id, null);
    fingerprint(m.memberId, m.sigPublic, m.kemPublic).then((number) => {
      this.fingerprints.set(id, number);
      this.changed();
    });
  }

  /** A sender's name: as certified, else what they are. */
  name(id, role) {
    return this.view.known.get(id)?.name || fallbackName(role);
  }

  /** The members box: everyone who can read now, each with their security number — however
   * many (a return to the queue lists every counsellor): the list is compact, never cut short. */
  render() {
    const box = byId("counsellors");
    const { staffNow, known } = this.view;
    const rows = [];
    for (const id of staffNow) {
      const member = known.get(id);
      const number = this.fingerprints.get(id);
      if (!member || !number) continue;
      const short = number.split(" ").slice(0, 2).join(" ");
      const role = member.role === Role.INTERPRETER ? t("interpreter") : t("counsellor");
      rows.push(
        el(
          "li",
          { class: "member", "data-member": id },
          el("strong", { class: "member-name" }, member.name),
          ` (${role}) `,
          el("details", {}, el("summary", {}, t("fingerprint", { number: short })), el("p", { class: "fingerprint" }, number)),
          member.role === Role.INTERPRETER ? this._removeButton(id, member.name) : null,
        ),
      );
    }
    const signature = rows.map((row) => row.textContent).join("\n");
    if (signature === this.shown) return;
    this.shown = signature;
    box.hidden = rows.length === 0;
    const heading = el("h2", { class: "members-heading" }, t("who_can_read", { count: rows.length }));
    box.replaceChildren(heading, el("ul", { class: "members compact" }, ...rows));
  }

  _removeButton(id, name) {
    const button = el("button", { type: "button", class: "remove-member", "data-remove": id }, t("remove_interpreter", { name }));
    button.addEventListener("click", () => {
      button.disabled = true;
      this.remove(id);
    });
    return button;
  }
}

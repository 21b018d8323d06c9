// "Invite an interpreter" on the dashboard: choose one (those covering the visitor's language
// first), invite them (a proposal the visitor's client verifies and asks the visitor about),
// see where each invitation stands, and take an interpreter out again.

import { byId as $, el } from "../shared/dom.js";
import { rankInterpreters } from "../shared/interpreter-request.js";
import { format } from "../shared/strings.js";
import { encodeAddProposal, Role, toHex } from "./keys-lib.js";

export class InterpreterPanel {
  /** interpreters: staff id -> {name, certificate, languages}; describe(code): a language's name. */
  constructor({ t, desk, interpreters, writable, describe }) {
    Object.assign(this, { t, desk, interpreters, writable, describe });
    $("interpreter-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.invite();
    });
    $("remove-interpreter").addEventListener("click", () => this.removeAll());
  }

  /** The interpreters in the conversation's current epoch: [{id, name}]. */
  inside(rec) {
    return rec.session.members.filter((m) => m.role === Role.INTERPRETER).map((m) => ({ id: toHex(m.memberId), name: m.displayName }));
  }

  async invite() {
    const rec = this.desk.current();
    const person = this.interpreters.get($("interpreter-to").value);
    if (!person || !this.writable(rec)) return;
    // The proposal carries the certificate from the verified directory; the visitor's client
    // verifies it again, shows the name and security number, and only the visitor can commit.
    const result = await rec.session.propose(encodeAddProposal(person.certificate)).result;
    if (!result.ok) rec.notice = result.message || this.t.failed;
    this.desk.changed();
  }

  async removeAll() {
    const rec = this.desk.current();
    if (!this.writable(rec)) return;
    for (const person of this.inside(rec)) {
      const result = await rec.session.removeMembers([person.id]).result;
      if (!result.ok) rec.notice = result.message || this.t.failed;
    }
    this.desk.changed();
  }

  render(rec, canWrite) {
    const { t } = this;
    const select = $("interpreter-to");
    const current = select.value;
    const inside = new Set(this.inside(rec).map((p) => p.id));
    const people = [...this.interpreters].map(([id, p]) => ({ id, ...p })).filter((p) => !inside.has(p.id));
    const ranked = rankInterpreters(people, this.desk.reading(rec).interpreter?.language);
    const options = ranked.map((p) =>
      el("option", { value: p.id, text: p.languages.length ? `${p.name} (${p.languages.map(this.describe).join(", ")})` : p.name }),
    );
    if (options.length === 0) options.push(el("option", { value: "", text: t.no_interpreter }));
    select.replaceChildren(...options);
    if ([...select.options].some((o) => o.value === current)) select.value = current;
    $("invite-interpreter").disabled = !canWrite || ranked.length === 0;
    $("remove-interpreter").hidden = inside.size === 0;
    $("remove-interpreter").disabled = !canWrite;
    $("interpreter-status").replaceChildren(
      ...[...this.desk.reading(rec).invites].map(([id, invite]) =>
        el("li", { "data-interpreter": id, "data-state": invite.state, text: format(t[`invite_${invite.state}`], { name: invite.name }) }),
      ),
    );
  }
}

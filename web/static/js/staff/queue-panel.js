// The queue on the dashboard: who is waiting and since when (with the visitor's interface
// language and, decrypted here, an interpreter request), taking a conversation, and the
// colleagues on duty (from the `queue` frame and the pushed `presence` frame).

import { byId as $, el } from "../shared/dom.js";
import { languageLabel } from "../shared/languages.js";
import { format } from "../shared/strings.js";

export class QueuePanel {
  /** describe(request): an interpreter request in words; interfaceNames: code -> own name. */
  constructor({ t, desk, describe, interfaceNames, maxOpen }) {
    Object.assign(this, { t, desk, describe, interfaceNames, maxOpen });
    this.ids = []; // conversation ids, oldest first
    this.onDuty = []; // [{staff_id, display_name}]
    this.seen = null; // ids already announced (null until the first queue frame)
    this.notice = "";
  }

  /** A `queue` frame; true when someone new is waiting (worth a sound). */
  update(f) {
    const { desk } = this;
    const ids = f.items.map((item) => item.conversation);
    const first = this.seen === null;
    this.seen ??= new Set();
    let fresh = false;
    for (const item of f.items) {
      const rec = desk.conversation(item.conversation);
      Object.assign(rec, { status: "queued", language: item.language, queuedAt: item.queued_at });
      rec.startedAt = item.started_at ?? rec.startedAt;
      fresh ||= !this.seen.has(item.conversation);
      this.seen.add(item.conversation);
    }
    for (const [id, rec] of desk.convs) {
      const idle = rec.session.outbox.waiting === 0; // never drop what is still being sent
      if (rec.status === "queued" && !ids.includes(id) && !desk.tabs.includes(id) && idle) desk.forget(id);
    }
    this.ids = ids;
    this.onDuty = f.on_duty || [];
    return fresh && !first;
  }

  /** Someone else has it now: off the queue. */
  drop(id) {
    this.ids = this.ids.filter((x) => x !== id);
  }

  async take(rec) {
    const { t, desk } = this;
    this.notice = "";
    // The answer may come late (a slow network, a reconnect). If by then the counsellor has gone
    // on writing or chosen another conversation, the new tab opens without taking the box from
    // under her fingers: what she types next must not land in another visitor's draft.
    const draft = () => desk.current()?.session.draft ?? "";
    const before = { selected: desk.selected, draft: draft() };
    const result = await rec.session.enqueue({ kind: "op", frame: "claim", build: (c) => c.claim() }).result;
    if (result.ok) {
      Object.assign(rec, { mine: true, status: "active" });
      desk.openTab(rec.id);
      if (desk.selected === before.selected && draft() === before.draft) desk.select(rec.id);
    } else if (result.code === "already_claimed" && (await this.mineAfterAll(rec.id))) {
      // Taken at the same moment in another tab of mine: it is mine here too (the list opened it).
      if (desk.selected === before.selected && draft() === before.draft) desk.select(rec.id);
    } else {
      this.notice = result.code === "already_claimed" ? t.already_claimed : result.message || t.failed;
      if (result.code === "already_claimed") {
        desk.forget(rec.id);
        this.drop(rec.id);
      }
    }
    desk.changed();
  }

  /** Whether the server lists `id` among my conversations; its list goes to the page as if
   * pushed (which opens the tab). */
  async mineAfterAll(id) {
    try {
      const answer = await this.desk.socket.request({ type: "assignments" });
      if (answer.type !== "assignments") return false;
      this.desk.router.route(answer);
      return answer.items.some((item) => item.conversation === id);
    } catch {
      return false;
    }
  }

  /** How long each visitor has waited, every second. */
  tick() {
    for (const node of document.querySelectorAll("[data-since]")) {
      node.textContent = format(this.t.waiting_since, { time: elapsed(node.dataset.since) });
    }
  }

  render(full) {
    const { t, desk } = this;
    $("queue-count").textContent = String(this.ids.length);
    $("queue-empty").hidden = this.ids.length > 0;
    const tag = (text, className = "tag") => el("span", { class: className, text });
    const items = this.ids.map((id) => {
      const rec = desk.convs.get(id);
      if (!rec) return null;
      const { session } = rec;
      const interpreter = desk.reading(rec).interpreter;
      const disabled = !session.canRead || full || session.outbox.waiting > 0;
      return el(
        "li",
        { class: "queue-item", "data-conversation": id },
        tag(desk.label(rec), "label"),
        el("span", { class: "wait", "data-since": rec.queuedAt, text: format(t.waiting_since, { time: elapsed(rec.queuedAt) }) }),
        tag(format(t.interface, { language: languageLabel(rec.language, { own: this.interfaceNames }) })),
        interpreter ? tag(format(t.interpreter_tag, { language: this.describe(interpreter) }), "tag interpreter") : null,
        session.conversation && !session.canRead ? tag(t.unreadable) : null,
        el("button", { type: "button", class: "primary take", id: `take-${id}`, text: t.take, disabled, onclick: () => this.take(rec) }),
      );
    });
    const notice = this.notice ? el("li", { class: "notice", id: "queue-notice", role: "status", text: this.notice }) : null;
    const limit = full && items.length ? el("li", { class: "notice", id: "queue-full", text: format(t.at_limit, { count: this.maxOpen }) }) : null;
    $("queue").replaceChildren(...[notice, limit, ...items].filter(Boolean));
    const others = this.onDuty.filter((person) => person.staff_id !== desk.me);
    $("on-duty").replaceChildren(
      ...(others.length
        ? others.map((person) => el("li", { "data-staff-id": person.staff_id, text: person.display_name }))
        : [el("li", { class: "note", text: t.on_duty_none })]),
    );
  }
}

/** "4:05" (or "1:02:03") since an ISO time. */
function elapsed(since) {
  const seconds = Math.max(0, Math.floor((Date.now() - Date.parse(since)) / 1000));
  const hours = Math.floor(seconds / 3600);
  const mm = String(Math.floor((seconds % 3600) / 60)).padStart(hours ? 2 : 1, "0");
  const ss = String(seconds % 60).padStart(2, "0");
  return hours ? `${hours}:${mm}:${ss}` : `${mm}:${ss}`;
}

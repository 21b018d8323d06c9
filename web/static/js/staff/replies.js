// Saved replies on the dashboard: listed, added, deleted and put into the message box. They are
// sealed to the counsellor's own key (canned.js); the server only ever sees their size.

import * as canned from "./canned.js";
import { byId as $, el, say } from "../shared/dom.js";

export class SavedReplies {
  /** `input`: the message box a reply is put into (as if typed: the draft follows it). */
  constructor({ t, input }) {
    this.t = t;
    this.input = input;
    this.identity = null;
    this.replies = [];
    $("canned-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.save();
    });
  }

  async load(identity = this.identity) {
    this.identity = identity;
    try {
      this.replies = await canned.listReplies(identity);
    } catch {
      this.replies = [];
    }
    this.render();
  }

  async save() {
    const text = $("canned-text").value.trim();
    if (!text) return;
    try {
      await canned.saveReply(this.identity, text.slice(0, canned.MAX_CHARS));
      $("canned-text").value = "";
      await this.load();
    } catch (error) {
      say($("dashboard-error"), error?.message || this.t.failed);
    }
  }

  render() {
    const { t } = this;
    if (this.replies.length === 0) {
      $("canned-list").replaceChildren(el("li", { class: "note", text: t.no_canned }));
      return;
    }
    $("canned-list").replaceChildren(
      ...this.replies.map((reply) => {
        const insert = el("button", { type: "button", class: "insert", "data-reply": reply.id, text: reply.text, onclick: () => this.insert(reply.text) });
        const remove = el("button", {
          type: "button",
          class: "delete-reply",
          text: t.delete,
          onclick: async () => {
            await canned.deleteReply(reply.id).catch(() => {});
            await this.load();
          },
        });
        return el("li", {}, insert, " ", remove);
      }),
    );
  }

  insert(text) {
    const input = this.input;
    const start = input.selectionStart ?? input.value.length;
    const end = input.selectionEnd ?? input.value.length;
    input.value = input.value.slice(0, start) + text + input.value.slice(end);
    input.dispatchEvent(new Event("input")); // the conversation's draft follows
    input.focus();
    input.selectionStart = input.selectionEnd = start + text.length;
  }
}

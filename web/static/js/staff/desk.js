// What the counsellor's dashboard and the interpreter's page share: the unlocked key, the one
// socket and its frame router, one chat session (chat/session.js) per conversation, the tabs
// (each conversation keeps its own draft), and the chat view drawn from the session's transcript
// (header, notice, messages and what happened, who is typing). The pages add what is theirs.

import { conversationCode, conversationLabel } from "../chat/label.js";
import { FrameRouter } from "../chat/router.js";
import { ChatSession } from "../chat/session.js";
import { Announcer } from "../shared/announcer.js";
import { wireComposer } from "../shared/composer.js";
import { byId as $, el, say } from "../shared/dom.js";
import { staffApi } from "../shared/http.js";
import { format } from "../shared/strings.js";
import { checkLog, directoryHash, TrustProblem, trustFrom } from "../shared/trust.js";
import { clockTime, messageItem, noteItem, showItems } from "../shared/transcript-view.js";
import { certifies, identityForPage } from "./identity.js";
import { b64decode, fromHex, openConversation, toHex } from "./keys-lib.js";
import { reading } from "./reading.js";
import { StaffSocket } from "./socket.js";

const OPENED_AT = Date.now(); // messages older than the page do not count as new

export const visible = () => document.visibilityState === "visible";

/** The centre's signed directory as published now (the chat core verifies it), or null. */
async function publishedDirectory() {
  const published = await staffApi("GET", "/api/directory");
  return published.directory ? b64decode(published.directory) : null;
}

export class Desk {
  /**
   * t: the page's strings. Hooks: writable(rec); mayReceipt(rec); opened() after every
   * (re)connect; frame(frame) for frames no conversation takes; event(rec, name, detail) for
   * every session event; render() draws the page (batched, see changed()).
   */
  constructor({ t, writable, mayReceipt = () => false, opened = () => {}, frame = () => {}, event = () => {}, render }) {
    Object.assign(this, { t, writable, mayReceipt, opened, event, render });
    this.convs = new Map(); // conversation id -> record {id, session, status, mine, notice, startedAt, …}
    this.parked = new Map(); // forgotten, with something still on its way to the server
    this.tabs = []; // conversation ids, in the order they were opened
    this.selected = null;
    this.anchors = []; // the verified trust root (loadTrust), never the server's list
    this.log = null; // what the public log holds (shared/trust.js checkLog), once checked
    this.alarms = new Set();
    this.counsellorIds = new Set();
    this.lang = document.documentElement.lang || undefined;
    this.timeZone = $("dashboard").dataset.timeZone || undefined;
    this.router = new FrameRouter(frame);
    this.announcer = new Announcer($("announcer"), OPENED_AT);
    this.pending = false;
    this.composer = wireComposer({
      form: $("composer"),
      input: $("message-input"),
      current: () => this.current()?.session ?? null,
      canWrite: (session) => this.writable(this.convs.get(session.id)),
      send: (session, text) => session.write(text),
    });
  }

  /** Unlock (or create) the key, let the page load what it needs, connect. */
  async start(prepare) {
    const { identity, info } = await identityForPage({ t: this.t, errorBox: $("dashboard-error") });
    this.info = info;
    this.identity = identity;
    this.me = toHex(identity.memberId);
    $("not-certified").hidden = certifies(info.certificate, identity);
    await prepare();
    $("dashboard").hidden = false;
    this.socket = new StaffSocket({
      open: () => {
        this.setConnection("online");
        this.router.connected();
        this.opened();
      },
      down: () => {
        this.setConnection("offline");
        this.router.disconnected();
      },
      frame: (frame) => this.router.route(frame),
    });
    this.socket.start();
    document.addEventListener("visibilitychange", () => {
      const rec = this.current();
      if (!rec || !visible()) return;
      rec.unread = rec.notified = 0;
      rec.session.seen();
      this.changed();
    });
    setInterval(() => this.renderTyping(), 1000);
    this.changed();
    document.body.dataset.ready = "yes";
  }

  setConnection(which) {
    $("connection").dataset.state = which;
    $("connection").textContent = this.t[which];
  }

  /** Draw the page once after the current burst of changes. */
  changed() {
    if (this.pending) return;
    this.pending = true;
    queueMicrotask(() => {
      this.pending = false;
      this.render();
    });
  }

  // --- conversations -------------------------------------------------------------------

  /** The record of conversation `id`, made (with its session, following it) on first sight. */
  conversation(id) {
    let rec = this.convs.get(id) ?? this.parked.get(id);
    this.parked.delete(id);
    if (rec) {
      this.convs.set(id, rec);
      return rec;
    }
    const session = new ChatSession({
      id,
      me: this.me,
      open: async (genesis) => {
        const conversation = await openConversation(this.identity, genesis, this.anchors);
        this.checkGenesis(id, conversation);
        return conversation;
      },
      send: (frame) => this.socket.send(frame),
      countsFor: (member) => member === session.visitorId, // the visitor's receipts
      isRead: () => this.selected === id && visible(),
      mayReceipt: () => this.mayReceipt(rec),
      receiptDelayMs: 600, // a counsellor's page says "read" a little after the words arrive
      directory: publishedDirectory, // re-keys without someone who must go (§8.5)
    });
    rec = { id, session, status: "queued", mine: false, notice: null, startedAt: null, unread: 0, notified: 0 };
    session.on((name, detail) => {
      if (name === "idle") return;
      if (name === "entry") this.counted(rec, detail.entry);
      if (name === "entry") this.refreshCode(rec);
      this.event(rec, name, detail);
      this.changed();
    });
    this.convs.set(id, rec);
    this.router.add(session);
    session.follow();
    return rec;
  }

  /**
   * Stop showing a conversation. Whatever it is still sending keeps getting its answers (a
   * claim refused, say): it stays parked, and comes back as it is if the conversation does.
   */
  forget(id) {
    const rec = this.convs.get(id);
    if (!rec) return;
    this.convs.delete(id);
    this.parked.set(id, rec);
    Promise.all(rec.session.outbox.items.map((item) => item.result)).then(() => {
      if (this.parked.get(id) !== rec) return;
      this.parked.delete(id);
      this.router.remove(id);
    });
  }

  current() {
    return this.selected ? this.convs.get(this.selected) : undefined;
  }

  /** What a staff page reads of the record's transcript (staff/reading.js). */
  reading(rec) {
    return reading(rec.session, { me: this.me, counsellorIds: this.counsellorIds });
  }

  /** A new message from someone else while I was not looking: one more unread. */
  counted(rec, entry) {
    const live = entry.at && Date.parse(entry.at) > OPENED_AT - 5000;
    if (entry.kind !== "text" || entry.mine || !live) return;
    rec.unread = rec.id === this.selected && visible() ? 0 : rec.unread + 1;
  }

  /** "Visitor K7QD · 14:05": the same in the queue, the tabs, the header and the title. */
  label(rec) {
    const named = format(this.t.visitor_code, { code: conversationCode(rec.id) });
    return conversationLabel(named, rec.startedAt, { lang: this.lang, timeZone: this.timeZone });
  }

  // --- trust: the root to the pin, the log, each conversation's genesis -----------------------

  /**
   * Verify the root chain of `published` (GET /api/directory) to the page's pin — else throw
   * (fail closed: no conversation is opened) — then check the public log: it extends what this
   * browser saw last and lists the roots and the directory this page is shown. Alarms, not
   * refusals, for the log: the counsellor must see them, and tell the administrator.
   */
  async loadTrust(published) {
    this.centreId = fromHex(published.centre_id);
    try {
      this.anchors = await trustFrom(published);
    } catch (error) {
      this.alarm(error instanceof TrustProblem ? error.code : "bad_root");
      throw error;
    }
    try {
      this.log = await checkLog(this.anchors, this.centreId, () => staffApi("GET", "/api/log"));
    } catch (error) {
      this.alarm(error instanceof TrustProblem ? error.code : "bad_log");
      return;
    }
    if (!published.directory) return;
    const shown = await directoryHash(b64decode(published.directory));
    if (!this.log.directories.has(shown)) this.alarm("log_directory");
    else if (shown !== this.log.newest) this.alarm("log_old_directory"); // an older edition replayed
  }

  /** A conversation whose genesis names a directory the log does not hold: the visitor was
   * shown keys that staff were not. */
  checkGenesis(id, conversation) {
    if (!this.log || this.log.directories.has(toHex(conversation.directoryHash))) return;
    const rec = this.convs.get(id);
    if (rec) rec.untrusted = true;
    this.alarm("log_genesis", { name: rec ? this.label(rec) : id.slice(0, 8), conversation: id });
  }

  /** Show one problem in the page's alarm box (each once). */
  alarm(code, values = {}) {
    const key = `${code}:${values.conversation ?? ""}`;
    if (this.alarms.has(key)) return;
    this.alarms.add(key);
    const box = $("trust-alarm");
    if (!box) return;
    const text = format(this.t[`trust_${code}`] ?? this.t.trust_bad_log, values);
    box.querySelector("ul").append(el("li", { "data-problem": code, "data-conversation": values.conversation ?? "", text }));
    box.hidden = false;
  }

  /** The conversation code (PROTOCOL.md §14.3) of me and the visitor, for the current epoch. */
  refreshCode(rec) {
    const conversation = rec.session.conversation;
    if (!conversation || rec.codeEpoch === conversation.epoch) return;
    rec.codeEpoch = conversation.epoch;
    conversation
      .conversationCode()
      .then((code) => {
        rec.code = code;
        this.changed();
      })
      .catch(() => {
        rec.code = null; // not a member of this epoch (yet): nothing to compare
      });
  }

  // --- tabs ------------------------------------------------------------------------------

  openTab(id) {
    if (!this.tabs.includes(id)) this.tabs.push(id);
    if (!this.selected) this.select(id);
  }

  /** Close a tab (a conversation still queued stays known: it is in the queue). */
  closeTab(id) {
    this.tabs = this.tabs.filter((x) => x !== id);
    if (this.selected === id) this.select(this.tabs[0] || null, { focus: false });
    const rec = this.convs.get(id);
    if (rec && rec.status !== "queued") this.forget(id);
  }

  /** Show conversation `id` (its own draft comes with it). */
  select(id, { focus = true } = {}) {
    this.selected = id;
    const rec = this.current();
    if (rec) {
      rec.unread = rec.notified = 0;
      rec.session.seen();
    }
    this.changed();
    if (rec && focus) {
      this.composer.show(rec.session);
      $("message-input").focus();
    }
  }

  // --- the chat view ---------------------------------------------------------------------

  /** Draw the selected conversation: `header`, `notice`, and how a system line reads (or null). */
  renderChat(rec, { header, notice, systemText, earlierHidden = false }) {
    $("no-chat").hidden = Boolean(rec);
    $("chat-view").hidden = !rec;
    this.composer.show(rec?.session ?? null);
    if (!rec) return;
    $("chat-view").dataset.conversation = rec.id;
    $("chat-header").textContent = header;
    const untrusted = rec.untrusted ? format(this.t.trust_log_genesis, { name: this.label(rec) }) : "";
    say($("chat-notice"), rec.session.broken ? this.t.broken : untrusted || notice || "");
    const { t } = this;
    const { session } = rec;
    const lines = this.reading(rec).lines;
    const items = [];
    const said = []; // what a screen reader hears: others' messages and what happened (shared/announcer.js)
    if (earlierHidden && lines.some((line) => line.kind === "unreadable")) {
      items.push(noteItem(t.earlier_hidden, { className: "earlier-hidden" }));
    }
    for (const line of lines) {
      if (line.kind === "system") {
        const text = systemText(line);
        if (text) items.push(noteItem(text, { seq: line.seq }));
        if (text) said.push({ key: `n${line.seq}:${text}`, text, at: line.at });
      } else if (line.kind === "message") {
        const entry = line.entry;
        const state = entry.mine ? session.transcript.state(entry) : null;
        const who = this.senderName(rec, entry);
        const time = clockTime(entry.at, this.lang);
        items.push(messageItem({ seq: entry.seq, mine: entry.mine, who, time, state, stateText: t[state], text: entry.text }));
        if (!entry.mine) said.push({ key: `m${entry.seq}`, text: `${who}: ${entry.text}`, at: entry.at });
      }
    }
    for (const item of session.outbox.items) {
      if (item.text === null) continue;
      const state = item.failed ? "failed" : "pending";
      const stateText = item.failed ? format(t.not_sent, { reason: item.message || item.code }) : t.sending;
      items.push(messageItem({ clientId: item.clientId, mine: true, who: t.you, state, stateText, text: item.text }));
    }
    showItems($("messages"), items);
    // Only the conversation shown: switching to one reads out nothing of it.
    this.announcer.update(said, { scope: rec.id });
    this.renderTyping();
  }

  senderName(rec, entry) {
    if (entry.mine) return this.t.you;
    if (entry.from === rec.session.visitorId) return this.t.visitor;
    return rec.session.members.find((m) => toHex(m.memberId) === entry.from)?.displayName || "";
  }

  renderTyping() {
    const rec = this.current();
    const who = rec && !rec.left ? rec.session.typingNow() : [];
    const visitor = who.some((member) => member === "visitor" || member === rec.session.visitorId);
    const text = who.length === 0 ? "" : visitor ? this.t.typing_visitor : this.t.typing_colleague;
    if ($("typing").textContent !== text) $("typing").textContent = text;
  }
}

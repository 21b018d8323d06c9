// What one member has of a conversation, in seq order: every message the protocol accepted,
// decoded (text, data, proposals, commits, history shares) or kept unreadable until a key for it
// arrives, and how far the other members have received and read.
//
// Entries: {seq, kind, from, role, at, mine, receivedAt, …} with kind "text" {text}, "data"
// {value}, "proposal" {proposal}, "commit" {members, added, removed, explained}, "history"
// {recipient, epochs, readable}, "unreadable" {data} (no key yet) or {problem} (a correctly signed
// message that does not open: "a message could not be read", PROTOCOL.md §9.6), or "other".

import { toHex } from "../protocol.js";
import { decodeContent, readHandover } from "./content.js";

/** The transcript fields of what Conversation.receive() accepted (`data`: its bytes). */
export function entryFields(r, data) {
  if (r.kind === "application") {
    if (r.readable) return decodeContent(r.contentType, r.body);
    // A key may come later (a history share); a message that failed to open never will (§9.6).
    return r.problem ? { kind: "unreadable", problem: r.problem } : { kind: "unreadable", data };
  }
  if (r.kind === "commit") {
    return { kind: "commit", members: r.members, added: r.added.map(toHex), removed: r.removed.map(toHex), explained: null };
  }
  if (r.kind === "history") return { kind: "history", recipient: toHex(r.historyRecipient), epochs: r.historyEpochs, readable: r.readable };
  return { kind: "other" };
}

export class Transcript {
  /** `countsFor(member)`: whose receipts say my messages were delivered or read. */
  constructor({ countsFor = () => true } = {}) {
    this.entries = [];
    this.receipts = new Map(); // member id hex -> {delivered, read}
    this.countsFor = countsFor;
    this.version = 0; // changes whenever an entry is added or changed
  }

  /** The next entry, in seq order. A handover marker explains the commit it names. */
  add(entry) {
    this.entries.push(entry);
    this.version += 1;
    const marker = entry.kind === "data" ? readHandover(entry.value) : null;
    if (marker) {
      const commit = this.at(marker.commit);
      if (commit?.kind === "commit" && commit.from === entry.from) commit.explained = marker;
    }
    return entry;
  }

  at(seq) {
    return this.entries.find((e) => e.seq === seq) ?? null;
  }

  /** An unreadable entry became readable (its epoch's key arrived in a history share). */
  reveal(seq, fields) {
    const index = this.entries.findIndex((e) => e.seq === seq);
    if (index < 0) return null;
    const { data: _gone, ...rest } = this.entries[index];
    this.entries[index] = { ...rest, ...fields };
    this.version += 1;
    return this.entries[index];
  }

  /** Open every unreadable entry `conversation` now has a key for; returns them as opened. */
  async openHeld(conversation) {
    const opened = [];
    for (const held of this.unreadable.filter((e) => !e.problem)) {
      let past;
      try {
        past = await conversation.decryptPast(held.data);
      } catch {
        continue; // still no key for that one
      }
      opened.push(this.reveal(held.seq, decodeContent(past.contentType, past.body)));
    }
    return opened;
  }

  get unreadable() {
    return this.entries.filter((e) => e.kind === "unreadable");
  }

  get lastSeq() {
    return this.entries.length ? this.entries[this.entries.length - 1].seq : -1;
  }

  /** A member says how far they have received and read; true if anything moved. */
  receipt(member, delivered, read) {
    const known = this.receipts.get(member) ?? { delivered: -1, read: -1 };
    const next = { delivered: Math.max(known.delivered, delivered), read: Math.max(known.read, read) };
    this.receipts.set(member, next);
    return next.delivered !== known.delivered || next.read !== known.read;
  }

  /** How far the members whose receipts count have got (the furthest of them). */
  get others() {
    let delivered = -1;
    let read = -1;
    for (const [member, r] of this.receipts) {
      if (!this.countsFor(member)) continue;
      delivered = Math.max(delivered, r.delivered);
      read = Math.max(read, r.read);
    }
    return { delivered, read };
  }

  /** "unreadable"; for my messages "read", "delivered" or "sent"; else "received". */
  state(entry) {
    if (entry.kind === "unreadable") return "unreadable";
    if (!entry.mine) return "received";
    const { delivered, read } = this.others;
    if (read >= entry.seq) return "read";
    if (delivered >= entry.seq) return "delivered";
    return "sent";
  }

  clear() {
    this.entries = [];
    this.receipts.clear();
    this.version += 1;
  }
}

// New messages read out by screen readers. The transcripts are drawn whole at every change, so
// a live region on them would read everything again (or nothing); instead each page hands its
// announcer a line per message as it draws, and each line is said once, in a visually hidden
// live region (role="log", polite). Only what was written after the page opened is read out,
// not the history it catches up on (the server's `synced` only says that delivery has begun,
// so the time the server stored a message is what tells the two apart, as for unread counts).

const KEEP = 5; // lines left in the region (removals are not read out)

export class Announcer {
  constructor(region, openedAt = Date.now()) {
    this.region = region;
    this.openedAt = openedAt;
    this.said = new Set();
    this.scope = null;
  }

  /**
   * `lines`: [{key, text, at}] as drawn now (`at`: when the server stored it). In a new `scope`
   * (another conversation shown) they are taken as said without reading anything out.
   */
  update(lines, { scope = null } = {}) {
    const fresh = scope !== this.scope;
    this.scope = scope;
    for (const line of lines) {
      const key = `${scope}/${line.key}`;
      if (this.said.has(key)) continue;
      this.said.add(key);
      const at = Date.parse(line.at);
      if (!fresh && at >= this.openedAt && this.region) this._say(line.text);
    }
  }

  _say(text) {
    const line = this.region.ownerDocument.createElement("p");
    line.textContent = text;
    this.region.append(line);
    while (this.region.childElementCount > KEEP) this.region.firstElementChild.remove();
  }

  /** Forget everything said (the conversation is gone). */
  clear() {
    this.said.clear();
    this.scope = null;
    this.region?.replaceChildren();
  }
}

// In-page notifications: a count in the tab title ("(2) Trygg") and a short sound, played
// only after the person has interacted with the page (browsers, and our autoplay policy,
// allow audio only then). The sound is a small static file fetched from our own origin.

export class Notifier {
  constructor({ soundUrl, toggle }) {
    this.baseTitle = document.title;
    this.soundUrl = soundUrl;
    this.toggle = toggle;
    this.context = null;
    this.buffer = null;
    const unlock = () => this._unlock();
    document.addEventListener("click", unlock, { capture: true });
    document.addEventListener("keydown", unlock, { capture: true });
  }

  /** Show `count` things needing attention in the title, and which conversation wrote last. */
  badge(count, label = "") {
    const base = label ? `${label} – ${this.baseTitle}` : this.baseTitle;
    document.title = count > 0 ? `(${count}) ${base}` : this.baseTitle;
  }

  async _unlock() {
    if (this.context || typeof AudioContext === "undefined") {
      if (this.context?.state === "suspended") this.context.resume().catch(() => {});
      return;
    }
    try {
      this.context = new AudioContext();
      const response = await fetch(this.soundUrl, { credentials: "same-origin" });
      this.buffer = await this.context.decodeAudioData(await response.arrayBuffer());
      document.body.dataset.sound = "ready";
    } catch {
      this.context = null;
    }
  }

  /** A short chime, if sound is on and the page may play it. */
  chime() {
    document.body.dataset.chimes = String(Number(document.body.dataset.chimes || 0) + 1);
    if (!this.buffer || !this.context || this.context.state !== "running") return;
    if (this.toggle && !this.toggle.checked) return;
    const source = this.context.createBufferSource();
    source.buffer = this.buffer;
    source.connect(this.context.destination);
    source.start();
  }
}

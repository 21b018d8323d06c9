// Moving to another centre (PROTOCOL.md §8.6): the counsellor offers, the visitor decides. With
// her yes, this client verifies the receiving centre's directory against THAT centre's trust
// root chained to THAT centre's pin (carried by the page, shared/trust.js networkPin) — anything
// else and nothing is sent — then commits a new epoch wrapped to that centre's counsellors. The
// history goes to the counsellor who takes it there only if she ticked that.

import { b64decode, fromHex, toHex, verifyDirectory } from "../protocol.js";
import { byId } from "../shared/dom.js";
import { otherCentre, TrustProblem } from "../shared/trust.js";
import { t } from "./strings.js";

export class Move {
  /** session() → the ChatSession; decline(); failed(text). */
  constructor({ session, decline, failed }) {
    Object.assign(this, { session, decline, failed });
    this.offer = null; // {centre, name, address} while an offer is open
    this.shareWith = false; // she chose to share the history: once someone there takes it
    this.moving = false;
    byId("move-yes").addEventListener("click", () => this.yes());
    byId("move-no").addEventListener("click", () => this.no());
  }

  /** The server's `conversation` status (its `move_to`: the open offer, or null). */
  status(moveTo, status, counsellor) {
    const was = this.offer?.centre ?? null;
    this.offer = moveTo && typeof moveTo.centre === "string" ? moveTo : null;
    if ((this.offer?.centre ?? null) !== was) this.render();
    // Only once it is at the new centre (her client has applied the move) and someone took it there.
    const conversation = this.session()?.conversation;
    const moved = conversation && this.movedFrom && toHex(conversation.centreId) !== this.movedFrom;
    if (this.shareWith && moved && status === "active" && counsellor) this._share(counsellor);
  }

  async yes() {
    const offer = this.offer;
    const session = this.session();
    if (!offer || !session || session.broken || this.moving) return;
    const withHistory = byId("move-history").checked;
    this.moving = true;
    byId("move-yes").disabled = byId("move-no").disabled = true;
    try {
      const { trust, published } = await otherCentre(offer.centre);
      const now = Math.floor(Date.now() / 1000);
      const directory = await verifyDirectory(b64decode(published.directory), trust.anchorsAt(now), now);
      if (toHex(directory.centreId) !== toHex(trust.centreId)) throw new TrustProblem("bad_root");
      session.conversation.knowCentre(trust);
      this.movedFrom = toHex(session.conversation.centreId);
      this.shareWith = withHistory;
      this.offer = null;
      this.render();
      session.enqueue({ kind: "op", frame: "move", build: (c) => c.move(directory) });
    } catch {
      this.failed(t("move_unverified", { centre: offer.name })); // fail closed: nothing was sent
      byId("move-yes").disabled = byId("move-no").disabled = false;
    } finally {
      this.moving = false;
    }
  }

  no() {
    if (!this.offer) return;
    this.decline();
    this.offer = null;
    this.render();
  }

  /** Share every epoch before the current one with the counsellor who took it at the new centre. */
  _share(counsellor) {
    this.shareWith = false;
    this.session()?.enqueue({
      kind: "op",
      build: (c) => {
        const inside = c.members.some((m) => toHex(m.memberId) === counsellor);
        const epochs = c.knownEpochs().filter((e) => e < c.epoch);
        return inside && epochs.length ? c.shareHistory(fromHex(counsellor), epochs) : null;
      },
    });
  }

  render() {
    const box = byId("move");
    if (!this.offer) {
      box.hidden = true;
      return;
    }
    const wasShown = !box.hidden;
    byId("move-who").textContent = t("move_who", { centre: this.offer.name });
    byId("move-yes").disabled = byId("move-no").disabled = false;
    if (!wasShown) byId("move-history").checked = false; // off unless the visitor ticks it
    box.hidden = false;
    if (!wasShown) byId("move-heading").focus();
  }
}

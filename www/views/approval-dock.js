// The open questions of the agent, pinned above the composer so they are never scrolled away.
// A card answered elsewhere (or expired) says so for a moment, then closes.
//
// Events: "answer" detail {response}.

import { h } from "./dom.js";
import { ApprovalCard } from "./approval-card.js";

const CLOSE_AFTER_MS = 2500;

export class ApprovalDock extends EventTarget {
  constructor({ timers = globalThis } = {}) {
    super();
    this.timers = timers;
    this.cards = new Map();
    this.el = h("div", { className: "approval-dock", hidden: true, attrs: { "aria-live": "assertive" } });
  }

  /** @param {Array<object>} approvals every approval item of the transcript that changed or is open */
  update(approvals) {
    for (const item of approvals) {
      const open = item.state === "pending" || item.state === "sent";
      let card = this.cards.get(item.id);
      if (!card) {
        if (!open) continue;
        card = new ApprovalCard(item);
        card.addEventListener("answer", (e) => this.dispatchEvent(new CustomEvent("answer", { detail: e.detail })));
        this.cards.set(item.id, card);
        this.el.appendChild(card.el);
      } else {
        card.update(item);
      }
      if (!open && !card.closing) {
        card.closing = this.timers.setTimeout(() => this.removeCard(item.id), CLOSE_AFTER_MS);
      }
    }
    this.el.hidden = this.cards.size === 0;
  }

  removeCard(id) {
    const card = this.cards.get(id);
    if (!card) return;
    card.el.remove();
    this.cards.delete(id);
    this.el.hidden = this.cards.size === 0;
    this.dispatchEvent(new Event("resize"));
  }

  clear() {
    for (const card of this.cards.values()) if (card.closing) this.timers.clearTimeout(card.closing);
    this.cards.clear();
    this.el.replaceChildren();
    this.el.hidden = true;
  }
}

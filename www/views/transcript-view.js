// The scrolling transcript: applies the reducer's changes to the DOM (append, prepend, update
// in place), keeps the view pinned to the newest output unless the user scrolled up, and asks
// for older history when the top sentinel comes into view.
//
// Opened at a record (a search result), it scrolls that record into view and marks it
// (`.record-target`, the query's terms in <mark class="term">); newer history is then loaded
// as the user scrolls down ("neednewer") until the live end, and "↓ Latest" leaves for it.
//
// Events: "needolder" when the user reaches the top and more history may exist; "neednewer"
// near the bottom while `moreBelow`; "latest" when "↓ Latest" is pressed while `moreBelow`.

import { h } from "./dom.js";
import { renderItem, updateItem } from "./item-views.js";
import { markInItem } from "./highlight.js";

const STICK_THRESHOLD_PX = 80;
/** How close to the bottom newer history is asked for. */
const NEWER_THRESHOLD_PX = 400;

export class TranscriptView extends EventTarget {
  constructor() {
    super();
    this.nodes = new Map();
    this.sentinel = h("div", { className: "history-sentinel" });
    this.historyNote = h("div", { className: "history-note", attrs: { role: "status" } });
    this.list = h("div", { className: "transcript-list", attrs: { role: "log", "aria-live": "polite", "aria-relevant": "additions" } });
    this.empty = h("div", { className: "transcript-empty" }, "Nothing here yet. Send a prompt to start.");
    this.jump = h("button", {
      type: "button", className: "jump-latest", hidden: true,
      onclick: () => (this.moreBelow ? this.dispatchEvent(new Event("latest")) : this.scrollToBottom(true)),
    }, "↓ Latest");
    /** Newer history exists that is not loaded yet (opened at a record). */
    this.moreBelow = false;
    this.targetKey = null;
    this.targetTerms = [];
    this.scroller = h("div", { className: "transcript" }, this.sentinel, this.historyNote, this.list, this.empty);
    this.el = h("div", { className: "transcript-wrap" }, this.scroller, this.jump);
    this.stick = true;
    this.scroller.addEventListener("scroll", () => {
      // Not pinned to the bottom while it is not the live end.
      this.stick = !this.moreBelow && this.atBottom();
      if (this.stick) this.jump.hidden = true;
      if (this.moreBelow && this.nearBottom()) this.dispatchEvent(new Event("neednewer"));
      // Backs up the observer (it reports changes only, and not in every browser).
      if (this.sentinelVisible()) this.dispatchEvent(new Event("needolder"));
    }, { passive: true });
    this.observer = typeof IntersectionObserver === "function"
      ? new IntersectionObserver((entries) => {
        if (entries.some((e) => e.isIntersecting)) this.dispatchEvent(new Event("needolder"));
      }, { root: this.scroller, rootMargin: "400px 0px 0px 0px" })
      : null;
    this.observer?.observe(this.sentinel);
    // The pane shrinks when a question docks above the composer or the keyboard opens:
    // whoever was reading the newest output keeps seeing it.
    this.resizer = typeof ResizeObserver === "function"
      ? new ResizeObserver(() => { if (this.stick) this.scrollToBottom(); })
      : null;
    this.resizer?.observe(this.scroller);
  }

  atBottom() {
    const s = this.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < STICK_THRESHOLD_PX;
  }

  nearBottom() {
    const s = this.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < NEWER_THRESHOLD_PX;
  }

  /** Whether newer history waits below what is loaded; "↓ Latest" then leaves for the live end. */
  setMoreBelow(more) {
    this.moreBelow = more;
    if (more) {
      this.stick = false;
      this.jump.hidden = false;
    } else if (this.atBottom()) {
      this.jump.hidden = true;
    }
  }

  /**
   * Scrolls the item with this key into view and marks it, and the query terms in it.
   * @returns {boolean} false when it is not shown
   */
  reveal(key, terms = []) {
    const el = key === null ? null : this.nodes.get(key);
    if (!el) return false;
    this.targetKey = key;
    this.targetTerms = terms;
    this.markTarget(el);
    this.stick = false;
    el.scrollIntoView({ block: "center" });
    return true;
  }

  markTarget(el) {
    el.classList.add("record-target");
    if (!el.querySelector("mark.term")) markInItem(el, this.targetTerms);
  }

  /** Whether the top sentinel is visible now (to keep loading while the page is short). */
  sentinelVisible() {
    const s = this.scroller;
    return s.scrollTop < 400;
  }

  /**
   * The composer got the focus: a phone's keyboard is opening and the pane is about to shrink.
   * Whoever was at the newest output stays there (the resize observer covers most browsers;
   * these catch the ones that resize only after their keyboard animation).
   */
  keepNewest() {
    if (!this.stick) return;
    const again = () => { if (this.stick) this.scrollToBottom(); };
    requestAnimationFrame(again);
    setTimeout(again, 350);
  }

  scrollToBottom(smooth = false) {
    this.stick = true;
    this.jump.hidden = true;
    this.scroller.scrollTo({ top: this.scroller.scrollHeight, behavior: smooth ? "smooth" : "auto" });
  }

  /** @param {{added, prepended, updated, removed}} changes from Transcript.takeChanges() */
  apply(changes) {
    const stick = this.stick;
    for (const item of changes.removed) {
      const el = this.nodes.get(item.key);
      if (el) { el.remove(); this.nodes.delete(item.key); }
    }
    if (changes.prepended.length) {
      const before = this.scroller.scrollHeight;
      const top = this.scroller.scrollTop;
      const fragment = document.createDocumentFragment();
      for (const item of changes.prepended) {
        const el = renderItem(item);
        this.nodes.set(item.key, el);
        fragment.appendChild(el);
      }
      this.list.prepend(fragment);
      // Keep what the user was looking at in place.
      if (!stick) this.scroller.scrollTop = top + (this.scroller.scrollHeight - before);
    }
    for (const item of changes.updated) {
      const el = this.nodes.get(item.key);
      if (el) this.nodes.set(item.key, updateItem(el, item));
    }
    if (changes.added.length) {
      const fragment = document.createDocumentFragment();
      for (const item of changes.added) {
        const el = renderItem(item);
        this.nodes.set(item.key, el);
        fragment.appendChild(el);
      }
      this.list.appendChild(fragment);
    }
    // An update may have rebuilt the target's element: mark it again.
    if (this.targetKey !== null && changes.updated.some((i) => i.key === this.targetKey)) {
      const el = this.nodes.get(this.targetKey);
      if (el) this.markTarget(el);
    }
    this.empty.hidden = this.nodes.size > 0;
    const grew = changes.added.length || changes.updated.length || changes.prepended.length;
    if (stick) this.scrollToBottom();
    else if (grew && (changes.added.length || changes.updated.length)) this.jump.hidden = false;
  }

  setHistoryNote(text) {
    this.historyNote.textContent = text ?? "";
    this.historyNote.hidden = !text;
  }

  destroy() {
    this.observer?.disconnect();
    this.resizer?.disconnect();
  }
}

// The "/" palette's list (a listbox above the composer's box). The composer owns the text box
// and the keys; this shows the entries, the highlighted one, and the loading or error state.
//
// Events: "choose" detail {name}. Entries are chosen with a tap or a click; pointerdown does not
// take the focus from the text box, so a phone's keyboard stays up.

import { h, replaceChildren } from "./dom.js";

let paletteCounter = 0;

export class PaletteView extends EventTarget {
  constructor() {
    super();
    this.id = `palette-${++paletteCounter}`;
    this.entries = [];
    this.active = -1;
    this.list = h("ul", { className: "palette-list", id: this.id, attrs: { role: "listbox", "aria-label": "Commands" } });
    this.note = h("div", { className: "palette-note", attrs: { role: "status" } });
    this.el = h("div", { className: "palette", hidden: true, attrs: { "data-testid": "palette" } }, this.note, this.list);
    // Keep the focus (and the keyboard) in the composer while an entry is pressed.
    this.el.addEventListener("pointerdown", (e) => e.preventDefault());
    this.el.addEventListener("mousedown", (e) => e.preventDefault());
  }

  get open() {
    return !this.el.hidden;
  }

  /**
   * @param {{state: "loading"|"ready"|"error", entries?: Array<{name, description}>,
   *   error?: string, query?: string, active?: number}} view
   */
  show({ state, entries = [], error = "", query = "", active = 0 }) {
    this.el.hidden = false;
    this.entries = state === "ready" ? entries : [];
    this.active = this.entries.length ? Math.min(Math.max(active, 0), this.entries.length - 1) : -1;
    let note = "";
    if (state === "loading") note = "Loading commands…";
    else if (state === "error") note = `Commands are not available: ${error || "the agent did not answer"}`;
    else if (!this.entries.length) note = query ? `No command matches “/${query}”.` : "This agent lists no commands.";
    this.note.textContent = note;
    this.note.hidden = !note;
    replaceChildren(this.list, this.entries.map((c, i) => h("li", {
      id: `${this.id}-${i}`, className: `palette-item${i === this.active ? " active" : ""}`,
      attrs: { role: "option", "aria-selected": String(i === this.active), "data-name": c.name },
      onclick: () => this.dispatchEvent(new CustomEvent("choose", { detail: { name: c.name } })),
    },
    h("span", { className: "palette-name" }, `/${c.name}`),
    c.description ? h("span", { className: "palette-desc" }, c.description) : null)));
    this.list.hidden = this.entries.length === 0;
    this.scrollActive();
  }

  setActive(index) {
    const items = this.list.children;
    if (this.active >= 0 && items[this.active]) {
      items[this.active].classList.remove("active");
      items[this.active].setAttribute("aria-selected", "false");
    }
    this.active = index;
    if (index >= 0 && items[index]) {
      items[index].classList.add("active");
      items[index].setAttribute("aria-selected", "true");
    }
    this.scrollActive();
  }

  scrollActive() {
    const el = this.active >= 0 ? this.list.children[this.active] : null;
    el?.scrollIntoView?.({ block: "nearest" });
  }

  /** The highlighted entry's element id (for aria-activedescendant), or "". */
  get activeId() {
    return this.active >= 0 ? `${this.id}-${this.active}` : "";
  }

  get activeName() {
    return this.active >= 0 ? this.entries[this.active]?.name ?? null : null;
  }

  hide() {
    this.el.hidden = true;
    this.active = -1;
  }
}

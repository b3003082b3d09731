// Modal questions (<dialog>): yes/no (`ask`), yes/no with one checkbox (`choose`), and a
// notice with only OK (`tell`).

import { append, h } from "./dom.js";

export class ConfirmDialog {
  /** @returns {Promise<boolean>} */
  static ask({ title, text, confirmLabel = "OK", danger = false }) {
    return ConfirmDialog.choose({ title, text, confirmLabel, danger }).then((answer) => answer !== null);
  }

  /**
   * Like ask(), with a checkbox under the text when `option` is given.
   * @param {{title: string, text?: string, body?: Array<Node|string>, confirmLabel?: string,
   *   danger?: boolean, option?: {label: string, testid?: string, checked?: boolean}}} options
   * @returns {Promise<{option: boolean} | null>} null when cancelled
   */
  static choose({ title, text, body = [], confirmLabel = "OK", danger = false, option = null }) {
    return new Promise((resolve) => {
      const dialog = h("dialog", { className: "dialog confirm-dialog", attrs: { "aria-labelledby": "confirm-title" } });
      const box = option
        ? h("input", { type: "checkbox", id: "confirm-option", checked: option.checked === true, attrs: { "data-testid": option.testid } })
        : null;
      const finish = (value) => {
        dialog.close();
        dialog.remove();
        resolve(value);
      };
      // append(), not the native one: that would write a skipped part (null) as the text "null".
      append(dialog, [
        h("h2", { id: "confirm-title" }, title),
        text ? h("p", {}, text) : null,
        ...body,
        box ? h("label", { className: "check-row", attrs: { for: "confirm-option" } }, box, h("span", {}, option.label)) : null,
        h("div", { className: "dialog-actions" },
          h("button", { type: "button", className: "btn ghost", onclick: () => finish(null) }, "Cancel"),
          h("button", {
            type: "button", className: `btn ${danger ? "danger" : "primary"}`, attrs: { "data-testid": "confirm" },
            onclick: () => finish({ option: box ? box.checked : false }),
          }, confirmLabel))]);
      dialog.addEventListener("cancel", (e) => { e.preventDefault(); finish(null); });
      document.body.appendChild(dialog);
      dialog.showModal();
    });
  }

  /**
   * A notice: title, paragraphs (strings or nodes) and OK.
   * @returns {Promise<void>}
   */
  static tell({ title, body = [], testid }) {
    return new Promise((resolve) => {
      const dialog = h("dialog", { className: "dialog confirm-dialog", attrs: { "aria-labelledby": "notice-title", "data-testid": testid } });
      const finish = () => {
        dialog.close();
        dialog.remove();
        resolve();
      };
      dialog.append(
        h("h2", { id: "notice-title" }, title),
        ...body.map((part) => (typeof part === "string" ? h("p", {}, part) : part)),
        h("div", { className: "dialog-actions" },
          h("button", { type: "button", className: "btn primary", onclick: finish }, "OK")));
      dialog.addEventListener("cancel", (e) => { e.preventDefault(); finish(); });
      document.body.appendChild(dialog);
      dialog.showModal();
    });
  }
}

// A modal yes/no question (<dialog>), resolved to true or false.

import { h } from "./dom.js";

export class ConfirmDialog {
  /** @returns {Promise<boolean>} */
  static ask({ title, text, confirmLabel = "OK", danger = false }) {
    return new Promise((resolve) => {
      const dialog = h("dialog", { className: "dialog confirm-dialog", attrs: { "aria-labelledby": "confirm-title" } });
      const finish = (value) => {
        dialog.close();
        dialog.remove();
        resolve(value);
      };
      dialog.append(
        h("h2", { id: "confirm-title" }, title),
        text ? h("p", {}, text) : null,
        h("div", { className: "dialog-actions" },
          h("button", { type: "button", className: "btn ghost", onclick: () => finish(false) }, "Cancel"),
          h("button", { type: "button", className: `btn ${danger ? "danger" : "primary"}`, onclick: () => finish(true) }, confirmLabel)));
      dialog.addEventListener("cancel", (e) => { e.preventDefault(); finish(false); });
      document.body.appendChild(dialog);
      dialog.showModal();
    });
  }
}

// The pairing screen: shown instead of everything else while this browser has no valid
// credentials. Knows nothing about the network; the pairing controller feeds it.
//
// Events: "submit" detail {code, name} (the code as typed; the controller normalises it).

import { h } from "./dom.js";

export class PairingView extends EventTarget {
  /** @param {{name?: string, notice?: string|null}} options */
  constructor({ name = "", notice = null } = {}) {
    super();
    this.code = h("input", {
      id: "pair-code", name: "code", type: "text", maxLength: 200, placeholder: "e.g. abcd efgh ijkl …",
      attrs: {
        "data-testid": "pair-code", autocomplete: "off", autocapitalize: "off", autocorrect: "off",
        spellcheck: "false", enterkeyhint: "go", "aria-describedby": "pair-help",
      },
    });
    this.name = h("input", {
      id: "pair-name", name: "name", type: "text", maxLength: 100, value: name, placeholder: "e.g. Phone",
      attrs: { "data-testid": "pair-name", autocomplete: "off", enterkeyhint: "go" },
    });
    this.error = h("p", { className: "form-error", hidden: true, attrs: { role: "alert", "data-testid": "pair-error" } });
    this.submitButton = h("button", { type: "submit", className: "btn primary pair-submit", attrs: { "data-testid": "pair-submit" } }, "Pair");
    this.notice = h("p", { className: "pair-notice", hidden: !notice }, notice ?? "");
    this.form = h("form", { className: "create-form pair-form", noValidate: true, attrs: { "aria-labelledby": "pair-title" } },
      h("h2", { id: "pair-title" }, "Pair this device"),
      this.notice,
      h("p", { id: "pair-help", className: "muted" },
        "Run ", h("code", {}, "amarre pair"), " on the machine running amarre, then open the link it prints or type the code."),
      h("label", { attrs: { for: "pair-code" } }, "Pairing code"), this.code,
      h("label", { attrs: { for: "pair-name" } }, "Device name ", h("span", { className: "optional" }, "optional")), this.name,
      this.error,
      h("div", { className: "dialog-actions" }, this.submitButton));
    this.form.addEventListener("submit", (e) => {
      e.preventDefault();
      if (this.submitButton.disabled) return;
      this.dispatchEvent(new CustomEvent("submit", { detail: { code: this.code.value, name: this.name.value } }));
    });
    this.el = h("div", { className: "screen pairing-screen", attrs: { "data-testid": "pairing" } },
      h("header", { className: "bar list-bar" },
        h("div", { className: "brand" }, h("span", { className: "brand-mark", attrs: { "aria-hidden": "true" } }, "⚓"), h("h1", {}, "amarre"))),
      h("main", { className: "list-main pairing-main" }, this.form));
  }

  setCode(code) {
    this.code.value = code;
  }

  setBusy(busy) {
    this.submitButton.disabled = busy;
    this.submitButton.textContent = busy ? "Pairing…" : "Pair";
    this.code.readOnly = busy;
    this.name.readOnly = busy;
  }

  /** text: null hides the message. */
  showError(text) {
    this.error.hidden = !text;
    this.error.textContent = text ?? "";
    if (text) this.code.setAttribute("aria-invalid", "true");
    else this.code.removeAttribute("aria-invalid");
  }

  focusCode({ select = false } = {}) {
    this.code.focus();
    if (select) this.code.select();
  }
}

// The "Notifications" control of the session list: a status sentence, an on/off button and,
// while on, "Send a test". It only shows what push.js decided (notificationsView).
//
// Events: "toggle", "test".
// Stable selectors (the Chromium tests): [data-testid=notifications] (data-state: the state of
// notificationsView), notifications-toggle, notifications-status, notifications-test,
// notifications-result (the outcome of the last action).

import { h } from "./dom.js";
import { icon } from "./icons.js";

export class NotificationsControl extends EventTarget {
  constructor() {
    super();
    this.toggle = h("button", {
      type: "button", className: "btn small notify-toggle", onclick: () => this.emit("toggle"),
      attrs: { "data-testid": "notifications-toggle" },
    }, "Turn on");
    this.status = h("p", { className: "notify-status muted", attrs: { "data-testid": "notifications-status" } });
    this.test = h("button", {
      type: "button", className: "btn small ghost notify-test", hidden: true, onclick: () => this.emit("test"),
      attrs: { "data-testid": "notifications-test" },
    }, "Send a test");
    this.result = h("p", {
      className: "notify-result", hidden: true, attrs: { "data-testid": "notifications-result", role: "status" },
    });
    this.el = h("section", {
      className: "notify-panel", hidden: true,
      attrs: { "data-testid": "notifications", "aria-labelledby": "notify-title", "aria-live": "polite" },
    },
    h("div", { className: "notify-head" },
      h("h2", { id: "notify-title", className: "notify-title" }, icon("bell", { size: 18 }), "Notifications"),
      this.toggle),
    this.status,
    h("div", { className: "notify-actions" }, this.test, this.result));
  }

  emit(name) {
    this.dispatchEvent(new Event(name));
  }

  /**
   * @param {ReturnType<import("../push.js").notificationsView> | null} view  null hides the control
   * @param {string} [message]  the outcome of the last action ("" for none)
   */
  render(view, message = "") {
    this.el.hidden = !view;
    if (!view) return;
    this.el.dataset.state = view.state;
    this.status.textContent = view.status;
    setButton(this.toggle, view.toggle);
    this.toggle.classList.toggle("primary", view.state === "off");
    setButton(this.test, view.test);
    this.result.hidden = !message;
    this.result.textContent = message ?? "";
  }
}

function setButton(button, { label, hidden, disabled }) {
  if (button.textContent !== label) button.textContent = label;
  button.hidden = hidden;
  button.disabled = disabled;
}

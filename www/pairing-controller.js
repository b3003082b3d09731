// The pairing screen: `POST /auth/pair` with the code `amarre pair` printed, then the list.
//
// Events: "paired" detail {device} (the server set the HttpOnly cookie, or has no access
// control at all: detail {device: null}).

import { PairingView } from "./views/pairing-view.js";
import { guessDeviceName, normalizePairCode, pairErrorText } from "./auth.js";

export class PairingController extends EventTarget {
  /**
   * @param {object} options
   * @param {string} [options.code] a code from a "#pair=" link: filled in and sent once
   * @param {string|null} [options.notice] why the screen shows ("This device is signed out.")
   * @param {PairingView} [options.view] tests pass a fake
   */
  constructor({ api, attention, win = globalThis.window, code = "", notice = null, view = null }) {
    super();
    this.api = api;
    this.attention = attention;
    this.win = win;
    this.destroyed = false;
    this.busy = false;
    this.view = view ?? new PairingView({ name: guessDeviceName(win.navigator?.userAgent), notice });
    this.view.addEventListener("submit", (e) => this.submit(e.detail));
    this.initialCode = code;
  }

  mount(root) {
    root.replaceChildren(this.view.el);
    this.attention.setBaseTitle("Pair · amarre");
    if (this.initialCode) this.fill(this.initialCode);
    else this.view.focusCode();
  }

  /** A code from a link: shown, then sent once. */
  fill(code) {
    this.view.setCode(code);
    this.submit({ code, name: this.view.name.value });
  }

  async submit({ code, name }) {
    if (this.busy || this.destroyed) return;
    const normalized = normalizePairCode(code);
    if (!normalized) {
      this.view.showError("Type the code that “amarre pair” printed.");
      this.view.focusCode();
      return;
    }
    this.view.setCode(normalized);
    this.busy = true;
    this.view.setBusy(true);
    this.view.showError(null);
    let device;
    try {
      device = await this.api.pair(normalized, name);
    } catch (e) {
      if (this.destroyed) return;
      this.busy = false;
      this.view.setBusy(false);
      if (e?.status === 409 && e.code === "auth_disabled") {
        // AMARRE_AUTH=none: there is nothing to pair, everything is open.
        this.dispatchEvent(new CustomEvent("paired", { detail: { device: null } }));
        return;
      }
      this.view.showError(pairErrorText(e));
      this.view.focusCode({ select: true });
      return;
    }
    if (this.destroyed) return;
    this.busy = false;
    this.view.setBusy(false);
    this.dispatchEvent(new CustomEvent("paired", { detail: { device } }));
  }

  destroy() {
    this.destroyed = true;
  }
}

// Mounts the screen the route asks for, and tears the previous one down. Any answer that says
// this browser is not paired (api.js "unauthorized") replaces the screen with the pairing one.

import { ListController } from "./list-controller.js";
import { SessionController } from "./session-controller.js";
import { TerminalController } from "./terminal-controller.js";
import { PairingController } from "./pairing-controller.js";
import { ChangesController } from "./changes-controller.js";
import { FilesController } from "./files-controller.js";

/** The screens, by name; each is a controller with mount(root) and destroy(). Tests pass fakes. */
const SCREENS = {
  list: (options) => new ListController(options),
  session: (options) => new SessionController(options),
  terminal: (options) => new TerminalController(options),
  pairing: (options) => new PairingController(options),
  changes: (options) => new ChangesController(options),
  files: (options) => new FilesController(options),
};

export class App {
  constructor({ root, api, attention, push = null, router, win = globalThis.window, screens = SCREENS }) {
    this.root = root;
    this.screens = screens;
    this.api = api;
    this.attention = attention;
    this.push = push;
    this.router = router;
    this.win = win;
    this.current = null;
    /** Hand-overs between the session and terminal screens since the route was shown. */
    this.handovers = 0;
    /** Which of `screens` is showing: "list", "session", "terminal", "changes", "files" or "pairing". */
    this.screen = null;
    router.addEventListener("route", (e) => this.show(e.detail));
    api.addEventListener("unauthorized", (e) => this.showPairing({
      notice: e.detail?.reason === "signed-out" ? "This device is signed out." : null,
    }));
  }

  show(route) {
    if (route.name === "pair") {
      // The code leaves the address bar (and history) before anything else happens.
      this.router.clearPairCode();
      this.showPairing({ code: route.code });
      return;
    }
    // The same session at the same record (or none) stays; another record opens it afresh.
    if (route.name === "session" && (this.screen === "session" || this.screen === "terminal") && this.current.id === route.id &&
      (this.current.targetSeq ?? null) === (route.seq ?? null)) return;
    // The changes and the files of the session on screen: the screen itself moves on.
    if ((route.name === "changes" || route.name === "files") && this.screen === route.name && this.current.id === route.id) {
      this.current.navigate(route);
      return;
    }
    const options = { api: this.api, attention: this.attention, push: this.push, win: this.win };
    if (route.name === "changes" || route.name === "files") {
      this.mount(route.name, { ...options, sessionId: route.id, path: route.path ?? null });
    } else if (route.name === "session") {
      const target = typeof route.seq === "number" ? { seq: route.seq, q: route.q ?? "" } : null;
      this.handovers = 0;
      this.mountSession({ ...options, sessionId: route.id, target });
    } else {
      this.mount("list", options);
    }
  }

  /**
   * A session: the transcript screen, or the terminal screen for a terminal session (issue 16).
   * Which one is known from the session's summary, so the screen that finds out hands over to
   * the other (at most twice per route, so two answers that disagree cannot loop).
   */
  mountSession(options, screen = "session", summary = null) {
    this.mount(screen, {
      ...options,
      summary,
      onTerminal: (s) => this.handOver(options, "terminal", s),
      onStructured: () => this.handOver(options, "session", null),
    });
  }

  /** @returns {boolean} whether the other screen took over (false: the caller goes on) */
  handOver(options, screen, summary) {
    if (this.screen === screen || this.current?.id !== options.sessionId || this.handovers >= 2) return false;
    this.handovers += 1;
    this.mountSession(options, screen, summary);
    return true;
  }

  /** The pairing screen; when it is already up, only a code from a new link is passed on. */
  showPairing({ code = "", notice = null } = {}) {
    if (this.screen === "pairing") {
      if (code) this.current.fill(code);
      return;
    }
    // "paired" always comes after an answer, so listening after mount() misses nothing.
    const pairing = this.mount("pairing", { api: this.api, attention: this.attention, win: this.win, code, notice });
    pairing.addEventListener("paired", () => {
      if (this.current === pairing) this.router.go("#/");
    });
  }

  mount(screen, options) {
    this.current?.destroy();
    const controller = this.screens[screen](options);
    this.current = controller;
    this.screen = screen;
    controller.mount(this.root);
    this.win.scrollTo(0, 0);
    // Test and debugging hook: the live objects of the current screen.
    this.win.__amarre = {
      app: this, api: this.api, attention: this.attention, push: this.push,
      connection: controller.connection ?? null, transcript: controller.transcript ?? null,
      controller, renders: 0,
    };
    return controller;
  }
}

// Mounts the screen the route asks for, and tears the previous one down.

import { ListController } from "./list-controller.js";
import { SessionController } from "./session-controller.js";

export class App {
  constructor({ root, api, attention, router, win = globalThis.window }) {
    this.root = root;
    this.api = api;
    this.attention = attention;
    this.router = router;
    this.win = win;
    this.current = null;
    router.addEventListener("route", (e) => this.show(e.detail));
  }

  show(route) {
    if (route.name === "session" && this.current instanceof SessionController && this.current.id === route.id) return;
    this.current?.destroy();
    this.current = route.name === "session"
      ? new SessionController({ sessionId: route.id, api: this.api, attention: this.attention, win: this.win })
      : new ListController({ api: this.api, attention: this.attention, win: this.win });
    this.current.mount(this.root);
    this.win.scrollTo(0, 0);
    // Test and debugging hook: the live objects of the current screen.
    this.win.__amarre = {
      app: this, api: this.api, attention: this.attention,
      connection: this.current.connection ?? null, transcript: this.current.transcript ?? null,
      controller: this.current, renders: 0,
    };
  }
}

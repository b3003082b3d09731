// The file browser of one session ("#/s/<id>/files?path=<rel>"): GET /sessions/<id>/files.
// Directories list their entries, files show their text; the server keeps it all inside the
// session's directory (403 otherwise).

import { ApiError } from "./api.js";
import { FilesView } from "./views/files-view.js";
import { sessionTitle } from "./format.js";
import { filesHash, sessionHash } from "./router.js";
import { baseName, breadcrumbs, childPath, normalizePath } from "./files.js";

export class FilesController {
  /** @param {{sessionId: string, path?: string, api: object, attention: object, win?: Window}} options */
  constructor({ sessionId, path = "", api, attention, win = globalThis.window }) {
    this.id = sessionId;
    this.api = api;
    this.attention = attention;
    this.win = win;
    this.path = normalizePath(path);
    this.summary = null;
    this.destroyed = false;
    this.request = 0;
    /** The path whose contents are on screen (a refresh of it keeps the scroll position). */
    this.shownPath = null;
    this.view = new FilesView();
    this.onVisible = () => { if (!document.hidden) this.load(); };
    document.addEventListener("visibilitychange", this.onVisible);
  }

  mount(root) {
    root.replaceChildren(this.view.el);
    this.render();
    this.start();
  }

  async start() {
    try {
      this.summary = await this.api.session(this.id);
    } catch {
      this.summary = null; // the listing says what is wrong
    }
    if (this.destroyed) return;
    this.render();
    this.load();
  }

  navigate(route) {
    const path = normalizePath(route.path);
    if (path === this.path) return;
    this.path = path;
    this.render();
    this.load();
  }

  render() {
    const name = sessionTitle(this.summary ?? { id: this.id });
    const root = baseName(this.summary?.cwd) || "Files";
    this.attention.setBaseTitle(`${this.path ? baseName(this.path) : root} · ${name} · amarre`);
    this.view.setHeader({ title: "Files", subtitle: name, backHref: sessionHash(this.id) });
    this.view.setCrumbs(breadcrumbs(this.path, root).map((c) => ({ label: c.label, href: filesHash(this.id, c.path) })));
  }

  async load() {
    if (this.destroyed) return;
    const path = this.path;
    const request = ++this.request;
    this.view.loading();
    let answer;
    try {
      answer = await this.api.files(this.id, path);
    } catch (e) {
      if (this.destroyed || request !== this.request) return;
      if (e instanceof ApiError && e.status === 403) {
        this.view.renderMessage("Outside the session's directory.", "Only files inside the session's directory can be shown.");
      } else if (e instanceof ApiError && e.status === 404) {
        this.view.renderMessage("Not found.", path ? "There is no such file or folder (any more)." : "The session or its directory no longer exists.");
      } else {
        this.view.renderMessage("The files could not be loaded.", e.message);
      }
      return;
    }
    if (this.destroyed || request !== this.request) return;
    if (path !== this.shownPath) this.view.scrollToTop();
    this.shownPath = path;
    if (answer?.type === "directory") this.view.renderDirectory(answer, (name) => filesHash(this.id, childPath(path, name)));
    else if (answer?.type === "file") this.view.renderFile(answer);
    else this.view.renderMessage("Nothing to show.", "The server answered with something this page does not know.");
  }

  destroy() {
    this.destroyed = true;
    document.removeEventListener("visibilitychange", this.onVisible);
  }
}

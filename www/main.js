// amarre web client: composition root.
//
// Module map: api.js (every fetch), connection.js (the WebSocket, backoff in backoff.js),
// reducer.js (records -> view model), markdown.js + markdown-dom.js (safe rendering),
// history.js (paging), notifications.js (attention), push.js (Web Push; sw.js shows it),
// router.js (location.hash), auth.js (pairing helpers), search.js (results, snippets and
// terms; search-controller.js runs the queries), archive.js (the list's archive split),
// changes.js + diff.js (a session's changes and diffs), files.js (file browser paths),
// worktree.js (worktree sessions: create body, recent repos, delete answers), urls.js (every
// address relative to the page's directory: amarre may be served under a prefix),
// images.js (images attached to prompts: scaling, limits), palette.js (the composer's "/"
// commands), modes.js (model, thinking level, permission mode, allowed tools), drafts.js
// (drafts per session, the Enter key setting), terminal.js + terminal-feed.js (terminal sessions:
// frames, keys, feeding xterm.js from vendor/xterm/),
// list-controller.js / session-controller.js / terminal-controller.js / changes-controller.js /
// files-controller.js / pairing-controller.js (screens), session-delete.js (delete, asked), views/* (DOM).

import { Api } from "./api.js";
import { Attention } from "./notifications.js";
import { PushNotifications } from "./push.js";
import { Router } from "./router.js";
import { ViewportFit } from "./viewport.js";
import { App } from "./app.js";

const api = new Api();
const push = new PushNotifications({ api });
const attention = new Attention({ push });
const router = new Router(window);
new ViewportFit(window).start();
new App({ root: document.getElementById("app"), api, attention, push, router });
router.start();

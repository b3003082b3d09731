// amarre web client: composition root.
//
// Module map: api.js (every fetch), connection.js (the WebSocket, backoff in backoff.js),
// reducer.js (records -> view model), markdown.js + markdown-dom.js (safe rendering),
// history.js (paging), notifications.js (attention), router.js (location.hash),
// auth.js (pairing helpers), list-controller.js / session-controller.js /
// pairing-controller.js (screens), views/* (DOM).

import { Api } from "./api.js";
import { Attention } from "./notifications.js";
import { Router } from "./router.js";
import { ViewportFit } from "./viewport.js";
import { App } from "./app.js";

const api = new Api();
const attention = new Attention();
const router = new Router(window);
new ViewportFit(window).start();
new App({ root: document.getElementById("app"), api, attention, router });
router.start();

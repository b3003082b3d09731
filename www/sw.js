// Service worker: only so that notifications can be shown on Android and a tap on one
// opens the right session. It caches nothing and does not touch requests.

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const hash = event.notification.data?.hash ?? "";
  event.waitUntil((async () => {
    const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
    const base = new URL(self.registration.scope);
    for (const client of windows) {
      if (new URL(client.url).origin === base.origin) {
        await client.focus();
        if (hash) client.navigate(new URL(hash, base).href).catch(() => {});
        return;
      }
    }
    await self.clients.openWindow(new URL(hash, base).href);
  })());
});

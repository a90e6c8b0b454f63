// Hero Tasks service worker: the app shell (this folder's page, modules and stylesheet) from
// a cache when the network is down, so a page reloaded offline still opens and shows what
// the edit queue holds. Registered by /app.js.
//
// - Network first, always: while the server answers, every file comes from it (and the
//   cached copy is refreshed), so a deploy is never hidden behind a stale app. The cache
//   only answers when the network does not.
// - Only the app's own static files: /api/* and /ws/* (and /healthz) are never cached and
//   never answered here; the browser sends them to the network as if there were no worker.
//   Nor is /examples/ (the React example, another app on the same origin).
// - The cache name carries a version; an activating worker deletes every other one.
//
// CSP: public/_headers allows scripts from 'self' only, and with no `worker-src` a service
// worker script falls under `script-src`, so /sw.js is allowed as it is.

// v2: the client module became one bundle (/hero-client.js, built from clients/js).
// v3: the shared description (/ui/task-description.js, Yjs in /hero-client.js).
// v4: roles, messages with a lifetime, the conflict prompt and a deleted task's page.
const CACHE = "hero-shell-v4";

/** The files the page needs to start, its icon included (tests/js/service-worker.test.mjs checks this list against public/). */
const SHELL = [
  "/",
  "/favicon.svg",
  "/styles.css",
  "/app.js",
  "/hero-client.js",
  "/state/activity.js",
  "/state/conflict.js",
  "/state/fields.js",
  "/state/list.js",
  "/state/messages.js",
  "/state/roles.js",
  "/ui/board-render.js",
  "/ui/board-view.js",
  "/ui/conflict-prompt.js",
  "/ui/connection.js",
  "/ui/dom.js",
  "/ui/errors.js",
  "/ui/message-slot.js",
  "/ui/queue-slot.js",
  "/ui/router.js",
  "/ui/session.js",
  "/ui/signin-view.js",
  "/ui/sync-view.js",
  "/ui/task-description.js",
  "/ui/task-form.js",
  "/ui/task-render.js",
  "/ui/task-view.js",
];

/** Paths the worker leaves alone: the API, the rooms, the health check. */
function isLive(pathname) {
  return pathname.startsWith("/api/") || pathname.startsWith("/ws/") || pathname === "/healthz";
}

/** The examples built beside the app (/examples/react/): not the app, never cached. */
function isExample(pathname) {
  return pathname.startsWith("/examples/");
}

/** The cache key of a request: every navigation to the page is the one page, "/". */
function shellKey(url, mode) {
  return mode === "navigate" && (url.pathname === "/" || url.pathname === "/index.html") ? "/" : url.pathname;
}

async function networkFirst(request, key) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    // Only whole, same-origin answers that were not redirected are worth keeping.
    if (response.ok && response.type === "basic" && !response.redirected) await cache.put(key, response.clone());
    return response;
  } catch (error) {
    const cached = await cache.match(key);
    if (cached) return cached;
    throw error;
  }
}

// Only when running as a service worker (node tests run this file to read the list and the rules above).
if (typeof ServiceWorkerGlobalScope !== "undefined" && self instanceof ServiceWorkerGlobalScope) {
  self.addEventListener("install", (event) => {
    // `reload`: past the HTTP cache, so the shell cached is what the server has now.
    event.waitUntil(
      caches
        .open(CACHE)
        .then((cache) => cache.addAll(SHELL.map((path) => new Request(path, { cache: "reload" }))))
        .then(() => self.skipWaiting()),
    );
  });

  self.addEventListener("activate", (event) => {
    event.waitUntil(
      caches
        .keys()
        .then((names) => Promise.all(names.filter((name) => name !== CACHE).map((name) => caches.delete(name))))
        .then(() => self.clients.claim()),
    );
  });

  self.addEventListener("fetch", (event) => {
    const { request } = event;
    if (request.method !== "GET") return;
    const url = new URL(request.url);
    if (url.origin !== self.location.origin || isLive(url.pathname) || isExample(url.pathname)) return;
    event.respondWith(networkFirst(request, shellKey(url, request.mode)));
  });
}

// Kedun's service worker: the app shell for an offline start, pages network-first with the
// last copy (or the offline page) when there is no signal, and the check-in queue uploaded in
// the background. Served from /sw.js so its scope is the whole app.
"use strict";
const VERSION = "{{ version }}";
const SHELL_CACHE = `kedun-shell-${VERSION}`;
// Pages the rep opened, for the next time there is no signal. Per version too: a new worker
// may draw pages differently, and the old copies go with the old shell.
const PAGE_CACHE = `kedun-pages-${VERSION}`;
const OFFLINE_URL = "{% url 'offline' %}";
const SHELL = [...{{ shell_json|safe }}, OFFLINE_URL];
const PAGE_LIMIT = 60;

importScripts({{ queue_script_json|safe }});

self.addEventListener("install", (event) => {
  // cache: "reload": the shell from the server, not from the browser's HTTP cache.
  event.waitUntil(
    caches.open(SHELL_CACHE)
      .then((cache) => cache.addAll(SHELL.map((url) => new Request(url, { cache: "reload" }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(names
        .filter((name) => name.startsWith("kedun-") && name !== SHELL_CACHE && name !== PAGE_CACHE)
        .map((name) => caches.delete(name))))
      .then(() => self.clients.claim()),
  );
});

async function remember(request, response) {
  const cache = await caches.open(PAGE_CACHE);
  await cache.put(request, response);
  const kept = await cache.keys();
  for (const old of kept.slice(0, Math.max(0, kept.length - PAGE_LIMIT))) await cache.delete(old);
}

async function page(request) {
  try {
    const response = await fetch(request);
    const type = response.headers.get("Content-Type") || "";
    // Only a page as it was drawn for this rep: not a redirect (to the login page), not an error.
    if (response.ok && !response.redirected && type.startsWith("text/html")) {
      await remember(request, response.clone());
    }
    return response;
  } catch (error) {
    const cache = await caches.open(PAGE_CACHE);
    return (await cache.match(request)) || (await caches.match(OFFLINE_URL)) || Response.error();
  }
}

async function shell(request) {
  const cached = await caches.match(request, { cacheName: SHELL_CACHE });
  return cached || fetch(request);
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    event.respondWith(page(request));
  } else if (SHELL.includes(url.pathname)) {
    event.respondWith(shell(request));
  }
});

self.addEventListener("message", (event) => {
  const kind = event.data && event.data.type;
  if (kind === "logout") {
    // The next person on this phone must not find the last one's pages.
    event.waitUntil(caches.delete(PAGE_CACHE));
  } else if (kind === "upload") {
    event.waitUntil(self.KedunUploadQueue.flush());
  }
});

self.addEventListener("sync", (event) => {
  if (event.tag === self.KedunUploadQueue.SYNC_TAG) {
    // Still waiting: fail, so the browser tries again later.
    event.waitUntil(self.KedunUploadQueue.flush().then((result) => {
      if (result.waiting) throw new Error("check-ins still waiting to upload");
    }));
  }
});

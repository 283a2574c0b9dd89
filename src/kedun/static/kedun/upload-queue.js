// The check-ins waiting on the phone (IndexedDB, photo and voice as blobs), shared by the pages
// and the service worker. An item leaves the queue only when the server answered 200 or 201;
// a refusal (4xx) stays, with the server's message, until the rep discards it; anything else
// (no signal, a server error) waits for the next try. Every try sends the item's own
// idempotency key, so however often it is retried the server keeps one visit.
"use strict";
(function (scope) {
  const DB_NAME = "kedun";
  const STORE = "check-ins";
  // Who is logged in on this phone now: the worker uploads only that rep's check-ins (a
  // colleague logged in on the same phone must not send them as his).
  const META = "meta";
  const SYNC_TAG = "kedun-check-ins";
  const CHANNEL = "kedun-upload-queue";
  const WAITING = "waiting";
  const REFUSED = "refused";

  function opened() {
    return new Promise((resolve, reject) => {
      const request = indexedDB.open(DB_NAME, 1);
      request.onupgradeneeded = () => {
        request.result.createObjectStore(STORE, { keyPath: "key" });
        request.result.createObjectStore(META);
      };
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }

  async function inStore(mode, work, name = STORE) {
    const db = await opened();
    try {
      return await new Promise((resolve, reject) => {
        const transaction = db.transaction(name, mode);
        const request = work(transaction.objectStore(name));
        transaction.oncomplete = () => resolve(request ? request.result : undefined);
        transaction.onerror = () => reject(transaction.error);
        transaction.onabort = () => reject(transaction.error);
      });
    } finally {
      db.close();
    }
  }

  function announce() {
    if (typeof BroadcastChannel === "undefined") return;
    const channel = new BroadcastChannel(CHANNEL);
    channel.postMessage({ type: "changed" });
    channel.close();
  }

  async function put(item) {
    await inStore("readwrite", (store) => store.put(item));
    announce();
  }

  async function all() {
    const items = (await inStore("readonly", (store) => store.getAll())) || [];
    return items.sort((a, b) => a.createdAt - b.createdAt);
  }

  function setRep(rep) {
    return inStore("readwrite", (store) => store.put(rep || "", "rep"), META);
  }

  async function currentRep() {
    return (await inStore("readonly", (store) => store.get("rep"), META)) || "";
  }

  async function remove(key) {
    await inStore("readwrite", (store) => store.delete(key));
    announce();
  }

  function body(item) {
    const form = new FormData();
    for (const [name, value] of Object.entries(item.fields)) {
      if (value !== null && value !== undefined && value !== "") form.append(name, value);
    }
    form.append("photo", item.photo, item.photoName || "photo.jpg");
    if (item.audio) form.append("audio", item.audio, item.audioName || "voice.webm");
    return form;
  }

  async function message(response) {
    try {
      const answer = await response.json();
      const detail = answer.detail && typeof answer.detail === "object"
        ? Object.values(answer.detail).flat().filter((text) => typeof text === "string") : [];
      return [answer.message, ...detail].filter(Boolean).join(" ") || response.statusText;
    } catch (error) {
      return `${response.status} ${response.statusText}`;
    }
  }

  // One try. csrfToken: the page's current token (a fresh login rotates it); the service
  // worker has none and sends the one kept with the item.
  async function upload(item, csrfToken) {
    let response;
    try {
      response = await fetch(item.api, {
        method: "POST",
        body: body(item),
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken || item.csrf, Accept: "application/json" },
      });
    } catch (error) {
      return { outcome: WAITING };
    }
    if (response.status === 200 || response.status === 201) {
      const answer = await response.json();
      await remove(item.key);
      return { outcome: "uploaded", answer };
    }
    // Not logged in (401), or the worker's kept CSRF token outdated by a new login (403): not
    // the server refusing the visit. It waits for the rep's next page, which sends a fresh token.
    if (response.status === 401 || (response.status === 403 && !csrfToken)) {
      return { outcome: WAITING };
    }
    if (response.status >= 400 && response.status < 500) {
      const text = await message(response);
      await put({ ...item, status: REFUSED, error: text });
      return { outcome: REFUSED, message: text };
    }
    return { outcome: WAITING };
  }

  // Uploads what waits, oldest first (the server checks each visit against the one before).
  // One flush at a time across the tabs and the worker, where the browser can lock.
  async function flushing(csrfToken, rep) {
    const result = { uploaded: 0, refused: 0, waiting: 0 };
    const who = rep || (await currentRep());
    if (!who) return result;
    for (const item of await all()) {
      if (item.status === REFUSED || item.rep !== who) continue;
      const tried = await upload(item, csrfToken);
      result[tried.outcome] += 1;
      if (tried.outcome === WAITING) {
        // No signal or a server in trouble: the rest would fare no better now.
        result.waiting = (await all()).filter((i) => i.status !== REFUSED && i.rep === who).length;
        break;
      }
    }
    return result;
  }

  function flush(csrfToken, rep) {
    if (scope.navigator && scope.navigator.locks) {
      return scope.navigator.locks.request("kedun-upload-queue", () => flushing(csrfToken, rep));
    }
    return flushing(csrfToken, rep);
  }

  scope.KedunUploadQueue = {
    SYNC_TAG, CHANNEL, WAITING, REFUSED, put, all, remove, upload, flush, setRep, currentRep,
  };
})(self);

// The phone's side of field work: position, a live photo, a voice report, the check-in sent
// through the API or kept in the offline queue, check-out, "use my position here", and the
// queue's state on every page. The forms work without this script as far as a browser allows;
// this fills in what only the phone knows (see README "Field work" for the markup contract).
"use strict";
(function () {
  const queue = window.KedunUploadQueue;
  const text = (element, name, values = {}) => {
    let result = (element && element.dataset[name]) || "";
    for (const [key, value] of Object.entries(values)) result = result.replace(`%(${key})s`, value);
    return result;
  };

  // -- time and position ----------------------------------------------------------------------

  // The phone's clock as ISO 8601 with its offset: the server compares it with the photo's
  // EXIF time, which phones write in local time.
  function isoWithOffset(moment) {
    const pad = (n, width = 2) => String(Math.abs(n)).padStart(width, "0");
    const offset = -moment.getTimezoneOffset();
    const sign = offset >= 0 ? "+" : "-";
    return `${moment.getFullYear()}-${pad(moment.getMonth() + 1)}-${pad(moment.getDate())}` +
      `T${pad(moment.getHours())}:${pad(moment.getMinutes())}:${pad(moment.getSeconds())}` +
      `.${pad(moment.getMilliseconds(), 3)}${sign}${pad(Math.trunc(offset / 60))}:${pad(offset % 60)}`;
  }

  // Android marks a mocked fix in some browsers and app shells; the web standard has no field
  // for it, so this reads what the platform offers and otherwise says nothing.
  function looksMocked(position) {
    const coords = position.coords || {};
    return Boolean(position.mocked || position.isMock || coords.mocked || coords.isMock ||
      coords.isFromMockProvider);
  }

  function fill(form, position) {
    const set = (name, value) => {
      const input = form.querySelector(`[data-geo="${name}"]`);
      if (input) input.value = value;
    };
    set("lat", position.coords.latitude.toFixed(7));
    set("lng", position.coords.longitude.toFixed(7));
    set("accuracy", Math.round(position.coords.accuracy * 10) / 10);
    set("mock", looksMocked(position) ? "true" : "");
  }

  function positionNow({ maximumAge = 0, timeout = 20000 } = {}) {
    return new Promise((resolve, reject) => {
      if (!navigator.geolocation) {
        reject(new Error("no geolocation"));
        return;
      }
      navigator.geolocation.getCurrentPosition(resolve, reject, {
        enableHighAccuracy: true, maximumAge, timeout,
      });
    });
  }

  function csrfToken() {
    const input = document.querySelector("input[name=csrfmiddlewaretoken]");
    if (input) return input.value;
    const cookie = document.cookie.split("; ").find((part) => /csrf/i.test(part.split("=")[0]));
    return cookie ? decodeURIComponent(cookie.split("=")[1]) : "";
  }

  // -- the queue on every page ----------------------------------------------------------------

  // The rep logged in here; on the offline page (drawn for no one) the last one seen.
  async function rep() {
    return document.body.dataset.signedIn || (queue ? await queue.currentRep() : "");
  }

  async function showQueue() {
    const box = document.querySelector("[data-upload-queue]");
    if (!box || !queue) return;
    const who = await rep();
    const items = (await queue.all()).filter((item) => !who || item.rep === who);
    box.replaceChildren();
    box.hidden = items.length === 0;
    const waiting = items.filter((item) => item.status !== queue.REFUSED);
    if (waiting.length) {
      const line = document.createElement("p");
      line.dataset.waiting = String(waiting.length);
      line.textContent = text(box, "textWaiting", { count: waiting.length }) +
        (navigator.onLine ? "" : ` ${text(box, "textOffline")}`);
      box.append(line);
    }
    for (const item of items.filter((i) => i.status === queue.REFUSED)) {
      const entry = document.createElement("div");
      entry.className = "refused";
      entry.dataset.refused = item.key;
      const what = document.createElement("p");
      what.className = "error";
      what.textContent = `${item.customerName} · ${text(box, "textRefused", { message: item.error })}`;
      const retry = document.createElement("button");
      retry.type = "button";
      retry.textContent = text(box, "textRetry");
      retry.addEventListener("click", async () => {
        await queue.put({ ...item, status: queue.WAITING, error: "" });
        await flush();
      });
      const discard = document.createElement("button");
      discard.type = "button";
      discard.className = "danger";
      discard.dataset.discard = item.key;
      discard.textContent = text(box, "textDiscard");
      discard.addEventListener("click", async () => {
        if (window.confirm(text(box, "textDiscardConfirm"))) await queue.remove(item.key);
      });
      entry.append(what, retry, discard);
      box.append(entry);
    }
  }

  async function flush() {
    const who = await rep();
    if (!queue || !who || !navigator.onLine) return null;
    const result = await queue.flush(csrfToken(), who);
    await showQueue();
    return result;
  }

  function askWorkerToRetry() {
    if (!navigator.serviceWorker) return;
    navigator.serviceWorker.ready
      .then((registration) => registration.sync && registration.sync.register(queue.SYNC_TAG))
      .catch(() => {});
  }

  // -- the check-in form ------------------------------------------------------------------------

  function camera(form) {
    const box = form.querySelector("[data-camera]");
    const input = form.querySelector("[data-check-in-photo]");
    const state = { snapshot: null, clear() {} };
    if (!box || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return state;
    box.hidden = false;
    const video = box.querySelector("video");
    const start = box.querySelector("[data-camera-start]");
    const shoot = box.querySelector("[data-camera-shoot]");
    const preview = box.querySelector("[data-camera-preview]");
    let stream = null;
    const stop = () => {
      if (stream) stream.getTracks().forEach((track) => track.stop());
      stream = null;
      video.hidden = true;
      shoot.hidden = true;
    };
    start.addEventListener("click", async () => {
      try {
        stream = await navigator.mediaDevices.getUserMedia({
          video: { facingMode: { ideal: "environment" }, width: { ideal: 1920 } }, audio: false,
        });
      } catch (error) {
        box.querySelector("[data-camera-status]").textContent = text(box, "textNoCamera");
        return;
      }
      video.srcObject = stream;
      video.hidden = false;
      await video.play().catch(() => {});
      if (!video.videoWidth) {
        await new Promise((resolve) => video.addEventListener("loadeddata", resolve, { once: true }));
      }
      // Only once there is a picture to take.
      shoot.hidden = false;
    });
    shoot.addEventListener("click", () => {
      if (!video.videoWidth) return;
      const canvas = document.createElement("canvas");
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      canvas.getContext("2d").drawImage(video, 0, 0);
      canvas.toBlob((blob) => {
        if (!blob) return;
        state.snapshot = blob;
        if (preview.src) URL.revokeObjectURL(preview.src);
        preview.src = URL.createObjectURL(blob);
        preview.hidden = false;
        // The live photo replaces a chosen file: one photo per check-in.
        input.value = "";
        stop();
      }, "image/jpeg", 0.9);
    });
    input.addEventListener("change", () => {
      if (input.files.length) {
        state.snapshot = null;
        preview.hidden = true;
      }
    });
    state.clear = () => {
      state.snapshot = null;
      preview.hidden = true;
      stop();
    };
    return state;
  }

  function recorder(form) {
    const box = form.querySelector("[data-voice-controls]");
    const input = form.querySelector("[data-check-in-audio]");
    const state = { recording: null, type: "", clear() {} };
    if (!box || !window.MediaRecorder || !navigator.mediaDevices) return state;
    box.hidden = false;
    const record = box.querySelector("[data-voice-record]");
    const stop = box.querySelector("[data-voice-stop]");
    const playback = box.querySelector("[data-voice-playback]");
    const discard = box.querySelector("[data-voice-discard]");
    const status = box.querySelector("[data-voice-status]");
    let media = null;
    record.addEventListener("click", async () => {
      let stream;
      try {
        stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      } catch (error) {
        status.textContent = text(box, "textNoMicrophone");
        return;
      }
      const chunks = [];
      media = new MediaRecorder(stream);
      media.addEventListener("dataavailable", (event) => event.data.size && chunks.push(event.data));
      media.addEventListener("stop", () => {
        stream.getTracks().forEach((track) => track.stop());
        state.type = (media.mimeType || "audio/webm").split(";")[0];
        state.recording = new Blob(chunks, { type: state.type });
        if (playback.src) URL.revokeObjectURL(playback.src);
        playback.src = URL.createObjectURL(state.recording);
        playback.hidden = false;
        discard.hidden = false;
        record.hidden = false;
        stop.hidden = true;
        status.textContent = text(box, "textRecorded");
        box.dataset.recorded = "true";
        input.value = "";
      });
      media.start();
      record.hidden = true;
      stop.hidden = false;
      discard.hidden = true;
      status.textContent = text(box, "textRecording");
    });
    stop.addEventListener("click", () => media && media.state !== "inactive" && media.stop());
    state.clear = () => {
      state.recording = null;
      playback.removeAttribute("src");
      playback.hidden = true;
      discard.hidden = true;
      status.textContent = "";
      delete box.dataset.recorded;
    };
    discard.addEventListener("click", () => state.clear());
    return state;
  }

  function extension(type) {
    const known = { "audio/webm": "webm", "audio/ogg": "ogg", "audio/mp4": "m4a", "audio/mpeg": "mp3",
      "audio/wav": "wav" };
    return known[type] || "webm";
  }

  function checkInForm(form) {
    const status = document.getElementById("check-in-position");
    const outcome = form.querySelector("[data-check-in-outcome]");
    const photoInput = form.querySelector("[data-check-in-photo]");
    const audioInput = form.querySelector("[data-check-in-audio]");
    const submit = form.querySelector("button[type=submit]");
    const photo = camera(form);
    const voice = recorder(form);
    // The script checks the photo itself: a live capture counts as one.
    photoInput.required = false;
    let fix = null;
    let fixAt = 0;
    if (navigator.geolocation) {
      navigator.geolocation.watchPosition((position) => {
        fix = position;
        fixAt = Date.now();
        fill(form, position);
        status.textContent = text(status, "textFix",
          { accuracy: Math.round(position.coords.accuracy) });
        status.dataset.accuracy = String(Math.round(position.coords.accuracy));
      }, () => {
        status.textContent = text(status, "textNoFix");
      }, { enableHighAccuracy: true, maximumAge: 0, timeout: 30000 });
    }
    const say = (message, kind) => {
      outcome.hidden = false;
      outcome.className = kind;
      outcome.dataset.outcome = kind;
      outcome.textContent = message;
    };

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      // When the rep pressed the button, by the phone's clock: not when the upload arrives.
      const pressed = new Date();
      const picture = photoInput.files[0] || photo.snapshot;
      if (!picture) {
        say(text(outcome, "textNoPhoto"), "error");
        return;
      }
      submit.disabled = true;
      try {
        // The watch keeps the fix fresh; one older than a minute (the phone slept) is asked anew.
        if (!fix || Date.now() - fixAt > 60000) {
          try {
            fix = await positionNow();
            fixAt = Date.now();
          } catch (error) {
            say(text(outcome, "textNoPosition"), "error");
            return;
          }
        }
        fill(form, fix);
        const value = (name) => {
          const field = form.elements.namedItem(name);
          return field ? field.value : "";
        };
        const key = crypto.randomUUID();
        const audio = audioInput.files[0] || voice.recording;
        const item = {
          key,
          rep: await rep(),
          api: form.dataset.api,
          customerName: form.dataset.customerName || form.dataset.customerCode,
          csrf: csrfToken(),
          createdAt: Date.now(),
          status: queue.WAITING,
          error: "",
          fields: {
            customer: form.dataset.customer,
            lat: value("lat"),
            lng: value("lng"),
            accuracy: value("accuracy"),
            mock: value("mock") ? "true" : "false",
            captured_at: isoWithOffset(pressed),
            note: value("note"),
            need: value("need"),
            quote: value("quote"),
            idempotency_key: key,
          },
          photo: picture,
          photoName: picture.name || "photo.jpg",
          audio: audio || null,
          audioName: audio ? audio.name || `voice.${extension(voice.type)}` : "",
        };
        // On the phone first: whatever happens to the upload, the visit is not lost.
        await queue.put(item);
        const tried = navigator.onLine ? await queue.upload(item, csrfToken()) : { outcome: "waiting" };
        if (tried.outcome === "uploaded") {
          window.location.assign(form.dataset.doneUrl);
          return;
        }
        if (tried.outcome === queue.REFUSED) {
          say(tried.message, "error");
        } else {
          say(text(outcome, "textQueued"), "queued");
          askWorkerToRetry();
        }
        // Ready for the next visit: this one is in the queue with its own key.
        form.reset();
        photo.clear();
        voice.clear();
        await showQueue();
      } finally {
        submit.disabled = false;
      }
    });
  }

  // -- check-out and "use my position here" ---------------------------------------------------

  function withPosition(form, { needed }) {
    form.addEventListener("submit", async (event) => {
      if (form.dataset.ready) return;
      event.preventDefault();
      const captured = form.querySelector("[data-captured-at]");
      if (captured) captured.value = isoWithOffset(new Date());
      const status = form.querySelector("[data-geo-status]");
      try {
        fill(form, await positionNow({ maximumAge: needed ? 0 : 60000, timeout: needed ? 20000 : 8000 }));
      } catch (error) {
        if (needed) {
          if (status) status.textContent = text(status, "textNoFix");
          return;
        }
      }
      form.dataset.ready = "true";
      form.submit();
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    const form = document.querySelector("[data-check-in-form]");
    if (form && queue && window.crypto && crypto.randomUUID) checkInForm(form);
    document.querySelectorAll("[data-check-out-form]").forEach((f) => withPosition(f, { needed: false }));
    document.querySelectorAll("[data-use-my-position]").forEach((f) => withPosition(f, { needed: true }));
    if (!queue) return;
    if (document.body.dataset.signedIn) queue.setRep(document.body.dataset.signedIn).catch(() => {});
    showQueue().then(flush).catch(() => {});
    if (typeof BroadcastChannel !== "undefined") {
      new BroadcastChannel(queue.CHANNEL).addEventListener("message", () => showQueue());
    }
  });
  window.addEventListener("online", () => flush().catch(() => {}));
  window.addEventListener("offline", () => showQueue().catch(() => {}));
})();

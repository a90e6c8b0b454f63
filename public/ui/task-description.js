// The task view's description: the task's shared text (openTaskDoc), bound to the
// #f-description textarea (bindTextarea), live, with no Save. Everyone's keystrokes show as
// they happen and the caret stays where it was; typing offline is kept on this device and
// merges when the server is back, with nothing to resolve. D1 follows by itself (the room
// flushes the text), so no REST call is made for the description here.
//
// Until the text is ready (synced once, now or in a copy kept on this device) the textarea
// shows the description as REST gave it, read-only: an empty shared text only means "not
// loaded yet". A viewer's textarea stays read-only (the server refuses their updates), and
// so does a deleted task's (freeze).
// The hint under it (#f-description's [data-hint-for]) says what state it is in, and the
// textarea's data-shared attribute names it for tests: loading | live | offline | closed.

import { bindTextarea, openTaskDoc } from "/hero-client.js";

const HINTS = {
  loading: "Loading the shared description…",
  waiting: "The description can be edited once it has loaded from the server.",
  live: "",
  offline: "Offline: what you type is kept on this device and merges when you are back online.",
  viewer: "Viewers can read the description but not change it.",
};

export function createSharedDescription({ textarea, hint, connectOptions, open = openTaskDoc }) {
  let shared = null;
  let unbind = null;
  let offs = [];
  let readOnly = false;

  const say = (state, text) => {
    textarea.dataset.shared = state;
    hint.textContent = text;
  };

  function describe() {
    if (!shared) return;
    if (shared.closed) {
      say("closed", shared.closed.code === 1000 ? "" : `The shared description stopped: ${shared.closed.reason}.`);
    } else if (!shared.ready) {
      say("loading", shared.status === "open" || shared.status === "connecting" ? HINTS.loading : HINTS.waiting);
    } else if (readOnly) {
      say(shared.status === "open" ? "live" : "offline", HINTS.viewer);
    } else {
      say(shared.status === "open" && shared.synced ? "live" : "offline", shared.status === "open" ? HINTS.live : HINTS.offline);
    }
  }

  function bind() {
    if (unbind || !shared?.ready) return;
    textarea.readOnly = readOnly;
    unbind = bindTextarea(textarea, shared.text, { readOnly });
  }

  return {
    /** Opens `taskId`'s shared text; `fallback` (REST's description) shows until it is ready. */
    open(taskId, { fallback = "", viewer = false } = {}) {
      this.close();
      readOnly = viewer;
      textarea.readOnly = true;
      textarea.value = fallback;
      shared = open(taskId, connectOptions);
      offs = [
        shared.on("ready", () => {
          bind();
          describe();
        }),
        shared.on("status", describe),
        shared.on("synced", describe),
        shared.on("closed", describe),
      ];
      describe();
    },
    /** While not ready: the description REST has now (a newer task), shown in its place. */
    showFallback(text) {
      if (shared && !shared.ready && typeof text === "string") textarea.value = text;
    },
    get active() {
      return shared !== null;
    },
    /** The task is gone: its document closes, and the text stays on screen as it was, read-only. */
    freeze() {
      this.close();
      textarea.readOnly = true;
      textarea.dataset.shared = "closed";
    },
    close() {
      for (const off of offs.splice(0)) off();
      unbind?.();
      unbind = null;
      shared?.close();
      shared = null;
      textarea.readOnly = false;
      delete textarea.dataset.shared;
      hint.textContent = "";
    },
  };
}

// One view's message line: an element that shows at most one message, with its kind
// (data-kind: success | info | progress | error, which the stylesheet colours) and its
// lifetime (/state/messages.js): a success or info fades (data-fading) and goes by itself,
// progress and errors stay until ended or superseded. The view clears it when it hides, so
// no message outlives its view. The browser tests read the element's text and data-kind.

import { alive, end, FADE_MS, fading, post } from "/state/messages.js";

export function createMessageSlot(element, { now = () => Date.now(), timers = globalThis } = {}) {
  let current = null;
  let timer = null;

  function render() {
    element.textContent = current?.text ?? "";
    if (current) element.dataset.kind = current.kind;
    else delete element.dataset.kind;
    if (fading(current, now())) element.dataset.fading = "true";
    else delete element.dataset.fading;
    // An error is announced at once; everything else when the reader is free.
    element.setAttribute("aria-live", current?.kind === "error" ? "assertive" : "polite");
  }

  // Wakes up when the message starts to fade, and again when it is over.
  function schedule() {
    timers.clearTimeout(timer);
    timer = null;
    current = alive(current, now());
    render();
    if (!current || current.expiresAt === null) return;
    const next = fading(current, now()) ? current.expiresAt : current.expiresAt - FADE_MS;
    timer = timers.setTimeout(schedule, Math.max(0, next - now()));
  }

  function show(kind, text) {
    current = post(kind, text, now());
    schedule();
  }

  return {
    success: (text) => show("success", text),
    info: (text) => show("info", text),
    progress: (text) => show("progress", text),
    error: (text) => show("error", text),
    /** Ends the message of `kind` (only the one saying `text`, if given); another stays. */
    end(kind, text = null) {
      const next = end(current, kind, text);
      if (next === current) return;
      current = next;
      schedule();
    },
    /** What is shown now ({kind, text}), or null. */
    get current() {
      return alive(current, now());
    },
    clear() {
      current = null;
      schedule();
    },
  };
}

// Small DOM helpers. User data reaches the page only as text nodes and attribute values:
// nothing here parses HTML, so a hostile title stays text.

export const byId = (id) => document.getElementById(id);

/** Builds an element; children are nodes or strings (as text, never HTML). */
export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") element.className = value;
    else if (name === "dataset") Object.assign(element.dataset, value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

/**
 * What a shown view has hooked up: DOM listeners, room handlers, timers. `dispose()`
 * undoes all of it, so hiding a view leaves nothing behind to fire into stale state.
 */
export function createScope() {
  const controller = new AbortController();
  const cleanups = [];
  return {
    listen(target, type, handler) {
      target.addEventListener(type, handler, { signal: controller.signal });
    },
    /** Keeps an unsubscribe function (e.g. what room.on returns) for dispose(). */
    track(cleanup) {
      cleanups.push(cleanup);
      return cleanup;
    },
    get disposed() {
      return controller.signal.aborted;
    },
    dispose() {
      controller.abort();
      for (const cleanup of cleanups.splice(0)) cleanup();
    },
  };
}

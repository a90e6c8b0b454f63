// The snapshot store every resource (a task room, the board, an edit queue, a shared
// document) keeps for the
// hooks: one frozen object, replaced only when something in it changed, so
// useSyncExternalStore sees the same object on every read until there is news.

/** The snapshots every hook reads on the server and before its first subscribe. */
export const IDLE_TASK = Object.freeze({
  task: null,
  status: "idle",
  closed: null,
  presence: Object.freeze([]),
  typing: Object.freeze([]),
  editing: Object.freeze([]),
  lastSeq: null,
});

export const IDLE_BOARD = Object.freeze({
  tasks: Object.freeze([]),
  analytics: null,
  taskPresence: Object.freeze({}),
  presence: Object.freeze([]),
  status: "idle",
  closed: null,
});

export const IDLE_DOC = Object.freeze({
  doc: null,
  text: null,
  awareness: null,
  status: "idle",
  synced: false,
  ready: false,
  closed: null,
});

export const IDLE_QUEUE = Object.freeze({
  entries: Object.freeze([]),
  reachable: true,
  syncing: false,
  paused: null,
  queue: null,
});

/** A store of one frozen snapshot and its listeners. */
export function createSnapshotStore(initial) {
  let snapshot = Object.freeze({ ...initial });
  const listeners = new Set();
  return {
    get: () => snapshot,
    /** Merges `changes` in; a new snapshot (and the listeners told) only if a value differs. */
    update(changes) {
      if (Object.keys(changes).every((key) => Object.is(snapshot[key], changes[key]))) return;
      snapshot = Object.freeze({ ...snapshot, ...changes });
      for (const listener of [...listeners]) listener();
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/** Whether two arrays hold the same elements, by `same`, in order. */
export function sameItems(a, b, same = Object.is) {
  return a === b || (a.length === b.length && a.every((item, i) => same(item, b[i])));
}

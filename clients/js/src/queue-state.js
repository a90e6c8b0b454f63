// What the edit queue (./edit-queue.js) holds in this tab: the entries as last read from
// the store, whether the server can be reached, whether a replay runs or waits for a token,
// and the creates that committed. Every change to the entries goes through commit(), which
// applies a pure transition (./state/queue.js) in the store and tells this tab's listeners
// ("change") and the other tabs (the BroadcastChannel).

import { createEmitter } from "./emitter.js";

/** The problem a failed or refused request leaves on its entry. */
export const problemOf = (response) => ({
  status: response?.status ?? null,
  type: response?.body?.type ?? null,
  title: response?.body?.title ?? null,
  detail: response?.body?.detail ?? (response ? `HTTP ${response.status}` : "no answer from the server"),
  errors: response?.body?.errors ?? null,
});

export function createQueueState({ store, channel, reachable }) {
  const emitter = createEmitter();
  const state = {
    on: emitter.on,
    emit: emitter.emit,
    entries: [],
    reachable,
    syncing: false,
    /** Why replays wait for sync() (a 401: a new token is needed), or null. */
    paused: null,
    closed: false,
    /** Creates that committed: temporary id → real id, for a view that still holds the former. */
    committedIds: new Map(),
    announce() {
      emitter.emit("change", { entries: state.entries, reachable: state.reachable, syncing: state.syncing, paused: state.paused });
    },
    setReachable(value) {
      if (state.reachable === value) return;
      state.reachable = value;
      state.announce();
    },
    /** Tells the other tabs; a closed channel is fine (they read the store when they next look). */
    tell(message) {
      try {
        channel?.postMessage(message);
      } catch {
        // nothing to do
      }
    },
    /**
     * Applies a transition in the store, adopts its entries, and tells everyone if it changed
     * anything. `before(result)` runs first: an ack is announced before the change it makes,
     * so a view takes the committed task before it redraws without the pending entry.
     */
    async commit(transition, { enqueued = false, before = null } = {}) {
      const result = await store.transact(transition);
      state.entries = result.entries;
      before?.(result);
      if (result.changed) {
        state.announce();
        state.tell({ type: "changed", enqueued });
      }
      return result;
    },
    /** Reads the entries afresh (another tab changed them). */
    async refresh() {
      state.entries = await store.read();
      state.announce();
    },
    /**
     * A task's entries were dropped because the task is gone (`reason`: "deleted" when a
     * view learned of the delete, "gone" when a write to it answered 404): told here and to
     * the other tabs, so whichever shows that task can say so.
     */
    dropped(taskId, entries, reason) {
      if (entries.length === 0) return;
      const message = { type: "dropped", taskId, entries, reason };
      emitter.emit("dropped", message);
      state.tell(message);
    },
    /** An entry committed (or was settled without sending): told here and to the other tabs. */
    acked(entry, task, extra = {}) {
      const tempId = entry.kind === "create" ? entry.taskId : null;
      if (tempId && task?.id) state.committedIds.set(tempId, task.id);
      const message = { type: "acked", entry, task: task ?? null, taskId: task?.id ?? entry.taskId, tempId, ...extra };
      emitter.emit("acked", message);
      state.tell(message);
    },
  };
  return state;
}

// The edit queue: every create, edit and delete goes through a queue of entries
// (./state/queue.js) that is stored (./queue-store.js: IndexedDB) before anything is sent,
// so it survives a reload, a closed tab and a dead network.
//
//   const queue = openEditQueue({ owner: { userId, workspaceId }, getToken });
//   await queue.update(queue.overlay(task), { title: "New" });   // queued, replayed, merged on 412
//   queue.on("change", ({ entries, reachable }) => …);           // what waits to sync
//
// While the server cannot be reached, the UI shows the tasks with the pending entries
// applied (overlay/overlayList). Replays go in order, one request at a time, each with
// `If-Match: "<base version>"` and `Idempotency-Key: <entry key>`:
// - 2xx, or the server's replay of the first response: the entry leaves the queue;
// - 412: merged field by field against `current` (./state/merge.js); what merges cleanly is
//   sent again on top of it, and a field both sides changed differently waits as a conflict
//   until the user picks one (who changed theirs comes from the task's activity log);
// - no answer, 5xx, 409 (the key in use by a request still running): sent again later, as
//   it was (same key and body), with jittered backoff, or at once when the browser comes
//   back online or the page says the server answered (sync());
// - 404 (the task was deleted): every entry of the task is dropped, and "dropped" says so;
//   a view that learns of the delete first calls dropTask() to the same effect;
// - any other 4xx: kept as refused, with the reason, until the user discards it.
//
// Tabs: every tab of one user and workspace opens the same database. A replay runs only
// while holding the Web Lock named after the queue, and reads the entries afresh inside it,
// marking each entry `sending` in the same transaction that picks it: two tabs can never
// send the same entry. Entries still `sending` when a tab takes the lock were left by a tab
// that died mid-request; they are sent again with the same key, and the server's replay of
// a request that had committed counts as success. A BroadcastChannel tells the other tabs
// when the entries changed and when an entry committed.

import { timersOf } from "./timers.js";
import { createQueueRequests } from "./queue-requests.js";
import { createQueueState } from "./queue-state.js";
import { createReplayer } from "./queue-replay.js";
import { indexedDbStore, lockRunner, memoryStore } from "./queue-store.js";
import { createFor, discard, dropTask, enqueue, MAX_ENTRIES, overlayList, overlayTask, pendingTask, resolve } from "./state/queue.js";

/** Queue limits: entries held, how long one request may take before it counts as lost. */
export const QUEUE = Object.freeze({ maxEntries: MAX_ENTRIES, requestTimeoutMs: 30_000, activityPage: 100, retryFloorMs: 250 });

/** The queue holds QUEUE.maxEntries entries: the change was not made. */
export class QueueFullError extends Error {
  constructor(limit) {
    super(`${limit} changes are waiting to sync, the most this browser keeps: reconnect to sync them before making more.`);
    this.name = "QueueFullError";
  }
}

/** The fields a queued edit may change (the API's editable fields). */
const EDITABLE = Object.freeze(["title", "description", "status", "priority", "assignee_id", "due_date", "tags"]);

const pickFields = (task, fields) => Object.fromEntries(fields.map((field) => [field, task?.[field] ?? null]));

/** The queue's names (database, lock, channel) for one user in one workspace. */
export function queueName(owner) {
  return `hero-tasks-queue/${encodeURIComponent(owner.workspaceId)}/${encodeURIComponent(owner.userId)}`;
}

/**
 * Opens the edit queue of one user in one workspace (see the top of this file).
 * `options`: {owner: {userId, workspaceId}, user: {id, name}, getToken | token, baseUrl,
 * and for tests: store, locks, channel, fetch, timers, random, newId, now, onLine, limit}.
 */
export function openEditQueue(options) {
  const { owner } = options;
  if (!owner?.userId || !owner?.workspaceId) throw new Error("openEditQueue needs {owner: {userId, workspaceId}}");
  const name = queueName(owner);
  const timers = timersOf(options);
  const newId = options.newId ?? (() => globalThis.crypto.randomUUID());
  const nowIso = options.now ?? (() => new Date().toISOString());
  const onLine = options.onLine ?? (() => globalThis.navigator?.onLine !== false);
  const limit = options.limit ?? QUEUE.maxEntries;
  const store = options.store ?? (globalThis.indexedDB ? indexedDbStore(name) : memoryStore());
  const channel = options.channel !== undefined ? options.channel : typeof BroadcastChannel === "function" ? new BroadcastChannel(name) : null;
  const state = createQueueState({ store, channel, reachable: onLine() });
  const { commit } = state;
  const requests = createQueueRequests(options, { timers, requestTimeoutMs: QUEUE.requestTimeoutMs, activityPage: QUEUE.activityPage });
  const replayer = createReplayer(state, {
    requests,
    withLock: lockRunner(options.locks ?? globalThis.navigator?.locks, name),
    onLine,
    timers,
    random: options.random ?? Math.random,
    newId,
    retryFloorMs: QUEUE.retryFloorMs,
  });
  const { sync } = replayer;

  // ---- Making changes ----------------------------------------------------------------

  const realId = (id) => state.committedIds.get(id) ?? id;
  const who = () => options.user ?? { id: owner.userId, name: owner.userId };

  async function add(draft) {
    const result = await commit((list) => enqueue(list, draft, { limit }), { enqueued: true });
    if (result.outcome === "full") throw new QueueFullError(limit);
    sync();
    return { outcome: result.outcome, entry: result.entry };
  }

  /** The task the view shows (overlaid), as the base of an edit or delete. */
  function editBase(shown, fields) {
    const pendingCreate = createFor(state.entries, shown.id);
    return { version: pendingCreate ? null : shown.version ?? null, values: pickFields(shown, fields) };
  }

  /** A new entry for `shown`'s task: `kind`, the fields it changes and its patch. */
  const draftFor = (kind, shown, fields, patch, label) => ({
    id: newId(),
    key: newId(),
    kind,
    taskId: realId(shown.id),
    base: editBase(shown, fields),
    patch,
    label,
    by: who(),
    at: nowIso(),
  });

  async function create(fields) {
    const tempId = newId();
    const at = nowIso();
    const { entry } = await add({ id: newId(), key: newId(), kind: "create", taskId: tempId, base: { version: null, values: {} }, patch: { ...fields }, label: fields.title ?? "", by: who(), at });
    return pendingTask(entry ?? { taskId: tempId, patch: fields, by: who(), at });
  }

  async function update(shown, patch) {
    const fields = Object.keys(patch).filter((field) => EDITABLE.includes(field));
    return add(draftFor("update", shown, fields, pickFields(patch, fields), patch.title ?? shown.title ?? ""));
  }

  async function remove(shown) {
    return add(draftFor("delete", shown, EDITABLE, {}, shown.title ?? ""));
  }

  async function cached(work) {
    try {
      return (await work()) ?? null;
    } catch {
      return null;
    }
  }

  // ---- Other tabs, the network -------------------------------------------------------

  if (channel) {
    channel.onmessage = (event) => {
      const message = event.data;
      if (state.closed || !message) return;
      if (message.type === "acked") {
        if (message.tempId && message.taskId) state.committedIds.set(message.tempId, message.taskId);
        state.emit("acked", message);
      }
      if (message.type === "dropped") state.emit("dropped", message);
      state.refresh().then(() => {
        // Another tab queued something: if this one can reach the server, it may replay it.
        if (message.enqueued && state.entries.some((e) => e.state === "queued")) sync();
      });
    };
  }
  const onOnline = () => {
    replayer.online();
    state.setReachable(true);
    sync();
  };
  const onOffline = () => state.setReachable(false);
  globalThis.addEventListener?.("online", onOnline);
  globalThis.addEventListener?.("offline", onOffline);

  const ready = state
    .refresh()
    .then(() => {
      if (state.entries.length) sync();
    })
    .catch((error) => {
      console.error("hero-client: the edit queue could not be read", error);
    });

  return {
    /** Resolves once the stored entries have been read. */
    ready,
    on: state.on,
    get entries() {
      return state.entries;
    },
    /** The browser is online and the last request got an answer. */
    get reachable() {
      return state.reachable;
    },
    get syncing() {
      return state.syncing;
    },
    create,
    update,
    remove,
    /** The task with my pending edits applied (see ./state/queue.js overlayTask). */
    overlay: (task) => overlayTask(task, state.entries),
    overlayList: (tasks) => overlayList(tasks, state.entries),
    /** The pending task a create made offline stands for, by its temporary id; or null. */
    pendingTask(id) {
      const entry = createFor(state.entries, id);
      return entry ? overlayTask(pendingTask(entry), state.entries.filter((e) => e !== entry)) : null;
    },
    /** The real id of a create that committed, for its temporary id (else the id itself). */
    realId,
    // The last copy of what the UI loaded, for a page reloaded offline. Never sent anywhere;
    // a failure to keep one only means there is less to show offline.
    rememberTask: (task) => cached(() => store.putSnapshot?.(`task:${task.id}`, task)),
    recallTask: (id) => cached(() => store.getSnapshot?.(`task:${id}`)),
    rememberList: (tasks) => cached(() => store.putSnapshot?.("list", tasks)),
    recallList: () => cached(() => store.getSnapshot?.("list")),
    /** Drops the snapshots (on sign-out); the pending entries stay. */
    forgetSnapshots: () => cached(() => store.clearSnapshots?.()),
    /** A conflict's choice: {field: "mine" | "theirs"}; for a delete, "mine" deletes anyway. */
    async resolve(entryId, choices) {
      const result = await commit((list) => resolve(list, entryId, choices, newId()), {
        before: ({ outcome, entry }) => outcome === "kept-theirs" && state.acked(entry, entry.conflict?.current ?? null, { merged: true }),
      });
      sync();
      return result.outcome;
    },
    /** Gives up an entry (and, for a create, its task's other entries). */
    async discard(entryId) {
      const result = await commit((list) => discard(list, entryId));
      return result.removed;
    },
    /**
     * The task was deleted: every entry of it goes (none can apply any more), and "dropped"
     * says which, here and in the other tabs. Returns the entries dropped.
     */
    async dropTask(taskId) {
      const { removed } = await commit((list) => dropTask(list, realId(taskId)));
      state.dropped(realId(taskId), removed, "deleted");
      return removed;
    },
    sync,
    close() {
      state.closed = true;
      replayer.stop();
      globalThis.removeEventListener?.("online", onOnline);
      globalThis.removeEventListener?.("offline", onOffline);
      if (channel && options.channel === undefined) channel.close();
      store.close?.();
    },
  };
}

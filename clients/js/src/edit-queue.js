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
// - any other 4xx: kept as refused, with the reason, until the user discards it.
//
// Tabs: every tab of one user and workspace opens the same database. A replay runs only
// while holding the Web Lock named after the queue, and reads the entries afresh inside it,
// marking each entry `sending` in the same transaction that picks it: two tabs can never
// send the same entry. Entries still `sending` when a tab takes the lock were left by a tab
// that died mid-request; they are sent again with the same key, and the server's replay of
// a request that had committed counts as success. A BroadcastChannel tells the other tabs
// when the entries changed and when an entry committed.

import { createEmitter } from "./emitter.js";
import { timersOf } from "./timers.js";
import { createQueueRequests } from "./queue-requests.js";
import { backoffDelay } from "./socket.js";
import { indexedDbStore, lockRunner, memoryStore } from "./queue-store.js";
import { changedFields, mergePatch } from "./state/merge.js";
import {
  ack,
  afterMerge,
  classifyResponse,
  createFor,
  deleteConflict,
  discard,
  enqueue,
  MAX_ENTRIES,
  overlayList,
  overlayTask,
  pendingTask,
  rebaseDelete,
  recoverInterrupted,
  refuse,
  resolve,
  retryLater,
  takeNext,
} from "./state/queue.js";

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

const problemOf = (response) => ({
  status: response?.status ?? null,
  type: response?.body?.type ?? null,
  title: response?.body?.title ?? null,
  detail: response?.body?.detail ?? (response ? `HTTP ${response.status}` : "no answer from the server"),
  errors: response?.body?.errors ?? null,
});

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
  const random = options.random ?? Math.random;
  const newId = options.newId ?? (() => globalThis.crypto.randomUUID());
  const nowIso = options.now ?? (() => new Date().toISOString());
  const onLine = options.onLine ?? (() => globalThis.navigator?.onLine !== false);
  const limit = options.limit ?? QUEUE.maxEntries;
  const store = options.store ?? (globalThis.indexedDB ? indexedDbStore(name) : memoryStore());
  const withLock = lockRunner(options.locks ?? globalThis.navigator?.locks, name);
  const channel = options.channel !== undefined ? options.channel : typeof BroadcastChannel === "function" ? new BroadcastChannel(name) : null;
  const emitter = createEmitter();

  let entries = [];
  let reachable = onLine();
  let closed = false;
  let draining = null;
  let drainAgain = false;
  let retryTimer = null;
  let retryAttempt = 0;
  let paused = null; // why replays wait for sync() (a 401: a new token is needed)
  // Creates that committed: temporary id → real id, for a view that still holds the former.
  const committedIds = new Map();

  let syncing = false;
  const snapshot = () => ({ entries, reachable, syncing, paused });
  const announce = () => emitter.emit("change", snapshot());
  const setReachable = (value) => {
    if (reachable === value) return;
    reachable = value;
    announce();
  };
  const tell = (message) => {
    try {
      channel?.postMessage(message);
    } catch {
      // a closed channel: the other tabs read the store when they next look
    }
  };

  /**
   * Applies a transition in the store, adopts its entries, and tells everyone if it changed
   * anything. `before(result)` runs first: an ack is announced before the change it makes,
   * so a view takes the committed task before it redraws without the pending entry.
   */
  async function commit(transition, { enqueued = false, before = null } = {}) {
    const result = await store.transact(transition);
    entries = result.entries;
    before?.(result);
    if (result.changed) {
      announce();
      tell({ type: "changed", enqueued });
    }
    return result;
  }

  async function refresh() {
    entries = await store.read();
    announce();
  }

  // ---- Sending (./queue-requests.js) ----------------------------------------------

  const { send, getJson, whoChangedEach } = createQueueRequests(options, { timers, requestTimeoutMs: QUEUE.requestTimeoutMs, activityPage: QUEUE.activityPage });

  async function settleConflict(entry, response) {
    let current = response.body?.current ?? null;
    if (!current) {
      try {
        current = await getJson(`/api/tasks/${encodeURIComponent(entry.taskId)}`);
      } catch {
        await commit((list) => retryLater(list, entry.id, problemOf(response)));
        return "stop";
      }
    }
    if (entry.kind === "delete") {
      const fields = changedFields(entry.base.values, current, Object.keys(entry.base.values));
      if (fields.length === 0) {
        await commit((list) => rebaseDelete(list, entry.id, { current, newKey: newId() }));
        return "next";
      }
      const who = await whoChangedEach(entry.taskId, entry.base.version, fields);
      await commit((list) => deleteConflict(list, entry.id, { current, fields, who }));
      return "next";
    }
    const merge = mergePatch(entry.base.values, entry.patch, current);
    const who = merge.conflicts.length ? await whoChangedEach(entry.taskId, entry.base.version, merge.conflicts.map((c) => c.field)) : {};
    await commit((list) => afterMerge(list, entry.id, { current, merge, who, newKey: newId() }), {
      before: ({ outcome }) => outcome === "merged-away" && acked(entry, current, { merged: true }),
    });
    return "next";
  }

  function acked(entry, task, extra = {}) {
    const tempId = entry.kind === "create" ? entry.taskId : null;
    if (tempId && task?.id) committedIds.set(tempId, task.id);
    const message = { type: "acked", entry, task: task ?? null, taskId: task?.id ?? entry.taskId, tempId, ...extra };
    emitter.emit("acked", message);
    tell(message);
  }

  // One replay, inside the lock: entries left `sending` by a dead tab go first, then every
  // entry that can go, in order, until the queue is empty or the server cannot be reached.
  // Returns "done", or "waiting" when a retry is scheduled (or a new token is needed).
  async function replay() {
    if (closed) return "done";
    await commit(recoverInterrupted);
    while (!closed) {
      if (!onLine()) {
        setReachable(false);
        return "waiting"; // the "online" event resumes
      }
      const { entry } = await commit((list) => takeNext(list));
      if (!entry) break;
      const response = await send(entry);
      const verdict = classifyResponse(entry.kind, response);
      setReachable(!verdict.unreachable);
      if (verdict.outcome === "ok") {
        const task = entry.kind === "delete" ? null : response.body;
        await commit((list) => ack(list, entry.id, task), { before: () => acked(entry, task, { replayed: response.replayed }) });
      } else if (verdict.outcome === "conflict") {
        if ((await settleConflict(entry, response)) === "stop") return scheduleRetry();
      } else if (verdict.outcome === "refused") {
        await commit((list) => refuse(list, entry.id, problemOf(response)));
      } else if (verdict.outcome === "unauthorized") {
        await commit((list) => retryLater(list, entry.id, problemOf(response)));
        paused = "unauthorized";
        announce();
        return "waiting"; // sync() resumes, once there is a new token
      } else {
        await commit((list) => retryLater(list, entry.id, problemOf(response)));
        return scheduleRetry(verdict.waitMs);
      }
      retryAttempt = 0;
    }
    return "done";
  }

  function scheduleRetry(waitMs = null) {
    timers.clearTimeout(retryTimer);
    if (closed) return "waiting";
    const delay = waitMs ?? backoffDelay(retryAttempt++, random, QUEUE.retryFloorMs);
    retryTimer = timers.setTimeout(() => {
      retryTimer = null;
      sync();
    }, delay);
    return "waiting";
  }

  /**
   * Replays now (if online). Resolves when this replay is over. A call while one runs asks
   * for another round after it, so nothing enqueued meanwhile waits for the next trigger.
   */
  function sync() {
    if (closed) return Promise.resolve();
    paused = null;
    if (draining) {
      drainAgain = true;
      return draining;
    }
    syncing = true;
    announce();
    draining = (async () => {
      // Yield first: `draining` must be set before this body can finish and clear it.
      await null;
      try {
        // Another round if something asked for one meanwhile, unless this one is waiting
        // for the network, a retry or a token: going again at once would only fail again.
        let outcome = "done";
        do {
          drainAgain = false;
          if (!onLine()) {
            setReachable(false);
            break;
          }
          outcome = await withLock(replay);
        } while (drainAgain && outcome === "done" && !closed);
      } catch (error) {
        console.error("hero-client: the edit queue could not replay", error);
        scheduleRetry();
      } finally {
        draining = null;
        syncing = false;
        if (!closed) announce();
      }
    })();
    return draining;
  }

  // ---- Making changes ----------------------------------------------------------------

  const realId = (id) => committedIds.get(id) ?? id;
  const who = () => options.user ?? { id: owner.userId, name: owner.userId };

  async function add(draft) {
    const result = await commit((list) => enqueue(list, draft, { limit }), { enqueued: true });
    if (result.outcome === "full") throw new QueueFullError(limit);
    sync();
    return { outcome: result.outcome, entry: result.entry };
  }

  /** The task the view shows (overlaid), as the base of an edit or delete. */
  function editBase(shown, fields) {
    const pendingCreate = createFor(entries, shown.id);
    return { version: pendingCreate ? null : shown.version ?? null, values: pickFields(shown, fields) };
  }

  async function create(fields) {
    const tempId = newId();
    const at = nowIso();
    const { entry } = await add({ id: newId(), key: newId(), kind: "create", taskId: tempId, base: { version: null, values: {} }, patch: { ...fields }, label: fields.title ?? "", by: who(), at });
    return pendingTask(entry ?? { taskId: tempId, patch: fields, by: who(), at });
  }

  async function update(shown, patch) {
    const fields = Object.keys(patch).filter((field) => EDITABLE.includes(field));
    return add({
      id: newId(),
      key: newId(),
      kind: "update",
      taskId: realId(shown.id),
      base: editBase(shown, fields),
      patch: pickFields(patch, fields),
      label: patch.title ?? shown.title ?? "",
      by: who(),
      at: nowIso(),
    });
  }

  async function remove(shown) {
    return add({ id: newId(), key: newId(), kind: "delete", taskId: realId(shown.id), base: editBase(shown, EDITABLE), patch: {}, label: shown.title ?? "", by: who(), at: nowIso() });
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
      if (closed || !message) return;
      if (message.type === "acked") {
        if (message.tempId && message.taskId) committedIds.set(message.tempId, message.taskId);
        emitter.emit("acked", message);
      }
      refresh().then(() => {
        // Another tab queued something: if this one can reach the server, it may replay it.
        if (message.enqueued && entries.some((e) => e.state === "queued")) sync();
      });
    };
  }
  const onOnline = () => {
    retryAttempt = 0;
    setReachable(true);
    sync();
  };
  const onOffline = () => setReachable(false);
  globalThis.addEventListener?.("online", onOnline);
  globalThis.addEventListener?.("offline", onOffline);

  const ready = refresh()
    .then(() => {
      if (entries.length) sync();
    })
    .catch((error) => {
      console.error("hero-client: the edit queue could not be read", error);
    });

  return {
    /** Resolves once the stored entries have been read. */
    ready,
    on: emitter.on,
    get entries() {
      return entries;
    },
    /** The browser is online and the last request got an answer. */
    get reachable() {
      return reachable;
    },
    get syncing() {
      return syncing;
    },
    create,
    update,
    remove,
    /** The task with my pending edits applied (see ./state/queue.js overlayTask). */
    overlay: (task) => overlayTask(task, entries),
    overlayList: (tasks) => overlayList(tasks, entries),
    /** The pending task a create made offline stands for, by its temporary id; or null. */
    pendingTask(id) {
      const entry = createFor(entries, id);
      return entry ? overlayTask(pendingTask(entry), entries.filter((e) => e !== entry)) : null;
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
        before: ({ outcome, entry }) => outcome === "kept-theirs" && acked(entry, entry.conflict?.current ?? null, { merged: true }),
      });
      sync();
      return result.outcome;
    },
    /** Gives up an entry (and, for a create, its task's other entries). */
    async discard(entryId) {
      const result = await commit((list) => discard(list, entryId));
      return result.removed;
    },
    sync,
    close() {
      closed = true;
      timers.clearTimeout(retryTimer);
      globalThis.removeEventListener?.("online", onOnline);
      globalThis.removeEventListener?.("offline", onOffline);
      if (channel && options.channel === undefined) channel.close();
      store.close?.();
    },
  };
}

// The edit queue's replay (./edit-queue.js): under the queue's lock, every entry that can go
// is sent in order (./queue-requests.js), and the answer decides what becomes of it (the
// pure transitions of ./state/queue.js): gone on a 2xx, merged on a 412, every entry of the
// task dropped on a 404 (the task was deleted), kept as refused on another 4xx, paused on a 401, retried with backoff when there is no answer.

import { backoffDelay } from "./socket.js";
import { problemOf } from "./queue-state.js";
import { changedFields, mergePatch } from "./state/merge.js";
import { ack, afterMerge, classifyResponse, deleteConflict, dropTask, rebaseDelete, recoverInterrupted, refuse, retryLater, takeNext } from "./state/queue.js";

/**
 * `state` (./queue-state.js), `requests` (./queue-requests.js), `withLock`, `onLine`,
 * `timers`, `random`, `newId`, and `retryFloorMs` (the least wait before a retry).
 */
export function createReplayer(state, { requests, withLock, onLine, timers, random, newId, retryFloorMs }) {
  const { commit } = state;
  let draining = null;
  let drainAgain = false;
  let retryTimer = null;
  let retryAttempt = 0;

  // A 412: merged against `current`; "stop" if `current` cannot even be read.
  async function settleConflict(entry, response) {
    let current = response.body?.current ?? null;
    if (!current) {
      try {
        current = await requests.getJson(`/api/tasks/${encodeURIComponent(entry.taskId)}`);
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
      const who = await requests.whoChangedEach(entry.taskId, entry.base.version, fields);
      await commit((list) => deleteConflict(list, entry.id, { current, fields, who }));
      return "next";
    }
    const merge = mergePatch(entry.base.values, entry.patch, current);
    const who = merge.conflicts.length ? await requests.whoChangedEach(entry.taskId, entry.base.version, merge.conflicts.map((c) => c.field)) : {};
    await commit((list) => afterMerge(list, entry.id, { current, merge, who, newKey: newId() }), {
      before: ({ outcome }) => outcome === "merged-away" && state.acked(entry, current, { merged: true }),
    });
    return "next";
  }

  // What one answer does to its entry: "next" to go on, or "waiting" to stop this replay.
  async function settle(entry, response) {
    const verdict = classifyResponse(entry.kind, response);
    state.setReachable(!verdict.unreachable);
    switch (verdict.outcome) {
      case "ok": {
        const task = entry.kind === "delete" ? null : response.body;
        await commit((list) => ack(list, entry.id, task), { before: () => state.acked(entry, task, { replayed: response.replayed }) });
        return "next";
      }
      case "conflict":
        return (await settleConflict(entry, response)) === "stop" ? scheduleRetry() : "next";
      case "gone": {
        // The task was deleted: nothing queued for it can apply any more.
        const { removed } = await commit((list) => dropTask(list, entry.taskId));
        state.dropped(entry.taskId, removed, "gone");
        return "next";
      }
      case "refused":
        await commit((list) => refuse(list, entry.id, problemOf(response)));
        return "next";
      case "unauthorized":
        await commit((list) => retryLater(list, entry.id, problemOf(response)));
        state.paused = "unauthorized";
        state.announce();
        return "waiting"; // sync() resumes, once there is a new token
      default:
        await commit((list) => retryLater(list, entry.id, problemOf(response)));
        return scheduleRetry(verdict.waitMs);
    }
  }

  // One replay, inside the lock: entries left `sending` by a dead tab go first, then every
  // entry that can go, in order, until the queue is empty or the server cannot be reached.
  // Returns "done", or "waiting" when a retry is scheduled (or a new token is needed).
  async function replay() {
    if (state.closed) return "done";
    await commit(recoverInterrupted);
    while (!state.closed) {
      if (!onLine()) {
        state.setReachable(false);
        return "waiting"; // the "online" event resumes
      }
      const { entry } = await commit((list) => takeNext(list));
      if (!entry) break;
      if ((await settle(entry, await requests.send(entry))) === "waiting") return "waiting";
      retryAttempt = 0;
    }
    return "done";
  }

  function scheduleRetry(waitMs = null) {
    timers.clearTimeout(retryTimer);
    if (state.closed) return "waiting";
    const delay = waitMs ?? backoffDelay(retryAttempt++, random, retryFloorMs);
    retryTimer = timers.setTimeout(() => {
      retryTimer = null;
      sync();
    }, delay);
    return "waiting";
  }

  // Rounds of replay while something asked for another meanwhile, unless this one is waiting
  // for the network, a retry or a token: going again at once would only fail again.
  async function drain() {
    // Yield first: `draining` must be set before this body can finish and clear it.
    await null;
    try {
      let outcome = "done";
      do {
        drainAgain = false;
        if (!onLine()) {
          state.setReachable(false);
          break;
        }
        outcome = await withLock(replay);
      } while (drainAgain && outcome === "done" && !state.closed);
    } catch (error) {
      console.error("hero-client: the edit queue could not replay", error);
      scheduleRetry();
    } finally {
      draining = null;
      state.syncing = false;
      if (!state.closed) state.announce();
    }
  }

  /**
   * Replays now (if online). Resolves when this replay is over. A call while one runs asks
   * for another round after it, so nothing enqueued meanwhile waits for the next trigger.
   */
  function sync() {
    if (state.closed) return Promise.resolve();
    state.paused = null;
    if (draining) {
      drainAgain = true;
      return draining;
    }
    state.syncing = true;
    state.announce();
    draining = drain();
    return draining;
  }

  return {
    sync,
    /** The browser is back online: the backoff starts afresh. */
    online() {
      retryAttempt = 0;
    },
    stop() {
      timers.clearTimeout(retryTimer);
    },
  };
}

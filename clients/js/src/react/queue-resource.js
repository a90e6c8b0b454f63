// One user's edit queue (openEditQueue) as the hooks see it: the snapshot
// `{entries, reachable, syncing, paused, queue}`, replaced on every "change". No React here.

import { openEditQueue } from "../edit-queue.js";
import { createEmitter } from "../emitter.js";
import { createSnapshotStore, IDLE_QUEUE } from "./store.js";

export function createQueueResource(owner, { connectOptions, queueOptions }) {
  const store = createSnapshotStore(IDLE_QUEUE);
  const acked = createEmitter();
  let queue = null;

  return {
    getSnapshot: store.get,
    subscribe: store.subscribe,
    /** An entry committed (here or in another tab): see the queue's "acked". */
    onAcked: (handler) => acked.on("acked", handler),
    start() {
      const user = { id: owner.userId, name: owner.name ?? owner.userId };
      queue = openEditQueue({ ...connectOptions, ...queueOptions, owner: { userId: owner.userId, workspaceId: owner.workspaceId }, user });
      queue.on("change", ({ entries, reachable, syncing, paused }) => store.update({ entries, reachable, syncing, paused }));
      queue.on("acked", (message) => acked.emit("acked", message));
      store.update({ queue, entries: queue.entries, reachable: queue.reachable, syncing: queue.syncing });
    },
    stop() {
      queue?.close();
      queue = null;
    },
  };
}

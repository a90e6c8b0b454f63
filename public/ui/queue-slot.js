// The signed-in user's edit queue (openEditQueue in /hero-client.js). One queue per user and
// workspace: signing in as someone else closes the old one (its entries stay in this
// browser's IndexedDB until that user signs in here again) and opens theirs.

import { displayName, openEditQueue, queueOwner } from "/hero-client.js";

export function createQueueSlot({ session, connectOptions, open = openEditQueue }) {
  let queue = null;
  let ownerKey = null;
  const watchers = new Set();

  /** The queue for the current token's user and workspace (null when signed out). */
  function current() {
    const owner = queueOwner(session.claims);
    const key = owner ? `${owner.workspaceId}\n${owner.userId}` : null;
    if (key !== ownerKey) {
      queue?.close();
      ownerKey = key;
      queue = owner ? open({ ...connectOptions, owner, user: { id: owner.userId, name: session.serverName ?? displayName(session.claims) } }) : null;
      for (const watcher of watchers) watcher(queue);
    }
    return queue;
  }

  return {
    current,
    /** `watcher(queue)` hears each new queue (or null on sign-out). */
    watch(watcher) {
      watchers.add(watcher);
      return () => watchers.delete(watcher);
    },
  };
}

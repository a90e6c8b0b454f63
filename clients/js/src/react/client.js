// createHeroClient: what the hooks share. It owns every live resource (one room per task,
// one board, one edit queue per user and workspace, one shared document per task), counts
// who uses each, and closes one a grace period after its last user leaves, so StrictMode's
// mount → unmount → mount and a quick route change reuse the socket instead of opening
// another. Nothing opens until a
// component subscribes (an effect, never a render), and creating the client opens nothing:
// it runs at module scope. No React here; ../react.js has the hooks.
//
// `getToken` sits behind a ref: the rooms ask `client` for it, so setGetToken(fn) swaps the
// function without reconnecting, and the next reconnect or refresh asks the new one.

import { restClient } from "../rest.js";
import { timersOf } from "../timers.js";
import { createBoardResource } from "./board-resource.js";
import { createDocResource } from "./doc-resource.js";
import { createQueueResource } from "./queue-resource.js";
import { IDLE_BOARD, IDLE_DOC, IDLE_QUEUE, IDLE_TASK } from "./store.js";
import { createTaskResource } from "./task-resource.js";

/** How long a resource nobody uses stays open, in case someone comes back (ms). */
export const GRACE_MS = 2000;

/** The key of the board, for useConnectionStatus("board"). */
export const BOARD = "board";

export const taskKey = (taskId) => `task:${taskId}`;
export const docKey = (taskId) => `doc:${taskId}`;
export const queueKey = (owner) => `queue:${encodeURIComponent(owner.workspaceId)}/${encodeURIComponent(owner.userId)}`;

/**
 * Options: `baseUrl` (the page's origin by default), `getToken` (asked before every
 * connect, refresh and REST call), and for tests or special hosts `WebSocket`, `timers`,
 * `fetch`, `random`, `graceMs`, `queue` (options passed on to openEditQueue: store,
 * locks, channel, newId, now, onLine…) and `doc` (options passed on to openTaskDoc:
 * persist, persistName).
 */
export function createHeroClient(options = {}) {
  let getToken = options.getToken ?? null;
  const timers = timersOf(options);
  const graceMs = options.graceMs ?? GRACE_MS;
  const connectOptions = {
    baseUrl: options.baseUrl,
    getToken: () => {
      if (typeof getToken !== "function") throw new Error("createHeroClient needs {getToken}");
      return getToken();
    },
    WebSocket: options.WebSocket,
    timers: options.timers,
    fetch: options.fetch,
    random: options.random,
  };
  const rest = restClient(connectOptions);
  const shared = { connectOptions, rest, timers, queueOptions: options.queue ?? {}, docOptions: options.doc ?? {} };
  // key → {resource, users, closing}
  const held = new Map();

  // One kind of resource per key prefix; each is {start, stop, getSnapshot, subscribe, …}.
  function create(key, extra) {
    if (key === BOARD) return createBoardResource(shared);
    if (key.startsWith("queue:")) return createQueueResource(extra, shared);
    if (key.startsWith("doc:")) return createDocResource(key.slice("doc:".length), shared);
    return createTaskResource(key.slice("task:".length), shared);
  }

  /** Takes one use of the resource at `key` (opening it if needed); returns its release. */
  function hold(key, extra) {
    let slot = held.get(key);
    if (!slot) {
      slot = { resource: create(key, extra), users: 0, closing: null };
      held.set(key, slot);
      slot.resource.start();
    }
    timers.clearTimeout(slot.closing);
    slot.closing = null;
    slot.users += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      slot.users -= 1;
      if (slot.users > 0) return;
      slot.closing = timers.setTimeout(() => {
        if (slot.users > 0 || held.get(key) !== slot) return;
        held.delete(key);
        slot.resource.stop();
      }, graceMs);
    };
  }

  const IDLE = { queue: IDLE_QUEUE, doc: IDLE_DOC };
  const idleFor = (key) => (key === BOARD ? IDLE_BOARD : IDLE[key.slice(0, key.indexOf(":"))] ?? IDLE_TASK);

  return {
    rest,
    /** Swaps the token function; open rooms use it from their next connect or refresh on. */
    setGetToken(fn) {
      getToken = fn;
    },
    /** The snapshot at `key` now: the resource's, or the idle one when nobody holds it. */
    snapshot(key) {
      return held.get(key)?.resource.getSnapshot() ?? idleFor(key);
    },
    idle: idleFor,
    /** Holds the resource at `key` and hears its changes until the returned function is called. */
    subscribe(key, listener, extra) {
      const release = hold(key, extra);
      const off = held.get(key).resource.subscribe(listener);
      return () => {
        off();
        release();
      };
    },
    /** Holds the resource and runs `attach(resource)` (which returns its own cleanup). */
    use(key, attach, extra) {
      const release = hold(key, extra);
      const detach = attach(held.get(key).resource);
      return () => {
        detach?.();
        release();
      };
    },
    /** The open resource at `key`, or null (for calls like setTyping from a handler). */
    resource(key) {
      return held.get(key)?.resource ?? null;
    },
    /** How many resources are open (being used, or in their grace period). */
    get openCount() {
      return held.size;
    },
    /** Closes everything now (tests; a page that signs out). */
    close() {
      for (const [key, slot] of held) {
        timers.clearTimeout(slot.closing);
        held.delete(key);
        slot.resource.stop();
      }
    },
  };
}

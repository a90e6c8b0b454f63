// A task's shared document: the description as a Y.Text that everyone in the task edits
// live, over the y-websocket protocol on /ws/tasks/{id}/doc (docs/protocol.md).
//
//   const shared = openTaskDoc(taskId, { getToken });
//   shared.text;                             // the Y.Text "description" (shared.doc its Y.Doc)
//   shared.on("status", (s) => …);           // connecting | open | reconnecting | offline | closed
//   shared.on("synced", (yes) => …);         // the server's copy is merged into ours
//   const unbind = bindTextarea(textarea, shared.text);   // ./textarea.js
//   shared.close();
//
// y-protocols over the package's own reconnecting socket (./socket.js), not y-websocket's
// WebsocketProvider, because the provider fixes its URL and subprotocols when it is made
// and reconnects after any close: here getToken() is asked before every reconnect, the
// token rides in the `bearer.<token>` subprotocol and never in the URL, and a close code
// means what it means for the task's room (classifyDocClose), with the same backoff,
// keep-alive and online/offline handling. The wire is the y-websocket protocol unchanged.
//
// On every connect: the server sends sync step 1 and we answer with step 2 (what it lacks);
// we send step 1 and its step 2 makes us `synced`. Local edits go out as updates only after
// our step 2 went out on that socket (an update sent before it could depend on history the
// server lacks, which it refuses with 4400); edits made before that ride in the step 2.
// Updates are merged and sent at most every SEND_INTERVAL_MS, so fast typing stays far
// under the server's frame rate limit. The keep-alive is the room's text ping
// (`{"type":"ping"}`), which the runtime answers with a pong without waking the room; the
// pong proves the socket alive and is otherwise ignored (the protocol is binary).
//
// Offline: the document is kept in IndexedDB (y-indexeddb), one database per user,
// workspace and task, read before the first connect. Typing offline survives a reload and
// merges on reconnect with no prompt (a CRDT merge). A task deleted (4004) drops its copy.

import * as Y from "yjs";
import * as decoding from "lib0/decoding";
import * as encoding from "lib0/encoding";
import * as syncProtocol from "y-protocols/sync";
import * as authProtocol from "y-protocols/auth";
import * as awarenessProtocol from "y-protocols/awareness";
import { IndexeddbPersistence } from "y-indexeddb";

import { createEmitter } from "./emitter.js";
import { timersOf } from "./timers.js";
import { baseOf, resolveToken } from "./rest.js";
import { openReconnectingSocket } from "./socket.js";
import { diagnose, socketToken } from "./room.js";
import { BEARER_PREFIX, CLOSE, DOC_ROOT, DOC_SUBPROTOCOL, DOC_TERMINAL_CLOSE_CODES, PING_FRAME, RETRY_FLOOR_MS } from "./protocol.js";
import { decodeClaims, queueOwner, tokenExpiresAt } from "./state/claims.js";

/** The y-websocket message types. */
export const DOC_MESSAGE = Object.freeze({ SYNC: 0, AWARENESS: 1, AUTH: 2, QUERY_AWARENESS: 3 });
/** Local updates (and awareness) are sent at most this often, merged (ms). */
export const SEND_INTERVAL_MS = 50;
/** A token from getToken() after a 4001 must have this long left to be worth a reconnect (ms). */
const MIN_TOKEN_LIFETIME_MS = 10_000;

/** The IndexedDB database that keeps one user's copy of a task's document. */
export function docStoreName(owner, taskId) {
  return `hero-tasks-doc/${encodeURIComponent(owner.workspaceId)}/${encodeURIComponent(owner.userId)}/${encodeURIComponent(taskId)}`;
}

const frame = (write) => {
  const encoder = encoding.createEncoder();
  write(encoder);
  return encoding.toUint8Array(encoder);
};

/** [0, 0, state vector]: sync step 1. */
const syncStep1 = (doc) =>
  frame((e) => {
    encoding.writeVarUint(e, DOC_MESSAGE.SYNC);
    syncProtocol.writeSyncStep1(e, doc);
  });

/** [0, 2, update]. */
const updateFrame = (update) =>
  frame((e) => {
    encoding.writeVarUint(e, DOC_MESSAGE.SYNC);
    syncProtocol.writeUpdate(e, update);
  });

/** [1, awareness update] for `clients`. */
const awarenessFrame = (awareness, clients) =>
  frame((e) => {
    encoding.writeVarUint(e, DOC_MESSAGE.AWARENESS);
    encoding.writeVarUint8Array(e, awarenessProtocol.encodeAwarenessUpdate(awareness, clients));
  });

/**
 * What a close the client did not ask for means for a document socket: stop
 * (DOC_TERMINAL_CLOSE_CODES; 4001 unless `renew()` finds a newer token), pause
 * (RETRY_FLOOR_MS: 1008, 1013, 4029), retry, or for a socket that never opened, what
 * `ask()` (a REST probe) finds. Returns a verdict for openReconnectingSocket, or its promise.
 */
export function classifyDocClose({ code, opened }, { ask, renew }) {
  if (code === CLOSE.TOKEN_EXPIRED) {
    return renew().then((renewed) => (renewed ? { floorMs: 0 } : { terminal: { reason: "token expired", code } }));
  }
  const terminal = DOC_TERMINAL_CLOSE_CODES[code];
  if (terminal) return { terminal: { reason: terminal, code } };
  const floorMs = RETRY_FLOOR_MS[code];
  if (floorMs !== undefined) return { floorMs };
  if (opened) return { floorMs: 0 };
  return ask().then((verdict) => (verdict ? { terminal: verdict } : { floorMs: 0 }));
}

/** Whether `candidate` is a token worth reconnecting with after `used` expired. */
function isNewerToken(candidate, used, now) {
  if (typeof candidate !== "string" || !candidate || candidate === used) return false;
  const expiresAt = tokenExpiresAt(candidate);
  return expiresAt === null || expiresAt - now >= MIN_TOKEN_LIFETIME_MS;
}

/** The IndexedDB copy: opened with the first token (whose user and workspace name it), read, then kept. */
function openLocalCopy(taskId, options, doc, { isClosed, onLoaded }) {
  const wanted = options.persist ?? typeof globalThis.indexedDB !== "undefined";
  let persistence = null;
  const ready = (async () => {
    if (!wanted) return;
    let name = options.persistName ?? null;
    if (!name) {
      let token;
      try {
        token = await resolveToken(options);
      } catch {
        return;
      }
      const owner = queueOwner(decodeClaims(token));
      if (!owner) return; // no user and workspace to file it under: not kept
      name = docStoreName(owner, taskId);
    }
    if (isClosed()) return;
    persistence = new IndexeddbPersistence(name, doc);
    const opened = await Promise.race([persistence.whenSynced.then(() => true), persistence._db.then(() => new Promise(() => {}), () => false)]);
    if (!opened) {
      persistence = null;
      return;
    }
    // Whether this copy was ever merged with the server's (a marker beside the updates).
    onLoaded(Boolean(await persistence.get("synced").catch(() => false)));
  })().catch((error) => {
    console.warn("hero-client: the shared text is not kept on this device", error);
    persistence = null;
  });
  return {
    ready,
    get kept() {
      return persistence !== null;
    },
    /** Notes that the copy holds the server's text (so a reload offline can edit it). */
    markSynced: () => persistence?.set("synced", true).catch(() => {}),
    close: () => persistence?.destroy(),
    clear: () => persistence?.clearData(),
  };
}

/**
 * Opens the shared document of a task. Options: `getToken` (or `token`), `baseUrl`; `doc`
 * (a Y.Doc of your own); `persist` (keep a copy in IndexedDB: default where there is one)
 * and `persistName` (its database; default per user, workspace and task, from the token);
 * and for tests `WebSocket`, `timers`, `fetch`, `random`.
 *
 * Returns {doc, text, awareness, status, synced, ready, loaded, closed, whenLoaded, on, close}.
 * Events: `status`, `synced` (true | false), `ready` (the text holds the server's, now or
 * in a kept copy: show and edit it), `loaded` (the local copy is read), `closed`
 * ({reason, code}, once, when it stops for good), `denied` ({reason}: the server refused
 * an update, e.g. a viewer's; the socket stays open).
 */
export function openTaskDoc(taskId, options = {}) {
  const id = encodeURIComponent(taskId);
  const base = baseOf(options);
  const timers = timersOf(options);
  const emitter = createEmitter();
  const doc = options.doc ?? new Y.Doc();
  const text = doc.getText(DOC_ROOT);
  const awareness = new awarenessProtocol.Awareness(doc);
  awareness.setLocalState(null); // nobody's cursor until the caller sets one
  const remote = { from: "server" }; // the origin of what the server sent
  let synced = false;
  let loaded = false;
  let ready = false;
  let closed = null;
  let usedToken = null;
  // Per socket: whether our step 2 went out (before it, updates wait), and what waits to go.
  let handshaken = false;
  let outbox = [];
  let awarenessChanged = new Set();
  let flushTimer = null;
  let lastFlush = -Infinity;

  const local = openLocalCopy(taskId, options, doc, {
    isClosed: () => closed !== null,
    onLoaded: (hadServerCopy) => {
      loaded = true;
      emitter.emit("loaded", true);
      if (hadServerCopy) setReady();
    },
  });

  // Ready: the text holds the server's (synced now, or a kept copy that was): safe to show
  // as the description and to edit, offline too. Before it, an empty text only means "not
  // loaded yet". Once ready, always ready.
  function setReady() {
    if (ready) return;
    ready = true;
    emitter.emit("ready", true);
  }

  const setSynced = (next) => {
    if (synced === next) return;
    synced = next;
    if (next) {
      local.markSynced();
      setReady();
    }
    emitter.emit("synced", next);
  };

  async function connect() {
    await local.ready;
    const resolved = await socketToken(options);
    if (resolved.terminal) return resolved;
    const { token } = resolved;
    usedToken = token;
    return { url: `${base.replace(/^http/, "ws")}/ws/tasks/${id}/doc`, protocols: [DOC_SUBPROTOCOL, BEARER_PREFIX + token] };
  }

  async function renew() {
    if (typeof options.getToken !== "function") return false;
    try {
      return isNewerToken(await options.getToken(), usedToken, timers.now());
    } catch {
      return false;
    }
  }

  const transport = openReconnectingSocket({
    connect,
    classifyClose: (close) => classifyDocClose(close, { ask: () => diagnose({ ...options, probePath: `/api/tasks/${id}` }, base), renew }),
    pingFrame: PING_FRAME,
    binaryType: "arraybuffer",
    WebSocket: options.WebSocket,
    timers,
    random: options.random,
  });

  // ---- Sending -----------------------------------------------------------------------

  function flush() {
    timers.clearTimeout(flushTimer);
    flushTimer = null;
    lastFlush = timers.now();
    if (outbox.length) {
      transport.send(updateFrame(outbox.length === 1 ? outbox[0] : Y.mergeUpdates(outbox)));
      outbox = [];
    }
    if (awarenessChanged.size) {
      transport.send(awarenessFrame(awareness, [...awarenessChanged]));
      awarenessChanged = new Set();
    }
  }

  function schedule() {
    if (flushTimer !== null) return;
    flushTimer = timers.setTimeout(flush, Math.max(0, lastFlush + SEND_INTERVAL_MS - timers.now()));
  }

  const onUpdate = (update, origin) => {
    if (origin === remote || !handshaken) return; // before our step 2, it rides in the step 2
    outbox.push(update);
    schedule();
  };
  doc.on("update", onUpdate);

  const onAwareness = ({ added, updated, removed }, origin) => {
    if (origin === remote) return;
    for (const client of [...added, ...updated, ...removed]) awarenessChanged.add(client);
    if (handshaken) schedule();
  };
  awareness.on("update", onAwareness);

  // ---- Receiving ---------------------------------------------------------------------

  function onSync(decoder) {
    const reply = encoding.createEncoder();
    encoding.writeVarUint(reply, DOC_MESSAGE.SYNC);
    const kind = syncProtocol.readSyncMessage(decoder, reply, doc, remote);
    if (kind === syncProtocol.messageYjsSyncStep1) {
      // Our step 2 holds everything the server lacks, what waited in the outbox included.
      outbox = [];
      transport.send(encoding.toUint8Array(reply));
      if (!handshaken) {
        handshaken = true;
        if (awareness.getLocalState() !== null) awarenessChanged.add(doc.clientID);
        if (awarenessChanged.size) schedule();
      }
    } else if (kind === syncProtocol.messageYjsSyncStep2) {
      setSynced(true);
    }
  }

  function onMessage(data) {
    if (typeof data === "string") return; // not ours: the protocol is binary
    try {
      const decoder = decoding.createDecoder(new Uint8Array(data));
      switch (decoding.readVarUint(decoder)) {
        case DOC_MESSAGE.SYNC:
          return onSync(decoder);
        case DOC_MESSAGE.AWARENESS:
          return awarenessProtocol.applyAwarenessUpdate(awareness, decoding.readVarUint8Array(decoder), remote);
        case DOC_MESSAGE.AUTH:
          return authProtocol.readAuthMessage(decoder, doc, (_doc, reason) => emitter.emit("denied", { reason }));
        case DOC_MESSAGE.QUERY_AWARENESS:
          return transport.send(awarenessFrame(awareness, [...awareness.getStates().keys()]));
        default:
          return undefined; // a newer message type: ignored
      }
    } catch (error) {
      console.warn("hero-client: a document frame from the server did not decode", error);
      return undefined;
    }
  }

  transport.on("message", onMessage);
  transport.on("status", (status) => {
    if (status === "open") {
      transport.send(syncStep1(doc));
    }
    emitter.emit("status", status);
  });
  transport.on("down", () => {
    handshaken = false;
    outbox = [];
    timers.clearTimeout(flushTimer);
    flushTimer = null;
    setSynced(false);
    // Everyone else's cursor goes with the connection; theirs come back with the next one.
    const others = [...awareness.getStates().keys()].filter((client) => client !== doc.clientID);
    if (others.length) awarenessProtocol.removeAwarenessStates(awareness, others, remote);
  });
  // Stopped for good (a terminal close, or close()): nothing of ours keeps running.
  let shut = false;
  function shutdown(deleted) {
    if (shut) return;
    shut = true;
    doc.off("update", onUpdate);
    awareness.off("update", onAwareness);
    awareness.destroy();
    if (deleted) local.clear();
    else local.close();
  }
  transport.on("closed", (detail) => {
    if (closed) return;
    closed = detail;
    shutdown(detail.code === CLOSE.TASK_DELETED);
    emitter.emit("closed", detail);
  });

  return {
    doc,
    text,
    /** y-protocols Awareness: set a local state (e.g. `{user, cursor}`) to share it. */
    awareness,
    on: emitter.on,
    get status() {
      return transport.status;
    },
    /** The server's copy is merged into this one (since the last connect). */
    get synced() {
      return synced;
    },
    /** The text holds the server's: synced now, or a kept copy that was synced once. */
    get ready() {
      return ready;
    },
    /** The copy kept on this device has been read (false where none is kept). */
    get loaded() {
      return loaded;
    },
    /** Why it stopped for good ({reason, code}), or null. */
    get closed() {
      return closed;
    },
    /** Resolves once the local copy has been read (or there is none). */
    whenLoaded: local.ready,
    /** Closes the socket for good; the document and its local copy stay. */
    close() {
      if (handshaken && awareness.getLocalState() !== null) {
        transport.send(frame((e) => {
          encoding.writeVarUint(e, DOC_MESSAGE.AWARENESS);
          encoding.writeVarUint8Array(e, awarenessProtocol.encodeAwarenessUpdate(awareness, [doc.clientID], new Map()));
        }));
      }
      if (flushTimer !== null) flush();
      transport.close();
      shutdown(false);
    },
  };
}

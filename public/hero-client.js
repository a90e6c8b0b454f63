// Hero Tasks browser client: live rooms with reconnect and resume, and a small REST helper.
// An ES module with no build step and no third-party dependencies; types are in
// hero-client.d.ts. Its imports (the reducers of presence, task presence, merge and queue,
// and the token decoder) are served next to it (./state/), and are relative so they resolve
// from the browser and from node.
//
//   import { connectTask, connectBoard, restClient } from "/hero-client.js";
//   const room = connectTask(taskId, { getToken: () => myToken });
//   room.on("event", (e) => …);           // task_created | task_updated | task_status_changed | task_deleted
//   room.on("presence", (list) => …);     // [{user, connections, editing}]
//   room.on("status", (s) => …);          // connecting | open | reconnecting | offline | closed
//   room.on("token", (t) => …);           // refreshing | refreshed | failed (refresh in place)
//   board.on("task_presence", (map) => …); // board: task id → users in that task's room
//
//   const queue = openEditQueue({ owner: { userId, workspaceId }, getToken });
//   await queue.update(queue.overlay(task), { title: "New" });   // queued, replayed, merged on 412
//   queue.on("change", ({ entries, reachable }) => …);           // what waits to sync
//
// The token never goes in the URL (proxies log URLs): the socket offers two subprotocols,
// `hero-tasks.v1` and `bearer.<token>`, and the server selects `hero-tasks.v1`.
//
// Reconnect: exponential backoff with full jitter. The n-th retry waits a random time in
// [0, min(CAP, START * FACTOR^n)], with START = 500 ms, FACTOR = 2, CAP = 30 s, plus a
// floor for the close codes that ask for a pause (RETRY_FLOOR_MS: 4029, 1008, 1013). A
// connection that stayed open for 10 s resets the count. Each reconnect asks getToken()
// again and resumes with ?since=<last seq seen>, so nothing is missed or doubled; on
// `resync` the client reloads over REST and emits one "reloaded" event.
//
// Refresh in place (protocol 2): with getToken(), a timer asks for a new token shortly
// before the current one's `exp` (see REFRESH) and sends it as `{"type":"auth"}` on the open
// socket, so a long session is never closed with 4001. If no newer token can be had, it
// backs off and, once the token has expired, the server's 4001 ends the room as before.
//
// The edit queue (openEditQueue, at the end): creates, edits and deletes go through a queue
// kept in IndexedDB, replayed in order with If-Match and Idempotency-Key, merged field by
// field on a 412, and shared by every tab of the same user and workspace.

import { applyPresence } from "./state/presence.js";
import { tokenExpiresAt } from "./state/claims.js";
import { applyTaskPresence, emptyTaskPresence } from "./state/task-presence.js";
import { changedFields, mergePatch, whoChanged } from "./state/merge.js";
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
  sortEntries,
  takeNext,
} from "./state/queue.js";

export { applyPresence, applyTaskPresence };

export const BACKOFF = Object.freeze({ startMs: 500, factor: 2, capMs: 30_000 });
/** A keep-alive ping is sent this often; no pong within PONG_TIMEOUT_MS means the socket is dead. */
export const KEEPALIVE_MS = 20_000;
export const PONG_TIMEOUT_MS = 10_000;
const STABLE_MS = 10_000;
/** The subprotocol the server selects; the token rides beside it as `bearer.<token>`. */
export const SUBPROTOCOL = "hero-tasks.v1";
const BEARER_PREFIX = "bearer.";
// What a subprotocol may contain (an RFC 7230 token): a JWT's base64url parts and dots fit.
const SUBPROTOCOL_SAFE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/**
 * Close codes after which reconnecting cannot help. The server closes with 1008, 1009,
 * 1013, 4001, 4003, 4004 and 4029 (the Rust protocol module's `close` codes); 1008, 1009,
 * 1013 and 4029 are worth a retry with backoff. A forbidden user is refused before the
 * upgrade (HTTP 403, found by diagnose()).
 */
export const TERMINAL_CLOSE_CODES = Object.freeze({
  4001: "token expired",
  4003: "token for another user or workspace",
  4004: "task deleted",
});
/**
 * Retryable close codes that ask for a pause: the reconnect waits at least this long (plus
 * the usual jittered backoff). 4029: too many connections or connects for this user in
 * this room; 1008: rate-limit abuse; 1013: the room is full.
 */
export const RETRY_FLOOR_MS = Object.freeze({
  1008: 10_000,
  1013: 5_000,
  4029: 10_000,
});
/**
 * Refresh in place. A refresh is due `leadMs` before the token's `exp`, or, for a token
 * with less than leadMs / (1 - lifetimeShare) left (5 min), after `lifetimeShare` (80%) of
 * what is left; never sooner than `minDelayMs`. A failed attempt (getToken() threw or gave
 * no newer token, `bad_token`, no answer within `answerTimeoutMs`) is retried after
 * retryStartMs, doubling up to retryCapMs, while the current token is still valid. A new
 * token is only sent if it expires later than the current one and has at least
 * `minLifetimeMs` left.
 */
export const REFRESH = Object.freeze({
  leadMs: 60_000,
  lifetimeShare: 0.8,
  minDelayMs: 1_000,
  retryStartMs: 5_000,
  retryCapMs: 60_000,
  answerTimeoutMs: 10_000,
  minLifetimeMs: 10_000,
});
/** The first protocol version whose rooms take `auth` (refresh in place). */
const AUTH_PROTOCOL = 2;
const DURABLE_TYPES = new Set(["task_created", "task_updated", "task_status_changed", "task_deleted"]);
// Durable too (counted for `since`), but carries no fields: an event about a task that has
// since been deleted, replayed on the board. Not an "event"; announced as "task_redacted".
const REDACTED = "task_redacted";

/**
 * The messages one frame carries. A busy room coalesces durable events into
 * `{"type":"batch","events":[…]}`; each element is handled exactly as if it came alone.
 */
export function unpackFrame(message) {
  if (message?.type === "batch") return Array.isArray(message.events) ? message.events : [];
  return [message];
}

/** A 412 from the API: `current` is the task as the server has it now. */
export class ConflictError extends Error {
  constructor(problem) {
    super(problem.detail || "the task changed since you loaded it");
    this.name = "ConflictError";
    this.current = problem.current ?? null;
    this.problem = problem;
  }
}

/** Any other non-2xx answer, with the problem+json body. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || `HTTP ${status}`);
    this.name = "ApiError";
    this.status = status;
    this.problem = problem;
  }
}

async function resolveToken(options) {
  if (typeof options.getToken === "function") return await options.getToken();
  if (options.token) return options.token;
  throw new Error("pass {token} or {getToken}");
}

function baseOf(options) {
  return (options.baseUrl ?? globalThis.location?.origin ?? "").replace(/\/$/, "");
}

/** REST helper for the CRUD calls. Every method returns parsed JSON or throws. */
export function restClient(options = {}) {
  const base = baseOf(options);
  async function call(method, path, { body, ifMatch, contentType, idempotencyKey } = {}) {
    const headers = { Authorization: `Bearer ${await resolveToken(options)}` };
    if (body !== undefined) headers["Content-Type"] = contentType ?? "application/json";
    if (ifMatch !== undefined && ifMatch !== null) headers["If-Match"] = `"${ifMatch}"`;
    if (idempotencyKey) headers["Idempotency-Key"] = idempotencyKey;
    const response = await fetch(base + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (response.status === 204) return null;
    const payload = await response.json().catch(() => null);
    if (response.status === 412) throw new ConflictError(payload ?? {});
    if (!response.ok) throw new ApiError(response.status, payload);
    return payload;
  }
  const query = (params) => {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(params ?? {})) {
      if (value !== undefined && value !== null && value !== "") search.set(key, String(value));
    }
    const text = search.toString();
    return text ? `?${text}` : "";
  };
  return {
    list: (params) => call("GET", `/api/tasks${query(params)}`),
    get: (id) => call("GET", `/api/tasks/${encodeURIComponent(id)}`),
    /** Pass {idempotencyKey} to make a retry safe: the server answers a repeat with the first response. */
    create: (task, { idempotencyKey } = {}) => call("POST", "/api/tasks", { body: task, idempotencyKey }),
    /** JSON merge patch; pass {ifMatch: version} to refuse if someone else wrote first. */
    update: (id, patch, { ifMatch, idempotencyKey } = {}) =>
      call("PATCH", `/api/tasks/${encodeURIComponent(id)}`, {
        body: patch,
        ifMatch,
        idempotencyKey,
        contentType: "application/merge-patch+json",
      }),
    remove: (id, { ifMatch, idempotencyKey } = {}) => call("DELETE", `/api/tasks/${encodeURIComponent(id)}`, { ifMatch, idempotencyKey }),
    activity: (id, params) => call("GET", `/api/tasks/${encodeURIComponent(id)}/activity${query(params)}`),
    analytics: () => call("GET", "/api/analytics"),
  };
}

/** The delay before the n-th reconnect attempt (n from 0), with full jitter, never under `floorMs`. */
export function backoffDelay(attempt, random = Math.random, floorMs = 0) {
  const ceiling = Math.min(BACKOFF.capMs, BACKOFF.startMs * BACKOFF.factor ** attempt);
  return floorMs + Math.round(random() * ceiling);
}

/** When a refresh of a token expiring at `expiresAt` is due, as a delay from `now` (ms). */
export function refreshDelay(expiresAt, now) {
  const remaining = expiresAt - now;
  const lead = Math.min(REFRESH.leadMs, remaining * (1 - REFRESH.lifetimeShare));
  return Math.max(REFRESH.minDelayMs, Math.round(remaining - lead));
}

const defaultTimers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (id) => globalThis.clearTimeout(id),
  setInterval: (fn, ms) => globalThis.setInterval(fn, ms),
  clearInterval: (id) => globalThis.clearInterval(id),
};

function createEmitter() {
  const handlers = new Map();
  return {
    on(type, handler) {
      if (!handlers.has(type)) handlers.set(type, new Set());
      handlers.get(type).add(handler);
      return () => handlers.get(type)?.delete(handler);
    },
    emit(type, value) {
      for (const handler of handlers.get(type) ?? []) {
        try {
          handler(value);
        } catch (error) {
          console.error(`hero-client: a ${type} handler threw`, error);
        }
      }
    },
  };
}

function connectRoom(path, options, reload, { board = false } = {}) {
  const base = baseOf(options);
  const wsBase = base.replace(/^http/, "ws");
  const timers = { ...defaultTimers, ...options.timers };
  const random = options.random ?? Math.random;
  const emitter = createEmitter();
  let socket = null;
  let status = "connecting";
  let lastSeq = options.since ?? null;
  let attempt = 0;
  let retryTimer = null;
  let keepaliveTimer = null;
  let pongTimer = null;
  let stableTimer = null;
  let closedByUser = false;
  let presence = [];
  // Board only: who is in which task's room (./state/task-presence.js).
  let taskPresence = emptyTaskPresence;
  // Refresh in place: the token the server holds for this socket, the next refresh, and the
  // `auth` frame waiting for its answer ({id, token, timer}).
  let heldToken = null;
  let refreshTimer = null;
  let refreshFailures = 0;
  let pendingAuth = null;
  let authIds = 0;
  const canRefresh = typeof options.getToken === "function";

  const setStatus = (next, detail) => {
    if (status === next && !detail) return;
    status = next;
    emitter.emit("status", next);
    if (detail) emitter.emit("closed", detail);
  };

  const clearRefresh = () => {
    timers.clearTimeout(refreshTimer);
    refreshTimer = null;
    if (pendingAuth) timers.clearTimeout(pendingAuth.timer);
    pendingAuth = null;
  };

  const clearTimers = () => {
    timers.clearTimeout(retryTimer);
    timers.clearInterval(keepaliveTimer);
    timers.clearTimeout(pongTimer);
    timers.clearTimeout(stableTimer);
    clearRefresh();
  };

  const terminate = (reason, code) => {
    closedByUser = true;
    clearTimers();
    setStatus("closed", { reason, code });
  };

  const online = () => globalThis.navigator?.onLine !== false;

  const scheduleReconnect = (floorMs = 0) => {
    if (closedByUser) return;
    clearTimers();
    if (!online()) {
      setStatus("offline");
      return; // the "online" listener resumes
    }
    setStatus("reconnecting");
    retryTimer = timers.setTimeout(open, backoffDelay(attempt, random, floorMs));
    attempt += 1;
  };

  // A socket that fails before it opens hides the HTTP status; ask the REST API why.
  const diagnose = async () => {
    try {
      const token = await resolveToken(options);
      const probe = options.probePath ?? "/api/analytics";
      const response = await fetch(base + probe, { headers: { Authorization: `Bearer ${token}` } });
      if (response.status === 401) return { reason: "unauthorized", code: 401 };
      if (response.status === 403) return { reason: "forbidden", code: 403 };
      if (response.status === 404) return { reason: "not found", code: 404 };
    } catch {
      // network down: not terminal
    }
    return null;
  };

  const sendIfOpen = (message) => {
    // Never queued: typing that cannot be sent now is stale by the time it could be.
    if (socket && socket.readyState === 1 /* OPEN */) {
      socket.send(JSON.stringify(message));
      return true;
    }
    return false;
  };

  // ---- Refresh in place ------------------------------------------------------------

  const emitToken = (state, extra = {}) => emitter.emit("token", { state, expiresAt: tokenExpiresAt(heldToken), ...extra });

  const planRefresh = () => {
    timers.clearTimeout(refreshTimer);
    refreshTimer = null;
    const expiresAt = tokenExpiresAt(heldToken);
    if (!canRefresh || expiresAt === null) return; // a fixed token, or one that never expires
    refreshTimer = timers.setTimeout(refresh, refreshDelay(expiresAt, timers.now()));
  };

  // Backs off; gives up once the held token would have expired (the server closes with 4001).
  const refreshFailed = (reason) => {
    if (pendingAuth) timers.clearTimeout(pendingAuth.timer);
    pendingAuth = null;
    refreshFailures += 1;
    const wait = Math.min(REFRESH.retryCapMs, REFRESH.retryStartMs * 2 ** (refreshFailures - 1));
    const expiresAt = tokenExpiresAt(heldToken);
    const retry = expiresAt !== null && timers.now() + wait < expiresAt;
    timers.clearTimeout(refreshTimer);
    refreshTimer = retry ? timers.setTimeout(refresh, wait) : null;
    emitToken("failed", { reason, retryInMs: retry ? wait : null });
  };

  async function refresh() {
    refreshTimer = null;
    const ws = socket;
    if (!ws || closedByUser || pendingAuth) return;
    let candidate;
    try {
      candidate = await options.getToken();
    } catch (error) {
      if (socket === ws && !closedByUser) refreshFailed(`getToken() failed: ${error?.message ?? error}`);
      return;
    }
    if (socket !== ws || closedByUser) return; // that connection is gone; the next one starts afresh
    const expiresAt = tokenExpiresAt(candidate);
    if (typeof candidate !== "string" || !candidate || candidate === heldToken) {
      refreshFailed("getToken() gave no new token");
      return;
    }
    if (expiresAt === null || expiresAt <= (tokenExpiresAt(heldToken) ?? -Infinity) || expiresAt - timers.now() < REFRESH.minLifetimeMs) {
      refreshFailed("getToken() gave a token that expires no later");
      return;
    }
    const id = ++authIds;
    const timer = timers.setTimeout(() => {
      if (pendingAuth?.id === id) refreshFailed("no answer to auth");
    }, REFRESH.answerTimeoutMs);
    pendingAuth = { id, token: candidate, timer };
    if (!sendIfOpen({ type: "auth", token: candidate, id })) {
      refreshFailed("the socket is not open");
      return;
    }
    emitToken("refreshing");
  }

  // An `ack` or `error` answering our pending `auth`; true if it was one.
  const answerAuth = (message) => {
    if (!pendingAuth || message.id !== pendingAuth.id) return false;
    if (message.type === "ack") {
      timers.clearTimeout(pendingAuth.timer);
      heldToken = pendingAuth.token;
      pendingAuth = null;
      refreshFailures = 0;
      emitToken("refreshed");
      planRefresh();
    } else if (message.code === "token_mismatch") {
      // The server closes with 4003 next, which ends the room.
      clearRefresh();
      emitToken("failed", { reason: message.message ?? "token_mismatch", retryInMs: null });
    } else {
      // bad_token (or a server that does not know `auth`): the socket keeps its old token.
      refreshFailed(message.message ?? message.code ?? "refused");
    }
    return true;
  };

  // ---- Messages ----------------------------------------------------------------------

  // The whole map is announced on every change, as "presence" announces the whole list.
  const setTaskPresence = (message) => {
    const next = applyTaskPresence(taskPresence, message);
    if (next === taskPresence && message.type !== "welcome") return;
    taskPresence = next;
    emitter.emit("task_presence", taskPresence);
  };

  const handleMessage = (message) => {
    if (DURABLE_TYPES.has(message.type) || message.type === REDACTED) {
      if (lastSeq !== null && message.seq <= lastSeq) return; // already seen
      lastSeq = message.seq;
      if (message.type !== REDACTED) emitter.emit("event", message);
      emitter.emit(message.type, message);
      if (board && (message.type === "task_deleted" || message.type === REDACTED)) setTaskPresence(message);
      return;
    }
    switch (message.type) {
      case "welcome":
        presence = applyPresence(presence, message);
        // Resumed: the replayed events follow and move lastSeq on. Otherwise (first connect,
        // or a resync that follows) the room's current position is where we stand.
        if (!message.resumed) lastSeq = message.seq;
        // Protocol 1 rooms do not know `auth`: their connections end at the token's exp.
        if ((message.protocol ?? 1) >= AUTH_PROTOCOL) planRefresh();
        emitter.emit("welcome", message);
        emitter.emit("presence", presence);
        if (board) setTaskPresence(message);
        return;
      case "task_presence":
        if (board) setTaskPresence(message);
        return;
      case "presence":
        presence = applyPresence(presence, message);
        emitter.emit("presence", presence);
        return;
      // The deltas: see ./state/presence.js for what each one can and cannot tell.
      case "user_joined":
      case "user_left":
      case "presence_diff":
      case "editing":
        presence = applyPresence(presence, message);
        emitter.emit("presence", presence);
        emitter.emit(message.type, message);
        return;
      case "typing":
        emitter.emit("typing", message);
        return;
      case "analytics":
        emitter.emit("analytics", message.analytics);
        return;
      case "resync":
        Promise.resolve(reload())
          .then((data) => {
            lastSeq = Math.max(lastSeq ?? 0, message.seq);
            emitter.emit("reloaded", data);
          })
          .catch((error) => emitter.emit("error", { code: "reload_failed", message: String(error) }));
        return;
      case "pong":
        timers.clearTimeout(pongTimer);
        return;
      case "ack":
        if (!answerAuth(message)) emitter.emit("ack", message);
        return;
      case "error":
        answerAuth(message);
        emitter.emit("error", message);
        return;
      default:
        emitter.emit(message.type, message);
    }
  };

  async function open() {
    if (closedByUser) return;
    setStatus(attempt === 0 ? "connecting" : "reconnecting");
    let token;
    try {
      token = await resolveToken(options);
    } catch (error) {
      terminate(`no token: ${error.message}`, 401);
      return;
    }
    if (closedByUser) return;
    if (typeof token !== "string" || !SUBPROTOCOL_SAFE.test(token)) {
      // Not a JWT: it cannot ride in a subprotocol, and it never goes in the URL.
      terminate("the token is not a JWT", 401);
      return;
    }
    const params = new URLSearchParams();
    if (lastSeq !== null) params.set("since", String(lastSeq));
    const query = params.toString();
    const Socket = options.WebSocket ?? globalThis.WebSocket;
    const ws = new Socket(`${wsBase}${path}${query ? `?${query}` : ""}`, [SUBPROTOCOL, BEARER_PREFIX + token]);
    socket = ws;
    heldToken = token;
    refreshFailures = 0;
    let opened = false;
    ws.onopen = () => {
      opened = true;
      setStatus("open");
      stableTimer = timers.setTimeout(() => (attempt = 0), STABLE_MS);
      keepaliveTimer = timers.setInterval(() => {
        if (ws.readyState !== 1 /* OPEN */) return;
        ws.send('{"type":"ping"}');
        timers.clearTimeout(pongTimer);
        pongTimer = timers.setTimeout(() => ws.close(4000, "keep-alive timed out"), PONG_TIMEOUT_MS);
      }, KEEPALIVE_MS);
    };
    ws.onmessage = (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      for (const inner of unpackFrame(message)) handleMessage(inner);
    };
    ws.onclose = async (event) => {
      if (socket !== ws) return;
      socket = null;
      clearTimers();
      if (closedByUser) return;
      const terminal = TERMINAL_CLOSE_CODES[event.code];
      if (terminal) {
        terminate(terminal, event.code);
        return;
      }
      const floorMs = RETRY_FLOOR_MS[event.code];
      if (!opened && floorMs === undefined) {
        const verdict = await diagnose();
        if (verdict) {
          terminate(verdict.reason, verdict.code);
          return;
        }
      }
      scheduleReconnect(floorMs ?? 0);
    };
  }

  const onOnline = () => {
    if (status === "offline" && !closedByUser) {
      attempt = 0;
      open();
    }
  };
  const onOffline = () => {
    if (socket) socket.close(4000, "offline");
    else if (!closedByUser) setStatus("offline");
  };
  globalThis.addEventListener?.("online", onOnline);
  globalThis.addEventListener?.("offline", onOffline);

  queueMicrotask(open);

  return {
    on: emitter.on,
    get status() {
      return status;
    },
    get lastSeq() {
      return lastSeq;
    },
    get presence() {
      return presence;
    },
    /** Board only: task id → the users in that task's room (tasks with nobody are absent). */
    get taskPresence() {
      return taskPresence;
    },
    // The board has no task to type in (the server answers `wrong_room`): never sent there.
    sendTyping: (field, active) => !board && sendIfOpen({ type: "typing", field, active: Boolean(active) }),
    setEditing: (field) => !board && sendIfOpen({ type: "editing", field: field ?? null }),
    close() {
      closedByUser = true;
      clearTimers();
      globalThis.removeEventListener?.("online", onOnline);
      globalThis.removeEventListener?.("offline", onOffline);
      if (socket) socket.close(1000, "bye");
      setStatus("closed", { reason: "closed by the client", code: 1000 });
    },
  };
}

/** Joins a task's room. On `resync`, "reloaded" carries the task fetched over REST. */
export function connectTask(taskId, options = {}) {
  const rest = restClient(options);
  const id = encodeURIComponent(taskId);
  return connectRoom(`/ws/tasks/${id}`, { ...options, probePath: `/api/tasks/${id}` }, () => rest.get(taskId));
}

/** Joins the workspace board. On `resync`, "reloaded" carries {tasks, analytics} from REST. */
export function connectBoard(options = {}) {
  const rest = restClient(options);
  return connectRoom(
    "/ws/board",
    options,
    async () => {
      const [list, analytics] = await Promise.all([rest.list({ limit: 200 }), rest.analytics()]);
      return { tasks: list.tasks, next_cursor: list.next_cursor, analytics };
    },
    { board: true },
  );
}

// ---- The edit queue -------------------------------------------------------------------
//
// Every create, edit and delete goes through a queue of entries (./state/queue.js) that is
// stored in IndexedDB before anything is sent, so it survives a reload, a closed tab and a
// dead network. While the server cannot be reached, the UI shows the tasks with the pending
// entries applied (overlay/overlayList). Replays go in order, one request at a time, each
// with `If-Match: "<base version>"` and `Idempotency-Key: <entry key>`:
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

/** Whether a transition's result differs from what it was given. */
function changedBy(before, after) {
  const prior = new Set(before);
  return after.length !== before.length || after.some((entry) => !prior.has(entry));
}

/** A queue store in memory: for tests, and for browsers without IndexedDB (nothing survives a reload). */
export function memoryStore(initial = []) {
  let rows = structuredClone(initial);
  const snapshots = new Map();
  return {
    async getSnapshot(key) {
      return snapshots.has(key) ? structuredClone(snapshots.get(key)) : null;
    },
    async putSnapshot(key, value) {
      snapshots.set(key, structuredClone(value));
    },
    async clearSnapshots() {
      snapshots.clear();
    },
    async read() {
      return sortEntries(structuredClone(rows));
    },
    async transact(transition) {
      const before = sortEntries(structuredClone(rows));
      const result = transition(before);
      rows = structuredClone(result.entries);
      return { ...result, changed: changedBy(before, result.entries) };
    },
    close() {},
  };
}

/**
 * The queue's IndexedDB store: one database per user and workspace, one object store of
 * entries keyed by entry id. `transact(transition)` reads every entry, applies the pure
 * transition and writes back only what it changed, all in one readwrite transaction, so a
 * transition is atomic across tabs. Writes ask for strict durability: an acknowledged
 * enqueue is on disk, not only in the OS cache. A second object store keeps snapshots: the
 * last copy of the tasks the UI loaded, so a page reloaded offline has something to show.
 */
export function indexedDbStore(name, idb = globalThis.indexedDB) {
  const STORE = "entries";
  const SNAPSHOTS = "snapshots";
  let opening = null;
  const open = () =>
    (opening ??= new Promise((resolve, reject) => {
      const request = idb.open(name, 2);
      request.onupgradeneeded = () => {
        const db = request.result;
        if (!db.objectStoreNames.contains(STORE)) db.createObjectStore(STORE, { keyPath: "id" });
        if (!db.objectStoreNames.contains(SNAPSHOTS)) db.createObjectStore(SNAPSHOTS);
      };
      request.onsuccess = () => {
        const db = request.result;
        // A newer page wants to upgrade the schema: let it, and reopen on next use.
        db.onversionchange = () => {
          db.close();
          opening = null;
        };
        resolve(db);
      };
      request.onerror = () => {
        opening = null;
        reject(request.error);
      };
    }));
  const run = async (mode, work, storeName = STORE) => {
    const db = await open();
    return new Promise((resolve, reject) => {
      // Snapshots are a cache: relaxed durability is enough for them.
      const durability = mode === "readwrite" && storeName === STORE ? "strict" : "relaxed";
      const tx = db.transaction(storeName, mode, { durability });
      let result;
      work(tx.objectStore(storeName), (value) => (result = value), (error) => {
        reject(error);
        tx.abort();
      });
      tx.oncomplete = () => resolve(result);
      tx.onabort = () => reject(tx.error ?? new Error("the queue's transaction was aborted"));
    });
  };
  return {
    read: () =>
      run("readonly", (store, done) => {
        const all = store.getAll();
        all.onsuccess = () => done(sortEntries(all.result));
      }),
    transact: (transition) =>
      run("readwrite", (store, done, fail) => {
        const all = store.getAll();
        all.onsuccess = () => {
          const before = sortEntries(all.result);
          let result;
          try {
            result = transition(before);
          } catch (error) {
            fail(error);
            return;
          }
          const kept = new Set(result.entries.map((e) => e.id));
          const prior = new Set(before);
          for (const entry of before) if (!kept.has(entry.id)) store.delete(entry.id);
          for (const entry of result.entries) if (!prior.has(entry)) store.put(entry);
          done({ ...result, changed: changedBy(before, result.entries) });
        };
      }),
    getSnapshot: (key) =>
      run(
        "readonly",
        (store, done) => {
          const got = store.get(key);
          got.onsuccess = () => done(got.result ?? null);
        },
        SNAPSHOTS,
      ),
    putSnapshot: (key, value) => run("readwrite", (store) => store.put(value, key), SNAPSHOTS),
    clearSnapshots: () => run("readwrite", (store) => store.clear(), SNAPSHOTS),
    close() {
      opening?.then((db) => db.close()).catch(() => {});
      opening = null;
    },
  };
}

// Web Locks where the browser has them (secure contexts); otherwise one tab's own mutex.
function lockRunner(locks, name) {
  if (typeof locks?.request === "function") return (work) => locks.request(name, { mode: "exclusive" }, work);
  let tail = Promise.resolve();
  return (work) => {
    const run = tail.then(work, work);
    tail = run.catch(() => {});
    return run;
  };
}

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
 * Opens the edit queue of one user in one workspace (see the top of this section).
 * `options`: {owner: {userId, workspaceId}, user: {id, name}, getToken | token, baseUrl,
 * and for tests: store, locks, channel, fetch, timers, random, newId, now, onLine, limit}.
 */
export function openEditQueue(options) {
  const { owner } = options;
  if (!owner?.userId || !owner?.workspaceId) throw new Error("openEditQueue needs {owner: {userId, workspaceId}}");
  const name = queueName(owner);
  const base = baseOf(options);
  const timers = { ...defaultTimers, ...options.timers };
  const random = options.random ?? Math.random;
  const fetchImpl = options.fetch ?? ((...args) => globalThis.fetch(...args));
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

  // ---- Sending ---------------------------------------------------------------------

  async function send(entry) {
    let token;
    try {
      token = await resolveToken(options);
    } catch {
      return { status: 401, body: null };
    }
    const headers = { Authorization: `Bearer ${token}`, "Idempotency-Key": entry.key };
    const id = encodeURIComponent(entry.taskId);
    let method = "POST";
    let path = "/api/tasks";
    let body;
    if (entry.kind === "create") {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(entry.patch);
    } else {
      method = entry.kind === "update" ? "PATCH" : "DELETE";
      path = `/api/tasks/${id}`;
      if (entry.base.version !== null) headers["If-Match"] = `"${entry.base.version}"`;
      if (entry.kind === "update") {
        headers["Content-Type"] = "application/merge-patch+json";
        body = JSON.stringify(entry.patch);
      }
    }
    const controller = typeof AbortController === "function" ? new AbortController() : null;
    const timer = timers.setTimeout(() => controller?.abort(), QUEUE.requestTimeoutMs);
    try {
      const response = await fetchImpl(base + path, { method, headers, body, signal: controller?.signal });
      const payload = response.status === 204 ? null : await response.json().catch(() => null);
      const header = (h) => response.headers?.get?.(h) ?? null;
      const retryAfter = header("Retry-After");
      return {
        status: response.status,
        body: payload,
        retryAfter: retryAfter === null ? null : Number(retryAfter),
        replayed: header("Idempotent-Replayed") === "true",
      };
    } catch {
      return null; // no answer: offline, refused connection, timed out
    } finally {
      timers.clearTimeout(timer);
    }
  }

  async function getJson(path) {
    const response = await fetchImpl(base + path, { headers: { Authorization: `Bearer ${await resolveToken(options)}` } });
    if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => null));
    return response.json();
  }

  // Who set each field to what they have now: the task's activity log names the writer of
  // every version and the fields it changed, which holds even for changes made while this
  // browser was offline. Unknown (null) if it cannot be read.
  async function whoChangedEach(taskId, sinceVersion, fields) {
    try {
      const page = await getJson(`/api/tasks/${encodeURIComponent(taskId)}/activity?limit=${QUEUE.activityPage}`);
      return Object.fromEntries(fields.map((field) => [field, whoChanged(page.activity, sinceVersion, field)]));
    } catch {
      return {};
    }
  }

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

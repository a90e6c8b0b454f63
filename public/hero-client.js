// Hero Tasks browser client: live rooms with reconnect and resume, and a small REST helper.
// An ES module with no build step and no third-party dependencies; types are in
// hero-client.d.ts. Its imports, the presence reducer and the token decoder, are served
// next to it (./state/), and are relative so they resolve from the browser and from node.
//
//   import { connectTask, connectBoard, restClient } from "/hero-client.js";
//   const room = connectTask(taskId, { getToken: () => myToken });
//   room.on("event", (e) => …);           // task_created | task_updated | task_status_changed | task_deleted
//   room.on("presence", (list) => …);     // [{user, connections, editing}]
//   room.on("status", (s) => …);          // connecting | open | reconnecting | offline | closed
//   room.on("token", (t) => …);           // refreshing | refreshed | failed (refresh in place)
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

import { applyPresence } from "./state/presence.js";
import { tokenExpiresAt } from "./state/claims.js";

export { applyPresence };

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
  async function call(method, path, { body, ifMatch, contentType } = {}) {
    const headers = { Authorization: `Bearer ${await resolveToken(options)}` };
    if (body !== undefined) headers["Content-Type"] = contentType ?? "application/json";
    if (ifMatch !== undefined && ifMatch !== null) headers["If-Match"] = `"${ifMatch}"`;
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
    create: (task) => call("POST", "/api/tasks", { body: task }),
    /** JSON merge patch; pass {ifMatch: version} to refuse if someone else wrote first. */
    update: (id, patch, { ifMatch } = {}) =>
      call("PATCH", `/api/tasks/${encodeURIComponent(id)}`, {
        body: patch,
        ifMatch,
        contentType: "application/merge-patch+json",
      }),
    remove: (id, { ifMatch } = {}) => call("DELETE", `/api/tasks/${encodeURIComponent(id)}`, { ifMatch }),
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

  const handleMessage = (message) => {
    if (DURABLE_TYPES.has(message.type) || message.type === REDACTED) {
      if (lastSeq !== null && message.seq <= lastSeq) return; // already seen
      lastSeq = message.seq;
      if (message.type !== REDACTED) emitter.emit("event", message);
      emitter.emit(message.type, message);
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

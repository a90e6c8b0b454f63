// Hero Tasks browser client: live rooms with reconnect and resume, and a small REST helper.
// An ES module with no build step and no third-party dependencies; types are in
// hero-client.d.ts. Its one import, the presence reducer, is served next to it
// (./state/presence.js), and is relative so it resolves from the browser and from node.
//
//   import { connectTask, connectBoard, restClient } from "/hero-client.js";
//   const room = connectTask(taskId, { getToken: () => myToken });
//   room.on("event", (e) => …);           // task_created | task_updated | task_status_changed | task_deleted
//   room.on("presence", (list) => …);     // [{user, connections, editing}]
//   room.on("status", (s) => …);          // connecting | open | reconnecting | offline | closed
//
// Reconnect: exponential backoff with full jitter. The n-th retry waits a random time in
// [0, min(CAP, START * FACTOR^n)], with START = 500 ms, FACTOR = 2, CAP = 30 s. A connection
// that stayed open for 10 s resets the count. Each reconnect asks getToken() again and
// resumes with ?since=<last seq seen>, so nothing is missed or doubled; on `resync` the
// client reloads over REST and emits one "reloaded" event.

import { applyPresence } from "./state/presence.js";

export { applyPresence };

export const BACKOFF = Object.freeze({ startMs: 500, factor: 2, capMs: 30_000 });
/** A keep-alive ping is sent this often; no pong within PONG_TIMEOUT_MS means the socket is dead. */
export const KEEPALIVE_MS = 20_000;
export const PONG_TIMEOUT_MS = 10_000;
const STABLE_MS = 10_000;
/**
 * Close codes after which reconnecting cannot help. The server closes with 1008, 1009,
 * 1013, 4001 and 4004 (the Rust protocol module's `close` codes); the first three are worth a retry with
 * backoff. A forbidden user is refused before the upgrade (HTTP 403, found by diagnose()).
 */
export const TERMINAL_CLOSE_CODES = Object.freeze({
  4001: "token expired",
  4004: "task deleted",
});
const DURABLE_TYPES = new Set(["task_created", "task_updated", "task_status_changed", "task_deleted"]);

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

/** The delay before the n-th reconnect attempt (n from 0), with full jitter. */
export function backoffDelay(attempt, random = Math.random) {
  const ceiling = Math.min(BACKOFF.capMs, BACKOFF.startMs * BACKOFF.factor ** attempt);
  return Math.round(random() * ceiling);
}

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

function connectRoom(path, options, reload) {
  const base = baseOf(options);
  const wsBase = base.replace(/^http/, "ws");
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

  const setStatus = (next, detail) => {
    if (status === next && !detail) return;
    status = next;
    emitter.emit("status", next);
    if (detail) emitter.emit("closed", detail);
  };

  const clearTimers = () => {
    clearTimeout(retryTimer);
    clearInterval(keepaliveTimer);
    clearTimeout(pongTimer);
    clearTimeout(stableTimer);
  };

  const terminate = (reason, code) => {
    closedByUser = true;
    clearTimers();
    setStatus("closed", { reason, code });
  };

  const online = () => globalThis.navigator?.onLine !== false;

  const scheduleReconnect = () => {
    if (closedByUser) return;
    clearTimers();
    if (!online()) {
      setStatus("offline");
      return; // the "online" listener resumes
    }
    setStatus("reconnecting");
    retryTimer = setTimeout(open, backoffDelay(attempt));
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

  const handleMessage = (message) => {
    if (DURABLE_TYPES.has(message.type)) {
      if (lastSeq !== null && message.seq <= lastSeq) return; // already seen
      lastSeq = message.seq;
      emitter.emit("event", message);
      emitter.emit(message.type, message);
      return;
    }
    switch (message.type) {
      case "welcome":
        presence = applyPresence(presence, message);
        // Resumed: the replayed events follow and move lastSeq on. Otherwise (first connect,
        // or a resync that follows) the room's current position is where we stand.
        if (!message.resumed) lastSeq = message.seq;
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
        clearTimeout(pongTimer);
        return;
      case "error":
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
    const params = new URLSearchParams({ token });
    if (lastSeq !== null) params.set("since", String(lastSeq));
    const ws = new WebSocket(`${wsBase}${path}?${params}`);
    socket = ws;
    let opened = false;
    ws.onopen = () => {
      opened = true;
      setStatus("open");
      stableTimer = setTimeout(() => (attempt = 0), STABLE_MS);
      keepaliveTimer = setInterval(() => {
        if (ws.readyState !== WebSocket.OPEN) return;
        ws.send('{"type":"ping"}');
        clearTimeout(pongTimer);
        pongTimer = setTimeout(() => ws.close(4000, "keep-alive timed out"), PONG_TIMEOUT_MS);
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
      if (!opened) {
        const verdict = await diagnose();
        if (verdict) {
          terminate(verdict.reason, verdict.code);
          return;
        }
      }
      scheduleReconnect();
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

  const sendIfOpen = (message) => {
    // Never queued: typing that cannot be sent now is stale by the time it could be.
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify(message));
      return true;
    }
    return false;
  };

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
    sendTyping: (field, active) => sendIfOpen({ type: "typing", field, active: Boolean(active) }),
    setEditing: (field) => sendIfOpen({ type: "editing", field: field ?? null }),
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
  return connectRoom("/ws/board", options, async () => {
    const [list, analytics] = await Promise.all([rest.list({ limit: 200 }), rest.analytics()]);
    return { tasks: list.tasks, next_cursor: list.next_cursor, analytics };
  });
}

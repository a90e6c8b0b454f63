// The room protocol over the reconnecting socket (./socket.js): a task's room or the
// workspace board, with resume, presence, and refresh in place (./token-refresh.js).
//
//   const room = connectTask(taskId, { getToken: () => myToken });
//   room.on("event", (e) => …);           // task_created | task_updated | task_status_changed | task_deleted
//   room.on("presence", (list) => …);     // [{user, connections, editing}]
//   room.on("status", (s) => …);          // connecting | open | reconnecting | offline | closed
//   room.on("token", (t) => …);           // refreshing | refreshed | failed (refresh in place)
//   board.on("task_presence", (map) => …); // board: task id → users in that task's room
//
// The token never goes in the URL (proxies log URLs): the socket offers two subprotocols,
// `hero-tasks.v1` and `bearer.<token>`, and the server selects `hero-tasks.v1`. Each
// reconnect asks getToken() again and resumes with ?since=<last seq seen>, so nothing is
// missed or doubled; on `resync` the room reloads over REST and emits one "reloaded" event.
// Close codes: TERMINAL_CLOSE_CODES end the room, RETRY_FLOOR_MS pause the reconnect; a
// socket that fails before it opens hides the HTTP status, so a REST probe asks why.

import { createEmitter } from "./emitter.js";
import { timersOf } from "./timers.js";
import { baseOf, fetchOf, resolveToken, restClient } from "./rest.js";
import { openReconnectingSocket } from "./socket.js";
import { createTokenRefresher } from "./token-refresh.js";
import { AUTH_PROTOCOL, BEARER_PREFIX, isDurable, PING_FRAME, REDACTED, RETRY_FLOOR_MS, SUBPROTOCOL, TERMINAL_CLOSE_CODES, unpackFrame } from "./protocol.js";
import { applyPresence } from "./state/presence.js";
import { applyTaskPresence, emptyTaskPresence } from "./state/task-presence.js";

// What a subprotocol may contain (an RFC 7230 token): a JWT's base64url parts and dots fit.
export const SUBPROTOCOL_SAFE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * The token a socket authenticates with, or why it cannot have one. A token that is not a
 * JWT cannot ride in a subprotocol, and it never goes in the URL.
 * @returns {Promise<{ token: string } | { terminal: { reason: string, code: number } }>}
 */
export async function socketToken(options) {
  let token;
  try {
    token = await resolveToken(options);
  } catch (error) {
    return { terminal: { reason: `no token: ${error.message}`, code: 401 } };
  }
  if (typeof token !== "string" || !SUBPROTOCOL_SAFE.test(token)) {
    return { terminal: { reason: "the token is not a JWT", code: 401 } };
  }
  return { token };
}
const PRESENCE_DELTAS = new Set(["user_joined", "user_left", "presence_diff", "editing"]);

/** Why the REST API refuses us, when a socket failed before it opened; null if it does not. */
export async function diagnose(options, base) {
  try {
    const token = await resolveToken(options);
    const response = await fetchOf(options)(base + (options.probePath ?? "/api/analytics"), { headers: { Authorization: `Bearer ${token}` } });
    if (response.status === 401) return { reason: "unauthorized", code: 401 };
    if (response.status === 403) return { reason: "forbidden", code: 403 };
    if (response.status === 404) return { reason: "not found", code: 404 };
  } catch {
    // network down: not terminal
  }
  return null;
}

/**
 * What a close the client did not ask for means: stop (TERMINAL_CLOSE_CODES), pause
 * (RETRY_FLOOR_MS), retry, or, for a socket that never opened, what `ask()` (a REST probe)
 * finds. Any socket of a task (its room, its document) can use it with openReconnectingSocket.
 */
export function classifyClose({ code, opened }, ask) {
  const terminal = TERMINAL_CLOSE_CODES[code];
  if (terminal) return { terminal: { reason: terminal, code } };
  const floorMs = RETRY_FLOOR_MS[code];
  if (floorMs !== undefined) return { floorMs };
  if (opened) return { floorMs: 0 };
  return ask().then((verdict) => (verdict ? { terminal: verdict } : { floorMs: 0 }));
}

/** A room's state: the last seq seen, who is here, and (board) who is in which task. */
function createRoomState(since) {
  return { lastSeq: since ?? null, presence: [], taskPresence: emptyTaskPresence };
}

export function connectRoom(path, options, reload, { board = false } = {}) {
  const base = baseOf(options);
  const wsBase = base.replace(/^http/, "ws");
  const timers = timersOf(options);
  const emitter = createEmitter();
  const state = createRoomState(options.since);

  const sendIfOpen = (message) => transport.send(JSON.stringify(message));
  const refresher = createTokenRefresher({ getToken: options.getToken, timers, send: sendIfOpen, emit: (value) => emitter.emit("token", value) });

  async function connect() {
    const resolved = await socketToken(options);
    if (resolved.terminal) return resolved;
    const { token } = resolved;
    refresher.connected(token);
    const query = state.lastSeq !== null ? `?${new URLSearchParams({ since: String(state.lastSeq) })}` : "";
    return { url: `${wsBase}${path}${query}`, protocols: [SUBPROTOCOL, BEARER_PREFIX + token] };
  }

  const transport = openReconnectingSocket({
    connect,
    classifyClose: (close) => classifyClose(close, () => diagnose(options, base)),
    pingFrame: PING_FRAME,
    WebSocket: options.WebSocket,
    timers,
    random: options.random,
  });
  transport.on("status", (status) => emitter.emit("status", status));
  transport.on("closed", (detail) => emitter.emit("closed", detail));
  transport.on("down", () => refresher.stop());
  transport.on("message", (data) => {
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      return;
    }
    for (const inner of unpackFrame(message)) handleMessage(inner);
  });

  // The whole map is announced on every change, as "presence" announces the whole list.
  const setTaskPresence = (message) => {
    const next = applyTaskPresence(state.taskPresence, message);
    if (next === state.taskPresence && message.type !== "welcome") return;
    state.taskPresence = next;
    emitter.emit("task_presence", next);
  };

  const setPresence = (message) => {
    state.presence = applyPresence(state.presence, message);
    emitter.emit("presence", state.presence);
  };

  function handleDurable(message) {
    if (state.lastSeq !== null && message.seq <= state.lastSeq) return; // already seen
    state.lastSeq = message.seq;
    if (message.type !== REDACTED) emitter.emit("event", message);
    emitter.emit(message.type, message);
    if (board && (message.type === "task_deleted" || message.type === REDACTED)) setTaskPresence(message);
  }

  function handleWelcome(message) {
    // Resumed: the replayed events follow and move lastSeq on. Otherwise (first connect,
    // or a resync that follows) the room's current position is where we stand.
    state.presence = applyPresence(state.presence, message);
    if (!message.resumed) state.lastSeq = message.seq;
    // Protocol 1 rooms do not know `auth`: their connections end at the token's exp.
    refresher.welcomed((message.protocol ?? 1) >= AUTH_PROTOCOL);
    emitter.emit("welcome", message);
    emitter.emit("presence", state.presence);
    if (board) setTaskPresence(message);
  }

  function handleResync(message) {
    Promise.resolve(reload())
      .then((data) => {
        state.lastSeq = Math.max(state.lastSeq ?? 0, message.seq);
        emitter.emit("reloaded", data);
      })
      .catch((error) => emitter.emit("error", { code: "reload_failed", message: String(error) }));
  }

  function handleMessage(message) {
    if (isDurable(message)) return handleDurable(message);
    if (PRESENCE_DELTAS.has(message.type)) {
      // The deltas: see ./state/presence.js for what each one can and cannot tell.
      setPresence(message);
      emitter.emit(message.type, message);
      return;
    }
    switch (message.type) {
      case "welcome":
        return handleWelcome(message);
      case "task_presence":
        if (board) setTaskPresence(message);
        return;
      case "presence":
        return setPresence(message);
      case "analytics":
        return emitter.emit("analytics", message.analytics);
      case "resync":
        return handleResync(message);
      case "pong":
        return;
      case "ack":
        if (!refresher.answer(message)) emitter.emit("ack", message);
        return;
      case "error":
        refresher.answer(message);
        return emitter.emit("error", message);
      default:
        // typing, and anything newer than this client
        emitter.emit(message.type, message);
    }
  }

  return {
    on: emitter.on,
    get status() {
      return transport.status;
    },
    get lastSeq() {
      return state.lastSeq;
    },
    get presence() {
      return state.presence;
    },
    /** Board only: task id → the users in that task's room (tasks with nobody are absent). */
    get taskPresence() {
      return state.taskPresence;
    },
    // The board has no task to type in (the server answers `wrong_room`): never sent there.
    // Sent now or not at all: typing that cannot be sent now is stale by the time it could be.
    sendTyping: (field, active) => !board && sendIfOpen({ type: "typing", field, active: Boolean(active) }),
    setEditing: (field) => !board && sendIfOpen({ type: "editing", field: field ?? null }),
    close() {
      refresher.stop();
      transport.close();
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

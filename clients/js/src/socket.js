// A reconnecting WebSocket: transport only. It knows how to open a socket, keep it alive,
// notice that it died and open the next one; it knows nothing of rooms, messages or
// tokens. What to connect to (and with which subprotocols) it asks `connect()` before
// every attempt, and what a close means (retry, retry after a pause, or stop for good) it
// asks `classifyClose()`. The room protocol (./room.js) sits on top. partysocket's
// ReconnectingWebSocket under PartySocket is the model.
//
// Reconnect: exponential backoff with full jitter. The n-th retry waits a random time in
// [0, min(CAP, START * FACTOR^n)], with START = 500 ms, FACTOR = 2, CAP = 30 s, plus the
// floor classifyClose() asks for. A connection that stayed open for 10 s resets the count.
//
// Keep-alive: a ping frame every KEEPALIVE_MS while open; if nothing at all arrives within
// PONG_TIMEOUT_MS of a ping, the socket is taken for dead, closed with 4000 and replaced.
// Going offline (the browser's `offline` event) closes the socket and shows `offline`;
// `online` opens the next one at once.

import { createEmitter } from "./emitter.js";
import { browserOnline, timersOf } from "./timers.js";

export const BACKOFF = Object.freeze({ startMs: 500, factor: 2, capMs: 30_000 });
/** A keep-alive ping is sent this often; nothing heard within PONG_TIMEOUT_MS means the socket is dead. */
export const KEEPALIVE_MS = 20_000;
export const PONG_TIMEOUT_MS = 10_000;
/** A connection open this long resets the backoff. */
const STABLE_MS = 10_000;
const OPEN = 1;

/** The delay before the n-th reconnect attempt (n from 0), with full jitter, never under `floorMs`. */
export function backoffDelay(attempt, random = Math.random, floorMs = 0) {
  const ceiling = Math.min(BACKOFF.capMs, BACKOFF.startMs * BACKOFF.factor ** attempt);
  return floorMs + Math.round(random() * ceiling);
}

/**
 * Opens a reconnecting socket. Options:
 * - `connect()`: async, before every attempt: `{url, protocols}` to open, or
 *   `{terminal: {reason, code}}` to stop for good;
 * - `classifyClose({code, opened})`: after a close the client did not ask for,
 *   `{terminal: {reason, code}}` or `{floorMs}` (the least wait before the next attempt),
 *   or a promise of one;
 * - `pingFrame`: what a keep-alive sends, or a function that makes it at each ping (none:
 *   no keep-alive);
 * - `binaryType`: set on every socket ("arraybuffer" for a protocol of binary frames);
 * - `WebSocket`, `timers`, `random`: the class, the clock and the jitter (tests pass fakes).
 *
 * Events: `status` (connecting | open | reconnecting | offline | closed), `closed`
 * ({reason, code}, once, when it stops for good), `message` (each frame's data), `down`
 * (the current socket is gone, for whatever reason).
 */
export function openReconnectingSocket(options) {
  const { connect, classifyClose, pingFrame } = options;
  const timers = timersOf(options);
  const random = options.random ?? Math.random;
  const emitter = createEmitter();
  let socket = null;
  let status = "connecting";
  let attempt = 0;
  let stopped = false;
  const timer = { retry: null, keepalive: null, pong: null, stable: null };

  const setStatus = (next, detail) => {
    if (status === next && !detail) return;
    status = next;
    emitter.emit("status", next);
    if (detail) emitter.emit("closed", detail);
  };

  const clearTimers = () => {
    timers.clearTimeout(timer.retry);
    timers.clearInterval(timer.keepalive);
    timers.clearTimeout(timer.pong);
    timers.clearTimeout(timer.stable);
  };

  const detach = () => {
    globalThis.removeEventListener?.("online", onOnline);
    globalThis.removeEventListener?.("offline", onOffline);
  };

  /** Stops for good: no socket, no timer, no listener, and `closed` once. */
  const terminate = (reason, code) => {
    stopped = true;
    clearTimers();
    detach();
    emitter.emit("down");
    setStatus("closed", { reason, code });
  };

  const scheduleReconnect = (floorMs = 0) => {
    if (stopped) return;
    clearTimers();
    if (!browserOnline()) {
      setStatus("offline");
      return; // the "online" listener resumes
    }
    setStatus("reconnecting");
    timer.retry = timers.setTimeout(open, backoffDelay(attempt, random, floorMs));
    attempt += 1;
  };

  const startKeepalive = (ws) => {
    timer.stable = timers.setTimeout(() => (attempt = 0), STABLE_MS);
    if (!pingFrame) return;
    timer.keepalive = timers.setInterval(() => {
      if (ws.readyState !== OPEN) return;
      ws.send(typeof pingFrame === "function" ? pingFrame() : pingFrame);
      timers.clearTimeout(timer.pong);
      timer.pong = timers.setTimeout(() => ws.close(4000, "keep-alive timed out"), PONG_TIMEOUT_MS);
    }, KEEPALIVE_MS);
  };

  const follow = (verdict) => {
    if (stopped) return;
    if (verdict?.terminal) terminate(verdict.terminal.reason, verdict.terminal.code);
    else scheduleReconnect(verdict?.floorMs ?? 0);
  };

  // At once when classifyClose knows at once (a close code), so the status moves with the
  // close; after its answer when it has to ask (a failed upgrade).
  function afterClose(event, opened) {
    const verdict = classifyClose({ code: event.code, opened });
    if (typeof verdict?.then === "function") verdict.then(follow, () => follow(null));
    else follow(verdict);
  }

  async function open() {
    if (stopped) return;
    setStatus(attempt === 0 ? "connecting" : "reconnecting");
    const target = await connect();
    if (stopped) return;
    if (target.terminal) {
      terminate(target.terminal.reason, target.terminal.code);
      return;
    }
    const Socket = options.WebSocket ?? globalThis.WebSocket;
    const ws = new Socket(target.url, target.protocols);
    if (options.binaryType) ws.binaryType = options.binaryType;
    socket = ws;
    let opened = false;
    ws.onopen = () => {
      opened = true;
      setStatus("open");
      startKeepalive(ws);
    };
    ws.onmessage = (event) => {
      if (socket !== ws) return;
      timers.clearTimeout(timer.pong); // anything heard proves the connection alive
      emitter.emit("message", event.data);
    };
    // A close always follows an error; Node's `ws` throws an error nobody listens to.
    ws.onerror = () => {};
    ws.onclose = (event) => {
      if (socket !== ws) return;
      socket = null;
      clearTimers();
      emitter.emit("down");
      if (!stopped) afterClose(event, opened);
    };
  }

  const onOnline = () => {
    if (status === "offline" && !stopped) {
      attempt = 0;
      open();
    }
  };
  const onOffline = () => {
    if (socket) socket.close(4000, "offline");
    else if (!stopped) setStatus("offline");
  };
  globalThis.addEventListener?.("online", onOnline);
  globalThis.addEventListener?.("offline", onOffline);

  // After the caller has attached its handlers.
  queueMicrotask(open);

  return {
    on: emitter.on,
    get status() {
      return status;
    },
    /** Sends now if the socket is open; never queued. Returns whether it was sent. */
    send(data) {
      if (socket && socket.readyState === OPEN) {
        socket.send(data);
        return true;
      }
      return false;
    },
    /** Closes for good (1000), clearing every timer. */
    close() {
      const ws = socket;
      socket = null;
      stopped = true;
      clearTimers();
      detach();
      ws?.close(1000, "bye");
      emitter.emit("down");
      setStatus("closed", { reason: "closed by the client", code: 1000 });
    },
  };
}

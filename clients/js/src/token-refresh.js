// Refresh in place (protocol 2): with getToken(), a timer asks for a new token shortly
// before the current one's `exp` (see REFRESH) and sends it as `{"type":"auth"}` on the
// open socket, so a long session is never closed with 4001. If no newer token can be had,
// it backs off and, once the token has expired, the server's 4001 ends the room.
//
// One refresher per room. The room tells it when a socket connects (with the token it
// connected with), when the welcome says the room takes `auth`, each `ack`/`error` that may
// answer its `auth`, and when the socket is gone.

import { tokenExpiresAt } from "./state/claims.js";

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

/** When a refresh of a token expiring at `expiresAt` is due, as a delay from `now` (ms). */
export function refreshDelay(expiresAt, now) {
  const remaining = expiresAt - now;
  const lead = Math.min(REFRESH.leadMs, remaining * (1 - REFRESH.lifetimeShare));
  return Math.max(REFRESH.minDelayMs, Math.round(remaining - lead));
}

/**
 * `getToken` (absent: a fixed token, never refreshed), `timers`, `send(message)` (true if
 * it went out on the open socket) and `emit(tokenStatus)` for the room's "token" event.
 */
export function createTokenRefresher({ getToken, timers, send, emit }) {
  const canRefresh = typeof getToken === "function";
  // The token the server holds for this socket, the next refresh, and the `auth` frame
  // waiting for its answer ({id, token, timer}). `generation` moves on with every socket,
  // so an answer from getToken() that arrives after its socket is gone is dropped.
  let heldToken = null;
  let refreshTimer = null;
  let failures = 0;
  let pendingAuth = null;
  let authIds = 0;
  let generation = 0;
  let live = false;

  const report = (state, extra = {}) => emit({ state, expiresAt: tokenExpiresAt(heldToken), ...extra });

  function stop() {
    live = false;
    generation += 1;
    timers.clearTimeout(refreshTimer);
    refreshTimer = null;
    if (pendingAuth) timers.clearTimeout(pendingAuth.timer);
    pendingAuth = null;
  }

  function plan() {
    timers.clearTimeout(refreshTimer);
    refreshTimer = null;
    const expiresAt = tokenExpiresAt(heldToken);
    if (!canRefresh || expiresAt === null) return; // a fixed token, or one that never expires
    refreshTimer = timers.setTimeout(refresh, refreshDelay(expiresAt, timers.now()));
  }

  // Backs off; gives up once the held token would have expired (the server closes with 4001).
  function failed(reason) {
    if (pendingAuth) timers.clearTimeout(pendingAuth.timer);
    pendingAuth = null;
    failures += 1;
    const wait = Math.min(REFRESH.retryCapMs, REFRESH.retryStartMs * 2 ** (failures - 1));
    const expiresAt = tokenExpiresAt(heldToken);
    const retry = expiresAt !== null && timers.now() + wait < expiresAt;
    timers.clearTimeout(refreshTimer);
    refreshTimer = retry ? timers.setTimeout(refresh, wait) : null;
    report("failed", { reason, retryInMs: retry ? wait : null });
  }

  /** Why `candidate` cannot replace the held token, or null if it can. */
  function refusal(candidate) {
    if (typeof candidate !== "string" || !candidate || candidate === heldToken) return "getToken() gave no new token";
    const expiresAt = tokenExpiresAt(candidate);
    if (expiresAt === null || expiresAt <= (tokenExpiresAt(heldToken) ?? -Infinity) || expiresAt - timers.now() < REFRESH.minLifetimeMs) {
      return "getToken() gave a token that expires no later";
    }
    return null;
  }

  async function refresh() {
    refreshTimer = null;
    if (!live || pendingAuth) return;
    const mine = generation;
    let candidate;
    try {
      candidate = await getToken();
    } catch (error) {
      if (mine === generation) failed(`getToken() failed: ${error?.message ?? error}`);
      return;
    }
    if (mine !== generation) return; // that connection is gone; the next one starts afresh
    const why = refusal(candidate);
    if (why) {
      failed(why);
      return;
    }
    const id = ++authIds;
    const timer = timers.setTimeout(() => {
      if (pendingAuth?.id === id) failed("no answer to auth");
    }, REFRESH.answerTimeoutMs);
    pendingAuth = { id, token: candidate, timer };
    if (!send({ type: "auth", token: candidate, id })) {
      failed("the socket is not open");
      return;
    }
    report("refreshing");
  }

  return {
    /** A new socket, connected with `token`. */
    connected(token) {
      stop();
      live = true;
      heldToken = token;
      failures = 0;
    },
    /** The welcome: plan the first refresh if the room takes `auth`. */
    welcomed(takesAuth) {
      if (takesAuth) plan();
    },
    /** An `ack` or `error` that may answer our pending `auth`; true if it was one. */
    answer(message) {
      if (!pendingAuth || message.id !== pendingAuth.id) return false;
      if (message.type === "ack") {
        timers.clearTimeout(pendingAuth.timer);
        heldToken = pendingAuth.token;
        pendingAuth = null;
        failures = 0;
        report("refreshed");
        plan();
      } else if (message.code === "token_mismatch") {
        // The server closes with 4003 next, which ends the room.
        stop();
        report("failed", { reason: message.message ?? "token_mismatch", retryInMs: null });
      } else {
        // bad_token (or a server that does not know `auth`): the socket keeps its old token.
        failed(message.message ?? message.code ?? "refused");
      }
      return true;
    },
    /** The socket is gone: nothing more is sent or planned for it. */
    stop,
  };
}

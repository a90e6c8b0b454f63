// The wire protocol's constants, as the Rust core defines them (core/src/protocol.rs). A
// node test (tests/js/protocol-contract.test.mjs, in `make test`) reads the Rust source
// and fails if any of these drifts from it: the subprotocol, the protocol version, the
// close codes and the durable event types. docs/protocol.md describes them.

/** The subprotocol the server selects; the token rides beside it as `bearer.<token>`. */
export const SUBPROTOCOL = "hero-tasks.v1";
export const BEARER_PREFIX = "bearer.";

/**
 * The protocol version a `welcome` announces (Rust `PROTOCOL_VERSION`). 2: presence changes
 * arrive as `presence_diff`, and `auth` refreshes a token in place.
 */
export const PROTOCOL_VERSION = 2;
/** The first protocol version whose rooms take `auth` (refresh in place). */
export const AUTH_PROTOCOL = 2;

/** Every close code the rooms use (Rust `protocol::close`), by its Rust name. */
export const CLOSE = Object.freeze({
  TOKEN_EXPIRED: 4001,
  POLICY: 1008,
  TOO_BIG: 1009,
  TRY_AGAIN_LATER: 1013,
  TOKEN_MISMATCH: 4003,
  TASK_DELETED: 4004,
  TOO_MANY_FOR_USER: 4029,
  // The shared description's document sockets only (docs/protocol.md).
  UNSUPPORTED: 1003,
  INVALID_PAYLOAD: 1007,
  UPDATE_REFUSED: 4400,
  NOT_YOURS: 4403,
});

/**
 * Close codes after which reconnecting cannot help. The server closes with 1008, 1009,
 * 1013, 4001, 4003, 4004 and 4029 (CLOSE); 1008, 1009, 1013 and 4029 are worth a retry
 * with backoff. A forbidden user is refused before the upgrade (HTTP 403, found by the
 * room's REST probe).
 */
export const TERMINAL_CLOSE_CODES = Object.freeze({
  [CLOSE.TOKEN_EXPIRED]: "token expired",
  [CLOSE.TOKEN_MISMATCH]: "token for another user or workspace",
  [CLOSE.TASK_DELETED]: "task deleted",
});

/**
 * Retryable close codes that ask for a pause: the reconnect waits at least this long (plus
 * the usual jittered backoff). 4029: too many connections or connects for this user in
 * this room; 1008: rate-limit abuse; 1013: the room is full.
 */
export const RETRY_FLOOR_MS = Object.freeze({
  [CLOSE.POLICY]: 10_000,
  [CLOSE.TRY_AGAIN_LATER]: 5_000,
  [CLOSE.TOO_MANY_FOR_USER]: 10_000,
});

/**
 * The durable events: they carry `seq` and are replayed with `?since=` (Rust
 * `ServerMessage::seq`). `task_redacted` is durable too but carries no fields: an event
 * about a task deleted since, replayed on the board.
 */
export const DURABLE_TYPES = Object.freeze(["task_created", "task_updated", "task_status_changed", "task_deleted", "task_redacted"]);
export const REDACTED = "task_redacted";
const DURABLE = new Set(DURABLE_TYPES);

/** Whether a message is a durable event (counted for `since`). */
export const isDurable = (message) => DURABLE.has(message?.type);

/** The exact keep-alive frame the runtime answers by itself, without waking the room. */
export const PING_FRAME = '{"type":"ping"}';

/**
 * The messages one frame carries. A busy room coalesces durable events into
 * `{"type":"batch","events":[…]}`; each element is handled exactly as if it came alone.
 */
export function unpackFrame(message) {
  if (message?.type === "batch") return Array.isArray(message.events) ? message.events : [];
  return [message];
}

// ---- The shared document (/ws/tasks/{id}/doc): y-websocket framing, binary only --------

/** The document socket's subprotocol (Rust `DOC_SUBPROTOCOL`); the token rides beside it as `bearer.<token>`. */
export const DOC_SUBPROTOCOL = "hero-tasks.doc.v1";
/** The document's one root type: a Y.Text of this name. */
export const DOC_ROOT = "description";

/**
 * Close codes after which a document socket stops for good. 1003, 1007 and 1009 say this
 * client sent something the server will refuse again (reconnecting would resend it); 4400
 * an update it cannot take (another root type, missing history), 4403 awareness for a
 * client id that is not ours. 4001 is not here: with getToken a new token reconnects
 * (./doc.js). 1008, 1013 and 4029 back off as in RETRY_FLOOR_MS.
 */
export const DOC_TERMINAL_CLOSE_CODES = Object.freeze({
  [CLOSE.UNSUPPORTED]: "the document takes binary frames only",
  [CLOSE.INVALID_PAYLOAD]: "the document refused a malformed message",
  [CLOSE.TOO_BIG]: "the document refused a message too big",
  [CLOSE.TOKEN_MISMATCH]: "token for another user or workspace",
  [CLOSE.TASK_DELETED]: "task deleted",
  [CLOSE.UPDATE_REFUSED]: "the document refused an update",
  [CLOSE.NOT_YOURS]: "the document refused awareness for another client id",
});

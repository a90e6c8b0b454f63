// @hero-tasks/client: the Hero Tasks client module. Live rooms with reconnect and resume,
// a REST client, the durable edit queue, and the shared description (Yjs). ES modules; its
// dependencies are Yjs (a peer, so an app has one copy), y-protocols, lib0 and y-indexeddb.
// Importing this (or any file under it) touches no `window` and opens no socket. Types are
// in index.d.ts; the React hooks are the "./react" entry (react.js).
//
// One file per job:
//   protocol.js       the wire constants (checked against the Rust core by a node test)
//   socket.js         a reconnecting WebSocket: transport only (backoff, keep-alive, online)
//   room.js           the room protocol on top: resume, presence, task presence, resync
//   token-refresh.js  refresh in place: a new token sent as `auth` before the old expires
//   rest.js           the REST client and its errors
//   edit-queue.js     the durable edit queue: its state (queue-state.js), replay
//                     (queue-replay.js), requests (queue-requests.js), store (queue-store.js)
//   doc.js            the shared document: y-protocols over the reconnecting socket, kept
//                     in IndexedDB (openTaskDoc)
//   textarea.js       a <textarea> bound to a Y.Text, caret kept under remote edits
//   state/            the pure reducers: presence, task presence, claims, merge, queue,
//                     and the text diff and caret mapping (state/text.js)
//
// The web UI in public/ is built on this module: `make build` bundles it into
// public/hero-client.js (scripts/client-build.mjs), and `make lint` fails if that copy
// drifts from these sources.

export { BEARER_PREFIX, CLOSE, DOC_ROOT, DOC_SUBPROTOCOL, DOC_TERMINAL_CLOSE_CODES, DURABLE_TYPES, PROTOCOL_VERSION, RETRY_FLOOR_MS, SUBPROTOCOL, TERMINAL_CLOSE_CODES, unpackFrame } from "./protocol.js";
export { BACKOFF, backoffDelay, KEEPALIVE_MS, openReconnectingSocket, PONG_TIMEOUT_MS } from "./socket.js";
export { REFRESH, refreshDelay } from "./token-refresh.js";
export { connectBoard, connectTask } from "./room.js";
export { ApiError, ConflictError, restClient } from "./rest.js";
export { classifyDocClose, DOC_MESSAGE, docStoreName, openTaskDoc, SEND_INTERVAL_MS } from "./doc.js";
export { bindTextarea } from "./textarea.js";
export { diffText, mapPosition, mapSelection } from "./state/text.js";
export { openEditQueue, QUEUE, QueueFullError, queueName } from "./edit-queue.js";
export { indexedDbStore, memoryStore } from "./queue-store.js";
export { applyPresence } from "./state/presence.js";
export { applyTaskPresence, emptyTaskPresence, usersIn } from "./state/task-presence.js";
export { decodeClaims, displayName, queueOwner, tokenExpiresAt } from "./state/claims.js";
export { describeEntry, statusLine, summarize } from "./state/queue.js";

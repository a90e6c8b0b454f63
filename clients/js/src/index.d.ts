// Types for @hero-tasks/client (index.js): rooms, the REST client, the edit queue, the
// shared description and the pure helpers. The React hooks are typed in react.d.ts. The wire
// protocol is described in docs/protocol.md.

import type * as Y from "yjs";
import type { Awareness } from "y-protocols/awareness";

export type TaskStatus = "todo" | "in_progress" | "blocked" | "in_review" | "done";
export type TaskPriority = "low" | "medium" | "high" | "critical";

export interface Task {
  id: string;
  workspace_id: string;
  title: string;
  description: string;
  status: TaskStatus;
  priority: TaskPriority;
  assignee_id: string | null;
  due_date: string | null;
  tags: string[];
  created_by: string;
  created_at: string;
  updated_at: string;
  completed_at: string | null;
  version: number;
}

export type TaskField = "title" | "description" | "status" | "priority" | "assignee_id" | "due_date" | "tags";

export interface UserInfo {
  id: string;
  name: string;
  avatar_url: string | null;
}

export interface Actor {
  id: string;
  name: string;
}

export interface PresenceEntry {
  user: UserInfo;
  connections: number;
  editing: TaskField[];
}

interface Durable {
  seq: number;
  at: string;
  actor: Actor;
}

export type TaskEvent =
  | ({ type: "task_created"; task: Task } & Durable)
  | ({ type: "task_updated"; task: Task; changed: TaskField[] } & Durable)
  | ({ type: "task_status_changed"; task_id: string; from: TaskStatus; to: TaskStatus } & Durable)
  | ({ type: "task_deleted"; task_id: string } & Durable);

export interface Welcome {
  type: "welcome";
  /** 2 from servers that send `presence_diff` and take `auth`; absent (1) from older ones. */
  protocol?: number;
  connection_id: string;
  user: UserInfo;
  presence: PresenceEntry[];
  seq: number;
  resumed: boolean;
  replayed: number;
  /** Board only: task id → the users in that task's room (tasks with nobody are absent). */
  task_presence?: TaskPresence;
}

/** Board: who is in which task's room. A task with nobody in it has no key (never an empty array). */
export type TaskPresence = Record<string, UserInfo[]>;

export interface Analytics {
  total: number;
  by_status: Record<TaskStatus, number>;
  by_priority: Record<TaskPriority, number>;
  overdue: number;
  done_this_week: number;
  week_start: string;
}

export type ConnectionStatus = "connecting" | "open" | "reconnecting" | "offline" | "closed";

/**
 * Refresh in place (the "token" event), with `getToken` on a protocol-2 server:
 * - `refreshing`: a newer token was sent in an `auth` frame;
 * - `refreshed`: the server took it (`ack`); the connection now lasts until `expiresAt`;
 * - `failed`: no newer token, `bad_token`, or no answer. The socket keeps its old token;
 *   `retryInMs` is when the next attempt is, or null when there is none (the token expires
 *   first, and the server then closes with 4001; or `token_mismatch`, closed with 4003).
 * `expiresAt` is the held token's `exp` in ms since the epoch (null without one).
 */
export type TokenStatus =
  | { state: "refreshing" | "refreshed"; expiresAt: number | null }
  | { state: "failed"; expiresAt: number | null; reason: string; retryInMs: number | null };

/** Board only: a replayed event about a task deleted since. Counted for `since`; no fields. */
export interface TaskRedacted {
  type: "task_redacted";
  seq: number;
  task_id: string;
}

export interface RoomEvents<Reloaded> {
  status: ConnectionStatus;
  /**
   * Why the connection ended for good: a terminal close code (4001 token expired, 4003 a
   * refreshed token named another user or workspace, 4004 task deleted), 401/403/404
   * before the upgrade, or close() (1000).
   */
  closed: { reason: string; code: number };
  token: TokenStatus;
  welcome: Welcome;
  event: TaskEvent;
  task_created: Extract<TaskEvent, { type: "task_created" }>;
  task_updated: Extract<TaskEvent, { type: "task_updated" }>;
  task_status_changed: Extract<TaskEvent, { type: "task_status_changed" }>;
  task_deleted: Extract<TaskEvent, { type: "task_deleted" }>;
  /** Not an "event": it has no fields. A list may drop that task if it holds it. */
  task_redacted: TaskRedacted;
  presence: PresenceEntry[];
  user_joined: { type: "user_joined"; user: UserInfo; connections: number };
  user_left: { type: "user_left"; user_id: string };
  presence_diff: { type: "presence_diff"; joins: PresenceEntry[]; leaves: string[] };
  typing: { type: "typing"; user_id: string; field: TaskField; active: boolean };
  editing: { type: "editing"; user_id: string; field: TaskField | null };
  analytics: Analytics;
  /**
   * Board only: the whole map of who is in which task's room, after the `welcome` and after
   * every `task_presence` message (and a deleted task's entry removed). See applyTaskPresence.
   */
  task_presence: TaskPresence;
  /** After a `resync`: fresh data from REST, emitted once. */
  reloaded: Reloaded;
  /**
   * A client message was refused; the connection stays open. Codes: bad_json, bad_message,
   * unknown_type, bad_field, forbidden, rate_limited, binary_unsupported, wrong_room (typing
   * or editing on the board; this client never sends them there), bad_token and
   * token_mismatch (answers to a refresh; see "token"), reload_failed (client-side, after
   * `resync`).
   */
  error: { code: string; message: string; id?: string | number };
  /** An `ack` for a message with an `id` (not the client's own `auth`). */
  ack: { type: "ack"; id: string | number };
}

export interface Room<Reloaded> {
  on<K extends keyof RoomEvents<Reloaded>>(type: K, handler: (value: RoomEvents<Reloaded>[K]) => void): () => void;
  readonly status: ConnectionStatus;
  readonly lastSeq: number | null;
  readonly presence: PresenceEntry[];
  /** Board only: who is in which task's room now (`{}` in a task room, or from a server without it). */
  readonly taskPresence: TaskPresence;
  /**
   * Sends now or not at all (never queued while offline). Returns whether it was sent. A
   * board room never sends them (the server would answer `wrong_room`) and returns false.
   */
  sendTyping(field: TaskField, active: boolean): boolean;
  setEditing(field: TaskField | null): boolean;
  close(): void;
}

/** The clock and timers a room uses; tests pass fakes. Defaults to Date.now and the globals. */
export interface Timers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(id: unknown): void;
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(id: unknown): void;
}

export interface ConnectOptions {
  /**
   * A fixed token (never refreshed)... The token is sent as the WebSocket subprotocol
   * `bearer.<token>` beside `hero-tasks.v1`, never in the URL; it must be a JWT.
   */
  token?: string;
  /**
   * ...or a function asked again before every (re)connect, and before the held token
   * expires (see REFRESH), so a refreshed token is used without reconnecting.
   */
  getToken?: () => string | Promise<string>;
  /** Defaults to the page's origin. */
  baseUrl?: string;
  /** Resume from this seq on the first connect. */
  since?: number;
  /** Testing hooks: the clock and timers, the jitter source, the WebSocket class and fetch. */
  timers?: Partial<Timers>;
  random?: () => number;
  WebSocket?: WebSocketClass;
  fetch?: typeof fetch;
}

/** A WebSocket constructor: the browser's, or any with the same shape (tests pass fakes). */
export type WebSocketClass = new (url: string, protocols?: string | string[]) => WebSocket;

export declare const BACKOFF: { readonly startMs: 500; readonly factor: 2; readonly capMs: 30000 };
export declare const KEEPALIVE_MS: number;
export declare const PONG_TIMEOUT_MS: number;
/** "hero-tasks.v1": the subprotocol offered (with `bearer.<token>`) and selected by the server. */
export declare const SUBPROTOCOL: "hero-tasks.v1";
/** "bearer.": the prefix of the subprotocol that carries the token. */
export declare const BEARER_PREFIX: "bearer.";
/** The protocol version a `welcome` announces (2: `presence_diff`, and `auth` in place). */
export declare const PROTOCOL_VERSION: 2;
/** Every close code the rooms use, by its name in the Rust core (`protocol::close`). */
export declare const CLOSE: {
  /** The token expired while connected. */
  readonly TOKEN_EXPIRED: 4001;
  /** Sustained rate-limit abuse. */
  readonly POLICY: 1008;
  /** A frame over the size limit. */
  readonly TOO_BIG: 1009;
  /** The room is at its connection cap. */
  readonly TRY_AGAIN_LATER: 1013;
  /** An `auth` refresh named another user or workspace. */
  readonly TOKEN_MISMATCH: 4003;
  /** The task was deleted. */
  readonly TASK_DELETED: 4004;
  /** Too many sockets or connects for this user in this room. */
  readonly TOO_MANY_FOR_USER: 4029;
  /** Document socket: a text frame (it speaks binary y-protocols frames). */
  readonly UNSUPPORTED: 1003;
  /** Document socket: not a y-protocols message, or an update that does not decode. */
  readonly INVALID_PAYLOAD: 1007;
  /** Document socket: an update touching anything but the `description` text. */
  readonly UPDATE_REFUSED: 4400;
  /** Document socket: awareness for a client id another socket speaks for. */
  readonly NOT_YOURS: 4403;
};
/** The durable event types: they carry `seq` and are replayed with `?since=`. */
export declare const DURABLE_TYPES: readonly ["task_created", "task_updated", "task_status_changed", "task_deleted", "task_redacted"];
/**
 * The close codes that end a room for good: 4001 (token expired), 4003 (a refreshed token
 * named another user or workspace) and 4004 (task deleted). Every other close is retried
 * with backoff: 1008 (abuse), 1009 (frame too big), 1013 (room full), 4029 (too many
 * connections or connects for this user in this room), and network drops.
 */
export declare const TERMINAL_CLOSE_CODES: Readonly<Record<number, string>>;
/** The least wait before reconnecting after these close codes: 4029 and 1008 10 s, 1013 5 s. */
export declare const RETRY_FLOOR_MS: Readonly<Record<number, number>>;
/**
 * Refresh-in-place timing: due `leadMs` (60 s) before `exp`, or after `lifetimeShare` (80%)
 * of the time left if that is later (short tokens), never sooner than `minDelayMs`; failures
 * back off from `retryStartMs` (5 s) doubling to `retryCapMs` (60 s) while the token is
 * valid; an unanswered `auth` fails after `answerTimeoutMs`; a new token is only used if it
 * expires later than the held one, with at least `minLifetimeMs` left.
 */
export declare const REFRESH: {
  readonly leadMs: number;
  readonly lifetimeShare: number;
  readonly minDelayMs: number;
  readonly retryStartMs: number;
  readonly retryCapMs: number;
  readonly answerTimeoutMs: number;
  readonly minLifetimeMs: number;
};
/** Full-jitter backoff for the n-th retry (n from 0): `floorMs` + random in [0, min(cap, start·factorⁿ)]. */
export declare function backoffDelay(attempt: number, random?: () => number, floorMs?: number): number;
/** The delay from `now` until a refresh of a token expiring at `expiresAt` (both ms) is due. */
export declare function refreshDelay(expiresAt: number, now: number): number;
/** The messages one frame carries: a `batch` frame's events in order, or the frame itself. */
export declare function unpackFrame(message: { type: string; events?: unknown[] }): unknown[];

/** The presence messages the server sends (docs/protocol.md). */
export type PresenceMessage =
  | { type: "welcome" | "presence"; presence: PresenceEntry[] }
  | { type: "user_joined"; user: UserInfo; connections: number }
  | { type: "user_left"; user_id: string }
  | { type: "presence_diff"; joins: PresenceEntry[]; leaves: string[] }
  | { type: "editing"; user_id: string; field: TaskField | null };
/**
 * The presence list after one server message, by the server's rule (one entry per user,
 * `editing` the sorted union over their connections). `welcome` and `presence` replace the
 * list; `presence_diff` replaces or adds each `joins` entry and removes each `leaves` id
 * (unknown ids are ignored); `editing` for a user with several connections keeps their
 * other fields until their next whole entry. Any other message returns `list` unchanged. Rooms apply it for you
 * (`room.presence`, the "presence" event); it is exported for pages that keep their own.
 */
export declare function applyPresence(list: PresenceEntry[], message: PresenceMessage | { type: string }): PresenceEntry[];

/** The board's `task_presence` messages (docs/protocol.md). */
export type TaskPresenceMessage =
  | { type: "welcome"; task_presence?: TaskPresence }
  | { type: "task_presence"; task_id: string; users: UserInfo[] }
  | { type: "task_deleted" | "task_redacted"; task_id: string };
/**
 * The map after one board message (the same object when nothing changed): a `welcome`
 * replaces it (no `task_presence` field: nobody known), `task_presence` replaces one task's
 * users (sorted by id, one per user) or removes the task when `users` is empty, and a deleted
 * task is removed. Board rooms apply it for you (`room.taskPresence`, the "task_presence"
 * event).
 */
export declare function applyTaskPresence(map: TaskPresence, message: TaskPresenceMessage | { type: string }): TaskPresence;

/** The usual map of users in each task's room (a board room's `taskPresence`): `{}`. */
export declare const emptyTaskPresence: TaskPresence;
/** The users in a task's room, from a board's map (an empty array when nobody is). */
export declare function usersIn(map: TaskPresence, taskId: string): UserInfo[];

/** A reconnecting socket's status. */
export type SocketStatus = ConnectionStatus;

export interface ReconnectingSocketOptions {
  /** Asked before every attempt: where to connect, or why to stop for good. */
  connect(): Promise<{ url: string; protocols?: string[] } | { terminal: { reason: string; code: number } }>;
  /** What a close the client did not ask for means: stop, or retry after at least floorMs. */
  classifyClose(close: { code: number; opened: boolean }):
    | { terminal: { reason: string; code: number } }
    | { floorMs?: number }
    | Promise<{ terminal: { reason: string; code: number } } | { floorMs?: number }>;
  /** The keep-alive frame (or a function that makes it at each ping), sent every KEEPALIVE_MS while open (none: no keep-alive). */
  pingFrame?: string | Uint8Array | (() => string | Uint8Array) | null;
  /** Set on every socket: "arraybuffer" for a protocol of binary frames. */
  binaryType?: BinaryType;
  WebSocket?: WebSocketClass;
  timers?: Partial<Timers>;
  random?: () => number;
}

export interface ReconnectingSocketEvents {
  status: ConnectionStatus;
  closed: { reason: string; code: number };
  /** Each frame's data, as received (a string, or with binaryType "arraybuffer" an ArrayBuffer for a binary frame). */
  message: string | ArrayBuffer | Blob;
  /** The current socket is gone (closed, dropped, or stopped). */
  down: undefined;
}

/**
 * A WebSocket that reconnects with backoff, keeps itself alive and follows the browser's
 * online state: transport only (rooms are built on it). Opens on the next microtask.
 */
export interface ReconnectingSocket {
  on<K extends keyof ReconnectingSocketEvents>(type: K, handler: (value: ReconnectingSocketEvents[K]) => void): () => void;
  readonly status: ConnectionStatus;
  /** Sends now if open (never queued); returns whether it was sent. */
  send(data: string | ArrayBufferLike | ArrayBufferView | Blob): boolean;
  close(): void;
}

export declare function openReconnectingSocket(options: ReconnectingSocketOptions): ReconnectingSocket;

export declare function connectTask(taskId: string, options: ConnectOptions): Room<Task>;
export declare function connectBoard(
  options: ConnectOptions,
): Room<{ tasks: Task[]; next_cursor: string | null; analytics: Analytics }>;

export declare class ConflictError extends Error {
  /** The task as the server has it now. */
  readonly current: Task | null;
  readonly problem: unknown;
}

export declare class ApiError extends Error {
  readonly status: number;
  readonly problem: { type: string; title: string; status: number; detail: string; errors?: { field: string; message: string }[] } | null;
}

export interface ListParams {
  status?: TaskStatus;
  assignee?: string;
  tag?: string;
  q?: string;
  limit?: number;
  cursor?: string;
}

export interface ActivityEntry {
  id: number;
  kind: "created" | "updated" | "deleted";
  version: number;
  changed: TaskField[];
  from_status: TaskStatus | null;
  to_status: TaskStatus | null;
  actor: Actor;
  at: string;
  task: Task;
}

/**
 * `idempotencyKey` (1–255 printable ASCII; a UUID) makes a write safe to retry: the server
 * answers a repeat of the same request with the first response (plus `Idempotent-Replayed:
 * true`) and commits nothing new; the same key with another request is a 422, and while
 * the first request still runs a 409 with `Retry-After`.
 */
export interface WriteOptions {
  idempotencyKey?: string;
}

export interface RestClient {
  list(params?: ListParams): Promise<{ tasks: Task[]; next_cursor: string | null }>;
  get(id: string): Promise<Task>;
  create(task: Partial<Task> & { title: string }, options?: WriteOptions): Promise<Task>;
  /** Throws ConflictError on 412 when ifMatch is stale. */
  update(id: string, patch: Partial<Task>, options?: { ifMatch?: number } & WriteOptions): Promise<Task>;
  remove(id: string, options?: { ifMatch?: number } & WriteOptions): Promise<null>;
  activity(id: string, params?: { limit?: number; cursor?: string }): Promise<{ activity: ActivityEntry[]; next_cursor: string | null }>;
  analytics(): Promise<Analytics>;
}

export declare function restClient(options: ConnectOptions): RestClient;

// ---- The edit queue ------------------------------------------------------------------

/**
 * Queue limits: `maxEntries` (200) entries at most (past it, a change is refused with
 * QueueFullError); a request without an answer after `requestTimeoutMs` (30 s) counts as
 * lost and is sent again with the same key; who changed a conflicting field is looked up in
 * the last `activityPage` (100) entries of the task's activity; retries back off from
 * `retryFloorMs` with the reconnect backoff (BACKOFF).
 */
export declare const QUEUE: {
  readonly maxEntries: number;
  readonly requestTimeoutMs: number;
  readonly activityPage: number;
  readonly retryFloorMs: number;
};

/** A change refused because the queue is full; nothing was queued. */
export declare class QueueFullError extends Error {}

export type EntryState =
  /** waiting to be sent (again) */
  | "queued"
  /** on its way; left like this by a tab that died, it is sent again with the same key */
  | "sending"
  /** a 412 the merge could not settle: waits for resolve() or discard() */
  | "conflict"
  /** a 4xx other than 412, 401 or 404 (a 404 drops the task's entries): waits for discard() */
  | "refused";

export interface ConflictField {
  field: TaskField;
  /** What I saw when I changed it. */
  base: unknown;
  /** What I set (null for a delete). */
  mine: unknown;
  /** What the server has now. */
  theirs: unknown;
  /** Who set theirs, from the task's activity log; null if it could not be told. */
  by: Actor | null;
}

export interface QueueEntry {
  /** Names the entry for its whole life. */
  id: string;
  /** Replay order. A task's entries go one at a time, in order; tasks do not wait for each other. */
  order: number;
  /**
   * The Idempotency-Key sent with it. The same for every attempt of one request; a new one
   * only when the request changes after a 412 (merged, or resolved by the user).
   */
  key: string;
  kind: "create" | "update" | "delete";
  /** The task's id, or a create's temporary id until it commits (then re-pointed). */
  taskId: string;
  base: {
    /** The version sent in If-Match; null: "the version my pending create gets". */
    version: number | null;
    /** For each field the entry changes (every field, for a delete): the value the user saw. */
    values: Partial<Record<TaskField, unknown>>;
  };
  /** Update: the merge patch; create: the new task's fields; delete: {}. */
  patch: Partial<Task>;
  /** The task's title when the change was made, for listing it. */
  label: string;
  /** Who made the change, and when (RFC 3339). */
  by: Actor | null;
  at: string | null;
  state: EntryState;
  attempts: number;
  /** It was `sending` when its tab died; it was sent again with the same key. */
  interrupted: boolean;
  /** The last failure (no answer, 5xx, 409) or the refusal. */
  error: { status: number | null; type: string | null; title: string | null; detail: string; errors: { field: string; message: string }[] | null } | null;
  /** For `conflict`: the task now, what merged cleanly, and the fields to choose. */
  conflict: { current: Task; merged: Partial<Task>; fields: ConflictField[] } | null;
}

/** A task as the UI shows it: the server's, with my pending changes applied. */
export type ShownTask = Task & {
  /** Some change of mine to it waits to sync (a create made offline has `version` 0 and a temporary id). */
  pending?: true;
  /** A delete of it waits to sync (overlayList leaves it out). */
  deleted?: true;
};

export interface Acked {
  type: "acked";
  /** The entry that committed (or was settled by a merge or by "theirs"). */
  entry: QueueEntry;
  /** The task as the server answered (null for a delete). */
  task: Task | null;
  /** The task's (real) id. */
  taskId: string;
  /** A create: the temporary id it had until now. */
  tempId: string | null;
  /** The server answered with its replay of a first response that had committed. */
  replayed?: boolean;
  /** Nothing was sent: a 412 showed the server already had it all, or the user took theirs. */
  merged?: boolean;
}

export interface Dropped {
  type: "dropped";
  /** The task that is gone. */
  taskId: string;
  /** What was queued for it and will never be sent. */
  entries: QueueEntry[];
  /** "deleted": dropTask() was told of the delete; "gone": a write to the task answered 404. */
  reason: "deleted" | "gone";
}

export interface QueueEvents {
  /** The entries or the reachability changed (here or in another tab). */
  change: { entries: QueueEntry[]; reachable: boolean; syncing: boolean; paused: "unauthorized" | null };
  /** An entry committed, in this tab or another. */
  acked: Acked;
  /** A deleted task's entries were dropped, in this tab or another. */
  dropped: Dropped;
}

export interface EditQueue {
  /** Resolves once the stored entries have been read (a replay starts if there are any). */
  readonly ready: Promise<void>;
  on<K extends keyof QueueEvents>(type: K, handler: (value: QueueEvents[K]) => void): () => void;
  /** In replay order. */
  readonly entries: QueueEntry[];
  /** The browser is online and the last request got an answer. */
  readonly reachable: boolean;
  readonly syncing: boolean;
  /**
   * Queues a create and returns the pending task under a temporary id (a UUID) at once.
   * Throws QueueFullError.
   */
  create(fields: Partial<Task> & { title: string }): Promise<ShownTask>;
  /**
   * Queues an edit of `shown` (the task as the user saw it: overlay(serverTask), or a pending
   * create): its version is the If-Match, its values of the changed fields the merge base.
   * An edit of a task whose earlier entry was never sent is folded into that entry
   * ("coalesced"); one that changes nothing is not queued ("unchanged").
   */
  update(shown: ShownTask, patch: Partial<Task>): Promise<{ outcome: "queued" | "coalesced" | "unchanged"; entry: QueueEntry | null }>;
  /**
   * Queues a delete ("cancelled" if the task is a create that was never sent: both go;
   * "duplicate" if one is queued already). Unsent edits of the task are dropped.
   */
  remove(shown: ShownTask): Promise<{ outcome: "queued" | "cancelled" | "duplicate"; entry: QueueEntry | null }>;
  /** The task with my pending edits applied (tags merged as a set), marked `pending`. */
  overlay(task: Task): ShownTask;
  /** Pending creates first, then each task overlaid; pending deletes left out. */
  overlayList(tasks: Task[]): ShownTask[];
  /** The task a pending create stands for, by its temporary id; null when there is none. */
  pendingTask(tempId: string): ShownTask | null;
  /** The real id of a create that committed, by its temporary id (else the id itself). */
  realId(id: string): string;
  /**
   * Snapshots for a page reloaded offline: the last server copy of a task, and of the
   * (unfiltered) list, kept in the same database. Never sent anywhere; a failure to keep or
   * read one gives null. forgetSnapshots() (on sign-out) drops them; pending entries stay.
   */
  rememberTask(task: Task): Promise<void | null>;
  recallTask(id: string): Promise<Task | null>;
  rememberList(tasks: Task[]): Promise<void | null>;
  recallList(): Promise<Task[] | null>;
  forgetSnapshots(): Promise<void | null>;
  /**
   * Answers a conflict. An update: {field: "mine" | "theirs"} for each conflicting field
   * ("theirs" for a field without a choice); what is left is sent on top of the current
   * version under a new key. A delete: "mine" (or any field "mine") deletes anyway,
   * "theirs" keeps the task.
   */
  resolve(entryId: string, choices: Record<string, "mine" | "theirs"> | "mine" | "theirs"): Promise<"requeued" | "kept-theirs" | "gone">;
  /** Gives up an entry, and for a create that never committed, its task's other entries. */
  discard(entryId: string): Promise<QueueEntry[]>;
  /**
   * The task was deleted: drops every entry of it (none can apply any more) and tells
   * "dropped" listeners, here and in the other tabs. A 404 to a queued write does the same.
   */
  dropTask(taskId: string): Promise<QueueEntry[]>;
  /** Replays now (if the browser is online); resolves when this replay is over. */
  sync(): Promise<void>;
  close(): void;
}

/** Where the queue keeps its entries (and snapshots). `transact` applies a pure transition atomically. */
export interface QueueStore {
  read(): Promise<QueueEntry[]>;
  transact<R extends { entries: QueueEntry[] }>(transition: (entries: QueueEntry[]) => R): Promise<R & { changed: boolean }>;
  getSnapshot?(key: string): Promise<unknown>;
  putSnapshot?(key: string, value: unknown): Promise<void>;
  clearSnapshots?(): Promise<void>;
  close?(): void;
}

export interface EditQueueOptions extends Pick<ConnectOptions, "token" | "getToken" | "baseUrl" | "timers" | "random"> {
  /** Whose queue: one per user and workspace (database, lock and channel are named after it). */
  owner: { userId: string; workspaceId: string };
  /** Recorded as the `by` of each entry (defaults to the user id). */
  user?: Actor;
  /** Testing hooks. Defaults: IndexedDB, navigator.locks, a BroadcastChannel, fetch, crypto.randomUUID, navigator.onLine. */
  store?: QueueStore;
  locks?: { request(name: string, options: { mode: "exclusive" }, work: () => Promise<unknown>): Promise<unknown> } | null;
  channel?: { postMessage(message: unknown): void; onmessage: ((event: { data: unknown }) => void) | null; close(): void } | null;
  fetch?: typeof fetch;
  newId?: () => string;
  now?: () => string;
  onLine?: () => boolean;
  /** The cap on entries (QUEUE.maxEntries). */
  limit?: number;
}

/**
 * Opens the durable edit queue of one user in one workspace. Every create, edit and delete
 * made through it is stored (IndexedDB) before anything is sent, applied to what the UI shows
 * (overlay), and replayed in order with If-Match and Idempotency-Key when the server can be
 * reached (now, on the "online" event, on sync(), with backoff after a failure). A 412 is
 * merged field by field against the server's `current` (a field only I changed is reapplied,
 * one only they changed keeps theirs, the same change on both sides is dropped, tags merge as
 * a set); a field both changed differently becomes a conflict to resolve(). An entry leaves
 * the queue only after a 2xx (or the server's replay of one), a merge that leaves nothing to
 * send, or the user's resolve()/discard(). Every tab of the user shares it: replays hold the
 * Web Lock named after it, so no entry is sent by two tabs, and a BroadcastChannel keeps the
 * tabs' views current.
 */
export declare function openEditQueue(options: EditQueueOptions): EditQueue;
/** Counts of a queue's entries, for a status line. */
export declare function summarize(entries: QueueEntry[]): { total: number; waiting: number; conflicts: number; refused: number };
/**
 * The status line of a queue: "offline — 2 changes pending", "syncing 2 changes…", "1 change
 * needs your decision", "all changes synced" (after `hadChanges`), or "".
 */
export declare function statusLine(entries: QueueEntry[], state: { reachable: boolean; hadChanges?: boolean }): string;
/** One line per entry: "Edit “Plan” (title, tags)", "Create “Plan”", "Delete “Plan”". */
export declare function describeEntry(entry: QueueEntry, fieldLabel?: (field: string) => string): string;

/** The database, lock and channel name of a user's queue. */
export declare function queueName(owner: { userId: string; workspaceId: string }): string;
/** The IndexedDB store the queue uses by default (one database per name). */
export declare function indexedDbStore(name: string, idb?: IDBFactory): QueueStore;
/** A store in memory (tests; browsers without IndexedDB). */
export declare function memoryStore(initial?: QueueEntry[]): QueueStore;

// ---- Tokens ---------------------------------------------------------------------------

/** A token's payload (decoded, never verified), or null when it is not a JWS compact token. */
export declare function decodeClaims(token: string | null | undefined): Record<string, any> | null;
/** A token's `exp` in ms since the epoch, or null. */
export declare function tokenExpiresAt(token: string | null | undefined): number | null;
/** The display name by the server's rule: full_name, name, email's local part, sub. */
export declare function displayName(claims: Record<string, any> | null): string | null;
/** Whose edit queue a token's claims open: `{userId, workspaceId}`, or null. */
export declare function queueOwner(claims: Record<string, any> | null): { userId: string; workspaceId: string } | null;

// ---- The shared description (doc.js, textarea.js) --------------------------------------

/** "hero-tasks.doc.v1": the document socket's subprotocol (the token rides beside it as `bearer.<token>`). */
export declare const DOC_SUBPROTOCOL: "hero-tasks.doc.v1";
/** "description": the document's one root type, a Y.Text. */
export declare const DOC_ROOT: "description";
/** Close codes after which a document socket stops for good (4001 is decided by getToken: see openTaskDoc). */
export declare const DOC_TERMINAL_CLOSE_CODES: Readonly<Record<number, string>>;
/** The y-websocket message types: sync 0, awareness 1, auth 2, query awareness 3. */
export declare const DOC_MESSAGE: { readonly SYNC: 0; readonly AWARENESS: 1; readonly AUTH: 2; readonly QUERY_AWARENESS: 3 };
/** Local updates are merged and sent at most this often (ms). */
export declare const SEND_INTERVAL_MS: number;

export interface TaskDocOptions extends Pick<ConnectOptions, "token" | "getToken" | "baseUrl" | "timers" | "random" | "WebSocket" | "fetch"> {
  /** A Y.Doc of your own (default: a new one). */
  doc?: Y.Doc;
  /** Keep a copy in IndexedDB, so typing offline survives a reload (default: where IndexedDB exists). */
  persist?: boolean;
  /** The IndexedDB database of that copy (default: per user, workspace and task, from the token: docStoreName). */
  persistName?: string;
}

export type Closed = { reason: string; code: number };

export interface TaskDocEvents {
  status: ConnectionStatus;
  /** The server's copy is merged into this one (true), or the socket went (false). */
  synced: boolean;
  /** The copy kept on this device has been read. */
  loaded: true;
  /** The text holds the server's (synced now, or a kept copy that was synced once): show it, edit it. Once. */
  ready: true;
  /** Stopped for good: 4001 with no newer token, 4003, 4004, 4400, 4403, 1003, 1007, 1009, 401/403/404 before the upgrade, or 1000 (close()). */
  closed: Closed;
  /** The server refused an update (a viewer's); the socket stays open. */
  denied: { reason: string };
}

/** A task's shared document (openTaskDoc). */
export interface TaskDoc {
  readonly doc: Y.Doc;
  /** The Y.Text "description". */
  readonly text: Y.Text;
  /** y-protocols Awareness; its local state is null until set with `setLocalState`. */
  readonly awareness: Awareness;
  readonly status: ConnectionStatus;
  readonly synced: boolean;
  /** The text holds the server's: synced now, or a kept copy that was synced once (offline editing is safe). */
  readonly ready: boolean;
  readonly loaded: boolean;
  readonly closed: Closed | null;
  /** Resolves once the local copy has been read (or there is none). */
  readonly whenLoaded: Promise<void>;
  on<K extends keyof TaskDocEvents>(type: K, handler: (value: TaskDocEvents[K]) => void): () => void;
  /** Closes the socket for good; the Y.Doc and the local copy stay. */
  close(): void;
}

/**
 * Opens a task's shared document over the y-websocket protocol (`/ws/tasks/{id}/doc`):
 * getToken() before every connect (in the subprotocol, never the URL), reconnect with
 * backoff, a copy in IndexedDB. Opens on the next microtask.
 */
export declare function openTaskDoc(taskId: string, options?: TaskDocOptions): TaskDoc;
/** What a close the client did not ask for means for a document socket. */
export declare function classifyDocClose(
  close: { code: number; opened: boolean },
  how: { ask(): Promise<Closed | null>; renew(): Promise<boolean> },
): { terminal: Closed } | { floorMs: number } | Promise<{ terminal: Closed } | { floorMs: number }>;
/** The IndexedDB database name of one user's copy of a task's document. */
export declare function docStoreName(owner: { userId: string; workspaceId: string }, taskId: string): string;

/** A minimal edit: delete `remove` UTF-16 units at `index`, then insert `insert` there. */
export interface TextEdit {
  index: number;
  remove: number;
  insert: string;
}
/** A Yjs text delta, in the old text's positions. */
export type TextDelta = Array<{ retain?: number; insert?: string | object; delete?: number }>;

export interface BindTextareaOptions {
  /** Show remote edits, undo local input (a viewer). */
  readOnly?: boolean;
  /** Told after each local edit went into the Y.Text. */
  onLocalEdit?: (edit: TextEdit) => void;
}
/**
 * Binds a textarea (or input) to a Y.Text both ways: local input as minimal edits, remote
 * edits with the caret and selection kept. Returns the function that unbinds.
 */
export declare function bindTextarea(textarea: HTMLTextAreaElement | HTMLInputElement, text: Y.Text, options?: BindTextareaOptions): () => void;
/** The minimal edit from `before` to `after` (common prefix and suffix), placed at `caret` among equal characters. */
export declare function diffText(before: string, after: string, caret?: number): TextEdit;
/** Where `pos` of the old text is after `delta`; an insert exactly at `pos` moves it when `stickRight` (default). */
export declare function mapPosition(pos: number, delta: TextDelta, stickRight?: boolean): number;
/** A selection after `delta`: a caret sticks right; a range keeps inserts at its ends outside. */
export declare function mapSelection(selection: { start: number; end: number }, delta: TextDelta): { start: number; end: number };

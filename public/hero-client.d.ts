// Types for hero-client.js. The wire protocol is described in docs/protocol.md.

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
}

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
  /** Testing hooks: the clock and timers, the jitter source, and the WebSocket class. */
  timers?: Partial<Timers>;
  random?: () => number;
  WebSocket?: new (url: string, protocols?: string | string[]) => WebSocket;
}

export declare const BACKOFF: { readonly startMs: 500; readonly factor: 2; readonly capMs: 30000 };
export declare const KEEPALIVE_MS: number;
export declare const PONG_TIMEOUT_MS: number;
/** "hero-tasks.v1": the subprotocol offered (with `bearer.<token>`) and selected by the server. */
export declare const SUBPROTOCOL: "hero-tasks.v1";
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

export interface RestClient {
  list(params?: ListParams): Promise<{ tasks: Task[]; next_cursor: string | null }>;
  get(id: string): Promise<Task>;
  create(task: Partial<Task> & { title: string }): Promise<Task>;
  /** Throws ConflictError on 412 when ifMatch is stale. */
  update(id: string, patch: Partial<Task>, options?: { ifMatch?: number }): Promise<Task>;
  remove(id: string, options?: { ifMatch?: number }): Promise<null>;
  activity(id: string, params?: { limit?: number; cursor?: string }): Promise<{ activity: ActivityEntry[]; next_cursor: string | null }>;
  analytics(): Promise<Analytics>;
}

export declare function restClient(options: ConnectOptions): RestClient;

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

export interface RoomEvents<Reloaded> {
  status: ConnectionStatus;
  /** Why the connection ended for good (terminal close code, 401/404 before upgrade, or close()). */
  closed: { reason: string; code: number };
  welcome: Welcome;
  event: TaskEvent;
  task_created: Extract<TaskEvent, { type: "task_created" }>;
  task_updated: Extract<TaskEvent, { type: "task_updated" }>;
  task_status_changed: Extract<TaskEvent, { type: "task_status_changed" }>;
  task_deleted: Extract<TaskEvent, { type: "task_deleted" }>;
  presence: PresenceEntry[];
  user_joined: { type: "user_joined"; user: UserInfo; connections: number };
  user_left: { type: "user_left"; user_id: string };
  typing: { type: "typing"; user_id: string; field: TaskField; active: boolean };
  editing: { type: "editing"; user_id: string; field: TaskField | null };
  analytics: Analytics;
  /** After a `resync`: fresh data from REST, emitted once. */
  reloaded: Reloaded;
  error: { code: string; message: string; id?: string | number };
}

export interface Room<Reloaded> {
  on<K extends keyof RoomEvents<Reloaded>>(type: K, handler: (value: RoomEvents<Reloaded>[K]) => void): () => void;
  readonly status: ConnectionStatus;
  readonly lastSeq: number | null;
  readonly presence: PresenceEntry[];
  /** Sends now or not at all (never queued while offline). Returns whether it was sent. */
  sendTyping(field: TaskField, active: boolean): boolean;
  setEditing(field: TaskField | null): boolean;
  close(): void;
}

export interface ConnectOptions {
  /** A fixed token... */
  token?: string;
  /** ...or a function asked again before every (re)connect, so a refreshed token is used. */
  getToken?: () => string | Promise<string>;
  /** Defaults to the page's origin. */
  baseUrl?: string;
  /** Resume from this seq on the first connect. */
  since?: number;
}

export declare const BACKOFF: { readonly startMs: 500; readonly factor: 2; readonly capMs: 30000 };
export declare const KEEPALIVE_MS: number;
export declare const PONG_TIMEOUT_MS: number;
/** The close codes that end a room for good: 4001 (token expired) and 4004 (task deleted). */
export declare const TERMINAL_CLOSE_CODES: Readonly<Record<number, string>>;
export declare function backoffDelay(attempt: number, random?: () => number): number;
/** The messages one frame carries: a `batch` frame's events in order, or the frame itself. */
export declare function unpackFrame(message: { type: string; events?: unknown[] }): unknown[];

/** The presence messages the server sends (docs/protocol.md). */
export type PresenceMessage =
  | { type: "welcome" | "presence"; presence: PresenceEntry[] }
  | { type: "user_joined"; user: UserInfo; connections: number }
  | { type: "user_left"; user_id: string }
  | { type: "editing"; user_id: string; field: TaskField | null };
/**
 * The presence list after one server message, by the server's rule (one entry per user,
 * `editing` the sorted union over their connections). `welcome` and `presence` replace the
 * list; `editing` for a user with several connections keeps their other fields until the
 * next full list. Any other message returns `list` unchanged. Rooms apply it for you
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

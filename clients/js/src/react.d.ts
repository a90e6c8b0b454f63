// Types for @hero-tasks/client/react (react.js): the client the hooks share, the provider,
// and the hooks. React 18 or newer.

import type { ReactElement, ReactNode, RefCallback } from "react";
import type * as Y from "yjs";
import type { Awareness } from "y-protocols/awareness";
import type {
  Acked,
  Analytics,
  ConnectionStatus,
  EditQueue,
  EditQueueOptions,
  PresenceEntry,
  QueueEntry,
  RestClient,
  ShownTask,
  Task,
  TaskEvent,
  TaskField,
  TaskPresence,
  TaskDocOptions,
  TextEdit,
  Timers,
  UserInfo,
  WebSocketClass,
} from "./index.js";

/** A room's status in a hook: "idle" on the server and on the first render, then the socket's. */
export type RoomStatus = "idle" | ConnectionStatus;

/** Why a room ended for good (a terminal close code, 401/403/404 before the upgrade, or 1000). */
export interface Closed {
  reason: string;
  code: number;
}

/** Someone else typing in a field of the task. */
export interface Typer {
  user_id: string;
  name: string;
  field: TaskField;
}

/** Someone else editing a field of the task (from the presence list). */
export interface Editor {
  user: UserInfo;
  field: TaskField;
}

export interface TaskRoomState {
  /** The task: loaded over REST once the room is joined, then kept live; `initialTask` until then. */
  readonly task: Task | null;
  readonly status: RoomStatus;
  /** The terminal close (4001 token expired, 4003, 4004 task deleted, 401/403/404), or null. */
  readonly closed: Closed | null;
  /** Who is here, one entry per user: [{user, connections, editing}]. */
  readonly presence: readonly PresenceEntry[];
  /** Who else is typing, and where; cleared whenever the socket is not open. */
  readonly typing: readonly Typer[];
  /** Who else is editing which field. */
  readonly editing: readonly Editor[];
  /** The last durable event's seq seen (what a reconnect resumes from). */
  readonly lastSeq: number | null;
}

export interface BoardState {
  /** The workspace's newest tasks (up to 200), newest first, kept live. */
  readonly tasks: readonly Task[];
  readonly analytics: Analytics | null;
  /** Task id → the users in that task's room (tasks with nobody are absent). */
  readonly taskPresence: TaskPresence;
  /** Who has the board open. */
  readonly presence: readonly PresenceEntry[];
  readonly status: RoomStatus;
  readonly closed: Closed | null;
}

export interface HeroClientOptions {
  /** The server's origin; the page's by default. */
  baseUrl?: string;
  /** Asked before every connect, every refresh in place and every REST call. */
  getToken?: () => string | Promise<string>;
  /** Testing hooks (or another runtime's): the WebSocket class, the clock and timers, fetch, the jitter. */
  WebSocket?: WebSocketClass;
  timers?: Partial<Timers>;
  fetch?: typeof fetch;
  random?: () => number;
  /** How long a room nobody uses stays open in case someone comes back (ms, default GRACE_MS). */
  graceMs?: number;
  /** Passed on to openEditQueue (store, locks, channel, newId, now, onLine, limit…). */
  queue?: Partial<Omit<EditQueueOptions, "owner" | "user" | "getToken" | "token" | "baseUrl">>;
  /** Passed on to openTaskDoc for every shared text (persist, persistName). */
  doc?: Pick<TaskDocOptions, "persist" | "persistName">;
}

/**
 * What the hooks share: one room per task, one board and one edit queue per user, each
 * opened by the first component that uses it and closed GRACE_MS after the last one leaves.
 * Make it at module scope: it opens nothing until a component subscribes.
 */
export interface HeroClient {
  /** The REST client, with the same token and server. */
  readonly rest: RestClient;
  /** Swaps the token function; open rooms use it from their next connect or refresh on. */
  setGetToken(getToken: () => string | Promise<string>): void;
  /** How many rooms and queues are open (in use, or in their grace period). */
  readonly openCount: number;
  /** Closes every room and queue now. */
  close(): void;
}

export declare function createHeroClient(options?: HeroClientOptions): HeroClient;

/** Provides the client to the hooks. Rendering it opens nothing. */
export declare function HeroProvider(props: { client: HeroClient; children?: ReactNode }): ReactElement;

/** The client of the nearest HeroProvider (throws without one). */
export declare function useHeroClient(): HeroClient;

/** The default grace period before an unused room or queue is closed: 2000 ms. */
export declare const GRACE_MS: number;
/** setTyping sends a frame at most this often per field while typing goes on: 2000 ms. */
export declare const TYPING_RESEND_MS: number;
/** useConnectionStatus("board"): the board's status. */
export declare const BOARD: "board";

/** A task's room. Pass `enabled: false` to hold nothing (status stays "idle"). */
export declare function useTaskRoom(taskId: string | null | undefined, options?: { initialTask?: Task | null; enabled?: boolean }): TaskRoomState;

/** Who is in a task's room; with `selector`, what it picks (kept while `isEqual` says it is the same). */
export declare function usePresence(taskId: string | null | undefined): readonly PresenceEntry[];
export declare function usePresence<T>(taskId: string | null | undefined, selector: (presence: readonly PresenceEntry[]) => T, isEqual?: (a: T, b: T) => boolean): T;

/** Who else is typing, and `setTyping(field, active)` for me (one frame per TYPING_RESEND_MS; the stop at once). */
export declare function useTyping(taskId: string | null | undefined): { typing: readonly Typer[]; setTyping(field: TaskField, active: boolean): boolean };

/** Who else edits `field`, and start()/stop() for me (unmounting while editing stops). */
export declare function useFieldEditing(taskId: string | null | undefined, field: TaskField): { editors: readonly UserInfo[]; start(): boolean; stop(): boolean };

/** Calls the latest `handler` for each durable event of the task; a new handler never resubscribes. */
export declare function useTaskEvents(taskId: string | null | undefined, handler: (event: TaskEvent) => void): void;

/** The workspace board. */
export declare function useBoard(options?: { enabled?: boolean }): BoardState;

/** A task room's status (by its id), or the board's ("board"). */
export declare function useConnectionStatus(taskIdOrBoard: string | null | undefined): RoomStatus;

export interface EditQueueState {
  readonly entries: readonly QueueEntry[];
  /** The browser is online and the last request got an answer. */
  readonly reachable: boolean;
  readonly syncing: boolean;
  readonly paused: "unauthorized" | null;
  /** The queue itself, once the component has mounted (null before, and on the server). */
  readonly queue: EditQueue | null;
  create: EditQueue["create"];
  update: EditQueue["update"];
  remove: EditQueue["remove"];
  resolve: EditQueue["resolve"];
  discard: EditQueue["discard"];
  sync: EditQueue["sync"];
  /** The task with my pending edits applied (the task itself before the queue opens). */
  overlay(task: Task): ShownTask;
  overlayList(tasks: Task[]): ShownTask[];
  pendingTask(tempId: string): ShownTask | null;
  realId(id: string): string;
}

/**
 * One user's edit queue in one workspace (openEditQueue), shared by every component that
 * asks for the same user and workspace. Calls made before it opens reject. `onAcked` hears
 * each entry that commits (here or in another tab).
 */
export declare function useEditQueue(owner: {
  userId: string | null | undefined;
  workspaceId: string | null | undefined;
  /** Recorded as the name of who made each change (default: the user id). */
  name?: string;
  onAcked?: (message: Acked) => void;
}): EditQueueState;

/** A task's shared text in a hook (useSharedText). */
export interface SharedTextState {
  /** The Y.Text "description": null on the server and until the component has mounted; then the same object while the task is. */
  readonly text: Y.Text | null;
  readonly doc: Y.Doc | null;
  /** y-protocols Awareness of the document (local state null until set). */
  readonly awareness: Awareness | null;
  readonly status: RoomStatus;
  /** The server's copy is merged in (since the last connect). */
  readonly synced: boolean;
  /** The text holds the server's (synced now, or a copy kept on this device that was): show it, edit it. */
  readonly ready: boolean;
  /** Why it stopped for good (4001 with no newer token, 4003, 4004, 4400, 4403, 401/403/404), or null. */
  readonly closed: Closed | null;
}

/**
 * A task's shared text (only "description" exists), over one document socket per task and
 * client. The snapshot changes with the connection, not with each keystroke.
 */
export declare function useSharedText(taskId: string | null | undefined, field?: "description"): SharedTextState;

/**
 * A ref callback that binds the element to the shared text once it is ready: local input
 * as minimal edits, remote edits with the caret and selection kept.
 */
export declare function useTextareaBinding(
  shared: Pick<SharedTextState, "text" | "ready"> | null | undefined,
  options?: { readOnly?: boolean; onLocalEdit?: (edit: TextEdit) => void },
): RefCallback<HTMLTextAreaElement | HTMLInputElement>;

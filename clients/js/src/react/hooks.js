// The hooks. Each reads its state with useSyncExternalStore from the client's resources
// (./client.js): snapshots are frozen and keep their identity until something changes, the
// server snapshot (and the first render's) is the frozen idle one, and subscribing, which
// React does in an effect, is what holds a resource open. Selector hooks take `isEqual`.
// Handlers sit behind refs: a new function never resubscribes, only a new task id or client.

import { createContext, createElement, useCallback, useContext, useEffect, useInsertionEffect, useMemo, useRef, useState, useSyncExternalStore } from "react";
import { bindTextarea } from "../textarea.js";
import { DOC_ROOT } from "../protocol.js";
import { BOARD, docKey, queueKey, taskKey } from "./client.js";

const HeroContext = createContext(null);

/** Provides `client` (from createHeroClient, made at module scope) to the hooks. Opens nothing. */
export function HeroProvider({ client, children }) {
  return createElement(HeroContext.Provider, { value: client }, children);
}

/** The client the nearest HeroProvider gives. */
export function useHeroClient() {
  const client = useContext(HeroContext);
  if (!client) throw new Error("@hero-tasks/client/react: wrap your app in <HeroProvider client={createHeroClient(…)}>");
  return client;
}

const identity = (value) => value;
const noop = () => {};
const unsubscribed = () => noop;

/** The latest `value`, for callbacks that must not change identity when it does. */
function useLatest(value) {
  const ref = useRef(value);
  useInsertionEffect(() => {
    ref.current = value;
  });
  return ref;
}

/**
 * useSyncExternalStore over the client's resource at `key`, through `selector`; a selection
 * `isEqual` to the last one is returned as that same value (React's with-selector rule).
 */
function useResource(key, { enabled = true, selector = identity, isEqual, extra } = {}) {
  const client = useHeroClient();
  const extraRef = useLatest(extra);
  const subscribe = useMemo(() => (enabled ? (listener) => client.subscribe(key, listener, extraRef.current) : unsubscribed), [client, key, enabled, extraRef]);
  const getSnapshot = useCallback(() => (enabled ? client.snapshot(key) : client.idle(key)), [client, key, enabled]);
  const getServerSnapshot = useCallback(() => client.idle(key), [client, key]);
  const last = useRef({ has: false, value: undefined });
  const [select, selectServer] = useMemo(() => {
    let memo = null; // {snapshot, selection}
    const pick = (snapshot) => {
      if (memo && Object.is(memo.snapshot, snapshot)) return memo.selection;
      const next = selector(snapshot);
      const previous = memo ? memo.selection : last.current.has ? last.current.value : undefined;
      const keep = (memo || last.current.has) && isEqual && isEqual(previous, next);
      memo = { snapshot, selection: keep ? previous : next };
      return memo.selection;
    };
    return [() => pick(getSnapshot()), () => pick(getServerSnapshot())];
  }, [getSnapshot, getServerSnapshot, selector, isEqual]);
  const value = useSyncExternalStore(subscribe, select, selectServer);
  useEffect(() => {
    last.current = { has: true, value };
  }, [value]);
  return value;
}

/**
 * A task's room: `{task, status, closed, presence, typing, editing, lastSeq}`. `status` is
 * "idle" on the server and on the first render, then connecting | open | reconnecting |
 * offline | closed; `closed` is the terminal close ({reason, code}) or null. `initialTask`
 * stands in for `task` until the room has one.
 */
export function useTaskRoom(taskId, { initialTask = null, enabled = true } = {}) {
  const snapshot = useResource(taskKey(taskId), { enabled: enabled && Boolean(taskId) });
  const overlay = useRef(null);
  if (snapshot.task || !initialTask) return snapshot;
  // The same object while the snapshot and the initial task's version stay the same.
  const o = overlay.current;
  if (!o || o.snapshot !== snapshot || o.id !== initialTask.id || o.version !== initialTask.version) {
    overlay.current = { snapshot, id: initialTask.id, version: initialTask.version, value: Object.freeze({ ...snapshot, task: initialTask }) };
  }
  return overlay.current.value;
}

const selectPresence = (snapshot) => snapshot.presence;

/** Who is in a task's room ([{user, connections, editing}]), through `selector` and `isEqual`. */
export function usePresence(taskId, selector, isEqual) {
  const select = useMemo(() => (selector ? (snapshot) => selector(snapshot.presence) : selectPresence), [selector]);
  return useResource(taskKey(taskId), { enabled: Boolean(taskId), selector: select, isEqual });
}

const selectTyping = (snapshot) => snapshot.typing;

/**
 * Who else is typing in a task (`typing`: [{user_id, name, field}]), and `setTyping(field,
 * active)` for me: call it on every keystroke; it sends at most one frame every 2 s per
 * field, and at once when typing stops.
 */
export function useTyping(taskId) {
  const client = useHeroClient();
  const typing = useResource(taskKey(taskId), { enabled: Boolean(taskId), selector: selectTyping });
  const setTyping = useCallback((field, active) => client.resource(taskKey(taskId))?.setTyping(field, active) ?? false, [client, taskId]);
  return useMemo(() => ({ typing, setTyping }), [typing, setTyping]);
}

const sameUsers = (a, b) => a === b || (a.length === b.length && a.every((user, i) => user.id === b[i].id && user.name === b[i].name));

/**
 * Who else is editing `field` of a task (`editors`: users), and `start()` / `stop()` for
 * me (on focus and blur). Unmounting while editing stops.
 */
export function useFieldEditing(taskId, field) {
  const client = useHeroClient();
  const select = useCallback((snapshot) => snapshot.editing.filter((e) => e.field === field).map((e) => e.user), [field]);
  const editors = useResource(taskKey(taskId), { enabled: Boolean(taskId), selector: select, isEqual: sameUsers });
  const key = taskKey(taskId);
  const start = useCallback(() => client.resource(key)?.setEditing(field) ?? false, [client, key, field]);
  const stop = useCallback(() => {
    const resource = client.resource(key);
    return resource?.editingField === field ? resource.setEditing(null) : false;
  }, [client, key, field]);
  useEffect(() => stop, [stop]);
  return useMemo(() => ({ editors, start, stop }), [editors, start, stop]);
}

/**
 * Calls `handler(event)` for each durable event of a task (task_created | task_updated |
 * task_status_changed | task_deleted). The latest handler is always the one called, with
 * no resubscribe; a new task id drops the old room's events, late ones included.
 */
export function useTaskEvents(taskId, handler) {
  const client = useHeroClient();
  const latest = useLatest(handler);
  useEffect(() => {
    if (!taskId) return undefined;
    return client.use(taskKey(taskId), (resource) => resource.onEvent((event) => latest.current?.(event)));
  }, [client, taskId, latest]);
}

/** The workspace board: `{tasks, analytics, taskPresence, presence, status, closed}`. */
export function useBoard({ enabled = true } = {}) {
  return useResource(BOARD, { enabled });
}

const selectStatus = (snapshot) => snapshot.status;

/** The connection status of a task's room (its id) or of the board ("board"). */
export function useConnectionStatus(taskIdOrBoard) {
  const key = taskIdOrBoard === BOARD ? BOARD : taskKey(taskIdOrBoard);
  return useResource(key, { enabled: Boolean(taskIdOrBoard), selector: selectStatus });
}

const notOpen = () => Promise.reject(new Error("the edit queue is not open yet (it opens once the component has mounted)"));

function queueView(snapshot) {
  const { queue } = snapshot;
  return Object.freeze({
    entries: snapshot.entries,
    reachable: snapshot.reachable,
    syncing: snapshot.syncing,
    paused: snapshot.paused,
    queue,
    create: (fields) => (queue ? queue.create(fields) : notOpen()),
    update: (shown, patch) => (queue ? queue.update(shown, patch) : notOpen()),
    remove: (shown) => (queue ? queue.remove(shown) : notOpen()),
    resolve: (entryId, choices) => (queue ? queue.resolve(entryId, choices) : notOpen()),
    discard: (entryId) => (queue ? queue.discard(entryId) : notOpen()),
    sync: () => (queue ? queue.sync() : Promise.resolve()),
    overlay: (task) => (queue && task ? queue.overlay(task) : task),
    overlayList: (tasks) => (queue ? queue.overlayList(tasks) : tasks),
    pendingTask: (id) => (queue ? queue.pendingTask(id) : null),
    realId: (id) => (queue ? queue.realId(id) : id),
  });
}

/**
 * The edit queue of one user in one workspace (openEditQueue): `{entries, reachable,
 * syncing, paused, queue}` and its calls (create, update, remove, resolve, discard, sync)
 * with the overlay helpers (overlay, overlayList, pendingTask, realId). `onAcked` hears each
 * entry that commits. Pass `{userId: null}` (or no workspace) to hold none.
 */
export function useEditQueue({ userId, workspaceId, name, onAcked } = {}) {
  const client = useHeroClient();
  const owner = userId && workspaceId ? { userId, workspaceId, name } : null;
  const key = owner ? queueKey(owner) : "queue:";
  const snapshot = useResource(key, { enabled: Boolean(owner), extra: owner });
  const latest = useLatest(onAcked);
  const hasAcked = Boolean(onAcked);
  useEffect(() => {
    if (!owner || !hasAcked) return undefined;
    return client.use(key, (resource) => resource.onAcked((message) => latest.current?.(message)), owner);
    // `owner` is rebuilt each render; `key` stands for it.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [client, key, hasAcked, latest]);
  return useMemo(() => queueView(snapshot), [snapshot]);
}

/**
 * A task's shared text (the description): `{text, doc, awareness, status, synced, ready,
 * closed}`. `text` is the Y.Text (null on the server and until the component has mounted);
 * it and `doc` keep their identity while the task does, and the snapshot changes with the
 * connection, not with each keystroke. `ready`: the text holds the server's (synced now,
 * or a copy kept on this device that was), so it can be shown and edited. One document
 * socket per task and client, shared by every component that asks for it.
 */
export function useSharedText(taskId, field = DOC_ROOT) {
  if (field !== DOC_ROOT) throw new Error(`@hero-tasks/client/react: the shared text of a task is "${DOC_ROOT}", not "${field}"`);
  return useResource(docKey(taskId), { enabled: Boolean(taskId) });
}

/**
 * Binds a <textarea> (or <input>) to a shared text, both ways, with the caret and selection
 * kept under remote edits (bindTextarea). Pass what useSharedText returned: it binds once
 * the text is `ready` (until then the element shows what you rendered into it), and again
 * for another text. Returns a ref callback: `<textarea ref={useTextareaBinding(shared)} />`.
 * `readOnly` (a viewer) shows remote edits and undoes local input; `onLocalEdit(edit)` hears
 * each local edit (the latest function is called, with no rebinding).
 */
export function useTextareaBinding(shared, { readOnly = false, onLocalEdit } = {}) {
  const [element, setElement] = useState(null);
  const latest = useLatest(onLocalEdit);
  const text = shared?.ready ? shared.text : null;
  useEffect(() => {
    if (!element || !text) return undefined;
    return bindTextarea(element, text, { readOnly, onLocalEdit: (edit) => latest.current?.(edit) });
  }, [element, text, readOnly, latest]);
  return setElement;
}

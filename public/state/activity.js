// Task activity log: live durable events turned into the exact entries that
// `GET /api/tasks/{id}/activity` returns (the Rust `task_activity` handler), and the one text
// rendering used for both. Pure (no DOM, no I/O), so node tests can compare the two.
//
// REST entry: {id, kind, version, changed, from_status, to_status, actor: {id, name}, at, task}.
// A live entry has no `id` (the change record's number is not on the wire); every other
// field is the same. One update is one entry: the server sends `task_updated` and, when
// the status moved, `task_status_changed` with the next seq; the second is folded into
// the first's entry as `from_status`/`to_status`, as the REST entry has them.

import { fieldLabel, statusLabel } from "./fields.js";

const actorOf = (actor) => ({ id: actor.id, name: actor.name });

function entry(kind, { version, changed = [], from = null, to = null, actor, at, task }) {
  const shaped = { kind, version, changed: [...changed], from_status: from, to_status: to, actor: actorOf(actor), at };
  if (task) shaped.task = task;
  return shaped;
}

/**
 * The entry a created/updated/deleted event stands for; null for other events.
 * `knownTask` is the task as the caller last saw it: a `task_deleted` event carries only
 * the id, and the REST entry of a delete holds the deleted task.
 */
export function entryFromEvent(event, knownTask = null) {
  if (!event) return null;
  const { actor, at } = event;
  switch (event.type) {
    case "task_created":
      return entry("created", { version: event.task.version, actor, at, task: event.task });
    case "task_updated":
      return entry("updated", { version: event.task.version, changed: event.changed, actor, at, task: event.task });
    case "task_deleted": {
      // The server records the tombstone: the last version plus one, stamped at the delete
      // (the Rust delete handler). From the task as we last saw it, that is exact.
      const known = knownTask?.id === event.task_id ? knownTask : null;
      const task = known && { ...known, version: known.version + 1, updated_at: at };
      return entry("deleted", { version: task?.version ?? null, actor, at, task });
    }
    default:
      return null;
  }
}

/** Newest first. `lastUpdate` ({seq, version}) is the last task_updated applied, for the status move after it. */
export const emptyActivity = Object.freeze({ entries: Object.freeze([]), lastUpdate: null });

/**
 * A page from REST replaces what we held, except live entries newer than anything in it
 * (they arrived while the request was in flight), which stay on top.
 */
export function activityFromRest(state, restEntries) {
  const newest = Math.max(0, ...restEntries.map((e) => e.version ?? 0));
  const live = state.entries.filter((e) => e.id === undefined && (e.version ?? 0) > newest);
  return { entries: [...live, ...restEntries], lastUpdate: state.lastUpdate };
}

function applyStatusMove(state, event, knownTask) {
  const { lastUpdate } = state;
  if (lastUpdate && lastUpdate.seq === event.seq - 1) {
    const index = state.entries.findIndex((e) => e.kind === "updated" && e.version === lastUpdate.version);
    if (index !== -1) {
      const update = state.entries[index];
      if (update.from_status) return { ...state, lastUpdate: null }; // REST already had it
      const merged = { ...update, from_status: event.from, to_status: event.to };
      return { entries: state.entries.map((e, i) => (i === index ? merged : e)), lastUpdate: null };
    }
  }
  // The task_updated before it was never seen (the protocol sends both, in order, so this
  // is a safety net): show the move alone, as a status-only update reads.
  const task = knownTask?.id === event.task_id ? knownTask : null;
  const alone = entry("updated", { version: task?.version ?? null, changed: ["status"], from: event.from, to: event.to, actor: event.actor, at: event.at });
  return { entries: [alone, ...state.entries], lastUpdate: null };
}

/** The log after one live durable event. */
export function applyActivityEvent(state, event, knownTask = null) {
  if (event?.type === "task_status_changed") return applyStatusMove(state, event, knownTask);
  const next = entryFromEvent(event, knownTask);
  if (!next) return state;
  const lastUpdate = event.type === "task_updated" ? { seq: event.seq, version: next.version } : null;
  // Already listed: the REST page was read after this change committed.
  const listed = next.version !== null && state.entries.some((e) => e.kind === next.kind && e.version === next.version);
  return { entries: listed ? state.entries : [next, ...state.entries], lastUpdate };
}

/**
 * What an entry says, live or reloaded alike, in the words the form uses:
 * "Ana changed title, status (to do → in progress)".
 */
export function activityText(entry) {
  const who = entry.actor.name;
  if (entry.kind === "created") return `${who} created the task`;
  if (entry.kind === "deleted") return `${who} deleted the task`;
  const status = entry.from_status ? ` (${statusLabel(entry.from_status)} → ${statusLabel(entry.to_status)})` : "";
  return `${who} changed ${entry.changed.map(fieldLabel).join(", ")}${status}`;
}

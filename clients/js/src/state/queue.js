// The edit queue's state: the pending creates, edits and deletes of one user in one
// workspace, and every transition they go through. Pure (no DOM, no I/O, no clock, no
// randomness: ids, keys and times come in as arguments), so node tests check each rule and
// the queue in ../edit-queue.js only stores what these functions return.
//
// An entry:
//   {id, order, key, kind: "create" | "update" | "delete", taskId,
//    base: {version, values}, patch, label, by: {id, name}, at,
//    state: "queued" | "sending" | "conflict" | "refused", attempts, interrupted,
//    error: {status, title, detail} | null, conflict: {...} | null}
// - `id` names the entry for its whole life; `key` is its Idempotency-Key, which changes only
//   when the request itself changes after the server refused the last one (a 412), never
//   between attempts of one request, so a retry of a request that did commit is answered
//   with the first response instead of committing twice.
// - `taskId` is the task's id, or for a create made offline the temporary id its card and
//   later edits use until it commits (then every entry is re-pointed to the real id).
// - `base.version` is what `If-Match` says (null: "the version my pending create gets");
//   `base.values` holds, for each field the entry changes, the value the user saw when they
//   changed it: what a 412 is merged against (./merge.js).
// - `order` is the replay order. Entries of one task replay strictly one after another;
//   entries of different tasks do not wait for each other (a conflict on one task does not
//   hold up another).
//
// Every transition takes the entries (sorted by order) and returns {entries, ...}; an entry
// it does not change is returned as the same object, so a store can write only the ones
// that differ.

import { mergeTags, sameFieldValue } from "./merge.js";

/** How many entries the queue holds at most; past it, new edits are refused with a message. */
export const MAX_ENTRIES = 200;

/** The states an entry goes through. */
export const STATE = Object.freeze({ queued: "queued", sending: "sending", conflict: "conflict", refused: "refused" });

const byOrder = (a, b) => a.order - b.order;

export function sortEntries(entries) {
  return [...entries].sort(byOrder);
}

const nextOrder = (entries) => entries.reduce((max, e) => Math.max(max, e.order), 0) + 1;
const isUntouched = (entry) => entry.state === STATE.queued && entry.attempts === 0;
const entriesOf = (entries, taskId) => entries.filter((e) => e.taskId === taskId);

/** The patch without the fields whose value equals what the user saw (a change undone). */
export function prunePatch(base, patch) {
  return Object.fromEntries(Object.entries(patch).filter(([field, value]) => !sameFieldValue(field, value, base?.[field])));
}

const pick = (task, fields) => Object.fromEntries(fields.map((field) => [field, task?.[field] ?? null]));

/**
 * Adds a create, update or delete. `draft`: {id, key, kind, taskId, base, patch, label, by,
 * at}. Returns {entries, entry, outcome}:
 * - "queued": a new entry (`entry`);
 * - "coalesced": folded into an earlier entry of the same task that was never sent (an
 *   update into the create or the update before it; `entry` is that entry, changed);
 * - "cancelled": a delete of a task whose create was never sent: both are gone;
 * - "unchanged": an update that changes nothing (every field back to what the user saw);
 * - "duplicate": a delete of a task that already has one queued;
 * - "full": the queue holds `limit` entries; nothing was added.
 * Only entries never sent are folded: one that was sent may have committed, and its key
 * must keep naming exactly the request that was sent.
 */
export function enqueue(entries, draft, { limit = MAX_ENTRIES } = {}) {
  const mine = entriesOf(entries, draft.taskId);
  const last = mine[mine.length - 1];
  if (draft.kind === "update") {
    const patch = prunePatch(draft.base?.values, draft.patch);
    if (last && isUntouched(last) && (last.kind === "create" || last.kind === "update")) {
      const folded = foldUpdate(last, { ...draft, patch });
      if (Object.keys(folded.patch).length === 0 && folded.kind === "update") {
        return { entries: entries.filter((e) => e !== last), entry: null, outcome: "unchanged" };
      }
      return { entries: entries.map((e) => (e === last ? folded : e)), entry: folded, outcome: "coalesced" };
    }
    if (Object.keys(patch).length === 0) return { entries, entry: null, outcome: "unchanged" };
    draft = { ...draft, patch };
  }
  if (draft.kind === "delete") {
    const create = mine.find((e) => e.kind === "create");
    if (create && isUntouched(create)) {
      return { entries: entries.filter((e) => e.taskId !== draft.taskId), entry: null, outcome: "cancelled" };
    }
    if (mine.some((e) => e.kind === "delete")) return { entries, entry: null, outcome: "duplicate" };
    // Edits never sent are moot once the task is deleted; ones that were sent stay (they
    // may have committed, and the delete's If-Match is decided after them). The fields the
    // dropped edits changed read again as the server has them.
    const moot = new Set(mine.filter((e) => e.kind === "update" && isUntouched(e)));
    if (moot.size) {
      entries = entries.filter((e) => !moot.has(e));
      draft = { ...draft, base: { version: draft.base?.version ?? null, values: { ...draft.base?.values, ...restoreBase(moot) } } };
    }
  }
  if (entries.length >= limit) return { entries, entry: null, outcome: "full" };
  const entry = {
    id: draft.id,
    order: nextOrder(entries),
    key: draft.key,
    kind: draft.kind,
    taskId: draft.taskId,
    base: { version: draft.base?.version ?? null, values: { ...(draft.base?.values ?? {}) } },
    patch: { ...(draft.patch ?? {}) },
    label: draft.label ?? "",
    by: draft.by ?? null,
    at: draft.at ?? null,
    state: STATE.queued,
    attempts: 0,
    interrupted: false,
    error: null,
    conflict: null,
  };
  return { entries: [...entries, entry], entry, outcome: "queued" };
}

// The values the dropped edits started from, first edit first, so a field they changed
// reads as the server still has it.
function restoreBase(dropped) {
  const values = {};
  for (const entry of [...dropped].reverse()) Object.assign(values, entry.base.values);
  return values;
}

// An update folded into an earlier entry that was never sent. The earlier entry's base
// values win for the fields it already changes (they are what the server had); a field new
// to it brings the value the user saw. A create simply takes the new values.
function foldUpdate(target, draft) {
  if (target.kind === "create") {
    return { ...target, patch: { ...target.patch, ...draft.patch }, label: draft.label || target.label };
  }
  const values = { ...draft.base?.values, ...target.base.values };
  const patch = prunePatch(values, { ...target.patch, ...draft.patch });
  return {
    ...target,
    base: { version: target.base.version, values: pick(values, Object.keys(patch)) },
    patch,
    label: draft.label || target.label,
    by: draft.by ?? target.by,
    at: draft.at ?? target.at,
  };
}

/**
 * Entries left `sending` by a replay that died mid-way (the tab closed, the page reloaded,
 * the request timed out) go back to `queued` with the SAME key and body: sent again, the
 * server either commits them now or, if the first attempt did commit, answers with its
 * first response (a replay), which counts as success. Call it only while holding the
 * replay lock, when no replay of this queue can be running.
 */
export function recoverInterrupted(entries) {
  let changed = false;
  const next = entries.map((e) => {
    if (e.state !== STATE.sending) return e;
    changed = true;
    return { ...e, state: STATE.queued, interrupted: true };
  });
  return { entries: changed ? next : entries, recovered: changed };
}

/**
 * The entry to send next, marked `sending` (and counted as an attempt): the first queued
 * entry, in order, that is the first entry of its task (a task's entries go one by one; a
 * conflict or refusal holds up the rest of that task only). `exclude`: task ids not to
 * take now. Returns {entries, entry} (entry null when nothing can go).
 */
export function takeNext(entries, { exclude = [] } = {}) {
  const seen = new Set(exclude);
  for (const entry of sortEntries(entries)) {
    if (seen.has(entry.taskId)) continue;
    seen.add(entry.taskId);
    if (entry.state !== STATE.queued) continue;
    const sending = { ...entry, state: STATE.sending, attempts: entry.attempts + 1 };
    return { entries: entries.map((e) => (e === entry ? sending : e)), entry: sending };
  }
  return { entries, entry: null };
}

/**
 * A 2xx (or the server's replay of one): the entry leaves the queue. `task` is what the
 * server answered (null for a delete). A create re-points its task's entries from the
 * temporary id to the real one and gives them the version it committed; then every later
 * entry of the task whose base values are exactly what the server now has is based on the
 * new version (it was made on top of this one, so sending it with the old If-Match would
 * only earn a 412 from our own write).
 */
export function ack(entries, id, task = null) {
  const done = entries.find((e) => e.id === id);
  if (!done) return { entries, acked: null };
  let rest = entries.filter((e) => e !== done);
  let taskId = done.taskId;
  if (done.kind === "create" && task?.id) {
    rest = rest.map((e) => (e.taskId === done.taskId ? { ...e, taskId: task.id, base: { ...e.base, version: e.base.version ?? task.version } } : e));
    taskId = task.id;
  }
  if (task && typeof task.version === "number") rest = rebase(rest, taskId, task);
  return { entries: rest, acked: done, taskId };
}

/**
 * Bases the queued entries of `task.id` on `task.version` where that cannot lose anything:
 * every field they change still has, on the server, the value the user saw.
 */
export function rebase(entries, taskId, task) {
  return entries.map((e) => {
    if (e.taskId !== taskId || e.state !== STATE.queued || e.base.version === task.version) return e;
    const fits = Object.entries(e.base.values).every(([field, value]) => sameFieldValue(field, value, task[field]));
    return fits ? { ...e, base: { ...e.base, version: task.version } } : e;
  });
}

/**
 * Not sent, or no answer (offline, server unreachable, 5xx, the key in use by a request
 * still running): back to `queued` with the same key, to be sent again as it is.
 */
export function retryLater(entries, id, error = null) {
  return {
    entries: entries.map((e) => (e.id === id ? { ...e, state: STATE.queued, error } : e)),
  };
}

/** Refused (a 4xx other than 412): kept, with the reason, until the user discards it. */
export function refuse(entries, id, error) {
  return {
    entries: entries.map((e) => (e.id === id ? { ...e, state: STATE.refused, error } : e)),
  };
}

/**
 * A 412 on an update, merged (./merge.js `mergePatch` against `current`):
 * - no conflicts: the merged patch is queued on top of `current` under a fresh key (the
 *   refused request committed nothing, and this is a different one); if nothing is left
 *   to send (everything was dropped), the entry is done;
 * - conflicts: the entry waits in `conflict` with both values of each field and who set
 *   theirs (`who`: field → {id, name} or null), until the user resolves or discards it.
 */
export function afterMerge(entries, id, { current, merge, who = {}, newKey }) {
  const entry = entries.find((e) => e.id === id);
  if (!entry) return { entries, outcome: "gone" };
  if (merge.conflicts.length === 0) {
    if (Object.keys(merge.patch).length === 0) return { entries: entries.filter((e) => e !== entry), outcome: "merged-away", entry };
    const rebased = requeueOn(entry, current, merge.patch, newKey);
    return { entries: entries.map((e) => (e === entry ? rebased : e)), outcome: "requeued", entry: rebased };
  }
  const conflict = {
    current,
    merged: merge.patch,
    fields: merge.conflicts.map((c) => ({ ...c, by: who[c.field] ?? null })),
  };
  const waiting = { ...entry, state: STATE.conflict, conflict, error: null };
  return { entries: entries.map((e) => (e === entry ? waiting : e)), outcome: "conflict", entry: waiting };
}

/**
 * A 412 on a delete: someone changed the task after the version the user deleted. Deleting
 * their change unseen would lose it, so the user decides: `fields` are what they changed.
 */
export function deleteConflict(entries, id, { current, fields, who = {} }) {
  const entry = entries.find((e) => e.id === id);
  if (!entry) return { entries, outcome: "gone" };
  const conflict = {
    current,
    merged: {},
    fields: fields.map((field) => ({ field, base: entry.base.values[field] ?? null, mine: null, theirs: current[field] ?? null, by: who[field] ?? null })),
  };
  const waiting = { ...entry, state: STATE.conflict, conflict, error: null };
  return { entries: entries.map((e) => (e === entry ? waiting : e)), outcome: "conflict", entry: waiting };
}

/**
 * A 412 on a delete where nothing the user saw has changed (the newer versions were their
 * own edits, or touched nothing they looked at): deleted on top of the current version.
 */
export function rebaseDelete(entries, id, { current, newKey }) {
  const entry = entries.find((e) => e.id === id);
  if (!entry) return { entries, outcome: "gone" };
  const again = { ...requeueOn(entry, current, {}, newKey), base: { version: current.version, values: pick(current, Object.keys(entry.base.values)) } };
  return { entries: entries.map((e) => (e === entry ? again : e)), outcome: "requeued", entry: again };
}

function requeueOn(entry, current, patch, newKey) {
  const fields = Object.keys(patch);
  return {
    ...entry,
    key: newKey,
    state: STATE.queued,
    base: { version: current.version, values: pick(current, fields) },
    patch,
    conflict: null,
    error: null,
    attempts: 0,
    interrupted: false,
  };
}

// A delete's conflict is one decision: "theirs" (as the whole choice, or for any field)
// keeps their task; anything else deletes it anyway.
const keepsTheirs = (choices) => choices === "theirs" || (typeof choices === "object" && Object.values(choices ?? {}).includes("theirs"));

/**
 * The user's choice on a conflict. Update: `choices` maps each conflicting field to "mine"
 * or "theirs"; what is left (the merged fields and the ones they chose mine for) is queued
 * on top of the current task under a fresh key, or the entry is done when nothing is left.
 * Delete: "mine" deletes anyway (If-Match the current version), "theirs" keeps the task.
 */
export function resolve(entries, id, choices, newKey) {
  const entry = entries.find((e) => e.id === id);
  if (!entry || entry.state !== STATE.conflict) return { entries, outcome: "gone" };
  const { current, merged, fields } = entry.conflict;
  if (entry.kind === "delete") {
    if (keepsTheirs(choices)) return { entries: entries.filter((e) => e !== entry), outcome: "kept-theirs", entry };
    return rebaseDelete(entries, id, { current, newKey });
  }
  const patch = { ...merged };
  for (const { field, mine } of fields) if (choices?.[field] === "mine") patch[field] = mine;
  if (Object.keys(patch).length === 0) return { entries: entries.filter((e) => e !== entry), outcome: "kept-theirs", entry };
  const again = requeueOn(entry, current, patch, newKey);
  return { entries: entries.map((e) => (e === entry ? again : e)), outcome: "requeued", entry: again };
}

/**
 * The user discards an entry (a conflict or a refusal they give up on, or any pending
 * change). Discarding a create that has not committed discards its task's other entries
 * too: they could never apply. Returns {entries, removed}.
 */
export function discard(entries, id) {
  const entry = entries.find((e) => e.id === id);
  if (!entry) return { entries, removed: [] };
  const removed = entry.kind === "create" ? entries.filter((e) => e.taskId === entry.taskId) : [entry];
  const gone = new Set(removed);
  return { entries: entries.filter((e) => !gone.has(e)), removed };
}

/**
 * A task that is gone (deleted by someone, or a write to it answered 404): none of its
 * entries can apply any more, so all of them go. Returns {entries, removed}.
 */
export function dropTask(entries, taskId) {
  const removed = entries.filter((e) => e.taskId === taskId);
  if (removed.length === 0) return { entries, removed };
  return { entries: entries.filter((e) => e.taskId !== taskId), removed };
}

/**
 * What a response means for the entry that was sent. `response`: {status, problemType,
 * retryAfter (seconds)} or null when no response came (network error, timeout).
 * - "ok": 2xx, including the server's replay of the first response; a 404 to a delete
 *   (the task is gone, which is what the delete wanted);
 * - "gone": a 404 to a create or an update: the task was deleted, and every entry of it
 *   goes (dropTask);
 * - "conflict": 412, merge against `current`;
 * - "retry": no answer, 408, 409 (the key in use by a request still running, or writers
 *   racing), 425, 429, 5xx: send the same request again later (`waitMs` if the server said);
 * - "unauthorized": 401, wait for a new token;
 * - "refused": any other 4xx; the user sees why and decides.
 */
export function classifyResponse(kind, response) {
  if (!response) return { outcome: "retry", unreachable: true };
  const { status } = response;
  if (status >= 200 && status < 300) return { outcome: "ok" };
  if (status === 404) return { outcome: kind === "delete" ? "ok" : "gone" };
  if (status === 412) return { outcome: "conflict" };
  if (status === 401) return { outcome: "unauthorized" };
  const waitMs = Number.isFinite(response.retryAfter) ? response.retryAfter * 1000 : null;
  if (status === 409 || status === 408 || status === 425 || status === 429) return { outcome: "retry", waitMs };
  if (status >= 500) return { outcome: "retry", waitMs, unreachable: true };
  return { outcome: "refused" };
}

// ---- What the UI shows --------------------------------------------------------------

/** Defaults of a new task, as the server fills them in, for a create's pending card. */
const NEW_TASK_DEFAULTS = Object.freeze({ description: "", status: "todo", priority: "medium", assignee_id: null, due_date: null, tags: [] });

/** The task a pending create stands for, under its temporary id, until it commits. */
export function pendingTask(entry) {
  return {
    ...NEW_TASK_DEFAULTS,
    ...entry.patch,
    tags: [...(entry.patch.tags ?? [])],
    id: entry.taskId,
    workspace_id: null,
    created_by: entry.by?.id ?? null,
    created_at: entry.at,
    updated_at: entry.at,
    completed_at: null,
    version: 0,
    pending: true,
  };
}

/**
 * The task as the user should see it: the server's copy with my pending edits applied in
 * order (tags merged as a set against what I saw), marked `pending` while any are waiting,
 * and `deleted` when a delete is queued.
 */
export function overlayTask(task, entries) {
  if (!task) return task;
  const mine = entriesOf(sortEntries(entries), task.id);
  if (mine.length === 0) return task;
  let shown = { ...task };
  for (const entry of mine) {
    if (entry.kind === "delete") shown.deleted = true;
    if (entry.kind !== "update") continue;
    for (const [field, value] of Object.entries(entry.patch)) {
      shown[field] = field === "tags" ? mergeTags(entry.base.values.tags, value, shown.tags) : value;
    }
  }
  shown.pending = true;
  return shown;
}

/**
 * A list as the user should see it: pending creates first (newest first, as the server
 * sorts), then each task overlaid; tasks with a pending delete are left out.
 */
export function overlayList(tasks, entries) {
  const sorted = sortEntries(entries);
  const creates = sorted.filter((e) => e.kind === "create").reverse();
  const fresh = creates.map((entry) => overlayTask(pendingTask(entry), sorted.filter((e) => e !== entry)));
  const known = new Set(fresh.map((t) => t.id));
  const shown = tasks.filter((t) => !known.has(t.id)).map((t) => overlayTask(t, sorted));
  return [...fresh, ...shown].filter((t) => !t.deleted);
}

/** The pending create whose temporary id this is, or null. */
export function createFor(entries, taskId) {
  return entries.find((e) => e.kind === "create" && e.taskId === taskId) ?? null;
}

/** Counts for the status line. */
export function summarize(entries) {
  const count = (state) => entries.filter((e) => e.state === state).length;
  return {
    total: entries.length,
    waiting: count(STATE.queued) + count(STATE.sending),
    conflicts: count(STATE.conflict),
    refused: count(STATE.refused),
  };
}

const changes = (n) => `${n} ${n === 1 ? "change" : "changes"}`;

/**
 * The status line: "offline — 2 changes pending", "syncing 2 changes…", "1 change needs
 * your decision", "all changes synced", or "" when there has been nothing to sync.
 * `reachable`: the browser is online and the last request got an answer.
 */
export function statusLine(entries, { reachable, hadChanges = false }) {
  const { total, waiting, conflicts, refused } = summarize(entries);
  if (total === 0) return hadChanges ? "all changes synced" : "";
  const parts = [];
  if (waiting) parts.push(reachable ? `syncing ${changes(waiting)}…` : `offline — ${changes(waiting)} pending`);
  const stuck = conflicts + refused;
  if (stuck) parts.push(`${changes(stuck)} ${stuck === 1 ? "needs" : "need"} your decision`);
  return parts.join("; ");
}

/** One line per entry: "Edit “Plan” (title, tags)", "Create “Plan”", "Delete “Plan”". */
export function describeEntry(entry, fieldLabel = (f) => f) {
  const title = `“${entry.label || "untitled"}”`;
  if (entry.kind === "create") return `Create ${title}`;
  if (entry.kind === "delete") return `Delete ${title}`;
  return `Edit ${title} (${Object.keys(entry.patch).map(fieldLabel).join(", ")})`;
}

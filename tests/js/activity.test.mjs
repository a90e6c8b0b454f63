// The activity log (public/state/activity.js): an entry built from live events must equal
// the entry `GET /api/tasks/{id}/activity` returns for the same change (minus the record
// id), and read the same. Both server paths are modelled below from one change record,
// following the Rust `task_activity` handler and the room's `events_for_change`.
import { test } from "node:test";
import assert from "node:assert/strict";

import { activityFromRest, activityText, applyActivityEvent, emptyActivity, entryFromEvent } from "../../public/state/activity.js";
import { unpackFrame } from "../../clients/js/src/index.js";

const at = "2026-05-04T09:30:00.000Z";
const baseTask = { id: "t1", title: "Plan", description: "", status: "todo", priority: "medium", assignee_id: null, due_date: null, tags: [], version: 1 };

/** A change record as D1 keeps it (the Rust `Change`), with its record id. */
function change(recordId, kind, task, { changed = [], previous_status = null, actor = { id: "ana", name: "Ana" } } = {}) {
  return { recordId, kind, task, changed, previous_status, actor_id: actor.id, actor_name: actor.name, at };
}

/** What the `task_activity` handler answers for a record. */
function restEntry(c) {
  const moved = c.previous_status !== null && c.previous_status !== c.task.status ? c.previous_status : null;
  return {
    id: c.recordId,
    kind: c.kind,
    version: c.task.version,
    changed: c.changed,
    from_status: moved,
    to_status: moved === null ? null : c.task.status,
    actor: { id: c.actor_id, name: c.actor_name },
    at: c.at,
    task: c.task,
  };
}

/** What the room's `events_for_change` broadcasts for a record. */
function eventsFor(c, seq) {
  const actor = { id: c.actor_id, name: c.actor_name };
  if (c.kind === "created") return [{ type: "task_created", seq, at, actor, task: c.task }];
  if (c.kind === "deleted") return [{ type: "task_deleted", seq, at, actor, task_id: c.task.id }];
  const events = [{ type: "task_updated", seq, at, actor, task: c.task, changed: c.changed }];
  if (c.previous_status !== null && c.previous_status !== c.task.status) {
    events.push({ type: "task_status_changed", seq: seq + 1, at, actor, task_id: c.task.id, from: c.previous_status, to: c.task.status });
  }
  return events;
}

const withoutId = ({ id, ...rest }) => rest;
const live = (events, state = emptyActivity) => events.reduce((s, e) => applyActivityEvent(s, e), state);

const moveToDone = change(7, "updated", { ...baseTask, title: "Plan it", status: "done", version: 2 }, {
  changed: ["title", "status"],
  previous_status: "todo",
  actor: { id: "bob", name: "Bob" },
});

test("an update that moved the status is one live entry, equal to the REST entry, read the same", () => {
  const state = live(eventsFor(moveToDone, 5));
  assert.equal(state.entries.length, 1, "task_updated + task_status_changed are one change");
  assert.deepEqual(state.entries[0], withoutId(restEntry(moveToDone)));
  assert.equal(activityText(state.entries[0]), activityText(restEntry(moveToDone)));
  assert.equal(activityText(state.entries[0]), "Bob changed title, status (to do → done)");
});

test("the same holds when both events come in one batch frame", () => {
  const [updated, moved] = eventsFor(moveToDone, 5);
  const state = live(unpackFrame({ type: "batch", events: [updated, moved] }));
  assert.deepEqual(state.entries, [withoutId(restEntry(moveToDone))]);
});

test("created and plain updates match REST too, with field labels in the text", () => {
  const made = change(1, "created", baseTask);
  const edit = change(2, "updated", { ...baseTask, assignee_id: "cy", due_date: "2030-01-01", version: 2 }, {
    changed: ["assignee_id", "due_date"],
    previous_status: "todo",
  });
  const state = live([...eventsFor(made, 1), ...eventsFor(edit, 2)]);
  assert.deepEqual(state.entries, [withoutId(restEntry(edit)), withoutId(restEntry(made))]);
  assert.deepEqual(state.entries.map(activityText), ["Ana changed assignee, due date", "Ana created the task"]);
  assert.deepEqual([restEntry(edit), restEntry(made)].map(activityText), state.entries.map(activityText));
});

test("a delete entry holds the tombstone the server records: the last version plus one", () => {
  const known = { ...baseTask, version: 3, updated_at: "2026-05-01T00:00:00.000Z" };
  // The delete handler: the current task, version + 1, updated_at = the delete's time.
  const gone = change(9, "deleted", { ...known, version: 4, updated_at: at });
  const [event] = eventsFor(gone, 4);
  assert.deepEqual(entryFromEvent(event, known), withoutId(restEntry(gone)));
  assert.equal(activityText(entryFromEvent(event, known)), "Ana deleted the task");
});

test("a REST page replaces the log but keeps newer live entries, and live changes it holds are not doubled", () => {
  const v2 = change(2, "updated", { ...baseTask, title: "two", version: 2 }, { changed: ["title"], previous_status: "todo" });
  const v3 = change(3, "updated", { ...baseTask, title: "three", version: 3 }, { changed: ["title"], previous_status: "todo" });
  // v2 and v3 arrived live while the request for a page that only reached v2 was in flight.
  const state = live([...eventsFor(v2, 2), ...eventsFor(v3, 3)]);
  const reloaded = activityFromRest(state, [restEntry(v2), restEntry(change(1, "created", baseTask))]);
  assert.deepEqual(reloaded.entries.map((e) => [e.version, e.id]), [[3, undefined], [2, 2], [1, 1]]);
  // The page was read after v3 committed, and then v3's event arrives: still one entry.
  const page = activityFromRest(emptyActivity, [restEntry(moveToDone)]);
  const after = live(eventsFor(moveToDone, 5), page);
  assert.deepEqual(after.entries, [restEntry(moveToDone)]);
});

test("a status move whose update was not seen still shows, as a status change", () => {
  const [, moved] = eventsFor(moveToDone, 5);
  const state = applyActivityEvent(emptyActivity, moved);
  assert.equal(state.entries.length, 1);
  assert.equal(activityText(state.entries[0]), "Bob changed status (to do → done)");
});

test("statuses read as the form says them, never as the API's names", () => {
  const entry = { kind: "updated", changed: ["status"], from_status: "todo", to_status: "in_progress", actor: { id: "ana", name: "Ana" } };
  assert.equal(activityText(entry), "Ana changed status (to do → in progress)");
  assert.equal(activityText({ ...entry, from_status: "in_review", to_status: "blocked" }), "Ana changed status (in review → blocked)");
  assert.doesNotMatch(activityText(entry), /_/);
});

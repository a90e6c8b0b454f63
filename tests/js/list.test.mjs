// The dashboard list reducer (public/state/list.js): live board events applied to the
// loaded tasks, newest first by (created_at desc, id desc), as the server sorts.
import { test } from "node:test";
import assert from "node:assert/strict";

import {
  appendPage,
  applyListEvent,
  cleanFilters,
  compareTasks,
  emptyList,
  listFromPage,
  matchesLocalFilters,
  needsServerFilter,
} from "../../public/state/list.js";

function task(id, created_at, changes = {}) {
  return { id, title: `task ${id}`, description: "", status: "todo", priority: "medium", assignee_id: null, tags: [], created_at, version: 1, ...changes };
}
const ids = (state) => state.tasks.map((t) => t.id);
const created = (t) => ({ type: "task_created", seq: 1, task: t });
const updated = (t) => ({ type: "task_updated", seq: 2, task: t, changed: ["title"] });

const a = task("a", "2026-01-01T10:00:00Z");
const b = task("b", "2026-01-02T10:00:00Z");
const c = task("c", "2026-01-03T10:00:00Z");

test("created tasks are inserted newest first, ties broken by id descending", () => {
  let state = listFromPage({ tasks: [a, c], next_cursor: null });
  state = applyListEvent(state, created(b));
  assert.deepEqual(ids(state), ["c", "b", "a"]);
  const twin = task("d", b.created_at);
  state = applyListEvent(state, created(twin));
  assert.deepEqual(ids(state), ["c", "d", "b", "a"], "same created_at: the larger id first");
  assert.ok(compareTasks(twin, b) < 0);
});

test("an update with a newer version replaces the task in place", () => {
  const state = listFromPage({ tasks: [c, b, a], next_cursor: null });
  const next = applyListEvent(state, updated({ ...b, title: "renamed", version: 2 }));
  assert.deepEqual(ids(next), ["c", "b", "a"]);
  assert.equal(next.tasks[1].title, "renamed");
  assert.equal(next.tasks[1].version, 2);
});

test("a stale or repeated version is ignored", () => {
  const state = listFromPage({ tasks: [{ ...b, title: "v3", version: 3 }], next_cursor: null });
  assert.equal(applyListEvent(state, updated({ ...b, title: "v2", version: 2 })), state);
  assert.equal(applyListEvent(state, updated({ ...b, title: "v3 again", version: 3 })), state);
  assert.equal(state.tasks[0].title, "v3");
});

test("a delete removes the task; deleting an unknown one changes nothing", () => {
  const state = listFromPage({ tasks: [c, b, a], next_cursor: null });
  assert.deepEqual(ids(applyListEvent(state, { type: "task_deleted", seq: 3, task_id: "b" })), ["c", "a"]);
  assert.equal(applyListEvent(state, { type: "task_deleted", seq: 3, task_id: "zzz" }), state);
  assert.equal(applyListEvent(state, { type: "task_status_changed", seq: 4, task_id: "a", from: "todo", to: "done" }), state);
});

test("a task whose status leaves the status filter is removed; one that enters is added", () => {
  const filters = { status: "todo" };
  const state = listFromPage({ tasks: [c, b, a], next_cursor: null });
  const done = applyListEvent(state, updated({ ...b, status: "done", version: 2 }), filters);
  assert.deepEqual(ids(done), ["c", "a"]);
  const back = applyListEvent(done, updated({ ...b, status: "todo", version: 3 }), filters);
  assert.deepEqual(ids(back), ["c", "b", "a"]);
  const elsewhere = applyListEvent(emptyList, created(task("x", "2026-02-01T00:00:00Z", { status: "blocked" })), filters);
  assert.deepEqual(ids(elsewhere), []);
});

test("assignee and tag filters are exact matches; q is left to the server", () => {
  const t = task("t", "2026-01-01T00:00:00Z", { assignee_id: "ana", tags: ["ui", "ops"] });
  assert.ok(matchesLocalFilters(t, { assignee: "ana", tag: "ui" }));
  assert.ok(!matchesLocalFilters(t, { assignee: "an" }));
  assert.ok(!matchesLocalFilters(t, { tag: "u" }), "a tag prefix is not the tag");
  assert.ok(!matchesLocalFilters(t, { tag: "UI" }), "tags match exactly");
  assert.ok(matchesLocalFilters(t, { q: "no such words" }), "q is not guessed locally");
  assert.ok(needsServerFilter({ q: "launch" }));
  assert.ok(!needsServerFilter({ status: "todo", tag: "ui" }));
  assert.deepEqual(cleanFilters([["q", "  "], ["status", "done"], ["tag", " ui "]]), { status: "done", tag: "ui" });
});

test("with more pages to load, an unloaded older task is left for 'Load more'", () => {
  const state = listFromPage({ tasks: [c, b], next_cursor: "more" });
  assert.equal(applyListEvent(state, updated({ ...a, version: 2 })), state, "a belongs to the next page");
  assert.deepEqual(ids(applyListEvent(state, created(task("new", "2026-03-01T00:00:00Z")))), ["new", "c", "b"]);
  const next = appendPage(state, { tasks: [{ ...b, version: 0 }, a], next_cursor: null });
  assert.deepEqual(ids(next), ["c", "b", "a"], "no duplicates across pages");
  assert.equal(next.tasks[1].version, 1, "the newer copy is kept");
  assert.equal(next.cursor, null);
});

test("task_redacted (a replayed event about a task deleted since) drops that task if held", () => {
  const state = listFromPage({ tasks: [c, b, a], next_cursor: null });
  assert.deepEqual(ids(applyListEvent(state, { type: "task_redacted", seq: 7, task_id: "b" })), ["c", "a"]);
  assert.equal(applyListEvent(state, { type: "task_redacted", seq: 8, task_id: "zzz" }), state, "unknown task: unchanged");
});

// The edit queue's transitions (clients/js/src/state/queue.js): enqueue and coalescing, the replay
// order, acks and temporary ids, retries, refusals, 412 merges and conflicts, discards, and
// replays interrupted mid-way.
import { test } from "node:test";
import assert from "node:assert/strict";

import {
  ack,
  afterMerge,
  classifyResponse,
  createFor,
  deleteConflict,
  describeEntry,
  discard,
  dropTask,
  enqueue,
  MAX_ENTRIES,
  overlayList,
  overlayTask,
  recoverInterrupted,
  refuse,
  resolve,
  retryLater,
  statusLine,
  takeNext,
} from "../../clients/js/src/state/queue.js";
import { mergePatch } from "../../clients/js/src/state/merge.js";

let counter = 0;
const fresh = (prefix) => `${prefix}-${++counter}`;
const by = { id: "ana", name: "Ana" };

function update(taskId, version, values, patch) {
  return { id: fresh("e"), key: fresh("k"), kind: "update", taskId, base: { version, values }, patch, label: "Plan", by, at: "2026-05-04T09:00:00.000Z" };
}
function create(taskId, body) {
  return { id: fresh("e"), key: fresh("k"), kind: "create", taskId, base: { version: null, values: {} }, patch: body, label: body.title, by, at: "2026-05-04T09:00:00.000Z" };
}
function remove(taskId, version, values = {}) {
  return { id: fresh("e"), key: fresh("k"), kind: "delete", taskId, base: { version, values }, patch: {}, label: "Plan", by, at: "2026-05-04T09:00:00.000Z" };
}
/** Applies drafts in turn, returning the entries. */
function queueOf(...drafts) {
  return drafts.reduce((entries, draft) => enqueue(entries, draft).entries, []);
}
/** Takes the next entry and returns [entries, entry]. */
function take(entries, options) {
  const result = takeNext(entries, options);
  return [result.entries, result.entry];
}
const task = (id, version, changes = {}) => ({ id, title: "Plan", description: "", status: "todo", priority: "medium", assignee_id: null, due_date: null, tags: [], version, ...changes });

test("an entry is queued with its key, base version, base values, patch, and who and when", () => {
  const draft = update("t1", 3, { title: "Plan" }, { title: "Mine" });
  const { entries, entry, outcome } = enqueue([], draft);
  assert.equal(outcome, "queued");
  assert.deepEqual(entries, [entry]);
  assert.equal(entry.key, draft.key);
  assert.deepEqual(entry.base, { version: 3, values: { title: "Plan" } });
  assert.deepEqual(entry.patch, { title: "Mine" });
  assert.deepEqual(entry.by, by);
  assert.equal(entry.at, draft.at);
  assert.equal(entry.state, "queued");
  assert.equal(entry.attempts, 0);
});

test("the queue is capped: past the limit nothing is added and the caller is told", () => {
  let entries = [];
  for (let i = 0; i < 3; i++) entries = enqueue(entries, update(`t${i}`, 1, { title: "Plan" }, { title: `n${i}` }), { limit: 3 }).entries;
  const result = enqueue(entries, update("t9", 1, { title: "Plan" }, { title: "x" }), { limit: 3 });
  assert.equal(result.outcome, "full");
  assert.equal(result.entries, entries);
  assert.ok(MAX_ENTRIES >= 100, "the default cap leaves room for a day offline");
  // Folding into an entry that is there already still works at the cap.
  assert.equal(enqueue(entries, update("t0", 1, { title: "Plan" }, { description: "more" }), { limit: 3 }).outcome, "coalesced");
});

test("an edit that changes nothing is not queued", () => {
  const result = enqueue([], update("t1", 1, { title: "Plan", status: "todo" }, { title: " Plan ", status: "todo" }));
  assert.equal(result.outcome, "unchanged");
  assert.deepEqual(result.entries, []);
});

test("edits never sent are coalesced; the first base of each field wins", () => {
  let entries = queueOf(update("t1", 2, { title: "Plan" }, { title: "A" }));
  const second = enqueue(entries, update("t1", 2, { title: "A", priority: "medium" }, { title: "B", priority: "high" }));
  assert.equal(second.outcome, "coalesced");
  assert.equal(second.entries.length, 1);
  assert.deepEqual(second.entry.patch, { title: "B", priority: "high" });
  assert.deepEqual(second.entry.base, { version: 2, values: { title: "Plan", priority: "medium" } });
  assert.equal(second.entry.key, entries[0].key, "still never sent: the key names the request to be sent");
  // Undoing everything removes the entry.
  const undone = enqueue(second.entries, update("t1", 2, { title: "B", priority: "high" }, { title: "Plan", priority: "medium" }));
  assert.equal(undone.outcome, "unchanged");
  assert.deepEqual(undone.entries, []);
});

test("an edit after one that was sent is a new entry: a sent request's key keeps its body", () => {
  let [entries] = take(queueOf(update("t1", 2, { title: "Plan" }, { title: "A" })));
  entries = retryLater(entries, entries[0].id, { detail: "offline" }).entries;
  const result = enqueue(entries, update("t1", 2, { title: "A" }, { title: "B" }));
  assert.equal(result.outcome, "queued");
  assert.equal(result.entries.length, 2);
  assert.deepEqual(result.entries[0].patch, { title: "A" }, "the sent entry is untouched");
  assert.deepEqual(result.entries[1].base.values, { title: "A" }, "what the user saw: their own pending edit");
});

test("an edit of a task created offline folds into the create until it is sent", () => {
  const entries = queueOf(create("tmp-1", { title: "New" }));
  const result = enqueue(entries, update("tmp-1", null, { title: "New", priority: "medium" }, { title: "Newer", priority: "high" }));
  assert.equal(result.outcome, "coalesced");
  assert.equal(result.entries.length, 1);
  assert.equal(result.entry.kind, "create");
  assert.deepEqual(result.entry.patch, { title: "Newer", priority: "high" });
});

test("deleting a task whose create was never sent cancels both", () => {
  const entries = queueOf(create("tmp-1", { title: "New" }), update("t2", 1, { title: "Plan" }, { title: "Other" }));
  const result = enqueue(entries, remove("tmp-1", null));
  assert.equal(result.outcome, "cancelled");
  assert.deepEqual(result.entries.map((e) => e.taskId), ["t2"]);
});

test("deleting a task whose create was sent is queued against its temporary id", () => {
  let [entries] = take(queueOf(create("tmp-1", { title: "New" })));
  entries = retryLater(entries, entries[0].id).entries;
  const result = enqueue(entries, remove("tmp-1", null));
  assert.equal(result.outcome, "queued");
  assert.deepEqual(result.entries.map((e) => [e.kind, e.taskId]), [["create", "tmp-1"], ["delete", "tmp-1"]]);
});

test("a delete drops the task's unsent edits and is decided against what the server had", () => {
  const entries = queueOf(update("t1", 4, { title: "Plan" }, { title: "Mine" }));
  const result = enqueue(entries, remove("t1", 4, { title: "Mine", status: "todo" }));
  assert.equal(result.outcome, "queued");
  assert.deepEqual(result.entries.map((e) => e.kind), ["delete"]);
  assert.deepEqual(result.entry.base.values, { title: "Plan", status: "todo" });
  assert.equal(enqueue(result.entries, remove("t1", 4)).outcome, "duplicate");
});

test("replay order: in order, one entry per task at a time; a stuck task holds up only itself", () => {
  let entries = queueOf(
    update("t1", 1, { title: "Plan" }, { title: "A" }),
    update("t2", 1, { title: "Plan" }, { title: "B" }),
    update("t3", 1, { title: "Plan" }, { title: "C" }),
  );
  // a second, separate edit of t1 (after the first was sent once)
  let first;
  [entries, first] = take(entries);
  assert.equal(first.taskId, "t1");
  assert.equal(first.state, "sending");
  assert.equal(first.attempts, 1);
  entries = enqueue(entries, update("t1", 1, { priority: "medium" }, { priority: "low" })).entries;
  let next;
  [entries, next] = take(entries);
  assert.equal(next.taskId, "t2", "t1's second entry waits for its first");
  entries = refuse(entries, next.id, { status: 422, detail: "bad" }).entries;
  [entries, next] = take(entries);
  assert.equal(next.taskId, "t3", "t2's refusal does not hold up t3");
  [entries, next] = take(entries);
  assert.equal(next, null, "t1 is sending and t2 is refused: nothing else may go");
  entries = ack(entries, first.id, task("t1", 2, { title: "A" })).entries;
  [entries, next] = take(entries);
  assert.deepEqual(next.patch, { priority: "low" });
  assert.equal(take(entries, { exclude: [] })[1], null);
});

test("take-next skips the tasks it is told to leave for now", () => {
  const entries = queueOf(update("t1", 1, { title: "Plan" }, { title: "A" }), update("t2", 1, { title: "Plan" }, { title: "B" }));
  assert.equal(take(entries, { exclude: ["t1"] })[1].taskId, "t2");
});

test("an ack removes the entry; the task's next entry is based on the version it made", () => {
  let entries = queueOf(update("t1", 1, { title: "Plan" }, { title: "A" }));
  let first;
  [entries, first] = take(entries);
  entries = enqueue(entries, update("t1", 1, { title: "A", status: "todo" }, { title: "B", status: "done" })).entries;
  const result = ack(entries, first.id, task("t1", 2, { title: "A" }));
  assert.equal(result.acked.id, first.id);
  assert.equal(result.entries.length, 1);
  assert.equal(result.entries[0].base.version, 2, "the server has exactly what the user saw: no 412 from our own write");
});

test("an ack does not rebase an entry whose fields changed on the server meanwhile", () => {
  let entries = queueOf(update("t1", 1, { title: "Plan" }, { title: "A" }));
  let first;
  [entries, first] = take(entries);
  entries = enqueue(entries, update("t1", 1, { description: "" }, { description: "mine" })).entries;
  const result = ack(entries, first.id, task("t1", 3, { title: "A", description: "theirs" }));
  assert.equal(result.entries[0].base.version, 1, "left to a 412 and the merge");
});

test("a create made offline commits: its temporary id is re-pointed and its edits get the version", () => {
  let entries = queueOf(create("tmp-1", { title: "New" }));
  let made;
  [entries, made] = take(entries);
  entries = retryLater(entries, made.id).entries; // sent, no answer
  entries = enqueue(entries, update("tmp-1", null, { title: "New" }, { title: "Renamed" })).entries;
  entries = enqueue(entries, update("t9", 1, { title: "Plan" }, { title: "Other" })).entries;
  [entries, made] = take(entries);
  assert.equal(made.kind, "create");
  assert.equal(made.key, entries.find((e) => e.kind === "create").key, "same key on the second attempt");
  const result = ack(entries, made.id, task("real-1", 1, { title: "New" }));
  assert.equal(result.taskId, "real-1");
  const edit = result.entries.find((e) => e.patch.title === "Renamed");
  assert.equal(edit.taskId, "real-1");
  assert.equal(edit.base.version, 1);
  assert.equal(result.entries.find((e) => e.taskId === "t9").base.version, 1, "other tasks untouched");
  assert.equal(createFor(result.entries, "tmp-1"), null);
});

test("a failed attempt goes back to the queue with the same key and body", () => {
  let [entries, sent] = take(queueOf(update("t1", 1, { title: "Plan" }, { title: "A" })));
  entries = retryLater(entries, sent.id, { detail: "network" }).entries;
  const [, again] = take(entries);
  assert.equal(again.key, sent.key);
  assert.deepEqual(again.patch, sent.patch);
  assert.equal(again.attempts, 2);
});

test("interrupted replay: a tab that died while sending leaves the entry to be sent again, same key", () => {
  let [entries, sent] = take(queueOf(update("t1", 1, { title: "Plan" }, { title: "A" }), create("tmp-1", { title: "New" })));
  // The tab dies here: `entries` is what the store holds. Another tab takes the lock:
  let recovered;
  ({ entries, recovered } = recoverInterrupted(entries));
  assert.equal(recovered, true);
  const [afterTake, again] = take(entries);
  assert.equal(again.id, sent.id);
  assert.equal(again.key, sent.key, "the same key: if the first attempt committed, the server replays it");
  assert.deepEqual(again.patch, sent.patch);
  assert.equal(again.interrupted, true);
  // The server answered with its replay of the first response: that is success.
  const done = ack(afterTake, again.id, task("t1", 2, { title: "A" }));
  assert.deepEqual(done.entries.map((e) => e.kind), ["create"]);
  assert.equal(recoverInterrupted(done.entries).recovered, false, "nothing else was interrupted");
});

test("interrupted replay of a create: the replayed 201 makes the pending task real once", () => {
  let [entries, sent] = take(queueOf(create("tmp-1", { title: "New" })));
  entries = enqueue(entries, update("tmp-1", null, { status: "todo" }, { status: "done" })).entries;
  entries = recoverInterrupted(entries).entries;
  const [taken, again] = take(entries);
  assert.equal(again.key, sent.key);
  const done = ack(taken, again.id, task("real-1", 1, { title: "New" }));
  assert.deepEqual(done.entries.map((e) => [e.kind, e.taskId, e.base.version]), [["update", "real-1", 1]]);
});

test("412 without conflicts: the merged patch is queued on the current version under a new key", () => {
  let [entries, sent] = take(queueOf(update("t1", 1, { title: "Plan" }, { title: "Mine" })));
  const current = task("t1", 2, { description: "theirs" });
  const merge = mergePatch(sent.base.values, sent.patch, current);
  const result = afterMerge(entries, sent.id, { current, merge, newKey: "k-new" });
  assert.equal(result.outcome, "requeued");
  assert.equal(result.entry.key, "k-new");
  assert.deepEqual(result.entry.base, { version: 2, values: { title: "Plan" } });
  assert.deepEqual(result.entry.patch, { title: "Mine" });
  assert.equal(result.entry.state, "queued");
});

test("412 where they already made my change: nothing is left and the entry is done", () => {
  let [entries, sent] = take(queueOf(update("t1", 1, { status: "todo" }, { status: "done" })));
  const current = task("t1", 2, { status: "done" });
  const result = afterMerge(entries, sent.id, { current, merge: mergePatch(sent.base.values, sent.patch, current), newKey: "k" });
  assert.equal(result.outcome, "merged-away");
  assert.deepEqual(result.entries, []);
});

test("412 with a conflict: kept with both values and who, until the user chooses", () => {
  let [entries, sent] = take(queueOf(update("t1", 1, { title: "Plan", priority: "medium" }, { title: "Mine", priority: "high" })));
  const current = task("t1", 2, { title: "Theirs" });
  const merge = mergePatch(sent.base.values, sent.patch, current);
  let result = afterMerge(entries, sent.id, { current, merge, who: { title: { id: "bob", name: "Bob" } }, newKey: "unused" });
  assert.equal(result.outcome, "conflict");
  assert.equal(result.entry.state, "conflict");
  assert.deepEqual(result.entry.conflict.fields, [{ field: "title", base: "Plan", mine: "Mine", theirs: "Theirs", by: { id: "bob", name: "Bob" } }]);
  assert.equal(take(result.entries)[1], null, "a conflict is not replayed by itself");

  const mine = resolve(result.entries, sent.id, { title: "mine" }, "k-mine");
  assert.equal(mine.outcome, "requeued");
  assert.deepEqual(mine.entry.patch, { priority: "high", title: "Mine" });
  assert.deepEqual(mine.entry.base, { version: 2, values: { priority: "medium", title: "Theirs" } });
  assert.equal(mine.entry.key, "k-mine");

  const theirs = resolve(result.entries, sent.id, { title: "theirs" }, "k-theirs");
  assert.deepEqual(theirs.entry.patch, { priority: "high" }, "the merged field still goes");

  const onlyConflict = afterMerge(take(queueOf(update("t2", 1, { title: "Plan" }, { title: "Mine" })))[0], null, {});
  assert.equal(onlyConflict.outcome, "gone");
});

test("choosing theirs for everything when nothing else merged leaves nothing to send", () => {
  let [entries, sent] = take(queueOf(update("t1", 1, { title: "Plan" }, { title: "Mine" })));
  const current = task("t1", 2, { title: "Theirs" });
  entries = afterMerge(entries, sent.id, { current, merge: mergePatch(sent.base.values, sent.patch, current), newKey: "x" }).entries;
  const result = resolve(entries, sent.id, { title: "theirs" }, "k");
  assert.equal(result.outcome, "kept-theirs");
  assert.deepEqual(result.entries, []);
});

test("a delete that meets their change asks first; deleting anyway uses the current version", () => {
  let [entries, sent] = take(queueOf(remove("t1", 1, { title: "Plan", status: "todo" })));
  const current = task("t1", 3, { title: "Theirs" });
  entries = deleteConflict(entries, sent.id, { current, fields: ["title"], who: { title: { id: "bob", name: "Bob" } } }).entries;
  assert.equal(entries[0].state, "conflict");
  assert.deepEqual(entries[0].conflict.fields[0], { field: "title", base: "Plan", mine: null, theirs: "Theirs", by: { id: "bob", name: "Bob" } });
  const anyway = resolve(entries, sent.id, { title: "mine" }, "k2");
  assert.equal(anyway.entry.kind, "delete");
  assert.equal(anyway.entry.base.version, 3);
  assert.equal(anyway.entry.key, "k2");
  assert.deepEqual(resolve(entries, sent.id, "theirs", "k3").entries, [], "keeping theirs drops the delete");
});

test("a refusal is kept until the user discards it; discarding a create takes its edits along", () => {
  let [entries, sent] = take(queueOf(create("tmp-1", { title: "x" })));
  entries = refuse(entries, sent.id, { status: 422, detail: "title: too long" }).entries;
  entries = enqueue(entries, update("tmp-1", null, { status: "todo" }, { status: "done" })).entries;
  entries = enqueue(entries, update("t2", 1, { title: "Plan" }, { title: "kept" })).entries;
  assert.equal(entries[0].state, "refused");
  assert.deepEqual(entries[0].error, { status: 422, detail: "title: too long" });
  const result = discard(entries, sent.id);
  assert.deepEqual(result.removed.map((e) => e.kind), ["create", "update"]);
  assert.deepEqual(result.entries.map((e) => e.taskId), ["t2"]);
  assert.deepEqual(discard(result.entries, "nope").removed, []);
});

test("a deleted task's entries all go, whatever their state; other tasks' stay as they are", () => {
  let [entries, sent] = take(queueOf(update("t1", 1, { title: "Plan" }, { title: "sent" })));
  entries = enqueue(entries, update("t1", 1, { status: "todo" }, { status: "done" })).entries;
  entries = enqueue(entries, update("t2", 1, { title: "Other" }, { title: "kept" })).entries;
  entries = refuse(entries, entries[1].id, { status: 422, detail: "no" }).entries;
  assert.equal(sent.state, "sending");
  const result = dropTask(entries, "t1");
  assert.deepEqual(result.removed.map((e) => e.taskId), ["t1", "t1"], "sending and refused alike");
  assert.deepEqual(result.entries.map((e) => e.taskId), ["t2"]);
  assert.equal(result.entries[0], entries[2], "an entry of another task is the same object");
  const none = dropTask(result.entries, "t1");
  assert.equal(none.entries, result.entries, "nothing to drop changes nothing");
  assert.deepEqual(none.removed, []);
});

test("responses are classified: success and replays, conflicts, retries, refusals", () => {
  assert.equal(classifyResponse("update", { status: 200 }).outcome, "ok");
  assert.equal(classifyResponse("create", { status: 201 }).outcome, "ok");
  assert.equal(classifyResponse("delete", { status: 204 }).outcome, "ok");
  assert.equal(classifyResponse("delete", { status: 404 }).outcome, "ok", "already gone is what a delete wants");
  assert.equal(classifyResponse("update", { status: 404 }).outcome, "gone", "the task was deleted: its entries go");
  assert.equal(classifyResponse("update", { status: 412 }).outcome, "conflict");
  assert.deepEqual(classifyResponse("update", { status: 409, retryAfter: 1 }), { outcome: "retry", waitMs: 1000 });
  assert.deepEqual(classifyResponse("update", null), { outcome: "retry", unreachable: true });
  assert.deepEqual(classifyResponse("update", { status: 503 }), { outcome: "retry", waitMs: null, unreachable: true });
  assert.equal(classifyResponse("update", { status: 401 }).outcome, "unauthorized");
  for (const status of [400, 403, 413, 415, 422]) assert.equal(classifyResponse("update", { status }).outcome, "refused", String(status));
});

test("the overlay shows my pending edits on the server's task, tags merged as a set", () => {
  const server = task("t1", 4, { title: "Theirs", tags: ["a", "new"] });
  const entries = queueOf(update("t1", 3, { description: "", tags: ["a"] }, { description: "mine", tags: ["a", "mine"] }));
  const shown = overlayTask(server, entries);
  assert.equal(shown.title, "Theirs");
  assert.equal(shown.description, "mine");
  assert.deepEqual(shown.tags, ["a", "new", "mine"]);
  assert.equal(shown.pending, true);
  assert.equal(overlayTask(task("t2", 1), entries).pending, undefined, "another task is as the server has it");
});

test("the list overlay adds pending creates first and hides pending deletes", () => {
  const tasks = [task("t1", 1, { title: "one" }), task("t2", 1, { title: "two" })];
  const entries = queueOf(create("tmp-1", { title: "first new" }), remove("t2", 1), create("tmp-2", { title: "second new", priority: "high" }), update("tmp-1", null, { status: "todo" }, { status: "blocked" }));
  const shown = overlayList(tasks, entries);
  assert.deepEqual(shown.map((t) => t.id), ["tmp-2", "tmp-1", "t1"]);
  assert.equal(shown[0].priority, "high");
  assert.equal(shown[0].pending, true);
  assert.equal(shown[1].title, "first new");
  assert.equal(shown[1].status, "blocked", "the edit shows…");
  assert.equal(entries.filter((e) => e.taskId === "tmp-1").length, 1, "…folded into the create, which was never sent");
});

test("the status line: offline with a count, syncing, decisions needed, all synced", () => {
  const two = queueOf(update("t1", 1, { title: "Plan" }, { title: "A" }), update("t2", 1, { title: "Plan" }, { title: "B" }));
  assert.equal(statusLine(two, { reachable: false }), "offline — 2 changes pending");
  assert.equal(statusLine(two.slice(0, 1), { reachable: false }), "offline — 1 change pending");
  assert.equal(statusLine(two, { reachable: true }), "syncing 2 changes…");
  const stuck = refuse(two, two[0].id, { status: 422 }).entries;
  assert.equal(statusLine(stuck, { reachable: false }), "offline — 1 change pending; 1 change needs your decision");
  assert.equal(statusLine([], { reachable: true, hadChanges: true }), "all changes synced");
  assert.equal(statusLine([], { reachable: true }), "");
});

test("each pending item is described by what it does", () => {
  const [edit, made, gone] = queueOf(update("t1", 1, { title: "Plan", assignee_id: null }, { title: "A", assignee_id: "bo" }), create("tmp", { title: "New" }), remove("t3", 1));
  assert.equal(describeEntry(edit, (f) => (f === "assignee_id" ? "assignee" : f)), "Edit “Plan” (title, assignee)");
  assert.equal(describeEntry(made), "Create “New”");
  assert.equal(describeEntry(gone), "Delete “Plan”");
});

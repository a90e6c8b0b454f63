// The three-way merge (clients/js/src/state/merge.js): every rule of issue #15 for a 412, field by
// field against the server's `current`, and tags as a set.
import { test } from "node:test";
import assert from "node:assert/strict";

import { changedFields, mergePatch, mergeTags, resolvedPatch, sameFieldValue, whoChanged } from "../../clients/js/src/state/merge.js";

const base = { title: "Plan", description: "draft", status: "todo", priority: "medium", assignee_id: null, due_date: null, tags: ["a", "b"] };
const now = (changes) => ({ ...base, ...changes, version: 5 });

test("a field only I changed is reapplied", () => {
  const result = mergePatch({ title: "Plan" }, { title: "Mine" }, now({ description: "theirs" }));
  assert.deepEqual(result.patch, { title: "Mine" });
  assert.deepEqual(result.conflicts, []);
});

test("a field only they changed keeps theirs: it is not sent", () => {
  // I changed the title; they changed the description. Only my title goes.
  const result = mergePatch({ title: "Plan" }, { title: "Mine" }, now({ description: "theirs" }));
  assert.equal("description" in result.patch, false);
});

test("a field I set back to what I saw is dropped, and theirs stays", () => {
  const result = mergePatch({ title: "Plan" }, { title: "Plan" }, now({ title: "Theirs" }));
  assert.deepEqual(result.patch, {});
  assert.deepEqual(result.conflicts, []);
  assert.deepEqual(result.dropped, [{ field: "title", reason: "unchanged" }]);
});

test("a field both changed to the same value is dropped", () => {
  const result = mergePatch({ status: "todo" }, { status: "done" }, now({ status: "done" }));
  assert.deepEqual(result.patch, {});
  assert.deepEqual(result.dropped, [{ field: "status", reason: "same" }]);
  assert.deepEqual(result.conflicts, []);
});

test("a field both changed differently is a conflict with base, mine and theirs", () => {
  const result = mergePatch({ title: "Plan", priority: "medium" }, { title: "Mine", priority: "high" }, now({ title: "Theirs" }));
  assert.deepEqual(result.conflicts, [{ field: "title", base: "Plan", mine: "Mine", theirs: "Theirs" }]);
  assert.deepEqual(result.patch, { priority: "high" }, "the other field still merges");
});

test("null is a value like any other: clearing versus setting conflicts", () => {
  const result = mergePatch({ assignee_id: "ana" }, { assignee_id: null }, now({ assignee_id: "bob" }));
  assert.deepEqual(result.conflicts, [{ field: "assignee_id", base: "ana", mine: null, theirs: "bob" }]);
  const same = mergePatch({ due_date: "2030-01-01" }, { due_date: null }, now({ due_date: null }));
  assert.deepEqual(same.patch, {});
  assert.deepEqual(same.dropped, [{ field: "due_date", reason: "same" }]);
});

test("titles compare as the server stores them (trimmed)", () => {
  assert.ok(sameFieldValue("title", "  Plan ", "Plan"));
  assert.ok(!sameFieldValue("description", " draft", "draft"), "descriptions are kept as typed");
  const result = mergePatch({ title: "Plan" }, { title: "Done " }, now({ title: "Done" }));
  assert.deepEqual(result.dropped, [{ field: "title", reason: "same" }]);
});

test("tags merge as a set: my adds and removes apply to theirs", () => {
  // base a, b; I add c and remove a; they add d and remove b.
  assert.deepEqual(mergeTags(["a", "b"], ["b", "c"], ["a", "d"]), ["d", "c"]);
  // both add the same tag: once
  assert.deepEqual(mergeTags(["a"], ["a", "x"], ["a", "x"]), ["a", "x"]);
  // I remove a tag they also removed: gone, no error
  assert.deepEqual(mergeTags(["a", "b"], ["b"], ["b"]), ["b"]);
  // their order is kept, my additions come after in my order
  assert.deepEqual(mergeTags([], ["z", "y"], ["m", "k"]), ["m", "k", "z", "y"]);
  // duplicates in any input are dropped
  assert.deepEqual(mergeTags(["a", "a"], ["a", "c", "c"], ["a", "a"]), ["a", "c"]);
});

test("tags in a 412: merged as a set, never a conflict; a no-op merge is dropped", () => {
  const result = mergePatch({ tags: ["a", "b"] }, { tags: ["a", "b", "mine"] }, now({ tags: ["b", "theirs"] }));
  assert.deepEqual(result.patch, { tags: ["b", "theirs", "mine"] });
  assert.deepEqual(result.conflicts, []);
  const both = mergePatch({ tags: ["a"] }, { tags: ["a", "x"] }, now({ tags: ["x", "a"] }));
  assert.deepEqual(both.patch, {}, "they already added what I added");
  assert.deepEqual(both.dropped, [{ field: "tags", reason: "same" }]);
  const untouched = mergePatch({ tags: ["a"] }, { tags: ["a"] }, now({ tags: ["q"] }));
  assert.deepEqual(untouched.dropped, [{ field: "tags", reason: "unchanged" }]);
});

test("a resolution sends the merged fields plus the conflicts chosen mine", () => {
  const { patch, conflicts } = mergePatch(
    { title: "Plan", description: "draft", priority: "medium" },
    { title: "Mine", description: "my text", priority: "high" },
    now({ title: "Theirs", description: "their text" }),
  );
  assert.deepEqual(resolvedPatch(patch, conflicts, { title: "mine", description: "theirs" }), { priority: "high", title: "Mine" });
  assert.deepEqual(resolvedPatch(patch, conflicts, {}), { priority: "high" }, "no choice keeps theirs");
});

test("changedFields lists what differs between two versions", () => {
  assert.deepEqual(changedFields(base, { ...base, title: "x", tags: ["b", "a"] }, ["title", "tags", "status"]), ["title"]);
});

test("who changed a field: the newest activity entry after my base version that names it", () => {
  const activity = [
    { version: 7, kind: "updated", changed: ["status"], actor: { id: "cy", name: "Cy" } },
    { version: 6, kind: "updated", changed: ["title"], actor: { id: "bob", name: "Bob" } },
    { version: 5, kind: "updated", changed: ["title"], actor: { id: "ana", name: "Ana" } },
    { version: 1, kind: "created", changed: [], actor: { id: "ana", name: "Ana" } },
  ];
  assert.deepEqual(whoChanged(activity, 4, "title"), { id: "bob", name: "Bob" });
  assert.deepEqual(whoChanged(activity, 4, "status"), { id: "cy", name: "Cy" });
  assert.equal(whoChanged(activity, 6, "title"), null, "a change at or before my base is not theirs");
  assert.equal(whoChanged(activity, 4, "tags"), null, "not on this page: unknown");
  assert.deepEqual(whoChanged(activity, 0, "tags"), { id: "ana", name: "Ana" }, "set when the task was created");
});

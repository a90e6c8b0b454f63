// How the UI names fields and values (public/state/fields.js): one spelling, used by the form,
// the dashboard's cards, the activity log, the conflict prompt and the read-only view.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

import { fieldLabel, fieldText, STATUS_LABELS, statusLabel, taskValues } from "../../public/state/fields.js";

test("every status has words, and an unknown one loses its underscores", () => {
  assert.deepEqual(Object.keys(STATUS_LABELS), ["todo", "in_progress", "blocked", "in_review", "done"]);
  for (const label of Object.values(STATUS_LABELS)) assert.doesNotMatch(label, /_/);
  assert.equal(statusLabel("in_progress"), "in progress");
  assert.equal(statusLabel("on_hold_now"), "on hold now", "a newer server's status still reads");
});

test("the page's status options say what statusLabel says", () => {
  const page = readFileSync(new URL("../../public/index.html", import.meta.url), "utf8");
  const options = [...page.matchAll(/<option value="(todo|in_progress|blocked|in_review|done)">([^<]*)<\/option>/g)];
  assert.ok(options.length >= 10, "the filter's and the form's options");
  for (const [, value, text] of options) assert.equal(text, statusLabel(value), value);
});

test("a read-only task lists its values in words", () => {
  const task = { status: "in_review", priority: "high", assignee_id: null, due_date: "2030-01-01", tags: ["a", "b"] };
  assert.deepEqual(taskValues(task), [
    ["status", "in review"],
    ["priority", "high"],
    ["assignee", "(none)"],
    ["due date", "2030-01-01"],
    ["tags", "a, b"],
  ]);
  assert.equal(fieldLabel("assignee_id"), "assignee");
  assert.equal(fieldText("tags", []), "(none)");
});

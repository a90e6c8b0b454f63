// The conflict prompt's wording (public/state/conflict.js): who changed the task, and each
// value as text.
import { test } from "node:test";
import assert from "node:assert/strict";

import { conflictAuthors, conflictText, fieldText } from "../../public/state/conflict.js";

const bob = { id: "bob", name: "Bob" };
const cy = { id: "cy", name: "Cy" };

test("who changed it: one name, several joined, unknown as someone else, me elsewhere", () => {
  assert.equal(conflictAuthors([{ by: bob }]), "Bob");
  assert.equal(conflictAuthors([{ by: bob }, { by: bob }, { by: cy }]), "Bob and Cy");
  assert.equal(conflictAuthors([{ by: bob }, { by: null }, { by: cy }]), "Bob, someone else and Cy");
  assert.equal(conflictAuthors([{ by: { id: "ana", name: "Ana" } }], "ana"), "you (in another tab or device)");
  assert.equal(conflictAuthors([]), "someone else");
});

test("the sentence for an edit and for a delete", () => {
  const edit = { kind: "update", conflict: { fields: [{ field: "title", by: bob }] } };
  assert.equal(conflictText(edit), "Changed by Bob while you were editing. Keep your value or theirs for each field:");
  const gone = { kind: "delete", conflict: { fields: [{ field: "status", by: cy }] } };
  assert.equal(conflictText(gone), "Changed by Cy after you deleted it. Keep their version, or delete it anyway?");
});

test("values as text: tags joined, nothing shown as (none)", () => {
  assert.equal(fieldText("tags", ["a", "b"]), "a, b");
  assert.equal(fieldText("tags", []), "(none)");
  assert.equal(fieldText("assignee_id", null), "(none)");
  assert.equal(fieldText("description", ""), "(none)");
  assert.equal(fieldText("title", "Plan"), "Plan");
});

test("a status reads as words, in the prompt as everywhere else", () => {
  assert.equal(fieldText("status", "in_progress"), "in progress");
  assert.equal(fieldText("status", "todo"), "to do");
  assert.equal(fieldText("due_date", "2030-01-01"), "2030-01-01");
});

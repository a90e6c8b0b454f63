// What a role may do in the UI (public/state/roles.js), as the server decides it.
import { test } from "node:test";
import assert from "node:assert/strict";

import { abilities, isReadOnly, roleOf } from "../../public/state/roles.js";

test("the role comes from app_metadata, else app_role, else member; Supabase's own role is ignored", () => {
  assert.equal(roleOf({ app_metadata: { role: "viewer" }, app_role: "admin" }), "viewer");
  assert.equal(roleOf({ app_metadata: { role: "" }, app_role: "admin" }), "admin");
  assert.equal(roleOf({ role: "authenticated" }), "member");
  assert.equal(roleOf({ app_metadata: { role: "owner" } }), "owner", "an unknown role is kept as it is");
  assert.equal(roleOf(null), null);
});

test("a viewer may do nothing; a member creates, edits and deletes its own; an admin everything", () => {
  const mine = { created_by: "ana" };
  const theirs = { created_by: "bob" };
  assert.deepEqual({ ...abilities("viewer", { task: mine, userId: "ana" }) }, { create: false, edit: false, delete: false });
  assert.deepEqual({ ...abilities("member", { task: mine, userId: "ana" }) }, { create: true, edit: true, delete: true });
  assert.equal(abilities("member", { task: theirs, userId: "ana" }).delete, false);
  assert.equal(abilities("member").delete, false, "no task, nothing to delete");
  assert.equal(abilities("admin", { task: theirs, userId: "ana" }).delete, true);
  assert.deepEqual({ ...abilities("owner", { task: mine, userId: "ana" }) }, { create: false, edit: false, delete: false }, "unknown: nothing");
  assert.equal(isReadOnly("viewer"), true);
  assert.equal(isReadOnly("member"), false);
  assert.equal(isReadOnly("owner"), true);
});

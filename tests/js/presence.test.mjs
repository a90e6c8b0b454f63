// The presence reducer (clients/js/src/state/presence.js) against the server's rule in
// the Rust room's `presence()`: one entry per user, sorted by id, `connections` = their
// sockets, `editing` = the sorted union of the fields their sockets edit.
import { test } from "node:test";
import assert from "node:assert/strict";

import { applyPresence } from "../../clients/js/src/state/presence.js";

const ana = { id: "ana", name: "Ana", avatar_url: null };
const bob = { id: "bob", name: "Bob", avatar_url: null };
const cy = { id: "cy", name: "Cy", avatar_url: null };
const entry = (user, connections, editing = []) => ({ user, connections, editing });

/** Applies messages in order, as a room receives them. */
const run = (list, ...messages) => messages.reduce(applyPresence, list);

test("a user's first tab joins with one connection and no fields; entries stay sorted by user id", () => {
  const list = run([], { type: "user_joined", user: cy, connections: 1 }, { type: "user_joined", user: ana, connections: 1 });
  assert.deepEqual(list, [entry(ana, 1), entry(cy, 1)]);
  const withBob = applyPresence(list, { type: "user_joined", user: bob, connections: 1 });
  assert.deepEqual(withBob.map((e) => e.user.id), ["ana", "bob", "cy"]);
});

test("a second tab of the same user comes as a full presence list and counts 2 tabs", () => {
  // The server sends `presence`, not `user_joined`, for a user who is already here.
  const list = run(
    [],
    { type: "user_joined", user: ana, connections: 1 },
    { type: "presence", presence: [entry(ana, 2)] },
    { type: "user_joined", user: bob, connections: 1 },
  );
  assert.deepEqual(list, [entry(ana, 2), entry(bob, 1)]);
});

test("fields edited in two tabs of one user are both kept, as the server's union", () => {
  const twoTabs = [entry(ana, 2), entry(bob, 1)];
  const list = run(
    twoTabs,
    { type: "editing", user_id: "ana", field: "title" }, // tab 1
    { type: "editing", user_id: "ana", field: "description" }, // tab 2
    { type: "editing", user_id: "ana", field: "title" }, // no duplicate
  );
  assert.deepEqual(list[0].editing, ["description", "title"]);
  assert.deepEqual(list[1], entry(bob, 1), "other users are untouched");
});

test("with several tabs, a tab that stops editing keeps the other fields until the full list corrects it", () => {
  // The message does not say which tab stopped: the other tab's field must not vanish.
  const editingBoth = [entry(ana, 2, ["description", "title"])];
  const stopped = applyPresence(editingBoth, { type: "editing", user_id: "ana", field: null });
  assert.deepEqual(stopped[0].editing, ["description", "title"]);
  // What room.rs `leave` sends when the tab editing description closes: `editing` with the
  // field still being edited, then the whole list.
  const afterLeave = run(
    editingBoth,
    { type: "editing", user_id: "ana", field: "title" },
    { type: "presence", presence: [entry(ana, 1, ["title"])] },
  );
  assert.deepEqual(afterLeave, [entry(ana, 1, ["title"])]);
});

test("with one tab, editing is exactly that tab's field, and null clears it", () => {
  const one = [entry(bob, 1)];
  const title = applyPresence(one, { type: "editing", user_id: "bob", field: "title" });
  assert.deepEqual(title[0].editing, ["title"]);
  const moved = applyPresence(title, { type: "editing", user_id: "bob", field: "due_date" });
  assert.deepEqual(moved[0].editing, ["due_date"]);
  assert.deepEqual(applyPresence(moved, { type: "editing", user_id: "bob", field: null })[0].editing, []);
  assert.deepEqual(one[0].editing, [], "the input list is not mutated");
});

test("user_left removes the user; unknown users and other messages change nothing", () => {
  const list = [entry(ana, 1, ["title"]), entry(bob, 2)];
  assert.deepEqual(applyPresence(list, { type: "user_left", user_id: "ana" }), [entry(bob, 2)]);
  assert.equal(applyPresence(list, { type: "user_left", user_id: "zed" }), list);
  assert.equal(applyPresence(list, { type: "editing", user_id: "zed", field: "title" }), list);
  assert.equal(applyPresence(list, { type: "typing", user_id: "ana", field: "title", active: true }), list);
});

test("welcome replaces the whole list, normalising each user's fields to a sorted set", () => {
  const stale = [entry(ana, 3, ["title"]), entry(cy, 1)];
  const list = applyPresence(stale, {
    type: "welcome",
    connection_id: "c1",
    user: bob,
    presence: [entry(bob, 1), entry(cy, 2, ["title", "description", "title"])],
    seq: 4,
    resumed: false,
    replayed: 0,
  });
  assert.deepEqual(list, [entry(bob, 1), entry(cy, 2, ["description", "title"])]);
});

test("a presence message replaces the list, dropping users it does not name", () => {
  const list = run([entry(ana, 1), entry(bob, 1)], { type: "presence", presence: [entry(bob, 2, ["tags"])] });
  assert.deepEqual(list, [entry(bob, 2, ["tags"])]);
});

// Protocol 2: `presence_diff {joins, leaves}` instead of the whole list. Each `joins` entry is
// that user's whole entry now; each `leaves` id removes that user.

test("a second tab's presence_diff updates that user's count in place", () => {
  const list = run(
    [],
    { type: "user_joined", user: ana, connections: 1 },
    { type: "user_joined", user: bob, connections: 1 },
    { type: "presence_diff", joins: [entry(ana, 2)], leaves: [] },
  );
  assert.deepEqual(list, [entry(ana, 2), entry(bob, 1)]);
  // The tab closes again: the server sends the entry with one connection and its fields.
  const closed = applyPresence(list, { type: "presence_diff", joins: [entry(ana, 1, ["title"])], leaves: [] });
  assert.deepEqual(closed, [entry(ana, 1, ["title"]), entry(bob, 1)]);
  assert.deepEqual(list[0], entry(ana, 2), "the input list is not mutated");
});

test("a diff with a join and a leave in one frame applies both, keeping the order by user id", () => {
  const list = [entry(ana, 1), entry(bob, 1, ["tags"])];
  const next = applyPresence(list, { type: "presence_diff", joins: [entry(cy, 1, ["title", "description"])], leaves: ["ana"] });
  assert.deepEqual(next, [entry(bob, 1, ["tags"]), entry(cy, 1, ["description", "title"])]);
  const front = applyPresence(next, { type: "presence_diff", joins: [entry(ana, 3)], leaves: ["cy"] });
  assert.deepEqual(front.map((e) => [e.user.id, e.connections]), [["ana", 3], ["bob", 1]]);
});

test("an unknown user in leaves is ignored; an empty diff changes nothing", () => {
  const list = [entry(ana, 1), entry(bob, 2)];
  assert.equal(applyPresence(list, { type: "presence_diff", joins: [], leaves: ["zed"] }), list);
  assert.equal(applyPresence(list, { type: "presence_diff", joins: [], leaves: [] }), list);
  assert.deepEqual(applyPresence(list, { type: "presence_diff", joins: [], leaves: ["zed", "bob"] }), [entry(ana, 1)]);
});

test("a diff after the welcome of a resumed connection applies on the welcome's list", () => {
  // Our old list is stale (we were away); the welcome replaces it, then the diff applies.
  const stale = [entry(ana, 1), entry(cy, 1)];
  const list = run(
    stale,
    { type: "welcome", protocol: 2, connection_id: "c2", user: bob, presence: [entry(bob, 1), entry(cy, 2)], seq: 9, resumed: true, replayed: 2 },
    { type: "presence_diff", joins: [entry(bob, 2)], leaves: ["cy"] },
  );
  assert.deepEqual(list, [entry(bob, 2)]);
});

// The board's "who is in which task" map (clients/js/src/state/task-presence.js), from the board
// welcome's `task_presence` and the `task_presence` messages, and its use in a board room.
import { test } from "node:test";
import assert from "node:assert/strict";

import { applyTaskPresence, emptyTaskPresence, usersIn } from "../../clients/js/src/state/task-presence.js";
import { connectBoard } from "../../clients/js/src/index.js";

const ana = { id: "ana", name: "Ana", avatar_url: null };
const bob = { id: "bob", name: "Bob", avatar_url: "https://example.com/bob.png" };

const welcome = (task_presence) => ({ type: "welcome", connection_id: "c", user: ana, presence: [], seq: 0, resumed: false, replayed: 0, task_presence });

test("the welcome's map replaces what was known; empty tasks are left out", () => {
  const map = applyTaskPresence({ old: [ana] }, welcome({ t1: [bob, ana], t2: [] }));
  assert.deepEqual(map, { t1: [ana, bob] }, "sorted by user id; a task with nobody is absent");
  assert.deepEqual(applyTaskPresence({ old: [ana] }, welcome(undefined)), {}, "a server without the field: nobody known");
});

test("task_presence replaces one task's users; an empty list removes the task", () => {
  let map = applyTaskPresence(emptyTaskPresence, { type: "task_presence", task_id: "t1", users: [bob] });
  map = applyTaskPresence(map, { type: "task_presence", task_id: "t2", users: [ana] });
  map = applyTaskPresence(map, { type: "task_presence", task_id: "t1", users: [bob, ana, bob] });
  assert.deepEqual(map, { t1: [ana, bob], t2: [ana] }, "one entry per user");
  map = applyTaskPresence(map, { type: "task_presence", task_id: "t1", users: [] });
  assert.deepEqual(map, { t2: [ana] });
  assert.deepEqual(usersIn(map, "t1"), []);
  assert.deepEqual(usersIn(map, "t2"), [ana]);
});

test("messages that change nothing return the same map", () => {
  const map = { t1: [ana] };
  assert.equal(applyTaskPresence(map, { type: "task_presence", task_id: "t9", users: [] }), map);
  assert.equal(applyTaskPresence(map, { type: "task_updated", task: {} }), map);
  assert.equal(applyTaskPresence(map, { type: "task_presence", users: [ana] }), map, "no task id");
});

test("a deleted task has no room left: its users go", () => {
  const map = { t1: [ana], t2: [bob] };
  assert.deepEqual(applyTaskPresence(map, { type: "task_deleted", task_id: "t1", seq: 3 }), { t2: [bob] });
  assert.deepEqual(applyTaskPresence(map, { type: "task_redacted", task_id: "t2", seq: 4 }), { t1: [ana] });
});

test("malformed users are ignored; missing names and avatars are filled in", () => {
  const map = applyTaskPresence({}, { type: "task_presence", task_id: "t1", users: [null, { name: "no id" }, { id: "cy" }] });
  assert.deepEqual(map, { t1: [{ id: "cy", name: "cy", avatar_url: null }] });
});

test("a board room keeps the map and announces it", async (t) => {
  const sockets = [];
  class Socket {
    constructor(url, protocols) {
      Object.assign(this, { url, protocols, readyState: 0 });
      sockets.push(this);
    }
    send() {}
    close() {
      this.readyState = 3;
    }
  }
  const room = connectBoard({ baseUrl: "http://x", token: "a.b.c", WebSocket: Socket });
  t.after(() => room.close());
  await new Promise((resolve) => setImmediate(resolve));
  const socket = sockets[0];
  socket.readyState = 1;
  socket.onopen();
  const seen = [];
  room.on("task_presence", (map) => seen.push(map));
  socket.onmessage({ data: JSON.stringify(welcome({ t1: [ana] })) });
  socket.onmessage({ data: JSON.stringify({ type: "task_presence", task_id: "t1", users: [ana, bob] }) });
  socket.onmessage({ data: JSON.stringify({ type: "task_presence", task_id: "t1", users: [] }) });
  assert.deepEqual(seen, [{ t1: [ana] }, { t1: [ana, bob] }, {}]);
  assert.deepEqual(room.taskPresence, {});
});

// The edit queue (openEditQueue in clients/js/src/edit-queue.js) against a fake server that keeps
// the API's contract: If-Match and 412 with `current`, Idempotency-Key replays (the first
// response again, `Idempotent-Replayed: true`), 422 for a key reused with another request,
// 409 while the first is still running, and the activity log. The store is in memory and
// shared by the "tabs" of a test, as IndexedDB is in a browser; the real IndexedDB store,
// Web Locks and BroadcastChannel are exercised in Chromium by tests/e2e/offline.rs.
import { test } from "node:test";
import assert from "node:assert/strict";

import { memoryStore, openEditQueue, QueueFullError } from "../../clients/js/src/index.js";

const FIELDS = ["title", "description", "status", "priority", "assignee_id", "due_date", "tags"];
const settle = () => new Promise((resolve) => setImmediate(resolve));

/** A server keeping the contract, for one workspace. `requests` records what reached it. */
function fakeServer() {
  const tasks = new Map();
  const activity = new Map(); // task id -> entries, newest first
  const keys = new Map(); // key -> {fingerprint, response} once committed
  const running = new Set();
  const requests = [];
  let ids = 0;
  const server = {
    tasks,
    requests,
    offline: false,
    /** Commits the next write but loses its response (the connection drops). */
    dropNextResponse: false,
    /** Commits the next write and never answers (the tab that sent it died). */
    hangAfterCommit: false,
    /** Holds the next write, before it commits, until release() (a request still running). */
    holdNext: null,
    commits: 0,
    seed(task, actor = { id: "setup", name: "Setup" }) {
      const full = { description: "", status: "todo", priority: "medium", assignee_id: null, due_date: null, tags: [], version: 1, ...task };
      tasks.set(full.id, full);
      activity.set(full.id, [{ kind: "created", version: 1, changed: [], actor, task: full }]);
      return full;
    },
    /** Another user's write straight to the server. */
    write(id, patch, actor) {
      const next = { ...tasks.get(id), ...patch, version: tasks.get(id).version + 1 };
      tasks.set(id, next);
      activity.get(id).unshift({ kind: "updated", version: next.version, changed: Object.keys(patch), actor, task: next });
      return next;
    },
    history: (id) => activity.get(id) ?? [],
    async fetch(url, init = {}) {
      const { pathname, searchParams } = new URL(url);
      const method = init.method ?? "GET";
      const headers = init.headers ?? {};
      requests.push({ method, path: pathname, headers, body: init.body });
      if (server.offline) throw new TypeError("Failed to fetch");
      const reply = (status, body = null, extra = {}) => ({
        status,
        ok: status >= 200 && status < 300,
        headers: { get: (name) => extra[name.toLowerCase()] ?? null },
        json: async () => body,
      });
      if (method === "GET") {
        const activityMatch = pathname.match(/^\/api\/tasks\/([^/]+)\/activity$/);
        if (activityMatch) return reply(200, { activity: server.history(activityMatch[1]).slice(0, Number(searchParams.get("limit") ?? 50)), next_cursor: null });
        const task = tasks.get(pathname.split("/").pop());
        return task ? reply(200, task) : reply(404, { status: 404 });
      }
      const key = headers["Idempotency-Key"];
      const fingerprint = `${method} ${pathname} ${init.body ?? ""}`;
      if (key && keys.has(key)) {
        const first = keys.get(key);
        if (first.fingerprint !== fingerprint) return reply(422, { status: 422, type: "https://hero-tasks.dev/problems/idempotency-key-reused" });
        return reply(first.response.status, first.response.body, { ...first.response.headers, "idempotent-replayed": "true" });
      }
      if (key && running.has(key)) return reply(409, { status: 409, type: "https://hero-tasks.dev/problems/idempotency-key-in-use" }, { "retry-after": "1" });
      running.add(key);
      try {
        if (server.holdNext) {
          const hold = server.holdNext;
          server.holdNext = null;
          await hold;
        }
        const response = server.decide(method, pathname, headers, init.body ? JSON.parse(init.body) : null);
        // The key commits with the write: a repeat from now on gets this response.
        if (response.status < 300 && key) keys.set(key, { fingerprint, response });
        if (response.status < 300 && server.hangAfterCommit) {
          server.hangAfterCommit = false;
          return new Promise(() => {}); // the tab that asked is gone; no answer ever arrives
        }
        if (response.status < 300 && server.dropNextResponse) {
          server.dropNextResponse = false;
          throw new TypeError("network connection lost");
        }
        return reply(response.status, response.body, response.headers);
      } finally {
        running.delete(key);
      }
    },
    decide(method, pathname, headers, body) {
      const actor = { id: "ana", name: "Ana" };
      if (method === "POST") {
        const task = server.seed({ id: `real-${++ids}`, ...body }, actor);
        server.commits += 1;
        return { status: 201, body: task, headers: { etag: '"1"' } };
      }
      const id = pathname.split("/").pop();
      const task = tasks.get(id);
      if (!task) return { status: 404, body: { status: 404, detail: "no such task" } };
      const ifMatch = headers["If-Match"];
      if (ifMatch && ifMatch !== `"${task.version}"`) return { status: 412, body: { status: 412, detail: "stale", current: task }, headers: { etag: `"${task.version}"` } };
      server.commits += 1;
      if (method === "DELETE") {
        tasks.delete(id);
        return { status: 204, body: null };
      }
      if (body.title !== undefined && body.title.length > 200) {
        server.commits -= 1;
        return { status: 422, body: { status: 422, detail: "title too long", errors: [{ field: "title", message: "at most 200 characters" }] } };
      }
      const next = server.write(id, body, actor);
      return { status: 200, body: next, headers: { etag: `"${next.version}"` } };
    },
  };
  return server;
}

/** Timers that never fire by themselves: tests call sync() when they mean a retry. */
const idleTimers = { setTimeout: () => 0, clearTimeout: () => {} };

let ids = 0;
function queueFor(server, { store = memoryStore(), online = () => !server.offline, ...rest } = {}) {
  const queue = openEditQueue({
    owner: { userId: "ana", workspaceId: "w1" },
    user: { id: "ana", name: "Ana" },
    baseUrl: "http://hero.test",
    token: "tok",
    fetch: server.fetch,
    store,
    channel: null,
    locks: rest.locks ?? null,
    timers: idleTimers,
    onLine: online,
    newId: () => `id-${++ids}`,
    ...rest,
  });
  return queue;
}

/** Web Locks for several "tabs" of one browser: one holder per name at a time. */
function sharedLocks() {
  const tails = new Map();
  return {
    request(name, _options, work) {
      const tail = tails.get(name) ?? Promise.resolve();
      const run = tail.then(() => work());
      tails.set(name, run.catch(() => {}));
      return run;
    },
  };
}

/** A server holding one task, and a queue that cannot reach it: every change waits. */
async function offlineWith(t, seed) {
  const server = fakeServer();
  const task = server.seed(seed);
  server.offline = true;
  const queue = queueFor(server);
  t.after(() => queue.close());
  await queue.ready;
  return { server, task, queue };
}

test("online: an edit commits once, with If-Match and an Idempotency-Key", async (t) => {
  const server = fakeServer();
  const task = server.seed({ id: "t1", title: "Plan" });
  const queue = queueFor(server);
  t.after(() => queue.close());
  await queue.ready;
  const acked = [];
  queue.on("acked", (message) => acked.push(message));
  await queue.update(task, { title: "Mine" });
  await queue.sync();
  const patch = server.requests.find((r) => r.method === "PATCH");
  assert.equal(patch.headers["If-Match"], '"1"');
  assert.match(patch.headers["Idempotency-Key"], /^id-/);
  assert.equal(server.tasks.get("t1").title, "Mine");
  assert.equal(server.commits, 1);
  assert.deepEqual(queue.entries, []);
  assert.equal(acked.length, 1);
  assert.equal(acked[0].task.version, 2);
});

test("offline: edits wait in the queue, show in the overlay, and commit once when back online", async (t) => {
  const { server, task, queue } = await offlineWith(t, { id: "t1", title: "Plan", tags: ["a"] });
  await queue.update(task, { title: "Offline title" });
  await queue.update(queue.overlay(task), { tags: ["a", "b"] });
  await queue.sync();
  assert.equal(queue.entries.length, 1, "two edits never sent are one entry");
  assert.equal(queue.reachable, false);
  assert.equal(server.commits, 0);
  const shown = queue.overlay(task);
  assert.equal(shown.title, "Offline title");
  assert.deepEqual(shown.tags, ["a", "b"]);
  assert.equal(shown.pending, true);

  server.offline = false;
  await queue.sync();
  assert.equal(server.commits, 1);
  assert.equal(server.tasks.get("t1").version, 2);
  assert.deepEqual(server.tasks.get("t1").tags, ["a", "b"]);
  assert.deepEqual(queue.entries, []);
  assert.equal(queue.reachable, true);
});

test("the queue survives a reload: a new queue on the same store replays what was left", async () => {
  const server = fakeServer();
  const task = server.seed({ id: "t1", title: "Plan" });
  server.offline = true;
  const store = memoryStore();
  const before = queueFor(server, { store });
  await before.ready;
  await before.update(task, { description: "written offline" });
  before.close();

  server.offline = false;
  const after = queueFor(server, { store });
  await after.ready; // reading the stored entries starts a replay
  await after.sync();
  after.close();
  assert.equal(server.tasks.get("t1").description, "written offline");
  assert.equal(server.commits, 1);
});

test("a lost response is retried with the same key, and the server's replay counts as success", async (t) => {
  const server = fakeServer();
  const task = server.seed({ id: "t1", title: "Plan" });
  const queue = queueFor(server);
  t.after(() => queue.close());
  await queue.ready;
  server.dropNextResponse = true;
  await queue.update(task, { title: "Once" });
  await queue.sync();
  assert.equal(server.commits, 1, "it committed…");
  assert.equal(queue.entries.length, 1, "…but the answer was lost, so the entry stays");
  assert.equal(queue.reachable, false);
  await queue.sync();
  const patches = server.requests.filter((r) => r.method === "PATCH");
  assert.equal(patches.length, 2);
  assert.equal(patches[1].headers["Idempotency-Key"], patches[0].headers["Idempotency-Key"]);
  assert.equal(patches[1].body, patches[0].body);
  assert.equal(server.commits, 1, "the retry committed nothing new");
  assert.equal(server.tasks.get("t1").version, 2);
  assert.equal(server.history("t1").length, 2, "created + one update");
  assert.deepEqual(queue.entries, []);
});

test("interrupted replay: a tab that died mid-request leaves the entry to the next tab, which replays it once", async () => {
  const server = fakeServer();
  const task = server.seed({ id: "t1", title: "Plan" });
  const store = memoryStore();
  // Tab A sends, the server commits, and the tab dies before the answer arrives.
  server.hangAfterCommit = true;
  const tabA = queueFor(server, { store });
  await tabA.ready;
  await tabA.update(task, { title: "From the dead tab" });
  await settle();
  assert.equal(server.commits, 1);
  assert.equal((await store.read())[0].state, "sending", "the store still says it is on its way");
  tabA.close();
  // The dead tab's lock is gone with it: tab B holds its own and finds the entry `sending`.
  const tabB = queueFor(server, { store });
  await tabB.ready;
  await tabB.sync();
  assert.equal(server.commits, 1, "the replay did not commit again");
  const patches = server.requests.filter((r) => r.method === "PATCH");
  assert.equal(patches.length, 2);
  assert.equal(patches[0].headers["Idempotency-Key"], patches[1].headers["Idempotency-Key"]);
  assert.deepEqual(tabB.entries, []);
  assert.equal(server.tasks.get("t1").version, 2);
  tabB.close();
});

test("the same key while the first request still runs: 409, then retried until it is answered", async () => {
  const server = fakeServer();
  const task = server.seed({ id: "t1", title: "Plan" });
  const store = memoryStore();
  let release;
  server.holdNext = new Promise((resolve) => (release = resolve));
  const tabA = queueFor(server, { store });
  await tabA.ready;
  await tabA.update(task, { title: "Slow" });
  await settle();
  // Another tab, believing tab A dead (its own lock), sends the same request meanwhile.
  const tabB = queueFor(server, { store });
  await tabB.ready;
  await tabB.sync();
  const inUse = server.requests.filter((r) => r.method === "PATCH");
  assert.equal(inUse.length, 2);
  assert.equal((await store.read())[0].error.status, 409);
  release();
  await tabA.sync();
  await tabB.sync();
  assert.equal(server.commits, 1);
  assert.deepEqual(await store.read(), []);
  tabA.close();
  tabB.close();
});

test("412, different fields: mine is reapplied on top of theirs and both survive", async (t) => {
  const { server, task, queue } = await offlineWith(t, { id: "t1", title: "Plan", description: "old" });
  await queue.update(task, { title: "Mine" });
  server.write("t1", { description: "theirs" }, { id: "bob", name: "Bob" });
  server.offline = false;
  await queue.sync();
  const now = server.tasks.get("t1");
  assert.equal(now.title, "Mine");
  assert.equal(now.description, "theirs");
  assert.equal(now.version, 3);
  const patches = server.requests.filter((r) => r.method === "PATCH");
  assert.deepEqual(patches.map((p) => p.headers["If-Match"]), ['"1"', '"2"']);
  assert.notEqual(patches[0].headers["Idempotency-Key"], patches[1].headers["Idempotency-Key"], "a new request gets a new key");
});

test("412, same field: a conflict with both values and who, and the chosen one commits", async (t) => {
  const { server, task, queue } = await offlineWith(t, { id: "t1", title: "Plan", priority: "medium" });
  await queue.update(task, { title: "Mine", priority: "high" });
  server.write("t1", { title: "Theirs" }, { id: "bob", name: "Bob" });
  server.offline = false;
  await queue.sync();
  assert.equal(server.commits, 0, "nothing is sent while the user decides");
  const [entry] = queue.entries;
  assert.equal(entry.state, "conflict");
  assert.deepEqual(entry.conflict.fields, [{ field: "title", base: "Plan", mine: "Mine", theirs: "Theirs", by: { id: "bob", name: "Bob" } }]);
  assert.equal(await queue.resolve(entry.id, { title: "mine" }), "requeued");
  await queue.sync();
  const now = server.tasks.get("t1");
  assert.equal(now.title, "Mine");
  assert.equal(now.priority, "high");
  assert.equal(now.version, 3);
  assert.deepEqual(queue.entries, []);
});

test("412, same field, theirs chosen: their value stays and only the rest is sent", async (t) => {
  const { server, task, queue } = await offlineWith(t, { id: "t1", title: "Plan" });
  await queue.update(task, { title: "Mine" });
  server.write("t1", { title: "Theirs" }, { id: "bob", name: "Bob" });
  server.offline = false;
  await queue.sync();
  const acked = [];
  queue.on("acked", (m) => acked.push(m));
  assert.equal(await queue.resolve(queue.entries[0].id, { title: "theirs" }), "kept-theirs");
  await queue.sync();
  assert.equal(server.tasks.get("t1").title, "Theirs");
  assert.equal(server.tasks.get("t1").version, 2, "nothing new committed");
  assert.equal(acked[0].task.title, "Theirs", "the view hears what the task is now");
});

test("a create made offline is pending under a temporary id, then commits once; its edits follow it", async (t) => {
  const server = fakeServer();
  server.offline = true;
  // The browser says online but the server cannot be reached: the create is tried, and fails.
  const queue = queueFor(server, { online: () => true });
  t.after(() => queue.close());
  await queue.ready;
  const pending = await queue.create({ title: "Made offline", priority: "high" });
  assert.equal(pending.pending, true);
  assert.equal(queue.overlayList([])[0].title, "Made offline");
  // The first attempt reaches nobody; an edit then goes in its own entry.
  await queue.sync();
  await queue.update(queue.pendingTask(pending.id), { status: "in_progress" });
  assert.equal(queue.entries.length, 2);
  server.offline = false;
  const acked = [];
  queue.on("acked", (m) => acked.push(m));
  await queue.sync();
  const made = [...server.tasks.values()].filter((t) => t.title === "Made offline");
  assert.equal(made.length, 1);
  assert.equal(made[0].status, "in_progress");
  assert.equal(made[0].version, 2);
  assert.equal(acked[0].tempId, pending.id);
  assert.equal(acked[0].taskId, made[0].id);
  assert.equal(queue.realId(pending.id), made[0].id);
  assert.deepEqual(queue.entries, []);
});

test("a lost 201 is replayed, not created twice", async (t) => {
  const server = fakeServer();
  const queue = queueFor(server);
  t.after(() => queue.close());
  await queue.ready;
  server.dropNextResponse = true;
  await queue.create({ title: "Only once" });
  await queue.sync();
  await queue.sync();
  assert.equal([...server.tasks.values()].filter((t) => t.title === "Only once").length, 1);
  assert.deepEqual(queue.entries, []);
});

test("two tabs offline, then online together: each entry commits exactly once", async () => {
  const server = fakeServer();
  const one = server.seed({ id: "t1", title: "One" });
  const two = server.seed({ id: "t2", title: "Two" });
  server.offline = true;
  const store = memoryStore();
  const locks = sharedLocks();
  const [left, right] = [queueFor(server, { store, locks }), queueFor(server, { store, locks })];
  await Promise.all([left.ready, right.ready]);
  await left.update(one, { title: "One, edited in the left tab" });
  await right.update(two, { title: "Two, edited in the right tab" });
  server.offline = false;
  await Promise.all([left.sync(), right.sync(), left.sync(), right.sync()]);
  await Promise.all([left.sync(), right.sync()]);
  assert.equal(server.commits, 2);
  const patches = server.requests.filter((r) => r.method === "PATCH");
  assert.equal(new Set(patches.map((p) => p.headers["Idempotency-Key"])).size, patches.length, "no request was sent twice");
  assert.equal(server.tasks.get("t1").version, 2);
  assert.equal(server.tasks.get("t2").version, 2);
  left.close();
  right.close();
});

test("tabs tell each other over a BroadcastChannel: the other tab sees the entry and its ack", async () => {
  const server = fakeServer();
  const task = server.seed({ id: "t1", title: "Plan" });
  server.offline = true;
  const store = memoryStore();
  const locks = sharedLocks();
  const name = `test-${Math.random()}`;
  const [leftChannel, rightChannel] = [new BroadcastChannel(name), new BroadcastChannel(name)];
  const left = queueFor(server, { store, locks, channel: leftChannel });
  const right = queueFor(server, { store, locks, channel: rightChannel, online: () => false });
  await Promise.all([left.ready, right.ready]);
  const heard = [];
  right.on("acked", (m) => heard.push(m));
  await left.update(task, { title: "Mine" });
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(right.entries.length, 1, "the other tab shows it pending");
  server.offline = false;
  await left.sync();
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.deepEqual(right.entries, []);
  assert.equal(heard.length, 1);
  assert.equal(heard[0].task.title, "Mine");
  left.close();
  right.close();
  leftChannel.close();
  rightChannel.close();
});

test("a write to a deleted task drops every entry of it and says so; dropTask does the same", async (t) => {
  const server = fakeServer();
  const task = server.seed({ id: "t1", title: "Plan" });
  const other = server.seed({ id: "t2", title: "Other" });
  const queue = queueFor(server);
  t.after(() => queue.close());
  await queue.ready;
  const heard = [];
  queue.on("dropped", (message) => heard.push(message));
  server.offline = true;
  await queue.update(task, { title: "Mine" });
  await queue.update(queue.overlay(task), { priority: "high" });
  await queue.update(other, { title: "Kept" });
  server.tasks.delete("t1"); // someone else deleted it meanwhile
  server.offline = false;
  await queue.sync();
  assert.deepEqual(queue.entries, [], "t1's entries dropped, t2's committed");
  assert.equal(server.tasks.get("t2").title, "Kept");
  assert.equal(heard.length, 1);
  assert.equal(heard[0].taskId, "t1");
  assert.equal(heard[0].reason, "gone");
  assert.deepEqual(heard[0].entries.map((e) => e.patch), [{ title: "Mine", priority: "high" }], "what was dropped (folded into one entry)");
  assert.equal(server.requests.filter((r) => r.method === "PATCH" && r.path === "/api/tasks/t1").length, 1, "one 404, nothing sent after it");

  server.offline = true;
  await queue.update(server.tasks.get("t2"), { title: "Again" });
  const dropped = await queue.dropTask("t2");
  assert.equal(dropped.length, 1);
  assert.deepEqual(queue.entries, []);
  assert.equal(heard[1].reason, "deleted");
  assert.deepEqual(await queue.dropTask("t2"), [], "nothing left to drop");
  assert.equal(heard.length, 2, "nothing dropped, nothing said");
});

test("a refusal is kept with its reason until discarded; 5xx is retried as it was", async (t) => {
  const server = fakeServer();
  const task = server.seed({ id: "t1", title: "Plan" });
  const queue = queueFor(server);
  t.after(() => queue.close());
  await queue.ready;
  await queue.update(task, { title: "x".repeat(201) });
  await queue.sync();
  const [refused] = queue.entries;
  assert.equal(refused.state, "refused");
  assert.equal(refused.error.status, 422);
  assert.deepEqual(refused.error.errors, [{ field: "title", message: "at most 200 characters" }]);
  await queue.sync();
  assert.equal(server.requests.filter((r) => r.method === "PATCH").length, 1, "a refusal is not retried by itself");
  await queue.discard(refused.id);
  assert.deepEqual(queue.entries, []);

  const failing = server.decide;
  server.decide = () => ({ status: 503, body: { status: 503 } });
  await queue.update(task, { title: "Later" });
  await queue.sync();
  assert.equal(queue.entries[0].state, "queued");
  assert.equal(queue.reachable, false);
  server.decide = failing;
  await queue.sync();
  assert.equal(server.tasks.get("t1").title, "Later");
  assert.deepEqual(queue.entries, []);
});

test("a delete that meets another user's change asks before deleting it", async (t) => {
  const { server, task, queue } = await offlineWith(t, { id: "t1", title: "Plan" });
  await queue.remove(task);
  server.write("t1", { status: "done" }, { id: "bob", name: "Bob" });
  server.offline = false;
  await queue.sync();
  assert.ok(server.tasks.has("t1"));
  const [entry] = queue.entries;
  assert.equal(entry.state, "conflict");
  assert.deepEqual(entry.conflict.fields.map((f) => [f.field, f.theirs, f.by?.name]), [["status", "done", "Bob"]]);
  await queue.resolve(entry.id, "mine");
  await queue.sync();
  assert.equal(server.tasks.has("t1"), false);
});

test("past the cap a change is refused with a clear error, and nothing is lost", async (t) => {
  const server = fakeServer();
  server.offline = true;
  const queue = queueFor(server, { limit: 2 });
  t.after(() => queue.close());
  await queue.ready;
  await queue.create({ title: "one" });
  await queue.create({ title: "two" });
  await assert.rejects(queue.create({ title: "three" }), (error) => error instanceof QueueFullError && /reconnect/.test(error.message));
  assert.deepEqual(queue.entries.map((e) => e.label), ["one", "two"]);
});

test("an edit's base is what the user saw; a later edit after an ack goes without a 412", async (t) => {
  const server = fakeServer();
  const task = server.seed({ id: "t1", title: "Plan" });
  const queue = queueFor(server);
  t.after(() => queue.close());
  await queue.ready;
  let release;
  server.holdNext = new Promise((resolve) => (release = resolve));
  await queue.update(task, { title: "First" });
  await settle();
  // While the first is on its way, the user edits again on top of what they see.
  await queue.update(queue.overlay(task), { description: "second" });
  assert.equal(queue.entries.length, 2);
  release();
  await queue.sync();
  const patches = server.requests.filter((r) => r.method === "PATCH");
  assert.deepEqual(patches.map((p) => p.headers["If-Match"]), ['"1"', '"2"'], "rebased on its own ack");
  assert.equal(server.tasks.get("t1").version, 3);
  assert.deepEqual(FIELDS.filter((f) => f in JSON.parse(patches[1].body)), ["description"]);
});

test("the last copy of a task and of the list is kept for a reload offline, and forgotten on sign-out", async (t) => {
  const server = fakeServer();
  const store = memoryStore();
  const queue = queueFor(server, { store });
  t.after(() => queue.close());
  await queue.ready;
  const task = { id: "t1", title: "Plan", version: 3 };
  await queue.rememberTask(task);
  await queue.rememberList([task]);
  const reopened = queueFor(server, { store });
  t.after(() => reopened.close());
  assert.deepEqual(await reopened.recallTask("t1"), task);
  assert.deepEqual(await reopened.recallList(), [task]);
  assert.equal(await reopened.recallTask("t2"), null);
  await reopened.forgetSnapshots();
  assert.equal(await queue.recallTask("t1"), null);
  assert.equal(await queue.recallList(), null);
});

// useEditQueue in jsdom: an edit that meets someone else's change of the same field becomes
// a conflict the component sees, and resolving it through the hook commits the choice. The
// queue's store is in memory and its fetch is a small server that keeps the API's contract
// for PATCH (If-Match, 412 with `current`) and the activity log.
import "./support/dom.mjs";
import { test } from "node:test";
import assert from "node:assert/strict";
import { createElement as h } from "react";
import { act, cleanup, render } from "@testing-library/react";

import { memoryStore } from "@hero-tasks/client";
import { createHeroClient, HeroProvider, useEditQueue } from "@hero-tasks/client/react";
import { fakeTimers, jwt, T0, task } from "./support/fakes.mjs";

/** One task on a server that refuses a stale If-Match with 412 and `current`. */
function taskServer(initial) {
  let current = initial;
  const activity = [{ kind: "created", version: 1, changed: [], actor: { id: "setup", name: "Setup" }, task: initial }];
  const requests = [];
  const reply = (status, body) => ({ status, ok: status < 300, headers: { get: () => null }, json: async () => structuredClone(body) });
  return {
    requests,
    get current() {
      return current;
    },
    /** Someone else's write, straight to the server. */
    write(patch, actor) {
      current = { ...current, ...patch, version: current.version + 1 };
      activity.unshift({ kind: "updated", version: current.version, changed: Object.keys(patch), actor, task: current });
    },
    async fetch(url, init = {}) {
      const { pathname } = new URL(url);
      const method = init.method ?? "GET";
      requests.push({ method, path: pathname, ifMatch: init.headers?.["If-Match"] ?? null, body: init.body ? JSON.parse(init.body) : null });
      if (pathname.endsWith("/activity")) return reply(200, { activity, next_cursor: null });
      if (method === "GET") return reply(200, current);
      const version = Number(init.headers["If-Match"]?.replaceAll('"', ""));
      if (version !== current.version) return reply(412, { status: 412, title: "Precondition Failed", current });
      this.write(JSON.parse(init.body), { id: "ana", name: "Ana" });
      return reply(200, current);
    },
  };
}

test("an edit-queue conflict resolves through the hook", async (t) => {
  const server = taskServer(task("t1", { title: "Plan" }));
  let ids = 0;
  const client = createHeroClient({
    baseUrl: "http://x",
    getToken: async () => jwt({ exp: T0 / 1000 + 3600 }),
    timers: fakeTimers(),
    fetch: (url, init) => server.fetch(url, init),
    queue: { store: memoryStore(), locks: null, channel: null, onLine: () => true, newId: () => `id-${++ids}`, now: () => "2026-05-04T09:00:00.000Z" },
  });
  t.after(() => {
    cleanup();
    client.close();
  });
  const seen = [];
  const acked = [];
  function Editor() {
    const queue = useEditQueue({ userId: "ana", workspaceId: "demo", onAcked: (message) => acked.push(message.task?.title) });
    seen.push(queue);
    const conflict = queue.entries.find((e) => e.state === "conflict");
    return h("p", null, conflict ? `conflict on ${conflict.conflict.fields.map((f) => f.field).join()}` : `${queue.entries.length} waiting`);
  }
  const settle = () => act(() => new Promise((resolve) => setTimeout(resolve, 10)));
  const view = render(h(HeroProvider, { client }, h(Editor)));
  await settle();
  assert.ok(seen.at(-1).queue, "the queue opened once mounted");
  assert.equal(view.container.textContent, "0 waiting");

  // Ana loaded version 1; Bob changes the title meanwhile; Ana's title edit meets his.
  const loaded = server.current;
  server.write({ title: "Bob's plan" }, { id: "bob", name: "Bob" });
  await act(() => seen.at(-1).update(seen.at(-1).overlay(loaded), { title: "Ana's plan" }));
  await settle();
  assert.equal(view.container.textContent, "conflict on title");
  const entry = seen.at(-1).entries[0];
  assert.deepEqual(
    entry.conflict.fields.map((f) => [f.field, f.mine, f.theirs, f.by?.name]),
    [["title", "Ana's plan", "Bob's plan", "Bob"]],
  );
  assert.equal(seen.at(-1).overlay(server.current).title, "Ana's plan", "the overlay shows my pending value");

  // Ana keeps hers: it is sent on top of Bob's version, and the queue empties.
  const outcome = await act(() => seen.at(-1).resolve(entry.id, { title: "mine" }));
  assert.equal(outcome, "requeued");
  await settle();
  assert.equal(view.container.textContent, "0 waiting");
  assert.equal(server.current.title, "Ana's plan");
  assert.equal(server.current.version, 3);
  const patches = server.requests.filter((r) => r.method === "PATCH");
  assert.deepEqual(
    patches.map((r) => [r.ifMatch, r.body]),
    [
      ['"1"', { title: "Ana's plan" }],
      ['"2"', { title: "Ana's plan" }],
    ],
  );
  assert.deepEqual(acked, ["Ana's plan"], "onAcked heard the commit");
});

test("before the queue is open, its calls refuse and the overlay is the task itself", async (t) => {
  const client = createHeroClient({ baseUrl: "http://x", getToken: () => "a.b.c", queue: { store: memoryStore(), locks: null, channel: null } });
  t.after(() => {
    cleanup();
    client.close();
  });
  const seen = [];
  function Editor() {
    seen.push(useEditQueue({ userId: "ana", workspaceId: null }));
    return null;
  }
  render(h(HeroProvider, { client }, h(Editor)));
  const queue = seen.at(-1);
  assert.equal(queue.queue, null, "no workspace: no queue");
  const shown = task("t1");
  assert.equal(queue.overlay(shown), shown);
  await assert.rejects(queue.update(shown, { title: "x" }), /not open yet/);
  assert.equal(client.openCount, 0);
});

// The React hooks (@hero-tasks/client/react) in jsdom with Testing Library, over a fake
// WebSocket, a fake fetch and fake timers, all passed through createHeroClient's options.
// Each test is one of the socket bugs hand-written hooks ship: StrictMode's second socket,
// one socket per component, reconnects on a new handler, a late message from the last
// task, snapshots that change on every read, presence lost across a drop, typing that
// outlives its socket, and an edit-queue conflict the hook cannot finish.
import "./support/dom.mjs";
import { test } from "node:test";
import assert from "node:assert/strict";
import { createElement as h, StrictMode, useState } from "react";
import { act, cleanup, render } from "@testing-library/react";

import { createHeroClient, GRACE_MS, HeroProvider, TYPING_RESEND_MS, useBoard, useConnectionStatus, useFieldEditing, usePresence, useTaskEvents, useTaskRoom, useTyping } from "@hero-tasks/client/react";
import { ana, bob, carol, fakeFetch, fakeSocketClass, fakeTimers, jwt, T0, task, welcome } from "./support/fakes.mjs";

const token = jwt({ exp: T0 / 1000 + 3600 });

/** A client over fakes; `routes` answer the REST loads (the task, the board's list and analytics). */
function setup(t, { routes = {}, getToken = async () => token } = {}) {
  const timers = fakeTimers();
  const { Socket, sockets, to } = fakeSocketClass();
  const api = fakeFetch({ "/api/tasks/t1": task("t1"), "/api/tasks/t2": task("t2"), "/api/tasks": { tasks: [], next_cursor: null }, "/api/analytics": { total: 0 }, ...routes });
  const client = createHeroClient({ baseUrl: "http://x", getToken, WebSocket: Socket, timers, fetch: api.fetch, random: () => 0 });
  t.after(() => {
    cleanup();
    client.close();
  });
  const mount = (element, { strict = false } = {}) => {
    const tree = h(HeroProvider, { client }, element);
    return render(strict ? h(StrictMode, null, tree) : tree);
  };
  return { client, timers, sockets, to, api, mount };
}

/** Runs `work` (server frames, timers) inside act, then lets promises and effects settle. */
async function server(work) {
  await act(async () => {
    await work();
    await new Promise((resolve) => setImmediate(resolve));
  });
}

/** Renders the latest value a hook returned into `seen`. */
function Probe({ use, seen }) {
  seen.push(use());
  return null;
}

test("under StrictMode, exactly one socket per room, and none during render", async (t) => {
  const { client, to, sockets, mount } = setup(t);
  let renders = 0;
  const openWhileRendering = [];
  function Task() {
    renders += 1;
    openWhileRendering.push(client.openCount);
    const room = useTaskRoom("t1");
    usePresence("t1");
    useTyping("t1");
    return h("p", null, room.status);
  }
  function Board() {
    const board = useBoard();
    return h("p", null, board.status);
  }
  let view;
  await server(() => {
    view = mount(h("div", null, h(Task), h(Task), h(Board)), { strict: true });
  });
  assert.ok(renders >= 4, "StrictMode rendered each component twice");
  assert.deepEqual(openWhileRendering.slice(0, 4), [0, 0, 0, 0], "rendering opened nothing");
  assert.equal(to("/ws/tasks/t1").length, 1, "one socket for the task room");
  assert.equal(to("/ws/board").length, 1, "one socket for the board");
  assert.equal(sockets.length, 2);
  assert.equal(view.container.textContent, "connectingconnectingconnecting");

  // Open, then more StrictMode mounts and unmounts: still the one socket.
  await server(() => to("/ws/tasks/t1")[0].serverOpens());
  await server(() => view.rerender(h(StrictMode, null, h(HeroProvider, { client }, h("div", null, h(Task), h(Board))))));
  await server(() => view.rerender(h(StrictMode, null, h(HeroProvider, { client }, h("div", null, h(Task), h(Task), h(Task), h(Board))))));
  assert.equal(to("/ws/tasks/t1").length, 1);
  assert.equal(to("/ws/tasks/t1")[0].readyState, 1, "never closed");
  assert.equal(sockets.length, 2);
});

test("two components on one task share one socket; unmounting both closes it after the grace period", async (t) => {
  const { client, timers, to, mount } = setup(t);
  const A = () => h("p", null, useTaskRoom("t1").status);
  const B = () => h("p", null, useConnectionStatus("t1"));
  let view;
  await server(() => {
    view = mount(h("div", null, h(A), h(B)));
  });
  assert.equal(to("/ws/tasks/t1").length, 1);
  const socket = to("/ws/tasks/t1")[0];
  await server(() => socket.serverOpens());
  assert.equal(view.container.textContent, "openopen");

  await server(() => view.unmount());
  assert.equal(socket.readyState, 1, "still open in the grace period");
  await server(() => timers.advance(GRACE_MS - 1));
  assert.equal(socket.readyState, 1);
  assert.equal(client.openCount, 1);
  await server(() => timers.advance(1));
  assert.deepEqual(socket.closedWith, { code: 1000, reason: "bye" });
  assert.equal(client.openCount, 0);
  assert.equal(to("/ws/tasks/t1").length, 1, "closing opened nothing new");
});

test("a component that comes back within the grace period reuses the socket", async (t) => {
  const { timers, to, mount } = setup(t);
  const A = () => h("p", null, useTaskRoom("t1").status);
  let view;
  await server(() => {
    view = mount(h(A));
  });
  await server(() => to("/ws/tasks/t1")[0].serverOpens());
  await server(() => view.unmount());
  await server(() => timers.advance(GRACE_MS / 2));
  await server(() => {
    view = mount(h(A));
  });
  await server(() => timers.advance(GRACE_MS * 2));
  assert.equal(to("/ws/tasks/t1").length, 1, "the same socket");
  assert.equal(to("/ws/tasks/t1")[0].readyState, 1, "and still open");
  assert.equal(view.container.textContent, "open");
});

test("a new handler or getToken identity does not reconnect; the latest handler is called", async (t) => {
  const { client, to, mount, timers } = setup(t);
  const calls = [];
  function Events({ label }) {
    useTaskEvents("t1", (event) => calls.push([label, event.seq]));
    return null;
  }
  let view;
  await server(() => {
    view = mount(h(Events, { label: "first" }));
  });
  const socket = to("/ws/tasks/t1")[0];
  await server(() => socket.serverOpens());
  await server(() => socket.serverSends(welcome({ seq: 1 })));
  await server(() => view.rerender(h(HeroProvider, { client }, h(Events, { label: "second" }))));
  await server(() => view.rerender(h(HeroProvider, { client }, h(Events, { label: "third" }))));
  const fresh = jwt({ exp: T0 / 1000 + 7200, v: 2 });
  const asked = [];
  client.setGetToken(async () => {
    asked.push("new");
    return fresh;
  });
  const actor = { id: "bob", name: "Bob" };
  await server(() => socket.serverSends({ type: "task_updated", seq: 2, at: "2026-05-04T09:00:01Z", actor, task: task("t1", { version: 2 }), changed: ["title"] }));
  assert.deepEqual(calls, [["third", 2]], "only the latest handler, once");
  assert.equal(to("/ws/tasks/t1").length, 1, "never reconnected");
  assert.deepEqual(asked, [], "a new getToken is not asked until it is needed");

  // It is what the next connect asks.
  await server(() => socket.serverCloses(1006));
  await server(() => timers.advance(1000));
  assert.equal(to("/ws/tasks/t1").length, 2);
  assert.deepEqual(asked, ["new"]);
  assert.deepEqual(to("/ws/tasks/t1")[1].protocols.at(-1), `bearer.${fresh}`);
  assert.equal(new URL(to("/ws/tasks/t1")[1].url).searchParams.get("since"), "2", "resumed after what it saw");
});

test("a token refresh in place keeps working through the client, with the getToken it has now", async (t) => {
  const { client, timers, to, mount } = setup(t);
  await server(() => {
    mount(h(() => h("p", null, useTaskRoom("t1").status)));
  });
  const socket = to("/ws/tasks/t1")[0];
  await server(() => socket.serverOpens());
  await server(() => socket.serverSends(welcome()));
  const fresh = jwt({ exp: T0 / 1000 + 7200 });
  client.setGetToken(async () => fresh);
  await server(() => timers.advance(3_600_000 - 60_000));
  assert.deepEqual(socket.frames.at(-1), { type: "auth", token: fresh, id: 1 }, "sent on the open socket before exp");
  await server(() => socket.serverSends({ type: "ack", id: 1 }));
  assert.equal(to("/ws/tasks/t1").length, 1, "no reconnect");
  assert.equal(socket.readyState, 1);
});

test("a taskId change closes the old room, and a late message from it is not applied", async (t) => {
  const { client, timers, to, mount } = setup(t);
  const events = [];
  const seen = [];
  function Task({ id }) {
    const room = useTaskRoom(id);
    useTaskEvents(id, (event) => events.push(event.task?.id ?? event.task_id));
    seen.push(room);
    return h("p", null, room.task?.title ?? "none");
  }
  let view;
  await server(() => {
    view = mount(h(Task, { id: "t1" }));
  });
  const first = to("/ws/tasks/t1")[0];
  await server(() => first.serverOpens());
  await server(() => first.serverSends(welcome({ seq: 5 })));
  assert.equal(view.container.textContent, "Task t1", "loaded over REST after the welcome");

  await server(() => view.rerender(h(HeroProvider, { client }, h(Task, { id: "t2" }))));
  const second = to("/ws/tasks/t2")[0];
  await server(() => second.serverOpens());
  await server(() => second.serverSends(welcome({ seq: 9 })));
  assert.equal(view.container.textContent, "Task t2");

  // t1's socket is still open for the grace period, and says something late.
  const actor = { id: "bob", name: "Bob" };
  await server(() => first.serverSends({ type: "task_updated", seq: 6, at: "2026-05-04T09:00:01Z", actor, task: task("t1", { title: "Late", version: 7 }), changed: ["title"] }));
  assert.equal(view.container.textContent, "Task t2", "the old task's message is not applied");
  assert.deepEqual(events, [], "nor handed to the handler");
  assert.equal(seen.at(-1).task.id, "t2");

  await server(() => timers.advance(GRACE_MS));
  assert.equal(first.closedWith?.code, 1000, "the old room is closed after the grace period");
  assert.equal(second.readyState, 1, "the new one stays");
  assert.equal(client.openCount, 1);
});

test("snapshots keep their identity across renders with no events, and are frozen", async (t) => {
  const { to, mount } = setup(t);
  const rooms = [];
  const boards = [];
  const presences = [];
  let bump;
  function Screen() {
    const [, setN] = useState(0);
    bump = () => setN((n) => n + 1);
    rooms.push(useTaskRoom("t1"));
    boards.push(useBoard());
    presences.push(usePresence("t1", (list) => list.map((e) => e.user.id), (a, b) => a.join() === b.join()));
    return null;
  }
  await server(() => {
    mount(h(Screen));
  });
  const socket = to("/ws/tasks/t1")[0];
  await server(() => socket.serverOpens());
  await server(() => socket.serverSends(welcome()));
  const room = rooms.at(-1);
  const board = boards.at(-1);
  const presence = presences.at(-1);
  const before = rooms.length;
  for (let i = 0; i < 3; i++) await server(() => bump());
  assert.ok(rooms.length >= before + 3, "rendered again");
  for (const r of rooms.slice(before)) assert.equal(r, room, "the same task snapshot");
  for (const b of boards.slice(before)) assert.equal(b, board, "the same board snapshot");
  for (const p of presences.slice(before)) assert.equal(p, presence, "the same selection");
  assert.ok(Object.isFrozen(room) && Object.isFrozen(board));
  assert.deepEqual(presence, ["ana"]);

  // A presence message that changes nothing the selector looks at keeps the selection.
  await server(() => socket.serverSends({ type: "editing", user_id: "ana", field: "title" }));
  assert.notEqual(rooms.at(-1), room, "the room snapshot moved on");
  assert.equal(presences.at(-1), presence, "isEqual kept the selection");
});

test("resume after a drop, with presence diffs", async (t) => {
  const { timers, to, mount } = setup(t);
  const seen = [];
  await server(() => {
    mount(h(Probe, { use: () => useTaskRoom("t1"), seen }));
  });
  const first = to("/ws/tasks/t1")[0];
  await server(() => first.serverOpens());
  await server(() =>
    first.serverSends(
      welcome({
        seq: 3,
        presence: [
          { user: ana, connections: 1, editing: [] },
          { user: bob, connections: 1, editing: ["title"] },
        ],
      }),
    ),
  );
  assert.deepEqual(seen.at(-1).presence.map((e) => e.user.id), ["ana", "bob"]);
  assert.deepEqual(seen.at(-1).editing.map((e) => [e.user.id, e.field]), [["bob", "title"]]);
  assert.equal(seen.at(-1).lastSeq, 3);

  await server(() => first.serverCloses(1006));
  assert.equal(seen.at(-1).status, "reconnecting");
  await server(() => timers.advance(1000));
  const second = to("/ws/tasks/t1")[1];
  assert.equal(new URL(second.url).searchParams.get("since"), "3");
  await server(() => second.serverOpens());
  const actor = { id: "bob", name: "Bob" };
  await server(() => {
    second.serverSends(welcome({ seq: 4, resumed: true, replayed: 1, presence: [{ user: ana, connections: 1, editing: [] }, { user: bob, connections: 1, editing: [] }] }));
    second.serverSends({ type: "task_updated", seq: 4, at: "2026-05-04T09:00:01Z", actor, task: task("t1", { title: "While you were away", version: 2 }), changed: ["title"] });
    second.serverSends({ type: "presence_diff", joins: [{ user: carol, connections: 2, editing: ["description"] }], leaves: ["bob"] });
  });
  const now = seen.at(-1);
  assert.equal(now.status, "open");
  assert.equal(now.task.title, "While you were away", "the missed event was replayed");
  assert.equal(now.lastSeq, 4);
  assert.deepEqual(now.presence.map((e) => [e.user.id, e.connections]), [["ana", 1], ["carol", 2]]);
  assert.deepEqual(now.editing.map((e) => [e.user.id, e.field]), [["carol", "description"]]);
});

test("typing is cleared when the socket leaves open, and throttled when sent", async (t) => {
  const { timers, to, mount } = setup(t);
  const seen = [];
  await server(() => {
    mount(h(Probe, { use: () => useTyping("t1"), seen }));
  });
  const socket = to("/ws/tasks/t1")[0];
  await server(() => socket.serverOpens());
  await server(() => socket.serverSends(welcome({ presence: [{ user: ana, connections: 1, editing: [] }, { user: bob, connections: 1, editing: [] }] })));
  await server(() => socket.serverSends({ type: "typing", user_id: "bob", field: "description", active: true }));
  await server(() => socket.serverSends({ type: "typing", user_id: "ana", field: "title", active: true }));
  assert.deepEqual(seen.at(-1).typing, [{ user_id: "bob", name: "Bob", field: "description" }], "others only, with their name");

  // Mine: one frame per 2 s of keystrokes, and the stop at once.
  const { setTyping } = seen.at(-1);
  assert.equal(setTyping("title", true), true);
  assert.equal(setTyping("title", true), false);
  await timers.advance(TYPING_RESEND_MS - 1);
  assert.equal(setTyping("title", true), false);
  await timers.advance(1);
  assert.equal(setTyping("title", true), true);
  assert.equal(setTyping("title", false), true);
  assert.deepEqual(
    socket.frames.filter((f) => f.type === "typing"),
    [
      { type: "typing", field: "title", active: true },
      { type: "typing", field: "title", active: true },
      { type: "typing", field: "title", active: false },
    ],
  );
  assert.equal(seen.at(-1).setTyping, setTyping, "setTyping keeps its identity");

  await server(() => socket.serverCloses(1006));
  assert.deepEqual(seen.at(-1).typing, [], "cleared once the socket is not open");
});

test("field editing: start and stop say so, others are editors, and unmounting stops", async (t) => {
  const { to, mount, client } = setup(t);
  const seen = [];
  let view;
  await server(() => {
    view = mount(h(Probe, { use: () => useFieldEditing("t1", "title"), seen }));
  });
  const socket = to("/ws/tasks/t1")[0];
  await server(() => socket.serverOpens());
  await server(() => socket.serverSends(welcome({ presence: [{ user: ana, connections: 1, editing: [] }, { user: bob, connections: 1, editing: ["title"] }] })));
  assert.deepEqual(seen.at(-1).editors, [bob]);
  seen.at(-1).start();
  assert.deepEqual(socket.frames.at(-1), { type: "editing", field: "title" });
  await server(() => view.rerender(h(HeroProvider, { client }, h("p"))));
  assert.deepEqual(socket.frames.at(-1), { type: "editing", field: null }, "stopped on unmount");
});

test("the board: tasks loaded after the welcome, kept by events, task presence and analytics", async (t) => {
  const older = task("a", { created_at: "2026-05-01T00:00:00.000Z" });
  const { to, mount } = setup(t, { routes: { "/api/tasks": { tasks: [older], next_cursor: null }, "/api/analytics": { total: 1 } } });
  const seen = [];
  await server(() => {
    mount(h(Probe, { use: () => useBoard(), seen }));
  });
  assert.equal(seen[0].status, "idle", "idle on the first render");
  const socket = to("/ws/board")[0];
  await server(() => socket.serverOpens());
  await server(() => socket.serverSends(welcome({ task_presence: { a: [bob] } })));
  const actor = { id: "bob", name: "Bob" };
  const newer = task("b", { created_at: "2026-05-02T00:00:00.000Z" });
  await server(() => socket.serverSends({ type: "task_created", seq: 1, at: "2026-05-04T09:00:01Z", actor, task: newer }));
  await server(() => socket.serverSends({ type: "analytics", analytics: { total: 2 } }));
  const board = seen.at(-1);
  assert.deepEqual(board.tasks.map((x) => x.id), ["b", "a"], "newest first");
  assert.deepEqual(board.analytics, { total: 2 });
  assert.deepEqual(board.taskPresence, { a: [bob] });
  await server(() => socket.serverSends({ type: "task_deleted", seq: 2, at: "2026-05-04T09:00:02Z", actor, task_id: "a" }));
  assert.deepEqual(seen.at(-1).tasks.map((x) => x.id), ["b"]);
  assert.deepEqual(seen.at(-1).taskPresence, {}, "a deleted task has nobody in it");
});

test("closed is the terminal close; status follows", async (t) => {
  const { to, mount } = setup(t);
  const seen = [];
  await server(() => {
    mount(h(Probe, { use: () => useTaskRoom("t1", { initialTask: task("t1", { title: "From the page" }) }), seen }));
  });
  assert.equal(seen[0].task.title, "From the page", "initialTask stands in until the room has one");
  assert.equal(seen[0].status, "idle");
  const socket = to("/ws/tasks/t1")[0];
  await server(() => socket.serverOpens());
  await server(() => socket.serverCloses(4004, "task deleted"));
  assert.equal(seen.at(-1).status, "closed");
  assert.deepEqual(seen.at(-1).closed, { reason: "task deleted", code: 4004 });
  assert.equal(to("/ws/tasks/t1").length, 1, "no reconnect after a terminal close");
});

test("enabled: false holds nothing and stays idle", async (t) => {
  const { sockets, mount, client } = setup(t);
  const seen = [];
  await server(() => {
    mount(h(Probe, { use: () => useTaskRoom("t1", { enabled: false }), seen }));
  });
  assert.equal(sockets.length, 0);
  assert.equal(client.openCount, 0);
  assert.equal(seen.at(-1).status, "idle");
});

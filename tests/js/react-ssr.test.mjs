// The package on the server: no jsdom here, so there is no `window` at all. Importing either
// entry touches no browser global and opens nothing, and rendering the hooks to a string
// opens no socket, shows "idle", and logs no error (no "missing getServerSnapshot").
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createElement as h } from "react";
import { renderToString } from "react-dom/server";

import { createHeroClient, HeroProvider, useBoard, useConnectionStatus, useEditQueue, useFieldEditing, usePresence, useTaskEvents, useTaskRoom, useTyping } from "@hero-tasks/client/react";

test("importing either entry touches no browser global and opens no socket", () => {
  // Every browser global the client could reach for is a trap that records an access from
  // the package's own files (React itself reads queueMicrotask when it loads: not ours).
  const script = `
    const touched = [];
    for (const name of ["window", "document", "location", "navigator", "WebSocket", "indexedDB", "BroadcastChannel", "localStorage", "sessionStorage", "fetch", "addEventListener", "removeEventListener", "crypto", "setTimeout", "setInterval", "queueMicrotask"]) {
      const real = globalThis[name];
      Object.defineProperty(globalThis, name, { configurable: true, get() {
        const caller = new Error().stack.split("\\n")[2] ?? "";
        if (caller.includes("/clients/js/")) touched.push(name + " " + caller.trim());
        return real;
      } });
    }
    const client = await import("@hero-tasks/client");
    const react = await import("@hero-tasks/client/react");
    process.stdout.write(JSON.stringify({ touched, client: Object.keys(client).length, react: Object.keys(react).length }));
  `;
  const result = spawnSync(process.execPath, ["--input-type=module", "-e", script], { cwd: new URL("../..", import.meta.url).pathname, encoding: "utf8" });
  assert.equal(result.status, 0, result.stderr);
  const { touched, client, react } = JSON.parse(result.stdout);
  assert.ok(client > 20 && react > 10, "both entries loaded");
  assert.deepEqual(touched, []);
});

test("renderToString with no window: no socket, status idle, no console error", () => {
  assert.equal(typeof window, "undefined");
  const opened = [];
  class Socket {
    constructor(url) {
      opened.push(url);
    }
  }
  const client = createHeroClient({ baseUrl: "http://x", getToken: () => "a.b.c", WebSocket: Socket, fetch: () => assert.fail("no request on the server") });
  function Page() {
    const room = useTaskRoom("t1", { initialTask: { id: "t1", title: "From the server", version: 3 } });
    const board = useBoard();
    const who = usePresence("t1", (list) => list.length);
    const { typing } = useTyping("t1");
    const { editors } = useFieldEditing("t1", "title");
    const status = useConnectionStatus("board");
    const queue = useEditQueue({ userId: "ana", workspaceId: "demo" });
    useTaskEvents("t1", () => {});
    return h("p", null, `${room.status} ${room.task.title} ${board.status} ${board.tasks.length} ${who} ${typing.length} ${editors.length} ${status} ${queue.entries.length} ${room.closed}`);
  }
  const errors = [];
  const original = { error: console.error, warn: console.warn };
  console.error = (...args) => errors.push(args.join(" "));
  console.warn = (...args) => errors.push(args.join(" "));
  let html;
  try {
    html = renderToString(h(HeroProvider, { client }, h(Page)));
  } finally {
    Object.assign(console, original);
  }
  assert.equal(html, "<p>idle From the server idle 0 0 0 0 idle 0 null</p>");
  assert.deepEqual(opened, []);
  assert.equal(client.openCount, 0);
  assert.deepEqual(errors, []);
});

test("the server snapshots are frozen", () => {
  const client = createHeroClient({ getToken: () => "a.b.c" });
  for (const key of ["task:t1", "board", "queue:demo/ana"]) {
    const idle = client.idle(key);
    assert.ok(Object.isFrozen(idle), key);
    assert.equal(idle.status ?? "idle", "idle");
    assert.equal(client.snapshot(key), idle, "nobody holds it: the idle snapshot itself");
  }
});

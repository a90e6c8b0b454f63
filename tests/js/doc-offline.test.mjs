// openTaskDoc's copy on the device (y-indexeddb, here over fake-indexeddb): text typed
// while the server cannot be reached survives closing the document (a reload), is there
// again before any connect, and merges on reconnect with what someone else typed
// meanwhile: each side's words once, the server's seed once, nothing to resolve.
import "fake-indexeddb/auto";
import { test } from "node:test";
import assert from "node:assert/strict";
import { WebSocket } from "ws";

import { docStoreName, openTaskDoc } from "../../clients/js/src/index.js";
import { startDocServer } from "./support/doc-server.mjs";
import { jwt } from "./support/fakes.mjs";

const token = (sub) => jwt({ sub, workspace_id: "demo", exp: Math.floor(Date.now() / 1000) + 3600 });
const probeOk = async () => ({ status: 200, ok: true, json: async () => ({}) });

async function eventually(check, what, ms = 5000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test("typed offline, closed, opened again offline, then online: merged with the other user's text", async (t) => {
  const server = await startDocServer({ seeds: { t1: "plan" } });
  const open = (user) => openTaskDoc("t1", { baseUrl: server.base, getToken: () => token(user), WebSocket, fetch: probeOk, random: () => 0 });
  t.after(() => server.close());

  // Ana has the task open once online, so her device has the document.
  const first = open("ana");
  await first.whenLoaded;
  assert.equal(first.loaded, true, "a copy is kept (IndexedDB exists here)");
  await eventually(() => first.synced, "Ana synced");
  assert.equal(first.text.toString(), "plan");

  // Offline: she types, then the page goes away.
  await server.stop();
  await eventually(() => first.status !== "open", "Ana offline");
  first.text.insert(0, "Ana's ");
  first.close();

  // Someone who never had the task open, offline: loaded, but not ready (nothing to show yet).
  const stranger = openTaskDoc("t1", { baseUrl: server.base, getToken: () => token("dan"), WebSocket, fetch: probeOk, random: () => 0 });
  await stranger.whenLoaded;
  assert.equal(stranger.loaded, true);
  assert.equal(stranger.ready, false);
  stranger.close();

  // Bob types meanwhile (his own, online, copy).
  await server.start();
  const bob = open("bob");
  await eventually(() => bob.synced, "Bob synced");
  bob.text.insert(bob.text.length, " and Bob's notes");
  await eventually(() => server.text("t1") === "plan and Bob's notes", "Bob's edit at the server");
  await server.stop();

  // Ana reloads while still offline: her text is there before any connect.
  const again = open("ana");
  await again.whenLoaded;
  assert.equal(again.text.toString(), "Ana's plan", "the offline edit survived the reload");
  assert.equal(again.synced, false);
  assert.equal(again.ready, true, "a kept copy that was synced once is ready offline");

  // Back online: one merge, every word once, nothing to pick.
  await server.start();
  await eventually(() => again.synced && bob.synced, "both synced");
  await eventually(() => again.text.toString() === bob.text.toString() && bob.text.toString() === server.text("t1"), "convergence");
  assert.equal(again.text.toString(), "Ana's plan and Bob's notes");
  again.close();
  bob.close();
});

test("the copy is filed per user, workspace and task; a deleted task (4004) drops it", async (t) => {
  assert.equal(docStoreName({ workspaceId: "demo", userId: "ana" }, "t/1"), "hero-tasks-doc/demo/ana/t%2F1");
  const server = await startDocServer({ seeds: { t2: "gone soon" } });
  t.after(() => server.close());
  const shared = openTaskDoc("t2", { baseUrl: server.base, getToken: () => token("ana"), WebSocket, fetch: probeOk, random: () => 0 });
  await eventually(() => shared.synced, "synced");
  const name = docStoreName({ workspaceId: "demo", userId: "ana" }, "t2");
  const names = async () => (await indexedDB.databases()).map((db) => db.name);
  assert.ok((await names()).includes(name), "kept under its name");
  server.closeAll("t2", 4004);
  await eventually(() => shared.closed?.code === 4004, "closed: task deleted");
  await eventually(async () => !(await names()).includes(name), "the copy is dropped");
});

test("persist: false keeps nothing", async (t) => {
  const server = await startDocServer({ seeds: { t3: "x" } });
  t.after(() => server.close());
  const shared = openTaskDoc("t3", { baseUrl: server.base, getToken: () => token("carol"), WebSocket, fetch: probeOk, persist: false });
  await shared.whenLoaded;
  await eventually(() => shared.synced, "synced");
  assert.equal(shared.loaded, false);
  assert.equal(shared.ready, true, "ready once synced");
  assert.ok(!(await indexedDB.databases()).some((db) => db.name.includes("/carol/")));
  shared.close();
});

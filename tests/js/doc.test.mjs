// openTaskDoc (clients/js/src/doc.js) against a y-websocket server in this process
// (./support/doc-server.mjs), over real sockets (ws) and real timers: two docs converge,
// a reconnect resyncs what either side typed meanwhile, getToken() is asked before every
// connect and the token never goes in the URL, and the close codes follow the contract.
// Eventual states are polled for with a deadline; nothing here times anything.
import { test } from "node:test";
import assert from "node:assert/strict";
import { WebSocket } from "ws";

import { classifyDocClose, DOC_SUBPROTOCOL, openTaskDoc } from "../../clients/js/src/index.js";
import { startDocServer } from "./support/doc-server.mjs";
import { jwt } from "./support/fakes.mjs";

const hour = () => Math.floor(Date.now() / 1000) + 3600;
const token = (sub = "ana", extra = {}) => jwt({ sub, workspace_id: "demo", exp: hour(), ...extra });

/** Polls `check` until it is truthy (or throws what it last said once the deadline passes). */
async function eventually(check, what, ms = 5000) {
  const deadline = Date.now() + ms;
  for (;;) {
    let value;
    try {
      value = await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
    if (value) return value;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A fetch for the REST probe after a failed upgrade: the task is there (so: retry). */
const probeOk = async () => ({ status: 200, ok: true, json: async () => ({}) });

async function setup(t, serverOptions = {}) {
  const server = await startDocServer({ seeds: { t1: "first draft" }, ...serverOptions });
  const docs = [];
  const open = (options = {}) => {
    const shared = openTaskDoc(options.taskId ?? "t1", { baseUrl: server.base, getToken: () => token(), WebSocket, fetch: probeOk, persist: false, random: () => 0, ...options });
    docs.push(shared);
    return shared;
  };
  t.after(async () => {
    for (const shared of docs) shared.close();
    await server.close();
  });
  return { server, open };
}

const text = (shared) => shared.text.toString();

test("two docs converge with the server, every character of both kept", async (t) => {
  const { server, open } = await setup(t);
  const ana = open();
  const bob = open({ getToken: () => token("bob") });
  await eventually(() => ana.synced && bob.synced, "both synced");
  assert.equal(text(ana), "first draft", "the server's text arrived");
  assert.equal(ana.status, "open");
  // At once, at different places.
  ana.text.insert(0, "Ana: ");
  bob.text.insert(bob.text.length, " (Bob)");
  for (const ch of "xyz") ana.text.insert(ana.text.length, ch);
  const expected = "Ana: first draft (Bob)xyz";
  await eventually(() => text(ana) === text(bob) && text(bob) === server.text("t1") && text(ana).length === expected.length, "convergence");
  for (const part of ["Ana: ", "first draft", " (Bob)", "xyz"]) assert.ok(text(ana).includes(part), `${part} kept in ${text(ana)}`);
});

test("the token rides in the subprotocol, never in the URL", async (t) => {
  const { server, open } = await setup(t);
  const shared = open();
  await eventually(() => shared.synced, "synced");
  assert.deepEqual(server.log.urls, ["/ws/tasks/t1/doc"]);
  assert.ok(server.log.tokens[0].startsWith("eyJ"), "the bearer subprotocol carried the token");
  assert.equal(DOC_SUBPROTOCOL, "hero-tasks.doc.v1");
});

test("fast typing goes out as a few merged frames, not one per keystroke", async (t) => {
  const { server, open } = await setup(t);
  const ana = open();
  const bob = open();
  await eventually(() => ana.synced && bob.synced, "both synced");
  const before = server.log.frames;
  for (let i = 0; i < 300; i += 1) ana.text.insert(ana.text.length, String(i % 10));
  await eventually(() => text(bob).length === "first draft".length + 300, "all 300 keystrokes at Bob's");
  const sent = server.log.frames - before;
  assert.ok(sent <= 5, `300 keystrokes in one tick went out as ${sent} frame(s)`);
});

test("a reconnect resyncs what both sides typed meanwhile, asking getToken() before each connect", async (t) => {
  const issued = [];
  const rotating = () => {
    const next = token("ana", { jti: `n${issued.length}` });
    issued.push(next);
    return next;
  };
  const { server, open } = await setup(t);
  const ana = open({ getToken: rotating });
  const bob = open({ getToken: () => token("bob") });
  await eventually(() => ana.synced && bob.synced, "both synced");
  const connectsBefore = server.log.tokens.length;

  await server.stop(); // every socket dropped with no close frame; nothing listens
  await eventually(() => ana.status !== "open" && bob.status !== "open", "both see the outage");
  assert.equal(ana.synced, false);
  ana.text.insert(0, "[ana offline] ");
  bob.text.insert(bob.text.length, " [bob offline]");
  await server.start();

  await eventually(() => ana.synced && bob.synced, "both synced again");
  await eventually(() => text(ana) === text(bob) && text(bob) === server.text("t1"), "convergence after the outage");
  assert.equal(text(ana), "[ana offline] first draft [bob offline]");
  // Each connect used a token asked for just before it.
  const anaTokens = server.log.tokens.filter((t) => issued.includes(t));
  assert.ok(anaTokens.length >= 2, "Ana connected at least twice");
  assert.equal(new Set(anaTokens).size, anaTokens.length, "a fresh token for every connect");
  assert.equal(anaTokens.at(-1), issued.at(-1), "the last connect used the last token issued");
  assert.ok(server.log.tokens.length > connectsBefore);
});

test("an edit made the moment a reconnect opens waits for the handshake: no update the server cannot integrate", async (t) => {
  // The server's step 1 comes a while after the open, so an update sent at once would arrive first.
  const { server, open } = await setup(t, { holdStep1Ms: 300 });
  const ana = open();
  const bob = open({ getToken: () => token("bob") });
  await eventually(() => ana.synced && bob.synced, "both synced");
  await server.stop();
  await eventually(() => ana.status !== "open", "Ana sees the outage");
  ana.text.insert(ana.text.length, " offline"); // history the server lacks
  // Typed right as the socket opens, before the server's step 1 is answered: it depends
  // on the offline edit, so sent alone it would be refused (4400).
  const off = ana.on("status", (status) => {
    if (status === "open") ana.text.insert(ana.text.length, "!");
  });
  await server.start();
  await eventually(() => text(bob) === "first draft offline!", "Bob has both edits");
  off();
  assert.equal(server.text("t1"), "first draft offline!");
  assert.ok(!server.log.closes.includes(4400), `no 4400: ${server.log.closes}`);
  assert.equal(ana.closed, null);
});

test("4004, 4400 and 4403 stop for good; no reconnect follows", async (t) => {
  for (const code of [4004, 4400, 4403]) {
    const { server, open } = await setup(t);
    const shared = open();
    await eventually(() => shared.synced, "synced");
    const closed = [];
    shared.on("closed", (detail) => closed.push(detail));
    const connects = server.log.urls.length;
    server.closeAll("t1", code);
    await eventually(() => closed.length === 1, `the closed event for ${code}`);
    assert.equal(closed[0].code, code);
    assert.equal(shared.status, "closed");
    assert.deepEqual(shared.closed, closed[0]);
    // With no jitter a retry would start at once: give it that chance, then check.
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(server.log.urls.length, connects, `${code}: no reconnect`);
    await server.close();
  }
});

test("4001 reconnects when getToken() gives a newer token, and stops when it cannot", async (t) => {
  let current = token("ana", { jti: "first" });
  const { server, open } = await setup(t);
  const renewing = open({ getToken: () => current });
  await eventually(() => renewing.synced, "synced");
  current = token("ana", { jti: "second" });
  server.closeAll("t1", 4001);
  await eventually(() => renewing.synced && server.log.tokens.at(-1) === current, "reconnected with the new token");
  assert.equal(renewing.closed, null);

  const fixed = open({ getToken: undefined, token: token("ana", { jti: "fixed" }) });
  await eventually(() => fixed.synced, "the fixed-token doc synced");
  const same = open({ getToken: () => current });
  await eventually(() => same.synced, "the third doc synced");
  server.closeAll("t1", 4001);
  await eventually(() => fixed.closed && same.closed, "both without a newer token stop");
  assert.equal(fixed.closed.code, 4001);
  assert.equal(same.closed.code, 4001, "getToken() gave the same token again: stop");
});

test("classifyDocClose: which codes stop, which back off, which retry at once", async () => {
  const never = () => assert.fail("not asked");
  const renewNo = async () => false;
  for (const code of [1003, 1007, 1009, 4003, 4004, 4400, 4403]) {
    const verdict = classifyDocClose({ code, opened: true }, { ask: never, renew: never });
    assert.equal(verdict.terminal?.code, code, `${code} stops`);
  }
  assert.deepEqual(classifyDocClose({ code: 1008, opened: true }, { ask: never, renew: never }), { floorMs: 10_000 });
  assert.deepEqual(classifyDocClose({ code: 1013, opened: true }, { ask: never, renew: never }), { floorMs: 5_000 });
  assert.deepEqual(classifyDocClose({ code: 4029, opened: true }, { ask: never, renew: never }), { floorMs: 10_000 });
  assert.deepEqual(classifyDocClose({ code: 1006, opened: true }, { ask: never, renew: never }), { floorMs: 0 });
  assert.deepEqual(await classifyDocClose({ code: 4001, opened: true }, { ask: never, renew: async () => true }), { floorMs: 0 });
  assert.deepEqual(await classifyDocClose({ code: 4001, opened: true }, { ask: never, renew: renewNo }), { terminal: { reason: "token expired", code: 4001 } });
  // A failed upgrade asks the REST probe why.
  assert.deepEqual(await classifyDocClose({ code: 1006, opened: false }, { ask: async () => ({ reason: "not found", code: 404 }), renew: never }), { terminal: { reason: "not found", code: 404 } });
  assert.deepEqual(await classifyDocClose({ code: 1006, opened: false }, { ask: async () => null, renew: never }), { floorMs: 0 });
});

test("a refused upgrade ends with the REST probe's answer", async (t) => {
  const { open } = await setup(t, { authorize: () => null });
  const probe404 = async () => ({ status: 404, ok: false, json: async () => ({}) });
  const shared = open({ fetch: probe404 });
  await eventually(() => shared.closed, "closed");
  assert.deepEqual(shared.closed, { reason: "not found", code: 404 });
});

test("a viewer's refused update is reported as denied; the socket stays open", async (t) => {
  const { server, open } = await setup(t);
  const shared = open();
  await eventually(() => shared.synced, "synced");
  const denied = [];
  shared.on("denied", (detail) => denied.push(detail));
  // The server's permission-denied message, as y-protocols/auth writes it: [2, 0, reason].
  server.sendRaw("t1", Uint8Array.from([2, 0, 4, ...new TextEncoder().encode("nope")]));
  await eventually(() => denied.length === 1, "the denied event");
  assert.deepEqual(denied[0], { reason: "nope" });
  assert.equal(shared.status, "open");
});

test("awareness: a state set by one doc reaches the other, and goes with its connection", async (t) => {
  const { open } = await setup(t);
  const ana = open();
  const bob = open();
  await eventually(() => ana.synced && bob.synced, "both synced");
  ana.awareness.setLocalState({ user: { name: "Ana" } }); // null until set: setLocalStateField would do nothing
  await eventually(() => bob.awareness.getStates().get(ana.doc.clientID)?.user?.name === "Ana", "Ana's state at Bob's");
  ana.close();
  await eventually(() => !bob.awareness.getStates().has(ana.doc.clientID), "Ana's state gone at Bob's");
});

test("the keep-alive is the room's text ping, which the runtime answers without waking the room", async () => {
  const { fakeTimers, settle } = await import("./support/fakes.mjs");
  const { KEEPALIVE_MS } = await import("../../clients/js/src/index.js");
  const PING_FRAME = '{"type":"ping"}';
  const timers = fakeTimers();
  const sent = [];
  let socket = null;
  class Socket {
    static OPEN = 1;
    constructor() {
      this.readyState = 0;
      socket = this;
    }
    send(data) {
      sent.push(data);
    }
    close() {
      this.readyState = 3;
    }
  }
  const shared = openTaskDoc("t1", { baseUrl: "http://127.0.0.1:1", getToken: () => token(), WebSocket: Socket, timers, persist: false, random: () => 0 });
  for (let i = 0; i < 5 && !socket; i += 1) await timers.advance(10);
  assert.ok(socket, "a socket was opened");
  socket.readyState = 1;
  socket.onopen?.();
  await settle();
  await timers.advance(KEEPALIVE_MS + 1);
  assert.ok(sent.includes(PING_FRAME), `the keep-alive went out as the text ping: ${sent.filter((f) => typeof f === "string")}`);
  assert.ok(sent.filter((f) => typeof f !== "string").length > 0, "the sync itself is binary");
  shared.close();
});

// A live room (clients/js/src/room.js, over socket.js and token-refresh.js) driven by a fake WebSocket and a fake clock: how the
// token is sent, refresh in place, close codes, and seq tracking. Nothing here waits for
// real time: the room takes its clock and timers from `options.timers`.
import { test } from "node:test";
import assert from "node:assert/strict";

import { connectBoard, connectTask, REFRESH, refreshDelay, RETRY_FLOOR_MS, SUBPROTOCOL } from "../../clients/js/src/index.js";

const HOUR = 3_600_000;
const T0 = Date.parse("2026-05-04T09:00:00Z");

/** A JWT-shaped token (unsigned: the client only reads the payload), ES256 like Supabase's. */
function jwt(claims) {
  const part = (value) => Buffer.from(JSON.stringify(value)).toString("base64url");
  return `${part({ alg: "ES256", typ: "JWT", kid: "k1" })}.${part({ sub: "ana", ...claims })}.c2lnbmF0dXJl`;
}

/** Lets queued promise callbacks (async getToken, the microtask that opens) run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

/** Timers that only move when the test says so. */
function fakeTimers(start = T0) {
  let now = start;
  let nextId = 1;
  const pending = new Map();
  const add = (fn, ms, every) => {
    const id = nextId++;
    pending.set(id, { at: now + Math.max(0, ms), fn, every });
    return id;
  };
  return {
    now: () => now,
    setTimeout: (fn, ms) => add(fn, ms, null),
    clearTimeout: (id) => pending.delete(id),
    setInterval: (fn, ms) => add(fn, ms, ms),
    clearInterval: (id) => pending.delete(id),
    /** Delays (from now) of the timers still set. */
    delays: () => [...pending.values()].map((t) => t.at - now).sort((a, b) => a - b),
    async advance(ms) {
      const end = now + ms;
      for (;;) {
        let next = null;
        for (const [id, t] of pending) if (t.at <= end && (!next || t.at < next[1].at)) next = [id, t];
        if (!next) break;
        const [id, t] = next;
        now = t.at;
        if (t.every) t.at += t.every;
        else pending.delete(id);
        t.fn();
        await settle();
      }
      now = end;
      await settle();
    },
  };
}

/** A WebSocket class whose instances the test drives; `sockets` lists every one opened. */
function fakeSocketClass() {
  const sockets = [];
  class Socket {
    static OPEN = 1;
    constructor(url, protocols) {
      this.url = url;
      this.protocols = protocols;
      this.readyState = 0;
      this.sent = [];
      sockets.push(this);
    }
    send(data) {
      const message = JSON.parse(data);
      this.sent.push(message);
      // The runtime answers the exact keep-alive frame by itself, a moment later.
      if (data === '{"type":"ping"}') queueMicrotask(() => this.readyState === 1 && this.serverSends({ type: "pong" }));
    }
    close(code, reason) {
      if (this.readyState === 3) return;
      this.readyState = 3;
      this.onclose?.({ code, reason });
    }
    serverOpens() {
      this.readyState = 1;
      this.onopen?.();
    }
    serverSends(message) {
      this.onmessage?.({ data: JSON.stringify(message) });
    }
    serverCloses(code, reason = "") {
      this.close(code, reason);
    }
    /** What the client sent, keep-alive pings left out. */
    get frames() {
      return this.sent.filter((m) => m.type !== "ping");
    }
  }
  return { Socket, sockets };
}

const ana = { id: "ana", name: "Ana", avatar_url: null };
const welcome = (extra = {}) => ({ type: "welcome", protocol: 2, connection_id: "c1", user: ana, presence: [{ user: ana, connections: 1, editing: [] }], seq: 0, resumed: false, replayed: 0, ...extra });

/** A task room over fake parts; `tokens` are what getToken() gives, in turn (the last repeats). */
async function openRoom(t, { tokens, connect = connectTask, since, random = () => 0 }) {
  const timers = fakeTimers();
  const { Socket, sockets } = fakeSocketClass();
  const given = [];
  const getToken = async () => {
    const token = tokens.length > 1 ? tokens.shift() : tokens[0];
    given.push(token);
    return token;
  };
  const options = { baseUrl: "http://x", getToken, timers, random, WebSocket: Socket, since };
  const room = connect === connectTask ? connectTask("t1", options) : connect(options);
  t.after(() => room.close());
  const seen = { token: [], closed: [], error: [], status: [] };
  for (const type of Object.keys(seen)) room.on(type, (value) => seen[type].push(value));
  await settle();
  return { room, timers, sockets, given, seen, socket: () => sockets.at(-1) };
}

test("the token rides in the subprotocol, never in the URL; since stays in the URL", async (t) => {
  const token = jwt({ exp: T0 / 1000 + 3600 });
  const { sockets } = await openRoom(t, { tokens: [token], since: 7 });
  assert.equal(sockets.length, 1);
  assert.equal(sockets[0].url, "ws://x/ws/tasks/t1?since=7");
  assert.deepEqual(sockets[0].protocols, [SUBPROTOCOL, `bearer.${token}`]);
  assert.equal(SUBPROTOCOL, "hero-tasks.v1");
  assert.ok(!sockets[0].url.includes(token.split(".")[1]), "no part of the token is in the URL");

  const board = await openRoom(t, { tokens: [token], connect: connectBoard });
  assert.equal(board.sockets[0].url, "ws://x/ws/board", "no query at all without since");
});

test("a token that cannot be a subprotocol (not a JWT) is never sent: the room closes", async (t) => {
  const { sockets, seen, room } = await openRoom(t, { tokens: ["not a jwt=="] });
  assert.equal(sockets.length, 0);
  assert.equal(room.status, "closed");
  assert.deepEqual(seen.closed, [{ reason: "the token is not a JWT", code: 401 }]);
});

test("refresh is due 60 s before exp, or at 80% of a short lifetime, and never in the past", () => {
  assert.equal(refreshDelay(T0 + HOUR, T0), HOUR - 60_000);
  assert.equal(refreshDelay(T0 + 100_000, T0), 80_000, "100 s left: 80% of it, not 40 s");
  assert.equal(refreshDelay(T0 + 300_000, T0), 240_000, "5 min: both rules agree");
  assert.equal(refreshDelay(T0 - 5_000, T0), REFRESH.minDelayMs, "already expired: not in the past");
});

test("refresh sends an auth frame with the new token before exp; the ack moves the expiry and plans the next", async (t) => {
  const first = jwt({ exp: T0 / 1000 + 3600 });
  const second = jwt({ exp: T0 / 1000 + 7200 });
  const third = jwt({ exp: T0 / 1000 + 10800 });
  const { timers, socket, given, seen } = await openRoom(t, { tokens: [first, second, third] });
  socket().serverOpens();
  socket().serverSends(welcome());
  assert.equal(given.length, 1, "one token for the connect");

  await timers.advance(HOUR - 60_000 - 1);
  assert.deepEqual(socket().frames, [], "nothing before the refresh is due");
  await timers.advance(1);
  assert.equal(given.length, 2, "getToken asked at exp - 60 s");
  assert.deepEqual(socket().frames, [{ type: "auth", token: second, id: 1 }]);
  assert.deepEqual(seen.token, [{ state: "refreshing", expiresAt: T0 + HOUR }]);

  socket().serverSends({ type: "ack", id: 1 });
  assert.deepEqual(seen.token.at(-1), { state: "refreshed", expiresAt: T0 + 2 * HOUR });
  // Pending cleared: the answer timeout does not fire a failure later.
  await timers.advance(REFRESH.answerTimeoutMs * 2);
  assert.equal(seen.token.length, 2);
  assert.deepEqual(seen.error, []);

  // The next refresh is planned from the new token's exp, and sends the third token.
  await timers.advance(2 * HOUR - 60_000 - timers.now() + T0);
  assert.deepEqual(socket().frames.at(-1), { type: "auth", token: third, id: 2 });
  assert.equal(seen.closed.length, 0);
});

test("bad_token keeps the socket and the old token, and backs off before trying again", async (t) => {
  const first = jwt({ exp: T0 / 1000 + 3600 });
  const refused = jwt({ exp: T0 / 1000 + 7200, v: 1 });
  const accepted = jwt({ exp: T0 / 1000 + 7200, v: 2 });
  const { room, timers, socket, sockets, seen } = await openRoom(t, { tokens: [first, refused, accepted] });
  socket().serverOpens();
  socket().serverSends(welcome());
  await timers.advance(HOUR - 60_000);
  assert.deepEqual(socket().frames, [{ type: "auth", token: refused, id: 1 }]);

  socket().serverSends({ type: "error", code: "bad_token", message: "the new token was refused: bad signature", id: 1 });
  assert.equal(socket().readyState, 1, "the socket stays open");
  assert.equal(room.status, "open");
  assert.deepEqual(seen.token.at(-1), { state: "failed", expiresAt: T0 + HOUR, reason: "the new token was refused: bad signature", retryInMs: REFRESH.retryStartMs });
  assert.equal(seen.error.at(-1).code, "bad_token", "errors are still surfaced");

  await timers.advance(REFRESH.retryStartMs - 1);
  assert.equal(socket().frames.length, 1, "no retry before the backoff");
  await timers.advance(1);
  assert.deepEqual(socket().frames.at(-1), { type: "auth", token: accepted, id: 2 });
  socket().serverSends({ type: "ack", id: 2 });
  assert.equal(seen.token.at(-1).state, "refreshed");
  assert.equal(sockets.length, 1, "never reconnected");
});

test("a getToken that keeps giving the same token is backed off, then the server's 4001 ends the room", async (t) => {
  const only = jwt({ exp: T0 / 1000 + 3600 });
  const { room, timers, socket, sockets, given, seen } = await openRoom(t, { tokens: [only] });
  socket().serverOpens();
  socket().serverSends(welcome());
  await timers.advance(HOUR); // up to exp
  assert.deepEqual(socket().frames, [], "the same token is never sent");
  const waits = seen.token.map((s) => s.retryInMs);
  assert.deepEqual(waits, [5_000, 10_000, 20_000, null], "doubling waits, then none once exp is reached");
  assert.equal(given.length, 1 + 4, "no tight loop: four attempts in the last minute");
  assert.equal(seen.token[0].reason, "getToken() gave no new token");

  socket().serverCloses(4001, "token expired");
  assert.equal(room.status, "closed");
  assert.deepEqual(seen.closed, [{ reason: "token expired", code: 4001 }]);
  await timers.advance(HOUR);
  assert.equal(sockets.length, 1, "no reconnect after 4001");
  assert.deepEqual(timers.delays(), [], "every timer cleared");
});

test("a token that expires no later than the held one is not sent", async (t) => {
  const first = jwt({ exp: T0 / 1000 + 3600 });
  const older = jwt({ exp: T0 / 1000 + 3000 });
  const { timers, socket, seen } = await openRoom(t, { tokens: [first, older] });
  socket().serverOpens();
  socket().serverSends(welcome());
  await timers.advance(HOUR - 60_000);
  assert.deepEqual(socket().frames, []);
  assert.equal(seen.token.at(-1).reason, "getToken() gave a token that expires no later");
});

test("a protocol-1 server gets no auth frame; a fixed token is never refreshed", async (t) => {
  const first = jwt({ exp: T0 / 1000 + 3600 });
  const second = jwt({ exp: T0 / 1000 + 7200 });
  const old = await openRoom(t, { tokens: [first, second] });
  old.socket().serverOpens();
  const { protocol, ...v1 } = welcome();
  old.socket().serverSends(v1);
  await old.timers.advance(HOUR);
  assert.deepEqual(old.socket().frames, []);
  assert.equal(old.given.length, 1);

  const timers = fakeTimers();
  const { Socket, sockets } = fakeSocketClass();
  const fixed = connectTask("t1", { baseUrl: "http://x", token: first, timers, WebSocket: Socket });
  t.after(() => fixed.close());
  await settle();
  sockets[0].serverOpens();
  sockets[0].serverSends(welcome());
  await timers.advance(HOUR);
  assert.deepEqual(sockets[0].frames, []);
});

test("token_mismatch then 4003 is terminal", async (t) => {
  const first = jwt({ exp: T0 / 1000 + 3600 });
  const other = jwt({ sub: "bob", exp: T0 / 1000 + 7200 });
  const { room, timers, socket, sockets, seen } = await openRoom(t, { tokens: [first, other] });
  socket().serverOpens();
  socket().serverSends(welcome());
  await timers.advance(HOUR - 60_000);
  socket().serverSends({ type: "error", code: "token_mismatch", message: "a refreshed token must name the same user and workspace", id: 1 });
  assert.equal(seen.token.at(-1).retryInMs, null, "no retry after a mismatch");
  socket().serverCloses(4003, "token for another user or workspace");
  assert.equal(room.status, "closed");
  assert.deepEqual(seen.closed, [{ reason: "token for another user or workspace", code: 4003 }]);
  await timers.advance(10 * 60_000);
  assert.equal(sockets.length, 1, "never reconnects");
  assert.deepEqual(timers.delays(), []);
});

test("4029 reconnects, but waits at least 10 s", async (t) => {
  const token = jwt({ exp: T0 / 1000 + 3600 });
  const { room, timers, socket, sockets, seen } = await openRoom(t, { tokens: [token], random: () => 0 });
  socket().serverOpens();
  socket().serverCloses(4029, "too many connections for one user");
  assert.equal(room.status, "reconnecting");
  assert.deepEqual(seen.closed, [], "not terminal");
  assert.ok(RETRY_FLOOR_MS[4029] >= 10_000);
  await timers.advance(RETRY_FLOOR_MS[4029] - 1);
  assert.equal(sockets.length, 1, "no reconnect within 10 s");
  await timers.advance(1);
  assert.equal(sockets.length, 2, "reconnected after the floor");
  assert.deepEqual(sockets[1].protocols, [SUBPROTOCOL, `bearer.${token}`]);

  // A second 4029 waits longer: the floor plus a growing jittered backoff.
  const jittered = await openRoom(t, { tokens: [token], random: () => 1 });
  jittered.socket().serverOpens();
  jittered.socket().serverCloses(4029, "too many connects this minute");
  assert.deepEqual(jittered.timers.delays(), [RETRY_FLOOR_MS[4029] + 500]);
  await jittered.timers.advance(RETRY_FLOOR_MS[4029] + 500);
  jittered.socket().serverOpens();
  jittered.socket().serverCloses(4029, "too many connects this minute");
  assert.deepEqual(jittered.timers.delays(), [RETRY_FLOOR_MS[4029] + 1000]);
});

test("an ordinary drop reconnects at once-ish, with the token again in the subprotocol", async (t) => {
  const token = jwt({ exp: T0 / 1000 + 3600 });
  const { timers, socket, sockets } = await openRoom(t, { tokens: [token], random: () => 1 });
  socket().serverOpens();
  socket().serverSends(welcome({ seq: 4 }));
  socket().serverCloses(1006, "");
  assert.deepEqual(timers.delays(), [500], "no floor for a network drop");
  await timers.advance(500);
  assert.equal(sockets[1].url, "ws://x/ws/tasks/t1?since=4");
});

test("task_redacted is counted for since but is not an event; a replayed duplicate is dropped", async (t) => {
  const token = jwt({ exp: T0 / 1000 + 3600 });
  const { room, timers, socket, sockets } = await openRoom(t, { tokens: [token], connect: connectBoard, since: 3, random: () => 0 });
  const events = [];
  const redacted = [];
  room.on("event", (e) => events.push(e.type));
  room.on("task_redacted", (e) => redacted.push(e));
  socket().serverOpens();
  socket().serverSends(welcome({ seq: 6, resumed: true, replayed: 3 }));
  const actor = { id: "bob", name: "Bob" };
  const at = "2026-05-04T09:00:00Z";
  socket().serverSends({
    type: "batch",
    events: [
      { type: "task_redacted", seq: 4, task_id: "gone" },
      { type: "task_redacted", seq: 5, task_id: "gone" },
      { type: "task_deleted", seq: 6, at, actor, task_id: "gone" },
    ],
  });
  assert.equal(room.lastSeq, 6);
  assert.deepEqual(events, ["task_deleted"]);
  assert.deepEqual(redacted.map((e) => e.seq), [4, 5]);
  socket().serverSends({ type: "task_redacted", seq: 5, task_id: "gone" });
  assert.equal(redacted.length, 2, "already seen");

  socket().serverCloses(1006, "");
  await timers.advance(0);
  assert.equal(sockets[1].url, "ws://x/ws/board?since=6", "resumes after the redacted events");
});

test("the board never sends typing or editing; a task room does; errors are surfaced", async (t) => {
  const token = jwt({ exp: T0 / 1000 + 3600 });
  const board = await openRoom(t, { tokens: [token], connect: connectBoard });
  board.socket().serverOpens();
  assert.equal(board.room.sendTyping("title", true), false);
  assert.equal(board.room.setEditing("title"), false);
  assert.deepEqual(board.socket().frames, []);
  board.socket().serverSends({ type: "error", code: "wrong_room", message: "typing and editing belong in a task's room" });
  assert.deepEqual(board.seen.error.map((e) => e.code), ["wrong_room"]);

  const task = await openRoom(t, { tokens: [token] });
  task.socket().serverOpens();
  assert.equal(task.room.sendTyping("title", true), true);
  assert.equal(task.room.setEditing("title"), true);
  assert.deepEqual(task.socket().frames, [
    { type: "typing", field: "title", active: true },
    { type: "editing", field: "title" },
  ]);
});

test("presence_diff updates the room's list and is announced", async (t) => {
  const token = jwt({ exp: T0 / 1000 + 3600 });
  const { room, socket } = await openRoom(t, { tokens: [token] });
  const bob = { id: "bob", name: "Bob", avatar_url: null };
  const lists = [];
  room.on("presence", (list) => lists.push(list));
  socket().serverOpens();
  socket().serverSends(welcome({ presence: [{ user: ana, connections: 1, editing: [] }, { user: bob, connections: 1, editing: [] }] }));
  socket().serverSends({ type: "presence_diff", joins: [{ user: bob, connections: 2, editing: ["title"] }], leaves: [] });
  assert.deepEqual(room.presence, [
    { user: ana, connections: 1, editing: [] },
    { user: bob, connections: 2, editing: ["title"] },
  ]);
  assert.equal(lists.length, 2);
});

test("close() clears every timer, the refresh timer included", async (t) => {
  const token = jwt({ exp: T0 / 1000 + 3600 });
  const { room, timers, socket } = await openRoom(t, { tokens: [token] });
  socket().serverOpens();
  socket().serverSends(welcome());
  assert.ok(timers.delays().includes(HOUR - 60_000), "the refresh is planned");
  room.close();
  assert.deepEqual(timers.delays(), []);
});

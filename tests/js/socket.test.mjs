// The reconnecting socket (clients/js/src/socket.js), transport only, with a fake WebSocket
// and fake timers: what connect() and classifyClose() decide, the keep-alive, and the
// options a protocol of binary frames needs. The room protocol on top is room.test.mjs.
import { test } from "node:test";
import assert from "node:assert/strict";

import { KEEPALIVE_MS, openReconnectingSocket, PONG_TIMEOUT_MS } from "../../clients/js/src/index.js";
import { fakeSocketClass, fakeTimers, settle } from "./support/fakes.mjs";

function open(t, extra = {}) {
  const timers = fakeTimers();
  const { Socket, sockets } = fakeSocketClass();
  const closes = [];
  const transport = openReconnectingSocket({
    connect: async () => ({ url: "ws://x/ws/thing", protocols: ["p"] }),
    classifyClose: (close) => {
      closes.push(close);
      return { floorMs: 0 };
    },
    pingFrame: '{"type":"ping"}',
    WebSocket: Socket,
    timers,
    random: () => 0,
    ...extra,
  });
  t.after(() => transport.close());
  const seen = { status: [], closed: [], message: [], down: 0 };
  transport.on("status", (s) => seen.status.push(s));
  transport.on("closed", (d) => seen.closed.push(d));
  transport.on("message", (m) => seen.message.push(m));
  transport.on("down", () => (seen.down += 1));
  return { transport, timers, sockets, closes, seen };
}

test("opens on the next microtask, with what connect() gives; sends only while open", async (t) => {
  const { transport, sockets, seen } = open(t);
  assert.equal(sockets.length, 0, "nothing opened synchronously");
  await settle();
  assert.equal(sockets.length, 1);
  assert.equal(sockets[0].url, "ws://x/ws/thing");
  assert.deepEqual(sockets[0].protocols, ["p"]);
  assert.equal(transport.send('{"a":1}'), false, "not open yet: not sent, not queued");
  sockets[0].serverOpens();
  assert.equal(transport.send('{"a":2}'), true);
  assert.deepEqual(sockets[0].sent, [{ a: 2 }]);
  assert.deepEqual(seen.status, ["open"]);
});

test("a terminal answer from connect() or classifyClose() stops for good", async (t) => {
  const early = open(t, { connect: async () => ({ terminal: { reason: "no token", code: 401 } }) });
  await settle();
  assert.equal(early.sockets.length, 0);
  assert.deepEqual(early.seen.closed, [{ reason: "no token", code: 401 }]);
  assert.equal(early.transport.status, "closed");

  const late = open(t, { classifyClose: ({ code }) => (code === 4004 ? { terminal: { reason: "gone", code } } : { floorMs: 0 }) });
  await settle();
  late.sockets[0].serverOpens();
  late.sockets[0].serverCloses(4004);
  assert.equal(late.transport.status, "closed", "at once: the verdict was known at once");
  assert.deepEqual(late.seen.closed, [{ reason: "gone", code: 4004 }]);
  await late.timers.advance(60_000);
  assert.equal(late.sockets.length, 1, "never reconnects");
  assert.deepEqual(late.timers.delays(), []);
});

test("an asynchronous verdict (a probe for a socket that never opened) is waited for", async (t) => {
  let answer;
  const asked = [];
  const classifyClose = (close) => {
    asked.push(close);
    return close.opened ? { floorMs: 0 } : new Promise((resolve) => (answer = resolve));
  };
  const { sockets, seen } = open(t, { classifyClose });
  await settle();
  sockets[0].serverCloses(1006);
  assert.deepEqual(asked, [{ code: 1006, opened: false }]);
  assert.deepEqual(seen.closed, []);
  answer({ terminal: { reason: "forbidden", code: 403 } });
  await settle();
  assert.deepEqual(seen.closed, [{ reason: "forbidden", code: 403 }]);
});

test("keep-alive: a ping every interval; silence after one closes with 4000 and reconnects; anything heard counts", async (t) => {
  const { timers, sockets, seen } = open(t);
  await settle();
  const first = sockets[0];
  first.serverOpens();
  // The fake runtime answers the ping: nothing happens.
  await timers.advance(KEEPALIVE_MS);
  assert.deepEqual(first.sent.filter((m) => m.type === "ping").length, 1);
  await timers.advance(PONG_TIMEOUT_MS);
  assert.equal(first.readyState, 1, "answered: still open");

  // A runtime that does not answer pings, but a frame arrives: alive.
  first.send = function (data) {
    this.sent.push(JSON.parse(data));
  };
  await timers.advance(KEEPALIVE_MS - PONG_TIMEOUT_MS);
  first.serverSends({ type: "anything" });
  await timers.advance(PONG_TIMEOUT_MS);
  assert.equal(first.readyState, 1, "a frame after the ping proves it alive");
  assert.equal(seen.message.length, 2, "the pong and the frame were both handed on");

  // Silence: closed with 4000, and the next socket opens.
  await timers.advance(KEEPALIVE_MS - PONG_TIMEOUT_MS);
  await timers.advance(PONG_TIMEOUT_MS);
  assert.deepEqual(first.closedWith, { code: 4000, reason: "keep-alive timed out" });
  await timers.advance(0);
  assert.equal(sockets.length, 2);
  assert.ok(seen.down >= 1);
});

test("no pingFrame: no keep-alive; binaryType is set on every socket; binary data is handed on as is", async (t) => {
  const { timers, sockets, seen } = open(t, { pingFrame: null, binaryType: "arraybuffer" });
  await settle();
  sockets[0].serverOpens();
  assert.equal(sockets[0].binaryType, "arraybuffer");
  await timers.advance(KEEPALIVE_MS * 3);
  assert.deepEqual(sockets[0].sent, [], "no ping");
  const bytes = new Uint8Array([0, 1, 2]).buffer;
  sockets[0].onmessage({ data: bytes });
  assert.equal(seen.message[0], bytes);
  sockets[0].serverCloses(1006);
  await timers.advance(0);
  assert.equal(sockets[1].binaryType, "arraybuffer", "and on the next one");
});

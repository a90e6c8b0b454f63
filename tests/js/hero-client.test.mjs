// Unit tests of the browser client's pure parts, with Node's test runner. The live
// behaviour (reconnect, resume, presence, conflicts) is tested in real Chromium by
// tests/e2e/browser.rs; here only the logic that needs no browser.
import { test } from "node:test";
import assert from "node:assert/strict";

import { BACKOFF, backoffDelay, connectTask, restClient, ConflictError, ApiError, TERMINAL_CLOSE_CODES, unpackFrame } from "../../clients/js/src/index.js";

test("backoff grows by the factor, is capped, and is jittered over [0, ceiling]", () => {
  assert.equal(backoffDelay(0, () => 1), BACKOFF.startMs);
  assert.equal(backoffDelay(1, () => 1), BACKOFF.startMs * BACKOFF.factor);
  assert.equal(backoffDelay(3, () => 1), BACKOFF.startMs * BACKOFF.factor ** 3);
  assert.equal(backoffDelay(30, () => 1), BACKOFF.capMs);
  assert.equal(backoffDelay(5, () => 0), 0);
  for (let attempt = 0; attempt < 20; attempt++) {
    const delay = backoffDelay(attempt);
    assert.ok(delay >= 0 && delay <= BACKOFF.capMs, `attempt ${attempt}: ${delay}`);
  }
});

test("terminal close codes are the documented ones", () => {
  // The server closes with 1008, 1009, 1013, 4029 (retry) and 4001, 4003, 4004 (final).
  assert.deepEqual(Object.keys(TERMINAL_CLOSE_CODES).map(Number).sort(), [4001, 4003, 4004]);
  for (const retried of [1008, 1009, 1013, 4029]) assert.equal(TERMINAL_CLOSE_CODES[retried], undefined, `${retried} is retried`);
});

/** A fetch that answers from a table, recording what it was asked. */
function fakeFetch(answers) {
  const calls = [];
  const fetch = async (url, init) => {
    calls.push({ url, init });
    const { status, body } = answers.shift();
    return {
      status,
      ok: status >= 200 && status < 300,
      json: async () => body,
    };
  };
  return { fetch, calls };
}

test("update sends a merge patch with If-Match and surfaces 412 as a conflict", async () => {
  const current = { id: "t1", title: "theirs", version: 3 };
  const { fetch, calls } = fakeFetch([{ status: 412, body: { status: 412, detail: "stale", current } }]);
  globalThis.fetch = fetch;
  const api = restClient({ baseUrl: "http://x", getToken: async () => "tok" });
  await assert.rejects(api.update("t1", { title: "mine" }, { ifMatch: 2 }), (error) => {
    assert.ok(error instanceof ConflictError);
    assert.deepEqual(error.current, current);
    return true;
  });
  assert.equal(calls[0].url, "http://x/api/tasks/t1");
  assert.equal(calls[0].init.method, "PATCH");
  assert.equal(calls[0].init.headers["If-Match"], '"2"');
  assert.equal(calls[0].init.headers["Content-Type"], "application/merge-patch+json");
  assert.equal(calls[0].init.headers.Authorization, "Bearer tok");
});

test("other failures carry the problem; list builds the query; delete returns null", async () => {
  const problem = { status: 422, detail: "bad", errors: [{ field: "title", message: "must not be blank" }] };
  const { fetch, calls } = fakeFetch([
    { status: 422, body: problem },
    { status: 200, body: { tasks: [], next_cursor: null } },
    { status: 204, body: null },
  ]);
  globalThis.fetch = fetch;
  const api = restClient({ baseUrl: "http://x", token: "tok" });
  await assert.rejects(api.create({ title: " " }), (error) => error instanceof ApiError && error.status === 422 && error.problem === problem);
  await api.list({ status: "done", q: "", tag: "ui", limit: 5 });
  assert.equal(calls[1].url, "http://x/api/tasks?status=done&tag=ui&limit=5");
  assert.equal(await api.remove("t1"), null);
});

test("a batch frame unpacks into its events in order; other frames are one message", () => {
  const one = { type: "task_updated", seq: 4 };
  const two = { type: "task_status_changed", seq: 5 };
  assert.deepEqual(unpackFrame({ type: "batch", events: [one, two] }), [one, two]);
  assert.deepEqual(unpackFrame(one), [one]);
  assert.deepEqual(unpackFrame({ type: "batch" }), [], "a malformed batch carries nothing");
});

/** A WebSocket stand-in: the test opens it and pushes server frames into it. */
class FakeSocket {
  static OPEN = 1;
  static last = null;
  constructor(url, protocols) {
    this.url = url;
    this.protocols = protocols;
    this.readyState = 0;
    this.sent = [];
    FakeSocket.last = this;
  }
  send(data) {
    this.sent.push(JSON.parse(data));
  }
  close(code, reason) {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
  serverOpens() {
    this.readyState = FakeSocket.OPEN;
    this.onopen?.();
  }
  serverSends(message) {
    this.onmessage?.({ data: JSON.stringify(message) });
  }
}

test("a room keeps presence by the server's rule: two tabs' fields both show, welcome resets", async (t) => {
  const saved = globalThis.WebSocket;
  globalThis.WebSocket = FakeSocket;
  t.after(() => (globalThis.WebSocket = saved));
  const room = connectTask("t1", { baseUrl: "http://x", token: "tok" });
  t.after(() => room.close());
  await new Promise((resolve) => setTimeout(resolve, 0)); // connect is async (token first)
  const socket = FakeSocket.last;
  assert.equal(socket.url, "ws://x/ws/tasks/t1", "the token is not in the URL");
  assert.deepEqual(socket.protocols, ["hero-tasks.v1", "bearer.tok"]);
  socket.serverOpens();
  const seen = [];
  room.on("presence", (list) => seen.push(list));

  const ana = { id: "ana", name: "Ana", avatar_url: null };
  const bob = { id: "bob", name: "Bob", avatar_url: null };
  socket.serverSends({ type: "welcome", connection_id: "c", user: bob, presence: [{ user: bob, connections: 1, editing: [] }], seq: 0, resumed: false, replayed: 0 });
  socket.serverSends({ type: "user_joined", user: ana, connections: 1 });
  socket.serverSends({ type: "presence", presence: [{ user: ana, connections: 2, editing: [] }, { user: bob, connections: 1, editing: [] }] });
  socket.serverSends({ type: "editing", user_id: "ana", field: "title" });
  socket.serverSends({ type: "editing", user_id: "ana", field: "description" });
  assert.deepEqual(room.presence[0], { user: ana, connections: 2, editing: ["description", "title"] });
  assert.equal(seen.length, 5, "every presence message is announced");
  assert.deepEqual(seen.at(-1), room.presence);

  socket.serverSends({ type: "welcome", connection_id: "c2", user: bob, presence: [{ user: bob, connections: 1, editing: [] }], seq: 0, resumed: true, replayed: 0 });
  assert.deepEqual(room.presence, [{ user: bob, connections: 1, editing: [] }]);
});

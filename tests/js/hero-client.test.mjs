// Unit tests of the browser client's pure parts, with Node's test runner. The live
// behaviour (reconnect, resume, presence, conflicts) is tested in real Chromium by
// tests/e2e/browser.rs; here only the logic that needs no browser.
import { test } from "node:test";
import assert from "node:assert/strict";

import { BACKOFF, backoffDelay, restClient, ConflictError, ApiError, TERMINAL_CLOSE_CODES, unpackFrame } from "../../public/hero-client.js";

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
  assert.deepEqual(Object.keys(TERMINAL_CLOSE_CODES).map(Number).sort(), [4001, 4003, 4004]);
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

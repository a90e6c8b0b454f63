// Messages with a kind and a lifetime (public/state/messages.js): success and info fade,
// progress lasts while it is true, errors stay until acted on or superseded.
import { test } from "node:test";
import assert from "node:assert/strict";

import { alive, deletedText, droppedText, end, FADE_MS, fading, KINDS, LIFETIME_MS, pendingState, post } from "../../public/state/messages.js";

test("success and info fade after their lifetime; progress and errors do not", () => {
  assert.deepEqual([...KINDS], ["success", "info", "progress", "error"]);
  const saved = post("success", "Saved.", 1000);
  assert.equal(saved.expiresAt, 1000 + LIFETIME_MS.success);
  assert.equal(alive(saved, 1000 + LIFETIME_MS.success - 1), saved);
  assert.equal(alive(saved, 1000 + LIFETIME_MS.success), null, "gone at the end of its lifetime");
  assert.equal(fading(saved, 1000 + LIFETIME_MS.success - FADE_MS - 1), false);
  assert.equal(fading(saved, 1000 + LIFETIME_MS.success - FADE_MS), true, "fades out before it goes");
  assert.ok(LIFETIME_MS.info > LIFETIME_MS.success, "something to read lasts longer than a confirmation");
  for (const kind of ["progress", "error"]) {
    const lasting = post(kind, "x", 0);
    assert.equal(lasting.expiresAt, null);
    assert.equal(alive(lasting, Number.MAX_SAFE_INTEGER), lasting, `${kind} stays until ended`);
    assert.equal(fading(lasting, Number.MAX_SAFE_INTEGER), false);
  }
  assert.throws(() => post("warning", "x", 0), TypeError);
});

test("progress is ended by whoever posted it; ending one kind leaves another standing", () => {
  const saving = post("progress", "Saving…", 0);
  assert.equal(end(saving, "progress"), null);
  const saved = post("success", "Saved.", 0);
  assert.equal(end(saved, "progress"), saved, "the end of progress does not take a success with it");
  const refused = post("error", "Not saved: title: too long.", 0);
  assert.equal(end(refused, "error", "another error"), refused, "only the error it names");
  assert.equal(end(refused, "error", "Not saved: title: too long."), null);
  assert.equal(end(null, "error"), null);
});

test("a task's pending changes: saving while they can go, offline while they wait, decide when one waits for the user", () => {
  const entry = (state) => ({ state });
  assert.equal(pendingState([], { reachable: true }), null);
  assert.equal(pendingState([entry("queued")], { reachable: true }), "saving");
  assert.equal(pendingState([entry("queued")], { reachable: false }), "offline");
  assert.equal(pendingState([entry("sending")], { reachable: false }), "saving", "a request on its way");
  assert.equal(pendingState([entry("conflict"), entry("queued")], { reachable: true }), "decide", "held up behind a conflict: not saving");
  assert.equal(pendingState([entry("refused")], { reachable: true }), "decide");
});

test("a deleted task's dropped changes, said on the board and on its page; a dropped delete is not news", () => {
  const edit = { kind: "update" };
  const gone = { kind: "delete" };
  assert.equal(droppedText([edit], { title: "Plan", by: "Bob" }), "Bob deleted “Plan”: your change to it that had not synced was dropped.");
  assert.equal(droppedText([edit, edit]), "A task was deleted: your 2 changes to it that had not synced were dropped.");
  assert.equal(droppedText([edit], { here: true }), "Your change that had not synced was dropped.");
  assert.equal(droppedText([edit, edit, gone], { here: true }), "Your 2 changes that had not synced were dropped.");
  assert.equal(droppedText([gone]), null);
  assert.equal(droppedText([]), null);
});

test("who deleted the task and when, as far as it is known", () => {
  const when = (at) => at.slice(11, 16);
  const at = "2026-05-04T14:05:00.000Z";
  assert.equal(deletedText({ by: { id: "bob", name: "Bob" }, at }, { selfId: "ana", when }), "Bob deleted this task at 14:05.");
  assert.equal(deletedText({ by: { id: "ana", name: "Ana" }, at }, { selfId: "ana", when }), "You deleted this task at 14:05 (in another tab or device).");
  assert.equal(deletedText({}, { selfId: "ana", when }), "This task was deleted.");
  assert.equal(deletedText({ at }, { when }), "This task was deleted at 14:05.");
  assert.match(deletedText({ missing: true }), /^There is no such task/);
});

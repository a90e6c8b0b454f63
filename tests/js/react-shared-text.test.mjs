// useSharedText and useTextareaBinding (@hero-tasks/client/react) in jsdom, two people in
// two clients through a y-websocket server in this process (./support/doc-server.mjs),
// over real sockets (ws) and real timers: their textareas converge, every keystroke kept;
// StrictMode and two components still make one document socket per client; the server
// render is idle and opens nothing. Eventual states are polled for with a deadline.
import { window } from "./support/dom.mjs";
import { test } from "node:test";
import assert from "node:assert/strict";
import { createElement as h, StrictMode } from "react";
import { act, cleanup, render } from "@testing-library/react";
import { renderToString } from "react-dom/server";
import { WebSocket } from "ws";

import { createHeroClient, HeroProvider, useSharedText, useTextareaBinding, useTyping } from "@hero-tasks/client/react";
import { startDocServer } from "./support/doc-server.mjs";
import { jwt } from "./support/fakes.mjs";

// Updates arrive from real sockets, outside act(): React applies them as a browser would.
globalThis.IS_REACT_ACT_ENVIRONMENT = false;

const token = (sub) => jwt({ sub, workspace_id: "demo", exp: Math.floor(Date.now() / 1000) + 3600 });

async function eventually(check, what, ms = 5000) {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Types `what` at the caret, as a browser does: value, caret, then `input`. */
function type(element, what) {
  const { selectionStart: start, selectionEnd: end, value } = element;
  element.value = value.slice(0, start) + what + value.slice(end);
  element.setSelectionRange(start + what.length, start + what.length);
  element.dispatchEvent(new window.Event("input", { bubbles: true }));
}

/** The description editor as an app writes it: the hook, the binding, "is typing". */
function Description({ taskId, seen }) {
  const shared = useSharedText(taskId, "description");
  const ref = useTextareaBinding(shared);
  const { setTyping } = useTyping(taskId);
  seen?.push(shared);
  return h("textarea", { ref, "aria-label": "Description", readOnly: !shared.ready, onInput: () => setTyping("description", true) });
}

async function setup(t) {
  const server = await startDocServer({ seeds: { t1: "first draft" } });
  const clients = [];
  const client = (user) => {
    // The task room (useTyping) has no server here: its socket fails and retries quietly.
    const made = createHeroClient({ baseUrl: server.base, getToken: () => token(user), WebSocket, fetch: async () => ({ status: 200, ok: true, json: async () => ({}) }), random: () => 0.5 });
    clients.push(made);
    return made;
  };
  t.after(async () => {
    cleanup();
    for (const made of clients) made.close();
    await server.close();
  });
  return { server, client };
}

test("useSharedText converges two docs: two people typing at once, every keystroke in both textareas", async (t) => {
  const { server, client } = await setup(t);
  const ana = render(h(HeroProvider, { client: client("ana") }, h(Description, { taskId: "t1" })));
  const bob = render(h(HeroProvider, { client: client("bob") }, h(Description, { taskId: "t1" })));
  const left = ana.container.querySelector("textarea");
  const right = bob.container.querySelector("textarea");
  await eventually(() => left.value === "first draft" && right.value === "first draft" && !left.readOnly && !right.readOnly, "both bound to the server's text");

  // Ana types at the start, Bob at the end, keystroke by keystroke, interleaved.
  left.focus();
  left.setSelectionRange(0, 0);
  right.focus();
  right.setSelectionRange(right.value.length, right.value.length);
  for (let i = 0; i < 12; i += 1) {
    await act(async () => {
      left.focus();
      type(left, "abcdefghijkl"[i]);
      right.focus();
      type(right, "0123456789!?"[i]);
    });
  }
  const expected = "abcdefghijklfirst draft0123456789!?";
  await eventually(() => left.value === expected && right.value === expected, `both textareas to read ${expected} (now ${left.value} / ${right.value})`);
  assert.equal(server.text("t1"), expected);

  // Bob's caret stayed at his end of the text while Ana typed before it.
  assert.equal(right.selectionStart, expected.length);
});

test("under StrictMode two components share one document socket per client; the server render opens nothing", async (t) => {
  const { server, client } = await setup(t);
  const shared = client("ana");
  const seen = [];
  const view = render(h(StrictMode, null, h(HeroProvider, { client: shared }, h("div", null, h(Description, { taskId: "t1", seen }), h(Description, { taskId: "t1" })))));
  await eventually(() => [...view.container.querySelectorAll("textarea")].every((e) => e.value === "first draft"), "both bound");
  const docSockets = server.log.urls.filter((url) => url === "/ws/tasks/t1/doc");
  assert.equal(docSockets.length, 1, `one document socket: ${server.log.urls}`);
  assert.equal(seen[0].status, "idle", "the first render is idle");
  const last = seen.at(-1);
  assert.equal(last.status, "open");
  assert.equal(last.ready, true);
  assert.ok(Object.isFrozen(last));
  assert.equal(last.text.toString(), "first draft");

  // Typing does not re-render the hook's users: the snapshot is about the connection.
  const renders = seen.length;
  await act(async () => {
    const element = view.container.querySelector("textarea");
    element.focus();
    type(element, "!");
  });
  await eventually(() => server.text("t1") === "!first draft" || server.text("t1") === "first draft!", "the keystroke at the server");
  assert.equal(seen.length, renders, "no render per keystroke");
  assert.equal(view.container.querySelectorAll("textarea")[1].value, server.text("t1"), "the other component's textarea follows");

  const html = renderToString(h(HeroProvider, { client: createHeroClient({ baseUrl: "http://x", getToken: () => "a.b.c", WebSocket: class {} }) }, h(Description, { taskId: "t9" })));
  assert.match(html, /<textarea[^>]*readOnly=""/);
  assert.ok(!server.log.urls.includes("/ws/tasks/t9/doc"));
});

test("useSharedText refuses a field the document does not have", () => {
  const client = createHeroClient({ baseUrl: "http://x", getToken: () => "a.b.c" });
  function Title() {
    useSharedText("t1", "title");
    return null;
  }
  const { error } = console;
  console.error = () => {};
  try {
    assert.throws(() => renderToString(h(HeroProvider, { client }, h(Title))), /"description", not "title"/);
  } finally {
    console.error = error;
  }
});

// The service worker (public/sw.js): it caches exactly the app's static files, and never
// the API or the rooms. The script is run in a bare context (it only registers its
// listeners inside a real ServiceWorkerGlobalScope) to read its list and rules.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import vm from "node:vm";

const PUBLIC = new URL("../../public/", import.meta.url).pathname;

function worker() {
  const context = vm.createContext({ self: {}, URL });
  vm.runInContext(readFileSync(join(PUBLIC, "sw.js"), "utf8"), context);
  const read = (name) => vm.runInContext(name, context);
  return { SHELL: read("SHELL"), isLive: read("isLive"), isExample: read("isExample"), shellKey: read("shellKey") };
}

function filesUnder(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

// /hero-client.js is built from clients/js by `make client` (make unit builds it first);
// /examples/ holds the React example, built beside the app but no part of it.
test("the shell is every page, module, stylesheet and the page's icon in public/, and nothing else", () => {
  const { SHELL, isExample } = worker();
  assert.ok(existsSync(join(PUBLIC, "hero-client.js")), "public/hero-client.js is built (make client)");
  const served = filesUnder(PUBLIC)
    .map((path) => `/${relative(PUBLIC, path)}`)
    .filter((path) => (/\.(js|css|html)$/.test(path) || path === "/favicon.svg") && path !== "/sw.js" && !isExample(path))
    .map((path) => (path === "/index.html" ? "/" : path))
    .sort();
  assert.deepEqual([...SHELL].sort(), served);
});

test("the API, the rooms, the health check and the examples are never the worker's", () => {
  const { isLive, isExample } = worker();
  for (const path of ["/api/tasks", "/api/tasks/1/activity", "/ws/board", "/ws/tasks/1", "/healthz"]) assert.equal(isLive(path), true, path);
  for (const path of ["/", "/app.js", "/ui/dom.js", "/apis.js", "/wsx"]) assert.equal(isLive(path), false, path);
  for (const path of ["/examples/react/", "/examples/react/app.js"]) assert.equal(isExample(path), true, path);
  for (const path of ["/", "/app.js", "/hero-client.js", "/examples.js"]) assert.equal(isExample(path), false, path);
});

test("every navigation to the page is cached as the one page; files under their path", () => {
  const { shellKey } = worker();
  assert.equal(shellKey(new URL("http://h/index.html"), "navigate"), "/");
  assert.equal(shellKey(new URL("http://h/?x=1"), "navigate"), "/");
  assert.equal(shellKey(new URL("http://h/app.js?v=2"), "no-cors"), "/app.js");
  assert.equal(shellKey(new URL("http://h/hero-client.d.ts"), "navigate"), "/hero-client.d.ts", "another file opened as a page is not the app");
});

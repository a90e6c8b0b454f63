// The service worker (public/sw.js): it caches exactly the app's static files, and never
// the API or the rooms. The script is run in a bare context (it only registers its
// listeners inside a real ServiceWorkerGlobalScope) to read its list and rules.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import vm from "node:vm";

const PUBLIC = new URL("../../public/", import.meta.url).pathname;

function worker() {
  const context = vm.createContext({ self: {}, URL });
  vm.runInContext(readFileSync(join(PUBLIC, "sw.js"), "utf8"), context);
  return { SHELL: vm.runInContext("SHELL", context), isLive: vm.runInContext("isLive", context), shellKey: vm.runInContext("shellKey", context) };
}

function filesUnder(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

test("the shell is every page, module and stylesheet in public/, and nothing else", () => {
  const { SHELL } = worker();
  const served = filesUnder(PUBLIC)
    .map((path) => `/${relative(PUBLIC, path)}`)
    .filter((path) => /\.(js|css|html)$/.test(path) && path !== "/sw.js")
    .map((path) => (path === "/index.html" ? "/" : path))
    .sort();
  assert.deepEqual([...SHELL].sort(), served);
});

test("the API, the rooms and the health check are never the worker's", () => {
  const { isLive } = worker();
  for (const path of ["/api/tasks", "/api/tasks/1/activity", "/ws/board", "/ws/tasks/1", "/healthz"]) assert.equal(isLive(path), true, path);
  for (const path of ["/", "/app.js", "/ui/dom.js", "/apis.js", "/wsx"]) assert.equal(isLive(path), false, path);
});

test("every navigation to the page is cached as the one page; files under their path", () => {
  const { shellKey } = worker();
  assert.equal(shellKey(new URL("http://h/index.html"), "navigate"), "/");
  assert.equal(shellKey(new URL("http://h/?x=1"), "navigate"), "/");
  assert.equal(shellKey(new URL("http://h/app.js?v=2"), "no-cors"), "/app.js");
  assert.equal(shellKey(new URL("http://h/hero-client.d.ts"), "navigate"), "/hero-client.d.ts", "another file opened as a page is not the app");
});

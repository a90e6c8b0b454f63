#!/usr/bin/env bash
# `npm pack` the client package and install the tarball into an empty folder with react and
# react-dom, as an app would (npm installs its Yjs peer and its dependencies with it); then a Node ESM file imports both entries and renders a hook
# to a string. Twice: with the React package-lock.json pins, and with React 18.3.1, the
# oldest major the peer range (>=18) allows. Proves the tarball holds everything its
# exports name, and nothing it needs is left behind in the repository.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

PINNED_REACT=$(node -p "require('$ROOT/package.json').devDependencies.react")
OLDEST_REACT="18.3.1"
TARBALL=$(cd "$ROOT/clients/js" && npm pack --silent --pack-destination "$WORK")
echo "pack-check: $TARBALL ($(du -k "$WORK/$TARBALL" | cut -f1) KiB)"

cat >"$WORK/check.mjs" <<'JS'
import assert from "node:assert/strict";
import { createElement as h } from "react";
import { renderToString } from "react-dom/server";
import * as client from "@hero-tasks/client";
import * as react from "@hero-tasks/client/react";

for (const name of ["connectTask", "connectBoard", "restClient", "openEditQueue", "openTaskDoc", "bindTextarea", "ConflictError", "SUBPROTOCOL"]) assert.ok(client[name], `"." exports ${name}`);
for (const name of ["createHeroClient", "HeroProvider", "useTaskRoom", "usePresence", "useTyping", "useFieldEditing", "useTaskEvents", "useBoard", "useConnectionStatus", "useEditQueue", "useSharedText", "useTextareaBinding"]) assert.ok(react[name], `"./react" exports ${name}`);

const heroClient = react.createHeroClient({ baseUrl: "http://x", getToken: () => "a.b.c" });
function Status() {
  const room = react.useTaskRoom("t1");
  react.useTaskEvents("t1", () => {});
  react.useFieldEditing("t1", "title");
  const shared = react.useSharedText("t1", "description");
  react.useTextareaBinding(shared);
  return h("p", null, `${room.status} ${shared.status}`);
}
const logged = [];
const { error, warn } = console;
console.error = console.warn = (...args) => logged.push(args.join(" "));
let html;
try {
  html = renderToString(h(react.HeroProvider, { client: heroClient }, h(Status)));
} finally {
  Object.assign(console, { error, warn });
}
assert.equal(html, "<p>idle idle</p>");
assert.deepEqual(logged, [], "nothing logged while rendering on the server");
const { version } = await import("react");
console.log(`pack-check: react ${version}: both entries import from the installed tarball; a hook renders on the server: ${html}`);
JS

for REACT in "$PINNED_REACT" "$OLDEST_REACT"; do
  mkdir "$WORK/app-$REACT"
  cd "$WORK/app-$REACT"
  echo '{"name":"pack-check","private":true,"type":"module"}' >package.json
  npm install --silent --no-audit --no-fund --prefer-offline "../$TARBALL" "react@$REACT" "react-dom@$REACT"
  cp ../check.mjs .
  node check.mjs
done

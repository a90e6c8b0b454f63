#!/usr/bin/env bash
# `npm pack` the client package and install the tarball into an empty folder with react and
# react-dom (the versions package-lock.json pins), as an app would; then a Node ESM file
# imports both entries and renders a hook to a string. Proves the tarball holds everything
# its exports name, and nothing it needs is left behind in the repository.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

REACT_VERSION=$(node -p "require('$ROOT/package.json').devDependencies.react")
TARBALL=$(cd "$ROOT/clients/js" && npm pack --silent --pack-destination "$WORK")
echo "pack-check: $TARBALL ($(du -k "$WORK/$TARBALL" | cut -f1) KiB), with react@$REACT_VERSION"

mkdir "$WORK/app"
cd "$WORK/app"
echo '{"name":"pack-check","private":true,"type":"module"}' >package.json
npm install --silent --no-audit --no-fund --prefer-offline "../$TARBALL" "react@$REACT_VERSION" "react-dom@$REACT_VERSION"

cat >check.mjs <<'JS'
import assert from "node:assert/strict";
import { createElement as h } from "react";
import { renderToString } from "react-dom/server";
import * as client from "@hero-tasks/client";
import * as react from "@hero-tasks/client/react";

for (const name of ["connectTask", "connectBoard", "restClient", "openEditQueue", "ConflictError", "SUBPROTOCOL"]) assert.ok(client[name], `"." exports ${name}`);
for (const name of ["createHeroClient", "HeroProvider", "useTaskRoom", "usePresence", "useTyping", "useFieldEditing", "useTaskEvents", "useBoard", "useConnectionStatus", "useEditQueue"]) assert.ok(react[name], `"./react" exports ${name}`);

const heroClient = react.createHeroClient({ baseUrl: "http://x", getToken: () => "a.b.c" });
function Status() {
  return h("p", null, react.useTaskRoom("t1").status);
}
const html = renderToString(h(react.HeroProvider, { client: heroClient }, h(Status)));
assert.equal(html, "<p>idle</p>");
console.log(`pack-check: both entries import from the installed tarball; a hook renders on the server: ${html}`);
JS
node check.mjs

#!/usr/bin/env node
// Runs a Worker under Miniflare directly: one workerd process, no `wrangler dev` proxy in
// front, no bundling and no [build] step (the worker's existing output is used as it is).
//
//   node bench/miniflare.mjs --config <wrangler.toml> --port <N>
//        [--persist <dir>] [--migrations <dir>] [--var KEY=VALUE ...] [--no-dev-vars]
//
// --persist <dir>     keep D1 / Durable Object state under <dir> (<dir>/d1, <dir>/do);
//                     without it, state lives in a temporary directory removed on exit.
// --migrations <dir>  apply <dir>/*.sql in name order to the D1 binding DB before serving;
//                     applied names are recorded in `d1_migrations` (as wrangler does), so a
//                     persisted database is not migrated twice.
// --var KEY=VALUE     a string binding; overrides [vars] and .dev.vars.
// --no-dev-vars       do not read the .dev.vars beside the config (wrangler dev does).
//
// Prints `ready http://127.0.0.1:PORT` once serving; SIGTERM / SIGINT dispose and exit.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Log, LogLevel, Miniflare } from 'miniflare';
import {
  unstable_getMiniflareWorkerOptions,
  unstable_readConfig,
  unstable_splitSqlQuery,
} from 'wrangler';

const HOST = '127.0.0.1';

function usage(message) {
  if (message) console.error(`miniflare.mjs: ${message}`);
  console.error(
    'usage: node bench/miniflare.mjs --config <wrangler.toml> --port <N> [--persist <dir>] ' +
      '[--migrations <dir>] [--var KEY=VALUE ...] [--no-dev-vars]',
  );
  process.exit(2);
}

let args;
try {
  ({ values: args } = parseArgs({
    options: {
      config: { type: 'string' },
      port: { type: 'string' },
      persist: { type: 'string' },
      migrations: { type: 'string' },
      var: { type: 'string', multiple: true, default: [] },
      'no-dev-vars': { type: 'boolean', default: false },
    },
    strict: true,
  }));
} catch (err) {
  usage(err.message);
}
const port = Number(args.port);
if (!args.config) usage('--config is required');
if (!Number.isInteger(port) || port <= 0 || port > 65535) usage('--port must be a port number');
const configPath = path.resolve(args.config);

const vars = {};
for (const pair of args.var) {
  const eq = pair.indexOf('=');
  if (eq <= 0) usage(`--var expects KEY=VALUE, got ${JSON.stringify(pair)}`);
  vars[pair.slice(0, eq)] = pair.slice(eq + 1);
}

// Reads the config only: bindings, DO classes (SQLite-backed per [[migrations]]), module
// rules, compatibility date and flags. Neither call runs [build] or bundles.
const config = unstable_readConfig({ config: configPath });
const { workerOptions, main, externalWorkers } = unstable_getMiniflareWorkerOptions(
  config,
  undefined,
  // A path that does not exist stops the .dev.vars / .env lookup.
  args['no-dev-vars'] ? { envFiles: [path.join(path.dirname(configPath), '.no-dev-vars')] } : undefined,
);
delete workerOptions.assets; // static assets are not benchmarked

const scriptPath = path.resolve(path.dirname(configPath), main);
const worker = {
  ...workerOptions,
  name: config.name ?? 'worker',
  modules: true,
  scriptPath,
  // Module names are paths relative to the config's folder (e.g. build/index_bg.wasm), so
  // a shim that imports ../index.js stays inside the root.
  modulesRoot: path.dirname(configPath),
  // Worker code is ES modules (wrangler's bundler assumes so too); Miniflare's own default
  // would take *.js for CommonJS. The config's rules (e.g. CompiledWasm for *.wasm) follow.
  modulesRules: [{ type: 'ESModule', include: ['**/*.js', '**/*.mjs'] }, ...(workerOptions.modulesRules ?? [])],
  bindings: { ...(workerOptions.bindings ?? {}), ...vars },
};

const mf = new Miniflare({
  host: HOST,
  port,
  cf: false, // placeholder request.cf, never fetched from the network
  log: new Log(LogLevel.WARN),
  ...(args.persist ? { defaultPersistRoot: path.resolve(args.persist) } : {}),
  workers: [worker, ...(externalWorkers ?? [])],
});

let disposing = false;
async function stop(code) {
  if (disposing) return;
  disposing = true;
  try {
    await mf.dispose();
  } finally {
    process.exit(code);
  }
}
process.on('SIGTERM', () => stop(0));
process.on('SIGINT', () => stop(0));

try {
  const url = await mf.ready;
  if (args.migrations) await migrate(path.resolve(args.migrations));
  console.log(`ready http://${HOST}:${url.port || port}`);
} catch (err) {
  console.error(err);
  await stop(1);
}

async function migrate(dir) {
  const db = await mf.getD1Database('DB');
  await db
    .prepare(
      'CREATE TABLE IF NOT EXISTS d1_migrations (id INTEGER PRIMARY KEY AUTOINCREMENT, ' +
        'name TEXT UNIQUE, applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)',
    )
    .run();
  const { results } = await db.prepare('SELECT name FROM d1_migrations').all();
  const applied = new Set(results.map((row) => row.name));
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort();
  for (const file of files) {
    if (applied.has(file)) continue;
    const statements = unstable_splitSqlQuery(readFileSync(path.join(dir, file), 'utf8'))
      .map((s) => s.trim())
      .filter((s) => s !== '');
    // One batch = one transaction: a migration applies whole or not at all.
    await db.batch([
      ...statements.map((s) => db.prepare(s)),
      db.prepare('INSERT INTO d1_migrations (name) VALUES (?)').bind(file),
    ]);
  }
}

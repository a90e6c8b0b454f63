// The OLD Hero Tasks live-update design, kept only as a benchmark baseline:
// one Node process = node:http REST + a `ws` WebSocket server, fan-out through Redis pub/sub
// (channel `task:<id>`), tasks in Postgres (STORE=postgres, the design's real store) or in an
// in-memory Map (STORE=memory, the default). Run several processes on different PORTs
// against one Redis (and one Postgres) to scale horizontally. See README.md.
import http from 'node:http';
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { WebSocketServer } from 'ws';
import { createClient } from 'redis';
import pg from 'pg';

const PORT = Number(process.env.PORT);
const JWT_SECRET = process.env.JWT_SECRET;
const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const ACCEPT_REMOTE_TASKS = process.env.ACCEPT_REMOTE_TASKS === '1';
const STORE = process.env.STORE || 'memory';
const DATABASE_URL = process.env.DATABASE_URL;
const JWT_LEEWAY_SECS = 30; // same default as the Rust worker
const MAX_BODY_BYTES = 64 * 1024;

if (!Number.isInteger(PORT) || PORT <= 0 || !JWT_SECRET ||
    !['memory', 'postgres'].includes(STORE) || (STORE === 'postgres' && !DATABASE_URL)) {
  console.error('usage: PORT=<port> JWT_SECRET=<secret> [REDIS_URL=redis://127.0.0.1:6379] [STORE=memory | STORE=postgres DATABASE_URL=postgres://…] [ACCEPT_REMOTE_TASKS=1] node server.mjs');
  process.exit(2);
}

const STATUSES = ['todo', 'in_progress', 'in_review', 'done', 'blocked'];
const PRIORITIES = ['low', 'medium', 'high', 'critical'];
const ROLES = ['viewer', 'member', 'admin'];
const FIELDS = ['title', 'description', 'status', 'priority', 'assignee_id', 'due_date', 'tags'];
const DESCRIPTION_MAX_CHARS = 10000;

// ---------- errors ----------

class HttpError extends Error {
  constructor(status, title, detail) {
    super(detail || title);
    this.status = status;
    this.title = title;
    this.detail = detail;
  }
}

function sendJson(res, status, value, contentType = 'application/json') {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function sendProblem(res, err) {
  const problem = { title: err.title, status: err.status };
  if (err.detail) problem.detail = err.detail;
  sendJson(res, err.status, problem, 'application/problem+json');
}

// ---------- auth: HS256 JWT with node:crypto ----------

const secretKey = Buffer.from(JWT_SECRET, 'utf8');

function nonEmpty(value) {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : null;
}

/** Returns the principal, or throws HttpError 401 (bad token) / 403 (no workspace, bad role). */
function verifyToken(token) {
  const parts = typeof token === 'string' ? token.split('.') : [];
  if (parts.length !== 3) throw new HttpError(401, 'Unauthorized', 'the token is not a well-formed JWT');
  const [h, p, s] = parts;
  let header, claims;
  try {
    header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
    claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
  } catch {
    throw new HttpError(401, 'Unauthorized', 'the token is not a well-formed JWT');
  }
  if (!header || header.alg !== 'HS256') throw new HttpError(401, 'Unauthorized', 'the token must be signed with HS256');
  const expected = Buffer.from(createHmac('sha256', secretKey).update(`${h}.${p}`).digest('base64url'));
  const given = Buffer.from(s);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new HttpError(401, 'Unauthorized', 'the token signature does not verify');
  }
  if (!claims || typeof claims !== 'object') throw new HttpError(401, 'Unauthorized', 'the token claims could not be read');
  const now = Date.now() / 1000;
  if (typeof claims.exp !== 'number') throw new HttpError(401, 'Unauthorized', 'the token has no exp claim');
  if (now > claims.exp + JWT_LEEWAY_SECS) throw new HttpError(401, 'Unauthorized', 'the token has expired');
  if (typeof claims.nbf === 'number' && now + JWT_LEEWAY_SECS < claims.nbf) {
    throw new HttpError(401, 'Unauthorized', 'the token is not valid yet');
  }
  const sub = nonEmpty(claims.sub);
  if (!sub) throw new HttpError(401, 'Unauthorized', 'the token has no sub claim');
  const app = claims.app_metadata || {};
  const meta = claims.user_metadata || {};
  const workspaceId = nonEmpty(app.workspace_id) || nonEmpty(claims.workspace_id);
  if (!workspaceId) throw new HttpError(403, 'Forbidden', 'the token names no workspace');
  const role = nonEmpty(app.role) || 'member';
  if (!ROLES.includes(role)) throw new HttpError(403, 'Forbidden', "the token's role is not one of viewer, member, admin");
  return {
    id: sub,
    name: nonEmpty(meta.full_name) || nonEmpty(meta.name) || nonEmpty(claims.email) || sub,
    workspaceId,
    role,
  };
}

function bearer(req) {
  const header = req.headers.authorization;
  const match = typeof header === 'string' && /^bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) throw new HttpError(401, 'Unauthorized', "the Authorization header must be 'Bearer <token>'");
  return verifyToken(match[1]);
}

// ---------- storage ----------
//
// Both stores answer the same four calls; everything else in this file is shared.
//   create(task)                        stores a new task
//   get(workspaceId, id)                the task, or null
//   list(workspaceId, limit)            newest first
//   update(workspaceId, id, changes)    null (no such task) or { task, changed, from }:
//                                       the merge patch applied, the version bumped when
//                                       something changed

/** The merge patch `changes` applied to `task` at `now`: the new task and what changed. */
function applyChanges(task, changes, now) {
  const changed = Object.keys(changes).filter(
    (k) => JSON.stringify(task[k]) !== JSON.stringify(changes[k]),
  );
  const from = task.status;
  if (changed.length === 0) return { task, changed, from };
  const next = { ...task, ...changes, version: task.version + 1, updated_at: now };
  if (next.status !== from) next.completed_at = next.status === 'done' ? now : null;
  return { task: next, changed, from };
}

/** Tasks in an in-memory Map in this process: nothing persists, nothing is shared. */
function memoryStore() {
  const tasks = new Map(); // id -> task
  const byWorkspace = new Map(); // workspace id -> array of task ids, oldest first
  const find = (workspaceId, id) => {
    const task = tasks.get(id);
    return task && task.workspace_id === workspaceId ? task : null;
  };
  return {
    async create(task) {
      tasks.set(task.id, task);
      let list = byWorkspace.get(task.workspace_id);
      if (!list) byWorkspace.set(task.workspace_id, (list = []));
      list.push(task.id);
    },
    async get(workspaceId, id) {
      return find(workspaceId, id);
    },
    async list(workspaceId, limit) {
      const ids = byWorkspace.get(workspaceId) || [];
      const out = [];
      for (let i = ids.length - 1; i >= 0 && out.length < limit; i--) out.push(tasks.get(ids[i]));
      return out;
    },
    async update(workspaceId, id, changes) {
      const task = find(workspaceId, id);
      if (!task) return null;
      const result = applyChanges(task, changes, new Date().toISOString());
      if (result.changed.length > 0) tasks.set(id, result.task);
      return result;
    },
    async close() {},
  };
}

/**
 * Tasks in Postgres (schema.sql), through node-postgres's Pool (default size, 10 connections
 * per process), as the old design kept them in Supabase: a create is an INSERT, a read a
 * SELECT, and a PATCH one transaction that locks the row, applies the merge patch and writes
 * it back only if the version is still the one it read.
 */
function postgresStore(url) {
  // `date` as its YYYY-MM-DD text (node-postgres would make it a local-midnight Date).
  pg.types.setTypeParser(pg.types.builtins.DATE, (value) => value);
  const pool = new pg.Pool({ connectionString: url });
  pool.on('error', (err) => console.error('postgres pool error:', err.message));
  const COLUMNS = 'id, workspace_id, title, description, status, priority, assignee_id, due_date, tags, ' +
    'created_by, created_at, updated_at, completed_at, version';
  const iso = (value) => (value === null ? null : new Date(value).toISOString());
  const fromRow = (row) => ({
    ...row,
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
    completed_at: iso(row.completed_at),
  });
  // The id column is a uuid: anything else names no task (instead of a cast error).
  const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

  return {
    async create(task) {
      await pool.query(
        `INSERT INTO tasks (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
        [task.id, task.workspace_id, task.title, task.description, task.status, task.priority,
          task.assignee_id, task.due_date, JSON.stringify(task.tags), task.created_by,
          task.created_at, task.updated_at, task.completed_at, task.version],
      );
    },
    async get(workspaceId, id) {
      if (!UUID.test(id)) return null;
      const { rows } = await pool.query(
        `SELECT ${COLUMNS} FROM tasks WHERE id = $1 AND workspace_id = $2`,
        [id, workspaceId],
      );
      return rows.length ? fromRow(rows[0]) : null;
    },
    async list(workspaceId, limit) {
      const { rows } = await pool.query(
        `SELECT ${COLUMNS} FROM tasks WHERE workspace_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2`,
        [workspaceId, limit],
      );
      return rows.map(fromRow);
    },
    async update(workspaceId, id, changes) {
      if (!UUID.test(id)) return null;
      const client = await pool.connect();
      let broken = null;
      try {
        await client.query('BEGIN');
        const read = await client.query(
          `SELECT ${COLUMNS} FROM tasks WHERE id = $1 AND workspace_id = $2 FOR UPDATE`,
          [id, workspaceId],
        );
        if (read.rows.length === 0) {
          await client.query('ROLLBACK');
          return null;
        }
        const result = applyChanges(fromRow(read.rows[0]), changes, new Date().toISOString());
        if (result.changed.length === 0) {
          await client.query('ROLLBACK');
          return result;
        }
        const t = result.task;
        const written = await client.query(
          'UPDATE tasks SET title = $4, description = $5, status = $6, priority = $7, assignee_id = $8, ' +
            'due_date = $9, tags = $10, updated_at = $11, completed_at = $12, version = version + 1 ' +
            `WHERE id = $1 AND workspace_id = $2 AND version = $3 RETURNING ${COLUMNS}`,
          [id, workspaceId, t.version - 1, t.title, t.description, t.status, t.priority,
            t.assignee_id, t.due_date, JSON.stringify(t.tags), t.updated_at, t.completed_at],
        );
        if (written.rowCount !== 1) {
          await client.query('ROLLBACK');
          throw new HttpError(409, 'Conflict', 'the task changed during the update; retry');
        }
        await client.query('COMMIT');
        return { ...result, task: fromRow(written.rows[0]) };
      } catch (err) {
        if (!(err instanceof HttpError)) {
          // Leave no transaction open on a connection that goes back to the pool.
          await client.query('ROLLBACK').catch((rollback) => {
            broken = rollback;
          });
        }
        throw err;
      } finally {
        client.release(broken || undefined);
      }
    },
    async close() {
      await pool.end();
    },
  };
}

const store = STORE === 'postgres' ? postgresStore(DATABASE_URL) : memoryStore();

// The per-task event `seq` counter, in this process's memory (the old design had no log).
const seqs = new Map(); // id -> last event seq

function nextSeq(id) {
  const seq = (seqs.get(id) || 0) + 1;
  seqs.set(id, seq);
  return seq;
}

// ---------- validation ----------

function invalid(field, message) {
  return new HttpError(422, 'Validation failed', `${field}: ${message}`);
}

/** Checks the writable fields of a create body or a merge patch; returns the normalized changes. */
function validateChanges(body, creating) {
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw new HttpError(400, 'Bad Request', 'the body must be a JSON object');
  }
  for (const key of Object.keys(body)) {
    if (!FIELDS.includes(key)) throw invalid(key, 'unknown field');
  }
  const out = {};
  if ('title' in body) {
    const t = body.title;
    if (typeof t !== 'string' || t.trim() === '' || [...t.trim()].length > 200) {
      throw invalid('title', 'must be 1 to 200 characters');
    }
    out.title = t.trim();
  } else if (creating) {
    throw invalid('title', 'is required');
  }
  if ('description' in body) {
    const d = body.description;
    if (d !== null && typeof d !== 'string') throw invalid('description', 'must be a string');
    if (d !== null && [...d].length > DESCRIPTION_MAX_CHARS) {
      throw invalid('description', `must be at most ${DESCRIPTION_MAX_CHARS} characters`);
    }
    out.description = d ?? '';
  }
  if ('status' in body) {
    if (!STATUSES.includes(body.status)) throw invalid('status', `must be one of ${STATUSES.join(', ')}`);
    out.status = body.status;
  }
  if ('priority' in body) {
    if (!PRIORITIES.includes(body.priority)) throw invalid('priority', `must be one of ${PRIORITIES.join(', ')}`);
    out.priority = body.priority;
  }
  if ('assignee_id' in body) {
    const a = body.assignee_id;
    if (a !== null && (typeof a !== 'string' || a.trim() === '')) throw invalid('assignee_id', 'must be a user id or null');
    out.assignee_id = a === null ? null : a.trim();
  }
  if ('due_date' in body) {
    const d = body.due_date;
    if (d !== null && (typeof d !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(d) || Number.isNaN(Date.parse(d)))) {
      throw invalid('due_date', 'must be YYYY-MM-DD or null');
    }
    out.due_date = d;
  }
  if ('tags' in body) {
    const t = body.tags === null ? [] : body.tags;
    if (!Array.isArray(t) || t.some((x) => typeof x !== 'string' || x.trim() === '')) {
      throw invalid('tags', 'must be an array of strings');
    }
    out.tags = [...new Set(t.map((x) => x.trim()))];
  }
  return out;
}

// ---------- Redis: one publisher, one subscriber connection per process ----------

const publisher = createClient({ url: REDIS_URL });
const subscriber = publisher.duplicate();
for (const client of [publisher, subscriber]) {
  client.on('error', (err) => console.error('redis error:', err.message));
}

function publish(roomId, message) {
  // One serialization per event, by the publisher; every relay sends the string as is.
  publisher.publish(`task:${roomId}`, JSON.stringify(message)).catch((err) => {
    console.error('redis publish failed:', err.message);
  });
}

// ---------- rooms (per process): room id -> local sockets ----------

const rooms = new Map(); // task id -> { sockets: Set<ws>, users: Map<userId,{user,connections}>, ready, pending }

function onRedisMessage(message, channel) {
  const room = rooms.get(channel.slice(5)); // strip "task:"
  if (!room) return;
  for (const ws of room.sockets) {
    if (ws.readyState === 1) ws.send(message);
  }
}

function roomFor(roomId) {
  let room = rooms.get(roomId);
  if (!room) {
    room = { sockets: new Set(), users: new Map(), pending: 0, ready: null };
    room.ready = subscriber.subscribe(`task:${roomId}`, onRedisMessage);
    rooms.set(roomId, room);
  }
  return room;
}

function releaseIfEmpty(roomId, room) {
  if (room.sockets.size === 0 && room.pending === 0 && rooms.get(roomId) === room) {
    rooms.delete(roomId);
    subscriber.unsubscribe(`task:${roomId}`, onRedisMessage).catch((err) => {
      console.error('redis unsubscribe failed:', err.message);
    });
  }
}

async function joinRoom(ws, roomId, principal) {
  const room = roomFor(roomId);
  room.pending++;
  let subscribed = true;
  try {
    await room.ready; // SUBSCRIBE done before the welcome, so no event after it is missed
  } catch {
    subscribed = false;
  }
  room.pending--;
  if (!subscribed) ws.close(1011, 'subscribe failed');
  if (ws.readyState !== 1) {
    releaseIfEmpty(roomId, room);
    return;
  }
  const user = { id: principal.id, name: principal.name, avatar_url: null };
  const entry = room.users.get(user.id);
  const connections = (entry ? entry.connections : 0) + 1;
  room.users.set(user.id, { user, connections });
  ws.send(JSON.stringify({
    type: 'welcome',
    connection_id: randomUUID(),
    user,
    presence: [...room.users.values()].map((e) => ({ user: e.user, connections: e.connections })),
    seq: 0,
    resumed: false,
    replayed: 0,
  }));
  room.sockets.add(ws);
  if (connections === 1) publish(roomId, { type: 'user_joined', user, connections });

  ws.on('message', (data, isBinary) => {
    if (isBinary) {
      ws.send(JSON.stringify({ type: 'error', code: 'binary_unsupported', message: 'send JSON text frames' }));
      return;
    }
    let msg;
    try {
      msg = JSON.parse(data.toString('utf8'));
    } catch (err) {
      ws.send(JSON.stringify({ type: 'error', code: 'bad_json', message: err.message }));
      return;
    }
    if (msg && msg.type === 'ping') {
      ws.send(msg.id === undefined ? '{"type":"pong"}' : JSON.stringify({ type: 'pong', id: msg.id }));
    } else if (msg && msg.type === 'typing') {
      if (typeof msg.field !== 'string' || typeof msg.active !== 'boolean') {
        ws.send(JSON.stringify({ type: 'error', code: 'bad_message', message: 'typing needs field (string) and active (boolean)' }));
        return;
      }
      publish(roomId, { type: 'typing', user_id: user.id, field: msg.field, active: msg.active });
    } else {
      ws.send(JSON.stringify({ type: 'error', code: 'unknown_type', message: 'expected ping or typing' }));
    }
  });

  ws.on('close', () => {
    room.sockets.delete(ws);
    const e = room.users.get(user.id);
    if (e && --e.connections <= 0) {
      room.users.delete(user.id);
      publish(roomId, { type: 'user_left', user_id: user.id });
    }
    releaseIfEmpty(roomId, room);
  });
}

// ---------- HTTP ----------

function readJson(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new HttpError(413, 'Payload Too Large', `the body is over ${MAX_BODY_BYTES} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch (err) {
        reject(new HttpError(400, 'Bad Request', `the body is not valid JSON: ${err.message}`));
      }
    });
    req.on('error', reject);
  });
}

function requireWriter(principal) {
  if (principal.role === 'viewer') throw new HttpError(403, 'Forbidden', 'viewers cannot change tasks');
}

async function createTask(req, res, principal) {
  requireWriter(principal);
  const changes = validateChanges(await readJson(req), true);
  const now = new Date().toISOString();
  const task = {
    id: randomUUID(),
    workspace_id: principal.workspaceId,
    title: changes.title,
    description: changes.description ?? '',
    status: changes.status ?? 'todo',
    priority: changes.priority ?? 'medium',
    assignee_id: changes.assignee_id ?? null,
    due_date: changes.due_date ?? null,
    tags: changes.tags ?? [],
    created_by: principal.id,
    created_at: now,
    updated_at: now,
    completed_at: changes.status === 'done' ? now : null,
    version: 1,
  };
  await store.create(task);
  sendJson(res, 201, task);
  publish(task.id, {
    type: 'task_created',
    seq: nextSeq(task.id),
    at: now,
    actor: { id: principal.id, name: principal.name },
    task,
  });
}

async function patchTask(req, res, principal, id) {
  requireWriter(principal);
  const changes = validateChanges(await readJson(req), false);
  const result = await store.update(principal.workspaceId, id, changes);
  if (!result) throw new HttpError(404, 'Not Found', 'no such task');
  const { task, changed, from } = result;
  sendJson(res, 200, task);
  if (changed.length === 0) return;
  const now = task.updated_at;
  const actor = { id: principal.id, name: principal.name };
  publish(id, { type: 'task_updated', seq: nextSeq(id), at: now, actor, task, changed });
  if (task.status !== from) {
    publish(id, { type: 'task_status_changed', seq: nextSeq(id), at: now, actor, task_id: id, from, to: task.status });
  }
}

async function listTasks(res, principal, url) {
  const raw = url.searchParams.get('limit');
  let limit = 50;
  if (raw !== null) {
    limit = Number(raw);
    if (!Number.isInteger(limit) || limit < 1) throw invalid('limit', 'must be a positive integer');
    limit = Math.min(limit, 100);
  }
  const tasks = await store.list(principal.workspaceId, limit);
  sendJson(res, 200, { tasks, next_cursor: null });
}

async function handle(req, res) {
  const url = new URL(req.url, 'http://127.0.0.1');
  const path = url.pathname;
  if (path === '/healthz') return sendJson(res, 200, { ok: true });
  if (path === '/api/tasks') {
    const principal = bearer(req);
    if (req.method === 'POST') return createTask(req, res, principal);
    if (req.method === 'GET') return listTasks(res, principal, url);
    throw new HttpError(405, 'Method Not Allowed');
  }
  const m = /^\/api\/tasks\/([^/]+)$/.exec(path);
  if (m) {
    const principal = bearer(req);
    const id = decodeURIComponent(m[1]);
    if (req.method === 'GET') {
      const task = await store.get(principal.workspaceId, id);
      if (!task) throw new HttpError(404, 'Not Found', 'no such task');
      return sendJson(res, 200, task);
    }
    if (req.method === 'PATCH') return patchTask(req, res, principal, id);
    throw new HttpError(405, 'Method Not Allowed');
  }
  throw new HttpError(404, 'Not Found', `no route for ${path}`);
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((err) => {
    if (!(err instanceof HttpError)) {
      console.error(err);
      err = new HttpError(500, 'Internal Server Error');
    }
    if (!res.headersSent) sendProblem(res, err);
    else res.end();
  });
});

// ---------- WebSocket upgrade: GET /ws/tasks/:id?token=JWT ----------

const wss = new WebSocketServer({ noServer: true });

function rejectUpgrade(socket, err) {
  const body = JSON.stringify({ title: err.title, status: err.status, ...(err.detail ? { detail: err.detail } : {}) });
  socket.end(
    `HTTP/1.1 ${err.status} ${http.STATUS_CODES[err.status]}\r\n` +
      'content-type: application/problem+json\r\n' +
      `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

async function upgrade(req, socket, head) {
  const url = new URL(req.url, 'http://127.0.0.1');
  const m = /^\/ws\/tasks\/([^/]+)$/.exec(url.pathname);
  if (!m) throw new HttpError(404, 'Not Found', `no route for ${url.pathname}`);
  const principal = verifyToken(url.searchParams.get('token') || '');
  const id = decodeURIComponent(m[1]);
  // `since` is ignored: the old design had no replay.
  if (!ACCEPT_REMOTE_TASKS && !(await store.get(principal.workspaceId, id))) {
    throw new HttpError(404, 'Not Found', 'no such task');
  }
  wss.handleUpgrade(req, socket, head, (ws) => {
    joinRoom(ws, id, principal);
  });
}

server.on('upgrade', (req, socket, head) => {
  socket.on('error', () => {});
  upgrade(req, socket, head).catch((err) => {
    if (!(err instanceof HttpError)) console.error(err);
    rejectUpgrade(socket, err instanceof HttpError ? err : new HttpError(500, 'Internal Server Error'));
  });
});

// ---------- start / stop ----------

await Promise.all([publisher.connect(), subscriber.connect()]);
if (STORE === 'postgres') {
  // Fails here, before `listening on`, if the database or its schema is missing.
  await store.list('', 1);
}
server.listen(PORT, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${PORT}`);
});

function shutdown() {
  for (const ws of wss.clients) ws.terminate();
  server.close();
  Promise.allSettled([publisher.quit(), subscriber.quit(), store.close()]).then(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

// Fakes shared by the client's node tests: a clock whose timers only move when the test
// says so, a WebSocket class the test drives, a JWT-shaped token, and a fetch that answers
// from a table.

export const T0 = Date.parse("2026-05-04T09:00:00Z");

/** A JWT-shaped token (unsigned: the client only reads the payload), ES256 like Supabase's. */
export function jwt(claims) {
  const part = (value) => Buffer.from(JSON.stringify(value)).toString("base64url");
  return `${part({ alg: "ES256", typ: "JWT", kid: "k1" })}.${part({ sub: "ana", ...claims })}.c2lnbmF0dXJl`;
}

/** Lets queued promise callbacks (async getToken, the microtask that opens) run. */
export const settle = () => new Promise((resolve) => setImmediate(resolve));

/** Timers that only move when the test says so. */
export function fakeTimers(start = T0) {
  let now = start;
  let nextId = 1;
  const pending = new Map();
  const add = (fn, ms, every) => {
    const id = nextId++;
    pending.set(id, { at: now + Math.max(0, ms), fn, every });
    return id;
  };
  return {
    now: () => now,
    setTimeout: (fn, ms) => add(fn, ms, null),
    clearTimeout: (id) => pending.delete(id),
    setInterval: (fn, ms) => add(fn, ms, ms),
    clearInterval: (id) => pending.delete(id),
    /** Delays (from now) of the timers still set. */
    delays: () => [...pending.values()].map((t) => t.at - now).sort((a, b) => a - b),
    async advance(ms) {
      const end = now + ms;
      for (;;) {
        let next = null;
        for (const [id, t] of pending) if (t.at <= end && (!next || t.at < next[1].at)) next = [id, t];
        if (!next) break;
        const [id, t] = next;
        now = t.at;
        if (t.every) t.at += t.every;
        else pending.delete(id);
        t.fn();
        await settle();
      }
      now = end;
      await settle();
    },
  };
}

/** A WebSocket class whose instances the test drives; `sockets` lists every one opened. */
export function fakeSocketClass() {
  const sockets = [];
  class Socket {
    static OPEN = 1;
    constructor(url, protocols) {
      this.url = url;
      this.protocols = protocols;
      this.readyState = 0;
      this.sent = [];
      this.closedWith = null;
      sockets.push(this);
    }
    send(data) {
      const message = JSON.parse(data);
      this.sent.push(message);
      // The runtime answers the exact keep-alive frame by itself, a moment later.
      if (data === '{"type":"ping"}') queueMicrotask(() => this.readyState === 1 && this.serverSends({ type: "pong" }));
    }
    close(code, reason) {
      if (this.readyState === 3) return;
      this.readyState = 3;
      this.closedWith = { code, reason };
      this.onclose?.({ code, reason });
    }
    serverOpens() {
      this.readyState = 1;
      this.onopen?.();
    }
    serverSends(message) {
      this.onmessage?.({ data: JSON.stringify(message) });
    }
    serverCloses(code, reason = "") {
      this.close(code, reason);
    }
    /** What the client sent, keep-alive pings left out. */
    get frames() {
      return this.sent.filter((m) => m.type !== "ping");
    }
  }
  /** The sockets opened to `path` (e.g. "/ws/tasks/t1"), in order. */
  const to = (path) => sockets.filter((s) => new URL(s.url).pathname === path);
  return { Socket, sockets, to };
}

/** A fetch that answers GETs from `routes` (path → body, or a function of the URL); records every call. */
export function fakeFetch(routes) {
  const calls = [];
  const fetch = async (url, init = {}) => {
    const { pathname } = new URL(url);
    calls.push({ method: init.method ?? "GET", path: pathname, headers: init.headers ?? {} });
    const route = routes[pathname];
    if (route === undefined) return { status: 404, ok: false, json: async () => ({ status: 404 }) };
    const body = typeof route === "function" ? route(url) : route;
    return { status: 200, ok: true, json: async () => structuredClone(body) };
  };
  return { fetch, calls };
}

export const ana = { id: "ana", name: "Ana", avatar_url: null };
export const bob = { id: "bob", name: "Bob", avatar_url: null };
export const carol = { id: "carol", name: "Carol", avatar_url: null };

/** A protocol-2 welcome for Ana. */
export const welcome = (extra = {}) => ({ type: "welcome", protocol: 2, connection_id: "c1", user: ana, presence: [{ user: ana, connections: 1, editing: [] }], seq: 0, resumed: false, replayed: 0, ...extra });

/** A task as the API returns it. */
export function task(id, extra = {}) {
  return {
    id,
    workspace_id: "demo",
    title: `Task ${id}`,
    description: "",
    status: "todo",
    priority: "medium",
    assignee_id: null,
    due_date: null,
    tags: [],
    created_by: "ana",
    created_at: "2026-05-04T08:00:00.000Z",
    updated_at: "2026-05-04T08:00:00.000Z",
    completed_at: null,
    version: 1,
    ...extra,
  };
}

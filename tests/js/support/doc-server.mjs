// A y-websocket server in the test's own process, as the document endpoint of the contract
// (/ws/tasks/{id}/doc, docs/protocol.md) behaves: binary y-protocols frames, the token in
// the `bearer.<token>` subprotocol beside `hero-tasks.doc.v1` (or `?token=`), sync step 1
// sent on connect, a client's step 1 answered with step 2, every accepted update relayed to
// the task's other sockets, awareness relayed and dropped with its connection, and an update
// it cannot integrate (missing history) closed with 4400. Tests drive it: who may connect,
// closing every socket of a task with a code, stopping and starting it on the same port.
import { createServer } from "node:http";
import * as Y from "yjs";
import * as decoding from "lib0/decoding";
import * as encoding from "lib0/encoding";
import * as syncProtocol from "y-protocols/sync";
import * as awarenessProtocol from "y-protocols/awareness";
import { WebSocket, WebSocketServer } from "ws";

const PATH = /^\/ws\/tasks\/([^/]+)\/doc$/;

/** Seeds: task id → the description the document starts with. `authorize(token)` → user or null. */
/** `holdStep1Ms`: how long the server waits before its sync step 1 (a slow server). */
export async function startDocServer({ seeds = {}, authorize = (token) => (token ? { id: "someone" } : null), port = 0, holdStep1Ms = 0 } = {}) {
  const rooms = new Map(); // task id → {doc, awareness, sockets: Set}
  const log = { tokens: [], frames: 0, closes: [], urls: [] };

  function room(taskId) {
    let r = rooms.get(taskId);
    if (r) return r;
    const doc = new Y.Doc();
    if (seeds[taskId]) doc.getText("description").insert(0, seeds[taskId]);
    const awareness = new awarenessProtocol.Awareness(doc);
    awareness.setLocalState(null);
    r = { doc, awareness, sockets: new Set(), owners: new Map() };
    doc.on("update", (update, origin) => {
      const message = frame(0, (e) => syncProtocol.writeUpdate(e, update));
      for (const ws of r.sockets) if (ws !== origin) send(ws, message);
    });
    awareness.on("update", ({ added, updated, removed }, origin) => {
      const message = frame(1, (e) => encoding.writeVarUint8Array(e, awarenessProtocol.encodeAwarenessUpdate(awareness, [...added, ...updated, ...removed])));
      for (const ws of r.sockets) if (ws !== origin) send(ws, message);
    });
    rooms.set(taskId, r);
    return r;
  }

  const http = createServer((req, res) => {
    res.writeHead(426).end();
  });
  const wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (protocols) => (protocols.has("hero-tasks.doc.v1") ? "hero-tasks.doc.v1" : false),
  });

  http.on("upgrade", (req, socket, head) => {
    const url = new URL(req.url, "http://x");
    const match = PATH.exec(url.pathname);
    const offered = (req.headers["sec-websocket-protocol"] ?? "").split(",").map((p) => p.trim());
    const bearer = offered.find((p) => p.startsWith("bearer."));
    const token = bearer ? bearer.slice("bearer.".length) : url.searchParams.get("token");
    log.urls.push(req.url);
    log.tokens.push(token);
    const user = authorize(token);
    if (!match || !user) {
      socket.end(`HTTP/1.1 ${match ? 401 : 404} Refused\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => join(ws, decodeURIComponent(match[1]), user));
  });

  function join(ws, taskId, user) {
    const r = room(taskId);
    ws.user = user;
    ws.clients = new Set();
    r.sockets.add(ws);
    const step1 = () => send(ws, frame(0, (e) => syncProtocol.writeSyncStep1(e, r.doc)));
    if (holdStep1Ms) setTimeout(step1, holdStep1Ms);
    else step1();
    const states = [...r.awareness.getStates().keys()];
    if (states.length) send(ws, frame(1, (e) => encoding.writeVarUint8Array(e, awarenessProtocol.encodeAwarenessUpdate(r.awareness, states))));
    ws.on("message", (data, isBinary) => {
      log.frames += 1;
      if (!isBinary) return ws.close(1003, "binary frames only");
      try {
        handle(ws, r, new Uint8Array(data));
      } catch {
        ws.close(1007, "malformed");
      }
      return undefined;
    });
    ws.on("close", (code) => {
      log.closes.push(code);
      r.sockets.delete(ws);
      if (ws.clients.size) awarenessProtocol.removeAwarenessStates(r.awareness, [...ws.clients], null);
    });
  }

  function handle(ws, r, bytes) {
    const decoder = decoding.createDecoder(bytes);
    const type = decoding.readVarUint(decoder);
    if (type === 0) {
      const reply = encoding.createEncoder();
      encoding.writeVarUint(reply, 0);
      const before = r.doc.store.pendingStructs;
      syncProtocol.readSyncMessage(decoder, reply, r.doc, ws);
      // Missing history: the contract refuses it (4400) rather than holding it.
      if (r.doc.store.pendingStructs && r.doc.store.pendingStructs !== before) {
        r.doc.store.pendingStructs = null;
        ws.close(4400, "missing history");
        return;
      }
      if (encoding.length(reply) > 1) send(ws, encoding.toUint8Array(reply));
    } else if (type === 1) {
      const update = decoding.readVarUint8Array(decoder);
      const inner = decoding.createDecoder(update);
      const count = decoding.readVarUint(inner);
      for (let i = 0; i < count; i += 1) {
        ws.clients.add(decoding.readVarUint(inner));
        decoding.readVarUint(inner);
        decoding.readVarString(inner);
      }
      awarenessProtocol.applyAwarenessUpdate(r.awareness, update, ws);
    } else if (type === 3) {
      send(ws, frame(1, (e) => encoding.writeVarUint8Array(e, awarenessProtocol.encodeAwarenessUpdate(r.awareness, [...r.awareness.getStates().keys()]))));
    }
  }

  let listeningPort = port;
  const listen = () => new Promise((resolve) => http.listen(listeningPort, "127.0.0.1", () => resolve((listeningPort = http.address().port))));
  await listen();

  return {
    get port() {
      return listeningPort;
    },
    get base() {
      return `http://127.0.0.1:${listeningPort}`;
    },
    log,
    /** The server's copy of a task's text. */
    text: (taskId) => room(taskId).doc.getText("description").toString(),
    doc: (taskId) => room(taskId).doc,
    /** How many document sockets a task has open. */
    sockets: (taskId) => room(taskId).sockets.size,
    /** Sends raw bytes to every socket of a task. */
    sendRaw(taskId, bytes) {
      for (const ws of room(taskId).sockets) send(ws, bytes);
    },
    /** Closes every socket of a task with `code`. */
    closeAll(taskId, code, reason = "") {
      for (const ws of room(taskId).sockets) ws.close(code, reason);
    },
    /** Drops every connection (as a crash would: no close frame) and stops listening. */
    async stop() {
      for (const r of rooms.values()) for (const ws of r.sockets) ws.terminate();
      http.closeAllConnections?.();
      await new Promise((resolve) => http.close(() => resolve()));
    },
    /** Listens again on the same port, the documents as they were. */
    start: listen,
    async close() {
      for (const r of rooms.values()) {
        for (const ws of r.sockets) ws.terminate();
        r.awareness.destroy();
      }
      http.closeAllConnections?.();
      await new Promise((resolve) => http.close(() => resolve()));
    },
  };
}

function frame(type, write) {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, type);
  write(encoder);
  return encoding.toUint8Array(encoder);
}

function send(ws, bytes) {
  if (ws.readyState === WebSocket.OPEN) ws.send(bytes);
}

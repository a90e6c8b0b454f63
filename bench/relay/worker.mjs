// A bare Durable Object relay, no auth, no storage: the ceiling the runtime itself sets
// on WebSocket fan-out, to compare the Hero Tasks rooms against.
//   GET  /ws/:room       WebSocket upgrade; sends {"type":"welcome"}; ping -> pong
//   POST /publish/:room  sends the body text, as is, to every socket of the room; 204
//   GET  /doc/:room      WebSocket upgrade for y-websocket peers (binary): keeps no document,
//                        answers sync step 1 with an empty step 2 and sends every other
//                        frame, as is, to every document socket of the room, the sender
//                        included (as the Yjs reference server does): the runtime's floor
//                        for relaying a keystroke, to compare Hero's document rooms against
import { DurableObject } from 'cloudflare:workers';

// Sync step 2 with an empty update: [sync 0, step 2 = 1, byte length 2, no structs, no deletions].
const EMPTY_STEP_2 = new Uint8Array([0, 1, 2, 0, 0]);

export class Relay extends DurableObject {
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname.startsWith('/doc/')) {
      const { 0: client, 1: server } = new WebSocketPair();
      this.ctx.acceptWebSocket(server, ['doc']);
      return new Response(null, { status: 101, webSocket: client });
    }
    if (url.pathname.startsWith('/ws/')) {
      const { 0: client, 1: server } = new WebSocketPair();
      this.ctx.acceptWebSocket(server); // hibernation API
      server.send('{"type":"welcome"}');
      return new Response(null, { status: 101, webSocket: client });
    }
    const body = await request.text();
    for (const ws of this.ctx.getWebSockets()) {
      try {
        ws.send(body);
      } catch {
        // a socket that is closing; its webSocketClose follows
      }
    }
    return new Response(null, { status: 204 });
  }

  webSocketMessage(ws, message) {
    if (typeof message !== 'string') {
      const bytes = new Uint8Array(message);
      if (bytes[0] === 0 && bytes[1] === 0) {
        ws.send(EMPTY_STEP_2);
        return;
      }
      for (const socket of this.ctx.getWebSockets('doc')) {
        try {
          socket.send(message);
        } catch {
          // a socket that is closing
        }
      }
      return;
    }
    let msg = null;
    try {
      msg = JSON.parse(message);
    } catch {
      // not JSON: ignored
    }
    if (msg && msg.type === 'ping') ws.send('{"type":"pong"}');
  }

  webSocketClose(ws) {
    try {
      ws.close(1000, 'bye');
    } catch {
      // already closed
    }
  }
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === '/healthz') return new Response('ok');
    const m = /^\/(ws|doc|publish)\/([^/]+)$/.exec(url.pathname);
    if (!m) return new Response('not found', { status: 404 });
    const [, kind, room] = m;
    if (kind === 'ws' || kind === 'doc') {
      if (request.method !== 'GET' || request.headers.get('upgrade')?.toLowerCase() !== 'websocket') {
        return new Response('expected a WebSocket upgrade', { status: 426 });
      }
    } else if (request.method !== 'POST') {
      return new Response('method not allowed', { status: 405, headers: { allow: 'POST' } });
    }
    return env.RELAY.get(env.RELAY.idFromName(room)).fetch(request);
  },
};

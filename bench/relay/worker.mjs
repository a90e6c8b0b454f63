// A bare Durable Object relay, no auth, no storage: the ceiling the runtime itself sets
// on WebSocket fan-out, to compare the Hero Tasks rooms against.
//   GET  /ws/:room       WebSocket upgrade; sends {"type":"welcome"}; ping -> pong
//   POST /publish/:room  sends the body text, as is, to every socket of the room; 204
import { DurableObject } from 'cloudflare:workers';

export class Relay extends DurableObject {
  async fetch(request) {
    const url = new URL(request.url);
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
    const m = /^\/(ws|publish)\/([^/]+)$/.exec(url.pathname);
    if (!m) return new Response('not found', { status: 404 });
    const [, kind, room] = m;
    if (kind === 'ws') {
      if (request.method !== 'GET' || request.headers.get('upgrade')?.toLowerCase() !== 'websocket') {
        return new Response('expected a WebSocket upgrade', { status: 426 });
      }
    } else if (request.method !== 'POST') {
      return new Response('method not allowed', { status: 405, headers: { allow: 'POST' } });
    }
    return env.RELAY.get(env.RELAY.idFromName(room)).fetch(request);
  },
};

// A stock y-websocket WebsocketProvider (npm's y-websocket, in Node over `ws`) editing a
// task's description, for tests/e2e/shared_text.rs: no adapter, only the URL shape and the
// token as a query parameter, as any Yjs app would connect.
//
//   BASE=http://127.0.0.1:8787 TASK=<id> TOKEN=<jwt> APPEND=" [node]" WAIT_FOR="[browser]" node y-websocket-peer.mjs
//
// Prints one JSON line when synced ({"synced": text}), appends APPEND to the text, waits
// until the text holds WAIT_FOR (someone else's edit reaching it), prints {"final": text}
// and exits 0. Exits 1 with {"error": …} if that does not happen within 30 s.
import * as Y from "yjs";
import { WebsocketProvider } from "y-websocket";
import WebSocket from "ws";

const { BASE, TASK, TOKEN, APPEND = "", WAIT_FOR = "" } = process.env;
const say = (value) => process.stdout.write(`${JSON.stringify(value)}\n`);
const doc = new Y.Doc();
const text = doc.getText("description");
const provider = new WebsocketProvider(`${BASE.replace(/^http/, "ws")}/ws/tasks`, `${TASK}/doc`, doc, {
  params: { token: TOKEN },
  WebSocketPolyfill: WebSocket,
  disableBc: true,
});
const give = setTimeout(() => {
  say({ error: "timed out", text: text.toString(), synced: provider.synced });
  process.exit(1);
}, 30_000);
provider.on("connection-close", (event) => event && say({ closed: event.code }));

function finish() {
  if (!WAIT_FOR || text.toString().includes(WAIT_FOR)) {
    clearTimeout(give);
    say({ final: text.toString() });
    provider.destroy();
    setTimeout(() => process.exit(0), 100);
  }
}

provider.once("sync", () => {
  say({ synced: text.toString() });
  if (APPEND) text.insert(text.length, APPEND);
  text.observe(finish);
  finish();
});

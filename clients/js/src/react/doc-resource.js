// One task's shared document as the hooks see it: openTaskDoc and the snapshot
// `{doc, text, awareness, status, synced, ready, closed}`. The Y.Doc and its Y.Text are made
// when the first component subscribes and stay the same objects for the resource's life;
// the snapshot changes only when the connection does (status, synced, ready, closed), never
// on a keystroke: the text's content reaches the page through a binding (useTextareaBinding)
// or the caller's own observer, not through a re-render per character. No React here.

import { openTaskDoc } from "../doc.js";
import { createSnapshotStore, IDLE_DOC } from "./store.js";

export function createDocResource(taskId, { connectOptions, docOptions }) {
  const store = createSnapshotStore({ ...IDLE_DOC, status: "connecting" });
  let shared = null;

  return {
    getSnapshot: store.get,
    subscribe: store.subscribe,
    start() {
      shared = openTaskDoc(taskId, { ...connectOptions, ...docOptions });
      store.update({ doc: shared.doc, text: shared.text, awareness: shared.awareness, status: shared.status });
      shared.on("status", (status) => store.update({ status }));
      shared.on("synced", (synced) => store.update({ synced }));
      shared.on("ready", () => store.update({ ready: true }));
      shared.on("closed", (closed) => store.update({ closed }));
    },
    stop() {
      shared?.close();
      shared = null;
    },
  };
}

// The "." entry as a consumer uses it. Type errors here (a wrong export, a wrong return
// shape, a path that does not resolve under this moduleResolution) fail `make lint-js`.
import {
  ApiError,
  CLOSE,
  ConflictError,
  connectBoard,
  connectTask,
  DURABLE_TYPES,
  openEditQueue,
  PROTOCOL_VERSION,
  restClient,
  SUBPROTOCOL,
  TERMINAL_CLOSE_CODES,
  bindTextarea,
  diffText,
  DOC_SUBPROTOCOL,
  openTaskDoc,
  type ConnectionStatus,
  type QueueEntry,
  type TaskDoc,
  type Task,
  type TaskEvent,
} from "@hero-tasks/client";

const getToken = async (): Promise<string> => "a.b.c";

const room = connectTask("t1", { getToken, baseUrl: "https://example.test" });
const offStatus = room.on("status", (status: ConnectionStatus) => status.toUpperCase());
room.on("event", (event: TaskEvent) => {
  if (event.type === "task_updated") {
    const title: string = event.task.title;
    const seq: number = event.seq;
    void title, seq;
  }
});
room.on("closed", ({ code, reason }) => `${code} ${reason}`);
room.on("reloaded", (task: Task) => task.version);
const sent: boolean = room.sendTyping("description", true);
offStatus();
room.close();

const board = connectBoard({ getToken });
board.on("task_presence", (map) => Object.keys(map));
board.on("reloaded", ({ tasks, analytics }) => tasks.length + analytics.total);

const api = restClient({ getToken });
async function save(task: Task): Promise<Task | null> {
  try {
    return await api.update(task.id, { title: "New" }, { ifMatch: task.version, idempotencyKey: "k" });
  } catch (error) {
    if (error instanceof ConflictError) return error.current;
    if (error instanceof ApiError) return error.status === 404 ? null : task;
    throw error;
  }
}

const queue = openEditQueue({ owner: { userId: "ana", workspaceId: "demo" }, getToken });
queue.on("change", ({ entries, reachable }) => entries.length + (reachable ? 1 : 0));
queue.on("dropped", ({ taskId, entries, reason }) => `${taskId}: ${entries.length} (${reason === "gone" ? "404" : "deleted"})`);
const dropping: Promise<QueueEntry[]> = queue.dropTask("t1");

const version: 2 = PROTOCOL_VERSION;
const protocol: "hero-tasks.v1" = SUBPROTOCOL;
const deleted: 4004 = CLOSE.TASK_DELETED;
const terminal: string | undefined = TERMINAL_CLOSE_CODES[4001];
const durable: readonly string[] = DURABLE_TYPES;

export { save, sent, version, protocol, deleted, terminal, durable, dropping };

const shared: TaskDoc = openTaskDoc("t1", { getToken, persist: false });
shared.on("synced", (yes: boolean) => !yes);
shared.on("closed", ({ code }) => code === 4004);
shared.text.insert(0, "hello");
const length: number = shared.text.length;
const unbind: () => void = bindTextarea(document.createElement("textarea"), shared.text, { onLocalEdit: ({ index }) => index });
unbind();
shared.close();
const edit: { index: number; remove: number; insert: string } = diffText("a", "ab", 2);
const docProtocol: "hero-tasks.doc.v1" = DOC_SUBPROTOCOL;
void length, edit, docProtocol;

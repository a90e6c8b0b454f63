// The "./react" entry as a React app uses it (JSX, the provider, every hook and the shapes
// they return). Type errors here fail `make lint-js`.
import { StrictMode } from "react";
import {
  BOARD,
  createHeroClient,
  HeroProvider,
  useBoard,
  useConnectionStatus,
  useEditQueue,
  useFieldEditing,
  usePresence,
  useTaskEvents,
  useSharedText,
  useTaskRoom,
  useTextareaBinding,
  useTyping,
  type RoomStatus,
  type SharedTextState,
  type TaskRoomState,
} from "@hero-tasks/client/react";
import type { Task, TaskEvent } from "@hero-tasks/client";

const client = createHeroClient({ baseUrl: "https://example.test", getToken: () => "a.b.c" });

function TaskView({ taskId, initialTask }: { taskId: string; initialTask?: Task }) {
  const room: TaskRoomState = useTaskRoom(taskId, { initialTask });
  const { task, status, closed, presence, typing, editing, lastSeq } = room;
  const count: number = usePresence(taskId, (list) => list.length, (a, b) => a === b);
  const everyone = usePresence(taskId);
  const { setTyping, typing: typers } = useTyping(taskId);
  const { editors, start, stop } = useFieldEditing(taskId, "title");
  useTaskEvents(taskId, (event: TaskEvent) => console.log(event.seq));
  const queue = useEditQueue({ userId: "ana", workspaceId: "demo", onAcked: ({ task }) => task?.title });
  const shown = task ? queue.overlay(task) : null;
  const save = () => shown && queue.update(shown, { title: "New" });
  return (
    <section>
      <h1 onClick={save}>{shown?.title ?? "…"}</h1>
      <p>
        {status} {closed?.code} {lastSeq} {count} {everyone.length} {typers.length} {editing.length}
      </p>
      <ul>
        {presence.map((entry) => (
          <li key={entry.user.id}>{entry.user.name}</li>
        ))}
      </ul>
      <p>{typing.map((t) => `${t.name} is typing in ${t.field}`).join(", ")}</p>
      <p>{editors.map((user) => user.name).join(", ")}</p>
      <input onFocus={start} onBlur={stop} onInput={() => setTyping("title", true)} />
      <Description taskId={taskId} />
    </section>
  );
}

function Description({ taskId }: { taskId: string }) {
  const shared: SharedTextState = useSharedText(taskId, "description");
  const ref = useTextareaBinding(shared, { onLocalEdit: ({ insert }) => insert.length });
  const length: number | undefined = shared.text?.length;
  return (
    <label>
      Description ({shared.status}, {shared.ready ? "ready" : "loading"}, {length})
      <textarea ref={ref} readOnly={!shared.ready} />
    </label>
  );
}

function Board() {
  const { tasks, analytics, taskPresence, presence, status, closed } = useBoard({ enabled: true });
  const boardStatus: RoomStatus = useConnectionStatus(BOARD);
  return (
    <ul data-status={status} data-board={boardStatus} data-closed={closed?.reason} data-total={analytics?.total} data-here={presence.length}>
      {tasks.map((task) => (
        <li key={task.id}>
          {task.title} {(taskPresence[task.id] ?? []).length}
        </li>
      ))}
    </ul>
  );
}

export function App() {
  return (
    <StrictMode>
      <HeroProvider client={client}>
        <Board />
        <TaskView taskId="t1" />
      </HeroProvider>
    </StrictMode>
  );
}

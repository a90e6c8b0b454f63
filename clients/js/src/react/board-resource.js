// The workspace board as the hooks see it: the board room (connectBoard) and the snapshot
// `{tasks, analytics, taskPresence, presence, status, closed}`. No React here.
//
// - `tasks`: the newest 200 tasks, newest first, loaded over REST after every fresh (not
//   resumed) welcome; events that arrive while the page loads are applied on top of it, by
//   version, so none is lost to the race. Then kept current by the board's events.
// - `analytics`: loaded with the tasks, then the board's `analytics` messages.
// - `taskPresence`: task id → the users in that task's room; `presence`: who has the board open.

import { connectBoard } from "../room.js";
import { createSnapshotStore, IDLE_BOARD } from "./store.js";

/** How many tasks the board loads (the API's largest page). */
export const BOARD_PAGE = 200;

/** Newest first, as the API lists them: created_at, then id, both descending. */
function compareTasks(a, b) {
  if (a.created_at !== b.created_at) return a.created_at < b.created_at ? 1 : -1;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/** The list after one durable event; `tasks` itself when it changes nothing. */
export function applyBoardEvent(tasks, event) {
  switch (event.type) {
    case "task_created":
    case "task_updated": {
      const current = tasks.find((t) => t.id === event.task.id);
      if (current && current.version >= event.task.version) return tasks;
      return [...tasks.filter((t) => t.id !== event.task.id), event.task].sort(compareTasks);
    }
    case "task_deleted":
    case "task_redacted":
      return tasks.some((t) => t.id === event.task_id) ? tasks.filter((t) => t.id !== event.task_id) : tasks;
    default:
      return tasks;
  }
}

const freezeList = (tasks) => Object.freeze([...tasks]);

export function createBoardResource({ connectOptions, rest }) {
  const store = createSnapshotStore({ ...IDLE_BOARD, status: "connecting" });
  let room = null;
  let stopped = false;
  // Events heard while a load is on its way: applied on top of what it brings.
  let heardDuringLoad = null;

  const setTasks = (tasks) => store.update({ tasks: tasks === store.get().tasks ? tasks : freezeList(tasks) });

  async function load() {
    heardDuringLoad = [];
    try {
      const [page, analytics] = await Promise.all([rest.list({ limit: BOARD_PAGE }), rest.analytics()]);
      if (stopped) return;
      const tasks = heardDuringLoad.reduce(applyBoardEvent, [...page.tasks].sort(compareTasks));
      store.update({ tasks: freezeList(tasks), analytics });
    } catch {
      // The next welcome loads again; until then the events keep what is here current.
    } finally {
      heardDuringLoad = null;
    }
  }

  function attach() {
    room.on("status", (status) => store.update({ status }));
    room.on("closed", (closed) => store.update({ closed }));
    room.on("welcome", (welcome) => {
      if (!welcome.resumed) load();
    });
    room.on("presence", (presence) => store.update({ presence }));
    room.on("task_presence", (taskPresence) => store.update({ taskPresence }));
    room.on("analytics", (analytics) => store.update({ analytics }));
    const onDurable = (event) => {
      heardDuringLoad?.push(event);
      setTasks(applyBoardEvent(store.get().tasks, event));
    };
    room.on("event", onDurable);
    room.on("task_redacted", onDurable);
    room.on("reloaded", ({ tasks, analytics }) => {
      if (!stopped) store.update({ tasks: freezeList([...tasks].sort(compareTasks)), analytics });
    });
  }

  return {
    getSnapshot: store.get,
    subscribe: store.subscribe,
    start() {
      room = connectBoard(connectOptions);
      attach();
    },
    stop() {
      stopped = true;
      room?.close();
      room = null;
    },
  };
}

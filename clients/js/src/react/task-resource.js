// One task's room as the hooks see it: the room (connectTask) and the snapshot built from
// its events, `{task, status, closed, presence, typing, editing, lastSeq}`. Created by the
// client (./client.js) when the first component subscribes, and stopped a grace period
// after the last one leaves. No React here.
//
// - `task`: loaded over REST after every fresh (not resumed) welcome, then kept current by
//   `task_created` / `task_updated` and a resync's reload; never replaced by an older version.
// - `typing`: who else is typing in which field ({user_id, name, field}), from `typing`
//   messages; cleared when the socket leaves `open` (the room forgets it too) and for
//   anyone who left.
// - `editing`: who else is editing which field ({user, field}), from the presence list.

import { connectTask } from "../room.js";
import { createEmitter } from "../emitter.js";
import { createSnapshotStore, IDLE_TASK, sameItems } from "./store.js";

/** A typing frame is sent again at most this often while typing goes on (the room ends it by itself). */
export const TYPING_RESEND_MS = 2000;

const EMPTY = Object.freeze([]);

const newer = (next, current) => next && (!current || (next.version ?? 0) > (current.version ?? 0));

function editingOf(presence, self) {
  const list = [];
  for (const entry of presence) {
    if (entry.user.id === self) continue;
    for (const field of entry.editing) list.push(Object.freeze({ user: entry.user, field }));
  }
  return list;
}

const sameEditing = (a, b) => a.user.id === b.user.id && a.field === b.field && a.user.name === b.user.name;
const sameTyping = (a, b) => a.user_id === b.user_id && a.field === b.field && a.name === b.name;

export function createTaskResource(taskId, { connectOptions, rest, timers }) {
  const store = createSnapshotStore({ ...IDLE_TASK, status: "connecting" });
  const events = createEmitter();
  let room = null;
  let self = null;
  let stopped = false;
  // typing: user id → field; what I told the room (typing, editing).
  const typers = new Map();
  let sentTyping = null;
  let myEditing = null;

  const names = () => new Map(store.get().presence.map((e) => [e.user.id, e.user.name]));

  function showTyping() {
    const known = names();
    const next = [...typers]
      .filter(([userId]) => known.has(userId))
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([userId, field]) => Object.freeze({ user_id: userId, name: known.get(userId), field }));
    const current = store.get().typing;
    store.update({ typing: sameItems(current, next, sameTyping) ? current : next.length ? Object.freeze(next) : EMPTY });
  }

  function showPresence(presence) {
    const current = store.get();
    const editing = editingOf(presence, self);
    store.update({ presence, editing: sameItems(current.editing, editing, sameEditing) ? current.editing : editing.length ? Object.freeze(editing) : EMPTY });
    showTyping(); // drops typers who left, and takes new names
  }

  const takeTask = (task) => {
    if (!stopped && newer(task, store.get().task)) store.update({ task });
  };

  async function load() {
    try {
      takeTask(await rest.get(taskId));
    } catch {
      // The events and the next welcome bring it; a terminal close says why if it is gone.
    }
  }

  function attach() {
    room.on("status", (status) => {
      if (status !== "open") {
        typers.clear();
        sentTyping = null;
      }
      store.update({ status });
      showTyping();
    });
    room.on("closed", (closed) => store.update({ closed }));
    room.on("welcome", (welcome) => {
      self = welcome.user?.id ?? null;
      if (myEditing) room.setEditing(myEditing); // the room forgot it with the old socket
      if (!welcome.resumed) load();
      store.update({ lastSeq: room.lastSeq });
    });
    room.on("presence", showPresence);
    room.on("typing", (message) => {
      if (message.user_id === self) return;
      if (message.active) typers.set(message.user_id, message.field);
      else typers.delete(message.user_id);
      showTyping();
    });
    room.on("event", (event) => {
      if (event.type === "task_created" || event.type === "task_updated") takeTask(event.task);
      store.update({ lastSeq: room.lastSeq });
      events.emit("event", event);
    });
    room.on("reloaded", (task) => {
      if (task && !stopped) store.update({ task, lastSeq: room.lastSeq });
    });
  }

  return {
    getSnapshot: store.get,
    subscribe: store.subscribe,
    /** Durable events (task_created | task_updated | task_status_changed | task_deleted). */
    onEvent: (handler) => events.on("event", handler),
    start() {
      room = connectTask(taskId, connectOptions);
      attach();
    },
    stop() {
      stopped = true;
      room?.close();
      room = null;
    },
    /** Typing in `field`: sent at most every TYPING_RESEND_MS while active, and at once when it stops. */
    setTyping(field, active) {
      if (!room) return false;
      const now = timers.now();
      if (!active) {
        sentTyping = null;
        return room.sendTyping(field, false);
      }
      if (sentTyping && sentTyping.field === field && now - sentTyping.at < TYPING_RESEND_MS) return false;
      const sent = room.sendTyping(field, true);
      sentTyping = sent ? { field, at: now } : null;
      return sent;
    },
    /** I edit `field` now, or nothing (null). Said again after a reconnect. */
    setEditing(field) {
      myEditing = field ?? null;
      return room ? room.setEditing(myEditing) : false;
    },
    get editingField() {
      return myEditing;
    },
  };
}

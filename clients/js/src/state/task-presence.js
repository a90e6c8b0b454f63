// Who is in which task's room, as the board tells it: the map behind the avatars on the
// dashboard's task cards. Pure (no DOM, no I/O): ../room.js keeps it for board rooms
// and node tests check it.
//
// The board's `welcome` carries the whole map, `task_presence` (task id → [{id, name,
// avatar_url}], tasks with nobody absent); each `task_presence {task_id, users}` message
// replaces one task's users, and an empty `users` means nobody is there any more. The map is
// a plain object of task id → users sorted by id, one entry per user; a task with nobody is
// absent, never an empty array, so "is anyone here" is a key lookup.

export const emptyTaskPresence = Object.freeze({});

const cleanUsers = (users) => {
  const byId = new Map();
  for (const user of Array.isArray(users) ? users : []) {
    if (user && typeof user.id === "string") byId.set(user.id, { id: user.id, name: user.name ?? user.id, avatar_url: user.avatar_url ?? null });
  }
  return [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
};

function without(map, taskId) {
  if (!Object.hasOwn(map, taskId)) return map;
  const { [taskId]: _gone, ...rest } = map;
  return rest;
}

/**
 * The map after one board message; `map` itself when the message changes nothing.
 * - `welcome`: replaced by its `task_presence` (a server without it: nobody known);
 * - `task_presence`: that task's users replaced, or removed when empty;
 * - `task_deleted` / `task_redacted`: the task has no room any more.
 */
export function applyTaskPresence(map, message) {
  switch (message?.type) {
    case "welcome": {
      const next = {};
      for (const [taskId, users] of Object.entries(message.task_presence ?? {})) {
        const clean = cleanUsers(users);
        if (clean.length) next[taskId] = clean;
      }
      return next;
    }
    case "task_presence": {
      if (typeof message.task_id !== "string") return map;
      const users = cleanUsers(message.users);
      if (users.length === 0) return without(map, message.task_id);
      return { ...map, [message.task_id]: users };
    }
    case "task_deleted":
    case "task_redacted":
      return typeof message.task_id === "string" ? without(map, message.task_id) : map;
    default:
      return map;
  }
}

/** The users in a task's room (an empty array when nobody is). */
export function usersIn(map, taskId) {
  return map?.[taskId] ?? [];
}

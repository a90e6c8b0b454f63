// Dashboard list reducer: the loaded page(s) of tasks, kept current from live board
// events. Pure (no DOM, no I/O), so node tests can check it.
//
// Filters: status, assignee and tag are exact-equality rules (tag: the task's `tags`
// contains it exactly), so a live task can be kept or dropped here without asking the
// server. `q` is NOT matched here: search is the server's (soon FTS5 prefix search), and a
// client-side guess would drift from it. While `q` is set the board view refetches the
// page from the server when a live event arrives (see needsServerFilter).

/** Newest first, as the server sorts: created_at desc, then id desc. */
export function compareTasks(a, b) {
  if (a.created_at !== b.created_at) return a.created_at < b.created_at ? 1 : -1;
  if (a.id !== b.id) return a.id < b.id ? 1 : -1;
  return 0;
}

/** Filters from a form's entries: trimmed, empty ones dropped. */
export function cleanFilters(entries) {
  return Object.fromEntries(
    [...entries].map(([name, value]) => [name, String(value).trim()]).filter(([, value]) => value),
  );
}

/** True when only the server can tell which tasks belong in the list. */
export function needsServerFilter(filters) {
  return Boolean(filters?.q);
}

/** The exact-equality filters; `q` is ignored on purpose (see the top of this file). */
export function matchesLocalFilters(task, filters = {}) {
  if (filters.status && task.status !== filters.status) return false;
  if (filters.assignee && task.assignee_id !== filters.assignee) return false;
  if (filters.tag && !(task.tags ?? []).includes(filters.tag)) return false;
  return true;
}

export const emptyList = Object.freeze({ tasks: Object.freeze([]), cursor: null });

/** A fresh list from a `GET /api/tasks` page. */
export function listFromPage(page) {
  return { tasks: [...page.tasks].sort(compareTasks), cursor: page.next_cursor ?? null };
}

/** The next page appended ("Load more"); a task already held keeps its newer version. */
export function appendPage(state, page) {
  const byId = new Map(state.tasks.map((task) => [task.id, task]));
  for (const task of page.tasks) {
    const known = byId.get(task.id);
    if (!known || known.version < task.version) byId.set(task.id, task);
  }
  return { tasks: [...byId.values()].sort(compareTasks), cursor: page.next_cursor ?? null };
}

export function removeTask(state, id) {
  return state.tasks.some((task) => task.id === id) ? { ...state, tasks: state.tasks.filter((task) => task.id !== id) } : state;
}

/**
 * A task as the server now has it. Ignored when we hold the same or a newer version;
 * dropped when it no longer passes the local filters; otherwise placed in sort order.
 * With more pages to load, a task we do not hold that sorts after the last loaded one
 * belongs to a later page, and "Load more" brings it.
 */
export function upsertTask(state, task, filters = {}) {
  const known = state.tasks.find((t) => t.id === task.id);
  if (known && known.version >= task.version) return state;
  if (!matchesLocalFilters(task, filters)) return removeTask(state, task.id);
  const last = state.tasks[state.tasks.length - 1];
  if (!known && state.cursor && last && compareTasks(task, last) > 0) return state;
  const tasks = [...state.tasks.filter((t) => t.id !== task.id), task].sort(compareTasks);
  return { ...state, tasks };
}

/**
 * Applies one durable board event; others (task_status_changed, which follows its
 * task_updated) change nothing. `task_redacted` (a replayed event about a task deleted
 * since) carries no fields: that task is gone, so it is dropped if held.
 */
export function applyListEvent(state, event, filters = {}) {
  switch (event?.type) {
    case "task_created":
    case "task_updated":
      return upsertTask(state, event.task, filters);
    case "task_deleted":
    case "task_redacted":
      return removeTask(state, event.task_id);
    default:
      return state;
  }
}

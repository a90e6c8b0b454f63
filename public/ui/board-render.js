// Dashboard rendering: the analytics cards and the task list, drawn from plain data.
// The browser tests read these: [data-stat="…"] .stat-value, #task-list .task-item
// (data-task-id, data-status, data-pending), .task-title, and the avatars of who is viewing
// each task, .card-presence [data-user-id] .avatar.

import { h } from "/ui/dom.js";
import { initials } from "/ui/task-render.js";
import { usersIn } from "/hero-client.js";
import { statusLabel } from "/state/fields.js";

export function renderAnalytics(container, report) {
  const cards = [
    ["Total", report.total],
    ["To do", report.by_status.todo],
    ["In progress", report.by_status.in_progress],
    ["Blocked", report.by_status.blocked],
    ["In review", report.by_status.in_review],
    ["Done", report.by_status.done],
    ["Overdue", report.overdue],
    ["Done this week", report.done_this_week],
  ];
  container.replaceChildren(
    ...cards.map(([label, value]) =>
      h("div", { class: "stat", dataset: { stat: label } }, h("span", { class: "stat-value" }, value), h("span", { class: "stat-label" }, label)),
    ),
  );
}

/** The avatars of the people in a task's room, on its card (initials without a picture). */
function cardPresence(users) {
  if (!users.length) return null;
  const names = users.map((user) => user.name).join(", ");
  return h(
    "ul",
    { class: "card-presence", "aria-label": `Viewing now: ${names}`, title: `Viewing now: ${names}` },
    ...users.map((user) =>
      h(
        "li",
        { class: "presence-entry", dataset: { userId: user.id } },
        user.avatar_url ? h("img", { src: user.avatar_url, alt: "", class: "avatar" }) : h("span", { class: "avatar", "aria-hidden": "true" }, initials(user.name)),
        h("span", { class: "visually-hidden" }, user.name),
      ),
    ),
  );
}

function taskItem(task, users) {
  return h(
    "li",
    { class: "task-item", dataset: task.pending ? { taskId: task.id, status: task.status, pending: "true" } : { taskId: task.id, status: task.status } },
    h("a", { href: `#/tasks/${task.id}`, class: "task-title" }, task.title),
    h(
      "span",
      { class: "task-meta" },
      task.pending ? h("span", { class: "pill pending" }, task.version === 0 ? "not synced yet" : "changes not synced") : null,
      h("span", { class: `pill status-${task.status}` }, statusLabel(task.status)),
      h("span", { class: `pill priority-${task.priority}` }, task.priority),
      task.assignee_id ? h("span", { class: "pill" }, `@${task.assignee_id}`) : null,
      task.due_date ? h("span", { class: "pill" }, `due ${task.due_date}`) : null,
      ...task.tags.map((tag) => h("span", { class: "pill tag" }, `#${tag}`)),
    ),
    cardPresence(users),
  );
}

/**
 * `list` is the state from /state/list.js ({tasks (in order), cursor}), already overlaid with
 * the pending edits; `presence` maps task ids to the users in each task's room
 * (clients/js/src/state/task-presence.js, in /hero-client.js).
 */
export function renderTaskList(listElement, loadMoreButton, list, presence = {}) {
  const items = list.tasks.map((task) => taskItem(task, usersIn(presence, task.id)));
  listElement.replaceChildren(...(items.length ? items : [h("li", { class: "empty" }, "No tasks match.")]));
  loadMoreButton.hidden = !list.cursor;
}

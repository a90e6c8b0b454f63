// Dashboard rendering: the analytics cards and the task list, drawn from plain data.
// The browser tests read these: [data-stat="…"] .stat-value, #task-list .task-item
// (data-task-id, data-status) and .task-title.

import { h } from "/ui/dom.js";

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

function taskItem(task) {
  return h(
    "li",
    { class: "task-item", dataset: { taskId: task.id, status: task.status } },
    h("a", { href: `#/tasks/${task.id}`, class: "task-title" }, task.title),
    h(
      "span",
      { class: "task-meta" },
      h("span", { class: `pill status-${task.status}` }, task.status.replace("_", " ")),
      h("span", { class: `pill priority-${task.priority}` }, task.priority),
      task.assignee_id ? h("span", { class: "pill" }, `@${task.assignee_id}`) : null,
      task.due_date ? h("span", { class: "pill" }, `due ${task.due_date}`) : null,
      ...task.tags.map((tag) => h("span", { class: "pill tag" }, `#${tag}`)),
    ),
  );
}

/** `list` is the state from /state/list.js: {tasks (in order), cursor}. */
export function renderTaskList(listElement, loadMoreButton, list) {
  const items = list.tasks.map(taskItem);
  listElement.replaceChildren(...(items.length ? items : [h("li", { class: "empty" }, "No tasks match.")]));
  loadMoreButton.hidden = !list.cursor;
}

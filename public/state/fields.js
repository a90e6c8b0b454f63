// Task field names, their values, and how the UI names both. Pure data and functions,
// shared by the views and by the activity text and the conflict prompt (which node tests
// check), so a label is spelled in one place: "in progress", never "in_progress".

export const TASK_FIELDS = Object.freeze(["title", "description", "status", "priority", "assignee_id", "due_date", "tags"]);

export const FIELD_LABELS = Object.freeze({
  title: "title",
  description: "description",
  status: "status",
  priority: "priority",
  assignee_id: "assignee",
  due_date: "due date",
  tags: "tags",
});

/** The statuses in the order the form lists them, with the words the UI uses for each. */
export const STATUS_LABELS = Object.freeze({
  todo: "to do",
  in_progress: "in progress",
  blocked: "blocked",
  in_review: "in review",
  done: "done",
});

/** A field's label; an unknown field (a newer server) shows under its own name. */
export function fieldLabel(field) {
  return FIELD_LABELS[field] ?? field;
}

/** A status as words ("in progress"); an unknown one (a newer server) with its underscores as spaces. */
export function statusLabel(status) {
  return STATUS_LABELS[status] ?? String(status ?? "").replaceAll("_", " ");
}

/** A field's value as text: statuses in words, tags comma separated, nothing as "(none)". */
export function fieldText(field, value) {
  if (field === "tags") return Array.isArray(value) && value.length ? value.join(", ") : "(none)";
  if (value === null || value === undefined || value === "") return "(none)";
  if (field === "status") return statusLabel(value);
  return String(value);
}

/** The fields a read-only view lists under the title, as [label, text] (the description is shown apart). */
export function taskValues(task) {
  return ["status", "priority", "assignee_id", "due_date", "tags"].map((field) => [fieldLabel(field), fieldText(field, task?.[field])]);
}

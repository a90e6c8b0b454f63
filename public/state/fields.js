// Task field names and how the UI names them. Pure data, shared by the views and by the
// activity text (which node tests check), so a label is spelled in one place.

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

/** A field's label; an unknown field (a newer server) shows under its own name. */
export function fieldLabel(field) {
  return FIELD_LABELS[field] ?? field;
}

// The task form's fields (#task-form [name=…]): reading what the user typed as API values
// and filling the form from a task.

import { TASK_FIELDS } from "/state/fields.js";

export const fieldInput = (field) => document.querySelector(`#task-form [name="${field}"]`);

/** The field as the API takes it: blank optional fields are null, tags a list. */
export function formValue(field) {
  const value = fieldInput(field).value;
  switch (field) {
    case "assignee_id":
    case "due_date":
      return value.trim() === "" ? null : value.trim();
    case "tags":
      return value.split(",").map((t) => t.trim()).filter(Boolean);
    default:
      return value;
  }
}

export function fillForm(task, fields = TASK_FIELDS) {
  for (const field of fields) {
    const value = task[field];
    fieldInput(field).value = field === "tags" ? value.join(", ") : value ?? "";
  }
}

/** A merge patch of the fields the user touched. */
export function changesOf(dirtyFields) {
  const changes = {};
  for (const field of dirtyFields) changes[field] = formValue(field);
  return changes;
}

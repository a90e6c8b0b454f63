-- 0002: remember the status a task had before each update, so the rooms can send
-- task_status_changed {from, to} and the activity log can show it.
ALTER TABLE task_changes ADD COLUMN previous_status TEXT;

-- 0006: who typed a document flush. The shared description (a Yjs document in the task's
-- room) is written to tasks.description by the room itself, a few seconds after people type;
-- such a change record names everyone whose typing it carries, as a JSON array of
-- {"id","name"}. NULL for every other write. The activity shows a run of these as one entry.
ALTER TABLE task_changes ADD COLUMN editors TEXT;

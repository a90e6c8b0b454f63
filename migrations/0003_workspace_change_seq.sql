-- 0003: a per-workspace sequence in the change log.
-- task_changes.id orders every commit of every workspace; ws_seq numbers one workspace's
-- commits 1, 2, 3… without gaps, so the workspace board knows whether a change it is told
-- about is the next one (apply it as it is) or whether it missed some (read them from here).
-- Each insert computes it as MAX + 1 inside its own transaction, and the unique index below
-- makes a duplicate impossible.
ALTER TABLE task_changes ADD COLUMN ws_seq INTEGER;

UPDATE task_changes SET ws_seq = (
    SELECT COUNT(*) FROM task_changes AS earlier
    WHERE earlier.workspace_id = task_changes.workspace_id AND earlier.id <= task_changes.id
);

CREATE UNIQUE INDEX task_changes_by_workspace_seq ON task_changes (workspace_id, ws_seq);

-- 0008: a write touches only what its change reaches (issue 22).
--
-- D1 bills every row written, index entries and trigger writes included. An update now
-- names only the columns whose value changed (core/src/task/columns.rs), so an
-- `AFTER UPDATE OF` trigger fires only when its column is written. The triggers below also
-- check that the value really moved (an UPDATE made outside Hero may name a column and
-- leave it as it was), and the tag trigger rewrites only the tags that came or went,
-- instead of deleting every tag row of the task and inserting them all again.

DROP TRIGGER task_tags_after_update;
CREATE TRIGGER task_tags_after_update AFTER UPDATE OF tags ON tasks
WHEN OLD.tags IS NOT NEW.tags BEGIN
    DELETE FROM task_tags
        WHERE task_id = OLD.id AND tag NOT IN (SELECT value FROM json_each(NEW.tags));
    INSERT OR IGNORE INTO task_tags (task_id, workspace_id, tag, created_at)
        SELECT DISTINCT NEW.id, NEW.workspace_id, value, NEW.created_at FROM json_each(NEW.tags)
        WHERE value NOT IN (SELECT value FROM json_each(OLD.tags));
END;

DROP TRIGGER tasks_fts_after_update;
CREATE TRIGGER tasks_fts_after_update AFTER UPDATE OF title, description, tags ON tasks
WHEN OLD.title IS NOT NEW.title
  OR OLD.description IS NOT NEW.description
  OR OLD.tags IS NOT NEW.tags BEGIN
    INSERT INTO tasks_fts (tasks_fts, rowid, search_scope, title, description, tags)
        VALUES ('delete', OLD.rowid, OLD.search_scope, OLD.title, OLD.description, OLD.tags);
    INSERT INTO tasks_fts (rowid, search_scope, title, description, tags)
        VALUES (NEW.rowid, NEW.search_scope, NEW.title, NEW.description, NEW.tags);
END;

-- The change log, rebuilt with only what its readers need. Each record was 7 rows written:
-- the row, AUTOINCREMENT's sqlite_sequence row, and four indexes. Now it is 3:
-- - `id` stays the rowid, without AUTOINCREMENT: SQLite gives a new row the largest id + 1,
--   so ids still only grow, because records are never deleted (a pruning job, should one
--   come, must keep each table's newest record);
-- - `task_changes_by_task` (task_id, id): a task room's catch-up and a task's activity;
-- - `task_changes_by_workspace_seq` (workspace_id, ws_seq), unique: the board's catch-up,
--   the workspace's activity, and the next ws_seq of every insert;
-- - gone: `UNIQUE (task_id, version, kind)`, which only restated what the conditional write
--   guarantees (a record is inserted only when its write changed the row at the version it
--   expected: `WHERE changes() = 1`), and `(workspace_id, id)`, whose one reader, a board
--   from before ws_seq finding where it stood, now counts the workspace afresh instead.
CREATE TABLE task_changes_rebuilt (
    id              INTEGER PRIMARY KEY,
    workspace_id    TEXT    NOT NULL,
    task_id         TEXT    NOT NULL,
    version         INTEGER NOT NULL,
    kind            TEXT    NOT NULL CHECK (kind IN ('created', 'updated', 'deleted')),
    changed         TEXT    NOT NULL DEFAULT '[]',
    actor_id        TEXT    NOT NULL,
    actor_name      TEXT    NOT NULL,
    at              TEXT    NOT NULL,
    task            TEXT    NOT NULL,
    previous_status TEXT,
    ws_seq          INTEGER,
    editors         TEXT
);
INSERT INTO task_changes_rebuilt (id, workspace_id, task_id, version, kind, changed, actor_id,
        actor_name, at, task, previous_status, ws_seq, editors)
    SELECT id, workspace_id, task_id, version, kind, changed, actor_id, actor_name, at, task,
        previous_status, ws_seq, editors
    FROM task_changes;
DROP TABLE task_changes;
ALTER TABLE task_changes_rebuilt RENAME TO task_changes;
CREATE INDEX task_changes_by_task ON task_changes (task_id, id);
CREATE UNIQUE INDEX task_changes_by_workspace_seq ON task_changes (workspace_id, ws_seq);

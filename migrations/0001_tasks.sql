-- 0001: tasks and their change log.
-- Applied with `wrangler d1 migrations apply DB` (--local for dev). Never edit a migration
-- once applied anywhere; add the next number instead.

-- One row per task. Every query filters on workspace_id first: it is the tenant boundary.
CREATE TABLE tasks (
    id            TEXT    PRIMARY KEY,                 -- random UUIDv4, server generated
    workspace_id  TEXT    NOT NULL,
    title         TEXT    NOT NULL CHECK (length(trim(title)) BETWEEN 1 AND 200),
    description   TEXT    NOT NULL DEFAULT '' CHECK (length(description) <= 10000),
    status        TEXT    NOT NULL DEFAULT 'todo'
                  CHECK (status IN ('todo', 'in_progress', 'blocked', 'in_review', 'done')),
    priority      TEXT    NOT NULL DEFAULT 'medium'
                  CHECK (priority IN ('low', 'medium', 'high', 'critical')),
    assignee_id   TEXT,
    due_date      TEXT,                                -- ISO date YYYY-MM-DD, or NULL
    tags          TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(tags)),  -- JSON array
    created_by    TEXT    NOT NULL,
    created_at    TEXT    NOT NULL,                    -- RFC 3339 UTC, millisecond precision
    updated_at    TEXT    NOT NULL,
    completed_at  TEXT,                                -- when it last became 'done'
    version       INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1)
);

-- The default list order (newest first) and its keyset cursor.
CREATE INDEX tasks_by_workspace_created ON tasks (workspace_id, created_at DESC, id DESC);
-- Status and assignee filters keep the same order.
CREATE INDEX tasks_by_workspace_status ON tasks (workspace_id, status, created_at DESC, id DESC);
CREATE INDEX tasks_by_workspace_assignee ON tasks (workspace_id, assignee_id, created_at DESC, id DESC);

-- One row per committed write, inserted in the same D1 batch (one transaction) as the write
-- itself, so a change and its record are both there or both absent. It is the task's
-- activity history and the outbox the live rooms read from: `id` gives the commit order.
CREATE TABLE task_changes (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id  TEXT    NOT NULL,
    task_id       TEXT    NOT NULL,
    version       INTEGER NOT NULL,                    -- the task's version after the write
    kind          TEXT    NOT NULL CHECK (kind IN ('created', 'updated', 'deleted')),
    changed       TEXT    NOT NULL DEFAULT '[]',       -- JSON array of field names
    actor_id      TEXT    NOT NULL,
    actor_name    TEXT    NOT NULL,
    at            TEXT    NOT NULL,                    -- RFC 3339 UTC
    task          TEXT    NOT NULL,                    -- JSON snapshot of the task after it
    UNIQUE (task_id, version, kind)
);

CREATE INDEX task_changes_by_task ON task_changes (task_id, id);
CREATE INDEX task_changes_by_workspace ON task_changes (workspace_id, id);

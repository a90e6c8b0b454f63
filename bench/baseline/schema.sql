-- The old design's store (STORE=postgres): the Worker's D1 `tasks` table
-- (migrations/0001_tasks.sql) with Postgres types, as Supabase would hold it.
-- Applied once per database before the servers start: `psql -f schema.sql` (the benchmark
-- does this against the throwaway Postgres it starts). Safe to apply again.

CREATE TABLE IF NOT EXISTS tasks (
    id            uuid        PRIMARY KEY,             -- random UUIDv4, server generated
    workspace_id  text        NOT NULL,
    title         text        NOT NULL CHECK (char_length(btrim(title)) BETWEEN 1 AND 200),
    description   text        NOT NULL DEFAULT '' CHECK (char_length(description) <= 10000),
    status        text        NOT NULL DEFAULT 'todo'
                  CHECK (status IN ('todo', 'in_progress', 'blocked', 'in_review', 'done')),
    priority      text        NOT NULL DEFAULT 'medium'
                  CHECK (priority IN ('low', 'medium', 'high', 'critical')),
    assignee_id   text,
    due_date      date,
    tags          jsonb       NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(tags) = 'array'),
    created_by    text        NOT NULL,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    completed_at  timestamptz,                         -- when it last became 'done'
    version       integer     NOT NULL DEFAULT 1 CHECK (version >= 1)
);

-- The default list order (newest first), and the status and assignee filters in it.
CREATE INDEX IF NOT EXISTS tasks_by_workspace_created
    ON tasks (workspace_id, created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS tasks_by_workspace_status
    ON tasks (workspace_id, status, created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS tasks_by_workspace_assignee
    ON tasks (workspace_id, assignee_id, created_at DESC, id DESC);

-- 0004: indexes that keep a 100,000-task workspace as fast to list as a 100-task one.
--
-- A board counting its workspace pages through it in id order; without this index each page
-- read and sorted the whole workspace.
CREATE INDEX tasks_by_workspace_id ON tasks (workspace_id, id);

-- Tags get a row each (task_tags), so a tag filter is an index lookup in list order
-- instead of a scan of every task's JSON array. tasks.tags stays what the API reads and
-- writes; triggers keep task_tags in step with it, in the same transaction as the write.
CREATE TABLE task_tags (
    task_id      TEXT NOT NULL,
    workspace_id TEXT NOT NULL,
    tag          TEXT NOT NULL,
    created_at   TEXT NOT NULL,            -- the task's, so the index serves list order
    PRIMARY KEY (task_id, tag)
);
CREATE INDEX task_tags_by_workspace_tag ON task_tags (workspace_id, tag, created_at DESC, task_id DESC);

INSERT INTO task_tags (task_id, workspace_id, tag, created_at)
    SELECT DISTINCT tasks.id, tasks.workspace_id, tag.value, tasks.created_at
    FROM tasks, json_each(tasks.tags) AS tag;

CREATE TRIGGER task_tags_after_insert AFTER INSERT ON tasks BEGIN
    INSERT INTO task_tags (task_id, workspace_id, tag, created_at)
        SELECT DISTINCT NEW.id, NEW.workspace_id, value, NEW.created_at FROM json_each(NEW.tags);
END;
CREATE TRIGGER task_tags_after_update AFTER UPDATE OF tags ON tasks BEGIN
    DELETE FROM task_tags WHERE task_id = OLD.id;
    INSERT INTO task_tags (task_id, workspace_id, tag, created_at)
        SELECT DISTINCT NEW.id, NEW.workspace_id, value, NEW.created_at FROM json_each(NEW.tags);
END;
CREATE TRIGGER task_tags_after_delete AFTER DELETE ON tasks BEGIN
    DELETE FROM task_tags WHERE task_id = OLD.id;
END;

-- Search: FTS5 over title, description and tags, plus the workspace as one token
-- (search_scope, the hex of workspace_id: one alphanumeric word, so it matches exactly).
-- A search asks for `search_scope : "<hex>" AND <words>`, so FTS5 intersects the words with
-- this workspace inside the index, and one team's common word costs another team nothing.
-- The query still filters tasks.workspace_id, the tenant boundary of every query.
--
-- External content: the text lives in tasks (search_scope is a virtual generated column, so
-- it takes no space there) and triggers keep the index in step inside the writing
-- transaction. Because the content is in tasks, 'rebuild' can always re-derive the index.
-- unicode61 folds case and (with remove_diacritics 2) accents, so "Cafe" finds "café"; the
-- prefix indexes make the short prefixes a search box sends while someone types ("la",
-- "lau") one lookup each.
ALTER TABLE tasks ADD COLUMN search_scope TEXT GENERATED ALWAYS AS (hex(workspace_id)) VIRTUAL;

CREATE VIRTUAL TABLE tasks_fts USING fts5(
    search_scope, title, description, tags,
    content = 'tasks', content_rowid = 'rowid',
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '2 3'
);
INSERT INTO tasks_fts (tasks_fts) VALUES ('rebuild');

CREATE TRIGGER tasks_fts_after_insert AFTER INSERT ON tasks BEGIN
    INSERT INTO tasks_fts (rowid, search_scope, title, description, tags)
        VALUES (NEW.rowid, NEW.search_scope, NEW.title, NEW.description, NEW.tags);
END;
CREATE TRIGGER tasks_fts_after_delete AFTER DELETE ON tasks BEGIN
    INSERT INTO tasks_fts (tasks_fts, rowid, search_scope, title, description, tags)
        VALUES ('delete', OLD.rowid, OLD.search_scope, OLD.title, OLD.description, OLD.tags);
END;
CREATE TRIGGER tasks_fts_after_update AFTER UPDATE OF title, description, tags ON tasks BEGIN
    INSERT INTO tasks_fts (tasks_fts, rowid, search_scope, title, description, tags)
        VALUES ('delete', OLD.rowid, OLD.search_scope, OLD.title, OLD.description, OLD.tags);
    INSERT INTO tasks_fts (rowid, search_scope, title, description, tags)
        VALUES (NEW.rowid, NEW.search_scope, NEW.title, NEW.description, NEW.tags);
END;

-- 0005: idempotency keys. A committed keyed write stores its response here, in the same
-- D1 batch as the write, so a retry with the same key gets that response and commits
-- nothing new (core/src/idempotency.rs). A key belongs to one user in one workspace.
CREATE TABLE idempotency_keys (
    workspace_id  TEXT    NOT NULL,
    user_id       TEXT    NOT NULL,
    key           TEXT    NOT NULL,
    fingerprint   TEXT    NOT NULL,              -- SHA-256 of method, path, If-Match, body
    status        INTEGER NOT NULL,
    body          TEXT,                          -- the JSON body; NULL for a 204
    etag          TEXT,
    location      TEXT,
    created_at    TEXT    NOT NULL,              -- RFC 3339 UTC
    PRIMARY KEY (workspace_id, user_id, key)
);

-- Each keyed write removes its user's keys older than 48 hours in the same batch.
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (workspace_id, user_id, created_at);

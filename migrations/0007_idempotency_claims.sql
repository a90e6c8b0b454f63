-- 0007: an Idempotency-Key is claimed before its write (core/src/idempotency.rs).
-- A keyed request first takes its key with a row here naming its claim (a random id), in
-- one statement that only one request can win; the write then completes the row with its
-- response in its own D1 batch (claim back to NULL), or, if it does not commit, deletes it.
-- So the same key sent at once to two tasks and a create makes one write, and the others
-- are told it is in use (409) or, once it committed, that it was used for another request
-- (422). A row is pending while `claim` is set (its status is 0 until then); a claim older
-- than a minute belongs to a writer that died, and the next request takes it over.
-- Rows from before this migration are committed keys: their claim is NULL.
ALTER TABLE idempotency_keys ADD COLUMN claim TEXT;

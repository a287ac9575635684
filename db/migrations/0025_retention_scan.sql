-- Where each retention kind's current pass over its table got to, apart
-- from last_id (every row of lower id purged or kept for good). A batch
-- of rows old enough but not finished (messages scheduled a month ahead,
-- retried for days) held last_id where it was, and a whole batch of them
-- stopped the purge of that kind for as long as they stayed unfinished:
-- each run read the same batch again. The pass now goes on past them
-- (scan_id) and starts again at last_id when it reaches the young rows.
ALTER TABLE retention_cursor ADD COLUMN scan_id bigint NOT NULL DEFAULT 0;

-- How an outgoing SMS may be cut: at most max_parts parts (NULL: the
-- worker's limit), ending with the text of more (e.g. "... GET alice")
-- when it had to be cut.
ALTER TABLE outbox ADD COLUMN max_parts smallint CHECK (max_parts BETWEEN 1 AND 10);
ALTER TABLE outbox ADD COLUMN more text;

-- Which claim of a row is in force: the claiming transaction's id, set by
-- pigeon_outbox_claim. Each outcome names it, so that an outcome applied
-- twice, or late, never acts on a later claim of the same row. (The
-- lease's end could not name it: a clock stepped back moves it.)
ALTER TABLE outbox ADD COLUMN claim bigint;

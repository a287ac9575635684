-- The SMS parts a carrier bills for a message a bind sent with long =
-- payload: one submit_sm (parts 1, one message id, one receipt) that the
-- SMSC splits into the text's parts. The per-link daily budget
-- (link_budget_day, pigeon_link_count) counts these; NULL: as many as
-- parts (modems, UDH concatenation, and every row from before).
ALTER TABLE outbox ADD COLUMN segments smallint;

-- Carrier links over SMPP (issue 13). A bind is a link like a modem: its
-- row in `modems` (kind 'smpp'), its sent parts in outbox_parts, its
-- receipts in status_reports.

ALTER TABLE modems ADD COLUMN kind text NOT NULL DEFAULT 'modem'
	CHECK (kind IN ('modem', 'smpp'));

-- An SMSC names each accepted part by a message_id (a string) instead of a
-- 0-255 reference: kept in its canonical spelling (lower case, no leading
-- zeros), which a receipt's keys (each id in its own base and the other)
-- meet whether the carrier wrote it in hex or in decimal.
ALTER TABLE outbox_parts ALTER COLUMN ref DROP NOT NULL;
ALTER TABLE outbox_parts ADD COLUMN message_id text;
CREATE INDEX outbox_parts_message_id ON outbox_parts (modem, message_id)
	WHERE message_id IS NOT NULL;

ALTER TABLE status_reports ALTER COLUMN ref DROP NOT NULL;
ALTER TABLE status_reports ADD COLUMN message_id text;	-- as the receipt gave it
ALTER TABLE status_reports ADD COLUMN stat text;		-- DELIVRD, UNDELIV, ...
ALTER TABLE status_reports ADD COLUMN err text;
-- A receipt's keys (its ids in both bases), kept while it is unmatched: an
-- SMSC may send the receipt before pigeond has committed the submit's
-- outcome (its message id), which then matches it (pigeon_outbox_outcomes).
ALTER TABLE status_reports ADD COLUMN keys text[];
CREATE INDEX status_reports_unmatched_keys ON status_reports USING gin (keys)
	WHERE outbox_id IS NULL;

-- An SMSC delivers again a deliver_sm that was not answered, with nothing
-- stable but its content: the worker's key (a hash of it) dedupes a part
-- over a window (pigeon_inbox_store), not for ever, so that the same text
-- sent twice by one phone minutes apart is two messages.
ALTER TABLE inbox_parts ADD COLUMN link_key text;
CREATE INDEX inbox_parts_link_key ON inbox_parts (link_key, received_at)
	WHERE link_key IS NOT NULL;

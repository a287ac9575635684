-- Issue 13: the history and the parts of a message lose their foreign
-- keys to outbox. Each key checked every row inserted with a lookup that
-- locks the message row (FOR KEY SHARE, a WAL record each): three or four
-- a message on its way (claimed, sent, delivered, its parts), a third of
-- the database's work at an SMPP bind's rate. Both tables are written only
-- by the functions that move the message, in the transaction that holds
-- its row, so no row can point at a message that is not there; a deleted
-- message takes its history and parts with it through the statement
-- trigger outbox_children_delete (db/functions/40_outbox.sql), as the
-- keys' ON DELETE CASCADE did.
ALTER TABLE outbox_history DROP CONSTRAINT IF EXISTS outbox_history_outbox_id_fkey;
ALTER TABLE outbox_parts DROP CONSTRAINT IF EXISTS outbox_parts_outbox_id_fkey;

-- The index for GET /api/messages?status= and the queue depth of /metrics
-- leaves out 'sent' and 'delivered': the states nearly every message ends
-- in, which a listing by primary key finds at once. Each message then
-- enters it twice (queued, sending) instead of four times, and the batch
-- that marks receipts delivered (id = ANY (...) AND state = 'sent') can no
-- longer be planned as a walk over every sent row when the statistics of
-- a fast-filling table are stale.
DROP INDEX IF EXISTS outbox_state_id;
CREATE INDEX outbox_state_id ON outbox (state, id)
	WHERE state IN ('queued', 'sending', 'failed', 'expired', 'undelivered', 'cancelled');

-- A modem's report is matched by its reference (ref); an SMSC's receipt by
-- message_id, and an SMSC's parts have no ref. The ref index leaves those
-- parts out: one index entry less for each SMPP message, and the receipt
-- lookup can no longer be planned over it.
DROP INDEX IF EXISTS outbox_parts_match;
CREATE INDEX outbox_parts_match ON outbox_parts (modem, ref, recipient, sent_at)
	WHERE ref IS NOT NULL;

-- One writer per outbox transition (issue 12): every change of
-- outbox.state is a function of db/functions/40_outbox.sql, and the
-- changes allowed are the rows of this table, enforced by a trigger
-- (pigeon_outbox_check_transition). A transition that is not listed
-- raises an error and rolls the statement back.
CREATE TABLE outbox_transitions (
	from_state	text NOT NULL,
	to_state	text NOT NULL,
	why		text NOT NULL,
	PRIMARY KEY (from_state, to_state)
);
INSERT INTO outbox_transitions (from_state, to_state, why) VALUES
    ('queued', 'sending', 'claimed by a host for a link (pigeon_outbox_claim)'),
    ('queued', 'cancelled', 'recipient said STOP, or the post was deleted'),
    ('queued', 'expired', 'validity passed, or held for quiet hours too long'),
    ('sending', 'sent', 'the link took every part (pigeon_outbox_sent)'),
    ('sending', 'queued', 'temporary failure, released unsent, lease expired, host restarted'),
    ('sending', 'failed', 'permanent failure, or the last attempt failed'),
    ('sending', 'expired', 'the retry would come after the validity period'),
    ('sent', 'delivered', 'every part reported delivered'),
    ('sent', 'undelivered', 'a part reported not delivered'),
    ('delivered', 'undelivered', 'a later part reported not delivered');

-- The inbox's 'error' state is now used: a message whose application
-- fails by itself is marked so (pigeon_inbox_failed), with the error in
-- result, instead of being fetched again and again.

-- Messages to one phone leave in the order they were queued, across links
-- and windows (pigeon_outbox_claim): a row is not claimed while an earlier
-- one to the same phone is still open. This index keeps that check to the
-- few open rows of a phone.
CREATE INDEX outbox_recipient_open ON outbox (recipient, id)
	WHERE state IN ('queued', 'sending');

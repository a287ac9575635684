-- The full shortcode language (issue 3): quiet hours, held updates,
-- service settings, counters, and the indexes the limits need.

-- SLEEP hh hh: quiet hours in the service's time zone; NULL = none.
ALTER TABLE accounts ADD COLUMN sleep_from smallint CHECK (sleep_from BETWEEN 0 AND 23);
ALTER TABLE accounts ADD COLUMN sleep_to smallint CHECK (sleep_to BETWEEN 0 AND 23);

-- An update created inside its recipient's quiet hours: when it was held.
-- It waits with next_attempt_at at the end of the window.
ALTER TABLE outbox ADD COLUMN held_since timestamptz;
CREATE INDEX outbox_held ON outbox (recipient) WHERE state = 'queued' AND held_since IS NOT NULL;
CREATE INDEX outbox_recipient_time ON outbox (recipient, created_at);

-- Per-sender command limits look back a minute and a day.
CREATE INDEX inbox_messages_sender ON inbox_messages (sender, received_at);

-- The [pigeon] keys the SQL functions use, written by pigeond at every
-- start (pigeon_settings_load): the last pigeond to start sets them.
CREATE TABLE settings (
	key		text PRIMARY KEY,
	value		text NOT NULL
);

-- Things dropped on purpose, for operators and metrics.
CREATE TABLE counters (
	name		text PRIMARY KEY,
	value		bigint NOT NULL DEFAULT 0
);

-- pigeon_apply takes the parsed command as one jsonb; pigeon_post gains
-- the UCS-2 flag. CREATE OR REPLACE cannot change a signature.
DROP FUNCTION IF EXISTS pigeon_apply(bigint, text, text, text, text, text, text, integer);
DROP FUNCTION IF EXISTS pigeon_post(bigint, text, bigint);

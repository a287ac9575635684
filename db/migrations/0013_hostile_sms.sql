-- Hostile SMS (issue 14, items 4-7): what a part was not as the network
-- sent it, and per modem counts of the SMS libgammu could not decode and
-- of those stored with a field PostgreSQL cannot hold.

-- NULL when nothing is wrong; else why (db/functions/20_inbox.sql):
-- 'binary', 'undecodable: <libgammu error>', 'time stamp out of range: <as read>'.
ALTER TABLE inbox_parts ADD COLUMN problem text;

-- Undecodable SMS read from this modem (stored, then deleted from it).
ALTER TABLE modems ADD COLUMN sms_corrupt bigint NOT NULL DEFAULT 0;
-- SMS stored without a field the database cannot hold (a time zone
-- offset beyond +-15:59): the text is kept, the field as read is in
-- inbox_parts.problem.
ALTER TABLE modems ADD COLUMN sms_damaged bigint NOT NULL DEFAULT 0;

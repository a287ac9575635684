-- A bind's SMSC account on its row, so that a receipt matches a part sent
-- by any bind of the same account (pigeon_account_links, 45_reports.sql):
-- an SMSC delivers a receipt to any receiver bound with the account's
-- system_id, not to the bind that sent the message, and with two
-- [smpp NAME] sections of one account, the receipts that came in on the
-- other bind never matched (their messages stayed sent for ever).
--
-- account: 'SYSTEM_ID@HOST:PORT' (the host in lower case), written by
-- pigeond each time it records a bind's state, from its section, on
-- whichever host drives it; never the password. NULL for a modem (its
-- status reports are its own), and for a bind no pigeond of this schema
-- has recorded yet: such a link matches only its own receipts, as before.
ALTER TABLE modems ADD COLUMN account text;
CREATE INDEX modems_account ON modems (account) WHERE account IS NOT NULL;

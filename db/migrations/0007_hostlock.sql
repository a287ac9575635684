-- Host locks (issue 7): a host owns each of its modems through a session
-- advisory lock (db/functions/50_modems.sql, pigeon_modem_lock). A modem
-- name that two hosts configure (a mistake) is driven by the lock's
-- holder; the other host shows it as 'elsewhere' and waits.

ALTER TABLE modems DROP CONSTRAINT modems_state_check;
ALTER TABLE modems ADD CONSTRAINT modems_state_check CHECK (state IN
    ('starting', 'online', 'offline', 'disabled', 'draining', 'elsewhere'));

-- A host that has this modem in its configuration too and waits for the
-- lock ('' when none): the owner's row stays the owner's, and an operator
-- sees the duplicate configuration from any host. The waiting host tries
-- the lock every few seconds (waiting_seen: its last try) and clears the
-- mark when it stops waiting (SIGTERM, modem removed, lock taken).
ALTER TABLE modems ADD COLUMN waiting_host text NOT NULL DEFAULT '';
ALTER TABLE modems ADD COLUMN waiting_since timestamptz;
ALTER TABLE modems ADD COLUMN waiting_seen timestamptz;

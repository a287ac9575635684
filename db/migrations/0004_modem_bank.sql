-- The modem bank: health, routing memory, retries with a validity period,
-- delivery reports matched per sent part.

-- What the last health poll of each modem said (NULL: not reported).
ALTER TABLE modems ADD COLUMN signal_percent integer;
ALTER TABLE modems ADD COLUMN signal_dbm integer;
ALTER TABLE modems ADD COLUMN registration text;	-- home, roaming, searching, denied, none, unknown
ALTER TABLE modems ADD COLUMN operator text;
ALTER TABLE modems ADD COLUMN operator_name text;
ALTER TABLE modems ADD COLUMN battery_percent integer;
ALTER TABLE modems ADD COLUMN health_at timestamptz;
ALTER TABLE modems ADD COLUMN pid integer;		-- the pigeon-modem process, for ps/kill
ALTER TABLE modems ADD COLUMN restarts bigint NOT NULL DEFAULT 0;
ALTER TABLE modems ADD COLUMN reports_in bigint NOT NULL DEFAULT 0;
ALTER TABLE modems ADD COLUMN reports_unmatched bigint NOT NULL DEFAULT 0;

-- Modems a message failed on (temporary), so a retry prefers the others;
-- and when the whole message was delivered (every part's report).
ALTER TABLE outbox ADD COLUMN failed_modems text[] NOT NULL DEFAULT '{}';
ALTER TABLE outbox ADD COLUMN delivered_at timestamptz;

CREATE INDEX outbox_queued_age ON outbox (created_at) WHERE state = 'queued';

-- The claim and the outcome take new arguments and return more columns:
-- db/functions/40_outbox.sql creates the new ones.
DROP FUNCTION IF EXISTS pigeon_outbox_claim(text, integer, integer);
DROP FUNCTION IF EXISTS pigeon_outbox_failed(bigint, text, text, boolean, integer);
DROP FUNCTION IF EXISTS pigeon_outbox_sent(bigint, text, integer, integer[]);

-- One row per sent part, for matching status reports: the modem, the
-- message reference the network gave the part and the recipient identify
-- it within a time window (references are 0-255 and wrap).
CREATE TABLE outbox_parts (
	outbox_id	bigint NOT NULL REFERENCES outbox ON DELETE CASCADE,
	seq		integer NOT NULL,		-- 1-based
	modem		text NOT NULL,
	ref		integer NOT NULL,
	recipient	text NOT NULL,
	sent_at		timestamptz NOT NULL DEFAULT now(),
	status		integer,			-- TP-Status of the last report
	reported_at	timestamptz,
	PRIMARY KEY (outbox_id, seq)
);
CREATE INDEX outbox_parts_match ON outbox_parts (modem, ref, recipient, sent_at);

-- Every status report read from a modem, matched or not.
CREATE TABLE status_reports (
	id		bigserial PRIMARY KEY,
	dedupe		text NOT NULL UNIQUE,
	modem		text NOT NULL,
	recipient	text NOT NULL,
	ref		integer NOT NULL,
	status		integer NOT NULL,
	smsc_time	timestamptz,
	discharge_time	timestamptz,
	received_at	timestamptz NOT NULL DEFAULT now(),
	outbox_id	bigint REFERENCES outbox ON DELETE SET NULL,	-- NULL: unmatched
	seq		integer
);
CREATE INDEX status_reports_unmatched ON status_reports (received_at) WHERE outbox_id IS NULL;

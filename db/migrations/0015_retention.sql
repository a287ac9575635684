-- Issue 15, items 7, 8 and 2: data retention, /metrics without table
-- scans, per-link send counts that outlive a restart, and the SIM PIN
-- that failed. The functions and triggers are in
-- db/functions/70_retention.sql.

-- /metrics counts by state (inbox, outbox, webhook deliveries) and the
-- delivery-latency histogram. Writers append deltas (statement triggers,
-- no lock on a shared row); the retention job folds them into
-- metric_counts every few seconds; a scrape adds the two.
CREATE TABLE metric_counts (
	name		text NOT NULL,		-- 'in', 'out', 'webhooks', 'latency', 'purged'
	key		text NOT NULL,		-- a state, a bucket, a retention kind
	value		bigint NOT NULL DEFAULT 0,
	PRIMARY KEY (name, key)
);
CREATE TABLE metric_deltas (
	name		text NOT NULL,
	key		text NOT NULL,
	delta		bigint NOT NULL
);
-- Set when the counts were taken from the tables once (70_retention.sql,
-- in the transaction that creates the triggers).
CREATE TABLE metric_seeded (
	seeded_at	timestamptz NOT NULL DEFAULT now()
);

-- Where each retention kind's purge got to: every row of lower id was
-- purged or is kept for good (a post's SMS, a follow still on).
CREATE TABLE retention_cursor (
	kind		text PRIMARY KEY,
	last_id		bigint NOT NULL DEFAULT 0
);

-- SMS parts each link sent per hour (UTC hour start), for the rate
-- limits of [modem] rate: loaded by pigeond when it takes a link's lock.
CREATE TABLE link_hour_counts (
	link		text NOT NULL,
	hour		timestamptz NOT NULL,
	parts		bigint NOT NULL DEFAULT 0,
	last_at		timestamptz NOT NULL DEFAULT now(),	-- its last send
	PRIMARY KEY (link, hour)
);

-- Deleting an inbox message checks the outbox rows that reply to it, and
-- deleting an outbox row sets status_reports.outbox_id to NULL: without
-- these indexes each deleted row would scan the other table.
CREATE INDEX outbox_reply_to ON outbox (reply_to) WHERE reply_to IS NOT NULL;
CREATE INDEX status_reports_outbox ON status_reports (outbox_id) WHERE outbox_id IS NOT NULL;
-- A follow's events, for folding a follow and its unfollow away.
CREATE INDEX follow_events_pair ON follow_events (followee, follower, id);

-- The SIM PIN that the SIM refused (its hash, never the PIN): pigeond
-- does not hand it to the worker again until the configured PIN changes.
ALTER TABLE modems ADD COLUMN pin_refused text NOT NULL DEFAULT '';

-- Issue 17: the audience statistics of a business account read small
-- tables of counts, kept by the writes themselves (statement triggers
-- appending deltas, db/functions/69_audience.sql), instead of a pass over every follower,
-- follow event and SMS of the followers at the first request (about a
-- second for 100,000 followers, then kept 5 minutes in business_audience).
-- The counts are filled from the existing rows at the first start with
-- those triggers, in the transaction that creates them (audience_state).

-- Followers by language and by carrier network (number_ranges, longest
-- prefix; 'unknown' when none matches), per followee. A follower who
-- changes language moves; a change of number_ranges counts them again.
CREATE TABLE audience_groups (
	account_id	bigint NOT NULL REFERENCES accounts ON DELETE CASCADE,
	lang		text NOT NULL,
	network		text NOT NULL,
	people		bigint NOT NULL,
	PRIMARY KEY (account_id, lang, network)
);

-- follow_events counted per followee and quarter hour (UTC): every time
-- zone's offset is a whole number of quarter hours, so each row falls in
-- one day of the service's zone, whichever it is.
CREATE TABLE audience_follows (
	account_id	bigint NOT NULL REFERENCES accounts ON DELETE CASCADE,
	at		timestamptz NOT NULL,
	gained		bigint NOT NULL,
	lost		bigint NOT NULL,
	PRIMARY KEY (account_id, at)
);

-- When an account texts the service: for each hour of the day (the
-- service's zone, audience_state.tz), the latest day it sent an SMS in
-- that hour. "was" is the day before the latest change, which the
-- trigger moves the followees' counts from (an upsert's RETURNING gives
-- the new row only).
CREATE TABLE account_hours (
	account_id	bigint NOT NULL REFERENCES accounts ON DELETE CASCADE,
	hour		smallint NOT NULL CHECK (hour BETWEEN 0 AND 23),
	day		date NOT NULL,
	was		date,
	PRIMARY KEY (account_id, hour)
);
-- The people active in a few hours, for an "other" of hidden hours.
CREATE INDEX account_hours_hour ON account_hours (hour, day);

-- Per followee, hour and day: the followers whose latest SMS in that hour
-- was on that day. Those active in hour h since day D are the sum over
-- the days from D: a window of any length, read from at most 24 rows a day.
CREATE TABLE audience_hours (
	account_id	bigint NOT NULL REFERENCES accounts ON DELETE CASCADE,
	hour		smallint NOT NULL,
	day		date NOT NULL,
	people		bigint NOT NULL,
	PRIMARY KEY (account_id, hour, day)
);

-- What the writes add to the three tables of counts above, folded into
-- them every few seconds (pigeon_audience_fold; a statistics request
-- sums both): the triggers only append here, so concurrent writers never
-- wait on each other for a shared row of counts, whatever the order of
-- the statements in their transactions (as metric_deltas, 0015). No
-- foreign key: a deleted account's rows are dropped at the fold.
CREATE TABLE audience_groups_delta (
	account_id	bigint NOT NULL,
	lang		text NOT NULL,
	network		text NOT NULL,
	people		bigint NOT NULL
);
CREATE INDEX audience_groups_delta_account ON audience_groups_delta (account_id);
CREATE TABLE audience_follows_delta (
	account_id	bigint NOT NULL,
	at		timestamptz NOT NULL,
	gained		bigint NOT NULL,
	lost		bigint NOT NULL
);
CREATE INDEX audience_follows_delta_account ON audience_follows_delta (account_id);
CREATE TABLE audience_hours_delta (
	account_id	bigint NOT NULL,
	hour		smallint NOT NULL,
	day		date NOT NULL,
	people		bigint NOT NULL
);
CREATE INDEX audience_hours_delta_account ON audience_hours_delta (account_id);

-- One row. seeded: the counts were filled from the existing rows. tz: the
-- zone account_hours and audience_hours are in (NULL: not filled yet; a
-- new [pigeon] timezone fills them again from the inbox).
CREATE TABLE audience_state (
	one		boolean PRIMARY KEY DEFAULT true CHECK (one),
	seeded		boolean NOT NULL DEFAULT false,
	tz		text
);
INSERT INTO audience_state DEFAULT VALUES;

-- The cache of the breakdowns goes, and the functions that filled it
-- (pigeon_biz_stats takes one argument less: its keep time).
DROP FUNCTION IF EXISTS pigeon_biz_stats(text, integer, integer, integer, integer);
DROP FUNCTION IF EXISTS pigeon_biz_audience(bigint, date, date, bigint, text, integer);
DROP FUNCTION IF EXISTS pigeon_biz_hours(bigint, timestamptz, text, integer);
DROP TABLE business_audience;

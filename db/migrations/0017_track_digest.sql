-- TRACK word DIGEST [hour] (issue 17, item 4): a tracked word whose
-- posts come once a day, counted, with the top 3, in one SMS, instead of
-- one SMS per post. The functions are in db/functions/37_digest.sql.

-- A digested word makes no copy of a post (pigeon_post skips it).
ALTER TABLE tracks ADD COLUMN digest boolean NOT NULL DEFAULT false;

-- The member's digest hour (service time zone) and when the next digest
-- is due; digest_at is NULL when no word of theirs is digested.
ALTER TABLE accounts ADD COLUMN digest_hour smallint
	CHECK (digest_hour BETWEEN 0 AND 23);
ALTER TABLE accounts ADD COLUMN digest_at timestamptz;
CREATE INDEX accounts_digest_at ON accounts (digest_at) WHERE digest_at IS NOT NULL;

-- One row per member and day (the digest's day, service time zone), sent
-- or not: the key that makes a digest go at most once a day, across
-- restarts and hosts. The posts counted are those of [since, due_at).
CREATE TABLE track_digests (
	account_id	bigint NOT NULL REFERENCES accounts ON DELETE CASCADE,
	day		date NOT NULL,
	since		timestamptz NOT NULL,
	due_at		timestamptz NOT NULL,
	posts		integer NOT NULL,
	result		text NOT NULL,		-- 'sent', 'no posts', 'stopped', 'updates off'
	outbox_id	bigint REFERENCES outbox ON DELETE SET NULL,
	created_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (account_id, day)
);
-- The purge of old outbox rows sets outbox_id to NULL; old days go by day.
CREATE INDEX track_digests_outbox ON track_digests (outbox_id) WHERE outbox_id IS NOT NULL;
CREATE INDEX track_digests_day ON track_digests (day);

-- The counts that the audience statistics read (issue 17, item 2; tables
-- in db/migrations/0019_audience_counts.sql), kept by the writes: a
-- statistics request reads a few hundred small rows, never the followers,
-- the follow events or the inbox. Statement triggers with transition
-- tables, so that a bulk write costs one pass; none on the outbox (the
-- fan-out path), whose reach per post is read from its index by post.
--
-- The triggers append deltas (*_delta), folded into the counts by one
-- transaction at a time (pigeon_audience_fold): no writer waits on
-- another for a row of counts, so a transaction applying many commands
-- in any order cannot deadlock with one storing SMS. A reader sums the
-- counts and the deltas not yet folded: exact at every moment.
--
-- One race is left: a FOLLOW applied while an SMS of the same follower
-- is being stored, in an hour of the day that follower had not texted in
-- since an earlier day, may count that follower's hour for the new
-- followee at the earlier day (the follow's own SMS, stored before the
-- follow is applied, is counted right).
--
-- pigeond applies every file of db/functions/ at every start, in name
-- order, each file in one transaction.

-- The carrier network of a number or of the head of one (as long as the
-- longest range): the longest prefix of number_ranges, else 'unknown'.
CREATE OR REPLACE FUNCTION pigeon_number_network(p_phone text)
RETURNS text LANGUAGE sql STABLE AS $$
	SELECT coalesce((SELECT r.network FROM number_ranges r
	                  WHERE r.prefix = ANY (ARRAY(SELECT left(p_phone, i)
	                                              FROM generate_series(2, 11) i))
	                  ORDER BY length(r.prefix) DESC LIMIT 1), 'unknown');
$$;

-- The head of a number that decides its network: as long as the longest
-- range, so that followers are labelled by head, a few hundred at most.
CREATE OR REPLACE FUNCTION pigeon_number_head_len()
RETURNS integer LANGUAGE sql STABLE AS $$
	SELECT coalesce(max(length(prefix)), 2) FROM number_ranges;
$$;

-- The zone the hour counts are kept in, when it is the service's: NULL
-- while they are not filled (before pigeond wrote its settings once).
CREATE OR REPLACE FUNCTION pigeon_audience_tz()
RETURNS text LANGUAGE sql STABLE AS $$
	SELECT s.tz FROM audience_state s
	 WHERE s.tz = (SELECT value FROM settings WHERE key = 'timezone');
$$;

-- follows, INSERT and DELETE: the followees' groups (language, network)
-- and hours gain or lose the followers.
CREATE OR REPLACE FUNCTION pigeon_audience_follow()
RETURNS trigger LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	plen integer := pigeon_number_head_len();
	ees bigint[];
	ers bigint[];
	d integer := 1;
BEGIN
	IF TG_OP = 'INSERT' THEN
		SELECT array_agg(n.followee), array_agg(n.follower) INTO ees, ers
		  FROM new_rows n;
	ELSE
		-- A followee deleted takes its counts with it (CASCADE).
		SELECT array_agg(o.followee), array_agg(o.follower) INTO ees, ers
		  FROM old_rows o WHERE EXISTS (SELECT 1 FROM accounts a WHERE a.id = o.followee);
		d := -1;
	END IF;
	IF ees IS NULL THEN
		RETURN NULL;
	END IF;
	INSERT INTO audience_groups_delta (account_id, lang, network, people)
	SELECT h.followee, h.lang, pigeon_number_network(h.head), sum(h.n)
	  FROM (SELECT p.followee, a.lang, left(a.phone, plen) AS head, d * count(*) AS n
	          FROM unnest(ees, ers) p(followee, follower)
	          JOIN accounts a ON a.id = p.follower
	         GROUP BY 1, 2, 3) h
	 GROUP BY 1, 2, 3;
	INSERT INTO audience_hours_delta (account_id, hour, day, people)
	SELECT p.followee, h.hour, h.day, d * count(*)
	  FROM unnest(ees, ers) p(followee, follower)
	  JOIN account_hours h ON h.account_id = p.follower
	 GROUP BY 1, 2, 3;
	-- The follow events of these rows (pigeon_follow_event, 0006, adds
	-- them one by one, at now(), an unfollow only while its followee is
	-- there): counted here in one pass for the statement.
	INSERT INTO audience_follows_delta (account_id, at, gained, lost)
	SELECT p.followee, date_bin('15 minutes', now(), timestamptz '2000-01-01Z'),
	       CASE WHEN d > 0 THEN count(*) ELSE 0 END,
	       CASE WHEN d < 0 THEN count(*) ELSE 0 END
	  FROM unnest(ees) p(followee)
	 GROUP BY 1;
	RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER follows_audience_ins AFTER INSERT ON follows
	REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION pigeon_audience_follow();
CREATE OR REPLACE TRIGGER follows_audience_del AFTER DELETE ON follows
	REFERENCING OLD TABLE AS old_rows
	FOR EACH STATEMENT EXECUTE FUNCTION pigeon_audience_follow();

-- follow_events, an update or a delete (retention purges old pairs; the
-- inserts are counted with their follows, above): audience_follows
-- mirrors them per quarter hour. A deleted followee's events go with it
-- (CASCADE), its deltas at the fold.
CREATE OR REPLACE FUNCTION pigeon_audience_follow_event()
RETURNS trigger LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	ees bigint[];
	ats timestamptz[];
	dels integer[];
	ss integer[];
BEGIN
	-- Each event with s = 1 when it comes, -1 when it goes: an UPDATE
	-- is both.
	IF TG_OP = 'UPDATE' THEN
		SELECT array_agg(e.followee), array_agg(e.at), array_agg(e.delta), array_agg(e.s)
		  INTO ees, ats, dels, ss
		  FROM (SELECT o.followee, o.at, o.delta, -1 AS s FROM old_rows o
		        UNION ALL
		        SELECT n.followee, n.at, n.delta, 1 FROM new_rows n) e;
	ELSE
		SELECT array_agg(o.followee), array_agg(o.at), array_agg(o.delta), array_agg(-1)
		  INTO ees, ats, dels, ss FROM old_rows o;
	END IF;
	IF ees IS NULL THEN
		RETURN NULL;
	END IF;
	INSERT INTO audience_follows_delta (account_id, at, gained, lost)
	SELECT e.followee, date_bin('15 minutes', e.at, timestamptz '2000-01-01Z'),
	       coalesce(sum(e.s) FILTER (WHERE e.delta > 0), 0),
	       coalesce(sum(e.s) FILTER (WHERE e.delta < 0), 0)
	  FROM unnest(ees, ats, dels, ss) e(followee, at, delta, s)
	 GROUP BY 1, 2;
	RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER follow_events_audience_upd AFTER UPDATE ON follow_events
	REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION pigeon_audience_follow_event();
CREATE OR REPLACE TRIGGER follow_events_audience_del AFTER DELETE ON follow_events
	REFERENCING OLD TABLE AS old_rows
	FOR EACH STATEMENT EXECUTE FUNCTION pigeon_audience_follow_event();

-- inbox_messages, INSERT: the sender's latest day per hour moves forward,
-- and with it the sender's place in each followee's hour counts. Only
-- the rows that changed (RETURNING of the upsert, which waits for and
-- re-reads a row another writer changed: a row of this sender's, which
-- only the SMS of the same sender share) move counts.
CREATE OR REPLACE FUNCTION pigeon_audience_inbox()
RETURNS trigger LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	tz text := pigeon_audience_tz();
BEGIN
	IF tz IS NULL THEN
		RETURN NULL;	-- filled from the inbox when the zone is known
	END IF;
	WITH m AS (
		SELECT a.id AS account_id,
		       extract(hour FROM n.received_at AT TIME ZONE tz)::smallint AS hour,
		       max((n.received_at AT TIME ZONE tz)::date) AS day
		  FROM new_rows n JOIN accounts a ON a.phone = n.sender
		 GROUP BY 1, 2
	), moved AS (
		-- Most SMS move nothing (their sender texted in that hour
		-- today already): those are left out before the upsert,
		-- which would lock the row even to leave it as it is.
		INSERT INTO account_hours AS h (account_id, hour, day)
		SELECT m.account_id, m.hour, m.day FROM m
		 WHERE NOT EXISTS (SELECT 1 FROM account_hours o
		                    WHERE o.account_id = m.account_id AND o.hour = m.hour
		                      AND o.day >= m.day)
		 ORDER BY 1, 2
		ON CONFLICT (account_id, hour) DO UPDATE
		   SET day = EXCLUDED.day, was = h.day
		 WHERE h.day < EXCLUDED.day
		RETURNING h.account_id, h.hour, h.day, h.was
	)
	INSERT INTO audience_hours_delta (account_id, hour, day, people)
	SELECT f.followee, v.hour, v.day, sum(v.n)
	  FROM moved mv JOIN follows f ON f.follower = mv.account_id
	 CROSS JOIN LATERAL (VALUES (mv.hour, mv.was, -1), (mv.hour, mv.day, 1)) v(hour, day, n)
	 WHERE v.day IS NOT NULL
	 GROUP BY 1, 2, 3;
	RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER inbox_audience_ins AFTER INSERT ON inbox_messages
	REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION pigeon_audience_inbox();

-- accounts, INSERT: a new member's SMS from before they joined (the JOIN
-- itself, a hint asked for) count, as they did when the hours were read
-- from the inbox. Nobody follows a new account yet.
CREATE OR REPLACE FUNCTION pigeon_audience_account_new()
RETURNS trigger LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	tz text := pigeon_audience_tz();
BEGIN
	IF tz IS NULL THEN
		RETURN NULL;
	END IF;
	INSERT INTO account_hours AS h (account_id, hour, day)
	SELECT n.id, extract(hour FROM m.received_at AT TIME ZONE tz)::smallint,
	       max((m.received_at AT TIME ZONE tz)::date)
	  FROM new_rows n JOIN inbox_messages m ON m.sender = n.phone
	 GROUP BY 1, 2 ORDER BY 1, 2
	ON CONFLICT (account_id, hour) DO UPDATE SET day = greatest(h.day, EXCLUDED.day);
	RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER accounts_audience_ins AFTER INSERT ON accounts
	REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION pigeon_audience_account_new();

-- accounts, a new language or number (LANG): the follower moves between
-- groups at each followee. Row-level with a WHEN, so that the frequent
-- updates of other columns cost nothing here.
CREATE OR REPLACE FUNCTION pigeon_audience_account_moved()
RETURNS trigger LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
	INSERT INTO audience_groups_delta (account_id, lang, network, people)
	SELECT f.followee, v.lang, v.network, sum(v.n)
	  FROM follows f
	 CROSS JOIN (VALUES (OLD.lang, pigeon_number_network(OLD.phone), -1),
	                    (NEW.lang, pigeon_number_network(NEW.phone), 1)) v(lang, network, n)
	 WHERE f.follower = NEW.id
	 GROUP BY 1, 2, 3;
	RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER accounts_audience_upd AFTER UPDATE OF lang, phone ON accounts
	FOR EACH ROW WHEN (OLD.lang IS DISTINCT FROM NEW.lang
	                   OR OLD.phone IS DISTINCT FROM NEW.phone)
	EXECUTE FUNCTION pigeon_audience_account_moved();

-- accounts, DELETE (an erasure): the follows it makes go first, while
-- the account is still there for the follows trigger to read its
-- language, number and hours. Its own followers go by the cascade, with
-- its counts.
CREATE OR REPLACE FUNCTION pigeon_audience_account_gone()
RETURNS trigger LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
	DELETE FROM follows WHERE follower = OLD.id;
	RETURN OLD;
END $$;

CREATE OR REPLACE TRIGGER accounts_audience_del BEFORE DELETE ON accounts
	FOR EACH ROW EXECUTE FUNCTION pigeon_audience_account_gone();

-- Every follower's group counted again: at the first start with these
-- counts, and when number_ranges changes (an operator's rare edit; a
-- pass over every follow). Followers counted by language and head first.
-- The deltas this transaction sees are of follows it sees: they go; a
-- follow not committed yet is not counted here, and its delta stays.
CREATE OR REPLACE FUNCTION pigeon_audience_groups_fill()
RETURNS void LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	plen integer := pigeon_number_head_len();
BEGIN
	-- Not while a fold writes the same rows in another order.
	PERFORM pg_advisory_xact_lock(hashtext('pigeon_audience_fold'));
	DELETE FROM audience_groups;
	DELETE FROM audience_groups_delta;
	INSERT INTO audience_groups (account_id, lang, network, people)
	SELECT h.followee, h.lang, pigeon_number_network(h.head), sum(h.n)
	  FROM (SELECT f.followee, a.lang, left(a.phone, plen) AS head, count(*) AS n
	          FROM follows f JOIN accounts a ON a.id = f.follower
	         GROUP BY 1, 2, 3) h
	 GROUP BY 1, 2, 3;
END $$;

CREATE OR REPLACE FUNCTION pigeon_audience_ranges()
RETURNS trigger LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
	PERFORM pigeon_audience_groups_fill();
	RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER number_ranges_audience
	AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON number_ranges
	FOR EACH STATEMENT EXECUTE FUNCTION pigeon_audience_ranges();

-- The hours counted again from the inbox, in zone p_tz: at the first
-- start that knows the zone, and when [pigeon] timezone changes.
CREATE OR REPLACE FUNCTION pigeon_audience_hours_fill(p_tz text)
RETURNS void LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
	PERFORM pg_advisory_xact_lock(hashtext('pigeon_audience_fold'));
	UPDATE audience_state SET tz = p_tz;
	DELETE FROM audience_hours;
	DELETE FROM audience_hours_delta;
	DELETE FROM account_hours;
	INSERT INTO account_hours (account_id, hour, day)
	SELECT a.id, extract(hour FROM m.received_at AT TIME ZONE p_tz)::smallint,
	       max((m.received_at AT TIME ZONE p_tz)::date)
	  FROM inbox_messages m JOIN accounts a ON a.phone = m.sender
	 GROUP BY 1, 2;
	INSERT INTO audience_hours (account_id, hour, day, people)
	SELECT f.followee, h.hour, h.day, count(*)
	  FROM follows f JOIN account_hours h ON h.account_id = f.follower
	 GROUP BY 1, 2, 3;
END $$;

-- settings, written by pigeond at each start: a zone other than the one
-- the hours are in counts them again.
CREATE OR REPLACE FUNCTION pigeon_audience_settings()
RETURNS trigger LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	tz text := (SELECT value FROM settings WHERE key = 'timezone');
BEGIN
	IF tz IS NOT NULL AND tz IS DISTINCT FROM (SELECT s.tz FROM audience_state s) THEN
		PERFORM pigeon_audience_hours_fill(tz);
	END IF;
	RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER settings_audience AFTER INSERT OR UPDATE ON settings
	FOR EACH STATEMENT EXECUTE FUNCTION pigeon_audience_settings();

-- Folds the deltas into the counts every few seconds (pigeond's metric
-- fold, 70_retention.sql), so that a statistics request, which sums the
-- counts and the deltas left, reads a few seconds' deltas at most. One
-- transaction at a time (a second one returns at once): the counts are
-- written by no one else, so it waits for no writer. A row appended
-- while it runs is not seen, and folded next time. The deltas of an
-- account deleted since are dropped. The number of deltas folded.
CREATE OR REPLACE FUNCTION pigeon_audience_fold()
RETURNS integer LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	n integer;
	m integer;
	k integer;
BEGIN
	IF NOT pg_try_advisory_xact_lock(hashtext('pigeon_audience_fold')) THEN
		RETURN 0;
	END IF;
	-- A count that comes to nothing is deleted (z) rather than kept at
	-- 0: a follower texting in an hour moves from its last day to
	-- today, and a row a followee, hour and day stayed behind at 0 each
	-- day (millions a year). The rows z deletes are not upserted.
	WITH d AS (DELETE FROM audience_groups_delta RETURNING *),
	     s AS (SELECT account_id, lang, network, sum(people) AS people, count(*) AS rows
	             FROM d GROUP BY 1, 2, 3),
	     z AS (DELETE FROM audience_groups g USING s
	            WHERE g.account_id = s.account_id AND g.lang = s.lang
	              AND g.network = s.network AND g.people + s.people = 0
	           RETURNING g.account_id, g.lang, g.network),
	     i AS (INSERT INTO audience_groups AS g (account_id, lang, network, people)
	           SELECT s.account_id, s.lang, s.network, s.people FROM s
	            WHERE s.people <> 0
	              AND EXISTS (SELECT 1 FROM accounts a WHERE a.id = s.account_id)
	              AND NOT EXISTS (SELECT 1 FROM z WHERE z.account_id = s.account_id
	                                 AND z.lang = s.lang AND z.network = s.network)
	           ON CONFLICT (account_id, lang, network)
	           DO UPDATE SET people = g.people + EXCLUDED.people)
	SELECT coalesce(sum(s.rows), 0) INTO n FROM s;
	WITH d AS (DELETE FROM audience_follows_delta RETURNING *),
	     s AS (SELECT account_id, at, sum(gained) AS gained, sum(lost) AS lost,
	                  count(*) AS rows
	             FROM d GROUP BY 1, 2),
	     z AS (DELETE FROM audience_follows c USING s
	            WHERE c.account_id = s.account_id AND c.at = s.at
	              AND c.gained + s.gained = 0 AND c.lost + s.lost = 0
	           RETURNING c.account_id, c.at),
	     i AS (INSERT INTO audience_follows AS c (account_id, at, gained, lost)
	           SELECT s.account_id, s.at, s.gained, s.lost FROM s
	            WHERE (s.gained <> 0 OR s.lost <> 0)
	              AND EXISTS (SELECT 1 FROM accounts a WHERE a.id = s.account_id)
	              AND NOT EXISTS (SELECT 1 FROM z WHERE z.account_id = s.account_id
	                                 AND z.at = s.at)
	           ON CONFLICT (account_id, at) DO UPDATE
	              SET gained = c.gained + EXCLUDED.gained, lost = c.lost + EXCLUDED.lost)
	SELECT coalesce(sum(s.rows), 0) INTO m FROM s;
	WITH d AS (DELETE FROM audience_hours_delta RETURNING *),
	     s AS (SELECT account_id, hour, day, sum(people) AS people, count(*) AS rows
	             FROM d GROUP BY 1, 2, 3),
	     z AS (DELETE FROM audience_hours x USING s
	            WHERE x.account_id = s.account_id AND x.hour = s.hour
	              AND x.day = s.day AND x.people + s.people = 0
	           RETURNING x.account_id, x.hour, x.day),
	     i AS (INSERT INTO audience_hours AS x (account_id, hour, day, people)
	           SELECT s.account_id, s.hour, s.day, s.people FROM s
	            WHERE s.people <> 0
	              AND EXISTS (SELECT 1 FROM accounts a WHERE a.id = s.account_id)
	              AND NOT EXISTS (SELECT 1 FROM z WHERE z.account_id = s.account_id
	                                 AND z.hour = s.hour AND z.day = s.day)
	           ON CONFLICT (account_id, hour, day)
	           DO UPDATE SET people = x.people + EXCLUDED.people)
	SELECT coalesce(sum(s.rows), 0) INTO k FROM s;
	RETURN n + m + k;
END $$;

-- The first start with these triggers fills the counts from the rows
-- already there. CREATE TRIGGER above locked the tables against writers
-- until this transaction commits: no write is counted twice or missed.
DO $$
DECLARE
	tz text := (SELECT value FROM settings WHERE key = 'timezone');
BEGIN
	IF (SELECT seeded FROM audience_state) THEN
		RETURN;
	END IF;
	PERFORM pigeon_audience_groups_fill();	-- takes the fold's lock
	DELETE FROM audience_follows;
	DELETE FROM audience_follows_delta;
	INSERT INTO audience_follows (account_id, at, gained, lost)
	SELECT e.followee, date_bin('15 minutes', e.at, timestamptz '2000-01-01Z'),
	       count(*) FILTER (WHERE e.delta > 0), count(*) FILTER (WHERE e.delta < 0)
	  FROM follow_events e GROUP BY 1, 2;
	IF tz IS NOT NULL THEN
		PERFORM pigeon_audience_hours_fill(tz);
	END IF;
	UPDATE audience_state SET seeded = true;
END $$;

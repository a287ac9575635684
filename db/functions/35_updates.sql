-- Settings, posts and their fan-out, quiet hours, operator sends.
--
-- pigeond applies every file of db/functions/ at every start, in name
-- order, after the migrations and under the same advisory lock; they hold
-- only CREATE OR REPLACE statements. Every unit of work is one statement
-- and one transaction calling one of these functions.

-- A [pigeon] key as the last pigeond to start wrote it
-- (pigeon_settings_load). The defaults live once, in pigeond's table of
-- keys (gateway/config.c), which writes every key at each start: a key
-- missing here is an error, never a second default.
--
-- Read once a transaction: the first read keeps the value in a variable
-- of the transaction (pigeon_s.KEY, pigeon_i.KEY for an integer), which
-- the next ones read. A batch of SMS is applied in one transaction, and
-- read the same few settings six times a message from the table: 120,000
-- reads for 20,000 SMS, a tenth of the database's time (docs/
-- performance.md). pigeon_setting and pigeon_setting_int are SQL
-- functions with no subquery, so that the planner inlines them into
-- their callers; the table is read only by the loader, and a write to
-- it clears what its transaction kept (settings_written).
CREATE OR REPLACE FUNCTION pigeon_setting_missing(p_key text)
RETURNS text LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
	RAISE EXCEPTION 'setting % is not loaded (pigeond writes the settings when it connects)',
	    p_key;
END $$;

-- The value from the table, kept for the rest of the transaction: as
-- text ('v' before it: an empty value is a value), or with p_int as an
-- integer, which a value that is none is not. STABLE, as the readers
-- that call it must be to be inlined: its only effect is that variable.
CREATE OR REPLACE FUNCTION pigeon_setting_load(p_key text, p_int boolean)
RETURNS text LANGUAGE plpgsql STABLE SET search_path = public, pg_temp AS $$
DECLARE
	v text := (SELECT value FROM settings WHERE key = p_key
	           AND (NOT p_int OR value ~ '^[0-9]{1,9}$'));
BEGIN
	IF v IS NULL THEN
		RETURN pigeon_setting_missing(p_key);
	END IF;
	IF p_key ~ '^[a-z0-9_]+$' THEN
		PERFORM set_config(CASE WHEN p_int THEN 'pigeon_i.' ELSE 'pigeon_s.' END
		    || p_key, CASE WHEN p_int THEN v ELSE 'v' || v END, true);
	END IF;
	RETURN v;
END $$;

-- A key written (pigeon_settings_load, or an UPDATE of the table by
-- hand) is read from the table again by the transaction that wrote it.
CREATE OR REPLACE FUNCTION pigeon_setting_written()
RETURNS trigger LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
	PERFORM set_config(v.prefix || k.key, '', true)
	   FROM (SELECT OLD.key WHERE TG_OP <> 'INSERT'
	         UNION SELECT NEW.key WHERE TG_OP <> 'DELETE') k(key),
	        (VALUES ('pigeon_s.'), ('pigeon_i.')) v(prefix)
	  WHERE k.key ~ '^[a-z0-9_]+$';
	RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER settings_written
	AFTER INSERT OR UPDATE OR DELETE ON settings
	FOR EACH ROW EXECUTE FUNCTION pigeon_setting_written();

CREATE OR REPLACE FUNCTION pigeon_setting(p_key text)
RETURNS text LANGUAGE sql STABLE AS $$
	SELECT coalesce(substr(nullif(current_setting('pigeon_s.' || p_key, true), ''), 2),
	    pigeon_setting_load(p_key, false));
$$;

CREATE OR REPLACE FUNCTION pigeon_setting_int(p_key text)
RETURNS integer LANGUAGE sql STABLE AS $$
	SELECT coalesce(nullif(current_setting('pigeon_i.' || p_key, true), '')::integer,
	    pigeon_setting_load(p_key, true)::integer);
$$;

-- Called by pigeond at every start with its [pigeon] keys. An unknown
-- time zone is refused here (the old settings stay). (An older pigeond
-- never writes its settings over newer functions: it refuses to start
-- on them first, migrate.c.)
CREATE OR REPLACE FUNCTION pigeon_settings_load(p_settings jsonb)
RETURNS integer LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	n integer;
BEGIN
	IF p_settings ? 'timezone' THEN
		PERFORM now() AT TIME ZONE (p_settings->>'timezone');
	END IF;
	DELETE FROM settings;
	INSERT INTO settings (key, value)
	SELECT key, value FROM jsonb_each_text(p_settings);
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END $$;

CREATE OR REPLACE FUNCTION pigeon_count(p_name text, p_n bigint)
RETURNS void LANGUAGE sql AS $$
	INSERT INTO counters AS c (name, value) VALUES (p_name, p_n)
	ON CONFLICT (name) DO UPDATE SET value = c.value + EXCLUDED.value;
$$;

-- The end of the quiet window [p_from, p_to) (hours in the configured
-- time zone; it may wrap midnight) when now is inside it, else NULL.
CREATE OR REPLACE FUNCTION pigeon_quiet_end(p_from smallint, p_to smallint)
RETURNS timestamptz LANGUAGE plpgsql STABLE SET search_path = public, pg_temp AS $$
DECLARE
	tz text := pigeon_setting('timezone');
	local timestamp;
	h integer;
	e timestamp;
BEGIN
	IF p_from IS NULL OR p_to IS NULL OR p_from = p_to THEN
		RETURN NULL;
	END IF;
	local := now() AT TIME ZONE tz;
	h := extract(hour FROM local);
	IF NOT (CASE WHEN p_from < p_to THEN h >= p_from AND h < p_to
	             ELSE h >= p_from OR h < p_to END) THEN
		RETURN NULL;
	END IF;
	e := date_trunc('day', local) + make_interval(hours => p_to);
	IF e <= local THEN
		e := e + interval '1 day';
	END IF;
	RETURN e AT TIME ZONE tz;
END $$;

-- Holds the queued message p_id, when there is one, for its recipient's
-- quiet hours as the updates it speaks of are held (the daily caps'
-- notices). The id.
CREATE OR REPLACE FUNCTION pigeon_hold_quiet(p_id bigint)
RETURNS bigint LANGUAGE sql SET search_path = public, pg_temp AS $$
	UPDATE outbox o SET next_attempt_at = q.quiet_end, held_since = now()
	  FROM accounts a,
	       LATERAL (SELECT pigeon_quiet_end(a.sleep_from, a.sleep_to) AS quiet_end) q
	 WHERE o.id = p_id AND o.state = 'queued' AND a.phone = o.recipient
	   AND q.quiet_end IS NOT NULL;
	SELECT p_id;
$$;

-- Re-times the held updates of one recipient (p_phone) or of everyone
-- (NULL) for the current windows and time zone: released when the
-- recipient is outside their window now. Returns the rows released.
CREATE OR REPLACE FUNCTION pigeon_hold_retime(p_phone text)
RETURNS integer LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	n integer;
BEGIN
	WITH r AS (
		UPDATE outbox o
		   SET next_attempt_at = coalesce(pigeon_quiet_end(a.sleep_from, a.sleep_to), now())
		  FROM accounts a
		 WHERE o.state = 'queued' AND o.held_since IS NOT NULL
		   AND a.phone = o.recipient
		   AND (p_phone IS NULL OR o.recipient = p_phone)
		RETURNING o.next_attempt_at
	)
	SELECT count(*) INTO n FROM r WHERE next_attempt_at <= now();
	IF n > 0 THEN
		PERFORM pg_notify('pigeon_outbox', '');
	END IF;
	RETURN n;
END $$;

-- Held updates older than hold_max_age seconds are dropped and counted.
CREATE OR REPLACE FUNCTION pigeon_hold_expire()
RETURNS integer LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	age integer := pigeon_setting_int('hold_max_age');
	n integer;
BEGIN
	n := pigeon_outbox_expire_held(age);
	IF n > 0 THEN
		PERFORM pigeon_count('held_expired', n);
	END IF;
	RETURN n;
END $$;

-- Called by pigeond whenever its database connection comes up, after
-- pigeon_settings_load: the time zone or the windows may have changed.
CREATE OR REPLACE FUNCTION pigeon_start()
RETURNS text LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	expired integer := pigeon_hold_expire();
	released integer := pigeon_hold_retime(NULL);
BEGIN
	RETURN format('%s held update(s) expired, %s released', expired, released);
END $$;

-- The copies of post p_post for the followers p_followers and, with
-- p_words, for the trackers of one of them (p_track_cap, p_today: their
-- daily allowance), made once each, in one statement, deduplicated per
-- member (a follower who also tracks a word of the post gets one SMS, as
-- a follower). See pigeon_post for who gets one.
CREATE OR REPLACE FUNCTION pigeon_post_copies(p_post bigint, p_account bigint,
    p_author text, p_text text, p_cap integer, p_followers bigint[],
    p_words text[], p_track_cap integer, p_today date)
RETURNS void LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
	-- The copy's form of the text (38_caps.sql): what costs parts and
	-- shows nothing is not sent; the post keeps it.
	p_text := pigeon_sms_copy(p_text);
	-- Each member once: the followers, then the trackers who do not
	-- follow (a member tracking two words of the post is one tracker).
	WITH wanted AS (
		SELECT f.id, true AS follows
		  FROM unnest(p_followers) AS f(id)
		UNION ALL
		SELECT DISTINCT t.account_id, false
		  FROM tracks t
		 WHERE t.term = ANY (p_words) AND t.account_id <> p_account
		   AND NOT t.digest	-- once a day instead (37_digest.sql)
		   AND NOT EXISTS (SELECT 1 FROM follows f
		                    WHERE f.followee = p_account
		                      AND f.follower = t.account_id AND f.sms)
	), r AS (
		SELECT a.id, a.phone, d.follows, a.suspended_at,
		       -- Most recipients keep no quiet hours: skip the call,
		       -- which would return NULL for them (fan-out speed).
		       CASE WHEN a.sleep_from IS NOT NULL AND a.sleep_to IS NOT NULL
		             AND a.sleep_from <> a.sleep_to
		            THEN pigeon_quiet_end(a.sleep_from, a.sleep_to)
		       END AS quiet_end
		  FROM wanted d
		  JOIN accounts a ON a.id = d.id
		 WHERE a.updates_on
		   -- A track_day after today is the server's clock stepped
		   -- back over midnight: that day's count still holds.
		   AND (d.follows OR a.track_day IS NULL OR a.track_day < p_today
		        OR a.track_sent < p_track_cap)
		   AND NOT EXISTS (SELECT 1 FROM optouts o WHERE o.phone = a.phone)
	)
	-- A suspended member's copy is born cancelled (64_moderation.sql:
	-- the trigger that does so for other rows leaves copies to this).
	INSERT INTO outbox (recipient, text, class, post_id, max_parts, more,
	    next_attempt_at, held_since, via, state, last_error)
	SELECT r.phone, '@' || p_author || ': ' || p_text, 2, p_post, least(p_cap, 10),
	       '… GET ' || p_author, coalesce(r.quiet_end, now()),
	       CASE WHEN r.quiet_end IS NOT NULL THEN now() END,
	       CASE WHEN r.follows THEN 'follow' ELSE 'track' END,
	       CASE WHEN r.suspended_at IS NULL THEN 'queued' ELSE 'cancelled' END,
	       CASE WHEN r.suspended_at IS NOT NULL THEN 'account suspended' END
	  FROM r
	ON CONFLICT (post_id, recipient) DO NOTHING;
END $$;

-- The next chunk of a fan-out left by pigeon_post (the oldest one no
-- other session holds), in the caller's transaction: its copies are made
-- and `after` moves, or the row goes when the chunk was the last. Returns
-- false when no fan-out is left to do. Followers who said STOP, turned
-- updates OFF or unfollowed since the post are left out, as they would
-- have been had they been in the first chunk a moment later.
CREATE OR REPLACE FUNCTION pigeon_fanout_step()
RETURNS boolean LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	f fanouts;
	chunk integer := pigeon_setting_int('fanout_chunk');
	ids bigint[];
BEGIN
	-- The oldest fan-out, but never one whose author has an older one
	-- left (another host may be making its chunk): an author's posts
	-- reach each follower in the order they were posted.
	SELECT * INTO f FROM fanouts n
	 WHERE NOT EXISTS (SELECT 1 FROM fanouts e
	                    WHERE e.account_id = n.account_id AND e.post_id < n.post_id)
	 ORDER BY n.created_at, n.post_id
	 LIMIT 1 FOR UPDATE SKIP LOCKED;
	IF NOT FOUND THEN
		RETURN false;
	END IF;
	-- A post deleted since (pigeon_outbox_cancel_post deletes the row
	-- too; this is for one deleted by other means), or whose author was
	-- suspended since (pigeon_mod_suspend too): no more copies.
	IF EXISTS (SELECT 1 FROM posts p WHERE p.id = f.post_id
	            AND p.deleted_at IS NOT NULL)
	   OR EXISTS (SELECT 1 FROM accounts a WHERE a.id = f.account_id
	               AND a.suspended_at IS NOT NULL) THEN
		DELETE FROM fanouts WHERE post_id = f.post_id;
		RETURN true;
	END IF;
	ids := ARRAY(SELECT fo.follower FROM follows fo
	              WHERE fo.followee = f.account_id AND fo.sms
	                AND fo.follower > f.after
	              ORDER BY fo.follower LIMIT chunk);
	PERFORM pigeon_post_copies(f.post_id, f.account_id, f.author,
	    (SELECT p.text FROM posts p WHERE p.id = f.post_id), f.cap, ids,
	    NULL, NULL, NULL);
	IF cardinality(ids) = chunk THEN
		UPDATE fanouts SET after = ids[chunk] WHERE post_id = f.post_id;
	ELSE
		DELETE FROM fanouts WHERE post_id = f.post_id;
	END IF;
	RETURN true;
END $$;

-- A post and its fan-out to followers and trackers: the copies of every
-- tracker and of the first fanout_chunk followers (in id order) are made
-- here, in one statement (pigeon_post_copies), and the other followers'
-- are left to the table fanouts, for pigeon_fanout_step to make a chunk
-- a transaction (pigeond runs them as soon as this commits: sending
-- starts with the first chunk). A copy is cut to fanout_parts_gsm or
-- fanout_parts_ucs2 parts (p_ucs2 says which; NULL, unknown, takes the
-- UCS-2 cap) with "… GET author" at the cut, and
-- held to the end of the recipient's quiet hours when they are in them.
-- Followers with SMS on for the author and trackers of one of its words
-- (never the author) get it, when their updates are ON and they did not
-- say STOP; a tracker gets at most track_day tracking SMS a day (service
-- time zone) and one warning when the cap is reached. The count's day
-- never goes back: a clock stepped back over midnight does not give the
-- day before's allowance again (test_rel_clock).
CREATE OR REPLACE FUNCTION pigeon_post(p_account bigint, p_text text,
    p_inbox bigint, p_ucs2 boolean DEFAULT NULL)
RETURNS bigint LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	pid bigint;
	author text;
	words text[];
	cap integer;
	track_cap integer;	-- read only when someone tracks a word of the post
	today date;
	cap_phones text[];
	cap_langs text[];
	warning bigint;		-- a tracker's cap warning
	chunk integer;
	ids bigint[];
	behind boolean;		-- an earlier post of the author still fans out
	line_copy text;		-- its SMS copies' text (pigeon_sms_copy)
BEGIN
	-- One line (38_caps.sql): the copy "@author: text" must not show a
	-- second line that looks like another author. API posts too.
	p_text := pigeon_sms_line(p_text);
	-- Its coding was asked of libgammu on the text as it came (an SMS, an
	-- API post): a no-break space (web forms put them) made it UCS-2,
	-- where the line that goes out, a plain space in its place, is GSM-7;
	-- so did a mark the copies leave out (pigeon_sms_copy). Not when the
	-- copy is longer ("…" is three dots): a 140-character post with a few
	-- went out cut to GSM-7's one part; with the UCS-2 cap it goes whole,
	-- in GSM-7 still, in the parts it needs.
	line_copy := pigeon_sms_copy(p_text);
	IF p_ucs2 AND pigeon_digest_gsm7(line_copy) AND length(line_copy) <= length(p_text) THEN
		p_ucs2 := false;
	END IF;
	words := pigeon_terms(p_text);
	INSERT INTO posts (account_id, text, inbox_id, terms)
	    VALUES (p_account, p_text, p_inbox, words)
	    RETURNING id INTO pid;
	IF EXISTS (SELECT 1 FROM tracks t WHERE t.term = ANY (words) AND NOT t.digest) THEN
		track_cap := pigeon_setting_int('track_day');
		today := (now() AT TIME ZONE pigeon_setting('timezone'))::date;
	ELSIF NOT EXISTS (SELECT 1 FROM follows f WHERE f.followee = p_account) THEN
		RETURN pid;	-- nobody to send it to: the post alone
	END IF;
	SELECT handle INTO author FROM accounts WHERE id = p_account;
	cap := CASE WHEN p_ucs2 IS FALSE THEN pigeon_setting_int('fanout_parts_gsm')
	            ELSE pigeon_setting_int('fanout_parts_ucs2') END;
	-- The first chunk of followers (in id order) and every tracker now;
	-- the rest in chunks of their own (pigeon_fanout_step). While an
	-- earlier post of the author is still being fanned out, no follower's
	-- copy is made here: the whole fan-out waits behind that one, so that
	-- no follower gets this post before the earlier one (a follower of
	-- this first chunk may be in one of its chunks not made yet).
	chunk := pigeon_setting_int('fanout_chunk');
	behind := EXISTS (SELECT 1 FROM fanouts f WHERE f.account_id = p_account);
	ids := CASE WHEN behind THEN '{}' ELSE ARRAY(SELECT f.follower FROM follows f
	              WHERE f.followee = p_account AND f.sms
	              ORDER BY f.follower LIMIT chunk) END;
	IF behind OR cardinality(ids) = chunk THEN
		INSERT INTO fanouts (post_id, account_id, author, cap, after)
		VALUES (pid, p_account, author, least(cap, 10), coalesce(ids[chunk], 0));
		PERFORM pg_notify('pigeon_fanout', '');
	END IF;
	PERFORM pigeon_post_copies(pid, p_account, author, p_text, cap, ids,
	    words, track_cap, today);
	IF track_cap IS NULL THEN
		RETURN pid;	-- nobody tracks its words: nothing to count
	END IF;
	-- The trackers' daily counts, from the copies just made (a partial
	-- index holds only tracking copies), locked in id order: two posts
	-- counting the same trackers from two hosts cannot deadlock.
	WITH counted AS (
		UPDATE accounts a
		   SET track_sent = CASE WHEN a.track_day >= today
		                         THEN a.track_sent + 1 ELSE 1 END,
		       track_day = greatest(a.track_day, today)
		  FROM (SELECT l.id FROM accounts l
		         WHERE l.phone IN (SELECT o.recipient FROM outbox o
		                            WHERE o.post_id = pid AND o.via = 'track')
		         ORDER BY l.id FOR UPDATE) l
		 WHERE a.id = l.id
		RETURNING a.phone, a.lang, a.track_sent
	)
	SELECT array_agg(c.phone), array_agg(c.lang)
	  INTO cap_phones, cap_langs
	  FROM counted c WHERE c.track_sent = track_cap;
	-- The copy that reached the cap is queued; the warning follows it,
	-- held as it is in the member's quiet hours. In the copies' class:
	-- a reply's would leave before copies queued behind a fan-out (a
	-- phone's messages keep their order within a class only), and the
	-- tracker was told "you got 3" before any of the 3 came.
	FOR i IN 1 .. coalesce(array_length(cap_phones, 1), 0) LOOP
		warning := pigeon_hold_quiet(pigeon_reply(cap_phones[i], cap_langs[i],
		    'track_cap', ARRAY[track_cap::text]));
		UPDATE outbox SET class = 2 WHERE id = warning;
	END LOOP;
	RETURN pid;	-- the outbox_insert_notify trigger wakes the scheduler
END $$;

-- An operator's send (the HTTP API): the outbox id, or NULL when the
-- phone said STOP. Never held, never capped.
CREATE OR REPLACE FUNCTION pigeon_send(p_to text, p_text text, p_class smallint)
RETURNS bigint LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	oid bigint;
BEGIN
	IF EXISTS (SELECT 1 FROM optouts WHERE phone = p_to) THEN
		RETURN NULL;
	END IF;
	INSERT INTO outbox (recipient, text, class)
	    VALUES (p_to, p_text, coalesce(p_class, 1))
	    RETURNING id INTO oid;
	RETURN oid;	-- the outbox_insert_notify trigger wakes the scheduler
END $$;

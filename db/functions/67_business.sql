-- Business accounts (issue 17, items 1 and 2): the operator's switch,
-- API keys scoped to one account, scheduled posts, tracked words by API,
-- and the audience statistics (GET /api/accounts/HANDLE/stats). Nothing
-- here answers a phone number.
--
-- pigeond applies every file of db/functions/ at every start, in name
-- order, after the migrations and under the same advisory lock; they hold
-- only CREATE OR REPLACE statements.
--
-- Lock order: the account's row first, then its keys, then its scheduled
-- posts, as pigeon_mod_erase takes them (the account FOR UPDATE, then
-- its delete cascades to the keys and posts). A function here that
-- writes or holds a key or a scheduled post first reads the account
-- FOR KEY SHARE (the lock its foreign keys take anyway): it waits for an
-- erasure in progress, then finds no account, where holding the key
-- first deadlocked with the erasure's cascade. The janitor, which must
-- take a due post first, skips an account it cannot lock at once.

-- POST / DELETE /api/users/HANDLE/business (operator). Turning it off
-- revokes the account's keys and cancels its scheduled posts: a key
-- must not outlive the contract it was issued under. NULL: no account.
CREATE OR REPLACE FUNCTION pigeon_biz_mark(p_handle text, p_on boolean)
RETURNS jsonb LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	a accounts;
BEGIN
	UPDATE accounts SET business_since = CASE WHEN p_on
	           THEN coalesce(business_since, now()) END
	 WHERE handle = lower(p_handle)
	RETURNING * INTO a;
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	IF NOT p_on THEN
		UPDATE api_keys SET revoked_at = now()
		 WHERE account_id = a.id AND revoked_at IS NULL;
		UPDATE scheduled_posts SET state = 'cancelled', done_at = now()
		 WHERE account_id = a.id AND state = 'scheduled';
	END IF;
	RETURN jsonb_build_object('handle', a.handle, 'business', p_on,
	    'business_since', a.business_since);
END $$;

-- POST /api/users/HANDLE/keys: stores the hash of a new key's secret
-- (pigeond made the secret and shows it once). {"id"} or {"error":
-- "no_user" | "not_business"}.
CREATE OR REPLACE FUNCTION pigeon_biz_key_add(p_handle text, p_hash text,
    p_label text)
RETURNS jsonb LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	a accounts;
	kid bigint;
BEGIN
	SELECT * INTO a FROM accounts WHERE handle = lower(p_handle) FOR KEY SHARE;
	IF NOT FOUND THEN
		RETURN jsonb_build_object('error', 'no_user');
	END IF;
	IF a.business_since IS NULL THEN
		RETURN jsonb_build_object('error', 'not_business');
	END IF;
	INSERT INTO api_keys (account_id, hash, label)
	    VALUES (a.id, p_hash, coalesce(p_label, ''))
	    RETURNING id INTO kid;
	RETURN jsonb_build_object('id', kid, 'handle', a.handle);
END $$;

-- What pigeond checks a key against: its hash and its account, while the
-- key is not revoked; NULL otherwise.
CREATE OR REPLACE FUNCTION pigeon_biz_key(p_id bigint)
RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('hash', k.hash, 'account', a.id,
	    'handle', a.handle, 'business', a.business_since IS NOT NULL,
	    'suspended', a.suspended_at IS NOT NULL)
	  FROM api_keys k JOIN accounts a ON a.id = k.account_id
	 WHERE k.id = p_id AND k.revoked_at IS NULL;
$$;

-- GET /api/users/HANDLE/keys: the keys, never a secret or a hash.
CREATE OR REPLACE FUNCTION pigeon_biz_keys(p_handle text)
RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('handle', a.handle,
	    'business', a.business_since IS NOT NULL,
	    'business_since', a.business_since,
	    'keys', (SELECT coalesce(jsonb_agg(jsonb_build_object('id', k.id,
	                 'label', k.label, 'created_at', k.created_at,
	                 'revoked_at', k.revoked_at) ORDER BY k.id), '[]'::jsonb)
	               FROM api_keys k WHERE k.account_id = a.id))
	  FROM accounts a WHERE a.handle = lower(p_handle);
$$;

-- DELETE /api/users/HANDLE/keys/ID: {"id", "revoked_at",
-- "cancelled_posts"}, NULL when the account has no such key. Revoking
-- twice keeps the first time. A key is revoked because it leaked: the
-- posts scheduled with it that are still waiting are cancelled in the
-- same transaction (an attacker's would otherwise go out to every
-- follower at their time); posts of the operator's tokens, of the
-- account's other keys, and rows from before migration 0030 (key_id
-- NULL) stay. "cancelled_posts": how many this call cancelled (0 the
-- second time). A post being scheduled with the key at this moment holds
-- its row (pigeon_biz_post): the UPDATE waits for it, then cancels it
-- too; a post of the key being posted by the janitor (its row locked)
-- has left already and stays posted. The account's row first (the
-- erasure's order): a key of an account being erased is gone with it.
CREATE OR REPLACE FUNCTION pigeon_biz_key_revoke(p_handle text, p_id bigint)
RETURNS jsonb LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	at timestamptz;
	n integer;
BEGIN
	PERFORM 1 FROM accounts WHERE handle = lower(p_handle) FOR KEY SHARE;
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	UPDATE api_keys k SET revoked_at = coalesce(k.revoked_at, now())
	  FROM accounts a
	 WHERE k.id = p_id AND a.id = k.account_id AND a.handle = lower(p_handle)
	RETURNING k.revoked_at INTO at;
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	UPDATE scheduled_posts SET state = 'cancelled', done_at = now()
	 WHERE key_id = p_id AND state = 'scheduled';
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN jsonb_build_object('id', p_id, 'revoked_at', at, 'cancelled_posts', n);
END $$;

-- POST /api/posts with or without send_at. send_at is ISO 8601 (pigeond
-- checked its shape and writes it as YYYY-MM-DDTHH:MM:SS.ffffff[+HH:MM]);
-- without an offset it is read in the service's time zone (a flash sale
-- "at 18:00" is 18:00 where the members are). A time already past posts
-- at once. {"id"} (posted), {"scheduled", "send_at"} (send_at in UTC,
-- whatever the session's zone, as every time the API answers), or
-- {"error": "no_user"
-- | "suspended" | "empty" | "too_long" | "bad_time" | "too_far" |
-- "key_reused"}. A
-- suspended account posts nothing, even with an operator's token: its
-- post went to the webhooks and used up its trackers' daily allowance,
-- while its copies were cancelled. The text is made one line first, as a
-- post by SMS (pigeon_apply_post): one of spaces and invisible characters
-- only ("\u200b", "\u00a0\u2028") is empty, refused now rather than sent
-- to every follower as "@shop: " (at once or at send_at), and post_max
-- counts the characters of the line that goes out. p_ucs2: whether
-- libgammu sends the text as UCS-2 (pigeond asks it, as for a post by
-- SMS): the fan-out's cap of parts (fanout_parts_ucs2 or
-- fanout_parts_gsm, pigeon_post), kept with a scheduled post; NULL, not
-- known, takes the UCS-2 cap. p_key: the business key pigeond checked
-- (NULL: an operator's token), kept with a scheduled post so that
-- revoking the key cancels it (pigeon_biz_key_revoke). Its row is held
-- (FOR SHARE) until this commits, and a key revoked since pigeond
-- checked it posts nothing ({"error": "revoked"}): a post scheduled
-- while the key was being revoked would otherwise escape the cancel.
-- The account's row is read FOR KEY SHARE before the key is taken (the
-- erasure's order): a post of an account being erased waits for it,
-- then answers no_user. p_idem: the request's idempotency key, already
-- its caller's own (pigeond puts the route and the token or key in it),
-- and p_request the digest of its body: within 24 hours the same key
-- and body answer the first answer with "replayed": true and post
-- nothing; another body under it is {"error": "key_reused"}
-- (pigeon_api_key_find, as POST /api/messages).
DROP FUNCTION IF EXISTS pigeon_biz_post(text, text, integer, text, integer);
DROP FUNCTION IF EXISTS pigeon_biz_post(text, text, integer, text, integer, boolean);
DROP FUNCTION IF EXISTS pigeon_biz_post(text, text, integer, text, integer, boolean,
    bigint);
CREATE OR REPLACE FUNCTION pigeon_biz_post(p_handle text, p_text text,
    p_post_max integer, p_send_at text, p_ahead_s integer,
    p_ucs2 boolean DEFAULT NULL, p_key bigint DEFAULT NULL,
    p_idem text DEFAULT NULL, p_request text DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	acct bigint;
	susp boolean;
	due timestamptz;
	sid bigint;
	pid bigint;
	res jsonb;
BEGIN
	IF p_idem IS NOT NULL THEN
		res := pigeon_api_key_find(p_idem, p_request);
		IF res IS NOT NULL THEN
			RETURN res;
		END IF;
	END IF;
	SELECT id, suspended_at IS NOT NULL INTO acct, susp FROM accounts
	 WHERE handle = lower(p_handle) FOR KEY SHARE;
	IF acct IS NULL THEN
		RETURN jsonb_build_object('error', 'no_user');
	END IF;
	IF susp THEN
		RETURN jsonb_build_object('error', 'suspended');
	END IF;
	IF p_key IS NOT NULL THEN
		PERFORM 1 FROM api_keys k
		  WHERE k.id = p_key AND k.account_id = acct AND k.revoked_at IS NULL
		  FOR SHARE;
		IF NOT FOUND THEN
			RETURN jsonb_build_object('error', 'revoked');
		END IF;
	END IF;
	p_text := pigeon_sms_line(p_text);
	IF p_text IS NULL OR pigeon_text_blank(p_text) THEN
		RETURN jsonb_build_object('error', 'empty');
	END IF;
	IF length(p_text) > p_post_max THEN
		RETURN jsonb_build_object('error', 'too_long', 'length', length(p_text));
	END IF;
	IF p_send_at IS NOT NULL THEN
		-- Without an offset, the service's zone. (The session's zone
		-- stays as it is: an answer's time is written in UTC below.)
		BEGIN
			due := CASE WHEN p_send_at ~ '([zZ]|[+-][0-9:]+)$'
			    THEN p_send_at::timestamptz
			    ELSE p_send_at::timestamp AT TIME ZONE pigeon_setting('timezone') END;
		EXCEPTION WHEN others THEN
			RETURN jsonb_build_object('error', 'bad_time');
		END;
		IF due > now() + make_interval(secs => p_ahead_s) THEN
			RETURN jsonb_build_object('error', 'too_far');
		END IF;
		IF due > now() THEN
			INSERT INTO scheduled_posts (account_id, text, send_at, ucs2, key_id)
			    VALUES (acct, p_text, due, p_ucs2, p_key) RETURNING id INTO sid;
			res := jsonb_build_object('scheduled', sid, 'send_at', pigeon_api_time(due));
		END IF;
	END IF;
	IF res IS NULL THEN
		pid := pigeon_post(acct, p_text, NULL, p_ucs2);
		res := jsonb_build_object('id', pid);
	END IF;
	IF p_idem IS NOT NULL THEN
		PERFORM pigeon_api_key_keep(p_idem, ARRAY[coalesce(pid, sid)], res, p_request);
	END IF;
	RETURN res;
END $$;

-- The janitor's job (api_business.c): posts what is due, oldest first,
-- at most p_limit; each row is taken once (SKIP LOCKED: several hosts may
-- run it) and marked posted in the transaction that posts it. A
-- suspended account's due posts are cancelled, not kept for later: a
-- flash sale must not go out days late; so is a blank one (scheduled
-- before pigeon_biz_post refused them). A post takes the cap of parts
-- of its coding as pigeond saw it when it was scheduled (a row from
-- before that was kept: estimated from its text). The count posted.
-- Holding a due post, it never waits for its account's row (an erasure
-- holds it and waits for the post: a deadlock): an account locked
-- FOR UPDATE at that moment keeps its post for the next run.
CREATE OR REPLACE FUNCTION pigeon_biz_post_due(p_limit integer)
RETURNS integer LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	s scheduled_posts;
	n integer := 0;
BEGIN
	FOR s IN SELECT * FROM scheduled_posts
	          WHERE state = 'scheduled' AND send_at <= now()
	          ORDER BY send_at, id LIMIT p_limit
	          FOR UPDATE SKIP LOCKED LOOP
		PERFORM 1 FROM accounts a WHERE a.id = s.account_id
		  FOR KEY SHARE SKIP LOCKED;
		IF NOT FOUND THEN
			CONTINUE;
		END IF;
		IF EXISTS (SELECT 1 FROM accounts a WHERE a.id = s.account_id
		            AND a.suspended_at IS NOT NULL)
		   OR pigeon_text_blank(pigeon_sms_line(s.text)) THEN
			UPDATE scheduled_posts SET state = 'cancelled', done_at = now()
			 WHERE id = s.id;
			CONTINUE;
		END IF;
		UPDATE scheduled_posts
		   SET state = 'posted', done_at = now(),
		       post_id = pigeon_post(s.account_id, s.text, NULL,
		           coalesce(s.ucs2, NOT pigeon_digest_gsm7(s.text)))
		 WHERE id = s.id;
		n := n + 1;
	END LOOP;
	RETURN n;
END $$;

-- GET /api/accounts/HANDLE/scheduled: newest first, the latest 100.
-- key_id: the key that scheduled it (null: an operator's token, or
-- scheduled before migration 0030).
CREATE OR REPLACE FUNCTION pigeon_biz_scheduled(p_handle text)
RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('handle', a.handle, 'scheduled',
	       (SELECT coalesce(jsonb_agg(jsonb_build_object('id', q.id,
	            'text', q.text, 'send_at', q.send_at, 'state', q.state,
	            'post_id', q.post_id, 'created_at', q.created_at,
	            'key_id', q.key_id, 'done_at', q.done_at)
	            ORDER BY q.id DESC), '[]'::jsonb)
	          FROM (SELECT * FROM scheduled_posts s WHERE s.account_id = a.id
	                 ORDER BY s.id DESC LIMIT 100) q))
	  FROM accounts a WHERE a.handle = lower(p_handle);
$$;

-- DELETE /api/accounts/HANDLE/scheduled/ID: {"state", "changed"} (only
-- a scheduled row changes), or NULL when the account has no such row.
CREATE OR REPLACE FUNCTION pigeon_biz_scheduled_cancel(p_handle text, p_id bigint)
RETURNS jsonb LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	n integer;
	st text;
BEGIN
	UPDATE scheduled_posts s SET state = 'cancelled', done_at = now()
	  FROM accounts a
	 WHERE s.id = p_id AND a.id = s.account_id AND a.handle = lower(p_handle)
	   AND s.state = 'scheduled';
	GET DIAGNOSTICS n = ROW_COUNT;
	SELECT s.state INTO st FROM scheduled_posts s JOIN accounts a ON a.id = s.account_id
	 WHERE s.id = p_id AND a.handle = lower(p_handle);
	IF st IS NULL THEN
		RETURN NULL;
	END IF;
	RETURN jsonb_build_object('state', st, 'changed', n > 0);
END $$;

-- The tracked words of an account (TRACK by API; no SMS is sent about it).
-- digest: the word comes once a day (TRACK word DIGEST by SMS), at
-- digest_hour, the account's (null when no word is digested), not post
-- by post.
CREATE OR REPLACE FUNCTION pigeon_biz_tracks(p_handle text)
RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('handle', a.handle,
	    'max', pigeon_setting_int('track_max'),
	    'digest_hour', CASE WHEN EXISTS (SELECT 1 FROM tracks t
	                                      WHERE t.account_id = a.id AND t.digest)
	                        THEN coalesce(a.digest_hour, pigeon_digest_default_hour()) END,
	    'tracks', (SELECT coalesce(jsonb_agg(jsonb_build_object('word', t.word,
	                   'term', t.term, 'since', t.created_at, 'digest', t.digest)
	                   ORDER BY t.created_at, t.term), '[]'::jsonb)
	                 FROM tracks t WHERE t.account_id = a.id))
	  FROM accounts a WHERE a.handle = lower(p_handle);
$$;

-- {"term", "word", "added"} or {"error": "no_user" | "bad_word" | "full"}.
-- As TRACK word by SMS (pigeon_apply_track): a word of the daily digest
-- comes back post by post ("added" false, "digest" false: it was
-- tracked already), and the next digest is scheduled again (none when
-- it was the last digested word). Before, the word stayed in the digest
-- and its posts never came as SMS.
CREATE OR REPLACE FUNCTION pigeon_biz_track_add(p_handle text, p_word text)
RETURNS jsonb LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	acct bigint;
	v_term text := pigeon_track_term(p_word);
	v_word text := pigeon_track_word(p_word);
	lim integer := pigeon_setting_int('track_max');
	n integer;
BEGIN
	-- The account's row serializes its TRACKs, as by SMS.
	SELECT id INTO acct FROM accounts WHERE handle = lower(p_handle) FOR UPDATE;
	IF acct IS NULL THEN
		RETURN jsonb_build_object('error', 'no_user');
	END IF;
	IF v_term IS NULL THEN
		RETURN jsonb_build_object('error', 'bad_word');
	END IF;
	UPDATE tracks t SET digest = false
	 WHERE t.account_id = acct AND t.term = v_term AND t.digest;
	IF FOUND THEN
		PERFORM pigeon_digest_schedule(acct, NULL);
		RETURN jsonb_build_object('term', v_term, 'word', v_word, 'added', false,
		    'digest', false);
	END IF;
	IF EXISTS (SELECT 1 FROM tracks WHERE account_id = acct AND term = v_term) THEN
		RETURN jsonb_build_object('term', v_term, 'word', v_word, 'added', false,
		    'digest', false);
	END IF;
	SELECT count(*) INTO n FROM tracks WHERE account_id = acct;
	IF n >= lim THEN
		RETURN jsonb_build_object('error', 'full', 'max', lim);
	END IF;
	INSERT INTO tracks (account_id, term, word) VALUES (acct, v_term, v_word);
	RETURN jsonb_build_object('term', v_term, 'word', v_word, 'added', true,
	    'digest', false);
END $$;

-- {"term", "removed"} or {"error": "no_user" | "bad_word"}. As UNTRACK by
-- SMS: the last digested word gone, no digest is due any more.
CREATE OR REPLACE FUNCTION pigeon_biz_track_remove(p_handle text, p_word text)
RETURNS jsonb LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	acct bigint;
	v_term text := pigeon_track_term(p_word);
	n integer;
BEGIN
	SELECT id INTO acct FROM accounts WHERE handle = lower(p_handle);
	IF acct IS NULL THEN
		RETURN jsonb_build_object('error', 'no_user');
	END IF;
	IF v_term IS NULL THEN
		RETURN jsonb_build_object('error', 'bad_word');
	END IF;
	DELETE FROM tracks WHERE account_id = acct AND term = v_term;
	GET DIAGNOSTICS n = ROW_COUNT;
	IF n > 0 THEN
		PERFORM pigeon_digest_schedule(acct, NULL);
	END IF;
	RETURN jsonb_build_object('term', v_term, 'removed', n > 0);
END $$;

-- The under-5 rule for a breakdown of people into disjoint groups
-- (p: [{"key", "people"}]). Groups under p_min are merged into "other";
-- when "other" would then count 1 to p_min - 1 people, the smallest shown
-- group is merged into it too, and again, until "other" is empty or has
-- p_min: otherwise the total minus the groups shown would tell the small
-- count after all. An "other" still under p_min is not shown (nor are
-- its groups). {"buckets": [{"key", "people"}] (largest first), "other":
-- n or null}.
CREATE OR REPLACE FUNCTION pigeon_biz_buckets(p jsonb, p_min integer)
RETURNS jsonb LANGUAGE plpgsql IMMUTABLE SET search_path = public, pg_temp AS $$
DECLARE
	g jsonb := (SELECT coalesce(jsonb_agg(e ORDER BY (e->>'people')::bigint DESC,
	                e->>'key'), '[]'::jsonb)
	              FROM jsonb_array_elements(p) e WHERE (e->>'people')::bigint > 0);
	shown integer := jsonb_array_length(g);
	other bigint := 0;
BEGIN
	WHILE shown > 0 AND (g->(shown - 1)->>'people')::bigint < p_min LOOP
		other := other + (g->(shown - 1)->>'people')::bigint;
		shown := shown - 1;
	END LOOP;
	WHILE other > 0 AND other < p_min AND shown > 0 LOOP
		other := other + (g->(shown - 1)->>'people')::bigint;
		shown := shown - 1;
	END LOOP;
	RETURN jsonb_build_object(
	    'buckets', (SELECT coalesce(jsonb_agg(g->i ORDER BY i), '[]'::jsonb)
	                  FROM generate_series(0, shown - 1) i),
	    'other', CASE WHEN other >= p_min THEN other END);
END $$;

-- When the followers are active: distinct followers who texted the
-- service in each hour of the day (service time zone) from p_day0, read
-- from the counts kept by 69_audience.sql (audience_hours and its
-- deltas: per hour and day, the followers whose latest SMS in that hour
-- was that day). Hours
-- under p_min people are merged into "other" (the followers active in
-- any of those hours, each once), with the same second step as
-- pigeon_biz_buckets; only then are the hidden hours' people looked up
-- (account_hours), a few. best_hour: the shown hour with the most
-- people (the earliest on a tie), null when none is shown.
CREATE OR REPLACE FUNCTION pigeon_biz_hours(p_account bigint, p_day0 date,
    p_min integer)
RETURNS jsonb LANGUAGE plpgsql STABLE SET search_path = public, pg_temp AS $$
DECLARE
	counts jsonb;
	hidden integer[] := '{}';
	shown jsonb;
	other bigint := 0;
	h jsonb;
BEGIN
	SELECT coalesce(jsonb_agg(jsonb_build_object('hour', x.hour, 'people', x.n)
	           ORDER BY x.n DESC, x.hour), '[]'::jsonb) INTO counts
	  FROM (SELECT a.hour, sum(a.people) AS n
	          FROM (SELECT hour, day, people FROM audience_hours
	                 WHERE account_id = p_account AND day >= p_day0
	                UNION ALL
	                SELECT hour, day, people FROM audience_hours_delta
	                 WHERE account_id = p_account AND day >= p_day0) a
	         GROUP BY 1 HAVING sum(a.people) > 0) x;
	SELECT coalesce(array_agg((e->>'hour')::integer), '{}') INTO hidden
	  FROM jsonb_array_elements(counts) e WHERE (e->>'people')::integer < p_min;
	WHILE cardinality(hidden) > 0 LOOP
		SELECT count(DISTINCT ah.account_id) INTO other
		  FROM account_hours ah
		 WHERE ah.hour = ANY (hidden) AND ah.day >= p_day0
		   AND EXISTS (SELECT 1 FROM follows f
		                WHERE f.followee = p_account AND f.follower = ah.account_id);
		EXIT WHEN other = 0 OR other >= p_min;
		-- Too few in "other": the smallest hour still shown joins it.
		SELECT e INTO h FROM jsonb_array_elements(counts) e
		 WHERE NOT (e->>'hour')::integer = ANY (hidden)
		 ORDER BY (e->>'people')::integer, (e->>'hour')::integer DESC LIMIT 1;
		EXIT WHEN h IS NULL;
		hidden := hidden || (h->>'hour')::integer;
	END LOOP;
	SELECT coalesce(jsonb_agg(e ORDER BY (e->>'hour')::integer), '[]'::jsonb) INTO shown
	  FROM jsonb_array_elements(counts) e WHERE NOT (e->>'hour')::integer = ANY (hidden);
	RETURN jsonb_build_object('buckets', shown,
	    'other', CASE WHEN other >= p_min THEN other END,
	    'best_hour', (SELECT (e->>'hour')::integer FROM jsonb_array_elements(shown) e
	                   ORDER BY (e->>'people')::integer DESC, (e->>'hour')::integer
	                   LIMIT 1));
END $$;

-- The reach of an account's latest p_posts posts, newest first: every
-- copy made (queued), those that reached the network (sent: sent,
-- delivered or undelivered), delivered, undelivered (a report said so),
-- failed (refused, given up, expired), pending, cancelled, the share
-- delivered of those queued, and the same by path (follow, track). One
-- pass over the copies of those posts (outbox's (post_id, recipient)).
CREATE OR REPLACE FUNCTION pigeon_biz_reach(p_account bigint, p_posts integer)
RETURNS jsonb LANGUAGE plpgsql STABLE SET search_path = public, pg_temp AS $$
DECLARE
	-- The posts first: a plan made for "LIMIT p_posts" of unknown size
	-- may read the whole outbox; a few ids read each post's copies.
	ids bigint[] := ARRAY(SELECT id FROM posts
	                       WHERE account_id = p_account AND deleted_at IS NULL
	                       ORDER BY id DESC LIMIT p_posts);
	res jsonb;
BEGIN
	WITH p AS (
		SELECT id, text, created_at FROM posts WHERE id = ANY (ids)
	), c AS (
		-- Post by post (LATERAL): an index scan of each post's copies;
		-- a join of all of them would tempt the planner into reading
		-- the whole outbox. Counted by path and state (one hash per
		-- copy), then the states summed into the figures: a third less
		-- than a FILTER per figure per copy.
		SELECT p.id AS post_id, x.*
		  FROM p CROSS JOIN LATERAL (
			SELECT coalesce(o.via, 'follow') AS via, o.state, count(*) AS n
			  FROM outbox o WHERE o.post_id = p.id
			 GROUP BY 1, 2) x
	), s AS (
		SELECT c.post_id, c.via,
		       sum(c.n) AS queued,
		       sum(c.n) FILTER (WHERE c.state IN ('sent', 'delivered', 'undelivered')) AS sent,
		       sum(c.n) FILTER (WHERE c.state = 'delivered') AS delivered,
		       sum(c.n) FILTER (WHERE c.state = 'undelivered') AS undelivered,
		       sum(c.n) FILTER (WHERE c.state IN ('failed', 'expired')) AS failed,
		       sum(c.n) FILTER (WHERE c.state IN ('queued', 'sending')) AS pending,
		       sum(c.n) FILTER (WHERE c.state = 'cancelled') AS cancelled
		  FROM c GROUP BY 1, 2
	), v AS (
		SELECT p.id, p.text, p.created_at, x.via,
		       coalesce(s.queued, 0) AS queued, coalesce(s.sent, 0) AS sent,
		       coalesce(s.delivered, 0) AS delivered,
		       coalesce(s.undelivered, 0) AS undelivered,
		       coalesce(s.failed, 0) AS failed, coalesce(s.pending, 0) AS pending,
		       coalesce(s.cancelled, 0) AS cancelled
		  FROM p CROSS JOIN (VALUES ('follow'), ('track')) x(via)
		  LEFT JOIN s ON s.post_id = p.id AND s.via = x.via
	)
	SELECT coalesce(jsonb_agg(r.j ORDER BY r.id DESC), '[]'::jsonb) INTO res
	  FROM (SELECT v.id, jsonb_build_object('id', v.id, 'text', min(v.text),
	           'created_at', min(v.created_at),
	           'queued', sum(v.queued), 'sent', sum(v.sent),
	           'delivered', sum(v.delivered), 'undelivered', sum(v.undelivered),
	           'failed', sum(v.failed), 'pending', sum(v.pending),
	           'cancelled', sum(v.cancelled),
	           'share_delivered', CASE WHEN sum(v.queued) > 0
	               THEN round(sum(v.delivered)::numeric / sum(v.queued), 4) END,
	           'via', jsonb_object_agg(v.via, jsonb_build_object(
	               'queued', v.queued, 'sent', v.sent, 'delivered', v.delivered,
	               'undelivered', v.undelivered, 'failed', v.failed,
	               'pending', v.pending, 'cancelled', v.cancelled))) AS j
	          FROM v GROUP BY v.id) r;
	RETURN res;
END $$;

-- Followers per day from p_day0 to p_today (service time zone p_tz, p_total
-- now): gained, lost, net, and the followers at the end of the day (those
-- now, less what came after). From audience_follows and its deltas
-- (follow events per quarter hour: each falls in one day of any zone),
-- each placed among the days' starts by width_bucket.
CREATE OR REPLACE FUNCTION pigeon_biz_days(p_account bigint, p_day0 date,
    p_today date, p_total bigint, p_tz text)
RETURNS jsonb LANGUAGE plpgsql STABLE SET search_path = public, pg_temp AS $$
DECLARE
	starts timestamptz[];
	res jsonb;
BEGIN
	SELECT array_agg(g::date::timestamp AT TIME ZONE p_tz ORDER BY g) INTO starts
	  FROM generate_series(p_day0, p_today, interval '1 day') g;
	WITH ev AS (
		SELECT width_bucket(c.at, starts) AS k, sum(c.gained) AS gained,
		       sum(c.lost) AS lost
		  FROM (SELECT at, gained, lost FROM audience_follows
		         WHERE account_id = p_account AND at >= starts[1]
		        UNION ALL
		        SELECT at, gained, lost FROM audience_follows_delta
		         WHERE account_id = p_account AND at >= starts[1]) c
		 GROUP BY 1
	), d AS (
		SELECT (p_day0 + k - 1) AS day, coalesce(ev.gained, 0) AS gained,
		       coalesce(ev.lost, 0) AS lost
		  FROM generate_series(1, p_today - p_day0 + 1) k
		  LEFT JOIN ev USING (k)
	)
	SELECT jsonb_agg(jsonb_build_object('day', to_char(w.day, 'YYYY-MM-DD'),
	           'gained', w.gained, 'lost', w.lost, 'net', w.gained - w.lost,
	           'followers', p_total - w.later) ORDER BY w.day)
	  INTO res
	  FROM (SELECT d.*, coalesce(sum(d.gained - d.lost) OVER (ORDER BY d.day DESC
	                   ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS later
	          FROM d) w;
	RETURN res;
END $$;


-- The audience of a business account (GET /api/accounts/HANDLE/stats):
-- followers now and per day (gained, lost, net, at the end of the day;
-- p_days days, the service's time zone, every day listed), the reach of
-- its latest p_posts posts, when its followers are active, and its
-- followers by language and by carrier network (from the number range:
-- approximate, numbers can be ported). Every breakdown of people follows
-- the under-p_min rule (pigeon_biz_buckets). Every figure is read at
-- each request, from the counts kept by the writes (69_audience.sql:
-- the counts and the deltas of the last few seconds, not folded yet)
-- and the copies of the posts:
-- none is a pass over the followers or the inbox. "audience_at": the
-- time they were read. No phone number
-- leaves. NULL: no such account; {"error": "not_business"}.
CREATE OR REPLACE FUNCTION pigeon_biz_stats(p_handle text, p_days integer,
    p_posts integer, p_min integer)
RETURNS jsonb LANGUAGE plpgsql STABLE SET search_path = public, pg_temp AS $$
DECLARE
	tz text := pigeon_setting('timezone');
	today date := (now() AT TIME ZONE tz)::date;
	day0 date := today - (least(greatest(coalesce(p_days, 30), 1), 366) - 1);
	a accounts;
	total bigint;
	groups jsonb;
BEGIN
	SELECT * INTO a FROM accounts WHERE handle = lower(p_handle);
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	IF a.business_since IS NULL THEN
		RETURN jsonb_build_object('error', 'not_business');
	END IF;
	SELECT coalesce(jsonb_agg(jsonb_build_object('lang', g.lang,
	           'network', g.network, 'n', g.people)), '[]'::jsonb),
	       coalesce(sum(g.people), 0)
	  INTO groups, total
	  FROM (SELECT lang, network, sum(people) AS people
	          FROM (SELECT lang, network, people FROM audience_groups
	                 WHERE account_id = a.id
	                UNION ALL
	                SELECT lang, network, people FROM audience_groups_delta
	                 WHERE account_id = a.id) u
	         GROUP BY 1, 2 HAVING sum(people) <> 0) g;
	RETURN jsonb_build_object('handle', a.handle, 'name', a.name,
	    'business_since', a.business_since, 'timezone', tz,
	    'days', today - day0 + 1, 'since', to_char(day0, 'YYYY-MM-DD'),
	    'min_bucket', p_min,
	    'followers', total,
	    'posts', (SELECT count(*) FROM posts p
	               WHERE p.account_id = a.id AND p.deleted_at IS NULL),
	    'reach', pigeon_biz_reach(a.id, p_posts),
	    'audience_at', now(),
	    'followers_by_day', pigeon_biz_days(a.id, day0, today, total, tz),
	    'active_hours', pigeon_biz_hours(a.id, day0, p_min),
	    'languages', pigeon_biz_buckets((SELECT coalesce(jsonb_agg(
	            jsonb_build_object('key', l.lang, 'people', l.n)), '[]'::jsonb)
	          FROM (SELECT x->>'lang' AS lang, sum((x->>'n')::bigint) AS n
	                  FROM jsonb_array_elements(groups) x GROUP BY 1) l), p_min),
	    'networks', pigeon_biz_buckets((SELECT coalesce(jsonb_agg(
	            jsonb_build_object('key', w.network, 'people', w.n)), '[]'::jsonb)
	          FROM (SELECT x->>'network' AS network, sum((x->>'n')::bigint) AS n
	                  FROM jsonb_array_elements(groups) x GROUP BY 1) w), p_min)
	        || jsonb_build_object('approximate', true));
END $$;

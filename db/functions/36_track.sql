-- TRACK, UNTRACK, TRACKS, SEARCH and STATS by SMS (docs/commands.md).
-- The words of posts and queries are folded by pigeon_terms() and
-- pigeon_query_terms() (db/migrations/0006_track.sql, 0027_tifinagh.sql); the copies to
-- trackers are made with the followers' by pigeon_post (35_updates.sql).
--
-- pigeond applies every file of db/functions/ at every start, in name
-- order; they hold only CREATE OR REPLACE statements.

-- The one word a TRACK or UNTRACK names, folded ('couscous', '#couscous',
-- '@alice'), or NULL when the argument is not one word of 2 to 20
-- characters.
CREATE OR REPLACE FUNCTION pigeon_track_term(p_word text)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
	SELECT t[1] FROM (SELECT pigeon_query_terms(p_word) AS t) q
	 WHERE cardinality(t) = 1
	   AND length(ltrim(t[1], '#@')) BETWEEN 2 AND 20;
$$;

-- What a reply calls the word: as the member wrote it, without the
-- punctuation around it ("couscous!" is couscous).
CREATE OR REPLACE FUNCTION pigeon_track_word(p_word text)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
	SELECT left(regexp_replace(p_word,
	    '^[^#@0-9A-Za-z_\u00c0-\u024f\u0370-\u04ff\u0621-\u064a\u0660-\u0669\u066e-\u06d3\u1e00-\u1eff\u2d30-\u2d6f\u2d7f]+'
	    '|[^0-9A-Za-z_\u00c0-\u024f\u0370-\u04ff\u0621-\u064a\u0660-\u0669\u066e-\u06d3\u1e00-\u1eff\u2d30-\u2d6f\u2d7f]+$',
	    '', 'g'), 20);
$$;

CREATE OR REPLACE FUNCTION pigeon_apply_track(acct accounts, p_word text,
    p_msg bigint, p_lang text)
RETURNS text LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	v_term text := pigeon_track_term(p_word);
	v_word text := pigeon_track_word(p_word);
	lim integer := pigeon_setting_int('track_max');
	n integer;
BEGIN
	IF v_term IS NULL THEN
		PERFORM pigeon_reply(acct.phone, p_lang, 'usage_track', '{}', p_msg);
		RETURN 'usage: track (not one word of 2-20 characters)';
	END IF;
	-- A word of the daily digest (37_digest.sql) comes back post by post.
	UPDATE tracks t SET digest = false
	 WHERE t.account_id = acct.id AND t.term = v_term AND t.digest;
	IF FOUND THEN
		PERFORM pigeon_digest_schedule(acct.id, NULL);
		PERFORM pigeon_reply(acct.phone, p_lang, 'tracking', ARRAY[v_word], p_msg);
		RETURN 'tracks ' || v_term || ' post by post (was in the digest)';
	END IF;
	IF EXISTS (SELECT 1 FROM tracks t WHERE t.account_id = acct.id AND t.term = v_term) THEN
		PERFORM pigeon_reply(acct.phone, p_lang, 'track_already', ARRAY[v_word], p_msg);
		RETURN 'already tracks ' || v_term;
	END IF;
	-- Serialized per member by the account's row: two TRACKs at once
	-- cannot both take the last place.
	PERFORM 1 FROM accounts WHERE id = acct.id FOR UPDATE;
	SELECT count(*) INTO n FROM tracks WHERE account_id = acct.id;
	IF n >= lim THEN
		PERFORM pigeon_reply(acct.phone, p_lang, 'track_full', ARRAY[lim::text], p_msg);
		RETURN format('track %s refused: %s words already', v_term, n);
	END IF;
	INSERT INTO tracks (account_id, term, word) VALUES (acct.id, v_term, v_word)
	    ON CONFLICT DO NOTHING;
	PERFORM pigeon_reply(acct.phone, p_lang, 'tracking', ARRAY[v_word], p_msg);
	RETURN 'tracks ' || v_term;
END $$;

CREATE OR REPLACE FUNCTION pigeon_apply_untrack(acct accounts, p_word text,
    p_msg bigint, p_lang text)
RETURNS text LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	v_term text := pigeon_track_term(p_word);
	v_word text := pigeon_track_word(p_word);
	n integer;
BEGIN
	IF v_term IS NULL THEN
		PERFORM pigeon_reply(acct.phone, p_lang, 'usage_untrack', '{}', p_msg);
		RETURN 'usage: untrack (not one word of 2-20 characters)';
	END IF;
	DELETE FROM tracks t WHERE t.account_id = acct.id AND t.term = v_term;
	GET DIAGNOSTICS n = ROW_COUNT;
	IF n > 0 THEN
		PERFORM pigeon_digest_schedule(acct.id, NULL);	-- the last digested word?
	END IF;
	PERFORM pigeon_reply(acct.phone, p_lang,
	    CASE WHEN n > 0 THEN 'untracked' ELSE 'not_tracking' END,
	    ARRAY[v_word], p_msg);
	RETURN CASE WHEN n > 0 THEN 'untracked ' ELSE 'was not tracking ' END || v_term;
END $$;

-- The words, oldest first, in one SMS (cut with "…" when they do not fit):
-- those that come post by post, then those of the daily digest with its
-- hour ("You track: couscous. Once a day at 20:00: ete, #maroc").
CREATE OR REPLACE FUNCTION pigeon_apply_tracks(acct accounts, p_msg bigint,
    p_lang text)
RETURNS text LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	list text;
	dlist text;
	n integer;
	h text := coalesce(acct.digest_hour, pigeon_digest_default_hour())::text;
BEGIN
	SELECT string_agg(word, ', ' ORDER BY created_at, term) FILTER (WHERE NOT digest),
	       string_agg(word, ', ' ORDER BY created_at, term) FILTER (WHERE digest),
	       count(*)
	  INTO list, dlist, n
	  FROM tracks WHERE account_id = acct.id;
	IF n = 0 THEN
		PERFORM pigeon_reply(acct.phone, p_lang, 'tracks_none', '{}', p_msg);
	ELSIF dlist IS NULL THEN
		PERFORM pigeon_queue_reply(acct.phone, p_lang, 'tracks', ARRAY[list],
		    p_msg, false, true, 1, '…');
	ELSIF list IS NULL THEN
		PERFORM pigeon_queue_reply(acct.phone, p_lang, 'tracks_digest_only',
		    ARRAY[h, dlist], p_msg, false, true, 1, '…');
	ELSE
		PERFORM pigeon_queue_reply(acct.phone, p_lang, 'tracks_digest',
		    ARRAY[list, h, dlist], p_msg, false, true, 1, '…');
	END IF;
	RETURN format('tracks: %s word(s)', n);
END $$;

-- The latest three posts with every word of the query, newest first, in
-- one SMS: "@h: text / @h: text", each text cut to 40 characters.
CREATE OR REPLACE FUNCTION pigeon_apply_search(acct accounts, p_query text,
    p_msg bigint, p_lang text)
RETURNS text LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	want text[] := pigeon_query_terms(p_query);
	v_list text;
	handles text[];
	texts text[];
	tmpl text;
	n integer;
BEGIN
	IF cardinality(want) = 0 THEN
		PERFORM pigeon_reply(acct.phone, p_lang, 'usage_search', '{}', p_msg);
		RETURN 'usage: search (no word)';
	END IF;
	-- The newest three through pigeon_web_match (68_web.sql), bounded
	-- whatever the words: as one "terms @> ... ORDER BY id DESC LIMIT 3"
	-- two frequent words that never meet walked every post (0.5 s at a
	-- million posts, growing with them), inside the inbox's batch, which
	-- every command behind it waited for.
	SELECT array_agg(a.handle ORDER BY p.id DESC), array_agg(p.text ORDER BY p.id DESC),
	       count(*)
	  INTO handles, texts, n
	  FROM posts p JOIN accounts a ON a.id = p.account_id
	 WHERE p.id = ANY (pigeon_web_match(want, NULL, 3));
	IF n = 0 THEN
		PERFORM pigeon_queue_reply(acct.phone, p_lang, 'search_none',
		    ARRAY[left(p_query, 40)], p_msg, false, true, 1, '…');
	ELSE
		-- The three share one SMS, as the digest's posts do (each cut
		-- to 40 characters, three did not fit 160, and any accent or
		-- Arabic made it UCS-2: one post and a half).
		SELECT c.text INTO tmpl FROM catalog c
		    WHERE c.key = 'search' AND c.lang IN (p_lang, 'en')
		    ORDER BY c.lang = p_lang DESC LIMIT 1;
		v_list := pigeon_fit_posts(format(coalesce(tmpl, '%s'), ''), handles, texts);
		PERFORM pigeon_queue_reply(acct.phone, p_lang, 'search', ARRAY[v_list],
		    p_msg, false, true, 1, '…');
	END IF;
	RETURN format('search %s: %s found', array_to_string(want, ' '), n);
END $$;

-- STATS, the short form: followers, and how many of the latest post's
-- copies were delivered (by delivery report) of how many were made.
CREATE OR REPLACE FUNCTION pigeon_apply_stats(acct accounts, p_msg bigint,
    p_lang text)
RETURNS text LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	followers integer;
	pid bigint;
	made integer;
	delivered integer;
BEGIN
	SELECT count(*) INTO followers FROM follows WHERE followee = acct.id;
	SELECT id INTO pid FROM posts
	 WHERE account_id = acct.id AND deleted_at IS NULL
	 ORDER BY id DESC LIMIT 1;
	IF pid IS NULL THEN
		PERFORM pigeon_reply(acct.phone, p_lang, 'stats_nopost',
		    ARRAY[followers::text], p_msg);
		RETURN 'stats';
	END IF;
	SELECT count(*), count(*) FILTER (WHERE state = 'delivered')
	  INTO made, delivered
	  FROM outbox WHERE post_id = pid;
	PERFORM pigeon_reply(acct.phone, p_lang, 'stats',
	    ARRAY[followers::text, delivered::text, made::text], p_msg);
	RETURN format('stats: post %s delivered to %s of %s', pid, delivered, made);
END $$;

-- Tracking copies cancelled with their post before they went out (the
-- post removed or deleted, its author suspended) give back their place in
-- the day's cap: pigeon_post counted each as it was made, and a post
-- removed mid-fan-out used the allowance of trackers who never got it.
-- (A copy the recipient's daily ceiling drops is not given back: that
-- ceiling, also daily, holds the rest of the day's anyway.) Only the day a copy was counted for, and only while that day's
-- count stands (track_day never goes back). The cap's warning still
-- queued for that day goes too when the count falls below the cap: it
-- would say "You got 3" of fewer. It is queued again when the cap is
-- reached again. Accounts are locked in id order, as pigeon_post does.
CREATE OR REPLACE FUNCTION pigeon_track_give_back(p_ids bigint[])
RETURNS void LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	tz text;
	cap integer;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM outbox o WHERE o.id = ANY (p_ids)
	               AND o.via = 'track' AND o.state = 'cancelled') THEN
		RETURN;
	END IF;
	tz := pigeon_setting('timezone');
	cap := pigeon_setting_int('track_day');
	WITH given AS (
		SELECT o.recipient, (o.created_at AT TIME ZONE tz)::date AS day,
		       count(*) AS n
		  FROM outbox o
		 WHERE o.id = ANY (p_ids) AND o.via = 'track' AND o.state = 'cancelled'
		 GROUP BY 1, 2
	), locked AS (
		SELECT l.id, g.day, g.n FROM accounts l JOIN given g ON g.recipient = l.phone
		 WHERE l.track_day = g.day
		 ORDER BY l.id FOR UPDATE OF l
	), back AS (
		UPDATE accounts a SET track_sent = greatest(a.track_sent - k.n, 0)
		  FROM locked k
		 WHERE a.id = k.id AND a.track_day = k.day
		RETURNING a.phone, a.track_sent, k.day
	)
	UPDATE outbox w SET state = 'cancelled',
	       last_error = 'the tracking copies it spoke of were cancelled'
	  FROM back b
	 WHERE b.track_sent < cap AND w.recipient = b.phone
	   AND w.reply_key = 'track_cap' AND w.state = 'queued'
	   AND (w.created_at AT TIME ZONE tz)::date = b.day;
END $$;

-- TRACK word DIGEST [hour] (issue 17, item 4; docs/commands.md): a
-- digested word makes no copy of a post; once a day, at the member's
-- hour, one SMS counts the posts with their digested words since the
-- last digest (at most 24 hours) and shows the top 3. The periodic job is
-- gateway/digest.c, which calls pigeon_digest_run.
--
-- pigeond applies every file of db/functions/ at every start, in name
-- order; they hold only CREATE OR REPLACE statements.

-- The hour of a digest when the member never gave one: the evening,
-- when the day's news is in.
CREATE OR REPLACE FUNCTION pigeon_digest_default_hour()
RETURNS integer LANGUAGE sql IMMUTABLE AS $$
	SELECT 20;
$$;

-- The top 3 of a digest are chosen among this many of the latest
-- matching posts: the follower counts that rank them cost one index scan
-- per author.
CREATE OR REPLACE FUNCTION pigeon_digest_candidates()
RETURNS integer LANGUAGE sql IMMUTABLE AS $$
	SELECT 500;
$$;

-- The first p_hour:00 (service time zone) strictly after p_after.
CREATE OR REPLACE FUNCTION pigeon_digest_next(p_hour integer, p_after timestamptz)
RETURNS timestamptz LANGUAGE plpgsql STABLE SET search_path = public, pg_temp AS $$
DECLARE
	tz text := pigeon_setting('timezone');
	local timestamp := p_after AT TIME ZONE tz;
	d timestamp := date_trunc('day', local) + make_interval(hours => p_hour);
BEGIN
	IF d <= local THEN
		d := d + interval '1 day';
	END IF;
	RETURN d AT TIME ZONE tz;
END $$;

-- After a change of a member's words or hour (p_hour NULL: keep it): the
-- next digest is due at the next hour:00, or never when no word is
-- digested. A digest already due keeps its time unless the hour changed,
-- so a TRACK at 20:00:05 does not push the 20:00 digest to tomorrow.
-- Returns the hour.
CREATE OR REPLACE FUNCTION pigeon_digest_schedule(p_account bigint, p_hour integer)
RETURNS integer LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	h integer;
BEGIN
	UPDATE accounts a
	   SET digest_hour = coalesce(p_hour, a.digest_hour, pigeon_digest_default_hour()),
	       digest_at = CASE
	           WHEN NOT EXISTS (SELECT 1 FROM tracks t
	                             WHERE t.account_id = a.id AND t.digest) THEN NULL
	           WHEN a.digest_at IS NULL OR a.digest_hour IS DISTINCT FROM
	                coalesce(p_hour, a.digest_hour, pigeon_digest_default_hour())
	           THEN pigeon_digest_next(coalesce(p_hour, a.digest_hour,
	                    pigeon_digest_default_hour()), now())
	           ELSE a.digest_at END
	 WHERE a.id = p_account
	RETURNING a.digest_hour INTO h;
	RETURN h;
END $$;

-- TRACK word DIGEST [hour]: the word once a day (a new word, or one
-- tracked post by post until now). The hour is the member's, for all
-- their digested words: one SMS a day.
CREATE OR REPLACE FUNCTION pigeon_apply_track_digest(acct accounts, p_word text,
    p_hour integer, p_msg bigint, p_lang text)
RETURNS text LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	v_term text := pigeon_track_term(p_word);
	v_word text := pigeon_track_word(p_word);
	lim integer := pigeon_setting_int('track_max');
	n integer;
	h integer;
BEGIN
	IF v_term IS NULL THEN
		PERFORM pigeon_reply(acct.phone, p_lang, 'usage_track', '{}', p_msg);
		RETURN 'usage: track (not one word of 2-20 characters)';
	END IF;
	-- Serialized per member by the account's row, as TRACK.
	PERFORM 1 FROM accounts WHERE id = acct.id FOR UPDATE;
	IF NOT EXISTS (SELECT 1 FROM tracks t WHERE t.account_id = acct.id AND t.term = v_term) THEN
		SELECT count(*) INTO n FROM tracks WHERE account_id = acct.id;
		IF n >= lim THEN
			PERFORM pigeon_reply(acct.phone, p_lang, 'track_full', ARRAY[lim::text], p_msg);
			RETURN format('track %s refused: %s words already', v_term, n);
		END IF;
	END IF;
	INSERT INTO tracks (account_id, term, word, digest)
	    VALUES (acct.id, v_term, v_word, true)
	    ON CONFLICT (account_id, term) DO UPDATE SET digest = true;
	h := pigeon_digest_schedule(acct.id, p_hour);
	PERFORM pigeon_reply(acct.phone, p_lang, 'tracking_digest',
	    ARRAY[v_word, h::text], p_msg);
	RETURN format('digest of %s at %s:00', v_term, h);
END $$;

-- Whether a text is likely sent as GSM-7: only the characters of its
-- default alphabet and extension table. An estimate that lays out the
-- digest (160 or 70 characters); the modem worker asks libgammu and cuts
-- what still does not fit one SMS.
CREATE OR REPLACE FUNCTION pigeon_digest_gsm7(p text)
RETURNS boolean LANGUAGE sql IMMUTABLE STRICT AS $$
	SELECT p !~ '[^\n\r !"#$%&''()*+,./0-9:;<=>?@A-Z_a-z£¥èéùìòÇØøÅåÆæßÉ¤¡ÄÖÑÜ§¿äöñüà^{}\\\[~\]|€ΔΦΓΛΩΠΨΣΘΞ-]';
$$;

-- What p takes of an SMS, in GSM-7 septets (p_gsm) or UCS-2 units: a
-- character of GSM-7's extension table (€ [ ] { } ^ ~ \ | and form
-- feed) is two septets, one outside the BMP (an emoji) two UCS-2 units.
CREATE OR REPLACE FUNCTION pigeon_sms_units(p text, p_gsm boolean)
RETURNS integer LANGUAGE sql IMMUTABLE STRICT AS $$
	SELECT length(p) + length(regexp_replace(p, CASE WHEN p_gsm
	    THEN '[^\f^{}\\\[~\]|€]' ELSE '[^\U00010000-\U0010FFFF]' END, '', 'g'));
$$;

-- The longest start of p that takes at most p_units (pigeon_sms_units).
CREATE OR REPLACE FUNCTION pigeon_sms_left(p text, p_units integer, p_gsm boolean)
RETURNS text LANGUAGE plpgsql IMMUTABLE STRICT SET search_path = public, pg_temp AS $$
DECLARE
	n integer := least(length(p), greatest(p_units, 0));
BEGIN
	WHILE n > 0 AND pigeon_sms_units(left(p, n), p_gsm) > p_units LOOP
		n := n - 1;
	END LOOP;
	RETURN left(p, n);
END $$;

-- Posts as "@h: text / @h: text / @h: text" in what one SMS leaves after
-- its header p_head (GSM-7 when all of it can be, else UCS-2): the
-- shorter texts take what they need, the others are cut evenly, at a
-- space when one is near, ending with an ellipsis. Shared by the digest
-- and SEARCH's reply.
DROP FUNCTION IF EXISTS pigeon_fit_posts(integer, boolean, text[], text[]);
CREATE OR REPLACE FUNCTION pigeon_fit_posts(p_head text, p_handles text[],
    p_texts text[])
RETURNS text LANGUAGE plpgsql IMMUTABLE SET search_path = public, pg_temp AS $$
DECLARE
	gsm boolean := pigeon_digest_gsm7(p_head || array_to_string(p_handles, '') ||
	    array_to_string(p_texts, ''));
	dots text := CASE WHEN gsm THEN '...' ELSE '…' END;
	k integer := coalesce(cardinality(p_handles), 0);
	cut text[] := p_texts;
	room integer := CASE WHEN gsm THEN 160 ELSE 70 END
	    - pigeon_sms_units(p_head, gsm) - 3 * (k - 1);
	share integer;
	n_left integer := k;
	i integer;
BEGIN
	-- Septets or UCS-2 units, not characters: a post with a few € signs
	-- made the SMS longer than one, and the worker cut its last post.
	FOR i IN 1 .. k LOOP
		room := room - pigeon_sms_units(p_handles[i], gsm) - 3;	-- "@h: "
	END LOOP;
	FOR i IN SELECT u.i FROM unnest(p_texts) WITH ORDINALITY u(t, i)
	          ORDER BY pigeon_sms_units(u.t, gsm), u.i LOOP
		share := greatest(room / n_left, 0);
		IF pigeon_sms_units(p_texts[i], gsm) > share THEN
			cut[i] := pigeon_sms_left(p_texts[i], greatest(share - length(dots), 0), gsm);
			-- At a space when one is near, as the worker cuts.
			IF substr(p_texts[i], length(cut[i]) + 1, 1) <> ' '
			   AND cut[i] ~ ' \S{0,14}$' THEN
				cut[i] := regexp_replace(cut[i], ' \S*$', '');
			END IF;
			cut[i] := CASE WHEN share > length(dots) + 2
			    THEN rtrim(cut[i], ' ,;:') || dots ELSE '' END;
		END IF;
		room := room - pigeon_sms_units(cut[i], gsm);
		n_left := n_left - 1;
	END LOOP;
	RETURN coalesce((SELECT string_agg('@' || p_handles[j] ||
	        CASE WHEN cut[j] <> '' THEN ': ' || cut[j] ELSE '' END, ' / ' ORDER BY j)
	    FROM generate_subscripts(p_handles, 1) j), '');
END $$;

-- The digest's SMS: the catalog's header (words, count), then the top
-- posts (pigeon_fit_posts) in the room left in one SMS.
CREATE OR REPLACE FUNCTION pigeon_digest_text(p_lang text, p_words text,
    p_count integer, p_handles text[], p_texts text[])
RETURNS text LANGUAGE plpgsql STABLE SET search_path = public, pg_temp AS $$
DECLARE
	tmpl text;
	head text;
	gsm boolean;
	dots text;
BEGIN
	SELECT c.text INTO tmpl FROM catalog c
	    WHERE c.key = 'digest' AND c.lang IN (p_lang, 'en')
	    ORDER BY c.lang = p_lang DESC LIMIT 1;
	IF tmpl IS NULL THEN
		RAISE EXCEPTION 'catalog has no entry digest';
	END IF;
	gsm := pigeon_digest_gsm7(tmpl || p_words || array_to_string(p_handles, '') ||
	    array_to_string(p_texts, ''));
	dots := CASE WHEN gsm THEN '...' ELSE '…' END;
	-- The words cut to 20 characters: the posts matter more.
	IF length(p_words) > 20 THEN
		p_words := rtrim(left(p_words, 20 - length(dots)), ' ,') || dots;
	END IF;
	head := format(tmpl, p_words, p_count::text, '');
	RETURN head || pigeon_fit_posts(head, p_handles, p_texts);
END $$;

-- The due digests, at most p_limit members a call (one transaction):
-- for each, the posts with their digested words (not their own, not
-- deleted) in [since, due): due is the latest hour:00 that has passed
-- (days missed while no pigeond ran are skipped), since the end of the
-- previous digest, at most a day before. The top 3 are those of the
-- most-followed authors (among the latest 500), newest first among
-- equals. Nothing is sent when no post matched, to a phone that said
-- STOP or to a member with updates OFF; the day is recorded all the same. The SMS is an update (class 2):
-- held in the member's quiet hours, counted once by the per-recipient
-- daily ceiling, never by track_day. At most once per member and day:
-- the rows are claimed with SKIP LOCKED, and track_digests' key
-- (account, day) stops a second one from another host, a restart or a
-- new hour the same day.
CREATE OR REPLACE FUNCTION pigeon_digest_run(p_limit integer,
    OUT processed integer, OUT sent integer)
LANGUAGE plpgsql SET search_path = public, pg_temp
    SET plan_cache_mode = force_custom_plan AS $$
DECLARE
	tz text := pigeon_setting('timezone');
	a accounts;
	due timestamptz;
	v_day date;
	v_since timestamptz;
	v_terms text[];
	v_words text;
	n integer;
	handles text[];
	texts text[];
	res text;
	q timestamptz;
	oid bigint;
	lo_since timestamptz;	-- the v_since lo_id was found for
	lo_id bigint;		-- posts after it hold those of the window
BEGIN
	processed := 0;
	sent := 0;
	FOR a IN SELECT * FROM accounts
	          WHERE digest_at <= now()
	          ORDER BY digest_at, id LIMIT p_limit
	          FOR UPDATE SKIP LOCKED LOOP
		processed := processed + 1;
		due := pigeon_digest_next(a.digest_hour, now() - interval '1 day');
		IF due > now() THEN	-- a day of 25 hours
			due := due - interval '1 day';
		END IF;
		v_day := (due AT TIME ZONE tz)::date;
		SELECT array_agg(t.term ORDER BY t.created_at, t.term),
		       string_agg(t.word, ', ' ORDER BY t.created_at, t.term)
		  INTO v_terms, v_words
		  FROM tracks t WHERE t.account_id = a.id AND t.digest;
		UPDATE accounts
		   SET digest_at = CASE WHEN v_terms IS NOT NULL
		                        THEN pigeon_digest_next(a.digest_hour, now()) END
		 WHERE id = a.id;
		CONTINUE WHEN v_terms IS NULL;
		SELECT greatest(due - interval '1 day', max(d.due_at)) INTO v_since
		  FROM track_digests d WHERE d.account_id = a.id;

		-- The window's posts are read by id, from the last post made an
		-- hour or more before it (ids follow creation but for a
		-- transaction that ran long): posts has no index of its times,
		-- and read through the words' index, a member's window read every
		-- post that ever held the words (0.3 s at a million posts,
		-- growing for ever, each member at the same hour). Found once for
		-- the members of one window, walking the newest posts back. Plans
		-- are made for each call's values (plan_cache_mode): a generic
		-- plan of "id > lo_id" guesses a third of the table.
		IF lo_since IS DISTINCT FROM v_since THEN
			SELECT coalesce(max(p.id), 0) INTO lo_id
			  FROM (SELECT p.id FROM posts p
			         WHERE p.created_at < v_since - interval '1 hour'
			         ORDER BY p.id DESC LIMIT 1) p;
			lo_since := v_since;
		END IF;

		-- Every matching post is counted; the top 3 are chosen among the
		-- latest of them (pigeon_digest_candidates: 500), so
		-- that a word in thousands of posts a day costs a bounded number
		-- of follower counts, made once per author.
		WITH m AS MATERIALIZED (
			SELECT p.id, p.account_id, p.text
			  FROM (SELECT * FROM posts p WHERE p.id > lo_id
			         OFFSET 0) p	-- by the primary key, not the words'
			 WHERE p.terms && v_terms
			   AND p.created_at >= v_since AND p.created_at < due
			   AND p.deleted_at IS NULL AND p.account_id <> a.id
			   -- nor a suspended author's (not shown meanwhile)
			   AND NOT EXISTS (SELECT 1 FROM accounts s WHERE s.id = p.account_id
			                      AND s.suspended_at IS NOT NULL)
		), latest AS MATERIALIZED (
			SELECT m.id, m.account_id, m.text FROM m
			 ORDER BY m.id DESC LIMIT pigeon_digest_candidates()
		), au AS MATERIALIZED (
			SELECT l.account_id AS id,
			       (SELECT count(*) FROM follows f
			         WHERE f.followee = l.account_id) AS followers
			  FROM (SELECT DISTINCT account_id FROM latest) l
		), top AS (
			SELECT l.account_id, l.text,
			       row_number() OVER (ORDER BY au.followers DESC, l.id DESC) AS rk
			  FROM latest l JOIN au ON au.id = l.account_id
		)
		SELECT (SELECT count(*) FROM m),
		       (SELECT array_agg(w.handle ORDER BY t.rk) FROM top t
		          JOIN accounts w ON w.id = t.account_id WHERE t.rk <= 3),
		       (SELECT array_agg(t.text ORDER BY t.rk) FROM top t WHERE t.rk <= 3)
		  INTO n, handles, texts;

		res := CASE WHEN n = 0 THEN 'no posts'
		            WHEN EXISTS (SELECT 1 FROM optouts o WHERE o.phone = a.phone)
		            THEN 'stopped'
		            WHEN NOT a.updates_on THEN 'updates off'
		            ELSE 'sent' END;
		INSERT INTO track_digests (account_id, day, since, due_at, posts, result)
		    VALUES (a.id, v_day, v_since, due, n, res)
		    ON CONFLICT (account_id, day) DO NOTHING;
		CONTINUE WHEN NOT FOUND OR res <> 'sent';

		q := CASE WHEN a.sleep_from IS NOT NULL AND a.sleep_to IS NOT NULL
		          THEN pigeon_quiet_end(a.sleep_from, a.sleep_to) END;
		INSERT INTO outbox (recipient, text, class, reply_key, max_parts, more,
		    next_attempt_at, held_since)
		    VALUES (a.phone, pigeon_sms_line(pigeon_digest_text(a.lang, v_words,
		        n, handles, texts)), 2, 'digest', 1, '…',
		        coalesce(q, now()), CASE WHEN q IS NOT NULL THEN now() END)
		    RETURNING id INTO oid;	-- outbox_insert_notify wakes the scheduler
		UPDATE track_digests SET outbox_id = oid
		 WHERE account_id = a.id AND day = v_day;
		sent := sent + 1;
	END LOOP;
	-- The days are kept a month: the key needs only the last ones.
	DELETE FROM track_digests
	 WHERE (account_id, day) IN (SELECT account_id, day FROM track_digests
	                              WHERE day < current_date - 31 LIMIT 1000);
END $$;

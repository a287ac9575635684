-- Commands from phones: replies and every command of the shortcode
-- language (docs/commands.md). Posts, their fan-out and quiet hours are
-- in 35_updates.sql.
--
-- pigeond applies every file of db/functions/ at every start, in name
-- order, after the migrations and under the same advisory lock; they hold
-- only CREATE OR REPLACE statements. Every unit of work is one statement
-- and one transaction calling one of these functions.

-- Why a reply to p_to was not queued (pigeon_queue_reply), kept for the
-- inbox's result (pigeon_apply_result): it said "join hint sent" or
-- "left @dave" when nothing was queued. In a session setting, not SET
-- LOCAL: a function with a SET clause (search_path) undoes what SET LOCAL
-- did inside it when it returns. pigeon_apply empties it first.
CREATE OR REPLACE FUNCTION pigeon_reply_missed(p_to text, p_why text)
RETURNS void LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	j jsonb := coalesce(nullif(current_setting('pigeon.reply_missed', true), ''),
	    '{}')::jsonb;
BEGIN
	-- Bounded: outside pigeon_apply (a fan-out's warnings) nobody empties
	-- it, and only the message being applied reads it.
	IF length(j::text) > 2000 THEN
		j := '{}';
	END IF;
	PERFORM set_config('pigeon.reply_missed',
	    (j || jsonb_build_object(p_to, p_why))::text, false);
END $$;

-- p_outcome as the inbox's result, with what became of the replies to
-- the sender: "(no reply: opted out)" when one was not queued and none
-- was, "(a reply not sent: ...)" when another was. Empties what
-- pigeon_reply_missed kept.
CREATE OR REPLACE FUNCTION pigeon_apply_result(p_msg bigint, p_phone text,
    p_outcome text)
RETURNS text LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	missed text := nullif(current_setting('pigeon.reply_missed', true), '');
BEGIN
	IF missed IS NULL THEN
		RETURN p_outcome;
	END IF;
	PERFORM set_config('pigeon.reply_missed', '', false);
	missed := missed::jsonb->>p_phone;
	IF missed IS NULL THEN
		RETURN p_outcome;
	END IF;
	IF EXISTS (SELECT 1 FROM outbox o WHERE o.reply_to = p_msg
	           AND o.recipient = p_phone) THEN
		RETURN p_outcome || ' (a reply not sent: ' || missed || ')';
	END IF;
	RETURN p_outcome || ' (no reply: ' || missed || ')';
END $$;

-- Queues a catalog entry for p_to in p_lang (English when missing). Never
-- to a phone that said STOP unless p_bypass (the STOP confirmation only).
-- When p_cap, at most reply_cap_hour and reply_cap_day such replies go to
-- one phone: an auto-responder answering every reply cannot loop. NULL
-- when not queued, the reason kept (pigeon_reply_missed).
CREATE OR REPLACE FUNCTION pigeon_queue_reply(p_to text, p_lang text,
    p_key text, p_args text[], p_reply_to bigint, p_bypass boolean,
    p_cap boolean, p_max_parts integer, p_more text)
RETURNS bigint LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	tmpl text;
	oid bigint;
	n_hour integer;
	n_day integer;
BEGIN
	IF NOT p_bypass AND EXISTS (SELECT 1 FROM optouts WHERE phone = p_to) THEN
		PERFORM pigeon_reply_missed(p_to, 'opted out');
		RETURN NULL;
	END IF;
	IF p_cap AND NOT p_bypass THEN
		SELECT count(*) FILTER (WHERE o.created_at > now() - interval '1 hour'),
		       count(*)
		  INTO n_hour, n_day
		  FROM outbox o
		 WHERE o.recipient = p_to
		   AND o.created_at > now() - interval '1 day' AND o.created_at <= now()
		   AND o.class = 0 AND o.reply_key IS DISTINCT FROM 'dm';
		IF n_hour >= pigeon_setting_int('reply_cap_hour') OR
		   n_day >= pigeon_setting_int('reply_cap_day') THEN
			PERFORM pigeon_count('reply_capped', 1);
			PERFORM pigeon_reply_missed(p_to, 'reply cap reached');
			RETURN NULL;
		END IF;
	END IF;
	SELECT c.text INTO tmpl FROM catalog c
	    WHERE c.key = p_key AND c.lang IN (p_lang, 'en')
	    ORDER BY c.lang = p_lang DESC LIMIT 1;
	IF tmpl IS NULL THEN
		RAISE EXCEPTION 'catalog has no entry %', p_key;
	END IF;
	-- A user's text in an argument (a post, a name, a DM) is one line
	-- (pigeon_sms_line, 38_caps.sql), also when stored before that rule.
	INSERT INTO outbox (recipient, text, class, reply_to, bypass_optout,
	    reply_key, max_parts, more)
	    VALUES (p_to, format(tmpl, VARIADIC ARRAY(
	        SELECT pigeon_sms_line(a.v) FROM unnest(p_args) WITH ORDINALITY a(v, i)
	         ORDER BY a.i)), 0, p_reply_to, p_bypass,
	    p_key, least(p_max_parts, 10), p_more)
	    RETURNING outbox.id INTO oid;
	RETURN oid;	-- the outbox_insert_notify trigger wakes the scheduler
END $$;

-- A reply that fits one SMS (every catalog entry does).
CREATE OR REPLACE FUNCTION pigeon_reply(p_to text, p_lang text, p_key text,
    p_args text[] DEFAULT '{}', p_reply_to bigint DEFAULT NULL,
    p_bypass boolean DEFAULT false)
RETURNS bigint LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
	RETURN pigeon_queue_reply(p_to, p_lang, p_key, p_args, p_reply_to,
	    p_bypass, true, NULL, NULL);
END $$;

-- A reply whose last argument is a user's text (a post, a bio): cut to
-- reply_parts parts with an ellipsis.
CREATE OR REPLACE FUNCTION pigeon_reply_text(p_to text, p_lang text,
    p_key text, p_args text[], p_reply_to bigint)
RETURNS bigint LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
	RETURN pigeon_queue_reply(p_to, p_lang, p_key, p_args, p_reply_to,
	    false, true, pigeon_setting_int('reply_parts'), '…');
END $$;

-- The member's post of the same text (as stored: one line, trimmed)
-- made within repeat_window seconds and not deleted, the latest, or NULL
-- (and NULL when repeat_window is 0). A phone that sends an SMS again
-- (no acknowledgement from the network, a double press) sends it with
-- another time stamp, so the inbox's dedupe key takes it for a new SMS:
-- "Rendez-vous demain a 10h au souk" sent twice seconds apart went to
-- every follower twice. Only the member's latest 50 posts are read (the
-- index on (account_id, id)).
CREATE OR REPLACE FUNCTION pigeon_post_repeat(p_acct bigint, p_text text)
RETURNS posts LANGUAGE plpgsql STABLE SET search_path = public, pg_temp AS $$
DECLARE
	window_s integer := pigeon_setting_int('repeat_window');
	r posts;
BEGIN
	IF window_s = 0 THEN
		RETURN NULL;
	END IF;
	SELECT * INTO r
	  FROM (SELECT * FROM posts p WHERE p.account_id = p_acct
	         ORDER BY p.id DESC LIMIT 50) q
	 WHERE q.deleted_at IS NULL AND q.text = p_text
	   AND q.created_at > now() - make_interval(secs => window_s)
	   AND q.created_at <= now()
	 ORDER BY q.id DESC LIMIT 1;
	RETURN r;
END $$;

-- A member's post, or the reply that refuses it. The text is made one
-- line first (pigeon_sms_line): a text of format characters only is empty.
-- The fourth same post of an auto-responder loop is not made (see
-- pigeon_loop_partner): the message is ignored, counted (loop_stopped)
-- and its result, which pigeond logs, names the other end; the member is
-- not told, since an auto-responder would answer that too.
-- The same text again within repeat_window (pigeon_post_repeat) is not
-- posted again: ignored, counted (repeat_dropped), its result names the
-- post. The member is not told either: a post is never confirmed, so the
-- first one looked no different; a reply would cost the operator an SMS
-- for each repeat and give an auto-responder one more SMS to answer.
CREATE OR REPLACE FUNCTION pigeon_apply_post(p_acct accounts, p_text text,
    p_msg bigint, p_ucs2 boolean, p_lang text)
RETURNS text LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	post_max integer := pigeon_setting_int('post_max');
	partner text;
	prev posts;
BEGIN
	p_text := pigeon_sms_line(p_text);
	IF pigeon_text_blank(p_text) THEN
		RETURN pigeon_apply_empty(p_acct.phone, p_acct.id, p_lang, p_msg);
	END IF;
	partner := pigeon_loop_partner(p_acct, p_text);
	IF partner IS NOT NULL THEN
		UPDATE inbox_messages SET state = 'ignored' WHERE id = p_msg;
		PERFORM pigeon_count('loop_stopped', 1);
		RETURN format('auto-responder loop between @%s and @%s: post not made',
		    p_acct.handle, partner);
	END IF;
	prev := pigeon_post_repeat(p_acct.id, p_text);
	IF prev.id IS NOT NULL THEN
		UPDATE inbox_messages SET state = 'ignored' WHERE id = p_msg;
		PERFORM pigeon_count('repeat_dropped', 1);
		RETURN format('same text as post %s, %s s before: not posted again',
		    prev.id, floor(extract(epoch FROM now() - prev.created_at)));
	END IF;
	IF length(p_text) > post_max THEN
		PERFORM pigeon_reply(p_acct.phone, p_lang, 'too_long',
		    ARRAY[length(p_text)::text, post_max::text], p_msg);
		RETURN 'post too long';
	END IF;
	RETURN 'post ' || pigeon_post(p_acct.id, p_text, p_msg, p_ucs2);
END $$;

-- An empty or blank SMS (or a post of invisible characters only): a
-- stranger gets the join hint, under its rule (once a day); a member gets
-- the empty-message hint once a day; anything more is stored and ignored.
CREATE OR REPLACE FUNCTION pigeon_apply_empty(p_phone text, p_acct bigint,
    p_lang text, p_msg bigint)
RETURNS text LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	k text := CASE WHEN p_acct IS NULL THEN 'join_hint' ELSE 'usage_post' END;
BEGIN
	IF EXISTS (SELECT 1 FROM outbox o
	           WHERE o.recipient = p_phone AND o.reply_key = k
	             AND o.created_at > now() - interval '1 day'
	             AND o.created_at <= now()) THEN
		UPDATE inbox_messages SET state = 'ignored' WHERE id = p_msg;
		RETURN 'empty: hint already sent today';
	END IF;
	IF pigeon_reply(p_phone, p_lang, k, '{}', p_msg) IS NULL THEN
		RETURN 'empty';	-- the reason follows (pigeon_apply_result)
	END IF;
	RETURN 'empty: ' || k || ' sent';
END $$;

-- Per-sender limits: NULL when the message may be applied, else what
-- happened to it. Rate-limited messages are kept as 'ignored'; the sender
-- gets at most one warning an hour.
CREATE OR REPLACE FUNCTION pigeon_apply_limit(m inbox_messages, p_lang text)
RETURNS text LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	per_min integer := pigeon_setting_int('limit_minute');
	per_day integer := pigeon_setting_int('limit_day');
	n_min integer;
	n_day integer;
BEGIN
	-- The sender's day by inbox_messages_sender alone (at most
	-- limit_day rows and the ignored ones), its state read from the
	-- rows: with `state = 'done'` beside it, a plan made while few
	-- messages were done (statistics from before a busy hour) ANDed in
	-- inbox_messages_state_id and read every done message of the inbox
	-- for each SMS, 7 ms at 20,000 and growing with the history: the
	-- ingest bench fell from about 3,000 SMS a second to 1,000.
	-- A row stamped after this one counts in no window (here, in the
	-- warning's and in every rolling window of a limit or cap): after
	-- a step back of the database's clock the rows of the hour before
	-- were "this minute", and an active member was limited, every SMS
	-- ignored, for the length of the step (docs/reliability.md). That
	-- bound is read from the rows too: inside, a range closed on both
	-- ends made inbox_messages_received the index of a plan made while
	-- the inbox was nearly empty, and every message of the day was read
	-- for each SMS (the ingest bench at 300 SMS a second in one run of
	-- two).
	SELECT count(*) FILTER (WHERE d.received_at > m.received_at - interval '1 minute'),
	       count(*)
	  INTO n_min, n_day
	  FROM (SELECT i.received_at, i.state FROM inbox_messages i
	         WHERE i.sender = m.sender AND i.id <> m.id
	           AND i.received_at > m.received_at - interval '1 day'
	        OFFSET 0) d
	 WHERE d.state = 'done' AND d.received_at <= m.received_at;
	IF n_min < per_min AND n_day < per_day THEN
		RETURN NULL;
	END IF;
	UPDATE inbox_messages SET state = 'ignored' WHERE id = m.id;
	PERFORM pigeon_count('rate_limited', 1);
	IF EXISTS (SELECT 1 FROM outbox o
	           WHERE o.recipient = m.sender AND o.reply_key = 'rate_limited'
	             AND o.created_at > now() - interval '1 hour'
	             AND o.created_at <= now()) THEN
		RETURN 'rate limited';
	END IF;
	IF pigeon_reply(m.sender, p_lang, 'rate_limited',
	    ARRAY[per_min::text, per_day::text], m.id) IS NULL THEN
		RETURN 'rate limited';	-- the reason follows (pigeon_apply_result)
	END IF;
	RETURN 'rate limited: warned';
END $$;

-- The script a text is written in, from its first letter: 'ar' for
-- Arabic letters (an Arabic question mark or digit counts: "؟"), 'latin'
-- for Latin ones (Arabizi digits do not count: "3awni" is Latin), NULL
-- when it holds neither. The handle after a keyword is always Latin, so
-- the first letter, not the count, says how the sender writes.
CREATE OR REPLACE FUNCTION pigeon_text_script(p_text text)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE WHEN c IS NULL THEN NULL
	            WHEN c ~ '^[A-Za-z\u00c0-\u024f]$' THEN 'latin'
	            ELSE 'ar' END
	  FROM (SELECT substring(p_text FROM
	      '[A-Za-z\u00c0-\u024f\u0608-\u061b\u061d-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufefe]') AS c) s
$$;

-- The one write of an applied message: 'done' (or 'ignored', when p_ignore
-- or a rule already set it), when, the command parsed (as parsed: an "ON
-- verra" applied as a post stays 'on') and what was done.
CREATE OR REPLACE FUNCTION pigeon_apply_end(p_msg bigint, p_cmd text,
    p_outcome text, p_ignore boolean DEFAULT false)
RETURNS text LANGUAGE sql AS $$
	UPDATE inbox_messages
	   SET state = CASE WHEN p_ignore OR state = 'ignored' THEN 'ignored'
	                    ELSE 'done' END,
	       processed_at = now(), command = p_cmd, result = p_outcome
	 WHERE id = p_msg;
	SELECT p_outcome;
$$;

-- One parsed message (p_cmd from commands.c: cmd, err, handle, text,
-- lang, from, to, keyword_lang, loose, at, join_words, list, ucs2, digest,
-- hour), applied at most once.
CREATE OR REPLACE FUNCTION pigeon_apply(p_msg bigint, p_cmd jsonb)
RETURNS text LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	c_cmd text := coalesce(p_cmd->>'cmd', 'post');
	-- The parser's error name (parse.c, command_error_name): 'none' or ''.
	c_err text := coalesce(nullif(p_cmd->>'err', 'none'), '');
	c_handle text := coalesce(p_cmd->>'handle', '');
	c_text text := coalesce(p_cmd->>'text', '');
	c_ucs2 boolean := (p_cmd->>'ucs2')::boolean;
	m inbox_messages;
	acct accounts;
	target accounts;
	p posts;
	lang text;
	outcome text;
	n integer;
	k integer;
	opted_in boolean := false;
	hidden boolean := false;
BEGIN
	-- Locked here, written once at the end (pigeon_apply_end): its
	-- state, command and result in one UPDATE, the state counts'
	-- trigger fired once a message. (A rule below that ignores it sets
	-- 'ignored' first; the end keeps it.)
	SELECT * INTO m FROM inbox_messages WHERE id = p_msg AND state = 'new'
	   FOR UPDATE;
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	-- The replies this message misses are its own (pigeon_apply_result).
	IF current_setting('pigeon.reply_missed', true) <> '' THEN
		PERFORM set_config('pigeon.reply_missed', '', false);
	END IF;

	-- Operators' promotions and service numbers are stored, never answered.
	IF m.sender_kind <> 'e164' THEN
		PERFORM pigeon_apply_end(p_msg, c_cmd, 'not a phone number', true);
		RETURN 'ignored: ' || m.sender_kind || ' sender';
	END IF;

	SELECT * INTO acct FROM accounts WHERE phone = m.sender;
	-- A member's replies come in the account's language. A stranger is
	-- answered in the script they wrote: Arabic letters get Arabic,
	-- whatever the keyword; Latin letters the keyword's language (English,
	-- French, Darija), else the configured one. A JOIN keeps it.
	lang := coalesce(acct.lang,
	    CASE WHEN pigeon_text_script(m.text) = 'ar' THEN 'ar' END,
	    nullif(p_cmd->>'keyword_lang', ''),
	    pigeon_setting('language'));

	-- STOP comes before every other rule, limits included.
	IF c_cmd = 'stop' THEN
		INSERT INTO optouts (phone) VALUES (m.sender) ON CONFLICT DO NOTHING;
		GET DIAGNOSTICS n = ROW_COUNT;
		IF n > 0 THEN
			PERFORM pigeon_queue_reply(m.sender, lang, 'stopped', '{}',
			    p_msg, true, false, NULL, NULL);
			outcome := 'stopped';
		ELSE
			outcome := 'already stopped';
		END IF;
		RETURN pigeon_apply_end(p_msg, c_cmd, outcome);
	END IF;

	-- A suspended account's other messages are kept, not applied
	-- (64_moderation.sql).
	IF acct.suspended_at IS NOT NULL THEN
		PERFORM pigeon_apply_end(p_msg, c_cmd, 'account suspended', true);
		RETURN 'ignored: account suspended';
	END IF;

	outcome := pigeon_apply_limit(m, lang);
	IF outcome IS NOT NULL THEN
		RETURN pigeon_apply_end(p_msg, c_cmd,
		    pigeon_apply_result(p_msg, m.sender, outcome));
	END IF;

	-- "ON verra": ON or OFF with a word nobody is called is a post; so
	-- is a loose keyword's ("tbe3 lmatch", "jib lia": parse.c). Not when
	-- the handle had an '@' ("OFF @bobb", at): a handle was meant, and
	-- the typo went out to every follower; it gets no_such_user below.
	-- So is a list of words with commas and no '@' of which nobody is
	-- called ("Follow us, friends"); "FOLLOW karim, nadia" gets FOLLOW's
	-- usage (parse.c, handle_list).
	IF acct.id IS NOT NULL AND (
	    ((c_cmd IN ('on', 'off') OR coalesce((p_cmd->>'loose')::boolean, false))
	     AND NOT coalesce((p_cmd->>'at')::boolean, false)
	     AND c_err = '' AND c_handle <> ''
	     AND NOT EXISTS (SELECT 1 FROM accounts WHERE handle = c_handle))
	    OR (c_err = 'handles' AND jsonb_typeof(p_cmd->'list') = 'array'
	        AND NOT EXISTS (SELECT 1 FROM accounts
	                        WHERE handle IN (SELECT jsonb_array_elements_text(p_cmd->'list')))))
	    THEN
		c_cmd := 'post';
		c_err := '';
		c_handle := '';
		c_text := regexp_replace(m.text,
		    '^[\s\u00a0\u200b-\u200f\ufeff]+|[\s\u00a0\u200b-\u200f\ufeff]+$', '', 'g');
	END IF;
	IF c_handle <> '' THEN
		SELECT * INTO target FROM accounts WHERE handle = c_handle;
		-- A suspended member is not shown while suspended (its pages,
		-- the API, SEARCH): GET, WHOIS and FOLLOW answer as for no such
		-- member (GET showed its latest post). UNFOLLOW, ON and OFF
		-- still act on it. The result, which the operator alone
		-- reads, says why.
		IF target.suspended_at IS NOT NULL AND c_cmd IN ('get', 'whois', 'follow') THEN
			target := NULL;
			hidden := true;
		END IF;
	END IF;

	-- A JOIN from a phone that said STOP asks to use the service again:
	-- it opts back in as START does, and gets its reply (the welcome, and
	-- every reply after it, went nowhere). Not a member's loose JOIN
	-- ("سجل karim" is also "Karim scored"): too often no JOIN at all.
	IF c_cmd = 'join' AND (acct.id IS NULL OR
	    NOT coalesce((p_cmd->>'loose')::boolean, false)) THEN
		DELETE FROM optouts WHERE phone = m.sender;
		GET DIAGNOSTICS n = ROW_COUNT;
		IF n > 0 THEN
			UPDATE accounts SET updates_on = true
			 WHERE id = acct.id AND NOT updates_on;
			opted_in := true;
		END IF;
	END IF;

	IF c_err = 'empty' THEN
		outcome := pigeon_apply_empty(m.sender, acct.id, lang, p_msg);
	ELSIF c_cmd = 'start' THEN
		DELETE FROM optouts WHERE phone = m.sender;
		-- Its reply says the updates are on again: so they are, also
		-- after an OFF (a member who paused with OFF tries START).
		UPDATE accounts SET updates_on = true WHERE id = acct.id AND NOT updates_on;
		PERFORM pigeon_reply(m.sender, lang,
		    CASE WHEN acct.id IS NULL THEN 'started_join' ELSE 'started' END,
		    '{}', p_msg);
		outcome := 'started';
	ELSIF c_err = 'reserved' THEN
		PERFORM pigeon_reply(m.sender, lang, 'handle_reserved', ARRAY[c_handle], p_msg);
		outcome := 'reserved handle @' || c_handle;
	ELSIF c_err <> '' AND (acct.id IS NOT NULL OR c_cmd = 'join') THEN
		-- (A stranger's FOLLOW or SLEEP without its word gets the join
		-- hint below, once a day, not that command's usage each time.)
		PERFORM pigeon_reply(m.sender, lang, 'usage_' || c_cmd, '{}', p_msg);
		outcome := 'usage: ' || c_cmd || ' (' || c_err || ')';
	ELSIF c_cmd = 'help' THEN
		-- Two SMS: the commands do not fit one with the words'.
		PERFORM pigeon_reply(m.sender, lang, 'help', '{}', p_msg);
		PERFORM pigeon_reply(m.sender, lang, 'help_words', '{}', p_msg);
		outcome := 'help';
	ELSIF c_cmd = 'join' THEN
		IF acct.id IS NOT NULL THEN
			PERFORM pigeon_reply(m.sender, lang, 'already_member',
			    ARRAY[acct.handle], p_msg);
			outcome := 'already a member';
		ELSE
			INSERT INTO accounts (phone, handle, lang)
			    VALUES (m.sender, c_handle, lang)
			    ON CONFLICT DO NOTHING;
			GET DIAGNOSTICS n = ROW_COUNT;
			IF n = 0 THEN
				PERFORM pigeon_reply(m.sender, lang, 'handle_taken',
				    ARRAY[c_handle], p_msg);
				outcome := 'handle taken';
			ELSE
				PERFORM pigeon_reply(m.sender, lang, 'welcome',
				    ARRAY[c_handle], p_msg);
				outcome := 'joined as @' || c_handle;
			END IF;
		END IF;
	ELSIF acct.id IS NULL AND coalesce((p_cmd->>'join_words')::boolean, false) THEN
		-- A stranger's "JOIN karim ali", "INSCRIPTION Karim Benali": the
		-- hint told them to do what they did, once a day. JOIN's usage
		-- says a name is one word, in the keyword's language, each time.
		PERFORM pigeon_reply(m.sender, lang, 'usage_join', '{}', p_msg);
		outcome := 'not a member: usage: join (more than a name)';
	ELSIF acct.id IS NULL THEN
		-- A stranger: at most one join hint a day.
		IF NOT EXISTS (SELECT 1 FROM outbox o
		               WHERE o.recipient = m.sender AND o.reply_key = 'join_hint'
		                 AND o.created_at > now() - interval '1 day'
		                 AND o.created_at <= now()) THEN
			outcome := CASE WHEN pigeon_reply(m.sender, lang, 'join_hint',
			    '{}', p_msg) IS NULL THEN 'not a member'	-- and why
			    ELSE 'not a member: join hint sent' END;
		ELSE
			outcome := 'not a member: join hint already sent today';
		END IF;
	ELSIF c_handle <> '' AND target.id IS NULL THEN
		PERFORM pigeon_reply(m.sender, lang, 'no_such_user', ARRAY[c_handle], p_msg);
		outcome := 'no such user @' || c_handle ||
		    CASE WHEN hidden THEN ' (suspended)' ELSE '' END;
	ELSIF c_cmd = 'post' THEN
		outcome := pigeon_apply_post(acct, c_text, p_msg, c_ucs2, lang);
	ELSIF c_cmd = 'follow' THEN
		IF target.id = acct.id THEN
			PERFORM pigeon_reply(m.sender, lang, 'follow_self', '{}', p_msg);
			outcome := 'follow self refused';
		ELSE
			INSERT INTO follows (followee, follower) VALUES (target.id, acct.id)
			    ON CONFLICT (followee, follower) DO UPDATE SET sms = true;
			PERFORM pigeon_reply(m.sender, lang, 'following', ARRAY[c_handle], p_msg);
			outcome := 'follows @' || c_handle;
		END IF;
	ELSIF c_cmd = 'leave' THEN
		DELETE FROM follows f WHERE f.followee = target.id AND f.follower = acct.id;
		GET DIAGNOSTICS n = ROW_COUNT;
		PERFORM pigeon_reply(m.sender, lang,
		    CASE WHEN n > 0 THEN 'unfollowed' ELSE 'not_following' END,
		    ARRAY[c_handle], p_msg);
		outcome := CASE WHEN n > 0 THEN 'left @' ELSE 'was not following @' END || c_handle;
	ELSIF c_cmd IN ('on', 'off') AND c_handle = '' THEN
		UPDATE accounts SET updates_on = (c_cmd = 'on') WHERE id = acct.id;
		PERFORM pigeon_reply(m.sender, lang, c_cmd || '_all', '{}', p_msg);
		outcome := 'updates ' || c_cmd;
	ELSIF c_cmd IN ('on', 'off') THEN
		UPDATE follows SET sms = (c_cmd = 'on')
		 WHERE followee = target.id AND follower = acct.id;
		GET DIAGNOSTICS n = ROW_COUNT;
		PERFORM pigeon_reply(m.sender, lang,
		    CASE WHEN n = 0 THEN 'not_following' ELSE c_cmd || '_user' END,
		    ARRAY[c_handle], p_msg);
		outcome := CASE WHEN n = 0 THEN 'not following @' || c_handle
		                ELSE 'updates ' || c_cmd || ' for @' || c_handle END;
	ELSIF c_cmd = 'dm' THEN
		outcome := pigeon_apply_dm(m, acct, target, c_text, lang);
	ELSIF c_cmd = 'get' THEN
		SELECT * INTO p FROM posts
		 WHERE account_id = target.id AND deleted_at IS NULL
		 ORDER BY id DESC LIMIT 1;
		IF p.id IS NULL THEN
			PERFORM pigeon_reply(m.sender, lang, 'get_none', ARRAY[c_handle], p_msg);
			outcome := 'get @' || c_handle || ': no post';
		ELSE
			PERFORM pigeon_reply_text(m.sender, lang, 'get',
			    ARRAY[c_handle, pigeon_sms_copy(p.text)], p_msg);
			outcome := 'get @' || c_handle || ': post ' || p.id;
		END IF;
	ELSIF c_cmd = 'whois' THEN
		SELECT count(*) INTO n FROM follows WHERE followee = target.id;
		SELECT count(*) INTO k FROM follows WHERE follower = target.id;
		PERFORM pigeon_reply_text(m.sender, lang, 'whois',
		    ARRAY[c_handle, n::text, k::text,
		          to_char(target.created_at AT TIME ZONE
		              pigeon_setting('timezone'), 'YYYY-MM-DD'),
		          concat_ws(' - ', nullif(target.name, ''), nullif(target.bio, ''))],
		    p_msg);
		outcome := 'whois @' || c_handle;
	ELSIF c_cmd = 'stats' THEN
		outcome := pigeon_apply_stats(acct, p_msg, lang);
	ELSIF c_cmd = 'track' AND (p_cmd->>'digest')::boolean IS TRUE THEN
		outcome := pigeon_apply_track_digest(acct, c_text,
		    (p_cmd->>'hour')::integer, p_msg, lang);	-- 37_digest.sql
	ELSIF c_cmd = 'track' THEN
		outcome := pigeon_apply_track(acct, c_text, p_msg, lang);
	ELSIF c_cmd = 'untrack' THEN
		outcome := pigeon_apply_untrack(acct, c_text, p_msg, lang);
	ELSIF c_cmd = 'tracks' THEN
		outcome := pigeon_apply_tracks(acct, p_msg, lang);
	ELSIF c_cmd = 'search' THEN
		outcome := pigeon_apply_search(acct, c_text, p_msg, lang);
	ELSIF c_cmd IN ('name', 'bio') THEN
		outcome := pigeon_apply_profile(acct, c_cmd, c_text, p_msg, lang);
	ELSIF c_cmd = 'lang' THEN
		UPDATE accounts SET lang = p_cmd->>'lang' WHERE id = acct.id;
		PERFORM pigeon_reply(m.sender, p_cmd->>'lang', 'lang_set', '{}', p_msg);
		outcome := 'language ' || (p_cmd->>'lang');
	ELSIF c_cmd = 'sleep' THEN
		outcome := pigeon_apply_sleep(acct, (p_cmd->>'from')::integer,
		    (p_cmd->>'to')::integer, p_msg, lang);
	ELSIF c_cmd = 'delete' THEN
		SELECT * INTO p FROM posts
		 WHERE account_id = acct.id AND deleted_at IS NULL
		 ORDER BY id DESC LIMIT 1;
		IF p.id IS NULL THEN
			PERFORM pigeon_reply(m.sender, lang, 'delete_none', '{}', p_msg);
			outcome := 'delete: no post';
		ELSE
			UPDATE posts SET deleted_at = now() WHERE id = p.id;
			-- Held or not yet sent copies go no further.
			PERFORM pigeon_outbox_cancel_post(p.id, 'post deleted');
			PERFORM pigeon_reply(m.sender, lang, 'deleted', '{}', p_msg);
			outcome := 'deleted post ' || p.id;
		END IF;
	ELSE
		PERFORM pigeon_reply(m.sender, lang, 'not_available', ARRAY[upper(c_cmd)], p_msg);
		outcome := 'not available: ' || c_cmd;
	END IF;
	IF opted_in THEN
		outcome := outcome || ' (STOP lifted by JOIN)';
	END IF;
	RETURN pigeon_apply_end(p_msg, coalesce(p_cmd->>'cmd', 'post'),
	    pigeon_apply_result(p_msg, m.sender, outcome));
END $$;

-- D h text: only to someone who follows the sender; the recipient's STOP
-- wins silently (the sender is not told who opted out). Not to oneself:
-- "D alice hi" from alice was told "@alice does not follow you".
CREATE OR REPLACE FUNCTION pigeon_apply_dm(m inbox_messages, acct accounts,
    target accounts, p_text text, p_lang text)
RETURNS text LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	post_max integer := pigeon_setting_int('post_max');
	oid bigint;
BEGIN
	p_text := pigeon_sms_line(p_text);	-- one line: no forged second sender
	IF pigeon_text_blank(p_text) THEN
		PERFORM pigeon_reply(m.sender, p_lang, 'usage_dm', '{}', m.id);
		RETURN 'usage: dm (nothing to read)';
	END IF;
	IF target.id = acct.id THEN
		PERFORM pigeon_reply(m.sender, p_lang, 'dm_self', '{}', m.id);
		RETURN 'dm to self refused';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM follows
	               WHERE followee = acct.id AND follower = target.id) THEN
		PERFORM pigeon_reply(m.sender, p_lang, 'dm_not_follower',
		    ARRAY[target.handle], m.id);
		RETURN 'dm to @' || target.handle || ' refused: not a follower';
	END IF;
	IF length(p_text) > post_max THEN
		PERFORM pigeon_reply(m.sender, p_lang, 'dm_too_long',
		    ARRAY[length(p_text)::text, post_max::text], m.id);
		RETURN 'dm too long';
	END IF;
	-- Its copy as a post's (pigeon_sms_copy): "c’est bon…" in GSM-7.
	oid := pigeon_queue_reply(target.phone, target.lang, 'dm',
	    ARRAY[acct.handle, pigeon_sms_copy(p_text)], m.id, false, false,
	    pigeon_setting_int('reply_parts'), '…');
	IF oid IS NULL THEN
		RETURN 'dm to @' || target.handle || ' not sent: recipient said STOP';
	END IF;
	RETURN 'dm to @' || target.handle;
END $$;

-- NAME text (at most 20 characters) and BIO text (at most 100).
CREATE OR REPLACE FUNCTION pigeon_apply_profile(acct accounts, p_field text,
    p_text text, p_msg bigint, p_lang text)
RETURNS text LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	lim integer := CASE WHEN p_field = 'name' THEN 20 ELSE 100 END;
BEGIN
	p_text := pigeon_sms_line(p_text);	-- shown in WHOIS replies: one line
	IF pigeon_text_blank(p_text) THEN
		PERFORM pigeon_reply(acct.phone, p_lang, 'usage_' || p_field, '{}', p_msg);
		RETURN 'usage: ' || p_field || ' (nothing to read)';
	END IF;
	IF length(p_text) > lim THEN
		PERFORM pigeon_reply(acct.phone, p_lang, p_field || '_too_long',
		    ARRAY[length(p_text)::text, lim::text], p_msg);
		RETURN p_field || ' too long';
	END IF;
	IF p_field = 'name' THEN
		UPDATE accounts SET name = p_text WHERE id = acct.id;
		PERFORM pigeon_reply_text(acct.phone, p_lang, 'name_set',
		    ARRAY[p_text], p_msg);
	ELSE
		UPDATE accounts SET bio = p_text WHERE id = acct.id;
		PERFORM pigeon_reply(acct.phone, p_lang, 'bio_set', '{}', p_msg);
	END IF;
	RETURN p_field || ' set';
END $$;

-- SLEEP from to (hours), or SLEEP OFF (-1 -1). Held updates are re-timed
-- for the new window at once: SLEEP OFF releases them. A window longer
-- than hold_max_age (SLEEP 20 9 is 13 hours, against 12 by default) is
-- kept, and its reply says that updates older than that are dropped
-- (pigeon_hold_expire): the first ones of the night are, before it ends.
-- An hour's margin: a window as long as hold_max_age loses the updates of
-- its first minutes to the morning's backlog, and a clock change's night
-- is an hour longer.
CREATE OR REPLACE FUNCTION pigeon_apply_sleep(acct accounts, p_from integer,
    p_to integer, p_msg bigint, p_lang text)
RETURNS text LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	n integer;
	hold integer := pigeon_setting_int('hold_max_age');
BEGIN
	IF p_from IS NULL OR p_to IS NULL OR p_from < 0 OR p_to < 0 THEN
		UPDATE accounts SET sleep_from = NULL, sleep_to = NULL WHERE id = acct.id;
		n := pigeon_hold_retime(acct.phone);
		PERFORM pigeon_reply(acct.phone, p_lang, 'sleep_off', '{}', p_msg);
		RETURN 'quiet hours off, ' || n || ' held update(s) released';
	END IF;
	UPDATE accounts SET sleep_from = p_from, sleep_to = p_to WHERE id = acct.id;
	n := pigeon_hold_retime(acct.phone);
	IF ((p_to - p_from + 24) % 24 + 1) * 3600 > hold THEN
		-- In hours, with a tenth when it is not whole: "12", "0.5".
		PERFORM pigeon_reply(acct.phone, p_lang, 'sleep_set_long',
		    ARRAY[p_from::text, p_to::text,
		          rtrim(rtrim(to_char(floor(hold / 360.0) / 10, 'FM990.0'), '0'), '.')],
		    p_msg);
		RETURN format('quiet hours %s-%s, longer than hold_max_age', p_from, p_to);
	END IF;
	PERFORM pigeon_reply(acct.phone, p_lang, 'sleep_set',
	    ARRAY[p_from::text, p_to::text], p_msg);
	RETURN format('quiet hours %s-%s', p_from, p_to);
END $$;

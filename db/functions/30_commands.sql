-- Commands from phones: replies, posts and their fan-out.
--
-- pigeond applies every file of db/functions/ at every start, in name
-- order, after the migrations and under the same advisory lock; they hold
-- only CREATE OR REPLACE statements. Every unit of work is one statement
-- and one transaction calling one of these functions.

CREATE OR REPLACE FUNCTION pigeon_reply(p_to text, p_lang text, p_key text,
    p_args text[] DEFAULT '{}', p_reply_to bigint DEFAULT NULL,
    p_bypass boolean DEFAULT false)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	tmpl text;
	id bigint;
BEGIN
	IF NOT p_bypass AND EXISTS (SELECT 1 FROM optouts WHERE phone = p_to) THEN
		RETURN NULL;
	END IF;
	SELECT c.text INTO tmpl FROM catalog c
	    WHERE c.key = p_key AND c.lang IN (p_lang, 'en')
	    ORDER BY c.lang = p_lang DESC LIMIT 1;
	IF tmpl IS NULL THEN
		RAISE EXCEPTION 'catalog has no entry %', p_key;
	END IF;
	INSERT INTO outbox (recipient, text, class, reply_to, bypass_optout, reply_key)
	    VALUES (p_to, format(tmpl, VARIADIC p_args), 0, p_reply_to, p_bypass, p_key)
	    RETURNING outbox.id INTO id;
	PERFORM pg_notify('pigeon_outbox', '');
	RETURN id;
END $$;

CREATE OR REPLACE FUNCTION pigeon_post(p_account bigint, p_text text,
    p_inbox bigint)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	pid bigint;
	author text;
	n integer;
BEGIN
	INSERT INTO posts (account_id, text, inbox_id)
	    VALUES (p_account, p_text, p_inbox)
	    RETURNING id INTO pid;
	SELECT handle INTO author FROM accounts WHERE id = p_account;
	INSERT INTO outbox (recipient, text, class, post_id)
	SELECT a.phone, '@' || author || ': ' || p_text, 2, pid
	  FROM follows f
	  JOIN accounts a ON a.id = f.follower
	 WHERE f.followee = p_account AND f.sms AND a.updates_on
	   AND NOT EXISTS (SELECT 1 FROM optouts o WHERE o.phone = a.phone)
	ON CONFLICT (post_id, recipient) DO NOTHING;
	GET DIAGNOSTICS n = ROW_COUNT;
	IF n > 0 THEN
		PERFORM pg_notify('pigeon_outbox', '');
	END IF;
	RETURN pid;
END $$;

CREATE OR REPLACE FUNCTION pigeon_apply(p_msg bigint, p_cmd text, p_err text,
    p_handle text, p_text text, p_keyword_lang text, p_default_lang text,
    p_post_max integer)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	m inbox_messages;
	acct accounts;
	target accounts;
	lang text;
	outcome text;
	n integer;
BEGIN
	UPDATE inbox_messages SET state = 'done', processed_at = now(), command = p_cmd
	 WHERE id = p_msg AND state = 'new'
	RETURNING * INTO m;
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;

	-- Operators' promotions and service numbers are stored, never answered.
	IF m.sender_kind <> 'e164' THEN
		UPDATE inbox_messages SET state = 'ignored', result = 'not a phone number'
		 WHERE id = p_msg;
		RETURN 'ignored: ' || m.sender_kind || ' sender';
	END IF;

	SELECT * INTO acct FROM accounts WHERE phone = m.sender;
	lang := coalesce(acct.lang, nullif(p_keyword_lang, ''), p_default_lang);

	-- STOP comes before every other rule.
	IF p_cmd = 'stop' THEN
		INSERT INTO optouts (phone) VALUES (m.sender) ON CONFLICT DO NOTHING;
		GET DIAGNOSTICS n = ROW_COUNT;
		IF n > 0 THEN
			PERFORM pigeon_reply(m.sender, lang, 'stopped', '{}', p_msg, true);
			outcome := 'stopped';
		ELSE
			outcome := 'already stopped';
		END IF;
	ELSIF p_cmd = 'start' THEN
		DELETE FROM optouts WHERE phone = m.sender;
		PERFORM pigeon_reply(m.sender, lang,
		    CASE WHEN acct.id IS NULL THEN 'started_join' ELSE 'started' END,
		    '{}', p_msg);
		outcome := 'started';
	ELSIF p_err <> '' THEN
		PERFORM pigeon_reply(m.sender, lang, 'usage_' || p_cmd, '{}', p_msg);
		outcome := 'usage: ' || p_cmd || ' (' || p_err || ')';
	ELSIF p_cmd = 'help' THEN
		PERFORM pigeon_reply(m.sender, lang, 'help', '{}', p_msg);
		outcome := 'help';
	ELSIF p_cmd = 'join' THEN
		IF acct.id IS NOT NULL THEN
			PERFORM pigeon_reply(m.sender, lang, 'already_member',
			    ARRAY[acct.handle], p_msg);
			outcome := 'already a member';
		ELSE
			INSERT INTO accounts (phone, handle, lang)
			    VALUES (m.sender, p_handle, lang)
			    ON CONFLICT DO NOTHING;
			GET DIAGNOSTICS n = ROW_COUNT;
			IF n = 0 THEN
				PERFORM pigeon_reply(m.sender, lang, 'handle_taken',
				    ARRAY[p_handle], p_msg);
				outcome := 'handle taken';
			ELSE
				PERFORM pigeon_reply(m.sender, lang, 'welcome',
				    ARRAY[p_handle], p_msg);
				outcome := 'joined as @' || p_handle;
			END IF;
		END IF;
	ELSIF acct.id IS NULL THEN
		-- A stranger: at most one join hint a day.
		IF NOT EXISTS (SELECT 1 FROM outbox o
		               WHERE o.recipient = m.sender AND o.reply_key = 'join_hint'
		                 AND o.created_at > now() - interval '1 day') THEN
			PERFORM pigeon_reply(m.sender, lang, 'join_hint', '{}', p_msg);
			outcome := 'not a member: join hint sent';
		ELSE
			outcome := 'not a member: join hint already sent today';
		END IF;
	ELSIF p_cmd IN ('follow', 'leave', 'get', 'whois')
	    AND NOT EXISTS (SELECT 1 FROM accounts WHERE handle = p_handle) THEN
		PERFORM pigeon_reply(m.sender, lang, 'no_such_user', ARRAY[p_handle], p_msg);
		outcome := 'no such user @' || p_handle;
	ELSIF p_cmd = 'follow' THEN
		SELECT * INTO target FROM accounts WHERE handle = p_handle;
		IF target.id = acct.id THEN
			PERFORM pigeon_reply(m.sender, lang, 'follow_self', '{}', p_msg);
			outcome := 'follow self refused';
		ELSE
			INSERT INTO follows (followee, follower) VALUES (target.id, acct.id)
			    ON CONFLICT (followee, follower) DO UPDATE SET sms = true;
			PERFORM pigeon_reply(m.sender, lang, 'following', ARRAY[p_handle], p_msg);
			outcome := 'follows @' || p_handle;
		END IF;
	ELSIF p_cmd = 'leave' THEN
		DELETE FROM follows f USING accounts t
		 WHERE t.handle = p_handle AND f.followee = t.id AND f.follower = acct.id;
		GET DIAGNOSTICS n = ROW_COUNT;
		PERFORM pigeon_reply(m.sender, lang,
		    CASE WHEN n > 0 THEN 'unfollowed' ELSE 'not_following' END,
		    ARRAY[p_handle], p_msg);
		outcome := CASE WHEN n > 0 THEN 'left @' ELSE 'was not following @' END || p_handle;
	ELSIF p_cmd = 'post' THEN
		IF length(p_text) > p_post_max THEN
			PERFORM pigeon_reply(m.sender, lang, 'too_long',
			    ARRAY[length(p_text)::text, p_post_max::text], p_msg);
			outcome := 'post too long';
		ELSE
			outcome := 'post ' || pigeon_post(acct.id, p_text, p_msg);
		END IF;
	ELSE
		PERFORM pigeon_reply(m.sender, lang, 'not_available', ARRAY[upper(p_cmd)], p_msg);
		outcome := 'not available: ' || p_cmd;
	END IF;

	UPDATE inbox_messages SET result = outcome WHERE id = p_msg;
	RETURN outcome;
END $$;

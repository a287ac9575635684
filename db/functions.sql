-- The SQL pigeond runs, as functions so that every unit of work is one
-- statement and one transaction: a batch of SMS parts stored, one command
-- applied with its reply and fan-out, one send outcome recorded.
--
-- pigeond applies this file at every start, after the migrations and under
-- the same advisory lock; it only holds CREATE OR REPLACE statements.

-- A reply or notice to one phone, rendered from the catalog in lang (falling
-- back to English). Skipped for phones that said STOP unless bypass is set.
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

-- Joins the waiting parts of one concatenated SMS into a message when all
-- have arrived, or when p_force (the timeout) says to take what there is.
CREATE OR REPLACE FUNCTION pigeon_inbox_join(p_sender text, p_ref integer,
    p_total integer, p_force boolean)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	ids bigint[];
	joined text;
	nseq integer;
	first_modem text;
	kind text;
	mid bigint;
BEGIN
	PERFORM 1 FROM inbox_parts
	    WHERE message_id IS NULL AND sender_norm = p_sender
	      AND concat_ref = p_ref AND concat_total = p_total
	    FOR UPDATE;
	SELECT array_agg(q.id ORDER BY q.concat_seq),
	       string_agg(q.text, '' ORDER BY q.concat_seq),
	       count(*), min(q.modem), min(q.sender_kind)
	  INTO ids, joined, nseq, first_modem, kind
	  FROM (SELECT DISTINCT ON (concat_seq) id, concat_seq, text, modem, sender_kind
	          FROM inbox_parts
	         WHERE message_id IS NULL AND sender_norm = p_sender
	           AND concat_ref = p_ref AND concat_total = p_total
	         ORDER BY concat_seq, id) q;
	IF nseq IS NULL OR nseq = 0 OR (nseq < p_total AND NOT p_force) THEN
		RETURN NULL;
	END IF;
	INSERT INTO inbox_messages (modem, sender, sender_kind, text, parts, complete)
	    VALUES (first_modem, p_sender, kind, joined, nseq, nseq >= p_total)
	    RETURNING id INTO mid;
	-- Duplicated sequence numbers (a reference reused) stay with the group.
	UPDATE inbox_parts SET message_id = mid
	 WHERE message_id IS NULL AND sender_norm = p_sender
	   AND concat_ref = p_ref AND concat_total = p_total
	   AND (id = ANY (ids) OR p_force);
	RETURN mid;
END $$;

-- Stores a batch of SMS parts (a JSON array, one object per part, as built
-- by inbound.c) and makes messages of those that are whole. A part already
-- stored (same dedupe key) is skipped. Returns the number of new parts.
CREATE OR REPLACE FUNCTION pigeon_inbox_store(p_parts jsonb)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
	r record;
	mid bigint;
	n integer := 0;
BEGIN
	FOR r IN
		WITH ins AS (
			INSERT INTO inbox_parts (dedupe, modem, sender, sender_norm,
			    sender_kind, smsc, smsc_time, coding, text,
			    concat_ref, concat_total, concat_seq)
			SELECT md5(concat_ws('|', p->>'modem', p->>'sender',
			           p->>'time', p->>'ref', p->>'total', p->>'seq',
			           md5(p->>'text'))),
			       p->>'modem', p->>'sender', p->>'sender_norm',
			       p->>'sender_kind', coalesce(p->>'smsc', ''),
			       (p->>'time')::timestamptz, p->>'coding', p->>'text',
			       (p->>'ref')::integer, (p->>'total')::integer,
			       (p->>'seq')::integer
			  FROM jsonb_array_elements(p_parts) p
			ON CONFLICT (dedupe) DO NOTHING
			RETURNING *
		)
		SELECT * FROM ins ORDER BY id
	LOOP
		n := n + 1;
		IF coalesce(r.concat_total, 1) <= 1 THEN
			INSERT INTO inbox_messages (modem, sender, sender_kind, text, parts)
			    VALUES (r.modem, r.sender_norm, r.sender_kind, r.text, 1)
			    RETURNING id INTO mid;
			UPDATE inbox_parts SET message_id = mid WHERE id = r.id;
		ELSE
			PERFORM pigeon_inbox_join(r.sender_norm, r.concat_ref,
			    r.concat_total, false);
		END IF;
	END LOOP;
	RETURN n;
END $$;

-- Joins what arrived of concatenated SMS whose missing parts are overdue.
CREATE OR REPLACE FUNCTION pigeon_inbox_expire(p_timeout_s integer)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
	g record;
	n integer := 0;
BEGIN
	FOR g IN
		SELECT sender_norm, concat_ref, concat_total
		  FROM inbox_parts
		 WHERE message_id IS NULL
		 GROUP BY sender_norm, concat_ref, concat_total
		HAVING min(received_at) < now() - make_interval(secs => p_timeout_s)
	LOOP
		IF pigeon_inbox_join(g.sender_norm, g.concat_ref, g.concat_total, true)
		    IS NOT NULL THEN
			n := n + 1;
		END IF;
	END LOOP;
	RETURN n;
END $$;

-- A post and its fan-out: one outbox row per follower who wants SMS
-- updates, in one INSERT ... SELECT.
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

-- Applies one parsed command from inbox message p_msg, with its reply, in
-- the caller's transaction. The command was parsed by parse.c; p_err is
-- its parse error ('' when none). Returns what was done, for the log and
-- for operators; NULL when the message was already processed.
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

-- Claims up to p_n due messages for this host, highest priority first.
-- Messages to phones that said STOP are cancelled on the way.
CREATE OR REPLACE FUNCTION pigeon_outbox_claim(p_host text, p_n integer,
    p_lease_s integer)
RETURNS TABLE (id bigint, recipient text, text text, class smallint)
LANGUAGE plpgsql AS $$
BEGIN
	UPDATE outbox o SET state = 'cancelled', last_error = 'recipient said STOP'
	 WHERE o.state = 'queued' AND NOT o.bypass_optout
	   AND o.recipient IN (SELECT phone FROM optouts);
	RETURN QUERY
	WITH c AS MATERIALIZED (
		SELECT o.id FROM outbox o
		 WHERE o.state = 'queued' AND o.next_attempt_at <= now()
		 ORDER BY o.class, o.next_attempt_at, o.id
		 LIMIT p_n
		 FOR UPDATE SKIP LOCKED
	)
	UPDATE outbox o SET state = 'sending', host = p_host,
	       lease_until = now() + make_interval(secs => p_lease_s),
	       attempts = o.attempts + 1
	  FROM c WHERE o.id = c.id
	RETURNING o.id, o.recipient, o.text, o.class;
END $$;

CREATE OR REPLACE FUNCTION pigeon_outbox_sent(p_id bigint, p_modem text,
    p_parts integer, p_refs integer[])
RETURNS void LANGUAGE sql AS $$
	UPDATE outbox SET state = 'sent', modem = p_modem, parts = p_parts,
	       refs = p_refs, sent_at = now(), lease_until = NULL, last_error = NULL
	 WHERE id = p_id AND state = 'sending';
	UPDATE modems SET sms_sent = sms_sent + 1, updated_at = now()
	 WHERE name = p_modem;
$$;

-- Retry time grows with the attempt number: 10 s, 40 s, 90 s, ... capped
-- at an hour. After p_max attempts a temporary failure is final.
CREATE OR REPLACE FUNCTION pigeon_outbox_failed(p_id bigint, p_modem text,
    p_error text, p_temporary boolean, p_max_attempts integer)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	o outbox;
BEGIN
	SELECT * INTO o FROM outbox WHERE id = p_id AND state = 'sending' FOR UPDATE;
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	UPDATE modems SET sms_failed = sms_failed + 1, last_error = p_error,
	       updated_at = now() WHERE name = p_modem;
	IF p_temporary AND o.attempts < p_max_attempts THEN
		UPDATE outbox SET state = 'queued', modem = p_modem, last_error = p_error,
		       lease_until = NULL,
		       next_attempt_at = now() + make_interval(secs =>
		           least(3600, 10 * o.attempts * o.attempts))
		 WHERE id = p_id;
		RETURN 'queued';
	END IF;
	UPDATE outbox SET state = 'failed', modem = p_modem, last_error = p_error,
	       lease_until = NULL
	 WHERE id = p_id;
	RETURN 'failed';
END $$;

-- Returns to the queue the messages whose lease ran out (their host died
-- or lost its database connection while sending).
CREATE OR REPLACE FUNCTION pigeon_outbox_reclaim()
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
	n integer;
BEGIN
	UPDATE outbox SET state = 'queued', lease_until = NULL,
	       last_error = 'lease of ' || coalesce(host, '?') || ' expired'
	 WHERE state = 'sending' AND lease_until < now();
	GET DIAGNOSTICS n = ROW_COUNT;
	IF n > 0 THEN
		PERFORM pg_notify('pigeon_outbox', '');
	END IF;
	RETURN n;
END $$;

CREATE OR REPLACE FUNCTION pigeon_outbox_record_state()
RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO outbox_history (outbox_id, state, modem, detail)
	    VALUES (NEW.id, NEW.state, NEW.modem, NEW.last_error);
	RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER outbox_state_history
	AFTER UPDATE OF state ON outbox
	FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state)
	EXECUTE FUNCTION pigeon_outbox_record_state();

-- Records a modem's state and identification as its supervisor sees it.
CREATE OR REPLACE FUNCTION pigeon_modem_state(p_name text, p_host text,
    p_state text, p_reason text, p_info jsonb)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	old text;
BEGIN
	SELECT state INTO old FROM modems WHERE name = p_name FOR UPDATE;
	INSERT INTO modems AS m (name, host, state, state_reason, state_since)
	    VALUES (p_name, p_host, p_state, p_reason, now())
	ON CONFLICT (name) DO UPDATE
	    SET host = EXCLUDED.host, state = EXCLUDED.state,
	        state_reason = EXCLUDED.state_reason,
	        state_since = CASE WHEN m.state = EXCLUDED.state THEN m.state_since
	                           ELSE now() END,
	        updated_at = now();
	IF p_info IS NOT NULL AND p_info <> '{}'::jsonb THEN
		UPDATE modems SET
		    manufacturer = coalesce(p_info->>'manufacturer', manufacturer),
		    model = coalesce(p_info->>'model', model),
		    firmware = coalesce(p_info->>'firmware', firmware),
		    imei = coalesce(p_info->>'imei', imei),
		    imsi = coalesce(p_info->>'imsi', imsi),
		    last_error = coalesce(p_info->>'error', last_error)
		 WHERE name = p_name;
	END IF;
	IF old IS DISTINCT FROM p_state THEN
		INSERT INTO modem_history (modem, state, reason)
		    VALUES (p_name, p_state, p_reason);
	END IF;
END $$;

CREATE OR REPLACE FUNCTION pigeon_modem_received(p_name text, p_n integer)
RETURNS void LANGUAGE sql AS $$
	UPDATE modems SET sms_in = sms_in + p_n, updated_at = now() WHERE name = p_name;
$$;

-- Replaces the reply catalog: {"en": {"key": "text", ...}, "fr": {...}}.
CREATE OR REPLACE FUNCTION pigeon_catalog_load(p_catalog jsonb)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
	n integer;
BEGIN
	DELETE FROM catalog;
	INSERT INTO catalog (lang, key, text)
	SELECT l.key, e.key, e.value
	  FROM jsonb_each(p_catalog) l, jsonb_each_text(l.value) e;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END $$;

-- Settings, posts and their fan-out, quiet hours, operator sends.
--
-- pigeond applies every file of db/functions/ at every start, in name
-- order, after the migrations and under the same advisory lock; they hold
-- only CREATE OR REPLACE statements. Every unit of work is one statement
-- and one transaction calling one of these functions.

-- A [pigeon] key as the last pigeond to start wrote it, or p_default.
CREATE OR REPLACE FUNCTION pigeon_setting(p_key text, p_default text)
RETURNS text LANGUAGE sql STABLE AS $$
	SELECT coalesce((SELECT value FROM settings WHERE key = p_key), p_default);
$$;

CREATE OR REPLACE FUNCTION pigeon_setting_int(p_key text, p_default integer)
RETURNS integer LANGUAGE sql STABLE AS $$
	SELECT coalesce((SELECT value::integer FROM settings WHERE key = p_key
	                  AND value ~ '^[0-9]{1,9}$'), p_default);
$$;

-- Called by pigeond at every start with its [pigeon] keys. An unknown
-- time zone is refused here (the old settings stay).
CREATE OR REPLACE FUNCTION pigeon_settings_load(p_settings jsonb)
RETURNS integer LANGUAGE plpgsql AS $$
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
RETURNS timestamptz LANGUAGE plpgsql STABLE AS $$
DECLARE
	tz text := pigeon_setting('timezone', 'Africa/Casablanca');
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

-- Re-times the held updates of one recipient (p_phone) or of everyone
-- (NULL) for the current windows and time zone: released when the
-- recipient is outside their window now. Returns the rows released.
CREATE OR REPLACE FUNCTION pigeon_hold_retime(p_phone text)
RETURNS integer LANGUAGE plpgsql AS $$
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
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
	age integer := pigeon_setting_int('hold_max_age', 43200);
	n integer;
BEGIN
	UPDATE outbox SET state = 'expired',
	       last_error = 'held for quiet hours longer than ' || age || ' s'
	 WHERE state = 'queued' AND held_since IS NOT NULL
	   AND created_at < now() - make_interval(secs => age);
	GET DIAGNOSTICS n = ROW_COUNT;
	IF n > 0 THEN
		PERFORM pigeon_count('held_expired', n);
	END IF;
	RETURN n;
END $$;

-- Called by pigeond whenever its database connection comes up, after
-- pigeon_settings_load: the time zone or the windows may have changed.
CREATE OR REPLACE FUNCTION pigeon_start()
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	expired integer := pigeon_hold_expire();
	released integer := pigeon_hold_retime(NULL);
BEGIN
	RETURN format('%s held update(s) expired, %s released', expired, released);
END $$;

-- A post and its fan-out: one row per follower who wants SMS, cut to
-- fanout_parts_gsm or fanout_parts_ucs2 parts (p_ucs2 says which; NULL,
-- unknown, takes the UCS-2 cap) with "… GET author" at the cut; held to
-- the end of the recipient's quiet hours when they are in them.
CREATE OR REPLACE FUNCTION pigeon_post(p_account bigint, p_text text,
    p_inbox bigint, p_ucs2 boolean DEFAULT NULL)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	pid bigint;
	author text;
	cap integer;
	n integer;
BEGIN
	INSERT INTO posts (account_id, text, inbox_id)
	    VALUES (p_account, p_text, p_inbox)
	    RETURNING id INTO pid;
	SELECT handle INTO author FROM accounts WHERE id = p_account;
	cap := CASE WHEN p_ucs2 IS FALSE THEN pigeon_setting_int('fanout_parts_gsm', 1)
	            ELSE pigeon_setting_int('fanout_parts_ucs2', 3) END;
	INSERT INTO outbox (recipient, text, class, post_id, max_parts, more,
	    next_attempt_at, held_since)
	SELECT q.phone, '@' || author || ': ' || p_text, 2, pid, least(cap, 10),
	       '… GET ' || author, coalesce(q.quiet_end, now()),
	       CASE WHEN q.quiet_end IS NOT NULL THEN now() END
	  FROM (SELECT a.phone,
	               -- Most followers keep no quiet hours: skip the call,
	               -- which would return NULL for them (fan-out speed).
	               CASE WHEN a.sleep_from IS NOT NULL AND a.sleep_to IS NOT NULL
	                     AND a.sleep_from <> a.sleep_to
	                    THEN pigeon_quiet_end(a.sleep_from, a.sleep_to)
	               END AS quiet_end
	          FROM follows f
	          JOIN accounts a ON a.id = f.follower
	         WHERE f.followee = p_account AND f.sms AND a.updates_on
	           AND NOT EXISTS (SELECT 1 FROM optouts o WHERE o.phone = a.phone)) q
	ON CONFLICT (post_id, recipient) DO NOTHING;
	GET DIAGNOSTICS n = ROW_COUNT;
	IF n > 0 THEN
		PERFORM pg_notify('pigeon_outbox', '');
	END IF;
	RETURN pid;
END $$;

-- An operator's send (the HTTP API): the outbox id, or NULL when the
-- phone said STOP. Never held, never capped.
CREATE OR REPLACE FUNCTION pigeon_send(p_to text, p_text text, p_class smallint)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	oid bigint;
BEGIN
	IF EXISTS (SELECT 1 FROM optouts WHERE phone = p_to) THEN
		RETURN NULL;
	END IF;
	INSERT INTO outbox (recipient, text, class)
	    VALUES (p_to, p_text, coalesce(p_class, 1))
	    RETURNING id INTO oid;
	PERFORM pg_notify('pigeon_outbox', '');
	RETURN oid;
END $$;

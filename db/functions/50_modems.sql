-- Modems as their supervisors see them.
--
-- pigeond applies every file of db/functions/ at every start, in name
-- order, after the migrations and under the same advisory lock; they hold
-- only CREATE OR REPLACE statements. Every unit of work is one statement
-- and one transaction calling one of these functions.

-- A modem's state as its host's supervisor sees it. Only the host that
-- holds the modem's lock (pigeon_modem_lock) records a state; a host that
-- has the same name configured but not the lock records 'elsewhere',
-- which adds a history line (and a row if the owner has none yet) and
-- leaves the owner's row alone (pigeon_modem_lock marks waiting_host).
CREATE OR REPLACE FUNCTION pigeon_modem_state(p_name text, p_host text,
    p_state text, p_reason text, p_info jsonb)
RETURNS void LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	old text;
BEGIN
	SELECT state INTO old FROM modems WHERE name = p_name FOR UPDATE;
	IF p_state = 'elsewhere' THEN
		INSERT INTO modems (name, host, state, state_reason, waiting_host,
		                    waiting_since, waiting_seen)
		    VALUES (p_name, p_host, p_state, p_reason, p_host, now(), now())
		ON CONFLICT (name) DO NOTHING;
		INSERT INTO modem_history (modem, state, reason)
		    VALUES (p_name, p_state, 'host ' || p_host || ': ' || p_reason);
		RETURN;
	END IF;
	INSERT INTO modems AS m (name, host, state, state_reason, state_since)
	    VALUES (p_name, p_host, p_state, p_reason, now())
	ON CONFLICT (name) DO UPDATE
	    SET host = EXCLUDED.host, state = EXCLUDED.state,
	        state_reason = EXCLUDED.state_reason,
	        -- A link connected again (online, or draining: connected
	        -- and reading) has no current error: the one it had stays
	        -- in modem_history, with its time.
	        last_error = CASE WHEN EXCLUDED.state IN ('online', 'draining')
	                          THEN '' ELSE m.last_error END,
	        state_since = CASE WHEN m.state = EXCLUDED.state THEN m.state_since
	                           ELSE now() END,
	        waiting_host = CASE WHEN m.waiting_host = EXCLUDED.host THEN ''
	                            ELSE m.waiting_host END,
	        waiting_since = CASE WHEN m.waiting_host = EXCLUDED.host THEN NULL
	                             ELSE m.waiting_since END,
	        waiting_seen = CASE WHEN m.waiting_host = EXCLUDED.host THEN NULL
	                            ELSE m.waiting_seen END,
	        updated_at = now();
	IF p_info IS NOT NULL AND p_info <> '{}'::jsonb THEN
		UPDATE modems SET
		    manufacturer = coalesce(p_info->>'manufacturer', manufacturer),
		    model = coalesce(p_info->>'model', model),
		    firmware = coalesce(p_info->>'firmware', firmware),
		    imei = coalesce(p_info->>'imei', imei),
		    imsi = coalesce(p_info->>'imsi', imsi),
		    last_error = coalesce(p_info->>'error', last_error),
		    pid = CASE WHEN p_info ? 'pid' THEN (p_info->>'pid')::integer
		               ELSE pid END,
		    restarts = coalesce((p_info->>'restarts')::bigint, restarts),
		    kind = coalesce(p_info->>'kind', kind),
		    -- A bind's SMSC account (SYSTEM_ID@HOST:PORT), null for a
		    -- modem: receipts match across the binds of one account
		    -- (pigeon_account_links). A pigeond that says none (older)
		    -- leaves it.
		    account = CASE WHEN p_info ? 'account' THEN p_info->>'account'
		                   ELSE account END
		 WHERE name = p_name;
	END IF;
	IF old IS DISTINCT FROM p_state THEN
		INSERT INTO modem_history (modem, state, reason)
		    VALUES (p_name, p_state, p_reason);
	END IF;
END $$;

-- A session of the link lost alone (a bind's receiver: the link sends
-- on), its state unchanged: not a state, but the answers on it may be
-- lost all the same, which the inbox's store reads here
-- (pigeon_inbox_store_parts). Written by the host that drives the link.
CREATE OR REPLACE FUNCTION pigeon_modem_session_lost(p_name text, p_session text,
    p_reason text)
RETURNS void LANGUAGE sql AS $$
	INSERT INTO modem_history (modem, state, reason)
	    VALUES (p_name, p_session || ' lost', p_reason);
$$;

-- The session advisory lock (p_class, hashtext(p_key)), never waiting:
-- got, or who holds it (holder: application_name, backend pid, client
-- address, connected since). Taking one this session holds is a no-op
-- (a second pg_try_advisory_lock would count it twice).
CREATE OR REPLACE FUNCTION pigeon_advisory_try(p_class integer, p_key text,
    OUT got boolean, OUT holder text)
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
	holder := NULL;
	IF EXISTS (SELECT 1 FROM pg_locks l
	            WHERE l.locktype = 'advisory' AND l.pid = pg_backend_pid()
	              AND l.classid = p_class::oid
	              AND l.objid = hashtext(p_key)::oid AND l.objsubid = 2
	              AND l.granted) THEN
		got := true;
		RETURN;
	END IF;
	got := pg_try_advisory_lock(p_class, hashtext(p_key));
	IF NOT got THEN
		SELECT coalesce(nullif(a.application_name, ''), 'a connection') ||
		       ', backend pid ' || l.pid ||
		       coalesce(' from ' || host(a.client_addr), '') ||
		       coalesce(', connected since ' ||
		                to_char(a.backend_start, 'YYYY-MM-DD HH24:MI:SS TZ'), '')
		  INTO holder
		  FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
		 WHERE l.locktype = 'advisory' AND l.classid = p_class::oid
		   AND l.objid = hashtext(p_key)::oid AND l.objsubid = 2 AND l.granted
		   AND l.database = (SELECT oid FROM pg_database
		                      WHERE datname = current_database())
		 LIMIT 1;
	END IF;
END $$;

-- Host locks. A host owns a modem while its connection holds the session
-- advisory lock (1346979653, hashtext(name)): 1346979653 is 'PIGE' in
-- ASCII, a class of its own, and a two-key lock never meets the one-key
-- lock of the migrations. In pg_locks: locktype 'advisory', classid
-- 1346979653, objid hashtext(name)::oid, objsubid 2. PostgreSQL releases
-- it when the connection ends, however it ends. Never waits: a lock held
-- elsewhere returns false with who holds it (application_name is
-- 'pigeond HOST' for pigeond's connection), marks the row as waited for
-- by p_host, and the caller tries again later (pigeon_advisory_try).
CREATE OR REPLACE FUNCTION pigeon_modem_lock(p_name text, p_host text,
    OUT got boolean, OUT holder text)
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
	SELECT t.got, t.holder INTO got, holder
	  FROM pigeon_advisory_try(1346979653, p_name) t;
	IF NOT got THEN
		UPDATE modems SET waiting_host = p_host,
		       waiting_since = CASE WHEN waiting_host = p_host
		                            THEN waiting_since ELSE now() END,
		       waiting_seen = now()
		 WHERE name = p_name;
	END IF;
END $$;

-- A host name's lock: pigeond's main connection holds the session
-- advisory lock (1346979656, hashtext(host)) (1346979656 is 'PIGH') while
-- it runs. A second pigeond with the same host name (the same config
-- started twice, the host name defaulting to the machine's) would
-- otherwise put the first one's sends in flight back in the queue
-- (pigeon_outbox_reclaim_host) and send them again: it refuses to start
-- instead (gateway/hostlock.c). As a modem's: never waits, holder says
-- who holds it.
CREATE OR REPLACE FUNCTION pigeon_host_lock(p_host text,
    OUT got boolean, OUT holder text)
LANGUAGE sql AS $$
	SELECT t.got, t.holder FROM pigeon_advisory_try(1346979656, p_host) t;
$$;

-- Whether any session holds the session advisory lock (p_class,
-- hashtext(p_key)) of pigeon_advisory_try in this database, without
-- taking it: a link's (1346979653) is held while a host drives it, a
-- host name's (1346979656) while that host's pigeond is connected.
CREATE OR REPLACE FUNCTION pigeon_advisory_held(p_class integer, p_key text)
RETURNS boolean LANGUAGE sql SET search_path = public, pg_temp AS $$
	SELECT EXISTS (SELECT 1 FROM pg_locks l
	                WHERE l.locktype = 'advisory' AND l.classid = p_class::oid
	                  AND l.objid = hashtext(p_key)::oid AND l.objsubid = 2
	                  AND l.granted
	                  AND l.database = (SELECT oid FROM pg_database
	                                     WHERE datname = current_database()));
$$;

-- p_host no longer waits for the modem (it stops, or dropped the modem).
CREATE OR REPLACE FUNCTION pigeon_modem_unwait(p_name text, p_host text)
RETURNS void LANGUAGE sql AS $$
	UPDATE modems SET waiting_host = '', waiting_since = NULL, waiting_seen = NULL
	 WHERE name = p_name AND waiting_host = p_host;
$$;

-- A host's rows of links that are not in its file any more (p_names are
-- those it has), as it starts or reconnects: it was restarted without
-- their sections, where a SIGHUP would have set them aside. Each row whose
-- lock nobody holds becomes what that SIGHUP leaves, 'disabled', "removed
-- from the configuration", and the host no longer waits for such a name:
-- they stayed as the last run left them (`offline`, "pigeond stopped"),
-- a send `via` them was taken and waited, and `pigeonctl forget` asked
-- for a reload that could not remove them. Returns the names set aside.
CREATE OR REPLACE FUNCTION pigeon_modems_set_aside(p_host text, p_names text[])
RETURNS SETOF text LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	n text;
BEGIN
	UPDATE modems SET waiting_host = '', waiting_since = NULL, waiting_seen = NULL
	 WHERE waiting_host = p_host AND name <> ALL (p_names);
	FOR n IN SELECT name FROM modems
	          WHERE host = p_host AND name <> ALL (p_names)
	            AND (state <> 'disabled' OR state_reason IS DISTINCT FROM
	                 'removed from the configuration')
	          ORDER BY name LOOP
		-- A host that drives it holds its lock; one that takes it later
		-- writes its own row over this.
		CONTINUE WHEN NOT pg_try_advisory_xact_lock(1346979653, hashtext(n));
		PERFORM pigeon_modem_state(n, p_host, 'disabled',
		    'removed from the configuration', '{"pid": null}'::jsonb);
		RETURN NEXT n;
	END LOOP;
END $$;

-- Of the links p_host set aside (p_names: removed by SIGHUP, still shown
-- `disabled` by its /metrics and /healthz), those that are not its own
-- any more: forgotten (no row, through any host), or another host's (the
-- row names another host, another host waits for it, or another session
-- holds its lock: the move of docs/scaling.md). taken_by: that host, ''
-- when forgotten. Called on the connection that held this host's links'
-- locks (pigeond's main one).
CREATE OR REPLACE FUNCTION pigeon_modems_aside_gone(p_host text, p_names text[])
RETURNS TABLE (link text, taken_by text)
LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
	SELECT u.n, CASE WHEN m.name IS NULL THEN ''
	                 WHEN m.host <> p_host THEN 'host ' || m.host
	                 WHEN m.waiting_host NOT IN ('', p_host)
	                 THEN 'host ' || m.waiting_host
	                 ELSE 'another host' END
	  FROM unnest(p_names) u(n) LEFT JOIN modems m ON m.name = u.n
	 WHERE m.name IS NULL OR m.host <> p_host
	    OR m.waiting_host NOT IN ('', p_host)
	    OR EXISTS (SELECT 1 FROM pg_locks l
	                WHERE l.locktype = 'advisory' AND l.classid = 1346979653::oid
	                  AND l.objid = hashtext(u.n)::oid AND l.objsubid = 2
	                  AND l.granted AND l.pid <> pg_backend_pid()
	                  AND l.database = (SELECT oid FROM pg_database
	                                     WHERE datname = current_database()));
$$;

-- A modem removed from this host's configuration: another host may take it.
CREATE OR REPLACE FUNCTION pigeon_modem_unlock(p_name text)
RETURNS boolean LANGUAGE sql AS $$
	SELECT pg_advisory_unlock(1346979653, hashtext(p_name));
$$;

CREATE OR REPLACE FUNCTION pigeon_modem_received(p_name text, p_n integer)
RETURNS void LANGUAGE sql AS $$
	UPDATE modems SET sms_in = sms_in + p_n, updated_at = now() WHERE name = p_name;
$$;

-- The worker's health poll: signal, registration, operator, battery, IMSI.
-- A key the modem did not report is stored as NULL.
CREATE OR REPLACE FUNCTION pigeon_modem_health(p_name text, p_health jsonb)
RETURNS void LANGUAGE sql AS $$
	UPDATE modems SET
	    signal_percent = (p_health->>'signal_percent')::integer,
	    signal_dbm = (p_health->>'signal_dbm')::integer,
	    registration = p_health->>'registration',
	    operator = p_health->>'operator',
	    operator_name = p_health->>'operator_name',
	    battery_percent = (p_health->>'battery_percent')::integer,
	    imsi = coalesce(nullif(p_health->>'imsi', ''), imsi),
	    health_at = now(), updated_at = now()
	 WHERE name = p_name;
$$;

-- DELETE /api/modems/NAME (pigeonctl forget): a link no host has any
-- more leaves /api/modems, /metrics and the status page. Without
-- p_force, only a row that says "removed from the configuration" (the
-- last host that had it set it aside, and no host has taken it since)
-- and that no host waits for. With p_force, also a link whose hosts (its
-- owner, the host that waits for it) are not running: no pigeond of
-- their name is connected (pigeon_host_lock), as a host switched off for
-- good, or killed, leaves it; its row said what it was then, for ever.
-- Either way, never while a host holds the link's lock (it drives it),
-- nor while a running host has it in its configuration, nor with a send
-- `via` it leased. The messages queued `via` it are cancelled (they could
-- never leave: a send `via` a removed link is refused, and these waited
-- for it to come back). Its history stays (modem_history; the messages
-- it sent and received keep its name), and so do its parts of the days
-- before today (what the carrier billed: /api/charts); its samples and
-- its parts counted today go (the status page charted it, /metrics
-- listed it; a forget erased every day's). A host that configures the
-- name again starts a new row. Returns {"forgotten", "cancelled"} or
-- {"error": "no_link" | "configured" | "in_flight", ...}; "configured"
-- names the host and says whether it is "running" (false: p_force
-- would forget it).
CREATE OR REPLACE FUNCTION pigeon_link_forget(p_name text, p_force boolean)
RETURNS jsonb LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	r modems;
	n integer;
	removed boolean;
	owner_up boolean;
	waiter_up boolean;
BEGIN
	SELECT * INTO r FROM modems WHERE name = p_name FOR UPDATE;
	IF NOT FOUND THEN
		RETURN jsonb_build_object('error', 'no_link');
	END IF;
	removed := r.state = 'disabled'
	           AND r.state_reason IS NOT DISTINCT FROM 'removed from the configuration';
	owner_up := pigeon_advisory_held(1346979656, r.host);
	waiter_up := r.waiting_host <> ''
	             AND pigeon_advisory_held(1346979656, r.waiting_host);
	-- The link's lock of pigeon_modem_lock, held for this transaction:
	-- a host running the link holds it for its session, and one that
	-- starts meanwhile waits for it.
	IF waiter_up OR (owner_up AND NOT removed)
	   OR NOT pg_try_advisory_xact_lock(1346979653, hashtext(p_name)) THEN
		RETURN jsonb_build_object('error', 'configured', 'state', r.state,
		    'running', true,
		    'host', CASE WHEN waiter_up OR (removed AND r.waiting_host <> '')
		                 THEN r.waiting_host ELSE r.host END);
	END IF;
	IF NOT p_force AND (NOT removed OR r.waiting_host <> '') THEN
		RETURN jsonb_build_object('error', 'configured', 'state', r.state,
		    'running', false,
		    'host', CASE WHEN removed THEN r.waiting_host ELSE r.host END);
	END IF;
	-- A send only it may make, still leased (a pigeond killed while it
	-- sent: the reclaim puts it back in the queue, to be cancelled then).
	-- The claim names no link (the outcome does): others go back to the
	-- queue for any link.
	SELECT count(*) INTO n FROM outbox WHERE state = 'sending' AND via_link = p_name;
	IF n > 0 THEN
		RETURN jsonb_build_object('error', 'in_flight', 'sending', n);
	END IF;
	UPDATE outbox SET state = 'cancelled',
	       last_error = format('link %s forgotten by the operator', p_name)
	 WHERE via_link = p_name AND state = 'queued';
	GET DIAGNOSTICS n = ROW_COUNT;
	DELETE FROM modems WHERE name = p_name;
	-- Off /metrics (its parts today) and the status page's charts (its
	-- samples): configured again, it is a new link, with a new budget.
	DELETE FROM counters
	 WHERE name = 'link_parts/' || to_char(now() AT TIME ZONE
	           pigeon_setting('timezone'), 'YYYY-MM-DD') || '/' || p_name;
	DELETE FROM status_samples WHERE link = p_name;
	INSERT INTO modem_history (modem, state, reason)
	    VALUES (p_name, 'disabled', CASE WHEN removed AND r.waiting_host = ''
	            THEN 'forgotten by the operator'
	            ELSE format('forgotten by the operator (host %s not running)',
	                        CASE WHEN removed THEN r.waiting_host ELSE r.host END) END);
	RETURN jsonb_build_object('forgotten', p_name, 'cancelled', n);
END $$;

-- pigeond 0.20 forgets with pigeon_link_forget(text, boolean).
DROP FUNCTION IF EXISTS pigeon_link_forget(text);

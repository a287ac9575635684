-- Issue 15: data retention (item 8), /metrics from counters (item 8),
-- per-link send counts that outlive a restart (item 7), the SIM PIN that
-- failed (item 2). Tables: db/migrations/0015_retention.sql.
--
-- pigeond applies every file of db/functions/ at every start, in name
-- order, each file in one transaction.

-- Counts by state for /metrics. A statement trigger per table and event
-- appends one delta row per state the statement changed: no shared row
-- is locked, so concurrent writers never wait on each other here.
-- TG_ARGV[0] names the count ('in', 'out', 'webhooks').
CREATE OR REPLACE FUNCTION pigeon_metric_states()
RETURNS trigger LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
	IF TG_OP = 'INSERT' THEN
		INSERT INTO metric_deltas (name, key, delta)
		SELECT TG_ARGV[0], n.state, count(*) FROM new_rows n GROUP BY n.state;
	ELSIF TG_OP = 'DELETE' THEN
		INSERT INTO metric_deltas (name, key, delta)
		SELECT TG_ARGV[0], o.state, -count(*) FROM old_rows o GROUP BY o.state;
	ELSE
		INSERT INTO metric_deltas (name, key, delta)
		SELECT TG_ARGV[0], s.state, sum(s.d)
		  FROM (SELECT n.state, 1 AS d FROM new_rows n
		        UNION ALL SELECT o.state, -1 FROM old_rows o) s
		 GROUP BY s.state HAVING sum(s.d) <> 0;
	END IF;
	RETURN NULL;
END $$;

-- The delivery-report latency histogram: a message counts once, when its
-- delivered_at is first set (or when it is inserted with one); purging it
-- later does not uncount it (a Prometheus histogram only grows).
CREATE OR REPLACE FUNCTION pigeon_metric_latency()
RETURNS trigger LANGUAGE plpgsql SET search_path = public, pg_temp
    SET enable_nestloop = off AS $$
DECLARE
	lat float8[];
BEGIN
	IF TG_OP = 'INSERT' THEN
		SELECT array_agg(extract(epoch FROM n.delivered_at - n.sent_at)::float8) INTO lat
		  FROM new_rows n WHERE n.delivered_at IS NOT NULL AND n.sent_at IS NOT NULL;
	ELSE
		SELECT array_agg(extract(epoch FROM n.delivered_at - n.sent_at)::float8) INTO lat
		  FROM new_rows n JOIN old_rows o ON o.id = n.id
		 WHERE o.delivered_at IS NULL AND n.delivered_at IS NOT NULL
		   AND n.sent_at IS NOT NULL;
	END IF;
	IF lat IS NULL THEN
		RETURN NULL;
	END IF;
	INSERT INTO metric_deltas (name, key, delta)
	SELECT 'latency', 'le_' || b.le, count(*)
	  FROM unnest(lat) AS d(s), unnest(ARRAY[1, 5, 10, 30, 60, 300, 900, 3600]) AS b(le)
	 WHERE d.s <= b.le GROUP BY b.le
	UNION ALL
	SELECT 'latency', 'count', cardinality(lat)
	UNION ALL
	SELECT 'latency', 'sum_ms', round(sum(d.s) * 1000)::bigint FROM unnest(lat) AS d(s);
	RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER inbox_metric_ins AFTER INSERT ON inbox_messages
	REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION pigeon_metric_states('in');
CREATE OR REPLACE TRIGGER inbox_metric_upd AFTER UPDATE ON inbox_messages
	REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION pigeon_metric_states('in');
CREATE OR REPLACE TRIGGER inbox_metric_del AFTER DELETE ON inbox_messages
	REFERENCING OLD TABLE AS old_rows
	FOR EACH STATEMENT EXECUTE FUNCTION pigeon_metric_states('in');
CREATE OR REPLACE TRIGGER outbox_metric_ins AFTER INSERT ON outbox
	REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION pigeon_metric_states('out');
CREATE OR REPLACE TRIGGER outbox_metric_upd AFTER UPDATE ON outbox
	REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION pigeon_metric_states('out');
CREATE OR REPLACE TRIGGER outbox_metric_del AFTER DELETE ON outbox
	REFERENCING OLD TABLE AS old_rows
	FOR EACH STATEMENT EXECUTE FUNCTION pigeon_metric_states('out');
CREATE OR REPLACE TRIGGER outbox_metric_latency_ins AFTER INSERT ON outbox
	REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION pigeon_metric_latency();
CREATE OR REPLACE TRIGGER outbox_metric_latency AFTER UPDATE ON outbox
	REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION pigeon_metric_latency();
CREATE OR REPLACE TRIGGER webhook_metric_ins AFTER INSERT ON webhook_deliveries
	REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION pigeon_metric_states('webhooks');
CREATE OR REPLACE TRIGGER webhook_metric_upd AFTER UPDATE ON webhook_deliveries
	REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION pigeon_metric_states('webhooks');
CREATE OR REPLACE TRIGGER webhook_metric_del AFTER DELETE ON webhook_deliveries
	REFERENCING OLD TABLE AS old_rows
	FOR EACH STATEMENT EXECUTE FUNCTION pigeon_metric_states('webhooks');

-- The first start with these triggers counts the tables once. CREATE
-- TRIGGER above locked the three tables against writers until this
-- transaction commits, so no write is counted twice or missed.
DO $$
BEGIN
	IF EXISTS (SELECT 1 FROM metric_seeded) THEN
		RETURN;
	END IF;
	INSERT INTO metric_counts (name, key, value)
	SELECT 'in', state, count(*) FROM inbox_messages GROUP BY state
	UNION ALL
	SELECT 'out', state, count(*) FROM outbox GROUP BY state
	UNION ALL
	SELECT 'webhooks', state, count(*) FROM webhook_deliveries GROUP BY state;
	WITH d AS MATERIALIZED (
		SELECT extract(epoch FROM delivered_at - sent_at)::float8 AS s FROM outbox
		 WHERE delivered_at IS NOT NULL AND sent_at IS NOT NULL)
	INSERT INTO metric_counts (name, key, value)
	SELECT 'latency', 'le_' || b.le, (SELECT count(*) FROM d WHERE d.s <= b.le)
	  FROM unnest(ARRAY[1, 5, 10, 30, 60, 300, 900, 3600]) AS b(le)
	UNION ALL SELECT 'latency', 'count', count(*) FROM d
	UNION ALL SELECT 'latency', 'sum_ms', coalesce(round(sum(d.s) * 1000), 0)::bigint FROM d;
	INSERT INTO metric_seeded DEFAULT VALUES;
END $$;

-- Folds the deltas into metric_counts (the retention job, every few
-- seconds). One host at a time: two folds at once could deadlock on the
-- counts they both update.
CREATE OR REPLACE FUNCTION pigeon_metric_fold()
RETURNS integer LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	n integer;
BEGIN
	IF NOT pg_try_advisory_xact_lock(hashtext('pigeon_metric_fold')) THEN
		RETURN 0;
	END IF;
	-- The audience counts' deltas too (69_audience.sql), on this timer.
	PERFORM pigeon_audience_fold();
	WITH d AS (DELETE FROM metric_deltas RETURNING name, key, delta),
	     s AS (SELECT name, key, sum(delta) AS v FROM d GROUP BY name, key)
	INSERT INTO metric_counts AS c (name, key, value)
	SELECT name, key, v FROM s
	ON CONFLICT (name, key) DO UPDATE SET value = c.value + EXCLUDED.value;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END $$;

-- One count as {key: value}: what was folded plus what was not yet.
CREATE OR REPLACE FUNCTION pigeon_metric_values(p_name text)
RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT coalesce(jsonb_object_agg(s.key, s.v), '{}'::jsonb)
	  FROM (SELECT key, sum(v) AS v
	          FROM (SELECT key, value AS v FROM metric_counts WHERE name = p_name
	                UNION ALL
	                SELECT key, delta FROM metric_deltas WHERE name = p_name) u
	         GROUP BY key) s;
$$;

-- The latency histogram in the shape pigeon_metrics always gave.
CREATE OR REPLACE FUNCTION pigeon_metric_latency_json()
RETURNS jsonb LANGUAGE sql STABLE AS $$
	WITH v AS (SELECT pigeon_metric_values('latency') AS j)
	SELECT jsonb_build_object(
	    'buckets', (SELECT jsonb_agg(jsonb_build_array(b.le,
	                   coalesce((v.j ->> ('le_' || b.le))::bigint, 0)) ORDER BY b.le)
	                  FROM unnest(ARRAY[1, 5, 10, 30, 60, 300, 900, 3600]) AS b(le)),
	    'count', coalesce((v.j ->> 'count')::bigint, 0),
	    'sum', coalesce((v.j ->> 'sum_ms')::bigint, 0) / 1000.0)
	  FROM v;
$$;

-- Retention. One call purges at most p_batch rows of one kind that are
-- older than p_days days, in id order, in the caller's transaction (one
-- statement: pigeond calls it again for the next batch, so no lock is
-- held for long). Returns the rows purged and whether more may be due.
--
-- A kind's rows are looked at in id order from its cursor: rows older
-- than the cut-off are purged when "done", kept for good when "keep" (the
-- cursor moves past them), and otherwise waited for ("not yet": the
-- cursor stops there, and the next call looks again). The first row
-- younger than the cut-off ends the walk: ids grow with time.
--   inbox          SMS processed, not the source of a post (posts are
--                  kept), and no longer the subject of a kept reply
--   inbox_parts    the parts as read from the modems
--   outbox         messages in a final state, with their history, parts
--                  and the links of their status reports
--   status_reports every report, matched or not
--   webhooks       deliveries done, failed or cancelled
--   follow_events  an unfollow and every earlier event of that follow
--                  (they sum to zero, so the followers-by-day totals
--                  after the cut-off stay right); a follow still on keeps
--                  its event
--   modem_history  modem state changes
--   scheduled_posts  business posts scheduled by the API, once posted or
--                  cancelled (outbox_days)
CREATE OR REPLACE FUNCTION pigeon_retention_purge(p_kind text, p_days integer,
    p_batch integer, OUT purged integer, OUT more boolean)
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	tbl text;
	tcol text;
	done_if text := 'true';
	keep_if text := 'false';
	cur bigint;
	scan bigint;
	contiguous boolean;
	cutoff timestamptz := now() - make_interval(days => p_days);
	ids bigint[] := '{}';
	stuck boolean := false;
	young boolean := false;
	seen integer := 0;
	r record;
BEGIN
	purged := 0;
	more := false;
	CASE p_kind
	WHEN 'inbox' THEN
		tbl := 'inbox_messages'; tcol := 'received_at';
		keep_if := 'EXISTS (SELECT 1 FROM posts p WHERE p.inbox_id = t.id)';
		done_if := 't.state <> ''new'' AND NOT EXISTS '
		    '(SELECT 1 FROM outbox o WHERE o.reply_to = t.id)';
	WHEN 'inbox_parts' THEN
		tbl := 'inbox_parts'; tcol := 'received_at';
	WHEN 'outbox' THEN
		-- Aged from its last event too, not its creation alone: a
		-- message queued a month ahead (send_at), or retried for days,
		-- was purged as it was sent, its parts and callbacks with it.
		tbl := 'outbox'; tcol := 'created_at';
		done_if := 't.state IN (''sent'', ''failed'', ''expired'', ''delivered'', '
		    '''undelivered'', ''cancelled'') AND coalesce(greatest(t.next_attempt_at, '
		    't.sent_at, t.delivered_at), t.created_at) < $1';
	WHEN 'status_reports' THEN
		tbl := 'status_reports'; tcol := 'received_at';
	WHEN 'webhooks' THEN
		tbl := 'webhook_deliveries'; tcol := 'created_at';
		done_if := 't.state IN (''done'', ''failed'', ''cancelled'')';
	WHEN 'follow_events' THEN
		tbl := 'follow_events'; tcol := 'at';
		keep_if := 't.delta = 1';
		done_if := 't.delta = -1';
	WHEN 'modem_history' THEN
		tbl := 'modem_history'; tcol := 'at';
	WHEN 'scheduled_posts' THEN
		-- Posted or cancelled, aged from then (a post scheduled 30
		-- days ahead is as young as its posting); the post itself stays.
		tbl := 'scheduled_posts'; tcol := 'created_at';
		done_if := 't.state <> ''scheduled'' AND coalesce(t.done_at, t.created_at) < $1';
	ELSE
		RAISE EXCEPTION 'unknown retention kind %', p_kind;
	END CASE;
	-- Hosts sharing the database purge a kind one at a time.
	IF p_days <= 0 OR NOT pg_try_advisory_xact_lock(hashtext('pigeon_retention/' || p_kind)) THEN
		RETURN;
	END IF;
	INSERT INTO retention_cursor (kind) VALUES (p_kind) ON CONFLICT DO NOTHING;
	SELECT c.last_id, greatest(c.scan_id, c.last_id) INTO cur, scan
	  FROM retention_cursor c WHERE c.kind = p_kind;
	-- A pass walks the table from last_id to the young rows, a batch a
	-- call. last_id moves only while every row behind it is gone or
	-- kept; scan_id goes on past the unfinished rows (migration 0025).
	contiguous := scan = cur;

	FOR r IN EXECUTE format('SELECT t.id, t.%I < $1 AS old, %s AS keep, %s AS done '
	    'FROM %I t WHERE t.id > $2 ORDER BY t.id LIMIT $3', tcol, keep_if, done_if, tbl)
	    USING cutoff, scan, p_batch LOOP
		seen := seen + 1;
		IF NOT r.old THEN
			young := true;
			EXIT;
		END IF;
		IF r.keep THEN
			NULL;
		ELSIF r.done THEN
			ids := ids || r.id;
		ELSE
			stuck := true;
		END IF;
		IF contiguous AND NOT stuck THEN
			cur := r.id;
		END IF;
		scan := r.id;
	END LOOP;
	-- The pass is over (the young rows, or the table's end): the next
	-- starts again at the first row not purged.
	IF young OR seen < p_batch THEN
		scan := cur;
	END IF;

	IF cardinality(ids) > 0 THEN
		IF p_kind = 'follow_events' THEN
			DELETE FROM follow_events e USING follow_events u
			 WHERE u.id = ANY (ids) AND e.followee = u.followee
			   AND e.follower = u.follower AND e.id <= u.id;
		ELSE
			EXECUTE format('DELETE FROM %I WHERE id = ANY ($1)', tbl) USING ids;
		END IF;
		GET DIAGNOSTICS purged = ROW_COUNT;
		INSERT INTO metric_deltas (name, key, delta) VALUES ('purged', p_kind, purged);
	END IF;
	UPDATE retention_cursor SET last_id = cur, scan_id = scan
	 WHERE kind = p_kind AND (last_id <> cur OR scan_id <> scan);
	more := seen = p_batch AND NOT young;
END $$;

-- What the retention does not configure: the rate-limit counts of more
-- than two days ago, and the per-link daily budget counters
-- (38_caps.sql) of more than 35 days ago. Both tables are small.
CREATE OR REPLACE FUNCTION pigeon_retention_misc()
RETURNS integer LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	n integer;
	m integer;
BEGIN
	DELETE FROM link_hour_counts WHERE hour < now() - interval '2 days';
	GET DIAGNOSTICS n = ROW_COUNT;
	DELETE FROM counters WHERE name LIKE 'link\_parts/%'
	   AND substr(name, 12, 10) < to_char(now() - interval '35 days', 'YYYY-MM-DD');
	GET DIAGNOSTICS m = ROW_COUNT;
	RETURN n + m;
END $$;

-- Item 7: SMS parts each link sent, per hour, from every move of an
-- outbox row into 'sent' (a trigger, so that pigeon_outbox_sent stays as
-- it is), for the [modem] rate limits to survive a restart.
CREATE OR REPLACE FUNCTION pigeon_link_hour_count()
RETURNS trigger LANGUAGE plpgsql SET search_path = public, pg_temp
    SET enable_nestloop = off AS $$
BEGIN
	-- Once per statement and link (a batch of outcomes is one statement).
	INSERT INTO link_hour_counts AS c (link, hour, parts, last_at)
	SELECT n.modem, date_trunc('hour', now()),
	       sum(greatest(coalesce(n.parts, 1), 1)), now()
	  FROM old_rows o JOIN new_rows n ON n.id = o.id
	 WHERE n.state = 'sent' AND o.state IS DISTINCT FROM 'sent'
	   AND n.modem IS NOT NULL
	 GROUP BY n.modem
	ON CONFLICT (link, hour) DO UPDATE
	   SET parts = c.parts + EXCLUDED.parts, last_at = EXCLUDED.last_at;
	RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER outbox_link_hour_count
	AFTER UPDATE ON outbox
	REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION pigeon_link_hour_count();

-- The parts a failed attempt sent before its error, on the link's hour
-- (pigeon_outbox_outcomes): its rate limits counted them.
CREATE OR REPLACE FUNCTION pigeon_link_hour_add(p_link text, p_parts bigint)
RETURNS void LANGUAGE sql AS $$
	INSERT INTO link_hour_counts AS c (link, hour, parts, last_at)
	SELECT p_link, date_trunc('hour', now()), p_parts, now()
	 WHERE p_link IS NOT NULL AND p_parts > 0
	ON CONFLICT (link, hour) DO UPDATE
	   SET parts = c.parts + EXCLUDED.parts, last_at = EXCLUDED.last_at;
$$;

-- A link's parts of the last day, one row per hour, each placed at the
-- last send of its hour (ms before now): pigeond rebuilds its sliding
-- windows from them, so a window it rebuilds is never emptier than the
-- real one was.
CREATE OR REPLACE FUNCTION pigeon_link_rate_load(p_link text)
RETURNS TABLE (ago_ms bigint, parts bigint) LANGUAGE sql STABLE AS $$
	SELECT greatest(0, round(extract(epoch FROM now() - c.last_at) * 1000))::bigint,
	       c.parts
	  FROM link_hour_counts c
	 WHERE c.link = p_link AND c.hour > now() - interval '25 hours'
	 ORDER BY c.hour;
$$;

-- Item 2: the hash of the PIN the modem's SIM refused ('' when none).
CREATE OR REPLACE FUNCTION pigeon_modem_pin_refused(p_name text)
RETURNS text LANGUAGE sql STABLE AS $$
	SELECT coalesce((SELECT pin_refused FROM modems WHERE name = p_name), '');
$$;

CREATE OR REPLACE FUNCTION pigeon_modem_pin_refuse(p_name text, p_hash text)
RETURNS void LANGUAGE sql AS $$
	UPDATE modems SET pin_refused = p_hash WHERE name = p_name;
$$;

-- The status page's charts (issue 16). pigeond applies every file of
-- db/functions/ at every start, in name order.

-- Once a minute (a janitor job of http.c): one row for the queue and one
-- per link with its signal and sent counter; rows older than 30 days go,
-- and idempotency keys older than a day.
-- Hosts sharing a database each call it once a minute, each on its own
-- schedule: the first to come in a minute samples, the others skip (two
-- hosts' samples a few seconds apart made each link's sent-between-
-- samples line a sawtooth). The lock makes two at once take turns.
CREATE OR REPLACE FUNCTION pigeon_status_sample()
RETURNS void LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
	PERFORM pg_advisory_xact_lock(1347638353);	-- 'PSTQ'
	IF EXISTS (SELECT 1 FROM status_samples
	            WHERE link = '' AND at > now() - interval '45 seconds') THEN
		RETURN;
	END IF;
	INSERT INTO status_samples (at, link, queued, sending, oldest_s)
	SELECT date_trunc('second', now()), '',
	       count(*) FILTER (WHERE state = 'queued'),
	       count(*) FILTER (WHERE state = 'sending'),
	       coalesce(extract(epoch FROM now() - min(greatest(created_at, next_attempt_at))
	           FILTER (WHERE state = 'queued' AND next_attempt_at <= now())), 0)
	  FROM outbox WHERE state IN ('queued', 'sending')
	ON CONFLICT DO NOTHING;
	INSERT INTO status_samples (at, link, signal_percent, sms_sent)
	SELECT date_trunc('second', now()), m.name, m.signal_percent, m.sms_sent
	  FROM modems m
	ON CONFLICT DO NOTHING;
	DELETE FROM status_samples WHERE at < now() - interval '30 days';
	-- The send API's idempotency keys last 24 hours (62_send.sql).
	PERFORM pigeon_api_idempotency_purge();
END $$;

-- Counts per bucket: sent (sent_at), delivered (delivered_at), failed
-- (a change to failed, undelivered or expired), received (inbox); a
-- day's also its name and its parts by link. Days
-- are the service's ([pigeon] timezone, as the daily caps'): they were
-- UTC days, an hour off in Morocco and half a day in other zones. A day
-- is from one local midnight to the next, counted on the local calendar:
-- a day's 24 hours counted back from today's midnight put every day
-- before a clock change an hour off (Morocco changes twice a year).
-- p_now: the time the last bucket holds (now(); another in tests).
DROP FUNCTION IF EXISTS pigeon_status_buckets(interval, integer);
CREATE OR REPLACE FUNCTION pigeon_status_buckets(p_step interval, p_n integer,
    p_now timestamptz DEFAULT now())
RETURNS jsonb LANGUAGE sql STABLE AS $$
	WITH z AS (SELECT pigeon_setting('timezone') AS tz),
	     b AS (SELECT d.t AT TIME ZONE z.tz AS t,
	                  (d.t + interval '1 day') AT TIME ZONE z.tz AS t_end,
	                  to_char(d.t, 'YYYY-MM-DD') AS day
	             FROM z, generate_series(date_trunc('day', p_now AT TIME ZONE z.tz)
	                      - interval '1 day' * (p_n - 1),
	                      date_trunc('day', p_now AT TIME ZONE z.tz),
	                      interval '1 day') AS d(t)
	            WHERE p_step >= interval '1 day'
	           UNION ALL
	           SELECT h.t, h.t + p_step, NULL
	             FROM generate_series(date_trunc('hour', p_now) - p_step * (p_n - 1),
	                      p_now, p_step) AS h(t)
	            WHERE p_step < interval '1 day')
	SELECT jsonb_agg(jsonb_build_object('t', b.t,
	    'sent', (SELECT count(*) FROM outbox o WHERE o.sent_at >= b.t
	              AND o.sent_at < b.t_end),
	    'delivered', (SELECT count(*) FROM outbox o WHERE o.delivered_at >= b.t
	              AND o.delivered_at < b.t_end),
	    'failed', (SELECT count(*) FROM outbox_history h WHERE h.at >= b.t
	              AND h.at < b.t_end
	              AND h.state IN ('failed', 'undelivered', 'expired')),
	    'received', (SELECT count(*) FROM inbox_messages m WHERE m.received_at >= b.t
	              AND m.received_at < b.t_end)) ||
	    -- A day's SMS parts by link, as the carrier bills them: those
	    -- of the counters of link_budget_day (kept 35 days).
	    CASE WHEN b.day IS NOT NULL THEN jsonb_build_object('day', b.day,
	        'parts', (SELECT coalesce(jsonb_object_agg(substr(c.name, 23), c.value
	                   ORDER BY c.name), '{}'::jsonb)
	                    FROM counters c
	                   WHERE c.name LIKE 'link\_parts/' || b.day || '/%'))
	    ELSE '{}'::jsonb END ORDER BY b.t)
	  FROM b;
$$;

-- GET /api/charts: per hour over 24 h, per day over 30 days, the queue's
-- depth and each link's throughput and signal over 24 h, the age of the
-- oldest due message.
CREATE OR REPLACE FUNCTION pigeon_api_charts()
RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object(
	    'hourly', pigeon_status_buckets(interval '1 hour', 24),
	    'daily', pigeon_status_buckets(interval '1 day', 30),
	    'queue', (SELECT coalesce(jsonb_agg(jsonb_build_object('t', s.at,
	                  'queued', s.queued, 'sending', s.sending, 'oldest_s', s.oldest_s)
	                  ORDER BY s.at), '[]')
	                FROM status_samples s WHERE s.link = ''
	                 AND s.at > now() - interval '24 hours'),
	    'links', (SELECT coalesce(jsonb_object_agg(l.link, l.points), '{}')
	                FROM (SELECT x.link, jsonb_agg(jsonb_build_object('t', x.at,
	                          'signal', x.signal_percent, 'sent', x.d) ORDER BY x.at)
	                          AS points
	                        FROM (SELECT s.link, s.at, s.signal_percent,
	                                     -- A restarted counter is not negative.
	                                     greatest(0, s.sms_sent - lag(s.sms_sent) OVER (
	                                         PARTITION BY s.link ORDER BY s.at)) AS d
	                                FROM status_samples s WHERE s.link <> ''
	                                 AND s.at > now() - interval '24 hours') x
	                      GROUP BY x.link) l),
	    'oldest_s', (SELECT coalesce(extract(epoch FROM now() -
	                    min(greatest(created_at, next_attempt_at))), 0)
	                   FROM outbox WHERE state = 'queued' AND next_attempt_at <= now()));
$$;

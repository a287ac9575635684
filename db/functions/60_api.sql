-- The HTTP API (gateway/api_*.c), metrics and webhooks: each request is one
-- statement calling one of these functions, answering one JSON value.
--
-- pigeond applies every file of db/functions/ at every start, in name
-- order, after the migrations and under the same advisory lock; they hold
-- only CREATE OR REPLACE statements.

-- POST /api/messages calls pigeon_send (35_updates.sql), class 1.

-- parts: the SMS the link sent it as (submit_sm, or PDUs of a modem);
-- segments: the SMS the carrier bills, the same but on a bind with long =
-- payload, where one submit_sm carries a text the SMSC splits
-- (outbox.segments, migration 0031). NULL both until it is sent.
CREATE OR REPLACE FUNCTION pigeon_api_message_json(o outbox)
RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('id', o.id, 'to', o.recipient, 'text', o.text,
	    'class', o.class, 'state', o.state, 'attempts', o.attempts,
	    'modem', o.modem, 'parts', o.parts,
	    'segments', coalesce(o.segments, o.parts), 'created_at', o.created_at,
	    'sent_at', o.sent_at, 'delivered_at', o.delivered_at,
	    'last_error', o.last_error, 'post_id', o.post_id,
	    'next_attempt_at', CASE WHEN o.state = 'queued' THEN o.next_attempt_at END);
$$;

-- A message with its history, which starts with its creation (the
-- trigger records changes only); NULL when there is no such message.
-- A 'sending' entry names the link of its attempt, which the claim did
-- not know yet (pigeond picks one after): the one the next entry, the
-- attempt's end, names (none when that end does not say: a lease run
-- out, a host restarted). Its detail is none: entries recorded before
-- the claim cleared the row's link and error showed the last attempt's.
-- reports: every delivery report or receipt matched to its parts, in
-- the order they came, with what an SMSC's receipt said (stat, err),
-- those that settled nothing too (ENROUTE, ACCEPTD, UNKNOWN): the
-- history has only the changes (status_reports_outbox).
CREATE OR REPLACE FUNCTION pigeon_api_message(p_id bigint)
RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT pigeon_api_message_json(o) || jsonb_build_object('reports',
	       (SELECT coalesce(jsonb_agg(jsonb_build_object('at', r.received_at,
	            'part', r.seq, 'status', r.status, 'stat', r.stat, 'err', r.err)
	            ORDER BY r.id), '[]'::jsonb)
	          FROM status_reports r WHERE r.outbox_id = o.id)) ||
	       jsonb_build_object('history',
	       jsonb_build_array(jsonb_build_object('at', o.created_at,
	           'state', 'queued', 'modem', NULL, 'detail', NULL)) ||
	       (SELECT coalesce(jsonb_agg(jsonb_build_object('at', h.at,
	            'state', h.state, 'modem', h.modem, 'detail', h.detail)
	            ORDER BY h.id), '[]'::jsonb)
	          FROM (SELECT e.id, e.at, e.state,
	                       CASE WHEN e.state = 'sending'
	                            THEN lead(e.modem) OVER (ORDER BY e.id)
	                            ELSE e.modem END AS modem,
	                       CASE WHEN e.state <> 'sending' THEN e.detail END AS detail
	                  FROM outbox_history e WHERE e.outbox_id = o.id) h))
	  FROM outbox o WHERE o.id = p_id;
$$;

-- Newest first; NULL arguments do not filter. Page with p_before = the
-- smallest id of the previous page. One query per case, so that each uses
-- its index: (recipient, id), (state, id) or the primary key. Planned for
-- each call's state: outbox_state_id leaves out 'sent' and 'delivered'
-- (migration 0020), which the primary key finds.
CREATE OR REPLACE FUNCTION pigeon_api_messages(p_to text, p_state text,
    p_limit integer, p_before bigint)
RETURNS jsonb LANGUAGE plpgsql STABLE SET search_path = public, pg_temp
    SET plan_cache_mode = force_custom_plan AS $$
DECLARE
	below bigint := coalesce(p_before, 9223372036854775807);
	r jsonb;
BEGIN
	IF p_to IS NOT NULL THEN
		SELECT jsonb_agg(pigeon_api_message_json(o) ORDER BY o.id DESC) INTO r
		  FROM (SELECT * FROM outbox
		         WHERE recipient = p_to AND id < below
		           AND (p_state IS NULL OR state = p_state)
		         ORDER BY id DESC LIMIT p_limit) o;
	ELSIF p_state IS NOT NULL THEN
		SELECT jsonb_agg(pigeon_api_message_json(o) ORDER BY o.id DESC) INTO r
		  FROM (SELECT * FROM outbox WHERE state = p_state AND id < below
		         ORDER BY id DESC LIMIT p_limit) o;
	ELSE
		SELECT jsonb_agg(pigeon_api_message_json(o) ORDER BY o.id DESC) INTO r
		  FROM (SELECT * FROM outbox WHERE id < below
		         ORDER BY id DESC LIMIT p_limit) o;
	END IF;
	RETURN coalesce(r, '[]'::jsonb);
END $$;

-- A profile as the public sees it: never the phone number.
CREATE OR REPLACE FUNCTION pigeon_api_user_json(a accounts)
RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('handle', a.handle, 'name', a.name, 'bio', a.bio,
	    'member_since', a.created_at,
	    'posts', (SELECT count(*) FROM posts p
	               WHERE p.account_id = a.id AND p.deleted_at IS NULL),
	    'followers', (SELECT count(*) FROM follows f WHERE f.followee = a.id),
	    'following', (SELECT count(*) FROM follows f WHERE f.follower = a.id))
$$;

-- A public profile; NULL when there is no such user or it is suspended
-- (an admin token's view, with both, is pigeon_desk_user: 63_desk.sql).
CREATE OR REPLACE FUNCTION pigeon_api_user(p_handle text)
RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT pigeon_api_user_json(a)
	  FROM accounts a WHERE a.handle = lower(p_handle) AND a.suspended_at IS NULL;
$$;

-- A user's posts, newest first; NULL when there is no such user, or it
-- is suspended (its profile, posts and feed are not shown meanwhile)
-- unless p_suspended: an admin token's view. A pigeond of before calls
-- it with three arguments (the default). The four-argument variant of
-- an earlier build of this release goes.
DROP FUNCTION IF EXISTS pigeon_api_user_posts_of(text, integer, bigint, boolean);
DROP FUNCTION IF EXISTS pigeon_api_user_posts(text, integer, bigint);
CREATE OR REPLACE FUNCTION pigeon_api_user_posts(p_handle text, p_limit integer,
    p_before bigint, p_suspended boolean DEFAULT false)
RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('user', a.handle, 'name', a.name, 'posts',
	       (SELECT coalesce(jsonb_agg(jsonb_build_object('id', q.id,
	            'text', q.text, 'created_at', q.created_at) ORDER BY q.id DESC),
	            '[]'::jsonb)
	          FROM (SELECT p.id, p.text, p.created_at FROM posts p
	                 WHERE p.account_id = a.id AND p.deleted_at IS NULL
	                   AND (p_before IS NULL OR p.id < p_before)
	                 ORDER BY p.id DESC LIMIT p_limit) q))
	  FROM accounts a WHERE a.handle = lower(p_handle)
	   AND (p_suspended OR a.suspended_at IS NULL);
$$;

-- POST /api/posts is pigeon_biz_post (67_business.sql), which also takes
-- send_at; the function it replaced is dropped from databases made before.
DROP FUNCTION IF EXISTS pigeon_api_post(text, text, integer);

-- Every modem row of the database, by name (health columns included),
-- with parts_today: the SMS parts it handed to the network today (service
-- time zone), as the carrier bills them (pigeon_link_parts_add).
-- A row is what its host last wrote. A host that ended without a clean
-- stop (killed, its power cut) left its links' rows as they were,
-- `online` with a dead pid, for ever on every other host's list; its
-- links' locks (pigeon_modem_lock) went with its connection. So a row
-- whose lock nobody holds, other than one disabled, is shown `offline`,
-- without a pid, its reason saying that its host is not running (no
-- pigeond of that name connected: pigeon_host_lock) or does not hold
-- the link (reconnecting), and what the row said. One read of pg_locks
-- for all the rows.
CREATE OR REPLACE FUNCTION pigeon_api_modems()
RETURNS jsonb LANGUAGE sql STABLE AS $$
	WITH d AS (SELECT to_char(now() AT TIME ZONE pigeon_setting('timezone'),
	                   'YYYY-MM-DD') AS day),
	held AS MATERIALIZED (
		SELECT l.classid, l.objid FROM pg_locks l
		 WHERE l.locktype = 'advisory' AND l.objsubid = 2 AND l.granted
		   AND l.classid IN (1346979653::oid, 1346979656::oid)
		   AND l.database = (SELECT oid FROM pg_database
		                      WHERE datname = current_database()))
	SELECT coalesce(jsonb_object_agg(m.name, to_jsonb(m) ||
	       jsonb_build_object('parts_today', coalesce((SELECT c.value FROM counters c
	           WHERE c.name = 'link_parts/' || d.day || '/' || m.name), 0)) ||
	       CASE WHEN m.state = 'disabled' OR EXISTS (SELECT 1 FROM held h
	                 WHERE h.classid = 1346979653::oid
	                   AND h.objid = hashtext(m.name)::oid)
	            THEN '{}'::jsonb
	            ELSE jsonb_build_object('state', 'offline', 'pid', NULL,
	                'state_reason', CASE WHEN EXISTS (SELECT 1 FROM held h
	                        WHERE h.classid = 1346979656::oid
	                          AND h.objid = hashtext(m.host)::oid)
	                    THEN format('host %s does not hold it now', m.host)
	                    ELSE format('host %s is not running (no pigeond of '
	                                'that name is connected)', m.host) END ||
	                    '; it said ' || m.state ||
	                    coalesce(': ' || nullif(m.state_reason, ''), ''))
	       END), '{}'::jsonb)
	  FROM modems m, d;
$$;

-- What the status page and `pigeonctl queue` show, in one round trip.
CREATE OR REPLACE FUNCTION pigeon_api_status()
RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object(
	    'modems', pigeon_api_modems(),
	    'queue', (SELECT coalesce(jsonb_agg(jsonb_build_object('state', q.state,
	                  'class', q.class, 'count', q.n, 'oldest', q.oldest)
	                  ORDER BY q.state, q.class), '[]'::jsonb)
	                FROM (SELECT state, class, count(*) AS n, min(created_at) AS oldest
	                        FROM outbox WHERE state IN ('queued', 'sending')
	                       GROUP BY state, class) q),
	    -- 'at': when it failed (its last change), not when it was queued
	    -- ('queued_at'): an old message that expired now read as days old.
	    'failures', (SELECT coalesce(jsonb_agg(jsonb_build_object('id', f.id,
	                     'to', f.recipient, 'state', f.state, 'modem', f.modem,
	                     'error', f.last_error,
	                     'at', coalesce((SELECT h.at FROM outbox_history h
	                                      WHERE h.outbox_id = f.id
	                                      ORDER BY h.id DESC LIMIT 1), f.created_at),
	                     'queued_at', f.created_at,
	                     'attempts', f.attempts) ORDER BY f.id DESC), '[]'::jsonb)
	                   FROM (SELECT * FROM outbox
	                          WHERE state IN ('failed', 'undelivered', 'expired')
	                          ORDER BY id DESC LIMIT 10) f),
	    -- Rates over the latest 1000 messages: cheap (the primary key) and
	    -- meaningful both on a quiet and on a busy gateway.
	    'recent', (SELECT coalesce(jsonb_object_agg(r.state, r.n), '{}'::jsonb)
	                 FROM (SELECT state, count(*) AS n
	                         FROM (SELECT state FROM outbox ORDER BY id DESC
	                                LIMIT 1000) l
	                        GROUP BY state) r));
$$;

-- GET /metrics: everything from the database in one round trip.
-- Counts by state and the latency histogram come from counters kept by
-- triggers (70_retention.sql), not from scans of whole tables; the queue
-- depth reads the open rows only (index outbox_state_id, partial). PL/pgSQL,
-- because the functions it calls are made by a later file.
CREATE OR REPLACE FUNCTION pigeon_metrics()
RETURNS jsonb LANGUAGE plpgsql STABLE SET search_path = public, pg_temp AS $$
BEGIN
	RETURN jsonb_build_object(
	    'in', pigeon_metric_values('in'),
	    'out', pigeon_metric_values('out'),
	    'queue', (SELECT coalesce(jsonb_agg(jsonb_build_object('state', q.state,
	                  'class', q.class, 'count', q.n)), '[]'::jsonb)
	                FROM (SELECT state, class, count(*) AS n FROM outbox
	                       WHERE state IN ('queued', 'sending')
	                       GROUP BY state, class) q),
	    'modems', pigeon_api_modems(),
	    -- Delivery-report latency (delivered_at - sent_at), cumulative
	    -- buckets in seconds as Prometheus wants them.
	    'latency', pigeon_metric_latency_json(),
	    'webhooks', pigeon_metric_values('webhooks'),
	    'purged', pigeon_metric_values('purged'),
	    -- Issue 16: how long the oldest due message has waited, by class
	    -- (a scheduled one waits from its send_at), and the deliveries
	    -- waiting, webhooks apart from dlr_url callbacks.
	    'oldest', (SELECT coalesce(jsonb_object_agg(q.class, q.age), '{}'::jsonb)
	                 FROM (SELECT class, extract(epoch FROM now() -
	                              min(greatest(created_at, next_attempt_at)))::float8 AS age
	                         FROM outbox WHERE state = 'queued' AND next_attempt_at <= now()
	                        GROUP BY class) q),
	    'hooks_waiting', (SELECT jsonb_build_object(
	                          'webhook', count(*) FILTER (WHERE event <> 'message.state'),
	                          'dlr', count(*) FILTER (WHERE event = 'message.state'))
	                        FROM webhook_deliveries WHERE state IN ('pending', 'sending')),
	    'caps', pigeon_caps_metrics());
END $$;

-- The Atom feed of a user; NULL when there is no such user. 'authority':
-- the tag authority of its ids (pigeon_identity), NULL before pigeond's
-- first start on this database kept one.
CREATE OR REPLACE FUNCTION pigeon_api_feed(p_handle text, p_limit integer)
RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('user', a.handle, 'name', a.name, 'bio', a.bio,
	    'member_since', a.created_at,
	    'authority', (SELECT feed_authority FROM pigeon_identity),
	    'posts', (SELECT coalesce(jsonb_agg(jsonb_build_object('id', q.id,
	                  'text', q.text, 'created_at', q.created_at) ORDER BY q.id DESC),
	                  '[]'::jsonb)
	                FROM (SELECT p.id, p.text, p.created_at FROM posts p
	                       WHERE p.account_id = a.id AND p.deleted_at IS NULL
	                       ORDER BY p.id DESC LIMIT p_limit) q))
	  FROM accounts a WHERE a.handle = lower(p_handle) AND a.suspended_at IS NULL;
$$;

-- Webhooks. The targets come from the configuration at every start.
-- A configured URL is kind 'webhook' (it gets the posts), even one a
-- client gave as a dlr_url first (it was left 'dlr' and never got a post).
-- One taken out of the configuration becomes a dlr_url's target again:
-- the messages' callbacks still waiting go out, and its posts' waiting
-- deliveries are cancelled (they waited for ever, and held the webhooks'
-- purge at the oldest of them).
CREATE OR REPLACE FUNCTION pigeon_webhook_targets(p_urls text[])
RETURNS integer LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	n integer;
	gone text[];
BEGIN
	INSERT INTO webhook_targets (url) SELECT unnest(p_urls)
	    ON CONFLICT (url) DO UPDATE SET active = true, kind = 'webhook';
	WITH g AS (
		UPDATE webhook_targets SET kind = 'dlr', active = true
		 WHERE kind = 'webhook' AND NOT (url = ANY (p_urls))
		RETURNING url
	)
	SELECT array_agg(url) INTO gone FROM g;
	IF gone IS NOT NULL THEN
		UPDATE webhook_deliveries SET state = 'cancelled', lease_until = NULL,
		       last_error = 'taken out of [http] webhooks'
		 WHERE url = ANY (gone) AND event IN ('post', 'post.deleted')
		   AND state IN ('pending', 'sending');
	END IF;
	SELECT count(*) INTO n FROM webhook_targets WHERE active AND kind = 'webhook';
	RETURN n;
END $$;

-- A new post goes to the configured webhooks (kind 'webhook'); a
-- dlr_url (kind 'dlr') hears only of its own messages (62_send.sql).
CREATE OR REPLACE FUNCTION pigeon_webhook_enqueue()
RETURNS trigger LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	n integer;
BEGIN
	-- Most services have no webhook: no INSERT, whose statement
	-- triggers (the deliveries' state counts) fire even for no row.
	IF NOT EXISTS (SELECT 1 FROM webhook_targets t
	               WHERE t.active AND t.kind = 'webhook') THEN
		RETURN NULL;
	END IF;
	INSERT INTO webhook_deliveries (url, post_id, event)
	SELECT t.url, NEW.id, 'post' FROM webhook_targets t
	 WHERE t.active AND t.kind = 'webhook'
	ON CONFLICT DO NOTHING;
	GET DIAGNOSTICS n = ROW_COUNT;
	IF n > 0 THEN
		PERFORM pg_notify('pigeon_webhook', '');
	END IF;
	RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER posts_webhook
	AFTER INSERT ON posts
	FOR EACH ROW EXECUTE FUNCTION pigeon_webhook_enqueue();

-- A deleted post: its 'post' deliveries not yet made never go out; every
-- URL gets a 'post.deleted' instead, even one whose 'post' failed for
-- good (it may have arrived without its answer coming back).
CREATE OR REPLACE FUNCTION pigeon_webhook_post_deleted()
RETURNS trigger LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	n integer;
BEGIN
	-- One in flight too: its lease, running out (pigeond killed or
	-- restarted before its answer was recorded), put it back in the queue
	-- and the deleted text went out again. A late answer of that attempt
	-- changes nothing (pigeon_webhook_done takes 'sending' rows only).
	UPDATE webhook_deliveries SET state = 'cancelled', last_error = 'post deleted',
	       lease_until = NULL
	 WHERE post_id = NEW.id AND event = 'post' AND state IN ('pending', 'sending');
	INSERT INTO webhook_deliveries (url, post_id, event)
	SELECT t.url, NEW.id, 'post.deleted' FROM webhook_targets t
	 WHERE t.active AND t.kind = 'webhook'
	ON CONFLICT DO NOTHING;
	GET DIAGNOSTICS n = ROW_COUNT;
	IF n > 0 THEN
		PERFORM pg_notify('pigeon_webhook', '');
	END IF;
	RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER posts_webhook_deleted
	AFTER UPDATE OF deleted_at ON posts
	FOR EACH ROW WHEN (OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL)
	EXECUTE FUNCTION pigeon_webhook_post_deleted();

-- A callback tells its event: the message's state, link, time, status,
-- parts, attempts and carrier statuses as they were when its state
-- changed, not when the callback is posted (a 'queued' that failed came
-- again after the message was delivered with its parts and attempts of
-- then). pigeon_dlr_enqueue and pigeon_api_send keep them in msg_event
-- (0034).
CREATE OR REPLACE FUNCTION pigeon_dlr_carrier_status(p_outbox bigint)
RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_agg(op.status ORDER BY op.seq) FROM outbox_parts op
	 WHERE op.outbox_id = p_outbox;
$$;

DROP FUNCTION IF EXISTS pigeon_dlr_event(text, integer, integer, bigint);
CREATE OR REPLACE FUNCTION pigeon_dlr_event(p_status text, p_parts integer,
    p_attempts integer, p_outbox bigint)
RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('status', p_status, 'parts', p_parts,
	    'attempts', p_attempts,
	    'carrier_status', pigeon_dlr_carrier_status(p_outbox));
$$;

-- A time in a webhook or callback body as the API answers it (api_body.c,
-- api_time_json): UTC, always with milliseconds, 2026-11-26T08:28:37.100+00:00,
-- whatever the session's zone (jsonb wrote 0 to 6 decimals in it).
CREATE OR REPLACE FUNCTION pigeon_json_time(p timestamptz)
RETURNS text LANGUAGE sql STABLE STRICT AS $$
	SELECT to_char(p AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"+00:00"');
$$;

-- Takes the first p_n of ids (in that order) still pending and due, with
-- a lease, skipping those another host has locked, and answers each with
-- its URL and the JSON body to POST. The claims' common end.
-- signed_at: the database's clock at the claim (seconds since the epoch),
-- the t= of its X-Pigeon-Signature: receivers compare it with their own
-- clock (docs/api.md), and a pigeond host's clock minutes off (its own
-- time()) had every delivery refused. A pigeond of before reads the
-- first five columns; a newer one given these functions' older release
-- finds no sixth and signs with its own clock.
DROP FUNCTION IF EXISTS pigeon_webhook_take(text, integer, integer, bigint[]);
CREATE OR REPLACE FUNCTION pigeon_webhook_take(p_host text, p_n integer,
    p_lease_s integer, ids bigint[])
RETURNS TABLE (id bigint, url text, attempts integer, body jsonb, event text,
    signed_at bigint)
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
	RETURN QUERY
	WITH c AS MATERIALIZED (
		SELECT d.id FROM webhook_deliveries d
		 WHERE d.id = ANY (ids) AND d.state = 'pending'
		   -- Still due: another host may have tried it meanwhile.
		   AND d.next_attempt_at <= now()
		 ORDER BY array_position(ids, d.id)
		 LIMIT p_n
		 FOR UPDATE OF d SKIP LOCKED
	)
	UPDATE webhook_deliveries d SET state = 'sending', host = p_host,
	       lease_until = now() + make_interval(secs => p_lease_s),
	       attempts = d.attempts + 1,
	       first_tried_at = coalesce(d.first_tried_at,
	           CASE WHEN d.attempts = 0 THEN now() ELSE d.created_at END)
	  FROM c WHERE d.id = c.id
	RETURNING d.id, d.url, d.attempts,
	       CASE WHEN d.event = 'message.state' THEN
	           jsonb_build_object('event', 'message.state', 'delivery', d.id,
	               'message', (SELECT jsonb_build_object('id', o.id,
	                   'to', o.recipient, 'state', d.msg_state,
	                   'at', pigeon_json_time(d.msg_at),
	                   'link', d.msg_modem) ||
	                   -- Callbacks queued before 0034 say the message
	                   -- as it is now.
	                   coalesce(d.msg_event, pigeon_dlr_event(d.msg_detail,
	                       o.parts, o.attempts, o.id))
	                 FROM outbox o WHERE o.id = d.outbox_id))
	       ELSE
	       (SELECT CASE WHEN d.event = 'post.deleted' THEN
	                   jsonb_build_object('event', 'post.deleted', 'delivery', d.id,
	                       'post', jsonb_build_object('id', p.id, 'user', a.handle,
	                           'deleted_at', pigeon_json_time(p.deleted_at)))
	               ELSE
	                   jsonb_build_object('event', 'post', 'delivery', d.id,
	                       'post', jsonb_build_object('id', p.id, 'user', a.handle,
	                           'name', a.name, 'text', p.text,
	                           'created_at', pigeon_json_time(p.created_at)))
	               END
	          FROM posts p JOIN accounts a ON a.id = p.account_id
	         WHERE p.id = d.post_id) END,
	       d.event, floor(extract(epoch FROM now()))::bigint;
END $$;

-- Claims due deliveries of some URLs with a lease (a host that dies
-- mid-POST gives them back), each with the JSON body to POST and its URL.
-- One queue at a time: a configured URL, or the URLs of one receiver of
-- clients' callbacks (one scheme, host and port); a slow receiver holds
-- only its own queue (webhook.c).
-- event: the delivery's ('post', 'post.deleted', 'message.state'): which
-- secret signs it.
--
-- A configured URL (kind 'webhook') takes its deliveries in the order
-- they came, one at a time (docs/api.md): its first not done goes when it
-- is due, and nothing else of it meanwhile (post 13 refused once went
-- after post 14, made 0.4 s later): one probe of
-- webhook_deliveries_url_open (0034) a URL, however many wait behind a
-- dead receiver.
-- Clients' callbacks are claimed by receiver (pigeon_webhook_claim_receiver).
DROP FUNCTION IF EXISTS pigeon_webhook_claim_urls(text, integer, integer, text[]);
CREATE OR REPLACE FUNCTION pigeon_webhook_claim_urls(p_host text, p_n integer,
    p_lease_s integer, p_urls text[])
RETURNS TABLE (id bigint, url text, attempts integer, body jsonb, event text,
    signed_at bigint)
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	ids bigint[];
BEGIN
	UPDATE webhook_deliveries d SET state = 'pending', lease_until = NULL,
	       last_error = 'lease of ' || coalesce(d.host, '?') || ' expired'
	 WHERE d.state = 'sending' AND d.lease_until < now() AND d.url = ANY (p_urls);
	SELECT array_agg(c.id ORDER BY c.next_attempt_at, c.id) INTO ids FROM (
		-- Configured URLs: each one's first not done, when it is due
		-- (not in flight from any host, not waiting for its retry).
		SELECT h.id, h.next_attempt_at
		  FROM webhook_targets t, LATERAL (
		       SELECT e.id, e.state, e.next_attempt_at FROM webhook_deliveries e
		        WHERE e.url = t.url AND e.state IN ('pending', 'sending')
		        ORDER BY e.id LIMIT 1) h
		 WHERE t.url = ANY (p_urls) AND t.active AND t.kind = 'webhook'
		   AND h.state = 'pending' AND h.next_attempt_at <= now()) c;
	RETURN QUERY SELECT * FROM pigeon_webhook_take(p_host, p_n, p_lease_s, ids);
END $$;

-- The receivers of clients' callbacks (pigeon_url_receiver: scheme, host
-- and port of the dlr_url) with callbacks waiting, by a skip scan of
-- webhook_deliveries_receiver (0035): one probe a receiver, however many
-- callbacks wait behind one that is down.
CREATE OR REPLACE FUNCTION pigeon_webhook_dlr_receivers()
RETURNS SETOF text LANGUAGE sql STABLE AS $$
	WITH RECURSIVE r(receiver) AS (
		SELECT min(d.receiver) FROM webhook_deliveries d
		 WHERE d.state IN ('pending', 'sending') AND d.receiver IS NOT NULL
		UNION ALL
		SELECT (SELECT min(d.receiver) FROM webhook_deliveries d
		         WHERE d.state IN ('pending', 'sending') AND d.receiver IS NOT NULL
		           AND d.receiver > r.receiver)
		  FROM r WHERE r.receiver IS NOT NULL
	)
	SELECT r.receiver FROM r WHERE r.receiver IS NOT NULL;
$$;

-- Claims the next due callbacks of one receiver: the earliest due first,
-- each message's callbacks in the order they came, not the messages' (a
-- callback waits while an earlier one of its message to the same URL is
-- not done: a 'queued' that failed once went after its 'sent' and
-- 'delivered', and a receiver keeping the latest state ended on
-- 'queued'; other messages' go on), by webhook_deliveries_receiver.
DROP FUNCTION IF EXISTS pigeon_webhook_claim_receiver(text, integer, integer, text);
CREATE OR REPLACE FUNCTION pigeon_webhook_claim_receiver(p_host text, p_n integer,
    p_lease_s integer, p_receiver text)
RETURNS TABLE (id bigint, url text, attempts integer, body jsonb, event text,
    signed_at bigint)
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	ids bigint[];
BEGIN
	UPDATE webhook_deliveries d SET state = 'pending', lease_until = NULL,
	       last_error = 'lease of ' || coalesce(d.host, '?') || ' expired'
	 WHERE d.receiver = p_receiver AND d.state = 'sending'
	   AND d.lease_until < now();
	SELECT array_agg(x.id ORDER BY x.next_attempt_at, x.id) INTO ids FROM (
		SELECT d.id, d.next_attempt_at FROM webhook_deliveries d
		 WHERE d.receiver = p_receiver AND d.state = 'pending'
		   AND d.next_attempt_at <= now()
		   AND EXISTS (SELECT 1 FROM webhook_targets t
		                WHERE t.url = d.url AND t.active AND t.kind = 'dlr')
		   AND (d.outbox_id IS NULL OR NOT EXISTS (
		       SELECT 1 FROM webhook_deliveries e
		        WHERE e.outbox_id = d.outbox_id AND e.id < d.id
		          AND e.url = d.url AND e.state IN ('pending', 'sending')))
		 ORDER BY d.next_attempt_at, d.id
		 LIMIT p_n) x;
	RETURN QUERY SELECT * FROM pigeon_webhook_take(p_host, p_n, p_lease_s, ids);
END $$;

-- Milliseconds until the next delivery waiting for its time is due
-- (NULL: none), from webhook_deliveries_ready: webhook.c sets its tick by
-- it, so that a retry from before a restart, or one another host left,
-- goes at its time rather than at the next 30 s poll.
CREATE OR REPLACE FUNCTION pigeon_webhook_next_due()
RETURNS bigint LANGUAGE sql STABLE AS $$
	SELECT ceil(extract(epoch FROM min(next_attempt_at) - now()) * 1000)::bigint
	  FROM webhook_deliveries WHERE state = 'pending' AND next_attempt_at > now();
$$;

-- The claim of one configured URL (tests).
DROP FUNCTION IF EXISTS pigeon_webhook_claim(text, integer, integer, text);
CREATE OR REPLACE FUNCTION pigeon_webhook_claim(p_host text, p_n integer,
    p_lease_s integer, p_url text)
RETURNS TABLE (id bigint, url text, attempts integer, body jsonb, event text,
    signed_at bigint)
LANGUAGE sql SET search_path = public, pg_temp AS $$
	SELECT * FROM pigeon_webhook_claim_urls(p_host, p_n, p_lease_s, ARRAY[p_url]);
$$;

-- The outcome of an attempt: p_attempt is the claim's attempts (the
-- claim's own number; NULL from a pigeond of before, any). An attempt
-- whose lease ran out while its POST was in flight may answer after the
-- delivery was claimed again: its outcome then changes nothing (a late
-- failure put the delivery back in the queue under the new attempt, which
-- then ended in nothing, and it was posted once more).
DROP FUNCTION IF EXISTS pigeon_webhook_done(bigint);
CREATE OR REPLACE FUNCTION pigeon_webhook_done(p_id bigint,
    p_attempt integer DEFAULT NULL)
RETURNS void LANGUAGE sql AS $$
	UPDATE webhook_deliveries SET state = 'done', done_at = now(),
	       lease_until = NULL, last_error = NULL
	 WHERE id = p_id AND state = 'sending'
	   AND (p_attempt IS NULL OR attempts = p_attempt);
$$;

-- Retries with exponential backoff up to p_max_backoff_s; p_max_age_s after
-- its first attempt the delivery is failed for good. Returns the seconds until the retry, or
-- NULL when it gave up (or the attempt is not the delivery's current one).
DROP FUNCTION IF EXISTS pigeon_webhook_failed(bigint, text, integer, integer);
CREATE OR REPLACE FUNCTION pigeon_webhook_failed(p_id bigint, p_error text,
    p_max_backoff_s integer, p_max_age_s integer, p_attempt integer DEFAULT NULL)
RETURNS integer LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	d webhook_deliveries;
	wait integer;
BEGIN
	SELECT * INTO d FROM webhook_deliveries WHERE id = p_id AND state = 'sending'
	   AND (p_attempt IS NULL OR attempts = p_attempt)
	    FOR UPDATE;
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	-- Deleted while this attempt was in flight: no retry of its text.
	IF d.event = 'post' AND EXISTS (SELECT 1 FROM posts p WHERE p.id = d.post_id
	    AND p.deleted_at IS NOT NULL) THEN
		UPDATE webhook_deliveries SET state = 'cancelled', last_error = 'post deleted',
		       lease_until = NULL WHERE id = p_id;
		RETURN NULL;
	END IF;
	IF coalesce(d.first_tried_at, d.created_at) < now() - make_interval(secs => p_max_age_s) THEN
		UPDATE webhook_deliveries SET state = 'failed', last_error = p_error,
		       lease_until = NULL WHERE id = p_id;
		RETURN NULL;
	END IF;
	wait := least(p_max_backoff_s, 2 ^ least(d.attempts - 1, 20));
	UPDATE webhook_deliveries SET state = 'pending', last_error = p_error,
	       lease_until = NULL, next_attempt_at = now() + make_interval(secs => wait)
	 WHERE id = p_id;
	RETURN wait;
END $$;

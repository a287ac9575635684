-- Search and reach (issue 8): GET /api/search, GET /api/users/HANDLE/stats
-- and the status page's "Reach" section. What is public (search) never
-- shows a phone number.
--
-- pigeond applies every file of db/functions/ at every start, in name
-- order, after the migrations and under the same advisory lock; they hold
-- only CREATE OR REPLACE statements.

-- Posts holding every word of p_q (pigeon_query_terms: accents folded,
-- the Arabic article dropped, anything but letters and digits a
-- separator), newest first, older than post p_before when given; at most
-- p_limit (1-50). next_before is the id to pass for the next page, NULL
-- when there is none: one row more than asked is read to know.
-- {"error": "no_words"} when the query holds no word.
CREATE OR REPLACE FUNCTION pigeon_search(p_q text, p_before bigint,
    p_limit integer)
RETURNS jsonb LANGUAGE plpgsql STABLE SET search_path = public, pg_temp AS $$
DECLARE
	words text[] := pigeon_query_terms(p_q);
	lim integer := least(greatest(coalesce(p_limit, 20), 1), 50);
	hits jsonb;
	more boolean;
BEGIN
	IF coalesce(cardinality(words), 0) = 0 THEN
		RETURN jsonb_build_object('error', 'no_words');
	END IF;
	WITH m AS (
		SELECT p.id, p.account_id, p.text, p.created_at,
		       row_number() OVER (ORDER BY p.id DESC) AS n
		  FROM (SELECT * FROM posts p
		         WHERE p.terms @> words AND p.deleted_at IS NULL
		           AND (p_before IS NULL OR p.id < p_before)
		           -- A suspended member's posts are not shown meanwhile.
		           AND NOT EXISTS (SELECT 1 FROM accounts s WHERE s.id = p.account_id
		                            AND s.suspended_at IS NOT NULL)
		         ORDER BY p.id DESC LIMIT lim + 1) p
	)
	SELECT coalesce(jsonb_agg(jsonb_build_object('id', m.id,
	           'handle', a.handle, 'name', a.name, 'text', m.text,
	           'created_at', m.created_at) ORDER BY m.id DESC)
	           FILTER (WHERE m.n <= lim), '[]'::jsonb),
	       count(*) > lim
	  INTO hits, more
	  FROM m JOIN accounts a ON a.id = m.account_id;
	RETURN jsonb_build_object('terms', to_jsonb(words), 'posts', hits,
	    'next_before', CASE WHEN more
	        THEN (hits -> (jsonb_array_length(hits) - 1)) -> 'id' END);
END $$;

-- The reach of one post from its outbox rows (one per recipient): queued
-- is every copy made; sent, those that reached the network (delivered
-- and undelivered ones did); delivered, those every part of which a
-- report says arrived; failed, those refused, given up or expired;
-- pending, those still waiting or in flight; cancelled. "via" splits the
-- same figures by path: followers ("follow") and trackers ("track").
CREATE OR REPLACE FUNCTION pigeon_post_reach(p_post bigint)
RETURNS jsonb LANGUAGE sql STABLE AS $$
	WITH g AS (
		SELECT grouping(o.via) = 1 AS total, o.via,
		       jsonb_build_object('queued', count(*),
		           'sent', count(*) FILTER (WHERE o.state IN ('sent', 'delivered', 'undelivered')),
		           'delivered', count(*) FILTER (WHERE o.state = 'delivered'),
		           'failed', count(*) FILTER (WHERE o.state IN ('failed', 'undelivered', 'expired')),
		           'pending', count(*) FILTER (WHERE o.state IN ('queued', 'sending')),
		           'cancelled', count(*) FILTER (WHERE o.state = 'cancelled')) AS j
		  FROM outbox o
		 WHERE o.post_id = p_post
		 GROUP BY ROLLUP (o.via)
	)
	-- Both paths are always listed; a path no copy took counts zeros.
	SELECT t.j || jsonb_build_object('via',
	       jsonb_build_object('follow', z.j, 'track', z.j) ||
	       (SELECT coalesce(jsonb_object_agg(coalesce(v.via, 'follow'), v.j), '{}'::jsonb)
	          FROM g v WHERE NOT v.total))
	  FROM g t,
	       (SELECT '{"queued": 0, "sent": 0, "delivered": 0, "failed": 0,
	                 "pending": 0, "cancelled": 0}'::jsonb AS j) z
	 WHERE t.total;
$$;

-- The latest posts of everyone, or of one account (p_account), each with
-- its reach: the status page and the account's stats. Deleted posts are
-- left out, as everywhere they are shown.
CREATE OR REPLACE FUNCTION pigeon_reach_latest(p_account bigint, p_limit integer)
RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT coalesce(jsonb_agg(jsonb_build_object('id', q.id,
	           'handle', a.handle, 'text', q.text, 'created_at', q.created_at,
	           'reach', pigeon_post_reach(q.id)) ORDER BY q.id DESC), '[]'::jsonb)
	  FROM (SELECT p.id, p.account_id, p.text, p.created_at FROM posts p
	         WHERE p.deleted_at IS NULL
	           AND (p_account IS NULL OR p.account_id = p_account)
	         ORDER BY p.id DESC LIMIT p_limit) q
	  JOIN accounts a ON a.id = q.account_id;
$$;

-- An account's audience (GET /api/users/HANDLE/stats, operator only):
-- counts now; followers at the end of each of the last p_days days and
-- copies of its posts delivered on each (days in the service's time zone,
-- oldest first, every day listed); its latest 20 posts with their reach.
-- NULL when there is no such account.
CREATE OR REPLACE FUNCTION pigeon_user_stats(p_handle text, p_days integer)
RETURNS jsonb LANGUAGE plpgsql STABLE SET search_path = public, pg_temp AS $$
DECLARE
	tz text := pigeon_setting('timezone');
	today date := (now() AT TIME ZONE tz)::date;
	day0 date := today - (least(greatest(coalesce(p_days, 30), 1), 366) - 1);
	a accounts;
BEGIN
	SELECT * INTO a FROM accounts WHERE handle = lower(p_handle);
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	RETURN jsonb_build_object('handle', a.handle, 'name', a.name,
	    'member_since', a.created_at, 'timezone', tz,
	    'followers', (SELECT count(*) FROM follows f WHERE f.followee = a.id),
	    'following', (SELECT count(*) FROM follows f WHERE f.follower = a.id),
	    'posts', (SELECT count(*) FROM posts p
	               WHERE p.account_id = a.id AND p.deleted_at IS NULL),
	    'tracks', (SELECT count(*) FROM tracks t WHERE t.account_id = a.id),
	    -- Events summed per local day first, so that the running total
	    -- costs one pass over the account's events; a day without events
	    -- carries the total of the day before.
	    'followers_by_day', (
		WITH ev AS (SELECT (e.at AT TIME ZONE tz)::date AS day,
		                   sum(e.delta) AS n
		              FROM follow_events e WHERE e.followee = a.id
		             GROUP BY 1),
		     d AS (SELECT g::date AS day
		             FROM generate_series(day0, today, interval '1 day') g)
		SELECT jsonb_agg(jsonb_build_object('day', to_char(d.day, 'YYYY-MM-DD'),
		           'followers', (SELECT coalesce(sum(ev.n), 0) FROM ev
		                          WHERE ev.day <= d.day)) ORDER BY d.day)
		  FROM d),
	    'delivered_by_day', (
		WITH del AS (SELECT (o.delivered_at AT TIME ZONE tz)::date AS day,
		                    count(*) AS n
		               FROM posts p JOIN outbox o ON o.post_id = p.id
		              WHERE p.account_id = a.id
		                AND o.delivered_at >= day0::timestamp AT TIME ZONE tz
		                AND o.state = 'delivered'
		              GROUP BY 1),
		     d AS (SELECT g::date AS day
		             FROM generate_series(day0, today, interval '1 day') g)
		SELECT jsonb_agg(jsonb_build_object('day', to_char(d.day, 'YYYY-MM-DD'),
		           'delivered', coalesce(del.n, 0)) ORDER BY d.day)
		  FROM d LEFT JOIN del ON del.day = d.day),
	    'latest', pigeon_reach_latest(a.id, 20));
END $$;

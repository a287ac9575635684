-- The public web side (issue 17, item 3): a member's page, search, a
-- hashtag's page and the directory, as HTML and Atom (gateway/web_*.c).
-- Each page is one call answering one JSON value. Nothing here returns a
-- phone number: only handles, names, bios and post texts.
--
-- pigeond applies every file of db/functions/ at every start, in name
-- order, after the migrations and under the same advisory lock; they hold
-- only CREATE OR REPLACE statements.

-- A post as the pages show it: 'created_at' for Atom (RFC 3339), 'at' in
-- the service's time zone for people.
CREATE OR REPLACE FUNCTION pigeon_web_post_json(p_id bigint, p_handle text,
    p_name text, p_text text, p_at timestamptz, p_tz text)
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
	SELECT jsonb_build_object('id', p_id, 'handle', p_handle, 'name', p_name,
	    'text', p_text, 'created_at', p_at,
	    'at', to_char(p_at AT TIME ZONE p_tz, 'YYYY-MM-DD HH24:MI'));
$$;

-- The ids of the newest posts (below p_before when given) holding every
-- folded word of p_words, at most p_n of them, newest first.
--
-- Why not one "WHERE terms @> words ORDER BY id DESC LIMIT n": the
-- planner guesses how common the words are together from each word's
-- frequency, and both of its plans have a bad case. Walking the primary
-- key backwards finds a frequent word at once but walks the whole table
-- for two frequent words that never meet ("weather الطقس": 0.6 s to 2 s
-- over a million posts); the GIN index finds rare words at once but
-- fetches every match of a frequent one to sort them. So both, each
-- bounded: first the newest 4,000 posts through the primary key (rows
-- are read until a page is found, so a frequent word costs a few dozen);
-- if they do not hold a page, the words are rare among recent posts and
-- the GIN index answers, its ORDER BY written so that the planner cannot
-- turn it back into the walk. No parallel workers: starting them costs
-- more than the few milliseconds they would share.
-- (pigeon_web_suspended, a function a row, was not inlined: the GIN
-- path called it for every match of a frequent word.)
DROP FUNCTION IF EXISTS pigeon_web_suspended(bigint);

CREATE OR REPLACE FUNCTION pigeon_web_match(p_words text[], p_before bigint,
    p_n integer)
RETURNS bigint[] LANGUAGE plpgsql STABLE
SET search_path = public, pg_temp SET max_parallel_workers_per_gather = 0 AS $$
DECLARE
	hi bigint := coalesce(p_before, 9223372036854775807);
	got bigint[];
BEGIN
	SELECT coalesce(array_agg(s.id ORDER BY s.id DESC), '{}') INTO got
	  FROM (SELECT r.id FROM (SELECT p.id, p.terms, p.deleted_at, p.account_id
	                            FROM posts p
	                           WHERE p.id < hi ORDER BY p.id DESC LIMIT 4000) r
	         WHERE r.terms @> p_words AND r.deleted_at IS NULL
	           -- A suspended author's posts are out of searches and tags
	           -- while it is, left out before a page is cut (after, a
	           -- page came out short).
	           AND NOT EXISTS (SELECT 1 FROM accounts a WHERE a.id = r.account_id
	                              AND a.suspended_at IS NOT NULL)
	         ORDER BY r.id DESC LIMIT p_n) s;
	IF cardinality(got) >= p_n THEN
		RETURN got;
	END IF;
	SELECT coalesce(array_agg(s.id ORDER BY s.id DESC), '{}') INTO got
	  FROM (SELECT p.id FROM posts p
	         WHERE p.terms @> p_words AND p.deleted_at IS NULL AND p.id < hi
	           AND NOT EXISTS (SELECT 1 FROM accounts a WHERE a.id = p.account_id
	                              AND a.suspended_at IS NOT NULL)
	         ORDER BY p.id + 0 DESC LIMIT p_n) s;
	RETURN got;
END $$;

-- Posts of p_words, a page of p_limit (1-50) below p_before: the posts
-- with their authors, next_before (NULL on the last page: one more
-- than asked is looked for, to know), and the tag authority of the Atom
-- ids (pigeon_identity: the same in every host's feeds).
CREATE OR REPLACE FUNCTION pigeon_web_posts_page(p_words text[], p_before bigint,
    p_limit integer)
RETURNS jsonb LANGUAGE plpgsql STABLE SET search_path = public, pg_temp AS $$
DECLARE
	lim integer := least(greatest(coalesce(p_limit, 20), 1), 50);
	ids bigint[] := pigeon_web_match(p_words, p_before, lim + 1);
	tz text := pigeon_setting('timezone');
	hits jsonb;
BEGIN
	SELECT coalesce(jsonb_agg(pigeon_web_post_json(p.id, a.handle, a.name,
	           p.text, p.created_at, tz) ORDER BY p.id DESC), '[]'::jsonb)
	  INTO hits
	  FROM posts p JOIN accounts a ON a.id = p.account_id
	 WHERE p.id = ANY (ids[1:lim]);
	RETURN jsonb_build_object('terms', to_jsonb(p_words), 'posts', hits,
	    'updated', coalesce(hits -> 0 -> 'created_at', to_jsonb(now())),
	    'next_before', CASE WHEN cardinality(ids) > lim THEN ids[lim] END,
	    'authority', (SELECT feed_authority FROM pigeon_identity));
END $$;

-- GET /search?q=: the words as SMS SEARCH folds them (pigeon_query_terms:
-- accents, case, Arabic letter forms and article). {"error": "no_words"}
-- when q holds no word.
CREATE OR REPLACE FUNCTION pigeon_web_search(p_q text, p_before bigint,
    p_limit integer)
RETURNS jsonb LANGUAGE plpgsql STABLE SET search_path = public, pg_temp AS $$
DECLARE
	words text[] := pigeon_query_terms(p_q);
BEGIN
	IF coalesce(cardinality(words), 0) = 0 THEN
		RETURN jsonb_build_object('error', 'no_words');
	END IF;
	RETURN pigeon_web_posts_page(words, p_before, p_limit);
END $$;

-- GET /tags/NAME: the posts holding #NAME (folded: /tags/Été is #ete).
-- 'tag' is the folded name without '#'. {"error": "bad_tag"} when NAME
-- is not one word.
CREATE OR REPLACE FUNCTION pigeon_web_tag(p_tag text, p_before bigint,
    p_limit integer)
RETURNS jsonb LANGUAGE plpgsql STABLE SET search_path = public, pg_temp AS $$
DECLARE
	words text[] := pigeon_query_terms('#' || ltrim(p_tag, '#'));
BEGIN
	IF coalesce(cardinality(words), 0) <> 1 OR left(words[1], 1) <> '#' THEN
		RETURN jsonb_build_object('error', 'bad_tag');
	END IF;
	RETURN pigeon_web_posts_page(words, p_before, p_limit)
	    || jsonb_build_object('tag', substr(words[1], 2));
END $$;

-- GET /users/HANDLE: the profile, its counts and a page of its posts
-- (below p_before), newest first; NULL when there is no such member, or
-- it is suspended.
CREATE OR REPLACE FUNCTION pigeon_web_user(p_handle text, p_before bigint,
    p_limit integer)
RETURNS jsonb LANGUAGE plpgsql STABLE SET search_path = public, pg_temp AS $$
DECLARE
	lim integer := least(greatest(coalesce(p_limit, 20), 1), 50);
	tz text := pigeon_setting('timezone');
	a accounts;
	hits jsonb;
	n integer;
BEGIN
	-- A suspended member is not shown while suspended (its posts are
	-- left out of searches and tags too), as in the directory.
	SELECT * INTO a FROM accounts WHERE handle = lower(p_handle)
	   AND suspended_at IS NULL;
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	SELECT coalesce(jsonb_agg(pigeon_web_post_json(q.id, a.handle, a.name,
	           q.text, q.created_at, tz) ORDER BY q.id DESC)
	           FILTER (WHERE q.n <= lim), '[]'::jsonb), count(*)
	  INTO hits, n
	  FROM (SELECT p.id, p.text, p.created_at,
	               row_number() OVER (ORDER BY p.id DESC) AS n
	          FROM posts p
	         WHERE p.account_id = a.id AND p.deleted_at IS NULL
	           AND (p_before IS NULL OR p.id < p_before)
	         ORDER BY p.id DESC LIMIT lim + 1) q;
	RETURN jsonb_build_object('handle', a.handle, 'name', a.name, 'bio', a.bio,
	    'member_since', to_char(a.created_at AT TIME ZONE tz, 'YYYY-MM-DD'),
	    'followers', (SELECT count(*) FROM follows f WHERE f.followee = a.id),
	    'following', (SELECT count(*) FROM follows f WHERE f.follower = a.id),
	    'post_count', (SELECT count(*) FROM posts p
	                    WHERE p.account_id = a.id AND p.deleted_at IS NULL),
	    'posts', hits,
	    'next_before', CASE WHEN n > lim THEN hits -> (lim - 1) -> 'id' END);
END $$;

-- GET /directory: the p_limit (1-100) most-followed members, most
-- followers first (ties by handle, so that the order is stable), with
-- members nobody follows yet after them; suspended accounts left out.
CREATE OR REPLACE FUNCTION pigeon_web_directory(p_limit integer)
RETURNS jsonb LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
	SELECT jsonb_build_object('updated', now(), 'accounts',
	       coalesce(jsonb_agg(jsonb_build_object('rank', t.rank,
	           'handle', t.handle, 'name', t.name, 'bio', t.bio,
	           'followers', t.n) ORDER BY t.rank), '[]'::jsonb))
	  FROM (SELECT a.handle, a.name, a.bio, coalesce(f.n, 0) AS n,
	               row_number() OVER (ORDER BY coalesce(f.n, 0) DESC, a.handle) AS rank
	          FROM accounts a
	          LEFT JOIN (SELECT followee, count(*) AS n FROM follows
	                      GROUP BY followee) f ON f.followee = a.id
	         WHERE a.suspended_at IS NULL
	         ORDER BY coalesce(f.n, 0) DESC, a.handle
	         LIMIT least(greatest(coalesce(p_limit, 100), 1), 100)) t;
$$;

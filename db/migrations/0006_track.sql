-- Track and search (issue 8): the words of posts, tracked words, the
-- daily tracking cap, which path produced each copy of a post, and the
-- follow events that give followers over time.
--
-- The folding of words lives here, in a migration, and not in
-- db/functions/: posts.terms is stored from it and indexed, so changing
-- the rules must be a new migration that re-folds every post and tracked
-- word in the same transaction.

-- A text folded for matching: compatibility forms and accents gone
-- (NFKD, then the combining marks dropped: é, É, e + U+0301 all give e;
-- ligatures and full-width letters give their letters), lower case;
-- Arabic: tatweel and harakat dropped, alef forms to ا, ة to ه, ى and ی
-- to ي, ک to ك; Arabic-Indic digits to ASCII. Keyword matching in
-- gateway/fold.c follows the same rules.
CREATE FUNCTION pigeon_fold(p text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
	SELECT replace(replace(replace(lower(translate(
	    regexp_replace(normalize(p, NFKD),
	        '[\u0300-\u036f\u0640\u064b-\u065f\u0670\u06d6-\u06ed\u200c\u200d]',
	        '', 'g'),
	    'ٱةىیک٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹',
	    'اهييك01234567890123456789')),
	    'œ', 'oe'), 'æ', 'ae'), 'ß', 'ss');
$$;

-- The characters of a word: letters and digits (Latin, Greek, Cyrillic,
-- Arabic) and '_' of a folded text; anything else separates words. The
-- class is written out in each pattern below (a pattern built by
-- concatenation halves the speed: this runs for every post):
--   0-9a-z_ \u00c0-\u00d6 \u00d8-\u00f6 \u00f8-\u024f \u0370-\u03ff
--   \u0400-\u04ff \u0621-\u063a \u0641-\u064a \u066e-\u06d3 \u06d5
--   \u06fa-\u06ff

-- A text folded and made ready to split into words: a '#' or '@' inside
-- a word separates ("a#b" is a and b); the Arabic article and the
-- particles written onto it (و ف ب ك ل) are dropped from the front of a
-- word, when at least two letters remain: الكسكس and والكسكس are كسكس.
-- Whole-text replacements, not one per word: this runs for every post.
CREATE FUNCTION pigeon_words(p text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
	SELECT regexp_replace(
	    regexp_replace(pigeon_fold(p),
	        '([0-9a-z_\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u0370-\u03ff\u0400-\u04ff\u0621-\u063a\u0641-\u064a\u066e-\u06d3\u06d5\u06fa-\u06ff])[#@]+', '\1 ', 'g'),
	    '(^|[^#@0-9a-z_\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u0370-\u03ff\u0400-\u04ff\u0621-\u063a\u0641-\u064a\u066e-\u06d3\u06d5\u06fa-\u06ff])([#@]*)(وال|فال|بال|كال|لل|ال)'
	    '(?=[\u0621-\u063a\u0641-\u064a\u066e-\u06d3\u06d5\u06fa-\u06ff]{2})',
	    '\1\2', 'g');
$$;

-- The words of a post, as TRACK and SEARCH match them, sorted, once each.
-- A word is a run of word characters, at most 40 of them, so
-- "COUSCOUS!" is couscous, "l'été" is l and ete, and "couscousier" is not
-- couscous. A #hashtag or @mention gives its plain word and its tagged
-- form: #couscous is couscous and #couscous.
CREATE FUNCTION pigeon_terms(p text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
	SELECT coalesce(array_agg(DISTINCT v ORDER BY v), '{}')
	  FROM unnest(regexp_split_to_array(pigeon_words(p),
	           '[^#@0-9a-z_\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u0370-\u03ff\u0400-\u04ff\u0621-\u063a\u0641-\u064a\u066e-\u06d3\u06d5\u06fa-\u06ff]+')) AS t,
	       unnest(ARRAY[left(ltrim(t, '#@'), 40),
	                    CASE WHEN left(t, 1) IN ('#', '@')
	                         THEN left(t, 1) || left(ltrim(t, '#@'), 40) END]) AS v
	 WHERE v IS NOT NULL AND v NOT IN ('', '#', '@');
$$;

-- The words a query (TRACK's argument, a search) asks for: one per word
-- of the text, tagged when it is a #hashtag or @mention. Quotes, '%' and
-- the like are separators: a query is only ever words.
CREATE FUNCTION pigeon_query_terms(p text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
	SELECT coalesce(array_agg(DISTINCT v ORDER BY v), '{}')
	  FROM unnest(regexp_split_to_array(pigeon_words(p),
	           '[^#@0-9a-z_\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u0370-\u03ff\u0400-\u04ff\u0621-\u063a\u0641-\u064a\u066e-\u06d3\u06d5\u06fa-\u06ff]+')) AS t,
	       LATERAL (SELECT CASE WHEN left(t, 1) IN ('#', '@') THEN left(t, 1) ELSE '' END
	                       || left(ltrim(t, '#@'), 40) AS v) q
	 WHERE v NOT IN ('', '#', '@');
$$;

ALTER TABLE posts ADD COLUMN terms text[] NOT NULL DEFAULT '{}';
UPDATE posts SET terms = pigeon_terms(text);
CREATE INDEX posts_terms ON posts USING gin (terms);

-- TRACK word: one row per member and folded word ('couscous', '#couscous'
-- or '@alice').
CREATE TABLE tracks (
	account_id	bigint NOT NULL REFERENCES accounts ON DELETE CASCADE,
	term		text NOT NULL,
	word		text NOT NULL,		-- as the member wrote it, for TRACKS
	created_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (account_id, term)
);
CREATE INDEX tracks_term ON tracks (term);

-- Tracking SMS sent to a member on track_day (in the service's time zone).
ALTER TABLE accounts ADD COLUMN track_day date;
ALTER TABLE accounts ADD COLUMN track_sent integer NOT NULL DEFAULT 0;

-- Which path made a copy of a post: a follower gets 'follow' even when
-- they also track one of its words (one SMS, not counted as tracking).
ALTER TABLE outbox ADD COLUMN via text CHECK (via IN ('follow', 'track'));
UPDATE outbox SET via = 'follow' WHERE post_id IS NOT NULL;
-- A post's tracking copies, for the trackers' daily counts.
CREATE INDEX outbox_track ON outbox (post_id) WHERE via = 'track';

-- Followers over time: +1 / -1 per follow and unfollow, by trigger.
CREATE TABLE follow_events (
	id		bigserial PRIMARY KEY,
	followee	bigint NOT NULL REFERENCES accounts ON DELETE CASCADE,
	follower	bigint NOT NULL,
	delta		smallint NOT NULL CHECK (delta IN (-1, 1)),
	at		timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX follow_events_followee ON follow_events (followee, at);
INSERT INTO follow_events (followee, follower, delta, at)
SELECT followee, follower, 1, created_at FROM follows;

CREATE FUNCTION pigeon_follow_event() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'INSERT' THEN
		INSERT INTO follow_events (followee, follower, delta)
		VALUES (NEW.followee, NEW.follower, 1);
	ELSE
		-- An account deleted takes its events with it (CASCADE).
		INSERT INTO follow_events (followee, follower, delta)
		SELECT OLD.followee, OLD.follower, -1
		 WHERE EXISTS (SELECT 1 FROM accounts WHERE id = OLD.followee);
	END IF;
	RETURN NULL;
END $$;
CREATE TRIGGER follows_event AFTER INSERT OR DELETE ON follows
	FOR EACH ROW EXECUTE FUNCTION pigeon_follow_event();

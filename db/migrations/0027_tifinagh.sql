-- Tifinagh (U+2D30-U+2D6F and the joiner U+2D7F; U+2D70, its separator
-- mark, separates), the script of Tamazight, an official
-- language of Morocco, is a script of words: its letters were separators,
-- so a post in Tifinagh had no searchable word, its #hashtags no page and
-- TRACK took none of its words. The word class of migration 0006, now:
--   0-9a-z_ \u00c0-\u00d6 \u00d8-\u00f6 \u00f8-\u024f \u0370-\u03ff
--   \u0400-\u04ff \u0621-\u063a \u0641-\u064a \u066e-\u06d3 \u06d5
--   \u06fa-\u06ff \u2d30-\u2d6f\u2d7f
-- (Tifinagh has no case, and NFKD only makes the labialization mark ⵯ a
-- ⵡ, in posts and queries alike: pigeon_fold needs no change.) The posts
-- and tracked words holding Tifinagh get their terms again; the others'
-- are the same under either class.

CREATE OR REPLACE FUNCTION pigeon_words(p text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
	SELECT regexp_replace(
	    regexp_replace(pigeon_fold(p),
	        '([0-9a-z_\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u0370-\u03ff\u0400-\u04ff\u0621-\u063a\u0641-\u064a\u066e-\u06d3\u06d5\u06fa-\u06ff\u2d30-\u2d6f\u2d7f])[#@]+', '\1 ', 'g'),
	    '(^|[^#@0-9a-z_\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u0370-\u03ff\u0400-\u04ff\u0621-\u063a\u0641-\u064a\u066e-\u06d3\u06d5\u06fa-\u06ff\u2d30-\u2d6f\u2d7f])([#@]*)(وال|فال|بال|كال|لل|ال)'
	    '(?=[\u0621-\u063a\u0641-\u064a\u066e-\u06d3\u06d5\u06fa-\u06ff]{2})',
	    '\1\2', 'g');
$$;

-- The words of a post, as TRACK and SEARCH match them, sorted, once each.
-- A word is a run of word characters, at most 40 of them, so
-- "COUSCOUS!" is couscous, "l'été" is l and ete, and "couscousier" is not
-- couscous. A #hashtag or @mention gives its plain word and its tagged
-- form: #couscous is couscous and #couscous.
CREATE OR REPLACE FUNCTION pigeon_terms(p text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
	SELECT coalesce(array_agg(DISTINCT v ORDER BY v), '{}')
	  FROM unnest(regexp_split_to_array(pigeon_words(p),
	           '[^#@0-9a-z_\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u0370-\u03ff\u0400-\u04ff\u0621-\u063a\u0641-\u064a\u066e-\u06d3\u06d5\u06fa-\u06ff\u2d30-\u2d6f\u2d7f]+')) AS t,
	       unnest(ARRAY[left(ltrim(t, '#@'), 40),
	                    CASE WHEN left(t, 1) IN ('#', '@')
	                         THEN left(t, 1) || left(ltrim(t, '#@'), 40) END]) AS v
	 WHERE v IS NOT NULL AND v NOT IN ('', '#', '@');
$$;

-- The words a query (TRACK's argument, a search) asks for: one per word
-- of the text, tagged when it is a #hashtag or @mention. Quotes, '%' and
-- the like are separators: a query is only ever words.
CREATE OR REPLACE FUNCTION pigeon_query_terms(p text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
	SELECT coalesce(array_agg(DISTINCT v ORDER BY v), '{}')
	  FROM unnest(regexp_split_to_array(pigeon_words(p),
	           '[^#@0-9a-z_\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u0370-\u03ff\u0400-\u04ff\u0621-\u063a\u0641-\u064a\u066e-\u06d3\u06d5\u06fa-\u06ff\u2d30-\u2d6f\u2d7f]+')) AS t,
	       LATERAL (SELECT CASE WHEN left(t, 1) IN ('#', '@') THEN left(t, 1) ELSE '' END
	                       || left(ltrim(t, '#@'), 40) AS v) q
	 WHERE v NOT IN ('', '#', '@');
$$;

UPDATE posts SET terms = pigeon_terms(text) WHERE text ~ '[\u2d30-\u2d6f\u2d7f]';

-- A tracked word holding Tifinagh was folded without it (TRACK #ⵣcouscous
-- tracked couscous): its term again, as pigeon_track_term (36_track.sql,
-- not yet there on a fresh database) makes it. A row whose new term the
-- member already tracks is dropped (that row gets the same posts); one
-- that is no longer one word (ⴰ⵰tajine: the separator mark) keeps the
-- term it had, so that the member still gets what it asked for.
CREATE TEMPORARY TABLE refolded ON COMMIT DROP AS
SELECT t.account_id, t.term,
       (SELECT q[1] FROM (SELECT pigeon_query_terms(t.word) AS q) x
         WHERE cardinality(q) = 1
           AND length(ltrim(q[1], '#@')) BETWEEN 2 AND 20) AS new_term
  FROM tracks t
 WHERE t.word ~ '[\u2d30-\u2d6f\u2d7f]';
DELETE FROM tracks t USING refolded r
 WHERE t.account_id = r.account_id AND t.term = r.term
   AND r.new_term <> r.term
   AND (EXISTS (SELECT 1 FROM tracks o
                 WHERE o.account_id = r.account_id AND o.term = r.new_term)
        -- two of its rows folding to one term: the first is kept
        OR EXISTS (SELECT 1 FROM refolded o
                    WHERE o.account_id = r.account_id AND o.new_term = r.new_term
                      AND o.term < r.term));
UPDATE tracks t SET term = r.new_term FROM refolded r
 WHERE t.account_id = r.account_id AND t.term = r.term
   AND r.new_term IS NOT NULL AND r.new_term <> r.term;

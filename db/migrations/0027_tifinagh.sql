-- Tifinagh (U+2D30-U+2D7F), the script of Tamazight, an official
-- language of Morocco, is a script of words: its letters were separators,
-- so a post in Tifinagh had no searchable word, its #hashtags no page and
-- TRACK took none of its words. The word class of migration 0006, now:
--   0-9a-z_ \u00c0-\u00d6 \u00d8-\u00f6 \u00f8-\u024f \u0370-\u03ff
--   \u0400-\u04ff \u0621-\u063a \u0641-\u064a \u066e-\u06d3 \u06d5
--   \u06fa-\u06ff \u2d30-\u2d7f
-- (Tifinagh has no case and NFKD leaves it as it is: pigeon_fold needs no
-- change.) The posts holding Tifinagh get their words again; the others'
-- are the same under either class.

CREATE OR REPLACE FUNCTION pigeon_words(p text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
	SELECT regexp_replace(
	    regexp_replace(pigeon_fold(p),
	        '([0-9a-z_\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u0370-\u03ff\u0400-\u04ff\u0621-\u063a\u0641-\u064a\u066e-\u06d3\u06d5\u06fa-\u06ff\u2d30-\u2d7f])[#@]+', '\1 ', 'g'),
	    '(^|[^#@0-9a-z_\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u0370-\u03ff\u0400-\u04ff\u0621-\u063a\u0641-\u064a\u066e-\u06d3\u06d5\u06fa-\u06ff\u2d30-\u2d7f])([#@]*)(وال|فال|بال|كال|لل|ال)'
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
	           '[^#@0-9a-z_\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u0370-\u03ff\u0400-\u04ff\u0621-\u063a\u0641-\u064a\u066e-\u06d3\u06d5\u06fa-\u06ff\u2d30-\u2d7f]+')) AS t,
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
	           '[^#@0-9a-z_\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u0370-\u03ff\u0400-\u04ff\u0621-\u063a\u0641-\u064a\u066e-\u06d3\u06d5\u06fa-\u06ff\u2d30-\u2d7f]+')) AS t,
	       LATERAL (SELECT CASE WHEN left(t, 1) IN ('#', '@') THEN left(t, 1) ELSE '' END
	                       || left(ltrim(t, '#@'), 40) AS v) q
	 WHERE v NOT IN ('', '#', '@');
$$;

UPDATE posts SET terms = pigeon_terms(text) WHERE text ~ '[\u2d30-\u2d7f]';

-- Hostile phones (issue 14, items 2 and 3): the one-line form of a
-- member's text in SMS copies, the per-recipient daily ceiling, the
-- auto-responder loop detector and the per-link daily budget.
--
-- pigeond applies every file of db/functions/ at every start, in name
-- order; they hold only CREATE OR REPLACE statements.

-- A member's text as every SMS copy shows it: one line. A copy is
-- "@alice: text", so a line break would let alice write a second line
-- that looks like another author ("@alice: Nice day\n\n@carol: send 100
-- DH to ..."), and so would a long run of spaces that wraps on a phone's
-- screen. Line breaks (CR, LF, VT, FF, NEL, U+2028, U+2029), tabs and
-- runs of spaces of any kind become one space. Removed: the other C0/C1
-- controls, and the invisible format characters (Unicode category Cf)
-- that can reorder or hide text: the bidi embeddings, overrides and
-- isolates (U+202A-202E, U+2066-2069: they can show a number reversed),
-- the zero-width space, word joiner and invisible operators, soft
-- hyphen, BOM, the deprecated format controls, interlinear annotation,
-- and the tag characters (invisible text). Kept, because Arabic and
-- Persian typing needs them and none can forge a line or reorder a run
-- of letters or digits: ZWNJ and ZWJ (U+200C, U+200D; ZWJ also joins
-- emoji), the bidi marks LRM, RLM and ALM (U+200E, U+200F, U+061C: a
-- keyboard puts them beside punctuation in mixed text), and the visible
-- Arabic signs of category Cf (U+0600-0605, U+06DD end of ayah).
-- Posts, DMs, names and bios are stored in this form; the SMS as it came
-- stays in inbox_messages for the operator.
CREATE OR REPLACE FUNCTION pigeon_sms_line(p text)
RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
	SELECT btrim(regexp_replace(regexp_replace(p,
	    '[\u0001-\u0008\u000e-\u001f\u007f-\u0084\u0086-\u009f\u00ad\u180e'
	    '\u200b\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb'
	    '\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e007f]',
	    '', 'g'),
	    '[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029'
	    '\u202f\u205f\u3000]+', ' ', 'g'), ' ');
$$;

-- Whether a text (made one line by pigeon_sms_line) shows nothing: only
-- spaces, joiners (ZWJ, ZWNJ, the grapheme joiner), direction marks and
-- variation selectors, which pigeon_sms_line keeps because they matter
-- between letters, and the blank letters (Hangul fillers, the empty
-- braille cell). A post of a ZWJ went to every follower as
-- "@alice: ", and "D bob" and a soft hyphen sent bob "DM from @alice: ".
CREATE OR REPLACE FUNCTION pigeon_text_blank(p text)
RETURNS boolean LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
	SELECT p !~ '[^ \u034f\u061c\u115f\u1160\u200c-\u200f\u2800\u3164\ufe00-\ufe0f\uffa0]';
$$;

-- The text of a member's post as its SMS copies show it (pigeon_post_copies,
-- a DM's copy, GET's): the post stays as written (the web, the API), and
-- a copy that would be GSM-7 but for characters that show nothing or only
-- look different goes in GSM-7, where it was UCS-2: a 139-character Latin
-- post with one invisible mark, or "l’ete" for "l'ete", went to every
-- follower in three parts instead of one. Left out: the marks
-- pigeon_sms_line keeps for right-to-left typing (LRM, RLM, ALM, ZWNJ,
-- ZWJ); written in GSM-7: ’ ‘ as ', “ ” and « » as " (GSM-7 has no
-- guillemets), … as three dots, – — as a hyphen. Only when the copy is
-- then GSM-7: a text that is UCS-2 anyway (Arabic, Hindi, an emoji
-- sequence, ç, ê, œ) keeps every one of them, as written (in Arabic or
-- Indic letters, ZWJ and ZWNJ change how they join).
CREATE OR REPLACE FUNCTION pigeon_sms_copy(p text)
RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
	SELECT CASE WHEN m <> p AND pigeon_digest_gsm7(m) THEN m ELSE p END
	  FROM (SELECT btrim(regexp_replace(replace(translate(
	            regexp_replace(p, '[\u061c\u200c-\u200f]', '', 'g'),
	            '’‘“”«»–—', '''''""""--'), '…', '...'), '  +', ' ', 'g'), ' ') AS m) a;
$$;

-- The start of today in the service time zone: daily caps reset there.
CREATE OR REPLACE FUNCTION pigeon_day_start()
RETURNS timestamptz LANGUAGE sql STABLE AS $$
	SELECT date_trunc('day', now() AT TIME ZONE
	    pigeon_setting('timezone'))
	    AT TIME ZONE pigeon_setting('timezone');
$$;

-- The per-recipient daily ceiling (recipient_day SMS a day, service time
-- zone; 0: none), for every path into the outbox: fan-out of follows and
-- tracks, DMs, replies, operator sends, bare INSERTs. A statement trigger
-- sees what a statement inserted, counts each recipient's rows of the day
-- (cancelled ones too, so an index answers), and cancels the newest rows
-- of this statement
-- beyond the ceiling ("recipient daily ceiling", counter
-- recipient_capped): dropped, not held, so that news of yesterday does
-- not eat tomorrow's SMS. A member is told once a day, when the first
-- copy is dropped (catalog recipient_ceiling). Never stopped, though
-- counted: the replies to the recipient's own commands (they asked; the
-- reply caps bound them), the STOP confirmation, and that notice.
-- Two transactions inserting for one phone at once may each pass the
-- last place: the ceiling bounds cost, it is not exact.
CREATE OR REPLACE FUNCTION pigeon_outbox_ceiling()
RETURNS trigger LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	ceiling integer := pigeon_setting_int('recipient_day');
	day_start timestamptz;
	capped text[];
	ncapped integer;
	ids bigint[];
	r record;
BEGIN
	IF ceiling = 0 THEN
		RETURN NULL;
	END IF;
	day_start := pigeon_day_start();
	WITH cand AS MATERIALIZED (
		SELECT f.id, f.recipient FROM fresh f
		 WHERE f.state = 'queued' AND NOT f.bypass_optout
		   AND f.reply_key IS DISTINCT FROM 'recipient_ceiling'
		   AND NOT (f.class = 0 AND f.reply_key IS DISTINCT FROM 'dm'
		            AND EXISTS (SELECT 1 FROM inbox_messages i
		                         WHERE i.id = f.reply_to
		                           AND i.sender = f.recipient))
	), used AS (
		-- Every row of the day counts, the cancelled ones too: the
		-- index (recipient, created_at) alone answers, without reading
		-- the rows (a 100,000-copy fan-out makes 100,000 such counts).
		SELECT c.recipient, n.n
		  FROM (SELECT DISTINCT c.recipient FROM cand c) c,
		       LATERAL (SELECT count(*) AS n FROM outbox o
		                 WHERE o.recipient = c.recipient
		                   AND o.created_at >= day_start) n
		 WHERE n.n > ceiling
	), over AS (
		SELECT c.id, c.recipient, u.n,
		       row_number() OVER (PARTITION BY c.recipient ORDER BY c.id DESC) AS k
		  FROM cand c JOIN used u ON u.recipient = c.recipient
	)
	SELECT array_agg(v.id) INTO ids FROM over v WHERE v.k <= v.n - ceiling;
	SELECT array_agg(DISTINCT c.recipient), count(*) INTO capped, ncapped
	  FROM pigeon_outbox_cancel(ids,
	      format('recipient daily ceiling of %s SMS reached', ceiling)) c(recipient);
	IF ncapped = 0 THEN
		RETURN NULL;
	END IF;
	PERFORM pigeon_count('recipient_capped', ncapped);
	-- One notice a day per member.
	FOR r IN SELECT a.phone, a.lang FROM accounts a
	          WHERE a.phone = ANY (capped)
	            AND NOT EXISTS (SELECT 1 FROM outbox o
	                             WHERE o.recipient = a.phone
	                               AND o.reply_key = 'recipient_ceiling'
	                               AND o.created_at >= day_start)
	          ORDER BY a.id LOOP
		PERFORM pigeon_hold_quiet(pigeon_queue_reply(r.phone, r.lang,
		    'recipient_ceiling', ARRAY[ceiling::text], NULL, false, false,
		    NULL, NULL));
	END LOOP;
	RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER outbox_recipient_ceiling
	AFTER INSERT ON outbox
	REFERENCING NEW TABLE AS fresh
	FOR EACH STATEMENT EXECUTE FUNCTION pigeon_outbox_ceiling();

-- What makes two texts "the same" to the loop detector: folded
-- (pigeon_fold: case, accents, Arabic forms), without @handles, digits,
-- spaces and punctuation, so that "Auto-reply (14:02): busy" and "auto
-- reply (14:05) busy @bob" are one text. NULL when no letter is left.
CREATE OR REPLACE FUNCTION pigeon_loop_key(p text)
RETURNS text LANGUAGE sql IMMUTABLE STRICT AS $$
	SELECT nullif(regexp_replace(pigeon_fold(regexp_replace(p, '@[A-Za-z0-9_]+', '', 'g')),
	    '[^a-z\u00c0-\u024f\u0370-\u04ff\u0621-\u064a\u066e-\u06d3]', '', 'g'), '');
$$;

-- The auto-responder loop detector, called before a member's post is
-- made. Two phones that answer every SMS by themselves and follow each
-- other's members post the same text back and forth. A post is a round
-- of such a loop when the member already posted the same text
-- (pigeon_loop_key) loop_rounds times within loop_window seconds, and
-- since the first of them the member's phone was sent a copy of someone
-- else's post. Returns that someone's handle (the other end), or NULL
-- when the post may go. loop_rounds = 0 turns the detector off. A human
-- who posts the same words four times in ten minutes meets it too; the
-- post is stored in the inbox, and nothing is lost but the repeat.
-- A loop found stays stopped: the same text is not posted while the
-- member's last message stopped for it is younger than loop_window, so
-- each repeat stopped keeps it stopped. Counting only the posts made, the
-- stop let the next repeat through as soon as the first round left the
-- window: 3 made, 1 stopped, 3 made... (6 copies of 8 reached a
-- follower with loop_window = 20 s; with 600 s, 3 every 10 minutes all
-- day). Another text is another question.
CREATE OR REPLACE FUNCTION pigeon_loop_partner(p_acct accounts, p_text text)
RETURNS text LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	rounds integer := pigeon_setting_int('loop_rounds');
	window_s integer;
	recent text[];
	since timestamptz;
	k text;
	n integer;
	partner text;
BEGIN
	IF rounds = 0 THEN
		RETURN NULL;
	END IF;
	window_s := pigeon_setting_int('loop_window');
	-- A loop stopped within the window (the member's messages of the
	-- window, by inbox_messages_sender alone: the rest is read from its
	-- rows, as in pigeon_apply_limit; no key computed unless one was
	-- stopped): the same text stays stopped, against the same other end.
	IF EXISTS (SELECT 1
	             FROM (SELECT i.received_at, i.state, i.result FROM inbox_messages i
	                    WHERE i.sender = p_acct.phone
	                      AND i.received_at > now() - make_interval(secs => window_s)
	                   OFFSET 0) i
	            WHERE i.received_at <= now() AND i.state = 'ignored'
	              AND i.result LIKE 'auto-responder loop between %') THEN
		k := pigeon_loop_key(p_text);
		SELECT substring(i.result FROM ' and @([A-Za-z0-9_]+): ') INTO partner
		  FROM (SELECT i.received_at, i.state, i.result, i.text FROM inbox_messages i
		         WHERE i.sender = p_acct.phone
		           AND i.received_at > now() - make_interval(secs => window_s)
		        OFFSET 0) i
		 WHERE i.received_at <= now() AND i.state = 'ignored'
		   AND i.result LIKE 'auto-responder loop between %'
		   AND pigeon_loop_key(i.text) = k
		 ORDER BY i.received_at DESC LIMIT 1;
		IF partner IS NOT NULL THEN
			RETURN partner;
		END IF;
	END IF;
	-- The member's latest 50 posts at most (ids grow with time: the
	-- index on (account_id, id) stops there), those of the window only.
	SELECT array_agg(q.text), min(q.created_at) INTO recent, since
	  FROM (SELECT p.text, p.created_at, p.deleted_at FROM posts p
	         WHERE p.account_id = p_acct.id
	         ORDER BY p.id DESC LIMIT 50) q
	 WHERE q.deleted_at IS NULL
	   AND q.created_at > now() - make_interval(secs => window_s)
	   AND q.created_at <= now();
	IF coalesce(cardinality(recent), 0) < rounds THEN
		RETURN NULL;	-- most posts: no key to compute
	END IF;
	-- Was the member's phone sent a copy of someone else's post since
	-- the first of them (the copies of the window, by
	-- outbox_recipient_time; the first found answers)? Without one it
	-- is no loop, and no key is computed: each a fold and two regular
	-- expressions, ten of them for a member with ten posts in the window.
	IF NOT EXISTS (SELECT 1 FROM outbox o JOIN posts p ON p.id = o.post_id
	                WHERE o.recipient = p_acct.phone AND o.created_at >= since
	                  AND o.post_id IS NOT NULL AND p.account_id <> p_acct.id) THEN
		RETURN NULL;
	END IF;
	k := pigeon_loop_key(p_text);
	SELECT count(*) INTO n FROM unnest(recent) t WHERE pigeon_loop_key(t) = k;
	IF k IS NULL OR n < rounds THEN
		RETURN NULL;
	END IF;
	SELECT a.handle INTO partner
	  FROM outbox o
	  JOIN posts p ON p.id = o.post_id
	  JOIN accounts a ON a.id = p.account_id
	 WHERE o.recipient = p_acct.phone AND o.created_at >= since
	   AND o.post_id IS NOT NULL AND a.id <> p_acct.id
	 ORDER BY o.id DESC LIMIT 1;
	RETURN partner;
END $$;

-- The per-link daily budget (link_budget_day parts a day on each modem or
-- carrier link, service time zone; 0: none): every part a link handed to
-- the network, as the carrier bills it, is counted per link and day in
-- counters ('link_parts/YYYY-MM-DD/NAME'): a bind's long = payload sends
-- one submit_sm of `segments` parts. The parts of a message that went out
-- whole are counted from its move into 'sent' (a trigger: the outbox
-- functions stay as they are); those a failed attempt sent before its
-- error (parts_sent: part 1 of 3 went, part 2 was refused) by the batch
-- of outcomes (pigeon_outbox_outcomes), or the carrier's bill ran ahead
-- of the count by every retried or failed long message's first parts.
-- /metrics shows the count, the share of the budget spent and an alert
-- gauge at 80%; crossing 80% also counts link_budget_alert.
CREATE OR REPLACE FUNCTION pigeon_link_parts_add(p_link text, p_parts bigint)
RETURNS void LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	budget integer := pigeon_setting_int('link_budget_day');
	day text := to_char(now() AT TIME ZONE pigeon_setting('timezone'), 'YYYY-MM-DD');
	total bigint;
BEGIN
	IF p_link IS NULL OR coalesce(p_parts, 0) <= 0 THEN
		RETURN;
	END IF;
	INSERT INTO counters AS c (name, value)
	VALUES ('link_parts/' || day || '/' || p_link, p_parts)
	ON CONFLICT (name) DO UPDATE SET value = c.value + EXCLUDED.value
	RETURNING c.value INTO total;
	IF budget > 0 AND total >= budget * 0.8 AND total - p_parts < budget * 0.8 THEN
		PERFORM pigeon_count('link_budget_alert', 1);
	END IF;
END $$;

CREATE OR REPLACE FUNCTION pigeon_link_count()
RETURNS trigger LANGUAGE plpgsql SET search_path = public, pg_temp
    SET enable_nestloop = off AS $$
DECLARE
	m record;
BEGIN
	-- Once per statement and link (a batch of outcomes is one statement).
	FOR m IN SELECT n.modem,
	                sum(greatest(coalesce(n.segments, n.parts, 1), 1)) AS parts
	           FROM old_rows o JOIN new_rows n ON n.id = o.id
	          WHERE n.state = 'sent' AND o.state IS DISTINCT FROM 'sent'
	            AND n.modem IS NOT NULL
	          GROUP BY n.modem ORDER BY n.modem LOOP
		PERFORM pigeon_link_parts_add(m.modem, m.parts);
	END LOOP;
	RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER outbox_link_count
	AFTER UPDATE ON outbox
	REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION pigeon_link_count();

-- For GET /metrics (pigeon_metrics): the counters of things dropped or
-- stopped on purpose, and each link's parts of today against the budget.
-- The sends an SMSC slowed down and those whose answer never came are
-- counters of their own: not drops (an alert on drops fired on throttles).
CREATE OR REPLACE FUNCTION pigeon_caps_metrics()
RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object(
	    'counters', (SELECT coalesce(jsonb_object_agg(c.name, c.value), '{}'::jsonb)
	                   FROM counters c WHERE c.name NOT LIKE 'link\_parts/%'
	                    AND c.name NOT IN ('link_budget_alert', 'link_throttled',
	                                       'maybe_duplicated')),
	    'throttled', (SELECT coalesce(sum(c.value), 0) FROM counters c
	                   WHERE c.name = 'link_throttled'),
	    'maybe_duplicated', (SELECT coalesce(sum(c.value), 0) FROM counters c
	                          WHERE c.name = 'maybe_duplicated'),
	    'alerts', (SELECT coalesce(sum(c.value), 0) FROM counters c
	                WHERE c.name = 'link_budget_alert'),
	    'budget', pigeon_setting_int('link_budget_day'),
	    'links', (SELECT coalesce(jsonb_object_agg(substr(c.name, 23), c.value), '{}'::jsonb)
	                FROM counters c
	               WHERE c.name LIKE 'link\_parts/' || to_char(now() AT TIME ZONE
	                     pigeon_setting('timezone'),
	                     'YYYY-MM-DD') || '/%'));
$$;

-- What is left of each link's budget today (service time zone), for the
-- scheduler: a link at 0 takes no more sends until the day turns (-1: no
-- budget). With the day, so that pigeond knows when it turned.
CREATE OR REPLACE FUNCTION pigeon_link_budget_left(p_links text[])
RETURNS TABLE (link text, remaining bigint, day text) LANGUAGE sql STABLE AS $$
	WITH d AS (SELECT to_char(now() AT TIME ZONE pigeon_setting('timezone'),
	                   'YYYY-MM-DD') AS day)
	SELECT l, coalesce(greatest(nullif(pigeon_setting_int('link_budget_day'), 0)
	    - coalesce((SELECT c.value FROM counters c
	                 WHERE c.name = 'link_parts/' || d.day || '/' || l), 0), 0), -1),
	       d.day
	  FROM unnest(p_links) l, d;
$$;

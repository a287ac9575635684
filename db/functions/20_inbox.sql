-- SMS parts into the inbox, joined into whole messages.
--
-- pigeond applies every file of db/functions/ at every start, in name
-- order, after the migrations and under the same advisory lock; they hold
-- only CREATE OR REPLACE statements. Every unit of work is one statement
-- and one transaction calling one of these functions.

-- A time stamp as the worker wrote it, or NULL when PostgreSQL cannot
-- hold it (a network may send a time zone offset up to 21:15; timestamptz
-- takes +-15:59): the SMS is stored without it rather than never.
CREATE OR REPLACE FUNCTION pigeon_inbox_time(p text)
RETURNS timestamptz LANGUAGE plpgsql STABLE SET search_path = public, pg_temp AS $$
BEGIN
	-- Checked before the cast rather than an exception caught after it:
	-- a handler is a subtransaction per part. About 7 us a part (the
	-- regular expression), once per part (pigeon_inbox_store).
	IF p IS NULL OR p !~ ('^[1-9]\d{3}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])'
	        'T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,6})?(Z|[+-](0\d|1[0-5]):[0-5]\d)$') THEN
		RETURN NULL;
	END IF;
	IF substr(p, 9, 2) > '28' AND to_char(to_date(substr(p, 1, 7), 'YYYY-MM')
	    + interval '1 month' - interval '1 day', 'DD') < substr(p, 9, 2) THEN
		RETURN NULL;		-- 02-30
	END IF;
	RETURN p::timestamptz;
END $$;

-- Binary (8-bit) data and undecodable SMS are stored, never applied: a
-- WAP push or a SIM toolkit message is not a command nor a post.
CREATE OR REPLACE FUNCTION pigeon_inbox_inert(p_coding text)
RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
	SELECT p_coding IN ('8bit', 'corrupt');
$$;

-- How far apart two parts of long SMS were sent, in seconds: by the SMSC's
-- time stamps (SCTS) when both have one, else by when they reached us
-- (SMPP deliveries and some modems carry none).
CREATE OR REPLACE FUNCTION pigeon_inbox_gap(a_sent timestamptz,
    a_received timestamptz, b_sent timestamptz, b_received timestamptz)
RETURNS numeric LANGUAGE sql IMMUTABLE AS $$
	SELECT abs(extract(epoch FROM CASE WHEN a_sent IS NOT NULL AND b_sent IS NOT NULL
	                                   THEN a_sent - b_sent
	                                   ELSE a_received - b_received END));
$$;

-- Whether two parts of one group (sender, reference, total) may be of
-- one SMS. By the network's time stamps (SCTS) when both have one: sent
-- within 120 s of each other (pigeon_inbox_gap). Without (SMPP
-- deliveries carry none), their arrival tells nothing: an SMSC spaces
-- what it delivers by its own queue, not the phone's burst (a delivery
-- throttled in a flood comes again minutes later, what a bind that was
-- down could not take comes once it is back), so they wait together for
-- concat_timeout as before; split at 120 s, the first part was processed
-- alone and the rest kept and never applied. The nearest in time of two
-- copies of a place is still the one taken (pigeon_inbox_join).
CREATE OR REPLACE FUNCTION pigeon_inbox_together(a_sent timestamptz,
    a_received timestamptz, b_sent timestamptz, b_received timestamptz)
RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
	SELECT a_sent IS NULL OR b_sent IS NULL
	    OR pigeon_inbox_gap(a_sent, a_received, b_sent, b_received) <= 120;
$$;

-- A message's text from its parts' (pigeon-modem and pigeon-smpp,
-- gsm_mark_cut_pair): a phone that cut a UCS-2 message inside a surrogate
-- pair (an emoji, at 67 units whatever they hold) left a high half at the
-- end of one part and the low half at the start of the next, each marked
-- U+F0000 + (unit - 0xD800); joined, the two are the character again. A
-- half whose other half never came (a part lost, a message applied
-- without it) is U+FFFD, as it was decoded before. Only UCS-2 parts
-- carry marks: a single part of another coding is taken as it is.
-- A GSM-7 part cut between an escape and its character (a euro sign at
-- the 153rd septet, gsm_mark_cut_escape) ends with U+F0800, and the next
-- part begins with the character of the main table the escape changes
-- ('e' for the euro, '(' for '{'): joined, the two are the character
-- meant; a mark with no such character after it is dropped, as a phone
-- shows an escape alone.
CREATE OR REPLACE FUNCTION pigeon_inbox_surrogates(p text)
RETURNS text LANGUAGE plpgsql IMMUTABLE STRICT SET search_path = public, pg_temp AS $$
DECLARE
	r text := '';
	n integer := length(p);
	i integer := 1;
	c integer;
	d integer;
	k integer;
BEGIN
	IF p !~ '[\U000f0000-\U000f0800]' THEN
		RETURN p;	-- every message but those
	END IF;
	WHILE i <= n LOOP
		c := ascii(substr(p, i, 1));
		d := CASE WHEN i < n THEN ascii(substr(p, i + 1, 1)) END;
		IF c = 985088 THEN
			-- U+F0800, an escape: 23.038's extension table, by the
			-- main table's character of the same code
			k := strpos(E'\nΛ()/<=>¡e', substr(p, i + 1, 1));
			IF k > 0 AND i < n THEN
				r := r || substr(E'\f^{}\\[~]|€', k, 1);
				i := i + 1;
			END IF;
			i := i + 1;
			CONTINUE;
		END IF;
		IF c BETWEEN 983040 AND 984063 AND d BETWEEN 984064 AND 985087 THEN
			-- U+F0000..F03FF then U+F0400..F07FF: a high and a low half
			r := r || chr(65536 + (c - 983040) * 1024 + (d - 984064));
			i := i + 2;
			CONTINUE;
		END IF;
		r := r || CASE WHEN c BETWEEN 983040 AND 985087 THEN chr(65533)
		               ELSE substr(p, i, 1) END;
		i := i + 1;
	END LOOP;
	RETURN r;
END $$;

-- Joins the long SMS of part p_part: the waiting parts of its group
-- (sender, reference, total) sent with it, one a sequence number. Without
-- p_force only when all have come; with it (the wait ran out) what came.
--
-- A phone reuses references (256 of them; cheap phones restart their
-- counter), so a group may hold the parts of two SMS: A's part 2 lost,
-- B with A's reference minutes later, and B's part 2 completed A's part
-- 1 (A1+B2 was applied, B1 alone after concat_timeout). The parts of one
-- SMS leave the phone in one burst, seconds apart, whatever the delay to
-- us: a part more than 120 s from p_part by their time stamps
-- (pigeon_inbox_together) is another SMS's, and of two copies of a place the nearer in time wins, the older
-- at equal distance (a copy of a part has the same time). 120 s holds a
-- burst of ten parts with a phone's retries on a poor radio link, and is
-- shorter than writing and sending a second long SMS; by arrival time
-- (no SCTS) it holds a worker's polls and an SMSC's spread over its binds.
-- The older SMS is not applied when a newer one starts: its lost part
-- may still come (an SMSC retries a part for hours, its SCTS unchanged),
-- so it waits for concat_timeout as any incomplete SMS does.
-- Index probes of one group's waiting parts (inbox_parts_pending).
DROP FUNCTION IF EXISTS pigeon_inbox_join(text, integer, integer, boolean);
CREATE OR REPLACE FUNCTION pigeon_inbox_join(p_part bigint, p_force boolean)
RETURNS bigint LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	a inbox_parts;
	ids bigint[];
	joined text;
	nseq integer;
	first_modem text;
	kind text;
	inert boolean;
	headless boolean;	-- a long SMS without its first part
	waiting boolean;
	sent timestamptz;	-- the SMSC's time of its first part that came
	mid bigint;
BEGIN
	SELECT * INTO a FROM inbox_parts WHERE id = p_part;
	IF NOT FOUND OR a.message_id IS NOT NULL THEN
		RETURN NULL;	-- joined with a part stored before it
	END IF;
	-- One statement (this is the ingest path): the group's waiting parts
	-- sent with p_part locked, a concurrent pigeon_inbox_expire waited
	-- for (the parts it joined drop out, p_part maybe among them), and
	-- for each sequence number the part nearest in time to p_part.
	SELECT array_agg(q.id ORDER BY q.concat_seq) FILTER (WHERE q.pick),
	       string_agg(q.text, '' ORDER BY q.concat_seq) FILTER (WHERE q.pick),
	       count(*) FILTER (WHERE q.pick),
	       min(q.modem) FILTER (WHERE q.pick),
	       min(q.sender_kind) FILTER (WHERE q.pick),
	       bool_or(pigeon_inbox_inert(q.coding)) FILTER (WHERE q.pick),
	       a.concat_total > 1 AND
	           NOT coalesce(bool_or(q.concat_seq = 1) FILTER (WHERE q.pick), false),
	       coalesce(bool_or(q.id = p_part), false),
	       (array_agg(q.smsc_time ORDER BY q.concat_seq) FILTER (WHERE q.pick))[1]
	  INTO ids, joined, nseq, first_modem, kind, inert, headless, waiting, sent
	  FROM (SELECT l.id, l.concat_seq, l.text, l.modem, l.sender_kind, l.coding,
	               l.smsc_time,
	               row_number() OVER (PARTITION BY l.concat_seq
	                                  ORDER BY l.gap, l.id) = 1 AS pick
	          FROM (SELECT p.id, p.concat_seq, p.text, p.modem, p.sender_kind,
	                       p.coding, pigeon_inbox_gap(p.smsc_time, p.received_at,
	                           a.smsc_time, a.received_at) AS gap,
	                       p.smsc_time, p.received_at
	                  FROM inbox_parts p
	                 WHERE p.message_id IS NULL AND p.sender_norm = a.sender_norm
	                   AND p.concat_ref = a.concat_ref
	                   AND p.concat_total = a.concat_total
	                   FOR UPDATE) l
	         WHERE pigeon_inbox_together(l.smsc_time, l.received_at,
	                                     a.smsc_time, a.received_at)) q;
	IF NOT waiting THEN
		RETURN NULL;
	END IF;
	IF nseq IS NULL OR nseq = 0 OR (nseq < a.concat_total AND NOT p_force) THEN
		RETURN NULL;
	END IF;
	-- The later parts of a long SMS whose first part never came, or came
	-- too early and was applied alone, are kept and not applied: the
	-- command is in part 1, and read alone the tail of "D bob ..." was a
	-- post to every follower.
	INSERT INTO inbox_messages (modem, sender, sender_kind, text, parts,
	    complete, state, result, processed_at, sent_at)
	    VALUES (first_modem, a.sender_norm, kind, pigeon_inbox_surrogates(joined), nseq,
	    nseq >= a.concat_total,
	    CASE WHEN inert OR headless THEN 'ignored' ELSE 'new' END,
	    CASE WHEN inert THEN 'binary SMS, not applied'
	         WHEN headless THEN format('parts of a long SMS without its first '
	             '(%s of %s came): not applied', nseq, a.concat_total) END,
	    CASE WHEN inert OR headless THEN now() END, sent)
	    RETURNING id INTO mid;
	IF NOT p_force THEN
		-- By the group's index: a generic plan of "id = ANY (ids)"
		-- alone read the whole table.
		UPDATE inbox_parts SET message_id = mid
		 WHERE message_id IS NULL AND sender_norm = a.sender_norm
		   AND concat_ref = a.concat_ref AND concat_total = a.concat_total
		   AND id = ANY (ids);
		RETURN mid;
	END IF;
	-- When the wait ran out, the copies of its parts (the same place and
	-- text, sent with it) stay with it; another SMS's parts wait for
	-- their own time.
	UPDATE inbox_parts p SET message_id = mid
	 WHERE p.message_id IS NULL AND p.sender_norm = a.sender_norm
	   AND p.concat_ref = a.concat_ref AND p.concat_total = a.concat_total
	   AND (p.id = ANY (ids) OR p.id = p_part OR
	        (pigeon_inbox_together(p.smsc_time, p.received_at,
	                               a.smsc_time, a.received_at)
	         AND EXISTS (SELECT 1 FROM inbox_parts j
	                      WHERE j.id = ANY (ids) AND j.concat_seq = p.concat_seq
	                        AND j.text = p.text)));
	RETURN mid;
END $$;

-- An SMPP part's dedupe key: its content's key and its emission, which
-- pigeond gives it once (its run, the worker's start, the worker's
-- handle: gateway/inbound.c) and keeps when it gives the part again, so
-- that a second try of a batch meets the first; without one (0.21), the
-- transaction's time.
CREATE OR REPLACE FUNCTION pigeon_link_dedupe(p jsonb)
RETURNS text LANGUAGE sql STABLE AS $$
	SELECT md5(concat_ws('|', 'link', p->>'link_key',
	                     coalesce(p->>'emission', now()::text)));
$$;

-- Stores a batch of SMS parts (pigeond's, gateway/inbound.c), each once,
-- and makes messages of them. Returns how many it stored, and, with
-- p_hold, the parts it held back (their places in p_parts, from 1), which
-- pigeond leaves unanswered and gives again after a while, marked
-- "settled": an SMPP part with the key of one stored within the window on
-- a bind of its SMSC account, whose answer is not known to have been lost
-- (below), and the parts its phone sent after it. The news that it was
-- comes from the first's link (its loss written to modem_history by its
-- pigeond), and the SMSC's copy may come first: it delivers one again at
-- once, on another bind, when a session closes with the answer on it,
-- and the copy's batch was stored before the first bind's loss was
-- written (a DM sent twice; test_smpp_account:smpp_account). Settled, the part
-- is judged as before: a redelivery if the news has come since, else a
-- new SMS (a second STOP after a START).
CREATE OR REPLACE FUNCTION pigeon_inbox_store_parts(p_parts jsonb, p_hold boolean,
    OUT stored_n integer, OUT held integer[])
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	r record;
	mid bigint;
	stored inbox_parts[];
	sib_from text[];	-- the SMPP parts' links and their accounts' other
	sib_to text[];		-- binds, as pairs (pigeon_account_links)
	known integer[];	-- redeliveries: not stored
	doubt integer[];	-- held (their senders' later parts with them)
	skip integer[];
BEGIN
	-- The links' rows first, in name order, as the outcomes and receipts
	-- batches take them: updated below in the parts' order, then in no
	-- order, two links' rows could be taken the other way round by a
	-- concurrent batch (a deadlock: one side aborted, then retried one
	-- part or outcome a statement).
	PERFORM 1 FROM modems
	  WHERE name IN (SELECT DISTINCT p->>'modem' FROM jsonb_array_elements(p_parts) p)
	  ORDER BY name FOR UPDATE;
	-- Then each long SMS's group (sender, reference, total), in one order
	-- too: two hosts (an SMSC spreads a long SMS's parts over its binds)
	-- storing the two halves at once each saw only its own part, and the
	-- message waited for pigeon_inbox_expire (10 minutes). Now the second
	-- waits for the first to commit, and its join then sees both. A
	-- two-key advisory lock of a class of its own ('PINB'), apart from
	-- the hosts' locks ('PIGE', 50_modems.sql) and the migrations'.
	PERFORM pg_advisory_xact_lock(1347964482, g.k)
	   FROM (SELECT DISTINCT hashtext(concat_ws('/', p->>'sender_norm', p->>'ref',
	                                            p->>'total')) AS k
	           FROM jsonb_array_elements(p_parts) p
	          WHERE (p->>'total')::integer > 1) g
	  ORDER BY g.k;
	-- An SMSC delivers again what it saw unanswered to any receiver bound
	-- with the account, not only on the bind that had it: a copy is
	-- another's redelivery when the two came in on binds of one account
	-- (a bind no pigeond recorded an account for: on that bind). The flag
	-- compared the links: a copy flagged on another bind was a new SMS.
	SELECT array_agg(s.link), array_agg(s.sibling) INTO sib_from, sib_to
	  FROM pigeon_account_links(ARRAY(SELECT DISTINCT p->>'modem'
	                                    FROM jsonb_array_elements(p_parts) p
	                                   WHERE p ? 'link_key')) s;
	-- A redelivery: the same key within the window, on a bind of the
	-- same SMSC account, and the first's link has been down (or pigeond
	-- restarted, or its receiver alone was lost: 'receiver lost',
	-- pigeon_modem_state) since the first was stored, or no host holds
	-- its lock now (its pigeond killed, its host switched off: nothing
	-- wrote the loss, and a copy on another host's bind was a new SMS
	-- after its 2 s hold; test_smpp_account:smpp_account_hosts), or the worker says it is
	-- one (it answered the first ESME_RX_T_APPN, its commit's answer
	-- held past 5 minutes for the host lock, or its session closed under
	-- it: the SMSC delivered it again on a link that stayed up), the only
	-- ways its answer could be lost: not stored. Without that, it is a
	-- new SMS with the same text (a second STOP after a START was lost),
	-- held first when p_hold (above). One the worker calls a redelivery
	-- whose first copy was never stored is stored.
	-- A part pigeond gives again (its batch's commit answered lost on
	-- the way, store.c's durable query) is its own first copy: the same
	-- emission (pigeond's run, the worker's start, its handle), absorbed
	-- at once. A copy earlier in the batch, on a bind of the account,
	-- is one stored now.
	SELECT array_agg(x.ord::integer) FILTER (WHERE c.known),
	       array_agg(x.ord::integer) FILTER (WHERE c.doubt)
	  INTO known, doubt
	  FROM jsonb_array_elements(p_parts) WITH ORDINALITY AS x(p, ord),
	       LATERAL (SELECT coalesce(bool_or(f.known), false) OR EXISTS (
	                           SELECT 1 FROM jsonb_array_elements(p_parts)
	                                    WITH ORDINALITY AS y(q, o)
	                            WHERE y.o < x.ord
	                              AND y.q->>'link_key' = x.p->>'link_key'
	                              AND y.q->>'modem' = ANY (pigeon_links_of(
	                                  x.p->>'modem', sib_from, sib_to))) AS known,
	                       count(*) > 0 AND NOT coalesce(bool_or(f.known), false)
	                           AND p_hold AND x.p->>'settled' IS DISTINCT FROM 'true'
	                           AS doubt
	                  -- each copy stored before, and whether its answer
	                  -- may have been lost
	                  -- (no host drives its link now: the host was
	                  -- killed or switched off, and wrote nothing)
	                  FROM (SELECT x.p->>'redelivery' = 'true'
	                               OR i.dedupe = pigeon_link_dedupe(x.p)
	                               OR EXISTS (SELECT 1 FROM modem_history h
	                                           WHERE h.modem = i.modem
	                                             AND h.at >= i.received_at
	                                             -- (a drain keeps its
	                                             -- sessions; 'elsewhere'
	                                             -- is another host's
	                                             -- wait, not the link's)
	                                             AND h.state NOT IN ('online',
	                                                 'draining', 'elsewhere'))
	                               OR NOT pigeon_advisory_held(1346979653, i.modem)
	                               AS known
	                          FROM inbox_parts i
	                         WHERE i.link_key = x.p->>'link_key'
	                           AND i.received_at > now() - interval '15 minutes'
	                           AND i.modem = ANY (pigeon_links_of(x.p->>'modem',
	                                                              sib_from, sib_to))) f
	               ) c
	 WHERE x.p ? 'link_key';
	-- What its phone sent after a part held waits with it, so that the
	-- phone's SMS are still applied in their order (a STOP held, then a
	-- START applied before it, left the member stopped).
	IF doubt IS NOT NULL THEN
		SELECT array_agg(x.ord::integer ORDER BY x.ord) INTO held
		  FROM jsonb_array_elements(p_parts) WITH ORDINALITY AS x(p, ord)
		 WHERE x.ord <> ALL (coalesce(known, '{}'))
		   AND EXISTS (SELECT 1
		                 FROM jsonb_array_elements(p_parts) WITH ORDINALITY AS d(p, ord)
		                WHERE d.ord = ANY (doubt) AND d.ord <= x.ord
		                  AND d.p->>'sender_norm' = x.p->>'sender_norm');
	END IF;
	skip := coalesce(known, '{}') || coalesce(held, '{}');
	WITH ins AS (
		INSERT INTO inbox_parts (dedupe, modem, sender, sender_norm,
		    sender_kind, smsc, smsc_time, coding, text,
		    concat_ref, concat_total, concat_seq, problem, link_key)
		-- Without a network time stamp, sender and text do not
		-- tell two SMS apart (a second STOP would be a
		-- "duplicate" for ever): the worker's read_id does,
		-- which a re-read by the same worker run keeps
		-- (docs/reliability.md, "Hostile input", item 4). An
		-- SMSC's redelivery (SMPP) is the same key within the
		-- window (skip, above), and so is a copy in the batch.
		SELECT CASE WHEN p ? 'link_key'
		       THEN pigeon_link_dedupe(p)
		       ELSE md5(concat_ws('|', p->>'modem', p->>'sender',
		           p->>'time', p->>'ref', p->>'total', p->>'seq',
		           md5(p->>'text'),
		           CASE WHEN p->>'time' IS NULL THEN
		               coalesce('read ' || (p->>'read_id'),
		                   'at ' || (p->>'folder') || '/' || (p->>'location'))
		           END)) END,
		       p->>'modem', p->>'sender', p->>'sender_norm',
		       p->>'sender_kind', coalesce(p->>'smsc', ''),
		       t.at, p->>'coding', p->>'text',
		       (p->>'ref')::integer, (p->>'total')::integer,
		       (p->>'seq')::integer,
		       CASE WHEN p->>'coding' = 'corrupt' THEN 'undecodable: ' ||
		                coalesce(p->>'error', 'unknown error')
		            WHEN p->>'time' IS NOT NULL AND t.at IS NULL THEN
		                'time stamp out of range: ' || (p->>'time')
		            WHEN p->>'coding' = '8bit' THEN 'binary'
		       END,
		       p->>'link_key'
		  FROM jsonb_array_elements(p_parts) WITH ORDINALITY AS x(p, ord),
		       LATERAL (SELECT pigeon_inbox_time(p->>'time') AS at
		                OFFSET 0) t	-- once a part
		 WHERE x.ord <> ALL (skip)
		ON CONFLICT (dedupe) DO NOTHING
		RETURNING *
	)
	SELECT coalesce(array_agg(i::inbox_parts ORDER BY i.id), '{}') INTO stored FROM ins i;
	FOR r IN SELECT * FROM unnest(stored) s
	          WHERE s.problem IS NOT NULL AND s.problem <> 'binary' LOOP
		UPDATE modems
		   SET sms_corrupt = sms_corrupt + (r.coding = 'corrupt')::integer,
		       sms_damaged = sms_damaged + (r.coding <> 'corrupt')::integer
		 WHERE name = r.modem;
		RAISE LOG 'pigeon: modem %: SMS part % stored with a problem: %',
		    r.modem, r.id, r.problem;
	END LOOP;
	IF NOT EXISTS (SELECT 1 FROM unnest(stored) s WHERE s.concat_total > 1) THEN
		-- No long SMS (most batches): a message a part, all in one
		-- statement, their ids in the parts' order (the array's), so
		-- that the batch's statement triggers (state counts, the
		-- audience's hours) fire once, not once a message.
		WITH src AS MATERIALIZED (
			SELECT nextval('inbox_messages_id_seq'::regclass) AS mid, s.*
			  FROM unnest(stored) s
		), msg AS (
			INSERT INTO inbox_messages (id, modem, sender, sender_kind, text,
			    parts, state, result, processed_at, sent_at)
			SELECT src.mid, src.modem, src.sender_norm, src.sender_kind,
			    CASE WHEN src.coding = 'ucs2' THEN pigeon_inbox_surrogates(src.text)
			         ELSE src.text END, 1,
			    CASE WHEN pigeon_inbox_inert(src.coding) THEN 'ignored' ELSE 'new' END,
			    CASE WHEN src.coding = 'corrupt' THEN 'undecodable SMS, not applied'
			         WHEN pigeon_inbox_inert(src.coding) THEN 'binary SMS, not applied' END,
			    CASE WHEN pigeon_inbox_inert(src.coding) THEN now() END,
			    src.smsc_time
			  FROM src ORDER BY src.mid
		)
		UPDATE inbox_parts p SET message_id = src.mid
		  FROM src WHERE p.id = src.id;
	ELSE
		-- A long SMS's part joins its group (pigeon_inbox_join); the
		-- parts in their order, one at a time.
		FOR r IN SELECT * FROM unnest(stored) s LOOP
			IF coalesce(r.concat_total, 1) <= 1 THEN
				INSERT INTO inbox_messages (modem, sender, sender_kind, text,
				    parts, state, result, processed_at, sent_at)
				    VALUES (r.modem, r.sender_norm, r.sender_kind,
				    CASE WHEN r.coding = 'ucs2' THEN pigeon_inbox_surrogates(r.text)
				         ELSE r.text END, 1,
				    CASE WHEN pigeon_inbox_inert(r.coding) THEN 'ignored' ELSE 'new' END,
				    CASE WHEN r.coding = 'corrupt' THEN 'undecodable SMS, not applied'
				         WHEN pigeon_inbox_inert(r.coding) THEN 'binary SMS, not applied' END,
				    CASE WHEN pigeon_inbox_inert(r.coding) THEN now() END,
				    r.smsc_time)
				    RETURNING id INTO mid;
				UPDATE inbox_parts SET message_id = mid WHERE id = r.id;
			ELSE
				PERFORM pigeon_inbox_join(r.id, false);
			END IF;
		END LOOP;
	END IF;
	-- Each modem's received count, once per modem and batch (a re-read
	-- SMS, absorbed by the dedupe key, is not counted twice).
	PERFORM pigeon_modem_received(s.modem, count(*)::integer)
	   FROM unnest(stored) s GROUP BY s.modem;
	stored_n := cardinality(stored);
END $$;

-- The same, holding nothing back: how many parts it stored. (What a
-- pigeond of 0.21 calls.)
CREATE OR REPLACE FUNCTION pigeon_inbox_store(p_parts jsonb)
RETURNS integer LANGUAGE sql SET search_path = public, pg_temp AS $$
	SELECT stored_n FROM pigeon_inbox_store_parts(p_parts, false);
$$;

-- The next whole messages to apply (at most p_limit, pigeond's batch),
-- the senders in turns of ten: each sender's first ten waiting messages
-- in the order they came, then each one's next ten, and so on. Oldest
-- first alone, one phone's 20,000 SMS (a hijacked or looping phone, an
-- SMSC repeating one sender) put everyone else's JOIN, FOLLOW and posts
-- behind all of them; now another phone's SMS waits for at most ten of
-- the flood's. Ordinary traffic (a sender with ten waiting or fewer) is
-- applied in the order it came, as before: a STOP sent before a post is
-- applied before it, so no copy is made for that phone (a turn of one
-- let the post of a sender with an older head go between a FOLLOW and
-- the STOP after it: test_rel_kill). One sender's messages are always
-- applied in their order (by id), each once: pigeond keeps the order
-- within a batch, and a transient error stops the rest of it
-- (commands.c).
--
-- A sender is its number (e164); every sender that is not a phone number
-- (an operator's name, a short code, an undecodable address) is one lane,
-- '': pigeon_apply only marks them ignored, and a flood under many made-up
-- names stays one sender. Each lane takes up to k messages, k the batch
-- shared out between the lanes, raised for those that fill their share
-- while the batch is not full (a lone flood still fills whole batches).
--
-- The cost stays that of a batch whatever one sender has queued. The
-- oldest 2 * p_limit messages by id (inbox_messages_new) answer alone
-- when they are all that waits, or when they hold p_limit senders or
-- more (the batch is then in the window: any other sender's first turn
-- is newer). Otherwise a few senders fill them (a flood), and the
-- senders with a message waiting are found by a skip scan of
-- inbox_messages_lane (0032), one probe a sender, up to 4 * p_limit of
-- them in number order besides those of the window: exact while fewer
-- wait, and a sender past them comes as those before it are served.
-- Measured in docs/performance.md ("Fair inbox").
CREATE OR REPLACE FUNCTION pigeon_inbox_fetch(p_limit integer)
RETURNS TABLE (id bigint, text text)
LANGUAGE plpgsql STABLE SET search_path = public, pg_temp AS $$
DECLARE
	nw integer;
	lanes text[];
	heads bigint[];
	k integer;
	total integer;
	nfull integer;
	turn_len constant integer := 10;	-- a sender's messages in one turn
BEGIN
	-- The window's lanes by their head. (A STABLE function: every
	-- statement sees the caller's snapshot.)
	SELECT sum(h.n), array_agg(h.lane ORDER BY h.head), array_agg(h.head ORDER BY h.head)
	  INTO nw, lanes, heads
	  FROM (SELECT w.lane, min(w.id) AS head, count(*) AS n
	          FROM (SELECT m.id,
	                       CASE WHEN m.sender_kind = 'e164' THEN m.sender ELSE '' END AS lane
	                  FROM inbox_messages m WHERE m.state = 'new'
	                 ORDER BY m.id LIMIT 2 * p_limit) w
	         GROUP BY w.lane) h;
	IF nw IS NULL THEN
		RETURN;
	END IF;
	IF nw < 2 * p_limit OR cardinality(lanes) >= p_limit THEN
		-- All that waits, or p_limit senders' first turns: turn by
		-- turn, each in the order they came.
		RETURN QUERY
		SELECT x.id, x.text
		  FROM (SELECT w.id, w.text,
		               row_number() OVER (PARTITION BY w.lane ORDER BY w.id) AS round
		          FROM (SELECT m.id, m.text,
		                       CASE WHEN m.sender_kind = 'e164' THEN m.sender ELSE '' END AS lane
		                  FROM inbox_messages m WHERE m.state = 'new'
		                 ORDER BY m.id LIMIT 2 * p_limit) w) x
		 ORDER BY (x.round - 1) / turn_len, x.id
		 LIMIT p_limit;
		RETURN;
	END IF;
	-- A few senders fill the window: the others, by the skip scan (each
	-- step the first index entry past the last lane: the next lane and
	-- its head), with the window's, by their head.
	WITH RECURSIVE l(lane, head, n) AS (
		(SELECT CASE WHEN m.sender_kind = 'e164' THEN m.sender ELSE '' END, m.id, 1
		   FROM inbox_messages m WHERE m.state = 'new'
		  ORDER BY 1, 2 LIMIT 1)
		UNION ALL
		SELECT x.lane, x.id, l.n + 1
		  FROM l, LATERAL (
			SELECT CASE WHEN m.sender_kind = 'e164' THEN m.sender ELSE '' END AS lane, m.id
			  FROM inbox_messages m
			 WHERE m.state = 'new'
			   AND CASE WHEN m.sender_kind = 'e164' THEN m.sender ELSE '' END > l.lane
			 ORDER BY 1, 2 LIMIT 1) x
		 WHERE l.n < 4 * p_limit
	)
	SELECT array_agg(a.lane ORDER BY a.head) INTO lanes
	  FROM (SELECT b.lane, min(b.head) AS head
	          FROM (SELECT u.lane, u.head FROM unnest(lanes, heads) AS u(lane, head)
	                UNION ALL SELECT l.lane, l.head FROM l) b
	         GROUP BY b.lane) a;
	-- k: the batch shared out; while it is not full, the lanes that fill
	-- their share get the rest shared out between them (three passes at
	-- most, each reading at most about p_limit index entries).
	k := ceil(p_limit::numeric / cardinality(lanes));
	FOR pass IN 1..3 LOOP
		EXIT WHEN cardinality(lanes) = 1 OR k <= 1;
		SELECT sum(c.n), count(*) FILTER (WHERE c.n = k) INTO total, nfull
		  FROM unnest(lanes) AS u(lane),
		       LATERAL (SELECT count(*) AS n
		                  FROM (SELECT FROM inbox_messages m
		                         WHERE m.state = 'new'
		                           AND CASE WHEN m.sender_kind = 'e164' THEN m.sender ELSE '' END = u.lane
		                         ORDER BY m.id LIMIT k) w) c;
		EXIT WHEN total >= p_limit OR nfull = 0;
		k := k + ceil((p_limit - total)::numeric / nfull);
	END LOOP;
	-- Turn by turn (a lane's first ten, its next ten...), each in the
	-- order they came.
	RETURN QUERY
	SELECT q.id, q.text
	  FROM unnest(lanes[1:p_limit]) AS u(lane),
	       LATERAL (SELECT m.id, m.text, row_number() OVER (ORDER BY m.id) AS round
	                  FROM (SELECT m.id, m.text FROM inbox_messages m
	                         WHERE m.state = 'new'
	                           AND CASE WHEN m.sender_kind = 'e164' THEN m.sender ELSE '' END = u.lane
	                         ORDER BY m.id LIMIT k) m) q
	 ORDER BY (q.round - 1) / turn_len, q.id
	 LIMIT p_limit;
END $$;

-- A message whose application failed by itself (pigeon_apply raised):
-- kept with the error and skipped, instead of being fetched for ever.
CREATE OR REPLACE FUNCTION pigeon_inbox_failed(p_id bigint, p_error text)
RETURNS boolean LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
	UPDATE inbox_messages SET state = 'error', processed_at = now(),
	       result = left(p_error, 500)
	 WHERE id = p_id AND state = 'new';
	RETURN FOUND;
END $$;

CREATE OR REPLACE FUNCTION pigeon_inbox_expire(p_timeout_s integer)
RETURNS integer LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	g record;
	oldest bigint;
	n integer := 0;
BEGIN
	FOR g IN
		SELECT sender_norm, concat_ref, concat_total
		  FROM inbox_parts
		 WHERE message_id IS NULL
		 GROUP BY sender_norm, concat_ref, concat_total
		HAVING min(received_at) < now() - make_interval(secs => p_timeout_s)
	LOOP
		-- A copy of a part already joined into a message (an SMSC's
		-- redelivery after its dedupe window, a modem's part read
		-- again under a new read_id) goes with that message: applied
		-- alone, the tail of a DM became a post to every follower.
		UPDATE inbox_parts d SET message_id = (
			SELECT j.message_id FROM inbox_parts j
			 WHERE j.sender_norm = d.sender_norm
			   AND j.concat_ref = d.concat_ref
			   AND j.concat_total = d.concat_total
			   AND j.concat_seq = d.concat_seq
			   AND j.message_id IS NOT NULL AND j.text = d.text
			   AND j.received_at > d.received_at - interval '1 day'
			 ORDER BY j.received_at DESC LIMIT 1)
		 WHERE d.message_id IS NULL AND d.sender_norm = g.sender_norm
		   AND d.concat_ref = g.concat_ref AND d.concat_total = g.concat_total
		   AND EXISTS (SELECT 1 FROM inbox_parts j
		                WHERE j.sender_norm = d.sender_norm
		                  AND j.concat_ref = d.concat_ref
		                  AND j.concat_total = d.concat_total
		                  AND j.concat_seq = d.concat_seq
		                  AND j.message_id IS NOT NULL AND j.text = d.text
		                  AND j.received_at > d.received_at - interval '1 day');
		-- Then each SMS of the group whose wait ran out, oldest first:
		-- the parts sent with the oldest waiting one, then the next
		-- (a reference reused: A's part 1 is not joined with B's part
		-- 2). Each round joins at least that part.
		LOOP
			SELECT id INTO oldest FROM inbox_parts
			 WHERE message_id IS NULL AND sender_norm = g.sender_norm
			   AND concat_ref = g.concat_ref AND concat_total = g.concat_total
			   AND received_at < now() - make_interval(secs => p_timeout_s)
			 ORDER BY received_at, id LIMIT 1;
			EXIT WHEN NOT FOUND;
			IF pigeon_inbox_join(oldest, true) IS NOT NULL THEN
				n := n + 1;
			END IF;
		END LOOP;
	END LOOP;
	RETURN n;
END $$;

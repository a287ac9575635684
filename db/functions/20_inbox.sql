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

CREATE OR REPLACE FUNCTION pigeon_inbox_join(p_sender text, p_ref integer,
    p_total integer, p_force boolean)
RETURNS bigint LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	ids bigint[];
	joined text;
	nseq integer;
	first_modem text;
	kind text;
	inert boolean;
	headless boolean;	-- a long SMS without its first part
	mid bigint;
BEGIN
	PERFORM 1 FROM inbox_parts
	    WHERE message_id IS NULL AND sender_norm = p_sender
	      AND concat_ref = p_ref AND concat_total = p_total
	    FOR UPDATE;
	SELECT array_agg(q.id ORDER BY q.concat_seq),
	       string_agg(q.text, '' ORDER BY q.concat_seq),
	       count(*), min(q.modem), min(q.sender_kind),
	       bool_or(pigeon_inbox_inert(q.coding)),
	       p_total > 1 AND NOT bool_or(q.concat_seq = 1)
	  INTO ids, joined, nseq, first_modem, kind, inert, headless
	  FROM (SELECT DISTINCT ON (concat_seq) id, concat_seq, text, modem,
	               sender_kind, coding
	          FROM inbox_parts
	         WHERE message_id IS NULL AND sender_norm = p_sender
	           AND concat_ref = p_ref AND concat_total = p_total
	         ORDER BY concat_seq, id) q;
	IF nseq IS NULL OR nseq = 0 OR (nseq < p_total AND NOT p_force) THEN
		RETURN NULL;
	END IF;
	-- The later parts of a long SMS whose first part never came, or came
	-- too early and was applied alone, are kept and not applied: the
	-- command is in part 1, and read alone the tail of "D bob ..." was a
	-- post to every follower.
	INSERT INTO inbox_messages (modem, sender, sender_kind, text, parts,
	    complete, state, result, processed_at)
	    VALUES (first_modem, p_sender, kind, joined, nseq, nseq >= p_total,
	    CASE WHEN inert OR headless THEN 'ignored' ELSE 'new' END,
	    CASE WHEN inert THEN 'binary SMS, not applied'
	         WHEN headless THEN format('parts of a long SMS without its first '
	             '(%s of %s came): not applied', nseq, p_total) END,
	    CASE WHEN inert OR headless THEN now() END)
	    RETURNING id INTO mid;
	-- Duplicated sequence numbers (a reference reused) stay with the group.
	UPDATE inbox_parts SET message_id = mid
	 WHERE message_id IS NULL AND sender_norm = p_sender
	   AND concat_ref = p_ref AND concat_total = p_total
	   AND (id = ANY (ids) OR p_force);
	RETURN mid;
END $$;

CREATE OR REPLACE FUNCTION pigeon_inbox_store(p_parts jsonb)
RETURNS integer LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	r record;
	mid bigint;
	n integer := 0;
	modems text[] := '{}';
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
	FOR r IN
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
			-- window (the NOT EXISTS below); in one batch, the same
			-- key and transaction time.
			SELECT CASE WHEN p ? 'link_key'
			       THEN md5(concat_ws('|', 'link', p->>'link_key', now()::text))
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
			  FROM jsonb_array_elements(p_parts) p,
			       LATERAL (SELECT pigeon_inbox_time(p->>'time') AS at
			                OFFSET 0) t	-- once a part
			 -- A redelivery: the same key within the window, and the
			 -- link has been down (or pigeond restarted) since the
			 -- first was stored, the only way its answer could be
			 -- lost. Without that, it is a new SMS with the same
			 -- text: a second STOP after a START was lost.
			 WHERE NOT (p ? 'link_key' AND EXISTS (
			       SELECT 1 FROM inbox_parts i
			        WHERE i.link_key = p->>'link_key'
			          AND i.received_at > now() - interval '15 minutes'
			          AND EXISTS (SELECT 1 FROM modem_history h
			                       WHERE h.modem = i.modem
			                         AND h.at >= i.received_at
			                         AND h.state <> 'online')))
			ON CONFLICT (dedupe) DO NOTHING
			RETURNING *
		)
		SELECT * FROM ins ORDER BY id
	LOOP
		n := n + 1;
		modems := modems || r.modem;
		IF r.problem IS NOT NULL AND r.problem <> 'binary' THEN
			UPDATE modems
			   SET sms_corrupt = sms_corrupt + (r.coding = 'corrupt')::integer,
			       sms_damaged = sms_damaged + (r.coding <> 'corrupt')::integer
			 WHERE name = r.modem;
			RAISE LOG 'pigeon: modem %: SMS part % stored with a problem: %',
			    r.modem, r.id, r.problem;
		END IF;
		IF coalesce(r.concat_total, 1) <= 1 THEN
			INSERT INTO inbox_messages (modem, sender, sender_kind, text,
			    parts, state, result, processed_at)
			    VALUES (r.modem, r.sender_norm, r.sender_kind, r.text, 1,
			    CASE WHEN pigeon_inbox_inert(r.coding) THEN 'ignored' ELSE 'new' END,
			    CASE WHEN r.coding = 'corrupt' THEN 'undecodable SMS, not applied'
			         WHEN pigeon_inbox_inert(r.coding) THEN 'binary SMS, not applied' END,
			    CASE WHEN pigeon_inbox_inert(r.coding) THEN now() END)
			    RETURNING id INTO mid;
			UPDATE inbox_parts SET message_id = mid WHERE id = r.id;
		ELSE
			PERFORM pigeon_inbox_join(r.sender_norm, r.concat_ref,
			    r.concat_total, false);
		END IF;
	END LOOP;
	-- Each modem's received count, once per modem and batch (a re-read
	-- SMS, absorbed by the dedupe key, is not counted twice).
	PERFORM pigeon_modem_received(m, count(*)::integer)
	   FROM unnest(modems) m GROUP BY m;
	RETURN n;
END $$;

-- The next whole messages to apply, oldest first.
CREATE OR REPLACE FUNCTION pigeon_inbox_fetch(p_limit integer)
RETURNS TABLE (id bigint, text text) LANGUAGE sql STABLE AS $$
	SELECT m.id, m.text FROM inbox_messages m
	 WHERE m.state = 'new' ORDER BY m.id LIMIT p_limit;
$$;

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
		IF pigeon_inbox_join(g.sender_norm, g.concat_ref, g.concat_total, true)
		    IS NOT NULL THEN
			n := n + 1;
		END IF;
	END LOOP;
	RETURN n;
END $$;

-- The outbox: claims, outcomes, leases, expiry, history.
--
-- This file is the one writer of outbox.state: every transition is one
-- of its functions, and the transitions allowed are the rows of
-- outbox_transitions (migration 0008), checked by a trigger.
--
-- pigeond applies every file of db/functions/ at every start, in name
-- order, after the migrations and under the same advisory lock; they hold
-- only CREATE OR REPLACE statements. Every unit of work is one statement
-- and one transaction calling one of these functions.

-- Statistics taken while the outbox held no open row say that its open
-- rows' indexes are empty, whatever they hold since; planned from them,
-- the claim's per-phone check read every open row for each row claimed (a
-- full scan of a partial index believed empty, the inner side of a
-- nested loop). After a fan-out of 20,000 into an outbox analyzed with
-- 20,000 delivered rows, each claim ran over a minute, until autovacuum's
-- next analysis (docs/performance.md, "nineteenth part"). So a claim
-- that finds 200 queued rows or more, over four times what the
-- statistics count in the open rows' index, analyzes the table first
-- (its rows as this transaction sees them: 0.1-0.2 s at 40,000 rows). At
-- most once a minute a session: a table so large that the sample misses
-- the open rows keeps the statistics it had. -1 (never analyzed nor
-- vacuumed): the planner sizes the index by its pages, which is right.
CREATE OR REPLACE FUNCTION pigeon_outbox_restat()
RETURNS boolean LANGUAGE plpgsql SET search_path = public, pg_temp
    SET enable_seqscan = off AS $$
DECLARE
	counted real;
	queued integer;
	last text := current_setting('pigeon_claim.analyzed_at', true);
BEGIN
	SELECT c.reltuples INTO counted FROM pg_class c
	 WHERE c.oid = 'outbox_recipient_open'::regclass;
	IF counted IS NULL OR counted < 0 OR counted >= 250 THEN
		RETURN false;
	END IF;
	SELECT count(*) INTO queued
	  FROM (SELECT 1 FROM outbox o WHERE o.state = 'queued' LIMIT 1000) q;
	IF queued < 200 OR queued <= 4 * counted
	   OR (CASE WHEN last <> '' THEN last::float8 ELSE 0 END)
	      > extract(epoch FROM clock_timestamp()) - 60 THEN
		RETURN false;
	END IF;
	ANALYZE outbox;
	PERFORM set_config('pigeon_claim.analyzed_at',
	    extract(epoch FROM clock_timestamp())::text, false);
	RETURN true;
END $$;

-- Takes up to p_n due rows for this host, leased for p_lease_s seconds.
-- Classes (0 replies, 1 operator sends, 2 fan-out) are served in order,
-- but when p_n >= 4 classes 1 and 2 each have a quarter of the batch
-- reserved while they have due rows, so a stream of replies cannot starve
-- a fan-out either. Each step is its own claim through a materialized CTE
-- (FOR UPDATE SKIP LOCKED; the partial index outbox_ready serves it), and
-- rows already taken are 'sending', so a later step cannot take them again.
-- Messages of one class to one phone leave in the order they were queued:
-- a row waits while an earlier row of its class to the same phone is being
-- sent or still queued (retries included: HELP's two SMS must not arrive
-- second first), unless that one is held for quiet hours and not yet due.
-- So a phone has at most one message of a class in flight, on any link.
-- Classes do not wait for each other: a reply never queues behind a
-- fan-out copy.
-- A row to a phone that said STOP (but the STOP confirmation itself) is
-- cancelled when it comes up, instead of sent: checking the rows claimed
-- rather than the whole queue keeps a claim from a 100,000-row fan-out
-- at a few index probes. So is a copy of a removed post or of a
-- suspended author's, a copy to a phone that is no member's any more,
-- and a row to a suspended account (but its notice): removing a post,
-- erasing a member or suspending
-- cancels what is queued then, but a row being sent at that moment came
-- back to the queue afterwards (throttled, failed for a while, released,
-- its lease or host gone) and went out later all the same.
-- Within a class, higher priority first (issue 16: an API send's
-- priority). A row with via_link waits for that link: p_links names the
-- links that can take a row now, and via_link comes back for the scheduler's choice.
-- So does came_in, the link a reply's command came in on: the scheduler
-- prefers it (a phone that texted the shortcode is answered from it).
-- refused_by: the links that refused the row for a reason of their own
-- (pigeon_outbox_refused); a row waits while every link of p_links did.
-- flash and the validity left (NULL: the network's default) go to the worker.
-- Planned at each call (plan_cache_mode): a plan cached while the outbox
-- was nearly empty (a seq scan for the per-phone check) turned the first
-- claims after a 100,000-row fan-out quadratic, over a minute each. That
-- planning and the statement's triggers cost milliseconds even when a
-- class has nothing due, so a class with no due row (one index probe) is
-- skipped, and so is, in the second pass, one the first pass emptied; and
-- a class whose later classes have nothing due takes, in the first pass,
-- their reserves too (a fan-out's claim is one statement, not two).
-- Sequential scans are off: with statistics in which a class had no row,
-- that probe was planned as a scan of the whole table expecting an early
-- match, and found none (two a claim, 5.7 ms each at 40,000 rows: a claim
-- of a fan-out's copies 70 µs a message instead of 42 with 20,000
-- messages of history in scripts/bench/send-micro, 51 instead of 42
-- without; the scans grow with the table).
-- The claim's id comes back too (the claiming transaction's, in
-- outbox.claim): each outcome carries it (pigeon_outbox_outcomes), so that
-- an outcome applied twice (a batch whose answer was lost, sent again) or
-- late never acts on a later claim of the same row.
DROP FUNCTION IF EXISTS pigeon_outbox_claim(text, integer, integer, text[]);
CREATE OR REPLACE FUNCTION pigeon_outbox_claim(p_host text, p_n integer,
    p_lease_s integer, p_links text[] DEFAULT NULL)
RETURNS TABLE (id bigint, recipient text, text text, class smallint,
    max_parts smallint, more text, failed_modems text[], attempts integer,
    via_link text, flash boolean, validity_s integer, claim bigint,
    came_in text, refused_by text[])
LANGUAGE plpgsql SET plan_cache_mode = force_custom_plan SET search_path = public, pg_temp
    SET enable_seqscan = off AS $$
DECLARE
	taken integer := 0;
	want integer;
	got integer;
	reserve integer := p_n / 4;
	empty boolean[] := ARRAY[false, false, false];	-- by class, 0-2
BEGIN
	PERFORM pigeon_outbox_restat();
	FOR cls IN 0..2 LOOP
		empty[cls + 1] := NOT EXISTS (SELECT 1 FROM outbox o
		    WHERE o.state = 'queued' AND o.class = cls::smallint
		      AND o.next_attempt_at <= now());
	END LOOP;
	FOR pass IN 1..2 LOOP
		FOR cls IN 0..2 LOOP
			IF pass = 1 THEN
				-- What is left but the reserves of the classes after
				-- this one that have due rows: a class alone (a
				-- fan-out) takes the whole batch in one statement.
				want := p_n - taken - reserve * ((cls < 1 AND NOT empty[2])::integer
				                               + (cls < 2 AND NOT empty[3])::integer);
			ELSE
				want := p_n - taken;
			END IF;
			CONTINUE WHEN want <= 0 OR empty[cls + 1];
			RETURN QUERY
			WITH c AS MATERIALIZED (
				SELECT o.id,
				       -- The first reason that holds (coalesce stops
				       -- there); a copy's post and author in one probe.
				       coalesce(
				           -- blanked by an erasure while it was being
				           -- sent (its post or its DM's sender gone)
				           CASE WHEN o.text = '(erased)' AND o.class <> 1
				                THEN 'its sender''s data was erased' END,
				           CASE WHEN NOT o.bypass_optout AND EXISTS (
				                    SELECT 1 FROM optouts p WHERE p.phone = o.recipient)
				                THEN 'recipient said STOP' END,
				           (SELECT CASE WHEN p.deleted_at IS NOT NULL
				                        THEN 'its post was removed'
				                        WHEN w.suspended_at IS NOT NULL
				                        THEN 'its author was suspended' END
				              FROM posts p JOIN accounts w ON w.id = p.account_id
				             WHERE p.id = o.post_id),
				           -- The recipient's account in one probe: a
				           -- copy of a post or a digest (made for a
				           -- member) to a phone no member has any more
				           -- (an erasure that a fan-out chunk raced: its
				           -- copy committed after the erase's delete), or
				           -- a row to a suspended member.
				           (SELECT CASE WHEN a.id IS NULL THEN
				                            CASE WHEN o.post_id IS NOT NULL
				                                   OR o.reply_key = 'digest'
				                                 THEN 'recipient no longer a member' END
				                        WHEN a.suspended_at IS NOT NULL
				                         AND o.reply_key IS DISTINCT FROM 'suspended'
				                        THEN 'account suspended' END
				              FROM (SELECT 1) one
				              LEFT JOIN accounts a ON a.phone = o.recipient)) AS stop
				  FROM outbox o
				 WHERE o.state = 'queued' AND o.class = cls::smallint
				   AND o.next_attempt_at <= now()
				   AND (o.via_link IS NULL OR p_links IS NULL OR o.via_link = ANY (p_links))
				   -- Nor for links that refused it, each on its own
				   -- (pigeon_outbox_refused): one of them alone free,
				   -- it was claimed and released at once, again and
				   -- again.
				   AND (o.refused_by IS NULL OR p_links IS NULL
				        OR NOT (p_links <@ o.refused_by))
				   -- A held update goes when its window is over and the
				   -- recipient is not inside one now: a server clock
				   -- stepped forward past its end into the next night
				   -- holds it again (test_rel_clock, rules).
				   AND (o.held_since IS NULL OR NOT EXISTS (
				       SELECT 1 FROM accounts a WHERE a.phone = o.recipient
				          AND pigeon_quiet_end(a.sleep_from, a.sleep_to) IS NOT NULL))
				   AND NOT EXISTS (
				       SELECT 1 FROM outbox e
				        WHERE e.recipient = o.recipient AND e.id < o.id
				          AND e.class = o.class
				          AND (e.state = 'sending' OR (e.state = 'queued'
				               AND (e.held_since IS NULL
				                    OR e.next_attempt_at <= now()))))
				 ORDER BY o.class, o.priority DESC, o.next_attempt_at, o.id
				 LIMIT want
				 FOR UPDATE OF o SKIP LOCKED
			), stopped AS (
				UPDATE outbox o SET state = 'cancelled', last_error = c.stop
				  FROM c WHERE o.id = c.id AND c.stop IS NOT NULL
			)
			-- A new attempt: no link yet (pigeond picks one from
			-- the rows claimed) and no error; the history's
			-- 'sending' entry, and the entry that ends the
			-- attempt when it does not name a link of its own (a
			-- lease run out), showed the last attempt's.
			UPDATE outbox o SET state = 'sending', host = p_host,
			       lease_until = now() + make_interval(secs => p_lease_s),
			       attempts = o.attempts + 1,
			       modem = NULL, last_error = NULL,
			       claim = txid_current()
			  FROM c WHERE o.id = c.id AND c.stop IS NULL
			RETURNING o.id, o.recipient, o.text, o.class, o.max_parts,
			          o.more, o.failed_modems, o.attempts, o.via_link,
			          o.flash,
			          -- No valid_until (a fan-out copy, a reply): NULL,
			          -- the network's default. greatest() skips a NULL,
			          -- and gave 60 s: every such SMS sent by a modem
			          -- asked its SMSC to give up after 5 minutes.
			          CASE WHEN o.valid_until IS NOT NULL THEN
			              greatest(60, extract(epoch FROM
			                  o.valid_until - now())::integer) END,
			          o.claim,
			          -- A reply to the phone that texted: the link
			          -- its command came in on (a PK probe, replies
			          -- only).
			          CASE WHEN o.reply_to IS NOT NULL THEN (
			              SELECT i.modem FROM inbox_messages i
			               WHERE i.id = o.reply_to
			                 AND i.sender = o.recipient) END,
			          -- The links that refused it: the scheduler
			          -- never hands it to them again.
			          coalesce(o.refused_by, '{}');
			GET DIAGNOSTICS got = ROW_COUNT;
			taken := taken + got;
			-- Fewer than asked: nothing more of this class can go now.
			empty[cls + 1] := got < want;
		END LOOP;
	END LOOP;
END $$;

-- Every part went out. With p_report, each part is remembered with the
-- reference the network gave it, for the status reports to come.
CREATE OR REPLACE FUNCTION pigeon_outbox_sent(p_id bigint, p_modem text,
    p_parts integer, p_refs integer[], p_report boolean)
RETURNS void LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	r text;
BEGIN
	UPDATE outbox SET state = 'sent', modem = p_modem, parts = p_parts,
	       refs = p_refs, sent_at = now(), lease_until = NULL, last_error = NULL
	 WHERE id = p_id AND state = 'sending'
	RETURNING recipient INTO r;
	IF NOT FOUND THEN
		RETURN;
	END IF;
	UPDATE modems SET sms_sent = sms_sent + 1, updated_at = now()
	 WHERE name = p_modem;
	IF p_report THEN
		INSERT INTO outbox_parts (outbox_id, seq, modem, ref, recipient)
		SELECT p_id, s.i, p_modem, p_refs[s.i], r
		  FROM generate_subscripts(p_refs, 1) AS s(i)
		 WHERE p_refs[s.i] >= 0
		ON CONFLICT (outbox_id, seq) DO UPDATE
		   SET modem = EXCLUDED.modem, ref = EXCLUDED.ref,
		       sent_at = now(), status = NULL, reported_at = NULL;
	END IF;
END $$;

-- The canonical spelling of an SMSC's message id: what receipts' keys
-- meet. None for an empty one (an SMSC that accepted a part without an
-- id): it was '0', and every such part, whoever it went to, took the
-- receipts of an id 0. Not STRICT (NULL gives NULL all the same), so
-- that a statement inlines it: a call each part (fmgr_sql, its body
-- planned again each statement) cost a fan-out's outcomes 3.5 µs a part.
CREATE OR REPLACE FUNCTION pigeon_message_id(p text)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE WHEN p <> '' THEN coalesce(nullif(ltrim(lower(p), '0'), ''), '0') END;
$$;

-- The sent ones of a batch of outcomes (pigeon_outbox_outcomes): their
-- rows, their links' counts and their parts, in one statement; returns
-- how many and those whose receipts may have come first. Nested loops
-- are off: planned with statistics from before a fan-out (no row
-- 'sending'), the update ran as a loop over the rows being sent, reading
-- the whole batch for each (1,000 outcomes: 258 ms, 240 of them in that
-- loop; 40 ms now). The parts' LATERAL is a loop all the same.
CREATE OR REPLACE FUNCTION pigeon_outbox_sent_batch(p jsonb)
RETURNS TABLE (n integer, receipted bigint[])
LANGUAGE plpgsql SET search_path = public, pg_temp
    SET enable_seqscan = off SET enable_nestloop = off AS $$
BEGIN
	RETURN QUERY
	WITH s AS (
		SELECT (e->>'id')::bigint AS id, e->>'link' AS link,
		       (e->>'parts')::integer AS parts,
		       (e->>'segments')::smallint AS segments,
		       CASE WHEN jsonb_typeof(e->'ids') = 'array' THEN e->'ids' END AS ids,
		       CASE WHEN jsonb_typeof(e->'refs') = 'array' THEN e->'refs' END AS refs,
		       coalesce((e->>'report')::boolean, false) AS report,
		       (e->>'claim')::bigint AS claim
		  FROM jsonb_array_elements(p) e
		 WHERE e->>'outcome' = 'sent'
	), u AS (
		UPDATE outbox o SET state = 'sent', modem = s.link, parts = s.parts,
		       segments = s.segments,
		       refs = CASE WHEN s.refs IS NOT NULL THEN ARRAY(
		           SELECT r::integer FROM jsonb_array_elements_text(s.refs) r) END,
		       sent_at = now(), lease_until = NULL, last_error = NULL
		  FROM s
		 WHERE o.id = s.id AND o.state = 'sending'
		   AND (s.claim IS NULL OR o.claim = s.claim)
		RETURNING o.id, o.recipient, s.link, s.ids, s.refs, s.report
	), counted AS (
		UPDATE modems m SET sms_sent = m.sms_sent + c.n, updated_at = now()
		  FROM (SELECT u.link, count(*) AS n FROM u GROUP BY u.link) c
		 WHERE m.name = c.link
	), parts AS (
		INSERT INTO outbox_parts (outbox_id, seq, modem, ref, message_id, recipient)
		SELECT u.id, x.ord, u.link,
		       CASE WHEN u.ids IS NULL THEN x.v::integer END,
		       CASE WHEN u.ids IS NOT NULL THEN pigeon_message_id(x.v) END,
		       u.recipient
		  FROM u, LATERAL jsonb_array_elements_text(coalesce(u.ids, u.refs))
		          WITH ORDINALITY AS x(v, ord)
		 WHERE u.report AND (u.ids IS NOT NULL OR x.v::integer >= 0)
		ON CONFLICT (outbox_id, seq) DO UPDATE
		   SET modem = EXCLUDED.modem, ref = EXCLUDED.ref,
		       message_id = EXCLUDED.message_id, sent_at = now(),
		       status = NULL, reported_at = NULL
	)
	SELECT count(*)::integer, array_agg(u.id) FILTER (WHERE u.report)
	  FROM u;
END $$;

-- A batch of send outcomes, in one statement and one commit (a bind takes
-- thousands a second; a commit each was the bottleneck). Each element is
-- {"id", "link", "outcome": "sent", "parts", "refs" (a modem's references)
-- or "ids" (an SMSC's message ids), "report", optional "segments" (long =
-- payload: the SMS parts the carrier bills)}, {"id", "link", "outcome":
-- "failed", "error", "temporary", "throttled", "maybe_sent", "not_sent",
-- "parts_sent" (the parts that went out before the error)}
-- (not_sent: no part left, a bind's session ended first: the row goes
-- back without an attempt, pigeon_outbox_unsent) or {"id",
-- "outcome": "released"} (claimed, but no link could take it), each with
-- "claim", the claim's id (outbox.claim): an outcome whose claim is no
-- longer the row's (applied already, or the lease ran out and the row
-- was claimed again) changes nothing. Sent ones are recorded together; the
-- others one by one, in order. Returns how many rows changed state
-- (released ones aside).
--
-- It touches rows by key only. A fan-out fills outbox and outbox_parts
-- faster than autovacuum's statistics follow (a fresh database's first one
-- sees them as empty), and with those statistics a batch's join was
-- planned as a scan of the whole table, each batch: sequential scans are
-- off inside (and in pigeon_report_receipts, for the same reason).
CREATE OR REPLACE FUNCTION pigeon_outbox_outcomes(p jsonb, p_max_attempts integer,
    p_retry_s integer, p_validity_s integer)
RETURNS integer LANGUAGE plpgsql SET search_path = public, pg_temp
    SET enable_seqscan = off AS $$
DECLARE
	o jsonb;
	n integer := 0;
	k integer;
	receipted bigint[];
	late record;
	sib_from text[];	-- the batch's links and their accounts' other
	sib_to text[];		-- binds, as pairs (pigeon_account_links)
	went text;		-- where a failed one went (pigeon_outbox_failed)
BEGIN
	-- The links' rows first, with those of the other binds of their
	-- accounts, in name order, as pigeon_report_receipts takes them: a
	-- receipt racing its outcome is matched by one of them, also one
	-- that came in on another bind of the account (whose count of
	-- unmatched receipts is then taken back below: locked in order
	-- here, never while holding another).
	SELECT array_agg(s.link), array_agg(s.sibling) INTO sib_from, sib_to
	  FROM pigeon_account_links(ARRAY(SELECT DISTINCT e->>'link'
	                                    FROM jsonb_array_elements(p) e)) s;
	PERFORM 1 FROM modems WHERE name = ANY (sib_to)
	  ORDER BY name FOR UPDATE;
	SELECT b.n, b.receipted INTO n, receipted FROM pigeon_outbox_sent_batch(p) b;
	-- Receipts that came before their submit's outcome was committed (an
	-- SMSC may answer and report within milliseconds) match now, each to
	-- one part, in the order they came: the part to the receipt's phone
	-- first, then the one its id as written names (its other keys read
	-- the id in the other base, and may name another of this batch's,
	-- but never a part to another phone: pigeon_part_by_id). A receipt
	-- may have come in on any bind of the part's SMSC account.
	IF receipted IS NOT NULL THEN
		FOR late IN SELECT DISTINCT ON (sr.id) sr.id, op, sr.status, sr.modem
		           FROM outbox_parts op
		           JOIN status_reports sr ON sr.outbox_id IS NULL
		                AND sr.keys @> ARRAY[op.message_id]
		                AND sr.modem = ANY (pigeon_links_of(op.modem, sib_from, sib_to))
		                AND (op.message_id = sr.keys[1]
		                     OR pigeon_receipt_phone_ok(sr.recipient, op.recipient))
		                -- Come while this send was being made, as the
		                -- modems' below: an old receipt left unmatched
		                -- (kept status_reports_days) met a new part whose
		                -- id an SMSC restarted gave again.
		                AND sr.received_at > now() - interval '1 hour'
		                AND sr.received_at >= coalesce((SELECT h.at
		                        FROM outbox_history h
		                       WHERE h.outbox_id = op.outbox_id
		                         AND h.state = 'sending'
		                       ORDER BY h.id DESC LIMIT 1), '-infinity')
		          WHERE op.outbox_id = ANY (receipted)
		            AND op.message_id IS NOT NULL
		          ORDER BY sr.id, coalesce(op.recipient = sr.recipient, false) DESC,
		                   coalesce(op.message_id = sr.keys[1], false) DESC,
		                   op.outbox_id LOOP
			UPDATE modems SET reports_unmatched = greatest(reports_unmatched - 1, 0)
			 WHERE name = late.modem;
			PERFORM pigeon_report_apply(late.id, late.op, late.status);
		END LOOP;
		-- A modem's status reports the same way, by modem, reference and
		-- phone: a report is stored at once on the main connection, while
		-- its send's outcome may wait behind another batch (the earlier
		-- parts of a long message are reported before it is "sent"), and
		-- the message stayed sent for good. Only a report that came after
		-- this send was claimed (its 'sending' in the history): references
		-- wrap at 256 a modem, and an older one unmatched (a part sent
		-- again, a send older than report_window) is another send's. The
		-- newest, one part a report. Only for a batch with a modem's
		-- sends: a bind's batches have none.
		FOR late IN SELECT DISTINCT ON (c.sr_id) c.sr_id AS id, c.op, c.status,
		                   c.modem
		           FROM (SELECT DISTINCT ON (op.outbox_id, op.seq) sr.id AS sr_id,
		                        op, sr.status, sr.modem, sr.received_at
		                   FROM outbox_parts op
		                   JOIN status_reports sr ON sr.outbox_id IS NULL
		                        AND sr.modem = op.modem AND sr.ref = op.ref
		                        AND sr.recipient = op.recipient
		                        AND sr.received_at > now() - interval '1 hour'
		                        AND sr.received_at >= (SELECT h.at FROM outbox_history h
		                            WHERE h.outbox_id = op.outbox_id
		                              AND h.state = 'sending'
		                            ORDER BY h.id DESC LIMIT 1)
		                  WHERE op.outbox_id = ANY (receipted)
		                    AND op.message_id IS NULL AND op.ref IS NOT NULL
		                    AND EXISTS (SELECT 1 FROM jsonb_array_elements(p) e
		                                 WHERE jsonb_typeof(e->'refs') = 'array')
		                  ORDER BY op.outbox_id, op.seq, sr.received_at DESC,
		                           sr.id DESC) c
		          ORDER BY c.sr_id, c.received_at DESC LOOP
			UPDATE modems SET reports_unmatched = greatest(reports_unmatched - 1, 0)
			 WHERE name = late.modem;
			PERFORM pigeon_report_apply(late.id, late.op, late.status);
		END LOOP;
	END IF;
	FOR o IN SELECT e FROM jsonb_array_elements(p) e
	          WHERE e->>'outcome' IN ('failed', 'released') LOOP
		-- The claim it is the outcome of, still in force: locked, so
		-- that no claim takes the row before the function below has.
		IF o ? 'claim' THEN
			PERFORM 1 FROM outbox
			  WHERE outbox.id = (o->>'id')::bigint AND state = 'sending'
			    AND outbox.claim = (o->>'claim')::bigint
			    FOR UPDATE;
			CONTINUE WHEN NOT FOUND;
		END IF;
		IF o->>'outcome' = 'released' THEN
			PERFORM pigeon_outbox_release((o->>'id')::bigint);
			CONTINUE;
		END IF;
		-- Parts that went out before the error (part 1 of 3 sent, part
		-- 2 refused) are billed all the same: counted on the link's day
		-- and hour (the budget, the rate limits' restart), once: with its
		-- claim in force or its row still being sent.
		IF coalesce((o->>'parts_sent')::integer, 0) > 0 AND (o ? 'claim' OR
		    EXISTS (SELECT 1 FROM outbox WHERE outbox.id = (o->>'id')::bigint
		             AND state = 'sending')) THEN
			PERFORM pigeon_link_parts_add(o->>'link', (o->>'parts_sent')::bigint);
			PERFORM pigeon_link_hour_add(o->>'link', (o->>'parts_sent')::bigint);
		END IF;
		IF coalesce((o->>'not_sent')::boolean, false) THEN
			PERFORM pigeon_outbox_unsent((o->>'id')::bigint, o->>'link',
			    o->>'error');
			CONTINUE;
		END IF;
		IF coalesce((o->>'maybe_sent')::boolean, false) THEN
			PERFORM pigeon_count('maybe_duplicated', 1);
		END IF;
		went := NULL;
		IF coalesce((o->>'throttled')::boolean, false) THEN
			IF pigeon_outbox_throttled((o->>'id')::bigint, o->>'link',
			    o->>'error') THEN
				n := n + 1;
				went := 'queued';
			END IF;
		ELSIF coalesce((o->>'link_refused')::boolean, false) THEN
			went := pigeon_outbox_refused((o->>'id')::bigint, o->>'link',
			    o->>'error', p_max_attempts, p_retry_s, p_validity_s);
			IF went IS NOT NULL THEN
				n := n + 1;
			END IF;
		ELSE
			went := pigeon_outbox_failed((o->>'id')::bigint, o->>'link',
			    o->>'error', coalesce((o->>'temporary')::boolean, true),
			    p_max_attempts, p_retry_s, p_validity_s);
			IF went IS NOT NULL THEN
				n := n + 1;
			END IF;
		END IF;
		-- Parts that reached the phone, the message back in the queue:
		-- sent again whole, they reach it twice (a long message whose
		-- part 2 was refused for a while after part 1 went out).
		IF went = 'queued' AND coalesce((o->>'parts_sent')::integer, 0) > 0
		   AND NOT coalesce((o->>'maybe_sent')::boolean, false) THEN
			PERFORM pigeon_count('maybe_duplicated', 1);
		END IF;
	END LOOP;
	RETURN n;
END $$;

-- A send that was not the message's failure goes back to the queue after
-- p_delay, the attempt not counted and the link not held against it;
-- p_why says why. Whether it was still being sent.
CREATE OR REPLACE FUNCTION pigeon_outbox_give_back(p_id bigint, p_why text,
    p_delay interval)
RETURNS boolean LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
	UPDATE outbox SET state = 'queued', lease_until = NULL,
	       attempts = greatest(attempts - 1, 0), last_error = p_why,
	       next_attempt_at = now() + p_delay
	 WHERE id = p_id AND state = 'sending';
	RETURN FOUND;
END $$;

-- The link slows down (ESME_RTHROTTLED, ESME_RMSGQFUL): back in the queue
-- for a second.
CREATE OR REPLACE FUNCTION pigeon_outbox_throttled(p_id bigint, p_link text,
    p_error text)
RETURNS boolean LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
	IF NOT pigeon_outbox_give_back(p_id, 'throttled by ' || p_link || ': ' ||
	    coalesce(p_error, ''), interval '1 second') THEN
		RETURN false;
	END IF;
	PERFORM pigeon_count('link_throttled', 1);
	RETURN true;
END $$;

-- Handed to a link that never submitted it (a bind's session ended with
-- it still queued in the worker): back in the queue at once. Charged as
-- a failure, a single TCP drop with 40 sends handed over cost each an
-- attempt and a backoff, and repeated drops failed messages the SMSC
-- never saw.
CREATE OR REPLACE FUNCTION pigeon_outbox_unsent(p_id bigint, p_link text,
    p_error text)
RETURNS boolean LANGUAGE sql AS $$
	SELECT pigeon_outbox_give_back(p_id, 'not sent by ' || p_link || ': ' ||
	    coalesce(p_error, ''), interval '0');
$$;

-- A send failed. Temporary: back in the queue after p_retry_s x 2^(n-1)
-- seconds (at most an hour), remembering the modem so that the retry
-- prefers another; unless that was the last attempt (failed) or the retry
-- would come after the validity period (expired). Permanent: failed now.
-- Returns the new state, or NULL when the row was not being sent.
DROP FUNCTION IF EXISTS pigeon_outbox_failed(bigint, text, text, boolean,
    integer, integer, integer);
CREATE OR REPLACE FUNCTION pigeon_outbox_failed(p_id bigint, p_modem text,
    p_error text, p_temporary boolean, p_max_attempts integer,
    p_retry_s integer, p_validity_s integer,
    p_wait double precision DEFAULT NULL)	-- NULL: the backoff
RETURNS text LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	o outbox;
	wait double precision;
BEGIN
	SELECT * INTO o FROM outbox WHERE id = p_id AND state = 'sending' FOR UPDATE;
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	UPDATE modems SET sms_failed = sms_failed + 1, last_error = p_error,
	       updated_at = now() WHERE name = p_modem;
	IF NOT p_temporary THEN
		UPDATE outbox SET state = 'failed', modem = p_modem, lease_until = NULL,
		       last_error = 'permanent: ' || p_error
		 WHERE id = p_id;
		RETURN 'failed';
	END IF;
	IF o.attempts >= p_max_attempts THEN
		UPDATE outbox SET state = 'failed', modem = p_modem, lease_until = NULL,
		       last_error = format('gave up after %s attempts: %s', o.attempts, p_error)
		 WHERE id = p_id;
		RETURN 'failed';
	END IF;
	wait := coalesce(p_wait,
	    least(3600, p_retry_s * power(2, greatest(o.attempts - 1, 0))));
	IF coalesce(o.valid_until, o.created_at + make_interval(secs => p_validity_s))
	    < now() + make_interval(secs => wait) THEN
		UPDATE outbox SET state = 'expired', modem = p_modem, lease_until = NULL,
		       last_error = format('validity of %s s passed; last error: %s',
		           coalesce(o.validity_s, p_validity_s), p_error)
		 WHERE id = p_id;
		RETURN 'expired';
	END IF;
	UPDATE outbox SET state = 'queued', modem = p_modem, last_error = p_error,
	       lease_until = NULL,
	       failed_modems = CASE WHEN p_modem = ANY (o.failed_modems)
	           THEN o.failed_modems ELSE o.failed_modems || p_modem END,
	       next_attempt_at = now() + make_interval(secs => wait)
	 WHERE id = p_id;
	RETURN 'queued';
END $$;

DROP FUNCTION IF EXISTS pigeon_outbox_refused_by(bigint);

-- Refused by one link for a reason of that link or its carrier (an SMPP
-- bind's source address or TON/NPI, an "invalid destination" from a
-- carrier that does not reach a ported or off-net number: docs/carrier.md):
-- permanent on p_link only. The link joins failed_modems and the links
-- that refused it (outbox.refused_by: the scheduler never hands it to
-- them again), and the message goes back to the queue for another link
-- while one is left: a row of `modems` (any host's) that is not disabled
-- or drained, that has not refused it, and that is its via_link when it
-- has one (a link it failed on for a while may still send it). Back at
-- once when one of them is online, else after the backoff of a temporary
-- failure; the attempt counts, and max_attempts and the validity bound it
-- as they bound temporary failures. None left: failed, permanent, with
-- the SMSC's reason. Before, the first bind to refuse failed the message
-- for good, with the other links idle. Returns the new state, or NULL
-- when the row was not being sent.
CREATE OR REPLACE FUNCTION pigeon_outbox_refused(p_id bigint, p_link text,
    p_error text, p_max_attempts integer, p_retry_s integer,
    p_validity_s integer)
RETURNS text LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	o outbox;
	refused text[];
	can_now boolean;
BEGIN
	SELECT * INTO o FROM outbox WHERE id = p_id AND state = 'sending' FOR UPDATE;
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	refused := CASE WHEN p_link = ANY (o.refused_by) THEN o.refused_by
	                ELSE coalesce(o.refused_by, '{}') || p_link END;
	UPDATE outbox SET refused_by = refused,
	       failed_modems = CASE WHEN p_link = ANY (o.failed_modems)
	           THEN o.failed_modems ELSE o.failed_modems || p_link END
	 WHERE id = p_id;
	-- NULL: no link left; else whether one of them is online now.
	SELECT bool_or(m.state = 'online') INTO can_now FROM modems m
	 WHERE m.state NOT IN ('disabled', 'draining') AND m.name <> ALL (refused)
	   AND (o.via_link IS NULL OR m.name = o.via_link);
	-- The rest is a failure's (the link's count, attempts, validity):
	-- permanent with none left, else temporary, at once when a link left
	-- is online.
	IF can_now IS NULL THEN
		RETURN pigeon_outbox_failed(p_id, p_link, p_error || CASE
		    WHEN cardinality(refused) > 1
		    THEN format(' (refused by every link left: %s)',
		                array_to_string(refused, ', '))
		    ELSE '' END, false, p_max_attempts, p_retry_s, p_validity_s);
	END IF;
	RETURN pigeon_outbox_failed(p_id, p_link,
	    'refused by ' || p_link || ': ' || p_error, true, p_max_attempts,
	    p_retry_s, p_validity_s, CASE WHEN can_now THEN 0 END);
END $$;

-- Queued rows past their validity will not be sent: an API send's own
-- (valid_until; its reason says its validity_s), others [pigeon] validity
-- from when they were made.
CREATE OR REPLACE FUNCTION pigeon_outbox_expire(p_validity_s integer)
RETURNS integer LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	n integer;
BEGIN
	UPDATE outbox SET state = 'expired', lease_until = NULL,
	       last_error = format('not sent within its validity of %s s%s',
	           coalesce(validity_s, p_validity_s),
	           coalesce('; last error: ' || last_error, ''))
	 WHERE state = 'queued'
	   AND CASE WHEN valid_until IS NULL
	            THEN created_at < now() - make_interval(secs => p_validity_s)
	            ELSE valid_until < now() END;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END $$;

-- A claimed row no link could take after all: back in the queue, the
-- attempt not counted.
CREATE OR REPLACE FUNCTION pigeon_outbox_release(p_id bigint)
RETURNS void LANGUAGE sql AS $$
	UPDATE outbox SET state = 'queued', lease_until = NULL, attempts = attempts - 1
	 WHERE id = p_id AND state = 'sending';
$$;

-- What this host was sending when it stopped goes back at once (its
-- leases would otherwise hold it until they expire).
CREATE OR REPLACE FUNCTION pigeon_outbox_reclaim_host(p_host text)
RETURNS integer LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	n integer;
BEGIN
	UPDATE outbox SET state = 'queued', lease_until = NULL,
	       last_error = 'pigeond restarted during the send'
	 WHERE state = 'sending' AND host = p_host;
	GET DIAGNOSTICS n = ROW_COUNT;
	-- Handed to a link, maybe gone out: sent again, a possible duplicate.
	IF n > 0 THEN
		PERFORM pigeon_count('maybe_duplicated', n);
	END IF;
	RETURN n;
END $$;

-- A deleted post's copies not yet handed to a link go no further, and
-- the rest of its fan-out is not made. The fan-out's row goes first: that
-- waits for a chunk being made (it holds the row), whose copies the
-- UPDATE then sees and cancels too.
CREATE OR REPLACE FUNCTION pigeon_outbox_cancel_post(p_post bigint, p_why text)
RETURNS integer LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	ids bigint[];
BEGIN
	DELETE FROM fanouts WHERE post_id = p_post;
	WITH c AS (
		UPDATE outbox SET state = 'cancelled', last_error = p_why
		 WHERE post_id = p_post AND state = 'queued'
		RETURNING id
	)
	SELECT array_agg(id) INTO ids FROM c;
	PERFORM pigeon_track_give_back(ids);	-- 36_track.sql
	RETURN coalesce(cardinality(ids), 0);
END $$;

-- DELETE /api/messages/ID: a message not yet handed to a link is
-- cancelled. Returns its state before the call ('queued': cancelled now;
-- any other kept it), NULL when there is no such message, or none the
-- caller may cancel: with p_token (a send token's name; NULL for admin),
-- only what that token sent through the API (outbox.sent_by), never a
-- reply, a fan-out copy or another client's send.
DROP FUNCTION IF EXISTS pigeon_outbox_cancel_message(bigint);
CREATE OR REPLACE FUNCTION pigeon_outbox_cancel_message(p_id bigint,
    p_token text)
RETURNS text LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	st text;
BEGIN
	SELECT state INTO st FROM outbox
	 WHERE id = p_id AND (p_token IS NULL OR sent_by = p_token) FOR UPDATE;
	IF st = 'queued' THEN
		UPDATE outbox SET state = 'cancelled', last_error = 'cancelled through the API'
		 WHERE id = p_id;
	END IF;
	RETURN st;
END $$;

-- The same, called by a pigeond of before migration 0026 on the same
-- database during a rolling upgrade (p_any: an admin token). Its send
-- tokens have no name to give: they cancel only the API's sends that
-- record none (queued by such a pigeond), never another token's.
CREATE OR REPLACE FUNCTION pigeon_outbox_cancel_message(p_id bigint,
    p_any boolean)
RETURNS text LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
	IF p_any THEN
		RETURN pigeon_outbox_cancel_message(p_id, NULL::text);
	END IF;
	IF NOT EXISTS (SELECT 1 FROM outbox WHERE id = p_id AND class = 1
	               AND sent_by IS NULL) THEN
		RETURN NULL;
	END IF;
	RETURN pigeon_outbox_cancel_message(p_id, NULL::text);
END $$;

-- Queued rows dropped before any attempt (the recipient's daily ceiling):
-- returns the recipient of each row cancelled.
CREATE OR REPLACE FUNCTION pigeon_outbox_cancel(p_ids bigint[], p_why text)
RETURNS SETOF text LANGUAGE sql AS $$
	UPDATE outbox SET state = 'cancelled', last_error = p_why
	 WHERE id = ANY (p_ids) AND state = 'queued'
	RETURNING recipient;
$$;

-- Updates held for quiet hours longer than p_age_s seconds are dropped.
CREATE OR REPLACE FUNCTION pigeon_outbox_expire_held(p_age_s integer)
RETURNS integer LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	n integer;
BEGIN
	UPDATE outbox SET state = 'expired',
	       last_error = 'held for quiet hours longer than ' || p_age_s || ' s'
	 WHERE state = 'queued' AND held_since IS NOT NULL
	   AND created_at < now() - make_interval(secs => p_age_s);
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END $$;

-- A delivery report settled a message: delivered (from sent) or
-- undelivered (from sent or delivered). Returns whether it changed.
CREATE OR REPLACE FUNCTION pigeon_outbox_reported(p_id bigint,
    p_delivered boolean, p_error text)
RETURNS boolean LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
	IF p_delivered THEN
		UPDATE outbox SET state = 'delivered', delivered_at = now()
		 WHERE id = p_id AND state = 'sent';
	ELSE
		UPDATE outbox SET state = 'undelivered', last_error = p_error
		 WHERE id = p_id AND state IN ('sent', 'delivered');
	END IF;
	RETURN FOUND;
END $$;

-- pigeon_outbox_reported(id, true) for many messages at once (a batch of
-- SMPP receipts): one statement.
CREATE OR REPLACE FUNCTION pigeon_outbox_delivered(p_ids bigint[])
RETURNS integer LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	n integer;
BEGIN
	UPDATE outbox SET state = 'delivered', delivered_at = now()
	 WHERE id = ANY (p_ids) AND state = 'sent';
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END $$;

-- The leases of sends this host's live workers still hold (linkset.c),
-- each of its claim: renewed to p_lease_s from now. A row whose outcome
-- is in, or that another claim took, is left alone. Returns how many.
CREATE OR REPLACE FUNCTION pigeon_outbox_renew(p_host text, p_ids bigint[],
    p_claims bigint[], p_lease_s integer)
RETURNS integer LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	n integer;
BEGIN
	UPDATE outbox o SET lease_until = now() + make_interval(secs => p_lease_s)
	  FROM unnest(p_ids, p_claims) AS u(id, claim)
	 WHERE o.id = u.id AND o.claim = u.claim AND o.state = 'sending'
	   AND o.host = p_host;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END $$;

CREATE OR REPLACE FUNCTION pigeon_outbox_reclaim()
RETURNS integer LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	n integer;
BEGIN
	UPDATE outbox SET state = 'queued', lease_until = NULL,
	       last_error = 'lease of ' || coalesce(host, '?') || ' expired'
	 WHERE state = 'sending' AND lease_until < now();
	GET DIAGNOSTICS n = ROW_COUNT;
	IF n > 0 THEN
		PERFORM pigeon_count('maybe_duplicated', n);
		PERFORM pg_notify('pigeon_outbox', '');
	END IF;
	RETURN n;
END $$;

-- Every change of state, once per statement (a batch of SMPP outcomes
-- moves thousands of rows a second; a trigger call per row was a large
-- share of it): a change that outbox_transitions does not list is refused
-- (the statement fails), the others go to outbox_history.
CREATE OR REPLACE FUNCTION pigeon_outbox_states_changed()
RETURNS trigger LANGUAGE plpgsql SET search_path = public, pg_temp
    SET enable_nestloop = off AS $$
DECLARE
	bad record;
BEGIN
	SELECT o.id, o.state AS from_state, n.state AS to_state INTO bad
	  FROM old_rows o JOIN new_rows n ON n.id = o.id
	 WHERE o.state IS DISTINCT FROM n.state
	   AND NOT EXISTS (SELECT 1 FROM outbox_transitions t
	                    WHERE t.from_state = o.state AND t.to_state = n.state)
	 LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'outbox %: % -> % is not an allowed transition',
		    bad.id, bad.from_state, bad.to_state
		    USING HINT = 'see the table outbox_transitions';
	END IF;
	INSERT INTO outbox_history (outbox_id, state, modem, detail)
	SELECT n.id, n.state, n.modem, n.last_error
	  FROM old_rows o JOIN new_rows n ON n.id = o.id
	 WHERE o.state IS DISTINCT FROM n.state
	 ORDER BY n.id;
	RETURN NULL;
END $$;

-- Replaces the row triggers of before (a check before and a record after
-- each row): the one that recorded is dropped with its function, the
-- checker's function once its trigger is replaced. Idempotent, as the
-- rest of this file.
DROP TRIGGER IF EXISTS outbox_state_history ON outbox;
DROP FUNCTION IF EXISTS pigeon_outbox_record_state();
CREATE OR REPLACE TRIGGER outbox_state_check
	AFTER UPDATE ON outbox
	REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION pigeon_outbox_states_changed();
DROP FUNCTION IF EXISTS pigeon_outbox_check_transition();

-- A deleted message takes its history and its parts with it, once per
-- statement (the tables have no foreign key to outbox: migration 0020).
CREATE OR REPLACE FUNCTION pigeon_outbox_children_delete()
RETURNS trigger LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
	DELETE FROM outbox_history WHERE outbox_id IN (SELECT id FROM old_rows);
	DELETE FROM outbox_parts WHERE outbox_id IN (SELECT id FROM old_rows);
	RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER outbox_children_delete
	AFTER DELETE ON outbox
	REFERENCING OLD TABLE AS old_rows
	FOR EACH STATEMENT EXECUTE FUNCTION pigeon_outbox_children_delete();

-- Rows queued by a bare INSERT (an operator's script, another program)
-- wake the scheduler at once rather than at its next tick: one NOTIFY per
-- statement, and PostgreSQL folds the same NOTIFY within a transaction into
-- one. pigeon_post, pigeon_send and the replies rely on it too.
CREATE OR REPLACE FUNCTION pigeon_outbox_notify()
RETURNS trigger LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
	PERFORM pg_notify('pigeon_outbox', '');
	RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER outbox_insert_notify
	AFTER INSERT ON outbox
	FOR EACH STATEMENT EXECUTE FUNCTION pigeon_outbox_notify();

-- Delivery reports: a status-report SMS read from a modem, matched to the
-- sent part by modem, message reference, recipient and a time window.
--
-- pigeond applies every file of db/functions/ at every start, in name
-- order; they hold only CREATE OR REPLACE statements.

-- Stores one report (once: p_dedupe) and applies it. TP-Status 0-31: the
-- part was delivered (the message is when all its parts are); 32-63: the
-- SMSC still tries, nothing changes; 64 and up: it gave up, the message is
-- undelivered. Returns 'delivered', 'undelivered', 'pending', 'unmatched'
-- or 'duplicate'. An unmatched report is kept and counted on its modem.
CREATE OR REPLACE FUNCTION pigeon_report_store(p_modem text, p_recipient text,
    p_ref integer, p_status integer, p_smsc_time timestamptz,
    p_discharge timestamptz, p_dedupe text, p_window_s integer)
RETURNS text LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	rid bigint;
	p outbox_parts;
	n integer;
BEGIN
	INSERT INTO status_reports (dedupe, modem, recipient, ref, status,
	    smsc_time, discharge_time)
	VALUES (p_dedupe, p_modem, p_recipient, p_ref, p_status, p_smsc_time,
	    p_discharge)
	ON CONFLICT (dedupe) DO NOTHING
	RETURNING id INTO rid;
	IF rid IS NULL THEN
		RETURN 'duplicate';
	END IF;
	UPDATE modems SET reports_in = reports_in + 1, updated_at = now()
	 WHERE name = p_modem;
	SELECT * INTO p FROM outbox_parts op
	 WHERE op.modem = p_modem AND op.ref = p_ref AND op.recipient = p_recipient
	   AND op.sent_at > now() - make_interval(secs => p_window_s)
	 ORDER BY op.sent_at DESC, op.outbox_id DESC
	 LIMIT 1
	 FOR UPDATE;
	IF NOT FOUND THEN
		UPDATE modems SET reports_unmatched = reports_unmatched + 1
		 WHERE name = p_modem;
		RETURN 'unmatched';
	END IF;
	RETURN pigeon_report_apply(rid, p, p_status);
END $$;

-- Whether a report of status p_new would undo the part's final one
-- (p_old: delivered, below 32, or not delivered, 64 and over): an SMSC's
-- intermediate notification (ENROUTE, ACCEPTD: 32 to 63) that comes after
-- the final receipt (redelivered after a session drop, or from another
-- session) put the part back to pending, and a message of several parts
-- stayed sent for ever. A final report still replaces a final one.
CREATE OR REPLACE FUNCTION pigeon_report_undoes(p_old integer, p_new integer)
RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
	SELECT coalesce(p_new BETWEEN 32 AND 63 AND (p_old < 32 OR p_old >= 64), false);
$$;

-- What a message's history and last_error say of a part reported not
-- delivered: the TP-Status, and for an SMPP receipt what the SMSC wrote
-- (its stat: and err:), which the TP-Status only approaches ("part 1:
-- not delivered: EXPIRED, err 001 (status 70)"). A modem's report has
-- no stat.
CREATE OR REPLACE FUNCTION pigeon_report_detail(p_seq integer, p_status integer,
    p_stat text, p_err text)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE WHEN coalesce(p_stat, '') = ''
	            THEN format('part %s: not delivered (status %s)', p_seq, p_status)
	            ELSE format('part %s: not delivered: %s%s (status %s)', p_seq,
	                        p_stat, CASE WHEN coalesce(p_err, '') <> ''
	                                     THEN ', err ' || p_err ELSE '' END,
	                        p_status) END;
$$;

-- A report matched to its part p: recorded on the part and, when it
-- settles the message, on the message. Shared by modems' status reports
-- and SMPP receipts.
CREATE OR REPLACE FUNCTION pigeon_report_apply(p_report bigint, p outbox_parts,
    p_status integer)
RETURNS text LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	n integer;
	r_stat text;
	r_err text;
BEGIN
	UPDATE status_reports SET outbox_id = p.outbox_id, seq = p.seq
	 WHERE id = p_report
	RETURNING stat, err INTO r_stat, r_err;
	UPDATE outbox_parts SET status = p_status, reported_at = now()
	 WHERE outbox_id = p.outbox_id AND seq = p.seq
	   AND NOT pigeon_report_undoes(status, p_status);
	IF p_status >= 64 THEN
		PERFORM pigeon_outbox_reported(p.outbox_id, false,
		    pigeon_report_detail(p.seq, p_status, r_stat, r_err));
		RETURN 'undelivered';
	END IF;
	IF p_status >= 32 THEN
		RETURN 'pending';
	END IF;
	-- Delivered when every part of it is (a part the modem gave no
	-- reference for can never be: the message stays sent).
	SELECT count(*) INTO n FROM outbox_parts
	 WHERE outbox_id = p.outbox_id AND status < 32;
	IF n < (SELECT coalesce(parts, 1) FROM outbox WHERE id = p.outbox_id) THEN
		RETURN 'pending';
	END IF;
	PERFORM pigeon_outbox_reported(p.outbox_id, true, NULL);
	RETURN 'delivered';
END $$;

-- SMPP receipts are recorded in batches by pigeon_report_receipts; the
-- function that took one receipt a statement is dropped from databases
-- made before.
DROP FUNCTION IF EXISTS pigeon_report_receipt(text, text, text, text[], integer,
    text, text, text);

-- The rows of pigeon_report_receipts' matched batch. (It replaces
-- pigeon_receipt_rows, which had no dedupe key.)
DROP FUNCTION IF EXISTS pigeon_receipt_rows(jsonb);
CREATE OR REPLACE FUNCTION pigeon_receipt_batch(p jsonb)
RETURNS TABLE (ord integer, link text, status integer, outbox_id bigint,
    seq integer, stored boolean, dedupe text)
LANGUAGE sql IMMUTABLE AS $$
	SELECT * FROM jsonb_to_recordset(coalesce(p, '[]')) AS r(ord integer,
	    link text, status integer, outbox_id bigint, seq integer, stored boolean,
	    dedupe text);
$$;

-- Whether a receipt from phone p_receipt may be another phone's
-- (p_part's): not when both are international numbers and differ. A
-- receipt that names no phone, or one the worker could not read as a
-- number (an SMSC that writes the shortcode there), may be anyone's.
CREATE OR REPLACE FUNCTION pigeon_receipt_phone_ok(p_receipt text, p_part text)
RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
	SELECT coalesce(NOT (p_receipt LIKE '+%' AND p_part LIKE '+%'
	                     AND p_receipt <> p_part), true);
$$;

-- The links whose receipts are one another's, for each of p_links
-- (link, sibling): the binds of one SMSC account (modems.account,
-- SYSTEM_ID@HOST:PORT, written by the pigeond that drives each), the link
-- itself always. An SMSC delivers a receipt to any receiver bound with
-- the account's system_id, not to the bind that sent the message: with
-- two [smpp NAME] sections of one account, the receipts that came in on
-- the other bind never matched, and their messages stayed sent for ever.
-- Message ids are unique within one account only: another account's
-- (another carrier's) part is never a sibling's. A modem (no account),
-- or a bind no pigeond has recorded its account for, has only itself.
-- Resolved once a batch: pigeon_report_receipts and
-- pigeon_outbox_outcomes hand the pairs to pigeon_links_of as arrays.
CREATE OR REPLACE FUNCTION pigeon_account_links(p_links text[])
RETURNS TABLE (link text, sibling text)
LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
	SELECT l.link, l.link
	  FROM unnest(p_links) AS l(link) WHERE l.link IS NOT NULL
	UNION
	SELECT l.link, o.name
	  FROM unnest(p_links) AS l(link)
	  JOIN modems m ON m.name = l.link AND m.account IS NOT NULL
	  JOIN modems o ON o.account = m.account;
$$;

-- The siblings of p_link among pigeon_account_links' pairs (p_from[i],
-- p_to[i]); p_link alone when it has none there.
CREATE OR REPLACE FUNCTION pigeon_links_of(p_link text, p_from text[],
    p_to text[])
RETURNS text[] LANGUAGE sql IMMUTABLE AS $$
	SELECT coalesce((SELECT array_agg(s.t) FROM unnest(p_from, p_to) AS s(f, t)
	                  WHERE s.f = p_link), ARRAY[p_link]);
$$;

-- The part of p_links (a link and the other binds of its account:
-- pigeon_account_links) that an SMSC's message id names (the one to
-- p_recipient first, then the newest, if an id came back twice): one
-- probe of outbox_parts_message_id a link. to_them: the part's phone is
-- p_recipient. p_written: p_id is the id as the receipt wrote it; read
-- in the other base ("18" is also 0x12), it never names a part to
-- another phone (pigeon_receipt_phone_ok): such a key named the part of
-- another phone's message while the receipt's own part's outcome was not
-- yet recorded, and that message was taken for delivered while the
-- receipt's own stayed sent. Left unmatched, the receipt is matched by
-- its own outcome when that comes (pigeon_outbox_outcomes). The id as
-- written still may: an SMSC that writes the sender's number where the
-- phone's should be (addresses swapped) has its receipts matched.
DROP FUNCTION IF EXISTS pigeon_part_by_id(text, text);
DROP FUNCTION IF EXISTS pigeon_part_by_id(text, text, text);
DROP FUNCTION IF EXISTS pigeon_part_by_id(text, text, text, boolean);
CREATE OR REPLACE FUNCTION pigeon_part_by_id(p_links text[], p_id text,
    p_recipient text, p_written boolean)
RETURNS TABLE (outbox_id bigint, seq integer, sent_at timestamptz,
    to_them boolean)
LANGUAGE sql STABLE AS $$
	SELECT op.outbox_id, op.seq, op.sent_at,
	       coalesce(op.recipient = p_recipient, false)
	  FROM outbox_parts op
	 WHERE op.modem = ANY (p_links) AND op.message_id = p_id
	   AND op.message_id IS NOT NULL
	   AND (p_written OR pigeon_receipt_phone_ok(p_recipient, op.recipient))
	 ORDER BY 4 DESC, op.sent_at DESC, op.outbox_id DESC
	 LIMIT 1;
$$;

-- A batch of SMPP receipts in one statement and one commit (a busy bind
-- brings thousands a second; a statement and a commit each were the
-- limit). Each element is {"link", "recipient", "message_id", "keys":
-- [...] (each id the receipt gave, in its base and the other), "status"
-- (the TP-Status nearest to its state, as a modem's report gives one: 0
-- delivered, 32 not yet final, 64 and up not delivered; gateway/reports.c
-- receipt_tp_status), "stat", "err" (as the SMSC wrote them, which the
-- message's history says: pigeon_report_detail), "dedupe"}. A
-- receipt is stored once (dedupe) and matched to the part of the same
-- link, or of another bind of its SMSC account (pigeon_account_links,
-- resolved once for the batch), whose message id meets one of its keys;
-- it is counted on the link it came in on; set-based: the receipts
-- are matched and stored by one INSERT, their parts and their messages
-- updated by one statement each. Returns one row per element, in their
-- order: 'delivered', 'undelivered', 'pending', 'unmatched' or
-- 'duplicate' (a dedupe key seen before, in this batch or earlier).
CREATE OR REPLACE FUNCTION pigeon_report_receipts(p jsonb)
RETURNS SETOF text LANGUAGE plpgsql SET search_path = public, pg_temp
    SET enable_seqscan = off AS $$
DECLARE
	batch jsonb;		-- matched: one object per element
	matched bigint[];	-- the messages whose parts the batch matched
	reported_ok bigint[];	-- those of them with a part reported delivered
	unmatched text[];	-- the dedupe keys of stored receipts left unmatched
	delivered bigint[];
	bad record;
	late record;
	late_result jsonb := '{}';	-- dedupe -> what the late match gave
	sib_from text[];	-- the batch's links and their accounts' other
	sib_to text[];		-- binds, as pairs (pigeon_account_links)
BEGIN
	SELECT array_agg(s.link), array_agg(s.sibling) INTO sib_from, sib_to
	  FROM pigeon_account_links(ARRAY(SELECT DISTINCT e->>'link'
	                                    FROM jsonb_array_elements(p) e)) s;
	-- Each receipt's links by a join to the batch's few: computed in
	-- the probe's index condition (pigeon_links_of), they were computed
	-- again at every probe, 0.1 ms a receipt.
	WITH sib AS (
		SELECT s.f AS link, array_agg(s.t) AS links
		  FROM unnest(sib_from, sib_to) AS s(f, t) GROUP BY s.f
	), e AS MATERIALIZED (
		SELECT x.ord::integer AS ord, x.v->>'link' AS link,
		       coalesce(sib.links, ARRAY[x.v->>'link']) AS links,
		       x.v->>'recipient' AS recipient, x.v->>'message_id' AS mid,
		       ARRAY(SELECT jsonb_array_elements_text(x.v->'keys')) AS keys,
		       (x.v->>'status')::integer AS status, x.v->>'stat' AS stat,
		       x.v->>'err' AS err, x.v->>'dedupe' AS dedupe
		  FROM jsonb_array_elements(p) WITH ORDINALITY AS x(v, ord)
		  LEFT JOIN sib ON sib.link = x.v->>'link'
	), m AS (
		SELECT e.*, op.outbox_id, op.seq
		  FROM e LEFT JOIN LATERAL (
			-- One probe of outbox_parts_message_id a key, by equality
			-- on both its columns, whatever the statistics say. Written
			-- as message_id = ANY (keys), or as a join to the keys, a
			-- plan made while the table was small (statistics from
			-- before a fan-out) read every part of the link for each
			-- receipt: 70-230 ms a batch at 20,000 parts, a core spent
			-- for a minute after the fan-out.
			-- Its keys are the id as written, then read in the other
			-- base: "10" is also 16, which may be another message's id.
			-- The part to the receipt's phone first, then the id as
			-- written, then the newest.
			SELECT p.outbox_id, p.seq
			  FROM unnest(e.keys) WITH ORDINALITY AS k(mid, n),
			       pigeon_part_by_id(e.links, k.mid, e.recipient, k.n = 1) p
			 ORDER BY p.to_them DESC, k.n, p.sent_at DESC, p.outbox_id DESC
			 LIMIT 1) op ON true
	), first AS (
		SELECT DISTINCT ON (dedupe) * FROM m ORDER BY dedupe, ord
	), ins AS (
		INSERT INTO status_reports (dedupe, modem, recipient, status,
		    message_id, stat, err, keys, outbox_id, seq)
		SELECT dedupe, link, recipient, status, mid, stat, err, keys,
		       outbox_id, seq
		  FROM first
		ON CONFLICT (dedupe) DO NOTHING
		RETURNING dedupe
	)
	SELECT jsonb_agg(jsonb_build_object('ord', m.ord, 'link', m.link,
	           'status', m.status, 'outbox_id', m.outbox_id, 'seq', m.seq,
	           'dedupe', m.dedupe, 'stat', m.stat, 'err', m.err,
	           -- IN, not EXISTS or a join: a hashed subplan each, built
	           -- once (correlated, each read the whole batch for each
	           -- receipt: 110 ms of a batch of 1,000).
	           'stored', m.dedupe IN (SELECT ins.dedupe FROM ins)
	               AND (m.dedupe, m.ord) IN (SELECT f.dedupe, f.ord FROM first f)))
	  INTO batch FROM m;

	-- The messages the batch matched, those of them reported delivered,
	-- and the receipts stored unmatched (matched again below): arrays,
	-- so that each statement below reaches its rows through a primary
	-- or unique key (= ANY on an index's first column) and never by
	-- joining the batch to a whole table. Joined, the parts' update was
	-- planned while the table was small as a merge join walking the
	-- primary key from its start, and kept: 14 ms a batch instead of 1
	-- at 100,000 parts (test_smpp_receipts test_receipts_read_their_part).
	SELECT array_agg(DISTINCT b.outbox_id) FILTER (WHERE b.outbox_id IS NOT NULL),
	       array_agg(DISTINCT b.outbox_id) FILTER (WHERE b.outbox_id IS NOT NULL
	                                              AND b.status < 32),
	       array_agg(b.dedupe) FILTER (WHERE b.outbox_id IS NULL)
	  INTO matched, reported_ok, unmatched
	  FROM pigeon_receipt_batch(batch) b
	 WHERE b.stored;

	-- The parts: the last receipt of a part in the batch wins, unless
	-- it is an intermediate one after a final one (pigeon_report_undoes).
	UPDATE outbox_parts op SET status = b.status, reported_at = now()
	  FROM (SELECT DISTINCT ON (outbox_id, seq) outbox_id, seq, status
	          FROM pigeon_receipt_batch(batch) WHERE stored AND outbox_id IS NOT NULL
	         ORDER BY outbox_id, seq,
	                  status BETWEEN 32 AND 63, ord DESC) b
	 WHERE op.outbox_id = ANY (matched)
	   AND op.outbox_id = b.outbox_id AND op.seq = b.seq
	   AND NOT pigeon_report_undoes(op.status, b.status);

	-- Delivered: every part of the message is (a part the link gave no id
	-- for never is: the message stays sent).
	SELECT array_agg(o.id) INTO delivered
	  FROM outbox o
	 WHERE o.id = ANY (reported_ok)
	   AND (SELECT count(*) FROM outbox_parts op
	         WHERE op.outbox_id = o.id AND op.status < 32) >= coalesce(o.parts, 1);
	IF delivered IS NOT NULL THEN
		PERFORM pigeon_outbox_delivered(delivered);
	END IF;
	-- What the SMSC said (stat, err) read from the batch as it stands:
	-- pigeon_receipt_batch's columns are those an older pigeond's
	-- function of the same name returns. Only the receipt that won its
	-- part (as in the parts' update above): an UNDELIV then a DELIVRD
	-- for one part in one batch made the message delivered, then
	-- undelivered, two callbacks, the carrier's last word lost.
	FOR bad IN SELECT w.outbox_id, w.seq, w.status, w.stat, w.err
	             FROM (SELECT DISTINCT ON (x.outbox_id, x.seq) x.ord,
	                          x.outbox_id, x.seq, x.status, x.stat, x.err
	                     FROM jsonb_to_recordset(batch) AS x(ord integer,
	                          outbox_id bigint, seq integer, status integer,
	                          stored boolean, stat text, err text)
	                    WHERE x.stored AND x.outbox_id IS NOT NULL
	                    ORDER BY x.outbox_id, x.seq,
	                             x.status BETWEEN 32 AND 63, x.ord DESC) w
	            WHERE w.status >= 64
	            ORDER BY w.ord LOOP
		PERFORM pigeon_outbox_reported(bad.outbox_id, false,
		    pigeon_report_detail(bad.seq, bad.status, bad.stat, bad.err));
	END LOOP;

	-- Only now the links' rows, with those of the other binds of their
	-- accounts (a receipt may be for a part any of them sent), in name
	-- order, as pigeon_outbox_outcomes takes them for its whole
	-- transaction: a receipt that came before its submit's outcome was
	-- committed is matched here, once that outcome is (this waits for
	-- it), or by the outcome, which then sees this receipt committed.
	-- Taken last, the lock is held briefly, and the batches of receipts
	-- and of outcomes do their work side by side.
	PERFORM 1 FROM modems WHERE name = ANY (sib_to)
	  ORDER BY name FOR UPDATE;
	FOR late IN SELECT sr.id, sr.dedupe, sr.status, op
	              FROM status_reports sr
	              JOIN LATERAL (SELECT op FROM unnest(sr.keys) WITH ORDINALITY
	                                       AS k(mid, n),
	                                   pigeon_part_by_id(
	                                       pigeon_links_of(sr.modem, sib_from, sib_to),
	                                       k.mid, sr.recipient, k.n = 1) p
	                             JOIN outbox_parts op ON op.outbox_id = p.outbox_id
	                                                 AND op.seq = p.seq
	                             ORDER BY p.to_them DESC, k.n, p.sent_at DESC,
	                                      p.outbox_id DESC
	                             LIMIT 1) l ON true
	             WHERE sr.dedupe = ANY (unmatched) AND sr.outbox_id IS NULL LOOP
		late_result := late_result || jsonb_build_object(late.dedupe,
		    pigeon_report_apply(late.id, late.op, late.status));
	END LOOP;
	UPDATE modems mo SET reports_in = mo.reports_in + c.n_in,
	       reports_unmatched = mo.reports_unmatched + c.n_unmatched,
	       updated_at = now()
	  FROM (SELECT r.link, count(*) AS n_in,
	               count(*) FILTER (WHERE r.outbox_id IS NULL
	                   AND NOT late_result ? r.dedupe) AS n_unmatched
	          FROM pigeon_receipt_batch(batch) r
	         WHERE r.stored GROUP BY r.link) c
	 WHERE mo.name = c.link;

	RETURN QUERY
	SELECT CASE WHEN NOT b.stored THEN 'duplicate'
	            WHEN b.outbox_id IS NULL
	                 THEN coalesce(late_result->>b.dedupe, 'unmatched')
	            WHEN b.status >= 64 THEN 'undelivered'
	            WHEN b.outbox_id = ANY (coalesce(delivered, '{}')) AND b.status < 32
	                 THEN 'delivered'
	            ELSE 'pending' END
	  FROM pigeon_receipt_batch(batch) b ORDER BY b.ord;
END $$;

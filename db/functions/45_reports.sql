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

-- A report matched to its part p: recorded on the part and, when it
-- settles the message, on the message. Shared by modems' status reports
-- and SMPP receipts.
CREATE OR REPLACE FUNCTION pigeon_report_apply(p_report bigint, p outbox_parts,
    p_status integer)
RETURNS text LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	n integer;
BEGIN
	UPDATE status_reports SET outbox_id = p.outbox_id, seq = p.seq
	 WHERE id = p_report;
	UPDATE outbox_parts SET status = p_status, reported_at = now()
	 WHERE outbox_id = p.outbox_id AND seq = p.seq;
	IF p_status >= 64 THEN
		PERFORM pigeon_outbox_reported(p.outbox_id, false,
		    format('part %s: not delivered (status %s)', p.seq, p_status));
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

-- An SMPP delivery receipt (pigeon-smpp's `report`), stored once
-- (p_dedupe) and matched to the part whose message id meets one of its
-- keys (p_keys: each id the receipt gave, in its base and the other) on
-- the same link. p_status as a modem's TP-Status: 0 delivered, 32 not yet
-- final, 64 not delivered (stat and err kept as the SMSC wrote them).
CREATE OR REPLACE FUNCTION pigeon_report_receipt(p_link text, p_recipient text,
    p_message_id text, p_keys text[], p_status integer, p_stat text, p_err text,
    p_dedupe text)
RETURNS text LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	rid bigint;
	p outbox_parts;
BEGIN
	INSERT INTO status_reports (dedupe, modem, recipient, status, message_id,
	    stat, err, keys)
	VALUES (p_dedupe, p_link, p_recipient, p_status, p_message_id, p_stat, p_err,
	    p_keys)
	ON CONFLICT (dedupe) DO NOTHING
	RETURNING id INTO rid;
	IF rid IS NULL THEN
		RETURN 'duplicate';
	END IF;
	UPDATE modems SET reports_in = reports_in + 1, updated_at = now()
	 WHERE name = p_link;
	SELECT * INTO p FROM outbox_parts op
	 WHERE op.modem = p_link AND op.message_id = ANY (p_keys)
	 ORDER BY op.sent_at DESC, op.outbox_id DESC
	 LIMIT 1
	 FOR UPDATE;
	IF NOT FOUND THEN
		UPDATE modems SET reports_unmatched = reports_unmatched + 1
		 WHERE name = p_link;
		RETURN 'unmatched';
	END IF;
	RETURN pigeon_report_apply(rid, p, p_status);
END $$;

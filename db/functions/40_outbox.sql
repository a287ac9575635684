-- The outbox: claims, outcomes, leases, history.
--
-- pigeond applies every file of db/functions/ at every start, in name
-- order, after the migrations and under the same advisory lock; they hold
-- only CREATE OR REPLACE statements. Every unit of work is one statement
-- and one transaction calling one of these functions.

CREATE OR REPLACE FUNCTION pigeon_outbox_claim(p_host text, p_n integer,
    p_lease_s integer)
RETURNS TABLE (id bigint, recipient text, text text, class smallint,
    max_parts smallint, more text)
LANGUAGE plpgsql AS $$
BEGIN
	UPDATE outbox o SET state = 'cancelled', last_error = 'recipient said STOP'
	 WHERE o.state = 'queued' AND NOT o.bypass_optout
	   AND o.recipient IN (SELECT phone FROM optouts);
	RETURN QUERY
	WITH c AS MATERIALIZED (
		SELECT o.id FROM outbox o
		 WHERE o.state = 'queued' AND o.next_attempt_at <= now()
		 ORDER BY o.class, o.next_attempt_at, o.id
		 LIMIT p_n
		 FOR UPDATE SKIP LOCKED
	)
	UPDATE outbox o SET state = 'sending', host = p_host,
	       lease_until = now() + make_interval(secs => p_lease_s),
	       attempts = o.attempts + 1
	  FROM c WHERE o.id = c.id
	RETURNING o.id, o.recipient, o.text, o.class, o.max_parts, o.more;
END $$;

CREATE OR REPLACE FUNCTION pigeon_outbox_sent(p_id bigint, p_modem text,
    p_parts integer, p_refs integer[])
RETURNS void LANGUAGE sql AS $$
	UPDATE outbox SET state = 'sent', modem = p_modem, parts = p_parts,
	       refs = p_refs, sent_at = now(), lease_until = NULL, last_error = NULL
	 WHERE id = p_id AND state = 'sending';
	UPDATE modems SET sms_sent = sms_sent + 1, updated_at = now()
	 WHERE name = p_modem;
$$;

CREATE OR REPLACE FUNCTION pigeon_outbox_failed(p_id bigint, p_modem text,
    p_error text, p_temporary boolean, p_max_attempts integer)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	o outbox;
BEGIN
	SELECT * INTO o FROM outbox WHERE id = p_id AND state = 'sending' FOR UPDATE;
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	UPDATE modems SET sms_failed = sms_failed + 1, last_error = p_error,
	       updated_at = now() WHERE name = p_modem;
	IF p_temporary AND o.attempts < p_max_attempts THEN
		UPDATE outbox SET state = 'queued', modem = p_modem, last_error = p_error,
		       lease_until = NULL,
		       next_attempt_at = now() + make_interval(secs =>
		           least(3600, 10 * o.attempts * o.attempts))
		 WHERE id = p_id;
		RETURN 'queued';
	END IF;
	UPDATE outbox SET state = 'failed', modem = p_modem, last_error = p_error,
	       lease_until = NULL
	 WHERE id = p_id;
	RETURN 'failed';
END $$;

CREATE OR REPLACE FUNCTION pigeon_outbox_reclaim()
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
	n integer;
BEGIN
	UPDATE outbox SET state = 'queued', lease_until = NULL,
	       last_error = 'lease of ' || coalesce(host, '?') || ' expired'
	 WHERE state = 'sending' AND lease_until < now();
	GET DIAGNOSTICS n = ROW_COUNT;
	IF n > 0 THEN
		PERFORM pg_notify('pigeon_outbox', '');
	END IF;
	RETURN n;
END $$;

CREATE OR REPLACE FUNCTION pigeon_outbox_record_state()
RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO outbox_history (outbox_id, state, modem, detail)
	    VALUES (NEW.id, NEW.state, NEW.modem, NEW.last_error);
	RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER outbox_state_history
	AFTER UPDATE OF state ON outbox
	FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state)
	EXECUTE FUNCTION pigeon_outbox_record_state();

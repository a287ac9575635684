-- Issue 18: a step back of the database server's clock (docs/reliability.md,
-- "Which clock each rule reads").
--
-- pigeond applies every file of db/functions/ at every start, in name
-- order; they hold only CREATE OR REPLACE statements.

-- Called every few seconds by pigeond (gateway/clockstep.c). When now()
-- is more than 5 s behind the latest now() seen, the clock was stepped
-- back by that much, and what was timed relative to the clock before the
-- step would wait that much longer (an hour for a step of an hour: the
-- claim takes next_attempt_at <= now()):
-- - a message queued to go at once (due when it was made) is due now;
-- - a retry's due time (a throttled row's too) moves back by the step
--   (not before now);
-- - a lease ends no later than p_lease_s from now;
-- - a webhook delivery due when it was made is due now, a retry's moves
--   back by the step.
-- - the parts of a long SMS waiting for the rest that came before the
--   step are stamped back by it: their wait (concat_timeout, from
--   received_at) is not longer by the step, and a part that comes after
--   it is as near in time to them as it really is.
-- What was timed to a wall-clock moment stays: an update held to the end
-- of quiet hours, an API send_at. Returns the rows brought back, NULL
-- when the clock did not step back.
CREATE OR REPLACE FUNCTION pigeon_clock_check(p_lease_s integer)
RETURNS integer LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	seen timestamptz;
	step interval;
	n integer;
	m integer;
	k integer;
	last_before bigint;
BEGIN
	SELECT seen_at INTO seen FROM clock_high_water FOR UPDATE;
	INSERT INTO clock_high_water (seen_at) VALUES (now())
	ON CONFLICT (one) DO UPDATE SET seen_at = EXCLUDED.seen_at;
	IF seen IS NULL OR seen <= now() + interval '5 s' THEN
		RETURN NULL;
	END IF;
	step := seen - now();
	UPDATE outbox SET next_attempt_at = CASE
	           WHEN next_attempt_at <= created_at THEN now()
	           ELSE greatest(now(), next_attempt_at - step) END
	 WHERE state = 'queued' AND held_since IS NULL AND next_attempt_at > now()
	   -- A throttled row's attempt is given back (attempts may be 0),
	   -- so its last error says it is a retry: it waited the whole step,
	   -- and every later message to its phone behind it.
	   AND (next_attempt_at <= created_at OR attempts > 0
	        OR last_error LIKE 'throttled by %');
	GET DIAGNOSTICS n = ROW_COUNT;
	UPDATE outbox SET lease_until = now() + make_interval(secs => p_lease_s)
	 WHERE state = 'sending' AND lease_until > now() + make_interval(secs => p_lease_s);
	UPDATE webhook_deliveries SET next_attempt_at = CASE
	           WHEN next_attempt_at <= created_at THEN now()
	           ELSE greatest(now(), next_attempt_at - step) END
	 WHERE state = 'pending' AND next_attempt_at > now()
	   AND (next_attempt_at <= created_at OR attempts > 0);
	GET DIAGNOSTICS m = ROW_COUNT;
	-- A part stamped after now() came before the step, and so did
	-- every part stored before it (ids grow with time): the latest
	-- such is found among the parts from the oldest waiting one on
	-- (at most concat_timeout old), and those up to it that still
	-- wait are moved. A part stored after the step is not: moved, it
	-- would be joined incomplete before its time.
	SELECT max(i.id) INTO last_before FROM inbox_parts i
	 WHERE i.id >= (SELECT min(w.id) FROM inbox_parts w WHERE w.message_id IS NULL)
	   AND i.received_at > now();
	UPDATE inbox_parts SET received_at = received_at - step
	 WHERE message_id IS NULL AND id <= last_before;
	GET DIAGNOSTICS k = ROW_COUNT;
	IF n > 0 THEN
		PERFORM pg_notify('pigeon_outbox', '');
	END IF;
	IF m > 0 THEN
		PERFORM pg_notify('pigeon_webhook', '');
	END IF;
	RETURN n + m + k;
END $$;

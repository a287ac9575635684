-- The send API (issue 16): POST /api/messages with its options,
-- idempotency keys, dlr_url callbacks, GET /api/inbox.
--
-- pigeond applies every file of db/functions/ at every start, in name
-- order, after the migrations and under the same advisory lock.

-- A time as the API answers it: in UTC, "+00:00", whatever the session's
-- TimeZone (written as PostgreSQL writes a time in JSON).
CREATE OR REPLACE FUNCTION pigeon_api_time(p_at timestamptz)
RETURNS text LANGUAGE sql IMMUTABLE SET search_path = public, pg_temp AS $$
	SELECT (to_jsonb(p_at AT TIME ZONE 'UTC') #>> '{}') || '+00:00';
$$;

-- Idempotency keys of the API (POST /api/messages and POST /api/posts):
-- p_key is already the caller's own (pigeond's route and caller in it:
-- a key of one token, business key or route never meets another's).
-- Takes the key's lock for the transaction (two requests with one key at
-- once: the second waits here and then finds the first one's answer),
-- then answers NULL when the key is new (or older than 24 hours: a new
-- request), {"error": "key_reused"} when it was used for another body,
-- else the first request's answer (its ids, or the answer stored with
-- them) with "replayed": true.
CREATE OR REPLACE FUNCTION pigeon_api_key_find(p_key text, p_request text)
RETURNS jsonb LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	i api_idempotency;
BEGIN
	PERFORM pg_advisory_xact_lock(hashtextextended('pigeon_api_send:' || p_key, 0));
	SELECT * INTO i FROM api_idempotency
	 WHERE key = p_key AND created_at > now() - interval '24 hours';
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	-- Another body under a used key is a client's mistake (a key made
	-- from a counter that went back): answering the first request's ids
	-- would tell it a message was queued that was not. (A key stored,
	-- or a retry sent, by a pigeond of before has no digest: it
	-- replays.)
	IF i.request IS DISTINCT FROM p_request AND i.request IS NOT NULL
	   AND p_request IS NOT NULL THEN
		RETURN jsonb_build_object('error', 'key_reused');
	END IF;
	RETURN coalesce(i.answer, jsonb_build_object('ids', to_jsonb(i.ids)))
	    || jsonb_build_object('replayed', true);
END $$;

-- The answer of a request with an idempotency key, kept 24 hours: its
-- ids, and p_answer when the answer is more than them (NULL: {"ids"}).
CREATE OR REPLACE FUNCTION pigeon_api_key_keep(p_key text, p_ids bigint[],
    p_answer jsonb, p_request text)
RETURNS void LANGUAGE sql SET search_path = public, pg_temp AS $$
	INSERT INTO api_idempotency (key, ids, request, answer)
	VALUES (p_key, p_ids, p_request, p_answer)
	    ON CONFLICT (key) DO UPDATE SET ids = EXCLUDED.ids,
	       request = EXCLUDED.request, answer = EXCLUDED.answer, created_at = now();
$$;

-- Queues one message per recipient, all or none. p_to in the order the
-- client named them, a number named twice twice: one message for it,
-- whose id answers each of its places. p_opts holds what the
-- API checked: priority (0-3), via (a link name), flash, send_at
-- (timestamptz, NULL = now; a time past is now, for validity too) or
-- send_at_local (a time without a zone, read in [pigeon] timezone; at
-- most 30 days ahead, {"error": "too_far"} otherwise), validity_s (from
-- send_at), dlr_url and
-- idempotency_key (keys are per token) with request, a digest of the
-- request's body, and token, the name of the token that sent it (kept on
-- each row: a send token cancels its own only). Answers {"ids": [...]}
-- in the order of p_to, with "replayed": true when the key was used
-- within 24 hours for the same body (nothing is queued then),
-- {"error": "key_reused"} when it was used for another body,
-- {"error": "no_link", "via": name} when no host has that link (with
-- "removed": true when the last host that had it dropped it from its
-- configuration by SIGHUP: a send through it waited until its validity
-- ran out), or {"error": "optout", "to": phone}. A send `via` a link no
-- host drives now is queued, with "warning" saying so.
CREATE OR REPLACE FUNCTION pigeon_api_send(p_to text[], p_text text, p_opts jsonb)
RETURNS jsonb LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	-- A key is its token's own (p_opts->>'token': a name has no space).
	k text := coalesce(p_opts->>'token', '') || ' ' || (p_opts->>'idempotency_key');
	dlr text := p_opts->>'dlr_url';
	due timestamptz;
	prev jsonb;
	stopped text;
	warning text;
	ids bigint[];
	uids bigint[];
BEGIN
	IF k IS NOT NULL THEN
		prev := pigeon_api_key_find(k, p_opts->>'request');
		IF prev IS NOT NULL THEN
			RETURN prev;
		END IF;
	END IF;
	IF p_opts->>'send_at_local' IS NOT NULL THEN
		due := (p_opts->>'send_at_local')::timestamp
		       AT TIME ZONE pigeon_setting('timezone');
		IF due > now() + interval '30 days' THEN
			RETURN jsonb_build_object('error', 'too_far');
		END IF;
	END IF;
	-- A time past is now: the validity counts from when it can leave
	-- (an hour-old send_at with 600 s of validity expired unsent when
	-- the links were busy for a moment).
	due := greatest(coalesce(due, (p_opts->>'send_at')::timestamptz, now()), now());
	-- A link no host has (any host's API serves every host's links). A
	-- host that takes a link records its state, so a row left "removed
	-- from the configuration" (gateway/link.c) is one no host has now.
	IF p_opts->>'via' IS NOT NULL AND NOT EXISTS (SELECT 1 FROM modems
	    WHERE name = p_opts->>'via' AND (state <> 'disabled'
	          OR state_reason IS DISTINCT FROM 'removed from the configuration')) THEN
		RETURN jsonb_build_object('error', 'no_link', 'via', p_opts->>'via',
		    'removed', EXISTS (SELECT 1 FROM modems WHERE name = p_opts->>'via'));
	END IF;
	-- A link no host drives now (nobody holds its lock: its host was
	-- switched off or killed, or is reconnecting): taken, as its host
	-- may come back, but said, since it waits for that until its
	-- validity ends (it was a plain 202).
	IF p_opts->>'via' IS NOT NULL
	   AND NOT pigeon_advisory_held(1346979653, p_opts->>'via') THEN
		SELECT format('no host runs link %s now (its host %s %s): the message '
		              'waits for it until its validity ends', m.name, m.host,
		              CASE WHEN pigeon_advisory_held(1346979656, m.host)
		                   THEN 'does not hold it' ELSE 'is not running' END)
		  INTO warning FROM modems m WHERE m.name = p_opts->>'via';
	END IF;
	SELECT t INTO stopped FROM unnest(p_to) t
	 WHERE EXISTS (SELECT 1 FROM optouts o WHERE o.phone = t) LIMIT 1;
	IF stopped IS NOT NULL THEN
		RETURN jsonb_build_object('error', 'optout', 'to', stopped);
	END IF;
	-- One row per number, in the order of its first mention; then each
	-- place of p_to gets its number's id.
	WITH ins AS (
		INSERT INTO outbox (recipient, text, class, priority, via_link, flash,
		    next_attempt_at, valid_until, validity_s, dlr_url, sent_by)
		SELECT t.phone, p_text, 1, coalesce((p_opts->>'priority')::smallint, 0),
		       p_opts->>'via', coalesce((p_opts->>'flash')::boolean, false),
		       due, due + make_interval(secs => (p_opts->>'validity_s')::integer),
		       (p_opts->>'validity_s')::integer, dlr, p_opts->>'token'
		  FROM (SELECT phone, min(n) AS n FROM unnest(p_to) WITH ORDINALITY
		         AS u(phone, n) GROUP BY phone) t
		 ORDER BY t.n
		RETURNING id, recipient
	)
	SELECT array_agg(ins.id ORDER BY t.n), array_agg(DISTINCT ins.id)
	  INTO ids, uids
	  FROM unnest(p_to) WITH ORDINALITY AS t(phone, n)
	  JOIN ins ON ins.recipient = t.phone;
	IF dlr IS NOT NULL THEN
		INSERT INTO webhook_targets (url, kind) VALUES (dlr, 'dlr')
		    ON CONFLICT (url) DO UPDATE SET active = true
		    WHERE webhook_targets.kind = 'dlr';
		-- 'queued' first, then the state a message already left it for
		-- in its own insert: the daily ceiling's trigger cancels a row
		-- as it is inserted (its callback came before 'queued', and a
		-- receiver keeping the latest state ended on 'queued'), and a
		-- message to a suspended member is made cancelled (no update, no
		-- callback: the receiver saw 'queued' only).
		DELETE FROM webhook_deliveries
		 WHERE outbox_id = ANY (uids) AND event = 'message.state';
		-- Each with the message as it was then (pigeon_dlr_event).
		INSERT INTO webhook_deliveries (url, receiver, event, outbox_id,
		    msg_state, msg_event, msg_at)
		SELECT dlr, pigeon_url_receiver(dlr), 'message.state', i, 'queued',
		       pigeon_dlr_event(NULL, NULL, 0, i), now() FROM unnest(uids) i ORDER BY i;
		INSERT INTO webhook_deliveries (url, receiver, event, outbox_id, msg_state,
		    msg_modem, msg_detail, msg_event, msg_at)
		SELECT dlr, pigeon_url_receiver(dlr), 'message.state', o.id, o.state,
		       o.modem, o.last_error,
		       pigeon_dlr_event(o.last_error, o.parts, o.attempts, o.id),
		       clock_timestamp()
		  FROM outbox o
		 WHERE o.id = ANY (uids) AND o.state NOT IN ('queued', 'sending')
		 ORDER BY o.id;
		PERFORM pg_notify('pigeon_webhook', '');
	END IF;
	IF k IS NOT NULL THEN
		PERFORM pigeon_api_key_keep(k, ids, CASE WHEN warning IS NOT NULL
		    THEN jsonb_build_object('ids', to_jsonb(ids), 'warning', warning) END,
		    p_opts->>'request');
	END IF;
	RETURN jsonb_build_object('ids', to_jsonb(ids))
	    || CASE WHEN warning IS NULL THEN '{}'::jsonb
	            ELSE jsonb_build_object('warning', warning) END;
END $$;

-- Each state change of a message with a dlr_url queues a callback
-- ('sending' is the gateway's business, not the integrator's). The WHEN
-- clause keeps rows without a dlr_url at no cost. The callback says the
-- message as it is at this change (pigeon_dlr_event): an AFTER trigger
-- of the statement that changed it, it sees that statement's parts (a
-- batch of outcomes adds a sent message's parts in the same statement).
CREATE OR REPLACE FUNCTION pigeon_dlr_enqueue()
RETURNS trigger LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
	INSERT INTO webhook_deliveries (url, receiver, event, outbox_id, msg_state,
	    msg_modem, msg_detail, msg_event, msg_at)
	VALUES (NEW.dlr_url, pigeon_url_receiver(NEW.dlr_url), 'message.state',
	    NEW.id, NEW.state, NEW.modem,
	    NEW.last_error,
	    pigeon_dlr_event(NEW.last_error, NEW.parts, NEW.attempts, NEW.id),
	    clock_timestamp());
	PERFORM pg_notify('pigeon_webhook', '');
	RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER outbox_dlr
	AFTER UPDATE OF state ON outbox
	FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state
	    AND NEW.dlr_url IS NOT NULL AND NEW.state <> 'sending')
	EXECUTE FUNCTION pigeon_dlr_enqueue();

-- pigeond 0.19 lists the receivers of callbacks (pigeon_webhook_dlr_receivers),
-- no longer every URL waiting.
DROP FUNCTION IF EXISTS pigeon_webhook_dlr_urls();

-- Idempotency keys are kept 24 hours (a janitor job may call this).
CREATE OR REPLACE FUNCTION pigeon_api_idempotency_purge()
RETURNS integer LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	n integer;
BEGIN
	DELETE FROM api_idempotency WHERE created_at < now() - interval '24 hours';
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END $$;

-- GET /api/inbox: incoming messages newest first, paged with p_before;
-- NULL arguments do not filter.
CREATE OR REPLACE FUNCTION pigeon_api_inbox(p_sender text, p_state text,
    p_limit integer, p_before bigint)
RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT coalesce(jsonb_agg(jsonb_build_object('id', m.id, 'from', m.sender,
	           'sender_kind', m.sender_kind, 'text', m.text, 'parts', m.parts,
	           'complete', m.complete, 'link', m.modem,
	           'sent_at', m.sent_at, 'received_at', m.received_at, 'state', m.state,
	           'command', m.command, 'result', m.result,
	           'processed_at', m.processed_at) ORDER BY m.id DESC), '[]'::jsonb)
	  FROM (SELECT * FROM inbox_messages
	         WHERE id < coalesce(p_before, 9223372036854775807)
	           AND (p_sender IS NULL OR sender = p_sender)
	           AND (p_state IS NULL OR state = p_state)
	         ORDER BY id DESC LIMIT p_limit) m;
$$;

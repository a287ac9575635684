-- Modems as their supervisors see them.
--
-- pigeond applies every file of db/functions/ at every start, in name
-- order, after the migrations and under the same advisory lock; they hold
-- only CREATE OR REPLACE statements. Every unit of work is one statement
-- and one transaction calling one of these functions.

CREATE OR REPLACE FUNCTION pigeon_modem_state(p_name text, p_host text,
    p_state text, p_reason text, p_info jsonb)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	old text;
BEGIN
	SELECT state INTO old FROM modems WHERE name = p_name FOR UPDATE;
	INSERT INTO modems AS m (name, host, state, state_reason, state_since)
	    VALUES (p_name, p_host, p_state, p_reason, now())
	ON CONFLICT (name) DO UPDATE
	    SET host = EXCLUDED.host, state = EXCLUDED.state,
	        state_reason = EXCLUDED.state_reason,
	        state_since = CASE WHEN m.state = EXCLUDED.state THEN m.state_since
	                           ELSE now() END,
	        updated_at = now();
	IF p_info IS NOT NULL AND p_info <> '{}'::jsonb THEN
		UPDATE modems SET
		    manufacturer = coalesce(p_info->>'manufacturer', manufacturer),
		    model = coalesce(p_info->>'model', model),
		    firmware = coalesce(p_info->>'firmware', firmware),
		    imei = coalesce(p_info->>'imei', imei),
		    imsi = coalesce(p_info->>'imsi', imsi),
		    last_error = coalesce(p_info->>'error', last_error),
		    pid = CASE WHEN p_info ? 'pid' THEN (p_info->>'pid')::integer
		               ELSE pid END,
		    restarts = coalesce((p_info->>'restarts')::bigint, restarts)
		 WHERE name = p_name;
	END IF;
	IF old IS DISTINCT FROM p_state THEN
		INSERT INTO modem_history (modem, state, reason)
		    VALUES (p_name, p_state, p_reason);
	END IF;
END $$;

CREATE OR REPLACE FUNCTION pigeon_modem_received(p_name text, p_n integer)
RETURNS void LANGUAGE sql AS $$
	UPDATE modems SET sms_in = sms_in + p_n, updated_at = now() WHERE name = p_name;
$$;

-- The worker's health poll: signal, registration, operator, battery, IMSI.
-- A key the modem did not report is stored as NULL.
CREATE OR REPLACE FUNCTION pigeon_modem_health(p_name text, p_health jsonb)
RETURNS void LANGUAGE sql AS $$
	UPDATE modems SET
	    signal_percent = (p_health->>'signal_percent')::integer,
	    signal_dbm = (p_health->>'signal_dbm')::integer,
	    registration = p_health->>'registration',
	    operator = p_health->>'operator',
	    operator_name = p_health->>'operator_name',
	    battery_percent = (p_health->>'battery_percent')::integer,
	    imsi = coalesce(nullif(p_health->>'imsi', ''), imsi),
	    health_at = now(), updated_at = now()
	 WHERE name = p_name;
$$;

-- The operator's support desk (admin scope, gateway/api_desk.c): what
-- the desk knows of a phone, member or not (its account, its STOP), a
-- STOP recorded on a phone's behalf, and a member's profile as an admin
-- token sees it (suspended too). A phone is private: it is on no public
-- route, not even to an admin token.
--
-- pigeond applies every file of db/functions/ at every start, in name
-- order, after the migrations and under the same advisory lock.

-- A phone's STOP: when, how ('sms': it texted STOP; 'operator': the
-- desk recorded it) and by which token; NULL when it has none.
CREATE OR REPLACE FUNCTION pigeon_desk_optout(p_phone text)
RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('since', o.since, 'how', o.how, 'by', o.recorded_by)
	  FROM optouts o WHERE o.phone = p_phone;
$$;

-- A phone (E.164, as number.c made it): its member if any (suspended
-- too), its STOP if any, and when it last texted (NULL: never, or
-- purged by [retention]). A phone the service never heard of is an
-- answer too: no member, no STOP.
CREATE OR REPLACE FUNCTION pigeon_desk_phone(p_phone text)
RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('phone', p_phone,
	    'member', (SELECT jsonb_build_object('handle', a.handle,
	                   'suspended_at', a.suspended_at, 'updates_on', a.updates_on)
	                 FROM accounts a WHERE a.phone = p_phone),
	    'optout', pigeon_desk_optout(p_phone),
	    'last_in', (SELECT max(m.received_at) FROM inbox_messages m
	                 WHERE m.sender = p_phone));
$$;

-- A STOP recorded for a phone by the desk (its owner asked by other
-- means than an SMS): nothing is sent to it, the confirmation included,
-- and what is queued for it is cancelled as it comes up, as after a
-- texted STOP (pigeon_outbox_claim: 'recipient said STOP'). Only the
-- phone lifts it, by START or JOIN, as any STOP. A phone already stopped
-- keeps its record ("already": true).
CREATE OR REPLACE FUNCTION pigeon_desk_optout_add(p_phone text, p_token text)
RETURNS jsonb LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	n integer;
BEGIN
	INSERT INTO optouts (phone, how, recorded_by)
	VALUES (p_phone, 'operator', p_token) ON CONFLICT DO NOTHING;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN pigeon_desk_phone(p_phone) || jsonb_build_object('already', n = 0);
END $$;

-- A member as an admin token sees it on GET /api/users/HANDLE: the
-- public profile, also while suspended (suspended_at says since when;
-- pigeonctl users said "no such user"). Never the phone, which a public
-- route does not show, whatever the token: GET /api/phones/PHONE and the
-- export have it. NULL when there is no such member.
CREATE OR REPLACE FUNCTION pigeon_desk_user(p_handle text)
RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT pigeon_api_user_json(a) || jsonb_build_object(
	    'suspended_at', a.suspended_at)
	  FROM accounts a WHERE a.handle = lower(p_handle);
$$;

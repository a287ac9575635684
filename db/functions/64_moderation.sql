-- Moderation (issue 16): an operator removes a post, suspends and
-- restores an account, exports or erases one member's data. Each is one
-- call from gateway/api_moderation.c (admin scope).
--
-- pigeond applies every file of db/functions/ at every start, in name
-- order, after the migrations and under the same advisory lock.

-- A post removed everywhere: deleted_at hides it from search, feeds and
-- the API; the posts_webhook_deleted trigger (60_api.sql) tells the
-- webhooks; its copies not yet handed to a link are cancelled.
-- NULL when there is no such post. The post is locked FOR NO KEY UPDATE,
-- which the key checks of its copies do not wait for: a chunk of its
-- fan-out being made holds the fanouts row that pigeon_outbox_cancel_post
-- waits for, and its copies check the post's key (FOR UPDATE here made
-- the two wait for each other: test_moderation
-- test_remove_post_during_chunk).
CREATE OR REPLACE FUNCTION pigeon_mod_post_remove(p_id bigint)
RETURNS jsonb LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	p posts;
	n integer;
BEGIN
	SELECT * INTO p FROM posts WHERE id = p_id FOR NO KEY UPDATE;
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	IF p.deleted_at IS NULL THEN
		UPDATE posts SET deleted_at = now() WHERE id = p_id;
	END IF;
	n := pigeon_outbox_cancel_post(p_id, 'post removed by the operator');
	RETURN jsonb_build_object('id', p_id, 'removed', true,
	    'was_removed', p.deleted_at IS NOT NULL, 'copies_cancelled', n);
END $$;

-- Suspends an account: its queued messages are cancelled and it gets
-- the notice, once (reply_key 'suspended' is the one row let through).
-- Its posts' fan-outs stop: the rest is not made, and the copies not yet
-- handed to a link are cancelled (a spammer's blast, suspended halfway,
-- went on to every follower). The fan-outs' rows go first: that waits
-- for a chunk being made, whose copies the cancel then sees.
-- {"error": "no_user"} or the account's state.
CREATE OR REPLACE FUNCTION pigeon_mod_suspend(p_handle text)
RETURNS jsonb LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	a accounts;
	n integer := 0;
	m integer := 0;
	ids bigint[];
BEGIN
	SELECT * INTO a FROM accounts WHERE handle = lower(p_handle) FOR UPDATE;
	IF NOT FOUND THEN
		RETURN jsonb_build_object('error', 'no_user');
	END IF;
	IF a.suspended_at IS NULL THEN
		UPDATE accounts SET suspended_at = now() WHERE id = a.id
		RETURNING * INTO a;
		SELECT count(*) INTO n FROM pigeon_outbox_cancel(ARRAY(
		    SELECT o.id FROM outbox o WHERE o.recipient = a.phone
		       AND o.state = 'queued'), 'account suspended');
		DELETE FROM fanouts WHERE account_id = a.id;
		ids := ARRAY(SELECT o.id FROM posts p JOIN outbox o ON o.post_id = p.id
		              WHERE p.account_id = a.id AND o.state = 'queued');
		SELECT count(*) INTO m FROM pigeon_outbox_cancel(ids,
		    'its author was suspended');
		PERFORM pigeon_track_give_back(ids);	-- 36_track.sql
		-- Nor to the webhooks: its posts waiting for a delivery (or
		-- retrying one for a day) reached public mirrors while its
		-- pages, feed and search hid them.
		UPDATE webhook_deliveries d SET state = 'cancelled', lease_until = NULL,
		       last_error = 'its author was suspended'
		  FROM posts p
		 WHERE p.account_id = a.id AND d.post_id = p.id AND d.event = 'post'
		   AND d.state IN ('pending', 'sending');
		INSERT INTO outbox (recipient, text, class, reply_key)
		VALUES (a.phone, CASE a.lang
		    WHEN 'fr' THEN 'Pigeon : votre compte est suspendu par l''opérateur. '
		                   'Vos messages ne seront plus traités.'
		    WHEN 'ar' THEN 'Pigeon: تم تعليق حسابك من طرف المشغل. لن تتم معالجة رسائلك.'
		    ELSE 'Pigeon: your account has been suspended by the operator. '
		         'Your messages will not be handled.' END, 0, 'suspended');
	END IF;
	RETURN jsonb_build_object('handle', a.handle, 'suspended_at', a.suspended_at,
	    'cancelled', n, 'copies_cancelled', m);
END $$;

CREATE OR REPLACE FUNCTION pigeon_mod_restore(p_handle text)
RETURNS jsonb LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	a accounts;
BEGIN
	UPDATE accounts SET suspended_at = NULL WHERE handle = lower(p_handle)
	RETURNING * INTO a;
	IF NOT FOUND THEN
		RETURN jsonb_build_object('error', 'no_user');
	END IF;
	RETURN jsonb_build_object('handle', a.handle, 'suspended_at', NULL);
END $$;

-- What a suspended phone texts is kept, marked ignored, never applied,
-- but a STOP (pigeon_apply: STOP comes before every rule). A trigger
-- marked it ignored as it was stored, STOP included: restored, the
-- member was sent SMS again after saying STOP.
DROP TRIGGER IF EXISTS inbox_suspended ON inbox_messages;
DROP FUNCTION IF EXISTS pigeon_mod_inbox_check();

-- Nothing is sent to a suspended phone but the notice: a row queued for
-- it (a reply, a fan-out copy, an operator send) is born cancelled, so
-- that it keeps its id and says why. A post's copies (post_id) are born
-- so by pigeon_post_copies, which reads the recipient's account anyway:
-- this trigger's call and probe a copy were a quarter of a fan-out's
-- inserts (8 µs a copy).
CREATE OR REPLACE FUNCTION pigeon_mod_outbox_check()
RETURNS trigger LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
	IF NEW.reply_key IS DISTINCT FROM 'suspended' AND EXISTS (
	    SELECT 1 FROM accounts a WHERE a.phone = NEW.recipient
	       AND a.suspended_at IS NOT NULL) THEN
		NEW.state := 'cancelled';
		NEW.last_error := 'account suspended';
	END IF;
	RETURN NEW;
END $$;

CREATE OR REPLACE TRIGGER outbox_suspended
	BEFORE INSERT ON outbox
	FOR EACH ROW WHEN (NEW.post_id IS NULL)
	EXECUTE FUNCTION pigeon_mod_outbox_check();

-- One member's data (a phone's right of access): the account, the
-- phone's STOP (optout: NULL, or when, how and by which token: the
-- account's updates_on and its follows' sms say nothing of it), its
-- follows both ways, its posts (removed ones too), what the phone texted
-- and what was sent to it. NULL when there is no such member.
CREATE OR REPLACE FUNCTION pigeon_mod_export(p_handle text)
RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object(
	    'account', to_jsonb(a),
	    'optout', pigeon_desk_optout(a.phone),
	    'following', (SELECT coalesce(jsonb_agg(jsonb_build_object('handle', b.handle,
	                      'sms', f.sms, 'since', f.created_at) ORDER BY b.handle), '[]')
	                    FROM follows f JOIN accounts b ON b.id = f.followee
	                   WHERE f.follower = a.id),
	    'followers', (SELECT coalesce(jsonb_agg(jsonb_build_object('handle', b.handle,
	                      'since', f.created_at) ORDER BY b.handle), '[]')
	                    FROM follows f JOIN accounts b ON b.id = f.follower
	                   WHERE f.followee = a.id),
	    'posts', (SELECT coalesce(jsonb_agg(jsonb_build_object('id', p.id, 'text', p.text,
	                  'created_at', p.created_at, 'deleted_at', p.deleted_at)
	                  ORDER BY p.id), '[]')
	                FROM posts p WHERE p.account_id = a.id),
	    'inbox', (SELECT coalesce(jsonb_agg(jsonb_build_object('id', m.id, 'text', m.text,
	                  'sent_at', m.sent_at, 'received_at', m.received_at,
	                  'state', m.state,
	                  'command', m.command, 'result', m.result) ORDER BY m.id), '[]')
	                FROM inbox_messages m WHERE m.sender = a.phone),
	    'outbox', (SELECT coalesce(jsonb_agg(jsonb_build_object('id', o.id, 'text', o.text,
	                  'state', o.state, 'created_at', o.created_at,
	                  'sent_at', o.sent_at, 'parts', o.parts,
	                  'segments', coalesce(o.segments, o.parts)) ORDER BY o.id), '[]')
	                 FROM outbox o WHERE o.recipient = a.phone))
	  FROM accounts a WHERE a.handle = lower(p_handle);
$$;

-- Erases one member: the account (its follows, tracks and posts go with
-- it), what the phone texted (messages and parts) and what was sent to
-- it (with its history and reports). Copies of its posts queued for
-- others are cancelled and every copy's text is blanked: the text was
-- theirs; so are its DMs, and replies and digests still queued that
-- quote it. The STOP record of the phone is kept: it must never be texted
-- again without asking. NULL when there is no such member.
CREATE OR REPLACE FUNCTION pigeon_mod_erase(p_handle text)
RETURNS jsonb LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	a accounts;
	n_posts integer;
	n_in integer;
	n_out integer;
	pid bigint;
BEGIN
	SELECT * INTO a FROM accounts WHERE handle = lower(p_handle) FOR UPDATE;
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	FOR pid IN SELECT id FROM posts WHERE account_id = a.id LOOP
		PERFORM pigeon_outbox_cancel_post(pid, 'the author''s data was erased');
	END LOOP;
	UPDATE outbox SET text = '(erased)'
	 WHERE post_id IN (SELECT id FROM posts WHERE account_id = a.id);
	SELECT count(*) INTO n_posts FROM posts WHERE account_id = a.id;
	-- Rows that point at its messages: replies to it are its own outbox
	-- rows (deleted below); posts are deleted with the account.
	DELETE FROM outbox WHERE recipient = a.phone;
	GET DIAGNOSTICS n_out = ROW_COUNT;
	-- What its messages made for others (its DMs: "@x: text") carries
	-- its words: blanked, and cancelled while still queued (they went
	-- out after the erasure).
	UPDATE outbox SET reply_to = NULL, text = '(erased)',
	       state = CASE WHEN state = 'queued' THEN 'cancelled' ELSE state END,
	       last_error = CASE WHEN state = 'queued'
	                         THEN 'its sender''s data was erased' ELSE last_error END
	 WHERE reply_to IN (SELECT id FROM inbox_messages WHERE sender = a.phone);
	-- Replies and digests to others still waiting (quiet hours, a send
	-- later) that quote it: GET, WHOIS, SEARCH and digests write
	-- "@handle: its words" ("@handle : " in French). Blanked and
	-- cancelled. A reply that only names it ("You now follow @x") and a
	-- DM that someone else wrote go on.
	UPDATE outbox o SET text = '(erased)', state = 'cancelled',
	       last_error = 'it quoted a member whose data was erased'
	 WHERE o.state = 'queued' AND o.post_id IS NULL AND o.class IN (0, 2)
	   AND o.text ~* ('(^|[^a-z0-9_])@' || a.handle || ' ?:')
	   AND (o.reply_to IS NULL OR EXISTS (SELECT 1 FROM inbox_messages i
	        WHERE i.id = o.reply_to AND i.sender = o.recipient));
	DELETE FROM accounts WHERE id = a.id;
	DELETE FROM inbox_messages WHERE sender = a.phone;
	GET DIAGNOSTICS n_in = ROW_COUNT;
	DELETE FROM inbox_parts WHERE sender_norm = a.phone;
	DELETE FROM status_reports WHERE recipient = a.phone;
	RETURN jsonb_build_object('handle', a.handle, 'posts', n_posts,
	    'inbox', n_in, 'outbox', n_out);
END $$;

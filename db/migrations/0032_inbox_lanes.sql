-- The inbox's waiting messages by sender: pigeon_inbox_fetch takes each
-- sender's oldest few in turn (db/functions/20_inbox.sql), one index probe
-- a sender that has any waiting, however many one of them has queued.
-- Every sender that is not a phone number (an operator's name, a short
-- code, an undecodable address: pigeon_apply only marks them ignored) is
-- one lane, '' (a phone number starts with +).
CREATE INDEX inbox_messages_lane ON inbox_messages
	((CASE WHEN sender_kind = 'e164' THEN sender ELSE '' END), id)
	WHERE state = 'new';

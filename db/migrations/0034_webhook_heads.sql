-- Webhooks in order, each callback with its event (60_api.sql).
-- A URL's deliveries not done, in the order they came: a configured URL
-- sends its first only (one waiting for its retry holds the later ones),
-- found by one probe however many wait behind a dead receiver.
CREATE INDEX webhook_deliveries_url_open ON webhook_deliveries (url, id)
	WHERE state IN ('pending', 'sending');
-- A message.state callback's status, parts, attempts and carrier statuses
-- as they were at the state change (pigeon_dlr_event): they were read
-- when the callback was posted, and a 'queued' tried again after the
-- message was delivered said its parts and attempts of then. NULL for a
-- callback queued before: it says the message as it is when posted.
ALTER TABLE webhook_deliveries ADD COLUMN msg_event jsonb;

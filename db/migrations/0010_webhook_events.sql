-- Webhooks (issue 14, item 10): a delivery carries an event, 'post' or
-- 'post.deleted'; deleting a post cancels its 'post' deliveries not yet
-- made (state 'cancelled') and queues a 'post.deleted' one per URL. The
-- claim goes URL by URL, so it gets an index that leads with the URL.
ALTER TABLE webhook_deliveries
	ADD COLUMN event text NOT NULL DEFAULT 'post'
	CHECK (event IN ('post', 'post.deleted'));
ALTER TABLE webhook_deliveries DROP CONSTRAINT webhook_deliveries_url_post_id_key;
ALTER TABLE webhook_deliveries ADD CONSTRAINT webhook_deliveries_url_post_event_key
	UNIQUE (url, post_id, event);
ALTER TABLE webhook_deliveries DROP CONSTRAINT webhook_deliveries_state_check;
ALTER TABLE webhook_deliveries ADD CONSTRAINT webhook_deliveries_state_check
	CHECK (state IN ('pending', 'sending', 'done', 'failed', 'cancelled'));
CREATE INDEX webhook_deliveries_url_ready ON webhook_deliveries (url, next_attempt_at, id)
	WHERE state = 'pending';

-- One queue per URL: the claim takes the URL (db/functions/60_api.sql).
DROP FUNCTION IF EXISTS pigeon_webhook_claim(text, integer, integer);

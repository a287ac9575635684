-- The business key that scheduled a post (POST /api/posts with send_at
-- and the account's key), so that revoking the key cancels its posts
-- still scheduled (pigeon_biz_key_revoke): a key is revoked because it
-- leaked, and what an attacker scheduled with it must not go out to
-- every follower. NULL: scheduled with an operator's token, or before
-- this migration (those are not cancelled with a key: docs/operator.md,
-- Upgrades, says how an operator reviews them). ON DELETE SET NULL: keys
-- go with their account, as its scheduled posts do; the post does not
-- hold a key's row.
ALTER TABLE scheduled_posts ADD COLUMN key_id bigint
	REFERENCES api_keys ON DELETE SET NULL;
-- A key's posts, read when it is revoked and when its account's keys
-- are deleted (an erased member).
CREATE INDEX scheduled_posts_key ON scheduled_posts (key_id)
	WHERE key_id IS NOT NULL;

-- A callback's receiver (the scheme, host and port of its dlr_url) on the
-- delivery itself, so that pigeond finds the receivers with callbacks
-- waiting by one probe each (pigeon_webhook_dlr_receivers) and claims a
-- receiver's next callback by one index scan (pigeon_webhook_claim_receiver,
-- 60_api.sql). Before, it listed every URL with a callback waiting and
-- claimed from all of them: a client putting its reference in the URL
-- makes one a message, and behind a receiver that was down, 100,000
-- callbacks waiting cost 160-190 ms a listing and a claim over 100,000
-- URLs, at every NOTIFY and tick, on the connection the sends use.

-- The receiver of a URL: lower-case scheme and host, and the port (80
-- when none is written), as pigeond grouped them (webhook.c); a URL
-- without a scheme and host (the API takes only http:// ones) is its own.
CREATE OR REPLACE FUNCTION pigeon_url_receiver(p_url text)
RETURNS text LANGUAGE sql IMMUTABLE STRICT AS $$
	SELECT coalesce((SELECT lower(m[1]) || '://' || lower(m[2]) || ':' ||
	                        coalesce(m[3]::integer, 80)
	                   FROM regexp_match(p_url,
	                       '^([A-Za-z][A-Za-z0-9+.-]*)://(?:[^@/?#]*@)?(\[[^]/?#]*\]|[^:/?#]+)(?::([0-9]{1,5}))?(?:[/?#]|$)') m),
	                p_url);
$$;

ALTER TABLE webhook_deliveries ADD COLUMN receiver text;
UPDATE webhook_deliveries SET receiver = pigeon_url_receiver(url)
 WHERE event = 'message.state' AND state IN ('pending', 'sending');
CREATE INDEX webhook_deliveries_receiver ON webhook_deliveries
	(receiver, next_attempt_at, id)
	WHERE state IN ('pending', 'sending') AND receiver IS NOT NULL;

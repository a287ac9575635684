-- The HTTP API: outbound webhooks (each new post POSTed to configured URLs,
-- retried from this queue), and the delivery time the metrics need.

-- Normally added by 0004 (delivery reports); kept here so the latency
-- histogram never depends on the order features land in.
ALTER TABLE outbox ADD COLUMN IF NOT EXISTS delivered_at timestamptz;

-- The URLs of [http] webhooks. Every pigeond sets active from its own
-- configuration at start, so hosts sharing a database list the same URLs.
CREATE TABLE webhook_targets (
	url		text PRIMARY KEY,
	active		boolean NOT NULL DEFAULT true,
	added_at	timestamptz NOT NULL DEFAULT now()
);

-- One row per post and target, made by a trigger on posts; the post is
-- POSTed until the receiver answers 2xx or the row is too old.
CREATE TABLE webhook_deliveries (
	id		bigserial PRIMARY KEY,
	url		text NOT NULL REFERENCES webhook_targets ON DELETE CASCADE,
	post_id		bigint NOT NULL REFERENCES posts ON DELETE CASCADE,
	state		text NOT NULL DEFAULT 'pending' CHECK (state IN
			('pending', 'sending', 'done', 'failed')),
	attempts	integer NOT NULL DEFAULT 0,
	next_attempt_at	timestamptz NOT NULL DEFAULT now(),
	lease_until	timestamptz,
	host		text,
	last_error	text,
	created_at	timestamptz NOT NULL DEFAULT now(),
	done_at		timestamptz,
	UNIQUE (url, post_id)
);
CREATE INDEX webhook_deliveries_ready ON webhook_deliveries (next_attempt_at, id)
	WHERE state = 'pending';
CREATE INDEX webhook_deliveries_leased ON webhook_deliveries (lease_until)
	WHERE state = 'sending';

-- Message search by status (GET /api/messages?status=).
CREATE INDEX outbox_state_id ON outbox (state, id);

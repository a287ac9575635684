-- The send API (issue 16): per-message options of POST /api/messages,
-- idempotency keys, and delivery-report callbacks (dlr_url) carried by
-- the webhook queue.

-- priority orders the rows of one class (higher first, 0 to 3 as Kannel
-- and Jasmin number them); via_link (the API's via; outbox.via is the
-- fan-out's follow/track) restricts a row to one link; valid_until
-- replaces the global validity for rows that set it (an API send: its
-- own validity, counted from its send_at); dlr_url gets a callback at
-- every state change.
ALTER TABLE outbox
	ADD COLUMN priority smallint NOT NULL DEFAULT 0 CHECK (priority BETWEEN 0 AND 3),
	ADD COLUMN via_link text,
	ADD COLUMN flash boolean NOT NULL DEFAULT false,
	ADD COLUMN valid_until timestamptz,
	ADD COLUMN dlr_url text;

-- The claim orders a class by priority first (pigeon_outbox_claim).
DROP INDEX outbox_ready;
CREATE INDEX outbox_ready ON outbox (class, priority DESC, next_attempt_at, id)
	WHERE state = 'queued';

-- An idempotency key names the answer of its first request for 24 hours:
-- a retry gets the same ids and queues nothing.
CREATE TABLE api_idempotency (
	key		text PRIMARY KEY,
	ids		bigint[] NOT NULL,
	created_at	timestamptz NOT NULL DEFAULT now()
);

-- A callback URL is a webhook target of its own kind: the configured
-- webhooks (kind 'webhook') are set active from the configuration at each
-- start; dlr targets are added by the sends that name them.
ALTER TABLE webhook_targets
	ADD COLUMN kind text NOT NULL DEFAULT 'webhook' CHECK (kind IN ('webhook', 'dlr'));

-- A 'message.state' delivery: one state change of one outbox row.
ALTER TABLE webhook_deliveries
	ALTER COLUMN post_id DROP NOT NULL,
	ADD COLUMN outbox_id bigint REFERENCES outbox ON DELETE CASCADE,
	ADD COLUMN msg_state text,
	ADD COLUMN msg_modem text,
	ADD COLUMN msg_detail text,
	ADD COLUMN msg_at timestamptz;
ALTER TABLE webhook_deliveries DROP CONSTRAINT webhook_deliveries_event_check;
ALTER TABLE webhook_deliveries ADD CONSTRAINT webhook_deliveries_event_check
	CHECK (event IN ('post', 'post.deleted', 'message.state'));
ALTER TABLE webhook_deliveries ADD CONSTRAINT webhook_deliveries_subject_check
	CHECK ((event = 'message.state') = (outbox_id IS NOT NULL AND post_id IS NULL));
CREATE INDEX webhook_deliveries_outbox ON webhook_deliveries (outbox_id)
	WHERE outbox_id IS NOT NULL;

-- GET /api/inbox?state= pages by id within a state.
CREATE INDEX inbox_messages_state_id ON inbox_messages (state, id);

-- Moderation (issue 16): a suspended account's messages are not applied
-- and it is sent nothing but the suspension notice. The partial index
-- keeps the check on every outbox and inbox insert to a probe of the few
-- suspended phones.
ALTER TABLE accounts ADD COLUMN suspended_at timestamptz;
CREATE INDEX accounts_suspended ON accounts (phone) WHERE suspended_at IS NOT NULL;

-- The status page's charts (issue 16): the queue and each link sampled
-- once a minute by a janitor job (pigeon_status_sample), kept 30 days.
CREATE TABLE status_samples (
	at		timestamptz NOT NULL DEFAULT now(),
	link		text NOT NULL DEFAULT '',	-- '': the queue
	queued		integer,
	sending		integer,
	oldest_s	double precision,
	signal_percent	integer,
	sms_sent	bigint,
	PRIMARY KEY (link, at)
);
CREATE INDEX status_samples_at ON status_samples (at);
-- Per-hour counts over 30 days read these by time.
CREATE INDEX outbox_sent_at ON outbox (sent_at) WHERE sent_at IS NOT NULL;
CREATE INDEX outbox_history_at ON outbox_history (at);
CREATE INDEX inbox_messages_received ON inbox_messages (received_at);

-- The claim takes the links that can send now and returns what the worker
-- needs of a row (db/functions/40_outbox.sql): a new signature.
DROP FUNCTION IF EXISTS pigeon_outbox_claim(text, integer, integer);

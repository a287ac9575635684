-- Pigeon's schema, version 1: accounts, follows, posts, the inbox, the
-- outbox with its history, modems, and the reply catalog.

CREATE TABLE accounts (
	id		bigserial PRIMARY KEY,
	phone		text NOT NULL UNIQUE CHECK (phone ~ '^\+[1-9][0-9]{6,14}$'),
	handle		text NOT NULL UNIQUE CHECK (handle ~ '^[a-z0-9_]{1,15}$'),
	name		text NOT NULL DEFAULT '',
	bio		text NOT NULL DEFAULT '',
	lang		text NOT NULL CHECK (lang IN ('en', 'fr', 'ar')),
	updates_on	boolean NOT NULL DEFAULT true,	-- ON / OFF
	created_at	timestamptz NOT NULL DEFAULT now()
);

-- STOP is kept per phone, member or not, and checked on every path.
CREATE TABLE optouts (
	phone		text PRIMARY KEY,
	since		timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE follows (
	followee	bigint NOT NULL REFERENCES accounts ON DELETE CASCADE,
	follower	bigint NOT NULL REFERENCES accounts ON DELETE CASCADE,
	sms		boolean NOT NULL DEFAULT true,	-- ON h / OFF h
	created_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (followee, follower)
);
CREATE INDEX follows_follower ON follows (follower);

-- One SMS part as read from a modem. The dedupe key makes a re-read of
-- the same stored SMS (after a crash before its deletion) a no-op.
CREATE TABLE inbox_parts (
	id		bigserial PRIMARY KEY,
	dedupe		text NOT NULL UNIQUE,
	modem		text NOT NULL,
	sender		text NOT NULL,		-- as the network gave it
	sender_norm	text NOT NULL,		-- E.164, short code or alphanumeric
	sender_kind	text NOT NULL CHECK (sender_kind IN ('e164', 'short', 'alpha', 'invalid')),
	smsc		text NOT NULL DEFAULT '',
	smsc_time	timestamptz,
	coding		text NOT NULL,
	text		text NOT NULL,
	concat_ref	integer,
	concat_total	integer,
	concat_seq	integer,
	received_at	timestamptz NOT NULL DEFAULT now(),
	message_id	bigint			-- set when joined into a message
);
CREATE INDEX inbox_parts_pending ON inbox_parts (sender_norm, concat_ref, concat_total)
	WHERE message_id IS NULL;

-- A whole incoming message: one part, or the parts of a concatenated SMS
-- joined in sequence order.
CREATE TABLE inbox_messages (
	id		bigserial PRIMARY KEY,
	modem		text NOT NULL,
	sender		text NOT NULL,
	sender_kind	text NOT NULL,
	text		text NOT NULL,
	parts		integer NOT NULL,
	complete	boolean NOT NULL DEFAULT true,
	received_at	timestamptz NOT NULL DEFAULT now(),
	state		text NOT NULL DEFAULT 'new'
			CHECK (state IN ('new', 'done', 'ignored', 'error')),
	command		text,
	result		text,			-- what was done, for operators
	processed_at	timestamptz
);
CREATE INDEX inbox_messages_new ON inbox_messages (id) WHERE state = 'new';

CREATE TABLE posts (
	id		bigserial PRIMARY KEY,
	account_id	bigint NOT NULL REFERENCES accounts ON DELETE CASCADE,
	text		text NOT NULL,
	inbox_id	bigint UNIQUE REFERENCES inbox_messages,
	created_at	timestamptz NOT NULL DEFAULT now(),
	deleted_at	timestamptz
);
CREATE INDEX posts_account ON posts (account_id, id DESC);

-- Outgoing SMS. class is the priority: 0 replies to commands, 1 operator
-- sends, 2 fan-out of posts.
CREATE TABLE outbox (
	id		bigserial PRIMARY KEY,
	recipient	text NOT NULL,
	text		text NOT NULL,
	class		smallint NOT NULL DEFAULT 0 CHECK (class BETWEEN 0 AND 2),
	state		text NOT NULL DEFAULT 'queued' CHECK (state IN
			('queued', 'sending', 'sent', 'failed', 'expired',
			 'delivered', 'undelivered', 'cancelled')),
	bypass_optout	boolean NOT NULL DEFAULT false,	-- only the STOP confirmation
	reply_key	text,			-- the catalog entry of a reply
	post_id		bigint REFERENCES posts ON DELETE SET NULL,
	reply_to	bigint REFERENCES inbox_messages,
	created_at	timestamptz NOT NULL DEFAULT now(),
	next_attempt_at	timestamptz NOT NULL DEFAULT now(),
	attempts	integer NOT NULL DEFAULT 0,
	lease_until	timestamptz,
	host		text,
	modem		text,
	parts		integer,
	refs		integer[],
	sent_at		timestamptz,
	last_error	text,
	UNIQUE (post_id, recipient)
);
CREATE INDEX outbox_ready ON outbox (class, next_attempt_at, id) WHERE state = 'queued';
CREATE INDEX outbox_leased ON outbox (lease_until) WHERE state = 'sending';
CREATE INDEX outbox_recipient ON outbox (recipient, id);

-- Every state change of an outbox row, written by a trigger.
CREATE TABLE outbox_history (
	id		bigserial PRIMARY KEY,
	outbox_id	bigint NOT NULL REFERENCES outbox ON DELETE CASCADE,
	at		timestamptz NOT NULL DEFAULT clock_timestamp(),
	state		text NOT NULL,
	modem		text,
	detail		text
);
CREATE INDEX outbox_history_msg ON outbox_history (outbox_id, id);

CREATE TABLE modems (
	name		text PRIMARY KEY,
	host		text NOT NULL,
	state		text NOT NULL CHECK (state IN
			('starting', 'online', 'offline', 'disabled', 'draining')),
	state_reason	text NOT NULL DEFAULT '',
	state_since	timestamptz NOT NULL DEFAULT now(),
	manufacturer	text NOT NULL DEFAULT '',
	model		text NOT NULL DEFAULT '',
	firmware	text NOT NULL DEFAULT '',
	imei		text NOT NULL DEFAULT '',
	imsi		text NOT NULL DEFAULT '',
	last_error	text NOT NULL DEFAULT '',
	sms_in		bigint NOT NULL DEFAULT 0,
	sms_sent	bigint NOT NULL DEFAULT 0,
	sms_failed	bigint NOT NULL DEFAULT 0,
	updated_at	timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE modem_history (
	id		bigserial PRIMARY KEY,
	modem		text NOT NULL,
	at		timestamptz NOT NULL DEFAULT now(),
	state		text NOT NULL,
	reason		text NOT NULL DEFAULT ''
);

-- Reply texts by language, loaded from the daemon's catalogs at start.
CREATE TABLE catalog (
	lang		text NOT NULL,
	key		text NOT NULL,
	text		text NOT NULL,
	PRIMARY KEY (lang, key)
);

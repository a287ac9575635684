-- Issue 17, items 1 and 2: business accounts, their API keys, posts
-- scheduled for a time, and the carrier of a number from its range.
-- The functions are in db/functions/67_business.sql.

-- Set by an operator (POST /api/users/HANDLE/business); NULL for members.
ALTER TABLE accounts ADD COLUMN business_since timestamptz;

-- A business account's API keys. The key itself is shown once, when it is
-- issued; the table keeps its SHA-256 (hex), and pigeond compares hashes
-- in constant time. The key names its row (pk_ID_SECRET), so a lookup is
-- by id, never by the secret.
CREATE TABLE api_keys (
	id		bigserial PRIMARY KEY,
	account_id	bigint NOT NULL REFERENCES accounts ON DELETE CASCADE,
	hash		text NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$'),
	label		text NOT NULL DEFAULT '',
	created_at	timestamptz NOT NULL DEFAULT now(),
	revoked_at	timestamptz
);
CREATE INDEX api_keys_account ON api_keys (account_id, id);

-- A post that leaves at send_at (POST /api/posts with "send_at"): a
-- janitor job posts the due ones (pigeon_biz_post_due), each once.
CREATE TABLE scheduled_posts (
	id		bigserial PRIMARY KEY,
	account_id	bigint NOT NULL REFERENCES accounts ON DELETE CASCADE,
	text		text NOT NULL,
	send_at		timestamptz NOT NULL,
	state		text NOT NULL DEFAULT 'scheduled'
			CHECK (state IN ('scheduled', 'posted', 'cancelled')),
	post_id		bigint REFERENCES posts ON DELETE SET NULL,
	created_at	timestamptz NOT NULL DEFAULT now(),
	done_at		timestamptz
);
CREATE INDEX scheduled_posts_due ON scheduled_posts (send_at, id)
	WHERE state = 'scheduled';
CREATE INDEX scheduled_posts_account ON scheduled_posts (account_id, id);

-- The carrier that a number range was allocated to, per country: the
-- longest prefix wins. Approximate: a number keeps its prefix when it is
-- ported to another carrier. Operators add their country's rows.
CREATE TABLE number_ranges (
	prefix		text PRIMARY KEY CHECK (prefix ~ '^\+[1-9][0-9]{0,9}$'),
	country		text NOT NULL,		-- calling code, e.g. '212'
	network		text NOT NULL
);

-- Morocco (+212), mobile ranges 06XX as allocated by the ANRT to the
-- three mobile operators (national 06XX is +2126XX).
INSERT INTO number_ranges (prefix, country, network)
SELECT '+2126' || p, '212', n
  FROM (VALUES
	('Maroc Telecom', ARRAY['10', '11', '13', '15', '16', '18', '41', '42', '48',
	    '50', '51', '52', '53', '54', '55', '58', '59', '61', '62', '66', '67',
	    '68', '70', '71', '72', '73', '76', '77', '78', '82', '89', '96', '97']),
	('Orange (Méditel)', ARRAY['12', '14', '17', '19', '44', '45', '49', '56',
	    '57', '60', '63', '64', '65', '69', '74', '75', '79', '84', '85', '88',
	    '91', '93', '94', '95', '99']),
	('inwi', ARRAY['00', '01', '02', '03', '04', '05', '06', '07', '08', '09',
	    '26', '27', '29', '30', '31', '32', '33', '34', '35', '38', '40', '46',
	    '47', '80', '81', '86', '87', '90', '92', '98'])
  ) AS r(n, ps), unnest(r.ps) AS p;
-- 07 ranges, opened from 2014.
INSERT INTO number_ranges (prefix, country, network)
SELECT '+2127' || p, '212', n
  FROM (VALUES
	('inwi', ARRAY['00', '01', '02', '03', '04', '05', '06', '07', '08']),
	('Maroc Telecom', ARRAY['60', '61', '62', '63', '64', '65', '66', '67', '68']),
	('Orange (Méditel)', ARRAY['70', '71', '72', '73', '74', '75', '76', '77', '78'])
  ) AS r(n, ps), unnest(r.ps) AS p;

-- Audience statistics read a follower's own SMS by sender and time
-- (inbox_messages_sender, 0003) and its follows by followee (the primary
-- key); the copies of a post by post_id (outbox's UNIQUE (post_id,
-- recipient)). A business account's posts, newest first: posts_account.

-- The audience breakdowns of a business account (languages, networks,
-- active hours: each a pass over every follower), kept a few minutes so
-- that a dashboard polling the statistics does not redo them each time
-- (pigeon_biz_stats says when they were computed). Recomputed when older,
-- when the follower count changed, or for another number of days.
CREATE TABLE business_audience (
	account_id	bigint PRIMARY KEY REFERENCES accounts ON DELETE CASCADE,
	days		integer NOT NULL,
	followers	bigint NOT NULL,
	computed_at	timestamptz NOT NULL DEFAULT now(),
	data		jsonb NOT NULL
);

-- Issue 13: a post's fan-out in chunks. The post's transaction makes the
-- copies of the first fanout_chunk followers (in follower id order) and
-- its trackers'; the rest is left here, and pigeond makes the next chunk,
-- each in a transaction of its own that moves `after`, until the row is
-- gone (pigeon_fanout_step, db/functions/35_updates.sql). Sending starts
-- once the first chunk is committed, instead of after the whole fan-out
-- (100,000 copies: one statement of 4 s), and a restart resumes where the
-- last committed chunk ended. A copy made twice is not possible: the
-- unique (post_id, recipient) absorbs a chunk made again.
CREATE TABLE fanouts (
	post_id		bigint PRIMARY KEY REFERENCES posts ON DELETE CASCADE,
	account_id	bigint NOT NULL,		-- the author
	author		text NOT NULL,			-- the handle the copies name
	cap		integer NOT NULL,		-- the copies' parts
	after		bigint NOT NULL,		-- the last follower done
	created_at	timestamptz NOT NULL DEFAULT now()
);

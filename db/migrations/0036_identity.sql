-- What makes this database itself, kept in it (one row, written by
-- pigeond at each start: pigeon_identity_check, 72_identity.sql):
--
-- feed_authority: the authority of the tag: ids of the Atom feeds and
-- their entries (tag:AUTHORITY,2026:pigeon/posts/ID). It was the host
-- name of the pigeond that served the feed, so two hosts behind one load
-- balancer gave one post two ids, and a move to a new host name changed
-- every id (feed readers showed every post again). It is now the host
-- name of the first pigeond that starts on the database, for good: an
-- existing install keeps the ids that host gave.
--
-- cluster_id, database_oid: the PostgreSQL cluster (its system
-- identifier) and database pigeond last started on. A dump restored
-- elsewhere carries the old ones: pigeond then knows its sequences are
-- at the dump's values and moves them past anything the old database may
-- have handed out since (pigeon_after_restore), rather than give a new
-- post, message or webhook delivery the id of one made after the dump.
CREATE TABLE pigeon_identity (
	one		boolean PRIMARY KEY DEFAULT true CHECK (one),
	feed_authority	text NOT NULL,
	cluster_id	bigint,
	database_oid	oid,
	moved_at	timestamptz	-- when the sequences were last moved on
);

-- The database's identity (0036_identity.sql): the Atom feeds' tag
-- authority, and where pigeond last started, to notice a restored dump.

-- Moves every sequence of Pigeon's tables (those owned by a column of a
-- table of the public schema) p_gap past the greater of its value and
-- its column's largest id: ids handed out by the database a dump came
-- from after the dump are never given again (docs/operator.md, "Backup
-- and restore"). The default, 10^12, is more than a service handing out
-- 10,000 ids a second would use in three years, and leaves ids below 2^53
-- (JSON readers that keep numbers as doubles) for thousands of restores.
-- A sequence closer than two gaps to its column type's largest value
-- moves half the way there, never past it. Run it once, after the
-- restore and before pigeond starts (pigeond runs it itself when it sees
-- the database is not the one it last started on); it records this
-- database as the one pigeond last started on. One row per sequence:
-- its last value before and after.
CREATE OR REPLACE FUNCTION pigeon_after_restore(p_gap bigint DEFAULT 1000000000000)
RETURNS TABLE (sequence_name text, last_before bigint, last_after bigint)
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	r record;
	top bigint;
	lim bigint;
BEGIN
	IF p_gap IS NULL OR p_gap < 1 THEN
		RAISE EXCEPTION 'pigeon_after_restore: the gap must be 1 or more';
	END IF;
	FOR r IN
		SELECT s.oid::regclass AS seq, t.oid::regclass AS tbl, a.attname AS col,
		       least(q.seqmax, CASE a.atttypid WHEN 'int2'::regtype THEN 32767
		                                       WHEN 'int4'::regtype THEN 2147483647
		                                       ELSE 9223372036854775807 END) AS lim
		  FROM pg_class s
		  JOIN pg_sequence q ON q.seqrelid = s.oid
		  JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = s.oid
		                  AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
		  JOIN pg_class t ON t.oid = d.refobjid
		  JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
		 WHERE s.relkind = 'S' AND s.relnamespace = 'public'::regnamespace
		   AND q.seqincrement > 0
		 ORDER BY s.relname
	LOOP
		EXECUTE format('SELECT greatest((SELECT last_value FROM %s), '
		    '(SELECT max(%I) FROM %s))', r.seq, r.col, r.tbl) INTO top;
		lim := r.lim;
		IF top >= lim THEN
			RAISE WARNING 'pigeon_after_restore: % is at its largest value', r.seq;
			CONTINUE;
		END IF;
		sequence_name := r.seq::text;
		last_before := top;
		last_after := top + least(p_gap, greatest((lim - top) / 2, 1));
		PERFORM setval(r.seq, last_after, true);
		RETURN NEXT;
	END LOOP;
	UPDATE pigeon_identity
	   SET cluster_id = pigeon_cluster_id(),
	       database_oid = (SELECT oid FROM pg_database WHERE datname = current_database()),
	       moved_at = now();
END $$;

-- The cluster's system identifier; NULL where pg_control_system() is not
-- granted (some hosted PostgreSQL): the database's oid alone then tells.
CREATE OR REPLACE FUNCTION pigeon_cluster_id()
RETURNS bigint LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
	RETURN (SELECT system_identifier FROM pg_control_system());
EXCEPTION WHEN insufficient_privilege THEN
	RETURN NULL;
END $$;

-- pigeond's start (migrate.c, under its set-up lock, before anything is
-- handed out): the first start on a database keeps p_host as the feeds'
-- tag authority and where it runs; a later one on another cluster or
-- database (a dump restored, a copy of the database, a pg_upgrade)
-- moves the sequences on (pigeon_after_restore). {"authority", "moved":
-- the sequences moved, 0 when none}.
CREATE OR REPLACE FUNCTION pigeon_identity_check(p_host text)
RETURNS jsonb LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	i pigeon_identity;
	me bigint := pigeon_cluster_id();
	db oid := (SELECT oid FROM pg_database WHERE datname = current_database());
	moved integer := 0;
BEGIN
	SELECT * INTO i FROM pigeon_identity FOR UPDATE;
	IF NOT FOUND THEN
		INSERT INTO pigeon_identity (feed_authority, cluster_id, database_oid)
		VALUES (p_host, me, db) RETURNING * INTO i;
	ELSIF i.database_oid IS DISTINCT FROM db
	   OR (me IS NOT NULL AND i.cluster_id IS NOT NULL AND i.cluster_id <> me) THEN
		SELECT count(*) INTO moved FROM pigeon_after_restore();
	ELSIF i.cluster_id IS NULL AND me IS NOT NULL THEN
		UPDATE pigeon_identity SET cluster_id = me;
	END IF;
	RETURN jsonb_build_object('authority', i.feed_authority, 'moved', moved);
END $$;

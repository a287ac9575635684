-- The settings' defaults live once, in pigeond (issue 12): the SQL
-- functions that read a setting take no default any more.
DROP FUNCTION IF EXISTS pigeon_setting(text, text);
DROP FUNCTION IF EXISTS pigeon_setting_int(text, integer);

-- Every PL/pgSQL function of pigeond runs with its own search_path (issue
-- 14, item 12): those of db/functions/ say so where they are created; this
-- one lives in a migration.
ALTER FUNCTION pigeon_follow_event() SET search_path = public, pg_temp;

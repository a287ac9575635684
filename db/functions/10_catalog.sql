-- The reply catalog, loaded from gateway/catalog/*.json at every start.
--
-- pigeond applies every file of db/functions/ at every start, in name
-- order, after the migrations and under the same advisory lock; they hold
-- only CREATE OR REPLACE statements. Every unit of work is one statement
-- and one transaction calling one of these functions.

CREATE OR REPLACE FUNCTION pigeon_catalog_load(p_catalog jsonb)
RETURNS integer LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	n integer;
BEGIN
	DELETE FROM catalog;
	INSERT INTO catalog (lang, key, text)
	SELECT l.key, e.key, e.value
	  FROM jsonb_each(p_catalog) l, jsonb_each_text(l.value) e;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END $$;

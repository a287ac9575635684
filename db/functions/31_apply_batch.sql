-- Many parsed messages in one transaction: pigeond's inbound path applies
-- a fetch's worth at once, so a burst costs one round trip and one commit
-- (one WAL flush) instead of one per message. Same order, same effects as
-- calling pigeon_apply for each in turn. If any fails, the whole batch is
-- rolled back and pigeond applies the messages one at a time instead, so a
-- bad message still fails alone.
-- p_batch: [{"id": inbox id, "cmd": the object pigeon_apply takes}, ...]
CREATE OR REPLACE FUNCTION pigeon_apply_batch(p_batch jsonb)
RETURNS TABLE (id bigint, result text)
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
	e jsonb;
BEGIN
	FOR e IN SELECT x FROM jsonb_array_elements(p_batch) AS t(x) LOOP
		id := (e->>'id')::bigint;
		result := pigeon_apply(id, e->'cmd');
		RETURN NEXT;
	END LOOP;
END $$;

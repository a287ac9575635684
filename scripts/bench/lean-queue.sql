-- A sketch for measuring, not Pigeon's schema: how much of PostgreSQL's
-- CPU a 100,000-copy fan-out over a bind would take if the send path
-- wrote each message as little as it can (docs/performance.md, "What the
-- line would take"). Copies appended to a queue with its primary key
-- only, claims as a cursor over it (one row a claim, no write a message),
-- an outcome one row of a log with the SMSC's id indexed, a receipt a HOT
-- update of that row. The batch sizes are the bench's: claims of 300,
-- outcomes of 170, receipts of 50, a commit each; the JSON the batches
-- carry is built in the same backend, so its cost is counted too. Prints
-- the backend's CPU ticks (1/100 s) before and after each phase: t1-t0
-- the fan-out, t2-t1 the claims, t3-t2 the outcomes, t4-t3 the receipts.
-- Leaves out what Pigeon does besides: history, metrics, opt-outs, the
-- per-phone order, status_reports, parts, retries.
--
-- In a scratch database of a cluster from scripts/pg:
--   psql -X -d postgres -c "CREATE DATABASE lean"
--   PGOPTIONS="-c jit=off" psql -X -At -d lean -f scripts/bench/lean-queue.sql
\set QUIET on
CREATE TABLE IF NOT EXISTS q (id bigserial PRIMARY KEY, recipient text NOT NULL,
  text text NOT NULL, class smallint NOT NULL DEFAULT 2, post_id bigint,
  created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE IF NOT EXISTS sent (id bigint PRIMARY KEY, link text NOT NULL,
  message_id text NOT NULL, sent_at timestamptz NOT NULL DEFAULT now(),
  status smallint, reported_at timestamptz) WITH (fillfactor = 70);
CREATE INDEX IF NOT EXISTS sent_mid ON sent (link, message_id);
CREATE TABLE IF NOT EXISTS claims (id bigserial PRIMARY KEY, host text, upto bigint,
  at timestamptz DEFAULT now());
SELECT pg_backend_pid() AS pid \gset
\o /tmp/proto.pid
SELECT :pid;
\o
TRUNCATE q, sent, claims RESTART IDENTITY;
CHECKPOINT;
\! awk '{print "t0", $14+$15}' /proc/$(tr -d ' \n' < /tmp/proto.pid)/stat
DO $$ BEGIN
FOR k IN 0..19 LOOP
  INSERT INTO q (recipient, text, post_id)
  SELECT '+2126600' || lpad(i::text, 5, '0'), '@u0: the bench post over SMPP', 1
    FROM generate_series(k * 5000, k * 5000 + 4999) i;
  COMMIT;
END LOOP; END $$;
\! awk '{print "t1", $14+$15}' /proc/$(tr -d ' \n' < /tmp/proto.pid)/stat
DO $$ DECLARE cur bigint := 0; got bigint; n int; BEGIN
LOOP
  SELECT max(id), count(*) INTO got, n FROM (SELECT id, recipient, text FROM q WHERE id > cur ORDER BY id LIMIT 300) x;
  EXIT WHEN n = 0;
  INSERT INTO claims (host, upto) VALUES ('h', got);
  COMMIT;
  cur := got;
END LOOP; END $$;
\! awk '{print "t2", $14+$15}' /proc/$(tr -d ' \n' < /tmp/proto.pid)/stat
DO $$ DECLARE j jsonb; BEGIN
FOR k IN 0..(100000/170) LOOP
  SELECT jsonb_agg(jsonb_build_object('id', id, 'link', 'carrier', 'outcome', 'sent', 'parts', 1, 'ids', jsonb_build_array(to_hex(id + 1000000))))
    INTO j FROM generate_series(k * 170 + 1, least(k * 170 + 170, 100000)) id;
  EXIT WHEN j IS NULL;
  INSERT INTO sent (id, link, message_id)
  SELECT (e->>'id')::bigint, e->>'link', e->'ids'->>0 FROM jsonb_array_elements(j) e;
  COMMIT;
END LOOP; END $$;
\! awk '{print "t3", $14+$15}' /proc/$(tr -d ' \n' < /tmp/proto.pid)/stat
DO $$ DECLARE j jsonb; BEGIN
FOR k IN 0..(100000/50) LOOP
  SELECT jsonb_agg(jsonb_build_object('link', 'carrier', 'recipient', '+212660', 'message_id', to_hex(id + 1000000), 'keys', jsonb_build_array(to_hex(id + 1000000), (id + 1000000)::text), 'status', 0, 'stat', 'DELIVRD', 'err', '000', 'dedupe', 'r-' || id))
    INTO j FROM generate_series(k * 50 + 1, least(k * 50 + 50, 100000)) id;
  EXIT WHEN j IS NULL;
  UPDATE sent s SET status = 0, reported_at = now()
    FROM jsonb_array_elements(j) e
   WHERE s.link = e->>'link' AND s.message_id = e->>'message_id';
  COMMIT;
END LOOP; END $$;
\! awk '{print "t4", $14+$15}' /proc/$(tr -d ' \n' < /tmp/proto.pid)/stat
SELECT count(*) FILTER (WHERE status = 0) AS delivered, count(*) FROM sent;

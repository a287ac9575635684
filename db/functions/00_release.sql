-- The release of db/functions/: a serial that grows with every change of
-- these files, and the SHA-256 of the others (their contents, in name
-- order) it was given for. tests/reliability/check-functions fails when
-- they changed and this did not: `scripts/functions-release` bumps it.
--
-- pigeond reads the database's serial before it installs its functions:
-- a pigeond with an older set (a host not yet upgraded, on the same
-- schema version: most changes of these files come without a migration)
-- refuses to start, rather than putting its functions over the newer
-- ones, which the newer hosts would then run (docs/operator.md, Upgrades).
-- pigeond installs this file after the others, whatever its name.
--
-- functions sha256: 4f74cfc9533bfbd5bb6d78baad785a61fa321cb5a57094893fe6460c8e41fd74
CREATE OR REPLACE FUNCTION pigeon_functions_serial()
RETURNS integer LANGUAGE sql IMMUTABLE AS $$ SELECT 100 $$;

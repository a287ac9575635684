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
-- functions sha256: 7a4ec7549b79d80d5780691687d1ccedcd2e13a3508e2effa3b603cb4cacc109
CREATE OR REPLACE FUNCTION pigeon_functions_serial()
RETURNS integer LANGUAGE sql IMMUTABLE AS $$ SELECT 102 $$;

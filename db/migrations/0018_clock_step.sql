-- Issue 18: the database server's clock stepped back. The latest now()
-- pigeond's clock job saw (pigeon_clock_check, db/functions/39_clock.sql):
-- a now() well behind it is a step back, and the rows timed by the clock
-- before the step are brought back to it. One row.
CREATE TABLE clock_high_water (
	one		boolean PRIMARY KEY DEFAULT true CHECK (one),
	seen_at		timestamptz NOT NULL
);

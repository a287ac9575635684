-- The links that refused a message for a reason of their own (an SMPP
-- bind's source address or TON/NPI, an "invalid destination" from a
-- carrier that does not reach a ported number: pigeon_outbox_refused,
-- 40_outbox.sql): the scheduler never hands it to them again, the claim
-- skips it while every link that could take it now did, and it fails
-- only when no link is left. NULL: none (every row before this one, and
-- nearly every row after: no bytes for a fan-out's copies). No table is
-- rewritten; a host of the schema before never writes it.
ALTER TABLE outbox ADD COLUMN refused_by text[];

-- When the phone sent an incoming message: the SMSC's time stamp (SCTS)
-- of its first part, as the parts keep it (inbox_parts.smsc_time).
-- received_at is when Pigeon stored it: behind a database outage, or for
-- a long SMS processed incomplete after concat_timeout, minutes later,
-- and the desk read it as the time the phone texted. NULL when the SMSC
-- gave no time (an SMPP deliver_sm carries none) and for the messages
-- stored before this migration. A new nullable column: no table rewrite,
-- and an older pigeond's inserts leave it NULL.
ALTER TABLE inbox_messages ADD COLUMN sent_at timestamptz;

-- A link's state changes by time: an SMPP part whose key was seen in the
-- last 15 minutes is a redelivery only if its link went down since
-- (pigeon_inbox_store), one probe of this index.
CREATE INDEX modem_history_modem_at ON modem_history (modem, at);

-- The parts of long SMS by group and place, joined or not: a late copy of
-- a part already joined is found by it (pigeon_inbox_expire). Single-part
-- SMS, most of them, are not in it.
CREATE INDEX inbox_parts_group ON inbox_parts
	(sender_norm, concat_ref, concat_total, concat_seq)
	WHERE concat_total > 1;

-- Whether a scheduled post's text goes out as UCS-2 (else GSM-7), as
-- libgammu answered pigeond when it was scheduled: its fan-out takes
-- fanout_parts_ucs2 or fanout_parts_gsm parts, as a post made at once.
-- Before, every scheduled (and API) post took the UCS-2 cap. NULL (rows
-- scheduled before this column): pigeon_biz_post_due estimates it from
-- the text (pigeon_digest_gsm7).
ALTER TABLE scheduled_posts ADD COLUMN ucs2 boolean;

-- What an idempotency key answered, and a message's own validity.
--
-- api_idempotency.answer: the first request's answer, for a route whose
-- answer is more than ids (POST /api/posts: a post's id, or a scheduled
-- post's id and time). NULL for POST /api/messages, which answers its
-- ids, and for keys stored before this migration.
--
-- outbox.validity_s: the validity an API send asked for (or the default
-- it got), in seconds from when it was due: what its expiry says, not
-- [pigeon] validity. NULL for everything else and for rows from before
-- this migration.
ALTER TABLE api_idempotency ADD COLUMN answer jsonb;
ALTER TABLE outbox ADD COLUMN validity_s integer;

-- Who queued an API send, and what an idempotency key was first used for.
--
-- outbox.sent_by: the name of the token that queued a message through
-- POST /api/messages (NULL for everything else and for sends from before
-- this migration). A send token cancels its own sends only: with two
-- clients holding send tokens, one could cancel the other's messages.
--
-- api_idempotency.request: a digest of the first request's body. The
-- same key with another body is refused instead of answered with the
-- first request's ids, which a client would take as its new message
-- queued. NULL for keys stored before this migration: those replay.
ALTER TABLE outbox ADD COLUMN sent_by text;
ALTER TABLE api_idempotency ADD COLUMN request text;

-- Who queued an API send, what an idempotency key was first used for, and
-- when a delivery was first tried.
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
--
-- webhook_deliveries.first_tried_at: when a delivery was first posted. A
-- message's callback waits while an earlier one of its message waits for
-- a retry; its day of retries counts from its own first attempt, not from
-- when it was queued (a callback held a day behind a refused one had
-- one try left).
ALTER TABLE outbox ADD COLUMN sent_by text;
ALTER TABLE api_idempotency ADD COLUMN request text;
ALTER TABLE webhook_deliveries ADD COLUMN first_tried_at timestamptz;

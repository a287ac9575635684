-- Deleting a post (a member erased) cascades to its webhook deliveries,
-- which no index found by post_id (the unique one starts with the URL):
-- each post deleted was a scan of the whole table, while the erase held
-- the locks of every copy it had blanked.
CREATE INDEX webhook_deliveries_post ON webhook_deliveries (post_id)
	WHERE post_id IS NOT NULL;

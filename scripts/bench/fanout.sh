# Workload 4, fan-out: one post to F followers (default 100,000) until the
# outbox holds every row, through pigeon_apply (the statement pigeond runs
# for a texted post). Baseline: the bare INSERT ... SELECT of the same rows
# into the same table, in the same database: the physical limit.

bench_fanout() {
	F=${BENCH_FOLLOWERS:-100000}
	db=$(new_db bench_fanout)
	pigeon_schema "$db"
	members "$db" $((F + 1))
	psql_q "$db" "INSERT INTO follows (followee, follower)
	    SELECT (SELECT id FROM accounts WHERE handle = 'u0'), id
	    FROM accounts WHERE handle <> 'u0'" >/dev/null
	psql_q "$db" "VACUUM ANALYZE" >/dev/null

	# Baseline first, then removed, so both insert into the same table the
	# same rows (same columns, a post of its own for the foreign key).
	bp=$(psql_q "$db" "INSERT INTO posts (account_id, text)
	    SELECT id, 'the bench post' FROM accounts WHERE handle = 'u0' RETURNING id")
	t0=$(now)
	psql_q "$db" "INSERT INTO outbox (recipient, text, class, post_id, max_parts, more, next_attempt_at)
	    SELECT a.phone, '@u0: the bench post', 2, $bp, 1, '… GET u0', now()
	    FROM follows f JOIN accounts a ON a.id = f.follower
	    WHERE f.followee = (SELECT id FROM accounts WHERE handle = 'u0')" >/dev/null
	t1=$(now)
	psql_q "$db" "DELETE FROM outbox_history; DELETE FROM outbox; DELETE FROM posts" >/dev/null
	psql_q "$db" "VACUUM ANALYZE outbox" >/dev/null

	msg=$(psql_q "$db" "INSERT INTO inbox_messages (modem, sender, sender_kind, text, parts)
	    VALUES ('bench', '+212660000000', 'e164', 'the bench post', 1) RETURNING id")
	t2=$(now)
	psql_q "$db" "SELECT pigeon_apply($msg, '{\"cmd\": \"post\", \"text\": \"the bench post\", \"ucs2\": false}')" >/dev/null
	t3=$(now)
	n=$(psql_q "$db" "SELECT count(*) FROM outbox WHERE class = 2")
	if [ "$n" -ne "$F" ]; then
		echo "bench: fan-out made $n rows, not $F" >&2
		return 1
	fi
	tb=$(elapsed "$t0" "$t1")
	tp=$(elapsed "$t2" "$t3")
	# Time in seconds: lower is better, so the ratio is baseline / pigeon.
	result fanout "s" "$tp" "$tb" "$(calc "$tb / $tp")" ">= 0.67 (within 1.5x)"
}

# Workload 2, dispatch: N queued messages (BENCH_N) over 4 dummy modems
# until every one is reported sent. Baseline: gammu-smsd (4 processes,
# native_pgsql, same tuning as ingest) from its outbox to its sentitems, on
# BENCH_SMSD_SEND messages (default 200: it is slow; the ratio is of rates).

dispatch_pigeon() {
	pigeon_dummies dispatch 10000
	t0=$(now)
	psql_q "$db" "INSERT INTO outbox (recipient, text, class)
	    SELECT format('+2126601%s', lpad(i::text, 5, '0')), 'bench dispatch ' || i, 1
	    FROM generate_series(1, $BENCH_N) i" >/dev/null
	wait_count "$db" "SELECT count(*) FROM outbox WHERE state = 'sent'" "$BENCH_N" 600
	t1=$(now)
	kill -TERM $pid; wait $pid || true
	elapsed "$t0" "$t1"
}

dispatch_smsd() {
	n=$1
	db=$(new_db bench_smsd_dispatch)
	psql -X -q "$db" -f /usr/share/doc/gammu-smsd/examples/pgsql.sql >/dev/null 2>&1
	pids=""
	for i in 0 1 2 3; do
		d=$BENCH_VAR/dispatch/smsd$i
		rm -rf "$d"; mkdir -p "$d/sms/1"
		pids="$pids $(smsd_start "$d" bench_smsd_dispatch smsd$i)"
	done
	t0=$(now)
	psql_q "$db" "INSERT INTO outbox (\"DestinationNumber\", \"TextDecoded\", \"CreatorID\")
	    SELECT format('+2126601%s', lpad(i::text, 5, '0')), 'bench dispatch ' || i, 'bench'
	    FROM generate_series(1, $n) i" >/dev/null
	wait_count "$db" "SELECT count(*) FROM sentitems" "$n" 900
	t1=$(now)
	for p in $pids; do kill -TERM "$p" 2>/dev/null || true; done
	elapsed "$t0" "$t1"
}

bench_dispatch() {
	ns=${BENCH_SMSD_SEND:-200}
	[ "$ns" -le "$BENCH_N" ] || ns=$BENCH_N
	tp=$(dispatch_pigeon)
	ts=$(dispatch_smsd "$ns")
	rp=$(calc "$BENCH_N / $tp")
	rs=$(calc "$ns / $ts")
	result dispatch "SMS/s" "$rp" "$rs" "$(calc "$rp / $rs")" ">= 50"
}

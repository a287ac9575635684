# Workload 1, ingest: N SMS spread over 4 dummy modems until every one is a
# committed post; baseline: gammu-smsd with its PostgreSQL backend on the
# same dummy setup (ReceiveFrequency 0, LoopSleep 0) until every SMS is a
# row of its inbox. gammu-smsd slows down with the size of its backlog
# (20,000 SMS took it over ten minutes), so it gets BENCH_SMSD_N (default
# 4,000) and the ratio compares rates: this favours the baseline.

# Senders: at most 4 SMS each, under the default rate limit (10 a minute),
# so every SMS becomes a post.
ingest_senders() {
	s=$((BENCH_N / 4))
	[ "$s" -ge 1000 ] || s=1000
	echo "$s"
}

ingest_pigeon() {
	db=$(new_db bench_ingest)
	pigeon_schema "$db"
	members "$db" "$(ingest_senders)"
	conf=$BENCH_VAR/ingest.conf
	printf '[database]\nconninfo = %s\n[http]\nlisten = 127.0.0.1:%s\n' "$db" "$BENCH_HTTP" >"$conf"
	per=$((BENCH_N / 4))
	for i in 0 1 2 3; do
		d=$BENCH_VAR/ingest/pigeon$i
		rm -rf "$d"
		dummy_inbox "$d" $((i * per)) $per "$(ingest_senders)" pigeon
		printf '[modem dummy%d]\ndevice = %s\nconnection = none\nmodel = dummy\npoll_ms = 10\n' $i "$d" >>"$conf"
	done
	t0=$(now)
	"$BENCH_BIN/pigeond" ${BENCH_PIGEOND_FLAGS:-} -c "$conf" >"$BENCH_VAR/ingest-pigeond.log" 2>&1 &
	p=$!
	wait_count "$db" "SELECT count(*) FROM posts" $((per * 4)) 600
	t1=$(now)
	kill -TERM $p; wait $p || true
	elapsed "$t0" "$t1"
}

ingest_smsd() {
	n=$1
	db=$(new_db bench_smsd_ingest)
	psql -X -q "$db" -f /usr/share/doc/gammu-smsd/examples/pgsql.sql >/dev/null 2>&1
	per=$((n / 4))
	pids=""
	for i in 0 1 2 3; do
		d=$BENCH_VAR/ingest/smsd$i
		rm -rf "$d"
		dummy_inbox "$d" $((i * per)) $per "$(ingest_senders)" smsd
	done
	t0=$(now)
	for i in 0 1 2 3; do
		pids="$pids $(smsd_start "$BENCH_VAR/ingest/smsd$i" bench_smsd_ingest smsd$i)"
	done
	wait_count "$db" "SELECT count(*) FROM inbox" $((per * 4)) 900
	t1=$(now)
	for p in $pids; do kill -TERM "$p" 2>/dev/null || true; done
	elapsed "$t0" "$t1"
}

bench_ingest() {
	ns=${BENCH_SMSD_N:-4000}
	[ "$ns" -le "$BENCH_N" ] || ns=$BENCH_N
	tp=$(ingest_pigeon)
	ts=$(ingest_smsd "$ns")
	rp=$(calc "$BENCH_N / $tp")
	rs=$(calc "$((ns / 4 * 4)) / $ts")
	result ingest "SMS/s" "$rp" "$rs" "$(calc "$rp / $rs")" ">= 10"
}

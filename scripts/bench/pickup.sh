# Workload 3, pickup latency under light load: BENCH_PICKUP messages
# (default 200), one every 20 ms, each committed by its own INSERT, over 4
# dummy modems. Pigeon's figure is sent_at - created_at: created_at is the
# INSERT's transaction start and sent_at is set by the transaction that
# records the send, after the modem process's send call returned, so it is
# an upper bound of "committed to the send call". Baseline: gammu-smsd with
# its fastest settings (as ingest), one message at a time, timed by the
# script from the INSERT to its row in sentitems (its own time stamps have
# a one-second resolution); BENCH_PICKUP_SMSD messages (default 3: its
# outbox is read every CommTimeout, 30 s by default), then
# BENCH_PICKUP_SMSD_FAST (default 20) with CommTimeout 0, its fastest.
# The dummy modems list their SMS every 10 s only: a dummy listing probes
# 50,000 file names (~150 ms) during which that worker cannot start a send,
# an artefact of the dummy driver (an AT listing costs ~1 ms an SMS).

pickup_pigeon() {
	pigeon_dummies pickup 10000
	# Steady state: each worker lists its modem as soon as it is online,
	# then sends its first `health`. A dummy listing is one libgammu call
	# (the last GSM_GetNextSMS probes up to 50,000 file names, 150-450 ms
	# on this machine) that no send can interrupt: start once every modem
	# is past it (BENCH_PICKUP_AT_START=1 measures from start-up instead).
	[ -n "${BENCH_PICKUP_AT_START:-}" ] ||
	    wait_count "$db" "SELECT count(*) FROM modems WHERE health_at IS NOT NULL" 4 60
	n=${BENCH_PICKUP:-200}
	# BENCH_PICKUP_INBOX=N: N stored SMS per modem (from members, so no
	# replies), the load starting with their listing: a send waits for
	# one read of a listing, not for all of it.
	if [ -n "${BENCH_PICKUP_INBOX:-}" ]; then
		members "$db" "$BENCH_PICKUP_INBOX"
		for i in 0 1 2 3; do
			dummy_inbox "$BENCH_VAR/pickup/pigeon$i" $((i * BENCH_PICKUP_INBOX)) \
			    "$BENCH_PICKUP_INBOX" "$BENCH_PICKUP_INBOX" stored
		done
		wait_count "$db" "SELECT count(*) FROM inbox_parts" 1 30
	fi
	# One psql, one autocommit INSERT every 20 ms.
	awk -v n="$n" 'BEGIN { for (i = 1; i <= n; i++) {
		printf "INSERT INTO outbox (recipient, text, class) VALUES (%s, %s, 1);\n",
		    "'"'"'+21266020" sprintf("%04d", i) "'"'"'", "'"'"'pickup " i "'"'"'"
		print "SELECT pg_sleep(0.02);" } }' |
	    psql -X -q -A -t "$db" >/dev/null
	wait_count "$db" "SELECT count(*) FROM outbox WHERE state = 'sent'" "$n" 120
	psql_q "$db" "SELECT round((percentile_cont(0.5) WITHIN GROUP (ORDER BY l))::numeric, 1)
	    || ' ' || round((percentile_cont(0.99) WITHIN GROUP (ORDER BY l))::numeric, 1)
	    FROM (SELECT extract(epoch FROM sent_at - created_at) * 1000 AS l FROM outbox) x"
	# The slowest, split into waiting for the claim and the send after it.
	psql -X -q "$db" -c "SELECT o.id, o.modem, o.created_at::time AS created,
	    round(extract(epoch FROM h.at - o.created_at)::numeric * 1000, 1) AS claim_ms,
	    round(extract(epoch FROM o.sent_at - h.at)::numeric * 1000, 1) AS send_ms
	    FROM outbox o JOIN outbox_history h ON h.outbox_id = o.id AND h.state = 'sending'
	    ORDER BY o.sent_at - o.created_at DESC LIMIT 8" >"$BENCH_VAR/pickup/slowest.txt" 2>&1 || true
	kill -TERM $pid; wait $pid || true
}

# pickup_smsd N [SMSD_LINE...]: N messages through one gammu-smsd; prints
# p50 and p99 in ms.
pickup_smsd() {
	n=$1
	shift
	db=$(new_db bench_smsd_pickup)
	psql -X -q "$db" -f /usr/share/doc/gammu-smsd/examples/pgsql.sql >/dev/null 2>&1
	d=$BENCH_VAR/pickup/smsd0
	rm -rf "$d"; mkdir -p "$d/sms/1"
	s=$(smsd_start "$d" bench_smsd_pickup smsd0 "$@")
	i=1
	: >"$BENCH_VAR/pickup/smsd.ms"
	while [ $i -le "$n" ]; do
		t0=$(now)
		psql_q "$db" "INSERT INTO outbox (\"DestinationNumber\", \"TextDecoded\", \"CreatorID\")
		    VALUES ('+2126603$i', 'pickup $i', 'bench')" >/dev/null
		wait_count "$db" "SELECT count(*) FROM sentitems" "$i" 120 || break
		t1=$(now)
		awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f\n", (b - a) * 1000 }' >>"$BENCH_VAR/pickup/smsd.ms"
		i=$((i + 1))
	done
	kill -TERM "$s" 2>/dev/null || true
	sort -n "$BENCH_VAR/pickup/smsd.ms" | awk '{ v[NR] = $1 }
	    END { p50 = v[int((NR + 1) * 0.5)]; p99 = v[NR - int(NR * 0.01)]; print p50, p99 }'
}

bench_pickup() {
	set -- $(pickup_pigeon)
	p50=$1 p99=$2
	set -- $(pickup_smsd "${BENCH_PICKUP_SMSD:-3}")
	s50=$1 s99=$2
	result pickup-p50 "ms" "$p50" "$s50" "$(calc "$s50 / $p50")" ""
	result pickup-p99 "ms" "$p99" "$s99" "$(calc "$s99 / $p99")" "< 50 ms"
	# gammu-smsd at its fastest: its outbox read at every loop
	# (CommTimeout 0; LoopSleep is already 0).
	set -- $(pickup_smsd "${BENCH_PICKUP_SMSD_FAST:-20}" "commtimeout = 0")
	s50=$1 s99=$2
	result pickup-p50-fast "ms" "$p50" "$s50" "$(calc "$s50 / $p50")" ""
	result pickup-p99-fast "ms" "$p99" "$s99" "$(calc "$s99 / $p99")" "< 50 ms"
}

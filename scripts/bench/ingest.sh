# Workload 1, ingest: N SMS spread over 4 dummy modems until every one is a
# committed post; baseline: gammu-smsd with its PostgreSQL backend on the
# same dummy setup (ReceiveFrequency 0, LoopSleep 0) until every SMS is a
# row of its inbox.

ingest_pigeon() {
	db=$(new_db bench_ingest)
	pigeon_schema "$db"
	members "$db" 1000
	conf=$BENCH_VAR/ingest.conf
	printf '[database]\nconninfo = %s\n[http]\nlisten = 127.0.0.1:%s\n' "$db" "$BENCH_HTTP" >"$conf"
	per=$((BENCH_N / 4))
	for i in 0 1 2 3; do
		d=$BENCH_VAR/ingest/pigeon$i
		rm -rf "$d"
		dummy_inbox "$d" $((i * per)) $per 1000 pigeon
		printf '[modem dummy%d]\ndevice = %s\nconnection = none\nmodel = dummy\npoll_ms = 10\n' $i "$d" >>"$conf"
	done
	t0=$(now)
	"$BENCH_BIN/pigeond" -c "$conf" >"$BENCH_VAR/ingest-pigeond.log" 2>&1 &
	p=$!
	wait_count "$db" "SELECT count(*) FROM posts" $((per * 4)) 600
	t1=$(now)
	kill -TERM $p; wait $p || true
	elapsed "$t0" "$t1"
}

ingest_smsd() {
	db=$(new_db bench_smsd_ingest)
	psql -X -q "$db" -f /usr/share/doc/gammu-smsd/examples/pgsql.sql >/dev/null 2>&1
	per=$((BENCH_N / 4))
	pids=""
	dbhost=$(echo "$BENCH_PG" | sed 's/.*host=\([^ ]*\).*/\1/')
	dbuser=$(echo "$BENCH_PG" | sed 's/.*user=\([^ ]*\).*/\1/')
	for i in 0 1 2 3; do
		d=$BENCH_VAR/ingest/smsd$i
		rm -rf "$d"
		dummy_inbox "$d" $((i * per)) $per 1000 smsd
	done
	t0=$(now)
	for i in 0 1 2 3; do
		rc=$BENCH_VAR/ingest/smsd$i.rc
		cat >"$rc" <<RC
[gammu]
device = $BENCH_VAR/ingest/smsd$i
model = dummy
connection = none

[smsd]
service = sql
driver = native_pgsql
host = $dbhost
user = $dbuser
password =
database = bench_smsd_ingest
phoneid = smsd$i
logfile = $BENCH_VAR/ingest/smsd$i.log
debuglevel = 0
receivefrequency = 0
loopsleep = 0
checksecurity = 0
checkbattery = 0
checksignal = 0
checknetwork = 0
RC
		gammu-smsd -c "$rc" >/dev/null 2>&1 &
		pids="$pids $!"
		# The dummy phones share one IMEI, the key of smsd's phones
		# table: start them one after the other, or they collide.
		wait_log "$BENCH_VAR/ingest/smsd$i.log" "Starting phone communication" 30
	done
	wait_count "$db" "SELECT count(*) FROM inbox" $((per * 4)) 900
	t1=$(now)
	for p in $pids; do kill -TERM "$p" 2>/dev/null || true; done
	wait $pids 2>/dev/null || true
	elapsed "$t0" "$t1"
}

bench_ingest() {
	tp=$(ingest_pigeon)
	ts=$(ingest_smsd)
	rp=$(calc "$BENCH_N / $tp")
	rs=$(calc "$BENCH_N / $ts")
	result ingest "SMS/s" "$rp" "$rs" "$(calc "$rp / $rs")" ">= 10"
}

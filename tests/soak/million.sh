#!/bin/sh
# Issue 18: pigeond's RSS after 1,000,000 messages (make test-million).
#   tests/soak/million.sh BUILDDIR
# The cheap path: SMS files on 4 gammu dummy modems (the ingest benchmark's
# set-up, scripts/bench/lib.sh), fed in rounds of MILLION_ROUND (36,000)
# until MILLION_N (1,000,000) have become posts, from members who post at
# most 4 times each (under the default rate limit). The dummy driver lists
# locations up to 9,999 per folder, hence rounds of 9,000 per modem.
# Prints pigeond's RSS after each round and writes var/million/rss.txt; its own PostgreSQL
# cluster (var/million/pg) is stopped at the end.
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/scripts/bench/lib.sh"
BENCH_BIN=$(cd "${1:-$top/build}" && pwd)
BENCH_VAR=${MILLION_VAR:-$top/var/million}
BENCH_HTTP=${MILLION_HTTP:-18097}
N=${MILLION_N:-1000000}
ROUND=${MILLION_ROUND:-36000}
mkdir -p "$BENCH_VAR"
chmod 755 "$top/var" "$BENCH_VAR" 2>/dev/null || true
"$top/scripts/pg" destroy "$BENCH_VAR/pg"
BENCH_PG=$("$top/scripts/pg" start "$BENCH_VAR/pg" | sed 's/ dbname=[^ ]*//')
pid=""
cleanup() {
	[ -z "$pid" ] || kill -TERM $pid 2>/dev/null || true
	"$top/scripts/pg" stop "$BENCH_VAR/pg"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

db=$(new_db million)
pigeon_schema "$db"
senders=$((N / 4))
members "$db" "$senders"
conf=$BENCH_VAR/million.conf
printf '[database]\nconninfo = %s\n[http]\nlisten = 127.0.0.1:%s\n' "$db" "$BENCH_HTTP" >"$conf"
for i in 0 1 2 3; do
	d=$BENCH_VAR/m$i
	rm -rf "$d"; mkdir -p "$d/sms/1"
	printf '[modem dummy%d]\ndevice = %s\nconnection = none\nmodel = dummy\npoll_ms = 10\n' \
	    $i "$d" >>"$conf"
done
"$BENCH_BIN/pigeond" -c "$conf" >"$BENCH_VAR/pigeond.log" 2>&1 &
pid=$!
wait_count "$db" "SELECT count(*) FROM modems WHERE state = 'online'" 4 60
out=$BENCH_VAR/rss.txt
printf '%10s %10s %8s\n' messages rss_kb seconds | tee "$out"
printf '%10s %10s %8s\n' 0 "$(rss_kb $pid)" 0 | tee -a "$out"
t0=$(date +%s)
done_n=0
while [ "$done_n" -lt "$N" ]; do
	left=$((N - done_n))
	[ "$left" -ge "$ROUND" ] || ROUND=$left
	per=$((ROUND / 4))
	for i in 0 1 2 3; do
		# Each round's files are new ones: the dummy inbox is emptied
		# by pigeond's deletes.
		dummy_inbox "$BENCH_VAR/m$i.round" $((done_n + i * per)) $per "$senders" million
		mv "$BENCH_VAR/m$i.round/sms/1"/* "$BENCH_VAR/m$i/sms/1/" 2>/dev/null || {
			# Too many names for one mv: move them in batches.
			find "$BENCH_VAR/m$i.round/sms/1" -type f -exec mv -t "$BENCH_VAR/m$i/sms/1/" {} +
		}
		rm -rf "$BENCH_VAR/m$i.round"
	done
	done_n=$((done_n + per * 4))
	wait_count "$db" "SELECT count(*) FROM posts" "$done_n" 3600
	printf '%10s %10s %8s\n' "$done_n" "$(rss_kb $pid)" $(( $(date +%s) - t0 )) | tee -a "$out"
done

# Workload 5, modem utilization: 8 simulated AT modems (pigeon-modemsim,
# --send-delay BENCH_SEND_DELAY ms, default 300) and 400 queued messages
# (BENCH_UTIL_N): the achieved rate divided by 8 times the rate of one
# modem measured alone (BENCH_UTIL_ONE messages, default 20). libgammu's AT
# driver adds ~0.7 s of fixed sleeps to every send, the same in both runs.

# util_run MODEMS MESSAGES: seconds from the INSERT to the last 'sent'.
util_run() {
	db=$(new_db bench_util)
	pigeon_schema "$db"
	conf=$BENCH_VAR/util.conf
	printf '[database]\nconninfo = %s\n[http]\nlisten = 127.0.0.1:%s\n' "$db" "$BENCH_HTTP" >"$conf"
	sims=""
	i=0
	while [ $i -lt "$1" ]; do
		d=$BENCH_VAR/util/sim$i
		rm -rf "$d"; mkdir -p "$d"
		"$BENCH_BIN/pigeon-modemsim" serve "$d" --send-delay "${BENCH_SEND_DELAY:-300}" \
		    >"$d.log" 2>&1 &
		sims="$sims $!"
		printf '[modem sim%d]\ndevice = %s/tty\nconnection = at\npoll_ms = 10000\n' $i "$d" >>"$conf"
		i=$((i + 1))
	done
	i=0
	while [ $i -lt "$1" ]; do
		deadline=$(( $(date +%s) + 10 ))
		until [ -e "$BENCH_VAR/util/sim$i/tty" ] || [ "$(date +%s)" -gt "$deadline" ]; do sleep 0.05; done
		i=$((i + 1))
	done
	"$BENCH_BIN/pigeond" -c "$conf" >"$BENCH_VAR/util-pigeond.log" 2>&1 &
	p=$!
	wait_count "$db" "SELECT count(*) FROM modems WHERE state = 'online'" "$1" 120
	t0=$(now)
	psql_q "$db" "INSERT INTO outbox (recipient, text, class)
	    SELECT format('+2126604%s', lpad(i::text, 4, '0')), 'util ' || i, 1
	    FROM generate_series(1, $2) i" >/dev/null
	wait_count "$db" "SELECT count(*) FROM outbox WHERE state = 'sent'" "$2" 900
	t1=$(now)
	kill -TERM $p; wait $p || true
	for s in $sims; do kill -TERM "$s" 2>/dev/null || true; done
	wait $sims 2>/dev/null || true
	elapsed "$t0" "$t1"
}

bench_utilization() {
	n=${BENCH_UTIL_N:-400}
	one=${BENCH_UTIL_ONE:-20}
	t1=$(util_run 1 "$one")
	t8=$(util_run 8 "$n")
	r1=$(calc "$one / $t1")
	r8=$(calc "$n / $t8")
	result utilization "SMS/s" "$r8" "$(calc "8 * $r1")" "$(calc "$r8 / (8 * $r1)")" ">= 0.95"
}

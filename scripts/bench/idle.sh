# Workload 8, idle cost (issue 15): 16 simulated AT modems (pigeon-modemsim)
# with nothing to do, poll_ms 1000: the CPU that pigeond and its 16
# pigeon-modem workers use, summed from /proc/PID/stat (utime + stime)
# over BENCH_IDLE_S seconds (default 60), after the modems came online and
# settled (BENCH_IDLE_SETTLE_S, default 10). In % of one core; the target
# is under 1%. The simulators (the modems themselves) are not counted.

# idle_ticks PID...: utime + stime of those processes, in clock ticks.
idle_ticks() {
	t=0
	for pid in "$@"; do
		v=$(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null || echo 0)
		t=$((t + v))
	done
	echo "$t"
}

bench_idle() {
	n=16
	secs=${BENCH_IDLE_S:-60}
	db=$(new_db bench_idle)
	pigeon_schema "$db"
	conf=$BENCH_VAR/idle.conf
	printf '[database]\nconninfo = %s\n[http]\nlisten = 127.0.0.1:%s\n' "$db" "$BENCH_HTTP" >"$conf"
	sims=""
	i=0
	while [ $i -lt $n ]; do
		d=$BENCH_VAR/idle/sim$i
		rm -rf "$d"; mkdir -p "$d"
		"$BENCH_BIN/pigeon-modemsim" serve "$d" >"$d.log" 2>&1 &
		sims="$sims $!"
		printf '[modem sim%d]\ndevice = %s/tty\nconnection = at\npoll_ms = 1000\n' $i "$d" >>"$conf"
		i=$((i + 1))
	done
	i=0
	while [ $i -lt $n ]; do
		deadline=$(( $(date +%s) + 10 ))
		until [ -e "$BENCH_VAR/idle/sim$i/tty" ] || [ "$(date +%s)" -gt "$deadline" ]; do sleep 0.05; done
		i=$((i + 1))
	done
	"$BENCH_BIN/pigeond" -c "$conf" >"$BENCH_VAR/idle-pigeond.log" 2>&1 &
	p=$!
	wait_count "$db" "SELECT count(*) FROM modems WHERE state = 'online'" $n 120
	sleep "${BENCH_IDLE_SETTLE_S:-10}"
	pids="$p $(pgrep -P $p | tr '\n' ' ')"
	hz=$(getconf CLK_TCK)
	a=$(idle_ticks $pids)
	ad=$(idle_ticks $p)
	sleep "$secs"
	b=$(idle_ticks $pids)
	bd=$(idle_ticks $p)
	kill -TERM $p; wait $p || true
	for s in $sims; do kill -TERM "$s" 2>/dev/null || true; done
	wait $sims 2>/dev/null || true
	pct=$(calc "($b - $a) * 100 / $hz / $secs")
	pd=$(calc "($bd - $ad) * 100 / $hz / $secs")
	result idle "%core" "$pct" "1" "$(calc "1 / ($pct + 0.0001)")" "< 1% of a core, 16 idle modems, poll_ms 1000, ${secs} s (pigeond $pd)"
}

# Workload 6, footprint: resident memory of pigeond and of one pigeon-modem
# with 64 (dummy) modems configured, idle and while 2,000 SMS come in.
# Baseline: one gammu-smsd process on the same dummy modem, idle.

bench_footprint() {
	db=$(new_db bench_footprint)
	pigeon_schema "$db"
	members "$db" 100
	conf=$BENCH_VAR/footprint.conf
	printf '[database]\nconninfo = %s\n[http]\nlisten = 127.0.0.1:%s\n' "$db" "$BENCH_HTTP" >"$conf"
	i=0
	while [ $i -lt 64 ]; do
		d=$BENCH_VAR/footprint/m$i
		rm -rf "$d"
		mkdir -p "$d/sms/1"
		printf '[modem m%d]\ndevice = %s\nconnection = none\nmodel = dummy\npoll_ms = 2000\n' $i "$d" >>"$conf"
		i=$((i + 1))
	done
	"$BENCH_BIN/pigeond" -c "$conf" >"$BENCH_VAR/footprint.log" 2>&1 &
	p=$!
	wait_count "$db" "SELECT count(*) FROM modems WHERE state = 'online'" 64 120
	worker=$(pgrep -P $p | head -n 1)
	idle_d=$(rss_kb $p)
	idle_w=$(rss_kb "$worker")
	# Load: 2,000 SMS into the first modem, measured at their peak.
	dummy_inbox "$BENCH_VAR/footprint/m0" 0 2000 100 load
	peak_d=$idle_d
	peak_w=0
	deadline=$(( $(date +%s) + 300 ))
	while [ "$(psql_q "$db" "SELECT count(*) FROM posts")" -lt 2000 ] &&
	    [ "$(date +%s)" -le "$deadline" ]; do
		r=$(rss_kb $p); [ "$r" -gt "$peak_d" ] && peak_d=$r
		w=$(pgrep -P $p | head -n 1)
		r=$(rss_kb "$w"); [ "$r" -gt "$peak_w" ] && peak_w=$r
		sleep 0.1
	done
	kill -TERM $p; wait $p || true

	# gammu-smsd on one dummy modem, idle.
	d=$BENCH_VAR/footprint/smsd
	rm -rf "$d"; mkdir -p "$d/sms/1"
	printf '[gammu]\ndevice = %s\nmodel = dummy\nconnection = none\n[smsd]\nservice = null\nlogfile = %s/smsd.log\n' "$d" "$d" >"$d.rc"
	gammu-smsd -c "$d.rc" >/dev/null 2>&1 &
	s=$!
	wait_log "$d/smsd.log" "Starting phone communication" 30
	sleep 1
	smsd=$(rss_kb $s)
	kill -TERM $s; wait $s 2>/dev/null || true

	mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
	result "rss-pigeond" "MB" "$(mb "$peak_d")" "20" "$(calc "20 * 1024 / $peak_d")" "< 20 MB, 64 modems (idle $(mb "$idle_d"))"
	result "rss-modem" "MB" "$(mb "$peak_w")" "$(mb "$smsd")" "$(calc "$smsd / $peak_w")" "vs one gammu-smsd (idle $(mb "$idle_w"))"
}

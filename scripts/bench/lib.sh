# Shared by the benchmark scripts (sourced). Each workload prints one line:
#   workload<TAB>unit<TAB>pigeon<TAB>baseline<TAB>ratio<TAB>target
# ratio is always "how many times better Pigeon is" (higher is better).

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
calc() { awk "BEGIN { printf \"%.2f\", $1 }"; }

psql_q() {	# psql_q CONNINFO SQL: one value, quietly
	psql -X -q -A -t -v ON_ERROR_STOP=1 "$1" -c "$2"
}

# new_db NAME: a fresh database on the bench cluster; prints its conninfo.
new_db() {
	psql_q "$BENCH_PG dbname=postgres" "DROP DATABASE IF EXISTS $1" >/dev/null
	psql_q "$BENCH_PG dbname=postgres" "CREATE DATABASE $1" >/dev/null
	echo "$BENCH_PG dbname=$1"
}

# wait_count CONNINFO SQL N TIMEOUT_S [INTERVAL_S]: polls until SQL's count
# reaches N, every INTERVAL_S (0.05). The polling runs inside one server
# session (a DO block that commits between looks, so it holds back no
# vacuum): a psql started for each look cost a fork and a backend's
# start-up each time, 15 % of the machine's CPU during the ingest, taken
# from whichever side was being measured.
wait_count() {
	psql -X -q -v ON_ERROR_STOP=1 -v sql="$2" -v n="$3" -v t="$4" \
	    -v gap="${5:-0.05}" "$1" >/dev/null 2>"$BENCH_VAR/wait_count.err" <<'SQL' && return 0
SELECT set_config('bench.sql', :'sql', false), set_config('bench.n', :'n', false),
       set_config('bench.t', :'t', false), set_config('bench.gap', :'gap', false);
DO $$
DECLARE
	c bigint;
	deadline timestamptz := clock_timestamp() +
	    make_interval(secs => current_setting('bench.t')::float8);
BEGIN
	LOOP
		BEGIN
			EXECUTE current_setting('bench.sql') INTO c;
		EXCEPTION WHEN OTHERS THEN
			c := 0;	-- the table is not there yet
		END;
		EXIT WHEN c >= current_setting('bench.n')::bigint;
		IF clock_timestamp() > deadline THEN
			RAISE EXCEPTION 'gave %', c;
		END IF;
		COMMIT;
		PERFORM pg_sleep(current_setting('bench.gap')::float8);
	END LOOP;
END $$;
SQL
	echo "bench: timeout waiting for $3 ($2: $(tail -1 "$BENCH_VAR/wait_count.err"))" >&2
	return 1
}

# wait_log FILE TEXT TIMEOUT_S: polls until FILE contains TEXT.
wait_log() {
	deadline=$(( $(date +%s) + $3 ))
	until grep -q "$2" "$1" 2>/dev/null; do
		if [ "$(date +%s)" -gt "$deadline" ]; then
			echo "bench: timeout waiting for '$2' in $1" >&2
			return 1
		fi
		sleep 0.02
	done
}

# dummy_inbox DIR FIRST COUNT SENDERS TAG: COUNT SMS-backup files in the
# gammu dummy driver's inbox DIR/sms/1/1..COUNT, from SENDERS members
# (+2126600NNNNN), with distinct texts.
dummy_inbox() {
	mkdir -p "$1/sms/1" "$1/sms/2" "$1/sms/3" "$1/sms/4" "$1/sms/5"
	awk -v dir="$1" -v first="$2" -v count="$3" -v senders="$4" -v tag="$5" '
	function ucs2(s,   i, out) {
		out = ""
		for (i = 1; i <= length(s); i++)
			out = out sprintf("00%02X", ord[substr(s, i, 1)])
		return out
	}
	BEGIN {
		for (i = 32; i < 127; i++) ord[sprintf("%c", i)] = i
		for (n = 0; n < count; n++) {
			k = first + n
			text = sprintf("%s post %d from the bench", tag, k)
			from = sprintf("+2126600%05d", k % senders)
			f = sprintf("%s/sms/1/%d", dir, n + 1)
			printf("[SMSBackup000]\nSMSC = \"+212600000000\"\nPDU = Deliver\n") > f
			printf("DateTime = 20261126T%02d%02d%02dZ\nState = UnRead\n", (k / 3600) % 24, (k / 60) % 60, k % 60) > f
			printf("Number = \"%s\"\nText00 = %s\nCoding = Default_No_Compression\n", from, ucs2(text)) > f
			printf("Folder = 1\nLength = %d\nClass = -1\n", length(text)) > f
			close(f)
		}
	}'
}

# members CONNINFO N: N accounts +2126600NNNNN, handles uNNNNN.
members() {
	psql_q "$1" "INSERT INTO accounts (phone, handle, lang)
	    SELECT '+2126600' || CASE WHEN i < 100000 THEN lpad(i::text, 5, '0')
	                              ELSE i::text END, 'u' || i, 'fr'
	    FROM generate_series(0, $2 - 1) i" >/dev/null
}

# pigeon_schema CONNINFO: runs pigeond once with no modem to create the schema.
pigeon_schema() {
	conf=$BENCH_VAR/schema.conf
	printf '[database]\nconninfo = %s\n[http]\nlisten = 127.0.0.1:%s\n' "$1" "$BENCH_HTTP" >"$conf"
	"$BENCH_BIN/pigeond" -c "$conf" >"$BENCH_VAR/schema.log" 2>&1 &
	p=$!
	# The functions, then the settings (written when pigeond is up).
	wait_count "$1" "SELECT count(*) FROM pg_proc WHERE proname = 'pigeon_apply'" 1 30
	wait_count "$1" "SELECT count(*) FROM settings WHERE key = 'post_max'" 1 30
	kill -TERM $p; wait $p || true
}

# rss_kb PID: resident set size in kB.
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

result() {	# result WORKLOAD UNIT PIGEON BASELINE RATIO TARGET
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$6" >>"$BENCH_RESULTS"
}

# smsd_start DEVICE_DIR DBNAME PHONEID [SMSD_LINE...]: one gammu-smsd on a
# dummy modem with the native_pgsql backend, tuned for speed, plus the
# given [smsd] lines; waits until it talks to its phone, prints its pid.
# Its files go next to DEVICE_DIR.
smsd_start() {
	dbhost=$(echo "$BENCH_PG" | sed 's/.*host=\([^ ]*\).*/\1/')
	dbuser=$(echo "$BENCH_PG" | sed 's/.*user=\([^ ]*\).*/\1/')
	cat >"$1.rc" <<RC
[gammu]
device = $1
model = dummy
connection = none

[smsd]
service = sql
driver = native_pgsql
host = $dbhost
user = $dbuser
password =
database = $2
phoneid = $3
logfile = $1.log
debuglevel = 0
receivefrequency = 0
loopsleep = 0
checksecurity = 0
checkbattery = 0
checksignal = 0
checknetwork = 0
RC
	dev=$1
	shift 3
	for line in "$@"; do echo "$line" >>"$dev.rc"; done
	rm -f "$dev.log"
	gammu-smsd -c "$dev.rc" >/dev/null 2>&1 &
	echo $!
	# The dummy phones share one IMEI, the key of smsd's phones table:
	# start them one after the other, or they collide.
	wait_log "$dev.log" "Starting phone communication" 30
}

# pigeon_dummies NAME POLL_MS: a fresh database NAME with Pigeon's schema
# and pigeond on 4 empty dummy modems, all online. Sets db and pid (call it
# in the shell that uses them, not in $(...)).
pigeon_dummies() {
	db=$(new_db "bench_$1")
	pigeon_schema "$db"
	conf=$BENCH_VAR/$1.conf
	printf '[database]\nconninfo = %s\n[http]\nlisten = 127.0.0.1:%s\n' "$db" "$BENCH_HTTP" >"$conf"
	for i in 0 1 2 3; do
		d=$BENCH_VAR/$1/pigeon$i
		rm -rf "$d"; mkdir -p "$d/sms/1"
		printf '[modem dummy%d]\ndevice = %s\nconnection = none\nmodel = dummy\npoll_ms = %s\n' \
		    $i "$d" "$2" >>"$conf"
	done
	"$BENCH_BIN/pigeond" -c "$conf" >"$BENCH_VAR/$1-pigeond.log" 2>&1 &
	pid=$!
	wait_count "$db" "SELECT count(*) FROM modems WHERE state = 'online'" 4 60
}

# cpu_s PID...: CPU seconds (user + system) the processes have used so
# far; a figure that a busy machine inflates less than wall time.
cpu_s() {
	tck=$(getconf CLK_TCK)
	for p in "$@"; do
		[ -r "/proc/$p/stat" ] && sed 's/^.*) //' "/proc/$p/stat"
	done | awk -v t="$tck" '{ s += $12 + $13 } END { printf "%.2f", s / t }'
}

# Workload smpp (issue 13): a post fanned out to F followers (default
# 100,000) over one SMPP bind into the simulated SMSC (tests/smsc, started
# with --record none --auto-receipt DELIVRD), from the post's arrival (the
# MO handed to the SMSC) to the SMSC's F-th accepted submit_sm (its
# submit_ok counter; the answer goes out as it counts). Baseline, in the
# same run: Kannel (Debian's kannel: bearerbox + smsbox, an SMPP smsc group
# to a fresh simulator, the same window as max-pending-submits, no
# throughput cap) sending the same F messages through its sendsms HTTP
# interface from BENCH_SMPP_CLIENTS parallel curl processes (keep-alive,
# one URL list each). Also the simulator's own ceiling (scripts/smsc bench,
# a bare pipelining client, asking receipts as Pigeon's bind does and
# answering them; the submit-only figure is printed too), measured just
# before Pigeon's run and just after it: the second row says how close
# Pigeon gets to the mean of the two.
# Knobs: BENCH_FOLLOWERS (100000), BENCH_SMPP_WINDOW (100),
# BENCH_SMPP_CLIENTS (8), BENCH_SMPP_PORT (base TCP port, 18200),
# BENCH_SMPP_AHEAD (32: the bind's `ahead`, windows' worth pigeond hands
# its worker; the default is 4, the bench's setting is Pigeon's fastest,
# measured on 2026-12-06 against 8, 16 and 48: docs/performance.md),
# BENCH_SMPP_REPORT (yes; no: no receipts asked, to time the submit path
# alone), BENCH_SMPP_PERF=S (perf record pigeond for S seconds),
# BENCH_SMPP_PIGEON_ONLY=1 (Pigeon's run alone, for profiling: no row),
# BENCH_FANOUT_CHUNK (pigeond's fanout_chunk; unset: its default),
# BENCH_SMPP_YIELD (the bind's receipts_yield; unset: its default, 30; 0:
# its receipts never give way to its sends).

# smsc_bench_start DIR: a fresh simulator for one side; prints its port.
smsc_bench_start() {
	rm -rf "$1"; mkdir -p "$1"
	"$top/scripts/smsc" run "$1" --record none --auto-receipt DELIVRD \
	    --parent-pid $$ >"$1.log" 2>&1 &
	echo $! >"$1.pid"
	n=0
	while [ ! -s "$1/port" ]; do
		n=$((n + 1))
		if [ $n -gt 200 ]; then echo "bench: simulator did not start ($1.log)" >&2; return 1; fi
		sleep 0.05
	done
	cat "$1/port"
}

smsc_bench_stop() {
	kill "$(cat "$1.pid")" 2>/dev/null || true
}

# smsc_ceiling DIR [--receipts]: the simulator's ceiling, a bare client with
# the bench's window into a fresh simulator; prints its submits a second.
smsc_ceiling() {
	cdir=$1; shift
	cs=$(smsc_bench_start "$cdir")
	"$top/scripts/smsc" bench --port "$cs" --count "$F" --window "$W" "$@" |
	    sed -n 's/.*"per_second":\([0-9.]*\).*/\1/p'
	smsc_bench_stop "$cdir"
}

# smsc_counter DIR NAME: one of the simulator's counters.
smsc_counter() {
	"$top/scripts/smsc" status "$1" 2>/dev/null |
	    sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p" | head -n 1
}

# smsc_wait_counter DIR NAME N TIMEOUT_S: until the counter reaches N. One
# client waits on the simulator (its `wait`): polling `status` with a
# node process each 50 ms took most of a core from the run it measured.
smsc_wait_counter() {
	"$top/scripts/smsc" wait "$1" "$2" "$3" --timeout-ms $(($4 * 1000)) >/dev/null && return 0
	echo "bench: timeout waiting for $2 = $3 at $1 (is $(smsc_counter "$1" "$2"))" >&2
	return 1
}

# smpp_cpu: CPU seconds so far of pigeond ($ppid) into pcpu_d, of its
# worker into pcpu_w, of its sessions on $db (each named by its role) into
# pcpu_db and pcpu_roles.
smpp_cpu() {
	pcpu_d=$(cpu_s $ppid)
	pcpu_w=$(cpu_s $(pgrep -P $ppid))
	pcpu_db=0; pcpu_roles=""
	for pr in $(psql_q "$db" "SELECT pid || ':' || replace(application_name, ' ', '_')
	    FROM pg_stat_activity WHERE application_name LIKE 'pigeond%'
	     AND datname = current_database()"); do
		c=$(cpu_s "${pr%%:*}")
		pcpu_db=$(calc "$pcpu_db + $c")
		pcpu_roles="$pcpu_roles ${pr#*:} $c"
	done
}

bench_smpp() {
	F=${BENCH_FOLLOWERS:-100000}
	W=${BENCH_SMPP_WINDOW:-100}
	C=${BENCH_SMPP_CLIENTS:-8}
	ahead=${BENCH_SMPP_AHEAD:-32}
	base=${BENCH_SMPP_PORT:-18200}
	dir=$BENCH_VAR/smpp
	mkdir -p "$dir"
	if ! command -v bearerbox >/dev/null 2>&1; then
		echo "bench: smpp needs Kannel (apt-get install kannel; see scripts/deps)" >&2
		return 1
	fi

	# --- Pigeon: one bind, the post's fan-out.
	db=$(new_db bench_smpp)
	pigeon_schema "$db"
	members "$db" $((F + 1))
	psql_q "$db" "INSERT INTO follows (followee, follower)
	    SELECT (SELECT id FROM accounts WHERE handle = 'u0'), id
	    FROM accounts WHERE handle <> 'u0'" >/dev/null
	psql_q "$db" "VACUUM ANALYZE" >/dev/null
	# The ceiling (with receipts asked, as Pigeon's bind asks them: the
	# simulator also sends a deliver_sm for each submit and reads its
	# answer) just before Pigeon's run and just after it: this shared
	# machine's speed drifts by a third within minutes, and the ratio
	# compares Pigeon with the mean of the two, taken around it.
	rflag=""
	[ "${BENCH_SMPP_REPORT:-yes}" = no ] || rflag=--receipts
	[ -n "${BENCH_SMPP_PIGEON_ONLY:-}" ] ||
	    ceil_before=$(smsc_ceiling "$dir/ceiling-smsc" $rflag)
	sp=$(smsc_bench_start "$dir/pigeon-smsc")
	conf=$BENCH_VAR/smpp.conf
	cat >"$conf" <<CONF
[pigeon]
timezone = UTC
${BENCH_FANOUT_CHUNK:+fanout_chunk = $BENCH_FANOUT_CHUNK}
[database]
conninfo = $db
[http]
listen = 127.0.0.1:$BENCH_HTTP
[smpp carrier]
host = 127.0.0.1
port = $sp
system_id = pigeon
password = secret
window = $W
ahead = $ahead
report = ${BENCH_SMPP_REPORT:-yes}
${BENCH_SMPP_YIELD:+receipts_yield = $BENCH_SMPP_YIELD}
CONF
	chmod 600 "$conf"
	"$BENCH_BIN/pigeond" ${BENCH_PIGEOND_FLAGS:-} -c "$conf" >"$BENCH_VAR/smpp-pigeond.log" 2>&1 &
	ppid=$!
	wait_count "$db" "SELECT count(*) FROM modems WHERE name = 'carrier' AND state = 'online'" 1 60
	t0=$(now)
	"$top/scripts/smsc" deliver "$dir/pigeon-smsc" +212660000000 "the bench post over SMPP" >/dev/null
	if [ -n "${BENCH_SMPP_PERF:-}" ]; then
		# Where pigeond's time goes during the fan-out (perf record).
		perf record -g -o "$BENCH_VAR/smpp-pigeond.perf" -p "$ppid" -- sleep "$BENCH_SMPP_PERF" \
		    >/dev/null 2>&1 &
	fi
	smsc_wait_counter "$dir/pigeon-smsc" submit_ok "$F" 1200
	tp=$(elapsed "$t0" "$(now)")
	# What the window cost each process, the simulator's included (the
	# receipts go on after it).
	smpp_cpu
	wcpu="pigeond $pcpu_d, pigeon-smpp $pcpu_w, simulator $(cpu_s "$(cat "$dir/pigeon-smsc.pid")"), PostgreSQL:$pcpu_roles"
	# Every receipt matched to its message.
	[ "${BENCH_SMPP_REPORT:-yes}" = no ] ||
	# (A count of 100,000 rows takes 60 ms: every 0.25 s, not 0.05.)
	wait_count "$db" "SELECT count(*) FROM status_reports WHERE outbox_id IS NOT NULL" "$F" 600 0.25 ||
	    echo "bench: receipts matched: $(psql_q "$db" "SELECT count(*) FROM status_reports WHERE outbox_id IS NOT NULL") of $F" >&2
	tr=$(elapsed "$t0" "$(now)")	# the last receipt matched (within 0.3 s)
	matched=$(psql_q "$db" "SELECT count(*) FROM status_reports WHERE outbox_id IS NOT NULL")
	dups=$(smsc_counter "$dir/pigeon-smsc" submit_ok)
	# CPU for the whole fan-out: pigeond, its worker, its database sessions.
	smpp_cpu
	pcpu=$(calc "$pcpu_d + $pcpu_w + $pcpu_db")
	kill -TERM $ppid; wait $ppid || true
	smsc_bench_stop "$dir/pigeon-smsc"
	echo "bench: pigeon: $F submits in $tp s, $matched receipts matched (by $tr s), SMSC accepted $dups;" \
	    "CPU $pcpu s (pigeond $pcpu_d, pigeon-smpp $pcpu_w, its PostgreSQL sessions $pcpu_db:$pcpu_roles)" >&2
	echo "bench: pigeon: CPU s to the last submit: $wcpu" >&2

	# BENCH_SMPP_PIGEON_ONLY=1: Pigeon's side alone (profiling), no table row.
	[ -z "${BENCH_SMPP_PIGEON_ONLY:-}" ] || return 0
	ceil_after=$(smsc_ceiling "$dir/ceiling-smsc" $rflag)
	ceil=$(calc "($ceil_before + $ceil_after) / 2")

	# --- Kannel: the same F messages through sendsms, into a fresh simulator.
	ks=$(smsc_bench_start "$dir/kannel-smsc")
	admin=$base; boxp=$((base + 1)); sendp=$((base + 2))
	kconf=$dir/kannel.conf
	cat >"$kconf" <<KCONF
group = core
admin-port = $admin
admin-interface = 127.0.0.1
admin-password = bench
smsbox-port = $boxp
smsbox-interface = 127.0.0.1
box-allow-ip = 127.0.0.1
log-file = "$dir/bearerbox.log"
log-level = 3
dlr-storage = internal

group = smsc
smsc = smpp
smsc-id = sim
host = 127.0.0.1
port = $ks
transceiver-mode = true
smsc-username = pigeon
smsc-password = secret
system-type = ""
source-addr-ton = 3
source-addr-npi = 0
max-pending-submits = $W
enquire-link-interval = 30

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = $boxp
sendsms-port = $sendp
sendsms-interface = 127.0.0.1
log-file = "$dir/smsbox.log"
log-level = 3

group = sendsms-user
username = bench
password = bench
max-messages = 1
KCONF
	bearerbox "$kconf" >"$dir/bearerbox.out" 2>&1 &
	bb=$!
	smsc_wait_counter "$dir/kannel-smsc" binds 1 60
	smsbox "$kconf" >"$dir/smsbox.out" 2>&1 &
	sb=$!
	# The URL lists: C clients, F messages in all, the same recipients.
	k=0
	while [ $k -lt "$C" ]; do
		awk -v k=$k -v c="$C" -v f="$F" -v p=$sendp 'BEGIN {
			for (i = 1 + k; i <= f; i += c) {
				printf "url = \"http://127.0.0.1:%d/cgi-bin/sendsms?username=bench&password=bench&from=40404&to=%%2B2126600%s&text=%%40u0%%3A+the+bench+post+over+SMPP\"\n", p, (i < 100000 ? sprintf("%05d", i) : i)
				print "output = /dev/null"
			}
		}' >"$dir/urls$k"
		k=$((k + 1))
	done
	n=0
	until curl -s -o /dev/null "http://127.0.0.1:$sendp/"; do
		n=$((n + 1)); [ $n -gt 200 ] && { echo "bench: smsbox did not start" >&2; break; }
		sleep 0.05
	done
	t0=$(now)
	k=0
	cpids=""
	while [ $k -lt "$C" ]; do
		curl -s -K "$dir/urls$k" &
		cpids="$cpids $!"
		k=$((k + 1))
	done
	smsc_wait_counter "$dir/kannel-smsc" submit_ok "$F" 1800
	tk=$(elapsed "$t0" "$(now)")
	kcpu=$(cpu_s $bb $sb)
	for p in $cpids; do wait "$p" || true; done
	kill -TERM $sb $bb 2>/dev/null || true
	wait $sb $bb 2>/dev/null || true
	smsc_bench_stop "$dir/kannel-smsc"
	echo "bench: kannel: $F submits in $tk s; CPU $kcpu s (bearerbox, smsbox)" >&2

	# --- The submit-only ceiling, printed beside (no receipts asked).
	ceil_bare=$ceil
	[ -z "$rflag" ] || ceil_bare=$(smsc_ceiling "$dir/ceiling-bare-smsc")

	rp=$(calc "$F / $tp"); rk=$(calc "$F / $tk")
	echo "bench: smpp: pigeon $rp/s, kannel $rk/s, simulator ceiling $ceil/s" \
	    "(${rflag:+with receipts, }$ceil_before before Pigeon's run and $ceil_after after it;" \
	    "submits alone $ceil_bare/s); receipts matched $matched of $F" >&2
	result smpp "submit/s" "$rp" "$rk" "$(calc "$rp / $rk")" ">= 1.5 (Kannel); receipts $matched/$F; ahead $ahead"
	result smpp-ceiling "submit/s" "$rp" "$ceil" "$(calc "$rp / $ceil")" ">= 0.5 (within 2x)${rflag:+; receipts both sides}"
	[ "${BENCH_SMPP_REPORT:-yes}" = no ] || [ "$matched" -eq "$F" ]
}

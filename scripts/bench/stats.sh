# Workload stats (issue 17): the audience statistics of one business
# account with BENCH_STATS_FOLLOWERS followers (default 100,000; 5% more
# followed and left again) and BENCH_STATS_POSTS posts (1,000) over 30
# days, each post with BENCH_STATS_COPIES outbox rows (1,000: 1,000,000 in
# all, states mixed: delivered, undelivered, sent, failed, by follow and by
# tracking), and BENCH_STATS_SMS SMS from its followers (200,000) over 30
# days; all filled by SQL generate_series. Timed: BENCH_STATS_N requests
# (default 50) of GET /api/accounts/HANDLE/stats (30 days, the latest 20
# posts' reach) through pigeond's HTTP API with the account's own key,
# p50 and p99 in ms. Baseline: the same figures by naive SQL (a query per
# post and per state as the existing reach functions, the network by a
# LIKE over the ranges per follower, the hours by a scan of the inbox),
# run BENCH_STATS_BASE_N times (5) in psql: the median.

bench_stats() {
	F=${BENCH_STATS_FOLLOWERS:-100000}
	P=${BENCH_STATS_POSTS:-1000}
	C=${BENCH_STATS_COPIES:-1000}
	S=${BENCH_STATS_SMS:-200000}
	N=${BENCH_STATS_N:-50}
	token=bench-stats-token-0123456789abcdef0123
	db=$(new_db bench_stats)
	pigeon_schema "$db"
	# Followers' numbers on the Moroccan mobile ranges (+2126XX), the
	# last 5% of them unfollowed later; languages mixed.
	L=$((F + F / 20))
	psql_q "$db" "
	    INSERT INTO accounts (phone, handle, lang, created_at)
	        VALUES ('+212661999999', 'biz', 'fr', now() - interval '60 days');
	    INSERT INTO accounts (phone, handle, lang, created_at)
	        SELECT '+2126' || lpad((i % 100)::text, 2, '0') || lpad((i / 100)::text, 6, '0'),
	               'f' || i, (ARRAY['fr', 'ar', 'en', 'darija'])[1 + i % 4],
	               now() - interval '40 days'
	          FROM generate_series(0, $L - 1) i;
	    INSERT INTO follows (followee, follower)
	        SELECT (SELECT id FROM accounts WHERE handle = 'biz'), id
	          FROM accounts WHERE handle <> 'biz';
	    DELETE FROM follows WHERE follower IN
	        (SELECT id FROM accounts WHERE handle ~ '^f' AND substr(handle, 2)::int >= $F);
	    UPDATE follow_events SET at = now() - (id % 30) * interval '1 day'
	        - (id % 1440) * interval '1 minute';
	    INSERT INTO posts (account_id, text, created_at)
	        SELECT (SELECT id FROM accounts WHERE handle = 'biz'), 'bench post ' || i,
	               now() - interval '30 days' + i * interval '30 days' / $P
	          FROM generate_series(1, $P) i;
	    -- The copies of each post: C followers each, a tenth by tracking;
	    -- a post's copies side by side, as its fan-out inserts them.
	    INSERT INTO outbox (recipient, text, class, post_id, state, via, created_at,
	                        sent_at, delivered_at)
	        SELECT '+2126' || lpad((k % 100)::text, 2, '0') || lpad((k / 100)::text, 6, '0'),
	               'x', 2, p.id,
	               (ARRAY['delivered', 'delivered', 'delivered', 'delivered',
	                      'delivered', 'delivered', 'undelivered', 'sent', 'failed',
	                      'delivered'])[1 + k % 10],
	               CASE WHEN k % 10 = 3 THEN 'track' ELSE 'follow' END,
	               p.created_at, p.created_at, p.created_at
	          FROM posts p, generate_series(0, $C - 1) j,
	               LATERAL (SELECT (p.id * 7919 + j * 97) % $F AS k) kk
	         ORDER BY p.id, j;
	    INSERT INTO inbox_messages (modem, sender, sender_kind, text, parts,
	                                received_at, state)
	        SELECT 'bench',
	               '+2126' || lpad((k % 100)::text, 2, '0') || lpad((k / 100)::text, 6, '0'),
	               'e164', 'hello', 1,
	               now() - (i % 30) * interval '1 day' - (i * 37 % 1440) * interval '1 minute',
	               'done'
	          FROM generate_series(1, $S) i, LATERAL (SELECT (i * 7907) % $F AS k) kk" >/dev/null
	psql_q "$db" "VACUUM ANALYZE" >/dev/null

	conf=$BENCH_VAR/stats.conf
	printf '[database]\nconninfo = %s\n[http]\nlisten = 127.0.0.1:%s\ntoken = %s\n' \
	    "$db" "$BENCH_HTTP" "$token" >"$conf"
	chmod 600 "$conf"
	"$BENCH_BIN/pigeond" -c "$conf" >"$BENCH_VAR/stats-pigeond.log" 2>&1 &
	pid=$!
	url=http://127.0.0.1:$BENCH_HTTP
	deadline=$(( $(date +%s) + 60 ))
	until curl -sf -o /dev/null "$url/healthz"; do
		if [ "$(date +%s)" -gt "$deadline" ] || ! kill -0 $pid 2>/dev/null; then
			echo "bench: stats: pigeond did not come up (var/bench/stats-pigeond.log)" >&2
			kill -TERM $pid 2>/dev/null; wait $pid || true
			return 1
		fi
		sleep 0.1
	done
	curl -sf -X POST -H "Authorization: Bearer $token" "$url/api/users/biz/business" >/dev/null
	key=$(curl -sf -X POST -H "Authorization: Bearer $token" "$url/api/users/biz/keys" |
	    sed 's/.*"key":"\([^"]*\)".*/\1/')
	out=$BENCH_VAR/stats.json
	# The first request (the first call of the statistics' functions on
	# pigeond's connection): timed apart as "cold", its answer checked;
	# then the timed requests.
	cold=$(curl -sf -H "Authorization: Bearer $key" -o "$out" -w '%{time_total}' \
	    "$url/api/accounts/biz/stats" | awk '{ printf "%.1f", $1 * 1000 }')
	if ! grep -q "\"followers\":$F," "$out"; then
		echo "bench: stats: the answer does not count $F followers" >&2
		kill -TERM $pid; wait $pid || true
		return 1
	fi
	i=0
	: >"$BENCH_VAR/stats.times"
	while [ $i -lt "$N" ]; do
		curl -sf -o /dev/null -w '%{time_total}\n' -H "Authorization: Bearer $key" \
		    "$url/api/accounts/biz/stats" >>"$BENCH_VAR/stats.times"
		i=$((i + 1))
	done
	kill -TERM $pid; wait $pid || true
	p50=$(sort -n "$BENCH_VAR/stats.times" | awk '{ t[NR] = $1 * 1000 }
	    END { printf "%.1f", t[int((NR + 1) / 2)] }')
	p99=$(sort -n "$BENCH_VAR/stats.times" | awk '{ t[NR] = $1 * 1000 }
	    END { i = int(NR * 0.99 + 0.999); if (i > NR) i = NR; printf "%.1f", t[i] }')

	# Baseline: the naive SQL, in psql (\timing), BENCH_STATS_BASE_N runs.
	bn=${BENCH_STATS_BASE_N:-5}
	naive="WITH a AS (SELECT id FROM accounts WHERE handle = 'biz'),
	    fol AS (SELECT ac.* FROM follows f JOIN accounts ac ON ac.id = f.follower, a
	             WHERE f.followee = a.id)
	    SELECT (SELECT count(*) FROM fol),
	      (SELECT json_agg(x) FROM (SELECT d::date, (SELECT count(*) FROM follow_events e, a
	          WHERE e.followee = a.id AND e.delta > 0 AND e.at::date = d::date) AS gained,
	          (SELECT count(*) FROM follow_events e, a WHERE e.followee = a.id
	          AND e.delta < 0 AND e.at::date = d::date) AS lost,
	          (SELECT sum(delta) FROM follow_events e, a WHERE e.followee = a.id
	          AND e.at < d + interval '1 day') AS followers
	          FROM generate_series(current_date - 29, current_date, interval '1 day') d) x),
	      (SELECT json_agg(pigeon_post_reach(p.id)) FROM (SELECT p.id FROM posts p, a
	          WHERE p.account_id = a.id ORDER BY p.id DESC LIMIT 20) p),
	      (SELECT json_agg(x) FROM (SELECT lang, count(*) FROM fol GROUP BY 1) x),
	      (SELECT json_agg(x) FROM (SELECT (SELECT r.network FROM number_ranges r
	          WHERE fol.phone LIKE r.prefix || '%' ORDER BY length(r.prefix) DESC LIMIT 1) n,
	          count(*) FROM fol GROUP BY 1) x),
	      (SELECT json_agg(x) FROM (SELECT extract(hour FROM m.received_at) h,
	          count(DISTINCT m.sender) FROM inbox_messages m
	          WHERE m.sender IN (SELECT phone FROM fol)
	          AND m.received_at > now() - interval '30 days' GROUP BY 1) x)"
	k=0
	: >"$BENCH_VAR/stats.base"
	while [ $k -lt "$bn" ]; do
		printf '\\timing on\n%s;\n' "$naive" | psql -X -q -A -t "$db" 2>&1 |
		    awk '/^Time:/ { print $2 }' >>"$BENCH_VAR/stats.base"
		k=$((k + 1))
	done
	base=$(sort -n "$BENCH_VAR/stats.base" | awk '{ t[NR] = $1 }
	    END { printf "%.1f", t[int((NR + 1) / 2)] }')
	echo "bench: stats: p50 $p50 ms, p99 $p99 ms over $N requests (the first, cold: $cold ms); naive SQL $base ms" >&2
	# Time in ms: lower is better, so the ratio is baseline / pigeon.
	result stats-p50 "ms" "$p50" "$base" "$(calc "$base / $p50")" ""
	result stats-p99 "ms" "$p99" "$base" "$(calc "$base / $p99")" "< 200 ms"
	result stats-cold "ms" "$cold" "$base" "$(calc "$base / $cold")" ""
}

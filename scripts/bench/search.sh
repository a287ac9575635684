# Workload search (issue 17): the public search page, GET /search?q=...,
# over BENCH_SEARCH_POSTS posts (default 1,000,000) written by
# generate_series from French, Arabic and English words (a few frequent,
# most rare, accents and the Arabic article included), by 10,000 members.
# BENCH_SEARCH_REQS requests (default 1000) of varied queries (frequent
# and rare words, folded forms such as "ete" for "été" and كسكس for
# الكسكس, two words, no match, hashtag pages) go through the real pigeond,
# one keep-alive connection, timed by curl; p50 and p99 in ms. Target:
# p99 under 50 ms. Baseline, in the same run: the same queries through
# /api/search, the search SMS SEARCH also runs (pigeon_search: one
# statement, the planner choosing between the primary key walked backwards
# and the GIN index of folded words; db/functions/68_web.sql says why the
# pages do not).

# search_fill CONNINFO N: N posts over 10,000 members.
search_fill() {
	members "$1" 10000
	psql_q "$1" "ALTER TABLE posts DISABLE TRIGGER USER" >/dev/null
	# Word lists by language; power(random(), 3) makes the first words of
	# each list frequent and the last ones rare (a few percent down to a
	# few in a million).
	psql_q "$1" "
	WITH w AS (SELECT
	    ARRAY['le','la','de','et','un','une','pour','avec','dans','sur','pas','très',
	          'été','marché','café','fête','école','demain','soleil','prix','match',
	          'équipe','grève','métro','forêt','élève','hôpital','noël','crêpe','déjà',
	          'où','à','ça','août','prêt','naïf','maïs','cœur','sœur','bientôt',
	          '#promo','#maroc','#foot','#soldes','bébé','théâtre','général','réseau',
	          'événement','préféré','complètement','journée','télé','fenêtre','rêve',
	          'île','hôtel','âge','goût','plaît'] AS fr,
	    ARRAY['في','من','على','و','هذا','اليوم','الكسكس','المغرب','السوق','الطقس',
	          'كرة','القدم','مباراة','الرباط','الدار','البيضاء','طنجة','فاس','مراكش',
	          'أكادير','المدرسة','العيد','رمضان','الشاي','النعناع','الحريرة','الطاجين',
	          'بالمغرب','والكسكس','للبيع','تخفيضات','الجمعة','السبت','الأحد','إعلان',
	          'مبروك','شكرا','أهلا','سلام','خبر','عاجل','الحكومة','الانتخابات',
	          '#المغرب','#كرة_القدم','الجامعة','الامتحان','النتائج','الحافلة',
	          'القطار','المطار','الفندق','البحر','الشاطئ','الجبل','الثلج','المطر',
	          'الحرارة','البرد','الصيف'] AS ar,
	    ARRAY['the','a','to','and','of','in','is','for','on','today','news','sale',
	          'match','phone','price','free','new','love','happy','morning','night',
	          'traffic','weather','rain','sun','team','goal','win','lost','city',
	          'market','shop','deal','offer','ticket','train','bus','airport','hotel',
	          '#breaking','#deal','#football','school','exam','results','holiday',
	          'beach','mountain','snow','summer','winter','coffee','tea','mint',
	          'couscous','tagine','friday','weekend','concert'] AS en)
	INSERT INTO posts (account_id, text, created_at, terms)
	SELECT a.id, t.text, now() - make_interval(secs => ($2 - i) * 30), pigeon_terms(t.text)
	  FROM generate_series(1, $2) i
	  CROSS JOIN w
	  JOIN accounts a ON a.handle = 'u' || (i % 10000)
	  CROSS JOIN LATERAL (
		-- A post is in one language (i % 3), but one in ten mixes
		-- French and Arabic word by word, as Moroccan posts do;
		-- English is never mixed: weather الطقس finds nothing,
		-- though both words are common.
		SELECT string_agg((CASE WHEN i % 10 = 0 AND i % 3 <> 2
		           THEN (CASE k % 2 WHEN 0 THEN w.fr ELSE w.ar END)
		           ELSE (CASE i % 3 WHEN 0 THEN w.fr WHEN 1 THEN w.ar ELSE w.en END) END)
		           [1 + floor(power(random(), 3) * 60)::int]
		           || CASE WHEN random() < 0.3 THEN (i * k % 997)::text ELSE '' END,
		           ' ') AS text
		  FROM generate_series(1, 5 + i % 8) k) t" >/dev/null
	psql_q "$1" "ALTER TABLE posts ENABLE TRIGGER USER" >/dev/null
	psql_q "$1" "VACUUM ANALYZE posts" >/dev/null
}

# The queries, cycled: frequent, middling and rare words of each language,
# folded forms (ete, ECOLE, coeur, كسكس), two words that seldom or never
# meet (an English and an Arabic one), no match at all, hashtags. A line "tag NAME" is the hashtag page /tags/NAME
# (its baseline: the search for #NAME).
search_queries() {
	cat <<'Q'
le
the
في
ete
Été
marche
ECOLE
coeur
hopital
noel
couscous
كسكس
الكسكس
المغرب
بالمغرب
weather
match
prix
plait
reve
الصيف
concert
tagine
weekend
ete tea
le في
the couscous
snow الثلج
weather الطقس
the في
match goal
soleil plage
prix #promo
le398
the92
zzz
pigeonnier
#promo
#maroc
#المغرب
tag promo
tag maroc
tag foot
tag soldes
tag football
tag breaking
tag المغرب
tag كرة_القدم
Q
}

# search_urls BASE API N: a curl config of N requests (GET, keep-alive),
# each writing its time in seconds; API=1 asks /api/search instead.
search_urls() {
	search_queries | awk -v base="$1" -v api="$2" -v n="$3" '
	{ q[NR] = $0 }
	END {
		for (i = 0; i < n; i++) {
			s = q[i % NR + 1]
			tag = (s ~ /^tag /)
			if (tag)
				s = substr(s, 5)
			gsub(/"/, "", s)
			if (api) {
				printf "url = \"%s/api/search\"\nget\n", base
				printf "data-urlencode = \"q=%s%s\"\n", tag ? "#" : "", s
			} else if (tag) {
				printf "url = \"%s/tags/%s\"\n", base, s
			} else {
				printf "url = \"%s/search\"\nget\n", base
				printf "data-urlencode = \"q=%s\"\n", s
			}
			printf "output = \"/dev/null\"\nwrite-out = \"%%{http_code} %%{time_total}\\n\"\n"
			if (i < n - 1)
				print "next"
		}
	}'
}

# search_time CONFIG: runs it; prints "p50 p99" in ms. Every answer must be
# a 200.
search_time() {
	curl -s -K "$1" >"$1.times" || return 1
	bad=$(awk '$1 != 200' "$1.times" | head -3)
	if [ -n "$bad" ]; then
		echo "bench: search answered: $bad" >&2
		return 1
	fi
	awk '{ print $2 * 1000 }' "$1.times" | sort -n | awk '{ v[NR] = $1 }
	    END { printf "%.1f %.1f\n", v[int((NR + 1) * 0.5)], v[NR - int(NR * 0.01)] }'
}

bench_search() {
	N=${BENCH_SEARCH_POSTS:-1000000}
	R=${BENCH_SEARCH_REQS:-1000}
	db=$(new_db bench_search)
	pigeon_schema "$db"
	echo "bench: search: writing $N posts..." >&2
	search_fill "$db" "$N"
	conf=$BENCH_VAR/search.conf
	printf '[database]\nconninfo = %s\n[http]\nlisten = 127.0.0.1:%s\npublic_rate = 1000000\nsearch_rate = 1000000\n' \
	    "$db" "$BENCH_HTTP" >"$conf"
	"$BENCH_BIN/pigeond" -c "$conf" >"$BENCH_VAR/search.log" 2>&1 &
	pd=$!
	base=http://127.0.0.1:$BENCH_HTTP
	deadline=$(( $(date +%s) + 30 ))
	until curl -s -o /dev/null -f "$base/healthz"; do
		if [ "$(date +%s)" -gt "$deadline" ]; then
			echo "bench: search: pigeond did not come up" >&2
			kill -TERM $pd; wait $pd || true
			return 1
		fi
		sleep 0.1
	done
	nq=$(search_queries | wc -l)
	search_urls "$base" 0 "$R" >"$BENCH_VAR/search.page"
	search_urls "$base" 1 "$R" >"$BENCH_VAR/search.api"
	# Once through every query on both sides first: the cache warm for both.
	search_urls "$base" 0 "$nq" >"$BENCH_VAR/search.warm"
	search_urls "$base" 1 "$nq" >>"$BENCH_VAR/search.warm"
	curl -s -K "$BENCH_VAR/search.warm" >/dev/null
	set -- $(search_time "$BENCH_VAR/search.page")
	p50=${1:-} p99=${2:-}
	set -- $(search_time "$BENCH_VAR/search.api")
	b50=${1:-} b99=${2:-}
	kill -TERM $pd; wait $pd || true
	if [ -z "$p99" ] || [ -z "$b99" ]; then
		return 1
	fi
	result search-p50 "ms" "$p50" "$b50" "$(calc "$b50 / $p50")" "$N posts, $R requests"
	result search-p99 "ms" "$p99" "$b99" "$(calc "$b99 / $p99")" "< 50 ms"
}

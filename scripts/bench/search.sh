# Workload search (issue 17): the public search page, GET /search?q=...,
# over BENCH_SEARCH_POSTS posts (default 1,000,000) written by
# generate_series from French, Arabic and English words (a few frequent,
# most rare, accents and the Arabic article included), by 10,000 members.
# BENCH_SEARCH_REQS requests (default 1000) of varied queries (frequent
# and rare words, folded forms such as "ete" for "été" and كسكس for
# الكسكس, two words, no match, hashtag pages) go through the real pigeond,
# one keep-alive connection, timed by curl; p50 and p99 in ms. Target:
# p99 under 50 ms. Baseline, in the same run: the same queries through
# the search that SMS SEARCH and /api/search use (pigeon_search: the GIN
# index alone, ORDER BY id DESC over every match).

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
		SELECT string_agg(CASE (i + k) % 7
		           WHEN 0 THEN w.en[1 + floor(power(random(), 3) * 60)::int]
		           WHEN 1 THEN w.fr[1 + floor(power(random(), 3) * 60)::int]
		           ELSE (CASE i % 3 WHEN 0 THEN w.fr WHEN 1 THEN w.ar ELSE w.en END)
		                [1 + floor(power(random(), 3) * 60)::int] END
		           || CASE WHEN random() < 0.3 THEN (i * k % 997)::text ELSE '' END,
		           ' ') AS text
		  FROM generate_series(1, 5 + i % 8) k) t" >/dev/null
	psql_q "$1" "ALTER TABLE posts ENABLE TRIGGER USER" >/dev/null
	psql_q "$1" "VACUUM ANALYZE posts" >/dev/null
}

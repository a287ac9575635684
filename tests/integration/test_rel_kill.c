/*
 * Issue 7: pigeond SIGKILLed again and again while it ingests N SMS and
 * while it dispatches N messages, restarted each time. Every SMS becomes
 * exactly one inbox row and one post; every queued message is sent; sends
 * repeated after a kill are counted and bounded by what was in flight
 * (one send per modem per kill).
 *
 * The modems are tests/reliability/fake-modem in SIM mode (PIGEON_FAKE_SIM):
 * like a SIM, each new worker reports every SMS pigeond has not deleted;
 * each send takes PIGEON_FAKE_SEND_MS and is logged, so the test counts
 * what reached "the radio" including duplicates. Killing pigeond kills its
 * workers (PR_SET_PDEATHSIG) as with the real ones. libgammu's connect
 * (3.4 s) would make dozens of restarts too slow for make test.
 *
 * make test: N = 600, 4 kills per phase. PIGEON_REL_LONG=1 (make
 * test-reliability): N = 5000, 15 kills per phase. Each phase prints a
 * "REL|" line that make test-reliability gathers into its table.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "harness.h"

#define ALICE	"+212661000001"
#define BOB	"+212661000002"
#define CAROL	"+212661000003"	/* follows alice, then says STOP */
#define NMODEMS	2

static struct h_gateway g;
static char *fake_dir;
static int n_msgs, n_kills;
static unsigned seed = 7;

static char *
path_of(const char *modem, const char *ext)
{
	char *p = malloc(strlen(fake_dir) + strlen(modem) + strlen(ext) + 3);
	sprintf(p, "%s/%s.%s", fake_dir, modem, ext);
	return p;
}

/* The SIM of modem simI: a JOIN, then its half of the posts. sim0 also
 * holds carol's JOIN, FOLLOW alice and STOP, before alice's posts. */
static void
write_sim(int i, const char *from, const char *handle)
{
	char name[16];
	snprintf(name, sizeof(name), "sim%d", i);
	char *p = path_of(name, "sms");
	FILE *f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	int loc = 1;
	fprintf(f, "{\"type\":\"sms\",\"folder\":1,\"location\":%d,\"sender\":\"%s\","
	    "\"coding\":\"gsm\",\"time\":\"2026-11-26T08:00:00+00:00\",\"text\":\"JOIN %s\"}\n",
	    loc++, from, handle);
	static const char *const carol[] = { "JOIN carol", "FOLLOW alice", "STOP" };
	for (int k = 0; i == 0 && k < 3; k++)
		fprintf(f, "{\"type\":\"sms\",\"folder\":1,\"location\":%d,\"sender\":\"%s\","
		    "\"coding\":\"gsm\",\"time\":\"2026-11-26T07:59:%02d+00:00\",\"text\":\"%s\"}\n",
		    loc++, CAROL, k, carol[k]);
	for (int k = i; k < n_msgs; k += NMODEMS)
		fprintf(f, "{\"type\":\"sms\",\"folder\":1,\"location\":%d,\"sender\":\"%s\","
		    "\"coding\":\"gsm\",\"time\":\"2026-11-26T08:%02d:%02d+00:00\","
		    "\"text\":\"post %d\"}\n", loc++, from, (k / 60) % 60, k % 60, k);
	fclose(f);
	free(p);
}

static void
setup(void)
{
	char cwd[1024];
	static char extra[1400];

	memset(&g, 0, sizeof(g));
	n_msgs = getenv("PIGEON_REL_LONG") ? 5000 : 600;
	n_kills = getenv("PIGEON_REL_LONG") ? 15 : 4;
	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	fake_dir = h_tmpdir("kill-fake");
	setenv("PIGEON_FAKE_DIR", fake_dir, 1);
	setenv("PIGEON_FAKE_SIM", "1", 1);
	setenv("PIGEON_FAKE_SEND_MS", "10", 1);
	/* Paced so that the kills fall during the ingest, not after it. */
	setenv("PIGEON_FAKE_SMS_MS", "4", 1);
	write_sim(0, ALICE, "alice");
	write_sim(1, BOB, "bob");
	snprintf(extra, sizeof(extra),
	    "modem_program = %s/tests/reliability/fake-modem\nlease_seconds = 5\n"
	    "limit_minute = 100000\nlimit_day = 1000000\nwatchdog_seconds = 3\n", cwd);
	g.extra_config = extra;
	g.http_extra = "token = rel-token-0123456789abcdef0123456789\n";
	/* A fake send takes 10 ms: the watchdog's allowance for a part is
	 * 0.7 s plus this, and a hung worker is found that much sooner. */
	for (int i = 0; i < NMODEMS; i++)
		g.modem_extra[i] = "send_wait_seconds = 3\n";
	h_gateway_start(&g, "rel_kill", NMODEMS);
}

static void
teardown(void)
{
	h_gateway_stop(&g);
	unsetenv("PIGEON_FAKE_DIR");
	unsetenv("PIGEON_FAKE_SIM");
	unsetenv("PIGEON_FAKE_SEND_MS");
	unsetenv("PIGEON_FAKE_SMS_MS");
	free(fake_dir);
}

struct done_arg {
	const char *sql;
	long want;
	long got;
};

static int
count_reached(void *p)
{
	struct done_arg *a = p;
	a->got = h_db_long(g.db, a->sql, 0, NULL);
	return a->got >= a->want;
}

/* Kills pigeond n_kills times at random moments until done says so; returns
 * the number of kills. */
static int
kill_loop(struct done_arg *done)
{
	int kills = 0;

	while (kills < n_kills && !count_reached(done)) {
		h_sleep_ms(100 + (int)(rand_r(&seed) % 600));
		h_stop(g.pigeond, SIGKILL, 1000);
		kills++;
		fprintf(stderr, "rel: kill %d at %ld of %ld\n", kills, done->got, done->want);
		h_pigeond_start(&g);
	}
	return kills;
}

static long
count(const char *sql)
{
	return h_db_long(g.db, sql, 0, NULL);
}

/* Sends per outbox id, read from the fake modems' logs. */
static void
count_sends(long first_id, long n, long *distinct, long *total)
{
	int *seen = calloc((size_t)n, sizeof(int));
	*distinct = *total = 0;
	for (int i = 0; i < NMODEMS; i++) {
		char name[16];
		snprintf(name, sizeof(name), "sim%d", i);
		h_fake_sends(fake_dir, name, first_id, n, seen);
	}
	for (long i = 0; i < n; i++) {
		*total += seen[i];
		*distinct += seen[i] > 0;
	}
	free(seen);
}

/* Queues n operator messages to distinct numbers +212 prefix NNNNNN with
 * texts "tag N"; returns the first id. */
static long
queue(const char *prefix, const char *tag, int n)
{
	char ns[16];
	snprintf(ns, sizeof(ns), "%d", n);
	const char *params[] = { ns, prefix, tag };
	long first_id = h_db_long(g.db,
	    "WITH i AS (INSERT INTO outbox (recipient, text, class) "
	    "SELECT '+212' || $2 || lpad(k::text, 6, '0'), $3 || ' ' || k, 1::smallint "
	    "FROM generate_series(1, $1::int) k RETURNING id) SELECT min(id) FROM i",
	    3, params);
	ck_assert_int_gt(first_id, 0);
	h_db_long(g.db, "SELECT 1 FROM pg_notify('pigeon_outbox', '')", 0, NULL);
	return first_id;
}

static long
deleted_count(void)
{
	long n = 0;
	for (int i = 0; i < NMODEMS; i++) {
		char name[16];
		snprintf(name, sizeof(name), "sim%d", i);
		char *p = path_of(name, "deleted");
		char *del = h_read_file(p);
		free(p);
		n += del ? h_count_lines(del, "1 ") : 0;
		free(del);
	}
	return n;
}

/* The SIMs against their deletes (h_fake_deletes): snap, copies of the
 * .deleted files taken at `before` (NULL: as they are now). */
struct sims {
	long sms, deleted, early;
};

static void
sims_check(char *const *snap, double before, struct sims *s)
{
	memset(s, 0, sizeof(*s));
	for (int i = 0; i < NMODEMS; i++) {
		char name[16];
		snprintf(name, sizeof(name), "sim%d", i);
		h_fake_deletes(g.db, fake_dir, name, snap ? snap[i] : NULL, before,
		    &s->sms, &s->deleted, &s->early);
	}
}

/* Every SMS on the SIMs deleted. */
static int
all_deleted(void *p)
{
	struct sims *s = p;
	sims_check(NULL, h_epoch(), s);
	if (s->deleted < s->sms)
		h_sleep_ms(100);
	return s->deleted == s->sms;
}

/* Sends to `to` whose text holds needle, in the fake modems' logs. */
static int
sends_to(const char *to, const char *needle)
{
	int n = 0;

	for (int i = 0; i < NMODEMS; i++) {
		char name[16];
		snprintf(name, sizeof(name), "sim%d", i);
		char *p = path_of(name, "log");
		char *log = h_read_file(p);
		free(p);
		for (char *l = log ? strtok(log, "\n") : NULL; l; l = strtok(NULL, "\n"))
			n += strstr(l, "\"type\":\"send\"") && strstr(l, to) &&
			    strstr(l, needle);
		free(log);
	}
	return n;
}

START_TEST(test_kill_during_ingest_and_dispatch)
{
	long t0 = h_now_ms();

	/* Ingest: the SIMs hold n_msgs posts; pigeond is killed meanwhile. */
	struct done_arg posts = { "SELECT count(*) FROM posts", n_msgs, 0 };
	int kills = kill_loop(&posts);
	ck_assert_int_eq(h_wait_for(count_reached, &posts, 300000), 0);
	ck_assert_int_eq(h_gateway_settle(&g, 120000), 0);
	long inbox = count("SELECT count(*) FROM inbox_messages WHERE text LIKE 'post %'");
	long distinct = count("SELECT count(DISTINCT text) FROM inbox_messages "
	    "WHERE text LIKE 'post %'");
	long nposts = count("SELECT count(*) FROM posts");
	long dposts = count("SELECT count(DISTINCT inbox_id) FROM posts");
	fprintf(stderr, "REL|pigeond SIGKILL during ingest|%d kills|%d|%ld|%ld|%ld|%.1f s\n",
	    kills, n_msgs, nposts, n_msgs - distinct, inbox - distinct,
	    (h_now_ms() - t0) / 1000.0);
	ck_assert_int_eq(inbox, n_msgs);
	ck_assert_int_eq(distinct, n_msgs);
	ck_assert_int_eq(nposts, n_msgs);
	ck_assert_int_eq(dposts, n_msgs);
	ck_assert_int_eq(count("SELECT count(*) FROM inbox_messages WHERE state = 'new'"), 0);
	/* Every SMS on the SIMs (the posts, the two JOINs, carol's JOIN,
	 * FOLLOW and STOP) was deleted from its SIM, once committed: each
	 * location at least once (a re-reported one may be deleted twice),
	 * each deleted SMS an inbox row. */
	struct sims sims;
	int all = h_wait_for(all_deleted, &sims, 60000);
	ck_assert_int_eq(sims.sms, n_msgs + NMODEMS + 3);
	ck_assert_msg(all == 0, "%ld of the %ld SMS deleted from the SIMs", sims.deleted,
	    sims.sms);
	ck_assert_int_eq(sims.early, 0);
	/* STOP held through the kills: carol followed alice, then said
	 * STOP; no copy of a post was made for her, none reached her. */
	ck_assert_int_eq(count("SELECT count(*) FROM optouts WHERE phone = '" CAROL "'"), 1);
	ck_assert_int_eq(count("SELECT count(*) FROM outbox WHERE recipient = '" CAROL "' "
	    "AND post_id IS NOT NULL"), 0);
	ck_assert_int_eq(sends_to(CAROL, "@alice:"), 0);

	/* Dispatch: n_msgs operator messages to distinct numbers. */
	t0 = h_now_ms();
	long first_id = queue("662", "dispatch", n_msgs);
	/* Raw rows to carol, queued behind pigeon_send's back: the claim
	 * cancels them whatever the kills. */
	count("WITH i AS (INSERT INTO outbox (recipient, text, class) SELECT '" CAROL "', "
	    "'to carol ' || k, 1::smallint FROM generate_series(1, 3) k RETURNING id) "
	    "SELECT count(*) FROM i");
	struct done_arg sent = { "SELECT count(*) FROM outbox WHERE text LIKE 'dispatch %' "
	    "AND state IN ('sent', 'delivered')", n_msgs, 0 };
	kills = kill_loop(&sent);
	ck_assert_int_eq(h_wait_for(count_reached, &sent, 600000), 0);
	long ndistinct, ntotal;
	count_sends(first_id, n_msgs, &ndistinct, &ntotal);
	fprintf(stderr, "REL|pigeond SIGKILL during dispatch|%d kills|%d|%ld|%ld|%ld|%.1f s\n",
	    kills, n_msgs, ndistinct, n_msgs - ndistinct, ntotal - ndistinct,
	    (h_now_ms() - t0) / 1000.0);
	ck_assert_int_eq(ndistinct, n_msgs);
	/* A kill can cut at most one send per modem: sent, not yet recorded. */
	ck_assert_int_le(ntotal - ndistinct, (long)kills * NMODEMS);
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM outbox WHERE recipient = $1 "
	    "AND text LIKE 'to carol %' AND state = 'cancelled'", CAROL, "3", 60000), 0);
	ck_assert_int_eq(sends_to(CAROL, "to carol"), 0);
	/* What she did get: the STOP confirmation (at least once). */
	ck_assert_int_ge(sends_to(CAROL, "no more SMS"), 1);
}
END_TEST

static int
api_is(void *want)
{
	char *body = NULL;
	int code = h_http(g.http_port, "GET", "/api/status", "rel-token-0123456789abcdef0123456789", NULL, &body);
	free(body);
	return code == *(int *)want;
}

/* PostgreSQL stopped (mode) for a while mid-run: the API says 503, no SMS
 * is deleted from a SIM unless its commit came before the stop (the rest
 * wait there), then pigeond reconnects by itself and the API answers
 * again. */
static void
pg_outage(const char *mode)
{
	int c503 = 503, c200 = 200;
	char *snap[NMODEMS];
	/* PostgreSQL is started again before any assertion can end the test. */
	int stopped = h_pg_stop_mode(mode);
	int got503 = h_wait_for(api_is, &c503, 10000);
	long del = deleted_count();
	/* Not a wait for a condition: the outage's length. What it checks
	 * holds whenever the deletes come (sims_check, below). */
	h_sleep_ms(1500);
	long deleted_while_down = deleted_count() - del;
	/* What the SIMs had been told to delete by the end of the outage. */
	for (int i = 0; i < NMODEMS; i++) {
		char name[16];
		snprintf(name, sizeof(name), "sim%d", i);
		char *p = path_of(name, "deleted");
		snap[i] = h_read_file(p);
		free(p);
	}
	double t_start = h_epoch();
	int started = h_pg_start();
	ck_assert_int_eq(stopped, 0);
	ck_assert_int_eq(started, 0);
	ck_assert_msg(got503 == 0, "the API did not answer 503 with PostgreSQL down");
	long t0 = h_now_ms();
	ck_assert_int_eq(h_wait_for(api_is, &c200, 60000), 0);
	fprintf(stderr, "rel: PostgreSQL %s stop: API back %ld ms after the start\n", mode,
	    h_now_ms() - t0);
	PQreset(g.db);
	/*
	 * Deletes of a batch committed just before the stop may still reach
	 * the modems while the database is down, so their count is no
	 * invariant. What is: each SMS deleted by the end of the outage had
	 * been stored by a transaction begun before PostgreSQL started again,
	 * i.e. committed before the stop; none was deleted ahead of its
	 * commit (inbound.c). That none was lost is checked at the end.
	 */
	struct sims sims;
	sims_check(snap, t_start, &sims);
	fprintf(stderr, "rel: PostgreSQL %s stop: %ld deletes while down; by its end %ld "
	    "of %ld SMS deleted, %ld of them not committed before it\n", mode,
	    deleted_while_down, sims.deleted, sims.sms, sims.early);
	ck_assert_int_eq(sims.early, 0);
	for (int i = 0; i < NMODEMS; i++)
		free(snap[i]);
}

START_TEST(test_postgres_restarts)
{
	struct done_arg posts = { "SELECT count(*) FROM posts", n_msgs, 0 };
	long t0 = h_now_ms();

	/* Ingest, with a fast then an immediate stop of PostgreSQL, each
	 * once the ingest is under way (again, after the first). */
	struct done_arg going = { "SELECT count(*) FROM posts", n_msgs / 10, 0 };
	ck_assert_int_eq(h_wait_for(count_reached, &going, 60000), 0);
	pg_outage("fast");
	going.want = count("SELECT count(*) FROM posts") + n_msgs / 20;
	if (going.want > n_msgs)
		going.want = n_msgs;
	ck_assert_int_eq(h_wait_for(count_reached, &going, 60000), 0);
	pg_outage("immediate");
	ck_assert_int_eq(h_wait_for(count_reached, &posts, 300000), 0);
	ck_assert_int_eq(h_gateway_settle(&g, 120000), 0);
	long inbox = count("SELECT count(*) FROM inbox_messages WHERE text LIKE 'post %'");
	long distinct = count("SELECT count(DISTINCT text) FROM inbox_messages "
	    "WHERE text LIKE 'post %'");
	fprintf(stderr, "REL|PostgreSQL restart during ingest|fast + immediate|%d|%ld|%ld|%ld|%.1f s\n",
	    n_msgs, count("SELECT count(*) FROM posts"), n_msgs - distinct, inbox - distinct,
	    (h_now_ms() - t0) / 1000.0);
	ck_assert_int_eq(inbox, n_msgs);
	ck_assert_int_eq(distinct, n_msgs);
	ck_assert_int_eq(count("SELECT count(*) FROM posts"), n_msgs);

	/* Dispatch, with an immediate stop. */
	t0 = h_now_ms();
	long first_id = queue("663", "dispatch", n_msgs);
	/* The dispatch under way. */
	struct done_arg sending = { "SELECT count(*) FROM outbox WHERE text LIKE "
	    "'dispatch %' AND state IN ('sent', 'delivered')", n_msgs / 10, 0 };
	ck_assert_int_eq(h_wait_for(count_reached, &sending, 60000), 0);
	pg_outage("immediate");
	struct done_arg sent = { "SELECT count(*) FROM outbox WHERE text LIKE 'dispatch %' "
	    "AND state IN ('sent', 'delivered')", n_msgs, 0 };
	ck_assert_int_eq(h_wait_for(count_reached, &sent, 600000), 0);
	long ndistinct, ntotal;
	count_sends(first_id, n_msgs, &ndistinct, &ntotal);
	fprintf(stderr, "REL|PostgreSQL restart during dispatch|immediate|%d|%ld|%ld|%ld|%.1f s\n",
	    n_msgs, ndistinct, n_msgs - ndistinct, ntotal - ndistinct,
	    (h_now_ms() - t0) / 1000.0);
	ck_assert_int_eq(ndistinct, n_msgs);
	/* Sends whose outcome could not be recorded: at most one per modem. */
	ck_assert_int_le(ntotal - ndistinct, NMODEMS);
}
END_TEST

static int
file_gone(void *path)
{
	return access(path, F_OK) != 0;
}

/* A pigeon-modem killed mid-send (sim0) and one hung mid-send (sim1, found
 * by pigeond's watchdog): each message's outcome is settled, sent again
 * on another modem or by the restarted worker; none is lost. */
START_TEST(test_worker_killed_or_hung_mid_send)
{
	int n = 60;
	long t0 = h_now_ms();

	ck_assert_int_eq(h_wait_for(count_reached,
	    &(struct done_arg){ "SELECT count(*) FROM posts", n_msgs, 0 }, 300000), 0);
	char *stall0 = path_of("sim0", "stall"), *stall1 = path_of("sim1", "stall");
	h_write_file(stall0, "");
	h_write_file(stall1, "");
	long first_id = queue("664", "stall", n);
	/* sim0's worker is in its send: kill it, as a crash would. */
	ck_assert_int_eq(h_wait_for(file_gone, stall0, 30000), 0);
	char *pidpath = path_of("sim0", "pid"), *pid = h_read_file(pidpath);
	ck_assert_ptr_nonnull(pid);
	ck_assert_int_eq(kill((pid_t)atol(pid), SIGKILL), 0);
	free(pid);
	free(pidpath);
	struct done_arg sent = { "SELECT count(*) FROM outbox WHERE text LIKE 'stall %' "
	    "AND state IN ('sent', 'delivered')", n, 0 };
	/* sim1 hangs until the watchdog's allowance for one part
	 * (watchdog_seconds + 0.7 s + send_wait_seconds: ~7 s). */
	ck_assert_int_eq(h_wait_for(count_reached, &sent, 180000), 0);
	ck_assert_int_eq(h_wait_for(file_gone, stall1, 1000), 0);
	long ndistinct, ntotal;
	count_sends(first_id, n, &ndistinct, &ntotal);
	fprintf(stderr, "REL|pigeon-modem killed, hung mid-send|1 SIGKILL + 1 hang|%d|%ld|%ld|%ld|%.1f s\n",
	    n, ndistinct, n - ndistinct, ntotal - ndistinct, (h_now_ms() - t0) / 1000.0);
	ck_assert_int_eq(ndistinct, n);
	ck_assert_int_le(ntotal - ndistinct, 2);
	/* Both workers were replaced (the hung one once the watchdog saw it). */
	ck_assert_int_eq(h_wait_db(&g, "SELECT sum(restarts) >= 2 FROM modems", NULL, "t",
	    60000), 0);
	free(stall0);
	free(stall1);
}
END_TEST

static Suite *
suite(void)
{
	/* A case per scenario (each test has its own gateway anyway): "pg"
	 * stops the shared cluster, so tests/run runs it alone (Makefile's
	 * TESTS_ALONE), the others beside other programs. */
	const struct h_case cases[] = {
		{ "kill", test_kill_during_ingest_and_dispatch },
		{ "pg", test_postgres_restarts },
		{ "worker", test_worker_killed_or_hung_mid_send },
	};

	return h_suite_cases("rel_kill", cases, sizeof(cases) / sizeof(cases[0]),
	    setup, teardown, 1200);
}

int
main(void)
{
	return h_main(suite());
}

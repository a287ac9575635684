/*
 * Issue 18, item 2's last part: a webhook receiver that goes silent, a cut
 * and not a close, under ingest (SMS on the SIMs, each post a webhook
 * event) and dispatch (queued messages):
 *
 * - the receiver accepts each connection and reads the POST, then never
 *   answers and never closes (a hung application behind a live socket);
 * - the receiver stops accepting: its listen queue (backlog 1) fills and
 *   the kernel drops every further SYN, without an RST, so a connect
 *   hangs (tc's netem and drop actions are missing from the test kernels:
 *   this is the silent SYN);
 * - the TCP path to the receiver is cut, both ways, no FIN, no RST (ip
 *   rules that blackhole its port, as test_rel_db cuts the path to
 *   PostgreSQL): the connection in flight goes silent, and a new connect
 *   fails at once (EINVAL: the route is a blackhole). That failure came
 *   from inside evhttp_make_request and pigeond used the delivery it had
 *   just freed (a heap use-after-free, ASan): fixed in webhook.c.
 *
 * Asserted: pigeond gives up on each attempt within [http] webhook_seconds
 * (the documented per-delivery deadline) and keeps the event for a retry;
 * the SMS pipeline does not wait on the receiver (posts are made and
 * messages sent during the cut, at a rate near the one before it); once
 * the receiver is back every event reaches it, and none is answered 200
 * twice except the one whose answer the cut swallowed. Counted like issue
 * 7's (REL| rows, tests/reliability/table): in = post events, out = events
 * the receiver answered 200, lost, duplicated (answered 200 more than once).
 *
 * The process runs in a network namespace of its own (unshare, as root),
 * so the ip rules touch nothing outside the test. pigeond reaches the
 * test cluster on its unix socket, which the cut does not touch. Not in
 * make test: make test-reliability. PIGEON_REL_LONG=1: a longer cut and
 * more SMS.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <check.h>

#include "harness.h"

#define NMODEMS		2
#define RECV_PORT	18081	/* in the test's own network namespace */
#define DEADLINE_S	3	/* [http] webhook_seconds of the test */
#define MAX_CONNS	512

static struct h_gateway g;
static char *fake_dir, *recv_log, *silent_flag, *stall_flag;
static pid_t recv_pid;
static int n_in, n_out, cut_ms, cut;

static long
count(const char *sql)
{
	return h_db_long(g.db, sql, 0, NULL);
}

/* ------------------------------------------------------------------ */
/* The receiver: a child process on 127.0.0.1:RECV_PORT. Each complete
 * POST is logged "OK ID" when answered 200, "SILENT ID" when the flag file
 * exists: then the socket is kept open and never written to. */

static int conns[MAX_CONNS];
static int nconns;

static void
receiver_serve_one(int c)
{
	char buf[65536];
	struct timeval tv = { 5, 0 };

	/* A connection the cut froze must not hold the receiver forever. */
	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	h_http_read_request(c, buf, sizeof(buf));
	char *end = strstr(buf, "\r\n\r\n");
	char *id = strcasestr(buf, "x-pigeon-delivery:");
	if (end == NULL || id == NULL) {
		close(c);
		return;
	}
	int silent = access(silent_flag, F_OK) == 0;
	FILE *f = fopen(recv_log, "a");
	if (f) {
		fprintf(f, "%s %d\n", silent ? "SILENT" : "OK", atoi(id + 18));
		fclose(f);
	}
	if (silent && nconns < MAX_CONNS) {
		conns[nconns++] = c;	/* open, unanswered, until the receiver ends */
		return;
	}
	const char *ok = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
	if (write(c, ok, strlen(ok)) < 0) {
		/* The answer did not leave: pigeond retries; logged as answered. */
	}
	close(c);
}

static void
receiver_start(void)
{
	struct sockaddr_in sa = { 0 };
	int one = 1, lfd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_family = AF_INET;
	sa.sin_port = htons(RECV_PORT);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	ck_assert_int_ne(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), -1);
	/* Backlog 1: a stalled receiver drops SYNs after two connections. */
	ck_assert_int_ne(listen(lfd, 1), -1);
	recv_pid = fork();
	ck_assert_int_ne(recv_pid, -1);
	if (recv_pid == 0) {
		/* Gone with the test, even a killed one. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		signal(SIGPIPE, SIG_IGN);
		for (;;) {
			/* Stalled: nothing accepted, the listen queue fills. */
			if (access(stall_flag, F_OK) == 0) {
				h_sleep_ms(100);
				continue;
			}
			int c = accept(lfd, NULL, NULL);
			if (c != -1)
				receiver_serve_one(c);
		}
	}
	close(lfd);
}

static void
receiver_stop(void)
{
	if (recv_pid > 0) {
		kill(recv_pid, SIGKILL);
		waitpid(recv_pid, NULL, 0);
	}
	recv_pid = 0;
}

/* Events answered 200 (distinct, total) and bodies left unanswered. */
static void
received(long first_id, long *distinct, long *total, long *silent)
{
	char *text = h_read_file(recv_log);
	*distinct = *total = *silent = 0;
	if (text == NULL)
		return;
	long max = count("SELECT coalesce(max(id), 0) FROM webhook_deliveries");
	int *seen = calloc((size_t)(max + 2), sizeof(int));
	ck_assert_ptr_nonnull(seen);
	for (char *l = strtok(text, "\n"); l; l = strtok(NULL, "\n")) {
		long id = atol(strchr(l, ' ') ? strchr(l, ' ') + 1 : "0");
		if (id < first_id || id > max)
			continue;
		if (strncmp(l, "SILENT ", 7) == 0) {
			(*silent)++;
			continue;
		}
		(*total)++;
		*distinct += seen[id]++ == 0;
	}
	free(seen);
	free(text);
}

/* ------------------------------------------------------------------ */
/* The cut: blackhole rules on the receiver's port, as test_rel_db's. */

static int
ip_cmd(const char *args)
{
	char *out = NULL;
	int rc = h_run(&out, "ip %s 2>&1", args);
	if (rc != 0)
		fprintf(stderr, "rel: ip %s: %s\n", args, out ? out : "");
	free(out);
	return rc;
}

static int
path_cut(void)
{
	return ip_cmd("rule add pref 10 ipproto tcp dport 18081 blackhole") |
	    ip_cmd("rule add pref 11 ipproto tcp sport 18081 blackhole");
}

static int
path_heal(void)
{
	return ip_cmd("rule del pref 10") | ip_cmd("rule del pref 11");
}

/* ------------------------------------------------------------------ */
/* The gateway: fake modems in SIM mode (test_rel_db's), posts by SMS. */

/* The SIM of modem simI: a JOIN, then its share of n posts. */
static void
write_sim(int i, int n)
{
	static const char *const from[] = { "+212661000001", "+212661000002" };
	h_sim_posts(fake_dir, i, from[i], n, NMODEMS);
}

static void
setup(void)
{
	char cwd[1024], v[16];
	static char extra[1400], http_extra[256];

	n_in = getenv("PIGEON_REL_LONG") ? 2000 : 800;
	n_out = getenv("PIGEON_REL_LONG") ? 1300 : 500;
	cut_ms = getenv("PIGEON_REL_LONG") ? 60000 : 15000;
	fake_dir = h_tmpdir("rel-webhook");
	recv_log = h_strf("%s/received.log", fake_dir);
	silent_flag = h_strf("%s/silent", fake_dir);
	stall_flag = h_strf("%s/stall", fake_dir);
	setenv("PIGEON_FAKE_DIR", fake_dir, 1);
	setenv("PIGEON_FAKE_SIM", "1", 1);
	/* Slow enough that both flows outlast the cut. */
	snprintf(v, sizeof(v), "%d", getenv("PIGEON_REL_LONG") ? 120 : 100);
	setenv("PIGEON_FAKE_SMS_MS", v, 1);
	setenv("PIGEON_FAKE_SEND_MS", "150", 1);
	write_sim(0, n_in);
	write_sim(1, n_in);
	receiver_start();

	memset(&g, 0, sizeof(g));
	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	snprintf(extra, sizeof(extra),
	    "modem_program = %s/tests/reliability/fake-modem\nlease_seconds = 5\n"
	    "limit_minute = 100000\nlimit_day = 1000000\nwatchdog_seconds = 3\n", cwd);
	g.extra_config = extra;
	snprintf(http_extra, sizeof(http_extra), "token = rel-token-0123456789abcdef0123456789\n"
	    "webhooks = http://127.0.0.1:%d/hook\nwebhook_seconds = %d\n", RECV_PORT,
	    DEADLINE_S);
	g.http_extra = http_extra;
	h_gateway_start(&g, "rel_webhook", NMODEMS);
}

static void
teardown(void)
{
	if (cut)	/* the test failed during the cut */
		path_heal();
	cut = 0;
	if (g.dir)
		h_gateway_stop(&g);
	receiver_stop();
	unsetenv("PIGEON_FAKE_DIR");
	unsetenv("PIGEON_FAKE_SIM");
	unsetenv("PIGEON_FAKE_SEND_MS");
	unsetenv("PIGEON_FAKE_SMS_MS");
	free(fake_dir);
	free(recv_log);
	free(silent_flag);
	free(stall_flag);
	fake_dir = recv_log = silent_flag = stall_flag = NULL;
}

static long
queue(int n)
{
	char ns[16];
	snprintf(ns, sizeof(ns), "%d", n);
	const char *params[] = { ns };
	long first_id = h_db_long(g.db,
	    "WITH i AS (INSERT INTO outbox (recipient, text, class) "
	    "SELECT '+212669' || lpad(k::text, 6, '0'), 'out ' || k, 1::smallint "
	    "FROM generate_series(1, $1::int) k RETURNING id) SELECT min(id) FROM i",
	    1, params);
	ck_assert_int_gt(first_id, 0);
	h_db_long(g.db, "SELECT 1 FROM pg_notify('pigeon_outbox', '')", 0, NULL);
	return first_id;
}

struct reach {
	const char *sql;
	long want;
};

static int
reached(void *p)
{
	struct reach *a = p;
	return h_db_long(g.db, a->sql, 0, NULL) >= a->want;
}

static int
wait_count(const char *sql, long want, int timeout_ms)
{
	struct reach a = { sql, want };
	return h_wait_for(reached, &a, timeout_ms);
}

struct answered {
	long want;
};

static int
all_answered(void *p)
{
	long distinct, total, silent;
	received(1, &distinct, &total, &silent);
	return distinct >= ((struct answered *)p)->want;
}

#define POSTS_SQL "SELECT count(*) FROM posts WHERE text LIKE 'post %'"
#define SENT_SQL "SELECT count(*) FROM outbox WHERE text LIKE 'out %' " \
	"AND state IN ('sent', 'delivered')"
#define EVENTS_SQL "SELECT count(*) FROM webhook_deliveries WHERE event = 'post'"
/* Attempts pigeond gave up on: each failed attempt adds one to attempts
 * of a delivery still pending (or later done). */
#define GAVE_UP_SQL "SELECT coalesce(sum(attempts - CASE WHEN state = 'done' THEN 1 " \
	"ELSE 0 END), 0) FROM webhook_deliveries WHERE state IN ('pending', 'done')"

enum mode { SILENT, STALLED, CUT };

static void
scenario(const char *name, enum mode mode)
{
	int drop_packets = mode == CUT;
	/* A queue to dispatch during the cut. */
	long first_out = queue(n_out);
	ck_assert_int_eq(wait_count(POSTS_SQL, n_in / 6, 120000), 0);
	ck_assert_int_eq(wait_count(SENT_SQL, 20, 120000), 0);
	/* The rates before: over 5 s (a measuring span, not a wait for a
	 * condition; the cut's rates are compared with these). */
	long p0 = count(POSTS_SQL), s0 = count(SENT_SQL);
	h_sleep_ms(5000);
	long p1 = count(POSTS_SQL), s1 = count(SENT_SQL);
	long events_before = count(EVENTS_SQL);
	long gave_up0 = count(GAVE_UP_SQL);

	if (drop_packets) {
		cut = 1;
		ck_assert_int_eq(path_cut(), 0);
	} else {
		ck_assert_int_eq(h_write_file(mode == SILENT ? silent_flag : stall_flag,
		    "on\n"), 0);
	}
	long t_cut = h_now_ms();
	/* The first attempt given up: within the deadline of the one in
	 * flight at the cut, plus the time to record it. */
	struct reach first_gave_up = { GAVE_UP_SQL, gave_up0 + 1 };
	int gave_up_rc = h_wait_for(reached, &first_gave_up, DEADLINE_S * 1000 + 5000);
	long t_gave_up = h_now_ms();
	long p2 = count(POSTS_SQL), s2 = count(SENT_SQL);
	/* The rest of the fault's length (not a wait for a condition). */
	if (h_now_ms() - t_cut < cut_ms)
		h_sleep_ms(cut_ms - (int)(h_now_ms() - t_cut));
	long p3 = count(POSTS_SQL), s3 = count(SENT_SQL);
	long gave_up = count(GAVE_UP_SQL) - gave_up0;
	long done_in_cut = count("SELECT count(*) FROM webhook_deliveries WHERE state = "
	    "'done' AND done_at > now() - make_interval(secs => 2)");
	long cut_len = h_now_ms() - t_cut;

	if (drop_packets) {
		cut = 0;
		ck_assert_int_eq(path_heal(), 0);
	} else {
		ck_assert_int_eq(unlink(mode == SILENT ? silent_flag : stall_flag), 0);
	}
	long t_heal = h_now_ms();
	double rate_p_before = (p1 - p0) / 5.0, rate_s_before = (s1 - s0) / 5.0;
	double cut_s = (t_heal - t_gave_up) / 1000.0;
	double rate_p_cut = (p3 - p2) / cut_s, rate_s_cut = (s3 - s2) / cut_s;
	fprintf(stderr, "rel: %s: first attempt given up %.1f s after the cut "
	    "(deadline %d s); %ld attempts given up in the %.1f s cut; posts %.1f/s "
	    "before, %.1f/s during; sends %.1f/s before, %.1f/s during; "
	    "%ld events queued meanwhile\n", name, (t_gave_up - t_cut) / 1000.0, DEADLINE_S,
	    gave_up, cut_len / 1000.0, rate_p_before, rate_p_cut, rate_s_before, rate_s_cut,
	    count(EVENTS_SQL) - events_before);
	ck_assert_msg(gave_up_rc == 0, "no attempt given up within %d s of the cut",
	    DEADLINE_S + 5);
	/* One attempt at a time per URL, in order: the delivery in flight
	 * at the cut is given up at the deadline, then retried after 1, 2,
	 * 4... s (the later ones wait behind it): the cut holds about as
	 * many attempts as that schedule (not one stuck attempt). */
	long schedule = 0;
	for (long t = 0; t + DEADLINE_S * 1000 <= cut_len; schedule++)
		t += DEADLINE_S * 1000 + (1000L << schedule);
	ck_assert_msg(gave_up >= schedule - 1, "%ld attempts given up in %.0f s, "
	    "the backoff's schedule has %ld", gave_up, cut_len / 1000.0, schedule);
	/* And a receiver that fails at once is not tried in a loop: at most
	 * about one attempt a second (each a claim and an outcome). */
	ck_assert_msg(gave_up <= cut_len / 1000 * 2 + 5, "%ld attempts in %.0f s", gave_up,
	    cut_len / 1000.0);
	/* Nothing is done while the receiver is silent (2 s of slack for
	 * the answers that left before it). */
	ck_assert_int_eq(done_in_cut, 0);
	/* The SMS pipeline kept going: at least half its rate before. */
	ck_assert_int_gt(p3 - p2, 0);
	ck_assert_int_gt(s3 - s2, 0);
	ck_assert_msg(rate_p_cut >= rate_p_before / 2, "posts slowed from %.1f/s to %.1f/s",
	    rate_p_before, rate_p_cut);
	ck_assert_msg(rate_s_cut >= rate_s_before / 2, "sends slowed from %.1f/s to %.1f/s",
	    rate_s_before, rate_s_cut);

	/* Healed: every post, then every event answered. */
	ck_assert_int_eq(wait_count(POSTS_SQL, n_in, 300000), 0);
	ck_assert_int_eq(wait_count(SENT_SQL, n_out, 300000), 0);
	long events = count(EVENTS_SQL);
	ck_assert_int_eq(events, n_in);
	struct answered a = { events };
	int all_rc = h_wait_for(all_answered, &a, 600000);
	long t_all = h_now_ms();
	ck_assert_int_eq(wait_count("SELECT count(*) FROM webhook_deliveries WHERE "
	    "state = 'done'", events, 60000), 0);
	/* Room for a late duplicate: not a wait for a condition, since an
	 * attempt pigeond gave up during the fault can still reach the
	 * receiver after it (a cut path's retransmits, a stalled receiver
	 * reading its backlog), with no socket of pigeond's left to wait on. */
	h_sleep_ms(2 * DEADLINE_S * 1000);
	long distinct, total, silent;
	received(1, &distinct, &total, &silent);
	long max_attempts = count("SELECT max(attempts) FROM webhook_deliveries");
	char faults[96];
	snprintf(faults, sizeof(faults), "%.0f s, %ld attempts failed", cut_len / 1000.0,
	    gave_up);
	fprintf(stderr, "REL|%s|%s|%ld|%ld|%ld|%ld|%.1f s\n", name, faults, events, distinct,
	    events - distinct, total - distinct, (t_all - t_heal) / 1000.0);
	fprintf(stderr, "rel: %s: %ld events, %ld answered 200 (%ld twice), %ld bodies "
	    "left unanswered by the receiver, at most %ld attempts each; all answered "
	    "%.1f s after the heal\n", name, events, distinct, total - distinct, silent,
	    max_attempts, (t_all - t_heal) / 1000.0);
	ck_assert_int_eq(all_rc, 0);
	ck_assert_int_eq(events - distinct, 0);
	/* Twice only what the receiver answered after pigeond had given up:
	 * the answer the cut swallowed (one), the two POSTs a stalled
	 * receiver found in its listen queue when it came back (their
	 * senders long gone; X-Pigeon-Delivery tells the receiver). A
	 * silent receiver never answered, so none. */
	ck_assert_int_le(total - distinct, mode == CUT ? 1 : mode == STALLED ? 2 : 0);
	long dist_out, total_out;
	int *seen = calloc((size_t)n_out, sizeof(int));
	for (int i = 0; i < NMODEMS; i++) {
		char mname[16];
		snprintf(mname, sizeof(mname), "sim%d", i);
		h_fake_sends(fake_dir, mname, first_out, n_out, seen);
	}
	dist_out = total_out = 0;
	for (long i = 0; i < n_out; i++) {
		total_out += seen[i];
		dist_out += seen[i] > 0;
	}
	free(seen);
	ck_assert_int_eq(dist_out, n_out);
	ck_assert_int_eq(total_out, n_out);
	ck_assert_int_eq(count("SELECT count(DISTINCT text) FROM posts WHERE text LIKE 'post %'"),
	    n_in);
}

START_TEST(test_receiver_silent)
{
	scenario("webhook receiver silent, no answer", SILENT);
}
END_TEST

START_TEST(test_receiver_cut)
{
	scenario("TCP path to webhook receiver cut", CUT);
}
END_TEST

START_TEST(test_receiver_stalled)
{
	scenario("webhook receiver stalled, SYNs dropped", STALLED);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("rel_webhook");
	TCase *tc = tcase_create("webhook");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 1200);
	tcase_add_test(tc, test_receiver_silent);
	tcase_add_test(tc, test_receiver_stalled);
	tcase_add_test(tc, test_receiver_cut);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	/* A network namespace of the test's own (see the top). */
	if (unshare(CLONE_NEWNET) != 0 ||
	    system("ip link set lo up && ip rule add pref 100 table local && "
	    "ip rule del pref 0") != 0) {
		fprintf(stderr, "test_rel_webhook: needs root and ip(8) for a network "
		    "namespace: %s\n", strerror(errno));
		return EXIT_FAILURE;
	}
	return h_main(suite());
}

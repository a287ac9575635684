/*
 * Issue 18: the faults between pigeond and PostgreSQL that take real
 * deployments down, each under ingest (SMS on the SIMs) and dispatch
 * (queued messages), each counted like issue 7's (tests/reliability/table):
 *
 * - a cut, not a close: the TCP path to the database drops its packets
 *   (no FIN, no RST). pigeond must notice within the keepalive /
 *   tcp_user_timeout bound of docs/scaling.md (the defaults store.c adds
 *   to a conninfo that sets none), pause its modems (nothing sent or
 *   deleted), and finish everything once the path heals;
 * - the WAL's file system full during ingest (a small tmpfs): SMS wait on
 *   the SIMs, /healthz and /metrics say the database is failing, and
 *   nothing is lost once there is space again; pigeond's own log on a
 *   full file system;
 * - the primary killed and a streaming standby promoted, pigeond given
 *   both hosts with target_session_attrs=read-write: with synchronous
 *   replication nothing is lost and nothing applied twice; with
 *   asynchronous replication what is lost is measured and printed.
 *
 * The process runs in a network namespace of its own (unshare, as root):
 * its loopback is private, so the cut (ip rules that blackhole one TCP
 * port) and the clusters' TCP ports touch nothing outside the test. The
 * test cluster of tests/run is reached on its unix socket, which a network
 * namespace does not separate; pigeond reaches it over TCP through
 * tests/reliability/pg-proxy. The modems are tests/reliability/fake-modem
 * in SIM mode, as in test_rel_kill.
 *
 * Not in make test (each scenario takes a minute or more): make
 * test-reliability. PIGEON_REL_LONG=1 makes the counts larger.
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <check.h>

#include "harness.h"

/* [http] token: at least 32 characters (config.c). */
#define REL_TOKEN	"rel-token-0123456789abcdef0123456789"

#define NMODEMS		2
#define PROXY_PORT	15432	/* in the test's own network namespace */
#define PRIMARY_PORT	15433
#define STANDBY_PORT	15434
/* docs/scaling.md's bound for noticing a cut with store.c's defaults:
 * 10 s idle + 3 probes 5 s apart, tcp_user_timeout 30 s, plus the
 * backoff's first retry. */
#define CUT_BOUND_MS	45000

static struct h_gateway g;
static char *fake_dir;
static int n_in, n_out;

static long
count(const char *sql)
{
	return h_db_long(g.db, sql, 0, NULL);
}

/* The SIM of modem simI: a JOIN, then its share of n posts. */
static void
write_sim(int i, int n)
{
	static const char *const from[] = { "+212661000001", "+212661000002" };
	h_sim_posts(fake_dir, i, from[i], n, NMODEMS);
}

static void
fake_setup(const char *name, int sms_ms, int send_ms)
{
	char v[16];

	fake_dir = h_tmpdir(name);
	setenv("PIGEON_FAKE_DIR", fake_dir, 1);
	setenv("PIGEON_FAKE_SIM", "1", 1);
	snprintf(v, sizeof(v), "%d", send_ms);
	setenv("PIGEON_FAKE_SEND_MS", v, 1);
	snprintf(v, sizeof(v), "%d", sms_ms);
	setenv("PIGEON_FAKE_SMS_MS", v, 1);
}

/* Starts the gateway with pigeond on conninfo; the test's own connection
 * is test_conninfo when given (it must not go through a cut). */
static void
gw_start(const char *name, const char *conninfo, const char *test_conninfo)
{
	char cwd[1024];
	static char extra[1400];

	memset(&g, 0, sizeof(g));
	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	snprintf(extra, sizeof(extra),
	    "modem_program = %s/tests/reliability/fake-modem\nlease_seconds = 5\n"
	    "limit_minute = 100000\nlimit_day = 1000000\nwatchdog_seconds = 3\n", cwd);
	g.extra_config = extra;
	g.http_extra = "token = " REL_TOKEN "\n";
	h_gateway_start_on(&g, name, NMODEMS, conninfo);
	if (test_conninfo) {
		PQfinish(g.db);
		g.db = h_db_connect(test_conninfo);
	}
}

static void
fake_teardown(void)
{
	if (g.dir)
		h_gateway_stop(&g);
	unsetenv("PIGEON_FAKE_DIR");
	unsetenv("PIGEON_FAKE_SIM");
	unsetenv("PIGEON_FAKE_SEND_MS");
	unsetenv("PIGEON_FAKE_SMS_MS");
	free(fake_dir);
	fake_dir = NULL;
}

/* Lines of the fake modems' files holding needle ("deleted" or "log"). */
static long
fake_lines(const char *ext, const char *needle)
{
	long n = 0;
	for (int i = 0; i < NMODEMS; i++) {
		char *p = h_strf("%s/sim%d.%s", fake_dir, i, ext);
		char *text = h_read_file(p);
		free(p);
		n += text ? h_count_lines(text, needle) : 0;
		free(text);
	}
	return n;
}

static long
deletes(void)
{
	return fake_lines("deleted", "1 ");
}

static long
sends(void)
{
	return fake_lines("log", "\"type\":\"send\"");
}

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

/* n operator messages to distinct numbers, "tag K"; the first id. */
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

struct reach {
	const char *sql;
	long want;
	long got;
};

static int
reached(void *p)
{
	struct reach *a = p;
	a->got = h_db_long(g.db, a->sql, 0, NULL);
	if (a->got < 0)
		PQreset(g.db);	/* after a failover: the new primary */
	return a->got >= a->want;
}

static int
wait_count(const char *sql, long want, int timeout_ms)
{
	struct reach a = { sql, want, 0 };
	return h_wait_for(reached, &a, timeout_ms);
}

/* /healthz says code (200 or 503). */
static int
healthz_is(void *want)
{
	char *body = NULL;
	int code = h_http_get(g.http_port, "/healthz", &body);
	free(body);
	return code == *(int *)want;
}

static int
metrics_db_down(void *unused)
{
	char *body = NULL;
	int code = h_http(g.http_port, "GET", "/metrics", REL_TOKEN, NULL, &body);
	int down = code == 200 && body && strstr(body, "\npigeon_database_up 0\n");
	free(body);
	return down;
}

/* Ingest results: the REL| row, and the no-loss counts. */
static void
report_ingest(const char *scenario, const char *faults, long t0, long *lost, long *dup)
{
	long inbox = count("SELECT count(*) FROM inbox_messages WHERE text LIKE 'post %'");
	long distinct = count("SELECT count(DISTINCT text) FROM inbox_messages "
	    "WHERE text LIKE 'post %'");
	long posts = count("SELECT count(*) FROM posts WHERE text LIKE 'post %'");
	long dposts = count("SELECT count(DISTINCT text) FROM posts WHERE text LIKE 'post %'");
	*lost = n_in - distinct;
	*dup = (inbox - distinct) + (posts - dposts);
	fprintf(stderr, "REL|%s|%s|%d|%ld|%ld|%ld|%.1f s\n", scenario, faults, n_in,
	    dposts, *lost, *dup, (h_now_ms() - t0) / 1000.0);
}

static void
report_dispatch(const char *scenario, const char *faults, long first_id, long t0,
    long *lost, long *dup)
{
	long distinct, total;
	count_sends(first_id, n_out, &distinct, &total);
	*lost = n_out - distinct;
	*dup = total - distinct;
	fprintf(stderr, "REL|%s|%s|%d|%ld|%ld|%ld|%.1f s\n", scenario, faults, n_out,
	    distinct, *lost, *dup, (h_now_ms() - t0) / 1000.0);
}

#define SENT_SQL "SELECT count(*) FROM outbox WHERE text LIKE 'out %' " \
	"AND state IN ('sent', 'delivered')"
#define POSTS_SQL "SELECT count(*) FROM posts WHERE text LIKE 'post %'"
#define INBOX_SQL "SELECT count(*) FROM inbox_messages WHERE text LIKE 'post %'"

/* ------------------------------------------------------------------ */
/* The cut. */

static pid_t proxy;

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

/* Drops every packet to and from the proxy's port: the local routing
 * table is looked up after two blackhole rules. No FIN, no RST: each side
 * only finds out by its own timeouts. */
static int
path_cut(void)
{
	return ip_cmd("rule add pref 10 ipproto tcp dport " "15432" " blackhole") |
	    ip_cmd("rule add pref 11 ipproto tcp sport " "15432" " blackhole");
}

static int
path_heal(void)
{
	return ip_cmd("rule del pref 10") | ip_cmd("rule del pref 11");
}

static int
port_open(void *unused)
{
	char *out = NULL;
	int rc = h_run(&out, "python3 -c 'import socket; "
	    "socket.create_connection((\"127.0.0.1\", %d), 1)' 2>&1", PROXY_PORT);
	free(out);
	return rc == 0;
}

/* The test cluster's unix socket, from PIGEON_TEST_PG's host=. */
static char *
test_socket(void)
{
	const char *pg = getenv("PIGEON_TEST_PG");
	const char *h = pg ? strstr(pg, "host=") : NULL;
	ck_assert_ptr_nonnull(h);
	h += 5;
	size_t len = strcspn(h, " ");
	return h_strf("%.*s/.s.PGSQL.5432", (int)len, h);
}

static void
cut_setup(void)
{
	char cwd[1024];

	n_in = getenv("PIGEON_REL_LONG") ? 1000 : 300;
	n_out = getenv("PIGEON_REL_LONG") ? 1000 : 300;
	/* Slow enough that both flows are still going at the cut. */
	fake_setup("cut-fake", 150, 60);
	write_sim(0, n_in);
	write_sim(1, n_in);
	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	char *prog = h_strf("%s/tests/reliability/pg-proxy", cwd);
	char *port = h_strf("%d", PROXY_PORT);
	char *sock = test_socket();
	char *log = h_strf("%s/pg-proxy.log", fake_dir);
	char *argv[] = { prog, port, sock, NULL };
	proxy = h_spawn(log, argv);
	ck_assert_int_eq(h_wait_for(port_open, NULL, 10000), 0);
	free(prog);
	free(port);
	free(sock);
	free(log);
}

static void
cut_teardown(void)
{
	fake_teardown();
	if (proxy > 0)
		h_stop(proxy, SIGTERM, 2000);
	proxy = 0;
}

START_TEST(test_cut)
{
	char *unix_ci = h_db_create("rel_cut");
	/* PIGEON_REL_CUT_EXTRA: e.g. "keepalives=0 tcp_user_timeout=0", to
	 * see the test fail as it did before store.c's defaults. */
	char *tcp_ci = h_strf("%s host=127.0.0.1 port=%d %s", unix_ci, PROXY_PORT,
	    getenv("PIGEON_REL_CUT_EXTRA") ? getenv("PIGEON_REL_CUT_EXTRA") : "");
	int c200 = 200, c503 = 503;

	gw_start("rel_cut", tcp_ci, unix_ci);
	long first_id = queue("665", "out", n_out);
	/* Cut in the middle of both flows. */
	ck_assert_int_eq(wait_count(POSTS_SQL, n_in / 4, 120000), 0);
	ck_assert_int_eq(wait_count(SENT_SQL, 20, 120000), 0);
	ck_assert_int_eq(path_cut(), 0);
	long t_cut = h_now_ms();
	long posts_at_cut = count(POSTS_SQL), sent_at_cut = count(SENT_SQL);
	int noticed = h_wait_for(healthz_is, &c503, 120000);
	long t_noticed = h_now_ms();
	int metrics_down = metrics_db_down(NULL);
	/* From then on nothing is handed to a worker and nothing deleted:
	 * the modems are paused (their locks are no longer known to be held). */
	long s0 = sends(), d0 = deletes();
	/* Not a wait for a condition: a span of the cut (it goes on until
	 * path_heal) over which an unpaused modem would show sends or
	 * deletes. */
	h_sleep_ms(4000);
	long s1 = sends(), d1 = deletes();
	int still_down = healthz_is(&c503);
	ck_assert_int_eq(path_heal(), 0);
	long t_heal = h_now_ms();
	fprintf(stderr, "rel: cut at %ld posts, %ld sent; noticed after %.1f s "
	    "(/metrics down: %d); while paused %ld sends, %ld deletes\n",
	    posts_at_cut, sent_at_cut, (t_noticed - t_cut) / 1000.0, metrics_down,
	    s1 - s0, d1 - d0);
	ck_assert_msg(noticed == 0, "pigeond did not notice the cut within 120 s");
	ck_assert_int_le(t_noticed - t_cut, CUT_BOUND_MS);
	ck_assert(metrics_down);
	ck_assert(still_down);
	ck_assert_int_eq(s1 - s0, 0);
	ck_assert_int_eq(d1 - d0, 0);

	/* Healed: everything is done, once. */
	ck_assert_int_eq(h_wait_for(healthz_is, &c200, 120000), 0);
	fprintf(stderr, "rel: /healthz 200 again %.1f s after the heal\n",
	    (h_now_ms() - t_heal) / 1000.0);
	ck_assert_int_eq(wait_count(POSTS_SQL, n_in, 300000), 0);
	ck_assert_int_eq(wait_count(SENT_SQL, n_out, 300000), 0);
	ck_assert_int_eq(h_gateway_settle(&g, 120000), 0);
	char faults[64];
	snprintf(faults, sizeof(faults), "cut, noticed in %.0f s", (t_noticed - t_cut) / 1000.0);
	long lost, dup;
	/* The time column: from the heal to everything done. */
	report_ingest("TCP path to PostgreSQL cut, ingest", faults, t_heal, &lost, &dup);
	ck_assert_int_eq(lost, 0);
	ck_assert_int_eq(dup, 0);
	report_dispatch("TCP path to PostgreSQL cut, dispatch", faults, first_id, t_heal,
	    &lost, &dup);
	ck_assert_int_eq(lost, 0);
	/* Only what was on the radios when the cut was noticed. */
	ck_assert_int_le(dup, NMODEMS);
	free(unix_ci);
	free(tcp_ci);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Full disks. */

static char *pg_dir;		/* a cluster of the test's own */
static char *mnt;		/* a tmpfs mounted by the test */

static void
unmount_all(void)
{
	if (mnt) {
		umount2(mnt, MNT_DETACH);
		free(mnt);
		mnt = NULL;
	}
}

static void
cluster_destroy(char **dir)
{
	char *out = NULL;
	if (*dir) {
		/* Its server log stays, beside the test's files. */
		h_run(&out, "cp \"$(readlink '%s')/server.log\" '%s.server.log' 2>&1", *dir,
		    *dir);
		free(out);
		h_run(&out, "scripts/pg destroy '%s' 2>&1", *dir);
		free(out);
		free(*dir);
		*dir = NULL;
	}
}

/* Starts a cluster of the test's own in dir; env: "VAR=value ..." for
 * scripts/pg. Returns its conninfo (malloc). */
static char *
cluster_start(const char *dir, const char *env)
{
	char *out = NULL;
	int rc = h_run(&out, "%s scripts/pg start '%s' 2>&1", env, dir);
	ck_assert_msg(rc == 0, "scripts/pg start: %s", out ? out : "");
	out[strcspn(out, "\n")] = '\0';
	return out;
}

/* A tmpfs of size at dir (made), for the postgres user. */
static void
tmpfs_mount(const char *dir, const char *size)
{
	char opts[64];
	mkdir(dir, 0755);
	snprintf(opts, sizeof(opts), "size=%s,mode=0755", size);
	ck_assert_msg(mount("tmpfs", dir, "tmpfs", 0, opts) == 0, "mount %s: %s", dir,
	    strerror(errno));
	mnt = strdup(dir);
}

/* Fills the file system at dir to the last byte; returns the bytes written. */
static long
ballast_fill(const char *path)
{
	static char block[65536];
	long n = 0;
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
	ck_assert_int_ne(fd, -1);
	for (size_t sz = sizeof(block); sz >= 512; ) {
		ssize_t w = write(fd, block, sz);
		if (w > 0)
			n += w;
		else
			sz /= 2;
	}
	fsync(fd);
	close(fd);
	return n;
}

static void
disk_setup(void)
{
	n_in = getenv("PIGEON_REL_LONG") ? 2000 : 600;
	n_out = 0;
	fake_setup("disk-fake", 40, 0);
	pg_dir = h_tmpdir("disk-pg");
	rmdir(pg_dir);
}

static void
disk_teardown(void)
{
	fake_teardown();
	cluster_destroy(&pg_dir);
	unmount_all();
}

static int
pg_running(const char *dir)
{
	char *out = NULL;
	int rc = h_run(&out, "scripts/pg status '%s' 2>&1", dir);
	free(out);
	return rc == 0;
}

/* PostgreSQL once the space is back: answering again at ci, or gone
 * (it gave up while the disk was full). */
static int
pg_settled(void *ci)
{
	if (!pg_running(pg_dir) || PQping(ci) == PQPING_OK)
		return 1;
	h_sleep_ms(100);
	return 0;
}

START_TEST(test_wal_disk_full)
{
	int c503 = 503;
	char *wal = h_strf("%s.wal", pg_dir);

	tmpfs_mount(wal, "64m");
	/* 1 MB WAL segments: the next segment's file, and so the failure,
	 * comes within a megabyte of WAL once the disk is full. */
	char *env = h_strf("PIGEON_PG_WALDIR='%s/pg_wal' "
	    "PIGEON_PG_INITDB_ARGS=--wal-segsize=1", wal);
	char *ci = cluster_start(pg_dir, env);
	write_sim(0, n_in);
	write_sim(1, n_in);
	gw_start("rel_disk", ci, NULL);
	long t_start = h_now_ms();
	ck_assert_int_eq(wait_count(INBOX_SQL, n_in / 5, 120000), 0);

	char *ballast = h_strf("%s/ballast", wal);
	long filled = ballast_fill(ballast);
	long t_full = h_now_ms();
	long inbox_at_full = count(INBOX_SQL), deleted_at_full = deletes();
	int seen503 = h_wait_for(healthz_is, &c503, 60000);
	long t_failing = h_now_ms();
	long deleted_at_failing = deletes();
	int seen_metrics = h_wait_for(metrics_db_down, NULL, 10000);
	/* While the disk stays full: the SMS wait on the SIMs. Not a wait
	 * for a condition: the fault's length (the REL row says "5 s later"). */
	h_sleep_ms(5000);
	long deleted_full = deletes();
	int pg_up_full = pg_running(pg_dir);
	/* What the SIMs had been told to delete by then. */
	char *snap[NMODEMS];
	for (int i = 0; i < NMODEMS; i++) {
		char *p = h_strf("%s/sim%d.deleted", fake_dir, i);
		snap[i] = h_read_file(p);
		free(p);
	}
	double t_snap = h_epoch();
	/* Space again: the operator frees the disk (and starts PostgreSQL
	 * if it gave up; pigeond needs no restart). */
	unlink(ballast);
	long t_free = h_now_ms();
	int restarted = 0;
	ck_assert_msg(h_wait_for(pg_settled, ci, 60000) == 0, "PostgreSQL neither "
	    "answered nor stopped within 60 s of the space's return");
	if (!pg_running(pg_dir)) {
		free(cluster_start(pg_dir, ""));
		restarted = 1;
	}
	PQreset(g.db);
	fprintf(stderr, "rel: WAL tmpfs filled (%ld bytes) at %ld SMS stored, %ld deleted; "
	    "/healthz 503 %s after %.1f s (%ld deleted by then), /metrics down %s; "
	    "5 s later: %ld deleted from the SIMs (of %d), PostgreSQL %s; %s\n", filled,
	    inbox_at_full, deleted_at_full, seen503 == 0 ? "seen" : "NOT seen",
	    (t_failing - t_full) / 1000.0, deleted_at_failing,
	    seen_metrics == 0 ? "seen" : "NOT seen", deleted_full, n_in,
	    pg_up_full ? "running" : "stopped",
	    restarted ? "it was started again once the space was back" :
	    "it recovered by itself");
	ck_assert_int_eq(seen503, 0);
	ck_assert_int_eq(seen_metrics, 0);
	/* SMS were waiting on the SIMs, and nothing was deleted while the
	 * database was failing (a delete follows a commit that made it). */
	ck_assert_int_lt(deleted_full, n_in);
	if (!pg_up_full)
		ck_assert_int_eq(deleted_full, deleted_at_failing);
	ck_assert_int_eq(wait_count(POSTS_SQL, n_in, 300000), 0);
	/* Whether PostgreSQL gave up or not: each SMS deleted by the end of
	 * the full disk had been stored by a transaction begun before then,
	 * none ahead of its commit. */
	long sms = 0, deleted = 0, early = 0;
	for (int i = 0; i < NMODEMS; i++) {
		char name[16];
		snprintf(name, sizeof(name), "sim%d", i);
		h_fake_deletes(g.db, fake_dir, name, snap[i], t_snap, &sms, &deleted, &early);
		free(snap[i]);
	}
	fprintf(stderr, "rel: WAL full: by the space's return %ld of %ld SMS deleted, "
	    "%ld of them not committed by then\n", deleted, sms, early);
	ck_assert_int_eq(early, 0);
	ck_assert_int_eq(h_gateway_settle(&g, 120000), 0);
	long lost, dup;
	report_ingest("WAL file system full during ingest",
	    restarted ? "tmpfs full, PG restarted" : "tmpfs full", t_free, &lost, &dup);
	ck_assert_int_eq(lost, 0);
	ck_assert_int_eq(dup, 0);
	fprintf(stderr, "rel: WAL full: all %d posts %.1f s after the start\n", n_in,
	    (h_now_ms() - t_start) / 1000.0);
	free(ballast);
	free(ci);
	free(env);
	free(wal);
}
END_TEST

/* pigeond's stderr (its log) on a file system with no space left: it
 * keeps working. */
START_TEST(test_log_disk_full)
{
	char *logdir = h_strf("%s.log", pg_dir);
	char *ci = h_db_create("rel_logfull");

	gw_start("rel_logfull", ci, NULL);
	/* The SIMs' content comes with the workers of the next pigeond. */
	int st = h_stop(g.pigeond, SIGTERM, H_STOP_MS);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	write_sim(0, n_in);
	write_sim(1, n_in);
	tmpfs_mount(logdir, "1m");
	char *ballast = h_strf("%s/ballast", logdir);
	ballast_fill(ballast);
	char *log = h_strf("%s/pigeond.log", logdir);
	char *argv[] = { (char *)h_bin("pigeond"), "-v", "-c", g.config, NULL };
	long t0 = h_now_ms();
	g.pigeond = h_spawn(log, argv);
	ck_assert_int_eq(wait_count(POSTS_SQL, n_in, 300000), 0);
	ck_assert_int_eq(h_gateway_settle(&g, 120000), 0);
	ck_assert_int_eq(waitpid(g.pigeond, NULL, WNOHANG), 0);
	long lost, dup;
	report_ingest("pigeond's log file system full", "stderr ENOSPC", t0, &lost, &dup);
	ck_assert_int_eq(lost, 0);
	ck_assert_int_eq(dup, 0);
	/* It still stops cleanly (gateway_stop checks the exit status). */
	h_gateway_stop(&g);
	memset(&g, 0, sizeof(g));
	free(ballast);
	free(log);
	free(logdir);
	free(ci);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Failover. */

static char *standby_dir;

/* At exit, whatever happened: no cluster left running, no tmpfs mounted. */
static void
cleanup(void)
{
	cluster_destroy(&pg_dir);
	cluster_destroy(&standby_dir);
	unmount_all();
}

static void
failover_setup(void)
{
	n_in = getenv("PIGEON_REL_LONG") ? 2000 : 400;
	n_out = getenv("PIGEON_REL_LONG") ? 2000 : 400;
	/* Ingest spans the kill (and a lagging standby's 2 s). */
	fake_setup("fo-fake", 40, 15);
	pg_dir = h_tmpdir("fo-primary");
	rmdir(pg_dir);
	standby_dir = h_tmpdir("fo-standby");
	rmdir(standby_dir);
}

static void
failover_teardown(void)
{
	fake_teardown();
	cluster_destroy(&pg_dir);
	cluster_destroy(&standby_dir);
}

/* The primary's view of the standby: bytes of WAL not yet flushed there,
 * and its last reported flush lag in ms. */
static void
replication_lag(const char *primary_ci, char *out, size_t len)
{
	PGconn *p = h_db_connect(primary_ci);
	char *v = h_db_value(p, "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), flush_lsn) || "
	    "' bytes, flush lag ' || coalesce(round(extract(epoch FROM flush_lag) * 1000, 1)"
	    "::text, '?') || ' ms' FROM pg_stat_replication", 0, NULL);
	snprintf(out, len, "%s", v ? v : "?");
	free(v);
	PQfinish(p);
}

/* lag_ms > 0: the standby stops applying (its walreceiver SIGSTOPped)
 * lag_ms before the primary dies, the way a slow or far standby lags. */
static void
failover(int sync, int lag_ms)
{
	char env[64];
	char *out = NULL;
	const char *mode = sync ? "synchronous" : "asynchronous";

	snprintf(env, sizeof(env), "PIGEON_PG_PORT=%d", PRIMARY_PORT);
	char *primary_ci = cluster_start(pg_dir, env);
	int rc = h_run(&out, "PIGEON_PG_PORT=%d scripts/pg standby '%s' '%s' 2>&1",
	    STANDBY_PORT, pg_dir, standby_dir);
	ck_assert_msg(rc == 0, "scripts/pg standby: %s", out ? out : "");
	free(out);
	PGconn *p = h_db_connect(primary_ci);
	if (sync) {
		/* Every commit returns once the standby has flushed it. */
		PQclear(PQexec(p, "ALTER SYSTEM SET synchronous_standby_names = '*'"));
		PQclear(PQexec(p, "SELECT pg_reload_conf()"));
	}
	const char *want[] = { sync ? "t" : "f" };
	int streaming = 0;
	for (int i = 0; i < 300 && !streaming; i++) {
		char *v = h_db_value(p, "SELECT count(*) FROM pg_stat_replication "
		    "WHERE CASE WHEN $1::bool THEN sync_state = 'sync' "
		    "ELSE state = 'streaming' END", 1, want);
		streaming = v && strcmp(v, "1") == 0;
		free(v);
		if (!streaming)
			h_sleep_ms(100);
	}
	PQfinish(p);
	ck_assert_msg(streaming, "the standby is not streaming (%s)", want[0]);
	char *ci = h_strf("host=127.0.0.1,127.0.0.1 port=%d,%d dbname=pigeon "
	    "user=postgres target_session_attrs=read-write", PRIMARY_PORT, STANDBY_PORT);
	write_sim(0, n_in);
	write_sim(1, n_in);
	gw_start("rel_failover", ci, NULL);
	long first_id = queue("666", "out", n_out);
	ck_assert_int_eq(wait_count(POSTS_SQL, n_in / 3, 120000), 0);
	ck_assert_int_eq(wait_count(SENT_SQL, n_out / 4, 120000), 0);

	char lag[128];
	long receiver = 0;
	if (lag_ms > 0) {
		char *sci = NULL;
		ck_assert_int_eq(h_run(&sci, "scripts/pg conninfo '%s'", standby_dir), 0);
		sci[strcspn(sci, "\n")] = '\0';
		PGconn *s = h_db_connect(sci);
		receiver = h_db_long(s, "SELECT pid FROM pg_stat_wal_receiver", 0, NULL);
		PQfinish(s);
		free(sci);
		ck_assert_int_gt(receiver, 0);
		ck_assert_int_eq(kill((pid_t)receiver, SIGSTOP), 0);
		/* Not a wait for a condition: the standby's lag, WAL the
		 * primary commits meanwhile and the standby never gets. */
		h_sleep_ms(lag_ms);
	}
	replication_lag(primary_ci, lag, sizeof(lag));
	/* The primary dies (as in a crash), the standby is promoted. */
	long posts_at_kill = count(POSTS_SQL), sent_at_kill = count(SENT_SQL);
	rc = h_run(&out, "scripts/pg stop '%s' immediate 2>&1", pg_dir);
	ck_assert_msg(rc == 0, "stop: %s", out ? out : "");
	free(out);
	long t_kill = h_now_ms();
	if (receiver > 0)
		kill((pid_t)receiver, SIGCONT);
	rc = h_run(&out, "scripts/pg promote '%s' 2>&1", standby_dir);
	ck_assert_msg(rc == 0, "promote: %s", out ? out : "");
	free(out);
	long t_promoted = h_now_ms();
	PQreset(g.db);

	if (sync) {
		ck_assert_int_eq(wait_count(POSTS_SQL, n_in, 300000), 0);
		ck_assert_int_eq(wait_count(SENT_SQL, n_out, 300000), 0);
	}
	ck_assert_int_eq(h_gateway_settle(&g, 300000), 0);
	fprintf(stderr, "rel: %s failover%s: killed at %ld posts, %ld sent, standby "
	    "behind by %s; promoted in %.1f s; backlog done %.1f s after the kill\n", mode,
	    lag_ms ? " (standby stopped first)" : "", posts_at_kill, sent_at_kill, lag,
	    (t_promoted - t_kill) / 1000.0, (h_now_ms() - t_kill) / 1000.0);
	char scenario[80], faults[64];
	long lost, dup, dlost, ddup;
	if (lag_ms)
		snprintf(faults, sizeof(faults), "killed, %d s lag", lag_ms / 1000);
	else
		snprintf(faults, sizeof(faults), "primary killed, promoted");
	const char *kind = sync ? "sync" : lag_ms ? "lagging" : "async";
	snprintf(scenario, sizeof(scenario), "failover to %s standby, ingest", kind);
	/* The time column: from the primary's death to everything done. */
	report_ingest(scenario, faults, t_kill, &lost, &dup);
	snprintf(scenario, sizeof(scenario), "failover to %s standby, dispatch", kind);
	report_dispatch(scenario, faults, first_id, t_kill, &dlost, &ddup);
	/* Nothing applied twice, in either mode: the keys hold on the standby. */
	ck_assert_int_eq(dup, 0);
	if (sync) {
		ck_assert_int_eq(lost, 0);
		ck_assert_int_eq(dlost, 0);
		ck_assert_int_le(ddup, NMODEMS);
	}
	free(ci);
	free(primary_ci);
}

START_TEST(test_failover_sync)
{
	failover(1, 0);
}
END_TEST

START_TEST(test_failover_async)
{
	failover(0, 0);
}
END_TEST

/* What asynchronous replication can lose: the commits the standby had
 * not flushed, here the last 2 s. Printed, not asserted. */
START_TEST(test_failover_async_lagging)
{
	failover(0, 2000);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("rel_db");
	TCase *tc = tcase_create("cut");
	tcase_add_checked_fixture(tc, cut_setup, cut_teardown);
	tcase_set_timeout(tc, 1200);
	tcase_add_test(tc, test_cut);
	suite_add_tcase(s, tc);
	tc = tcase_create("disk");
	tcase_add_checked_fixture(tc, disk_setup, disk_teardown);
	tcase_set_timeout(tc, 1200);
	tcase_add_test(tc, test_wal_disk_full);
	tcase_add_test(tc, test_log_disk_full);
	suite_add_tcase(s, tc);
	tc = tcase_create("failover");
	tcase_add_checked_fixture(tc, failover_setup, failover_teardown);
	tcase_set_timeout(tc, 1200);
	tcase_add_test(tc, test_failover_sync);
	tcase_add_test(tc, test_failover_async);
	tcase_add_test(tc, test_failover_async_lagging);
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
		fprintf(stderr, "test_rel_db: needs root and ip(8) for a network "
		    "namespace: %s\n", strerror(errno));
		return EXIT_FAILURE;
	}
	atexit(cleanup);
	return h_main(suite());
}

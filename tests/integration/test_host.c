/*
 * One pigeond per host name, and what a stop or a short open-file limit
 * leaves behind. Real pigeond, pigeon-modem and pigeon-modemsim.
 *
 * samehost: pigeond started twice by mistake (the same config, another
 * HTTP port: one host name) refuses to start, and the first one's send in
 * flight goes out once, where the second one put it back in the queue and
 * it went out twice. After a crash (SIGKILL) pigeond starts again at once.
 *
 * stop: pigeond stopped (SIGTERM) with its modems online, the database
 * slow to write their states, leaves none of them `online`, where it
 * exited before the last states were written (5 of 6 rows online with a
 * dead pid, and for ever once their sections were removed).
 *
 * fdlimit: pigeond started with an open-file limit too low for its links
 * says so at start; a worker that cannot be started for want of
 * descriptors is retried with backoff, as one that crashes, its reason
 * with the errno, where it was retried every second for ever with a
 * reason that hid why; with descriptors again, the modem comes back.
 *
 * deadhost: two hosts on one database. B's pigeond killed (a power cut)
 * left its modem `online` with a dead pid on A's lists for ever; it is
 * shown offline, its host not running, once nobody holds its lock.
 *
 * retired: B stopped for good: its modem could not be forgotten ("remove
 * its section there and reload first", on a host that is gone); `forget
 * --force` does it, and is still refused while B runs. A send `via` it
 * meanwhile is taken with a warning saying so; once forgotten, refused.
 *
 * unlisted: pigeond restarted without a modem's section leaves that row
 * as SIGHUP would ("removed from the configuration"), where it said
 * "offline: pigeond stopped" for ever and could not be forgotten.
 *
 * moved: a modem moved to another host (docs/scaling.md) leaves the old
 * host's /metrics and /healthz, where it stayed there "disabled", not
 * up, until that pigeond restarted (no forget could clear it: the new
 * host drives it). forgotten: a modem removed here and forgotten through
 * another host leaves this host's /healthz without a scrape of its
 * /metrics.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <check.h>
#include <jansson.h>

#include "harness.h"

static char *
log_of(struct h_gateway *g, const char *name)
{
	return h_strf("%s/%s", g->dir, name);
}

/* A's config, with a port file of its own: the same host name. */
static char *
second_config(struct h_gateway *g)
{
	char *text = h_read_file(g->config), *path = log_of(g, "second.conf");
	char *old = h_strf("%s/http.port", g->dir), *new = h_strf("%s/second.port", g->dir);
	char *at = strstr(text, old);

	ck_assert_ptr_nonnull(at);
	*at = '\0';
	char *out = h_strf("%s%s%s", text, new, at + strlen(old));
	ck_assert_int_eq(h_write_file(path, out), 0);
	chmod(path, 0600);
	free(text);
	free(old);
	free(new);
	free(out);
	return path;
}

static const char *
host(struct h_gateway *g)
{
	return strrchr(g->dir, '/') + 1;
}

struct count_arg {
	const char *path, *needle;
	int n;
};

static int
log_count_reaches(void *p)
{
	struct count_arg *a = p;
	char *t = h_read_file(a->path);
	int n = t ? h_count_lines(t, a->needle) : 0;
	free(t);
	return n >= a->n;
}

static int
log_count(const char *path, const char *needle)
{
	struct count_arg a = { path, needle, 0 };
	char *t = h_read_file(a.path);
	int n = t ? h_count_lines(t, needle) : 0;
	free(t);
	return n;
}

START_TEST(test_same_host_name_refused)
{
	struct h_gateway a;

	memset(&a, 0, sizeof(a));
	h_gateway_start(&a, "samehost", 1);
	/* A's send is at the modem, waiting for its answer, when B starts. */
	ck_assert_int_eq(h_sim_fault(&a, 0, "send-delay 20000"), 0);
	long id = h_outbox_add(&a, "+212661000001", "one copy only", 1);
	h_wait_outbox(&a, id, "sending", 15000);

	char *conf = second_config(&a), *blog = log_of(&a, "second.log");
	char *argv[] = { (char *)h_bin("pigeond"), "-v", "-c", conf, NULL };
	int bst;
	ck_assert_msg(h_wait_exit(h_spawn(blog, argv), 30000, &bst) == 0,
	    "the second pigeond with A's host name is still running (see %s)", blog);
	ck_assert_msg(WIFEXITED(bst) && WEXITSTATUS(bst) == 1,
	    "the second pigeond: status %d, want exit 1", bst);
	char *text = h_read_file(blog);
	ck_assert_ptr_nonnull(text);
	char *want = h_strf("refusing to start: another pigeond with host name %s is "
	    "connected to the database (pigeond %s, backend pid ", host(&a), host(&a));
	ck_assert_msg(strstr(text, want) != NULL, "no clear refusal in %s", blog);
	free(want);
	ck_assert_msg(strstr(text, "back in the queue") == NULL,
	    "the second pigeond took A's send back (see %s)", blog);
	free(text);
	h_assert_no_sanitizer_report(blog);

	/* A's send completes once, and nothing sends it again. */
	h_wait_outbox(&a, id, "sent", 30000);
	ck_assert_int_eq(h_sim_sent_count(&a, 0), 1);
	char *err = h_outbox_col(&a, id, "last_error");
	ck_assert_str_eq(err, "");
	free(err);

	/* A crashes: started again at once, it is not refused, takes its
	 * modem and sends. */
	char *alog = log_of(&a, "pigeond.log");
	struct count_arg held = { alog, "this host holds its lock",
	    log_count(alog, "this host holds its lock") + 1 };
	h_stop(a.pigeond, SIGKILL, 5000);
	a.pigeond = 0;
	h_pigeond_start(&a);
	ck_assert_msg(a.http_port > 0, "pigeond did not start again after a crash (see %s)",
	    alog);
	ck_assert_msg(h_wait_for(log_count_reaches, &held, 30000) == 0,
	    "pigeond restarted after a crash did not take its modem (see %s)", alog);
	ck_assert_int_eq(log_count(alog, "refusing to start"), 0);
	h_wait_modem(&a, "sim0", "online", 30000);
	long id2 = h_outbox_add(&a, "+212661000002", "after the crash", 1);
	h_wait_outbox(&a, id2, "sent", 30000);

	free(alog);
	free(conf);
	free(blog);
	h_gateway_stop(&a);
}
END_TEST

/*
 * 1 once a draining pigeond logged that it exits, or that what it waits
 * for is no longer its modem processes (log_debug "draining: waiting
 * for ...", logged as the reason changes).
 */
static int
drain_waits_on_db(const char *path)
{
	char *t = h_read_file(path), *last = NULL, *p;
	int yes = 0;

	for (p = t; p != NULL && (p = strstr(p, "draining: waiting for ")) != NULL; p++)
		last = p;
	if (t != NULL && strstr(t, "drained; exiting") != NULL)
		yes = 1;
	else if (last != NULL)
		yes = strncmp(last + strlen("draining: waiting for "), "modem processes",
		    strlen("modem processes")) != 0;
	free(t);
	return yes;
}

START_TEST(test_stop_leaves_no_modem_online)
{
	struct h_gateway g;
	const char *params[1];

	memset(&g, 0, sizeof(g));
	/* A health line every second: its write waits on the locked rows,
	 * and the claims queue behind it on the main connection. */
	for (int i = 0; i < 6; i++)
		g.modem_extra[i] = "health_seconds = 1\n";
	h_gateway_start(&g, "stopstates", 6);
	params[0] = host(&g);
	/* A busy database: the rows are locked while pigeond stops, so its
	 * writes of "offline" queue up behind the first one. */
	h_db_exec(g.db, "BEGIN");
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM (SELECT 1 FROM modems "
	    "WHERE host = $1 FOR UPDATE) l", 1, params), 6);
	/* Stopped once a write of pigeond's waits on them (CI saw the claims
	 * queued behind one keep every modem running until the lock went). */
	PGconn *watch = h_db_connect(g.conninfo);
	long until = h_now_ms() + 20000;
	while (h_db_long(watch, "SELECT count(*) FROM pg_stat_activity "
	    "WHERE datname = current_database() AND application_name LIKE 'pigeond %' "
	    "AND wait_event_type = 'Lock'", 0, NULL) == 0 && h_now_ms() < until)
		h_sleep_ms(50);
	PQfinish(watch);
	/* And a claim behind it: the scheduler's next tick asks for one. */
	char *log = log_of(&g, "pigeond.log");
	struct count_arg tick = { log, "janitor: scheduler: due retries",
	    log_count(log, "janitor: scheduler: due retries") + 1 };
	ck_assert_msg(h_wait_for(log_count_reaches, &tick, 20000) == 0,
	    "no scheduler tick (see %s)", log);
	struct count_arg stopped = { log, "online -> offline: pigeond stopped", 6 };
	kill(g.pigeond, SIGTERM);
	ck_assert_msg(h_wait_for(log_count_reaches, &stopped, 20000) == 0,
	    "the modems did not stop (see %s)", log);
	/* It exits (before: with 5 states unwritten), or waits on the
	 * database: for the states, or for the claim queued before them. */
	long deadline = h_now_ms() + 20000;
	while (!drain_waits_on_db(log) && h_now_ms() < deadline)
		h_sleep_ms(50);
	h_db_exec(g.db, "ROLLBACK");
	int est;
	ck_assert_msg(h_wait_exit(g.pigeond, 40000, &est) == 0, "pigeond did not exit");
	ck_assert_msg(WIFEXITED(est) && WEXITSTATUS(est) == 0,
	    "pigeond did not stop cleanly (status %d)", est);
	g.pigeond = 0;
	free(log);
	char *online = h_db_value(g.db,
	    "SELECT coalesce(string_agg(name || ' pid ' || coalesce(pid::text, '-'), ', ' "
	    "ORDER BY name), '') FROM modems WHERE host = $1 AND state = 'online'",
	    1, params);
	ck_assert_msg(online != NULL && online[0] == '\0',
	    "modems still online after pigeond stopped: %s", online ? online : "?");
	free(online);
	ck_assert_int_eq(h_db_long(g.db,
	    "SELECT count(*) FROM modems WHERE host = $1 AND state = 'offline' "
	    "AND state_reason = 'pigeond stopped'", 1, params), 6);
	h_gateway_stop(&g);
}
END_TEST

/* The lowest descriptor number pid has free. */
static int
lowest_free_fd(pid_t pid)
{
	char path[64];
	unsigned char used[4096] = { 0 };
	struct dirent *e;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	ck_assert_ptr_nonnull(d = opendir(path));
	while ((e = readdir(d)) != NULL) {
		int fd = atoi(e->d_name);
		if (e->d_name[0] != '.' && fd >= 0 && fd < (int)sizeof(used))
			used[fd] = 1;
	}
	closedir(d);
	int fd = 0;
	while (fd < (int)sizeof(used) && used[fd])
		fd++;
	return fd;
}

#define FD_LIMIT	64	/* below what pigeond wants for 2 links: 88 */

START_TEST(test_fd_limit)
{
	struct h_gateway g;
	const char *params[1];

	memset(&g, 0, sizeof(g));
	g.extra_config = "restart_max_seconds = 4\n";
	h_spawn_nofile(FD_LIMIT);
	h_gateway_start(&g, "fdlimit", 2);
	h_spawn_nofile(0);
	char *log = log_of(&g, "pigeond.log"), *text = h_read_file(log);
	ck_assert_msg(text != NULL && strstr(text, "the open file limit is 64 (the hard "
	    "limit too, or it could not be raised to it), below the 88 pigeond wants for "
	    "2 link(s)") != NULL, "no warning about the open file limit at start in %s", log);
	free(text);

	/* No descriptor left (as an operator's ulimit too low for the bank):
	 * sim0's worker dies and cannot be started again. The soft limit
	 * only: the hard one cannot be raised back. */
	params[0] = "sim0";
	long worker = h_db_long(g.db, "SELECT pid FROM modems WHERE name = $1", 1, params);
	ck_assert_int_gt(worker, 0);
	struct rlimit tight = { (rlim_t)lowest_free_fd(g.pigeond), FD_LIMIT };
	ck_assert_int_eq(prlimit(g.pigeond, RLIMIT_NOFILE, &tight, NULL), 0);
	ck_assert_int_eq(kill((pid_t)worker, SIGKILL), 0);

	/* The reason says why; the retries back off (1 s, 2 s, 4 s: at most
	 * restart_max_seconds), as for a worker that crashes at once. */
	ck_assert_msg(h_wait_db(&g, "SELECT state || ': ' || state_reason FROM modems "
	    "WHERE name = $1", "sim0", "offline: cannot start the modem process: "
	    "Too many open files", 10000) == 0, "sim0's reason does not say why");
	struct count_arg at4 = { log, "modem sim0: cannot start the modem process: "
	    "Too many open files; retrying in 4000 ms", 2 };
	ck_assert_msg(h_wait_for(log_count_reaches, &at4, 20000) == 0,
	    "sim0 not retried with backoff up to restart_max_seconds (see %s)", log);
	ck_assert_int_eq(log_count(log, "modem sim0: socketpair: Too many open files"), 3);
	ck_assert_int_eq(log_count(log, "retrying in 2000 ms"), 1);

	/* Descriptors again: it comes back by itself. */
	struct rlimit back = { FD_LIMIT, FD_LIMIT };
	ck_assert_int_eq(prlimit(g.pigeond, RLIMIT_NOFILE, &back, NULL), 0);
	h_wait_modem(&g, "sim0", "online", 30000);
	free(log);
	h_gateway_stop(&g);
}
END_TEST

#define DEAD_TOKEN	"deadhost-token-0123456789abcdef0123456789"

static struct h_gateway da, db;

/* The modem name's object in A's GET path ("modems" of /api/modems or
 * /api/status), or NULL. */
static json_t *
listed_on_a(const char *path, const char *name)
{
	char *body = NULL;
	json_t *j, *m, *found = NULL;
	size_t i;

	if (h_http(da.http_port, "GET", path, DEAD_TOKEN, NULL, &body) != 200) {
		free(body);
		return NULL;
	}
	j = json_loads(body, 0, NULL);
	free(body);
	json_array_foreach(json_object_get(j, "modems"), i, m)
		if (strcmp(json_string_value(json_object_get(m, "name")) ?: "", name) == 0)
			found = json_incref(m);
	json_decref(j);
	return found;
}

struct shown_arg {
	const char *path, *state, *reason;
};

/* A lists q0 in that state, its reason containing that. */
static int
q0_shown(void *p)
{
	struct shown_arg *a = p;
	json_t *m = listed_on_a(a->path, "q0");
	const char *reason = json_string_value(json_object_get(m, "state_reason"));
	int ok = m != NULL &&
	    strcmp(json_string_value(json_object_get(m, "state")) ?: "", a->state) == 0 &&
	    (a->reason == NULL || (reason != NULL && strstr(reason, a->reason) != NULL));
	json_decref(m);
	if (!ok)
		h_sleep_ms(200);
	return ok;
}

static void
assert_q0_shown(const char *path, const char *state, const char *reason)
{
	struct shown_arg a = { path, state, reason };
	if (h_wait_for(q0_shown, &a, 30000) != 0) {
		json_t *m = listed_on_a(path, "q0");
		char *d = m ? json_dumps(m, JSON_COMPACT) : NULL;
		ck_abort_msg("A's %s does not show q0 %s (%s): %s", path, state,
		    reason ? reason : "", d ? d : "not listed");
	}
}

/* A (modem p0) and B (modem q0) on one database; name: the test's. */
static void
two_hosts(const char *name)
{
	static char http_extra[] = "token = " DEAD_TOKEN "\n";
	char *an = h_strf("%s_a", name), *bn = h_strf("%s_b", name);

	memset(&da, 0, sizeof(da));
	memset(&db, 0, sizeof(db));
	da.modem_prefix = "p";
	db.modem_prefix = "q";
	da.http_extra = db.http_extra = http_extra;
	h_gateway_start(&da, an, 1);
	h_gateway_start_on(&db, bn, 1, da.conninfo);
	free(an);
	free(bn);
}

static void
deadhost_setup(void)
{
	two_hosts("deadhost");
}

static void
retired_setup(void)
{
	two_hosts("retired");
}

static void
deadhost_teardown(void)
{
	if (db.dir != NULL)
		h_gateway_stop(&db);
	if (da.dir != NULL)
		h_gateway_stop(&da);
}

START_TEST(test_dead_host_shown)
{
	char *out = NULL, *want;
	const char *b = host(&db);

	assert_q0_shown("/api/modems", "online", NULL);
	/* B's power is cut: its pigeond dies without a word. */
	h_stop(db.pigeond, SIGKILL, 5000);
	db.pigeond = 0;
	want = h_strf("host %s is not running (no pigeond of that name is connected); "
	    "it said online", b);
	assert_q0_shown("/api/modems", "offline", want);
	/* The status page draws /api/status's. */
	assert_q0_shown("/api/status", "offline", want);
	json_t *m = listed_on_a("/api/modems", "q0");
	ck_assert_msg(json_is_null(json_object_get(m, "pid")), "q0 still has a pid");
	ck_assert_str_eq(json_string_value(json_object_get(m, "host")), b);
	json_decref(m);
	ck_assert_int_eq(h_run(&out, "%s -c '%s' modems", h_bin("pigeonctl"), da.config), 0);
	char *line = strstr(out, "\nq0 ");
	ck_assert_msg(line != NULL && strstr(line, " offline ") != NULL &&
	    strstr(line, want) != NULL && strstr(line, "(other host)") != NULL,
	    "pigeonctl modems on A: %s", out);
	free(out);
	free(want);

	/* B back: online again on A's lists. */
	h_pigeond_start(&db);
	h_wait_modem(&db, "q0", "online", 30000);
	assert_q0_shown("/api/modems", "online", NULL);
	assert_q0_shown("/api/status", "online", NULL);
}
END_TEST

START_TEST(test_retired_host_forgotten)
{
	char *out = NULL, *resp = NULL, *want;
	const char *b = host(&db);
	json_t *m;

	/* B runs: A lists its modem as B says, and will not forget it. */
	assert_q0_shown("/api/modems", "online", NULL);
	ck_assert_int_ne(h_run(&out, "%s -c '%s' forget --force q0 2>&1",
	    h_bin("pigeonctl"), da.config), 0);
	want = h_strf("modem q0 is in the configuration of host %s (online): remove "
	    "its section there and reload first (a host", b);
	ck_assert_msg(strstr(out, want) != NULL, "forget --force while B runs: %s", out);
	free(want);
	free(out);

	/* B switched off for good (a clean stop). */
	int st = h_stop(db.pigeond, SIGTERM, H_STOP_MS);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	db.pigeond = 0;
	want = h_strf("host %s is not running (no pigeond of that name is connected); "
	    "it said offline: pigeond stopped", b);
	assert_q0_shown("/api/modems", "offline", want);
	free(want);

	/* A send through it is taken, and says it waits. */
	ck_assert_int_eq(h_http(da.http_port, "POST", "/api/messages", DEAD_TOKEN,
	    "{\"to\":\"+212661300001\",\"text\":\"via q0\",\"via\":\"q0\"}",
	    &resp), 202);
	json_t *j = json_loads(resp, 0, NULL);
	long id = (long)json_integer_value(json_object_get(j, "id"));
	want = h_strf("no host runs link q0 now (its host %s is not running): the "
	    "message waits for it until its validity ends", b);
	ck_assert_msg(strcmp(json_string_value(json_object_get(j, "warning")) ?: "",
	    want) == 0, "send via q0: %s", resp);
	free(want);
	json_decref(j);
	free(resp);
	ck_assert_int_gt(id, 0);

	/* Forget says how, then forgets with force. */
	ck_assert_int_ne(h_run(&out, "%s -c '%s' forget q0 2>&1", h_bin("pigeonctl"),
	    da.config), 0);
	want = h_strf("modem q0 is in the configuration of host %s, which is not "
	    "running (no pigeond of that name is connected to the database): if %s "
	    "is gone for good, forget the link with force (pigeonctl forget --force "
	    "q0; ?force=1) (HTTP 409)", b, b);
	ck_assert_msg(strstr(out, want) != NULL, "forget q0: %s", out);
	free(want);
	free(out);
	ck_assert_int_eq(h_run(&out, "%s -c '%s' forget --force q0 2>&1",
	    h_bin("pigeonctl"), da.config), 0);
	ck_assert_msg(strstr(out, "modem q0: forgotten; 1 message(s) queued via it "
	    "cancelled") != NULL, "forget --force q0: %s", out);
	free(out);
	h_wait_outbox(&da, id, "cancelled", 1);
	ck_assert_ptr_null(listed_on_a("/api/modems", "q0"));
	want = h_strf("forgotten by the operator (host %s not running)", b);
	ck_assert_int_eq(h_db_long(da.db, "SELECT count(*) FROM modem_history "
	    "WHERE modem = 'q0' AND reason = $1", 1, (const char *[]){ want }), 1);
	free(want);
	/* Forgotten: a send through it is refused. */
	ck_assert_int_eq(h_http(da.http_port, "POST", "/api/messages", DEAD_TOKEN,
	    "{\"to\":\"+212661300002\",\"text\":\"via q0\",\"via\":\"q0\"}",
	    &resp), 400);
	ck_assert_msg(strstr(resp, "no link named q0") != NULL, "%s", resp);
	free(resp);
	/* A's own modem never moved. */
	m = listed_on_a("/api/modems", "p0");
	ck_assert_str_eq(json_string_value(json_object_get(m, "state")), "online");
	json_decref(m);
}
END_TEST

/* g's /healthz lists link name (in any state). */
static int
healthz_lists(struct h_gateway *g, const char *name)
{
	char *body = NULL, *want = h_strf("{\"name\":\"%s\",", name);
	int ok = h_http_get(g->http_port, "/healthz", &body) == 200 && body != NULL &&
	    strstr(body, want) != NULL;

	free(want);
	free(body);
	return ok;
}

struct listed_arg {
	struct h_gateway *g;
	const char *name;
	int metrics;		/* also on its /metrics (pigeon_modem_up) */
};

static int
unlisted(void *p)
{
	struct listed_arg *a = p;
	char *series = h_strf("pigeon_modem_up{modem=\"%s\"}", a->name);
	int gone = !healthz_lists(a->g, a->name) &&
	    (!a->metrics || h_metric(a->g, DEAD_TOKEN, series, -1) == -1);

	free(series);
	if (!gone)
		h_sleep_ms(200);
	return gone;
}

static void
moved_setup(void)
{
	static char http_extra[] = "token = " DEAD_TOKEN "\n";

	memset(&da, 0, sizeof(da));
	memset(&db, 0, sizeof(db));
	da.modem_prefix = db.modem_prefix = "x";
	da.http_extra = db.http_extra = http_extra;
	h_gateway_start(&da, "moved_a", 1);
	db.start_no_wait = 1;
	h_gateway_start_on(&db, "moved_b", 1, da.conninfo);
}

static void
forgotten_setup(void)
{
	two_hosts("forgotten");
}

/*
 * The move of docs/scaling.md: x0 in the files of A and B, its section
 * removed on A, SIGHUP; B takes it over. A showed it 12 s later and for
 * ever (pigeon_modem_state disabled, pigeon_modem_up 0, /healthz
 * disabled), and A's forget answers 409 (B drives it): an alert on
 * pigeon_modem_up == 0 fired until A's pigeond restarted.
 */
START_TEST(test_moved_modem_leaves)
{
	struct listed_arg x0 = { &da, "x0", 1 };
	char want[160];

	snprintf(want, sizeof(want), "%s online %s", host(&da), host(&db));
	ck_assert_int_eq(h_wait_db(&da, "SELECT host || ' ' || state || ' ' || "
	    "waiting_host FROM modems WHERE name = $1", "x0", want, 30000), 0);
	da.modem_removed[0] = 1;
	h_gateway_reload(&da);
	snprintf(want, sizeof(want), "%s online", host(&db));
	ck_assert_int_eq(h_wait_db(&db, "SELECT host || ' ' || state FROM modems "
	    "WHERE name = $1", "x0", want, 30000), 0);
	ck_assert_msg(h_wait_for(unlisted, &x0, 20000) == 0,
	    "A still lists x0, which B drives (pigeon_modem_up %ld)",
	    h_metric(&da, DEAD_TOKEN, "pigeon_modem_up{modem=\"x0\"}", -1));
	/* B's own are as they were. */
	struct listed_arg on_b = { &db, "x0", 0 };
	ck_assert(!unlisted(&on_b));
	ck_assert_int_eq(h_metric(&db, DEAD_TOKEN, "pigeon_modem_up{modem=\"x0\"}", -1), 1);
	/* Nothing to forget on A: B drives it. */
	ck_assert_int_eq(h_http(da.http_port, "DELETE", "/api/modems/x0", DEAD_TOKEN, NULL,
	    NULL), 409);
}
END_TEST

/*
 * p0 removed from A by SIGHUP, then forgotten through B: A's /healthz
 * listed it, disabled, until something scraped A's /metrics (a
 * deployment without Prometheus: until A restarted). Nothing scrapes
 * A's /metrics here.
 */
START_TEST(test_forgotten_elsewhere_leaves_healthz)
{
	struct listed_arg p0 = { &da, "p0", 0 };

	da.modem_removed[0] = 1;
	h_gateway_reload(&da);
	h_wait_modem(&da, "p0", "disabled", 30000);
	ck_assert(healthz_lists(&da, "p0"));
	ck_assert_int_eq(h_http(db.http_port, "DELETE", "/api/modems/p0", DEAD_TOKEN, NULL,
	    NULL), 200);
	ck_assert_msg(h_wait_for(unlisted, &p0, 20000) == 0,
	    "A's /healthz still lists p0, forgotten through B");
	/* Configured again on A: a new link, listed, its first start no
	 * restart. */
	da.modem_removed[0] = 0;
	h_gateway_reload(&da);
	h_wait_modem(&da, "p0", "online", 30000);
	ck_assert(healthz_lists(&da, "p0"));
	ck_assert_int_eq(h_metric(&da, DEAD_TOKEN, "pigeon_modem_restarts_total{modem=\"p0\"}",
	    -1), 0);
}
END_TEST

static struct h_gateway gu;

static void
unlisted_teardown(void)
{
	if (gu.dir != NULL)
		h_gateway_stop(&gu);
}

/* pigeond restarted without [modem sim1] (not a SIGHUP): its row said
 * "offline: pigeond stopped" for ever, a send via it was taken and
 * waited, and forget asked for a reload that could not remove it. */
START_TEST(test_restarted_without_section)
{
	char *out = NULL, *resp = NULL;

	memset(&gu, 0, sizeof(gu));
	gu.http_extra = "token = " DEAD_TOKEN "\n";
	h_gateway_start(&gu, "unlisted", 2);
	int st = h_stop(gu.pigeond, SIGTERM, H_STOP_MS);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	gu.pigeond = 0;
	/* The operator takes sim1's section out of the file. */
	char *text = h_read_file(gu.config), *at = strstr(text, "[modem sim1]");
	ck_assert_ptr_nonnull(at);
	char *next = strstr(at + 1, "\n[");
	char *cut = h_strf("%.*s%s", (int)(at - text), text, next ? next + 1 : "");
	ck_assert_int_eq(h_write_file(gu.config, cut), 0);
	chmod(gu.config, 0600);
	free(text);
	free(cut);
	h_pigeond_start(&gu);
	h_wait_modem(&gu, "sim0", "online", 30000);

	ck_assert_msg(h_wait_db(&gu, "SELECT state || ': ' || state_reason FROM modems "
	    "WHERE name = $1", "sim1", "disabled: removed from the configuration",
	    30000) == 0, "sim1, out of the file, is not set aside");
	char *log = log_of(&gu, "pigeond.log");
	ck_assert_int_eq(h_wait_file_contains(log, "modem sim1: not in the configuration "
	    "any more: removed from the configuration",
	    10000), 0);
	free(log);
	ck_assert_int_eq(h_http(gu.http_port, "POST", "/api/messages", DEAD_TOKEN,
	    "{\"to\":\"+212661300003\",\"text\":\"via sim1\",\"via\":\"sim1\"}",
	    &resp), 400);
	ck_assert_msg(strstr(resp, "sim1 was removed from the configuration") != NULL,
	    "%s", resp);
	free(resp);
	ck_assert_int_eq(h_run(&out, "%s -c '%s' forget sim1 2>&1", h_bin("pigeonctl"),
	    gu.config), 0);
	ck_assert_msg(strstr(out, "modem sim1: forgotten") != NULL, "%s", out);
	free(out);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("host");
	TCase *tc = tcase_create("samehost");

	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, test_same_host_name_refused);
	suite_add_tcase(s, tc);
	tc = tcase_create("stop");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_stop_leaves_no_modem_online);
	suite_add_tcase(s, tc);
	tc = tcase_create("fdlimit");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_fd_limit);
	suite_add_tcase(s, tc);
	tc = tcase_create("deadhost");
	tcase_add_checked_fixture(tc, deadhost_setup, deadhost_teardown);
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, test_dead_host_shown);
	suite_add_tcase(s, tc);
	tc = tcase_create("retired");
	tcase_add_checked_fixture(tc, retired_setup, deadhost_teardown);
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, test_retired_host_forgotten);
	suite_add_tcase(s, tc);
	tc = tcase_create("unlisted");
	tcase_add_checked_fixture(tc, NULL, unlisted_teardown);
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, test_restarted_without_section);
	suite_add_tcase(s, tc);
	tc = tcase_create("moved");
	tcase_add_checked_fixture(tc, moved_setup, deadhost_teardown);
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, test_moved_modem_leaves);
	suite_add_tcase(s, tc);
	tc = tcase_create("forgotten");
	tcase_add_checked_fixture(tc, forgotten_setup, deadhost_teardown);
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, test_forgotten_elsewhere_leaves_healthz);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return h_main(suite());
}

/* h_gateway.c: a whole gateway for a test: simulated modems, pigeond, phones. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <sys/wait.h>
#include <time.h>

#include <check.h>
#include <jansson.h>

#include "harness.h"

static int
exists(void *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

static void
sim_start(struct h_gateway *g, int i)
{
	char *log = h_strf("%s/sim%d.log", g->dir, i);
	char *argv[] = { (char *)h_bin("pigeon-modemsim"), "serve", g->sim_dir[i], NULL };
	char *tty = h_strf("%s/tty", g->sim_dir[i]);

	g->sim_pid[i] = h_spawn(log, argv);
	if (h_wait_for(exists, tty, 10000) == -1) {
		fprintf(stderr, "harness: modem simulator %d did not start (see %s)\n", i, log);
		abort();
	}
	free(tty);
	free(log);
}

static void
write_config(struct h_gateway *g)
{
	FILE *f = fopen(g->config, "w");
	if (f == NULL)
		abort();
	fprintf(f, "[pigeon]\ncountry = 212\nlanguage = fr\nhostname = %s\n%s\n",
	    strrchr(g->dir, '/') + 1, g->extra_config ? g->extra_config : "");
	fprintf(f, "[database]\nconninfo = %s\n\n", g->conninfo);
	/* Port 0: pigeond takes a free port and writes it in its port file
	 * (h_pigeond_start reads it). A port found free here and closed
	 * could be another test's server's by the time pigeond bound it. */
	fprintf(f, "[http]\nlisten = 127.0.0.1:0\nport_file = %s/http.port\n%s\n", g->dir,
	    g->http_extra ? g->http_extra : "");
	for (int i = 0; i < g->nmodems; i++) {
		if (g->modem_removed[i])
			continue;
		fprintf(f, "[modem %s%d]\ndevice = %s/tty\nconnection = at\npoll_ms = %d\n%s\n",
		    g->modem_prefix ? g->modem_prefix : "sim", i, g->sim_dir[i],
		    g->modem_poll_ms[i] ? g->modem_poll_ms[i] : 200,
		    g->modem_extra[i] ? g->modem_extra[i] : "");
	}
	if (g->smpp_extra)
		fprintf(f, "%s\n", g->smpp_extra);
	fclose(f);
	/* It may hold a token: pigeond refuses such a file others can read. */
	chmod(g->config, 0600);
}

struct port_arg {
	struct h_gateway *g;
	const char *path;
};

/* pigeond wrote its port (it listens), or it exited without. */
static int
port_written(void *p)
{
	struct port_arg *a = p;
	char *text = h_read_file(a->path);
	siginfo_t si = { 0 };
	int port;
	long pid;

	/* "PORT PID": the port this pigeond took. */
	if (text != NULL && sscanf(text, "%d %ld", &port, &pid) == 2 && port > 0 &&
	    pid == a->g->pigeond) {
		a->g->http_port = port;
		h_port_owner(a->g->http_port, a->g->pigeond);
		free(text);
		return 1;
	}
	free(text);
	return waitid(P_PID, a->g->pigeond, &si, WEXITED | WNOHANG | WNOWAIT) == -1 ||
	    si.si_pid != 0;
}

/*
 * With PIGEON_TEST_VALGRIND set (make valgrind, on the build without
 * sanitizers), pigeond runs under valgrind, whose reports (memory errors,
 * definite leaks) go to valgrind.PID.log in the test's folder; make
 * valgrind fails on any such file that is not empty. Its workers are
 * exec'd by it and run as they are.
 */
void
h_pigeond_start(struct h_gateway *g)
{
	char *log = h_strf("%s/pigeond.log", g->dir);
	char *vglog = h_strf("--log-file=%s/valgrind.%%p.log", g->dir);
	char *argv[] = { (char *)h_bin("pigeond"), "-v", "-c", g->config, NULL };
	char *vgargv[] = { "/usr/bin/valgrind", "--quiet", "--error-exitcode=97",
	    "--leak-check=full", "--errors-for-leak-kinds=definite", vglog,
	    (char *)h_bin("pigeond"), "-v", "-c", g->config, NULL };
	const char *vg = getenv("PIGEON_TEST_VALGRIND");

	char *port_file = h_strf("%s/http.port", g->dir);
	struct port_arg a = { g, port_file };

	/* The file of a pigeond before this one names a port that is no
	 * longer ours. */
	unlink(port_file);
	g->http_port = 0;
	g->pigeond = h_spawn(log, vg && *vg ? vgargv : argv);
	/* http_port stays 0 when pigeond exited at its start (the tests of a
	 * refused start read its log). */
	if (h_wait_for(port_written, &a, 60000) == -1)
		h_fatal("pigeond did not write %s within 60 s (see %s)", port_file, log);
	free(port_file);
	free(vglog);
	free(log);
}

static long
db_long_quiet(PGconn *c, const char *sql, const char *param)
{
	const char *params[] = { param };
	PGresult *r = PQexecParams(c, sql, param ? 1 : 0, NULL, params, NULL, NULL, 0);
	long v = -1;
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0)
		v = strtol(PQgetvalue(r, 0, 0), NULL, 10);
	else
		h_db_revive(c);
	PQclear(r);
	return v;
}

struct online_arg {
	struct h_gateway *g;
	int n;
};

static int
online(void *p)
{
	struct online_arg *a = p;
	return db_long_quiet(a->g->db,
	    "SELECT count(*) FROM modems WHERE state = 'online' AND host = $1",
	    strrchr(a->g->dir, '/') + 1) >= a->n;
}

int
h_gateway_wait_online(struct h_gateway *g, int n, int timeout_ms)
{
	struct online_arg a = { g, n };
	return h_wait_for(online, &a, timeout_ms);
}

/* conninfo: the database (malloc'd, kept by g). */
static void
gateway_start_on(struct h_gateway *g, const char *name, int nmodems, char *conninfo)
{
	g->dir = h_tmpdir(name);
	g->conninfo = conninfo;
	g->config = h_strf("%s/pigeon.conf", g->dir);
	g->nmodems = nmodems;
	for (int i = 0; i < nmodems; i++) {
		g->sim_dir[i] = h_strf("%s/modem%d", g->dir, i);
		sim_start(g, i);
	}
	write_config(g);
	h_pigeond_start(g);
	g->db = h_db_connect(g->conninfo);
	/* An SMPP bind is a row of modems too (kind smpp), online once bound. */
	if (!g->start_no_wait && h_gateway_wait_online(g, nmodems + g->nsmpp, 60000) == -1) {
		fprintf(stderr, "harness: links not online within 60 s (see %s/pigeond.log)\n",
		    g->dir);
		abort();
	}
}

void
h_gateway_start(struct h_gateway *g, const char *name, int nmodems)
{
	gateway_start_on(g, name, nmodems, h_db_create(name));
}

void
h_gateway_stop(struct h_gateway *g)
{
	char *log;

	if (g->pigeond > 0) {
		int status = h_stop(g->pigeond, SIGTERM, H_STOP_MS);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			h_fatal("pigeond did not exit cleanly on SIGTERM (status %d)", status);
	}
	g->pigeond = 0;
	for (int i = 0; i < g->nmodems; i++) {
		if (g->sim_pid[i] > 0)
			h_stop(g->sim_pid[i], SIGTERM, 5000);
		g->sim_pid[i] = 0;
	}
	if (g->db)
		PQfinish(g->db);
	g->db = NULL;

	/* pigeond's log holds its workers' stderr too. */
	log = h_strf("%s/pigeond.log", g->dir);
	h_assert_no_sanitizer_report(log);
	h_assert_drained(log);
	free(log);
	for (int i = 0; i < g->nmodems; i++) {
		log = h_strf("%s/sim%d.log", g->dir, i);
		h_assert_no_sanitizer_report(log);
		free(log);
		free(g->sim_dir[i]);
		g->sim_dir[i] = NULL;
	}
	free(g->dir);
	free(g->conninfo);
	free(g->config);
	g->dir = g->conninfo = g->config = NULL;
}

int
h_pigeonctl(const struct h_gateway *g, char **out, const char *args)
{
	return h_run(out, "%s -c '%s' %s 2>&1", h_bin("pigeonctl"), g->config, args);
}

/*
 * One request on a simulator's control socket (what `pigeon-modemsim
 * deliver|stored DIR` send, test_modemsim tests those): its answer when it
 * says ok, else NULL. Not running the program for each SMS saves its
 * sanitizer start and exit, a tenth of a second of CPU each.
 */
static json_t *
sim_call(const char *sim_dir, json_t *req)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char *line = json_dumps(req, JSON_COMPACT), buf[65536];
	json_t *resp = NULL;
	size_t len = 0;
	long deadline = h_now_ms() + 10000;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	json_decref(req);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/ctl", sim_dir);
	if (line == NULL || fd == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    write(fd, line, strlen(line)) != (ssize_t)strlen(line) || write(fd, "\n", 1) != 1) {
		fprintf(stderr, "harness: simulator %s: %s\n", sim_dir, strerror(errno));
		goto out;
	}
	while (len < sizeof(buf) - 1 && memchr(buf, '\n', len) == NULL) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long left = deadline - h_now_ms();
		ssize_t r;

		if (left <= 0 || poll(&p, 1, (int)left) != 1) {
			fprintf(stderr, "harness: simulator %s did not answer\n", sim_dir);
			goto out;
		}
		if ((r = read(fd, buf + len, sizeof(buf) - 1 - len)) <= 0) {
			if (r == -1 && errno == EINTR)
				continue;
			fprintf(stderr, "harness: simulator %s hung up\n", sim_dir);
			goto out;
		}
		len += (size_t)r;
	}
	buf[len] = '\0';
	resp = json_loads(buf, JSON_DISABLE_EOF_CHECK, NULL);
	if (resp != NULL && !json_is_true(json_object_get(resp, "ok"))) {
		fprintf(stderr, "harness: simulator %s: %s\n", sim_dir, buf);
		json_decref(resp);
		resp = NULL;
	}
out:
	if (fd != -1)
		close(fd);
	free(line);
	return resp;
}

int
h_text(struct h_gateway *g, int modem, const char *from, const char *text)
{
	/* json_string refuses invalid UTF-8, as the program does. */
	json_t *f = json_string(from), *t = json_string(text), *resp;

	if (f == NULL || t == NULL) {
		fprintf(stderr, "harness: deliver: not UTF-8\n");
		json_decref(f);
		json_decref(t);
		return 1;
	}
	resp = sim_call(g->sim_dir[modem], json_pack("{s:s, s:o, s:o}", "cmd", "deliver",
	    "from", f, "text", t));
	json_decref(resp);
	return resp != NULL ? 0 : 1;
}

/* Appends the texts sent to number by one simulator, reading its sent log. */
static void
collect(const char *sim_dir, const char *number, char **acc, size_t *len)
{
	char *path = h_strf("%s/sent.jsonl", sim_dir);
	char *data = h_read_file(path);
	free(path);
	if (data == NULL)
		return;
	for (char *line = strtok(data, "\n"); line; line = strtok(NULL, "\n")) {
		json_t *o = json_loads(line, 0, NULL);
		const char *to = json_string_value(json_object_get(o, "to"));
		const char *text = json_string_value(json_object_get(o, "text"));
		if (to && text && strcmp(to, number) == 0) {
			size_t n = strlen(text);
			*acc = realloc(*acc, *len + n + 2);
			memcpy(*acc + *len, text, n);
			(*acc)[*len + n] = '\n';
			*len += n + 1;
			(*acc)[*len] = '\0';
		}
		json_decref(o);
	}
	free(data);
}

char *
h_received(struct h_gateway *g, const char *number)
{
	char *acc = calloc(1, 1);
	size_t len = 0;
	for (int i = 0; i < g->nmodems; i++)
		collect(g->sim_dir[i], number, &acc, &len);
	return acc;
}

int
h_received_count(struct h_gateway *g, const char *number)
{
	char *all = h_received(g, number);
	int n = 0;
	for (char *p = all; *p; p++)
		if (*p == '\n')
			n++;
	free(all);
	return n;
}

int
h_received_matching(struct h_gateway *g, const char *number, const char *needle)
{
	char *all = h_received(g, number);
	int n = h_count_lines(all, needle);

	free(all);
	return n;
}

struct wait_arg {
	struct h_gateway *g;
	const char *number;
	const char *needle;
};

static int
received_match(void *p)
{
	struct wait_arg *a = p;
	char *all = h_received(a->g, a->number);
	int found = strstr(all, a->needle) != NULL;
	free(all);
	return found;
}

int
h_wait_received(struct h_gateway *g, const char *number, const char *needle,
    int timeout_ms)
{
	struct wait_arg a = { g, number, needle };
	return h_wait_for(received_match, &a, timeout_ms);
}

int
h_stored_count(struct h_gateway *g, int modem)
{
	json_t *resp = sim_call(g->sim_dir[modem], json_pack("{s:s}", "cmd", "stored"));
	int n = -1;

	if (resp != NULL)
		n = (int)json_array_size(json_object_get(resp, "messages"));
	json_decref(resp);
	return n;
}

struct stored_arg {
	struct h_gateway *g;
	int modem, n;
};

static int
stored_is(void *p)
{
	struct stored_arg *a = p;
	return h_stored_count(a->g, a->modem) == a->n;
}

int
h_wait_stored(struct h_gateway *g, int modem, int n, int timeout_ms)
{
	struct stored_arg a = { g, modem, n };
	return h_wait_for(stored_is, &a, timeout_ms);
}

void
h_gateway_reload(struct h_gateway *g)
{
	write_config(g);
	kill(g->pigeond, SIGHUP);
}

/* NAME V1 [V2...] as the request `pigeon-modemsim fault` sends; NULL if
 * a value is not an integer (the program then says why). */
static json_t *
fault_request(const char *name_values)
{
	char *copy = strdup(name_values), *save = NULL, *tok, *end;
	json_t *vals = json_array(), *req = NULL;
	const char *name = strtok_r(copy, " ", &save);

	while ((tok = strtok_r(NULL, " ", &save)) != NULL) {
		long v = strtol(tok, &end, 10);
		if (*end != '\0' || end == tok || v < -1000000000 || v > 1000000000)
			goto out;
		json_array_append_new(vals, json_integer(v));
	}
	if (name != NULL && json_array_size(vals) >= 1 && json_array_size(vals) <= 4)
		req = json_pack("{s:s, s:s, s:O}", "cmd", "fault", "name", name,
		    "values", vals);
out:
	json_decref(vals);
	free(copy);
	return req;
}

int
h_sim_fault(struct h_gateway *g, int modem, const char *name_values)
{
	char *out = NULL;
	json_t *req = fault_request(name_values), *resp;

	if (req != NULL) {
		resp = sim_call(g->sim_dir[modem], req);
		json_decref(resp);
		if (resp != NULL)
			return 0;
		fprintf(stderr, "harness: fault %s on modem %d failed\n", name_values, modem);
		return 1;
	}
	int rc = h_run(&out, "%s fault %s %s", h_bin("pigeon-modemsim"),
	    g->sim_dir[modem], name_values);
	if (rc != 0)
		fprintf(stderr, "harness: fault %s on modem %d failed: %s\n",
		    name_values, modem, out ? out : "");
	free(out);
	return rc;
}

int
h_sim_sent_count(struct h_gateway *g, int modem)
{
	char *path = h_strf("%s/sent.jsonl", g->sim_dir[modem]);
	char *data = h_read_file(path);
	int n = data ? h_count_lines(data, "\"to\"") : 0;
	free(path);
	free(data);
	return n;
}

struct db_wait {
	struct h_gateway *g;
	const char *sql;
	const char *param;
	const char *want;
};

static int
db_matches(void *p)
{
	struct db_wait *w = p;
	const char *params[] = { w->param };
	char *v = h_db_value(w->g->db, w->sql, w->param ? 1 : 0, params);
	int ok = v != NULL && strcmp(v, w->want) == 0;
	free(v);
	if (!ok)
		h_sleep_ms(80);		/* 10 queries a second are plenty */
	return ok;
}

int
h_wait_db(struct h_gateway *g, const char *sql, const char *param,
    const char *want, int timeout_ms)
{
	struct db_wait w = { g, sql, param, want };
	return h_wait_for(db_matches, &w, timeout_ms);
}

long
h_outbox_add(struct h_gateway *g, const char *to, const char *text, int cls)
{
	char c[8];
	snprintf(c, sizeof(c), "%d", cls);
	const char *params[] = { to, text, c };
	/* The NOTIFY is what pigeon_apply sends: the scheduler wakes at once. */
	return h_db_long(g->db,
	    "WITH i AS (INSERT INTO outbox (recipient, text, class) "
	    "VALUES ($1, $2, $3::smallint) RETURNING id) "
	    "SELECT id FROM i, pg_notify('pigeon_outbox', '')", 3, params);
}

/* The shortcode language's tests (test_commands.c, test_text.c). */

int
h_deliver(struct h_gateway *g, int modem, const char *from, const char *text,
    const char *opts)
{
	char *argv[16], *copy = strdup(opts ? opts : ""), *save = NULL, *out = NULL;
	int argc = 0, rc;

	argv[argc++] = (char *)h_bin("pigeon-modemsim");
	argv[argc++] = "deliver";
	argv[argc++] = g->sim_dir[modem];
	argv[argc++] = (char *)from;
	argv[argc++] = (char *)text;
	for (char *t = strtok_r(copy, " ", &save); t != NULL && argc < 15;
	    t = strtok_r(NULL, " ", &save))
		argv[argc++] = t;
	argv[argc] = NULL;
	rc = h_exec(&out, argv);
	if (rc != 0)
		fprintf(stderr, "harness: deliver %s failed (%d): %s\n",
		    opts ? opts : "", rc, out);
	free(out);
	free(copy);
	return rc;
}

struct history_arg {
	struct h_gateway *g;
	long n;
};

static int
onlines_at_least(void *p)
{
	struct history_arg *a = p;
	return db_long_quiet(a->g->db,
	    "SELECT count(*) FROM modem_history WHERE state = 'online'", NULL) >= a->n;
}

void
h_gateway_restart(struct h_gateway *g, const char *extra_config)
{
	struct history_arg a = { g, 0 };
	int status;

	a.n = db_long_quiet(g->db,
	    "SELECT count(*) FROM modem_history WHERE state = 'online'", NULL) +
	    g->nmodems + g->nsmpp;
	status = h_stop(g->pigeond, SIGTERM, H_STOP_MS);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		h_fatal("pigeond did not exit cleanly on SIGTERM (status %d)", status);
	g->extra_config = (char *)extra_config;
	write_config(g);
	h_pigeond_start(g);
	if (h_wait_for(onlines_at_least, &a, 60000) == -1)
		ck_abort_msg("modems not online again within 60 s after a restart");
}

/* Nothing to apply, send or fan out: a post's later chunks of copies
 * (fanouts) are not in the outbox yet, and a "never received" checked
 * before they were made could pass for a copy still to come. */
static int
db_quiet(struct h_gateway *g)
{
	return db_long_quiet(g->db,
	    "SELECT count(*) FROM inbox_messages WHERE state = 'new'", NULL) == 0 &&
	    db_long_quiet(g->db, "SELECT count(*) FROM outbox WHERE state = 'sending' "
	    "OR (state = 'queued' AND next_attempt_at <= now())", NULL) == 0 &&
	    db_long_quiet(g->db, "SELECT count(*) FROM fanouts", NULL) == 0;
}

static int
settled(void *p)
{
	struct h_gateway *g = p;

	/* Asking a simulator runs a program (ASan: ~0.1 s of CPU each): not
	 * while the database is still busy. */
	if (!db_quiet(g)) {
		h_sleep_ms(80);
		return 0;
	}
	/* The modems first, then the database again: an SMS leaves the
	 * modem only once its row is committed. */
	for (int i = 0; i < g->nmodems; i++)
		if (h_stored_count(g, i) != 0)
			return 0;
	return db_quiet(g);
}

void
h_sim_posts(const char *dir, int i, const char *from, int n, int nmodems)
{
	char *p = h_strf("%s/sim%d.sms", dir, i);
	FILE *f = fopen(p, "w");
	int loc = 1;

	ck_assert_msg(f != NULL, "%s", p);
	fprintf(f, "{\"type\":\"sms\",\"folder\":1,\"location\":%d,\"sender\":\"%s\","
	    "\"coding\":\"gsm\",\"time\":\"2026-11-26T07:00:00+00:00\",\"text\":\"JOIN u%d\"}\n",
	    loc++, from, i);
	for (int k = i; k < n; k += nmodems)
		fprintf(f, "{\"type\":\"sms\",\"folder\":1,\"location\":%d,\"sender\":\"%s\","
		    "\"coding\":\"gsm\",\"time\":\"2026-11-26T08:%02d:%02d+00:00\","
		    "\"text\":\"post %d\"}\n", loc++, from, (k / 60) % 60, k % 60, k);
	fclose(f);
	free(p);
}

void
h_join(struct h_gateway *g, int modem, const char *phone, const char *handle,
    int timeout_ms)
{
	char cmd[64], welcome[64];

	snprintf(cmd, sizeof(cmd), "JOIN %s", handle);
	snprintf(welcome, sizeof(welcome), "@%s", handle);
	ck_assert_int_eq(h_text(g, modem, phone, cmd), 0);
	ck_assert_msg(h_wait_received(g, phone, welcome, timeout_ms) == 0,
	    "%s never received \"%s\"; got:\n%s", phone, welcome, h_received(g, phone));
}

void
h_post(struct h_gateway *g, int modem, const char *from, const char *text,
    int timeout_ms)
{
	ck_assert_int_eq(h_text(g, modem, from, text), 0);
	ck_assert_msg(h_wait_db(g, "SELECT count(*) FROM posts WHERE text = $1",
	    text, "1", timeout_ms) == 0, "the post \"%s\" from %s was not made", text, from);
}

int
h_gateway_settle(struct h_gateway *g, int timeout_ms)
{
	/* No wait after: the simulators log a send before they answer it
	 * (modem/sim/at.c; tests/smsc/smsc.js before its submit_sm_resp),
	 * so every send settled saw recorded is in their logs. */
	if (h_wait_for(settled, g, timeout_ms) == -1)
		return -1;
	return 0;
}

char *
h_outbox_col(struct h_gateway *g, long id, const char *col)
{
	char *sql = h_strf("SELECT coalesce((%s)::text, '') FROM outbox WHERE id = $1::bigint",
	    col);	/* col is a literal of the calling test, never input */
	char sid[32];
	const char *params[] = { sid };

	snprintf(sid, sizeof(sid), "%ld", id);
	char *v = h_db_value(g->db, sql, 1, params);
	free(sql);
	return v ? v : strdup("?");
}

void
h_wait_outbox(struct h_gateway *g, long id, const char *state, int timeout_ms)
{
	char sid[32];

	snprintf(sid, sizeof(sid), "%ld", id);
	if (h_wait_db(g, "SELECT state FROM outbox WHERE id = $1::bigint", sid, state,
	    timeout_ms) == 0)
		return;
	char *st = h_outbox_col(g, id, "state"), *err = h_outbox_col(g, id, "last_error");
	ck_abort_msg("outbox %ld: want %s, is %s (%s)", id, state, st, err);
}

void
h_wait_modem(struct h_gateway *g, const char *name, const char *state, int timeout_ms)
{
	if (h_wait_db(g, "SELECT state FROM modems WHERE name = $1", name, state,
	    timeout_ms) == 0)
		return;
	char *st = h_db_value(g->db, "SELECT state || ': ' || state_reason FROM modems "
	    "WHERE name = $1", 1, (const char *const[]){ name });
	ck_abort_msg("modem %s: want %s, is %s", name, state, st ? st : "?");
}

/* pigeon_scheduler_caught_up_total in pigeond's /metrics; -1 if not read. */
static long
scheduler_caught_up(struct h_gateway *g, const char *token)
{
	return h_metric(g, token, "pigeon_scheduler_caught_up_total", -1);
}

long
h_metric(struct h_gateway *g, const char *token, const char *series, long absent)
{
	char *body = NULL, *needle = h_strf("\n%s ", series), *p;
	long n = absent;

	if (h_http(g->http_port, "GET", "/metrics", token, NULL, &body) == 200 &&
	    (p = strstr(body, needle)) != NULL)
		n = strtol(p + strlen(needle), NULL, 10);
	free(needle);
	free(body);
	return n;
}

struct caught_up_arg {
	struct h_gateway *g;
	const char *token;
	long want;
};

static int
caught_up_reached(void *arg)
{
	struct caught_up_arg *a = arg;

	if (scheduler_caught_up(a->g, a->token) >= a->want)
		return 1;
	h_sleep_ms(100);
	return 0;
}

void
h_wait_scheduler_caught_up(struct h_gateway *g, const char *token, int n,
    int timeout_ms)
{
	long from = scheduler_caught_up(g, token);

	ck_assert_msg(from >= 0, "no pigeon_scheduler_caught_up_total in /metrics");
	struct caught_up_arg a = { g, token, from + n };
	ck_assert_msg(h_wait_for(caught_up_reached, &a, timeout_ms) == 0,
	    "the scheduler caught up fewer than %d times in %d ms", n, timeout_ms);
}

/* Issue 7 (test_rel_hosts.c): another host on g's database. */
void
h_gateway_start_on(struct h_gateway *g, const char *name, int nmodems,
    const char *conninfo)
{
	gateway_start_on(g, name, nmodems, strdup(conninfo));
}

/* Issue 7: adds to per_id[id - first_id] the sends of each outbox id in
 * [first_id, first_id + n) that tests/reliability/fake-modem logged in
 * dir/modem.log. */
void
h_fake_sends(const char *dir, const char *modem, long first_id, long n, int *per_id)
{
	char *path = h_strf("%s/%s.log", dir, modem);
	char *log = h_read_file(path);

	free(path);
	for (char *l = log; l != NULL && *l; ) {
		char *nl = strchr(l, '\n');
		if (nl)
			*nl = '\0';
		char *id = strstr(l, "\"id\":");
		if (strstr(l, "\"type\":\"send\"") && id) {
			long v = strtol(id + 5, NULL, 10) - first_id;
			if (v >= 0 && v < n)
				per_id[v]++;
		}
		l = nl ? nl + 1 : NULL;
	}
	free(log);
}

double
h_epoch(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

void
h_fake_deletes(PGconn *db, const char *dir, const char *modem, const char *deleted,
    double before, long *sms, long *ndeleted, long *early)
{
	char *path = h_strf("%s/%s.sms", dir, modem);
	char *text = h_read_file(path), *own = NULL;
	json_t *gone = json_object(), *rows = json_array(), *dup = json_object();

	free(path);
	if (deleted == NULL) {
		path = h_strf("%s/%s.deleted", dir, modem);
		deleted = own = h_read_file(path);
		free(path);
	}
	/* "folder location" lines, as a set. */
	for (const char *l = deleted; l != NULL && *l; ) {
		size_t n = strcspn(l, "\n");
		char *key = h_strf("%.*s", (int)n, l);
		json_object_set_new(gone, key, json_true());
		free(key);
		l += n;
		l += *l == '\n';
	}
	for (char *l = text; l != NULL && *l; ) {
		char *nl = strchr(l, '\n');
		if (nl)
			*nl = '\0';
		json_t *m = json_loads(l, 0, NULL);
		if (m != NULL && json_is_integer(json_object_get(m, "location"))) {
			char *key = h_strf("%lld %lld",
			    (long long)json_integer_value(json_object_get(m, "folder")),
			    (long long)json_integer_value(json_object_get(m, "location")));
			(*sms)++;
			if (json_object_get(gone, key) && !json_object_get(dup, key)) {
				json_object_set_new(dup, key, json_true());
				(*ndeleted)++;
				json_array_append_new(rows, json_pack("{s:O, s:O}",
				    "sender", json_object_get(m, "sender"),
				    "text", json_object_get(m, "text")));
			}
			free(key);
		}
		json_decref(m);
		l = nl ? nl + 1 : NULL;
	}
	if (db != NULL && json_array_size(rows) > 0) {
		char *js = json_dumps(rows, JSON_COMPACT), *at = h_strf("%.6f", before);
		const char *params[] = { js, at };
		long n = h_db_long(db, "SELECT count(*) FROM jsonb_to_recordset($1::jsonb) "
		    "AS d(sender text, text text) WHERE NOT EXISTS (SELECT 1 FROM "
		    "inbox_messages m WHERE m.sender = d.sender AND m.text = d.text "
		    "AND m.received_at < to_timestamp($2::double precision))", 2, params);
		ck_assert_msg(n >= 0, "%s: the inbox could not be read", modem);
		*early += n;
		free(js);
		free(at);
	}
	json_decref(gone);
	json_decref(dup);
	json_decref(rows);
	free(own);
	free(text);
}

/*
 * h_smsc.c: the simulated SMSC (tests/smsc/smsc.js, docs/smsc-simulator.md)
 * for the tests: start it, drive it over its control socket, read what it
 * received. Run from the top of the tree (tests/run does).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <check.h>
#include <jansson.h>

#include "harness.h"

#define SMSC_WAIT_MS	10000

static int
port_written(void *arg)
{
	struct h_smsc *s = arg;
	char path[600], *t;

	snprintf(path, sizeof(path), "%s/port", s->dir);
	if ((t = h_read_file(path)) == NULL)
		return 0;
	s->port = atoi(t);
	free(t);
	return s->port > 0;
}

void
h_smsc_start(struct h_smsc *s, const char *name, const char *opts)
{
	char parent[32], *argv[32], *copy, *save = NULL;
	int argc = 0;

	s->dir = h_tmpdir(name);
	ck_assert(asprintf(&s->log, "%s/smsc.log", s->dir) != -1);
	snprintf(parent, sizeof(parent), "%d", (int)getpid());
	copy = strdup(opts ? opts : "");
	argv[argc++] = "/usr/bin/env";
	argv[argc++] = "node";
	argv[argc++] = "tests/smsc/smsc.js";
	argv[argc++] = "run";
	argv[argc++] = s->dir;
	/* Exits with the test, even one killed. */
	argv[argc++] = "--parent-pid";
	argv[argc++] = parent;
	for (char *t = strtok_r(copy, " ", &save); t != NULL && argc < 31;
	    t = strtok_r(NULL, " ", &save))
		argv[argc++] = t;
	argv[argc] = NULL;
	s->port = 0;
	s->pid = h_spawn(s->log, argv);
	free(copy);
	ck_assert_msg(h_wait_for(port_written, s, SMSC_WAIT_MS) == 0,
	    "the simulated SMSC did not start (log: %s)", s->log);
}

void
h_smsc_stop(struct h_smsc *s)
{
	siginfo_t si = { 0 };

	/* It held its port (DIR/port) while it ran; once it exited, pigeond
	 * could have bound to another test's SMSC on that port. */
	if (s->pid > 0 && waitid(P_PID, s->pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
	    si.si_pid != 0)
		h_fatal("the simulated SMSC exited during the test (log: %s): pigeond "
		    "may have reached another test's on its port", s->log);
	if (s->pid > 0)
		h_stop(s->pid, SIGTERM, 5000);
	s->pid = -1;
	free(s->dir);
	free(s->log);
	s->dir = s->log = NULL;
}

json_t *
h_smsc_ctl(struct h_smsc *s, const char *fmt, ...)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char *req, buf[65536];
	size_t len = 0;
	va_list ap;
	int fd, n;

	va_start(ap, fmt);
	n = vasprintf(&req, fmt, ap);
	va_end(ap);
	ck_assert(n != -1);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/ctl", s->dir);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert(fd != -1);
	ck_assert_msg(connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0,
	    "connect %s: %s", sun.sun_path, strerror(errno));
	ck_assert(write(fd, req, n) == n && write(fd, "\n", 1) == 1);
	free(req);
	while (len < sizeof(buf) - 1 && memchr(buf, '\n', len) == NULL) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ck_assert_msg(poll(&p, 1, SMSC_WAIT_MS) == 1, "no answer from the SMSC");
		ssize_t r = read(fd, buf + len, sizeof(buf) - 1 - len);
		ck_assert(r > 0);
		len += r;
	}
	close(fd);
	buf[len] = '\0';
	json_t *j = json_loads(buf, JSON_DISABLE_EOF_CHECK, NULL);
	ck_assert_msg(j != NULL && json_is_true(json_object_get(j, "ok")),
	    "SMSC control: %s", buf);
	return j;
}

long long
h_smsc_count(struct h_smsc *s, const char *what)
{
	json_t *st = h_smsc_ctl(s, "{\"cmd\":\"status\"}");
	long long n = json_integer_value(json_object_get(
	    json_object_get(st, "counts"), what));
	json_decref(st);
	return n;
}

struct count_want {
	struct h_smsc *s;
	const char *what;
	long long n;
};

static int
count_reached(void *arg)
{
	struct count_want *c = arg;
	if (h_smsc_count(c->s, c->what) >= c->n)
		return 1;
	h_sleep_ms(20);
	return 0;
}

void
h_smsc_wait_count(struct h_smsc *s, const char *what, long long n, int timeout_ms)
{
	struct count_want c = { s, what, n };
	ck_assert_msg(h_wait_for(count_reached, &c, timeout_ms) == 0,
	    "SMSC count %s stayed at %lld, not %lld", what, h_smsc_count(s, what), n);
}

json_t *
h_smsc_submits(struct h_smsc *s)
{
	char path[600], *text, *line, *save = NULL;
	json_t *a = json_array();

	snprintf(path, sizeof(path), "%s/received.jsonl", s->dir);
	if ((text = h_read_file(path)) == NULL)
		return a;
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		json_t *r = json_loads(line, 0, NULL);
		const char *cmd = json_string_value(json_object_get(r, "command"));
		if (cmd != NULL && strcmp(cmd, "submit_sm") == 0)
			json_array_append(a, r);
		json_decref(r);
	}
	free(text);
	return a;
}

/* "+212600000001" and "212600000001" are one number to the SMSC. */
static int
same_number(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return 0;
	return strcmp(a + (*a == '+'), b + (*b == '+')) == 0;
}

static const char *
record_text(json_t *r)
{
	const char *t = json_string_value(json_object_get(r, "message_payload"));
	if (t == NULL)
		t = json_string_value(json_object_get(r, "short_message"));
	return t ? t : "";
}

/* A message in parts, while its parts come. */
struct group {
	long	 ref;
	long	 total;
	char	*part[256];
	int	 have;
};

json_t *
h_smsc_messages(struct h_smsc *s, const char *number)
{
	json_t *subs = h_smsc_submits(s), *out = json_array(), *r;
	struct group *g = NULL;
	int ng = 0;
	size_t i;

	json_array_foreach(subs, i, r) {
		json_t *st = json_object_get(r, "status");
		json_t *c = json_object_get(r, "concat");
		if (!same_number(json_string_value(json_object_get(r, "dest")), number))
			continue;
		/* Only what the SMSC accepted reached the phone. */
		if (!json_is_integer(st) || json_integer_value(st) != 0)
			continue;
		if (!json_is_object(c)) {
			json_array_append_new(out, json_string(record_text(r)));
			continue;
		}
		long ref = json_integer_value(json_object_get(c, "ref"));
		long total = json_integer_value(json_object_get(c, "total"));
		long seq = json_integer_value(json_object_get(c, "seq"));
		if (total < 1 || total > 255 || seq < 1 || seq > total)
			continue;
		int k;
		for (k = 0; k < ng; k++)
			if (g[k].ref == ref && g[k].total == total && g[k].part[seq] == NULL)
				break;
		if (k == ng) {
			g = realloc(g, (ng + 1) * sizeof(*g));
			memset(&g[ng], 0, sizeof(*g));
			g[ng].ref = ref;
			g[ng].total = total;
			ng++;
		}
		g[k].part[seq] = strdup(record_text(r));
		if (++g[k].have < total)
			continue;
		size_t len = 1;
		for (long p = 1; p <= total; p++)
			len += strlen(g[k].part[p]);
		char *joined = calloc(1, len);
		for (long p = 1; p <= total; p++) {
			strcat(joined, g[k].part[p]);
			free(g[k].part[p]);
		}
		json_array_append_new(out, json_string(joined));
		free(joined);
		memmove(&g[k], &g[k + 1], (ng - k - 1) * sizeof(*g));
		ng--;
	}
	for (int k = 0; k < ng; k++)
		for (int p = 0; p < 256; p++)
			free(g[k].part[p]);
	free(g);
	json_decref(subs);
	return out;
}

char *
h_smsc_received(struct h_smsc *s, const char *number)
{
	json_t *m = h_smsc_messages(s, number), *v;
	char *acc = calloc(1, 1);
	size_t len = 0, i;

	json_array_foreach(m, i, v) {
		const char *t = json_string_value(v);
		size_t n = strlen(t);
		acc = realloc(acc, len + n + 2);
		memcpy(acc + len, t, n);
		acc[len + n] = '\n';
		len += n + 1;
		acc[len] = '\0';
	}
	json_decref(m);
	return acc;
}

struct recv_want {
	struct h_smsc *s;
	const char *number;
	const char *needle;
};

static int
received_match(void *arg)
{
	struct recv_want *w = arg;
	char *all = h_smsc_received(w->s, w->number);
	int found = strstr(all, w->needle) != NULL;

	free(all);
	if (!found)
		h_sleep_ms(50);
	return found;
}

int
h_smsc_wait_received(struct h_smsc *s, const char *number, const char *needle,
    int timeout_ms)
{
	struct recv_want w = { s, number, needle };
	return h_wait_for(received_match, &w, timeout_ms);
}

/* Runs scripts/smsc CMD DIR ARGS... (no shell); 0 when it said ok. */
static int
smsc_script(struct h_smsc *s, const char *cmd, char *const args[], const char *opts)
{
	char *argv[40], *copy = strdup(opts ? opts : ""), *save = NULL, *out = NULL;
	int argc = 0, rc;

	argv[argc++] = "scripts/smsc";
	argv[argc++] = (char *)cmd;
	argv[argc++] = s->dir;
	for (int i = 0; args != NULL && args[i] != NULL && argc < 30; i++)
		argv[argc++] = args[i];
	for (char *t = strtok_r(copy, " ", &save); t != NULL && argc < 39;
	    t = strtok_r(NULL, " ", &save))
		argv[argc++] = t;
	argv[argc] = NULL;
	rc = h_exec(&out, argv);
	if (rc != 0)
		fprintf(stderr, "harness: scripts/smsc %s failed (%d): %s\n", cmd, rc,
		    out ? out : "");
	free(out);
	free(copy);
	return rc;
}

int
h_smsc_deliver(struct h_smsc *s, const char *from, const char *text, const char *opts)
{
	char *args[] = { (char *)from, (char *)text, NULL };
	return smsc_script(s, "deliver", args, opts);
}

int
h_smsc_receipts(struct h_smsc *s, const char *opts)
{
	return smsc_script(s, "receipts", NULL, opts);
}

char *
h_smsc_section(struct h_smsc *s, const char *name, const char *extra)
{
	char *t;

	ck_assert(asprintf(&t, "[smpp %s]\nhost = 127.0.0.1\nport = %d\n"
	    "system_id = pigeon\npassword = secret\n%s\n", name, s->port,
	    extra ? extra : "") != -1);
	return t;
}

long
h_smsc_resps(struct h_smsc *s, const char *command, long status)
{
	char path[600], *text, *line, *save = NULL;
	long n = 0;

	snprintf(path, sizeof(path), "%s/received.jsonl", s->dir);
	if ((text = h_read_file(path)) == NULL)
		return 0;
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		json_t *r = json_loads(line, 0, NULL);
		const char *cmd = json_string_value(json_object_get(r, "command"));
		/* An answer the SMSC lost (fault lose_answer) never reached it. */
		if (cmd != NULL && strcmp(cmd, command) == 0 &&
		    json_integer_value(json_object_get(r, "status")) == status &&
		    !json_is_true(json_object_get(r, "lost")))
			n++;
		json_decref(r);
	}
	free(text);
	return n;
}

int
h_smsc_wait_resps(struct h_smsc *s, const char *command, long status, long n,
    int timeout_ms)
{
	/* Each look reads the whole record: 20 a second are plenty. */
	for (long t0 = h_now_ms(); h_smsc_resps(s, command, status) < n; h_sleep_ms(50))
		if (h_now_ms() - t0 > timeout_ms)
			return -1;
	return 0;
}

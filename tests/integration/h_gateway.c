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
#include <sys/socket.h>
#include <sys/stat.h>

#include <sys/wait.h>

#include <check.h>
#include <jansson.h>

#include "harness.h"

static int
free_port(void)
{
	struct sockaddr_in sa = { 0 };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int port = 0;

	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd != -1 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	if (fd != -1)
		close(fd);
	return port ? port : 18025;
}

static char *
xasprintf(const char *fmt, ...)
{
	char *s;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) == -1)
		abort();
	va_end(ap);
	return s;
}

static int
exists(void *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

static void
sim_start(struct h_gateway *g, int i)
{
	char *log = xasprintf("%s/sim%d.log", g->dir, i);
	char *argv[] = { (char *)h_bin("pigeon-modemsim"), "serve", g->sim_dir[i], NULL };
	char *tty = xasprintf("%s/tty", g->sim_dir[i]);

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
	fprintf(f, "[http]\nlisten = 127.0.0.1:%d\n\n", g->http_port);
	for (int i = 0; i < g->nmodems; i++)
		fprintf(f, "[modem sim%d]\ndevice = %s/tty\nconnection = at\npoll_ms = 200\n\n",
		    i, g->sim_dir[i]);
	fclose(f);
}

void
h_pigeond_start(struct h_gateway *g)
{
	char *log = xasprintf("%s/pigeond.log", g->dir);
	char *argv[] = { (char *)h_bin("pigeond"), "-v", "-c", g->config, NULL };
	g->pigeond = h_spawn(log, argv);
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

void
h_gateway_start(struct h_gateway *g, const char *name, int nmodems)
{
	g->dir = h_tmpdir(name);
	g->conninfo = h_db_create(name);
	g->config = xasprintf("%s/pigeon.conf", g->dir);
	g->nmodems = nmodems;
	g->http_port = free_port();
	for (int i = 0; i < nmodems; i++) {
		g->sim_dir[i] = xasprintf("%s/modem%d", g->dir, i);
		sim_start(g, i);
	}
	write_config(g);
	h_pigeond_start(g);
	g->db = h_db_connect(g->conninfo);
	if (h_gateway_wait_online(g, nmodems, 60000) == -1) {
		fprintf(stderr, "harness: modems not online within 60 s (see %s/pigeond.log)\n",
		    g->dir);
		abort();
	}
}

void
h_gateway_stop(struct h_gateway *g)
{
	char *log;

	if (g->pigeond > 0) {
		int status = h_stop(g->pigeond, SIGTERM, 20000);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			ck_abort_msg("pigeond did not exit cleanly on SIGTERM (status %d)", status);
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
	log = xasprintf("%s/pigeond.log", g->dir);
	h_assert_no_sanitizer_report(log);
	free(log);
	for (int i = 0; i < g->nmodems; i++) {
		log = xasprintf("%s/sim%d.log", g->dir, i);
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
h_text(struct h_gateway *g, int modem, const char *from, const char *text)
{
	char *out = NULL;
	char *argv[] = { (char *)h_bin("pigeon-modemsim"), "deliver",
	    g->sim_dir[modem], (char *)from, (char *)text, NULL };
	int rc = h_exec(&out, argv);
	if (rc != 0)
		fprintf(stderr, "harness: deliver failed (%d): %s\n", rc, out);
	free(out);
	return rc;
}

/* Appends the texts sent to number by one simulator, reading its sent log. */
static void
collect(const char *sim_dir, const char *number, char **acc, size_t *len)
{
	char *path = xasprintf("%s/sent.jsonl", sim_dir);
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
	char *out = NULL;
	char *argv[] = { (char *)h_bin("pigeon-modemsim"), "stored",
	    g->sim_dir[modem], NULL };
	int n = -1;
	if (h_exec(&out, argv) == 0) {
		n = 0;
		for (char *p = out; *p; p++)
			if (*p == '\n')
				n++;
	}
	free(out);
	return n;
}

/*
 * What an operator sees when starting pigeond goes wrong: a bad config
 * stops it with one clear line; a database that cannot be reached and a
 * modem that cannot be opened are logged and retried while it keeps running.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <check.h>

#include "harness.h"

static char *
write_conf(const char *dir, const char *name, const char *text)
{
	char *path;
	if (asprintf(&path, "%s/%s", dir, name) == -1)
		abort();
	ck_assert_int_eq(h_write_file(path, text), 0);
	return path;
}

static int
check_config(const char *path, char **out)
{
	char *argv[] = { (char *)h_bin("pigeond"), "-n", "-c", (char *)path, NULL };
	return h_exec(out, argv);
}

START_TEST(test_config_errors)
{
	char *dir = h_tmpdir("config");
	char *out, *path;

	path = write_conf(dir, "good.conf",
	    "[pigeon]\nshortcode = 40404\n\n[database]\nconninfo = dbname=x\n\n"
	    "[modem bank1-a]\ndevice = /dev/ttyUSB0\nconnection = at\n"
	    "routes = +21266 +21267\nrate = 6/min 300/hour\n");
	ck_assert_int_eq(check_config(path, &out), 0);
	ck_assert_str_eq(out, "configuration OK\n");
	free(out);
	free(path);

	path = write_conf(dir, "bad.conf",
	    "[pigeon]\npost_max = lots\n\n[database]\nconninfo = dbname=x\n");
	ck_assert_int_eq(check_config(path, &out), 1);
	ck_assert_ptr_nonnull(strstr(out, "[pigeon] post_max: 'lots' is not a number"));
	ck_assert_int_eq(h_count_lines(out, "pigeond"), 1);
	free(out);
	free(path);

	path = write_conf(dir, "nodb.conf", "[pigeon]\ncountry = 212\n");
	ck_assert_int_eq(check_config(path, &out), 1);
	ck_assert_ptr_nonnull(strstr(out, "[database] conninfo: is required"));
	free(out);
	free(path);

	ck_assert_int_eq(check_config("/nonexistent/pigeon.conf", &out), 1);
	ck_assert_ptr_nonnull(strstr(out, "No such file or directory"));
	free(out);
	free(dir);
}
END_TEST

static int
alive(pid_t pid)
{
	return waitpid(pid, NULL, WNOHANG) == 0;
}

START_TEST(test_database_unreachable)
{
	char *dir = h_tmpdir("nodb");
	char conf[1024], *log, *body = NULL, *port_file = h_strf("%s/http.port", dir);
	int port;

	snprintf(conf, sizeof(conf),
	    "[database]\nconninfo = host=%s/nowhere dbname=pigeon connect_timeout=2\n\n"
	    "[http]\nlisten = 127.0.0.1:0\nport_file = %s\n", dir, port_file);
	char *path = write_conf(dir, "pigeon.conf", conf);
	if (asprintf(&log, "%s/pigeond.log", dir) == -1)
		abort();
	char *argv[] = { (char *)h_bin("pigeond"), "-c", path, NULL };
	pid_t pid = h_spawn(log, argv);

	/* Its HTTP listener comes before the database. */
	ck_assert_int_eq(h_wait_file_contains(port_file, "\n", 20000), 0);
	char *text = h_read_file(port_file), *want;
	port = atoi(text);
	ck_assert_int_gt(port, 0);
	want = h_strf("%d %d\n", port, (int)pid);
	ck_assert_str_eq(text, want);
	free(want);
	free(text);
	h_port_owner(port, pid);
	/* One line, naming its connection; libpq's hint on the same line
	 * (its "\n\t" was logged as " ?"). */
	ck_assert_int_eq(h_wait_file_contains(log, "database (pigeond ", 20000), 0);
	ck_assert_int_eq(h_wait_file_contains(log, "): connection to server", 20000), 0);
	ck_assert_int_eq(h_wait_file_contains(log,
	    "No such file or directory Is the server running", 20000), 0);
	ck_assert_int_eq(h_wait_file_contains(log, "reconnecting in", 20000), 0);
	ck_assert(alive(pid));
	ck_assert_int_eq(h_http_get(port, "/healthz", &body), 503);
	ck_assert_ptr_nonnull(strstr(body, "\"database\":\"down\""));
	free(body);

	int status = h_stop(pid, SIGTERM, H_STOP_MS);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	h_assert_no_sanitizer_report(log);
	free(port_file);
	free(path);
	free(log);
	free(dir);
}
END_TEST

struct health_arg {
	int port;
	const char *needle;
};

static int
health_shows(void *p)
{
	struct health_arg *a = p;
	char *body = NULL;
	int found = h_http_get(a->port, "/healthz", &body) == 200 &&
	    strstr(body, a->needle) != NULL;
	free(body);
	return found;
}

START_TEST(test_modem_cannot_open)
{
	struct h_gateway g;
	char *log, *body = NULL;

	memset(&g, 0, sizeof(g));
	h_gateway_start(&g, "badmodem", 1);
	/* Replace the config with one whose second modem does not exist. */
	h_stop(g.pigeond, SIGTERM, H_STOP_MS);
	FILE *f = fopen(g.config, "a");
	fprintf(f, "[modem broken]\ndevice = %s/no-such-tty\nconnection = at\n", g.dir);
	fclose(f);
	if (asprintf(&log, "%s/pigeond.log", g.dir) == -1)
		abort();
	h_pigeond_start(&g);

	ck_assert_int_eq(h_wait_file_contains(log, "modem broken: connect:", 30000), 0);
	ck_assert_int_eq(h_wait_file_contains(log, "modem broken: process exited with status", 30000), 0);
	ck_assert_int_eq(h_wait_file_contains(log, "restarting in 2000 ms", 30000), 0);
	/* The good modem works on; the broken one shows offline between its
	 * restarts (it is "starting" for a moment during each). */
	ck_assert_int_eq(h_gateway_wait_online(&g, 1, 30000), 0);
	struct health_arg ha = { g.http_port,
	    "{\"name\":\"broken\",\"state\":\"offline\"" };
	ck_assert_int_eq(h_wait_for(health_shows, &ha, 30000), 0);
	ck_assert_int_eq(h_http_get(g.http_port, "/healthz", &body), 200);
	ck_assert_ptr_nonnull(strstr(body, "{\"name\":\"sim0\",\"state\":\"online\""));
	free(body);
	h_gateway_stop(&g);
	free(log);
}
END_TEST

/*
 * [http] listen with port 0: pigeond takes a free port, says which in its
 * log and its port_file (the harness starts every pigeond so: a port
 * found free and closed could be another test's by the time pigeond bound
 * it), pigeonctl -c finds it there, and the file goes when pigeond stops
 * listening. The harness then no longer asks that port. A pigeond killed
 * (SIGKILL) leaves its file: pigeonctl sent the token to whatever
 * listened on that port since (any user may take a free port); it says
 * the file is stale now, exits as when pigeond cannot be reached, and
 * connects to nothing.
 */
START_TEST(test_port_file)
{
	struct h_gateway g;
	char *out = NULL, *body = NULL, *want;

	memset(&g, 0, sizeof(g));
	h_gateway_start(&g, "portfile", 1);
	char *conf = h_read_file(g.config), *port_file = h_strf("%s/http.port", g.dir);
	char *log = h_strf("%s/pigeond.log", g.dir), *text = h_read_file(port_file);
	ck_assert_ptr_nonnull(strstr(conf, "listen = 127.0.0.1:0\n"));
	ck_assert_ptr_nonnull(text);
	ck_assert_int_gt(g.http_port, 0);
	want = h_strf("%d %d\n", g.http_port, (int)g.pigeond);
	ck_assert_str_eq(text, want);
	free(want);
	want = h_strf("http: listening on 127.0.0.1:%d\n", g.http_port);
	ck_assert_int_eq(h_wait_file_contains(log, want, 1000), 0);
	free(want);
	struct health_arg ha = { g.http_port, "\"status\":\"ok\"" };
	ck_assert_int_eq(h_wait_for(health_shows, &ha, 30000), 0);
	ck_assert_int_eq(h_run(&out, "%s -c '%s' health 2>&1", h_bin("pigeonctl"), g.config), 0);
	want = h_strf(" on 127.0.0.1:%d: ok", g.http_port);
	ck_assert_msg(strstr(out, want) != NULL, "%s", out);
	free(want);
	free(out);

	int status = h_stop(g.pigeond, SIGTERM, H_STOP_MS);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	g.pigeond = 0;
	ck_assert_int_eq(access(port_file, F_OK), -1);
	ck_assert_int_eq(h_run(&out, "%s -c '%s' health 2>&1", h_bin("pigeonctl"), g.config), 4);
	ck_assert_msg(strstr(out, "port_file") && strstr(out, "No such file"), "%s", out);
	free(out);
	/* Another server on its port now (another test's pigeond could take
	 * it): the harness does not ask it in g's name. */
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int one = 1, lfd = socket(AF_INET, SOCK_STREAM, 0);
	sa.sin_port = htons(g.http_port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(lfd, 4), 0);
	pid_t other = fork();
	ck_assert_int_ne(other, -1);
	if (other == 0) {
		const char *a = "HTTP/1.0 200 OK\r\n\r\n{\"status\":\"ok\"}";
		for (;;) {
			int c = accept(lfd, NULL, NULL);
			if (c != -1 && write(c, a, strlen(a)) < 0)
				_exit(1);
			close(c);
		}
	}
	close(lfd);
	ck_assert_int_eq(h_http_get(g.http_port, "/healthz", &body), -1);
	ck_assert_ptr_null(body);
	free(body);
	ck_assert_int_eq(h_http(g.http_port, "GET", "/healthz", NULL, NULL, &body), -1);
	free(body);
	h_stop(other, SIGKILL, 5000);

	/* Killed: its file stays, naming a port someone else listens on. */
	h_pigeond_start(&g);
	ck_assert_int_gt(g.http_port, 0);
	h_stop(g.pigeond, SIGKILL, 5000);
	g.pigeond = 0;
	char *stale = h_read_file(port_file);
	ck_assert_ptr_nonnull(stale);
	ck_assert_int_eq(atoi(stale), g.http_port);
	free(stale);
	/* The other program answers as pigeond would, and passes on what it
	 * was sent. */
	int seen[2];
	ck_assert_int_eq(pipe(seen), 0);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	sa.sin_port = htons(g.http_port);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(lfd, 4), 0);
	if ((other = fork()) == 0) {
		const char *a = "HTTP/1.0 200 OK\r\n\r\n{\"status\":\"ok\"}";
		char req[2048];
		for (;;) {
			int c = accept(lfd, NULL, NULL);
			ssize_t n = c == -1 ? -1 : read(c, req, sizeof(req));
			if (n > 0 && (write(seen[1], req, (size_t)n) < 0 ||
			    write(c, a, strlen(a)) < 0))
				_exit(1);
			close(c);
		}
	}
	ck_assert_int_ne(other, -1);
	close(lfd);
	close(seen[1]);
	int rc = h_run(&out, "%s -c '%s' health 2>&1", h_bin("pigeonctl"), g.config);
	struct pollfd pfd = { .fd = seen[0], .events = POLLIN };
	char sent[2048] = "";
	if (poll(&pfd, 1, 200) == 1 && read(seen[0], sent, sizeof(sent) - 1) < 0)
		sent[0] = '\0';
	ck_assert_msg(sent[0] == '\0', "pigeonctl sent to the stale port: %s", sent);
	ck_assert_msg(rc == 4, "pigeonctl exited %d: %s", rc, out);
	ck_assert_msg(strstr(out, port_file) && strstr(out, "stale"), "%s", out);
	free(out);
	h_stop(other, SIGKILL, 5000);
	close(seen[0]);
	h_gateway_stop(&g);
	free(text);
	free(log);
	free(port_file);
	free(conf);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("startup");
	TCase *tc = tcase_create("startup");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_config_errors);
	tcase_add_test(tc, test_database_unreachable);
	tcase_add_test(tc, test_modem_cannot_open);
	tcase_add_test(tc, test_port_file);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return h_main(suite());
}

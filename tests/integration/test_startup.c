/*
 * What an operator sees when starting pigeond goes wrong: a bad config
 * stops it with one clear line; a database that cannot be reached and a
 * modem that cannot be opened are logged and retried while it keeps running.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	char conf[1024], *log, *body = NULL;
	int port = 18000 + getpid() % 1000;

	snprintf(conf, sizeof(conf),
	    "[database]\nconninfo = host=%s/nowhere dbname=pigeon connect_timeout=2\n\n"
	    "[http]\nlisten = 127.0.0.1:%d\n", dir, port);
	char *path = write_conf(dir, "pigeon.conf", conf);
	if (asprintf(&log, "%s/pigeond.log", dir) == -1)
		abort();
	char *argv[] = { (char *)h_bin("pigeond"), "-c", path, NULL };
	pid_t pid = h_spawn(log, argv);

	ck_assert_int_eq(h_wait_file_contains(log, "database: connection to server", 20000), 0);
	ck_assert_int_eq(h_wait_file_contains(log, "reconnecting in", 20000), 0);
	ck_assert(alive(pid));
	ck_assert_int_eq(h_http_get(port, "/healthz", &body), 503);
	ck_assert_ptr_nonnull(strstr(body, "\"database\":\"down\""));
	free(body);

	int status = h_stop(pid, SIGTERM, 10000);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	h_assert_no_sanitizer_report(log);
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
	h_stop(g.pigeond, SIGTERM, 20000);
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

static Suite *
suite(void)
{
	Suite *s = suite_create("startup");
	TCase *tc = tcase_create("startup");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_config_errors);
	tcase_add_test(tc, test_database_unreachable);
	tcase_add_test(tc, test_modem_cannot_open);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return h_main(suite());
}

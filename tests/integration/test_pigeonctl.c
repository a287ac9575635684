/*
 * pigeonctl against a running gateway: send a message, follow it to
 * "sent" through a simulated modem, the tables and --json, and the exit
 * codes scripts rely on.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>

#include <check.h>
#include <jansson.h>

#include "harness.h"

#define TOKEN	"ctl-token-0123456789abcdef0123456789"
#define BOB	"+212661000002"
#define WAIT_MS	60000

static struct h_gateway g;
static char http_extra[512];

/* The token is in a file here: pigeond and pigeonctl both read it. */
static void
setup(void)
{
	char *file = h_secret_file("pigeonctl-token", "token", TOKEN "\n");

	memset(&g, 0, sizeof(g));
	snprintf(http_extra, sizeof(http_extra), "token_file = %s\n", file);
	g.http_extra = http_extra;
	h_gateway_start(&g, "pigeonctl", 1);
	free(file);
}

static void
teardown(void)
{
	h_gateway_stop(&g);
}

#define ctl(out, args)	h_pigeonctl(&g, (out), (args))

struct sent_arg {
	char *id;
	char *last;
};

static int
status_sent(void *p)
{
	struct sent_arg *a = p;
	char args[64];
	free(a->last);
	snprintf(args, sizeof(args), "status %s", a->id);
	return ctl(&a->last, args) == 0 && strstr(a->last, ": sent\n") != NULL;
}

START_TEST(test_send_and_status)
{
	char *out = NULL;
	struct sent_arg a = { NULL, NULL };

	ck_assert_int_eq(ctl(&out, "send +212661000002 \"hello\""), 0);
	long id = strtol(out, NULL, 10);
	ck_assert_msg(id > 0, "send printed %s", out);
	ck_assert_int_ge(asprintf(&a.id, "%ld", id), 0);
	free(out);

	ck_assert_int_eq(h_wait_received(&g, BOB, "hello", WAIT_MS), 0);
	ck_assert_msg(h_wait_for(status_sent, &a, WAIT_MS) == 0, "status said: %s", a.last);
	/* The human-readable history shows each state with the modem. */
	ck_assert_ptr_nonnull(strstr(a.last, "to " BOB ": sent"));
	ck_assert_ptr_nonnull(strstr(a.last, "history:"));
	ck_assert_ptr_nonnull(strstr(a.last, "sending"));
	ck_assert_ptr_nonnull(strstr(a.last, "sim0"));
	fprintf(stderr, "pigeonctl status %s:\n%s", a.id, a.last);
	free(a.last);

	/* --json for scripts. */
	char args[64];
	snprintf(args, sizeof(args), "--json status %s", a.id);
	ck_assert_int_eq(ctl(&out, args), 0);
	json_t *j = json_loads(out, 0, NULL);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(json_string_value(json_object_get(j, "state")), "sent");
	ck_assert_str_eq(json_string_value(json_object_get(j, "to")), BOB);
	json_decref(j);
	free(out);
	free(a.id);

	ck_assert_int_eq(ctl(&out, "--json send 0661000002 again"), 0);
	j = json_loads(out, 0, NULL);
	ck_assert_int_gt(json_integer_value(json_object_get(j, "id")), id);
	json_decref(j);
	free(out);
}
END_TEST

/* The parts sim0 handed to the network (the simulator's parts.jsonl). */
static int
sim0_parts(void)
{
	char *path = h_strf("%s/parts.jsonl", g.sim_dir[0]);
	char *data = h_read_file(path);
	int n = data ? h_count_lines(data, "\"to\"") : 0;

	free(path);
	free(data);
	return n;
}

/* sim0's PARTS in `pigeonctl modems` (-1: no such line). */
static long
modems_parts(void)
{
	char *out = NULL, state[32];
	long parts = -1;

	if (ctl(&out, "modems") == 0)
		for (char *l = strtok(out, "\n"); l != NULL; l = strtok(NULL, "\n"))
			if (sscanf(l, "sim0 %31s %*s %*s %*s %*s %ld", state, &parts) == 2)
				break;
	free(out);
	return parts;
}

static int
parts_shown(void *arg)
{
	(void)arg;
	if (modems_parts() == sim0_parts())
		return 1;
	h_sleep_ms(200);
	return 0;
}

/* What the carrier bills: each link's SMS parts of the day, today's in
 * the modems' table, the days before with -d (yesterday's is a row of
 * counters, as the budget left it). */
START_TEST(test_parts_per_day)
{
	char *out = NULL, *yesterday, *today, text[201];

	PQclear(PQexec(g.db, "INSERT INTO counters (name, value) VALUES ('link_parts/' || "
	    "to_char(now() AT TIME ZONE pigeon_setting('timezone') - interval '1 day', "
	    "'YYYY-MM-DD') || '/sim0', 7)"));
	yesterday = h_db_value(g.db, "SELECT to_char(now() AT TIME ZONE "
	    "pigeon_setting('timezone') - interval '1 day', 'YYYY-MM-DD')", 0, NULL);
	today = h_db_value(g.db, "SELECT to_char(now() AT TIME ZONE "
	    "pigeon_setting('timezone'), 'YYYY-MM-DD')", 0, NULL);
	for (int i = 0; i < 200; i++)
		text[i] = "0123456789"[i % 10];
	text[200] = '\0';
	char *args = h_strf("send +212661000003 %s", text);
	ck_assert_int_eq(ctl(&out, args), 0);
	free(args);
	free(out);
	ck_assert_int_eq(h_wait_received(&g, "+212661000003", "0123456789", WAIT_MS), 0);
	ck_assert_msg(h_wait_for(parts_shown, NULL, WAIT_MS) == 0,
	    "pigeonctl modems shows %ld parts today, sim0 sent %d", modems_parts(),
	    sim0_parts());
	long parts = sim0_parts();
	ck_assert_int_ge(parts, 2);

	ck_assert_int_eq(ctl(&out, "modems -d 2"), 0);
	char *want = h_strf("DAY           sim0\n%s       7\n%s %7ld\n", yesterday, today,
	    parts);
	ck_assert_msg(strcmp(out, want) == 0, "modems -d 2 printed:\n%s", out);
	free(want);
	free(out);

	ck_assert_int_eq(ctl(&out, "--json modems -d 2"), 0);
	json_t *j = json_loads(out, 0, NULL);
	ck_assert_msg(json_array_size(j) == 2, "%s", out);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(j, 0), "day")),
	    yesterday);
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(
	    json_array_get(j, 0), "parts"), "sim0")), 7);
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(
	    json_array_get(j, 1), "parts"), "sim0")), parts);
	json_decref(j);
	free(out);

	ck_assert_int_eq(ctl(&out, "modems -d 31"), 2);
	free(out);
	free(yesterday);
	free(today);
}
END_TEST

START_TEST(test_tables)
{
	char *out = NULL;

	ck_assert_int_eq(ctl(&out, "modems"), 0);
	ck_assert_ptr_nonnull(strstr(out, "NAME"));
	ck_assert_ptr_nonnull(strstr(out, "sim0"));
	ck_assert_ptr_nonnull(strstr(out, "online"));
	free(out);

	ck_assert_int_eq(ctl(&out, "queue"), 0);
	ck_assert_ptr_nonnull(strstr(out, "waiting or in flight"));
	free(out);

	ck_assert_int_eq(ctl(&out, "messages -t +212661000002 -n 5"), 0);
	ck_assert_ptr_nonnull(strstr(out, "hello"));
	free(out);

	PQclear(PQexec(g.db, "INSERT INTO accounts (phone, handle, name, lang) VALUES "
	    "('+212661000009', 'zineb', 'Zineb', 'fr')"));
	ck_assert_int_eq(ctl(&out, "users @zineb"), 0);
	ck_assert_ptr_nonnull(strstr(out, "@zineb (Zineb)"));
	ck_assert_ptr_null(strstr(out, "+212661000009"));
	free(out);

	ck_assert_int_eq(ctl(&out, "health"), 0);
	ck_assert_ptr_nonnull(strstr(out, "database up"));
	free(out);

	/* Disabled, its process stops after pigeond answered: what is
	 * printed is true then. Before: "disable (now online)". */
	ck_assert_int_eq(ctl(&out, "disable sim0"), 0);
	/* Stopped already, or "disabled once its process has stopped (online
	 * now)", "once its 1 send(s) in flight are done and ..." with a send
	 * of the earlier tests still going. */
	ck_assert_msg(strcmp(out, "modem sim0: disabled\n") == 0 ||
	    (strncmp(out, "modem sim0: disabled once ", 26) == 0 &&
	    strstr(out, "its process has stopped (online now)\n") != NULL), "%s", out);
	free(out);
	h_wait_modem(&g, "sim0", "disabled", WAIT_MS);
	ck_assert_int_eq(ctl(&out, "modems"), 0);
	ck_assert_msg(strstr(out, "disabled by the operator") != NULL, "%s", out);
	free(out);
	ck_assert_int_eq(ctl(&out, "disable sim0"), 0);
	ck_assert_str_eq(out, "modem sim0: disabled\n");
	free(out);
	ck_assert_int_eq(ctl(&out, "enable sim0"), 0);
	ck_assert_msg(strstr(out, "modem sim0: online once connected (") != NULL, "%s", out);
	free(out);
	ck_assert_int_eq(h_gateway_wait_online(&g, 1, WAIT_MS), 0);

	ck_assert_int_eq(ctl(&out, "drain sim0"), 0);
	ck_assert_str_eq(out, "modem sim0: draining\n");
	free(out);
	ck_assert_int_eq(ctl(&out, "enable sim0"), 0);
	ck_assert_str_eq(out, "modem sim0: online\n");
	free(out);
	ck_assert_int_eq(h_gateway_wait_online(&g, 1, WAIT_MS), 0);
}
END_TEST

START_TEST(test_exit_codes)
{
	char *out = NULL;

	/* 1: the API refused (not found, bad request). */
	ck_assert_int_eq(ctl(&out, "users nobody"), 1);
	ck_assert_ptr_nonnull(strstr(out, "no such user"));
	free(out);
	ck_assert_int_eq(ctl(&out, "status 99999"), 1);
	free(out);
	ck_assert_int_eq(ctl(&out, "send hello text"), 1);
	ck_assert_ptr_nonnull(strstr(out, "not a phone number"));
	free(out);
	ck_assert_int_eq(ctl(&out, "send 06610000 text"), 1);
	ck_assert_ptr_nonnull(strstr(out, "06610000 is not a phone number: +212 numbers "
	    "have 9 digits after the country code, this one 7"));
	free(out);
	ck_assert_int_eq(ctl(&out, "disable nosuch"), 1);
	free(out);
	/* 2: usage. */
	ck_assert_int_eq(ctl(&out, "frobnicate"), 2);
	free(out);
	ck_assert_int_eq(ctl(&out, "status abc"), 2);
	free(out);
	ck_assert_int_eq(h_run(&out, "%s -c /nonexistent modems 2>&1", h_bin("pigeonctl")), 2);
	free(out);
	/* 3: a wrong token; the environment beats the config, options beat both. */
	ck_assert_int_eq(h_run(&out, "%s -c '%s' -t wrong modems 2>&1", h_bin("pigeonctl"),
	    g.config), 3);
	free(out);
	ck_assert_int_eq(h_run(&out, "PIGEON_TOKEN=wrong %s -c '%s' modems 2>&1",
	    h_bin("pigeonctl"), g.config), 3);
	free(out);
	/* 4: nobody listening. */
	ck_assert_int_eq(h_run(&out, "%s -c '%s' -a 127.0.0.1:1 modems 2>&1",
	    h_bin("pigeonctl"), g.config), 4);
	ck_assert_ptr_nonnull(strstr(out, "cannot reach pigeond"));
	free(out);
}
END_TEST

/*
 * An operator may read pigeon.conf but not the secrets it names: the
 * modems' PIN files and the binds' password files belong to pigeond's
 * user. pigeonctl needs none of them, and reaches pigeond all the same;
 * pigeond itself (-n) still refuses the file.
 */
START_TEST(test_secrets_not_read)
{
	char *out = NULL, *conf = h_read_file(g.config), *path = NULL;
	char *dir = h_tmpdir("pigeonctl-secrets"), *text = NULL;

	ck_assert_ptr_nonnull(conf);
	ck_assert_int_ge(asprintf(&path, "%s/pigeon.conf", dir), 0);
	ck_assert_int_ge(asprintf(&text, "%s\n[modem vault]\ndevice = /dev/null\n"
	    "pin_file = %s/no-such-pin\n\n[smpp carrier]\nhost = 127.0.0.1\n"
	    "port = 2775\nsystem_id = pigeon\npassword_file = %s/no-such-password\n"
	    "source_addr = 40404\n", conf, dir, dir), 0);
	h_write_file(path, text);

	ck_assert_int_eq(h_run(&out, "%s -c '%s' modems 2>&1", h_bin("pigeonctl"), path), 0);
	ck_assert_msg(strstr(out, "sim0") != NULL, "%s", out);
	free(out);
	ck_assert_int_ne(h_run(&out, "%s -n -c '%s' 2>&1", h_bin("pigeond"), path), 0);
	ck_assert_msg(strstr(out, "no-such-pin") != NULL, "%s", out);
	free(out);
	/* A file others can change could send the token anywhere: refused. */
	chmod(path, 0666);
	ck_assert_int_eq(h_run(&out, "%s -c '%s' modems 2>&1", h_bin("pigeonctl"), path), 2);
	ck_assert_msg(strstr(out, "writable by others") != NULL, "%s", out);
	free(out);
	free(text);
	free(path);
	free(dir);
	free(conf);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("pigeonctl");
	TCase *tc = tcase_create("cli");
	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, test_send_and_status);
	tcase_add_test(tc, test_parts_per_day);
	tcase_add_test(tc, test_tables);
	tcase_add_test(tc, test_exit_codes);
	tcase_add_test(tc, test_secrets_not_read);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return h_main(suite());
}

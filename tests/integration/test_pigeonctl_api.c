/*
 * pigeonctl over the API of issue 16: --help on stdout with exit 0,
 * options after the command, an unknown command named, cancel, inbox,
 * post, search, stats, reload, watch with --delay and --count (and on
 * through errors), times
 * with their offset, a wide modem name in its column; a command's options
 * before or after its operands.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <check.h>
#include <jansson.h>

#include "harness.h"

#define TOKEN	"ctl-api-token-0123456789abcdef0123456789"
#define WAIT_MS	60000

static struct h_gateway g;
static char http_extra[512];

static void
setup(void)
{
	memset(&g, 0, sizeof(g));
	snprintf(http_extra, sizeof(http_extra), "token = " TOKEN "\n");
	g.http_extra = http_extra;
	/* A modem name wider than the old 12-character column. */
	g.modem_prefix = "modem-with-a-long-name-";
	h_gateway_start(&g, "pigeonctl_api", 1);
}

static void
teardown(void)
{
	h_gateway_stop(&g);
}

/* pigeonctl -c CONFIG ARGS: exit code; stdout (and stderr when both). */
static int
ctl(char **out, int both, const char *args)
{
	return h_run(out, "%s -c '%s' %s%s", h_bin("pigeonctl"), g.config, args,
	    both ? " 2>&1" : " 2>/dev/null");
}

START_TEST(test_usage)
{
	char *out = NULL;

	/* --help: on stdout, exit 0, listing the new commands. */
	ck_assert_int_eq(ctl(&out, 0, "--help"), 0);
	ck_assert_ptr_nonnull(strstr(out, "usage: pigeonctl"));
	ck_assert_ptr_nonnull(strstr(out, "watch [--delay SECONDS]"));
	free(out);
	ck_assert_int_eq(ctl(&out, 0, "modems --help"), 0);
	ck_assert_ptr_nonnull(strstr(out, "usage: pigeonctl"));
	free(out);
	ck_assert_int_eq(ctl(&out, 0, "--version"), 0);
	ck_assert_ptr_nonnull(strstr(out, "pigeonctl "));
	free(out);
	/* An unknown command is named; a known one with bad arguments too. */
	ck_assert_int_eq(ctl(&out, 1, "frobnicate"), 2);
	ck_assert_ptr_nonnull(strstr(out, "unknown command 'frobnicate'"));
	free(out);
	ck_assert_int_eq(ctl(&out, 1, "cancel"), 2);
	ck_assert_ptr_nonnull(strstr(out, "cancel: wrong arguments"));
	free(out);
	/* Options after the command. */
	ck_assert_int_eq(ctl(&out, 0, "modems --json"), 0);
	ck_assert_ptr_nonnull(strstr(out, "\"modems\""));
	free(out);
	/* The wide name is whole and the columns still line up. */
	ck_assert_int_eq(ctl(&out, 0, "modems"), 0);
	ck_assert_ptr_nonnull(strstr(out, "modem-with-a-long-name-0 online"));
	free(out);
}
END_TEST

START_TEST(test_commands)
{
	char *out = NULL, cmd[256];

	/* cancel: a message scheduled for later. */
	char *resp = NULL;
	ck_assert_int_eq(h_http(g.http_port, "POST", "/api/messages", TOKEN,
	    "{\"to\":\"+212661000301\",\"text\":\"later\",\"send_at\":\"2099-01-01T00:00:00Z\"}",
	    &resp), 400);	/* more than 30 days ahead */
	free(resp);
	ck_assert_int_eq(h_http(g.http_port, "POST", "/api/messages", TOKEN,
	    "{\"to\":\"+212661000301\",\"text\":\"later\",\"priority\":1,"
	    "\"send_at\":\"2030-01-01T00:00:00Z\"}", &resp), 400);
	free(resp);
	long id = h_outbox_add(&g, "+212661000301", "later", 1);
	char ids[24];
	snprintf(ids, sizeof(ids), "%ld", id);
	const char *p[] = { ids };
	PQclear(PQexecParams(g.db, "UPDATE outbox SET next_attempt_at = now() + "
	    "interval '1 hour' WHERE id = $1 AND state = 'queued'", 1, NULL, p, NULL,
	    NULL, 0));
	char *st = h_outbox_col(&g, id, "state");
	if (strcmp(st, "queued") == 0) {
		snprintf(cmd, sizeof(cmd), "cancel %ld", id);
		ck_assert_int_eq(ctl(&out, 1, cmd), 0);
		ck_assert_ptr_nonnull(strstr(out, "cancelled"));
		free(out);
	}
	free(st);

	/* inbox: what a phone texted, with times and their offset. */
	ck_assert_int_eq(h_text(&g, 0, "+212661000302", "hello there"), 0);
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM inbox_messages WHERE "
	    "sender = $1 AND state <> 'new'", "+212661000302", "1", WAIT_MS), 0);
	ck_assert_int_eq(ctl(&out, 0, "inbox -f +212661000302"), 0);
	ck_assert_ptr_nonnull(strstr(out, "hello there"));
	ck_assert_msg(strstr(out, "+00:00") || strstr(out, "+01:00"), "%s", out);
	free(out);

	/* post, search, stats: a member first (JOIN by SMS). */
	ck_assert_int_eq(h_text(&g, 0, "+212661000303", "JOIN zineb"), 0);
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM accounts WHERE handle = $1",
	    "zineb", "1", WAIT_MS), 0);
	ck_assert_int_eq(ctl(&out, 0, "post @zineb 'pigeons everywhere'"), 0);
	free(out);
	ck_assert_int_eq(ctl(&out, 0, "search pigeons"), 0);
	ck_assert_ptr_nonnull(strstr(out, "@zineb"));
	free(out);
	ck_assert_int_eq(ctl(&out, 0, "stats zineb"), 0);
	free(out);

	/* reload: the admin route that does what SIGHUP does. */
	ck_assert_int_eq(ctl(&out, 0, "reload"), 0);
	ck_assert_ptr_nonnull(strstr(out, "reloaded"));
	free(out);
	/* A file pigeond refuses is a 400 saying why (it was a 200: "reloaded"),
	 * and the running configuration is kept. */
	char *good = h_read_file(g.config), *bad = NULL;
	ck_assert_int_ne(asprintf(&bad, "%s\n[pigeon]\nmax_attempts = many\n", good), -1);
	ck_assert_int_eq(h_write_file(g.config, bad), 0);
	ck_assert_int_eq(h_http(g.http_port, "POST", "/api/reload", TOKEN, NULL, &resp), 400);
	ck_assert_msg(strstr(resp, "running configuration is kept") != NULL, "%s", resp);
	free(resp);
	ck_assert_int_eq(h_write_file(g.config, good), 0);
	free(good);
	free(bad);

	/* watch: two refreshes a second apart, then it stops by itself. */
	long t0 = h_now_ms();
	ck_assert_int_eq(ctl(&out, 0, "watch --delay 1 --count 2"), 0);
	ck_assert_int_ge(h_now_ms() - t0, 900);
	ck_assert_int_eq(h_count_lines(out, "pigeonctl watch, every 1 s"), 2);
	ck_assert_int_eq(h_count_lines(out, "modem-with-a-long-name-0"), 2);
	free(out);
}
END_TEST

/* The number of posts a --json search printed. */
static size_t
posts_found(const char *out)
{
	json_t *j = json_loads(out, 0, NULL);
	ck_assert_msg(j != NULL, "%s", out);
	size_t n = json_array_size(json_object_get(j, "posts"));
	json_decref(j);
	return n;
}

/*
 * A number written with its country code in brackets, "(+212) 661 000
 * 304", as a business card or a signature gives it, is that phone's in
 * every command; a filter that is no phone number is refused (exit 1),
 * never an empty list. (messages -t answered "to is not a phone number",
 * inbox -f an empty list with exit 0: "nothing came from you".)
 */
START_TEST(test_number_forms)
{
	char *out = NULL;

	ck_assert_int_eq(h_text(&g, 0, "+212661000304", "card number here"), 0);
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM inbox_messages WHERE "
	    "sender = $1 AND state <> 'new'", "+212661000304", "1", WAIT_MS), 0);
	ck_assert_int_eq(ctl(&out, 1, "send '(+212) 661 000 304' 'your parcel is in'"), 0);
	free(out);
	ck_assert_int_eq(ctl(&out, 1, "messages -t '(+212) 661 000 304'"), 0);
	ck_assert_msg(strstr(out, "+212661000304") != NULL, "%s", out);
	free(out);
	ck_assert_int_eq(ctl(&out, 1, "inbox -f '(+212) 661 000 304'"), 0);
	ck_assert_msg(strstr(out, "card number here") != NULL, "%s", out);
	free(out);
	/* Not a phone number: refused by both, with the reason. */
	ck_assert_int_eq(ctl(&out, 1, "inbox -f '(212+) 661 000 304'"), 1);
	ck_assert_msg(strstr(out, "from is not a phone number") != NULL, "%s", out);
	free(out);
	ck_assert_int_eq(ctl(&out, 1, "messages -t '(212+) 661 000 304'"), 1);
	ck_assert_msg(strstr(out, "to is not a phone number") != NULL, "%s", out);
	free(out);
	/* A sender's name is still a filter of the inbox (what it holds). */
	ck_assert_int_eq(ctl(&out, 1, "inbox -f 'Maroc Telecom'"), 0);
	free(out);
}
END_TEST

/*
 * The inbox says when the phone sent a message (the SMSC's time stamp of
 * its first part) beside when pigeond stored it, and marks one processed
 * incomplete. It showed only the storing time as RECEIVED: an SMS texted
 * at 10:35:02 behind a database outage read 10:35:33, a long SMS with a
 * part lost read concat_timeout later; and only --json said "complete":
 * false.
 */
START_TEST(test_inbox_times)
{
	const char *p = "+212661000305";
	char *out = NULL;
	static const char longtext[] = "Bonjour, je voulais vous dire que la "
	    "livraison de demain matin est annulee a cause de la greve des "
	    "transporteurs, merci de rappeler le service client avant midi pour "
	    "fixer un autre jour. FIN";

	/* One SMS the phone sent at 10:35:02 (SMSC time). */
	ck_assert_int_eq(h_deliver(&g, 0, p, "sent long ago", "--time "
	    "2026-11-26T10:35:02Z"), 0);
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM inbox_messages WHERE "
	    "sender = $1 AND state <> 'new'", p, "1", WAIT_MS), 0);
	/* A long one sent at 10:40:00 whose part 2 never comes: processed
	 * alone once its wait is over (put back past concat_timeout; the
	 * janitor looks every 30 s). */
	ck_assert_int_eq(h_deliver(&g, 0, p, longtext, "--ref 9 --time "
	    "2026-11-26T10:40:00Z --lose 2"), 0);
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM inbox_parts WHERE "
	    "sender_norm = $1 AND concat_ref = 9", p, "1", WAIT_MS), 0);
	ck_assert_int_eq(h_db_long(g.db, "WITH u AS (UPDATE inbox_parts SET "
	    "received_at = received_at - interval '11 minutes' WHERE sender_norm = $1 "
	    "AND message_id IS NULL RETURNING 1) SELECT count(*) FROM u", 1,
	    (const char *const[]){ p }), 1);
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM inbox_messages WHERE "
	    "sender = $1 AND state <> 'new'", p, "2", WAIT_MS), 0);

	ck_assert_int_eq(ctl(&out, 1, "inbox -f +212661000305"), 0);
	ck_assert_msg(strstr(out, " SENT ") && strstr(out, " STORED "), "%s", out);
	/* Its SMSC time, in the offset the API gives (the service's zone). */
	ck_assert_msg(strstr(out, "10:35:02+00:00") || strstr(out, "11:35:02+01:00"),
	    "%s", out);
	ck_assert_msg(strstr(out, "10:40:00+00:00") || strstr(out, "11:40:00+01:00"),
	    "%s", out);
	ck_assert_msg(strstr(out, "[incomplete: 1 part of a long SMS came] Bonjour")
	    != NULL, "%s", out);
	free(out);
	ck_assert_int_eq(ctl(&out, 1, "--json inbox -f +212661000305"), 0);
	ck_assert_msg(strstr(out, "\"sent_at\": \"2026-11-26T1") != NULL, "%s", out);
	free(out);
}
END_TEST

/*
 * A command's options before or after its operands, as the usage and the
 * manual write them ("search QUERY [-n LIMIT]"): after the operand, the
 * usage was printed (exit 2); audience took -d after the handle only.
 * Each option is seen to reach the API: -n 1 finds one post of two, -d 0
 * is refused by pigeond (exit 1), -d 7 is not.
 */
START_TEST(test_option_order)
{
	char *out = NULL;
	const char *both[][2] = {
		{ "search -n 1 flamingos", "search flamingos -n 1" },
		{ "stats -d 7 @yasmin", "stats @yasmin -d 7" },
		{ "audience -d 7 yasmin", "audience yasmin -d 7" },
		{ "erase --yes nobody", "erase nobody --yes" },
		{ "search -- -n", "-- search -n" },
	};

	PQclear(PQexec(g.db, "INSERT INTO accounts (phone, handle, name, lang) VALUES "
	    "('+212661000309', 'yasmin', 'Yasmin', 'fr')"));
	ck_assert_int_eq(ctl(&out, 1, "post yasmin 'flamingos at dawn'"), 0);
	free(out);
	ck_assert_int_eq(ctl(&out, 1, "post yasmin 'flamingos at dusk'"), 0);
	free(out);
	ck_assert_int_eq(ctl(&out, 1, "business yasmin on"), 0);
	free(out);
	ck_assert_int_eq(ctl(&out, 0, "--json search flamingos"), 0);
	ck_assert_int_eq(posts_found(out), 2);
	free(out);

	for (size_t i = 0; i < sizeof(both) / sizeof(both[0]); i++) {
		for (int k = 0; k < 2; k++) {
			char args[128];
			snprintf(args, sizeof(args), "--json %s", both[i][k]);
			int rc = ctl(&out, 1, args);
			if (i == 0) {
				ck_assert_msg(rc == 0, "%s: %d %s", args, rc, out);
				ck_assert_int_eq(posts_found(out), 1);
			} else if (i == 3) {
				/* Parsed: the API's answer (no such user), not usage. */
				ck_assert_msg(rc == 1 && strstr(out, "no such user"), "%s: %d %s",
				    args, rc, out);
			} else {
				ck_assert_msg(rc == 0, "%s: %d %s", args, rc, out);
			}
			free(out);
		}
	}
	/* -d reaches pigeond in either place: 0 days it refuses. */
	const char *zero[] = { "stats -d 0 yasmin", "stats yasmin -d 0",
	    "audience -d 0 yasmin", "audience yasmin -d 0" };
	for (size_t i = 0; i < sizeof(zero) / sizeof(zero[0]); i++) {
		int rc = ctl(&out, 1, zero[i]);
		ck_assert_msg(rc == 1 && strstr(out, "days"), "%s: %d %s", zero[i], rc, out);
		free(out);
	}
	/* An operand too many is usage wherever it stands; messages and inbox
	 * take none (messages ignored one). */
	const char *wrong[] = { "search a b -n 1", "stats -d 7 a b", "audience a -d 7 b",
	    "messages -n 1 +212661000309", "inbox x", "watch --count 1 x",
	    "erase --yes --yes", "erase a", "search -x flamingos" };
	for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
		int rc = ctl(&out, 1, wrong[i]);
		ck_assert_msg(rc == 2 && (strstr(out, "usage") || strstr(out, "wrong arguments")),
		    "%s: %d %s", wrong[i], rc, out);
		free(out);
	}
}
END_TEST

/* A port of 127.0.0.1 where nothing listens: *fd holds it bound (not
 * listening: a connection is refused) until the caller closes it, so that
 * no other test's server takes it meanwhile. */
static int
closed_port(int *fd)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);

	*fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(*fd, 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(*fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(*fd, (struct sockaddr *)&sin, &len), 0);
	return ntohs(sin.sin_port);
}

/*
 * watch goes on through errors: pigeond unreachable (restarting, during
 * an incident) is said at each refresh and tried again at the next. It
 * exited 4 at the first.
 */
START_TEST(test_watch_survives_errors)
{
	char *out = NULL;
	int fd;

	ck_assert_int_eq(h_run(&out, "%s -a 127.0.0.1:%d -t " TOKEN " watch --delay 1 "
	    "--count 3 2>&1", h_bin("pigeonctl"), closed_port(&fd)), 4);
	close(fd);
	ck_assert_msg(h_count_lines(out, "pigeonctl watch, every 1 s") == 3, "%s", out);
	ck_assert_msg(h_count_lines(out, "pigeonctl: cannot reach pigeond at 127.0.0.1:") == 3,
	    "%s", out);
	free(out);
	/* A refused token still ends it at once, with its code. */
	ck_assert_int_eq(h_run(&out, "%s -a 127.0.0.1:%d -t wrong-token-0123456789abcdef0123456 "
	    "watch --delay 1 --count 3 2>&1", h_bin("pigeonctl"), g.http_port), 3);
	ck_assert_msg(h_count_lines(out, "pigeonctl watch, every 1 s") == 1, "%s", out);
	free(out);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("pigeonctl_api");
	TCase *tc = tcase_create("pigeonctl_api");

	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_usage);
	tcase_add_test(tc, test_commands);
	tcase_add_test(tc, test_number_forms);
	tcase_add_test(tc, test_inbox_times);
	tcase_add_test(tc, test_option_order);
	tcase_add_test(tc, test_watch_survives_errors);
	suite_add_tcase(s, tc);
	return h_main(s);
}

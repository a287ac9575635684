/*
 * Issue 15: what `pigeond -n` used to pass and a start then tripped over
 * (or silently did without: a "[modem b" header lost modem b). Each is one
 * line naming the file and the line, the same at -n and at start, exit 1.
 * And -n checks that the modem worker is where this pigeond will look.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <check.h>

#include "harness.h"

static const struct {
	const char *text;
	const char *line;	/* what the one line says after the path */
} mistakes[] = {
	{ "[database]\nconninfo = dbname=x\n[modem a]\ndevice = /dev/ttyUSB0\n"
	  "[modem b\ndevice = /dev/ttyUSB1\n",
	  ":5: '[modem b': a section header without its ']'" },
	{ "[database]\nconninfo = dbname=x\n[modem a]\ndevice = \"/dev/ttyUSB0\"\n",
	  ":4: [modem a] device: the quotes would be part of the value" },
	{ "[database]\nconninfo = dbname=x\n[http]\ntoken_file = /nonexistent/token\n",
	  ":4: [http] token_file: /nonexistent/token: No such file or directory" },
	{ "[database]\nconninfo = dbname=x\n[http]\nwebhooks = https://example.org/\n",
	  ":4: [http] webhooks: 'https://example.org/': https is not supported" },
	{ "[pigeon]\ntimezone = Europe/Atlantis\n[database]\nconninfo = dbname=x\n",
	  ":2: [pigeon] timezone: 'Europe/Atlantis' is not a time zone known here" },
	{ "[database]\nconninfo = dbname=x\n[modem a]\ndevice = /dev/ttyUSB0\n"
	  "[modem b]\ndevice = /dev/ttyUSB0\n",
	  ":6: [modem b] device: '/dev/ttyUSB0' is also the device of [modem a] (line 4)" },
	/* Issue 13: a lease shorter than a bind can hold a send. */
	{ "[pigeon]\nlease_seconds = 40\n[database]\nconninfo = dbname=x\n"
	  "[smpp carrier]\nhost = 127.0.0.1\nport = 2775\nsystem_id = a\n"
	  "password = b\nresponse_timeout = 30\n",
	  ":2: [pigeon] lease_seconds: 40 s is not longer than the bind carrier can "
	  "hold a send (46 s): raise it above 46" },
	/* Its rate counts parts: ahead x window sends of up to 3 parts
	 * (fanout_parts_ucs2) at 10 a second, 12 s, not 4. */
	{ "[pigeon]\nlease_seconds = 55\n[database]\nconninfo = dbname=x\n"
	  "[smpp carrier]\nhost = 127.0.0.1\nport = 2775\nsystem_id = a\n"
	  "password = b\nresponse_timeout = 30\nrate = 10/s\n",
	  ":2: [pigeon] lease_seconds: 55 s is not longer than the bind carrier can "
	  "hold a send (58 s): raise it above 58" },
	/* Keys are read whatever their case; so is the one-day refusal. */
	{ "[retention]\nINBOX_DAYS = 1\n[database]\nconninfo = dbname=x\n",
	  ":2: [retention] INBOX_DAYS: 1 day is too short" },
	/* More than the rate limiter holds (it was capped without a word). */
	{ "[database]\nconninfo = dbname=x\n[modem a]\ndevice = /dev/ttyUSB0\n"
	  "rate = 20/min 500000/day\n",
	  ":5: [modem a] rate: '500000/day': at most 100000 a minute, hour or day" },
	/* A conninfo libpq refuses: pigeond retried its connection for ever. */
	{ "[pigeon]\ntimezone = UTC\n[database]\nconninfo = hots=/tmp dbname=x\n",
	  ":4: [database] conninfo: libpq refuses it: invalid connection option \"hots\"" },
	{ "[database]\nconninfo = postgresql://db.example/pigeon?sslmod=require\n",
	  ":2: [database] conninfo: libpq refuses it: invalid URI query parameter: "
	  "\"sslmod\"" },
	/* A sent part purged before its report may come. */
	{ "[database]\nconninfo = dbname=x\n[retention]\noutbox_days = 2\n",
	  ":4: [retention] outbox_days: 2 day(s) is shorter than [pigeon] report_window "
	  "(259200 s)" },
};

START_TEST(test_mistake_named_at_check_and_start)
{
	char *dir = h_tmpdir("confcheck"), *path, *out;

	ck_assert_int_ne(asprintf(&path, "%s/pigeon.conf", dir), -1);
	ck_assert_int_eq(h_write_file(path, mistakes[_i].text), 0);
	for (int check = 1; check >= 0; check--) {
		char *argv[] = { (char *)h_bin("pigeond"), check ? "-n" : "-c",
		    check ? "-c" : path, check ? path : NULL, NULL };
		ck_assert_int_eq(h_exec(&out, argv), 1);
		char want[512];
		snprintf(want, sizeof(want), "%s%s", path, mistakes[_i].line);
		ck_assert_msg(strstr(out, want) != NULL, "%s: got %s", check ? "-n" : "start", out);
		ck_assert_int_eq(h_count_lines(out, "pigeond"), 1);
		free(out);
	}
	free(path);
	free(dir);
}
END_TEST

/* A pigeond copied away from its worker says where it looked. */
START_TEST(test_worker_missing)
{
	char *dir = h_tmpdir("noworker"), *out, *conf, *copy;

	ck_assert_int_ne(asprintf(&conf, "%s/pigeon.conf", dir), -1);
	ck_assert_int_eq(h_write_file(conf, "[database]\nconninfo = dbname=x\n"), 0);
	ck_assert_int_ne(asprintf(&copy, "%s/pigeond", dir), -1);
	ck_assert_int_eq(h_run(&out, "cp '%s' '%s'", h_bin("pigeond"), copy), 0);
	free(out);
	char *argv[] = { copy, "-n", "-c", conf, NULL };
	ck_assert_int_eq(h_exec(&out, argv), 1);
	ck_assert_msg(strstr(out, "/libexec/pigeon/pigeon-modem: No such file or directory") &&
	    strstr(out, "the modem worker"), "%s", out);
	free(out);

	/* Installed beside it as make install does, it is found. */
	ck_assert_int_eq(h_run(&out, "mkdir -p '%s/../libexec/pigeon' && cp '%s' "
	    "'%s/../libexec/pigeon/'", dir, h_bin("pigeon-modem"), dir), 0);
	free(out);
	ck_assert_int_eq(h_exec(&out, argv), 0);
	ck_assert_str_eq(out, "configuration OK\n");
	free(out);
	h_run(&out, "rm -rf '%s/../libexec'", dir);
	free(out);
	free(copy);
	free(conf);
	free(dir);
}
END_TEST

/* -n reads the tokens file's lines as a start does (it checked its mode
 * only: -n said OK, and the start refused the short token). */
START_TEST(test_tokens_file_lines)
{
	char *dir = h_tmpdir("tokenslines"), *out, *conf, *tokens;

	ck_assert_int_ne(asprintf(&conf, "%s/pigeon.conf", dir), -1);
	ck_assert_int_ne(asprintf(&tokens, "%s/tokens", dir), -1);
	ck_assert_int_eq(h_write_file(tokens, "ops read,send shorttoken\n"), 0);
	chmod(tokens, 0600);
	char *text = NULL;
	ck_assert_int_ne(asprintf(&text, "[database]\nconninfo = dbname=x\n"
	    "[http]\ntokens_file = %s\n", tokens), -1);
	ck_assert_int_eq(h_write_file(conf, text), 0);
	chmod(conf, 0600);
	char *argv[] = { (char *)h_bin("pigeond"), "-n", "-c", conf, NULL };
	ck_assert_int_eq(h_exec(&out, argv), 1);
	ck_assert_msg(strstr(out, "token ops is shorter than 32 characters") != NULL,
	    "%s", out);
	free(out);
	/* A name is what a message records as its sender: two names alike
	 * in their first 63 characters were one. */
	ck_assert_int_eq(h_write_file(tokens, "crm-of-the-north-region-0123456789-0123456789-"
	    "0123456789-0123456789 send 0123456789abcdef0123456789abcdef\n"), 0);
	ck_assert_int_eq(h_exec(&out, argv), 1);
	ck_assert_msg(strstr(out, "is longer than 63 characters") != NULL, "%s", out);
	free(out);
	free(text);
	free(tokens);
	free(conf);
	free(dir);
}
END_TEST

/*
 * A pigeon.conf holding a secret may not be readable by others: a
 * password in the conninfo in either form, and the keys that sign
 * webhooks and callbacks, count (only the word "password" in the
 * conninfo did: a URI's user:secret@ passed at mode 644, and so did
 * webhook_secret and dlr_secret). A conninfo without one does not.
 */
static const struct {
	const char *text;
	const char *secret;	/* what the refusal names; NULL: none */
} secrets[] = {
	{ "[database]\nconninfo = postgresql://pigeon:s3cret@db.example/pigeon\n",
	  "a password in [database] conninfo" },
	{ "[database]\nconninfo = postgres://db.example/pigeon?user=pigeon&password=s3cret\n",
	  "a password in [database] conninfo" },
	{ "[database]\nconninfo = host=db.example dbname=pigeon password=s3cret\n",
	  "a password in [database] conninfo" },
	{ "[database]\nconninfo = dbname=x\n[http]\nwebhooks = http://127.0.0.1:9/\n"
	  "webhook_secret = 0123456789abcdef\n", "[http] webhook_secret" },
	{ "[database]\nconninfo = dbname=x\n[http]\ndlr_secret = 0123456789abcdef\n",
	  "[http] dlr_secret" },
	{ "[database]\nconninfo = dbname=x\n[smpp carrier]\nhost = 127.0.0.1\n"
	  "port = 2775\nsystem_id = a\npassword = b\n", "[smpp carrier] password" },
	/* The word alone is no password (it was taken for one). */
	{ "[database]\nconninfo = postgresql://password@db.example/pigeon\n", NULL },
	{ "[database]\nconninfo = host=/run/postgresql dbname=password\n", NULL },
};

START_TEST(test_secret_readable)
{
	char *dir = h_tmpdir("secret"), *path = h_strf("%s/pigeon.conf", dir), *out;
	char *argv[] = { (char *)h_bin("pigeond"), "-n", "-c", path, NULL };

	ck_assert_int_eq(h_write_file(path, secrets[_i].text), 0);
	chmod(path, 0644);
	if (secrets[_i].secret) {
		ck_assert_int_eq(h_exec(&out, argv), 1);
		char *want = h_strf("%s: holds a secret (%s) and others can read it (mode 0644)",
		    path, secrets[_i].secret);
		ck_assert_msg(strstr(out, want) != NULL, "want %s, got %s", want, out);
		free(want);
		free(out);
	}
	chmod(path, 0640);
	ck_assert_int_eq(h_exec(&out, argv), 0);
	ck_assert_str_eq(out, "configuration OK\n");
	free(out);
	if (secrets[_i].secret == NULL) {
		chmod(path, 0644);
		ck_assert_int_eq(h_exec(&out, argv), 0);
		ck_assert_str_eq(out, "configuration OK\n");
		free(out);
	}
	free(path);
	free(dir);
}
END_TEST

/*
 * A bind's password_file whose first line is empty is refused, as an
 * empty token_file or pin_file is: the bind tried an empty password.
 */
START_TEST(test_empty_password_file)
{
	char *dir = h_tmpdir("smppsecret"), *conf = h_strf("%s/pigeon.conf", dir);
	char *secret = h_strf("%s/smpp.secret", dir), *out;
	char *text = h_strf("[database]\nconninfo = dbname=x\n[smpp carrier]\n"
	    "host = 127.0.0.1\nport = 2775\nsystem_id = pigeon\npassword_file = %s\n", secret);
	char *argv[] = { (char *)h_bin("pigeond"), "-n", "-c", conf, NULL };

	ck_assert_int_eq(h_write_file(conf, text), 0);
	chmod(conf, 0600);
	const char *empty[] = { "", "\n", "\nsecret\n" };
	for (size_t i = 0; i < sizeof(empty) / sizeof(empty[0]); i++) {
		ck_assert_int_eq(h_write_file(secret, empty[i]), 0);
		chmod(secret, 0600);
		ck_assert_int_eq(h_exec(&out, argv), 1);
		char *want = h_strf("%s:7: [smpp carrier] password_file: %s: its first line "
		    "is empty", conf, secret);
		ck_assert_msg(strstr(out, want) != NULL, "want %s, got %s", want, out);
		free(want);
		free(out);
	}
	ck_assert_int_eq(h_write_file(secret, "s3cret\n"), 0);
	ck_assert_int_eq(h_exec(&out, argv), 0);
	ck_assert_str_eq(out, "configuration OK\n");
	free(out);
	free(text);
	free(secret);
	free(conf);
	free(dir);
}
END_TEST

/*
 * The [smpp NAME] examples of the guides, pasted into a pigeon.conf, pass
 * pigeond -n: docs/carrier.md's had a "# comment" after each value, which
 * pigeond refuses. Each indented block that begins with "[smpp ", its
 * /etc/pigeon/ files made in the test's folder.
 */
START_TEST(test_docs_smpp_examples)
{
	static const char *const guides[] = { "docs/carrier.md", "docs/operator.md" };
	char *dir = h_tmpdir("docsmpp"), *conf = h_strf("%s/pigeon.conf", dir), *out;
	char *argv[] = { (char *)h_bin("pigeond"), "-n", "-c", conf, NULL };
	int blocks = 0;

	for (size_t g = 0; g < sizeof(guides) / sizeof(guides[0]); g++) {
		char *text = h_read_file(guides[g]);
		ck_assert_msg(text != NULL, "%s", guides[g]);
		for (char *b = strstr(text, "\n    [smpp "); b; b = strstr(b, "\n    [smpp ")) {
			char *pasted = h_strf("[database]\nconninfo = dbname=x\n"), *next;
			/* The block: its lines indented by four spaces, unindented. */
			for (b++; strncmp(b, "    ", 4) == 0; b = next) {
				size_t n = strcspn(b, "\n");
				next = b[n] ? b + n + 1 : b + n;
				char *line = h_strf("%.*s", (int)n - 4, b + 4), *etc;
				if ((etc = strstr(line, "/etc/pigeon/")) != NULL) {
					char *file = h_strf("%s/%s", dir, etc + strlen("/etc/pigeon/"));
					ck_assert_int_eq(h_write_file(file, "s3cret\n"), 0);
					chmod(file, 0600);
					*etc = '\0';
					char *t = h_strf("%s%s", line, file);
					free(line);
					free(file);
					line = t;
				}
				char *t = h_strf("%s%s\n", pasted, line);
				free(pasted);
				free(line);
				pasted = t;
			}
			ck_assert_int_eq(h_write_file(conf, pasted), 0);
			chmod(conf, 0600);
			int rc = h_exec(&out, argv);
			ck_assert_msg(rc == 0 && strcmp(out, "configuration OK\n") == 0,
			    "%s's example:\n%s\n%s", guides[g], pasted, out);
			free(out);
			free(pasted);
			blocks++;
		}
		free(text);
	}
	ck_assert_int_eq(blocks, 2);
	free(conf);
	free(dir);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("confcheck");
	TCase *tc = tcase_create("confcheck");
	tcase_add_loop_test(tc, test_mistake_named_at_check_and_start, 0,
	    sizeof(mistakes) / sizeof(mistakes[0]));
	tcase_add_test(tc, test_worker_missing);
	tcase_add_test(tc, test_tokens_file_lines);
	tcase_add_loop_test(tc, test_secret_readable, 0, sizeof(secrets) / sizeof(secrets[0]));
	tcase_add_test(tc, test_empty_password_file);
	tcase_add_test(tc, test_docs_smpp_examples);
	suite_add_tcase(s, tc);
	return h_main(s);
}

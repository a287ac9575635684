/*
 * Issue 14, item 11: SMS text that attacks its readers. A post (as a UCS-2
 * SMS can carry) holds ESC sequences that retitle and clear a terminal,
 * C1 controls, a bidi override and the non-characters U+FFFE, U+FFFF and
 * U+FDD0. pigeonctl shows each control as a visible escape, never raw; the
 * member's Atom feed stays well-formed XML (checked with xmllint).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "harness.h"

#define TOKEN	"hostile-output-token-0123456789abcdef"
/* ESC ] 0 ; title BEL, ESC [ 2 J, U+0085, U+009B, U+202E, U+FFFE, U+FFFF, U+FDD0, U+0001 */
#define EVIL	"pwn\x1b]0;owned\x07\x1b[2J\xc2\x85\xc2\x9b\xe2\x80\xae" "evil" \
		"\xef\xbf\xbe\xef\xbf\xbf\xef\xb7\x90\x01 end"

static struct h_gateway g;

static int
healthy(void *unused)
{
	return h_http(g.http_port, "GET", "/healthz", NULL, NULL, NULL) == 200;
}

static void
setup(void)
{
	const char *params[] = { EVIL };

	memset(&g, 0, sizeof(g));
	g.http_extra = "token = " TOKEN "\n";
	h_gateway_start(&g, "hostile_output", 0);
	ck_assert_int_eq(h_wait_for(healthy, NULL, 60000), 0);
	PQclear(PQexecParams(g.db, "INSERT INTO accounts (phone, handle, name, bio, lang) "
	    "VALUES ('+212661000001', 'alice', $1, $1, 'en')", 1, NULL, params, NULL, NULL, 0));
	PQclear(PQexecParams(g.db, "INSERT INTO posts (account_id, text) SELECT id, $1 "
	    "FROM accounts WHERE handle = 'alice'", 1, NULL, params, NULL, NULL, 0));
	h_outbox_add(&g, "+212661000002", EVIL, 1);
}

static void
teardown(void)
{
	h_gateway_stop(&g);
}

/* No byte a terminal acts on, and no C1 or bidi control, in out. */
static void
assert_terminal_safe(const char *out)
{
	for (const unsigned char *p = (const unsigned char *)out; *p; p++)
		ck_assert_msg(*p >= 0x20 || *p == '\n', "raw control 0x%02x in: %s", *p, out);
	ck_assert_ptr_null(strstr(out, "\xc2\x85"));
	ck_assert_ptr_null(strstr(out, "\xc2\x9b"));
	ck_assert_ptr_null(strstr(out, "\xe2\x80\xae"));
}

START_TEST(test_pigeonctl_escapes)
{
	char *out = NULL;

	ck_assert_int_eq(h_run(&out, "%s -c '%s' users alice 2>&1", h_bin("pigeonctl"),
	    g.config), 0);
	assert_terminal_safe(out);
	/* Shown, not acted on: the operator sees what was sent. */
	ck_assert_msg(strstr(out, "pwn\\x1b]0;owned\\x07\\x1b[2J\\u0085\\u009b\\u202eevil") != NULL,
	    "%s", out);
	free(out);
	ck_assert_int_eq(h_run(&out, "%s -c '%s' messages 2>&1", h_bin("pigeonctl"),
	    g.config), 0);
	assert_terminal_safe(out);
	ck_assert_ptr_nonnull(strstr(out, "pwn\\x1b]0;owned"));
	free(out);
}
END_TEST

START_TEST(test_atom_feed_well_formed)
{
	char *body = NULL, *dir = h_tmpdir("hostile-output-feed"), *path = NULL, *out = NULL;

	ck_assert_int_eq(h_http_get(g.http_port, "/users/alice.atom", &body), 200);
	ck_assert_int_ge(asprintf(&path, "%s/alice.atom", dir), 0);
	ck_assert_int_eq(h_write_file(path, body), 0);
	int rc = h_run(&out, "xmllint --noout '%s' 2>&1", path);
	ck_assert_msg(rc == 0, "xmllint: %s", out);
	/* The readable part of the post is kept; the right-to-left override
	 * is not (a feed has no markup to contain it). */
	ck_assert_ptr_nonnull(strstr(body, "pwn]0;owned[2Jevil end"));
	free(out);
	free(path);
	free(dir);
	free(body);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("hostile_output");
	TCase *tc = tcase_create("hostile_output");

	tcase_set_timeout(tc, 120);
	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_pigeonctl_escapes);
	tcase_add_test(tc, test_atom_feed_well_formed);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return h_main(suite());
}

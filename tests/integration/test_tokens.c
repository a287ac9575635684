/*
 * Named API tokens with scopes (issue 16): a read token cannot send (403),
 * a send token cannot manage modems, the [http] token stays an admin one,
 * logs name tokens and never show them, and SIGHUP revokes a token taken
 * out of tokens_file. A tokens file pigeond refuses refuses the whole
 * reload: pigeonctl reload exits 1 saying why, and nothing of the file is
 * applied (it was "pigeond reloaded", exit 0, with the file's modem
 * changes applied and the token meant to be revoked still working).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <check.h>

#include "harness.h"

#define ADMIN	"admin-token-0123456789abcdef0123456789"
#define READER	"reader-token-0123456789abcdef012345678"
#define SENDER	"sender-token-0123456789abcdef012345678"
#define WAIT_MS	60000

static struct h_gateway g;
static char *tokens_path;
static char http_extra[512];

static void
write_tokens(const char *text)
{
	ck_assert_int_eq(h_write_file(tokens_path, text), 0);
	ck_assert_int_eq(chmod(tokens_path, 0600), 0);
}

static void
setup(void)
{
	char *dir = h_tmpdir("tokens");
	ck_assert_int_ge(asprintf(&tokens_path, "%s/tokens", dir), 0);
	free(dir);
	write_tokens("# name scopes token\n"
	    "dashboard read " READER "\n"
	    "shop send,read " SENDER "\n");
	memset(&g, 0, sizeof(g));
	snprintf(http_extra, sizeof(http_extra), "token = " ADMIN "\ntokens_file = %s\n",
	    tokens_path);
	g.http_extra = http_extra;
	h_gateway_start(&g, "tokens", 1);
}

static void
teardown(void)
{
	h_gateway_stop(&g);
	free(tokens_path);
}

static int
code(const char *method, const char *path, const char *token, const char *body)
{
	return h_http(g.http_port, method, path, token, body, NULL);
}

#define SEND_BODY "{\"to\":\"+212661000201\",\"text\":\"scoped\"}"

START_TEST(test_scopes)
{
	char *resp = NULL;

	/* read: looks, cannot send nor act on modems. */
	ck_assert_int_eq(code("GET", "/api/modems", READER, NULL), 200);
	ck_assert_int_eq(code("GET", "/metrics", READER, NULL), 200);
	ck_assert_int_eq(h_http(g.http_port, "POST", "/api/messages", READER, SEND_BODY,
	    &resp), 403);
	ck_assert_ptr_nonnull(strstr(resp, "token dashboard has no send scope"));
	free(resp);
	ck_assert_int_eq(code("POST", "/api/modems/sim0/disable", READER, "{}"), 403);
	/* send: sends; cannot act on modems. */
	ck_assert_int_eq(code("POST", "/api/messages", SENDER, SEND_BODY), 202);
	ck_assert_int_eq(code("POST", "/api/modems/sim0/drain", SENDER, "{}"), 403);
	/* The [http] token is admin: everything. */
	ck_assert_int_eq(code("GET", "/api/modems", ADMIN, NULL), 200);
	ck_assert_int_eq(code("POST", "/api/modems/sim0/enable", ADMIN, "{}"), 200);
	/* Unknown tokens are 401, not 403. */
	ck_assert_int_eq(code("GET", "/api/modems", "reader-token-0123456789abcdef01234567X",
	    NULL), 401);

	/* pigeonctl tokens lists names and scopes, never a token. */
	char *ctl_out = NULL;
	char *cmd = NULL;
	ck_assert_int_ge(asprintf(&cmd, "%s -a 127.0.0.1:%d -t %s tokens", h_bin("pigeonctl"),
	    g.http_port, ADMIN), 0);
	ck_assert_int_eq(h_run(&ctl_out, "%s", cmd), 0);
	ck_assert_ptr_nonnull(strstr(ctl_out, "dashboard  read"));
	ck_assert_ptr_nonnull(strstr(ctl_out, "shop       read,send"));
	ck_assert_ptr_null(strstr(ctl_out, READER));
	free(ctl_out);
	free(cmd);
	ck_assert_int_eq(code("GET", "/api/tokens", SENDER, NULL), 403);

	/* Logs name the tokens and never show one. */
	char *path = NULL;
	ck_assert_int_ge(asprintf(&path, "%s/pigeond.log", g.dir), 0);
	char *log = h_read_file(path);
	ck_assert_ptr_nonnull(strstr(log, "token dashboard"));
	ck_assert_ptr_nonnull(strstr(log, "token shop"));
	ck_assert_ptr_null(strstr(log, READER));
	ck_assert_ptr_null(strstr(log, SENDER));
	ck_assert_ptr_null(strstr(log, ADMIN));
	free(log);
	free(path);
}
END_TEST

static int
shop_revoked(void *unused)
{
	return code("GET", "/api/modems", SENDER, NULL) == 401;
}

START_TEST(test_revoke_on_sighup)
{
	ck_assert_int_eq(code("GET", "/api/modems", SENDER, NULL), 200);
	write_tokens("dashboard read " READER "\n");
	h_gateway_reload(&g);
	ck_assert_int_eq(h_wait_for(shop_revoked, NULL, WAIT_MS), 0);
	ck_assert_int_eq(code("GET", "/api/modems", READER, NULL), 200);
	ck_assert_int_eq(code("GET", "/api/modems", ADMIN, NULL), 200);
	/* A bad file at reload keeps the tokens in force. */
	write_tokens("dashboard read short\n");
	h_gateway_reload(&g);
	char *path = NULL;
	ck_assert_int_ge(asprintf(&path, "%s/pigeond.log", g.dir), 0);
	ck_assert_int_eq(h_wait_file_contains(path, "is shorter than 32 characters; "
	    "keeping the running configuration", WAIT_MS), 0);
	free(path);
	ck_assert_int_eq(code("GET", "/api/modems", READER, NULL), 200);
}
END_TEST

/* The state of modem sim0 as GET /api/modems says it (malloc'd). */
static char *
sim0_state(void)
{
	char *resp = NULL;
	ck_assert_int_eq(h_http(g.http_port, "GET", "/api/modems", ADMIN, NULL, &resp), 200);
	json_t *j = json_loads(resp, 0, NULL), *m;
	size_t i;
	char *state = NULL;
	ck_assert_ptr_nonnull(j);
	json_array_foreach(json_object_get(j, "modems"), i, m)
		if (strcmp(json_string_value(json_object_get(m, "name")), "sim0") == 0)
			state = strdup(json_string_value(json_object_get(m, "state")));
	json_decref(j);
	free(resp);
	ck_assert_ptr_nonnull(state);
	return state;
}

/* What the operator did: took `shop` out, added a line whose token is too
 * short, and drained sim0 in the same edit. */
START_TEST(test_refused_tokens_file)
{
	char *out = NULL, *resp = NULL, *st;

	ck_assert_int_eq(code("GET", "/api/modems", SENDER, NULL), 200);
	st = sim0_state();
	ck_assert_str_eq(st, "online");
	free(st);
	write_tokens("dashboard read " READER "\n"
	    "ci read tooshort\n");
	g.modem_extra[0] = "drain = yes\n";
	h_gateway_reload(&g);	/* writes the config, and a SIGHUP */
	ck_assert_int_eq(h_run(&out, "%s -a 127.0.0.1:%d -t %s reload 2>&1",
	    h_bin("pigeonctl"), g.http_port, ADMIN), 1);
	ck_assert_msg(strstr(out, "token ci is shorter than 32 characters") &&
	    strstr(out, "running configuration is kept"), "%s", out);
	ck_assert_ptr_null(strstr(out, "pigeond reloaded"));
	free(out);
	ck_assert_int_eq(h_http(g.http_port, "POST", "/api/reload", ADMIN, NULL, &resp), 400);
	ck_assert_msg(strstr(resp, "shorter than 32 characters"), "%s", resp);
	free(resp);
	/* The reload ran inside the request: what it applied shows at once.
	 * Nothing was: sim0 is not draining, and the tokens are the old ones. */
	st = sim0_state();
	ck_assert_str_eq(st, "online");
	free(st);
	ck_assert_int_eq(code("GET", "/api/modems", SENDER, NULL), 200);
	ck_assert_int_eq(code("GET", "/api/modems", READER, NULL), 200);

	/* The file put right, the same reload goes through whole. */
	write_tokens("dashboard read " READER "\n");
	ck_assert_int_eq(h_run(&out, "%s -a 127.0.0.1:%d -t %s reload 2>&1",
	    h_bin("pigeonctl"), g.http_port, ADMIN), 0);
	ck_assert_ptr_nonnull(strstr(out, "pigeond reloaded"));
	free(out);
	ck_assert_int_eq(code("GET", "/api/modems", SENDER, NULL), 401);
	st = sim0_state();
	ck_assert_str_eq(st, "draining");
	free(st);

	/* As setup left it, for the next test. */
	write_tokens("dashboard read " READER "\n"
	    "shop send,read " SENDER "\n");
	g.modem_extra[0] = NULL;
	h_gateway_reload(&g);
	ck_assert_int_eq(h_http(g.http_port, "POST", "/api/reload", ADMIN, NULL, NULL), 200);
	ck_assert_int_eq(code("GET", "/api/modems", SENDER, NULL), 200);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("tokens");
	TCase *tc = tcase_create("tokens");

	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_scopes);
	tcase_add_test(tc, test_refused_tokens_file);
	tcase_add_test(tc, test_revoke_on_sighup);
	suite_add_tcase(s, tc);
	return h_main(s);
}

/*
 * Issue 15: migrations only go forward, so a pigeond older than the
 * database's schema (a host not yet upgraded in a rolling upgrade) must
 * not start: it would put its older functions over the newer ones. It
 * says so in one line and exits with status 78, leaving the functions as
 * they were. And the settings each start writes, which the functions
 * read once a transaction, are read anew once written.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <check.h>

#include "harness.h"

#define FUNCTION_XMIN	"SELECT xmin::text FROM pg_proc WHERE proname = 'pigeon_catalog_load'"

/* Starts g's pigeond with its log emptied; it must exit 78 and say want. */
static void
assert_refuses(struct h_gateway *g, const char *log, const char *want)
{
	h_write_file(log, "");
	h_pigeond_start(g);
	int st;
	ck_assert_msg(h_wait_exit(g->pigeond, 30000, &st) == 0, "pigeond kept running");
	g->pigeond = 0;
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 78, "exit status %d", st);
	char *text = h_read_file(log);
	ck_assert_msg(strstr(text, want) != NULL, "%s", text);
	ck_assert_int_eq(h_count_lines(text, "refusing to start"), 1);
	free(text);
}

START_TEST(test_older_binary_refuses_newer_schema)
{
	struct h_gateway g;
	char *log, *before, *after;

	memset(&g, 0, sizeof(g));
	h_gateway_start(&g, "upgrade", 1);
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) > 0 FROM pigeon_schema", NULL, "t",
	    30000), 0);
	int status = h_stop(g.pigeond, SIGTERM, H_STOP_MS);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	/* A newer pigeond applied one more migration. */
	long latest = h_db_long(g.db, "SELECT max(version) FROM pigeon_schema", 0, NULL);
	char next[24];	/* any long */
	snprintf(next, sizeof(next), "%ld", latest + 1);
	const char *params[] = { next };
	PQclear(PQexecParams(g.db, "INSERT INTO pigeon_schema (version, name) "
	    "VALUES ($1::int, 'from_the_future')", 1, NULL, params, NULL, NULL, 0));
	before = h_db_value(g.db, FUNCTION_XMIN, 0, NULL);
	ck_assert_ptr_nonnull(before);

	log = NULL;
	ck_assert_int_ne(asprintf(&log, "%s/pigeond.log", g.dir), -1);
	char want[160];
	snprintf(want, sizeof(want), "database schema is version %ld, newer than this "
	    "pigeond", latest + 1);
	assert_refuses(&g, log, want);
	/* Its functions were not put over the newer ones. */
	after = h_db_value(g.db, FUNCTION_XMIN, 0, NULL);
	ck_assert_str_eq(before, after);
	free(before);
	free(after);

	/* Once the schema is one it knows, it starts again. */
	PQclear(PQexecParams(g.db, "DELETE FROM pigeon_schema WHERE version = $1::int",
	    1, NULL, params, NULL, NULL, 0));
	h_pigeond_start(&g);
	ck_assert_int_eq(h_wait_file_contains(log, "this host holds its lock", 30000), 0);
	free(log);
	h_gateway_stop(&g);
}
END_TEST

/*
 * The same schema, newer functions (a newer pigeond's db/functions/, most
 * of whose changes come without a migration): an older pigeond refuses
 * the same way. It put its older functions back over them at each start
 * or reconnection, and the newer hosts ran those.
 */
START_TEST(test_older_binary_refuses_newer_functions)
{
	struct h_gateway g;
	char *log, *before, *after;

	memset(&g, 0, sizeof(g));
	h_gateway_start(&g, "upgrade_functions", 1);
	int status = h_stop(g.pigeond, SIGTERM, H_STOP_MS);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	long mine = h_db_long(g.db, "SELECT pigeon_functions_serial()", 0, NULL);
	ck_assert_int_ge(mine, 1);
	/* A newer pigeond's release. */
	char next[24];
	snprintf(next, sizeof(next), "%ld", mine + 1);
	const char *params[] = { next };
	h_db_exec(g.db, "DO $$ BEGIN EXECUTE format('CREATE OR REPLACE FUNCTION "
	    "pigeon_functions_serial() RETURNS integer LANGUAGE sql IMMUTABLE AS "
	    "%L', ' SELECT ' || ((SELECT pigeon_functions_serial()) + 1) || ' '); END $$");
	ck_assert_int_eq(h_db_long(g.db, "SELECT (pigeon_functions_serial() = $1::int)::int", 1,
	    params), 1);
	before = h_db_value(g.db, FUNCTION_XMIN, 0, NULL);
	ck_assert_ptr_nonnull(before);

	ck_assert_int_ne(asprintf(&log, "%s/pigeond.log", g.dir), -1);
	char want[160];
	snprintf(want, sizeof(want), "database functions are release %ld, newer than "
	    "this pigeond's", mine + 1);
	assert_refuses(&g, log, want);
	after = h_db_value(g.db, FUNCTION_XMIN, 0, NULL);
	ck_assert_str_eq(before, after);
	free(before);
	free(after);

	/* Its own release again (or an older one): it starts and installs. */
	h_db_exec(g.db, "DROP FUNCTION pigeon_functions_serial()");
	h_pigeond_start(&g);
	ck_assert_int_eq(h_wait_file_contains(log, "this host holds its lock", 30000), 0);
	ck_assert_int_eq(h_db_long(g.db, "SELECT pigeon_functions_serial()", 0, NULL), mine);
	free(log);
	h_gateway_stop(&g);
}
END_TEST

/*
 * The settings are read once a transaction (db/functions/35_updates.sql:
 * the first read keeps the value for the rest of it). pigeond writes them
 * at each start and reconnection (pigeon_settings_load): what a
 * transaction read before they changed in it is read anew, and the next
 * transaction reads what the last one wrote.
 */
START_TEST(test_settings_read_anew)
{
	struct h_gateway g;

	memset(&g, 0, sizeof(g));
	g.extra_config = "post_max = 150\n";
	h_gateway_start(&g, "upgrade_settings", 1);
	h_wait_modem(&g, "sim0", "online", 30000);
	ck_assert_int_eq(h_db_long(g.db, "SELECT pigeon_setting_int('post_max')", 0,
	    NULL), 150);
	/* Read, written again with 77, read: both in one transaction, which
	 * says what it read in its error and rolls back. */
	PGresult *r = PQexec(g.db, "DO $$ DECLARE a integer; t text; b integer; "
	    "BEGIN a := pigeon_setting_int('post_max'); t := pigeon_setting('timezone'); "
	    "PERFORM pigeon_settings_load((SELECT jsonb_object_agg(key, CASE key "
	    "WHEN 'post_max' THEN '77' WHEN 'timezone' THEN 'UTC' ELSE value END) "
	    "FROM settings)); "
	    "b := pigeon_setting_int('post_max'); "
	    "RAISE EXCEPTION 'read % and %, then % and %', a, t, b, "
	    "pigeon_setting('timezone'); END $$");
	ck_assert_msg(strstr(PQresultErrorMessage(r),
	    "read 150 and Africa/Casablanca, then 77 and UTC") != NULL,
	    "%s", PQresultErrorMessage(r));
	PQclear(r);
	/* A change written by one transaction, read by the next. */
	h_db_exec(g.db, "UPDATE settings SET value = '78' WHERE key = 'post_max'");
	ck_assert_int_eq(h_db_long(g.db, "SELECT pigeon_setting_int('post_max')", 0,
	    NULL), 78);
	h_gateway_stop(&g);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("upgrade");
	TCase *tc = tcase_create("upgrade");
	tcase_add_test(tc, test_older_binary_refuses_newer_schema);
	tcase_add_test(tc, test_older_binary_refuses_newer_functions);
	tcase_add_test(tc, test_settings_read_anew);
	suite_add_tcase(s, tc);
	return h_main(s);
}

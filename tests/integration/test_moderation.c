/*
 * Moderation (issue 16): a post removed everywhere (search, feed, API,
 * its queued copies cancelled, webhooks told), an account suspended (what
 * it texts is not applied, it gets the notice once and nothing else) and
 * restored, a member's data exported and erased; through pigeonctl and
 * the API, admin scope only.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <check.h>
#include <jansson.h>

#include "harness.h"

#define TOKEN	"moderation-token-0123456789abcdef012345"
#define READER	"moderation-reader-0123456789abcdef01234"
#define WAIT_MS	60000

#define ZINEB	"+212661000401"
#define OMAR	"+212661000402"

static struct h_gateway g;
static char http_extra[512];

static void
setup(void)
{
	char *file = h_secret_file("moderation", "tokens", "dash read " READER "\n");

	memset(&g, 0, sizeof(g));
	snprintf(http_extra, sizeof(http_extra), "token = " TOKEN "\ntokens_file = %s\n",
	    file);
	g.http_extra = http_extra;
	h_gateway_start(&g, "moderation", 1);
	free(file);
}

static void
teardown(void)
{
	h_gateway_stop(&g);
}

#define ctl(out, args)	h_pigeonctl(&g, (out), (args))

static void
join(const char *phone, const char *handle)
{
	char text[64];
	snprintf(text, sizeof(text), "JOIN %s", handle);
	ck_assert_int_eq(h_text(&g, 0, phone, text), 0);
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM accounts WHERE handle = $1",
	    handle, "1", WAIT_MS), 0);
}

START_TEST(test_remove_post)
{
	char *out = NULL, path[64];

	join(ZINEB, "zineb");
	join(OMAR, "omar");
	ck_assert_int_eq(h_text(&g, 0, OMAR, "FOLLOW zineb"), 0);
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM follows", NULL, "1",
	    WAIT_MS), 0);
	ck_assert_int_eq(h_gateway_settle(&g, WAIT_MS), 0);
	/* Omar's modem is off: the copy stays queued. */
	ck_assert_int_eq(h_http(g.http_port, "POST", "/api/modems/sim0/disable", TOKEN,
	    "{}", NULL), 200);
	h_wait_modem(&g, "sim0", "disabled", WAIT_MS);
	ck_assert_int_eq(ctl(&out, "post zineb 'flamingos over the lagoon'"), 0);
	long id = atol(out);
	free(out);
	ck_assert_int_gt(id, 0);
	char ids[24];
	snprintf(ids, sizeof(ids), "%ld", id);
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM outbox WHERE post_id = $1",
	    ids, "1", WAIT_MS), 0);
	ck_assert_int_eq(h_http(g.http_port, "GET", "/api/search?q=flamingos", NULL, NULL,
	    &out), 200);
	ck_assert_ptr_nonnull(strstr(out, "lagoon"));
	free(out);

	/* A read token may not; the admin may. */
	snprintf(path, sizeof(path), "/api/posts/%ld", id);
	ck_assert_int_eq(h_http(g.http_port, "DELETE", path, READER, NULL, NULL), 403);
	snprintf(path, sizeof(path), "remove-post %ld", id);
	ck_assert_int_eq(ctl(&out, path), 0);
	ck_assert_ptr_nonnull(strstr(out, "1 queued copies cancelled"));
	free(out);
	/* Gone from search, the user's posts and the feed; copy cancelled. */
	ck_assert_int_eq(h_http(g.http_port, "GET", "/api/search?q=flamingos", NULL, NULL,
	    &out), 200);
	ck_assert_ptr_null(strstr(out, "lagoon"));
	free(out);
	ck_assert_int_eq(h_http(g.http_port, "GET", "/api/users/zineb/posts", NULL, NULL,
	    &out), 200);
	ck_assert_ptr_null(strstr(out, "lagoon"));
	free(out);
	ck_assert_int_eq(h_http(g.http_port, "GET", "/users/zineb.atom", NULL, NULL,
	    &out), 200);
	ck_assert_ptr_null(strstr(out, "lagoon"));
	free(out);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM outbox WHERE post_id = $1 "
	    "AND state = 'cancelled'", 1, (const char *[]){ ids }), 1);
	ck_assert_int_eq(h_http(g.http_port, "POST", "/api/modems/sim0/enable", TOKEN,
	    "{}", NULL), 200);
	ck_assert_int_eq(h_gateway_settle(&g, WAIT_MS), 0);
	ck_assert_int_eq(h_received_matching(&g, OMAR, "lagoon"), 0);
	ck_assert_int_eq(h_http(g.http_port, "DELETE", "/api/posts/99999999", TOKEN, NULL,
	    NULL), 404);
}
END_TEST

/*
 * A post removed while a chunk of its fan-out is being made. The chunk's
 * transaction holds the post's row of fanouts, and each copy it inserts
 * checks the post's key (a key-share lock on the post); the removal locks
 * the post, then waits for the fanouts row. With the post locked FOR
 * UPDATE, the chunk's copy waited for the removal and the removal for the
 * chunk: one of them died of a deadlock, and the operator's removal
 * failed in the middle of a large fan-out. Here connection a plays the
 * chunk; pigeond's own steps must not take the row first, so the row is
 * taken NOWAIT and the round tried again with a new post if they did.
 */
START_TEST(test_remove_post_during_chunk)
{
	PGconn *a = h_db_connect(g.conninfo), *b = h_db_connect(g.conninfo);
	PGresult *res;
	char *post = NULL, bpid[16];
	const char *params[1];
	long waiting = 0;

	ck_assert_int_eq(h_db_long(g.db, "INSERT INTO accounts (phone, handle, lang) "
	    "VALUES ('+212661000409', 'chunked', 'en') RETURNING 1", 0, NULL), 1);
	for (int round = 0; round < 5 && post == NULL; round++) {
		post = h_db_value(g.db, "WITH p AS (INSERT INTO posts (account_id, text) "
		    "SELECT id, 'removed mid fan-out' FROM accounts WHERE handle = 'chunked' "
		    "RETURNING id, account_id), f AS (INSERT INTO fanouts (post_id, "
		    "account_id, author, cap, after) SELECT id, account_id, 'chunked', 1, 0 "
		    "FROM p) SELECT id FROM p", 0, NULL);
		ck_assert(post != NULL);
		params[0] = post;
		res = PQexec(a, "BEGIN");
		PQclear(res);
		res = PQexecParams(a, "SELECT 1 FROM fanouts WHERE post_id = $1::bigint "
		    "FOR UPDATE NOWAIT", 1, NULL, params, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
			PQclear(res);
			res = PQexec(a, "ROLLBACK");
			free(post);
			post = NULL;
		}
		PQclear(res);
	}
	ck_assert_msg(post != NULL, "pigeond took the fan-out's row in every round");
	snprintf(bpid, sizeof(bpid), "%d", PQbackendPID(b));
	/* The removal, until it waits for the chunk. */
	ck_assert(PQsendQueryParams(b, "SELECT pigeon_mod_post_remove($1::bigint)->>"
	    "'copies_cancelled'", 1, NULL, params, NULL, NULL, 0) == 1);
	for (long t0 = h_now_ms(); h_now_ms() - t0 < WAIT_MS && waiting == 0; ) {
		const char *pp[] = { bpid };
		waiting = h_db_long(g.db, "SELECT count(*) FROM pg_stat_activity WHERE "
		    "pid = $1::integer AND wait_event_type = 'Lock'", 1, pp);
		if (waiting == 0)
			h_sleep_ms(10);
	}
	ck_assert_int_eq(waiting, 1);
	/* The chunk's copy (not due for an hour: pigeond must not send it)
	 * and its commit. */
	res = PQexecParams(a, "INSERT INTO outbox (recipient, text, class, post_id, "
	    "next_attempt_at) VALUES ('+212661000410', '@chunked: removed mid fan-out', "
	    "2, $1::bigint, now() + interval '1 hour')", 1, NULL, params, NULL, NULL, 0);
	ck_assert_msg(PQresultStatus(res) == PGRES_COMMAND_OK, "the chunk's copy: %s",
	    PQresultErrorMessage(res));
	PQclear(res);
	res = PQexec(a, "COMMIT");
	ck_assert_int_eq(PQresultStatus(res), PGRES_COMMAND_OK);
	PQclear(res);
	res = PQgetResult(b);
	ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK, "the removal: %s",
	    PQresultErrorMessage(res));
	ck_assert_str_eq(PQgetvalue(res, 0, 0), "1");	/* the chunk's copy */
	PQclear(res);
	while ((res = PQgetResult(b)) != NULL)
		PQclear(res);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM outbox WHERE post_id = "
	    "$1::bigint AND state = 'cancelled'", 1, params), 1);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM posts WHERE id = $1::bigint "
	    "AND deleted_at IS NOT NULL", 1, params), 1);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM fanouts WHERE post_id = "
	    "$1::bigint", 1, params), 0);
	free(post);
	PQfinish(a);
	PQfinish(b);
}
END_TEST

START_TEST(test_suspend_restore)
{
	char *out = NULL;
	int before = h_received_count(&g, ZINEB);	/* JOIN's welcome */

	ck_assert_int_eq(ctl(&out, "post omar 'pelicans at noon'"), 0);
	free(out);
	ck_assert_int_eq(ctl(&out, "post zineb 'pelicans at dawn'"), 0);
	free(out);
	ck_assert_int_eq(h_http(g.http_port, "GET", "/api/search?q=pelicans", NULL, NULL,
	    &out), 200);
	ck_assert_ptr_nonnull(strstr(out, "pelicans at dawn"));
	free(out);
	ck_assert_int_eq(ctl(&out, "suspend @zineb"), 0);
	ck_assert_ptr_nonnull(strstr(out, "@zineb suspended"));
	free(out);
	ck_assert_int_eq(h_wait_received(&g, ZINEB, "suspend", WAIT_MS), 0);
	/* Twice is once: no second notice. */
	ck_assert_int_eq(ctl(&out, "suspend zineb"), 0);
	free(out);
	/* What it texts is kept and not applied; it is sent nothing. */
	ck_assert_int_eq(h_text(&g, 0, ZINEB, "this should not be posted"), 0);
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM inbox_messages WHERE "
	    "sender = $1 AND state = 'ignored' AND result = 'account suspended'", ZINEB,
	    "1", WAIT_MS), 0);
	ck_assert_int_eq(h_http(g.http_port, "POST", "/api/messages", TOKEN,
	    "{\"to\":\"" ZINEB "\",\"text\":\"operator hello\"}", NULL), 202);
	ck_assert_int_eq(h_text(&g, 0, OMAR, "@zineb are you there"), 0);
	ck_assert_int_eq(h_gateway_settle(&g, WAIT_MS), 0);
	ck_assert_int_eq(h_received_count(&g, ZINEB), before + 1);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM posts WHERE text LIKE "
	    "'this should not%'", 0, NULL), 0);
	/* Its profile, posts and feed are not shown meanwhile, on the pages
	 * or through the API (they were, while the directory left it out). */
	ck_assert_int_eq(h_http(g.http_port, "GET", "/users/zineb", NULL, NULL, NULL), 404);
	ck_assert_int_eq(h_http(g.http_port, "GET", "/api/users/zineb", NULL, NULL, NULL),
	    404);
	ck_assert_int_eq(h_http(g.http_port, "GET", "/api/users/zineb/posts", NULL, NULL,
	    NULL), 404);
	ck_assert_int_eq(h_http(g.http_port, "GET", "/api/search?q=pelicans", NULL, NULL,
	    &out), 200);
	ck_assert_ptr_null(strstr(out, "pelicans at dawn"));
	free(out);
	/* Nor by SMS: GET showed its latest post, WHOIS its bio. */
	ck_assert_int_eq(h_text(&g, 0, OMAR, "GET zineb"), 0);
	ck_assert_int_eq(h_wait_received(&g, OMAR, "There is nobody called @zineb", WAIT_MS),
	    0);
	/* And it posts nothing, even with an operator's token. */
	ck_assert_int_eq(h_http(g.http_port, "POST", "/api/posts", TOKEN,
	    "{\"user\":\"zineb\",\"text\":\"pelicans again\"}", NULL), 409);
	/* A page of the search (/search, /tags) is cut after the suspended
	 * post is left out: a page of one holds the older post (it came out
	 * empty). */
	char *page = h_db_value(g.db, "SELECT string_agg(e->>'text', '|') FROM "
	    "jsonb_array_elements(pigeon_web_search('pelicans', NULL, 1)->'posts') e", 0,
	    NULL);
	ck_assert_str_eq(page, "pelicans at noon");
	free(page);

	/* Restored: it is served again. */
	ck_assert_int_eq(ctl(&out, "restore zineb"), 0);
	ck_assert_ptr_nonnull(strstr(out, "@zineb restored"));
	free(out);
	ck_assert_int_eq(h_http(g.http_port, "GET", "/users/zineb", NULL, NULL, NULL), 200);
	ck_assert_int_eq(h_http(g.http_port, "GET", "/api/users/zineb", NULL, NULL, NULL),
	    200);
	ck_assert_int_eq(h_http(g.http_port, "POST", "/api/messages", TOKEN,
	    "{\"to\":\"" ZINEB "\",\"text\":\"welcome back\"}", NULL), 202);
	ck_assert_int_eq(h_wait_received(&g, ZINEB, "welcome back", WAIT_MS), 0);
	ck_assert_int_eq(ctl(&out, "suspend nobody"), 1);
	free(out);

	/* STOP while suspended is honoured (STOP before every rule): once
	 * restored, the member is not sent SMS again. It was ignored with the
	 * rest of what a suspended phone texts. */
	ck_assert_int_eq(ctl(&out, "suspend zineb"), 0);
	free(out);
	ck_assert_int_eq(h_text(&g, 0, ZINEB, "STOP"), 0);
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM optouts WHERE phone = $1",
	    ZINEB, "1", WAIT_MS), 0);
	ck_assert_int_eq(ctl(&out, "restore zineb"), 0);
	free(out);
	ck_assert_int_ne(h_http(g.http_port, "POST", "/api/messages", TOKEN,
	    "{\"to\":\"" ZINEB "\",\"text\":\"after the stop\"}", NULL), 202);
}
END_TEST

/*
 * A copy being sent when its post is removed, or a message being sent
 * when its recipient is suspended, is not cancelled then (it is no
 * longer queued); if it comes back to the queue (throttled, failed for a
 * while, released, its lease gone), it is cancelled when it comes up
 * again, not sent. Before, it went out later all the same. Rolled back:
 * pigeond never sees these rows.
 */
START_TEST(test_in_flight_when_removed)
{
	h_db_exec(g.db, "BEGIN");
	char *post = h_db_value(g.db, "WITH a AS (INSERT INTO accounts (phone, handle, lang) "
	    "VALUES ('+212661000431', 'inflight', 'en') RETURNING id) "
	    "INSERT INTO posts (account_id, text) SELECT id, 'soon removed' FROM a "
	    "RETURNING id", 0, NULL);
	ck_assert_ptr_nonnull(post);
	const char *pp[] = { post };
	h_db_exec(g.db, "INSERT INTO accounts (phone, handle, lang) VALUES "
	    "('+212661000432', 'suspendedlater', 'en')");
	free(h_db_value(g.db, "INSERT INTO outbox (id, recipient, text, class, post_id, "
	    "state, attempts, host, lease_until, claim) VALUES "
	    "(910000041, '+212661000433', '@inflight: soon removed', 2, $1::bigint, "
	    "'sending', 1, 'probe', now() + interval '1 minute', 1), "
	    "(910000042, '+212661000432', 'to be suspended', 1, NULL, "
	    "'sending', 1, 'probe', now() + interval '1 minute', 1) RETURNING 1", 1, pp));
	free(h_db_value(g.db, "SELECT pigeon_mod_post_remove($1::bigint)", 1, pp));
	free(h_db_value(g.db, "SELECT pigeon_mod_suspend('suspendedlater')", 0, NULL));
	/* Both were in flight: nothing to cancel then. Back to the queue. */
	h_db_exec(g.db, "SELECT pigeon_outbox_release(910000041), "
	    "pigeon_outbox_release(910000042)");
	/* A copy that a fan-out chunk committed after an erasure deleted its
	 * recipient's rows (the chunk read the follows first): no member has
	 * that phone any more. It was sent. */
	char *kept = h_db_value(g.db, "SELECT pigeon_post((SELECT id FROM accounts WHERE "
	    "handle = 'inflight'), 'still here', NULL)", 0, NULL);
	const char *kp[] = { kept };
	free(h_db_value(g.db, "INSERT INTO outbox (id, recipient, text, class, post_id) "
	    "VALUES (910000043, '+212661000434', '@inflight: still here', 2, $1::bigint) "
	    "RETURNING 1", 1, kp));
	free(kept);
	/* A copy blanked by an erasure while it was being sent (its post
	 * gone with the author: nothing else tells): it sent "(erased)". */
	free(h_db_value(g.db, "INSERT INTO outbox (id, recipient, text, class, state, "
	    "attempts, host, lease_until, claim) VALUES (910000044, '+212661000431', "
	    "'(erased)', 2, 'sending', 1, 'probe', now() + interval '1 minute', 1) "
	    "RETURNING 1", 0, NULL));
	h_db_exec(g.db, "SELECT pigeon_outbox_release(910000044)");
	free(h_db_value(g.db, "SELECT count(*) FROM pigeon_outbox_claim('probe', 500, 60)",
	    0, NULL));
	char *st = h_db_value(g.db, "SELECT string_agg(state || ': ' || "
	    "coalesce(last_error, ''), ' | ' ORDER BY id) FROM outbox "
	    "WHERE id IN (910000041, 910000042, 910000043, 910000044)", 0, NULL);
	h_db_exec(g.db, "ROLLBACK");
	ck_assert_str_eq(st, "cancelled: its post was removed | cancelled: account suspended"
	    " | cancelled: recipient no longer a member | cancelled: its sender's data was "
	    "erased");
	free(st);
	free(post);
}
END_TEST

/*
 * The webhooks: a post removed while its delivery was in flight, whose
 * lease then ran out (pigeond killed before the answer was recorded),
 * went out again with its text; a suspended author's posts waiting for
 * (or retrying) a delivery went to the mirrors while every page hid
 * them. Only the post.deleted events go now. Rolled back: pigeond never
 * sees these rows.
 */
START_TEST(test_webhooks_after_removal)
{
	h_db_exec(g.db, "BEGIN");
	h_db_exec(g.db, "INSERT INTO webhook_targets (url, kind) VALUES "
	    "('http://127.0.0.1:9/mirror', 'webhook')");
	char *post = h_db_value(g.db, "WITH a AS (INSERT INTO accounts (phone, handle, lang) "
	    "VALUES ('+212661000441', 'regrets', 'en') RETURNING id) "
	    "INSERT INTO posts (account_id, text) SELECT id, 'my regretted secret' FROM a "
	    "RETURNING id", 0, NULL);
	ck_assert_ptr_nonnull(post);
	const char *pp[] = { post };
	free(h_db_value(g.db, "WITH a AS (INSERT INTO accounts (phone, handle, lang) "
	    "VALUES ('+212661000442', 'spammer', 'en') RETURNING id) "
	    "INSERT INTO posts (account_id, text) SELECT id, 'spam buy now' FROM a "
	    "RETURNING id", 0, NULL));
	/* The first in flight, its lease over; removed meanwhile. */
	h_db_exec(g.db, "UPDATE webhook_deliveries SET state = 'sending', attempts = 1, "
	    "host = 'probe', lease_until = now() - interval '1 minute' "
	    "WHERE url = 'http://127.0.0.1:9/mirror' AND event = 'post' "
	    "AND post_id = (SELECT max(id) FROM posts WHERE text = 'my regretted secret')");
	free(h_db_value(g.db, "SELECT pigeon_mod_post_remove($1::bigint)", 1, pp));
	free(h_db_value(g.db, "SELECT pigeon_mod_suspend('spammer')", 0, NULL));
	char *sent = h_db_value(g.db, "SELECT string_agg(event || ' ' || "
	    "coalesce(body->'post'->>'text', '-'), ' | ' ORDER BY id) FROM "
	    "pigeon_webhook_claim_urls('probe', 10, 60, ARRAY['http://127.0.0.1:9/mirror'])",
	    0, NULL);
	h_db_exec(g.db, "ROLLBACK");
	ck_assert_str_eq(sent, "post.deleted -");
	free(sent);
	free(post);
}
END_TEST

/*
 * An author suspended during its post's fan-out: the rest of the
 * fan-out is not made, and the copies queued are cancelled (a spammer's
 * blast, suspended halfway, went on to every follower). Rolled back:
 * pigeond never sees these rows.
 */
START_TEST(test_suspend_stops_fanout)
{
	h_db_exec(g.db, "BEGIN");
	char *post = h_db_value(g.db, "WITH a AS (INSERT INTO accounts (phone, handle, lang) "
	    "VALUES ('+212661000441', 'blaster', 'en') RETURNING id), "
	    "f AS (INSERT INTO accounts (phone, handle, lang) SELECT '+2126610005' || "
	    "lpad(i::text, 2, '0'), 'fan' || i, 'en' FROM generate_series(1, 6) i "
	    "RETURNING id), fo AS (INSERT INTO follows (followee, follower) "
	    "SELECT a.id, f.id FROM a, f RETURNING 1), "
	    "p AS (INSERT INTO posts (account_id, text) SELECT id, 'buy now' FROM a "
	    "RETURNING id, account_id), x AS (INSERT INTO fanouts (post_id, account_id, "
	    "author, cap, after) SELECT id, account_id, 'blaster', 1, 0 FROM p) "
	    "SELECT id FROM p", 0, NULL);
	ck_assert_ptr_nonnull(post);
	const char *pp[] = { post };
	/* Its first chunk's copies: queued, due in an hour (not pigeond's). */
	free(h_db_value(g.db, "INSERT INTO outbox (recipient, text, class, post_id, "
	    "next_attempt_at) VALUES ('+212661000501', '@blaster: buy now', 2, $1::bigint, "
	    "now() + interval '1 hour'), ('+212661000502', '@blaster: buy now', 2, "
	    "$1::bigint, now() + interval '1 hour') RETURNING 1", 1, pp));
	/* A third copy is being sent when the author is suspended. */
	free(h_db_value(g.db, "INSERT INTO outbox (id, recipient, text, class, post_id, "
	    "state, attempts, host, lease_until, claim) VALUES (910000051, '+212661000503', "
	    "'@blaster: buy now', 2, $1::bigint, 'sending', 1, 'probe', "
	    "now() + interval '1 minute', 1) RETURNING 1", 1, pp));
	char *res = h_db_value(g.db, "SELECT pigeon_mod_suspend('blaster')->>"
	    "'copies_cancelled'", 0, NULL);
	/* A fan-out row made after all (another host's chunk): a step ends
	 * it without copies. */
	free(h_db_value(g.db, "INSERT INTO fanouts (post_id, account_id, author, cap, after) "
	    "SELECT id, account_id, 'blaster', 1, 0 FROM posts WHERE id = $1::bigint "
	    "RETURNING 1", 1, pp));
	for (int i = 0; i < 5; i++)
		free(h_db_value(g.db, "SELECT pigeon_fanout_step()", 0, NULL));
	/* The copy in flight comes back to the queue: cancelled when it
	 * comes up. */
	h_db_exec(g.db, "SELECT pigeon_outbox_release(910000051)");
	free(h_db_value(g.db, "SELECT count(*) FROM pigeon_outbox_claim('probe', 500, 60)",
	    0, NULL));
	long left = h_db_long(g.db, "SELECT count(*) FROM fanouts WHERE post_id = $1::bigint",
	    1, pp);
	char *states = h_db_value(g.db, "SELECT string_agg(state || ' ' || "
	    "coalesce(last_error, ''), ',' ORDER BY id) FROM outbox "
	    "WHERE post_id = $1::bigint", 1, pp);
	h_db_exec(g.db, "ROLLBACK");
	ck_assert_str_eq(res, "2");
	ck_assert_int_eq(left, 0);
	ck_assert_str_eq(states, "cancelled its author was suspended,"
	    "cancelled its author was suspended,cancelled its author was suspended");
	free(res);
	free(states);
	free(post);
}
END_TEST

/*
 * A suspended follower's copy of a post is born cancelled and says why,
 * the others' queued: a post's copies are judged as they are made
 * (pigeon_post_copies), not by the trigger that judges every other row
 * queued. Rolled back: pigeond never sees these rows.
 */
START_TEST(test_suspended_follower_copy)
{
	h_db_exec(g.db, "BEGIN");
	char *post = h_db_value(g.db, "WITH a AS (INSERT INTO accounts (phone, handle, lang) "
	    "VALUES ('+212661000451', 'caster', 'en') RETURNING id), "
	    "f AS (INSERT INTO accounts (phone, handle, lang, suspended_at) "
	    "SELECT '+2126610006' || lpad(i::text, 2, '0'), 'listener' || i, 'en', "
	    "CASE WHEN i = 2 THEN now() END FROM generate_series(1, 3) i RETURNING id), "
	    "fo AS (INSERT INTO follows (followee, follower) SELECT a.id, f.id FROM a, f "
	    "RETURNING 1) SELECT id FROM a", 0, NULL);
	ck_assert_ptr_nonnull(post);
	const char *pp[] = { post };
	free(h_db_value(g.db, "SELECT pigeon_post($1::bigint, 'tea at five', NULL)", 1, pp));
	char *states = h_db_value(g.db, "SELECT string_agg(recipient || ' ' || state || "
	    "coalesce(' ' || last_error, ''), ',' ORDER BY recipient) FROM outbox o "
	    "JOIN posts p ON p.id = o.post_id WHERE p.account_id = $1::bigint", 1, pp);
	h_db_exec(g.db, "ROLLBACK");
	ck_assert_str_eq(states, "+212661000601 queued,"
	    "+212661000602 cancelled account suspended,+212661000603 queued");
	free(states);
	free(post);
}
END_TEST

START_TEST(test_export_erase)
{
	char *out = NULL;

	ck_assert_int_eq(ctl(&out, "export zineb"), 0);
	json_t *j = json_loads(out, 0, NULL);
	free(out);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "account"),
	    "phone")), ZINEB);
	ck_assert_int_ge(json_array_size(json_object_get(j, "posts")), 1);
	ck_assert_int_ge(json_array_size(json_object_get(j, "inbox")), 2);
	ck_assert_int_ge(json_array_size(json_object_get(j, "outbox")), 2);
	ck_assert_int_eq(json_array_size(json_object_get(j, "followers")), 1);
	json_decref(j);

	/* Erasing is asked for in so many words. */
	ck_assert_int_eq(ctl(&out, "erase zineb"), 2);
	free(out);
	/* A DM of hers still queued (to be sent tomorrow) carries her words. */
	const char *zo[] = { ZINEB, OMAR };
	free(h_db_value(g.db, "INSERT INTO outbox (recipient, text, class, reply_to, "
	    "next_attempt_at) SELECT $2, '@zineb: my secret plan', 0, max(id), "
	    "now() + interval '1 day' FROM inbox_messages WHERE sender = $1 "
	    "RETURNING 1", 2, zo));
	/* Omar's GET reply and digest quoting her, held for his quiet
	 * hours; and a reply that only names her, and a DM from someone
	 * else that quotes her, which go on. */
	char *held = h_db_value(g.db, "WITH dm AS (INSERT INTO inbox_messages (modem, sender, "
	    "sender_kind, text, parts, state) VALUES ('sim0', '+212661000499', 'e164', "
	    "'D omar what @zineb: said', 1, 'done') RETURNING id) "
	    "INSERT INTO outbox (recipient, text, class, reply_to, "
	    "reply_key, next_attempt_at, held_since) VALUES "
	    "($1, '@zineb: a lagoon at dawn', 0, (SELECT max(id) FROM inbox_messages "
	    "WHERE sender = $1), NULL, now() + interval '8 hours', now()), "
	    "($1, 'Digest lagoon, posts: 2. @omar: hi / @zineb : the lagoon', 2, NULL, "
	    "'digest', now() + interval '8 hours', now()), "
	    "($1, 'You now follow @zineb.', 0, NULL, NULL, now() + interval '8 hours', "
	    "now()), "
	    "($1, '@someone: what @zineb: said', 0, (SELECT id FROM dm), NULL, "
	    "now() + interval '8 hours', now()) RETURNING 1",
	    1, zo + 1);
	ck_assert_ptr_nonnull(held);
	free(held);
	ck_assert_int_eq(ctl(&out, "erase zineb --yes"), 0);
	ck_assert_ptr_nonnull(strstr(out, "@zineb erased"));
	free(out);
	char *dm = h_db_value(g.db, "SELECT state || ' ' || text FROM outbox WHERE "
	    "recipient = $1 AND last_error = 'its sender''s data was erased'", 1, zo + 1);
	ck_assert_str_eq(dm ? dm : "(none)", "cancelled (erased)");
	free(dm);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM outbox WHERE recipient = $1 "
	    "AND state = 'cancelled' AND text = '(erased)' AND last_error = "
	    "'it quoted a member whose data was erased'", 1, zo + 1), 2);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM outbox WHERE recipient = $1 "
	    "AND state = 'queued' AND text IN ('You now follow @zineb.', "
	    "'@someone: what @zineb: said')", 1, zo + 1), 2);
	const char *p[] = { ZINEB };
	ck_assert_int_eq(h_db_long(g.db, "SELECT (SELECT count(*) FROM accounts WHERE "
	    "phone = $1) + (SELECT count(*) FROM inbox_messages WHERE sender = $1) + "
	    "(SELECT count(*) FROM inbox_parts WHERE sender_norm = $1) + "
	    "(SELECT count(*) FROM outbox WHERE recipient = $1) + "
	    "(SELECT count(*) FROM outbox WHERE text LIKE '%lagoon%')", 1, p), 0);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM follows", 0, NULL), 0);
	ck_assert_int_eq(h_http(g.http_port, "GET", "/api/users/zineb", NULL, NULL, NULL),
	    404);

	/* DELETE erases whoever it names, a member called "export" or
	 * "restore" too (it once exported or restored them instead). */
	free(h_db_value(g.db, "INSERT INTO accounts (phone, handle, lang) VALUES "
	    "('+212661000991', 'export', 'en'), ('+212661000992', 'restore', 'en') "
	    "RETURNING id", 0, NULL));
	ck_assert_int_eq(h_http(g.http_port, "DELETE", "/api/users/export", TOKEN, NULL,
	    NULL), 200);
	ck_assert_int_eq(h_http(g.http_port, "DELETE", "/api/users/restore", TOKEN, NULL,
	    NULL), 200);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM accounts WHERE handle "
	    "IN ('export', 'restore')", 0, NULL), 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("moderation");
	TCase *tc = tcase_create("moderation");

	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_remove_post);
	tcase_add_test(tc, test_remove_post_during_chunk);
	tcase_add_test(tc, test_suspend_restore);
	tcase_add_test(tc, test_in_flight_when_removed);
	tcase_add_test(tc, test_webhooks_after_removal);
	tcase_add_test(tc, test_suspend_stops_fanout);
	tcase_add_test(tc, test_suspended_follower_copy);
	tcase_add_test(tc, test_export_erase);
	suite_add_tcase(s, tc);
	return h_main(s);
}

/*
 * The send API of issue 16 on a running gateway with two simulated modems
 * that give delivery reports: unknown fields refused by name, several
 * recipients all or nothing, idempotency keys, via, priority, send_at on a
 * clock the test moves, DELETE, GET /api/inbox, and dlr_url callbacks
 * (signed) for a message that is delivered and one that fails.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <check.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <jansson.h>

#include "harness.h"

#define TOKEN	"send-token-0123456789abcdef0123456789"
#define SHOP	"shop-send-token-0123456789abcdef01234"
#define CRM	"crm-send-token-0123456789abcdef012345"
#define DLR_SECRET	"dlr-secret-0123456789"
#define WAIT_MS	60000

static struct h_gateway g;
static int recv_port;
static pid_t recv_pid;
static char *recv_log;
static char http_extra[512];

/*
 * Whether the X-Pigeon-Signature of the request head in buf is the
 * HMAC-SHA256 of "t.body", keyed with the callbacks' secret (not the
 * webhooks': a client holding that could sign posts to the operator's
 * own webhooks).
 */
static int
signed_for_clients(const char *buf, const char *body)
{
	const char *sig = strcasestr(buf, "x-pigeon-signature: t=");
	const char *v1 = sig ? strstr(sig, ",v1=") : NULL;
	char *msg = NULL, hex[65];
	unsigned char mac[32];
	unsigned int maclen = 0;

	if (v1 == NULL || asprintf(&msg, "%.*s.%s", (int)(v1 - sig - 22), sig + 22,
	    body) < 0)
		return 0;
	HMAC(EVP_sha256(), DLR_SECRET, (int)strlen(DLR_SECRET), (unsigned char *)msg,
	    strlen(msg), mac, &maclen);
	free(msg);
	for (unsigned int i = 0; i < maclen && i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", mac[i]);
	return maclen == 32 && strncmp(v1 + 4, hex, 64) == 0;
}

/* The dlr_url receiver: a child appending "SIGNED|BADSIG|UNSIGNED BODY"
 * lines. */
static void
receiver_serve(int lfd)
{
	for (;;) {
		int c = accept(lfd, NULL, NULL);
		char buf[65536];
		if (c == -1)
			continue;
		h_http_read_request(c, buf, sizeof(buf));
		char *end = strstr(buf, "\r\n\r\n");
		if (end && strncmp(buf, "POST /dlr", 9) == 0) {
			FILE *f = fopen(recv_log, "a");
			fprintf(f, "%s %s\n", signed_for_clients(buf, end + 4) ? "SIGNED" :
			    strcasestr(buf, "x-pigeon-signature:") ? "BADSIG" : "UNSIGNED",
			    end + 4);
			fclose(f);
		}
		const char *ok = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
		if (write(c, ok, strlen(ok)) < 0)
			_exit(1);
		close(c);
	}
}

static void
receiver_start(void)
{
	struct sockaddr_in sa = { 0 };
	socklen_t len = sizeof(sa);
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	ck_assert(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(fd, 16) == 0);
	getsockname(fd, (struct sockaddr *)&sa, &len);
	recv_port = ntohs(sa.sin_port);
	recv_pid = fork();
	ck_assert_int_ne(recv_pid, -1);
	if (recv_pid == 0) {
		receiver_serve(fd);
		_exit(0);
	}
	close(fd);
}

static void
setup(void)
{
	char *dir = h_tmpdir("send-api-receiver"), *tokens = NULL;
	ck_assert_int_ge(asprintf(&recv_log, "%s/dlr.log", dir), 0);
	ck_assert_int_ge(asprintf(&tokens, "%s/tokens", dir), 0);
	h_write_file(tokens, "shop send " SHOP "\ncrm send " CRM "\n");
	chmod(tokens, 0600);
	free(dir);
	receiver_start();
	memset(&g, 0, sizeof(g));
	snprintf(http_extra, sizeof(http_extra), "token = " TOKEN "\n"
	    "tokens_file = %s\ndlr_hosts = example.org, 127.0.0.1\n"
	    "max_recipients = 3\nwebhook_secret = hook-secret-0123456789\n"
	    "dlr_secret = " DLR_SECRET "\n", tokens);
	free(tokens);
	g.http_extra = http_extra;
	g.modem_extra[0] = "report = yes\n";
	g.modem_extra[1] = "report = yes\n";
	h_gateway_start(&g, "send_api", 2);
}

static void
teardown(void)
{
	if (recv_pid > 0) {
		kill(recv_pid, SIGKILL);
		waitpid(recv_pid, NULL, 0);
	}
	h_gateway_stop(&g);
	free(recv_log);
}

static int
call(const char *method, const char *path, const char *body, json_t **out)
{
	char *resp = NULL;
	int code = h_http(g.http_port, method, path, TOKEN, body, &resp);
	if (out)
		*out = resp ? json_loads(resp, JSON_DECODE_ANY, NULL) : NULL;
	free(resp);
	return code;
}

/* A 400 whose error names want. */
static void
assert_400(const char *body, const char *want)
{
	json_t *j = NULL;
	int code = call("POST", "/api/messages", body, &j);
	const char *e = json_string_value(json_object_get(j, "error"));
	ck_assert_msg(code == 400 && e && strstr(e, want), "%s: %d %s", body, code,
	    e ? e : "(no error)");
	json_decref(j);
}

static long
outbox_count(void)
{
	return h_db_long(g.db, "SELECT count(*) FROM outbox", 0, NULL);
}

static long long
id_of(json_t *j, size_t i)
{
	return json_integer_value(json_array_get(json_object_get(j, "ids"), i));
}

START_TEST(test_refusals)
{
	long before = outbox_count();

	/* Issue 16's report: "modem" was ignored and sim0 used. */
	assert_400("{\"to\":\"+212661000101\",\"text\":\"x\",\"modem\":\"sim1\"}",
	    "unknown field \"modem\"");
	assert_400("{\"to\":\"+212661000101\",\"text\":\"x\",\"via\":\"sim9\"}",
	    "no link named sim9");
	assert_400("{\"to\":\"+212661000101\",\"text\":\"x\",\"priority\":7}", "priority");
	assert_400("{\"to\":\"+212661000101\",\"text\":\"x\",\"validity\":\"1h\"}", "validity");
	assert_400("{\"to\":\"+212661000101\",\"text\":\"x\",\"flash\":1}", "flash");
	assert_400("{\"to\":\"+212661000101\",\"text\":\"x\",\"send_at\":\"tomorrow\"}",
	    "send_at");
	/* A date that does not exist (taken as 1 December), fields
	 * without their digits, a 60th second. */
	assert_400("{\"to\":\"+212661000101\",\"text\":\"x\",\"send_at\":"
	    "\"2026-11-31T10:00:00Z\"}", "send_at");
	assert_400("{\"to\":\"+212661000101\",\"text\":\"x\",\"send_at\":"
	    "\"2027- 1- 1T 0: 0: 0Z\"}", "send_at");
	assert_400("{\"to\":\"+212661000101\",\"text\":\"x\",\"send_at\":"
	    "\"2027-01-01T10:00:60Z\"}", "send_at");
	assert_400("{\"to\":\"+212661000101\",\"text\":\"x\",\"send_at\":"
	    "\"2027-01-01T10:00:00+1:00\"}", "send_at");
	assert_400("{\"to\":\"+212661000101\",\"text\":\"x\",\"dlr_url\":\"ftp://h/\"}",
	    "dlr_url");
	/* Callbacks go to the hosts the operator named ([http] dlr_hosts),
	 * never to, say, the cloud's metadata address. */
	assert_400("{\"to\":\"+212661000101\",\"text\":\"x\",\"dlr_url\":"
	    "\"http://169.254.169.254/latest\"}", "dlr_hosts");
	assert_400("{\"to\":\"+212661000101\",\"text\":\"x\",\"dlr_url\":"
	    "\"http://127.0.0.10:8080/dlr\"}", "dlr_hosts");
	/* A refusal quoting a field's name cut at 40 bytes, in the middle of
	 * an Arabic-Indic digit: a 400 still (it was a 500). */
	assert_400("{\"to\":\"+212661000101\",\"text\":\"x\",\"a٠٠٠٠٠٠٠٠٠٠٠٠٠٠٠٠٠٠٠٠٠٠٠٠٠\":1}",
	    "unknown field \"a٠");
	/* A Moroccan number is 9 digits after 212: one short, national or
	 * international, was queued as +2126610000 and failed at the network. */
	assert_400("{\"to\":\"06610000\",\"text\":\"x\"}",
	    "\"to\": 06610000 is not a phone number: +212 numbers have 9 digits "
	    "after the country code, this one 7");
	assert_400("{\"to\":\"+21266100000\",\"text\":\"x\"}",
	    "\"to\": +21266100000 is not a phone number: +212 numbers have 9 "
	    "digits after the country code, this one 8");
	assert_400("{\"to\":[\"+212661000101\",\"0661 000 1011\"],\"text\":\"x\"}",
	    "\"to\": 0661 000 1011 is not a phone number");
	/* All or nothing: one bad number, or one too many, and none is queued. */
	assert_400("{\"to\":[\"+212661000101\",\"hello\"],\"text\":\"x\"}", "hello");
	assert_400("{\"to\":[\"+212661000101\",\"+212661000102\",\"+212661000103\","
	    "\"+212661000104\"],\"text\":\"x\"}", "at most 3");
	/* More than 10 parts: 700 Arabic letters (UCS-2, 67 a part) were
	 * taken, then failed; so were 1,000 GSM-7 characters of which 600
	 * are €, two septets each. */
	char body[4400], *p;
	p = body + snprintf(body, sizeof(body), "{\"to\":\"+212661000101\",\"text\":\"");
	for (int i = 0; i < 700; i++)
		p += snprintf(p, 3, "%s", "ب");
	snprintf(p, 4, "\"}");
	assert_400(body, "needs 11 SMS parts; at most 10");
	p = body + snprintf(body, sizeof(body), "{\"to\":\"+212661000101\",\"text\":\"");
	for (int i = 0; i < 400; i++)
		*p++ = 'a';
	for (int i = 0; i < 600; i++)
		p += snprintf(p, 4, "%s", "€");
	snprintf(p, 4, "\"}");
	assert_400(body, "SMS parts; at most 10");
	ck_assert_int_eq(outbox_count(), before);
	/* An id past a bigint is a bad request, not the database's error. */
	ck_assert_int_eq(call("GET", "/api/messages/99999999999999999999", NULL, NULL), 400);
	ck_assert_int_eq(call("DELETE", "/api/messages/99999999999999999999", NULL, NULL),
	    400);
}
END_TEST

START_TEST(test_recipients_and_idempotency)
{
	const char *body = "{\"to\":[\"+212661000111\",\"+212661000112\"],"
	    "\"text\":\"once only\",\"idempotency_key\":\"order-42\"}";
	json_t *a = NULL, *b = NULL;

	ck_assert_int_eq(call("POST", "/api/messages", body, &a), 202);
	ck_assert_int_eq(json_array_size(json_object_get(a, "ids")), 2);
	ck_assert_int_ne(id_of(a, 0), id_of(a, 1));
	/* The client retries (its answer was lost): the same ids, nothing new. */
	ck_assert_int_eq(call("POST", "/api/messages", body, &b), 202);
	ck_assert_int_eq(id_of(b, 0), id_of(a, 0));
	ck_assert_int_eq(id_of(b, 1), id_of(a, 1));
	ck_assert(json_is_true(json_object_get(b, "replayed")));
	json_decref(b);
	/* The same body with its fields in another order is the same
	 * request. */
	ck_assert_int_eq(call("POST", "/api/messages", "{\"idempotency_key\":\"order-42\","
	    "\"text\":\"once only\",\"to\":[\"+212661000111\",\"+212661000112\"]}", &b),
	    202);
	ck_assert(json_is_true(json_object_get(b, "replayed")));
	ck_assert_int_eq(id_of(b, 0), id_of(a, 0));
	/* Another body under the used key is refused: answering the first
	 * one's ids would tell the client its new message was queued. */
	char *resp = NULL;
	ck_assert_int_eq(h_http(g.http_port, "POST", "/api/messages", TOKEN,
	    "{\"to\":\"+212661000113\",\"text\":\"another order\","
	    "\"idempotency_key\":\"order-42\"}", &resp), 422);
	ck_assert_ptr_nonnull(strstr(resp, "idempotency_key was used for another request"));
	free(resp);
	ck_assert_int_eq(h_wait_received(&g, "+212661000111", "once only", WAIT_MS), 0);
	ck_assert_int_eq(h_wait_received(&g, "+212661000112", "once only", WAIT_MS), 0);
	ck_assert_int_eq(h_gateway_settle(&g, WAIT_MS), 0);
	ck_assert_int_eq(h_received_count(&g, "+212661000111"), 1);
	ck_assert_int_eq(h_received_count(&g, "+212661000112"), 1);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM outbox WHERE "
	    "text = 'once only'", 0, NULL), 2);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM outbox WHERE "
	    "text = 'another order'", 0, NULL), 0);
	/* A retry through a pigeond of before, which sends no digest,
	 * replays (rolling upgrade). */
	char *old = h_db_value(g.db, "SELECT pigeon_api_send(ARRAY['+212661000111', "
	    "'+212661000112'], 'once only', '{\"token\": \"admin\", "
	    "\"idempotency_key\": \"order-42\"}')->>'replayed'", 0, NULL);
	ck_assert_str_eq(old, "true");
	free(old);
	json_decref(a);
	json_decref(b);
}
END_TEST

/*
 * A send token's reach: it cancels its own sends, not a member's reply, a
 * fan-out copy or another token's send (404, as if there were none), and
 * its idempotency keys
 * are its own: another client using the same key is another request (it
 * got the first one's ids, and nothing was queued).
 */
START_TEST(test_send_token_reach)
{
	char *resp = NULL, body[256], later[32];
	json_t *a = NULL, *b = NULL;
	time_t t = time(NULL) + 2 * 86400;
	struct tm tm;

	/* Two days ahead: still queued when cancelled. */
	strftime(later, sizeof(later), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
	snprintf(body, sizeof(body), "{\"to\":\"+212661000161\",\"text\":\"order 1001\","
	    "\"idempotency_key\":\"order-1001\",\"send_at\":\"%s\"}", later);

	ck_assert_int_eq(h_http(g.http_port, "POST", "/api/messages", SHOP, body, &resp),
	    202);
	a = json_loads(resp, 0, NULL);
	free(resp);
	ck_assert_int_eq(call("POST", "/api/messages", body, &b), 202);
	ck_assert_ptr_null(json_object_get(b, "replayed"));
	ck_assert_int_ne(id_of(a, 0), id_of(b, 0));
	/* The same token again is a retry. */
	ck_assert_int_eq(h_http(g.http_port, "POST", "/api/messages", SHOP, body, &resp),
	    202);
	json_t *again = json_loads(resp, 0, NULL);
	free(resp);
	ck_assert(json_is_true(json_object_get(again, "replayed")));
	ck_assert_int_eq(id_of(again, 0), id_of(a, 0));
	json_decref(again);

	/* A reply waiting for its retry tomorrow: queued all along. */
	char *reply = h_db_value(g.db, "INSERT INTO outbox (recipient, text, class, "
	    "next_attempt_at) VALUES ('+212661000162', 'a reply', 0, "
	    "now() + interval '1 day') RETURNING id", 0, NULL);
	char path[64];
	snprintf(path, sizeof(path), "/api/messages/%s", reply);
	ck_assert_int_eq(h_http(g.http_port, "DELETE", path, SHOP, NULL, NULL), 404);
	const char *rp[] = { reply };
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM outbox WHERE id = $1 "
	    "AND state = 'queued'", 1, rp), 1);
	/* Nor another client's send, nor the admin's: 404 as well. */
	snprintf(path, sizeof(path), "/api/messages/%lld", id_of(a, 0));
	ck_assert_int_eq(h_http(g.http_port, "DELETE", path, CRM, NULL, NULL), 404);
	snprintf(path, sizeof(path), "/api/messages/%lld", id_of(b, 0));
	ck_assert_int_eq(h_http(g.http_port, "DELETE", path, SHOP, NULL, NULL), 404);
	const char *ap[] = { path + strlen("/api/messages/") };
	/* A pigeond of before on the same database (rolling upgrade) has
	 * no token name to give: its send tokens do not reach a named
	 * token's send either. */
	char *st = h_db_value(g.db, "SELECT pigeon_outbox_cancel_message($1::bigint, false)",
	    1, ap);
	ck_assert_ptr_null(st);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM outbox WHERE id = $1 "
	    "AND state = 'queued'", 1, ap), 1);
	snprintf(path, sizeof(path), "/api/messages/%lld", id_of(a, 0));
	ck_assert_int_eq(h_http(g.http_port, "DELETE", path, SHOP, NULL, NULL), 200);
	/* An admin token cancels any queued message. */
	snprintf(path, sizeof(path), "/api/messages/%s", reply);
	ck_assert_int_eq(call("DELETE", path, NULL, NULL), 200);
	snprintf(path, sizeof(path), "/api/messages/%lld", id_of(b, 0));
	ck_assert_int_eq(call("DELETE", path, NULL, NULL), 200);
	free(reply);
	json_decref(a);
	json_decref(b);
}
END_TEST

START_TEST(test_via)
{
	/* Without via the least recently used link alternates; with it,
	 * every one goes through sim1. */
	for (int i = 0; i < 3; i++) {
		json_t *j = NULL;
		char body[200];
		snprintf(body, sizeof(body), "{\"to\":\"+21266100012%d\",\"text\":\"via\","
		    "\"via\":\"sim1\"}", i);
		ck_assert_int_eq(call("POST", "/api/messages", body, &j), 202);
		h_wait_outbox(&g, (long)id_of(j, 0), "delivered", WAIT_MS);
		char *m = h_outbox_col(&g, (long)id_of(j, 0), "modem");
		ck_assert_str_eq(m, "sim1");
		free(m);
		json_decref(j);
	}
}
END_TEST

static char *
iso_in(int seconds)
{
	static char buf[40];
	time_t t = time(NULL) + seconds;
	struct tm tm;
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
	return buf;
}

START_TEST(test_scheduled_and_cancel)
{
	char body[300], path[64], *v;
	json_t *j = NULL, *k = NULL;

	/* An hour ahead: it waits. */
	snprintf(body, sizeof(body), "{\"to\":\"+212661000131\",\"text\":\"later\","
	    "\"send_at\":\"%s\"}", iso_in(3600));
	ck_assert_int_eq(call("POST", "/api/messages", body, &j), 202);
	long id = (long)id_of(j, 0);
	ck_assert_int_eq(h_gateway_settle(&g, WAIT_MS), 0);
	v = h_outbox_col(&g, id, "state");
	ck_assert_str_eq(v, "queued");
	free(v);
	ck_assert_int_eq(h_received_count(&g, "+212661000131"), 0);
	/* The test's clock reaches send_at: the row's time is moved to now
	 * (an hour passed), its validity with it. */
	char ids[24];
	snprintf(ids, sizeof(ids), "%ld", id);
	const char *p[] = { ids };
	PQclear(PQexecParams(g.db, "UPDATE outbox SET next_attempt_at = now(), "
	    "valid_until = valid_until - interval '1 hour' WHERE id = $1",
	    1, NULL, p, NULL, NULL, 0));
	PQclear(PQexec(g.db, "NOTIFY pigeon_outbox"));
	ck_assert_int_eq(h_wait_received(&g, "+212661000131", "later", WAIT_MS), 0);

	/* Cancelled while scheduled: never sent; not twice; not unknown. */
	snprintf(body, sizeof(body), "{\"to\":\"+212661000132\",\"text\":\"never\","
	    "\"send_at\":\"%s\"}", iso_in(3600));
	ck_assert_int_eq(call("POST", "/api/messages", body, &k), 202);
	snprintf(path, sizeof(path), "/api/messages/%lld", id_of(k, 0));
	ck_assert_int_eq(call("DELETE", path, NULL, NULL), 200);
	v = h_outbox_col(&g, (long)id_of(k, 0), "state");
	ck_assert_str_eq(v, "cancelled");
	free(v);
	ck_assert_int_eq(call("DELETE", path, NULL, NULL), 409);
	ck_assert_int_eq(call("DELETE", "/api/messages/99999999", NULL, NULL), 404);
	/* A sent one cannot be called back. */
	snprintf(path, sizeof(path), "/api/messages/%ld", id);
	ck_assert_int_eq(call("DELETE", path, NULL, NULL), 409);
	json_decref(j);
	json_decref(k);
}
END_TEST

START_TEST(test_priority)
{
	json_t *lo = NULL, *hi = NULL;

	/* Both wait for sim1, disabled; the later one has the higher
	 * priority and leaves first once sim1 is back. */
	ck_assert_int_eq(call("POST", "/api/modems/sim1/disable", "{}", NULL), 200);
	h_wait_modem(&g, "sim1", "disabled", WAIT_MS);
	ck_assert_int_eq(call("POST", "/api/messages", "{\"to\":\"+212661000141\","
	    "\"text\":\"low\",\"via\":\"sim1\"}", &lo), 202);
	ck_assert_int_eq(call("POST", "/api/messages", "{\"to\":\"+212661000142\","
	    "\"text\":\"high\",\"via\":\"sim1\",\"priority\":3}", &hi), 202);
	ck_assert_int_eq(call("POST", "/api/modems/sim1/enable", "{}", NULL), 200);
	h_wait_outbox(&g, (long)id_of(lo, 0), "delivered", WAIT_MS);
	h_wait_outbox(&g, (long)id_of(hi, 0), "delivered", WAIT_MS);
	char ids[2][32];
	snprintf(ids[0], sizeof(ids[0]), "%lld", id_of(hi, 0));
	snprintf(ids[1], sizeof(ids[1]), "%lld", id_of(lo, 0));
	const char *params[] = { ids[0], ids[1] };
	char *v = h_db_value(g.db, "SELECT (SELECT sent_at FROM outbox WHERE id = $1::bigint) < "
	    "(SELECT sent_at FROM outbox WHERE id = $2::bigint)", 2, params);
	ck_assert_str_eq(v, "t");
	free(v);
	json_decref(lo);
	json_decref(hi);
}
END_TEST

/* The states the receiver saw for message id, in order, space separated. */
static char *
dlr_states(long long id)
{
	char *log = h_read_file(recv_log), *line, *save = NULL;
	char *out = calloc(1, 512);
	for (line = log ? strtok_r(log, "\n", &save) : NULL; line;
	    line = strtok_r(NULL, "\n", &save)) {
		json_t *j = json_loads(strchr(line, ' ') + 1, 0, NULL);
		json_t *m = json_object_get(j, "message");
		ck_assert_msg(strncmp(line, "SIGNED ", 7) == 0, "unsigned: %s", line);
		if (json_integer_value(json_object_get(m, "id")) == id) {
			strcat(out, json_string_value(json_object_get(m, "state")));
			strcat(out, " ");
		}
		json_decref(j);
	}
	free(log);
	return out;
}

struct dlr_wait {
	long long id;
	const char *want;
};

static int
dlr_seen(void *arg)
{
	struct dlr_wait *w = arg;
	char *s = dlr_states(w->id);
	int ok = strcmp(s, w->want) == 0;
	free(s);
	return ok;
}

/* Sends text to `to` with the receiver's dlr_url (and body's extra
 * fields, "" or ,"via":...) and waits for the callbacks' states want. */
static void
dlr_send(const char *to, const char *text, const char *extra, const char *want)
{
	char body[400];
	json_t *j = NULL;

	snprintf(body, sizeof(body), "{\"to\":\"%s\",\"text\":\"%s\"%s,"
	    "\"dlr_url\":\"http://127.0.0.1:%d/dlr\"}", to, text, extra, recv_port);
	ck_assert_int_eq(call("POST", "/api/messages", body, &j), 202);
	struct dlr_wait w = { id_of(j, 0), want };
	ck_assert_msg(h_wait_for(dlr_seen, &w, WAIT_MS) == 0, "saw: %s",
	    dlr_states(w.id));
	json_decref(j);
}

/* pigeond's log holds the text arg. */
static int
log_has(void *arg)
{
	char path[1100];
	snprintf(path, sizeof(path), "%s/pigeond.log", g.dir);
	char *log = h_read_file(path);
	int found = log != NULL && strstr(log, arg) != NULL;

	free(log);
	return found;
}

START_TEST(test_dlr_url)
{
	dlr_send("+212661000151", "report me", "", "queued sent delivered ");
	/* A number the network does not know: failed at once on sim0. */
	ck_assert_int_eq(h_sim_fault(&g, 0, "send-error 1"), 0);
	dlr_send("+212661000152", "no one", ",\"via\":\"sim0\"", "queued failed ");
	ck_assert_int_eq(h_sim_fault(&g, 0, "send-error 0"), 0);
	/* With none of its callbacks waiting, the receiver's queue is closed
	 * (every dlr_url ever given kept one, claimed at every event); a
	 * queue is a receiver's, its scheme, host and port. */
	char closed[160];
	snprintf(closed, sizeof(closed), "no callbacks waiting for "
	    "http://127.0.0.1:%d: its queue closed", recv_port);
	ck_assert_msg(h_wait_for(log_has, closed, WAIT_MS) == 0, "%s: not in the log",
	    closed);
	/* And opened again for the next message that names it. */
	dlr_send("+212661000154", "report me too", "", "queued sent delivered ");
	/* The carrier's status is in the delivered callback. */
	char *log = h_read_file(recv_log);
	ck_assert_ptr_nonnull(strstr(log, "\"carrier_status\": [0]"));
	ck_assert_ptr_nonnull(strstr(log, "unassigned number"));
	free(log);

	/* A dlr_url hears of its own messages only: a member's post and its
	 * deletion are for the configured webhooks (none here), never for
	 * every client that once gave a callback. */
	char *post = h_db_value(g.db, "WITH a AS (INSERT INTO accounts (phone, handle, "
	    "lang) VALUES ('+212661000153', 'dlrpost', 'en') RETURNING id) "
	    "SELECT pigeon_post((SELECT id FROM a), 'not for callbacks', NULL)", 0, NULL);
	ck_assert_ptr_nonnull(post);
	const char *pp[] = { post };
	free(h_db_value(g.db, "UPDATE posts SET deleted_at = now() WHERE id = $1 "
	    "RETURNING id", 1, pp));
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM webhook_deliveries "
	    "WHERE post_id = $1", 1, pp), 0);
	free(post);
}
END_TEST

/*
 * The configured webhook URLs, as pigeond sets them at start. A URL taken
 * out: its posts' deliveries still waiting are cancelled (they waited for
 * ever, never tried, and the webhooks' purge stopped at the oldest); a
 * dlr_url's callbacks to it still go out. A URL given as a dlr_url first
 * and configured later gets the posts (it was left a callback target).
 * Rolled back: pigeond never sees these rows.
 */
START_TEST(test_webhook_urls_change)
{
	h_db_exec(g.db, "BEGIN");
	h_db_exec(g.db, "INSERT INTO webhook_targets (url, kind) VALUES ('http://c.example/dlr', 'dlr')");
	h_db_exec(g.db, "SELECT pigeon_webhook_targets(ARRAY['http://a.example/', "
	    "'http://b.example/'])");
	h_db_exec(g.db, "INSERT INTO accounts (phone, handle, lang) VALUES ('+212661000171', "
	    "'hookposter', 'en')");
	h_db_exec(g.db, "SELECT pigeon_post((SELECT id FROM accounts WHERE handle = 'hookposter'), "
	    "'first', NULL)");
	h_db_exec(g.db, "INSERT INTO webhook_deliveries (url, event, outbox_id, msg_state, msg_at) "
	    "SELECT 'http://a.example/', 'message.state', (SELECT min(id) FROM outbox), "
	    "'sent', now()");
	h_db_exec(g.db, "SELECT pigeon_webhook_targets(ARRAY['http://b.example/', "
	    "'http://c.example/dlr'])");
	h_db_exec(g.db, "SELECT pigeon_post((SELECT id FROM accounts WHERE handle = 'hookposter'), "
	    "'second', NULL)");
	char *a = h_db_value(g.db, "SELECT string_agg(event || ':' || state, ' ' ORDER BY id) "
	    "FROM webhook_deliveries WHERE url = 'http://a.example/'", 0, NULL);
	char *c = h_db_value(g.db, "SELECT count(*) FROM webhook_deliveries "
	    "WHERE url = 'http://c.example/dlr' AND event = 'post'", 0, NULL);
	h_db_exec(g.db, "ROLLBACK");
	ck_assert_str_eq(a, "post:cancelled message.state:pending");
	ck_assert_str_eq(c, "1");
	free(a);
	free(c);
}
END_TEST

/*
 * A message's callbacks go in the order of its states: one that failed
 * and waits for its retry holds its message's later ones (a 'queued' that
 * failed once went after 'sent' and 'delivered', and a receiver keeping
 * the latest state ended on 'queued'), not another message's. Rolled
 * back: pigeond never sees these rows.
 */
START_TEST(test_dlr_order)
{
	h_db_exec(g.db, "BEGIN");
	h_db_exec(g.db, "INSERT INTO webhook_targets (url, kind) VALUES "
	    "('http://order.example/dlr', 'dlr')");
	h_db_exec(g.db, "INSERT INTO outbox (recipient, text, class, dlr_url, "
	    "next_attempt_at) VALUES ('+212661000181', 'm1', 1, 'http://order.example/dlr', "
	    "now() + interval '1 day'), ('+212661000182', 'm2', 1, "
	    "'http://order.example/dlr', now() + interval '1 day')");
	h_db_exec(g.db, "INSERT INTO webhook_deliveries (url, receiver, event, outbox_id, "
	    "msg_state, msg_at) SELECT 'http://order.example/dlr', 'http://order.example:80', "
	    "'message.state', o.id, s.st, now() "
	    "FROM outbox o, unnest(ARRAY['queued', 'sent']) WITH ORDINALITY s(st, n) "
	    "WHERE o.text IN ('m1', 'm2') ORDER BY o.id, s.n");
	/* m1's 'queued' is tried, fails, and waits (in this transaction
	 * now() stands still: its retry is a second after it). */
	char *first = h_db_value(g.db, "SELECT c.id || ' ' || d.msg_state FROM "
	    "pigeon_webhook_claim_receiver('h1', 1, 60, 'http://order.example:80') c "
	    "JOIN webhook_deliveries d ON d.id = c.id", 0, NULL);
	ck_assert_ptr_nonnull(first);
	ck_assert_ptr_nonnull(strstr(first, " queued"));
	const char *p[] = { first };
	free(h_db_value(g.db, "SELECT pigeon_webhook_failed(split_part($1, ' ', 1)::bigint, "
	    "'refused', 3600, 86400)", 1, p));
	/* The next claim takes m2's 'queued'; m1's 'sent' waits for its
	 * 'queued', m2's 'sent' for its own, being sent. */
	char next[200] = "";
	for (int i = 0; i < 3; i++) {
		char *c = h_db_value(g.db, "SELECT o.text || ' ' || d.msg_state FROM "
		    "pigeon_webhook_claim_receiver('h1', 1, 60, 'http://order.example:80') c "
		    "JOIN webhook_deliveries d ON d.id = c.id JOIN outbox o ON "
		    "o.id = d.outbox_id", 0, NULL);
		snprintf(next + strlen(next), sizeof(next) - strlen(next), "%s%s",
		    i ? ", " : "", c ? c : "none");
		free(c);
	}
	h_db_exec(g.db, "ROLLBACK");
	ck_assert_str_eq(next, "m2 queued, none, none");
	free(first);
}
END_TEST

/*
 * A message that leaves 'queued' in its own insert: to a suspended
 * member (made cancelled, no update, so no callback came but 'queued'),
 * or over the recipient's daily ceiling (cancelled by the insert's
 * trigger, its callback before 'queued'). Each gets 'queued', then
 * 'cancelled'. Rolled back: pigeond never sees these rows.
 */
START_TEST(test_dlr_born_cancelled)
{
	h_db_exec(g.db, "BEGIN");
	h_db_exec(g.db, "INSERT INTO accounts (phone, handle, lang, suspended_at) VALUES "
	    "('+212661000191', 'suspdlr', 'en', now())");
	/* The states in a statement of their own: one that called the send
	 * would not see the rows it made. */
	char *ida = h_db_value(g.db, "SELECT r->'ids'->>0 FROM pigeon_api_send("
	    "ARRAY['+212661000191'], 'to a suspended one', "
	    "'{\"dlr_url\": \"http://born.example/dlr\"}') r", 0, NULL);
	const char *pa[] = { ida };
	char *a = h_db_value(g.db, "SELECT string_agg(msg_state, ' ' ORDER BY id) "
	    "FROM webhook_deliveries WHERE outbox_id = $1::bigint", 1, pa);
	h_db_exec(g.db, "INSERT INTO settings (key, value) VALUES ('recipient_day', '1') "
	    "ON CONFLICT (key) DO UPDATE SET value = '1'");
	free(h_db_value(g.db, "SELECT pigeon_api_send(ARRAY['+212661000192'], 'first', "
	    "'{}')", 0, NULL));
	char *idb = h_db_value(g.db, "SELECT r->'ids'->>0 FROM pigeon_api_send("
	    "ARRAY['+212661000192'], 'over the ceiling', "
	    "'{\"dlr_url\": \"http://born.example/dlr\"}') r", 0, NULL);
	const char *pb[] = { idb };
	char *b = h_db_value(g.db, "SELECT string_agg(msg_state, ' ' ORDER BY id) "
	    "FROM webhook_deliveries WHERE outbox_id = $1::bigint", 1, pb);
	h_db_exec(g.db, "ROLLBACK");
	ck_assert_str_eq(a ? a : "(none)", "queued cancelled");
	ck_assert_str_eq(b ? b : "(none)", "queued cancelled");
	free(a);
	free(b);
	free(ida);
	free(idb);
}
END_TEST

/*
 * "via" names a link of any host sharing the database: any host's API
 * serves the whole gateway (another host's link was "no link named").
 * Rolled back: pigeond never sees these rows.
 */
START_TEST(test_via_other_host)
{
	h_db_exec(g.db, "BEGIN");
	h_db_exec(g.db, "INSERT INTO modems (name, host, state) VALUES "
	    "('far0', 'otherhost', 'online')");
	char *a = h_db_value(g.db, "SELECT jsonb_array_length(r->'ids') FROM "
	    "pigeon_api_send(ARRAY['+212661000195'], 'via far0', "
	    "'{\"via\": \"far0\"}') r", 0, NULL);
	char *b = h_db_value(g.db, "SELECT r->>'error' FROM pigeon_api_send("
	    "ARRAY['+212661000195'], 'via nowhere', '{\"via\": \"far9\"}') r", 0, NULL);
	h_db_exec(g.db, "ROLLBACK");
	ck_assert_str_eq(a ? a : "(none)", "1");
	ck_assert_str_eq(b ? b : "(none)", "no_link");
	free(a);
	free(b);
}
END_TEST

/* The line of parts.jsonl of modem i for to, as JSON (NULL: none yet). */
static json_t *
sim_part(int i, const char *to)
{
	char *path = NULL, *text, *line, *save = NULL;
	json_t *found = NULL;

	ck_assert_int_ge(asprintf(&path, "%s/parts.jsonl", g.sim_dir[i]), 0);
	text = h_read_file(path);
	for (line = text ? strtok_r(text, "\n", &save) : NULL; line && !found;
	    line = strtok_r(NULL, "\n", &save)) {
		json_t *j = json_loads(line, 0, NULL);
		if (strcmp(json_string_value(json_object_get(j, "to")) ?: "", to) == 0)
			found = j;
		else
			json_decref(j);
	}
	free(text);
	free(path);
	return found;
}

START_TEST(test_flash_and_validity)
{
	json_t *j = NULL;

	/* Flash with an hour's validity: class 0 and TP-VP 11 ((11+1) x 5 min). */
	ck_assert_int_eq(call("POST", "/api/messages", "{\"to\":\"+212661000171\","
	    "\"text\":\"flash\",\"via\":\"sim0\",\"flash\":true,\"validity\":3600}",
	    &j), 202);
	h_wait_outbox(&g, (long)id_of(j, 0), "delivered", WAIT_MS);
	json_decref(j);
	json_t *p = sim_part(0, "+212661000171");
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(json_integer_value(json_object_get(p, "class")), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(p, "vp")), 11);
	json_decref(p);
	/* A plain one has no class. */
	ck_assert_int_eq(call("POST", "/api/messages", "{\"to\":\"+212661000172\","
	    "\"text\":\"plain\",\"via\":\"sim0\"}", &j), 202);
	h_wait_outbox(&g, (long)id_of(j, 0), "delivered", WAIT_MS);
	json_decref(j);
	p = sim_part(0, "+212661000172");
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(json_integer_value(json_object_get(p, "class")), -1);
	json_decref(p);
	/* A message without a validity of its own (a fan-out copy, a reply)
	 * gets the network's default, not 5 minutes (TP-VP 0): a follower
	 * whose phone was off for longer never got the post. */
	long id = h_outbox_add(&g, "+212661000173", "no validity of its own", 2);
	h_wait_outbox(&g, id, "delivered", WAIT_MS);
	p = sim_part(0, "+212661000173");
	if (p == NULL)
		p = sim_part(1, "+212661000173");	/* any modem takes it */
	ck_assert_ptr_nonnull(p);
	/* libgammu then sends the SMSC settings' own (255 here, 63 weeks):
	 * none, or at least a day (TP-VP 167). */
	json_int_t vp = json_integer_value(json_object_get(p, "vp"));
	ck_assert_msg(vp == -1 || vp >= 167, "TP-VP %lld: the SMSC gives up after "
	    "less than a day", (long long)vp);
	json_decref(p);
}
END_TEST

/*
 * A number named twice: ids paired with to, place by place. The second
 * mention was dropped without a gap, so ids[2] was the id of to[3]'s
 * message and to[3] had none. Now one message per number, and a repeat
 * answers its first mention's id (a client pairing to[i] with ids[i]).
 */
START_TEST(test_ids_in_order_of_to)
{
	static const char *to[] = { "+212661000241", "+212661000242", "+212661000241",
	    "+212661000243" };
	json_t *j = NULL;

	ck_assert_int_eq(call("POST", "/api/messages", "{\"to\":[\"0661000241\","
	    "\"0661000242\",\"+212661000241\",\"0661000243\"],\"text\":\"pairs\"}", &j),
	    202);
	ck_assert_int_eq(json_array_size(json_object_get(j, "ids")), 4);
	ck_assert_int_eq(id_of(j, 2), id_of(j, 0));
	ck_assert_int_ne(id_of(j, 1), id_of(j, 0));
	ck_assert_int_ne(id_of(j, 3), id_of(j, 1));
	for (size_t i = 0; i < 4; i++) {
		char *r = h_outbox_col(&g, (long)id_of(j, i), "recipient");
		ck_assert_msg(r && strcmp(r, to[i]) == 0, "ids[%zu] went to %s, not %s", i,
		    r ? r : "nobody", to[i]);
		free(r);
	}
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM outbox WHERE text = 'pairs'",
	    0, NULL), 3);
	json_decref(j);
	/* Three numbers, one of them twice: within max_recipients (3). */
	ck_assert_int_eq(h_wait_received(&g, "+212661000243", "pairs", WAIT_MS), 0);
	ck_assert_int_eq(h_gateway_settle(&g, WAIT_MS), 0);
	ck_assert_int_eq(h_received_matching(&g, "+212661000241", "pairs"), 1);
}
END_TEST

/* The message whose send_at was written as at, then cancelled: its
 * next_attempt_at as Unix seconds. */
static long long
due_of(const char *at)
{
	char body[200], path[64];
	json_t *j = NULL;

	snprintf(body, sizeof(body), "{\"to\":\"+212661000244\",\"text\":\"when\","
	    "\"send_at\":\"%s\"}", at);
	int code = call("POST", "/api/messages", body, &j);
	ck_assert_msg(code == 202, "send_at %s: %d", at, code);
	snprintf(path, sizeof(path), "/api/messages/%lld", id_of(j, 0));
	ck_assert_int_eq(call("DELETE", path, NULL, NULL), 200);
	char id[24];
	snprintf(id, sizeof(id), "%lld", id_of(j, 0));
	const char *p[] = { id };
	json_decref(j);
	return h_db_long(g.db, "SELECT floor(extract(epoch FROM next_attempt_at))::bigint "
	    "FROM outbox WHERE id = $1", 1, p);
}

/*
 * send_at as POST /api/posts takes it, and as JavaScript's toISOString()
 * and Pigeon's own answers write it: milliseconds, an offset without a
 * colon, and a time without a zone (the service's). They were 400 here.
 */
START_TEST(test_send_at_forms)
{
	time_t t = time(NULL) + 2 * 86400, t1 = t + 3600;
	struct tm tm;
	char at[64];

	strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%S.000Z", gmtime_r(&t, &tm));
	ck_assert_int_eq(due_of(at), (long long)t);
	strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%S.5+0100", gmtime_r(&t1, &tm));
	ck_assert_int_eq(due_of(at), (long long)t);
	strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%S.123456+00:00", gmtime_r(&t, &tm));
	ck_assert_int_eq(due_of(at), (long long)t);
	/* No zone: [pigeon] timezone's wall clock. */
	strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%S", gmtime_r(&t, &tm));
	const char *p[] = { at };
	ck_assert_int_eq(due_of(at), h_db_long(g.db, "SELECT extract(epoch FROM "
	    "$1::timestamp AT TIME ZONE pigeon_setting('timezone'))::bigint", 1, p));
	strftime(at, sizeof(at), "%Y-%m-%d %H:%M", gmtime_r(&t, &tm));
	ck_assert_int_eq(due_of(at) % 60, 0);
}
END_TEST

/* The receiver got a callback holding s. */
static int
recv_has(void *s)
{
	char *log = h_read_file(recv_log);
	int found = log && strstr(log, s) != NULL;

	free(log);
	return found;
}

/*
 * A send_at an hour past with a validity of 600 s: valid_until was
 * send_at + 600 s, past already, and the message expired unsent whenever
 * the links were busy a moment. A time past is now, for validity too.
 */
START_TEST(test_past_send_at_validity)
{
	char body[300], id[24];
	json_t *j = NULL;

	snprintf(body, sizeof(body), "{\"to\":\"+212661000245\",\"text\":\"an hour late\","
	    "\"send_at\":\"%s\",\"validity\":600}", iso_in(-3600));
	ck_assert_int_eq(call("POST", "/api/messages", body, &j), 202);
	snprintf(id, sizeof(id), "%lld", id_of(j, 0));
	const char *p[] = { id };
	ck_assert_int_eq(h_db_long(g.db, "SELECT extract(epoch FROM valid_until - now()) "
	    "FROM outbox WHERE id = $1", 1, p) >= 590, 1);
	json_decref(j);
}
END_TEST

/*
 * A message's expiry (last_error, and its callback's status) named
 * [pigeon] validity (86400 s), not the message's own 600 s.
 */
START_TEST(test_expiry_names_own_validity)
{
	char body[300], id[24];
	json_t *j = NULL;
	const char *p[] = { id };

	/* Its 600 s run out (the test moves its clock) before a link took it. */
	snprintf(body, sizeof(body), "{\"to\":\"+212661000246\",\"text\":\"too late\","
	    "\"send_at\":\"%s\",\"validity\":600,\"dlr_url\":\"http://127.0.0.1:%d/dlr\"}",
	    iso_in(86400), recv_port);
	ck_assert_int_eq(call("POST", "/api/messages", body, &j), 202);
	snprintf(id, sizeof(id), "%lld", id_of(j, 0));
	PQclear(PQexecParams(g.db, "UPDATE outbox SET valid_until = now() - "
	    "interval '1 s' WHERE id = $1", 1, NULL, p, NULL, NULL, 0));
	h_wait_outbox(&g, (long)id_of(j, 0), "expired", WAIT_MS);
	char *e = h_outbox_col(&g, (long)id_of(j, 0), "last_error");
	ck_assert_str_eq(e, "not sent within its validity of 600 s");
	free(e);
	ck_assert_int_eq(h_wait_for(recv_has, (char *)"not sent within its validity "
	    "of 600 s", WAIT_MS), 0);
	json_decref(j);
}
END_TEST

START_TEST(test_inbox)
{
	json_t *j = NULL;

	ck_assert_int_eq(h_text(&g, 0, "+212661000161", "hello gateway"), 0);
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM inbox_messages WHERE "
	    "sender = $1 AND state <> 'new'", "+212661000161", "1", WAIT_MS), 0);
	ck_assert_int_eq(call("GET", "/api/inbox?from=%2B212661000161", NULL, &j), 200);
	json_t *list = json_object_get(j, "messages");
	ck_assert_int_eq(json_array_size(list), 1);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 0),
	    "text")), "hello gateway");
	json_decref(j);
	ck_assert_int_eq(call("GET", "/api/inbox?state=new&from=%2B212661000161",
	    NULL, &j), 200);
	ck_assert_int_eq(json_array_size(json_object_get(j, "messages")), 0);
	json_decref(j);
	ck_assert_int_eq(call("GET", "/api/inbox?state=lost", NULL, NULL), 400);
}
END_TEST

/* Issue 16's metrics are there (promtool checks the format in test_api). */
START_TEST(test_metrics)
{
	char *out = NULL;

	ck_assert_int_eq(h_http(g.http_port, "GET", "/metrics", TOKEN, NULL, &out), 200);
	ck_assert_ptr_nonnull(strstr(out, "pigeon_modem_restarts_total{modem=\"sim0\"} 0"));
	ck_assert_ptr_nonnull(strstr(out, "pigeon_queue_oldest_seconds{class=\"operator\"}"));
	ck_assert_ptr_nonnull(strstr(out, "pigeon_callback_queue_depth{kind=\"dlr\"}"));
	ck_assert_ptr_nonnull(strstr(out, "pigeon_callback_queue_depth{kind=\"webhook\"}"));
	ck_assert_ptr_nonnull(strstr(out, "pigeon_build_info{version="));
	free(out);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("send_api");
	TCase *tc = tcase_create("send_api");

	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_refusals);
	tcase_add_test(tc, test_recipients_and_idempotency);
	tcase_add_test(tc, test_send_token_reach);
	tcase_add_test(tc, test_via);
	tcase_add_test(tc, test_scheduled_and_cancel);
	tcase_add_test(tc, test_priority);
	tcase_add_test(tc, test_dlr_url);
	tcase_add_test(tc, test_webhook_urls_change);
	tcase_add_test(tc, test_dlr_order);
	tcase_add_test(tc, test_dlr_born_cancelled);
	tcase_add_test(tc, test_via_other_host);
	tcase_add_test(tc, test_flash_and_validity);
	tcase_add_test(tc, test_ids_in_order_of_to);
	tcase_add_test(tc, test_send_at_forms);
	tcase_add_test(tc, test_past_send_at_validity);
	tcase_add_test(tc, test_expiry_names_own_validity);
	tcase_add_test(tc, test_inbox);
	tcase_add_test(tc, test_metrics);
	suite_add_tcase(s, tc);
	return h_main(s);
}

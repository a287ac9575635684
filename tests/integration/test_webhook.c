/*
 * Outbound webhooks: each new post is POSTed once to a receiver on
 * loopback, including the posts made while the receiver was down; in
 * order, each retry at its time. And a client's dlr_url callbacks, each
 * telling its event (the gateway has one modem, with status reports).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <check.h>
#include <jansson.h>

#include "harness.h"

#define TOKEN	"hook-token-0123456789abcdef0123456789"
#define WAIT_MS	60000

static struct h_gateway g;
static int recv_port;
static pid_t recv_pid;
static char *recv_log;
static char *arrivals;		/* every request: "MS CODE PATH DELIVERY BODY" */
static char *fail_path;		/* how many of the next requests get a 500 */
static char http_extra[256];

static int
listen_on(int port)
{
	struct sockaddr_in sa = { 0 };
	socklen_t len = sizeof(sa);
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_family = AF_INET;
	sa.sin_port = htons(port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 || listen(fd, 16) == -1)
		return -1;
	getsockname(fd, (struct sockaddr *)&sa, &len);
	recv_port = ntohs(sa.sin_port);
	return fd;
}

/* No connection to the receiver open on either side: no line of
 * /proc/net/tcp whose peer is recv_port is established, being opened or
 * waiting for its side's close (01, 02, 08), and none whose own port is
 * recv_port (accepted, or still in the listener's backlog) that the
 * receiver has not closed yet (01, 03, 08): what was sent to it has been
 * read and logged. */
static int
none_to_receiver(void *unused)
{
	FILE *f = fopen("/proc/net/tcp", "r");
	char line[512];
	unsigned lport, rport, st;
	int open = 0;

	(void)unused;
	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, " %*d: %*8[0-9A-F]:%4X %*8[0-9A-F]:%4X %2X", &lport,
		    &rport, &st) == 3 && (((int)rport == recv_port && (st == 0x01 ||
		    st == 0x02 || st == 0x08)) || ((int)lport == recv_port && (st == 0x01 ||
		    st == 0x03 || st == 0x08))))
			open++;
	if (f != NULL)
		fclose(f);
	if (open > 0)
		h_sleep_ms(50);
	return f != NULL && open == 0;
}

/* Whether the receiver answers this request 500: fail_path counts down. */
static int
receiver_fails(void)
{
	char *s = h_read_file(fail_path), n[16];
	int left = s ? atoi(s) : 0;

	free(s);
	if (left > 0) {
		snprintf(n, sizeof(n), "%d", left - 1);
		h_write_file(fail_path, n);
	}
	return left > 0;
}

/*
 * The receiver: one child process appending "DELIVERY-ID BODY" lines to
 * recv_log for the posts it answers 200, and each request to arrivals,
 * with its time (the wall clock, PostgreSQL's, in ms), its answer and its
 * path (/hook, or /dlr for callbacks).
 */
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
		char *id = strcasestr(buf, "x-pigeon-delivery:");
		int fail = end && id && receiver_fails();
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		if (end && id) {
			FILE *f = fopen(arrivals, "a");
			fprintf(f, "%lld %d %s %ld %s\n", (long long)now.tv_sec * 1000 +
			    now.tv_nsec / 1000000, fail ? 500 : 200,
			    strncmp(buf, "POST /dlr", 9) == 0 ? "/dlr" : "/hook",
			    strtol(id + 18, NULL, 10), end + 4);
			fclose(f);
		}
		if (end && id && !fail && strncmp(buf, "POST /hook ", 11) == 0) {
			FILE *f = fopen(recv_log, "a");
			/* 64 bits: after a restore they are past 2^31. */
			long idn = strtol(id + 18, NULL, 10);
			fprintf(f, "%ld %s\n", idn, end + 4);
			fclose(f);
		}
		const char *ok = fail ? "HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n"
		    "Connection: close\r\n\r\n" :
		    "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
		if (write(c, ok, strlen(ok)) < 0)
			_exit(1);
		close(c);
	}
}

/* The receiver's listening socket, from setup to teardown: its port stays
 * this test's while the receiver is away (closed and bound again, it could
 * be another test's by then, and get this pigeond's posts). */
static int recv_fd = -1;
static pid_t refuse_pid;

static void
stop_child(pid_t *pid)
{
	if (*pid > 0) {
		kill(*pid, SIGKILL);
		waitpid(*pid, NULL, 0);
	}
	*pid = 0;
}

static void
receiver_start(void)
{
	stop_child(&refuse_pid);
	if (recv_fd == -1)
		recv_fd = listen_on(0);
	ck_assert_int_ne(recv_fd, -1);
	recv_pid = fork();
	ck_assert_int_ne(recv_pid, -1);
	if (recv_pid == 0) {
		receiver_serve(recv_fd);
		_exit(0);
	}
}

/* The receiver goes away: each connection is reset at once, as a port
 * where nothing listens refuses it. */
static void
receiver_stop(void)
{
	stop_child(&recv_pid);
	refuse_pid = fork();
	ck_assert_int_ne(refuse_pid, -1);
	if (refuse_pid == 0) {
		struct linger reset = { 1, 0 };
		for (;;) {
			int c = accept(recv_fd, NULL, NULL);
			if (c == -1)
				continue;
			setsockopt(c, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
			close(c);
		}
	}
}

static int
healthy(void *unused)
{
	return h_http(g.http_port, "GET", "/healthz", NULL, NULL, NULL) == 200;
}

static int nmodems;

static void
setup(void)
{
	char *dir = h_tmpdir("webhook-receiver");
	ck_assert_int_ge(asprintf(&recv_log, "%s/received.log", dir), 0);
	arrivals = h_strf("%s/arrivals.log", dir);
	fail_path = h_strf("%s/fail", dir);
	free(dir);
	receiver_start();
	memset(&g, 0, sizeof(g));
	snprintf(http_extra, sizeof(http_extra),
	    "token = " TOKEN "\nwebhooks = http://127.0.0.1:%d/hook\n", recv_port);
	g.http_extra = http_extra;
	g.modem_extra[0] = "report = yes\n";
	h_gateway_start(&g, "webhook", nmodems);
	/* Without a modem to wait for, wait for the database to be up. */
	ck_assert_int_eq(h_wait_for(healthy, NULL, 60000), 0);
}

/* The posts' case: no modem. */
static void
setup_posts(void)
{
	nmodems = 0;
	setup();
}

/* The order's case: a modem, with status reports, for callbacks. */
static void
setup_order(void)
{
	nmodems = 1;
	setup();
	h_db_exec(g.db, "INSERT INTO accounts (phone, handle, name, lang) VALUES "
	    "('+212661000001', 'alice', 'Alice', 'en')");
}

static void
teardown(void)
{
	stop_child(&recv_pid);
	stop_child(&refuse_pid);
	if (recv_fd != -1)
		close(recv_fd);
	recv_fd = -1;
	h_gateway_stop(&g);
	free(recv_log);
	free(arrivals);
	free(fail_path);
}

static long
post(const char *text)
{
	char *body = NULL, *resp = NULL;
	ck_assert_int_ge(asprintf(&body, "{\"user\":\"alice\",\"text\":\"%s\"}", text), 0);
	int code = h_http(g.http_port, "POST", "/api/posts", TOKEN, body, &resp);
	ck_assert_msg(code == 201, "POST /api/posts: %d %s", code, resp ? resp : "");
	json_t *j = json_loads(resp, 0, NULL);
	long id = (long)json_integer_value(json_object_get(j, "id"));
	json_decref(j);
	free(body);
	free(resp);
	return id;
}

struct lines_arg {
	int n;
};

static int
received_lines(void *p)
{
	struct lines_arg *a = p;
	char *data = h_read_file(recv_log);
	int n = data ? h_count_lines(data, "\"event\"") : 0;
	free(data);
	return n >= a->n;
}

START_TEST(test_each_post_once)
{
	long ids[5];
	struct lines_arg a = { 3 };

	PQclear(PQexec(g.db, "INSERT INTO accounts (phone, handle, name, lang) VALUES "
	    "('+212661000001', 'alice', 'Alice', 'en')"));
	ids[0] = post("one");
	ids[1] = post("two");
	ids[2] = post("three");
	ck_assert_int_eq(h_wait_for(received_lines, &a, WAIT_MS), 0);

	/* The receiver goes away; the first post made then is tried three
	 * times, the second waits behind it (one at a time, in order). */
	receiver_stop();
	ids[3] = post("four while down");
	ids[4] = post("five while down");
	ck_assert_int_eq(h_wait_db(&g, "SELECT string_agg(least(attempts, 3)::text, ' ' "
	    "ORDER BY id) FROM webhook_deliveries WHERE state = 'pending'", NULL, "3 0",
	    WAIT_MS), 0);

	/* Back (on the same port, which stayed bound): both arrive. */
	receiver_start();
	a.n = 5;
	ck_assert_int_eq(h_wait_for(received_lines, &a, WAIT_MS), 0);
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM webhook_deliveries "
	    "WHERE state = 'done'", NULL, "5", WAIT_MS), 0);
	/* A duplicate could still be on the wire: an attempt begun before
	 * the one that made its delivery done. Each is a connection of its
	 * own, closed after the answer: none left open, none in flight or
	 * waiting for the receiver to read it. Then each post is counted. */
	ck_assert_int_eq(h_wait_for(none_to_receiver, NULL, WAIT_MS), 0);
	char *data = h_read_file(recv_log);
	ck_assert_int_eq(h_count_lines(data, "\"event\""), 5);
	for (int i = 0; i < 5; i++) {
		char needle[64];
		snprintf(needle, sizeof(needle), "\"post\": {\"id\": %ld,", ids[i]);
		/* jsonb prints {"id": 1, ...}: count each post's id once. */
		ck_assert_msg(h_count_lines(data, needle) == 1, "post %ld received %d times:\n%s",
		    ids[i], h_count_lines(data, needle), data);
	}
	ck_assert_ptr_nonnull(strstr(data, "\"user\": \"alice\""));
	ck_assert_ptr_nonnull(strstr(data, "five while down"));
	ck_assert_ptr_null(strstr(data, "+212661000001"));
	/* Its time as the API answers times (UTC, milliseconds): jsonb
	 * wrote 0 to 6 decimals in the session's zone. */
	const char *c = strstr(data, "\"created_at\": \"");
	ck_assert_ptr_nonnull(c);
	char *at = strndup(c + 15, 29);
	ck_assert_msg(h_api_time(at) && c[15 + 29] == '"', "created_at %.40s", c + 15);
	free(at);
	free(data);
}
END_TEST

/* A request the receiver got (arrivals). */
struct arrival {
	long long ms;
	int code;
	long delivery;
	json_t *body;
};

/* The requests the receiver got on path, in order, from the skip-th on
 * (at most max); their bodies are the caller's to decref. */
static int
arrivals_on(const char *path, int skip, struct arrival *a, int max)
{
	char *data = h_read_file(arrivals), *save = NULL, p[8];
	int n = 0, seen = 0;

	for (char *l = data ? strtok_r(data, "\n", &save) : NULL; l && n < max;
	    l = strtok_r(NULL, "\n", &save)) {
		struct arrival x = { 0 };
		int off = 0;
		if (sscanf(l, "%lld %d %7s %ld %n", &x.ms, &x.code, p, &x.delivery,
		    &off) != 4 || strcmp(p, path) != 0 || seen++ < skip)
			continue;
		x.body = json_loads(l + off, 0, NULL);
		a[n++] = x;
	}
	free(data);
	return n;
}

static void
arrivals_free(struct arrival *a, int n)
{
	for (int i = 0; i < n; i++)
		json_decref(a[i].body);
}

static int
hook_arrivals(void)
{
	struct arrival a[256];
	int n = arrivals_on("/hook", 0, a, 256);
	arrivals_free(a, n);
	return n;
}

static int
hook_arrived(void *n)
{
	return hook_arrivals() >= *(int *)n;
}

/*
 * A retry goes at its next_attempt_at: refused twice, a post's third
 * attempt is due 2 s after the second. It came with the 30 s poll, 29 s
 * late: the 1 s rest's wake-up was kept, the retry's lost.
 */
START_TEST(test_retry_on_time)
{
	struct arrival a[8];
	char pid[32];

	h_write_file(fail_path, "2");
	snprintf(pid, sizeof(pid), "%ld", post("retried on time"));
	ck_assert_int_eq(h_wait_db(&g, "SELECT state FROM webhook_deliveries "
	    "WHERE post_id = $1 AND event = 'post'", pid, "done", WAIT_MS), 0);
	const char *p[] = { pid };
	long delivery = h_db_long(g.db, "SELECT id FROM webhook_deliveries "
	    "WHERE post_id = $1 AND event = 'post'", 1, p);
	/* done leaves next_attempt_at as the last retry's time. */
	long due = h_db_long(g.db, "SELECT (extract(epoch FROM next_attempt_at) * 1000)"
	    "::bigint FROM webhook_deliveries WHERE post_id = $1 AND event = 'post'", 1, p);
	int n = arrivals_on("/hook", 0, a, 8), k = 0;
	long long last = 0;
	char codes[64] = "";
	for (int i = 0; i < n; i++)
		if (a[i].delivery == delivery) {
			k += snprintf(codes + k, sizeof(codes) - (size_t)k, "%s%d", k ? " " : "",
			    a[i].code);
			last = a[i].ms;
		}
	arrivals_free(a, n);
	ck_assert_str_eq(codes, "500 500 200");
	/* Before the 30 s poll could have fired: within 15 s of its time. */
	ck_assert_msg(last - due > -1000 && last - due < 15000,
	    "the retry due at %ld came at %lld, %lld ms later", due, last, last - due);
}
END_TEST

/*
 * Posts reach a URL in the order they were made, one at a time: a post
 * refused once (500) went after the next one, made just after; the next
 * one now waits for its retry.
 */
START_TEST(test_order_after_failure)
{
	struct arrival a[8];
	int n0 = hook_arrivals(), want = n0 + 1;
	char order[256] = "";

	h_write_file(fail_path, "1");
	post("first, refused once");
	ck_assert_int_eq(h_wait_for(hook_arrived, &want, WAIT_MS), 0);
	post("second");
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM webhook_deliveries d "
	    "JOIN posts p ON p.id = d.post_id WHERE p.text IN ('first, refused once', "
	    "'second') AND d.state = 'done'", NULL, "2", WAIT_MS), 0);
	int n = arrivals_on("/hook", n0, a, 8);
	for (int i = 0; i < n; i++)
		snprintf(order + strlen(order), sizeof(order) - strlen(order), "%s%s %d",
		    i ? " | " : "", json_string_value(json_object_get(json_object_get(
		    a[i].body, "post"), "text")), a[i].code);
	arrivals_free(a, n);
	ck_assert_str_eq(order, "first, refused once 500 | first, refused once 200 | "
	    "second 200");
}
END_TEST

/*
 * A configured URL's first delivery, waiting for its retry, cancelled
 * (its post deleted): the next goes then, not at that retry's time.
 * pigeond asked nothing of the URL until the retry was due (8 s here,
 * 4 minutes after nine failures).
 */
START_TEST(test_next_after_head_cancelled)
{
	struct arrival a[16];
	int n0 = hook_arrivals(), want = n0 + 4;
	char *resp = NULL, path[64];

	h_write_file(fail_path, "4");
	long first = post("first, refused four times");
	/* Four refusals (1, 2 and 4 s apart): its retry comes 8 s after. */
	ck_assert_int_eq(h_wait_for(hook_arrived, &want, WAIT_MS), 0);
	post("second, behind it");
	snprintf(path, sizeof(path), "/api/posts/%ld", first);
	ck_assert_int_eq(h_http(g.http_port, "DELETE", path, TOKEN, NULL, &resp), 200);
	free(resp);
	char *retry_s = h_db_value(g.db, "SELECT extract(epoch FROM d.next_attempt_at) "
	    "FROM webhook_deliveries d JOIN posts p ON p.id = d.post_id "
	    "WHERE p.text = 'first, refused four times' AND d.event = 'post'", 0, NULL);
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM webhook_deliveries d "
	    "JOIN posts p ON p.id = d.post_id WHERE p.text = 'second, behind it' "
	    "AND d.state = 'done'", NULL, "1", WAIT_MS), 0);
	int n = arrivals_on("/hook", n0, a, 16);
	long long second_ms = 0;
	for (int i = 0; i < n; i++)
		if (strcmp(json_string_value(json_object_get(json_object_get(a[i].body,
		    "post"), "text")) ?: "", "second, behind it") == 0)
			second_ms = a[i].ms;
	arrivals_free(a, n);
	ck_assert_msg(second_ms > 0 && second_ms < (long long)(atof(retry_s) * 1000),
	    "the second came at %lld ms, the cancelled first's retry was due at "
	    "%s s", second_ms, retry_s);
	free(retry_s);
}
END_TEST

struct dlr_arg {
	long long message;
	int n;
};

/* The callbacks of a message the receiver answered 200 are n. */
static int
dlr_answered(void *arg)
{
	struct dlr_arg *d = arg;
	struct arrival a[64];
	int n = arrivals_on("/dlr", 0, a, 64), ok = 0;

	for (int i = 0; i < n; i++)
		ok += a[i].code == 200 && json_integer_value(json_object_get(json_object_get(
		    a[i].body, "message"), "id")) == d->message;
	arrivals_free(a, n);
	return ok >= d->n;
}

/*
 * A dlr_url callback tells its event: its fields are the message's at
 * that state change, whenever the callback is posted. A 'queued' refused
 * until the message was delivered came again with "parts": 1,
 * "attempts": 1 and the carrier's status (null, 0 and null at first).
 */
START_TEST(test_dlr_tells_its_event)
{
	struct arrival a[64];
	char *body, *resp = NULL, seen[512] = "";

	h_write_file(fail_path, "1000");
	body = h_strf("{\"to\":\"+212661000201\",\"text\":\"tell me\","
	    "\"dlr_url\":\"http://127.0.0.1:%d/dlr?ref=7\"}", recv_port);
	int code = h_http(g.http_port, "POST", "/api/messages", TOKEN, body, &resp);
	ck_assert_msg(code == 202, "%d %s", code, resp ? resp : "");
	json_t *j = json_loads(resp, 0, NULL);
	struct dlr_arg d = { json_integer_value(json_array_get(json_object_get(j, "ids"),
	    0)), 3 };
	json_decref(j);
	free(resp);
	free(body);
	char *id = h_strf("%lld", d.message);
	ck_assert_int_eq(h_wait_db(&g, "SELECT state FROM outbox WHERE id = $1", id,
	    "delivered", WAIT_MS), 0);
	h_write_file(fail_path, "0");
	/* Refused for as long as the send took (half a minute on a loaded
	 * machine), a callback's next retry may be a minute away or more: the
	 * deadline is past the longest backoff (WEBHOOK_MAX_BACKOFF_S, 300). */
	ck_assert_int_eq(h_wait_for(dlr_answered, &d, 330000), 0);

	/* Every attempt of a callback says the same; what each says. */
	int n = arrivals_on("/dlr", 0, a, 64);
	for (int i = 0; i < n; i++) {
		json_t *m = json_object_get(a[i].body, "message");
		if (json_integer_value(json_object_get(m, "id")) != d.message)
			continue;
		for (int k = 0; k < i; k++)
			if (a[k].delivery == a[i].delivery)
				ck_assert_msg(json_equal(a[k].body, a[i].body),
				    "two attempts of callback %ld:\n%s\n%s", a[i].delivery,
				    json_dumps(a[k].body, JSON_SORT_KEYS),
				    json_dumps(a[i].body, JSON_SORT_KEYS));
		if (a[i].code != 200)
			continue;
		const char *at = json_string_value(json_object_get(m, "at"));
		ck_assert_msg(h_api_time(at), "callback at %s", at ? at : "null");
		json_t *tell = json_pack("{s:O,s:O,s:O}", "parts",
		    json_object_get(m, "parts"), "attempts", json_object_get(m, "attempts"),
		    "carrier_status", json_object_get(m, "carrier_status"));
		char *t = json_dumps(tell, JSON_SORT_KEYS | JSON_COMPACT);
		snprintf(seen + strlen(seen), sizeof(seen) - strlen(seen), "%s%s %s",
		    *seen ? " | " : "", json_string_value(json_object_get(m, "state")), t);
		free(t);
		json_decref(tell);
	}
	arrivals_free(a, n);
	free(id);
	ck_assert_str_eq(seen,
	    "queued {\"attempts\":0,\"carrier_status\":null,\"parts\":null} | "
	    "sent {\"attempts\":1,\"carrier_status\":[null],\"parts\":1} | "
	    "delivered {\"attempts\":1,\"carrier_status\":[0],\"parts\":1}");
}
END_TEST

/*
 * An attempt whose lease ran out while its POST was in flight, answering
 * after another took the delivery: its outcome changes nothing (a late
 * failure put the delivery back in the queue under the new attempt, which
 * was posted once more). Rolled back: pigeond never sees these rows.
 */
START_TEST(test_late_outcome)
{
	h_db_exec(g.db, "BEGIN");
	h_db_exec(g.db, "INSERT INTO webhook_targets (url) VALUES ('http://late.invalid/')");
	h_db_exec(g.db, "INSERT INTO accounts (phone, handle, lang) VALUES "
	    "('+212661000091', 'latecomer', 'en')");
	h_db_exec(g.db, "INSERT INTO posts (account_id, text) SELECT id, 'late' FROM "
	    "accounts WHERE handle = 'latecomer'");
	char *id = h_db_value(g.db, "SELECT id FROM pigeon_webhook_claim('h1', 1, 60, "
	    "'http://late.invalid/') WHERE attempts = 1", 0, NULL);
	ck_assert_ptr_nonnull(id);
	const char *p[] = { id };
	/* h1's lease runs out; h2 claims it again. */
	h_db_exec(g.db, "UPDATE webhook_deliveries SET lease_until = now() - "
	    "interval '1 second' WHERE url = 'http://late.invalid/'");
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM pigeon_webhook_claim('h2', "
	    "1, 60, 'http://late.invalid/') WHERE id = $1 AND attempts = 2", 1, p), 1);
	/* h1's failure, then its success, come late: nothing changes. */
	char *wait = h_db_value(g.db, "SELECT pigeon_webhook_failed($1, 'timed out', "
	    "3600, 86400, 1)", 1, p);
	ck_assert_ptr_null(wait);
	free(h_db_value(g.db, "SELECT pigeon_webhook_done($1, 1)", 1, p));
	char *st = h_db_value(g.db, "SELECT state || ' ' || host || ' ' || attempts "
	    "FROM webhook_deliveries WHERE id = $1", 1, p);
	ck_assert_str_eq(st, "sending h2 2");
	free(st);
	/* h2's answer settles it. */
	free(h_db_value(g.db, "SELECT pigeon_webhook_done($1, 2)", 1, p));
	st = h_db_value(g.db, "SELECT state FROM webhook_deliveries WHERE id = $1", 1, p);
	ck_assert_str_eq(st, "done");
	free(st);
	free(id);
	h_db_exec(g.db, "ROLLBACK");
}
END_TEST

struct health_arg {
	int code;
	const char *status;
	char last[512];		/* the last answer, for the failure's message */
};

static int
health_is(void *p)
{
	struct health_arg *a = p;
	char *body = NULL, needle[64];
	int code = h_http(g.http_port, "GET", "/healthz", NULL, NULL, &body);
	snprintf(needle, sizeof(needle), "\"%s\"", a->status);
	int ok = code == a->code && body && strstr(body, needle);
	snprintf(a->last, sizeof(a->last), "%d %s", code, body ? body : "");
	free(body);
	return ok;
}

/*
 * A post made after a start but before pigeond has told the database its
 * webhooks reaches none of them (the trigger queues a delivery for each
 * target it finds): /healthz says "starting" until then. The targets'
 * table is held locked against writes across a restart to make that
 * moment last (SHARE: the start's functions, read when created, still
 * read it).
 */
START_TEST(test_ready_with_targets)
{
	struct health_arg starting = { 503, "starting", "" }, ok = { 200, "ok", "" };
	struct lines_arg a = { 0 };
	char *data = h_read_file(recv_log);
	a.n = (data ? h_count_lines(data, "\"event\"") : 0) + 1;
	free(data);

	ck_assert_int_eq(h_stop(g.pigeond, SIGTERM, H_STOP_MS), 0);
	g.pigeond = 0;
	PGconn *lock = h_db_connect(g.conninfo);
	h_db_exec(lock, "BEGIN");
	h_db_exec(lock, "LOCK TABLE webhook_targets IN SHARE MODE");
	h_pigeond_start(&g);
	ck_assert_msg(h_wait_for(health_is, &starting, WAIT_MS) == 0,
	    "/healthz while the targets are locked: %s", starting.last);
	h_db_exec(lock, "ROLLBACK");
	PQfinish(lock);
	ck_assert_msg(h_wait_for(health_is, &ok, WAIT_MS) == 0,
	    "/healthz once they are free: %s", ok.last);
	long id = post("after the start");
	ck_assert_int_eq(h_wait_for(received_lines, &a, WAIT_MS), 0);
	data = h_read_file(recv_log);
	char needle[64];
	snprintf(needle, sizeof(needle), "\"post\": {\"id\": %ld,", id);
	ck_assert_ptr_nonnull(strstr(data, needle));
	free(data);
}
END_TEST

/* The delivery id the receiver got the post with text in (recv_log), 0
 * when none; *times, how many deliveries carried that text. */
static long
delivery_of(const char *text, int *times)
{
	char *data = h_read_file(recv_log), *save = NULL;
	long id = 0;

	*times = 0;
	for (char *l = data ? strtok_r(data, "\n", &save) : NULL; l != NULL;
	    l = strtok_r(NULL, "\n", &save))
		if (strstr(l, text)) {
			id = strtol(l, NULL, 10);
			(*times)++;
		}
	free(data);
	return id;
}

/* POST /api/messages: its id. */
static long
send_sms(const char *text)
{
	char *body = h_strf("{\"to\":\"+212661000002\",\"text\":\"%s\"}", text), *resp = NULL;
	int code = h_http(g.http_port, "POST", "/api/messages", TOKEN, body, &resp);
	ck_assert_msg(code == 202, "POST /api/messages: %d %s", code, resp ? resp : "");
	json_t *j = json_loads(resp, 0, NULL);
	long id = (long)json_integer_value(json_object_get(j, "id"));
	json_decref(j);
	free(body);
	free(resp);
	return id;
}

/*
 * A dump (pg_dump -Fc, pigeond running) restored into a new database:
 * what the old one handed out after the dump (a post, its webhook
 * delivery, a message) is never handed out again. Its sequences came back
 * at the dump's values, and the next post got the id of the one made
 * after the dump, its delivery too (the receiver, which tells deliveries
 * by their id, dropped it as a repeat), and a client the id of another
 * phone's message.
 */
START_TEST(test_restore_moves_ids)
{
	struct lines_arg a = { 1 };
	char *dir = h_tmpdir("webhook-restore"), *dump = h_strf("%s/pigeon.dump", dir);
	char *out = NULL;
	int times;

	h_db_exec(g.db, "INSERT INTO accounts (phone, handle, name, lang) VALUES "
	    "('+212661000001', 'alice', 'Alice', 'en')");
	post("before the dump");
	ck_assert_int_eq(h_wait_for(received_lines, &a, WAIT_MS), 0);
	send_sms("before the dump");
	int rc = h_run(&out, "pg_dump -Fc -f '%s' -d '%s' 2>&1", dump, g.conninfo);
	ck_assert_msg(rc == 0, "pg_dump: %s", out);
	free(out);

	long post_after = post("after the dump");
	long sms_after = send_sms("after the dump");
	a.n = 2;
	ck_assert_int_eq(h_wait_for(received_lines, &a, WAIT_MS), 0);
	long hook_after = delivery_of("after the dump", &times);
	ck_assert_int_gt(hook_after, 0);

	/* The old database is lost: the dump goes into a new one. */
	ck_assert_int_eq(h_stop(g.pigeond, SIGTERM, H_STOP_MS), 0);
	g.pigeond = 0;
	char *restored = h_db_create("webhook_restored");
	rc = h_run(&out, "pg_restore --no-owner -d '%s' '%s' 2>&1", restored, dump);
	ck_assert_msg(rc == 0, "pg_restore: %s", out);
	free(out);
	char *conf = h_read_file(g.config), *at = strstr(conf, g.conninfo);
	ck_assert_ptr_nonnull(at);
	char *moved = h_strf("%.*s%s%s", (int)(at - conf), conf, restored,
	    at + strlen(g.conninfo));
	ck_assert_int_eq(h_write_file(g.config, moved), 0);
	PQfinish(g.db);
	free(g.conninfo);
	g.conninfo = restored;
	g.db = h_db_connect(g.conninfo);
	h_pigeond_start(&g);
	ck_assert_int_eq(h_wait_for(healthy, NULL, WAIT_MS), 0);

	long post_new = post("after the restore");
	long sms_new = send_sms("after the restore");
	a.n = 3;
	ck_assert_int_eq(h_wait_for(received_lines, &a, WAIT_MS), 0);
	long hook_new = delivery_of("after the restore", &times);
	ck_assert_msg(post_new > post_after, "post %ld after the restore, %ld made "
	    "after the dump", post_new, post_after);
	ck_assert_msg(sms_new > sms_after, "message %ld after the restore, %ld made "
	    "after the dump", sms_new, sms_after);
	ck_assert_msg(hook_new > hook_after, "webhook delivery %ld after the restore, "
	    "%ld made after the dump", hook_new, hook_after);
	ck_assert_int_eq(times, 1);
	/* A client holding the id of the message sent after the dump is told
	 * it is unknown, not shown another phone's message. */
	char *path = h_strf("/api/messages/%ld", sms_after), *body = NULL;
	int code = h_http(g.http_port, "GET", path, TOKEN, NULL, &body);
	ck_assert_msg(code == 404, "GET %s: %d %s", path, code, body ? body : "");
	free(body);
	free(path);
	/* pigeond said what it did. */
	char *log = h_strf("%s/pigeond.log", g.dir);
	ck_assert_int_eq(h_wait_file_contains(log, "id sequences moved past", 5000), 0);
	free(log);
	free(conf);
	free(moved);
	free(dump);
	h_run(NULL, "rm -rf '%s'", dir);
	free(dir);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("webhook");
	TCase *tc = tcase_create("posts");
	tcase_add_unchecked_fixture(tc, setup_posts, teardown);
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, test_each_post_once);
	tcase_add_test(tc, test_late_outcome);
	tcase_add_test(tc, test_ready_with_targets);
	suite_add_tcase(s, tc);
	tc = tcase_create("order");
	tcase_add_unchecked_fixture(tc, setup_order, teardown);
	tcase_set_timeout(tc, 480);	/* test_dlr_tells_its_event: a backoff */
	tcase_add_test(tc, test_retry_on_time);
	tcase_add_test(tc, test_order_after_failure);
	tcase_add_test(tc, test_next_after_head_cancelled);
	tcase_add_test(tc, test_dlr_tells_its_event);
	suite_add_tcase(s, tc);
	tc = tcase_create("restore");
	tcase_add_unchecked_fixture(tc, setup_posts, teardown);
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, test_restore_moves_ids);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return h_main(suite());
}

/*
 * Issue 14, item 10: webhooks against hostile receivers. Three receivers
 * on loopback, each a URL of [http] webhooks:
 *   slow  reads the request, then answers one byte every 2 s, for ever;
 *   big   answers 200 with a 100 MiB body, as fast as it can;
 *   good  answers 204 and logs each request (headers and body).
 * The good one gets every post while the others misbehave, pigeond's
 * memory stays bounded, each body is signed (X-Pigeon-Signature, checked
 * here with libcrypto's HMAC), and a post deleted before its delivery
 * went out is never delivered: a post.deleted event goes instead.
 *
 * And a client with a send token flooding pigeond with callbacks: 200
 * messages, each with a dlr_url of its own (a new query string, on one of
 * HANG_PORTS receivers that accept and never answer): pigeond's open
 * descriptors stay under [http] dlr_connections plus a few, the
 * callbacks beyond wait in the database (none lost or failed), and
 * another client's receiver still gets its callbacks meanwhile.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <check.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "harness.h"

#define TOKEN	"hostile-webhook-token-0123456789abcdef"
#define SECRET	"webhook-secret-for-tests"
#define CLIENT	"client-send-token-0123456789abcdef0123"
#define WAIT_MS	30000
#define HANG_PORTS	12	/* receivers that accept and never answer */
#define FLOOD	200		/* messages, each its own dlr_url */
#define DLR_CONNS	8	/* [http] dlr_connections of the test */
#define WEBHOOK_S	4	/* [http] webhook_seconds of the test */

enum mode { SLOW, BIG, GOOD, NMODES };

static struct h_gateway g;
static int port[NMODES];
static pid_t pid[NMODES];
static int hang_port[HANG_PORTS];
static pid_t hang_pid;
static char *good_log;
static char http_extra[2048];

static int
listen_any(int *p)
{
	struct sockaddr_in sa = { 0 };
	socklen_t len = sizeof(sa);
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 || listen(fd, 16) == -1)
		return -1;
	getsockname(fd, (struct sockaddr *)&sa, &len);
	*p = ntohs(sa.sin_port);
	return fd;
}

static void
serve(int lfd, enum mode m)
{
	static char buf[65536];

	signal(SIGPIPE, SIG_IGN);
	for (;;) {
		int c = accept(lfd, NULL, NULL);
		if (c == -1)
			continue;
		h_http_read_request(c, buf, sizeof(buf));
		if (m == GOOD) {
			FILE *f = fopen(good_log, "a");
			/* One line per request: the headers then the body, \r\n made spaces. */
			for (char *p = buf; *p; p++)
				if (*p == '\r' || *p == '\n')
					*p = ' ';
			fprintf(f, "%s\n", buf);
			fclose(f);
			const char *ok = "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n";
			if (write(c, ok, strlen(ok)) < 0)
				_exit(1);
		} else if (m == SLOW) {
			/* Never finishes: a byte every 2 s until pigeond hangs up. */
			const char *head = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n";
			if (write(c, head, strlen(head)) < 0)
				_exit(1);
			while (write(c, "x", 1) == 1)
				sleep(2);
		} else {
			const char *head = "HTTP/1.1 200 OK\r\nContent-Length: 104857600\r\n\r\n";
			static char zeros[65536];
			size_t sent = 0;
			if (write(c, head, strlen(head)) < 0)
				_exit(1);
			while (sent < 104857600u) {
				ssize_t n = write(c, zeros, sizeof(zeros));
				if (n <= 0)
					break;
				sent += (size_t)n;
			}
		}
		close(c);
	}
}

/* Accepts on every port, reads what comes and never answers; a
 * connection is closed once pigeond closes it. */
static void
serve_hang(int *lfds)
{
	static struct pollfd p[HANG_PORTS + 1000];
	static char junk[4096];
	int n = HANG_PORTS;

	for (int i = 0; i < HANG_PORTS; i++)
		p[i] = (struct pollfd){ lfds[i], POLLIN, 0 };
	for (;;) {
		if (poll(p, (nfds_t)n, -1) == -1)
			continue;
		for (int i = n - 1; i >= 0; i--) {
			if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (i < HANG_PORTS) {
				int c = accept(p[i].fd, NULL, NULL);
				if (c != -1 && n < HANG_PORTS + 1000)
					p[n++] = (struct pollfd){ c, POLLIN, 0 };
				else if (c != -1)
					close(c);
			} else if (read(p[i].fd, junk, sizeof(junk)) <= 0) {
				close(p[i].fd);
				p[i] = p[--n];
			}
		}
	}
}

static int
healthy(void *unused)
{
	return h_http(g.http_port, "GET", "/healthz", NULL, NULL, NULL) == 200;
}

static void
setup(void)
{
	char *dir = h_tmpdir("hostile-webhook");
	ck_assert_int_ge(asprintf(&good_log, "%s/good.log", dir), 0);
	free(dir);
	for (int m = 0; m < NMODES; m++) {
		int lfd = listen_any(&port[m]);
		ck_assert_int_ne(lfd, -1);
		pid[m] = fork();
		ck_assert_int_ne(pid[m], -1);
		if (pid[m] == 0) {
			serve(lfd, (enum mode)m);
			_exit(0);
		}
		close(lfd);
	}
	int hang_lfd[HANG_PORTS];
	for (int i = 0; i < HANG_PORTS; i++)
		ck_assert_int_ne(hang_lfd[i] = listen_any(&hang_port[i]), -1);
	hang_pid = fork();
	ck_assert_int_ne(hang_pid, -1);
	if (hang_pid == 0) {
		serve_hang(hang_lfd);
		_exit(0);
	}
	for (int i = 0; i < HANG_PORTS; i++)
		close(hang_lfd[i]);
	dir = h_tmpdir("hostile-webhook-tokens");
	char *tokens = h_strf("%s/tokens", dir);
	free(dir);
	h_write_file(tokens, "client send " CLIENT "\n");
	chmod(tokens, 0600);
	memset(&g, 0, sizeof(g));
	snprintf(http_extra, sizeof(http_extra),
	    "token = " TOKEN "\nwebhook_secret = " SECRET "\nwebhook_seconds = %d\n"
	    /* Clients' callbacks have their own key; posts keep this one. */
	    "dlr_secret = another-secret-0123456789\n"
	    "tokens_file = %s\ndlr_hosts = 127.0.0.1\ndlr_connections = %d\n"
	    "webhooks = http://127.0.0.1:%d/slow http://127.0.0.1:%d/big "
	    "http://127.0.0.1:%d/good\n", WEBHOOK_S, tokens, DLR_CONNS, port[SLOW],
	    port[BIG], port[GOOD]);
	free(tokens);
	g.http_extra = http_extra;
	h_gateway_start(&g, "hostile_webhook", 1);
	ck_assert_int_eq(h_wait_for(healthy, NULL, 60000), 0);
	PQclear(PQexec(g.db, "INSERT INTO accounts (phone, handle, name, lang) VALUES "
	    "('+212661000001', 'alice', 'Alice', 'en')"));
}

static void
teardown(void)
{
	for (int m = 0; m < NMODES; m++)
		if (pid[m] > 0) {
			kill(pid[m], SIGKILL);
			waitpid(pid[m], NULL, 0);
		}
	if (hang_pid > 0) {
		kill(hang_pid, SIGKILL);
		waitpid(hang_pid, NULL, 0);
	}
	h_gateway_stop(&g);
	free(good_log);
}

static void
post(const char *text)
{
	char *body = NULL;
	ck_assert_int_ge(asprintf(&body, "{\"user\":\"alice\",\"text\":\"%s\"}", text), 0);
	ck_assert_int_eq(h_http(g.http_port, "POST", "/api/posts", TOKEN, body, NULL), 201);
	free(body);
}

static int
good_has(void *needle)
{
	char *data = h_read_file(good_log);
	int found = data && strstr(data, needle) != NULL;
	free(data);
	return found;
}

static long
rss_kb(pid_t p)
{
	char path[64], *s, *v;
	long kb = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)p);
	if ((s = h_read_file(path)) != NULL && (v = strstr(s, "VmRSS:")) != NULL)
		kb = atol(v + 6);
	free(s);
	return kb;
}

START_TEST(test_slow_and_big_receivers_stall_nobody)
{
	long rss0 = rss_kb(g.pigeond);

	post("first");
	ck_assert_int_eq(h_wait_for(good_has, "first", WAIT_MS), 0);
	/* The slow and big receivers hold their first deliveries now. */
	post("second");
	post("third");
	ck_assert_msg(h_wait_for(good_has, "\"third\"", 15000) == 0,
	    "a slow receiver stalled the deliveries to another URL");
	ck_assert_int_eq(h_wait_for(good_has, "\"second\"", 1000), 0);
	/* The slow one is given up after webhook_seconds, and retried. */
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) > 0 FROM webhook_deliveries "
	    "WHERE url LIKE '%/slow' AND last_error LIKE 'no complete answer within 4 s%'",
	    NULL, "t", WAIT_MS), 0);
	/* The big one: a 2xx, done, without reading 100 MiB into memory. */
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM webhook_deliveries "
	    "WHERE url LIKE '%/big' AND state = 'done'", NULL, "3", WAIT_MS), 0);
	long rss1 = rss_kb(g.pigeond);
	fprintf(stderr, "hostile webhook: pigeond RSS %ld kB -> %ld kB\n", rss0, rss1);
	ck_assert_int_lt(rss1 - rss0, 40 * 1024);
}
END_TEST

/* The request line of the good log holding needle, split in head and body. */
static char *
good_line(const char *needle)
{
	char *data = h_read_file(good_log), *line = NULL;

	for (char *p = data ? strtok(data, "\n") : NULL; p; p = strtok(NULL, "\n"))
		if (strstr(p, needle)) {
			line = strdup(p);
			break;
		}
	free(data);
	return line;
}

START_TEST(test_signature)
{
	post("signed");
	ck_assert_int_eq(h_wait_for(good_has, "\"signed\"", WAIT_MS), 0);
	char *line = good_line("\"signed\"");
	ck_assert_ptr_nonnull(line);
	char *sig = strcasestr(line, "X-Pigeon-Signature: t=");
	ck_assert_ptr_nonnull(sig);
	long long t = atoll(sig + 22);
	char *v1 = strstr(sig, ",v1=");
	ck_assert_ptr_nonnull(v1);
	char *body = strstr(line, "    {");	/* blank line (4 spaces), then the JSON */
	ck_assert_ptr_nonnull(body);
	body += 4;

	/* What a receiver does: HMAC-SHA256 of "t.body" with the secret. */
	char *msg = NULL, hex[65];
	unsigned char mac[32];
	unsigned int maclen = 0;
	ck_assert_int_ge(asprintf(&msg, "%lld.%s", t, body), 0);
	HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET), (unsigned char *)msg, strlen(msg),
	    mac, &maclen);
	ck_assert_uint_eq(maclen, 32);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", mac[i]);
	ck_assert_msg(strncmp(v1 + 4, hex, 64) == 0, "signature %.64s, expected %s",
	    v1 + 4, hex);
	ck_assert_int_le(llabs(t - (long long)time(NULL)), 60);
	free(msg);
	free(line);
}
END_TEST

START_TEST(test_deleted_post_not_delivered)
{
	/* Posted and deleted before any delivery could go out. */
	PQclear(PQexec(g.db, "BEGIN"));
	char *id = h_db_value(g.db, "INSERT INTO posts (account_id, text) SELECT id, "
	    "'regret this' FROM accounts WHERE handle = 'alice' RETURNING id", 0, NULL);
	ck_assert_ptr_nonnull(id);
	const char *params[] = { id };
	PQclear(PQexecParams(g.db, "UPDATE posts SET deleted_at = now() WHERE id = $1",
	    1, NULL, params, NULL, NULL, 0));
	PQclear(PQexec(g.db, "COMMIT"));

	char needle[96];
	snprintf(needle, sizeof(needle), "\"event\": \"post.deleted\"");
	ck_assert_int_eq(h_wait_for(good_has, needle, WAIT_MS), 0);
	char *line = good_line("post.deleted");
	snprintf(needle, sizeof(needle), "\"id\": %s", id);
	ck_assert_ptr_nonnull(strstr(line, needle));
	free(line);
	/* Everything due has gone out; the deleted text never did. */
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM webhook_deliveries "
	    "WHERE url LIKE '%/good' AND state IN ('pending', 'sending')", NULL, "0",
	    WAIT_MS), 0);
	ck_assert_int_eq(good_has("regret this"), 0);
	ck_assert_int_eq(h_wait_db(&g, "SELECT state FROM webhook_deliveries WHERE "
	    "url LIKE '%/good' AND post_id = $1 AND event = 'post'", id, "cancelled",
	    WAIT_MS), 0);
	free(id);
}
END_TEST

/* pigeond's child (its one modem worker); 0 if none. */
static pid_t
worker_pid(void)
{
	char path[96], *kids;
	pid_t p = 0;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)g.pigeond,
	    (int)g.pigeond);
	if ((kids = h_read_file(path)) != NULL)
		p = (pid_t)atoi(kids);
	free(kids);
	return p;
}

/* 1 if a TCP connection to the slow receiver is established. */
static int
slow_connected(void *unused)
{
	char *tcp = h_read_file("/proc/net/tcp"), port_hex[16];
	int found;

	(void)unused;
	snprintf(port_hex, sizeof(port_hex), ":%04X 01 ", port[SLOW]);
	found = tcp != NULL && strstr(tcp, port_hex) != NULL;
	free(tcp);
	if (!found)
		h_sleep_ms(20);
	return found;
}

/* The sockets a process holds besides fd 3 (a worker's channel). */
static int
sockets_besides_channel(pid_t p)
{
	char path[96], target[128];
	int n = 0;

	for (int fd = 0; fd < 1024; fd++) {
		if (fd == 3)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)p, fd);
		ssize_t len = readlink(path, target, sizeof(target) - 1);
		if (len <= 0)
			continue;
		target[len] = '\0';
		if (strncmp(target, "socket:", 7) == 0)
			n++;
	}
	return n;
}

static pid_t old_worker;

static int
new_worker(void *unused)
{
	pid_t p = worker_pid();

	(void)unused;
	if (p == 0 || p == old_worker) {
		h_sleep_ms(50);
		return 0;
	}
	return 1;
}

/*
 * A worker started while a webhook delivery is in flight holds none of
 * pigeond's sockets. Before, it inherited the delivery's connection
 * (libevent opens it without close-on-exec): the receiver's connection
 * stayed open after pigeond closed it, for as long as the worker lived.
 */
START_TEST(test_workers_inherit_no_socket)
{
	int checked = 0;

	h_wait_modem(&g, "sim0", "online", WAIT_MS);
	for (int attempt = 0; attempt < 3 && !checked; attempt++) {
		post("while a worker starts");
		ck_assert_int_eq(h_wait_for(slow_connected, NULL, WAIT_MS), 0);
		old_worker = worker_pid();
		ck_assert_int_gt(old_worker, 0);
		kill(old_worker, SIGKILL);
		ck_assert_int_eq(h_wait_for(new_worker, NULL, WAIT_MS), 0);
		pid_t w = worker_pid();
		/* Counted only if the delivery was still in flight as it
		 * started (the slow receiver's answer takes 4 s to give up). */
		int inflight = slow_connected(NULL);
		h_wait_modem(&g, "sim0", "online", WAIT_MS);
		int n = sockets_besides_channel(w);
		ck_assert_msg(n == 0, "the worker holds %d socket(s) of pigeond's", n);
		checked = inflight;
	}
	ck_assert_msg(checked, "no worker started while a delivery was in flight");
}
END_TEST


static int fd_peak;

static void
fd_sample(void)
{
	int n = h_open_fds(g.pigeond);
	if (n > fd_peak)
		fd_peak = n;
}

/* The good receiver has the callback (needle), the descriptors sampled. */
static int
good_has_sampled(void *needle)
{
	fd_sample();
	return good_has(needle);
}

/* Callbacks to the hanging receivers tried at least (long)arg times. */
static int
hang_tried_sampled(void *arg)
{
	fd_sample();
	return h_db_long(g.db, "SELECT count(*) FROM webhook_deliveries WHERE url "
	    "LIKE '%/hang?%' AND last_error LIKE 'no complete answer%'", 0, NULL) >=
	    (long)(intptr_t)arg;
}

static void
send_with_dlr(const char *to, const char *dlr_url)
{
	char body[300], *resp = NULL;

	snprintf(body, sizeof(body), "{\"to\":\"%s\",\"text\":\"x\","
	    "\"dlr_url\":\"%s\"}", to, dlr_url);
	int code = h_http(g.http_port, "POST", "/api/messages", CLIENT, body, &resp);
	ck_assert_msg(code == 202, "%s: %d %s", body, code, resp ? resp : "");
	free(resp);
}

START_TEST(test_dlr_flood_bounded)
{
	char url[128], to[32];
	int base = h_open_fds(g.pigeond);

	fd_peak = base;
	/* Each message its own URL: the receivers accept and never answer. */
	for (int i = 0; i < FLOOD; i++) {
		snprintf(url, sizeof(url), "http://127.0.0.1:%d/hang?ref=%d",
		    hang_port[i % HANG_PORTS], i);
		snprintf(to, sizeof(to), "+2126610%05d", 10000 + i);
		send_with_dlr(to, url);
		fd_sample();
	}
	/* Another client's receiver gets its callback meanwhile. */
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/cb?ref=good", port[GOOD]);
	send_with_dlr("+212661099999", url);
	long t0 = h_now_ms();
	ck_assert_msg(h_wait_for(good_has_sampled, "+212661099999", WAIT_MS) == 0,
	    "a well-behaved receiver's callback did not come while others hang");
	long waited = h_now_ms() - t0;
	/* Its turn came after the hanging receivers not yet tried (12, 8 at
	 * a time: one webhook_seconds, 4 s, two at most), then receivers
	 * that failed hold half the slots at most: from its queueing to its
	 * answer, on the database's clock, three webhook_seconds and 10 s
	 * for a loaded machine's claims. (In the hanging ones' turn, behind
	 * their 200 callbacks 8 at a time, it would wait 100 s.) */
	ck_assert_int_eq(h_wait_db(&g, "SELECT state FROM webhook_deliveries WHERE "
	    "url LIKE '%/cb?ref=good' ORDER BY id LIMIT 1", NULL, "done", WAIT_MS), 0);
	long turn = h_db_long(g.db, "SELECT (extract(epoch FROM done_at - created_at) "
	    "* 1000)::bigint FROM webhook_deliveries WHERE url LIKE '%/cb?ref=good' "
	    "ORDER BY id LIMIT 1", 0, NULL);
	ck_assert_msg(turn < (3 * WEBHOOK_S + 10) * 1000, "the good receiver's "
	    "callback waited %ld ms for its turn", turn);
	/* The receivers that hang are tried, in turns, beyond the cap. */
	ck_assert_int_eq(h_wait_for(hang_tried_sampled, (void *)(intptr_t)(DLR_CONNS + 1),
	    WAIT_MS), 0);
	fprintf(stderr, "hostile webhook, dlr flood: pigeond descriptors %d, at most %d "
	    "with %d callbacks waiting; the good receiver's came in %ld ms, %ld ms "
	    "after it was queued\n", base, fd_peak, FLOOD, waited, turn);
	/* The cap, the configured webhooks' connections, the test's own. */
	ck_assert_msg(fd_peak <= base + DLR_CONNS + 8, "descriptors %d -> %d", base,
	    fd_peak);
	/* None lost, none failed: waiting in the database, every message's
	 * (the gateway's modem sends some meanwhile: a callback more each). */
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(DISTINCT outbox_id) FROM "
	    "webhook_deliveries WHERE url LIKE '%/hang?%'", 0, NULL), FLOOD);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM webhook_deliveries WHERE "
	    "url LIKE '%/hang?%' AND state NOT IN ('pending', 'sending')", 0, NULL), 0);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("hostile_webhook");
	TCase *tc = tcase_create("hostile_webhook");

	tcase_set_timeout(tc, 300);
	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_slow_and_big_receivers_stall_nobody);
	tcase_add_test(tc, test_signature);
	tcase_add_test(tc, test_deleted_post_not_delivered);
	tcase_add_test(tc, test_workers_inherit_no_socket);
	tcase_add_test(tc, test_dlr_flood_bounded);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return h_main(suite());
}

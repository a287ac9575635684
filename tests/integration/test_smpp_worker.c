/*
 * test_smpp_worker.c: pigeon-smpp on its own, driven over the socketpair
 * the way pigeond drives it, against the simulated SMSC (tests/smsc, on
 * the npm package smpp). Each test starts its own simulator and worker
 * and stops both.
 *
 * Env: PIGEON_TEST_BIN (pigeon-smpp), PIGEON_TEST_TMP; run from the top
 * of the tree (tests/run does), with tests/smsc/node_modules installed
 * (scripts/deps).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/wait.h>

#include <check.h>
#include <jansson.h>

#include "harness.h"

/* For anything the worker or the SMSC does: ASan builds on a loaded
 * machine (10 s was not always enough; the other SMPP tests wait 60 s). */
#define WAIT_MS		60000
/* The worker's exit once its channel closes, LeakSanitizer's scan included. */
#define EXIT_MS		20000
#define MAXQ		512

static struct {
	pid_t	 pid;
	int	 fd;
	char	*log;
	char	 buf[1 << 20];
	size_t	 len;
	int	 eof;
	json_t	*q[MAXQ];
	int	 nq;
} w = { .pid = -1, .fd = -1 };

static struct h_smsc smsc = { .pid = -1 };

/* ------------------------------------------------------------ simulator */

static void
smsc_start_ex(const char *name, const char *ids, const char *alphabet)
{
	char opts[100];

	snprintf(opts, sizeof(opts), "--ids %s --default-alphabet %s", ids, alphabet);
	h_smsc_start(&smsc, name, opts);
}

static void
smsc_start(const char *name, const char *ids)
{
	smsc_start_ex(name, ids, "gsm");
}

/* --------------------------------------------------------------- worker */

static void
w_write(const char *fmt, ...)
{
	char *line;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&line, fmt, ap);
	va_end(ap);
	ck_assert(n != -1);
	for (int off = 0; off < n;) {
		ssize_t r = write(w.fd, line + off, n - off);
		if (r == -1 && errno == EAGAIN) {
			struct pollfd p = { .fd = w.fd, .events = POLLOUT };
			poll(&p, 1, 1000);
			continue;
		}
		ck_assert_msg(r > 0, "write to the worker: %s", strerror(errno));
		off += r;
	}
	ck_assert_int_eq(write(w.fd, "\n", 1), 1);
	free(line);
}

static void
w_pump(void)
{
	char *nl;

	while (!w.eof && w.fd != -1) {
		ssize_t n = read(w.fd, w.buf + w.len, sizeof(w.buf) - 1 - w.len);
		if (n == 0)
			w.eof = 1;
		if (n <= 0)
			break;
		w.len += n;
	}
	while ((nl = memchr(w.buf, '\n', w.len)) != NULL) {
		*nl = '\0';
		json_t *m = json_loads(w.buf, 0, NULL);
		ck_assert_msg(m != NULL, "worker wrote bad JSON: %s", w.buf);
		if (strcmp(json_string_value(json_object_get(m, "type")),
		    "health") == 0)
			json_decref(m);
		else {
			ck_assert_msg(w.nq < MAXQ, "too many unread messages");
			w.q[w.nq++] = m;
		}
		w.len -= (size_t)(nl + 1 - w.buf);
		memmove(w.buf, nl + 1, w.len);
	}
}

struct want {
	const char *type;
	long long id;		/* -1: any */
	json_t	*found;
};

static int
want_found(void *arg)
{
	struct want *wt = arg;

	w_pump();
	for (int i = 0; i < w.nq; i++) {
		json_t *m = w.q[i];
		if (strcmp(json_string_value(json_object_get(m, "type")),
		    wt->type) != 0)
			continue;
		if (wt->id >= 0 && json_integer_value(json_object_get(m,
		    "id")) != wt->id)
			continue;
		wt->found = m;
		memmove(&w.q[i], &w.q[i + 1], (w.nq - i - 1) * sizeof(w.q[0]));
		w.nq--;
		return 1;
	}
	return w.eof;
}

/* The first message of that type (and id, when >= 0), waiting for it. */
static json_t *
w_take(const char *type, long long id, int timeout_ms)
{
	struct want wt = { type, id, NULL };

	h_wait_for(want_found, &wt, timeout_ms);
	ck_assert_msg(wt.found != NULL, "no \"%s\" (id %lld) from the worker "
	    "within %d ms%s (log: %s)", type, id, timeout_ms,
	    w.eof ? ", which closed the channel" : "", w.log);
	return wt.found;
}

/* Either outcome of send id. */
static json_t *
w_outcome(long long id)
{
	long t0 = h_now_ms();

	while (h_now_ms() - t0 < WAIT_MS) {
		w_pump();
		for (int i = 0; i < w.nq; i++) {
			json_t *m = w.q[i];
			const char *t = json_string_value(json_object_get(m, "type"));
			if ((strcmp(t, "sent") == 0 || strcmp(t, "send_failed") == 0) &&
			    json_integer_value(json_object_get(m, "id")) == id) {
				memmove(&w.q[i], &w.q[i + 1],
				    (w.nq - i - 1) * sizeof(w.q[0]));
				w.nq--;
				return m;
			}
		}
		h_sleep_ms(10);
	}
	ck_abort_msg("no outcome for send %lld (log: %s)", id, w.log);
	return NULL;
}

static void
w_start(const char *extra)
{
	char *argv[] = { (char *)h_bin("pigeon-smpp"), "-v", NULL };

	free(w.log);
	ck_assert(asprintf(&w.log, "%s/worker.log", smsc.dir) != -1);
	w.len = 0;
	w.eof = 0;
	w.nq = 0;
	w.pid = h_spawn_channel(w.log, argv, &w.fd);
	w_write("{\"type\":\"config\",\"name\":\"carrier\",\"host\":\"127.0.0.1\","
	    "\"port\":%d,\"system_id\":\"pigeon\",\"password\":\"secret\","
	    "\"source_addr\":\"40404\",\"source_ton\":3,\"source_npi\":0,"
	    "\"health_ms\":0%s%s}", smsc.port, extra ? "," : "", extra ? extra : "");
}

static void
w_kill(void)
{
	if (w.pid > 0) {
		kill(w.pid, SIGKILL);
		waitpid(w.pid, NULL, 0);
		w.pid = -1;
	}
	if (w.fd != -1)
		close(w.fd);
	w.fd = -1;
	for (int i = 0; i < w.nq; i++)
		json_decref(w.q[i]);
	w.nq = 0;
}

/* Stops the worker as pigeond does (closes the channel), then the SMSC. */
static void
teardown(void)
{
	if (w.fd != -1) {
		close(w.fd);
		w.fd = -1;
		ck_assert_msg(WIFEXITED(h_stop(w.pid, 0, EXIT_MS)),
		    "the worker did not exit when its channel closed");
		w.pid = -1;
		h_assert_no_sanitizer_report(w.log);
	}
	h_smsc_stop(&smsc);
	for (int i = 0; i < w.nq; i++)
		json_decref(w.q[i]);
	w.nq = 0;
	free(w.log);
	w.log = NULL;
}

static void
send_text(long long id, const char *to, const char *text, int report)
{
	json_t *m = json_pack("{s:s,s:I,s:s,s:s,s:b}", "type", "send", "id",
	    (json_int_t)id, "to", to, "text", text, "report", report);
	char *s = json_dumps(m, JSON_COMPACT);

	w_write("%s", s);
	free(s);
	json_decref(m);
}

static int
has_key(json_t *keys, const char *k)
{
	size_t i;
	json_t *v;

	json_array_foreach(keys, i, v)
		if (strcmp(json_string_value(v), k) == 0)
			return 1;
	return 0;
}

/* Whether two key lists share a spelling. */
static int
keys_meet(json_t *a, json_t *b)
{
	size_t i;
	json_t *v;

	json_array_foreach(a, i, v)
		if (has_key(b, json_string_value(v)))
			return 1;
	return 0;
}

/* ---------------------------------------------------------------- tests */

START_TEST(test_window)
{
	smsc_start("smpp-window", "hex");
	w_start("\"window\":5");
	json_decref(w_take("ready", -1, WAIT_MS));
	/* Each answer waits 300 ms: 20 sends in a window of 5 take 4 rounds. */
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"fault\",\"kind\":\"delay\",\"ms\":300}"));
	long t0 = h_now_ms();
	for (int i = 1; i <= 20; i++) {
		char to[32];
		snprintf(to, sizeof(to), "+2126000000%02d", i);
		send_text(i, to, "Hello from the shortcode", 0);
	}
	for (int i = 1; i <= 20; i++) {
		json_t *m = w_outcome(i);
		ck_assert_str_eq(json_string_value(json_object_get(m, "type")), "sent");
		const char *ref = json_string_value(json_array_get(
		    json_object_get(m, "refs"), 0));
		ck_assert_msg(ref != NULL && strlen(ref) >= 8, "no message id");
		json_decref(m);
	}
	long took = h_now_ms() - t0;
	ck_assert_msg(took >= 4 * 300 - 50, "20 sends in %ld ms: window not kept", took);
	ck_assert_msg(took < 20 * 300, "20 sends in %ld ms: not pipelined", took);
	json_t *subs = h_smsc_submits(&smsc);
	ck_assert_int_eq(json_array_size(subs), 20);
	json_t *s0 = json_array_get(subs, 0);
	ck_assert_str_eq(json_string_value(json_object_get(s0, "source")), "40404");
	ck_assert_int_eq(json_integer_value(json_object_get(s0, "source_ton")), 3);
	ck_assert_str_eq(json_string_value(json_object_get(s0, "dest")), "212600000001");
	ck_assert_int_eq(json_integer_value(json_object_get(s0, "data_coding")), 0);
	json_decref(subs);
	teardown();
}
END_TEST

START_TEST(test_long_and_ucs2)
{
	char longtext[400];

	smsc_start("smpp-long", "hex");
	w_start(NULL);
	json_decref(w_take("ready", -1, WAIT_MS));
	memset(longtext, 0, sizeof(longtext));
	for (int i = 0; i < 25; i++)
		strcat(longtext, "Pigeon-%d ");	/* 250 GSM-7 characters */
	send_text(1, "+212600000001", longtext, 0);
	send_text(2, "+212600000002", "مرحبا بكم في بيجن", 0);
	json_t *m = w_outcome(1);
	ck_assert_str_eq(json_string_value(json_object_get(m, "type")), "sent");
	ck_assert_int_eq(json_integer_value(json_object_get(m, "parts")), 2);
	json_decref(m);
	m = w_outcome(2);
	ck_assert_str_eq(json_string_value(json_object_get(m, "type")), "sent");
	json_decref(m);
	json_t *subs = h_smsc_submits(&smsc);
	ck_assert_int_eq(json_array_size(subs), 3);
	json_t *p1 = json_array_get(subs, 0), *p2 = json_array_get(subs, 1),
	    *u = json_array_get(subs, 2);
	ck_assert_int_eq(json_integer_value(json_object_get(p1, "esm_class")), 0x40);
	json_t *c1 = json_object_get(p1, "concat"), *c2 = json_object_get(p2, "concat");
	ck_assert_int_eq(json_integer_value(json_object_get(c1, "total")), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(c1, "seq")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(c2, "seq")), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(c1, "ref")),
	    json_integer_value(json_object_get(c2, "ref")));
	char joined[600];
	snprintf(joined, sizeof(joined), "%s%s",
	    json_string_value(json_object_get(p1, "short_message")),
	    json_string_value(json_object_get(p2, "short_message")));
	ck_assert_str_eq(joined, longtext);
	ck_assert_int_eq(json_integer_value(json_object_get(u, "data_coding")), 8);
	ck_assert_str_eq(json_string_value(json_object_get(u, "short_message")),
	    "مرحبا بكم في بيجن");
	json_decref(subs);
	teardown();
}
END_TEST

/* Receipts in the submit_sm_resp's spelling, in the other base, by TLV. */
static void
receipts_case(const char *ids)
{
	smsc_start(strcmp(ids, "hex") == 0 ? "smpp-dlr-hex" : "smpp-dlr-dec", ids);
	w_start(NULL);
	json_decref(w_take("ready", -1, WAIT_MS));
	for (int i = 1; i <= 3; i++)
		send_text(i, "+212600000009", "Receipt please", 1);
	json_t *sent[4];
	for (int i = 1; i <= 3; i++) {
		sent[i] = w_outcome(i);
		ck_assert_str_eq(json_string_value(json_object_get(sent[i], "type")),
		    "sent");
	}
	const char *id1 = json_string_value(json_array_get(
	    json_object_get(sent[1], "refs"), 0));
	const char *id2 = json_string_value(json_array_get(
	    json_object_get(sent[2], "refs"), 0));
	const char *id3 = json_string_value(json_array_get(
	    json_object_get(sent[3], "refs"), 0));
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"receipts\",\"ids\":[\"%s\"],"
	    "\"text_id\":\"same\"}", id1));
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"receipts\",\"ids\":[\"%s\"],"
	    "\"text_id\":\"%s\",\"stat\":\"UNDELIV\",\"err\":\"005\"}", id2,
	    strcmp(ids, "hex") == 0 ? "decimal" : "hex"));
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"receipts\",\"ids\":[\"%s\"],"
	    "\"text_id\":\"decimal\",\"tlv\":true}", id3));
	for (int k = 0; k < 3; k++) {
		json_t *r = w_take("report", -1, WAIT_MS);
		json_t *keys = json_object_get(r, "keys");
		int match = 0;
		for (int i = 1; i <= 3; i++)
			if (keys_meet(keys, json_object_get(sent[i], "keys"))) {
				ck_assert_msg(!match, "a receipt matches two messages");
				match = i;
			}
		ck_assert_msg(match != 0, "receipt %s matches no message",
		    json_string_value(json_object_get(r, "text")));
		ck_assert_str_eq(json_string_value(json_object_get(r, "recipient")),
		    "+212600000009");
		if (match == 2) {
			ck_assert_str_eq(json_string_value(json_object_get(r, "stat")),
			    "UNDELIV");
			ck_assert_str_eq(json_string_value(json_object_get(r, "err")), "005");
			ck_assert(json_is_false(json_object_get(r, "delivered")));
		} else {
			ck_assert_str_eq(json_string_value(json_object_get(r, "stat")),
			    "DELIVRD");
			ck_assert(json_is_true(json_object_get(r, "delivered")));
		}
		if (match == 3)	/* the TLV carries the id as submit_sm_resp gave it */
			ck_assert_str_eq(json_string_value(json_object_get(r,
			    "message_id")), id3);
		w_write("{\"type\":\"delete\",\"folder\":0,\"location\":%lld}",
		    json_integer_value(json_object_get(r, "location")));
		json_decref(w_take("deleted", -1, WAIT_MS));
		json_decref(r);
	}
	h_smsc_wait_count(&smsc, "deliver_sm_resp", 3, WAIT_MS);
	for (int i = 1; i <= 3; i++)
		json_decref(sent[i]);
	teardown();
}

START_TEST(test_receipts_hex)
{
	receipts_case("hex");
}
END_TEST

START_TEST(test_receipts_decimal)
{
	receipts_case("decimal");
}
END_TEST

static json_t *
take_sms_from(const char *sender)
{
	json_t *m = w_take("sms", -1, WAIT_MS);
	ck_assert_str_eq(json_string_value(json_object_get(m, "sender")), sender);
	return m;
}

START_TEST(test_mo_ack_after_commit)
{
	char longtext[1024] = "";

	smsc_start("smpp-mo", "hex");
	w_start(NULL);
	json_decref(w_take("ready", -1, WAIT_MS));
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"deliver\",\"from\":\"+212611000001\","
	    "\"text\":\"FOLLOW alice\"}"));
	json_t *m = take_sms_from("+212611000001");
	ck_assert_str_eq(json_string_value(json_object_get(m, "text")), "FOLLOW alice");
	ck_assert_str_eq(json_string_value(json_object_get(m, "coding")), "gsm");
	ck_assert_ptr_null(json_object_get(m, "udh"));
	/* Not answered before pigeond says it committed. A send asked of the
	 * worker now goes out on the same connection after any answer it
	 * gave the deliver_sm when it read it: once the SMSC counted the
	 * submit_sm, it would have counted that answer. */
	w_write("{\"type\":\"ping\",\"seq\":1}");
	json_decref(w_take("pong", -1, WAIT_MS));
	send_text(9001, "+212611000009", "a marker behind the deliver_sm", 0);
	h_smsc_wait_count(&smsc, "submit_sm", 1, WAIT_MS);
	json_decref(w_outcome(9001));
	ck_assert_int_eq(h_smsc_count(&smsc, "deliver_sm_resp"), 0);
	w_write("{\"type\":\"delete\",\"folder\":0,\"location\":%lld}",
	    json_integer_value(json_object_get(m, "location")));
	json_decref(w_take("deleted", -1, WAIT_MS));
	h_smsc_wait_count(&smsc, "deliver_sm_resp", 1, WAIT_MS);
	json_decref(m);

	/* Concatenated by UDH (Arabic, UCS-2) and by SAR TLVs (GSM-7). */
	for (int i = 0; i < 12; i++)
		strcat(longtext, "ابجد هوز ");	/* 108 characters: 2 UCS-2 parts */
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"deliver\",\"from\":\"+212611000002\","
	    "\"text\":\"%s\",\"ref\":77}", longtext));
	json_t *a = take_sms_from("+212611000002"), *b = take_sms_from("+212611000002");
	ck_assert_str_eq(json_string_value(json_object_get(a, "coding")), "ucs2");
	json_t *ua = json_object_get(a, "udh"), *ub = json_object_get(b, "udh");
	ck_assert_int_eq(json_integer_value(json_object_get(ua, "ref")), 77);
	ck_assert_int_eq(json_integer_value(json_object_get(ua, "total")), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(ua, "seq")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(ub, "seq")), 2);
	char joined[1200];
	snprintf(joined, sizeof(joined), "%s%s",
	    json_string_value(json_object_get(a, "text")),
	    json_string_value(json_object_get(b, "text")));
	ck_assert_str_eq(joined, longtext);
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"deliver\",\"from\":\"212611000003\","
	    "\"text\":\"%s\",\"concat\":\"sar\",\"ref\":300,\"coding\":\"gsm\"}",
	    "A post that is long enough to need two parts: Pigeon carries it "
	    "over SMPP to every follower of the account, in GSM-7 and with SAR "
	    "TLVs this time, and the worker reports both parts."));
	json_t *c = take_sms_from("+212611000003"), *d = take_sms_from("+212611000003");
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(c,
	    "udh"), "ref")), 300);
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(d,
	    "udh"), "seq")), 2);

	/* Killed before the commit: the SMSC delivers again, same key. */
	const char *key_a = json_string_value(json_object_get(a, "key"));
	char keep[64];
	snprintf(keep, sizeof(keep), "%s", key_a);
	w_kill();
	w_start(NULL);
	json_decref(w_take("ready", -1, WAIT_MS));
	int seen = 0;
	for (int i = 0; i < 4; i++) {
		json_t *r = w_take("sms", -1, WAIT_MS);
		if (strcmp(json_string_value(json_object_get(r, "key")), keep) == 0)
			seen++;
		w_write("{\"type\":\"delete\",\"folder\":0,\"location\":%lld}",
		    json_integer_value(json_object_get(r, "location")));
		json_decref(r);
	}
	ck_assert_int_eq(seen, 1);
	h_smsc_wait_count(&smsc, "deliver_sm_resp", 5, WAIT_MS);
	json_decref(a);
	json_decref(b);
	json_decref(c);
	json_decref(d);
	teardown();
}
END_TEST

/*
 * An SMSC that sends MO and receipts as data_sm: an `sms` and a `report`
 * as from deliver_sm, each answered data_sm_resp only after pigeond's
 * commit. Before, each was answered generic_nack 0x03, never reported,
 * and the SMSC sent it again for ever.
 */
START_TEST(test_data_sm)
{
	smsc_start("smpp-data-sm", "hex");
	w_start(NULL);
	json_decref(w_take("ready", -1, WAIT_MS));
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"deliver\",\"from\":\"+212611000007\","
	    "\"text\":\"FOLLOW alice\",\"pdu\":\"data_sm\"}"));
	json_t *m = take_sms_from("+212611000007");
	ck_assert_str_eq(json_string_value(json_object_get(m, "text")), "FOLLOW alice");
	ck_assert_str_eq(json_string_value(json_object_get(m, "dest")), "40404");
	ck_assert_int_eq(h_smsc_count(&smsc, "data_sm"), 1);
	/* Not answered before the commit: a send asked of the worker after
	 * the pong goes out on the same connection after any answer it gave
	 * the data_sm when it read it (as in test_mo_ack_after_commit). */
	w_write("{\"type\":\"ping\",\"seq\":3}");
	json_decref(w_take("pong", -1, WAIT_MS));
	send_text(9003, "+212611000019", "a marker behind the data_sm", 0);
	h_smsc_wait_count(&smsc, "submit_sm", 1, WAIT_MS);
	json_decref(w_outcome(9003));
	ck_assert_int_eq(h_smsc_count(&smsc, "data_sm_resp"), 0);
	ck_assert_int_eq(h_smsc_count(&smsc, "generic_nack"), 0);
	w_write("{\"type\":\"delete\",\"folder\":0,\"location\":%lld}",
	    json_integer_value(json_object_get(m, "location")));
	json_decref(w_take("deleted", -1, WAIT_MS));
	json_decref(m);
	h_smsc_wait_count(&smsc, "data_sm_resp", 1, WAIT_MS);

	/* A receipt as data_sm matches the message sent. */
	send_text(1, "+212600000009", "receipt as data_sm", 1);
	json_t *sent = w_outcome(1);
	ck_assert_str_eq(json_string_value(json_object_get(sent, "type")), "sent");
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"receipts\",\"stat\":\"DELIVRD\","
	    "\"tlv\":true,\"pdu\":\"data_sm\"}"));
	json_t *r = w_take("report", -1, WAIT_MS);
	ck_assert(keys_meet(json_object_get(r, "keys"), json_object_get(sent, "keys")));
	ck_assert_str_eq(json_string_value(json_object_get(r, "recipient")),
	    "+212600000009");
	ck_assert(json_is_true(json_object_get(r, "delivered")));
	w_write("{\"type\":\"delete\",\"folder\":0,\"location\":%lld}",
	    json_integer_value(json_object_get(r, "location")));
	json_decref(w_take("deleted", -1, WAIT_MS));
	h_smsc_wait_count(&smsc, "data_sm_resp", 2, WAIT_MS);
	ck_assert_int_eq(h_smsc_count(&smsc, "generic_nack"), 0);
	/* Both answered with status 0: the SMSC has nothing left to send. */
	json_t *st = h_smsc_ctl(&smsc, "{\"cmd\":\"status\"}");
	ck_assert_int_eq(json_integer_value(json_object_get(st, "pending_mo")), 0);
	json_decref(st);
	ck_assert_int_eq(h_smsc_count(&smsc, "deliver_sm_resp"), 0);
	json_decref(r);
	json_decref(sent);
	teardown();
}
END_TEST

/*
 * The SMSC sends a deliver_sm again while the first still waits for
 * pigeond's commit (its answer late: the database is slow), with a new
 * sequence number each time: the copies are not reported again, and are
 * answered with the first once it is committed. pigeond stored each copy
 * as a new SMS (the link never went down) and applied it twice. (The same
 * text after the commit is a new SMS: test_smpp_link test_acks_copies_join,
 * test_smpp test_english.)
 */
START_TEST(test_mo_copy_while_waiting)
{
	h_smsc_start(&smsc, "smpp-mo-copy", "--ids hex --redeliver-ms 300");
	w_start(NULL);
	json_decref(w_take("ready", -1, WAIT_MS));
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"deliver\",\"from\":\"+212611000005\","
	    "\"text\":\"STOP\"}"));
	json_t *m = take_sms_from("+212611000005");
	/* Two copies sent by the SMSC, then the worker heard out. */
	h_smsc_wait_count(&smsc, "deliver_sm", 3, WAIT_MS);
	w_write("{\"type\":\"ping\",\"seq\":2}");
	json_decref(w_take("pong", -1, WAIT_MS));
	w_pump();
	for (int i = 0; i < w.nq; i++)
		ck_assert_msg(strcmp(json_string_value(json_object_get(w.q[i], "type")),
		    "sms") != 0, "a copy of the waiting deliver_sm was reported again");
	ck_assert_int_eq(h_smsc_count(&smsc, "deliver_sm_resp"), 0);
	long copies = h_smsc_count(&smsc, "deliver_sm");
	w_write("{\"type\":\"delete\",\"folder\":0,\"location\":%lld}",
	    json_integer_value(json_object_get(m, "location")));
	json_decref(w_take("deleted", -1, WAIT_MS));
	json_decref(m);
	/* Every copy the SMSC had sent by then is answered. */
	h_smsc_wait_count(&smsc, "deliver_sm_resp", copies, WAIT_MS);
	teardown();
}
END_TEST

START_TEST(test_throttle_and_queue_full)
{
	smsc_start("smpp-throttle", "hex");
	w_start(NULL);
	json_decref(w_take("ready", -1, WAIT_MS));
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"fault\",\"kind\":\"throttle\",\"count\":1}"));
	send_text(1, "+212600000001", "one", 0);
	json_t *m = w_outcome(1);
	ck_assert_str_eq(json_string_value(json_object_get(m, "type")), "send_failed");
	ck_assert(json_is_true(json_object_get(m, "temporary")));
	ck_assert(json_is_true(json_object_get(m, "throttled")));
	ck_assert_int_eq(json_integer_value(json_object_get(m, "command_status")), 0x58);
	json_decref(m);
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"fault\",\"kind\":\"qfull\",\"count\":1}"));
	long t0 = h_now_ms();
	send_text(2, "+212600000001", "two", 0);
	m = w_outcome(2);
	ck_assert(json_is_true(json_object_get(m, "throttled")));
	ck_assert_int_eq(json_integer_value(json_object_get(m, "command_status")), 0x14);
	json_decref(m);
	/* The link paused after being told to slow down, then sends again. */
	send_text(3, "+212600000001", "three", 0);
	m = w_outcome(3);
	ck_assert_str_eq(json_string_value(json_object_get(m, "type")), "sent");
	ck_assert_msg(h_now_ms() - t0 >= 300, "no pause after two throttles");
	json_decref(m);
	/* A permanent command_status fails the message for good. */
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"fault\",\"kind\":\"status\",\"count\":1,"
	    "\"status\":11}"));
	send_text(4, "+212600000001", "four", 0);
	m = w_outcome(4);
	ck_assert(json_is_false(json_object_get(m, "temporary")));
	ck_assert(json_is_false(json_object_get(m, "throttled")));
	json_decref(m);
	teardown();
}
END_TEST

/*
 * Part 1 of a long message told to slow down, part 2 accepted: part 1 is
 * submitted again after the pause, the same PDU, and the message is sent
 * (2 parts, one reference). It failed as throttled: pigeond sent the
 * whole message again with a new reference, part 2 left an orphan on the
 * phone.
 */
START_TEST(test_throttled_part_resent)
{
	char text[201];
	json_t *subs, *r;
	size_t i;
	int ok = 0, throttled = 0, seqs = 0;
	long ref = -1;

	for (int k = 0; k < 200; k++)
		text[k] = "abcdefghij"[k % 10];
	text[200] = '\0';
	smsc_start("smpp-throttled-part", "hex");
	w_start(NULL);
	json_decref(w_take("ready", -1, WAIT_MS));
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"fault\",\"kind\":\"throttle\",\"count\":1}"));
	send_text(1, "+212600000002", text, 0);
	json_t *m = w_outcome(1);
	ck_assert_msg(strcmp(json_string_value(json_object_get(m, "type")), "sent") == 0,
	    "the long message with a throttled part: %s",
	    json_string_value(json_object_get(m, "error")));
	ck_assert_int_eq(json_integer_value(json_object_get(m, "parts")), 2);
	json_decref(m);
	subs = h_smsc_submits(&smsc);
	json_array_foreach(subs, i, r) {
		json_t *c = json_object_get(r, "concat");
		long st = json_integer_value(json_object_get(r, "status"));
		if (st == 0x58) {
			throttled++;
			continue;
		}
		ck_assert_int_eq(st, 0);
		ok++;
		ck_assert(json_is_object(c));
		if (ref == -1)
			ref = json_integer_value(json_object_get(c, "ref"));
		ck_assert_int_eq(json_integer_value(json_object_get(c, "ref")), ref);
		seqs |= 1 << json_integer_value(json_object_get(c, "seq"));
	}
	json_decref(subs);
	ck_assert_int_eq(throttled, 1);
	ck_assert_int_eq(ok, 2);
	ck_assert_int_eq(seqs, 1 << 1 | 1 << 2);
	teardown();
}
END_TEST

START_TEST(test_drop_mid_window)
{
	smsc_start("smpp-drop", "hex");
	w_start("\"window\":10,\"reconnect_max_ms\":1000");
	json_decref(w_take("ready", -1, WAIT_MS));
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"fault\",\"kind\":\"delay\",\"ms\":400}"));
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"fault\",\"kind\":\"drop\",\"after\":3}"));
	for (int i = 1; i <= 5; i++)
		send_text(i, "+212600000001", "mid-window", 0);
	int maybe = 0;
	for (int i = 1; i <= 5; i++) {
		json_t *m = w_outcome(i);
		ck_assert_str_eq(json_string_value(json_object_get(m, "type")),
		    "send_failed");
		ck_assert(json_is_true(json_object_get(m, "temporary")));
		maybe += json_is_true(json_object_get(m, "maybe_sent"));
		json_decref(m);
	}
	ck_assert_int_ge(maybe, 3);
	json_decref(w_take("link", -1, WAIT_MS));
	json_t *r = w_take("ready", -1, WAIT_MS);
	ck_assert(json_is_true(json_object_get(r, "rebind")));
	json_decref(r);
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"fault\",\"kind\":\"delay\",\"ms\":0}"));
	send_text(6, "+212600000001", "after the reconnect", 0);
	json_t *m = w_outcome(6);
	ck_assert_str_eq(json_string_value(json_object_get(m, "type")), "sent");
	json_decref(m);
	ck_assert_int_eq(h_smsc_count(&smsc, "binds"), 2);
	teardown();
}
END_TEST

/*
 * The session lost with 2 submits in flight and 4 sends still queued in
 * the worker: pigeond hears "link down" first, then the 2 as "may have
 * been sent" and the 4 as "not sent" (back to the queue, no attempt),
 * all as the session's loss. Before, the queued ones were plain
 * temporary failures, emitted before the link down: pigeond counted them
 * on a link still online, reached "5 sends in a row failed" and
 * restarted the worker, charging every one an attempt and a backoff.
 */
static int
drop_settled(void *arg)
{
	int n = 0;

	(void)arg;
	w_pump();
	for (int i = 0; i < w.nq; i++) {
		const char *t = json_string_value(json_object_get(w.q[i], "type"));
		n += strcmp(t, "link") == 0 || strcmp(t, "send_failed") == 0;
	}
	if (n < 7)
		h_sleep_ms(10);
	return n >= 7 || w.eof;
}

START_TEST(test_drop_returns_the_unsent)
{
	int link_at = -1, maybe = 0, unsent = 0, lost = 0, failed = 0;

	smsc_start("smpp-unsent", "hex");
	w_start("\"window\":2,\"reconnect_max_ms\":1000");
	json_decref(w_take("ready", -1, WAIT_MS));
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"fault\",\"kind\":\"delay\",\"ms\":2000}"));
	for (int i = 1; i <= 6; i++)
		send_text(i, "+212600000001", "queued behind the window", 0);
	h_smsc_wait_count(&smsc, "submit_sm", 2, WAIT_MS);
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"fault\",\"kind\":\"drop\"}"));
	ck_assert_int_eq(h_wait_for(drop_settled, NULL, WAIT_MS), 0);
	for (int i = 0; i < w.nq; i++) {
		json_t *m = w.q[i];
		const char *t = json_string_value(json_object_get(m, "type"));
		if (strcmp(t, "link") == 0) {
			link_at = i;
			continue;
		}
		if (strcmp(t, "send_failed") != 0)
			continue;
		ck_assert_msg(link_at >= 0, "send_failed %lld came before the link "
		    "down", (long long)json_integer_value(json_object_get(m, "id")));
		failed++;
		ck_assert(json_is_true(json_object_get(m, "temporary")));
		lost += json_is_true(json_object_get(m, "link_lost"));
		if (json_is_true(json_object_get(m, "maybe_sent"))) {
			maybe++;
			ck_assert_ptr_null(json_object_get(m, "not_sent"));
		} else if (json_is_true(json_object_get(m, "not_sent"))) {
			unsent++;
			ck_assert_int_eq(json_integer_value(json_object_get(m,
			    "parts_sent")), 0);
		}
	}
	ck_assert_int_eq(failed, 6);
	ck_assert_int_eq(maybe, 2);
	ck_assert_int_eq(unsent, 4);
	ck_assert_int_eq(lost, 6);
	for (int i = 0; i < w.nq; i++)
		json_decref(w.q[i]);
	w.nq = 0;
	/* Refused while not bound: not sent either. */
	send_text(7, "+212600000001", "while down", 0);
	json_t *m = w_outcome(7);
	if (json_is_true(json_object_get(m, "temporary")) &&
	    strcmp(json_string_value(json_object_get(m, "error")), "not bound") == 0) {
		ck_assert(json_is_true(json_object_get(m, "not_sent")));
		ck_assert(json_is_true(json_object_get(m, "link_lost")));
	}
	json_decref(m);
	teardown();
}
END_TEST

START_TEST(test_no_answer_timeout)
{
	smsc_start("smpp-noanswer", "hex");
	w_start("\"response_timeout_ms\":1000");
	json_decref(w_take("ready", -1, WAIT_MS));
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"fault\",\"kind\":\"noanswer\",\"count\":1}"));
	long t0 = h_now_ms();
	send_text(1, "+212600000001", "lost answer", 0);
	send_text(2, "+212600000001", "answered", 0);
	json_t *m = w_outcome(2);
	ck_assert_str_eq(json_string_value(json_object_get(m, "type")), "sent");
	json_decref(m);
	m = w_outcome(1);
	long took = h_now_ms() - t0;
	ck_assert_str_eq(json_string_value(json_object_get(m, "type")), "send_failed");
	ck_assert(json_is_true(json_object_get(m, "temporary")));
	ck_assert(json_is_true(json_object_get(m, "maybe_sent")));
	/* Its 1 s, not the default 30 s (15 s: a loaded machine's slack). */
	ck_assert_msg(took >= 900 && took < 15000, "settled after %ld ms", took);
	json_decref(m);
	teardown();
}
END_TEST

START_TEST(test_bind_refused)
{
	smsc_start("smpp-refused", "hex");
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"fault\",\"kind\":\"refuse_bind\",\"count\":1}"));
	w_start(NULL);
	json_t *e = w_take("error", -1, WAIT_MS);
	ck_assert_str_eq(json_string_value(json_object_get(e, "stage")), "bind");
	ck_assert_int_eq(json_integer_value(json_object_get(e, "command_status")), 0x0d);
	json_decref(e);
	/* Not bound yet: a send is refused at once, as temporary. */
	send_text(1, "+212600000001", "too early", 0);
	json_t *m = w_outcome(1);
	ck_assert(json_is_true(json_object_get(m, "temporary")));
	json_decref(m);
	json_t *r = w_take("ready", -1, WAIT_MS);
	ck_assert(json_is_false(json_object_get(r, "rebind")));
	json_decref(r);
	teardown();
	/* A wrong password is refused too. */
	smsc_start("smpp-badpw", "hex");
	char *argv[] = { (char *)h_bin("pigeon-smpp"), NULL };
	ck_assert(asprintf(&w.log, "%s/worker.log", smsc.dir) != -1);
	w.pid = h_spawn_channel(w.log, argv, &w.fd);
	w.len = 0;
	w.eof = 0;
	w_write("{\"type\":\"config\",\"host\":\"127.0.0.1\",\"port\":%d,"
	    "\"system_id\":\"pigeon\",\"password\":\"wrong\"}", smsc.port);
	e = w_take("error", -1, WAIT_MS);
	ck_assert_int_eq(json_integer_value(json_object_get(e, "command_status")), 0x0e);
	json_decref(e);
	teardown();
	/* A bind answered with generic_nack (an SMSC that does not take
	 * that kind of bind) is refused the same way, its status said. */
	smsc_start("smpp-nackbind", "hex");
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"fault\",\"kind\":\"nack_bind\",\"count\":1}"));
	w_start(NULL);
	e = w_take("error", -1, WAIT_MS);
	ck_assert_str_eq(json_string_value(json_object_get(e, "stage")), "bind");
	ck_assert_int_eq(json_integer_value(json_object_get(e, "command_status")), 0x03);
	json_decref(e);
	json_decref(w_take("ready", -1, WAIT_MS));
	teardown();
}
END_TEST

/* An unbind from the SMSC, a generic_nack answering nothing of ours and
 * a silent SMSC each end the session; the worker binds again by itself.
 * A generic_nack answering a submit_sm (an SMSC that cannot parse it)
 * fails that message for good and the session goes on: before, it closed
 * the session, the nacked message temporary, sent again to be nacked
 * again, each time dropping the bind. */
START_TEST(test_unbind_nack_dead_link)
{
	smsc_start("smpp-relink", "hex");
	w_start("\"enquire_link\":1,\"reconnect_max_ms\":1000");
	json_decref(w_take("ready", -1, WAIT_MS));
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"fault\",\"kind\":\"unbind\"}"));
	json_t *l = w_take("link", -1, WAIT_MS);
	ck_assert_str_eq(json_string_value(json_object_get(l, "reason")),
	    "unbind from the SMSC");
	json_decref(l);
	/* Answered before the worker closed the session (the answer was
	 * left in its buffer, closed unsent). */
	h_smsc_wait_count(&smsc, "unbind_resp", 1, WAIT_MS);
	json_t *r = w_take("ready", -1, WAIT_MS);
	ck_assert(json_is_true(json_object_get(r, "rebind")));
	json_decref(r);

	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"fault\",\"kind\":\"nack\",\"count\":1}"));
	send_text(1, "+212600000001", "nacked", 0);
	json_t *m = w_outcome(1);
	ck_assert_str_eq(json_string_value(json_object_get(m, "type")), "send_failed");
	ck_assert(json_is_false(json_object_get(m, "temporary")));
	ck_assert_int_eq(json_integer_value(json_object_get(m, "command_status")), 8);
	ck_assert_msg(strstr(json_string_value(json_object_get(m, "error")),
	    "generic_nack 0x08") != NULL, "%s",
	    json_string_value(json_object_get(m, "error")));
	json_decref(m);
	send_text(3, "+212600000001", "after the nack", 0);
	m = w_outcome(3);
	ck_assert_str_eq(json_string_value(json_object_get(m, "type")), "sent");
	json_decref(m);
	w_pump();
	for (int i = 0; i < w.nq; i++)
		ck_assert_msg(strcmp(json_string_value(json_object_get(w.q[i],
		    "type")), "link") != 0, "the nack of a submit closed the session");
	ck_assert_int_eq(h_smsc_count(&smsc, "binds"), 2);

	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"fault\",\"kind\":\"generic_nack\"}"));
	l = w_take("link", -1, WAIT_MS);
	ck_assert_str_eq(json_string_value(json_object_get(l, "reason")),
	    "generic_nack from the SMSC");
	json_decref(l);
	json_decref(w_take("ready", -1, WAIT_MS));

	/* enquire_link every second: a mute SMSC is found dead in about 2 s. */
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"fault\",\"kind\":\"mute\",\"on\":true}"));
	long t0 = h_now_ms();
	l = w_take("link", -1, WAIT_MS);
	ck_assert_str_eq(json_string_value(json_object_get(l, "reason")),
	    "no answer to enquire_link");
	ck_assert_msg(h_now_ms() - t0 < 4000, "dead link found after %ld ms",
	    h_now_ms() - t0);
	json_decref(l);
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"fault\",\"kind\":\"mute\",\"on\":false}"));
	json_decref(w_take("ready", -1, WAIT_MS));
	send_text(2, "+212600000001", "alive again", 0);
	m = w_outcome(2);
	ck_assert_str_eq(json_string_value(json_object_get(m, "type")), "sent");
	json_decref(m);
	teardown();
}
END_TEST

/* Transmitter + receiver sessions; long text in message_payload. */
START_TEST(test_split_bind_and_payload)
{
	char longtext[400] = "";

	smsc_start("smpp-split", "hex");
	w_start("\"bind\":\"transmitter+receiver\",\"long\":\"payload\"");
	json_decref(w_take("ready", -1, WAIT_MS));
	json_t *st = h_smsc_ctl(&smsc, "{\"cmd\":\"status\"}");
	ck_assert_int_eq(json_array_size(json_object_get(st, "sessions")), 2);
	json_decref(st);
	for (int i = 0; i < 20; i++)
		strcat(longtext, "0123456789");
	send_text(1, "+212600000001", longtext, 0);
	json_t *m = w_outcome(1);
	ck_assert_str_eq(json_string_value(json_object_get(m, "type")), "sent");
	ck_assert_int_eq(json_array_size(json_object_get(m, "refs")), 1);
	json_decref(m);
	json_t *subs = h_smsc_submits(&smsc);
	ck_assert_int_eq(json_array_size(subs), 1);
	json_t *p = json_array_get(subs, 0);
	ck_assert_str_eq(json_string_value(json_object_get(p, "message_payload")),
	    longtext);
	ck_assert_int_eq(json_integer_value(json_object_get(p, "esm_class")), 0);
	json_decref(subs);
	/* MO comes on the receiver session. */
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"deliver\",\"from\":\"+212611000009\","
	    "\"text\":\"STOP\"}"));
	m = w_take("sms", -1, WAIT_MS);
	ck_assert_str_eq(json_string_value(json_object_get(m, "text")), "STOP");
	w_write("{\"type\":\"delete\",\"folder\":0,\"location\":%lld}",
	    json_integer_value(json_object_get(m, "location")));
	json_decref(w_take("deleted", -1, WAIT_MS));
	json_decref(m);
	h_smsc_wait_count(&smsc, "deliver_sm_resp", 1, WAIT_MS);
	teardown();
}
END_TEST

/* rate 20/s: 30 sends take about a second and a half, whatever the window. */
START_TEST(test_rate)
{
	smsc_start("smpp-rate", "hex");
	w_start("\"rate\":\"20/s\",\"window\":50");
	json_decref(w_take("ready", -1, WAIT_MS));
	long t0 = h_now_ms();
	for (int i = 1; i <= 30; i++)
		send_text(i, "+212600000001", "paced", 0);
	for (int i = 1; i <= 30; i++) {
		json_t *m = w_outcome(i);
		ck_assert_str_eq(json_string_value(json_object_get(m, "type")), "sent");
		json_decref(m);
	}
	long took = h_now_ms() - t0;
	/* Paced, and not ten times slower (15 s: a loaded machine's slack). */
	ck_assert_msg(took >= 1200 && took < 15000, "30 sends at 20/s in %ld ms", took);
	teardown();
}
END_TEST

/* An SMSC whose data_coding 0 is Latin-1, both ways. */
START_TEST(test_latin1_default)
{
	smsc_start_ex("smpp-latin1", "hex", "latin1");
	w_start("\"default_alphabet\":\"latin1\"");
	json_decref(w_take("ready", -1, WAIT_MS));
	send_text(1, "+212600000001", "Café à 20h, équipe réunie, señor Müller", 0);
	json_t *m = w_outcome(1);
	ck_assert_str_eq(json_string_value(json_object_get(m, "type")), "sent");
	json_decref(m);
	json_t *subs = h_smsc_submits(&smsc);
	json_t *p = json_array_get(subs, 0);
	ck_assert_int_eq(json_integer_value(json_object_get(p, "data_coding")), 0);
	ck_assert_str_eq(json_string_value(json_object_get(p, "short_message")),
	    "Café à 20h, équipe réunie, señor Müller");
	json_decref(subs);
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"deliver\",\"from\":\"+212611000004\","
	    "\"text\":\"Très bien\",\"coding\":\"gsm\"}"));
	m = w_take("sms", -1, WAIT_MS);
	ck_assert_str_eq(json_string_value(json_object_get(m, "text")), "Très bien");
	json_decref(m);
	teardown();
}
END_TEST

/*
 * pigeond could not store a delivery and says so (`release`): the worker
 * answers it ESME_RX_T_APPN (0x64) at once, and the SMSC delivers it
 * again, reported anew and committed this time. Before, pigeond dropped
 * it without a word and the worker kept it unanswered for good: the SMSC
 * waited, every copy it sent joined to it and never stored, and the
 * worker's book of deliveries filled up.
 */
START_TEST(test_mo_released)
{
	smsc_start("smpp-mo-release", "hex");
	w_start(NULL);
	json_decref(w_take("ready", -1, WAIT_MS));
	json_decref(h_smsc_ctl(&smsc, "{\"cmd\":\"deliver\",\"from\":\"+212611000007\","
	    "\"text\":\"FOLLOW alice\"}"));
	json_t *m = take_sms_from("+212611000007");
	w_write("{\"type\":\"release\",\"folder\":0,\"location\":%lld}",
	    json_integer_value(json_object_get(m, "location")));
	ck_assert_msg(h_smsc_wait_resps(&smsc, "deliver_sm_resp", 0x64, 1, WAIT_MS) == 0,
	    "the released deliver_sm was not answered ESME_RX_T_APPN (log: %s)", w.log);
	/* Delivered again: reported again, under a new location. */
	json_t *again = take_sms_from("+212611000007");
	ck_assert_str_eq(json_string_value(json_object_get(again, "text")), "FOLLOW alice");
	ck_assert_str_eq(json_string_value(json_object_get(again, "key")),
	    json_string_value(json_object_get(m, "key")));
	ck_assert_int_ne(json_integer_value(json_object_get(again, "location")),
	    json_integer_value(json_object_get(m, "location")));
	/* The first's location is forgotten. */
	w_write("{\"type\":\"delete\",\"folder\":0,\"location\":%lld}",
	    json_integer_value(json_object_get(m, "location")));
	json_decref(w_take("delete_failed", -1, WAIT_MS));
	w_write("{\"type\":\"delete\",\"folder\":0,\"location\":%lld}",
	    json_integer_value(json_object_get(again, "location")));
	json_decref(w_take("deleted", -1, WAIT_MS));
	ck_assert(h_smsc_wait_resps(&smsc, "deliver_sm_resp", 0, 1, WAIT_MS) == 0);
	json_decref(m);
	json_decref(again);
	teardown();
}
END_TEST

/*
 * A raw SMSC in the test itself, for deliver_sm the simulator does not
 * write (another TON, TLVs on an MO, a receipt without its esm_class):
 * it listens on smsc.port, answers the worker's bind, and sends what the
 * test builds. smsc.dir holds the worker's log; smsc.pid stays -1.
 */
static int raw_lfd = -1, raw_fd = -1;

static void
raw_start(const char *name)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);

	smsc.dir = h_tmpdir(name);
	smsc.log = h_strf("%s/none.log", smsc.dir);
	smsc.pid = -1;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	raw_lfd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert(raw_lfd != -1);
	ck_assert(bind(raw_lfd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	ck_assert(listen(raw_lfd, 4) == 0);
	ck_assert(getsockname(raw_lfd, (struct sockaddr *)&sa, &sl) == 0);
	smsc.port = ntohs(sa.sin_port);
}

static void
raw_stop(void)
{
	if (raw_fd != -1)
		close(raw_fd);
	if (raw_lfd != -1)
		close(raw_lfd);
	raw_fd = raw_lfd = -1;
}

static void
raw_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Reads one PDU's header and drops its body; its command_id and seq. */
static void
raw_read(uint32_t *cmd, uint32_t *seq)
{
	uint8_t h[16], body[512];
	size_t got = 0;

	while (got < 16) {
		struct pollfd p = { .fd = raw_fd, .events = POLLIN };
		ck_assert_msg(poll(&p, 1, WAIT_MS) == 1, "no PDU from the worker");
		ssize_t n = read(raw_fd, h + got, 16 - got);
		ck_assert_msg(n > 0, "the worker closed the session");
		got += (size_t)n;
	}
	size_t left = ((size_t)h[0] << 24 | (size_t)h[1] << 16 |
	    (size_t)h[2] << 8 | h[3]) - 16;
	while (left > 0) {
		ssize_t n = read(raw_fd, body, left < sizeof(body) ? left : sizeof(body));
		ck_assert(n > 0);
		left -= (size_t)n;
	}
	*cmd = (uint32_t)h[4] << 24 | (uint32_t)h[5] << 16 | (uint32_t)h[6] << 8 | h[7];
	*seq = (uint32_t)h[12] << 24 | (uint32_t)h[13] << 16 | (uint32_t)h[14] << 8 | h[15];
}

/* Starts the worker on the raw SMSC and answers its bind. */
static void
raw_bound(void)
{
	uint32_t cmd, seq;
	uint8_t r[20];
	struct pollfd p = { .fd = raw_lfd, .events = POLLIN };

	w_start(NULL);
	ck_assert_msg(poll(&p, 1, WAIT_MS) == 1, "the worker never connected");
	raw_fd = accept(raw_lfd, NULL, NULL);
	ck_assert(raw_fd != -1);
	raw_read(&cmd, &seq);
	ck_assert_uint_eq(cmd, 0x00000009);	/* bind_transceiver */
	raw_put32(r, 20);
	raw_put32(r + 4, 0x80000009);
	raw_put32(r + 8, 0);
	raw_put32(r + 12, seq);
	memcpy(r + 16, "RAW", 4);
	ck_assert_int_eq(write(raw_fd, r, sizeof(r)), (ssize_t)sizeof(r));
	json_decref(w_take("ready", -1, WAIT_MS));
}

/* A deliver_sm: source (ton, npi), esm_class, short_message sm, then
 * tlvs (tag, length, value, already encoded; tlen bytes). */
static void
raw_deliver(uint32_t seq, int ton, int npi, const char *source, int esm,
    const char *sm, const uint8_t *tlvs, size_t tlen)
{
	uint8_t b[1024];
	size_t n = 16;

	b[n++] = 0;				/* service_type "" */
	b[n++] = (uint8_t)ton;
	b[n++] = (uint8_t)npi;
	memcpy(b + n, source, strlen(source) + 1);
	n += strlen(source) + 1;
	b[n++] = 0;
	b[n++] = 0;
	memcpy(b + n, "40404", 6);
	n += 6;
	b[n++] = (uint8_t)esm;
	b[n++] = 0;				/* protocol_id */
	b[n++] = 0;				/* priority_flag */
	b[n++] = 0;				/* schedule_delivery_time */
	b[n++] = 0;				/* validity_period */
	b[n++] = 0;				/* registered_delivery */
	b[n++] = 0;				/* replace_if_present_flag */
	b[n++] = 0;				/* data_coding */
	b[n++] = 0;				/* sm_default_msg_id */
	b[n++] = (uint8_t)strlen(sm);
	memcpy(b + n, sm, strlen(sm));
	n += strlen(sm);
	if (tlen > 0)
		memcpy(b + n, tlvs, tlen);
	n += tlen;
	raw_put32(b, (uint32_t)n);
	raw_put32(b + 4, 0x00000005);
	raw_put32(b + 8, 0);
	raw_put32(b + 12, seq);
	ck_assert_int_eq(write(raw_fd, b, n), (ssize_t)n);
}

/* The next event of the worker, sms or report. */
static json_t *
w_next_delivery(void)
{
	long t0 = h_now_ms();

	while (h_now_ms() - t0 < WAIT_MS) {
		w_pump();
		for (int i = 0; i < w.nq; i++) {
			const char *t = json_string_value(json_object_get(w.q[i], "type"));
			if (strcmp(t, "sms") == 0 || strcmp(t, "report") == 0) {
				json_t *m = w.q[i];
				memmove(&w.q[i], &w.q[i + 1], (w.nq - i - 1) * sizeof(w.q[0]));
				w.nq--;
				return m;
			}
		}
		h_sleep_ms(10);
	}
	ck_abort_msg("no sms or report from the worker (log: %s)", w.log);
	return NULL;
}

/*
 * An alphanumeric sender (TON 5) whose ID is all digits is no phone
 * number: the worker says so (sender_toa 0xD0, as a modem's TP-OA), and
 * pigeond stores it and never applies it. Before, it came as a bare
 * "0661000001", which pigeond normalised to +212661000001: anyone with a
 * bulk SMS account posted, followed or stopped as that subscriber.
 */
START_TEST(test_alphanumeric_sender_digits)
{
	raw_start("smpp-ton5");
	raw_bound();
	raw_deliver(11, 5, 0, "0661000001", 0, "STOP", NULL, 0);
	json_t *m = w_next_delivery();
	ck_assert_str_eq(json_string_value(json_object_get(m, "type")), "sms");
	ck_assert_str_eq(json_string_value(json_object_get(m, "sender")), "0661000001");
	json_t *toa = json_object_get(m, "sender_toa");
	ck_assert_msg(json_is_integer(toa) && (json_integer_value(toa) & 0x70) == 0x50,
	    "a TON 5 sender without sender_toa 0x50 (pigeond takes it for a number)");
	json_decref(m);
	/* A phone's number (TON 1): a number, with its +. */
	raw_deliver(12, 1, 1, "212661000001", 0, "STOP", NULL, 0);
	m = w_next_delivery();
	ck_assert_str_eq(json_string_value(json_object_get(m, "sender")), "+212661000001");
	ck_assert_int_eq(json_integer_value(json_object_get(m, "sender_toa")) & 0x70, 0x10);
	json_decref(m);
	teardown();
	raw_stop();
}
END_TEST

/* A TLV (tag, value of len bytes) at p; its length. */
static size_t
raw_tlv(uint8_t *p, uint16_t tag, const void *v, size_t len)
{
	p[0] = (uint8_t)(tag >> 8);
	p[1] = (uint8_t)tag;
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
	memcpy(p + 4, v, len);
	return 4 + len;
}

/*
 * A receipt with esm_class 0 (some SMSCs send theirs so), with its TLVs
 * or with its text alone, is a `report`, not an MO. Before, it came as an
 * `sms` "id:3a000001 ... stat:DELIVRD ...": pigeond published it as the
 * recipient's post to every follower, and the message never turned
 * delivered. An MO that merely mentions "id:" stays an MO.
 */
START_TEST(test_receipt_without_esm_class)
{
	const char *rt = "id:3a000001 sub:001 dlvrd:001 submit date:2512052150 "
	    "done date:2512052151 stat:DELIVRD err:000 text:hello";
	uint8_t tl[64];
	size_t n = raw_tlv(tl, 0x001e, "3a000001", 9);
	uint8_t st = 2;

	n += raw_tlv(tl + n, 0x0427, &st, 1);
	raw_start("smpp-esm0");
	raw_bound();
	raw_deliver(21, 1, 1, "212661234567", 0, rt, tl, n);
	json_t *m = w_next_delivery();
	ck_assert_str_eq(json_string_value(json_object_get(m, "type")), "report");
	ck_assert_str_eq(json_string_value(json_object_get(m, "message_id")), "3a000001");
	ck_assert(json_is_true(json_object_get(m, "delivered")));
	json_decref(m);
	/* The text alone. */
	raw_deliver(22, 1, 1, "212661234567", 0, "id:3a000002 sub:001 dlvrd:000 "
	    "submit date:2512052150 done date:2512052151 stat:UNDELIV err:005 text:",
	    NULL, 0);
	m = w_next_delivery();
	ck_assert_str_eq(json_string_value(json_object_get(m, "type")), "report");
	ck_assert_str_eq(json_string_value(json_object_get(m, "message_id")), "3a000002");
	ck_assert_str_eq(json_string_value(json_object_get(m, "stat")), "UNDELIV");
	ck_assert(json_is_false(json_object_get(m, "delivered")));
	ck_assert(json_is_true(json_object_get(m, "final")));
	json_decref(m);
	/* A member's text is not one. */
	raw_deliver(23, 1, 1, "212661234567", 0, "my id: amina, stat: happy", NULL, 0);
	m = w_next_delivery();
	ck_assert_str_eq(json_string_value(json_object_get(m, "type")), "sms");
	json_decref(m);
	teardown();
	raw_stop();
}
END_TEST

/*
 * message_state and the text's stat: disagreeing: message_state decides
 * stat, delivered and final alike. Before, message_state 2 (DELIVERED)
 * with stat:UNDELIV gave delivered true and stat UNDELIV: the report
 * contradicted itself.
 */
START_TEST(test_receipt_state_and_stat_disagree)
{
	uint8_t tl[64], st = 2;
	size_t n = raw_tlv(tl, 0x001e, "3a000003", 9);

	n += raw_tlv(tl + n, 0x0427, &st, 1);
	raw_start("smpp-state-stat");
	raw_bound();
	raw_deliver(31, 1, 1, "212661234567", 4, "id:3a000003 sub:001 dlvrd:000 "
	    "submit date:2512052150 done date:2512052151 stat:UNDELIV err:001 text:",
	    tl, n);
	json_t *m = w_next_delivery();
	ck_assert_str_eq(json_string_value(json_object_get(m, "type")), "report");
	ck_assert_int_eq(json_integer_value(json_object_get(m, "state")), 2);
	ck_assert(json_is_true(json_object_get(m, "delivered")));
	ck_assert_str_eq(json_string_value(json_object_get(m, "stat")), "DELIVRD");
	json_decref(m);
	/* The same the other way: message_state 5 UNDELIVERABLE. */
	st = 5;
	n = raw_tlv(tl, 0x001e, "3a000004", 9);
	n += raw_tlv(tl + n, 0x0427, &st, 1);
	raw_deliver(32, 1, 1, "212661234567", 4, "id:3a000004 sub:001 dlvrd:001 "
	    "submit date:2512052150 done date:2512052151 stat:DELIVRD err:000 text:",
	    tl, n);
	m = w_next_delivery();
	ck_assert(json_is_false(json_object_get(m, "delivered")));
	ck_assert(json_is_true(json_object_get(m, "final")));
	ck_assert_str_eq(json_string_value(json_object_get(m, "stat")), "UNDELIV");
	json_decref(m);
	teardown();
	raw_stop();
}
END_TEST

/* An international number written with its dialling prefix (TON 1,
 * 00212...) is +212...: +00212... was no number to pigeond, and the
 * member's MO was never applied. */
START_TEST(test_international_with_00)
{
	raw_start("smpp-ton1-00");
	raw_bound();
	raw_deliver(41, 1, 1, "00212661234567", 0, "HELP", NULL, 0);
	json_t *m = w_next_delivery();
	ck_assert_str_eq(json_string_value(json_object_get(m, "sender")), "+212661234567");
	json_decref(m);
	teardown();
	raw_stop();
}
END_TEST

/* A national number written with TON 1 (0661234567, as some SMSCs do)
 * goes to pigeond as it came, which reads it as national: +0661234567
 * was no number, the member's MO never applied. */
START_TEST(test_national_with_ton1)
{
	raw_start("smpp-ton1-0");
	raw_bound();
	raw_deliver(42, 1, 1, "0661234567", 0, "HELP", NULL, 0);
	json_t *m = w_next_delivery();
	ck_assert_str_eq(json_string_value(json_object_get(m, "sender")), "0661234567");
	json_decref(m);
	teardown();
	raw_stop();
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("smpp_worker");
	TCase *tc = tcase_create("smpp_worker");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_window);
	tcase_add_test(tc, test_long_and_ucs2);
	tcase_add_test(tc, test_receipts_hex);
	tcase_add_test(tc, test_receipts_decimal);
	tcase_add_test(tc, test_mo_ack_after_commit);
	tcase_add_test(tc, test_mo_copy_while_waiting);
	tcase_add_test(tc, test_data_sm);
	tcase_add_test(tc, test_throttle_and_queue_full);
	tcase_add_test(tc, test_throttled_part_resent);
	tcase_add_test(tc, test_drop_mid_window);
	tcase_add_test(tc, test_drop_returns_the_unsent);
	tcase_add_test(tc, test_no_answer_timeout);
	tcase_add_test(tc, test_bind_refused);
	tcase_add_test(tc, test_unbind_nack_dead_link);
	tcase_add_test(tc, test_split_bind_and_payload);
	tcase_add_test(tc, test_rate);
	tcase_add_test(tc, test_latin1_default);
	suite_add_tcase(s, tc);
	/* What deliveries become, and their answers when pigeond fails. */
	tc = tcase_create("smpp_worker_mo");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_mo_released);
	tcase_add_test(tc, test_alphanumeric_sender_digits);
	tcase_add_test(tc, test_receipt_without_esm_class);
	tcase_add_test(tc, test_receipt_state_and_stat_disagree);
	tcase_add_test(tc, test_international_with_00);
	tcase_add_test(tc, test_national_with_ton1);
	suite_add_tcase(s, tc);
	return h_main(s);
}

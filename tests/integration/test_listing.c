/*
 * test_listing.c: pigeon-modem serves pigeond during a listing (issue 6).
 *
 * A dummy modem holds a few hundred SMS; while the worker lists them, a
 * `send` is answered between two reads instead of after the listing, and
 * `delete`s wait for the listing's end. Every part is still reported once
 * in the worker's lifetime, and a later listing finds a new SMS.
 *
 * Env: PIGEON_TEST_BIN (pigeon-modem), PIGEON_TEST_TMP.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <check.h>
#include <jansson.h>

#include "harness.h"

#define STORED		300	/* SMS on the modem at start */
#define DELETED		5	/* deleted while the listing runs */
#define WAIT_MS		60000	/* for the whole exchange, under ASan */

static int	 chan = -1;	/* our end of the worker's channel */
static char	 rbuf[1 << 20];
static size_t	 rlen;

static void
say(const char *line)
{
	size_t len = strlen(line), off = 0;

	while (off < len) {
		ssize_t n = write(chan, line + off, len - off);
		if (n == -1 && errno == EAGAIN) {
			struct pollfd p = { .fd = chan, .events = POLLOUT };
			poll(&p, 1, 1000);
			continue;
		}
		ck_assert_msg(n > 0, "write to the worker: %s", strerror(errno));
		off += (size_t)n;
	}
}

/* The worker's next message, or NULL once deadline (h_now_ms) passed. */
static json_t *
next_msg(long deadline)
{
	for (;;) {
		char *nl = memchr(rbuf, '\n', rlen);
		if (nl != NULL) {
			json_error_t err;
			*nl = '\0';
			json_t *m = json_loads(rbuf, 0, &err);
			ck_assert_msg(m != NULL, "bad JSON from the worker: %s", rbuf);
			rlen -= (size_t)(nl + 1 - rbuf);
			memmove(rbuf, nl + 1, rlen);
			return m;
		}
		long left = deadline - h_now_ms();
		if (left <= 0)
			return NULL;
		struct pollfd p = { .fd = chan, .events = POLLIN };
		if (poll(&p, 1, (int)left) <= 0)
			continue;
		ssize_t n = read(chan, rbuf + rlen, sizeof(rbuf) - 1 - rlen);
		ck_assert_msg(n > 0 || (n == -1 && errno == EAGAIN),
		    "the worker closed its channel");
		if (n > 0)
			rlen += (size_t)n;
	}
}

static int
is_type(json_t *m, const char *type)
{
	const char *t = json_string_value(json_object_get(m, "type"));
	return t != NULL && strcmp(t, type) == 0;
}

/* An SMS-backup file at DIR/sms/1/loc, as the dummy driver stores one. */
static void
store_sms(const char *dev, int loc)
{
	char path[1024], text[64], hex[256], body[1024];

	snprintf(text, sizeof(text), "stored %d", loc);
	for (size_t i = 0; text[i] != '\0'; i++)
		sprintf(hex + 4 * i, "00%02X", (unsigned char)text[i]);
	snprintf(body, sizeof(body), "[SMSBackup000]\nSMSC = \"+212600000000\"\n"
	    "PDU = Deliver\nDateTime = 20261126T101010Z\nState = UnRead\n"
	    "Number = \"+2126610%05d\"\nText00 = %s\n"
	    "Coding = Default_No_Compression\nFolder = 1\nLength = %zu\n"
	    "Class = -1\n", loc, hex, strlen(text));
	snprintf(path, sizeof(path), "%s/sms/1/%d", dev, loc);
	ck_assert_int_eq(h_write_file(path, body), 0);
}

START_TEST(test_send_during_listing)
{
	char *dir = h_tmpdir("listing"), dev[1024], sub[1100], log[1100];
	char line[2048];
	static int seen_at[STORED + 2];		/* reports per location */
	int sms = 0, sms_before_sent = -1, sms_before_deleted = -1;
	int deleted = 0, sent = 0, del_loc[DELETED];
	long deadline = h_now_ms() + WAIT_MS;
	json_t *m;

	snprintf(dev, sizeof(dev), "%s/dev", dir);
	snprintf(log, sizeof(log), "%s/worker.log", dir);
	snprintf(sub, sizeof(sub), "%s/sms", dev);
	ck_assert_int_eq(mkdir(dev, 0755), 0);
	ck_assert_int_eq(mkdir(sub, 0755), 0);
	snprintf(sub, sizeof(sub), "%s/sms/1", dev);
	ck_assert_int_eq(mkdir(sub, 0755), 0);
	for (int i = 1; i <= STORED; i++)
		store_sms(dev, i);

	char *argv[] = { (char *)h_bin("pigeon-modem"), "-v", NULL };
	pid_t pid = h_spawn_channel(log, argv, &chan);
	snprintf(line, sizeof(line), "{\"type\":\"config\",\"name\":\"listing\","
	    "\"device\":\"%s\",\"connection\":\"none\",\"model\":\"dummy\","
	    "\"poll_ms\":50}\n", dev);
	say(line);

	/* The send and the deletes go in while the first listing runs. */
	while (sms < STORED || deleted < DELETED || !sent) {
		m = next_msg(deadline);
		ck_assert_msg(m != NULL, "after %d sms, %d deleted, sent %d: "
		    "nothing more", sms, deleted, sent);
		if (is_type(m, "sms")) {
			int loc = (int)json_integer_value(json_object_get(m,
			    "location")) % 10000;
			ck_assert(loc >= 1 && loc <= STORED);
			seen_at[loc]++;
			if (sms < DELETED) {
				del_loc[sms] = (int)json_integer_value(
				    json_object_get(m, "location"));
				snprintf(line, sizeof(line), "{\"type\":\"delete\","
				    "\"folder\":1,\"location\":%d}\n", del_loc[sms]);
				say(line);
			}
			if (++sms == 1)
				say("{\"type\":\"send\",\"id\":7,\"to\":\"+212600000001\","
				    "\"text\":\"during the listing\"}\n");
		} else if (is_type(m, "sent")) {
			ck_assert_int_eq(json_integer_value(json_object_get(m, "id")), 7);
			sms_before_sent = sms;
			sent = 1;
		} else if (is_type(m, "deleted")) {
			if (deleted++ == 0)
				sms_before_deleted = sms;
		} else {
			ck_assert_msg(is_type(m, "ready") || is_type(m, "health") ||
			    is_type(m, "pong"), "unexpected %s",
			    json_string_value(json_object_get(m, "type")));
		}
		json_decref(m);
	}
	/* The send did not wait for the listing; the deletes did. */
	ck_assert_msg(sms_before_sent < STORED,
	    "the send was answered after the whole listing");
	ck_assert_int_eq(sms_before_deleted, STORED);
	for (int i = 0; i < DELETED; i++) {
		struct stat st;
		snprintf(line, sizeof(line), "%s/sms/1/%d", dev, del_loc[i] % 10000);
		ck_assert_msg(stat(line, &st) == -1, "%s still there", line);
	}

	/* A later listing reports a new SMS and nothing twice. */
	store_sms(dev, STORED + 1);
	for (int got = 0; !got;) {
		m = next_msg(deadline);
		ck_assert_msg(m != NULL, "the new SMS was not reported");
		if (is_type(m, "sms")) {
			int loc = (int)json_integer_value(json_object_get(m,
			    "location")) % 10000;
			ck_assert(loc >= 1 && loc <= STORED + 1);
			seen_at[loc]++;
			got = loc == STORED + 1;
		}
		json_decref(m);
	}
	for (int i = 1; i <= STORED + 1; i++)
		ck_assert_msg(seen_at[i] == 1, "location %d reported %d times",
		    i, seen_at[i]);

	close(chan);	/* the worker exits at end of file */
	ck_assert_int_eq(h_stop(pid, 0, 10000), 0);
	h_assert_no_sanitizer_report(log);
	free(dir);
}
END_TEST

static Suite *
listing_suite(void)
{
	Suite *s = suite_create("listing");
	TCase *tc = tcase_create("dummy");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_send_during_listing);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return h_main(listing_suite());
}

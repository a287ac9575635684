/*
 * test_listing.c: pigeon-modem serves pigeond during a listing (issue 6).
 *
 * A dummy modem holds a few hundred SMS; while the worker lists them, a
 * `send` is answered between two reads instead of after the listing, and
 * `delete`s wait for the listing's end. Every part is still reported once
 * in the worker's lifetime, and a later listing finds a new SMS.
 *
 * And over AT (pigeon-modemsim): an SMS announced (+CMTI) as a listing
 * ends, after the modem answered its AT+CMGL, is listed again at once,
 * not at the next poll (poll_ms) a minute later.
 *
 * Env: PIGEON_TEST_BIN (pigeon-modem, pigeon-modemsim), PIGEON_TEST_TMP.
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

static json_t *next_sms(long deadline);

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

/* A dummy modem's folders under dir: dev (DIR/dev) and log (the worker's). */
static void
dummy_dev(const char *dir, char *dev, size_t devlen, char *log, size_t loglen)
{
	char sub[1100];

	snprintf(dev, devlen, "%s/dev", dir);
	snprintf(log, loglen, "%s/worker.log", dir);
	snprintf(sub, sizeof(sub), "%s/sms", dev);
	ck_assert_int_eq(mkdir(dev, 0755), 0);
	ck_assert_int_eq(mkdir(sub, 0755), 0);
	snprintf(sub, sizeof(sub), "%s/sms/1", dev);
	ck_assert_int_eq(mkdir(sub, 0755), 0);
}

/* pigeon-modem on that dummy device, named name; its pid. */
static pid_t
dummy_start(const char *dev, const char *log, const char *name)
{
	char *argv[] = { (char *)h_bin("pigeon-modem"), "-v", NULL };
	char line[2048];
	pid_t pid = h_spawn_channel(log, argv, &chan);

	snprintf(line, sizeof(line), "{\"type\":\"config\",\"name\":\"%s\","
	    "\"device\":\"%s\",\"connection\":\"none\",\"model\":\"dummy\","
	    "\"poll_ms\":50}\n", name, dev);
	say(line);
	return pid;
}

START_TEST(test_send_during_listing)
{
	char *dir = h_tmpdir("listing"), dev[1024], log[1100];
	char line[2048];
	static int seen_at[STORED + 2];		/* reports per location */
	int sms = 0, sms_before_sent = -1, sms_before_deleted = -1;
	int deleted = 0, sent = 0, del_loc[DELETED];
	long deadline = h_now_ms() + WAIT_MS;
	json_t *m;

	dummy_dev(dir, dev, sizeof(dev), log, sizeof(log));
	for (int i = 1; i <= STORED; i++)
		store_sms(dev, i);

	pid_t pid = dummy_start(dev, log, "listing");

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

/*
 * One location, two parts: a dummy SMS-backup file with two sections.
 * pigeond deletes each part once it stored it, not always in one batch;
 * the first `delete` removed the file, so a part pigeond had not stored
 * yet was lost if it stopped before (and the second `delete` failed).
 * Now the file goes with the last part's `delete`.
 */
START_TEST(test_location_of_two_parts)
{
	char *dir = h_tmpdir("listing2"), dev[1024], log[1100];
	char line[2048], path[1200], body[2048];
	long deadline = h_now_ms() + WAIT_MS;
	int sms = 0, location = -1;
	struct stat st;
	json_t *m;

	dummy_dev(dir, dev, sizeof(dev), log, sizeof(log));
	body[0] = '\0';
	for (int i = 0; i < 2; i++) {
		char text[32], hex[128];
		snprintf(text, sizeof(text), "part %d", i + 1);
		for (size_t k = 0; text[k] != '\0'; k++)
			sprintf(hex + 4 * k, "00%02X", (unsigned char)text[k]);
		snprintf(body + strlen(body), sizeof(body) - strlen(body),
		    "[SMSBackup%03d]\nSMSC = \"+212600000000\"\nPDU = Deliver\n"
		    "DateTime = 20261126T10101%dZ\nState = UnRead\n"
		    "Number = \"+212661000077\"\nText00 = %s\n"
		    "Coding = Default_No_Compression\nFolder = 1\nLength = %zu\n"
		    "Class = -1\n\n", i, i, hex, strlen(text));
	}
	snprintf(path, sizeof(path), "%s/sms/1/1", dev);
	ck_assert_int_eq(h_write_file(path, body), 0);

	pid_t pid = dummy_start(dev, log, "two");
	while (sms < 2) {
		m = next_sms(deadline);
		ck_assert_msg(m != NULL, "%d part(s) reported", sms);
		int loc = (int)json_integer_value(json_object_get(m, "location"));
		ck_assert(location == -1 || loc == location);
		location = loc;
		sms++;
		json_decref(m);
	}

	/* The first part stored: the file stays, for the second; then the
	 * second: now it goes. */
	snprintf(line, sizeof(line), "{\"type\":\"delete\",\"folder\":1,"
	    "\"location\":%d}\n", location);
	for (int i = 0; i < 2; i++) {
		say(line);
		while ((m = next_msg(deadline)) != NULL && !is_type(m, "deleted")) {
			ck_assert_msg(!is_type(m, "delete_failed"), "delete %d failed", i + 1);
			json_decref(m);
		}
		ck_assert_msg(m != NULL, "no answer to delete %d", i + 1);
		json_decref(m);
		ck_assert_msg((stat(path, &st) == 0) == (i == 0), "after delete %d, %s %s",
		    i + 1, path, i == 0 ? "was removed" : "is still there");
	}

	close(chan);
	chan = -1;
	rlen = 0;
	ck_assert_int_eq(h_stop(pid, 0, 10000), 0);
	h_assert_no_sanitizer_report(log);
	free(dir);
}
END_TEST

/* ---------------------------------------------------------------- */

#define AT_POLL_MS	60000	/* the fallback listing: out of the test's reach */
#define AT_PROMPT_MS	15000	/* "at once", under ASan on a busy machine */

static char	 sim_dir[1100];
static pid_t	 sim_pid = -1;

static int
sim_tty_exists(void *arg)
{
	char path[sizeof(sim_dir) + 8];

	(void)arg;
	snprintf(path, sizeof(path), "%s/tty", sim_dir);
	return access(path, F_OK) == 0;
}

static void
simctl(const char *args)
{
	char *out;
	int rc = h_run(&out, "%s %s 2>&1", h_bin("pigeon-modemsim"), args);

	ck_assert_msg(rc == 0, "pigeon-modemsim %s: %s", args, out);
	free(out);
}

/* The simulator holds an AT+CMGL answer (fault list-hold). */
static int
sim_list_held(void *arg)
{
	char *out = NULL;
	int held;

	(void)arg;
	held = h_run(&out, "%s status %s", h_bin("pigeon-modemsim"), sim_dir) == 0 &&
	    strstr(out, "\"list_held\":true") != NULL;
	free(out);
	if (!held)
		h_sleep_ms(200);	/* each look runs a program (ASan) */
	return held;
}

/* The worker's next `sms`; other messages are skipped. */
static json_t *
next_sms(long deadline)
{
	json_t *m;

	while ((m = next_msg(deadline)) != NULL) {
		if (is_type(m, "sms"))
			return m;
		ck_assert_msg(!is_type(m, "error"), "worker error: %s",
		    json_string_value(json_object_get(m, "error")));
		json_decref(m);
	}
	return NULL;
}

START_TEST(test_announced_as_listing_ends)
{
	char *dir = h_tmpdir("listing_at"), log[1100], simlog[1100], gammu[1100];
	char line[4096], args[1200];
	json_t *m;

	snprintf(sim_dir, sizeof(sim_dir), "%s/modem", dir);
	snprintf(simlog, sizeof(simlog), "%s/sim.log", dir);
	snprintf(log, sizeof(log), "%s/worker.log", dir);
	snprintf(gammu, sizeof(gammu), "%s/gammu.log", dir);
	char *sargv[] = { (char *)h_bin("pigeon-modemsim"), "serve", sim_dir, "-v",
	    NULL };
	sim_pid = h_spawn(simlog, sargv);
	ck_assert_msg(h_wait_for(sim_tty_exists, NULL, WAIT_MS) == 0,
	    "simulator never made %s/tty (log: %s)", sim_dir, simlog);

	/* One SMS waits on the SIM; the worker's first listing is held. */
	snprintf(args, sizeof(args), "deliver %s +212661000041 'before the "
	    "listing'", sim_dir);
	simctl(args);
	snprintf(args, sizeof(args), "fault %s list-hold 1", sim_dir);
	simctl(args);

	char *argv[] = { (char *)h_bin("pigeon-modem"), "-v", NULL };
	pid_t pid = h_spawn_channel(log, argv, &chan);
	snprintf(line, sizeof(line), "{\"type\":\"config\",\"name\":\"listing_at\","
	    "\"device\":\"%s/tty\",\"connection\":\"at\",\"model\":\"\","
	    "\"logfile\":\"%s\",\"logformat\":\"textalldate\",\"poll_ms\":%d}\n",
	    sim_dir, gammu, AT_POLL_MS);
	say(line);
	ck_assert_msg(h_wait_for(sim_list_held, NULL, WAIT_MS) == 0,
	    "the worker never listed (log: %s)", log);

	/* A report comes while the modem answers AT+CMGL: it is stored
	 * after the answer was made, and announced right after it. */
	snprintf(args, sizeof(args), "report %s +212661000042 77 0", sim_dir);
	simctl(args);
	snprintf(args, sizeof(args), "fault %s list-hold 0", sim_dir);
	simctl(args);

	long deadline = h_now_ms() + WAIT_MS;
	m = next_sms(deadline);
	ck_assert_msg(m != NULL, "the held listing reported nothing");
	ck_assert_str_eq(json_string_value(json_object_get(m, "text")),
	    "before the listing");
	json_decref(m);

	/* The report, at once: not a minute later at the next poll. */
	long t0 = h_now_ms();
	m = next_sms(t0 + AT_PROMPT_MS);
	ck_assert_msg(m != NULL, "the report announced as the listing ended "
	    "was not listed within %d ms (poll_ms %d)", AT_PROMPT_MS, AT_POLL_MS);
	ck_assert(json_is_true(json_object_get(m, "status_report")));
	ck_assert_int_eq(json_integer_value(json_object_get(m, "ref")), 77);
	ck_assert_str_eq(json_string_value(json_object_get(m, "sender")),
	    "+212661000042");
	json_decref(m);

	close(chan);
	chan = -1;
	ck_assert_int_eq(h_stop(pid, 0, 10000), 0);
	ck_assert_int_eq(h_stop(sim_pid, SIGTERM, 10000), 0);
	sim_pid = -1;
	h_assert_no_sanitizer_report(log);
	h_assert_no_sanitizer_report(simlog);
	free(dir);
}
END_TEST

/* A failed check leaves the test early: the simulator goes too. */
static void
at_teardown(void)
{
	if (sim_pid > 0)
		h_stop(sim_pid, SIGKILL, 5000);
	sim_pid = -1;
}

static Suite *
listing_suite(void)
{
	Suite *s = suite_create("listing");
	TCase *tc = tcase_create("dummy");
	TCase *at = tcase_create("at");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_send_during_listing);
	tcase_add_test(tc, test_location_of_two_parts);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(at, NULL, at_teardown);
	tcase_set_timeout(at, 120);
	tcase_add_test(at, test_announced_as_listing_ends);
	suite_add_tcase(s, at);
	return s;
}

int
main(void)
{
	return h_main(listing_suite());
}

/*
 * Issue 18, item 5: the duplicate window of docs/reliability.md, measured.
 * It opens when the network accepts an SMS (the modem answers +CMGS) and
 * closes when pigeond has the worker's `sent` (then the outcome waits for
 * its commit in pigeond's next batch). A crash inside it sends the SMS
 * again.
 *
 * Real pigeond, pigeon-modem and pigeon-modemsim: the simulator logs each
 * answer just before writing it ("sent to ..., reference N"), pigeond logs
 * each `sent` as it reads it ("outbox ID: sent via sim0"); one modem sends
 * one SMS at a time, so the k-th of each belong together. Measured twice:
 * with the simulator answering at once, and with it answering after
 * 1 s as a network does (send-delay). libgammu's ATGEN_SendSMS sleeps
 * 100 ms after writing Ctrl-Z before it reads anything, so an answer
 * faster than that waits in the tty for the rest of the sleep: that, not
 * the worker, is where an instant answer's 100 ms go. An answer that comes
 * after the sleep, as every network's does, is read by the worker's wait
 * loop (gsmsend.c, gsm_send_part) within libgammu's 5 ms read poll.
 *
 * Prints "WINDOW|network answer|n|median ms|p90 ms|max ms" lines. Run by
 * make test-reliability only (about a minute and a half).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "harness.h"

static struct h_gateway g;

static void
setup(void)
{
	memset(&g, 0, sizeof(g));
	g.extra_config = "limit_minute = 100000\nlimit_day = 1000000\n";
	h_gateway_start(&g, "rel_window", 1);
}

static void
teardown(void)
{
	h_gateway_stop(&g);
}

/* Milliseconds since midnight of each line holding needle, after skip
 * bytes of the log at path; returns how many (at most max). */
static int
stamps(const char *path, size_t skip, const char *needle, long *ms, int max)
{
	char *text = h_read_file(path);
	int n = 0;

	ck_assert_ptr_nonnull(text);
	ck_assert_uint_ge(strlen(text), skip);
	for (char *l = strtok(text + skip, "\n"); l && n < max; l = strtok(NULL, "\n")) {
		int hh, mm, ss, mss;
		if (strstr(l, needle) && sscanf(l, "%d:%d:%d.%d", &hh, &mm, &ss, &mss) == 4)
			ms[n++] = ((hh * 60L + mm) * 60 + ss) * 1000 + mss;
	}
	free(text);
	return n;
}

static size_t
file_size(const char *path)
{
	char *text = h_read_file(path);
	size_t n = text ? strlen(text) : 0;
	free(text);
	return n;
}

static int
cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;
	return (x > y) - (x < y);
}

/* Sends n messages with the simulator answering after delay_ms; prints
 * the window's figures; returns its median. */
static long
measure(int delay_ms, int n)
{
	char fault[32], sim_log[512], gw_log[512];
	long a[256], b[256], d[256];

	snprintf(fault, sizeof(fault), "send-delay %d", delay_ms);
	ck_assert_int_eq(h_sim_fault(&g, 0, fault), 0);
	snprintf(sim_log, sizeof(sim_log), "%s/sim0.log", g.dir);
	snprintf(gw_log, sizeof(gw_log), "%s/pigeond.log", g.dir);
	size_t sim_skip = file_size(sim_log), gw_skip = file_size(gw_log);
	long last = 0;
	for (int i = 0; i < n; i++) {
		char to[32], text[32];
		snprintf(to, sizeof(to), "+2126670%05d", delay_ms * 100 + i);
		snprintf(text, sizeof(text), "window %d %d", delay_ms, i);
		last = h_outbox_add(&g, to, text, 1);
	}
	h_wait_outbox(&g, last, "sent", 300000);
	/* The last outcome is logged before its commit; give the log a moment. */
	ck_assert_int_eq(h_wait_file_contains(gw_log, "sent via", 1000), 0);
	/* The simulator logs numbers masked: +212667***NNN. */
	int na = stamps(sim_log, sim_skip, "sent to +212667", a, 256);
	int nb = stamps(gw_log, gw_skip, ": sent via sim0", b, 256);
	ck_assert_int_eq(na, n);
	ck_assert_int_eq(nb, n);
	for (int i = 0; i < n; i++)
		d[i] = b[i] - a[i];
	qsort(d, n, sizeof(long), cmp_long);
	fprintf(stderr, "WINDOW|answer after %d ms|%d|%ld|%ld|%ld\n", delay_ms, n,
	    d[n / 2], d[(n * 9) / 10], d[n - 1]);
	return d[n / 2];
}

START_TEST(test_window)
{
	int n = getenv("PIGEON_REL_LONG") ? 60 : 20;
	long instant = measure(0, n);
	long network = measure(1000, n);
	/* An instant answer waits out libgammu's 100 ms sleep after Ctrl-Z. */
	ck_assert_int_ge(instant, 50);
	/* A network's answer is passed on within a few milliseconds. */
	ck_assert_int_le(network, 25);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("rel_window");
	TCase *tc = tcase_create("window");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_window);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return h_main(suite());
}

/*
 * Issue 7: two pigeond hosts (hostnames from their directories), each with
 * two modems of its own (tests/reliability/fake-modem: a0 a1 and b0 b1),
 * on one database. The queue is shared without double claims; host A is
 * SIGKILLed mid-dispatch and host B sends the whole backlog, A's leased
 * rows included once their lease (lease_seconds = 5) has expired. A's
 * modem a0 hangs in its first send (the fake's stall file), so A surely
 * holds a lease when it dies.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "harness.h"

static struct h_gateway a, b;
static char *fake_dir;
static int n_msgs;

static void
setup(void)
{
	char cwd[1024];
	static char extra[1400];

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	n_msgs = getenv("PIGEON_REL_LONG") ? 3000 : 400;
	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	fake_dir = h_tmpdir("hosts-fake");
	setenv("PIGEON_FAKE_DIR", fake_dir, 1);
	setenv("PIGEON_FAKE_SEND_MS", "20", 1);
	snprintf(extra, sizeof(extra),
	    "modem_program = %s/tests/reliability/fake-modem\nlease_seconds = 5\n", cwd);
	a.extra_config = b.extra_config = extra;
	a.modem_prefix = "a";
	b.modem_prefix = "b";
	h_gateway_start(&a, "rel_hosts", 2);
	h_gateway_start_on(&b, "rel_hosts_b", 2, a.conninfo);
}

static void
teardown(void)
{
	h_gateway_stop(&b);
	h_gateway_stop(&a);
	unsetenv("PIGEON_FAKE_DIR");
	unsetenv("PIGEON_FAKE_SEND_MS");
	free(fake_dir);
}

/* Sends per outbox id on one host's modems (prefix), from the fakes' logs. */
static void
sends_of(const char *prefix, long first_id, int *per_id)
{
	for (int i = 0; i < 2; i++) {
		char name[16];
		snprintf(name, sizeof(name), "%s%d", prefix, i);
		h_fake_sends(fake_dir, name, first_id, n_msgs, per_id);
	}
}

struct done_arg {
	struct h_gateway *g;
	long want;
};

static int
all_sent(void *p)
{
	struct done_arg *d = p;
	return h_db_long(d->g->db, "SELECT count(*) FROM outbox WHERE text LIKE 'shared %' "
	    "AND state IN ('sent', 'delivered')", 0, NULL) >= d->want;
}

static char *
fake_path(const char *modem, const char *ext)
{
	return h_strf("%s/%s.%s", fake_dir, modem, ext);
}

/* A is in the middle of its dispatch: a0 hangs in a send (it took its
 * stall file), so A holds that row as 'sending', and B has sent too. */
static int
a_mid_send(void *unused)
{
	char *stall = fake_path("a0", "stall");
	int taken = access(stall, F_OK) != 0;
	free(stall);
	if (!taken ||
	    h_db_long(b.db, "SELECT count(*) FROM outbox WHERE state = 'sending' AND "
	    "host LIKE $1", 1, (const char *[]){ "rel_hosts.%" }) < 1 ||
	    h_db_long(b.db, "SELECT count(*) FROM outbox WHERE text LIKE 'shared %' AND "
	    "state IN ('sent', 'delivered') AND modem IN ('b0', 'b1')", 0, NULL) < 1) {
		h_sleep_ms(20);
		return 0;
	}
	return 1;
}

START_TEST(test_shared_queue_and_failover)
{
	/* a0's first send hangs until the kill below. */
	char *stall = fake_path("a0", "stall");
	ck_assert_int_eq(h_write_file(stall, ""), 0);
	free(stall);
	char n[16];
	snprintf(n, sizeof(n), "%d", n_msgs);
	const char *param[] = { n };
	long t0 = h_now_ms();
	long first_id = h_db_long(a.db,
	    "WITH i AS (INSERT INTO outbox (recipient, text, class) "
	    "SELECT '+212665' || lpad(k::text, 6, '0'), 'shared ' || k, 1::smallint "
	    "FROM generate_series(1, $1::int) k RETURNING id) SELECT min(id) FROM i",
	    1, param);
	ck_assert_int_gt(first_id, 0);
	h_db_long(a.db, "SELECT 1 FROM pg_notify('pigeon_outbox', '')", 0, NULL);

	/* Both hosts send; then A dies with its leases: once a0 hangs in
	 * its send (so A still holds that row however loaded the machine;
	 * the hung worker dies with pigeond) and B has sent some. */
	ck_assert_int_eq(h_wait_for(a_mid_send, NULL, 60000), 0);
	h_stop(a.pigeond, SIGKILL, 1000);
	a.pigeond = 0;
	long t_kill = h_now_ms();
	long at_kill = h_db_long(b.db, "SELECT count(*) FROM outbox WHERE text LIKE 'shared %' "
	    "AND state IN ('sent', 'delivered')", 0, NULL);
	long leased = h_db_long(b.db, "SELECT count(*) FROM outbox WHERE state = 'sending' "
	    "AND host LIKE $1", 1, (const char *[]){ "rel_hosts.%" });
	struct done_arg d = { &b, n_msgs };
	ck_assert_int_eq(h_wait_for(all_sent, &d, 300000), 0);
	long t_done = h_now_ms();

	int *pa = calloc((size_t)n_msgs, sizeof(int)), *pb = calloc((size_t)n_msgs, sizeof(int));
	sends_of("a", first_id, pa);
	sends_of("b", first_id, pb);
	long by_a = 0, by_b = 0, both = 0, missing = 0, dups = 0;
	for (int i = 0; i < n_msgs; i++) {
		by_a += pa[i] > 0;
		by_b += pb[i] > 0;
		both += pa[i] > 0 && pb[i] > 0;
		missing += pa[i] + pb[i] == 0;
		dups += pa[i] + pb[i] > 1 ? pa[i] + pb[i] - 1 : 0;
	}
	free(pa);
	free(pb);
	fprintf(stderr, "rel: two hosts: A sent %ld, B sent %ld, %ld sent at A's kill, "
	    "%ld leased to A then, sent by both %ld; backlog done %.1f s after the kill\n",
	    by_a, by_b, at_kill, leased, both, (t_done - t_kill) / 1000.0);
	fprintf(stderr, "REL|two hosts, one SIGKILLed|host A SIGKILL|%d|%ld|%ld|%ld|%.1f s\n",
	    n_msgs, n_msgs - missing, missing, dups, (t_done - t0) / 1000.0);
	ck_assert_int_eq(missing, 0);
	/* A's leases were taken over: what it held at its death was sent
	 * once they expired (by B, the only host left). */
	ck_assert_int_gt(leased, 0);
	ck_assert_int_gt(by_a, 0);
	ck_assert_int_gt(by_b, 0);
	/* No double claim: only what A had in flight (one per modem) went twice. */
	ck_assert_int_le(both, 2);
	ck_assert_int_le(dups, 2);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("rel_hosts");
	TCase *tc = tcase_create("hosts");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_shared_queue_and_failover);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return h_main(suite());
}

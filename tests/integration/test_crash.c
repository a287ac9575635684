/*
 * pigeond killed (SIGKILL) after SMS were committed to the inbox and before
 * the modem deleted them: after a restart every SMS is posted exactly once.
 *
 * The window is held open reliably by the simulator's delete-error fault:
 * deletions fail, so the SMS stay on the modem after their commit.
 *
 * Also: a transient database error while the inbox is applied keeps one
 * phone's commands in the order it sent them, and a message that always
 * fails so does not hold the others for ever; the database's disk full
 * while outcomes and SMS are stored (a trigger of the test's raises
 * PostgreSQL's own error, SQLSTATE 53100, while a flag row is set) loses
 * and doubles nothing, not even across a modem removed, forgotten and
 * put back with a new SIM.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "harness.h"

#define ALICE	"+212661000001"
#define BOB	"+212661000002"
#define CAROL	"+212661000003"
#define NPOSTS	6
#define WAIT_MS	60000
#define TOKEN	"crash-token-0123456789abcdef0123456789"

static struct h_gateway g;

static int
fault(int modem, const char *name, const char *value)
{
	char *argv[] = { (char *)h_bin("pigeon-modemsim"), "fault", g.sim_dir[modem],
	    (char *)name, (char *)value, NULL };
	return h_exec(NULL, argv);
}

struct count_arg {
	const char *sql;
	long want;
};

static int
db_count_is(void *p)
{
	struct count_arg *a = p;
	return h_db_long(g.db, a->sql, 0, NULL) == a->want;
}

START_TEST(test_kill_between_commit_and_delete)
{
	char text[64];

	h_gateway_start(&g, "crash", 2);
	ck_assert_int_eq(h_text(&g, 0, ALICE, "JOIN alice"), 0);
	ck_assert_int_eq(h_text(&g, 1, BOB, "JOIN bob"), 0);
	ck_assert_int_eq(h_wait_received(&g, BOB, "@bob", WAIT_MS), 0);
	/* Alice's JOIN is read by the other modem: applied before the
	 * FOLLOW, or bob follows nobody ("There is nobody called @alice",
	 * which the wait below took for the answer). */
	ck_assert_int_eq(h_wait_received(&g, ALICE, "@alice", WAIT_MS), 0);
	ck_assert_int_eq(h_text(&g, 1, BOB, "FOLLOW alice"), 0);
	ck_assert_int_eq(h_wait_received(&g, BOB, "You now follow @alice", WAIT_MS), 0);

	/* Deletions fail from now on: committed SMS stay on modem 0. */
	ck_assert_int_eq(fault(0, "delete-error", "1"), 0);
	for (int i = 1; i <= NPOSTS; i++) {
		snprintf(text, sizeof(text), "post number %d", i);
		ck_assert_int_eq(h_text(&g, 0, ALICE, text), 0);
	}
	struct count_arg posts = { "SELECT count(*) FROM posts", NPOSTS };
	ck_assert_int_eq(h_wait_for(db_count_is, &posts, WAIT_MS), 0);
	/* Committed, yet still on the modem: the window is open. */
	ck_assert_int_eq(h_stored_count(&g, 0), NPOSTS);

	h_stop(g.pigeond, SIGKILL, 1000);
	ck_assert_int_eq(fault(0, "delete-error", "0"), 0);
	h_pigeond_start(&g);

	/* The new workers re-read every SMS; the inbox drops them; they go. */
	ck_assert_int_eq(h_wait_stored(&g, 0, 0, WAIT_MS), 0);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM posts", 0, NULL), NPOSTS);
	ck_assert_int_eq(h_db_long(g.db,
	    "SELECT count(DISTINCT text) FROM posts", 0, NULL), NPOSTS);
	ck_assert_int_eq(h_db_long(g.db,
	    "SELECT count(*) FROM inbox_parts WHERE text LIKE 'post number %'", 0, NULL),
	    NPOSTS);

	/* Bob gets every post; a send cut by the kill may come twice, no more. */
	for (int i = 1; i <= NPOSTS; i++) {
		snprintf(text, sizeof(text), "@alice: post number %d\n", i);
		ck_assert_int_eq(h_wait_received(&g, BOB, text, WAIT_MS), 0);
	}
	char *got = h_received(&g, BOB);
	int dups = h_received_count(&g, BOB) - (2 + NPOSTS);
	fprintf(stderr, "duplicates after the kill: %d\n", dups);
	ck_assert_int_le(dups, g.nmodems);
	free(got);
	h_gateway_stop(&g);
}
END_TEST

/*
 * Alice texts "FOLLOW bob" then "OFF bob" (follow, without his posts by
 * SMS); both are read in one listing, so one fetch applies them in one
 * batch. Her FOLLOW meets a deadlock twice (a trigger of this test's
 * database raises 40P01 for her first two follows): the batch is rolled
 * back, and applied one by one, where the FOLLOW fails again. OFF used to
 * be applied then, before the FOLLOW ("you do not follow @bob"), and the
 * FOLLOW a later fetch: Alice got every post of Bob's by SMS. Now OFF
 * waits for her FOLLOW, which is fetched again a second later, without
 * another SMS to wake the inbox.
 */
START_TEST(test_transient_error_keeps_order)
{
	h_gateway_start(&g, "crash_order", 1);
	h_join(&g, 0, ALICE, "alice", WAIT_MS);
	h_join(&g, 0, BOB, "bob", WAIT_MS);
	h_join(&g, 0, CAROL, "carol", WAIT_MS);

	h_db_exec(g.db, "CREATE SEQUENCE test_follow_deadlocks");
	h_db_exec(g.db, "CREATE FUNCTION test_follow_deadlock() RETURNS trigger "
	    "LANGUAGE plpgsql AS $$ BEGIN "
	    "IF NEW.follower = (SELECT id FROM accounts WHERE handle = 'alice') "
	    "AND nextval('test_follow_deadlocks') <= 2 THEN "
	    "RAISE EXCEPTION 'deadlock injected by the test' USING ERRCODE = '40P01'; "
	    "END IF; RETURN NEW; END $$");
	h_db_exec(g.db, "CREATE TRIGGER test_follow_deadlock BEFORE INSERT ON follows "
	    "FOR EACH ROW EXECUTE FUNCTION test_follow_deadlock()");
	/* Two SMS of one listing, as pigeon_inbox_store makes them. */
	h_db_exec(g.db, "INSERT INTO inbox_messages (modem, sender, sender_kind, "
	    "text, parts) VALUES ('sim0', '+212661000001', 'e164', 'FOLLOW bob', 1), "
	    "('sim0', '+212661000001', 'e164', 'OFF bob', 1)");	/* ALICE */
	/* Any SMS wakes the inbox; Carol's comes with them in one fetch. */
	ck_assert_int_eq(h_text(&g, 0, CAROL, "FOLLOW bob"), 0);

	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM inbox_messages "
	    "WHERE sender = $1 AND text = 'OFF bob' AND state <> 'new'",
	    ALICE, "1", WAIT_MS), 0);
	/* Nothing else comes in: the inbox must come back to the FOLLOW by
	 * itself. (If it does not, Carol wakes it, to see the order too.) */
	int stalled = h_wait_db(&g, "SELECT count(*) FROM inbox_messages "
	    "WHERE sender = $1 AND text IN ('FOLLOW bob', 'OFF bob') "
	    "AND state <> 'new'", ALICE, "2", WAIT_MS / 2);
	if (stalled) {
		ck_assert_int_eq(h_text(&g, 0, CAROL, "HELP"), 0);
		ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM inbox_messages "
		    "WHERE sender = $1 AND state = 'new'", ALICE, "0",
		    WAIT_MS), 0);
	}
	/* She follows Bob, without his posts by SMS. */
	ck_assert_msg(h_db_long(g.db, "SELECT count(*) FROM follows f "
	    "JOIN accounts a ON a.id = f.follower JOIN accounts b ON b.id = f.followee "
	    "WHERE a.handle = 'alice' AND b.handle = 'bob' AND NOT f.sms", 0, NULL) == 1,
	    "OFF bob was applied before FOLLOW bob: %s", h_received(&g, ALICE));
	ck_assert_msg(!stalled, "FOLLOW bob stayed 'new' until another SMS came");
	ck_assert_int_eq(h_db_long(g.db, "SELECT last_value FROM test_follow_deadlocks",
	    0, NULL), 3);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM follows f "
	    "JOIN accounts c ON c.id = f.follower WHERE c.handle = 'carol'", 0, NULL), 1);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM inbox_messages "
	    "WHERE state = 'error'", 0, NULL), 0);
	h_gateway_stop(&g);
}
END_TEST

/*
 * A message whose own statement always fails transiently (here a
 * statement timeout, 57014, raised by this test's trigger for Dave's
 * follows) held every message behind it: the inbox is applied in order,
 * and it came first at each fetch. After 5 failures in a row it is kept
 * as an error, and Erin's FOLLOW, behind it, is applied.
 */
START_TEST(test_stuck_message)
{
	const char *dave = "+212661000004", *erin = "+212661000005";

	h_gateway_start(&g, "crash_stuck", 1);
	h_join(&g, 0, BOB, "bob", WAIT_MS);
	h_join(&g, 0, dave, "dave", WAIT_MS);
	h_join(&g, 0, erin, "erin", WAIT_MS);

	h_db_exec(g.db, "CREATE FUNCTION test_follow_timeout() RETURNS trigger "
	    "LANGUAGE plpgsql AS $$ BEGIN "
	    "IF NEW.follower = (SELECT id FROM accounts WHERE handle = 'dave') THEN "
	    "RAISE EXCEPTION 'timeout injected by the test' USING ERRCODE = '57014'; "
	    "END IF; RETURN NEW; END $$");
	h_db_exec(g.db, "CREATE TRIGGER test_follow_timeout BEFORE INSERT ON follows "
	    "FOR EACH ROW EXECUTE FUNCTION test_follow_timeout()");
	h_db_exec(g.db, "INSERT INTO inbox_messages (modem, sender, sender_kind, "
	    "text, parts) VALUES ('sim0', '+212661000004', 'e164', 'FOLLOW bob', 1), "
	    "('sim0', '+212661000005', 'e164', 'FOLLOW bob', 1)");	/* dave, erin */
	ck_assert_int_eq(h_text(&g, 0, BOB, "HELP"), 0);	/* wakes the inbox */

	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM follows f JOIN accounts a "
	    "ON a.id = f.follower WHERE a.phone = $1", erin, "1", WAIT_MS), 0);
	ck_assert_int_eq(h_wait_db(&g, "SELECT state || ': ' || left(result, 23) FROM "
	    "inbox_messages WHERE sender = $1 AND text = 'FOLLOW bob'", dave,
	    "error: failed 5 times in a row", WAIT_MS), 0);
	h_gateway_stop(&g);
}
END_TEST

/*
 * The disk full, as PostgreSQL says it ("could not extend file ...: No
 * space left on device", SQLSTATE 53100), while test_disk_full has a
 * row: raised by a trigger of the test's on table for the writes that
 * when says (a WHEN clause of the trigger).
 */
static void
disk_full_install(void)
{
	/* A flag row: its error (the disk full, unless it says another). */
	h_db_exec(g.db, "CREATE TABLE test_disk_full (since timestamptz, "
	    "code text DEFAULT '53100', msg text DEFAULT 'could not extend file "
	    "\"base/16384/16402\": No space left on device')");
	h_db_exec(g.db, "CREATE FUNCTION test_disk_full() RETURNS trigger "
	    "LANGUAGE plpgsql AS $$ DECLARE r record; BEGIN "
	    "SELECT * INTO r FROM test_disk_full LIMIT 1; "
	    "IF FOUND THEN "
	    "RAISE EXCEPTION USING MESSAGE = r.msg, ERRCODE = r.code; "
	    "END IF; RETURN NEW; END $$");
}

/* The database's transactions rolled back so far (each write the fault
 * refused is one): refusals() before a fault, then refused_again() waits
 * until the fault has refused n more, pigeond trying again meanwhile. */
static long
refusals(void)
{
	return h_db_long(g.db, "SELECT xact_rollback FROM pg_stat_database "
	    "WHERE datname = current_database()", 0, NULL);
}

static void
refused_again(long since, int n)
{
	char *want = h_strf("%ld", since + n);

	ck_assert_msg(h_wait_db(&g, "SELECT least(xact_rollback, $1::bigint) "
	    "FROM pg_stat_database WHERE datname = current_database()", want, want,
	    WAIT_MS) == 0, "the fault did not refuse %d more writes", n);
	free(want);
}

/*
 * The data disk fills during a send: the outcome `sent` cannot be
 * recorded. It was tried again alone, then forgotten: the row stayed
 * `sending` until its lease ran out (5 s here), went back to the queue
 * (pigeon_outbox_reclaim, every 30 s) and every phone got its SMS twice.
 * Now the outcomes are held while the disk is full, the expired leases
 * of this host are not returned meanwhile, and once there is space the
 * outcomes are recorded: each phone gets its SMS once.
 */
START_TEST(test_outcome_disk_full)
{
	static const char *const phones[] = {
		"+212661000011", "+212661000012", "+212661000013", "+212661000014"
	};
	char *log;

	g.extra_config = "lease_seconds = 5";
	h_gateway_start(&g, "crash_disk_out", 2);
	g.extra_config = NULL;
	disk_full_install();
	/* Outcomes (and leases returned): the row leaves `sending`. */
	h_db_exec(g.db, "CREATE TRIGGER test_disk_full BEFORE UPDATE ON outbox "
	    "FOR EACH ROW WHEN (OLD.state = 'sending' AND NEW.state <> 'sending') "
	    "EXECUTE FUNCTION test_disk_full()");
	h_db_exec(g.db, "INSERT INTO test_disk_full VALUES (now())");
	for (int i = 0; i < 4; i++)
		ck_assert_int_gt(h_outbox_add(&g, phones[i], "Tomorrow at 9, the well", 0), 0);
	log = h_strf("%s/pigeond.log", g.dir);
	ck_assert_int_eq(h_wait_file_contains(log, "No space left on device", WAIT_MS), 0);
	/* The fault lasts past the leases' end, by 2 s. (A modem whose
	 * outcome is held sends nothing more.) */
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM outbox WHERE state = 'sending' "
	    "AND lease_until > now() - interval '2 seconds'", NULL, "0", WAIT_MS), 0);
	h_db_exec(g.db, "DELETE FROM test_disk_full");
	/* Space again: each sent and recorded, without another send (a
	 * lease returned waits up to 30 s for the janitor, then goes out
	 * again). */
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(h_wait_received(&g, phones[i], "Tomorrow at 9", WAIT_MS), 0);
	ck_assert_int_eq(h_wait_db(&g, "SELECT count(*) FROM outbox WHERE state = 'sent' "
	    "AND text = $1", "Tomorrow at 9, the well", "4", WAIT_MS), 0);
	ck_assert_int_eq(h_gateway_settle(&g, WAIT_MS), 0);
	for (int i = 0; i < 4; i++)
		ck_assert_msg(h_received_count(&g, phones[i]) == 1, "%s got: %s",
		    phones[i], h_received(&g, phones[i]));
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM outbox WHERE attempts <> 1",
	    0, NULL), 0);
	free(log);
	h_gateway_stop(&g);
}
END_TEST

/* /healthz answers code with `want` in its body. */
struct health_arg {
	int	 code;
	const char *want;
};

static int
healthz_says(void *p)
{
	struct health_arg *a = p;
	char *body = NULL;
	int code = h_http_get(g.http_port, "/healthz", &body);
	int ok = code == a->code && body != NULL && strstr(body, a->want) != NULL;

	free(body);
	return ok;
}

/*
 * An SMS that comes while the database refuses to store it, the flag
 * row's error: pigeond forgot it and the worker, which had reported its
 * location, never did again: it stayed on the SIM until the worker
 * restarted. Now it is held (still on the SIM), /healthz says so (it
 * said ok), and it is stored, answered and deleted from the SIM once the
 * database takes it.
 */
static void
sms_refused(const char *name, const char *code, const char *msg, const char *logged)
{
	const char *flag[] = { code, msg };
	struct health_arg refusing = { 503, "\"database\":\"refusing writes\"" };
	struct health_arg fine = { 200, "\"status\":\"ok\"" };
	char *log;

	h_gateway_start(&g, name, 1);
	disk_full_install();
	h_db_exec(g.db, "CREATE TRIGGER test_disk_full BEFORE INSERT ON inbox_parts "
	    "FOR EACH ROW EXECUTE FUNCTION test_disk_full()");
	free(h_db_value(g.db, "INSERT INTO test_disk_full (since, code, msg) "
	    "VALUES (now(), $1, $2) RETURNING 1", 2, flag));
	long before = refusals();
	ck_assert_int_eq(h_text(&g, 0, ALICE, "JOIN alice"), 0);
	log = h_strf("%s/pigeond.log", g.dir);
	ck_assert_int_eq(h_wait_file_contains(log, logged, WAIT_MS), 0);
	/* The SMS's store refused and tried again (every second), twice more. */
	refused_again(before, 3);
	ck_assert_int_eq(h_stored_count(&g, 0), 1);	/* still on the SIM */
	ck_assert_int_eq(h_wait_for(healthz_says, &refusing, WAIT_MS), 0);
	h_db_exec(g.db, "DELETE FROM test_disk_full");
	ck_assert_int_eq(h_wait_received(&g, ALICE, "@alice", WAIT_MS), 0);
	ck_assert_int_eq(h_wait_for(healthz_says, &fine, WAIT_MS), 0);
	ck_assert_int_eq(h_wait_stored(&g, 0, 0, WAIT_MS), 0);
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM inbox_parts", 0, NULL), 1);
	free(log);
	h_gateway_stop(&g);
}

START_TEST(test_sms_disk_full)
{
	sms_refused("crash_disk_in", "53100", "could not extend file "
	    "\"base/16384/16402\": No space left on device", "No space left on device");
}
END_TEST

/* A database turned read-only (a failover onto a standby, an operator's
 * default_transaction_read_only): the same (25006). */
START_TEST(test_sms_read_only)
{
	sms_refused("crash_read_only", "25006",
	    "cannot execute INSERT in a read-only transaction", "read-only transaction");
}
END_TEST

/*
 * The data disk fills as a status report comes: it cannot be stored.
 * Forgotten, it stayed on the SIM and the message `sent` until the
 * worker restarted; now it is held, stored once there is space, and the
 * message is delivered.
 */
START_TEST(test_report_disk_full)
{
	char *log;

	g.modem_extra[0] = "report = yes\n";
	h_gateway_start(&g, "crash_disk_rep", 1);
	g.modem_extra[0] = NULL;
	disk_full_install();
	h_db_exec(g.db, "CREATE TRIGGER test_disk_full BEFORE INSERT ON status_reports "
	    "FOR EACH ROW EXECUTE FUNCTION test_disk_full()");
	h_db_exec(g.db, "INSERT INTO test_disk_full VALUES (now())");
	long before = refusals();
	long id = h_outbox_add(&g, "+212661000021", "did it arrive?", 1);
	log = h_strf("%s/pigeond.log", g.dir);
	ck_assert_int_eq(h_wait_file_contains(log, "No space left on device", WAIT_MS), 0);
	/* The report's store refused and tried again (every second), twice more. */
	refused_again(before, 3);
	ck_assert_int_eq(h_stored_count(&g, 0), 1);	/* the report, on the SIM */
	h_db_exec(g.db, "DELETE FROM test_disk_full");
	h_wait_outbox(&g, id, "delivered", WAIT_MS);
	ck_assert_int_eq(h_wait_stored(&g, 0, 0, WAIT_MS), 0);
	free(log);
	h_gateway_stop(&g);
}
END_TEST

/* Where modem's simulator stores the SMS with that text (-1: none). */
static int
sim_location(int modem, const char *text)
{
	char *out = NULL, *want = h_strf("\"text\":\"%s\"", text), *line, *at;
	char *const argv[] = { (char *)h_bin("pigeon-modemsim"), "stored",
	    g.sim_dir[modem], NULL };
	int loc = -1;

	if (h_exec(&out, argv) == 0 && out != NULL)
		for (line = strtok(out, "\n"); line != NULL; line = strtok(NULL, "\n"))
			if (strstr(line, want) != NULL &&
			    (at = strstr(line, "\"location\":")) != NULL)
				loc = atoi(at + strlen("\"location\":"));
	free(want);
	free(out);
	return loc;
}

static int
file_exists(void *path)
{
	return access(path, F_OK) == 0;
}

static int
file_gone(void *path)
{
	return access(path, F_OK) == -1;
}

/* Another SIM in modem's device: its simulator started again, empty. */
static void
sim_swap(int modem)
{
	char *log = h_strf("%s/sim%d-new.log", g.dir, modem);
	char *tty = h_strf("%s/tty", g.sim_dir[modem]);
	char *argv[] = { (char *)h_bin("pigeon-modemsim"), "serve", g.sim_dir[modem], NULL };

	h_stop(g.sim_pid[modem], SIGTERM, 10000);
	ck_assert_int_eq(h_wait_for(file_gone, tty, 10000), 0);
	g.sim_pid[modem] = h_spawn(log, argv);
	ck_assert_int_eq(h_wait_for(file_exists, tty, 10000), 0);
	free(tty);
	free(log);
}

static int
pin_asked(void *p)
{
	return h_db_long(g.db, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
	    "AND objid = 7331 AND NOT granted AND database = (SELECT oid FROM "
	    "pg_database WHERE datname = current_database())", 0, NULL) == 1;
}

/*
 * An SMS at location L held while the disk is full (its delete waits for
 * its store), its modem removed, forgotten, and put back with another
 * SIM whose own SMS is at L. Stored once the disk has space, the old SMS
 * deleted L on the new SIM: take-back started the generations at 1
 * again, and the held part's (1) was the new worker's, so the delete
 * reached it, before its first listing, and the new SMS was never read.
 * The new worker's PIN is answered late (its query waits on a lock of
 * the test's) to hold that window open.
 */
START_TEST(test_held_sms_spares_new_sim)
{
	char *log;

	g.http_extra = "token = " TOKEN "\n";
	h_gateway_start(&g, "crash_new_sim", 2);
	disk_full_install();
	h_db_exec(g.db, "CREATE TRIGGER test_disk_full BEFORE INSERT ON inbox_parts "
	    "FOR EACH ROW EXECUTE FUNCTION test_disk_full()");
	h_db_exec(g.db, "INSERT INTO test_disk_full VALUES (now())");
	ck_assert_int_eq(h_text(&g, 1, ALICE, "JOIN alice"), 0);
	log = h_strf("%s/pigeond.log", g.dir);
	ck_assert_int_eq(h_wait_file_contains(log, "No space left on device", WAIT_MS), 0);
	int at = sim_location(1, "JOIN alice");
	ck_assert_int_gt(at, 0);

	/* Removed (its worker stops), forgotten. */
	g.modem_removed[1] = 1;
	h_gateway_reload(&g);
	h_wait_modem(&g, "sim1", "disabled", WAIT_MS);
	ck_assert_int_eq(h_http(g.http_port, "DELETE", "/api/modems/sim1", TOKEN, NULL,
	    NULL), 200);

	/* Another SIM, with a PIN, its first SMS at the same location. */
	sim_swap(1);
	ck_assert_int_eq(h_sim_fault(&g, 1, "pin 1234"), 0);
	ck_assert_int_eq(h_text(&g, 1, BOB, "JOIN bob"), 0);
	ck_assert_int_eq(sim_location(1, "JOIN bob"), at);

	/* Put back: its worker waits for its PIN while the disk has space
	 * again and the held SMS is stored. */
	h_db_exec(g.db, "SELECT pg_advisory_lock(7331)");
	h_db_exec(g.db, "CREATE OR REPLACE FUNCTION pigeon_modem_pin_refused(p_name text) "
	    "RETURNS text LANGUAGE plpgsql AS $$ BEGIN "
	    "PERFORM pg_advisory_xact_lock(7331); "
	    "RETURN coalesce((SELECT pin_refused FROM modems WHERE name = p_name), ''); "
	    "END $$");
	g.modem_extra[1] = "pin = 1234\n";
	g.modem_removed[1] = 0;
	h_gateway_reload(&g);
	ck_assert_int_eq(h_wait_for(pin_asked, NULL, WAIT_MS), 0);
	h_db_exec(g.db, "DELETE FROM test_disk_full");
	ck_assert_int_eq(h_wait_file_contains(log, "inbox: the held SMS parts are stored",
	    WAIT_MS), 0);
	h_db_exec(g.db, "SELECT pg_advisory_unlock(7331)");

	/* Both answered: the new SIM's SMS was read, not deleted unread. */
	ck_assert_int_eq(h_wait_received(&g, ALICE, "@alice", WAIT_MS), 0);
	ck_assert_msg(h_wait_received(&g, BOB, "@bob", 30000) == 0,
	    "the new SIM's SMS was never stored (on the SIM: %d)", h_stored_count(&g, 1));
	ck_assert_int_eq(h_db_long(g.db, "SELECT count(*) FROM inbox_parts", 0, NULL), 2);
	free(log);
	h_gateway_stop(&g);
	g.http_extra = NULL;
}
END_TEST

static int
writes_refused_is(void *p)
{
	return h_metric(&g, TOKEN, "pigeon_database_writes_refused", -1) == *(long *)p;
}

/*
 * The database refuses the scheduler's claim (read-only: a failover onto
 * a standby, 25006), and nothing else is written meanwhile: no SMS came,
 * no outcome. /healthz said ok and pigeon_database_writes_refused 0
 * while nothing was sent, and the log said "outbox: claim failed" every
 * claim (every 2 s, with the other periodic jobs' lines: about 80 in
 * 30 s). Now /healthz and /metrics say the writes are refused, the log
 * says it once and once more when it is over, and once the database
 * takes writes again the message goes and /healthz is ok.
 */
START_TEST(test_claim_read_only)
{
	const char *flag[] = { "25006", "cannot execute UPDATE in a read-only transaction" };
	struct health_arg refusing = { 503, "\"database\":\"refusing writes\"" };
	struct health_arg fine = { 200, "\"status\":\"ok\"" };
	long one = 1, zero = 0;
	char *log, *text;

	g.http_extra = "token = " TOKEN "\n";
	h_gateway_start(&g, "crash_claim_ro", 1);
	g.http_extra = NULL;
	disk_full_install();
	/* The claim: a row taken from the queue. */
	h_db_exec(g.db, "CREATE TRIGGER test_disk_full BEFORE UPDATE ON outbox "
	    "FOR EACH ROW WHEN (OLD.state = 'queued' AND NEW.state = 'sending') "
	    "EXECUTE FUNCTION test_disk_full()");
	free(h_db_value(g.db, "INSERT INTO test_disk_full (since, code, msg) "
	    "VALUES (now(), $1, $2) RETURNING 1", 2, flag));
	long before = refusals();
	ck_assert_int_gt(h_outbox_add(&g, "+212661000031", "The well is dry", 0), 0);
	log = h_strf("%s/pigeond.log", g.dir);
	ck_assert_int_eq(h_wait_file_contains(log, "outbox: claim failed", WAIT_MS), 0);
	/* Several claims refused (one every 2 s or so). */
	refused_again(before, 3);
	ck_assert_int_eq(h_received_count(&g, "+212661000031"), 0);
	text = h_read_file(log);
	int lines = h_count_lines(text, "outbox: claim failed");
	free(text);
	ck_assert_msg(lines == 1, "the refused claims, logged each time: %d lines", lines);
	ck_assert_int_eq(h_wait_for(healthz_says, &refusing, WAIT_MS), 0);
	ck_assert_int_eq(h_wait_for(writes_refused_is, &one, WAIT_MS), 0);
	h_db_exec(g.db, "DELETE FROM test_disk_full");
	ck_assert_int_eq(h_wait_received(&g, "+212661000031", "The well is dry", WAIT_MS), 0);
	ck_assert_int_eq(h_wait_for(healthz_says, &fine, WAIT_MS), 0);
	ck_assert_int_eq(h_wait_for(writes_refused_is, &zero, WAIT_MS), 0);
	ck_assert_int_eq(h_wait_file_contains(log, "outbox: claim failed: works again",
	    WAIT_MS), 0);
	free(log);
	h_gateway_stop(&g);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("crash");
	TCase *tc = tcase_create("inbox");
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, test_kill_between_commit_and_delete);
	suite_add_tcase(s, tc);
	TCase *order = tcase_create("order");
	tcase_set_timeout(order, 240);
	tcase_add_test(order, test_transient_error_keeps_order);
	tcase_add_test(order, test_stuck_message);
	suite_add_tcase(s, order);
	TCase *disk = tcase_create("disk");
	tcase_set_timeout(disk, 240);
	tcase_add_test(disk, test_outcome_disk_full);
	tcase_add_test(disk, test_sms_disk_full);
	tcase_add_test(disk, test_sms_read_only);
	tcase_add_test(disk, test_report_disk_full);
	suite_add_tcase(s, disk);
	TCase *newsim = tcase_create("newsim");
	tcase_set_timeout(newsim, 240);
	tcase_add_test(newsim, test_held_sms_spares_new_sim);
	suite_add_tcase(s, newsim);
	TCase *claim = tcase_create("claim");
	tcase_set_timeout(claim, 240);
	tcase_add_test(claim, test_claim_read_only);
	suite_add_tcase(s, claim);
	return s;
}

int
main(void)
{
	return h_main(suite());
}

/*
 * Issue 14, items 1 and 4-7: hostile SMS through the real worker and the
 * modem simulator, each stored and never applied as what it pretends to
 * be, and none left on the SIM: an undecodable PDU ahead of good SMS, an
 * alphanumeric sender ID made of a member's digits, the same STOP twice
 * without a network time stamp, a binary WAP push, a time zone offset
 * PostgreSQL cannot hold; a long SMS whose header carries a language
 * shift beside its concatenation, and a text SMS addressed to an
 * application port; a modem that lists a location twice. Each step has
 * its own gateway (CK_RUN_CASE
 * runs one); the last uses tests/reliability/fake-modem, which sends a
 * sender a real worker cannot (over 31 bytes of UTF-8).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "harness.h"

#define WAIT_MS	60000
#define TOKEN	"hostile-modem-token-0123456789abcdef"
#define ALICE	"+212661000001"
#define BOB	"+212661000002"
#define CAROL	"+212661000003"

/*
 * Stored PDUs, SMSC +212600000000 first (see pigeon-modemsim deliver
 * --pdu). SCTS 2026-12-04 10:00:00 +00:00 unless said.
 */
/* From +212661000002, "hello there", cut 8 octets short: libgammu says
 * "Corrupted data returned by phone". */
#define PDU_TRUNCATED	"0791126200000000040C911262160000200000622140010000000BE832"
/* From +212661000003, "STOP", month 13 in the time stamp: libgammu drops
 * it ("Invalid date & time"), so the SMS has no time. */
#define PDU_STOP_NOTIME	"0791126200000000040C911262160000300000623140010000000453EA130A"
/* From +212661000001, 8-bit data with a UDH: a WAP push header. */
#define PDU_WAP_PUSH	"0791126200000000440C911262160000100004622140010000000B" \
			"0605040B8423F0DEADBEEF"

/*
 * From +212661000001, 7-bit, "D bob this is for your eyes only, " and "the
 * secret tail": a long SMS (reference 0x42, 2 parts) whose UDH also
 * carries the national language single and locking shifts (IE 0x24,
 * 0x25, table 1), as a Turkish phone writes it. libgammu knows no such
 * header and gave no concatenation: each part was applied alone.
 */
#define PDU_SHIFT_1	"0791126200000000440C91126216000010000062214001000000300B0003" \
	"4202012401012501011041E2B7184447A7E7A0F41C647ECB41F9775D0E2AE7CB73D0DBCDCEB340"
#define PDU_SHIFT_2	"0791126200000000440C911262160000100000622140010000001D0B0003" \
	"420202240101250101D0D165D0BC3C9697E9207A38CD06"
/* From +212661000001, 7-bit, "BEGIN:VCARD N:Doe END:VCARD" to application
 * port 9204 (vCard; UDH 06 05 04 23F4 0000): for the phone's address
 * book, not a post. Stored as the hex of its text. */
#define PDU_VCARD	"0791126200000000440C911262160000100000622140010000002306050423F4" \
	"0000C2E231E9D45987412911E4D411DF6550D149D45987412911"
#define VCARD_HEX	"424547494E3A5643415244204E3A446F6520454E443A5643415244"

/* From +212661000002, 7-bit, TP-UDL 180 septets (all present): libgammu
 * 1.42 unpacks them into a 161-octet array on its stack. */
#define PDU_UDL_180	"0791126200000000040C91126216000020000062214001000000B4" \
	"41414141414141414141414141414141414141414141414141414141414141414141414141" \
	"41414141414141414141414141414141414141414141414141414141414141414141414141" \
	"41414141414141414141414141414141414141414141414141414141414141414141414141" \
	"41414141414141414141414141414141414141414141414141414141414141414141414141" \
	"41414141414141414141"

static struct h_gateway g;

static void
setup(void)
{
	memset(&g, 0, sizeof(g));
	g.extra_config = "timezone = UTC\nlimit_minute = 100\n";
	g.http_extra = "token = " TOKEN "\n";
	h_gateway_start(&g, "hostile_modem", 1);
}

static void
teardown(void)
{
	h_gateway_stop(&g);
}

static long
count(const char *sql, const char *param)
{
	const char *params[] = { param };
	return h_db_long(g.db, sql, param != NULL ? 1 : 0, params);
}

/* Waits until sql (a literal, one value) gives want; fails the test if not. */
static void
wait_db(const char *sql, const char *param, const char *want, int line)
{
	ck_assert_msg(h_wait_db(&g, sql, param, want, WAIT_MS) == 0,
	    "line %d: never %s: %s (%s)", line, want, sql, param ? param : "");
}
#define WAIT_DB(sql, param, want) wait_db(sql, param, want, __LINE__)

static void
join(const char *phone, const char *handle)
{
	char text[64];

	snprintf(text, sizeof(text), "JOIN %s", handle);
	ck_assert_int_eq(h_text(&g, 0, phone, text), 0);
	WAIT_DB("SELECT count(*) FROM accounts WHERE handle = $1", handle, "1");
}

/* Item 7: one undecodable SMS at location 1 no longer hides the SMS after
 * it; it is stored with its PDU, deleted, and counted for the modem. */
START_TEST(test_corrupt_sms_skipped)
{
	char *body = NULL;

	ck_assert_int_eq(h_stored_count(&g, 0), 0);
	ck_assert_int_eq(h_deliver(&g, 0, BOB, "(truncated)",
	    "--pdu " PDU_TRUNCATED), 0);
	join(BOB, "bob");
	ck_assert_int_eq(h_text(&g, 0, BOB, "after the broken one"), 0);
	WAIT_DB("SELECT count(*) FROM posts WHERE text = $1", "after the broken one", "1");
	WAIT_DB("SELECT count(*) FROM inbox_parts WHERE coding = 'corrupt' AND text = $1",
	    PDU_TRUNCATED, "1");
	ck_assert_int_eq(count("SELECT count(*) FROM inbox_messages WHERE text = $1 "
	    "AND state = 'ignored'", PDU_TRUNCATED), 1);
	ck_assert_int_eq(count("SELECT count(*) FROM inbox_parts WHERE coding = 'corrupt' "
	    "AND problem LIKE 'undecodable: %'", NULL), 1);
	ck_assert_int_eq(h_wait_stored(&g, 0, 0, WAIT_MS), 0);
	WAIT_DB("SELECT sms_corrupt FROM modems WHERE name = $1", "sim0", "1");
	ck_assert_int_eq(h_http(g.http_port, "GET", "/api/modems", TOKEN, NULL, &body), 200);
	ck_assert_msg(strstr(body, "\"sms_corrupt\": 1") || strstr(body, "\"sms_corrupt\":1"),
	    "/api/modems: %s", body);
	free(body);
	ck_assert_int_eq(h_http(g.http_port, "GET", "/metrics", TOKEN, NULL, &body), 200);
	ck_assert_msg(strstr(body, "pigeon_modem_sms_corrupt_total{modem=\"sim0\"} 1"),
	    "/metrics: %s", body);
	free(body);
	/* The worker stayed up: nothing was read twice. */
	ck_assert_int_eq(count("SELECT count(*) FROM inbox_parts WHERE coding = 'corrupt'",
	    NULL), 1);
}
END_TEST

/* Item 13's find: a PDU that overflows libgammu's decoder (the worker
 * aborted on it at every listing, for ever) is skipped from inside
 * libgammu, stored and counted; it stays on the SIM, since libgammu
 * decodes an SMS again before deleting it. */
START_TEST(test_unsafe_pdu_skipped)
{
	ck_assert_int_eq(h_deliver(&g, 0, BOB, "(udl 180)", "--pdu " PDU_UDL_180), 0);
	join(BOB, "bob");
	ck_assert_int_eq(h_text(&g, 0, BOB, "after the poisoned one"), 0);
	WAIT_DB("SELECT count(*) FROM posts WHERE text = $1", "after the poisoned one", "1");
	WAIT_DB("SELECT count(*) FROM inbox_parts WHERE coding = 'corrupt' AND text = $1",
	    PDU_UDL_180, "1");
	ck_assert_int_eq(count("SELECT count(*) FROM inbox_parts WHERE problem = "
	    "'undecodable: PDU lengths beyond what libgammu decodes safely'", NULL), 1);
	WAIT_DB("SELECT sms_corrupt FROM modems WHERE name = $1", "sim0", "1");
	/* Only the poisoned SMS left on the SIM: the ones after it are
	 * deleted once their commit is acknowledged, which can trail. */
	ck_assert_msg(h_wait_stored(&g, 0, 1, WAIT_MS) == 0,
	    "%d SMS on the SIM, not the poisoned one alone", h_stored_count(&g, 0));
	h_wait_modem(&g, "sim0", "online", WAIT_MS);
}
END_TEST

/* Item 1: "0661000001" from an alphanumeric sender ID is not alice. */
START_TEST(test_alpha_sender_not_a_member)
{
	const char *text = "spoofed through a sender ID";

	join(ALICE, "alice");
	ck_assert_int_eq(h_deliver(&g, 0, "0661000001", text, "--from-type alpha"), 0);
	WAIT_DB("SELECT state FROM inbox_messages WHERE text = $1", text, "ignored");
	ck_assert_int_eq(count("SELECT count(*) FROM inbox_messages WHERE text = $1 "
	    "AND sender_kind = 'alpha' AND sender = '0661000001'", text), 1);
	ck_assert_int_eq(count("SELECT count(*) FROM posts WHERE text = $1", text), 0);
	ck_assert_int_eq(h_wait_stored(&g, 0, 0, WAIT_MS), 0);
	/* The AT driver tells sender types, and says so. */
	char *body = NULL;
	ck_assert_int_eq(h_http(g.http_port, "GET", "/api/modems", TOKEN, NULL, &body), 200);
	ck_assert_msg(strstr(body, "\"sender_types\": true") ||
	    strstr(body, "\"sender_types\":true"), "/api/modems: %s", body);
	free(body);
}
END_TEST

/* A sender one digit short of a Moroccan number (9 digits after 212) is
 * no phone: stored, never answered. It was +2126610000, and its JOIN made
 * a member whose every reply the network refused. */
START_TEST(test_short_sender_not_answered)
{
	const char *text = "JOIN shorty";

	ck_assert_int_eq(h_deliver(&g, 0, "06610000", text, NULL), 0);
	WAIT_DB("SELECT state FROM inbox_messages WHERE text = $1", text, "ignored");
	ck_assert_int_eq(count("SELECT count(*) FROM inbox_messages WHERE text = $1 "
	    "AND sender_kind = 'invalid' AND sender = '06610000'", text), 1);
	ck_assert_int_eq(count("SELECT count(*) FROM accounts WHERE handle = $1",
	    "shorty"), 0);
	ck_assert_int_eq(count("SELECT count(*) FROM outbox", NULL), 0);
	ck_assert_int_eq(h_wait_stored(&g, 0, 0, WAIT_MS), 0);
}
END_TEST

/* Item 4: the same STOP twice, without a time stamp, is two STOPs. */
START_TEST(test_repeated_stop_without_time)
{
	WAIT_DB("SELECT count(*) FROM optouts WHERE phone = $1", CAROL, "0");
	ck_assert_int_eq(h_deliver(&g, 0, CAROL, "STOP", "--pdu " PDU_STOP_NOTIME), 0);
	WAIT_DB("SELECT count(*) FROM optouts WHERE phone = $1", CAROL, "1");
	ck_assert_int_eq(h_wait_stored(&g, 0, 0, WAIT_MS), 0);
	ck_assert_int_eq(h_text(&g, 0, CAROL, "START"), 0);
	WAIT_DB("SELECT count(*) FROM optouts WHERE phone = $1", CAROL, "0");
	ck_assert_int_eq(h_wait_stored(&g, 0, 0, WAIT_MS), 0);
	/* Byte for byte the same SMS, likely at the same location. */
	ck_assert_int_eq(h_deliver(&g, 0, CAROL, "STOP", "--pdu " PDU_STOP_NOTIME), 0);
	WAIT_DB("SELECT count(*) FROM optouts WHERE phone = $1", CAROL, "1");
	ck_assert_int_eq(count("SELECT count(*) FROM inbox_messages WHERE sender = $1 "
	    "AND text = 'STOP'", CAROL), 2);
}
END_TEST

/* Item 5: a binary SMS is stored, not posted. */
START_TEST(test_binary_sms_not_posted)
{
	join(ALICE, "alice");
	ck_assert_int_eq(h_deliver(&g, 0, ALICE, "(wap push)", "--pdu " PDU_WAP_PUSH), 0);
	WAIT_DB("SELECT count(*) FROM inbox_parts WHERE coding = '8bit' AND sender = $1",
	    ALICE, "1");
	WAIT_DB("SELECT state || ' ' || result FROM inbox_messages WHERE sender = $1 "
	    "AND text LIKE '%DEADBEEF'", ALICE, "ignored binary SMS, not applied");
	ck_assert_int_eq(count("SELECT count(*) FROM posts WHERE text LIKE $1",
	    "%DEADBEEF"), 0);
	ck_assert_int_eq(h_wait_stored(&g, 0, 0, WAIT_MS), 0);
}
END_TEST

/* A language shift beside the concatenation: the DM arrives whole, to
 * bob alone; its tail was a post to every follower of alice. */
START_TEST(test_long_sms_with_language_shift)
{
	join(ALICE, "alice");
	join(BOB, "bob");
	join(CAROL, "carol");
	ck_assert_int_eq(h_text(&g, 0, BOB, "FOLLOW alice"), 0);
	ck_assert_int_eq(h_text(&g, 0, CAROL, "FOLLOW alice"), 0);
	WAIT_DB("SELECT count(*) FROM follows", NULL, "2");
	/* The tail first: it waits for its head. */
	ck_assert_int_eq(h_deliver(&g, 0, ALICE, "(shift 2/2)", "--pdu " PDU_SHIFT_2), 0);
	ck_assert_int_eq(h_deliver(&g, 0, ALICE, "(shift 1/2)", "--pdu " PDU_SHIFT_1), 0);
	ck_assert_int_eq(h_wait_received(&g, BOB, "DM from @alice: this is for your "
	    "eyes only, the secret tail", WAIT_MS), 0);
	ck_assert_int_eq(count("SELECT count(*) FROM inbox_parts WHERE sender = $1 "
	    "AND concat_ref = 66 AND concat_total = 2", ALICE), 2);
	ck_assert_int_eq(count("SELECT count(*) FROM inbox_messages WHERE sender = $1 "
	    "AND parts = 2 AND text = 'D bob this is for your eyes only, the secret tail'",
	    ALICE), 1);
	ck_assert_int_eq(count("SELECT count(*) FROM posts", NULL), 0);
	ck_assert_int_eq(h_received_matching(&g, CAROL, "secret"), 0);
	ck_assert_int_eq(h_wait_stored(&g, 0, 0, WAIT_MS), 0);
}
END_TEST

/* From ALICE, UCS-2, ref 0x79, cut by the phone inside an emoji (U+1F600,
 * D83D DE00) at its 70th unit: "...Vive " and the high half, then the low
 * half and " et merci a tous". */
#define PDU_CUT_PAIR_1	"0791126200000000440C911262160000100008622140010000008C" \
	"0500037902010042007200610076006F0020006C00270065007100750069007000650020" \
	"006E006100740069006F006E0061006C0065002C0020007100750065006C0020006D0061" \
	"00740063006800200063006500200073006F0069007200210020004F006E002000650073" \
	"007400200066006900650072007300210021002000560069007600650020D83D"
#define PDU_CUT_PAIR_2	"0791126200000000440C9112621600001000086221400100000028" \
	"050003790202DE000020006500740020006D00650072006300690020006100200074006F" \
	"00750073"
#define CUT_PAIR_TEXT	"Bravo l'equipe nationale, quel match ce soir! On est " \
	"fiers!! Vive \xf0\x9f\x98\x80 et merci a tous"

/* bob follows alice, who sends a long SMS in two parts (PDUs p1 and p2)
 * cut by her phone inside a character: her post is `text`, and bob's
 * copy has `copy` in it. */
static void
post_cut_in_two(const char *p1, const char *p2, const char *text, const char *copy)
{
	char a1[600], a2[600];

	join(ALICE, "alice");
	join(BOB, "bob");
	ck_assert_int_eq(h_text(&g, 0, BOB, "FOLLOW alice"), 0);
	WAIT_DB("SELECT count(*) FROM follows", NULL, "1");
	snprintf(a1, sizeof(a1), "--pdu %s", p1);
	snprintf(a2, sizeof(a2), "--pdu %s", p2);
	ck_assert_int_eq(h_deliver(&g, 0, ALICE, "(cut 1/2)", a1), 0);
	ck_assert_int_eq(h_deliver(&g, 0, ALICE, "(cut 2/2)", a2), 0);
	WAIT_DB("SELECT count(*) FROM posts WHERE text = $1", text, "1");
	ck_assert_int_eq(h_wait_received(&g, BOB, copy, WAIT_MS), 0);
	ck_assert_int_eq(h_wait_stored(&g, 0, 0, WAIT_MS), 0);
}

/* A long UCS-2 SMS cut inside a surrogate pair (cheap phones cut at 67 or
 * 70 units whatever they hold): the emoji is whole in the post and in its
 * copies (each half was decoded alone as U+FFFD: "Vive \ufffd\ufffd et"). */
START_TEST(test_emoji_cut_between_parts)
{
	post_cut_in_two(PDU_CUT_PAIR_1, PDU_CUT_PAIR_2, CUT_PAIR_TEXT,
	    "Vive \xf0\x9f\x98\x80 et merci");
	ck_assert_int_eq(count("SELECT count(*) FROM inbox_messages WHERE sender = $1 "
	    "AND strpos(text, U&'\\FFFD') > 0", ALICE), 0);
}
END_TEST

/* From ALICE, GSM-7, ref 0x7A, cut by the phone between the escape and
 * its character (a euro sign, 1B 65; phones cut at 153 septets, shorter
 * here to stay within post_max): "... est de 5" and the escape, then 'e'
 * and " seulement, venez nombreux". */
#define PDU_CUT_ESC_1	"0791126200000000440C91126216000010000062214001000000470500037A0201866FF7" \
	"B82CA783C665D0FC9D9683C275101D5D0ED3E56510B90C9286C5613A0BC42E83E0F2341E" \
	"44AE83C46936BB4C0795E77410B90CAA6D00"
#define PDU_CUT_ESC_2	"0791126200000000440C91126216000010000062214001000000220500037A0202CAA079" \
	"B9CE2EB7CB6E3A0B642FBBCB7A90FBDD16CBCB753C"
#define CUT_ESC_TEXT	"Concert ce soir au theatre de Rabat, le prix du billet " \
	"est de 5\xe2\x82\xac seulement, venez nombreux"

/* A long GSM-7 SMS cut between an escape and its character: the euro
 * sign is whole in the post and its copies (they read "5\u00b9e"). */
START_TEST(test_escape_cut_between_parts)
{
	post_cut_in_two(PDU_CUT_ESC_1, PDU_CUT_ESC_2, CUT_ESC_TEXT,
	    "5\xe2\x82\xac seulement");
}
END_TEST

/* A text SMS to an application port (a vCard) is stored as binary, not
 * posted: it was a post of alice's. */
START_TEST(test_port_addressed_sms_not_applied)
{
	join(ALICE, "alice");
	ck_assert_int_eq(h_deliver(&g, 0, ALICE, "(vcard)", "--pdu " PDU_VCARD), 0);
	WAIT_DB("SELECT state || ' ' || result FROM inbox_messages WHERE sender = $1 "
	    "AND text = '" VCARD_HEX "'", ALICE, "ignored binary SMS, not applied");
	ck_assert_int_eq(count("SELECT count(*) FROM inbox_parts WHERE coding = '8bit' "
	    "AND problem = 'binary' AND text = $1", VCARD_HEX), 1);
	ck_assert_int_eq(count("SELECT count(*) FROM posts", NULL), 0);
	ck_assert_int_eq(h_wait_stored(&g, 0, 0, WAIT_MS), 0);
}
END_TEST

/* Item 6: a time zone offset beyond +-15:59 (a network may send 19:45):
 * stored without its time, the text applied, the SIM emptied, counted. */
START_TEST(test_time_zone_out_of_range)
{
	const char *text = "a post from a far time zone";

	join(ALICE, "alice");
	ck_assert_int_eq(h_deliver(&g, 0, ALICE, text,
	    "--time 2026-12-04T10:00:00+19:00"), 0);
	WAIT_DB("SELECT count(*) FROM posts WHERE text = $1", text, "1");
	ck_assert_int_eq(count("SELECT count(*) FROM inbox_parts WHERE text = $1 AND "
	    "smsc_time IS NULL AND problem = 'time stamp out of range: "
	    "2026-12-04T10:00:00+19:00'", text), 1);
	ck_assert_int_eq(h_wait_stored(&g, 0, 0, WAIT_MS), 0);
	WAIT_DB("SELECT sms_damaged FROM modems WHERE name = $1", "sim0", "1");
}
END_TEST

/* The simulator holds an AT+CMGL answer (fault list-hold). */
static int
sim_list_held(void *arg)
{
	char *out = NULL;
	int held;

	(void)arg;
	held = h_run(&out, "%s status %s", h_bin("pigeon-modemsim"), g.sim_dir[0]) == 0 &&
	    strstr(out, "\"list_held\":true") != NULL;
	free(out);
	if (!held)
		h_sleep_ms(200);	/* each look runs a program (ASan) */
	return held;
}

/*
 * A modem that lists location 1 again after location 2 ([1, 2, 1, 3, 4]):
 * libgammu's AT driver went round 2, 1, 2, 1 for ever, the worker still
 * answering pings, so the modem showed online while the third and fourth
 * SMS were never read and none was deleted. Now the listing ends at the
 * repeat, the first two are stored and deleted, and the next listing
 * reads the rest.
 */
START_TEST(test_location_listed_twice)
{
	static const char *phones[] = { "+212661000021", "+212661000022",
	    "+212661000023", "+212661000024" };
	char text[32];

	ck_assert_int_eq(h_sim_fault(&g, 0, "list-twice 1"), 0);
	/* The four stored together: the listing under way is held. */
	ck_assert_int_eq(h_sim_fault(&g, 0, "list-hold 1"), 0);
	ck_assert_int_eq(h_wait_for(sim_list_held, NULL, WAIT_MS), 0);
	for (int i = 0; i < 4; i++) {
		snprintf(text, sizeof(text), "JOIN user%d", i + 1);
		ck_assert_int_eq(h_text(&g, 0, phones[i], text), 0);
	}
	ck_assert_int_eq(h_stored_count(&g, 0), 4);
	ck_assert_int_eq(h_sim_fault(&g, 0, "list-hold 0"), 0);
	WAIT_DB("SELECT count(*) FROM accounts WHERE handle LIKE $1", "user_", "4");
	ck_assert_int_eq(h_wait_stored(&g, 0, 0, WAIT_MS), 0);
	h_wait_modem(&g, "sim0", "online", WAIT_MS);
	/* Each read once. */
	ck_assert_int_eq(count("SELECT count(*) FROM inbox_messages WHERE text LIKE $1",
	    "JOIN user_"), 4);
}
END_TEST

/*
 * The same modem, its deletes failing too: the listings cut short at the
 * repeat read nothing new and delete nothing, and after three of them the
 * worker ends (the modem's reason says why) for pigeond to start it
 * again, rather than stay online reading nothing. Once the modem behaves,
 * every SMS is read, each applied once.
 */
START_TEST(test_listing_cut_short_restarts)
{
	static const char *phones[] = { "+212661000031", "+212661000032",
	    "+212661000033" };
	char text[32];

	ck_assert_int_eq(h_sim_fault(&g, 0, "delete-error 1"), 0);
	ck_assert_int_eq(h_sim_fault(&g, 0, "list-twice 1"), 0);
	ck_assert_int_eq(h_sim_fault(&g, 0, "list-hold 1"), 0);
	ck_assert_int_eq(h_wait_for(sim_list_held, NULL, WAIT_MS), 0);
	for (int i = 0; i < 3; i++) {
		snprintf(text, sizeof(text), "JOIN redo%d", i + 1);
		ck_assert_int_eq(h_text(&g, 0, phones[i], text), 0);
	}
	ck_assert_int_eq(h_sim_fault(&g, 0, "list-hold 0"), 0);
	/* The first two read; then nothing moves, and the worker ends. */
	WAIT_DB("SELECT count(*) FROM accounts WHERE handle LIKE $1", "redo_", "2");
	WAIT_DB("SELECT count(*) > 0 FROM modem_history WHERE modem = 'sim0' "
	    "AND state = 'offline' AND reason LIKE $1",
	    "fatal: the modem listed folder % location 1 twice%", "t");
	ck_assert_int_eq(count("SELECT count(*) FROM accounts WHERE handle LIKE $1",
	    "redo_"), 2);
	ck_assert_int_eq(h_sim_fault(&g, 0, "list-twice 0"), 0);
	ck_assert_int_eq(h_sim_fault(&g, 0, "delete-error 0"), 0);
	WAIT_DB("SELECT count(*) FROM accounts WHERE handle LIKE $1", "redo_", "3");
	ck_assert_int_eq(h_wait_stored(&g, 0, 0, WAIT_MS), 0);
	h_wait_modem(&g, "sim0", "online", WAIT_MS);
	ck_assert_int_eq(count("SELECT count(*) FROM inbox_messages WHERE text LIKE $1",
	    "JOIN redo_"), 3);
}
END_TEST

/* Item 6, the sender: over 31 bytes, cut inside a UTF-8 character, used to
 * make the part vanish. The fake modem writes what no SIM holds. */
static struct h_gateway fg;

static void
fake_setup(void)
{
	static char extra[1200];
	char cwd[1024], path[1200];
	FILE *f;

	memset(&fg, 0, sizeof(fg));
	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	char *dir = h_tmpdir("hostile-modem-fake");
	setenv("PIGEON_FAKE_DIR", dir, 1);
	snprintf(path, sizeof(path), "%s/sim0.sms", dir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	/* Two control characters (so neither a number nor a name: kept as
	 * it is), then 13 x U+2D5C (3 bytes each): 41 bytes. */
	fputs("{\"type\":\"sms\",\"folder\":1,\"location\":1,\"sender\":\"\\u0001\\u0001", f);
	for (int i = 0; i < 13; i++)
		fputs("\xe2\xb5\x9c", f);
	fputs("\",\"smsc\":\"+212600000000\",\"coding\":\"ucs2\",\"class\":-1,"
	    "\"time\":\"2026-12-04T10:00:00+00:00\",\"text\":\"tifinagh sender\"}\n", f);
	fclose(f);
	free(dir);
	snprintf(extra, sizeof(extra), "modem_program = %s/tests/reliability/fake-modem\n",
	    cwd);
	fg.extra_config = extra;
	h_gateway_start(&fg, "hostile_modem_fake", 1);
}

static void
fake_teardown(void)
{
	h_gateway_stop(&fg);
}

START_TEST(test_long_utf8_sender_stored)
{
	ck_assert_int_eq(h_wait_db(&fg, "SELECT count(*) FROM inbox_messages WHERE "
	    "text = $1", "tifinagh sender", "1", WAIT_MS), 0);
	/* The whole sender is kept; its 31-byte form ends between characters. */
	ck_assert_int_eq(h_db_long(fg.db, "SELECT count(*) FROM inbox_parts WHERE "
	    "length(sender) = 15 AND length(sender_norm) = 11 AND "
	    "text = 'tifinagh sender'", 0, NULL), 1);
}
END_TEST

/* A gateway per step, so that each runs alone (CK_RUN_CASE=alpha). */
static void
add_case(Suite *s, const char *name, const TTest *t, SFun up, SFun down)
{
	TCase *tc = tcase_create(name);

	tcase_add_unchecked_fixture(tc, up, down);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, t);
	suite_add_tcase(s, tc);
}

static Suite *
suite(void)
{
	Suite *s = suite_create("hostile_modem");

	add_case(s, "corrupt", test_corrupt_sms_skipped, setup, teardown);
	add_case(s, "unsafe", test_unsafe_pdu_skipped, setup, teardown);
	add_case(s, "alpha", test_alpha_sender_not_a_member, setup, teardown);
	add_case(s, "short", test_short_sender_not_answered, setup, teardown);
	add_case(s, "stop", test_repeated_stop_without_time, setup, teardown);
	add_case(s, "binary", test_binary_sms_not_posted, setup, teardown);
	add_case(s, "shift", test_long_sms_with_language_shift, setup, teardown);
	add_case(s, "cutpair", test_emoji_cut_between_parts, setup, teardown);
	add_case(s, "cutesc", test_escape_cut_between_parts, setup, teardown);
	add_case(s, "port", test_port_addressed_sms_not_applied, setup, teardown);
	add_case(s, "twice", test_location_listed_twice, setup, teardown);
	add_case(s, "cutshort", test_listing_cut_short_restarts, setup, teardown);
	add_case(s, "timezone", test_time_zone_out_of_range, setup, teardown);
	add_case(s, "sender", test_long_utf8_sender_stored, fake_setup, fake_teardown);
	return s;
}

int
main(void)
{
	return h_main(suite());
}

/*
 * test_smpp_link.c: pigeon-smpp's bookkeeping in smpp/link.c,
 * smpp/submit.c and smpp/acks.c, included whole (their state is static)
 * without a socket: the deliveries waiting for pigeond's answer, sessions,
 * binds, the submits in flight.
 */
#include "../../smpp/link.c"
#include "../../smpp/submit.c"
#include "../../smpp/acks.c"

#include <check.h>

#include "unit.h"

/* What smpp/main.c gives link.c; nothing here reaches pigeond. */
static int ready_calls, down_calls, down_sends, up_calls, bind_failed_calls;
static char down_why[160];
void main_ready(const char *smsc_system_id, int rebind) { ready_calls++; }
void main_link_down(const char *session, const char *reason, uint32_t status,
    int sends)
{
	down_calls++;
	down_sends += sends;
	snprintf(down_why, sizeof(down_why), "%s: %s", session, reason);
}
void main_link_up(const char *session) { up_calls++; }
void main_bind_failed(uint32_t status) { bind_failed_calls++; }
void main_link_failed(const char *session, const char *reason) { }
static int sent_calls, failed_calls;
void main_sent(long long id, int parts, int segments, char ids[][SMPP_ID_SIZE]) { sent_calls++; }
void main_send_failed(long long id, int parts, int parts_sent, char ids[][SMPP_ID_SIZE],
    uint32_t status, int temporary, int throttled, int maybe_sent,
    const char *error) { failed_calls++; }
static int deliver_calls;
void main_deliver(long long handle, uint32_t seq, const struct deliver *d) { deliver_calls++; }
void main_exit(int code) { exit(code); }

/*
 * A delivery pigeond never answers (it could not store it; the SMSC
 * delivers it again) must not keep every later one: before, the head
 * stopped at it, and 100,000 answered deliveries after it were all kept
 * (3 MB) and scanned at each answer.
 */
START_TEST(test_acks_one_never_answered)
{
	const char *err = NULL;

	sess[0].state = S_BOUND;
	sess[0].bev = NULL;
	ack_put(1, &sess[0], sess[0].gen, 1);
	for (long long h = 2; h <= 100001; h++) {
		ack_put(h, &sess[0], sess[0].gen, (uint32_t)h);
		ck_assert_int_eq(link_ack(h, &err), 0);
	}
	ck_assert_msg(nacks - acks_head <= 200, "%zu entries kept for one unanswered",
	    nacks - acks_head);
	/* It is still answered when pigeond does at last. */
	ck_assert_int_eq(link_ack(1, &err), 0);
	ck_assert_uint_eq(nacks, 0);
	ck_assert_int_eq(link_ack(1, &err), -1);
}
END_TEST

/* A PDU header alone (and a body of n zero bytes). */
static void
pdu16(uint8_t *p, uint32_t cmd, uint32_t status, uint32_t seq, size_t n)
{
	uint32_t v[4] = { (uint32_t)(16 + n), cmd, status, seq };

	memset(p, 0, 16 + n);
	for (int i = 0; i < 4; i++) {
		p[4 * i] = (uint8_t)(v[i] >> 24);
		p[4 * i + 1] = (uint8_t)(v[i] >> 16);
		p[4 * i + 2] = (uint8_t)(v[i] >> 8);
		p[4 * i + 3] = (uint8_t)v[i];
	}
}

/*
 * With `bind = transmitter+receiver`, each session numbers its own PDUs:
 * a generic_nack for the receiver's PDU 2 is not an answer to the
 * transmitter's submit 2 (before, it failed that submit, and the SMSC's
 * real submit_sm_resp for it was then ignored: the message sent twice).
 */
START_TEST(test_sessions_number_their_own)
{
	uint8_t p[32];
	struct msg *m = calloc(1, sizeof(*m));
	struct sub *sb = calloc(1, sizeof(*sb));

	nsess = 2;
	sess[0].role = ROLE_TX;
	sess[1].role = ROLE_RX;
	sess[0].state = sess[1].state = S_BOUND;
	sess[0].bev = sess[1].bev = NULL;
	m->id = 42;
	m->n = 1;
	sb->m = m;
	sb->s = &sess[0];
	sb->seq = 2;
	sb->deadline = now_ms() + 30000;
	TAILQ_INSERT_TAIL(&inflight, sb, q);
	ninflight = 1;
	pdu16(p, SMPP_GENERIC_NACK, 3, 2, 0);
	sess_pdu(&sess[1], p, 16);
	ck_assert_int_eq(ninflight, 1);
	ck_assert_int_eq(failed_calls, 0);
	pdu16(p, SMPP_SUBMIT_SM | SMPP_RESP, ESME_ROK, 2, 1);
	sess_pdu(&sess[0], p, 17);
	ck_assert_int_eq(ninflight, 0);
	ck_assert_int_eq(sent_calls, 1);
	ck_assert_int_eq(failed_calls, 0);
	nsess = 1;
}
END_TEST

/* An SMSC that answers every bind and drops the session at once: the
 * next bind waits longer each time (it came every 250 ms, for ever). */
START_TEST(test_dropped_binds_back_off)
{
	uint8_t p[32];
	long delay = 0;

	cfg.reconnect_max_ms = 30000;
	nsess = 1;
	sess[0].role = ROLE_TRX;
	sess[0].bev = NULL;
	sess[0].backoff_ms = BACKOFF_MIN_MS;
	for (int i = 0; i < 6; i++) {
		sess[0].state = S_BINDING;
		pdu16(p, SMPP_BIND_TRANSCEIVER | SMPP_RESP, ESME_ROK, 1, 1);
		sess_pdu(&sess[0], p, 17);
		ck_assert_int_eq(sess[0].state, S_BOUND);
		sess_close(&sess[0], "dropped by the SMSC", 0);
		delay = sess[0].retry_at - now_ms();
	}
	ck_assert_msg(delay >= 4000, "the sixth bind in %ld ms", delay);
}
END_TEST

/* Handles stay within what pigeond reads (1 to INT32_MAX) and skip one
 * still waiting for its answer. */
START_TEST(test_handles_wrap)
{
	sess[0].state = S_BOUND;
	sess[0].bev = NULL;
	next_handle = INT32_MAX - 1;
	ck_assert_int_eq(handle_next(), INT32_MAX);
	ack_put(1, &sess[0], sess[0].gen, 7);	/* an old delivery, never answered */
	ck_assert_int_eq(handle_next(), 2);
}
END_TEST

/*
 * A copy of a delivery still waiting for pigeond's commit, on the same
 * session, joins it and is answered with it; on a later session (the
 * first's answer can no longer be given) it is a delivery of its own.
 */
START_TEST(test_acks_copies_join)
{
	void *owner;
	unsigned gen;
	uint32_t seq, *copies;
	size_t ncopies;

	long long h = acks_add(&sess[0], 1, 5, 0xabcULL);
	ck_assert_int_eq(acks_join(&sess[0], 2, 0xabcULL, 6), 0);
	ck_assert_int_eq(acks_join(&sess[0], 1, 0xabdULL, 6), 0);
	ck_assert_int_eq(acks_join(&sess[0], 1, 0xabcULL, 7), 1);
	ck_assert_int_eq(acks_join(&sess[0], 1, 0xabcULL, 9), 1);
	ck_assert_int_eq(acks_take(h, &owner, &gen, &seq, &copies, &ncopies), 0);
	ck_assert_uint_eq(seq, 5);
	ck_assert_uint_eq(ncopies, 2);
	ck_assert_uint_eq(copies[0], 7);
	ck_assert_uint_eq(copies[1], 9);
	free(copies);
	/* Answered: the next identical SMS is a new one. */
	ck_assert_int_eq(acks_join(&sess[0], 1, 0xabcULL, 10), 0);
}
END_TEST

/* A transmitter and a receiver, neither bound, the calls' counts at 0;
 * apart: the pigeond takes a receiver lost alone (receiver_apart). */
static void
split_pair(int apart)
{
	cfg.reconnect_max_ms = 30000;
	cfg.rx_apart = apart;
	nsess = 2;
	sess[0].role = ROLE_TX;
	sess[1].role = ROLE_RX;
	sess[0].bev = sess[1].bev = NULL;
	ready_now = 0;
	ready_calls = down_calls = down_sends = up_calls = bind_failed_calls = 0;
}

/*
 * Transmitter + receiver: the receiver's loss is told as the receiver's
 * alone (sends go on, the link stays ready), once per reason, a refused
 * rebind of it is not the link's failure, and its return is told. Before,
 * the link went offline and pigeond stopped sending until the receiver
 * was bound again.
 */
START_TEST(test_receiver_lost_alone)
{
	uint8_t p[32];

	split_pair(1);
	/* The receiver refused before the transmitter is bound: the link's
	 * failure, as before (nothing sends yet). */
	sess[1].state = S_BINDING;
	pdu16(p, SMPP_BIND_RECEIVER | SMPP_RESP, 0x0d, 1, 1);
	sess_pdu(&sess[1], p, 17);
	ck_assert_int_eq(bind_failed_calls, 1);
	ck_assert_int_eq(ready_now, 0);
	/* The transmitter binds: ready, and the receiver's state said. */
	sess[0].state = S_BINDING;
	pdu16(p, SMPP_BIND_TRANSMITTER | SMPP_RESP, ESME_ROK, 1, 1);
	sess_pdu(&sess[0], p, 17);
	ck_assert_int_eq(ready_now, 1);
	ck_assert_int_eq(ready_calls, 1);
	ck_assert_int_eq(down_calls, 1);
	ck_assert_int_eq(down_sends, 1);
	ck_assert_msg(strstr(down_why, "receiver: bind refused") == down_why, "%s",
	    down_why);
	/* Refused again: no second word, not the link's failure. */
	sess[1].state = S_BINDING;
	pdu16(p, SMPP_BIND_RECEIVER | SMPP_RESP, 0x0d, 1, 1);
	sess_pdu(&sess[1], p, 17);
	ck_assert_int_eq(bind_failed_calls, 1);
	ck_assert_int_eq(down_calls, 1);
	ck_assert_int_eq(ready_now, 1);
	/* Bound: back. Then lost: told with sends going on. */
	sess[1].state = S_BINDING;
	pdu16(p, SMPP_BIND_RECEIVER | SMPP_RESP, ESME_ROK, 1, 1);
	sess_pdu(&sess[1], p, 17);
	ck_assert_int_eq(up_calls, 1);
	sess_close(&sess[1], "connection closed by the SMSC", 0);
	ck_assert_int_eq(ready_now, 1);
	ck_assert_int_eq(down_calls, 2);
	ck_assert_int_eq(down_sends, 2);
	/* The transmitter's loss is the link's: not ready, sends stop. */
	sess_close(&sess[0], "connection closed by the SMSC", 0);
	ck_assert_int_eq(ready_now, 0);
	ck_assert_int_eq(down_calls, 3);
	ck_assert_int_eq(down_sends, 2);
	nsess = 1;
	sess[0].role = ROLE_TRX;
	cfg.rx_apart = 0;
}
END_TEST

/* A pigeond of before (no receiver_apart in the config) took every
 * `link` down for the link's and knew no `up`: to it, a receiver lost is
 * the link down, and the link is ready again once both are bound. */
START_TEST(test_receiver_lost_older_pigeond)
{
	uint8_t p[32];

	split_pair(0);
	sess[0].state = S_BINDING;
	pdu16(p, SMPP_BIND_TRANSMITTER | SMPP_RESP, ESME_ROK, 1, 1);
	sess_pdu(&sess[0], p, 17);
	ck_assert_int_eq(ready_now, 0);		/* the receiver not bound yet */
	sess[1].state = S_BINDING;
	pdu16(p, SMPP_BIND_RECEIVER | SMPP_RESP, ESME_ROK, 1, 1);
	sess_pdu(&sess[1], p, 17);
	ck_assert_int_eq(ready_calls, 1);
	sess_close(&sess[1], "connection closed by the SMSC", 0);
	ck_assert_int_eq(ready_now, 0);
	ck_assert_int_eq(down_calls, 1);
	ck_assert_int_eq(down_sends, 0);
	sess[1].state = S_BINDING;
	sess_pdu(&sess[1], p, 17);
	ck_assert_int_eq(ready_calls, 2);	/* ready again, as before */
	ck_assert_int_eq(up_calls, 0);
	nsess = 1;
	sess[0].role = ROLE_TRX;
}
END_TEST

/* A deliver_sm from +212600000001 saying text, sequence seq. */
static void
deliver_text(struct pdu_out *o, uint32_t seq, const char *text)
{
	pdu_out_init(o);
	pdu_begin(o, SMPP_DELIVER_SM, 0, seq);
	pdu_cstr(o, "", 6);			/* service_type */
	pdu_u8(o, 1);
	pdu_u8(o, 1);
	pdu_cstr(o, "212600000001", 21);
	pdu_u8(o, 0);
	pdu_u8(o, 0);
	pdu_cstr(o, "40404", 21);
	pdu_u8(o, 0);				/* esm_class: MO */
	pdu_u8(o, 0);
	pdu_u8(o, 0);
	pdu_cstr(o, "", 17);
	pdu_cstr(o, "", 17);
	pdu_u8(o, 0);
	pdu_u8(o, 0);
	pdu_u8(o, 0);				/* data_coding */
	pdu_u8(o, 0);
	pdu_u8(o, (uint8_t)strlen(text));	/* sm_length */
	pdu_bytes(o, text, strlen(text));
	pdu_end(o);
}

static void
deliver_pdu(struct pdu_out *o, uint32_t seq)
{
	deliver_text(o, seq, "hi");
}

/* A deliver_sm before the bind is answered, or on a transmitter, is
 * answered at once (not in that state) and reaches nobody: its answer
 * after pigeond's commit could never go out. */
START_TEST(test_deliver_out_of_state)
{
	struct pdu_out o;

	nsess = 1;
	sess[0].bev = NULL;
	deliver_calls = 0;
	sess[0].role = ROLE_TRX;
	sess[0].state = S_BINDING;
	deliver_pdu(&o, 7);
	sess_pdu(&sess[0], o.buf, o.len);
	ck_assert_int_eq(deliver_calls, 0);
	sess[0].role = ROLE_TX;
	sess[0].state = S_BOUND;
	sess_pdu(&sess[0], o.buf, o.len);
	ck_assert_int_eq(deliver_calls, 0);
	sess[0].role = ROLE_TRX;
	sess_pdu(&sess[0], o.buf, o.len);
	ck_assert_int_eq(deliver_calls, 1);
	pdu_out_free(&o);
}
END_TEST

/* One delivery sent again and again while its commit waits: so many
 * copies joined, the rest turned away (each kept 4 bytes, for ever). */
START_TEST(test_acks_copies_capped)
{
	int joined = 0, refused = 0;

	acks_add(&sess[1], 3, 1, 0x5eedULL);
	for (uint32_t seq = 2; seq < 2 + ACKS_MAX_COPIES + 10; seq++) {
		int r = acks_join(&sess[1], 3, 0x5eedULL, seq);
		joined += r == 1;
		refused += r == 2;
	}
	ck_assert_int_eq(joined, ACKS_MAX_COPIES);
	ck_assert_int_eq(refused, 10);
}
END_TEST

/* An SMSC sending without waiting for its answers: past
 * ACKS_MAX_WAITING deliveries waiting for pigeond's commit, the next are
 * turned away (throttled) and reach nobody; once some are answered, new
 * ones are taken again. Before, every one was kept, each new one scanning
 * all the others. */
START_TEST(test_deliveries_flood_capped)
{
	struct pdu_out o;
	char text[32];
	uint32_t seq = 1000;

	nsess = 1;
	sess[0].role = ROLE_TRX;
	sess[0].state = S_BOUND;
	sess[0].bev = NULL;
	sess[0].gen = 9;
	deliver_calls = 0;
	size_t before = acks_waiting();
	for (int i = 0; i < ACKS_MAX_WAITING + 50; i++, seq++) {
		snprintf(text, sizeof(text), "flood %d", i);
		deliver_text(&o, seq, text);
		sess_pdu(&sess[0], o.buf, o.len);
		pdu_out_free(&o);
	}
	ck_assert_uint_eq(acks_waiting(), ACKS_MAX_WAITING);
	ck_assert_int_eq(deliver_calls, (int)(ACKS_MAX_WAITING - before));
	/* One answered: one more taken. */
	void *owner;
	unsigned gen;
	uint32_t first, *copies;
	size_t ncopies;
	ck_assert_int_eq(acks_take(next_handle, &owner, &gen, &first, &copies,
	    &ncopies), 0);
	free(copies);
	deliver_text(&o, seq, "after the flood");
	sess_pdu(&sess[0], o.buf, o.len);
	pdu_out_free(&o);
	ck_assert_int_eq(deliver_calls, (int)(ACKS_MAX_WAITING - before) + 1);
}
END_TEST

/* The status and sequence number of the deliver_sm_resp PDUs written to
 * bev's output so far, in order; how many (at most max). Drains it. */
static int
resps_out(struct bufferevent *bev, uint32_t *status, uint32_t *seqs, int max)
{
	struct evbuffer *out = bufferevent_get_output(bev);
	int n = 0;

	/* A socket bufferevent's output is drained by its socket alone. */
	evbuffer_unfreeze(out, 1);
	while (evbuffer_get_length(out) >= 16) {
		uint8_t h[16];
		ck_assert_int_eq(evbuffer_copyout(out, h, 16), 16);
		uint32_t len = pdu_get32(h);
		ck_assert_msg(len >= 16 && evbuffer_drain(out, len) == 0,
		    "a PDU of %u bytes written", len);
		if (pdu_get32(h + 4) == (SMPP_DELIVER_SM | SMPP_RESP) && n < max) {
			status[n] = pdu_get32(h + 8);
			seqs[n] = pdu_get32(h + 12);
			n++;
		}
	}
	evbuffer_freeze(out, 1);
	return n;
}

/*
 * The deliveries of a session that closed are forgotten with it (their
 * answers can no longer be given; the SMSC delivers them again). Before,
 * they stayed for good: after ACKS_MAX_WAITING of them over the worker's
 * life, every deliver_sm of every later session was answered
 * ESME_RTHROTTLED, the bind taking no MO and no receipt until a restart.
 */
START_TEST(test_acks_closed_session_dropped)
{
	struct pdu_out o;
	char text[48];
	const char *err;
	uint32_t seq = 70000;

	cfg.reconnect_max_ms = 30000;
	nsess = 1;
	sess[0].role = ROLE_TRX;
	sess[0].bev = NULL;
	sess[0].backoff_ms = BACKOFF_MIN_MS;
	for (int round = 0; round < 3; round++) {
		sess[0].gen++;
		sess[0].state = S_BOUND;
		deliver_calls = 0;
		for (int i = 0; i < ACKS_MAX_WAITING / 2 + 10; i++, seq++) {
			snprintf(text, sizeof(text), "round %d sms %d", round, i);
			deliver_text(&o, seq, text);
			sess_pdu(&sess[0], o.buf, o.len);
			pdu_out_free(&o);
		}
		ck_assert_msg(deliver_calls == ACKS_MAX_WAITING / 2 + 10,
		    "session %d: %d of %d deliveries reached pigeond (the rest "
		    "throttled)", round + 1, deliver_calls, ACKS_MAX_WAITING / 2 + 10);
		long long last = next_handle;
		sess_close(&sess[0], "connection closed by the SMSC", 0);
		ck_assert_uint_eq(acks_waiting(), 0);
		/* pigeond's late commit of one: the session is gone. */
		ck_assert_int_eq(link_ack(last, &err), -1);
	}
}
END_TEST

/*
 * A delivery pigeond has not answered in ACKS_MAX_AGE_MS (it could not
 * store it) is answered ESME_RX_T_APPN with its copies, so that the SMSC
 * delivers it again, and forgotten: the SMSC's next copy of it is a
 * delivery of its own, reported. Before, each copy was joined to it and
 * answered by nobody, the MO never stored.
 */
START_TEST(test_acks_old_answered_again)
{
	struct event_base *eb = event_base_new();
	struct pdu_out o;
	uint32_t status[8], seqs[8];

	ck_assert_ptr_nonnull(eb);
	nsess = 1;
	sess[0].role = ROLE_TRX;
	sess[0].state = S_BOUND;
	sess[0].gen = 40;
	sess[0].bev = bufferevent_socket_new(eb, -1, 0);
	sess[0].enq_next = now_ms() + 60000;
	cfg.enquire_link_s = 60;
	deliver_calls = 0;
	deliver_text(&o, 11, "STOP");
	sess_pdu(&sess[0], o.buf, o.len);
	ck_assert_int_eq(deliver_calls, 1);
	pdu_out_free(&o);
	deliver_text(&o, 12, "STOP");		/* the SMSC's copy: joined */
	sess_pdu(&sess[0], o.buf, o.len);
	ck_assert_int_eq(deliver_calls, 1);
	/* A tick before the bound: nothing answered. */
	on_tick(-1, 0, NULL);
	ck_assert_int_eq(resps_out(sess[0].bev, status, seqs, 8), 0);
	ck_assert_uint_eq(acks_waiting(), 1);
	/* Past it. */
	acks[acks_head].at -= ACKS_MAX_AGE_MS;
	on_tick(-1, 0, NULL);
	ck_assert_int_eq(resps_out(sess[0].bev, status, seqs, 8), 2);
	ck_assert_uint_eq(status[0], ESME_RX_T_APPN);
	ck_assert_uint_eq(seqs[0], 11);
	ck_assert_uint_eq(status[1], ESME_RX_T_APPN);
	ck_assert_uint_eq(seqs[1], 12);
	ck_assert_uint_eq(acks_waiting(), 0);
	/* Delivered again: a delivery of its own, reported. */
	pdu_out_free(&o);
	deliver_text(&o, 13, "STOP");
	sess_pdu(&sess[0], o.buf, o.len);
	ck_assert_int_eq(deliver_calls, 2);
	pdu_out_free(&o);
	bufferevent_free(sess[0].bev);
	sess[0].bev = NULL;
	event_base_free(eb);
}
END_TEST

/* pigeond could not store it (`release`): answered ESME_RX_T_APPN at
 * once, its copies with it, and forgotten. */
START_TEST(test_acks_released)
{
	struct event_base *eb = event_base_new();
	struct pdu_out o;
	uint32_t status[8], seqs[8];
	const char *err;

	nsess = 1;
	sess[0].role = ROLE_TRX;
	sess[0].state = S_BOUND;
	sess[0].gen = 41;
	sess[0].bev = bufferevent_socket_new(eb, -1, 0);
	deliver_calls = 0;
	deliver_text(&o, 21, "FOLLOW alice");
	sess_pdu(&sess[0], o.buf, o.len);
	long long h = next_handle;
	pdu_out_free(&o);
	deliver_text(&o, 22, "FOLLOW alice");
	sess_pdu(&sess[0], o.buf, o.len);
	pdu_out_free(&o);
	ck_assert_int_eq(link_release(h, &err), 0);
	ck_assert_int_eq(resps_out(sess[0].bev, status, seqs, 8), 2);
	ck_assert_uint_eq(status[0], ESME_RX_T_APPN);
	ck_assert_uint_eq(seqs[1], 22);
	ck_assert_uint_eq(acks_waiting(), 0);
	ck_assert_int_eq(link_ack(h, &err), -1);
	bufferevent_free(sess[0].bev);
	sess[0].bev = NULL;
	event_base_free(eb);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("smpp_link");
	TCase *tc = tcase_create("smpp_link");

	tcase_add_test(tc, test_acks_one_never_answered);
	tcase_add_test(tc, test_sessions_number_their_own);
	tcase_add_test(tc, test_dropped_binds_back_off);
	tcase_add_test(tc, test_handles_wrap);
	tcase_add_test(tc, test_acks_copies_join);
	tcase_add_test(tc, test_receiver_lost_alone);
	tcase_add_test(tc, test_receiver_lost_older_pigeond);
	tcase_add_test(tc, test_deliver_out_of_state);
	tcase_add_test(tc, test_acks_copies_capped);
	tcase_add_test(tc, test_deliveries_flood_capped);
	tcase_add_test(tc, test_acks_closed_session_dropped);
	tcase_add_test(tc, test_acks_old_answered_again);
	tcase_add_test(tc, test_acks_released);
	suite_add_tcase(s, tc);
	return unit_run(s);
}

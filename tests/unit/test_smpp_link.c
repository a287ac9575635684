/*
 * test_smpp_link.c: pigeon-smpp's bookkeeping in smpp/link.c,
 * smpp/submit.c and smpp/acks.c, included whole (their state is static)
 * without a socket: the deliveries waiting for pigeond's answer, sessions,
 * binds, the submits in flight.
 */
#include "../../smpp/link.c"
#include "../../smpp/submit.c"
#include "../../smpp/acks.c"

#include <stdarg.h>

#include <check.h>
#include <event2/bufferevent.h>

#include "unit.h"

/* What smpp/main.c and deliver.c give link.c; nothing here reaches pigeond. */
static int ready_calls, down_calls, down_sends, up_calls, bind_failed_calls;
static char down_why[160];
void main_ready(const char *smsc_system_id, int rebind) { ready_calls++; }
/* What pigeond was told, in order: "down;", "sent ID;", "failed ID
 * temporary|permanent;". */
static char trail[1024];
static void
trail_add(const char *fmt, ...)
{
	va_list ap;
	size_t n = strlen(trail);

	va_start(ap, fmt);
	vsnprintf(trail + n, sizeof(trail) - n, fmt, ap);
	va_end(ap);
}
void main_link_down(const char *session, const char *reason, uint32_t status,
    int sends)
{
	trail_add("down;");
	down_calls++;
	down_sends += sends;
	snprintf(down_why, sizeof(down_why), "%s: %s", session, reason);
}
void main_link_up(const char *session) { up_calls++; }
void main_bind_failed(uint32_t status) { bind_failed_calls++; }
void main_link_failed(const char *session, const char *reason) { }
int deliver_is_receipt(const struct deliver *d) { return (d->esm_class & 0x3c) != 0; }
static int sent_calls, failed_calls;
static char failed_error[160], sent_id[SMPP_ID_SIZE];
void main_sent(long long id, int parts, int segments, char ids[][SMPP_ID_SIZE])
{
	sent_calls++;
	snprintf(sent_id, sizeof(sent_id), "%s", ids[0]);
	trail_add("sent %lld;", id);
}
void main_send_failed(long long id, int parts, int parts_sent, int nids,
    char ids[][SMPP_ID_SIZE], uint32_t status, int temporary, int throttled,
    int maybe_sent, const char *error)
{
	failed_calls++;
	trail_add("failed %lld %s%s;", id, temporary ? "temporary" : "permanent",
	    (maybe_sent & SEND_NOT_SENT) ? " not-sent" : "");
	snprintf(failed_error, sizeof(failed_error), "%s", error);
}
static int paused_calls;
void main_paused(int ms, uint32_t status)
{
	paused_calls++;
}
static int deliver_calls, last_again;
static long long last_handle;
static struct deliver last_d;		/* last_d.sm points to last_text */
static char last_text[256];
void main_deliver(long long handle, uint32_t seq, const struct deliver *d,
    int again, int receipt)
{
	size_t n = d->sm_len < sizeof(last_text) - 1 ? d->sm_len :
	    sizeof(last_text) - 1;

	deliver_calls++;
	last_again = again;
	last_handle = handle;
	last_d = *d;
	memcpy(last_text, d->sm, n);
	last_text[n] = '\0';
	last_d.sm = (const uint8_t *)last_text;
}
/* What the worker told pigeond it dropped: how many, the first and last. */
static size_t dropped_n;
static long long dropped_first, dropped_last;
void main_dropped(const long long *handles, size_t n)
{
	if (n == 0)
		return;
	if (dropped_n == 0)
		dropped_first = handles[0];
	dropped_n += n;
	dropped_last = handles[n - 1];
}
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

/* Message id, one part, in flight on the transceiver as sequence seq. */
static void
in_flight(long long id, uint32_t seq)
{
	struct msg *m = calloc(1, sizeof(*m));
	struct sub *sb = calloc(1, sizeof(*sb));

	m->id = id;
	m->n = 1;
	m->submitted = 1;
	sb->m = m;
	sb->s = &sess[0];
	sb->seq = seq;
	sb->deadline = now_ms() + 30000;
	TAILQ_INSERT_TAIL(&inflight, sb, q);
	ninflight++;
}

/*
 * A generic_nack answering one submit_sm (an SMSC that cannot parse it)
 * fails that message for good, its status in the error, and the session
 * goes on: the other submits in flight are answered as usual. Before,
 * the session closed, every other submit in flight was "may have been
 * sent" (sent again), and the nacked one, temporary, did it all again
 * at each of its attempts. A nack saying the command_length was wrong
 * still closes the session (the stream may be out of step), the link
 * down told before the messages' outcomes.
 */
START_TEST(test_nack_fails_one_submit)
{
	uint8_t p[32];

	cfg.reconnect_max_ms = 30000;
	nsess = 1;
	sess[0].role = ROLE_TRX;
	sess[0].state = S_BOUND;
	sess[0].bev = NULL;
	sess[0].backoff_ms = BACKOFF_MIN_MS;
	ready_now = 1;
	trail[0] = '\0';
	down_calls = 0;
	in_flight(42, 2);
	in_flight(43, 3);
	pdu16(p, SMPP_GENERIC_NACK, ESME_RINVCMDID, 2, 0);
	sess_pdu(&sess[0], p, 16);
	ck_assert_str_eq(trail, "failed 42 permanent;");
	ck_assert_msg(strstr(failed_error, "generic_nack 0x03") != NULL, "%s",
	    failed_error);
	ck_assert_int_eq(sess[0].state, S_BOUND);
	ck_assert_int_eq(ready_now, 1);
	ck_assert_int_eq(ninflight, 1);
	pdu16(p, SMPP_SUBMIT_SM | SMPP_RESP, ESME_ROK, 3, 3);
	p[16] = 'a';
	p[17] = '1';
	sess_pdu(&sess[0], p, 19);
	ck_assert_str_eq(trail, "failed 42 permanent;sent 43;");
	ck_assert_int_eq(down_calls, 0);

	/* A nack saying throttled (as some SMSCs throttle) is a throttle:
	 * temporary, never the message's failure. */
	trail[0] = '\0';
	paused_calls = 0;
	in_flight(47, 7);
	pdu16(p, SMPP_GENERIC_NACK, ESME_RTHROTTLED, 7, 0);
	sess_pdu(&sess[0], p, 16);
	ck_assert_str_eq(trail, "failed 47 temporary;");
	ck_assert_int_eq(sess[0].state, S_BOUND);
	ck_assert_int_ge(pause_until, now_ms());
	/* pigeond hears of the pause: it hands the bind nothing meanwhile. */
	ck_assert_int_eq(paused_calls, 1);
	pause_until = 0;

	/* ESME_RINVCMDLEN: the session closes, the link down first. */
	trail[0] = '\0';
	in_flight(44, 4);
	in_flight(45, 5);
	pdu16(p, SMPP_GENERIC_NACK, ESME_RINVCMDLEN, 4, 0);
	sess_pdu(&sess[0], p, 16);
	ck_assert_int_eq(sess[0].state, S_DOWN);
	ck_assert_str_eq(trail, "down;failed 45 temporary;failed 44 temporary;");
	ck_assert_msg(strstr(failed_error, "generic_nack 0x02") != NULL, "%s",
	    failed_error);
	ck_assert_int_eq(ninflight, 0);
}
END_TEST

/* A submit_sm_resp whose message_id ends with the PDU, without its NUL:
 * the part has that id (it had none, and its receipts matched nothing). */
START_TEST(test_submit_resp_id_without_nul)
{
	uint8_t p[32];

	nsess = 1;
	sess[0].role = ROLE_TRX;
	sess[0].state = S_BOUND;
	sess[0].bev = NULL;
	in_flight(46, 6);
	pdu16(p, SMPP_SUBMIT_SM | SMPP_RESP, ESME_ROK, 6, 8);
	memcpy(p + 16, "3A000009", 8);
	sess_pdu(&sess[0], p, 24);
	ck_assert_int_eq(ninflight, 0);
	ck_assert_str_eq(sent_id, "3A000009");
}
END_TEST

/* A long message of two parts (send id), both submitted on one bound
 * transceiver, their sequence numbers seq and seq + 1. */
static void
two_parts_in_flight(long long id, uint32_t seq)
{
	struct msg *m = calloc(1, sizeof(*m));

	nsess = 1;
	sess[0].role = ROLE_TRX;
	sess[0].state = S_BOUND;
	sess[0].bev = NULL;
	trail[0] = '\0';
	m->id = id;
	m->n = 2;
	m->submitted = 2;
	for (int i = 0; i < 2; i++) {
		struct sub *sb = calloc(1, sizeof(*sb));
		sb->m = m;
		sb->idx = i;
		sb->s = &sess[0];
		sb->seq = seq + (uint32_t)i;
		sb->deadline = now_ms() + 30000;
		sb->order = ++subs_made;
		TAILQ_INSERT_TAIL(&inflight, sb, q);
		ninflight++;
	}
}

/*
 * A long message whose part 1 the SMSC refuses (0x45) and part 2 it
 * throttles: the send ends with part 1's failure, part 2 is not queued
 * again. (It was submitted again after the pause and accepted, and the
 * phone got an orphan part 2 before the whole message's retry.)
 */
START_TEST(test_throttled_part_of_failed_message)
{
	uint8_t p[32];

	two_parts_in_flight(48, 11);
	pdu16(p, SMPP_SUBMIT_SM | SMPP_RESP, 0x45, 11, 0);
	sess_pdu(&sess[0], p, 16);
	ck_assert_str_eq(trail, "");
	pdu16(p, SMPP_SUBMIT_SM | SMPP_RESP, ESME_RTHROTTLED, 12, 0);
	sess_pdu(&sess[0], p, 16);
	ck_assert_msg(nqueued == 0, "part 2 queued again after part 1 failed");
	ck_assert_int_eq(ninflight, 0);
	ck_assert_str_eq(trail, "failed 48 temporary;");
	ck_assert_msg(strstr(failed_error, "part 1/2: command_status 0x45") != NULL,
	    "%s", failed_error);
	pause_until = 0;
}
END_TEST

/*
 * Both parts of a long message throttled, queued again, then the session
 * lost before either is submitted again: nothing left, so the message
 * goes back not sent, no attempt charged. (The throttled parts counted
 * as submitted, and it failed temporary: an attempt, a backoff, and
 * after 5 such episodes "gave up".)
 */
START_TEST(test_throttled_parts_then_lost_not_sent)
{
	uint8_t p[32];

	two_parts_in_flight(49, 21);
	for (uint32_t seq = 21; seq <= 22; seq++) {
		pdu16(p, SMPP_SUBMIT_SM | SMPP_RESP, ESME_RTHROTTLED, seq, 0);
		sess_pdu(&sess[0], p, 16);
	}
	ck_assert_int_eq(nqueued, 2);
	ck_assert_str_eq(trail, "");
	link_fail_all("unbind from the SMSC");
	ck_assert_int_eq(nqueued, 0);
	ck_assert_str_eq(trail, "failed 49 temporary not-sent;");
	pause_until = 0;
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
	uint32_t seq, cmd, *copies;
	size_t ncopies;

	long long h = acks_add(&sess[0], 1, 5, 0xabcULL, SMPP_DELIVER_SM, NULL);
	ck_assert_int_eq(acks_join(&sess[0], 2, 0xabcULL, 6), 0);
	ck_assert_int_eq(acks_join(&sess[0], 1, 0xabdULL, 6), 0);
	ck_assert_int_eq(acks_join(&sess[0], 1, 0xabcULL, 7), 1);
	ck_assert_int_eq(acks_join(&sess[0], 1, 0xabcULL, 9), 1);
	ck_assert_int_eq(acks_take(h, ACKS_DONE, &owner, &gen, &seq, &cmd, &copies,
	    &ncopies), 0);
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

/* A deliver_sm's or data_sm's head, from +212600000001 to 40404, up to
 * its esm_class. */
static void
mo_head(struct pdu_out *o, uint32_t cmd, uint32_t seq, uint8_t esm)
{
	pdu_out_init(o);
	pdu_begin(o, cmd, 0, seq);
	pdu_cstr(o, "", 6);			/* service_type */
	pdu_u8(o, 1);
	pdu_u8(o, 1);
	pdu_cstr(o, "212600000001", 21);
	pdu_u8(o, 0);
	pdu_u8(o, 0);
	pdu_cstr(o, "40404", 21);
	pdu_u8(o, esm);				/* esm_class */
}

/* A deliver_sm from +212600000001 saying text, sequence seq. */
static void
deliver_text(struct pdu_out *o, uint32_t seq, const char *text)
{
	mo_head(o, SMPP_DELIVER_SM, seq, 0);	/* esm_class: MO */
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

/* deliver_text's key for text (deliver_hash). */
static uint64_t
deliver_key_of(const char *text)
{
	struct pdu_out o;
	struct deliver d;
	uint64_t k;

	deliver_text(&o, 1, text);
	ck_assert_int_eq(pdu_deliver_parse(o.buf, o.len, &d), 0);
	k = deliver_hash(&d);
	pdu_out_free(&o);
	return k;
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

/* A connection for s whose other end the test reads (wired_pdu). */
static struct event_base *tbase;
static struct bufferevent *peer;

static void
wire(struct sess *s)
{
	struct bufferevent *pair[2];

	if (tbase == NULL)
		ck_assert_ptr_nonnull(tbase = event_base_new());
	ck_assert_int_eq(bufferevent_pair_new(tbase, 0, pair), 0);
	bufferevent_enable(pair[1], EV_READ);
	s->bev = pair[0];
	peer = pair[1];
}

static void
unwire(struct sess *s)
{
	bufferevent_free(s->bev);
	bufferevent_free(peer);
	s->bev = NULL;
	peer = NULL;
}

/* The next PDU written on the wired session: its header and body
 * (body_len bytes), 0; or -1 when there is none. */
static int
wired_pdu(uint32_t *cmd, uint32_t *status, uint32_t *seq, uint8_t *body,
    size_t *body_len)
{
	struct evbuffer *in = bufferevent_get_input(peer);
	uint8_t h[16];

	if (evbuffer_copyout(in, h, 16) != 16)
		return -1;
	uint32_t len = pdu_get32(h);
	ck_assert_uint_ge(len, 16);
	ck_assert_uint_le(len, 16 + 256);
	ck_assert_uint_ge(evbuffer_get_length(in), len);
	evbuffer_drain(in, 16);
	*cmd = pdu_get32(h + 4);
	*status = pdu_get32(h + 8);
	*seq = pdu_get32(h + 12);
	*body_len = len - 16;
	evbuffer_remove(in, body, *body_len);
	return 0;
}

/* A data_sm from +212600000001 (esm_class esm), text in message_payload,
 * and more TLVs. */
static void
data_sm_text(struct pdu_out *o, uint32_t seq, uint8_t esm, const char *text,
    const uint8_t *tlvs, size_t tlen)
{
	mo_head(o, SMPP_DATA_SM, seq, esm);
	pdu_u8(o, 0);				/* registered_delivery */
	pdu_u8(o, 0);				/* data_coding */
	pdu_tlv(o, TLV_MESSAGE_PAYLOAD, text, strlen(text));
	pdu_bytes(o, tlvs, tlen);
	pdu_end(o);
}

/*
 * MO and receipts an SMSC sends as data_sm are read as deliver_sm's
 * (their text in message_payload, a receipt by esm_class and its TLVs)
 * and answered data_sm_resp, with an empty message_id, only after
 * pigeond's commit. Before, each was answered generic_nack 0x03 and lost.
 * A deliver_sm of the same text is another delivery, answered
 * deliver_sm_resp.
 */
START_TEST(test_data_sm)
{
	struct pdu_out o;
	uint8_t body[256];
	size_t blen;
	uint32_t cmd, status, seq;
	const char *err = NULL;
	static const uint8_t rtlvs[] = { 0x00, 0x1e, 0, 9, '3', 'a', '0', '0',
	    '0', '0', '0', '2', 0, 0x04, 0x27, 0, 1, 5 };

	nsess = 1;
	sess[0].role = ROLE_TRX;
	sess[0].state = S_BOUND;
	wire(&sess[0]);
	deliver_calls = 0;
	data_sm_text(&o, 13, 0, "FOLLOW ali", NULL, 0);
	sess_pdu(&sess[0], o.buf, o.len);
	pdu_out_free(&o);
	ck_assert_int_eq(wired_pdu(&cmd, &status, &seq, body, &blen), -1);
	ck_assert_int_eq(deliver_calls, 1);
	ck_assert_str_eq(last_text, "FOLLOW ali");
	ck_assert_str_eq(last_d.source, "212600000001");
	ck_assert_str_eq(last_d.dest, "40404");
	ck_assert_int_eq(last_d.source_ton, 1);
	long long mo = last_handle;

	/* The same text as a deliver_sm: its own delivery. */
	deliver_text(&o, 14, "FOLLOW ali");
	sess_pdu(&sess[0], o.buf, o.len);
	pdu_out_free(&o);
	ck_assert_int_eq(deliver_calls, 2);
	long long dl = last_handle;

	/* A receipt as data_sm. */
	data_sm_text(&o, 15, 0x04, "id:3a000002 sub:001 dlvrd:000 submit "
	    "date:2512052150 done date:2512052151 stat:UNDELIV err:001 text:",
	    rtlvs, sizeof(rtlvs));
	sess_pdu(&sess[0], o.buf, o.len);
	pdu_out_free(&o);
	ck_assert_int_eq(deliver_calls, 3);
	ck_assert_int_eq(last_d.esm_class, 0x04);
	ck_assert_str_eq(last_d.receipted_id, "3a000002");
	ck_assert_int_eq(last_d.message_state, 5);
	ck_assert(strstr(last_text, "stat:UNDELIV") != NULL);
	long long rc = last_handle;
	ck_assert_int_eq(wired_pdu(&cmd, &status, &seq, body, &blen), -1);

	/* Committed: each answered as it came. */
	ck_assert_int_eq(link_ack(dl, &err), 0);
	ck_assert_int_eq(link_ack(mo, &err), 0);
	ck_assert_int_eq(link_ack(rc, &err), 0);
	ck_assert_int_eq(wired_pdu(&cmd, &status, &seq, body, &blen), 0);
	ck_assert_uint_eq(cmd, SMPP_DELIVER_SM | SMPP_RESP);
	ck_assert_uint_eq(seq, 14);
	ck_assert_int_eq(wired_pdu(&cmd, &status, &seq, body, &blen), 0);
	ck_assert_uint_eq(cmd, 0x80000103u);
	ck_assert_uint_eq(status, ESME_ROK);
	ck_assert_uint_eq(seq, 13);
	ck_assert_uint_eq(blen, 1);		/* message_id "" */
	ck_assert_int_eq(body[0], 0);
	ck_assert_int_eq(wired_pdu(&cmd, &status, &seq, body, &blen), 0);
	ck_assert_uint_eq(cmd, 0x80000103u);
	ck_assert_uint_eq(seq, 15);
	ck_assert_int_eq(wired_pdu(&cmd, &status, &seq, body, &blen), -1);
	unwire(&sess[0]);
}
END_TEST

/* A deliver_sm with a stray byte after short_message reaches pigeond
 * and waits for its commit (it was answered ESME_RSYSERR at once, the
 * SMSC delivering it again for ever, never stored). */
START_TEST(test_deliver_broken_tail_taken)
{
	struct pdu_out o;
	uint8_t body[256];
	size_t blen;
	uint32_t cmd, status, seq;
	const char *err = NULL;

	nsess = 1;
	sess[0].role = ROLE_TRX;
	sess[0].state = S_BOUND;
	wire(&sess[0]);
	deliver_calls = 0;
	deliver_text(&o, 21, "FOLLOW ali");
	pdu_u8(&o, 0);
	pdu_end(&o);
	sess_pdu(&sess[0], o.buf, o.len);
	pdu_out_free(&o);
	ck_assert_int_eq(wired_pdu(&cmd, &status, &seq, body, &blen), -1);
	ck_assert_int_eq(deliver_calls, 1);
	ck_assert_str_eq(last_text, "FOLLOW ali");
	ck_assert_int_eq(link_ack(last_handle, &err), 0);
	ck_assert_int_eq(wired_pdu(&cmd, &status, &seq, body, &blen), 0);
	ck_assert_uint_eq(cmd, SMPP_DELIVER_SM | SMPP_RESP);
	ck_assert_uint_eq(status, ESME_ROK);
	ck_assert_uint_eq(seq, 21);
	unwire(&sess[0]);
}
END_TEST

/* An alert_notification gets no answer (SMPP 3.4 defines none: it was
 * answered generic_nack) and the session goes on; a command the worker
 * does not know is still answered generic_nack 0x03. */
START_TEST(test_alert_notification_ignored)
{
	uint8_t p[64], body[256];
	size_t blen;
	uint32_t cmd, status, seq;

	nsess = 1;
	sess[0].role = ROLE_TRX;
	sess[0].state = S_BOUND;
	wire(&sess[0]);
	pdu16(p, SMPP_ALERT_NOTIFICATION, 0, 17, 30);
	sess_pdu(&sess[0], p, 46);
	ck_assert_int_eq(wired_pdu(&cmd, &status, &seq, body, &blen), -1);
	ck_assert_int_eq(sess[0].state, S_BOUND);
	pdu16(p, 0x00000104u, 0, 18, 0);	/* an unknown command */
	sess_pdu(&sess[0], p, 16);
	ck_assert_int_eq(wired_pdu(&cmd, &status, &seq, body, &blen), 0);
	ck_assert_uint_eq(cmd, SMPP_GENERIC_NACK);
	ck_assert_uint_eq(status, ESME_RINVCMDID);
	ck_assert_uint_eq(seq, 18);
	unwire(&sess[0]);
}
END_TEST

/* One delivery sent again and again while its commit waits: so many
 * copies joined, the rest turned away (each kept 4 bytes, for ever). */
START_TEST(test_acks_copies_capped)
{
	int joined = 0, refused = 0;

	acks_add(&sess[1], 3, 1, 0x5eedULL, SMPP_DELIVER_SM, NULL);
	for (uint32_t seq = 2; seq < 2 + ACKS_MAX_COPIES + 10; seq++) {
		int r = acks_join(&sess[1], 3, 0x5eedULL, seq);
		joined += r == 1;
		refused += r == 2;
	}
	ck_assert_int_eq(joined, ACKS_MAX_COPIES);
	ck_assert_int_eq(refused, 10);
	/* Throttled copies come again, perhaps once the first is stored:
	 * the next delivery with that key is a redelivery (once). */
	ck_assert_int_eq(acks_again_take(0x5eedULL), 1);
	ck_assert_int_eq(acks_again_take(0x5eedULL), 0);
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
	/* Those throttled never reached pigeond: stored when they come
	 * again, not told as redeliveries. */
	ck_assert_uint_eq(again_n, 0);
	/* One answered: one more taken. */
	void *owner;
	unsigned gen;
	uint32_t first, cmd, *copies;
	size_t ncopies;
	ck_assert_int_eq(acks_take(next_handle, ACKS_DONE, &owner, &gen, &first,
	    &cmd, &copies, &ncopies), 0);
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
		dropped_n = 0;
		sess_close(&sess[0], "connection closed by the SMSC", 0);
		ck_assert_uint_eq(acks_waiting(), 0);
		/* pigeond is told, so that it stores none it still has: the
		 * SMSC's copy may be stored first on another bind. */
		ck_assert_uint_eq(dropped_n, ACKS_MAX_WAITING / 2 + 10);
		ck_assert_int_eq(dropped_first, last - (ACKS_MAX_WAITING / 2 + 10) + 1);
		ck_assert_int_eq(dropped_last, last);
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
	/* Past it: answered, and pigeond told it is dropped. */
	long long first = last_handle;
	acks[acks_head].at -= ACKS_MAX_AGE_MS;
	dropped_n = 0;
	on_tick(-1, 0, NULL);
	ck_assert_uint_eq(dropped_n, 1);
	ck_assert_int_eq(dropped_first, first);
	ck_assert_int_eq(resps_out(sess[0].bev, status, seqs, 8), 2);
	ck_assert_uint_eq(status[0], ESME_RX_T_APPN);
	ck_assert_uint_eq(seqs[0], 11);
	ck_assert_uint_eq(status[1], ESME_RX_T_APPN);
	ck_assert_uint_eq(seqs[1], 12);
	ck_assert_uint_eq(acks_waiting(), 0);
	/* Delivered again: a delivery of its own, reported, and said to be
	 * a redelivery (pigeond may have stored the first: its answer was
	 * held for the host lock). */
	pdu_out_free(&o);
	deliver_text(&o, 13, "STOP");
	sess_pdu(&sess[0], o.buf, o.len);
	ck_assert_int_eq(deliver_calls, 2);
	ck_assert_int_eq(last_again, 1);
	/* Committed and answered: the same text once more is a new SMS (a
	 * second STOP after a START). */
	const char *err;
	ck_assert_int_eq(link_ack(last_handle, &err), 0);
	pdu_out_free(&o);
	deliver_text(&o, 14, "STOP");
	sess_pdu(&sess[0], o.buf, o.len);
	ck_assert_int_eq(deliver_calls, 3);
	ck_assert_int_eq(last_again, 0);
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
	/* Nothing of it was stored: delivered again, it is stored as any
	 * (not told as a redelivery, which an identical SMS stored minutes
	 * before would absorb). */
	deliver_text(&o, 23, "FOLLOW alice");
	sess_pdu(&sess[0], o.buf, o.len);
	pdu_out_free(&o);
	ck_assert_int_eq(deliver_calls, 2);
	ck_assert_int_eq(last_again, 0);
	ck_assert_int_eq(link_release(last_handle, &err), 0);
	/* A redelivery released: the first copy may be stored, the next
	 * one is a redelivery still. */
	acks_again_note(deliver_key_of("FOLLOW alice"));
	deliver_text(&o, 24, "FOLLOW alice");
	sess_pdu(&sess[0], o.buf, o.len);
	pdu_out_free(&o);
	ck_assert_int_eq(last_again, 1);
	ck_assert_int_eq(link_release(last_handle, &err), 0);
	deliver_text(&o, 25, "FOLLOW alice");
	sess_pdu(&sess[0], o.buf, o.len);
	pdu_out_free(&o);
	ck_assert_int_eq(deliver_calls, 4);
	ck_assert_int_eq(last_again, 1);
	ck_assert_int_eq(link_ack(last_handle, &err), 0);
	bufferevent_free(sess[0].bev);
	sess[0].bev = NULL;
	event_base_free(eb);
}
END_TEST

/*
 * A session closed under deliveries waiting for pigeond: the SMSC
 * delivers them again on the next one, and the first copies may be
 * stored (a receiver lost alone leaves the link online, so pigeond sees
 * no outage): told as redeliveries.
 */
START_TEST(test_acks_closed_session_again)
{
	struct pdu_out o;

	cfg.reconnect_max_ms = 30000;
	nsess = 1;
	sess[0].role = ROLE_TRX;
	sess[0].bev = NULL;
	sess[0].backoff_ms = BACKOFF_MIN_MS;
	sess[0].gen = 77;
	sess[0].state = S_BOUND;
	deliver_calls = 0;
	deliver_text(&o, 31, "ON amina");
	sess_pdu(&sess[0], o.buf, o.len);
	pdu_out_free(&o);
	ck_assert_int_eq(last_again, 0);
	sess_close(&sess[0], "connection closed by the SMSC", 0);
	sess[0].gen++;
	sess[0].state = S_BOUND;
	deliver_text(&o, 1, "ON amina");
	sess_pdu(&sess[0], o.buf, o.len);
	pdu_out_free(&o);
	ck_assert_int_eq(deliver_calls, 2);
	ck_assert_int_eq(last_again, 1);
}
END_TEST

/*
 * The again book is bounded: a key is kept ACKS_AGAIN_MS (the store's
 * window), taken once, and at most ACKS_AGAIN_MAX are kept, the oldest
 * forgotten first; a key noted twice is kept once, as noted last.
 */
START_TEST(test_acks_again_bounded)
{
	acks_again_note(0x1001ULL);
	acks_again_note(0x1002ULL);
	acks_again_note(0x1001ULL);
	ck_assert_int_eq(acks_again_take(0x1001ULL), 1);
	ck_assert_int_eq(acks_again_take(0x1001ULL), 0);
	ck_assert_int_eq(acks_again_take(0x1003ULL), 0);
	/* 0x1002 noted ACKS_AGAIN_MS ago: forgotten. */
	again_book[again_head].at -= ACKS_AGAIN_MS;
	ck_assert_int_eq(acks_again_take(0x1002ULL), 0);
	ck_assert_uint_eq(again_n, 0);
	/* One more than it holds: the first forgotten, the rest kept. */
	for (uint64_t k = 1; k <= ACKS_AGAIN_MAX + 1; k++)
		acks_again_note(0x50000ULL + k);
	ck_assert_uint_le(again_n, ACKS_AGAIN_MAX);
	ck_assert_int_eq(acks_again_take(0x50001ULL), 0);
	ck_assert_int_eq(acks_again_take(0x50002ULL), 1);
	ck_assert_int_eq(acks_again_take(0x50000ULL + ACKS_AGAIN_MAX + 1), 1);
	ck_assert_int_eq(acks_again_take(0x50000ULL + ACKS_AGAIN_MAX), 1);
}
END_TEST

/* Before each test: CK_FORK=no (make valgrind) runs them all in one
 * process, and the deliveries one left waiting throttled the next one's. */
static void
fresh(void)
{
	long long *h;

	acks_drop_owner(&sess[0], &h);
	free(h);
	acks_drop_owner(&sess[1], &h);
	free(h);
	flood_said = 0;
	again_head = again_n = 0;
	last_again = 0;
}

int
main(void)
{
	Suite *s = suite_create("smpp_link");
	TCase *tc = tcase_create("smpp_link");

	tcase_add_checked_fixture(tc, fresh, NULL);

	tcase_add_test(tc, test_acks_one_never_answered);
	tcase_add_test(tc, test_sessions_number_their_own);
	tcase_add_test(tc, test_dropped_binds_back_off);
	tcase_add_test(tc, test_nack_fails_one_submit);
	tcase_add_test(tc, test_submit_resp_id_without_nul);
	tcase_add_test(tc, test_throttled_part_of_failed_message);
	tcase_add_test(tc, test_throttled_parts_then_lost_not_sent);
	tcase_add_test(tc, test_handles_wrap);
	tcase_add_test(tc, test_acks_copies_join);
	tcase_add_test(tc, test_receiver_lost_alone);
	tcase_add_test(tc, test_receiver_lost_older_pigeond);
	tcase_add_test(tc, test_deliver_out_of_state);
	tcase_add_test(tc, test_data_sm);
	tcase_add_test(tc, test_deliver_broken_tail_taken);
	tcase_add_test(tc, test_alert_notification_ignored);
	tcase_add_test(tc, test_acks_copies_capped);
	tcase_add_test(tc, test_deliveries_flood_capped);
	tcase_add_test(tc, test_acks_closed_session_dropped);
	tcase_add_test(tc, test_acks_old_answered_again);
	tcase_add_test(tc, test_acks_released);
	tcase_add_test(tc, test_acks_closed_session_again);
	tcase_add_test(tc, test_acks_again_bounded);
	suite_add_tcase(s, tc);
	return unit_run(s);
}

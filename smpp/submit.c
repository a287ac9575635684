/*
 * submit.c: the submits of one bind, on the session that sends (link.c
 * keeps the sessions: connect, bind, what comes in, reconnects).
 *
 * Up to `window` submit_sm are unanswered at once; each has a deadline, and
 * one whose answer never comes is settled as a temporary failure that may
 * have been sent. ESME_RTHROTTLED and ESME_RMSGQFUL pause the submits and
 * halve the rate (they fail a one-part message temporarily, flagged, never
 * for good; a part of a long one is submitted again after the pause). A
 * submit answered generic_nack (the SMSC could not read it) fails its
 * message for good (submit_nacked). When the session that sends ends,
 * what was in flight is settled as "may have been sent" and what was
 * still queued as "not sent" (back to pigeond's queue, no attempt
 * charged): link_fail_all.
 */
#include <sys/queue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/bufferevent.h>

#include "log.h"
#include "linkint.h"

#define THROTTLE_PAUSE_MIN_MS	200
#define THROTTLE_PAUSE_MAX_MS	16000
/* A throttled part of a long message is submitted again, after the pause,
 * this many times (about 40 s of pauses) before the message fails. */
#define THROTTLE_PART_TRIES	8

struct msg {
	long long	 id;
	int		 n, answered, ok;
	int		 segments;	/* as the carrier bills it: the text's SMS
					 * parts, though message_payload sends one */
	int		 submitted;	/* parts written to the SMSC */
	int		 failed;	/* first failure recorded */
	uint32_t	 status;
	int		 temporary, throttled, maybe_sent;
	int		 link_lost;	/* failed because the session ended */
	int		 link_refused;	/* first failure: permanent on this link
					 * only (smpp_status_link) */
	char		 error[160];
	char		 ids[SMPP_MAX_PARTS][SMPP_ID_SIZE];
};

struct sub {
	struct msg	*m;
	int		 idx;
	struct sess	*s;		/* in flight on this session */
	uint32_t	 seq;
	long		 deadline;
	int		 throttled;	/* times the SMSC said slow down to it */
	unsigned long long order;	/* queued in this order (subs_made) */
	struct pdu_out	 pdu;
	TAILQ_ENTRY(sub) q;
};
TAILQ_HEAD(subq, sub);

static struct subq	 queued = TAILQ_HEAD_INITIALIZER(queued);
static unsigned long long subs_made;
static struct subq	 inflight = TAILQ_HEAD_INITIALIZER(inflight);
static int		 nqueued, ninflight;
static double		 tokens, cur_rate;
static long		 pause_until, last_refill;
static int		 pause_ms = THROTTLE_PAUSE_MIN_MS;
static unsigned		 concat_ref;

void
submit_start(void)
{
	cur_rate = cfg.rate;
	last_refill = now_ms();
	concat_ref = (unsigned)time(NULL) ^ ((unsigned)getpid() << 8);
}

/*
 * A message's part is answered: its outcome once every part is. flags:
 * SEND_MAYBE_SENT (the part went out unanswered), SEND_LINK_LOST (the
 * session ended under it).
 */
static void
msg_part_done(struct sub *sb, int ok, const char *id, uint32_t status,
    int temporary, int throttled, int flags, const char *error)
{
	struct msg *m = sb->m;

	m->answered++;
	if (ok) {
		m->ok++;
		snprintf(m->ids[sb->idx], sizeof(m->ids[0]), "%s", id);
	} else if (!m->failed) {
		m->failed = 1;
		m->status = status;
		m->temporary = temporary;
		m->throttled = throttled;
		m->link_refused = (flags & SEND_LINK_REFUSED) != 0;
		snprintf(m->error, sizeof(m->error), "part %d/%d: %s",
		    sb->idx + 1, m->n, error);
	}
	if (!ok && (flags & SEND_MAYBE_SENT))
		m->maybe_sent = 1;
	if (!ok && (flags & SEND_LINK_LOST))
		m->link_lost = 1;
	pdu_out_free(&sb->pdu);
	free(sb);
	if (m->failed) {
		/* The parts not yet sent of a failed message stay unsent. */
		struct sub *q, *next;
		for (q = TAILQ_FIRST(&queued); q != NULL; q = next) {
			next = TAILQ_NEXT(q, q);
			if (q->m != m)
				continue;
			TAILQ_REMOVE(&queued, q, q);
			nqueued--;
			m->answered++;
			pdu_out_free(&q->pdu);
			free(q);
		}
	}
	if (m->answered < m->n)
		return;
	if (!m->failed) {
		main_sent(m->id, m->n, m->segments, m->ids);
	} else {
		char ids[SMPP_MAX_PARTS][SMPP_ID_SIZE];
		int k = 0;
		for (int i = 0; i < m->n; i++)
			if (m->ids[i][0] != '\0')
				memcpy(ids[k++], m->ids[i], sizeof(ids[0]));
		/* SEND_NOT_SENT: no part ever left (the session ended
		 * first); the message goes back to the queue as it was.
		 * Each part accepted is billed, also one the SMSC gave no
		 * id (k counts those with one). */
		main_send_failed(m->id, m->n, m->ok, k, ids, m->status, m->temporary,
		    m->throttled, (m->maybe_sent ? SEND_MAYBE_SENT : 0) |
		    (m->link_lost ? SEND_LINK_LOST : 0) |
		    (m->link_refused ? SEND_LINK_REFUSED : 0) |
		    (m->submitted == 0 ? SEND_NOT_SENT : 0), m->error);
	}
	free(m);
}

/*
 * Settles every submit in flight and queued: the session is gone. A part
 * in flight may have been delivered (maybe sent); a message none of whose
 * parts was submitted never left, and goes back to pigeond's queue
 * without an attempt (SEND_NOT_SENT, msg_part_done). Neither is the
 * message's fault, nor a sign of a bad link: SEND_LINK_LOST.
 */
void
link_fail_all(const char *why)
{
	struct sub *sb;

	while ((sb = TAILQ_FIRST(&inflight)) != NULL) {
		TAILQ_REMOVE(&inflight, sb, q);
		ninflight--;
		msg_part_done(sb, 0, NULL, 0, 1, 0,
		    SEND_MAYBE_SENT | SEND_LINK_LOST, why);
	}
	while ((sb = TAILQ_FIRST(&queued)) != NULL) {
		TAILQ_REMOVE(&queued, sb, q);
		nqueued--;
		msg_part_done(sb, 0, NULL, 0, 1, 0, SEND_LINK_LOST, why);
	}
}

static struct sub *
inflight_take(struct sess *s, uint32_t seq)
{
	struct sub *sb;

	/* Each session numbers its own PDUs: with a transmitter and a
	 * receiver, the receiver's 2 is not the transmitter's submit 2. */
	TAILQ_FOREACH(sb, &inflight, q)
		if (sb->seq == seq && sb->s == s) {
			TAILQ_REMOVE(&inflight, sb, q);
			ninflight--;
			return sb;
		}
	return NULL;
}

/*
 * The SMSC refused a part (status): a throttle pauses the submits (and
 * pigeond hears of the pause: main_paused), and a throttled part of a
 * long message is queued again; else the part fails, temporary or not
 * as said, with err and flags (SEND_LINK_REFUSED).
 */
static void
sub_refused(struct sub *sb, uint32_t status, int temporary, int flags,
    const char *err)
{
	/*
	 * The rest of a window sent before the pause is answered the same
	 * way: one pause (and one step of backoff) per episode, not per
	 * answer, or a window of 10 throttles pauses the maximum at once.
	 */
	if (smpp_status_throttle(status) && now_ms() >= pause_until) {
		pause_until = now_ms() + pause_ms;
		log_info("SMSC says %s: pausing submits %d ms",
		    smpp_status_text(status), pause_ms);
		main_paused(pause_ms, status);
		pause_ms = pause_ms * 2 > THROTTLE_PAUSE_MAX_MS ?
		    THROTTLE_PAUSE_MAX_MS : pause_ms * 2;
		if (cfg.rate > 0 && cur_rate > 1)
			cur_rate = cur_rate / 2 < 1 ? 1 : cur_rate / 2;
	}
	if (smpp_status_throttle(status))
		st.throttled++;
	/*
	 * A part of a long message is submitted again after the pause, the
	 * same PDU (the same concatenation reference): failed, the message
	 * went back to pigeond's queue whole, with a new reference, and the
	 * parts the SMSC had accepted reached the phone as orphans. Not
	 * once another part has failed: that failure ends the send, and the
	 * part submitted again reached the phone alone before the whole
	 * message's retry.
	 */
	if (smpp_status_throttle(status) && sb->m->n > 1 && !sb->m->failed &&
	    ++sb->throttled < THROTTLE_PART_TRIES && !stopping) {
		/* Back at the head, in the order they were first queued: a
		 * window's throttled parts were put back in reverse. */
		struct sub *after = NULL, *it;
		TAILQ_FOREACH(it, &queued, q) {
			if (it->throttled == 0 || it->order > sb->order)
				break;
			after = it;
		}
		/* Refused, it did not leave: a session lost before it is
		 * submitted again leaves the message not sent (no attempt
		 * charged) when no other part went. */
		sb->m->submitted--;
		sb->s = NULL;
		if (after != NULL)
			TAILQ_INSERT_AFTER(&queued, after, sb, q);
		else
			TAILQ_INSERT_HEAD(&queued, sb, q);
		nqueued++;
		return;
	}
	msg_part_done(sb, 0, NULL, status, temporary,
	    smpp_status_throttle(status), flags, err);
}

void
on_submit_resp(struct sess *s, const uint8_t *p, size_t len, uint32_t status,
    uint32_t seq)
{
	struct sub *sb = inflight_take(s, seq);
	char id[SMPP_ID_SIZE];

	if (sb == NULL) {
		log_warnx("submit_sm_resp for sequence %u, not in flight "
		    "(settled after its timeout?); ignored", seq);
		return;
	}
	st.answered++;
	if (status == ESME_ROK) {
		if (pdu_read_cstr_body(p, len, id, sizeof(id)) == -1)
			id[0] = '\0';
		smpp_id_clean(id);
		pause_ms = THROTTLE_PAUSE_MIN_MS;
		msg_part_done(sb, 1, id, 0, 0, 0, 0, NULL);
		return;
	}
	char err[96];
	snprintf(err, sizeof(err), "command_status 0x%02x: %s", status,
	    smpp_status_text(status));
	sub_refused(sb, status, smpp_status_temporary(status),
	    smpp_status_link(status) ? SEND_LINK_REFUSED : 0, err);
}

struct sub *
submit_nack_take(struct sess *s, uint32_t seq)
{
	struct sub *sb = inflight_take(s, seq);

	if (sb != NULL)
		st.answered++;
	return sb;
}

/*
 * The SMSC could not read the submit_sm (a Logica or Huawei SMSC nacks a
 * PDU it cannot parse): sent again, it would be refused again, so the
 * message fails for good. ESME_RINVCMDLEN closes the session (link.c),
 * the message then temporary like the others in flight; a throttle
 * status is taken as in a submit_sm_resp (a throttled message is never a
 * failure).
 */
void
submit_nacked(struct sub *sb, uint32_t status)
{
	char err[96];

	snprintf(err, sizeof(err), "generic_nack 0x%02x: %s", status,
	    smpp_status_text(status));
	sub_refused(sb, status, status == ESME_RINVCMDLEN ||
	    smpp_status_throttle(status), 0, err);
}

/* Sends queued parts while the window, the rate and any pause allow. */
void
link_pump(void)
{
	struct sess *s = tx_sess();
	long t = now_ms();
	struct sub *sb;

	if (s->state != S_BOUND || t < pause_until)
		return;
	if (cfg.rate > 0) {
		tokens += cur_rate * (double)(t - last_refill) / 1000.0;
		double cap = cur_rate * 0.2 > 1 ? cur_rate * 0.2 : 1;
		if (tokens > cap)
			tokens = cap;
	}
	last_refill = t;
	while (ninflight < cfg.window && (sb = TAILQ_FIRST(&queued)) != NULL) {
		if (cfg.rate > 0) {
			if (tokens < 1)
				break;
			tokens -= 1;
		}
		TAILQ_REMOVE(&queued, sb, q);
		nqueued--;
		sb->s = s;
		sb->seq = sess_seq(s);
		sb->deadline = t + cfg.response_timeout_ms;
		/* The sequence number is only known now. */
		sb->pdu.buf[12] = sb->seq >> 24;
		sb->pdu.buf[13] = sb->seq >> 16;
		sb->pdu.buf[14] = sb->seq >> 8;
		sb->pdu.buf[15] = sb->seq;
		bufferevent_write(s->bev, sb->pdu.buf, sb->pdu.len);
		TAILQ_INSERT_TAIL(&inflight, sb, q);
		ninflight++;
		sb->m->submitted++;
		st.submitted++;
	}
}

void
submit_timeouts(long t)
{
	struct sub *sb;
	char err[96];

	/* Answers that never came: settled, may have been sent. */
	while ((sb = TAILQ_FIRST(&inflight)) != NULL && sb->deadline <= t) {
		TAILQ_REMOVE(&inflight, sb, q);
		ninflight--;
		st.timeouts++;
		snprintf(err, sizeof(err), "no submit_sm_resp within %d ms",
		    cfg.response_timeout_ms);
		log_warnx("sequence %u: %s", sb->seq, err);
		msg_part_done(sb, 0, NULL, 0, 1, 0, SEND_MAYBE_SENT, err);
	}
}

void
submit_rate_recover(long t)
{
	/* The rate comes back by a tenth of the agreed rate a second. */
	if (cfg.rate > 0 && cur_rate < cfg.rate && t >= pause_until) {
		cur_rate += cfg.rate * TICK_MS / 10000.0;
		if (cur_rate > cfg.rate)
			cur_rate = cfg.rate;
	}
}

void
link_send(long long id, const char *to, const char *text, int report,
    int max_parts, int max_parts_ucs2, const char *more, int flash,
    int validity_s)
{
	struct text_parts tp;
	const char *err;
	struct msg *m;

	if (tx_sess()->role == ROLE_RX) {
		main_send_failed(id, 0, 0, 0, NULL, 0, 0, 0, 0,
		    "a receiver bind does not send");
		return;
	}
	/* The transmitter's state alone: a receiver down does not stop sends. */
	if (tx_sess()->state != S_BOUND || stopping) {
		main_send_failed(id, 0, 0, 0, NULL, 0, 1, 0,
		    SEND_NOT_SENT | SEND_LINK_LOST, "not bound");
		return;
	}
	if (text_encode(text, max_parts, max_parts_ucs2, more, cfg.latin1,
	    concat_ref++, &tp, &err) == -1) {
		main_send_failed(id, 0, 0, 0, NULL, 0, 0, 0, 0, err);
		return;
	}
	if ((m = calloc(1, sizeof(*m))) == NULL)
		fatal("calloc");
	m->id = id;
	/* message_payload: one submit_sm carries the whole text. */
	m->n = cfg.payload ? 1 : tp.n;
	m->segments = tp.n;
	for (int i = 0; i < m->n; i++) {
		struct sub *sb = calloc(1, sizeof(*sb));
		if (sb == NULL)
			fatal("calloc");
		sb->m = m;
		sb->idx = i;
		sb->order = ++subs_made;
		pdu_out_init(&sb->pdu);
		pdu_submit(&sb->pdu, &cfg, to, &tp, i, report, flash,
		    validity_s);
		TAILQ_INSERT_TAIL(&queued, sb, q);
		nqueued++;
	}
	link_pump();
}

void
submit_stats(struct link_stats *out)
{
	out->window = cfg.window;
	out->in_flight = ninflight;
	out->queued = nqueued;
	out->rate = cfg.rate > 0 ? cur_rate : 0;
}

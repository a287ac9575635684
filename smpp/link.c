/*
 * link.c: the SMPP sessions of one bind (a transceiver, or a transmitter
 * and a receiver), non-blocking in main.c's libevent loop: connect, bind,
 * enquire_link, the PDUs that come in, reconnects. What goes out on the
 * session that sends (the window, the rate, throttling, timeouts) is
 * submit.c's.
 *
 * An unbind from the SMSC, a closed connection, an enquire_link without
 * answer or a generic_nack (but one answering a submit_sm, which fails
 * that message alone, unless its status is ESME_RINVCMDLEN) end the
 * session: pigeond is told the link is down, then what was in flight is
 * settled as "may have been sent" and what was still queued as "not
 * sent" (back to pigeond's queue, no attempt charged), and the session
 * binds again after a backoff.
 *
 * A deliver_sm (or a data_sm, the same MO or receipt in another layout)
 * is answered only when pigeond says it committed it (link_ack): a
 * session that ends before leaves it to the SMSC to deliver again. A copy the SMSC sends on the same session meanwhile (its answer
 * late) is answered with it, never reported twice; one it delivers again
 * after the worker asked so while pigeond may have stored the first (its
 * wait ran out) is reported as a redelivery (acks.c).
 */
#include <sys/socket.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/util.h>

#include "log.h"
#include "linkint.h"

#define BACKOFF_MIN_MS		250
/* A session bound this long before it closed was a good one: the next
 * bind comes at once. One the SMSC dropped sooner keeps the backoff
 * doubling, or an SMSC that accepts and drops every bind got a new one
 * every 250 ms, each failing every send in flight. */
#define BOUND_STEADY_MS		30000

struct link_config cfg;
struct link_stats st;
int		 stopping;
static struct event_base *base;
static struct event	*tick;
static struct sess	 sess[2];
static int		 nsess;
static int		 ever_ready, ready_now;
static struct pdu_out	 scratch;
static char		 last_fail[160];	/* last reason a bind did not come up */
static int		 flood_said;	/* the deliveries' flood is logged */

struct sess *
tx_sess(void)
{
	return &sess[0];	/* the transceiver, or the transmitter */
}

static const char *
role_name(enum role r)
{
	return r == ROLE_TRX ? "transceiver" : r == ROLE_TX ? "transmitter" :
	    "receiver";
}

static void
sess_write(struct sess *s, struct pdu_out *o)
{
	pdu_end(o);
	if (s->bev != NULL)
		bufferevent_write(s->bev, o->buf, o->len);
}

uint32_t
sess_seq(struct sess *s)
{
	if (s->next_seq == 0 || s->next_seq >= 0x7fffffff)
		s->next_seq = 1;
	return s->next_seq++;
}

/* A PDU without body (enquire_link, unbind, their responses, nacks). */
static void
sess_send_bare(struct sess *s, uint32_t cmd, uint32_t status, uint32_t seq)
{
	pdu_begin(&scratch, cmd, status, seq);
	sess_write(s, &scratch);
}

/*
 * The receiver of a transmitter + receiver pair while its transmitter is
 * bound: losing it stops MO and receipts (they wait at the SMSC), not the
 * sends, and it is told so (main_link_down's `sends`), not as the link's
 * failure: pigeond keeps the link online with the reason beside it.
 */
static int
rx_aside(const struct sess *s)
{
	return cfg.rx_apart && nsess == 2 && s->role == ROLE_RX && ready_now;
}

/* Ready to send: the session that sends bound (and, for a pigeond that
 * does not take a receiver apart, every session). */
static int
sends_ready(void)
{
	if (!cfg.rx_apart)
		for (int i = 0; i < nsess; i++)
			if (sess[i].state != S_BOUND)
				return 0;
	return tx_sess()->state == S_BOUND;
}

/* The receiver aside is down: told once per change of reason (a receiver
 * that cannot bind tries again with its backoff, each try failing alike). */
static void
rx_tell(struct sess *s, const char *why, uint32_t status)
{
	if (strcmp(why, s->said) == 0)
		return;
	snprintf(s->said, sizeof(s->said), "%s", why);
	main_link_down(role_name(s->role), why, status, 1);
}

/* A closed session's deliveries can no longer be answered: the SMSC
 * sends them again, perhaps on another bind of the account, which may
 * store its copy first; pigeond is told to store none it still has. */
static void
sess_drop_acks(struct sess *s)
{
	long long *dropped;
	size_t n = acks_drop_owner(s, &dropped);

	main_dropped(dropped, n);
	free(dropped);
}

static void
sess_close(struct sess *s, const char *why, uint32_t status)
{
	int was_ready = ready_now;
	int was_bound = s->state == S_BOUND || s->state == S_UNBINDING;
	int aside = rx_aside(s);
	/* A receiver lost while its transmitter is down (the link offline
	 * already): said all the same, as its answers may be lost with it
	 * (pigeond records the loss, which the inbox's store reads). */
	int rx_alone = !aside && was_bound && cfg.rx_apart && nsess == 2 &&
	    s->role == ROLE_RX;

	if (s->bev != NULL) {
		bufferevent_free(s->bev);
		s->bev = NULL;
	}
	sess_drop_acks(s);
	if ((s->state == S_BOUND || s->state == S_UNBINDING) &&
	    now_ms() - s->bound_at >= BOUND_STEADY_MS)
		s->backoff_ms = BACKOFF_MIN_MS;
	s->state = S_DOWN;
	s->enq_seq = 0;
	s->retry_at = now_ms() + s->backoff_ms;
	s->backoff_ms = s->backoff_ms * 2 > cfg.reconnect_max_ms ?
	    cfg.reconnect_max_ms : s->backoff_ms * 2;
	snprintf(s->last_why, sizeof(s->last_why), "%s", why);
	if (!aside)
		ready_now = 0;
	if (stopping)
		return;
	st.reconnects++;
	if (aside) {
		log_warnx("receiver session closed: %s; sends go on; binding "
		    "again in %d ms", why, (int)(s->retry_at - now_ms()));
		rx_tell(s, why, status);
		return;
	}
	if (rx_alone) {
		log_warnx("receiver session closed: %s; binding again in %d ms",
		    why, (int)(s->retry_at - now_ms()));
		rx_tell(s, why, status);
		return;
	}
	/* Never bound this time: say why, once per change of reason. */
	if (!was_bound && strcmp(why, last_fail) != 0 && status == 0) {
		snprintf(last_fail, sizeof(last_fail), "%s", why);
		main_link_failed(role_name(s->role), why);
	}
	log_warnx("%s session closed: %s; binding again in %d ms",
	    role_name(s->role), why, (int)(s->retry_at - now_ms()));
	/* The link down first: pigeond takes what follows for the session's
	 * loss, not for sends failing one after the other on a live link
	 * (it restarted the worker after 5 of them). */
	if (was_ready)
		main_link_down(role_name(s->role), why, status, 0);
	if (s->role != ROLE_RX)
		link_fail_all(why);
}

static void
sess_bind(struct sess *s)
{
	uint32_t cmd = s->role == ROLE_TRX ? SMPP_BIND_TRANSCEIVER :
	    s->role == ROLE_TX ? SMPP_BIND_TRANSMITTER : SMPP_BIND_RECEIVER;

	s->bind_seq = sess_seq(s);
	pdu_begin(&scratch, cmd, 0, s->bind_seq);
	pdu_cstr(&scratch, cfg.system_id, 16);
	pdu_cstr(&scratch, cfg.password, 9);
	pdu_cstr(&scratch, cfg.system_type, 13);
	pdu_u8(&scratch, 0x34);		/* interface_version */
	pdu_u8(&scratch, 0);		/* addr_ton */
	pdu_u8(&scratch, 0);		/* addr_npi */
	pdu_cstr(&scratch, "", 41);	/* address_range */
	sess_write(s, &scratch);
	s->state = S_BINDING;
	s->bind_sent = now_ms();
}

/* The SMSC refused a session's bind (status, or a generic_nack). */
static void
bind_refused(struct sess *s, uint32_t status, const char *what)
{
	char why[160];

	/* The receiver aside says it in its reason: a refused bind is the
	 * link's failure (offline) only for the session that sends. */
	if (!rx_aside(s))
		main_bind_failed(status);
	snprintf(why, sizeof(why), "%s: command_status 0x%02x: %s", what, status,
	    smpp_status_text(status));
	/* Not to be hammered: a second at least before the next try. */
	if (s->backoff_ms < 1000)
		s->backoff_ms = 1000;
	sess_close(s, why, status ? status : 1);
}

static void
on_bind_resp(struct sess *s, const uint8_t *p, size_t len, uint32_t status)
{
	char sysid[16];

	if (s->state != S_BINDING)
		return;
	if (status != ESME_ROK) {
		log_warnx("%s bind refused: 0x%02x %s", role_name(s->role),
		    status, smpp_status_text(status));
		bind_refused(s, status, "bind refused");
		return;
	}
	pdu_read_cstr_body(p, len, sysid, sizeof(sysid));
	s->state = S_BOUND;
	s->bound_at = now_ms();
	last_fail[0] = '\0';
	s->enq_next = now_ms() + cfg.enquire_link_s * 1000L;
	log_info("bound as %s to %s:%s (SMSC %s)", role_name(s->role),
	    cfg.host, cfg.port, sysid);
	s->last_why[0] = '\0';
	/* The receiver aside is back. */
	if (s->said[0] != '\0') {
		s->said[0] = '\0';
		if (ready_now)
			main_link_up(role_name(s->role));
	}
	/* Ready when the session that sends is bound: with two sessions, a
	 * receiver the SMSC will not bind does not keep the sends back. */
	if (sends_ready() && !ready_now) {
		ready_now = 1;
		main_ready(sysid, ever_ready);
		ever_ready = 1;
		/* Said again: pigeond took the link for up and well. */
		sess[1].said[0] = '\0';
		if (cfg.rx_apart && nsess == 2 && sess[1].state != S_BOUND &&
		    sess[1].last_why[0] != '\0')
			rx_tell(&sess[1], sess[1].last_why, 0);
	}
}

/* Answers the delivery handle names with status (acks.c keeps which
 * session, sequence number and command it came with, and its copies): a
 * deliver_sm_resp, or a data_sm_resp for a data_sm. */
static int
ack_answer(long long handle, uint32_t status, enum acks_then then,
    const char **err)
{
	struct sess *s;
	unsigned gen;
	uint32_t seq, cmd, *copies;
	size_t ncopies;

	if (acks_take(handle, then, (void **)&s, &gen, &seq, &cmd, &copies,
	    &ncopies) == -1) {
		*err = "no deliver_sm waiting with that location (its session "
		    "closed, or it waited too long): the SMSC delivers it again";
		return -1;
	}
	if (s->gen != gen || s->state != S_BOUND) {
		free(copies);
		*err = "the session that delivered it is closed: the "
		    "SMSC delivers it again";
		return -1;
	}
	/* The SMSC's copies of it (acks_join) are answered with it. */
	for (size_t i = 0; i <= ncopies; i++) {
		pdu_begin(&scratch, cmd | SMPP_RESP, status,
		    i == 0 ? seq : copies[i - 1]);
		pdu_u8(&scratch, 0);	/* message_id: unused, "" */
		sess_write(s, &scratch);
	}
	free(copies);
	return 0;
}

/* pigeond has committed the delivery handle names: answer it. */
int
link_ack(long long handle, const char **err)
{
	return ack_answer(handle, ESME_ROK, ACKS_DONE, err);
}

/*
 * pigeond could not store it (`release`), or it waited ACKS_MAX_AGE_MS:
 * ESME_RX_T_APPN, SMPP 3.4's temporary error of the receiving ESME, which
 * SMSCs deliver again later (ESME_RSYSERR is taken by some for a
 * permanent failure, and the message was lost). Its copies still to come
 * are then new deliveries, no longer joined to one pigeond dropped;
 * after a wait that ran out (pigeond may have stored it, its `delete`
 * held), told to pigeond as a redelivery (acks.c).
 */
int
link_release(long long handle, const char **err)
{
	return ack_answer(handle, ESME_RX_T_APPN, ACKS_AGAIN_UNSTORED, err);
}

/* Each tick: the deliveries pigeond has not answered in ACKS_MAX_AGE_MS
 * (cfg.ack_wait_ms in tests). */
static void
acks_expire(void)
{
	long long h, *dropped = NULL;
	const char *err;
	long wait = cfg.ack_wait_ms > 0 ? cfg.ack_wait_ms : ACKS_MAX_AGE_MS;
	size_t n = 0;

	while ((h = acks_oldest(wait)) != 0) {
		acks_handles_add(&dropped, &n, h);
		(void)ack_answer(h, ESME_RX_T_APPN, ACKS_AGAIN, &err);
	}
	if (n > 0)
		log_warnx("%zu deliver_sm not committed by pigeond in %d s: "
		    "answered ESME_RX_T_APPN, the SMSC delivers them again", n,
		    (int)(wait / 1000));
	/* Not stored yet (the database away), pigeond would store them after
	 * the SMSC's copies, which another bind may bring. */
	main_dropped(dropped, n);
	free(dropped);
}

/* A deliver_sm, or a data_sm (cmd): the same MO or receipt, answered
 * (deliver_sm_resp, data_sm_resp) after pigeond's commit alike. */
static void
on_deliver(struct sess *s, const uint8_t *p, size_t len, uint32_t seq,
    uint32_t cmd)
{
	struct deliver d;
	const char *what = cmd == SMPP_DATA_SM ? "data_sm" : "deliver_sm";

	/* Before the bind is answered, or on a transmitter: nothing of it
	 * would be answered after the commit (SMPP 3.4: not in that state). */
	if (s->state != S_BOUND || s->role == ROLE_TX) {
		log_warnx("%s (sequence %u) on a %s session %s: answered "
		    "ESME_RINVBNDSTS", what, seq, role_name(s->role),
		    s->state != S_BOUND ? "not bound" : "that does not receive");
		sess_send_bare(s, cmd | SMPP_RESP, ESME_RINVBNDSTS, seq);
		return;
	}
	if (pdu_deliver_parse(p, len, &d) == -1) {
		log_warnx("malformed %s (sequence %u): a mandatory field cannot "
		    "be read; answered ESME_RSYSERR", what, seq);
		sess_send_bare(s, cmd | SMPP_RESP, ESME_RSYSERR, seq);
		return;
	}
	if (d.bad_tail > 0)
		log_warnx("%s (sequence %u) from %s: the last %zu bytes of its "
		    "optional part cannot be read; ignored", what, seq, d.source,
		    d.bad_tail);
	/* The SMSC sent it again, its answer late (pigeond has not committed
	 * the first yet): answered with the first, not reported twice. */
	uint64_t key = deliver_hash(&d);
	switch (acks_join(s, s->gen, key, seq)) {
	case 1:
		log_info("%s %u from %s: a copy of one waiting for "
		    "pigeond's commit; answered with it", what, seq, d.source);
		return;
	case 2:
		log_warnx("%s %u from %s: one more copy (over %d) of "
		    "one waiting for pigeond's commit: answered ESME_RTHROTTLED",
		    what, seq, d.source, ACKS_MAX_COPIES);
		sess_send_bare(s, cmd | SMPP_RESP, ESME_RTHROTTLED, seq);
		return;
	}
	/* The SMSC sends without waiting for the answers: it is to send the
	 * rest again later (said once a flood, not once a PDU). */
	if (acks_waiting() >= ACKS_MAX_WAITING) {
		if (!flood_said)
			log_warnx("the SMSC has %d deliveries waiting for their "
			    "answer: the next ones are answered ESME_RTHROTTLED",
			    ACKS_MAX_WAITING);
		flood_said = 1;
		sess_send_bare(s, cmd | SMPP_RESP, ESME_RTHROTTLED, seq);
		return;
	}
	flood_said = 0;
	int receipt = deliver_is_receipt(&d);
	if (receipt)
		st.receipts++;
	else
		st.mo++;
	/* One the SMSC was told to deliver again while pigeond may have
	 * stored it: a redelivery, which pigeond's store absorbs if so. */
	int again;
	long long h = acks_add(s, s->gen, seq, key, cmd, &again);
	if (again)
		log_info("%s %u from %s: delivered again after an answer that "
		    "asked so; told to pigeond as a redelivery", what, seq,
		    d.source);
	main_deliver(h, seq, &d, again, receipt);
}

static void
sess_pdu(struct sess *s, const uint8_t *p, size_t len)
{
	uint32_t cmd = pdu_get32(p + 4), status = pdu_get32(p + 8),
	    seq = pdu_get32(p + 12);

	switch (cmd) {
	case SMPP_BIND_TRANSCEIVER | SMPP_RESP:
	case SMPP_BIND_TRANSMITTER | SMPP_RESP:
	case SMPP_BIND_RECEIVER | SMPP_RESP:
		on_bind_resp(s, p, len, status);
		break;
	case SMPP_SUBMIT_SM | SMPP_RESP:
		on_submit_resp(s, p, len, status, seq);
		break;
	case SMPP_DELIVER_SM:
	case SMPP_DATA_SM:
		on_deliver(s, p, len, seq, cmd);
		break;
	case SMPP_ENQUIRE_LINK:
		sess_send_bare(s, SMPP_ENQUIRE_LINK | SMPP_RESP, ESME_ROK, seq);
		break;
	case SMPP_ALERT_NOTIFICATION:
		/* A phone is reachable again (SMPP 3.4, 4.12): no answer is
		 * defined (a generic_nack is not one), and the worker has no
		 * use for it. */
		log_debug("alert_notification (sequence %u); ignored", seq);
		break;
	case SMPP_ENQUIRE_LINK | SMPP_RESP:
		if (seq == s->enq_seq)
			s->enq_seq = 0;
		break;
	case SMPP_UNBIND:
		/* Answered before the close: what is buffered, the answer
		 * last, goes to the socket now, best effort (bufferevent_flush
		 * does nothing on a socket, a socket bufferevent's output
		 * cannot be drained from outside, and freeing it dropped the
		 * answer unsent). */
		sess_send_bare(s, SMPP_UNBIND | SMPP_RESP, ESME_ROK, seq);
		if (s->bev != NULL) {
			struct evbuffer *out = bufferevent_get_output(s->bev);
			size_t n = evbuffer_get_length(out);
			unsigned char *b = evbuffer_pullup(out, -1);
			if (b != NULL && send(bufferevent_getfd(s->bev), b, n,
			    MSG_NOSIGNAL | MSG_DONTWAIT) == -1)
				log_debug("unbind_resp not sent: %s", strerror(errno));
		}
		sess_close(s, "unbind from the SMSC", 0);
		break;
	case SMPP_UNBIND | SMPP_RESP:
		sess_close(s, "unbound", 0);
		break;
	case SMPP_GENERIC_NACK: {
		/* The bind's answer: an SMSC that does not take that kind of
		 * bind (a transceiver, say) refuses it so. Said as a refused
		 * bind is: the link just stayed "starting", no reason given. */
		if (s->state == S_BINDING && seq == s->bind_seq) {
			log_warnx("%s bind answered generic_nack: 0x%02x %s",
			    role_name(s->role), status, smpp_status_text(status));
			bind_refused(s, status, "bind answered generic_nack");
			break;
		}
		/* A submit the SMSC could not read fails alone; the session
		 * goes on (closed, every other submit in flight was "may have
		 * been sent" and sent again, and the nacked one, temporary,
		 * did it all again at each attempt). Unless the SMSC says the
		 * command_length was wrong: the stream may be out of step. */
		struct sub *sb = submit_nack_take(s, seq);
		if (sb != NULL && status != ESME_RINVCMDLEN) {
			log_warnx("submit_sm (sequence %u) answered generic_nack "
			    "0x%02x %s: the message fails; the session goes on",
			    seq, status, smpp_status_text(status));
			submit_nacked(sb, status);
			break;
		}
		sess_close(s, "generic_nack from the SMSC", status);
		/* Its send_failed after the link down (sess_close). */
		if (sb != NULL)
			submit_nacked(sb, status);
		break;
	}
	default:
		if (cmd & SMPP_RESP) {
			log_warnx("unexpected response 0x%08x; ignored", cmd);
		} else {
			log_warnx("unsupported command 0x%08x; generic_nack", cmd);
			sess_send_bare(s, SMPP_GENERIC_NACK, ESME_RINVCMDID, seq);
		}
	}
}

static void
on_read(struct bufferevent *bev, void *arg)
{
	struct sess *s = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	unsigned gen = s->gen;

	while (s->bev == bev && s->gen == gen &&
	    evbuffer_get_length(in) >= SMPP_HEADER_LEN) {
		uint8_t h[4];
		evbuffer_copyout(in, h, 4);
		uint32_t len = pdu_get32(h);
		if (len < SMPP_HEADER_LEN || len > SMPP_MAX_PDU) {
			sess_close(s, "bad command_length from the SMSC",
			    ESME_RINVCMDLEN);
			return;
		}
		if (evbuffer_get_length(in) < len)
			return;
		const uint8_t *p = evbuffer_pullup(in, len);
		sess_pdu(s, p, len);
		if (s->bev == bev && s->gen == gen)
			evbuffer_drain(in, len);
	}
	/* Answers free window slots: fill them now, not at the next tick. */
	link_pump();
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	struct sess *s = arg;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		sess_bind(s);
		return;
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		char why[128];
		snprintf(why, sizeof(why), "%s",
		    what & BEV_EVENT_EOF ? "connection closed by the SMSC" :
		    s->state == S_CONNECTING ? "cannot connect" :
		    "connection error");
		int e = EVUTIL_SOCKET_ERROR();
		if ((what & BEV_EVENT_ERROR) && e != 0)
			snprintf(why + strlen(why), sizeof(why) - strlen(why),
			    ": %s", evutil_socket_error_to_string(e));
		sess_close(s, why, 0);
	}
}

static void
sess_connect(struct sess *s)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
	    .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV }, *ai;
	int e;

	s->gen++;
	s->next_seq = 1;
	/* A worker has one bind: a slow name look-up delays only it. */
	if ((e = getaddrinfo(cfg.host, cfg.port, &hints, &ai)) != 0) {
		s->state = S_CONNECTING;
		sess_close(s, gai_strerror(e), 0);
		return;
	}
	s->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (s->bev == NULL)
		fatalx("bufferevent_socket_new");
	bufferevent_setcb(s->bev, on_read, NULL, on_event, s);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	s->state = S_CONNECTING;
	s->bind_sent = now_ms();
	if (bufferevent_socket_connect(s->bev, ai->ai_addr,
	    (int)ai->ai_addrlen) == -1) {
		freeaddrinfo(ai);
		sess_close(s, "cannot connect", 0);
		return;
	}
	freeaddrinfo(ai);
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	long t = now_ms();

	(void)fd;
	(void)what;
	(void)arg;
	submit_timeouts(t);
	acks_expire();
	for (int i = 0; i < nsess; i++) {
		struct sess *s = &sess[i];
		if (s->state == S_DOWN && t >= s->retry_at && !stopping) {
			sess_connect(s);
		} else if ((s->state == S_CONNECTING || s->state == S_BINDING) &&
		    t - s->bind_sent > cfg.response_timeout_ms) {
			sess_close(s, s->state == S_CONNECTING ?
			    "connect timed out" : "no answer to bind", 0);
		} else if (s->state == S_BOUND) {
			if (s->enq_seq != 0 &&
			    t - s->enq_sent > cfg.enquire_link_s * 1000L) {
				sess_close(s, "no answer to enquire_link", 0);
				continue;
			}
			if (s->enq_seq == 0 && t >= s->enq_next) {
				s->enq_seq = sess_seq(s);
				s->enq_sent = t;
				s->enq_next = t + cfg.enquire_link_s * 1000L;
				sess_send_bare(s, SMPP_ENQUIRE_LINK, 0, s->enq_seq);
			}
		}
	}
	submit_rate_recover(t);
	link_pump();
}

void
link_start(struct event_base *b, const struct link_config *c)
{
	struct timeval tv = { 0, TICK_MS * 1000 };

	base = b;
	cfg = *c;
	submit_start();
	nsess = cfg.split ? 2 : 1;
	sess[0].role = cfg.split || cfg.tx_only ? ROLE_TX :
	    cfg.rx_only ? ROLE_RX : ROLE_TRX;
	sess[1].role = ROLE_RX;
	for (int i = 0; i < nsess; i++) {
		sess[i].backoff_ms = BACKOFF_MIN_MS;
		sess_connect(&sess[i]);
	}
	if ((tick = event_new(base, -1, EV_PERSIST, on_tick, NULL)) == NULL ||
	    event_add(tick, &tv) == -1)
		fatalx("event_new");
}

int
link_bound(void)
{
	return ready_now;
}

void
link_stats(struct link_stats *out)
{
	*out = st;
	out->bound = ready_now;
	submit_stats(out);
}

static void
on_stop_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	main_exit(0);
}

void
link_stop(void)
{
	struct timeval tv = { 0, 500 * 1000 };
	int any = 0;

	if (stopping)
		return;
	stopping = 1;
	link_fail_all("the worker is stopping");
	for (int i = 0; i < nsess; i++)
		if (sess[i].state == S_BOUND) {
			sess_send_bare(&sess[i], SMPP_UNBIND, 0, sess_seq(&sess[i]));
			sess[i].state = S_UNBINDING;
			any = 1;
		}
	if (!any)
		main_exit(0);
	/* The unbind_resp closes the session; give it half a second. */
	event_base_once(base, -1, EV_TIMEOUT, on_stop_timer, NULL, &tv);
}

/*
 * linkint.h: what link.c (the sessions of a bind: connect, bind,
 * enquire_link, the PDUs that come in, deliveries, reconnects) and
 * submit.c (the submits: the window, the rate, throttling, timeouts)
 * share. Not an API: smpp.h is.
 */
#ifndef PIGEON_LINKINT_H
#define PIGEON_LINKINT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "smpp.h"

struct bufferevent;

#define TICK_MS			50

enum role { ROLE_TRX, ROLE_TX, ROLE_RX };

enum sess_state {
	S_DOWN,		/* waiting for the reconnect timer */
	S_CONNECTING,	/* TCP connect in progress */
	S_BINDING,	/* bind sent, waiting for its response */
	S_BOUND,	/* submits and deliveries flow */
	S_UNBINDING,	/* we sent unbind (stopping) */
};

struct sess {
	enum role	 role;
	enum sess_state	 state;
	struct bufferevent *bev;
	unsigned	 gen;		/* counts connections, for acks */
	uint32_t	 next_seq;
	uint32_t	 bind_seq;
	long		 bind_sent;
	long		 enq_next;	/* next enquire_link due */
	uint32_t	 enq_seq;	/* 0: none outstanding */
	long		 enq_sent;
	long		 retry_at;	/* S_DOWN: when to connect */
	int		 backoff_ms;
	long		 bound_at;	/* when the bind was answered */
	char		 last_why[160];	/* why it last closed; "" once bound */
	char		 said[160];	/* the loss told to pigeond as the
					 * receiver's alone (rx_aside) */
};

/* link.c: the bind's config (link_start's copy), the `health` counters,
 * and whether link_stop was called. */
extern struct link_config cfg;
extern struct link_stats st;
extern int		 stopping;
/* The transceiver, or the transmitter. */
struct sess *tx_sess(void);
/* The session's next sequence number. */
uint32_t sess_seq(struct sess *);

static inline long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* submit.c */
void	 submit_start(void);
/* Sends queued parts while the window, the rate and any pause allow. */
void	 link_pump(void);
/* Settles every submit in flight and queued: the session that sends is
 * gone, or the worker stops. */
void	 link_fail_all(const char *why);
void	 on_submit_resp(struct sess *, const uint8_t *p, size_t len,
	    uint32_t status, uint32_t seq);
/* A generic_nack from s: the submit in flight it answers, taken out of
 * the window (NULL: none); then settled by submit_nacked: failed for
 * good, or temporary with ESME_RINVCMDLEN (the session closes), a
 * throttle status taken as in a submit_sm_resp. */
struct sub;
struct sub *submit_nack_take(struct sess *s, uint32_t seq);
void	 submit_nacked(struct sub *, uint32_t status);
/* Each tick: the submits whose answer never came (first), and the rate
 * coming back after a throttle (last). */
void	 submit_timeouts(long t);
void	 submit_rate_recover(long t);
/* link_stats' window, in_flight, queued and rate. */
void	 submit_stats(struct link_stats *);

#endif

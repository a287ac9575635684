/*
 * reports.c: delivery reports. A status-report SMS read from a modem
 * (an `sms` event with status_report true) is stored and matched to the
 * part it reports on by pigeon_report_store: modem, message reference,
 * recipient, sent within report_window seconds. Like inbound SMS, it is
 * deleted from the modem only after the statement that stored it has
 * committed (a durable query: store.h), and stored once (a dedupe key) if
 * it is read again. A report that matches nothing is kept and counted,
 * never dropped. An SMPP bind's receipts (reports_receipt) take the same
 * path, matched by the SMSC's message id instead of the reference.
 *
 * A report the database refuses for a reason of its own (its disk full:
 * store_error_transient) is held and stored again every HOLD_MS: the
 * worker reports a location once in its life, and a report dropped so
 * stayed on the SIM, and its message `sent`, until the worker restarted
 * (test_crash test_report_disk_full). A receipt refused so is left to
 * its SMSC, which delivers it again once told (`release`).
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <jansson.h>

#include "hold.h"
#include "log.h"
#include "number.h"
#include "pigeond.h"
#include "store.h"

#define REPORT_PARAMS	8

/* What the answer needs: where the report lies, to delete it. */
struct report {
	struct link	*modem;
	unsigned	 generation;	/* of the process that read it */
	int		 folder, location;
	char		*params[REPORT_PARAMS];
	struct report	*next_held;
};

static int in_flight;
static struct report *held;		/* refused for now, stored again later */
static void report_send(struct report *);
static void reports_again(void);
static struct hold rep_hold = { reports_again, NULL, 0, 0 };

static const char SQL_REPORT[] =
    "SELECT pigeon_report_store($1, $2, $3::integer, $4::integer, "
    "$5::timestamptz, $6::timestamptz, $7, $8::integer)";

/* ISO 8601 as the worker writes it (2026-11-26T07:45:00+01:00), or NULL. */
static const char *
report_time(json_t *v)
{
	const char *t = json_string_value(v);

	if (t == NULL || strlen(t) < 19 || strlen(t) > 32)
		return NULL;
	for (const char *p = t; *p; p++)
		if (!isdigit((unsigned char)*p) && !strchr("-:T+Z.", *p))
			return NULL;
	return t;
}

static void
report_free(struct report *r)
{
	for (int i = 0; i < REPORT_PARAMS; i++)
		free(r->params[i]);
	free(r);
}

static void
reports_again(void)
{
	struct report *list = held, *r;

	held = NULL;
	while ((r = list) != NULL) {
		list = r->next_held;
		r->next_held = NULL;
		report_send(r);
	}
}

/* Stored again after HOLD_MS (hold.c). */
static void
report_hold(struct report *r, const PGresult *res)
{
	char what[128];
	struct report **tail = &held;

	while (*tail != NULL)
		tail = &(*tail)->next_held;
	*tail = r;
	snprintf(what, sizeof(what), "modem %s: cannot store the status report "
	    "at location %d", r->modem->name, r->location);
	hold_refused(&rep_hold, res, what);
}

/* A durable query (store.h): res is NULL only when pigeond stops. */
static void
report_stored(PGresult *res, void *arg)
{
	struct report *r = arg;

	in_flight--;
	if (res != NULL && store_error_transient(res)) {
		report_hold(r, res);
		return;
	}
	if (res != NULL && store_ok(res) && held == NULL)
		hold_over(&rep_hold, "the held status reports are stored");
	if (res == NULL) {
		/* pigeond stops: the report stays on the modem. */
	} else if (!store_ok(res)) {
		/* Its own data is at fault: left on the modem, which a later
		 * worker reports again (a restart, disable/enable). */
		log_warnx("modem %s: cannot store the status report at location %d: %s",
		    r->modem->name, r->location, store_error(res));
	} else {
		log_info("modem %s: delivery report for %s: %s", r->modem->name,
		    r->params[1], PQgetvalue(res, 0, 0));
		supervisor_delete(r->modem, r->generation, r->folder, r->location);
	}
	report_free(r);
	if (env.draining)
		pigeond_check_drained();
}

void
reports_sms(struct link *m, json_t *msg)
{
	json_t *folder = json_object_get(msg, "folder");
	json_t *location = json_object_get(msg, "location");
	json_t *ref = json_object_get(msg, "ref");
	json_t *status = json_object_get(msg, "delivery_status");
	const char *sender = json_string_value(json_object_get(msg, "sender"));
	const char *smsc_time = report_time(json_object_get(msg, "time"));
	const char *discharge = report_time(json_object_get(msg, "discharge_time"));
	char norm[NUMBER_MAX], buf[64], window[16], *key;
	struct report *r;

	if (!json_is_integer(folder) || !json_is_integer(location)) {
		log_warnx("modem %s: status report without folder or location, ignored",
		    m->name);
		return;
	}
	if (!json_is_integer(ref) || !json_is_integer(status) ||
	    json_integer_value(ref) < 0 || json_integer_value(ref) > 255 ||
	    json_integer_value(status) < 0 || json_integer_value(status) > 255) {
		/* Still stored, so it is counted: as reference -1, unmatched. */
		log_warnx("modem %s: status report at %lld without a valid reference "
		    "or status", m->name, (long long)json_integer_value(location));
	}
	if (number_normalize(sender ? sender : "", env.conf.country, norm,
	    sizeof(norm)) == NUMBER_INVALID)
		snprintf(norm, sizeof(norm), "%.*s", (int)sizeof(norm) - 1,
		    sender ? sender : "");
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return;
	r->modem = m;
	r->generation = m->generation;
	r->folder = (int)json_integer_value(folder);
	r->location = (int)json_integer_value(location);
	r->params[0] = strdup(m->name);
	r->params[1] = strdup(norm);
	snprintf(buf, sizeof(buf), "%lld", json_is_integer(ref) &&
	    json_integer_value(ref) >= 0 && json_integer_value(ref) <= 255 ?
	    (long long)json_integer_value(ref) : -1LL);
	r->params[2] = strdup(buf);
	snprintf(buf, sizeof(buf), "%lld", json_is_integer(status) ?
	    (long long)json_integer_value(status) & 0xff : 255LL);
	r->params[3] = strdup(buf);
	r->params[4] = smsc_time ? strdup(smsc_time) : NULL;
	r->params[5] = discharge ? strdup(discharge) : NULL;
	if (asprintf(&key, "%s|%s|%s|%s|%s|%s", m->name, norm, r->params[2],
	    r->params[3], smsc_time ? smsc_time : "", discharge ? discharge : "") == -1)
		key = NULL;
	r->params[6] = key;
	snprintf(window, sizeof(window), "%d", env.conf.report_window);
	r->params[7] = strdup(window);
	if (!r->params[0] || !r->params[1] || !r->params[2] || !r->params[3] ||
	    !r->params[6] || !r->params[7]) {
		report_free(r);
		return;
	}
	report_send(r);
}

/* The dedupe key makes a second try safe. r is owned by the query. */
static void
report_send(struct report *r)
{
	if (store_durable(env.store, SQL_REPORT, REPORT_PARAMS,
	    (const char *const *)r->params, report_stored, r) == -1) {
		report_free(r);
		return;
	}
	in_flight++;
}

/*
 * SMPP receipts come by the thousand a second on a busy bind, and a
 * commit each was the limit: they are recorded in batches, as send
 * outcomes are (scheduler.c). Those that arrive while a batch statement
 * is in flight go together in the next one; each batch is a durable
 * query, and every receipt of it is acknowledged to the SMSC (`delete`)
 * only after its commit. A batch the database refuses as a whole is
 * tried again one receipt at a time, so that the one at fault fails
 * alone (and stays unacknowledged: the SMSC delivers it again).
 *
 * A batch leaves once it holds half of the most receipts held at once
 * lately (pending and in statements: the SMSC's window of unanswered
 * deliver_sm, as far as pigeond can tell; the most of this period of
 * RECEIPTS_PEAK_MS and the last, so that a bind removed or a database
 * outage's backlog stops counting), or RECEIPTS_GAP_MS after the
 * last receipt came or the last acknowledgements left (the SMSC has no
 * more, or is slow to send them), or RECEIPTS_WAIT_MS after its first
 * receipt. Half: two batches take turns, one in the database while the
 * SMSC refills the other's half of its window.
 *
 * Receipts give way to a busy bind's sends (`receipts_yield`). While
 * each bind a batch's receipts came on has a window's worth of sends
 * unsettled (in flight, or their outcomes not committed yet), the batch
 * waits until its first receipt is RECEIPTS_YIELD_MS old, or until the
 * window is no longer full: the SMSC, its deliver window full of them,
 * sends no more meanwhile, so a bind sending at its limit stores a
 * window of receipts a second instead of one for each submit, and the
 * database's time, and the SMSC's, goes to the sends. A 100,000-follower
 * fan-out reached its last submit 10 % sooner (docs/performance.md), its
 * receipts stored once it was over (the last a few seconds later than
 * before). For at most receipts_yield seconds of such sending: then they
 * take their share again, so that a bind busy all day does not leave
 * them with its SMSC for ever. A bind with a `rate` never yields. An MO
 * deliver_sm waits behind the held receipts at its SMSC, at most about
 * RECEIPTS_YIELD_MS: well within an SMSC's wait for an answer
 * (ACKS_MAX_AGE_MS is pigeon-smpp's).
 */
#define RECEIPTS_MAX		1000
#define RECEIPTS_GAP_MS		10
#define RECEIPTS_WAIT_MS	100
#define RECEIPTS_PEAK_MS	10000
#define RECEIPTS_YIELD_MS	1000
#define RECEIPTS_LOOK_MS	50
#define RECEIPTS_LINKS		8	/* binds a batch may yield for */

static const char SQL_RECEIPTS[] = "SELECT * FROM pigeon_report_receipts($1::jsonb)";

struct receipts {
	json_t		*list;		/* what the statement records */
	struct report	**who;		/* where each came from, to acknowledge it */
	size_t		 n, cap;
	int		 batch;		/* the batch (else one sent alone) */
	struct link	*links[RECEIPTS_LINKS];	/* the binds they came on */
	int		 nlinks;	/* RECEIPTS_LINKS + 1: more of them */
	int		 yielded;	/* it waited for their sends */
};

static struct receipts *rcpt_pending;
static int rcpt_flushing;
static struct event *ev_rcpt_flush;
static size_t rcpt_sent;		/* receipts in statements */
static size_t rcpt_peak;		/* the most held at once this period */
static size_t rcpt_peak_last;		/* and in the period before */
static struct timeval rcpt_period;	/* when this period began */
static struct timeval rcpt_first;	/* the pending batch's first came */
static struct timeval rcpt_last;	/* a receipt came or acks left */
/* Receipts have a connection of their own, so that a fan-out's claims
 * and outcomes never wait behind them (pigeond's main one until it is up). */
static struct store *rcpt_store;

static void receipts_flush(void);
static void receipts_arm(void);
static int receipts_send(struct receipts *);

static void
receipts_free(struct receipts *b)
{
	if (b == NULL)
		return;
	for (size_t i = 0; i < b->n; i++)
		if (b->who[i] != NULL)
			report_free(b->who[i]);
	json_decref(b->list);
	free(b->who);
	free(b);
}

static struct receipts *
receipts_new(int batch)
{
	struct receipts *b = calloc(1, sizeof(*b));

	if (b == NULL || (b->list = json_array()) == NULL) {
		free(b);
		return NULL;
	}
	b->batch = batch;
	return b;
}

/* Adds one receipt (o's reference is taken, r is owned once added). */
static int
receipts_add(struct receipts *b, json_t *o, struct report *r)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 64;
		struct report **who = reallocarray(b->who, cap, sizeof(*who));
		if (who == NULL) {
			json_decref(o);
			return -1;
		}
		b->who = who;
		b->cap = cap;
	}
	if (json_array_append_new(b->list, o) == -1)
		return -1;
	b->who[b->n++] = r;
	for (int i = 0; i < b->nlinks && i < RECEIPTS_LINKS; i++)
		if (b->links[i] == r->modem)
			return 0;
	if (b->nlinks < RECEIPTS_LINKS)
		b->links[b->nlinks] = r->modem;
	if (b->nlinks <= RECEIPTS_LINKS)
		b->nlinks++;
	return 0;
}

/* Whether l's receipts give way to its sends now (above). Not a bind
 * with a `rate`: its pace is that, not the database's, and its receipts
 * would wait for nothing. Its run of such sending began at yield_since: a
 * run not seen for two yields (no receipt came) is over, and the next
 * one begins now. */
static int
receipts_yield_link(struct link *l, int64_t now)
{
	const struct modem_conf *c = l->conf;

	if (l->kind != LINK_SMPP || c->receipts_yield <= 0 || c->rate_sec > 0 ||
	    c->rate_min > 0 || c->rate_hour > 0 || c->rate_day > 0 ||
	    l->inflight + l->recording < c->window) {
		l->yield_since = 0;
		return 0;
	}
	if (l->yield_since == 0 || now - l->yield_seen > 2 * RECEIPTS_YIELD_MS)
		l->yield_since = now;
	l->yield_seen = now;
	return now - l->yield_since < (int64_t)c->receipts_yield * 1000;
}

/* Whether the batch b waits for its binds' sends now: each of them
 * yields (a batch that came on more than RECEIPTS_LINKS binds does not). */
static int
receipts_yielding(struct receipts *b)
{
	int64_t now = pigeon_now_ms();
	int yield = !env.draining && b->nlinks > 0 && b->nlinks <= RECEIPTS_LINKS;

	for (int i = 0; i < b->nlinks && i < RECEIPTS_LINKS; i++)
		if (!receipts_yield_link(b->links[i], now))
			yield = 0;
	return yield;
}

/* A durable query (store.h): res is NULL only when pigeond stops. */
static void
receipts_recorded(PGresult *res, void *arg)
{
	struct receipts *b = arg;
	int batch = b->batch;
	size_t i;

	if (batch)
		rcpt_flushing = 0;
	in_flight -= (int)b->n;
	rcpt_sent -= b->n;
	if (res == NULL) {
		/* pigeond stops: the SMSC delivers them again. */
	} else if (!store_ok(res) && b->n > 1) {
		log_warnx("smpp: recording %zu receipts failed (%s); one at a time",
		    b->n, store_error(res));
		for (i = 0; i < b->n; i++) {
			struct receipts *one = receipts_new(0);
			json_t *o = json_array_get(b->list, i);
			if (one == NULL || receipts_add(one, json_incref(o), b->who[i]) == -1) {
				receipts_free(one);
				report_free(b->who[i]);
			} else if (receipts_send(one) == -1) {
				receipts_free(one);
			}
			b->who[i] = NULL;
		}
	} else if (!store_ok(res)) {
		/* Not acknowledged: the SMSC is told to deliver it again. */
		struct report *r = b->who[0];
		log_warnx("modem %s: cannot store the receipt %s: %s", r->modem->name,
		    json_string_value(json_object_get(json_array_get(b->list, 0),
		    "message_id")), store_error(res));
		supervisor_release(r->modem, r->generation, r->location);
	} else {
		for (i = 0; i < b->n && i < (size_t)PQntuples(res); i++) {
			struct report *r = b->who[i];
			log_debug("modem %s: receipt for %s: %s", r->modem->name,
			    json_string_value(json_object_get(json_array_get(b->list, i),
			    "message_id")), PQgetvalue(res, (int)i, 0));
			supervisor_delete(r->modem, r->generation, r->folder, r->location);
		}
	}
	receipts_free(b);
	if (res == NULL)
		return;
	if (batch) {
		event_base_gettimeofday_cached(env.base, &rcpt_last);
		receipts_arm();
	}
	if (env.draining)
		pigeond_check_drained();
}

/* One statement for b; -1 (b still the caller's) when it cannot. */
static int
receipts_send(struct receipts *b)
{
	char *js = json_dumps(b->list, JSON_COMPACT);
	const char *params[] = { js };
	int rc = -1;

	if (js != NULL)
		rc = store_durable(pigeond_store(&rcpt_store, "receipts", NULL),
		    SQL_RECEIPTS, 1, params, receipts_recorded, b);
	free(js);
	if (rc == -1) {
		log_warnx("smpp: cannot record %zu receipt(s) now; the SMSC delivers "
		    "them again", b->n);
		for (size_t i = 0; i < b->n; i++)
			if (b->who[i] != NULL)
				supervisor_release(b->who[i]->modem,
				    b->who[i]->generation, b->who[i]->location);
	} else {
		in_flight += (int)b->n;
		rcpt_sent += b->n;
	}
	return rc;
}

static void
receipts_flush(void)
{
	struct receipts *b = rcpt_pending;

	if (rcpt_flushing || b == NULL || b->n == 0)
		return;
	if (ev_rcpt_flush != NULL)
		evtimer_del(ev_rcpt_flush);
	rcpt_pending = NULL;
	if (b->yielded)
		for (size_t i = 0; i < b->n; i++)
			b->who[i]->modem->receipts_yielded++;
	if (receipts_send(b) == 0)
		rcpt_flushing = 1;
	else
		receipts_free(b);
}

static void
receipts_on_flush(evutil_socket_t fd, short what, void *arg)
{
	receipts_arm();
}

/* The pending batch goes now if it holds half the window, else when the
 * gap or the wait (above) is over, whichever is sooner; while it yields
 * to its binds' sends, not before RECEIPTS_YIELD_MS. */
static void
receipts_arm(void)
{
	struct timeval now, due, gap, left;
	size_t peak = rcpt_peak > rcpt_peak_last ? rcpt_peak : rcpt_peak_last;

	if (rcpt_pending == NULL || rcpt_pending->n == 0)
		return;
	if (ev_rcpt_flush != NULL && receipts_yielding(rcpt_pending)) {
		event_base_gettimeofday_cached(env.base, &now);
		due.tv_sec = RECEIPTS_YIELD_MS / 1000;
		due.tv_usec = RECEIPTS_YIELD_MS % 1000 * 1000;
		timeradd(&rcpt_first, &due, &due);
		if (timercmp(&now, &due, <)) {
			/* Looked at again every RECEIPTS_LOOK_MS: they go
			 * as soon as the sends no longer fill the window. */
			rcpt_pending->yielded = 1;
			timersub(&due, &now, &left);
			if (left.tv_sec > 0 || left.tv_usec > RECEIPTS_LOOK_MS * 1000) {
				left.tv_sec = 0;
				left.tv_usec = RECEIPTS_LOOK_MS * 1000;
			}
			evtimer_add(ev_rcpt_flush, &left);
			return;
		}
	}
	if (ev_rcpt_flush == NULL || 2 * rcpt_pending->n >= peak ||
	    rcpt_pending->n >= RECEIPTS_MAX) {
		receipts_flush();
		return;
	}
	event_base_gettimeofday_cached(env.base, &now);
	due.tv_sec = RECEIPTS_WAIT_MS / 1000;
	due.tv_usec = RECEIPTS_WAIT_MS % 1000 * 1000;
	timeradd(&rcpt_first, &due, &due);
	gap.tv_sec = 0;
	gap.tv_usec = RECEIPTS_GAP_MS * 1000;
	timeradd(&rcpt_last, &gap, &gap);
	if (timercmp(&gap, &due, <))
		due = gap;
	if (timercmp(&due, &now, <=)) {
		receipts_flush();
		return;
	}
	timersub(&due, &now, &left);
	evtimer_add(ev_rcpt_flush, &left);
}

/*
 * The TP-Status (3GPP TS 23.040 9.2.3.15) nearest to an SMPP receipt's
 * state (pigeon-smpp's `state`, the message_state of SMPP 3.4 5.2.28),
 * stored on the part as a modem's status report's is: 0-31 delivered,
 * 32-63 still tried, 64 and up given up (undelivered, whichever it is).
 * 64 alone was "remote procedure error" for every failure, an EXPIRED
 * receipt too. The table is in docs/carrier.md.
 */
static int
receipt_tp_status(json_t *msg)
{
	json_t *st = json_object_get(msg, "state");

	if (json_is_true(json_object_get(msg, "delivered")))
		return 0x00;	/* short message received by the SME */
	if (!json_is_true(json_object_get(msg, "final")))
		return 0x20;	/* ENROUTE, ACCEPTD, UNKNOWN: still tried */
	switch (json_is_integer(st) ? json_integer_value(st) : -1) {
	case 3:			/* EXPIRED */
		return 0x46;	/* SM validity period expired */
	case 4:			/* DELETED */
		return 0x48;	/* SM deleted by SC administration */
	case 8:			/* REJECTD */
		return 0x63;	/* service rejected */
	default:		/* UNDELIV, or a state of its own */
		return 0x40;	/* remote procedure error: no cause given */
	}
}

/*
 * An SMPP receipt (pigeon-smpp's `report`): stored and matched by the
 * SMSC's message id, then acknowledged to the SMSC (`delete`: the worker
 * answers the deliver_sm only then), like a modem's status report.
 */
void
reports_receipt(struct link *l, json_t *msg)
{
	json_t *keys = json_object_get(msg, "keys"), *k, *o, *clean;
	const char *recipient = json_string_value(json_object_get(msg, "recipient"));
	const char *mid = json_string_value(json_object_get(msg, "message_id"));
	const char *stat = json_string_value(json_object_get(msg, "stat"));
	const char *err = json_string_value(json_object_get(msg, "err"));
	const char *key = json_string_value(json_object_get(msg, "key"));
	char norm[NUMBER_MAX], *dedupe = NULL, *account;
	size_t i;
	struct report *r;

	if (key == NULL || !json_is_array(keys)) {
		log_warnx("modem %s: receipt without key or keys, ignored", l->name);
		return;
	}
	/* The keys: the id as the SMSC wrote it (a UUID, with dashes, from
	 * some), and read in the other base when it is a number. Strings of
	 * at most 64 bytes (modem_msg_check); empty ones are left out. */
	if ((clean = json_array()) == NULL)
		return;
	json_array_foreach(keys, i, k) {
		const char *v = json_string_value(k);
		if (v != NULL && *v != '\0')
			json_array_append(clean, k);
	}
	if (number_normalize(recipient ? recipient : "", env.conf.country, norm,
	    sizeof(norm)) == NUMBER_INVALID)
		snprintf(norm, sizeof(norm), "%.*s", (int)sizeof(norm) - 1,
		    recipient ? recipient : "");
	/* Stored once per SMSC account, not per bind: the SMSC delivers a
	 * receipt whose answer it did not get (a session lost with it) again
	 * to any receiver of the account, and one stored through a bind and
	 * delivered again on another was a second report, counted twice
	 * (test_smpp_account:smpp_account). The keys an older pigeond (0.21) wrote
	 * name the bind: a receipt delivered again across the upgrade is
	 * stored once more (docs/operator.md, Upgrades). */
	account = link_account(l);
	if (asprintf(&dedupe, "%s|%s", account != NULL ? account : l->name,
	    key) == -1)
		dedupe = NULL;
	free(account);
	o = json_pack("{s:s, s:s, s:s?, s:o, s:i, s:s?, s:s?, s:s?}",
	    "link", l->name, "recipient", norm, "message_id", mid, "keys", clean,
	    "status", receipt_tp_status(msg), "stat", stat, "err", err,
	    "dedupe", dedupe);
	free(dedupe);
	if (o == NULL || !json_is_string(json_object_get(o, "dedupe")) ||
	    (r = calloc(1, sizeof(*r))) == NULL) {
		json_decref(o);
		return;
	}
	r->modem = l;
	r->generation = l->generation;
	r->folder = (int)json_integer_value(json_object_get(msg, "folder"));
	r->location = (int)json_integer_value(json_object_get(msg, "location"));
	if (rcpt_pending == NULL && (rcpt_pending = receipts_new(1)) == NULL) {
		json_decref(o);
		report_free(r);
		return;
	}
	if (receipts_add(rcpt_pending, o, r) == -1) {
		report_free(r);
		return;
	}
	if (ev_rcpt_flush == NULL)
		ev_rcpt_flush = evtimer_new(env.base, receipts_on_flush, NULL);
	event_base_gettimeofday_cached(env.base, &rcpt_last);
	if (rcpt_pending->n == 1)
		rcpt_first = rcpt_last;
	if (rcpt_last.tv_sec - rcpt_period.tv_sec >= RECEIPTS_PEAK_MS / 1000) {
		/* A new period; the last one is the one before, if it was. */
		rcpt_peak_last = rcpt_last.tv_sec - rcpt_period.tv_sec <
		    2 * RECEIPTS_PEAK_MS / 1000 ? rcpt_peak : 0;
		rcpt_peak = 0;
		rcpt_period = rcpt_last;
	}
	if (rcpt_sent + rcpt_pending->n > rcpt_peak)
		rcpt_peak = rcpt_sent + rcpt_pending->n;
	receipts_arm();
}

/* Receipts not sent yet stay unacknowledged: the SMSC delivers them again. */
void
reports_free(void)
{
	store_free(rcpt_store);	/* completes its query with NULL */
	rcpt_store = NULL;
	receipts_free(rcpt_pending);
	rcpt_pending = NULL;
	while (held != NULL) {
		struct report *r = held;
		held = r->next_held;
		report_free(r);		/* left on the modem */
	}
	hold_free(&rep_hold);
	if (ev_rcpt_flush != NULL) {
		event_free(ev_rcpt_flush);
		ev_rcpt_flush = NULL;
	}
}

/* 1 from the database's first refusal of a report until one is stored. */
int
reports_refused(void)
{
	return hold_active(&rep_hold);
}

int
reports_busy(void)
{
	return (in_flight > 0 || held != NULL ||
	    (rcpt_pending != NULL && rcpt_pending->n > 0)) && store_is_up(env.store);
}

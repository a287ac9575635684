/*
 * inbound.c: SMS parts from the modems into the inbox, in batches.
 *
 * The rule that keeps every SMS exactly once: a part is deleted from its
 * modem only after the transaction that stored it has committed. A crash
 * in between leaves it on the modem; the next worker reports it again and
 * the inbox's dedupe key turns the second insert into a no-op. Each batch
 * is a durable query (store.h): sent again if the connection is lost
 * before its answer.
 *
 * A batch the database refuses for a reason of its own (its disk full, a
 * shutdown: store_error_transient) is held and sent again every HOLD_MS,
 * ahead of the parts that came since, until it is stored. Dropped, a
 * part stayed on the SIM for the worker's life: the worker reports a
 * location once (modem/listing.c), and no later worker came
 * (test_crash test_sms_disk_full). Only a part whose own statement fails
 * alone, for an error of its own data, is left on the modem so.
 *
 * A part the store holds back (an SMPP copy of one stored within its
 * window, whose first bind has not yet been seen to lose its answer:
 * pigeon_inbox_store_parts) waits here SETTLE_MS, unanswered, with what
 * its phone sent after it, then is stored again, "settled": by then the
 * news of that loss, which may come after the SMSC's copy, has come, or
 * it is a new SMS.
 *
 * An SMPP worker forgets a delivery whose answer it can no longer give
 * (its session closed, or its wait ran out) and says so (`dropped`,
 * inbound_dropped): the SMSC delivers it again, perhaps on another bind
 * of the account, perhaps another host's, which may store its copy
 * while the first waits here for the database. Stored after that copy,
 * the first was one of an SMS stored on a bind seen alive: held, then
 * stored as a new SMS, a post or a DM applied twice. So what was
 * dropped and is not stored yet is forgotten here too.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "hold.h"
#include "log.h"
#include "modemmsg.h"
#include "number.h"
#include "pigeond.h"
#include "store.h"

#define BATCH_MAX	200
#define SETTLE_MS	2000	/* a held part's wait: a loss is written in ms */

struct part {
	TAILQ_ENTRY(part) entry;
	struct link	*modem;
	unsigned	 generation;	/* of the process that reported it */
	int		 folder;
	int		 location;
	int		 alone;		/* failed in a batch: try it by itself */
	int		 dropped;	/* forgotten by its worker while in flight */
	int64_t		 settle_at;	/* held: stored again then (ms, monotonic) */
	json_t		*row;		/* the object pigeon_inbox_store_parts takes */
};
TAILQ_HEAD(part_list, part);

static struct part_list pending = TAILQ_HEAD_INITIALIZER(pending);
static struct part_list in_flight = TAILQ_HEAD_INITIALIZER(in_flight);
static struct part_list settling = TAILQ_HEAD_INITIALIZER(settling);	/* held */
static int flushing;
static struct event *ev_flush;
static struct event *ev_settle;
static void inbound_flush(void);
static struct hold in_hold = { inbound_flush, NULL, 0, 0 };	/* refused */
/*
 * The inbox is written on a connection of its own: a backend storing a
 * batch works on one core while the gateway's connection applies the
 * commands of the last one on the other (one backend did both in turn and
 * was the ingest's bottleneck). The messages are applied once their store
 * has committed, as before. Until it is up, the gateway's connection
 * stores them.
 */
static struct store *in_store;

static const char *
kind_name(enum number_kind k)
{
	switch (k) {
	case NUMBER_E164:	return "e164";
	case NUMBER_SHORT:	return "short";
	case NUMBER_ALPHA:	return "alpha";
	case NUMBER_INVALID:	break;
	}
	return "invalid";
}

/* A time stamp as the worker writes it: 2026-11-26T07:45:00+01:00. */
static int
time_valid(const char *t)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd";
	size_t i;

	if (t == NULL || strlen(t) < sizeof(shape) - 1 || strlen(t) > 32)
		return 0;
	for (i = 0; i < sizeof(shape) - 1; i++) {
		if (shape[i] == 'd' ? !isdigit((unsigned char)t[i]) : t[i] != shape[i])
			return 0;
	}
	for (; t[i]; i++)
		if (!isdigit((unsigned char)t[i]) && !strchr("+-:Z.", t[i]))
			return 0;
	return 1;
}

/*
 * This pigeond's run, in an SMPP part's emission: with the link, its
 * worker's start and the worker's handle, it names the part once, so
 * that a batch given again (its commit's answer lost: store_durable)
 * stores it under the same dedupe key (pigeon_link_dedupe), never as a
 * new SMS. The clock and the pid: a restart gives another.
 */
static const char *
run_id(void)
{
	static char id[48];
	struct timespec ts;

	if (id[0] == '\0') {
		clock_gettime(CLOCK_REALTIME, &ts);
		snprintf(id, sizeof(id), "%lld.%06ld.%ld", (long long)ts.tv_sec,
		    ts.tv_nsec / 1000, (long)getpid());
	}
	return id;
}

/* PostgreSQL text cannot hold U+0000: make each one a U+FFFD. */
static json_t *
text_value(json_t *v)
{
	const char *s = json_string_value(v);
	size_t len = json_string_length(v);

	if (s == NULL)
		return json_string("");
	if (memchr(s, '\0', len) == NULL)
		return json_stringn(s, len);
	char *buf = malloc(len * 3 + 1);
	size_t j = 0;
	if (buf == NULL)
		return json_string("");
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\0') {
			memcpy(buf + j, "\xEF\xBF\xBD", 3);
			j += 3;
		} else {
			buf[j++] = s[i];
		}
	}
	json_t *out = json_stringn(buf, j);
	free(buf);
	return out;
}

static void
part_free(struct part *p)
{
	json_decref(p->row);
	free(p);
}

void
inbound_sms(struct link *m, json_t *msg)
{
	json_t *folder = json_object_get(msg, "folder");
	json_t *location = json_object_get(msg, "location");
	const char *sender = json_string_value(json_object_get(msg, "sender"));
	const char *coding = json_string_value(json_object_get(msg, "coding"));
	const char *t = json_string_value(json_object_get(msg, "time"));
	json_t *udh = json_object_get(msg, "udh");
	char norm[NUMBER_MAX];
	enum number_kind kind;

	if (!json_is_integer(folder) || !json_is_integer(location)) {
		log_warnx("modem %s: sms without folder or location, ignored", m->name);
		return;
	}
	if (sender == NULL)
		sender = "";
	kind = modem_msg_sender(msg, sender, env.conf.country, norm, sizeof(norm));

	struct part *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return;
	p->modem = m;
	p->generation = m->generation;
	p->folder = (int)json_integer_value(folder);
	p->location = (int)json_integer_value(location);
	p->row = json_pack("{s:s, s:s, s:s, s:s, s:s?, s:s, s:o}",
	    "modem", m->name, "sender", sender, "sender_norm", norm,
	    "sender_kind", kind_name(kind),
	    "smsc", json_string_value(json_object_get(msg, "smsc")),
	    "coding", coding ? coding : "unknown",
	    "text", text_value(json_object_get(msg, "text")));
	if (p->row == NULL) {
		log_warnx("modem %s: sms at %d/%d from %s cannot be stored; left "
		    "on the modem", m->name, p->folder, p->location, norm);
		free(p);
		return;
	}
	modem_msg_sms_extra(msg, p->row);
	if (time_valid(t))
		json_object_set_new(p->row, "time", json_string(t));
	/* An SMPP part has no time stamp but its content's key: an SMSC's
	 * redelivery of it is absorbed over a window (20_inbox.sql), when
	 * the link went down in between or the worker says it is one (it
	 * answered the first so that the SMSC delivers it again). */
	const char *key = json_string_value(json_object_get(msg, "key"));
	if (m->kind == LINK_SMPP && key != NULL && strlen(key) < 64) {
		json_object_set_new(p->row, "link_key", json_string(key));
		json_object_set_new(p->row, "emission", json_sprintf("%s/%s/%u/%d",
		    run_id(), m->name, p->generation, p->location));
		if (json_is_true(json_object_get(msg, "redelivery")))
			json_object_set_new(p->row, "redelivery", json_true());
	}
	if (json_is_object(udh)) {
		json_int_t ref = json_integer_value(json_object_get(udh, "ref"));
		json_int_t total = json_integer_value(json_object_get(udh, "total"));
		json_int_t seq = json_integer_value(json_object_get(udh, "seq"));
		if (total >= 1 && total <= 255 && seq >= 1 && seq <= total &&
		    ref >= 0 && ref <= 65535) {
			json_object_set_new(p->row, "ref", json_integer(ref));
			json_object_set_new(p->row, "total", json_integer(total));
			json_object_set_new(p->row, "seq", json_integer(seq));
		}
	}
	log_debug("modem %s: sms at %d/%d from %s", m->name, p->folder, p->location, norm);
	TAILQ_INSERT_TAIL(&pending, p, entry);
	inbound_kick();
}

/* Whether p came from l's current worker with one of these locations. */
static int
part_dropped(const struct part *p, const struct link *l, json_t *locations)
{
	size_t i;
	json_t *v;

	if (p->modem != l || p->generation != l->generation)
		return 0;
	json_array_foreach(locations, i, v)
		if (json_is_integer(v) && json_integer_value(v) == p->location)
			return 1;
	return 0;
}

/* Forgets the parts of list that the worker dropped; how many. */
static int
drop_from(struct part_list *list, const struct link *l, json_t *locations)
{
	struct part *p, *next;
	int n = 0;

	for (p = TAILQ_FIRST(list); p != NULL; p = next) {
		next = TAILQ_NEXT(p, entry);
		if (part_dropped(p, l, locations)) {
			TAILQ_REMOVE(list, p, entry);
			part_free(p);
			n++;
		}
	}
	return n;
}

/*
 * The worker forgot these deliveries unanswered (`dropped`): those not
 * stored yet, waiting for the database or held, are forgotten too, and
 * the SMSC's copy, on whichever bind, is stored once. One in a statement
 * in flight may commit: it is then stored, and the SMSC's copy is judged
 * as any copy of an SMS whose session closed (the loss written by the
 * link, or the worker's `redelivery`); held or given back by the store,
 * it is forgotten then (inbound_stored, inbound_flush).
 */
void
inbound_dropped(struct link *l, json_t *msg)
{
	json_t *locations = json_object_get(msg, "locations");
	struct part *p;
	int n, inflight = 0;

	if (!json_is_array(locations) || l->kind != LINK_SMPP)
		return;
	n = drop_from(&pending, l, locations) + drop_from(&settling, l, locations);
	TAILQ_FOREACH(p, &in_flight, entry)
		if (part_dropped(p, l, locations)) {
			p->dropped = 1;
			inflight++;
		}
	if (n > 0)
		log_info("modem %s: %d SMS part(s) not stored yet forgotten: "
		    "the worker dropped them unanswered, the SMSC delivers "
		    "them again", l->name, n);
	if (inflight > 0)
		log_info("modem %s: %d SMS part(s) dropped by the worker while "
		    "being stored", l->name, inflight);
	/* What waited behind a held part of its phone may go now. */
	if (n > 0)
		inbound_kick();
}

static const char *
part_sender(const struct part *p)
{
	return json_string_value(json_object_get(p->row, "sender_norm"));
}

/* Whether a part of p's phone is held: p waits behind it. */
static int
part_waits(const struct part *p)
{
	const char *s = part_sender(p), *hs;
	struct part *h;

	TAILQ_FOREACH(h, &settling, entry)
		if (s != NULL && (hs = part_sender(h)) != NULL && strcmp(s, hs) == 0)
			return 1;
	return 0;
}

/* Whether k (from 1) is in the store's array of held parts, "{2,5}". */
static int
held_has(const char *arr, int k)
{
	const char *c = arr;
	char *end;

	while (*c != '\0') {
		if (!isdigit((unsigned char)*c)) {
			c++;
			continue;
		}
		if (strtol(c, &end, 10) == k)
			return 1;
		c = end;
	}
	return 0;
}

static void
settle_arm(void)
{
	struct part *p = TAILQ_FIRST(&settling);
	struct timeval tv;
	int64_t left;

	if (p == NULL || ev_settle == NULL || evtimer_pending(ev_settle, NULL))
		return;
	left = p->settle_at - pigeon_now_ms();
	if (left < 0)
		left = 0;
	tv.tv_sec = left / 1000;
	tv.tv_usec = left % 1000 * 1000;
	evtimer_add(ev_settle, &tv);
}

/* The held parts whose wait is over go first, in their order. */
static void
inbound_on_settle(evutil_socket_t fd, short what, void *arg)
{
	struct part *p, *last = NULL;
	int64_t now = pigeon_now_ms();

	while ((p = TAILQ_FIRST(&settling)) != NULL && p->settle_at <= now) {
		TAILQ_REMOVE(&settling, p, entry);
		if (last == NULL)
			TAILQ_INSERT_HEAD(&pending, p, entry);
		else
			TAILQ_INSERT_AFTER(&pending, last, p, entry);
		last = p;
	}
	settle_arm();
	inbound_kick();
}

/* Held by the store: unanswered, stored again settled after SETTLE_MS. */
static void
part_settle(struct part *p)
{
	json_object_set_new(p->row, "settled", json_true());
	p->settle_at = pigeon_now_ms() + SETTLE_MS;
	TAILQ_INSERT_TAIL(&settling, p, entry);
	if (ev_settle == NULL)
		ev_settle = evtimer_new(env.base, inbound_on_settle, NULL);
	settle_arm();
}

static void
in_store_state(int up, void *arg)
{
	if (up)
		inbound_kick();
}

/* The connection for the next batch: its own once both are up (the
 * gateway's one has run the migrations). */
static struct store *
inbound_store(void)
{
	return pigeond_store(&in_store, "inbox", in_store_state);
}

/* 1 from the database's first refusal of a batch until one is stored. */
int
inbound_refused(void)
{
	return hold_active(&in_hold);
}

/*
 * The database refused the batch in flight for a reason of its own: its
 * parts go back ahead of the others, and the next batch leaves after
 * HOLD_MS (hold.c).
 */
static void
inbound_hold(const PGresult *res)
{
	char what[96];
	struct part *p;
	size_t n = 0;

	while ((p = TAILQ_LAST(&in_flight, part_list)) != NULL) {
		TAILQ_REMOVE(&in_flight, p, entry);
		TAILQ_INSERT_HEAD(&pending, p, entry);
	}
	TAILQ_FOREACH(p, &pending, entry)
		n++;
	snprintf(what, sizeof(what), "inbox: cannot store %zu SMS part(s), left "
	    "on the modems,", n);
	hold_refused(&in_hold, res, what);
}

static void
inbound_stored(PGresult *res, void *arg)
{
	struct part *p;
	int n = 0, k = 0, nheld = 0;
	const char *held;

	flushing = 0;
	if (res == NULL)
		return;		/* pigeond stops: the parts stay on the modems */
	if (store_error_transient(res)) {
		inbound_hold(res);
		return;
	}
	if (store_ok(res))
		hold_over(&in_hold, "inbox: the held SMS parts are stored");
	if (!store_ok(res)) {
		p = TAILQ_FIRST(&in_flight);
		if (p != NULL && p->alone) {
			/* Its own data is at fault (tried again, it fails
			 * again): left on the modem, which a later worker
			 * reports again (a restart, disable/enable). An SMSC
			 * delivers it again once told (`release`): it waited
			 * unanswered at the worker, every copy of it joined
			 * to it and never stored. */
			log_warnx("modem %s: cannot store the SMS at location %d: %s",
			    p->modem->name, p->location, store_error(res));
			if (!p->dropped)
				supervisor_release(p->modem, p->generation,
				    p->location);
			TAILQ_REMOVE(&in_flight, p, entry);
			part_free(p);
		} else {
			log_warnx("database: storing %s SMS parts failed (%s); trying one by one",
			    "a batch of", store_error(res));
		}
		while ((p = TAILQ_LAST(&in_flight, part_list)) != NULL) {
			TAILQ_REMOVE(&in_flight, p, entry);
			p->alone = 1;
			TAILQ_INSERT_HEAD(&pending, p, entry);
		}
		inbound_kick();
		return;
	}
	/* Committed: now, and only now, the modems may delete them; the
	 * parts it held wait (part_settle). */
	held = PQntuples(res) == 1 && PQnfields(res) == 2 ? PQgetvalue(res, 0, 1) : "";
	while ((p = TAILQ_FIRST(&in_flight)) != NULL) {
		TAILQ_REMOVE(&in_flight, p, entry);
		if (held_has(held, ++k)) {
			/* Not stored, and its worker forgot it: the SMSC's
			 * copy is the one stored. */
			if (p->dropped) {
				part_free(p);
				continue;
			}
			part_settle(p);
			nheld++;
			continue;
		}
		/* Stored though its worker forgot it (its statement was in
		 * flight): the SMSC's copy is judged as any copy of a stored
		 * SMS whose session closed (20_inbox.sql), and there is no
		 * deliver_sm left to answer. */
		if (!p->dropped)
			supervisor_delete(p->modem, p->generation, p->folder,
			    p->location);
		part_free(p);
		n++;
	}
	log_debug("inbox: stored %d parts (%s new)", n, PQgetvalue(res, 0, 0));
	if (nheld > 0)
		log_info("inbox: %d SMS part(s) held %d ms: the same as one stored "
		    "lately on a bind of the account, whose answer was not seen lost",
		    nheld, SETTLE_MS);
	commands_kick();
	inbound_kick();
	if (env.draining)
		pigeond_check_drained();
}

static void
inbound_flush(void)
{
	json_t *batch;
	struct part *p, *next;
	char *sql_arg;
	int n = 0, alone = 0;

	if (flushing || TAILQ_EMPTY(&pending) || !store_is_up(env.store) ||
	    hold_waiting(&in_hold))
		return;
	struct store *st = inbound_store();
	batch = json_array();
	for (p = TAILQ_FIRST(&pending); p != NULL && n < (alone ? 1 : BATCH_MAX);
	    p = next) {
		next = TAILQ_NEXT(p, entry);
		if (p->dropped) {
			/* Back from a statement that did not store it. */
			TAILQ_REMOVE(&pending, p, entry);
			part_free(p);
			continue;
		}
		if (!TAILQ_EMPTY(&settling) && part_waits(p))
			continue;
		if (n == 0)
			alone = p->alone;
		else if (p->alone != alone)
			break;
		TAILQ_REMOVE(&pending, p, entry);
		TAILQ_INSERT_TAIL(&in_flight, p, entry);
		json_array_append(batch, p->row);
		n++;
	}
	if (n == 0) {
		json_decref(batch);	/* all wait behind a held part */
		return;
	}
	sql_arg = json_dumps(batch, JSON_COMPACT);
	json_decref(batch);
	const char *params[] = { sql_arg };
	/* The dedupe key makes a second try of a batch safe (an SMPP
	 * part's names its emission: run_id). */
	if (sql_arg != NULL && store_durable(st,
	    "SELECT stored_n, held FROM pigeon_inbox_store_parts($1::jsonb, true)",
	    1, params, inbound_stored, NULL) == 0) {
		flushing = 1;
	} else {
		while ((p = TAILQ_LAST(&in_flight, part_list)) != NULL) {
			TAILQ_REMOVE(&in_flight, p, entry);
			TAILQ_INSERT_HEAD(&pending, p, entry);
		}
	}
	free(sql_arg);
}

static void
inbound_on_flush(evutil_socket_t fd, short what, void *arg)
{
	inbound_flush();
}

/* Flushes on the next loop turn, so parts read together go together. */
void
inbound_kick(void)
{
	if (ev_flush == NULL)
		ev_flush = evtimer_new(env.base, inbound_on_flush, NULL);
	if (ev_flush != NULL)
		event_active(ev_flush, EV_TIMEOUT, 0);
}

int
inbound_busy(void)
{
	return flushing || !TAILQ_EMPTY(&pending) || !TAILQ_EMPTY(&settling);
}

void
inbound_free(void)
{
	struct part *p;

	store_free(in_store);	/* completes its query with NULL */
	in_store = NULL;
	while ((p = TAILQ_FIRST(&pending)) != NULL) {
		TAILQ_REMOVE(&pending, p, entry);
		part_free(p);
	}
	while ((p = TAILQ_FIRST(&in_flight)) != NULL) {
		TAILQ_REMOVE(&in_flight, p, entry);
		part_free(p);
	}
	while ((p = TAILQ_FIRST(&settling)) != NULL) {
		TAILQ_REMOVE(&settling, p, entry);
		part_free(p);
	}
	if (ev_flush) {
		event_free(ev_flush);
		ev_flush = NULL;
	}
	if (ev_settle) {
		event_free(ev_settle);
		ev_settle = NULL;
	}
	hold_free(&in_hold);
}

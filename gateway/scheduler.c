/*
 * scheduler.c: outbox rows to modems.
 *
 * It claims as many due rows as the links have free slots now (online, a
 * free slot in their window, within their rate limits, a bind not paused
 * by its SMSC's throttling: link_paused_ms), highest priority
 * first with a share kept
 * for each class (pigeon_outbox_claim), and gives each row a modem: one
 * the message has not failed on, then one routed for its recipient, then
 * the one that has waited longest. It records the outcome: a temporary
 * failure comes back after an exponential backoff and prefers another
 * modem, a permanent one fails at once (one refused on its link alone,
 * an SMPP address or TON/NPI, is retried on another link while one is
 * left: pigeon_outbox_refused), the attempts and the validity
 * period are bounded. Outcomes go to the database in batches
 * (outcomes.c). It wakes on NOTIFY pigeon_outbox, when a link
 * has a free slot, and on janitor jobs for retries, expiry and expired
 * leases.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/event.h>
#include <jansson.h>

#include "joblog.h"
#include "log.h"
#include "pigeond.h"
#include "store.h"

#define TICK_MS		2000	/* retries come due between NOTIFYs */
#define RECLAIM_MS	30000	/* expired leases are looked for this often */
#define BUDGET_MS	10000	/* the links' daily budgets are read this often */

static int claiming;
static int again;
static int first_up = 1;
/* Passes that found nothing more to send now: a claim that returned fewer
 * messages than the links had free slots, or no link able to take a send
 * and none sending (/metrics pigeon_scheduler_caught_up_total). Flat under
 * a backlog; once it has moved on twice, a message that could go has gone
 * (a test's "it still waits"). */
static unsigned long caught_up;

/* o with "claim" (the claim it is the outcome of), when known; o. */
static json_t *
claim_set(json_t *o, const char *claim)
{
	if (o != NULL && claim != NULL && *claim != '\0')
		json_object_set_new(o, "claim", json_string(claim));
	return o;
}

/* A link that can take a send now: rate limits and its day's budget
 * (link_budget_day) included. */
static int
able(const struct link *l, int64_t now)
{
	return link_can_send(l) && l->budget_left != 0 &&
	    ratelimit_allows(&l->rate, l->conf, now);
}

/* The periodic statements' failures, logged once and then a minute
 * apart (joblog.h). */
static struct joblog claim_log = JOBLOG_INIT("outbox: claim failed");
static struct joblog budgets_log = JOBLOG_INIT("outbox: reading the links' budgets");
static struct joblog reclaim_log = JOBLOG_INIT("outbox: returning expired leases");
static struct joblog expire_log = JOBLOG_INIT("outbox: expiring old messages");

static void
budgets_read(PGresult *res, void *arg)
{
	struct link *l;

	if (joblog_result(&budgets_log, res) == -1)
		return;
	for (int i = 0; i < PQntuples(res); i++) {
		if ((l = link_find(PQgetvalue(res, i, 0))) == NULL)
			continue;
		long long left = strtoll(PQgetvalue(res, i, 1), NULL, 10);
		const char *day = PQgetvalue(res, i, 2);
		/*
		 * This host counts its own sends as they happen (scheduler_sent);
		 * within a day a read only brings the budget down (the other
		 * hosts' sends), never up, so that sends not yet recorded are
		 * not given back. A new day starts afresh.
		 */
		long long was = l->budget_left;
		if (strcmp(day, l->budget_day) != 0) {
			snprintf(l->budget_day, sizeof(l->budget_day), "%s", day);
			l->budget_left = left;
		} else if (left >= 0 && (l->budget_left < 0 || left < l->budget_left)) {
			l->budget_left = left;
		}
		if (l->budget_left == 0 && was != 0)
			log_warnx("modem %s: its daily budget (link_budget_day) is spent; "
			    "no more sends today", l->name);
	}
	scheduler_kick();
}

/* Janitor job: what each link may still send today. */
static void
scheduler_budgets(void)
{
	struct link *l;
	json_t *names;
	char *text;

	if (!store_is_up(env.store) || env.conf.link_budget_day == 0)
		return;
	if ((names = json_array()) == NULL)
		return;
	TAILQ_FOREACH(l, &env.links, entry)
		json_array_append_new(names, json_string(l->name));
	/* A JSON list of names (letters, digits, - _ .) is a text[] once its
	 * brackets are braces. */
	text = json_dumps(names, JSON_COMPACT);
	json_decref(names);
	if (text == NULL)
		return;
	text[0] = '{';
	text[strlen(text) - 1] = '}';
	const char *params[] = { text };
	store_query(env.store, "SELECT * FROM pigeon_link_budget_left($1::text[])", 1,
	    params, budgets_read, NULL);
	free(text);
}

/*
 * A link's free slots worth a claim now. A bind is claimed for by halves:
 * while its worker still holds two SMSC windows' worth of sends, it waits
 * until half its slots (`ahead` windows in all, link.c) are free, so that
 * its claims and outcome batches are fewer and larger, each statement's
 * fixed cost shared by more rows, and its window never runs dry meanwhile.
 * At 100,000 followers and ahead 8: 372 claims instead of 480 to 505, and
 * 17.0-17.4 s to the last submit instead of 18.2-18.8 (docs/performance.md).
 */
static int
claimable(const struct link *l)
{
	int slots = l->window - l->inflight - l->recording;

	if (l->conf->kind == CONF_SMPP && slots < l->window / 2 &&
	    l->inflight >= 2 * l->conf->window)
		return 0;
	return slots;
}

/* Free slots across the links that can send now. */
static int
able_slots(void)
{
	struct link *l;
	int64_t now = pigeon_now_ms();
	int n = 0;
	TAILQ_FOREACH(l, &env.links, entry)
		if (able(l, now))
			n += claimable(l);
	return n;
}

static int
routed(const struct link *m, const char *recipient)
{
	for (int i = 0; i < m->conf->nroutes; i++)
		if (strncmp(recipient, m->conf->route[i],
		    strlen(m->conf->route[i])) == 0)
			return 1;
	return 0;
}

/* failed is PostgreSQL's text of a text[]: {a,b} (names need no quotes). */
static int
failed_on(const struct link *m, const char *failed)
{
	size_t n = strlen(m->name);
	const char *p = failed;

	while (p != NULL && *p != '\0') {
		p += strspn(p, "{,\"");
		if (strncmp(p, m->name, n) == 0 && strchr(",}\"", p[n]) != NULL)
			return 1;
		p = strpbrk(p, ",");
	}
	return 0;
}

/* The claim's column 13: the links that refused the row, each for a
 * reason of its own (pigeon_outbox_refused); "" from a claim of before. */
static const char *
refused_by(PGresult *res, int i)
{
	return PQnfields(res) > 13 ? PQgetvalue(res, i, 13) : "";
}

/*
 * The modem for one row, among those that can send now and have not
 * refused it: one the message has not failed on, then one routed for its
 * recipient (a preference: numbers are ported), then the least recently
 * used. With only_routed, a routed modem or none.
 */
static struct link *
pick_link(const char *recipient, const char *failed, const char *refused,
    int only_routed, int64_t now, const char *via)
{
	struct link *m, *best = NULL;
	int best_score = -1;

	TAILQ_FOREACH(m, &env.links, entry) {
		if (!able(m, now) || failed_on(m, refused))
			continue;
		/* An API send's via (issue 16): that link or none. */
		if (via != NULL && *via != '\0' && strcmp(via, m->name) != 0)
			continue;
		int r = routed(m, recipient);
		if (only_routed && !r)
			continue;
		int score = (failed_on(m, failed) ? 0 : 2) + r;
		if (score > best_score || (score == best_score &&
		    m->last_send < best->last_send)) {
			best = m;
			best_score = score;
		}
	}
	return best;
}

/*
 * The link a reply's command came in on (the claim's column 12), when it
 * can take it now and the reply has not failed on it: a phone that texted
 * the shortcode is answered from the shortcode, not from a modem's long
 * number it never wrote to (and the other way round). NULL otherwise: the
 * reply then goes like any row.
 */
static struct link *
came_in_link(PGresult *res, int i, int64_t now)
{
	const char *name = PQnfields(res) > 12 ? PQgetvalue(res, i, 12) : "";
	struct link *m = *name != '\0' ? link_find(name) : NULL;

	return m != NULL && able(m, now) && !failed_on(m, PQgetvalue(res, i, 6)) &&
	    !failed_on(m, refused_by(res, i)) ? m : NULL;
}

static void
dispatch(PGresult *res, int i, struct link *m)
{
	const char *id = PQgetvalue(res, i, 0);
	int max_parts = PQgetisnull(res, i, 4) ? 0 : atoi(PQgetvalue(res, i, 4));
	const char *more = PQgetisnull(res, i, 5) ? NULL : PQgetvalue(res, i, 5);

	/* Issue 16: an API send's flash and validity (columns 9, 10). */
	int flash = strcmp(PQgetvalue(res, i, 9), "t") == 0;
	int validity = PQgetisnull(res, i, 10) ? 0 : atoi(PQgetvalue(res, i, 10));

	/* Column 11: the claim's id, which its outcome names. */
	const char *claim = PQnfields(res) > 11 ? PQgetvalue(res, i, 11) : "";

	/* A fan-out copy capped for GSM-7 (column 3, its class): the UCS-2
	 * cap too, for a bind whose Latin-1 alphabet makes it UCS-2. */
	int max_ucs2 = atoi(PQgetvalue(res, i, 3)) == 2 &&
	    max_parts == env.conf.fanout_parts_gsm ? env.conf.fanout_parts_ucs2 : 0;

	if (m == NULL || supervisor_send(m, strtoll(id, NULL, 10), claim,
	    PQgetvalue(res, i, 1), PQgetvalue(res, i, 2), max_parts, max_ucs2, more,
	    flash, validity) == -1) {
		/* No link can take it after all: put it back. */
		outcomes_push(claim_set(json_pack("{s:I, s:s, s:s}", "id",
		    (json_int_t)strtoll(id, NULL, 10), "link", m ? m->name : "",
		    "outcome", "released"), claim), NULL);
		return;
	}
	log_debug("outbox %s: to %s via %s (attempt %s)", id, PQgetvalue(res, i, 1),
	    m->name, PQgetvalue(res, i, 7));
}

static void
claimed(PGresult *res, void *arg)
{
	int asked = (int)(intptr_t)arg;
	int64_t now = pigeon_now_ms();
	char *done;
	int n;

	claiming = 0;
	if (joblog_result(&claim_log, res) == -1)
		return;
	n = PQntuples(res);
	if (n < asked)
		caught_up++;
	if ((done = calloc(n > 0 ? n : 1, 1)) == NULL)
		return;
	/* Replies by the link their command came in on, then rows with an
	 * idle routed modem, so that others do not take them. */
	for (int i = 0; i < n; i++) {
		struct link *m = came_in_link(res, i, now);
		if (m != NULL) {
			dispatch(res, i, m);
			done[i] = 1;
		}
	}
	for (int i = 0; i < n; i++) {
		if (done[i])
			continue;
		struct link *m = pick_link(PQgetvalue(res, i, 1),
		    PQgetvalue(res, i, 6), refused_by(res, i), 1, now,
		    PQgetvalue(res, i, 8));
		if (m != NULL && !failed_on(m, PQgetvalue(res, i, 6))) {
			dispatch(res, i, m);
			done[i] = 1;
		}
	}
	for (int i = 0; i < n; i++)
		if (!done[i])
			dispatch(res, i, pick_link(PQgetvalue(res, i, 1),
			    PQgetvalue(res, i, 6), refused_by(res, i), 0, now,
			    PQgetvalue(res, i, 8)));
	free(done);
	if (n == asked || again) {
		again = 0;
		scheduler_kick();
	}
}

void
scheduler_kick(void)
{
	char n[16], lease[16];
	int idle;

	if (claiming) {
		again = 1;
		return;
	}
	if (env.draining || !store_is_up(env.store))
		return;
	if ((idle = able_slots()) == 0) {
		if (!scheduler_busy())	/* nothing in flight or unrecorded */
			caught_up++;
		return;
	}
	snprintf(n, sizeof(n), "%d", idle);
	snprintf(lease, sizeof(lease), "%d", env.conf.lease_seconds);
	/* The links that can send now: a row with via waits for its own. */
	char links[4096];
	size_t len = (size_t)snprintf(links, sizeof(links), "{");
	int64_t now = pigeon_now_ms();
	struct link *l;
	TAILQ_FOREACH(l, &env.links, entry)
		if (able(l, now) && strpbrk(l->name, "\"\\{},") == NULL &&
		    len + strlen(l->name) + 4 < sizeof(links))
			len += (size_t)snprintf(links + len, sizeof(links) - len, "%s\"%s\"",
			    len > 1 ? "," : "", l->name);
	snprintf(links + len, sizeof(links) - len, "}");
	const char *params[] = { env.conf.hostname, n, lease, links };
	if (store_query(env.store, "SELECT * FROM pigeon_outbox_claim($1, $2, $3, $4)",
	    4, params, claimed, (void *)(intptr_t)idle) == 0)
		claiming = 1;
}

static int
json_id(json_t *msg, char *buf, size_t len)
{
	json_t *id = json_object_get(msg, "id");
	if (!json_is_integer(id))
		return -1;
	snprintf(buf, len, "%lld", (long long)json_integer_value(id));
	return 0;
}

/* The outbox id of a worker's outcome, checked against the link's sends
 * in flight by link.c; -1 when it was not given one. */
static int
outcome_event(struct link *l, json_t *msg, struct link_ev *ev, char *id, size_t idlen,
    char *claim, size_t claimlen)
{
	struct link_send send;

	if (json_id(msg, id, idlen) == -1) {
		log_warnx("modem %s: outcome without an id, ignored", l->name);
		return -1;
	}
	ev->id = strtoll(id, NULL, 10);
	ev->done = &send;
	if (link_step(l, ev) == -1) {
		log_warnx("modem %s: outcome for a send it was not given (%s), ignored",
		    l->name, id);
		return -1;
	}
	snprintf(claim, claimlen, "%s", send.claim);
	return 0;
}

/* msg: the worker's send_failed, for an SMPP link's flags and the parts
 * that went out before the error (may be NULL). */
static void
record_failure(int64_t id, const char *claim, struct link *m, const char *err,
    int temporary, json_t *msg)
{
	json_t *o = claim_set(json_pack("{s:I, s:s, s:s, s:s, s:b}", "id", (json_int_t)id,
	    "link", m->name, "outcome", "failed", "error", err, "temporary", temporary),
	    claim);

	if (o != NULL && msg != NULL) {
		json_object_set_new(o, "throttled",
		    json_boolean(json_is_true(json_object_get(msg, "throttled"))));
		json_object_set_new(o, "maybe_sent",
		    json_boolean(json_is_true(json_object_get(msg, "maybe_sent"))));
		/* Never submitted (a bind's session ended first): back in the
		 * queue, its attempt given back (pigeon_outbox_unsent). */
		if (temporary && json_is_true(json_object_get(msg, "not_sent")))
			json_object_set_new(o, "not_sent", json_true());
		/* Refused on this link alone: another link tries it, if any
		 * is left (pigeon_outbox_refused). */
		if (!temporary && json_is_true(json_object_get(msg, "link_refused")))
			json_object_set_new(o, "link_refused", json_true());
		/* Billed by the carrier: counted on the link's day. */
		json_int_t gone = json_integer_value(json_object_get(msg, "parts_sent"));
		if (gone > 0)
			json_object_set_new(o, "parts_sent", json_integer(gone));
	}
	outcomes_push(o, m);
}

/*
 * Parts a link sent, counted here between two reads of the budgets, so
 * that one host stops exactly at it; the reads bring in the other hosts'
 * sends. Said once, when it runs out: a bind's window still in flight
 * then brings more outcomes, each said it again.
 */
static void
budget_spend(struct link *m, json_int_t parts)
{
	if (m->budget_left <= 0 || parts <= 0)
		return;
	m->budget_left = parts < m->budget_left ? m->budget_left - parts : 0;
	if (m->budget_left == 0)
		log_warnx("modem %s: its daily budget (link_budget_day) is "
		    "spent; no more sends today", m->name);
}

void
scheduler_sent(struct link *m, json_t *msg)
{
	struct link_ev ev = { .type = LEV_SENT };
	char id[32], claim[sizeof(((struct link_send *)0)->claim)];
	json_t *refs = json_object_get(msg, "refs");
	json_int_t parts = json_integer_value(json_object_get(msg, "parts"));
	/* long = payload: one submit_sm, billed as the text's SMS parts. */
	json_int_t segs = json_integer_value(json_object_get(msg, "segments"));
	json_t *o;

	if (outcome_event(m, msg, &ev, id, sizeof(id), claim, sizeof(claim)) == -1)
		return;
	/* A modem's references are integers, an SMSC's message ids strings. */
	o = claim_set(json_pack("{s:I, s:s, s:s, s:I, s:b}", "id", (json_int_t)ev.id,
	    "link", m->name, "outcome", "sent", "parts", parts,
	    "report", m->conf->report), claim);
	if (o != NULL && json_is_array(refs))
		json_object_set(o, m->kind == LINK_SMPP ? "ids" : "refs", refs);
	if (o != NULL && segs > parts)
		json_object_set_new(o, "segments", json_integer(segs));
	else
		segs = parts;
	if (m->kind == LINK_SMPP)
		log_debug("outbox %s: sent via %s in %lld part(s)", id, m->name,
		    (long long)parts);
	else
		log_info("outbox %s: sent via %s in %lld part(s)", id, m->name,
		    (long long)parts);
	ratelimit_record_parts(&m->rate, pigeon_now_ms(), (int)parts);
	m->sms_sent++;
	budget_spend(m, segs);
	outcomes_push(o, m);
	scheduler_kick();
}

void
scheduler_send_failed(struct link *m, json_t *msg)
{
	char id[32], claim[sizeof(((struct link_send *)0)->claim)];
	const char *err = json_string_value(json_object_get(msg, "error"));
	int temporary = json_is_true(json_object_get(msg, "temporary"));
	int not_sent = temporary && json_is_true(json_object_get(msg, "not_sent"));
	struct link_ev ev = { .type = LEV_SEND_FAILED, .temporary = temporary,
	    .throttled = json_is_true(json_object_get(msg, "throttled")),
	    .link_lost = not_sent || json_is_true(json_object_get(msg, "link_lost")),
	    .link_refused = !temporary &&
	        json_is_true(json_object_get(msg, "link_refused")),
	    .bind_refused = !temporary &&
	        json_is_true(json_object_get(msg, "bind_refused")),
	    .reason = err ? err : "send failed" };

	if (outcome_event(m, msg, &ev, id, sizeof(id), claim, sizeof(claim)) == -1)
		return;
	record_failure(ev.id, claim, m, err ? err : "send failed", temporary, msg);
	if (not_sent) {
		log_debug("outbox %s: not sent by %s (%s); back in the queue", id,
		    m->name, err ? err : "no reason given");
		scheduler_kick();
		return;
	}
	if (json_is_true(json_object_get(msg, "throttled")))
		log_debug("outbox %s: throttled by %s; back in the queue", id, m->name);
	else if (ev.link_refused)
		log_warnx("outbox %s: refused by %s (another link may send it): %s",
		    id, m->name, err ? err : "no reason given");
	else
		log_warnx("outbox %s: %s failure via %s: %s", id,
		    temporary ? "temporary" : "permanent", m->name,
		    err ? err : "no reason given");
	/* Parts that went out count against the modem's limits and its
	 * budget of the day (pigeon_outbox_outcomes counts them there). */
	json_int_t gone = json_integer_value(json_object_get(msg, "parts_sent"));
	if (gone > 0) {
		ratelimit_record_parts(&m->rate, pigeon_now_ms(), (int)gone);
		budget_spend(m, gone);
	}
	m->sms_failed++;
	scheduler_kick();
}

/*
 * The process died with a send in flight: the SMS may or may not have left.
 * Sending again can duplicate it; not sending can lose it. We send again.
 */
void
scheduler_link_lost(struct link *m, const struct link_send *send, const char *why)
{
	char id[32], reason[200];

	snprintf(id, sizeof(id), "%lld", (long long)send->id);
	snprintf(reason, sizeof(reason), "modem %s: %s during the send", m->name, why);
	log_warnx("outbox %s: %s; it will be sent again", id, reason);
	/* It may have gone out: count it against the modem's limits, and
	 * as a possible duplicate (counter maybe_duplicated), as a bind's
	 * submit whose answer never came. */
	ratelimit_record(&m->rate, pigeon_now_ms());
	json_t *flags = json_pack("{s:b}", "maybe_sent", 1);
	record_failure(send->id, send->claim, m, reason, 1, flags);
	json_decref(flags);
}

static void
reclaimed(PGresult *res, void *arg)
{
	if (joblog_result(&reclaim_log, res) == 0 && PQntuples(res) > 0 && atoi(PQgetvalue(res, 0, 0)) > 0)
		log_info("outbox: %s message(s) back in the queue", PQgetvalue(res, 0, 0));
}

static void
expired(PGresult *res, void *arg)
{
	if (joblog_result(&expire_log, res) == 0 && PQntuples(res) > 0 && atoi(PQgetvalue(res, 0, 0)) > 0)
		log_info("outbox: %s message(s) expired unsent", PQgetvalue(res, 0, 0));
}

/* Janitor job: retries come due between NOTIFYs. */
static void
scheduler_tick(void)
{
	if (!store_is_up(env.store))
		return;
	if (first_up && hostlock_host_held()) {
		/* What this host was sending when it stopped goes back at once:
		 * only once it holds its host name's lock, else the sends in
		 * flight of another live pigeond with the same name would go
		 * out twice (hostlock.c). */
		const char *params[] = { env.conf.hostname };
		first_up = 0;
		store_query(env.store, "SELECT pigeon_outbox_reclaim_host($1)", 1,
		    params, reclaimed, NULL);
	}
	scheduler_kick();
}

/* Janitor job: leases of hosts that died, messages past their validity. */
static void
scheduler_reclaim(void)
{
	char validity[16];

	if (!store_is_up(env.store))
		return;
	snprintf(validity, sizeof(validity), "%d", env.conf.validity);
	const char *params[] = { validity };
	/* Not while the database refuses outcomes of ours (outcomes.c):
	 * their rows' leases may have run out meanwhile, and returned
	 * before the outcome `sent` is recorded, they went out again. */
	if (!outcomes_refused())
		store_query(env.store, "SELECT pigeon_outbox_reclaim()", 0, NULL,
		    reclaimed, NULL);
	store_query(env.store, "SELECT pigeon_outbox_expire($1)", 1, params,
	    expired, NULL);
}

int
scheduler_init(void)
{
	if (janitor_add("scheduler: due retries", TICK_MS, scheduler_tick) == -1 ||
	    (env.conf.link_budget_day > 0 && janitor_add("scheduler: links' daily budgets",
	    BUDGET_MS, scheduler_budgets) == -1) ||
	    janitor_add("scheduler: expired leases and validity", RECLAIM_MS,
	    scheduler_reclaim) == -1)
		return -1;
	return 0;
}

/* The database came up: what this host was sending, then a claim. */
void
scheduler_db_up(void)
{
	outcomes_connect();
	scheduler_budgets();
	scheduler_tick();
}

void
scheduler_free(void)
{
	outcomes_free();
}

unsigned long
scheduler_caught_up(void)
{
	return caught_up;
}

int
scheduler_busy(void)
{
	return link_sending() || claiming || outcomes_busy();
}

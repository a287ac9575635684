/*
 * commands.c: whole inbox messages to commands. Each message is parsed
 * here (parse.c) and applied by one call of pigeon_apply (db/functions/),
 * which marks it done, does the command and queues its reply in one
 * transaction: a message is applied at most once, even across crashes and
 * several hosts. A fetch of several messages goes in one call of
 * pigeon_apply_batch (one round trip, one commit); if that fails, each is
 * applied by itself, one after the other in the inbox's order, and a
 * transient error stops the rest: they are fetched again, in that order, a
 * second later. One phone's commands are applied in the order it sent
 * them ("FOLLOW bob" then "OFF bob" went the other way round when the
 * FOLLOW hit a deadlock, and the phone got bob's updates after all). A
 * fetch takes the senders in turn (pigeon_inbox_fetch), so one phone's
 * flood does not hold the others' commands behind it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <jansson.h>

#include "joblog.h"
#include "log.h"
#include "parse.h"
#include "pigeond.h"
#include "store.h"

#define FETCH_MAX	250	/* one apply transaction (one WAL flush) each */
#define EXPIRE_MS	30000	/* overdue parts and held updates, this often */
#define RETRY_MS	1000	/* messages left by a transient error, again */
#define STUCK_MAX	5	/* a message's own transient failures in a row */

static int fetching;		/* the SELECT of new messages is in flight */
static int outstanding;		/* pigeon_apply calls in flight */
static int again;		/* new messages may have come meanwhile */
static struct event *ev_retry;	/* fetches after a transient error */
static long stuck_id;		/* the message whose failures stuck_n counts */
static int stuck_n;

/* A call of pigeon_apply or pigeon_apply_batch came back (res NULL: lost). */
static void
apply_finished(PGresult *res)
{
	outstanding--;
	if (res == NULL)
		again = 1;	/* still 'new' unless it committed; fetched again */
	if (outstanding == 0 && !fetching) {
		/* After a transient error the retry timer fetches, a second
		 * later, not this at once (a database short of resources
		 * would be asked again and again). */
		if (again && res != NULL &&
		    (ev_retry == NULL || !evtimer_pending(ev_retry, NULL))) {
			again = 0;
			commands_kick();
		} else if (env.draining) {
			pigeond_check_drained();
		}
	}
}

/* A deadlock, a serialization failure, a server short of resources or
 * shutting down: the message itself is not at fault. */
static int
error_transient(const PGresult *res)
{
	const char *st = PQresultErrorField(res, PG_DIAG_SQLSTATE);

	return st != NULL && (strncmp(st, "40", 2) == 0 || strncmp(st, "53", 2) == 0 ||
	    strncmp(st, "57", 2) == 0 || strncmp(st, "08", 2) == 0);
}

static void
marked_failed(PGresult *res, void *arg)
{
	if (res != NULL && !store_ok(res))
		log_warnx("inbox: cannot mark a message as failed: %s", store_error(res));
}

/* A statement cancelled (statement_timeout, 57014), a deadlock or a
 * serialization failure (40): errors of the message's own statement, which
 * may come again each time (a fan-out too big for a timeout). The others
 * (a server short of resources or shutting down, a lost connection) are
 * the database's, and every message waits them out. */
static int
error_own(const PGresult *res)
{
	const char *st = PQresultErrorField(res, PG_DIAG_SQLSTATE);

	return st != NULL && (strcmp(st, "57014") == 0 || strncmp(st, "40", 2) == 0);
}

static void
retry_on_timer(evutil_socket_t fd, short what, void *arg)
{
	commands_kick();
}

static void
retry_later(void)
{
	struct timeval tv = { RETRY_MS / 1000, (RETRY_MS % 1000) * 1000 };

	if (ev_retry != NULL && !evtimer_pending(ev_retry, NULL))
		evtimer_add(ev_retry, &tv);
}

/*
 * The answer to one message's pigeon_apply. Returns 1 when the message is
 * left 'new' (a transient error, or the connection lost): the messages
 * after it wait, and are fetched again with it, in their order, when the
 * connection is back (commands_db_up) or a second later. A message whose
 * own statement fails so STUCK_MAX times in a row is kept as an error
 * instead: it held every message behind it.
 */
static int
applied_one(PGresult *res, long id)
{
	char why[64] = "";

	if (res == NULL)
		return 1;
	if (!store_ok(res) && error_transient(res)) {
		if (error_own(res) && id == stuck_id)
			stuck_n++;
		else if (error_own(res)) {
			stuck_id = id;
			stuck_n = 1;
		}
		if (!error_own(res) || stuck_n < STUCK_MAX) {
			log_warnx("inbox %ld: cannot apply now: %s", id, store_error(res));
			retry_later();
			return 1;
		}
		snprintf(why, sizeof(why), "failed %d times in a row: ", stuck_n);
	}
	if (!store_ok(res)) {
		/* It fails by itself: kept as 'error' and skipped, not fetched
		 * again and again. */
		char ids[32], *err = NULL;
		if (asprintf(&err, "%s%s", why, store_error(res)) == -1)
			err = NULL;
		snprintf(ids, sizeof(ids), "%ld", id);
		const char *params[] = { ids, err ? err : store_error(res) };
		log_warnx("inbox %ld: cannot apply, kept as an error: %s", id, params[1]);
		store_query(env.store, "SELECT pigeon_inbox_failed($1, $2)", 2, params,
		    marked_failed, NULL);
		free(err);
	} else if (!PQgetisnull(res, 0, 0)) {
		log_info("inbox %ld: %s", id, PQgetvalue(res, 0, 0));
	}
	return 0;
}

static void
applied(PGresult *res, void *arg)
{
	applied_one(res, (long)(intptr_t)arg);
	apply_finished(res);
}

/*
 * Whether libgammu sends text as UCS-2 (else GSM-7): the fan-out of a post
 * takes the matching cap on parts. Only the text decides, the "@handle: "
 * before it is ASCII.
 */
static int
text_needs_ucs2(const char *text, size_t len)
{
	int parts;
	return smstext_encode(text, len, &parts);
}

/* JOIN stop, JOIN help, JOIN f: a handle that is a keyword by itself would
 * make "FOLLOW stop" and the like ambiguous, and nobody could D it. */
static int
handle_reserved(const char *handle)
{
	struct command c;

	command_parse(handle, strlen(handle), &c);
	return c.type != CMD_POST;
}

/* The parsed command as pigeon_apply takes it (db/functions/30_commands.sql). */
static char *
command_json(const struct command *cmd, const char *raw)
{
	json_t *o = json_object();
	const char *err = command_error_name(cmd->error);
	char *s;

	if (cmd->type == CMD_JOIN && cmd->error == CMDERR_NONE &&
	    handle_reserved(cmd->handle))
		err = "reserved";
	/* "JOIN please", "tsejjel 3afak": a polite JOIN without a name made
	 * @please for good; it gets JOIN's usage (pigeon_apply). */
	else if (cmd->type == CMD_JOIN && cmd->error == CMDERR_NONE &&
	    handle_filler(cmd->handle, strlen(cmd->handle)))
		err = "filler";
	json_object_set_new(o, "cmd", json_string(command_name(cmd->type)));
	json_object_set_new(o, "err", json_string(err));
	json_object_set_new(o, "handle", json_string(cmd->handle));
	if (cmd->text != NULL)
		json_object_set_new(o, "text", json_stringn(cmd->text, cmd->textlen));
	if (cmd->keyword_lang != NULL)
		json_object_set_new(o, "keyword_lang", json_string(cmd->keyword_lang));
	if (cmd->loose)
		json_object_set_new(o, "loose", json_true());
	if (cmd->at)	/* "OFF @bobb": a handle was meant, never a post */
		json_object_set_new(o, "at", json_true());
	if (cmd->join_words)	/* a stranger's "JOIN karim ali": JOIN's usage */
		json_object_set_new(o, "join_words", json_true());
	if (cmd->nlist > 0) {	/* "FOLLOW karim, nadia": its handles */
		json_t *l = json_array();
		int i;

		for (i = 0; i < cmd->nlist; i++)
			json_array_append_new(l, json_string(cmd->list[i]));
		json_object_set_new(o, "list", l);
	}
	if (cmd->type == CMD_LANG && cmd->error == CMDERR_NONE)
		json_object_set_new(o, "lang", json_string(cmd->lang));
	if (cmd->type == CMD_TRACK && cmd->digest) {
		json_object_set_new(o, "digest", json_true());
		if (cmd->digest_hour >= 0)
			json_object_set_new(o, "hour", json_integer(cmd->digest_hour));
	}
	if (cmd->type == CMD_SLEEP && cmd->error == CMDERR_NONE) {
		json_object_set_new(o, "from", json_integer(cmd->sleep_from));
		json_object_set_new(o, "to", json_integer(cmd->sleep_to));
	}
	/* A post's fan-out takes the cap of its coding; ON/OFF or a loose
	 * keyword ("tbe3 lmatch") with a word nobody is called, or a list of
	 * such words ("Follow us, friends"), becomes a post of the whole
	 * message (without it, a GSM-7 post got the UCS-2
	 * cap on parts). */
	if (cmd->type == CMD_POST && cmd->text != NULL)
		json_object_set_new(o, "ucs2",
		    json_boolean(text_needs_ucs2(cmd->text, cmd->textlen)));
	else if (cmd->type == CMD_ON || cmd->type == CMD_OFF || cmd->loose ||
	    cmd->nlist > 0)
		json_object_set_new(o, "ucs2",
		    json_boolean(text_needs_ucs2(raw, strlen(raw))));
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

/* Queues pigeon_apply for one message: 0, -1 when the store refused it
 * (the database is down), -2 when the command cannot be encoded. */
static int
apply_send(const char *id, const char *text, store_result_cb cb, void *arg)
{
	struct command cmd;
	char *js;
	int rc;

	command_parse(text, strlen(text), &cmd);
	/* The database gives valid UTF-8 and jansson takes only that; a
	 * string it refuses is dropped from the object, never sent broken. */
	if ((js = command_json(&cmd, text)) == NULL) {
		log_warnx("inbox %s: cannot encode the command", id);
		return -2;
	}
	const char *params[] = { id, js };
	rc = store_query(env.store, "SELECT pigeon_apply($1, $2::jsonb)", 2,
	    params, cb, arg) == 0 ? 0 : -1;
	free(js);
	return rc;
}

static void
apply_one(const char *id, const char *text)
{
	int rc = apply_send(id, text, applied,
	    (void *)(intptr_t)strtol(id, NULL, 10));

	if (rc == 0)
		outstanding++;
	else if (rc == -1)
		again = 1;
}

/* A fetch's messages applied in one call of pigeon_apply_batch. */
struct batch {
	int	 n;
	int	 next;		/* applied one by one: the one in flight */
	char	*ids[FETCH_MAX];
	char	*texts[FETCH_MAX];
};

static void
batch_free(struct batch *b)
{
	for (int i = 0; i < b->n; i++) {
		free(b->ids[i]);
		free(b->texts[i]);
	}
	free(b);
}

static void applied_chained(PGresult *, void *);

/* The batch's message b->next, or the first after it that can be sent;
 * -1 when none is in flight (all done, or the database is down). */
static int
chain_send(struct batch *b)
{
	for (; b->next < b->n; b->next++) {
		int rc = apply_send(b->ids[b->next], b->texts[b->next],
		    applied_chained, b);
		if (rc == 0)
			return 0;
		if (rc == -1) {
			again = 1;
			return -1;
		}
	}
	return -1;
}

/* One message of a failed batch came back: the next one goes, unless
 * this one was left 'new' (see applied_one). One 'outstanding' for the
 * whole chain, as for the batch it replaces. */
static void
applied_chained(PGresult *res, void *arg)
{
	struct batch *b = arg;

	if (applied_one(res, strtol(b->ids[b->next], NULL, 10)) == 0) {
		b->next++;
		if (chain_send(b) == 0)
			return;
	}
	batch_free(b);
	apply_finished(res);
}

static void
applied_batch(PGresult *res, void *arg)
{
	struct batch *b = arg;

	if (res != NULL && !store_ok(res)) {
		/* Rolled back as a whole: apply them one by one, so the
		 * message at fault fails alone, as it always did, each
		 * after the one before it has come back. */
		log_debug("inbox: batch of %d failed (%s); one at a time",
		    b->n, store_error(res));
		b->next = 0;
		if (chain_send(b) == 0)
			return;
	} else if (res != NULL) {
		for (int i = 0; i < PQntuples(res); i++)
			if (!PQgetisnull(res, i, 1))
				log_info("inbox %s: %s", PQgetvalue(res, i, 0),
				    PQgetvalue(res, i, 1));
	}
	batch_free(b);
	apply_finished(res);
}

/* Appends s to the growing string *buf (of *len bytes used, *cap size). */
static int
buf_add(char **buf, size_t *len, size_t *cap, const char *s)
{
	size_t l = strlen(s);

	if (*len + l + 1 > *cap) {
		size_t ncap = (*cap + l + 1) * 2;
		char *nb = realloc(*buf, ncap);
		if (nb == NULL)
			return -1;
		*buf = nb;
		*cap = ncap;
	}
	memcpy(*buf + *len, s, l + 1);
	*len += l;
	return 0;
}

/* Several messages: one statement, one transaction. */
static void
apply_batch(PGresult *res, int n)
{
	struct batch *b = calloc(1, sizeof(*b));
	char *buf = NULL, head[48];
	size_t len = 0, cap = 0;
	int ok = b != NULL && buf_add(&buf, &len, &cap, "[") == 0;

	for (int i = 0; ok && i < n; i++) {
		const char *id = PQgetvalue(res, i, 0), *text = PQgetvalue(res, i, 1);
		struct command cmd;
		char *js;

		command_parse(text, strlen(text), &cmd);
		if ((js = command_json(&cmd, text)) == NULL) {
			log_warnx("inbox %s: cannot encode the command", id);
			continue;
		}
		snprintf(head, sizeof(head), "%s{\"id\":%lld,\"cmd\":",
		    b->n > 0 ? "," : "", strtoll(id, NULL, 10));
		b->ids[b->n] = strdup(id);
		b->texts[b->n] = strdup(text);
		ok = b->ids[b->n] != NULL && b->texts[b->n] != NULL;
		b->n++;
		ok = ok && buf_add(&buf, &len, &cap, head) == 0 &&
		    buf_add(&buf, &len, &cap, js) == 0 &&
		    buf_add(&buf, &len, &cap, "}") == 0;
		free(js);
	}
	ok = ok && buf_add(&buf, &len, &cap, "]") == 0;
	if (ok && b->n > 0) {
		const char *params[] = { buf };
		if (store_query(env.store,
		    "SELECT id, result FROM pigeon_apply_batch($1::jsonb)", 1,
		    params, applied_batch, b) == 0) {
			outstanding++;
			b = NULL;
		} else {
			again = 1;
		}
	} else if (!ok) {
		/* Out of memory: the old way, message by message. */
		for (int i = 0; i < n; i++)
			apply_one(PQgetvalue(res, i, 0), PQgetvalue(res, i, 1));
	}
	free(buf);
	if (b != NULL)
		batch_free(b);
}

static void
fetched(PGresult *res, void *arg)
{
	int n;

	fetching = 0;
	if (res == NULL)
		return;		/* the database is back later; it kicks us */
	if (!store_ok(res)) {
		log_warnx("inbox: cannot read new messages: %s", store_error(res));
		if (error_transient(res))
			retry_later();
		return;
	}
	n = PQntuples(res);
	/* A fetch takes a share of each sender's messages, so fewer than
	 * FETCH_MAX does not mean that none are left: one more fetch after
	 * these finds out. */
	if (n > 0)
		again = 1;
	if (n > 1)
		apply_batch(res, n);
	else if (n == 1)
		apply_one(PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1));
	if (n == 0 && again) {
		again = 0;
		commands_kick();
	} else if (n == 0 && env.draining) {
		pigeond_check_drained();
	}
}

void
commands_kick(void)
{
	char limit[16];
	const char *params[] = { limit };

	if (fetching || outstanding) {
		again = 1;
		return;
	}
	if (!store_is_up(env.store))
		return;
	again = 0;
	snprintf(limit, sizeof(limit), "%d", FETCH_MAX);
	if (store_query(env.store, "SELECT id, text FROM pigeon_inbox_fetch($1)", 1,
	    params, fetched, NULL) == 0)
		fetching = 1;
}

static void
expired(PGresult *res, void *arg)
{
	static struct joblog join_log = JOBLOG_INIT("inbox: joining overdue parts");

	if (joblog_result(&join_log, res) == -1)
		return;
	if (atoi(PQgetvalue(res, 0, 0)) > 0) {
		log_info("inbox: %s incomplete SMS processed after %d s",
		    PQgetvalue(res, 0, 0), env.conf.concat_timeout);
		commands_kick();
	}
}

static void
held_expired(PGresult *res, void *arg)
{
	static struct joblog held_log = JOBLOG_INIT("outbox: expiring held updates");

	if (joblog_result(&held_log, res) == -1)
		return;
	if (atoi(PQgetvalue(res, 0, 0)) > 0)
		log_info("outbox: %s update(s) held for quiet hours too long, "
		    "dropped", PQgetvalue(res, 0, 0));
}

/* Janitor job: incomplete concatenated SMS whose time is up, and updates
 * held for quiet hours longer than hold_max_age. */
static void
commands_expire(void)
{
	char timeout[16];
	snprintf(timeout, sizeof(timeout), "%d", env.conf.concat_timeout);
	const char *params[] = { timeout };
	if (!store_is_up(env.store))
		return;
	store_query(env.store, "SELECT pigeon_inbox_expire($1)", 1, params,
	    expired, NULL);
	store_query(env.store, "SELECT pigeon_hold_expire()", 0, NULL,
	    held_expired, NULL);
}

static void
settings_loaded(PGresult *res, void *arg)
{
	if (res != NULL && !store_ok(res))
		log_warnx("settings: not loaded (timezone \"%s\"?): %s",
		    env.conf.timezone, store_error(res));
	/* The fan-out's own connection waited for them (on a new database
	 * its first step failed "setting fanout_chunk is not loaded"); an
	 * answer that refused them leaves the ones before, if any. */
	if (res != NULL && !env.settings_sent) {
		env.settings_sent = 1;
		fanout_kick();
	}
}

static void
started(PGresult *res, void *arg)
{
	if (res != NULL && !store_ok(res))
		log_warnx("held updates: %s", store_error(res));
	else if (res != NULL)
		log_info("held updates: %s", PQgetvalue(res, 0, 0));
}

/*
 * The database came up: write the [pigeon] keys the SQL functions use,
 * re-time the updates held for quiet hours (the time zone may have
 * changed), then apply what is waiting. The store runs queries in order,
 * so every pigeon_apply sees these settings.
 */
void
commands_db_up(void)
{
	json_t *o = json_pack("{s:s, s:i, s:s, s:i, s:i, s:i, s:i, s:i, s:i, "
	    "s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i}",
	    "language", env.conf.language, "post_max", env.conf.post_max,
	    "timezone", env.conf.timezone,
	    "fanout_parts_gsm", env.conf.fanout_parts_gsm,
	    "fanout_parts_ucs2", env.conf.fanout_parts_ucs2,
	    "fanout_chunk", env.conf.fanout_chunk,
	    "reply_parts", env.conf.reply_parts,
	    "limit_minute", env.conf.limit_minute,
	    "limit_day", env.conf.limit_day,
	    "reply_cap_hour", env.conf.reply_cap_hour,
	    "reply_cap_day", env.conf.reply_cap_day,
	    "hold_max_age", env.conf.hold_max_age,
	    "track_max", env.conf.track_max,
	    "track_day", env.conf.track_day,
	    "recipient_day", env.conf.recipient_day,
	    "loop_rounds", env.conf.loop_rounds,
	    "loop_window", env.conf.loop_window,
	    "repeat_window", env.conf.repeat_window,
	    "link_budget_day", env.conf.link_budget_day);
	char *js = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	if (js != NULL) {
		const char *params[] = { js };
		store_query(env.store, "SELECT pigeon_settings_load($1::jsonb)",
		    1, params, settings_loaded, NULL);
		free(js);
	}
	store_query(env.store, "SELECT pigeon_start()", 0, NULL, started, NULL);
	commands_kick();
}

int
commands_init(void)
{
	if ((ev_retry = evtimer_new(env.base, retry_on_timer, NULL)) == NULL)
		return -1;
	return janitor_add("commands: overdue parts and held updates",
	    EXPIRE_MS, commands_expire);
}

void
commands_free(void)
{
	if (ev_retry != NULL) {
		event_free(ev_retry);
		ev_retry = NULL;
	}
}

int
commands_busy(void)
{
	return fetching || outstanding;
}

/*
 * commands.c: whole inbox messages to commands. Each message is parsed
 * here (parse.c) and applied by one call of pigeon_apply (db/functions/),
 * which marks it done, does the command and queues its reply in one
 * transaction: a message is applied at most once, even across crashes and
 * several hosts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "parse.h"
#include "pigeond.h"
#include "store.h"

#define FETCH_MAX	100

static int fetching;		/* the SELECT of new messages is in flight */
static int outstanding;		/* pigeon_apply calls in flight */
static int again;		/* new messages may have come meanwhile */

static const char *
cmd_sql_name(enum cmd_type t)
{
	switch (t) {
	case CMD_POST:		return "post";
	case CMD_JOIN:		return "join";
	case CMD_FOLLOW:	return "follow";
	case CMD_LEAVE:		return "leave";
	case CMD_ON:		return "on";
	case CMD_OFF:		return "off";
	case CMD_STOP:		return "stop";
	case CMD_START:		return "start";
	case CMD_HELP:		return "help";
	case CMD_DM:		return "dm";
	case CMD_GET:		return "get";
	case CMD_WHOIS:		return "whois";
	case CMD_STATS:		return "stats";
	case CMD_NAME:		return "name";
	case CMD_BIO:		return "bio";
	case CMD_LANG:		return "lang";
	case CMD_SLEEP:		return "sleep";
	case CMD_DELETE:	return "delete";
	}
	return "post";
}

static const char *
err_sql_name(enum cmd_error e)
{
	switch (e) {
	case CMDERR_NONE:	 return "";
	case CMDERR_MISSING_ARG: return "missing argument";
	case CMDERR_BAD_HANDLE:	 return "bad handle";
	case CMDERR_BAD_LANG:	 return "bad language";
	case CMDERR_BAD_HOURS:	 return "bad hours";
	case CMDERR_EMPTY:	 return "empty";
	}
	return "error";
}

static void
applied(PGresult *res, void *arg)
{
	intptr_t id = (intptr_t)arg;

	outstanding--;
	if (res == NULL) {
		again = 1;	/* still 'new' unless it committed; fetched again */
	} else if (!store_ok(res)) {
		log_warnx("inbox %ld: cannot apply: %s", (long)id, store_error(res));
	} else if (!PQgetisnull(res, 0, 0)) {
		log_info("inbox %ld: %s", (long)id, PQgetvalue(res, 0, 0));
	}
	if (outstanding == 0 && !fetching) {
		if (again && res != NULL) {
			again = 0;
			commands_kick();
		} else if (env.draining) {
			pigeond_check_drained();
		}
	}
}

static void
apply_one(const char *id, const char *text)
{
	struct command cmd;
	char handle[sizeof(cmd.handle)];
	char *body = NULL;

	command_parse(text, strlen(text), &cmd);
	snprintf(handle, sizeof(handle), "%s", cmd.handle);
	if (cmd.text != NULL)
		body = strndup(cmd.text, cmd.textlen);
	if (cmd.type == CMD_LANG && cmd.error == CMDERR_NONE) {
		free(body);
		body = strdup(cmd.lang);
	}
	char post_max[16];
	snprintf(post_max, sizeof(post_max), "%d", env.conf.post_max);
	const char *params[] = {
		id, cmd_sql_name(cmd.type), err_sql_name(cmd.error), handle,
		body ? body : "", cmd.keyword_lang ? cmd.keyword_lang : "",
		env.conf.language, post_max,
	};
	if (store_query(env.store,
	    "SELECT pigeon_apply($1, $2, $3, $4, $5, $6, $7, $8)", 8, params,
	    applied, (void *)(intptr_t)strtol(id, NULL, 10)) == 0)
		outstanding++;
	else
		again = 1;
	free(body);
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
		return;
	}
	n = PQntuples(res);
	if (n == FETCH_MAX)
		again = 1;
	for (int i = 0; i < n; i++)
		apply_one(PQgetvalue(res, i, 0), PQgetvalue(res, i, 1));
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
	static const char sql[] =
	    "SELECT id, text FROM inbox_messages WHERE state = 'new' "
	    "ORDER BY id LIMIT $1";
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
	if (store_query(env.store, sql, 1, params, fetched, NULL) == 0)
		fetching = 1;
}

static void
expired(PGresult *res, void *arg)
{
	if (res == NULL)
		return;
	if (!store_ok(res))
		log_warnx("inbox: joining overdue parts: %s", store_error(res));
	else if (atoi(PQgetvalue(res, 0, 0)) > 0) {
		log_info("inbox: %s incomplete SMS processed after %d s",
		    PQgetvalue(res, 0, 0), env.conf.concat_timeout);
		commands_kick();
	}
}

/* Called from a timer: incomplete concatenated SMS whose time is up. */
void
commands_expire(void)
{
	char timeout[16];
	snprintf(timeout, sizeof(timeout), "%d", env.conf.concat_timeout);
	const char *params[] = { timeout };
	if (store_is_up(env.store))
		store_query(env.store, "SELECT pigeon_inbox_expire($1)", 1, params,
		    expired, NULL);
}

int
commands_busy(void)
{
	return fetching || outstanding;
}

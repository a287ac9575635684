/*
 * confretention.c: the [retention] section, how many days each kind of
 * row is kept before the purge (retention.c) deletes it. Kept apart from
 * config.c, which is at its size limit; every key is a whole number of
 * days (0: kept for ever), so the section has its own small reader.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gammu.h>

#include "config.h"
#include "confscan.h"

#define R(f) offsetof(struct retention_conf, f)

static const struct {
	const char	*name;
	size_t		 offset;
	int		 def, min, max;
} retention_keys[] = {
	{ "inbox_days",		R(inbox_days),		90, 0, 36500 },
	{ "outbox_days",	R(outbox_days),		90, 0, 36500 },
	{ "status_reports_days", R(status_reports_days), 30, 0, 36500 },
	{ "webhooks_days",	R(webhooks_days),	30, 0, 36500 },
	{ "follow_events_days",	R(follow_events_days),	400, 0, 36500 },
	{ "modem_history_days",	R(modem_history_days),	90, 0, 36500 },
	{ "interval_seconds",	R(interval_seconds),	600, 1, 86400 },
	{ "batch",		R(batch),		1000, 10, 100000 },
};
#define NKEYS (sizeof(retention_keys) / sizeof(retention_keys[0]))

int
config_retention_apply(struct retention_conf *r, INI_Entry *entries, const char *path,
    const struct confscan *scan, char *err, size_t errlen)
{
	INI_Entry *e, *o;
	size_t i;

	for (i = 0; i < NKEYS; i++)
		*(int *)((char *)r + retention_keys[i].offset) = retention_keys[i].def;
	/* libgammu keeps entries last-first; walk from the tail for file order. */
	for (e = entries; e && e->Next; e = e->Next)
		;
	for (; e; e = e->Prev) {
		const char *name = (const char *)e->EntryName;
		const char *value = (const char *)e->EntryValue;
		const char *problem = NULL;
		char *end;
		long n = 0;

		for (i = 0; i < NKEYS; i++)
			if (strcasecmp(retention_keys[i].name, name) == 0)
				break;
		for (o = e->Prev; o; o = o->Prev)
			if (strcasecmp((const char *)o->EntryName, name) == 0)
				problem = "given twice";
		if (problem == NULL && i == NKEYS)
			problem = "unknown key";
		if (problem == NULL) {
			errno = 0;
			n = strtol(value, &end, 10);
			if (errno || end == value || *end != '\0' ||
			    n < retention_keys[i].min || n > retention_keys[i].max)
				problem = "not a whole number in range";
			/* Daily limits count the rows of the last day: keep two. */
			else if (strlen(name) > 5 &&
			    strcasecmp(name + strlen(name) - 5, "_days") == 0 && n == 1)
				problem = "1 day is too short (the daily limits count "
				    "the last day's rows): 0 (for ever) or 2 or more";
		}
		if (problem != NULL) {
			int line = confscan_line(scan, "retention", name);
			char where[32] = "";
			if (line > 0)
				snprintf(where, sizeof(where), ":%d", line);
			if (i < NKEYS && strcmp(problem, "not a whole number in range") == 0)
				snprintf(err, errlen, "%s%s: [retention] %s: '%s' is not a "
				    "number from %d to %d", path, where, name, value,
				    retention_keys[i].min, retention_keys[i].max);
			else
				snprintf(err, errlen, "%s%s: [retention] %s: %s", path, where,
				    name, problem);
			return -1;
		}
		*(int *)((char *)r + retention_keys[i].offset) = (int)n;
	}
	return 0;
}

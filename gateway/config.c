/*
 * config.c: one INI file, parsed by libgammu's INI reader so that a modem
 * section can be pasted from a working gammurc. Every key is a row of a
 * table below: name, type, where it goes, its default.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/stat.h>

#include <event2/http.h>
#include <gammu.h>

#include "config.h"
#include "proto.h"
#include "confscan.h"

enum key_type {
	KEY_STRING,
	KEY_INT,
	KEY_BOOL,
	KEY_LANG,
	KEY_DIGITS,
	KEY_ADDRESS,	/* host:port */
	KEY_LEVEL,	/* error, warning, info, debug */
	KEY_BIND,	/* transceiver, transmitter+receiver */
	KEY_LONG,	/* udh, payload */
	KEY_ALPHABET,	/* gsm, latin1 */
};

struct key_def {
	const char	*name;
	enum key_type	 type;
	size_t		 offset;
	const char	*def;		/* NULL: required */
	int		 min, max;	/* KEY_INT range */
};

#define P(f) offsetof(struct pigeon_conf, f)
#define M(f) offsetof(struct modem_conf, f)

static const struct key_def pigeon_keys[] = {
	{ "shortcode",		KEY_DIGITS,	P(shortcode),	"40404", 0, 0 },
	{ "country",		KEY_DIGITS,	P(country),	"212", 0, 0 },
	{ "language",		KEY_LANG,	P(language),	"fr", 0, 0 },
	{ "post_max",		KEY_INT,	P(post_max),	"140", 1, 1000 },
	{ "hostname",		KEY_STRING,	P(hostname),	"", 0, 0 },
	{ "modem_program",	KEY_STRING,	P(modem_program), "", 0, 0 },
	{ "smpp_program",	KEY_STRING,	P(smpp_program), "", 0, 0 },
	{ "lease_seconds",	KEY_INT,	P(lease_seconds), "120", 5, 86400 },
	{ "concat_timeout",	KEY_INT,	P(concat_timeout), "600", 1, 86400 },
	{ "max_attempts",	KEY_INT,	P(max_attempts), "5", 1, 100 },
	{ "retry_seconds",	KEY_INT,	P(retry_seconds), "10", 1, 3600 },
	{ "validity",		KEY_INT,	P(validity),	"86400", 10, 2592000 },
	{ "watchdog_seconds",	KEY_INT,	P(watchdog_seconds), "30", 2, 3600 },
	{ "report_window",	KEY_INT,	P(report_window), "259200", 60, 2592000 },
	{ "timezone",		KEY_STRING,	P(timezone),	"Africa/Casablanca", 0, 0 },
	{ "fanout_parts_gsm",	KEY_INT,	P(fanout_parts_gsm), "1", 1, PROTO_MAX_PARTS },
	{ "fanout_parts_ucs2",	KEY_INT,	P(fanout_parts_ucs2), "3", 1, PROTO_MAX_PARTS },
	{ "reply_parts",	KEY_INT,	P(reply_parts),	"3", 1, PROTO_MAX_PARTS },
	{ "limit_minute",	KEY_INT,	P(limit_minute), "10", 1, 100000 },
	{ "limit_day",		KEY_INT,	P(limit_day),	"200", 1, 1000000 },
	{ "reply_cap_hour",	KEY_INT,	P(reply_cap_hour), "20", 1, 100000 },
	{ "reply_cap_day",	KEY_INT,	P(reply_cap_day), "100", 1, 1000000 },
	{ "hold_max_age",	KEY_INT,	P(hold_max_age), "43200", 60, 2592000 },
	{ "track_max",	KEY_INT,	P(track_max),	"10", 0, 1000 },
	{ "track_day",	KEY_INT,	P(track_day),	"50", 0, 100000 },
	{ "recipient_day",	KEY_INT,	P(recipient_day), "250", 0, 1000000 },
	{ "loop_rounds",	KEY_INT,	P(loop_rounds),	"3", 0, 1000 },
	{ "loop_window",	KEY_INT,	P(loop_window),	"600", 10, 86400 },
	{ "link_budget_day",	KEY_INT,	P(link_budget_day), "0", 0, 100000000 },
	{ "log_level",		KEY_LEVEL,	P(log_level),	"info", 0, 0 },
	{ "log_numbers",	KEY_BOOL,	P(log_numbers),	"no", 0, 0 },
	{ NULL, 0, 0, NULL, 0, 0 }
};

static const struct key_def database_keys[] = {
	{ "conninfo",		KEY_STRING,	P(conninfo),	NULL, 0, 0 },
	{ NULL, 0, 0, NULL, 0, 0 }
};

static const struct key_def http_keys[] = {
	{ "listen",		KEY_ADDRESS,	P(http_listen),	"127.0.0.1:8025", 0, 0 },
	{ "token",		KEY_STRING,	P(http_token),	"", 0, 0 },
	{ "token_file",		KEY_STRING,	P(http_token_file), "", 0, 0 },
	{ "webhooks",		KEY_STRING,	P(http_webhooks), "", 0, 0 },
	{ "webhook_secret",	KEY_STRING,	P(http_webhook_secret), "", 0, 0 },
	{ "webhook_seconds",	KEY_INT,	P(http_webhook_seconds), "10", 1, 300 },
	{ "max_connections",	KEY_INT,	P(http_max_conns), "256", 1, 100000 },
	{ "max_connections_per_address", KEY_INT, P(http_max_conns_addr), "32", 1, 100000 },
	{ "request_seconds",	KEY_INT,	P(http_request_s), "10", 1, 300 },
	{ "public_rate",	KEY_INT,	P(http_public_rate), "600", 1, 1000000 },
	{ "search_rate",	KEY_INT,	P(http_search_rate), "60", 1, 1000000 },
	{ NULL, 0, 0, NULL, 0, 0 }
};

static const struct key_def modem_keys[] = {
	{ "device",		KEY_STRING,	M(device),	NULL, 0, 0 },
	{ "connection",		KEY_STRING,	M(connection),	"at", 0, 0 },
	{ "model",		KEY_STRING,	M(model),	"", 0, 0 },
	{ "logfile",		KEY_STRING,	M(logfile),	"", 0, 0 },
	{ "logformat",		KEY_STRING,	M(logformat),	"", 0, 0 },
	{ "smsc",		KEY_STRING,	M(smsc),	"", 0, 0 },
	{ "enabled",		KEY_BOOL,	M(enabled),	"yes", 0, 0 },
	{ "poll_ms",		KEY_INT,	M(poll_ms),	"1000", 10, 600000 },
	{ "routes",		KEY_STRING,	M(routes),	"", 0, 0 },
	{ "rate",		KEY_STRING,	M(rate),	"", 0, 0 },
	{ "report",		KEY_BOOL,	M(report),	"no", 0, 0 },
	{ "drain",		KEY_BOOL,	M(drain),	"no", 0, 0 },
	{ "health_seconds",	KEY_INT,	M(health_seconds), "60", 1, 86400 },
	{ NULL, 0, 0, NULL, 0, 0 }
};

/* [smpp NAME]: docs/carrier.md says what to ask the carrier for. */
static const struct key_def smpp_keys[] = {
	{ "host",		KEY_STRING,	M(host),	NULL, 0, 0 },
	{ "port",		KEY_INT,	M(port),	"2775", 1, 65535 },
	{ "system_id",		KEY_STRING,	M(system_id),	NULL, 0, 0 },
	{ "password",		KEY_STRING,	M(password),	"", 0, 0 },
	{ "password_file",	KEY_STRING,	M(password_file), "", 0, 0 },
	{ "system_type",	KEY_STRING,	M(system_type),	"", 0, 0 },
	{ "bind",		KEY_BIND,	M(bind),	"transceiver", 0, 0 },
	{ "source_addr",	KEY_STRING,	M(source_addr),	"", 0, 0 },
	{ "source_ton",		KEY_INT,	M(source_ton),	"0", 0, 6 },
	{ "source_npi",		KEY_INT,	M(source_npi),	"0", 0, 18 },
	{ "window",		KEY_INT,	M(window),	"10", 1, 1000 },
	{ "rate",		KEY_STRING,	M(rate),	"", 0, 0 },
	{ "enquire_link",	KEY_INT,	M(enquire_link), "30", 5, 3600 },
	{ "response_timeout",	KEY_INT,	M(response_timeout), "30", 1, 600 },
	{ "report",		KEY_BOOL,	M(report),	"yes", 0, 0 },
	{ "routes",		KEY_STRING,	M(routes),	"", 0, 0 },
	{ "enabled",		KEY_BOOL,	M(enabled),	"yes", 0, 0 },
	{ "drain",		KEY_BOOL,	M(drain),	"no", 0, 0 },
	{ "long",		KEY_LONG,	M(long_mode),	"udh", 0, 0 },
	{ "default_alphabet",	KEY_ALPHABET,	M(alphabet),	"gsm", 0, 0 },
	{ "health_seconds",	KEY_INT,	M(health_seconds), "60", 1, 86400 },
	{ NULL, 0, 0, NULL, 0, 0 }
};

/* gammurc keys we accept in a modem section and do not use. */
static const char *gammurc_ignored[] = {
	"name", "synchronizetime", "use_locking", "gammuloc", "gammucoding",
	"features", "startinfo", NULL
};

/* Modem keys that [modem-defaults] may not give: each modem has its own. */
#define MODEM_DEFAULTS	"modem-defaults"

struct parse_ctx {
	const char	*path;
	char		*err;
	size_t		 errlen;
	struct confscan	*scan;		/* where each section and key is */
};

/* "PATH:LINE: [section] key: problem", the line from the pre-pass. */
static int
conf_error(struct parse_ctx *ctx, const char *section, const char *key,
    const char *fmt, ...)
{
	char msg[512], where[64] = "";
	va_list ap;
	int line = 0;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (section && key)
		line = confscan_line(ctx->scan, section, key);
	if (section && line == 0)
		line = confscan_line(ctx->scan, section, NULL);
	if (line > 0)
		snprintf(where, sizeof(where), ":%d", line);
	if (section && key)
		snprintf(ctx->err, ctx->errlen, "%s%s: [%s] %s: %s", ctx->path, where,
		    section, key, msg);
	else if (section)
		snprintf(ctx->err, ctx->errlen, "%s%s: [%s]: %s", ctx->path, where,
		    section, msg);
	else
		snprintf(ctx->err, ctx->errlen, "%s: %s", ctx->path, msg);
	return -1;
}

static int
all_digits(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return 0;
	return 1;
}

static int
parse_bool(const char *v, int *out)
{
	static const char *yes[] = { "1", "yes", "true", "on", NULL };
	static const char *no[] = { "0", "no", "false", "off", NULL };
	for (int i = 0; yes[i]; i++)
		if (strcasecmp(v, yes[i]) == 0)
			return *out = 1, 0;
	for (int i = 0; no[i]; i++)
		if (strcasecmp(v, no[i]) == 0)
			return *out = 0, 0;
	return -1;
}

static int
parse_address(const char *v)
{
	const char *colon = strrchr(v, ':');
	if (colon == NULL || colon == v || !all_digits(colon + 1))
		return -1;
	long port = strtol(colon + 1, NULL, 10);
	return port > 0 && port < 65536 ? 0 : -1;
}

/* Stores one value of type def->type into base + def->offset. */
static int
set_value(struct parse_ctx *ctx, const char *section, const struct key_def *def,
    void *base, const char *value)
{
	char *field = (char *)base + def->offset;

	switch (def->type) {
	case KEY_INT: {
		char *end;
		errno = 0;
		long n = strtol(value, &end, 10);
		if (errno || end == value || *end != '\0' || n < def->min || n > def->max)
			return conf_error(ctx, section, def->name,
			    "'%s' is not a number from %d to %d", value, def->min, def->max);
		*(int *)field = (int)n;
		return 0;
	}
	case KEY_BOOL:
		if (parse_bool(value, (int *)field) == -1)
			return conf_error(ctx, section, def->name,
			    "'%s' is not yes or no", value);
		return 0;
	case KEY_LANG:
		if (strcmp(value, "en") && strcmp(value, "fr") && strcmp(value, "ar"))
			return conf_error(ctx, section, def->name,
			    "'%s' is not one of en, fr, ar", value);
		break;
	case KEY_DIGITS:
		if (!all_digits(value))
			return conf_error(ctx, section, def->name,
			    "'%s' is not all digits", value);
		break;
	case KEY_ADDRESS:
		if (parse_address(value) == -1)
			return conf_error(ctx, section, def->name,
			    "'%s' is not host:port", value);
		break;
	case KEY_LEVEL:
		if (strcmp(value, "error") && strcmp(value, "warning") &&
		    strcmp(value, "info") && strcmp(value, "debug"))
			return conf_error(ctx, section, def->name,
			    "'%s' is not one of error, warning, info, debug", value);
		break;
	case KEY_BIND:
		if (strcmp(value, "transceiver") && strcmp(value, "transmitter+receiver"))
			return conf_error(ctx, section, def->name,
			    "'%s' is not transceiver or transmitter+receiver", value);
		break;
	case KEY_LONG:
		if (strcmp(value, "udh") && strcmp(value, "payload"))
			return conf_error(ctx, section, def->name,
			    "'%s' is not udh or payload", value);
		break;
	case KEY_ALPHABET:
		if (strcmp(value, "gsm") && strcmp(value, "latin1"))
			return conf_error(ctx, section, def->name,
			    "'%s' is not gsm or latin1", value);
		break;
	case KEY_STRING:
		break;
	}
	char **sp = (char **)field;
	free(*sp);
	if ((*sp = strdup(value)) == NULL)
		return conf_error(ctx, section, def->name, "out of memory");
	return 0;
}

static const struct key_def *
find_key(const struct key_def *keys, const char *name)
{
	for (; keys->name; keys++)
		if (strcasecmp(keys->name, name) == 0)
			return keys;
	return NULL;
}

static int
is_ignored_gammurc_key(const char *name)
{
	for (int i = 0; gammurc_ignored[i]; i++)
		if (strcasecmp(gammurc_ignored[i], name) == 0)
			return 1;
	return 0;
}

/*
 * The entries of one section, in file order. In a modem section "port" is
 * gammurc's older name of "device" (gammu reads either).
 */
static int
apply_entries(struct parse_ctx *ctx, const char *section, INI_Entry *entries,
    const struct key_def *keys, void *base, int modem)
{
	const struct key_def *def;
	INI_Entry *e, *o;

	/* libgammu keeps entries last-first; walk from the tail for file order. */
	for (e = entries; e && e->Next; e = e->Next)
		;
	for (; e; e = e->Prev) {
		const char *name = (const char *)e->EntryName;
		const char *value = (const char *)e->EntryValue;

		for (o = e->Prev; o; o = o->Prev)
			if (strcasecmp((const char *)o->EntryName, name) == 0)
				return conf_error(ctx, section, name, "given twice");
		if (modem && strcasecmp(name, "port") == 0) {
			for (o = entries; o; o = o->Next)
				if (strcasecmp((const char *)o->EntryName, "device") == 0)
					return conf_error(ctx, section, name,
					    "give device or port (gammurc's older name), not both");
			name = "device";
		}
		if (modem && strcasecmp(section, MODEM_DEFAULTS) == 0 &&
		    strcasecmp(name, "device") == 0)
			return conf_error(ctx, section, (const char *)e->EntryName,
			    "each [modem NAME] gives its own device");
		def = find_key(keys, name);
		if (def == NULL) {
			if (modem && is_ignored_gammurc_key(name))
				continue;
			return conf_error(ctx, section, name, "unknown key");
		}
		if (set_value(ctx, section, def, base, value) == -1)
			return -1;
	}
	return 0;
}

/*
 * Applies the table's defaults, then (for a modem) [modem-defaults], then
 * the section's own entries; rejects unknown and repeated keys.
 */
static int
apply_section(struct parse_ctx *ctx, const char *section, INI_Entry *entries,
    const struct key_def *keys, void *base, int modem, INI_Section *defaults)
{
	const struct key_def *def;

	for (def = keys; def->name; def++)
		if (def->def && set_value(ctx, section, def, base, def->def) == -1)
			return -1;
	if (defaults && apply_entries(ctx, (const char *)defaults->SectionName,
	    defaults->SubEntries, keys, base, modem) == -1)
		return -1;
	if (apply_entries(ctx, section, entries, keys, base, modem) == -1)
		return -1;
	for (def = keys; def->name; def++) {
		if (def->def == NULL && *(char **)((char *)base + def->offset) == NULL)
			return conf_error(ctx, section, def->name, "is required");
	}
	return 0;
}

static int
modem_name_valid(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > 32)
		return 0;
	for (; *name; name++)
		if (!isalnum((unsigned char)*name) && !strchr("-_.", *name))
			return 0;
	return 1;
}

static void
modem_conf_free(struct modem_conf *m)
{
	free(m->name);
	free(m->device);
	free(m->connection);
	free(m->model);
	free(m->logfile);
	free(m->logformat);
	free(m->smsc);
	free(m->routes);
	free(m->rate);
	free(m->host);
	free(m->system_id);
	free(m->password);
	free(m->password_file);
	free(m->system_type);
	free(m->bind);
	free(m->source_addr);
	free(m->long_mode);
	free(m->alphabet);
	for (int i = 0; i < m->nroutes; i++)
		free(m->route[i]);
	free(m->route);
}

/*
 * routes: E.164 prefixes ("+21266 +21267"); rate: "6/min 300/hour 2000/day",
 * each unit at most once. Both were checked by apply_section as strings.
 */
static int
modem_parse_bank(struct parse_ctx *ctx, const char *section, struct modem_conf *m)
{
	char *copy, *tok, *save = NULL;

	if ((copy = strdup(m->routes)) == NULL)
		return conf_error(ctx, section, "routes", "out of memory");
	for (tok = strtok_r(copy, " \t,", &save); tok; tok = strtok_r(NULL, " \t,", &save)) {
		if (tok[0] != '+' || !all_digits(tok + 1) || strlen(tok) > 16) {
			conf_error(ctx, section, "routes",
			    "'%s' is not a prefix like +21266", tok);
			free(copy);
			return -1;
		}
		char **nr = realloc(m->route, (m->nroutes + 1) * sizeof(*nr));
		if (nr == NULL || (nr[m->nroutes] = strdup(tok)) == NULL) {
			if (nr != NULL)
				m->route = nr;
			free(copy);
			return conf_error(ctx, section, "routes", "out of memory");
		}
		m->route = nr;
		m->nroutes++;
	}
	free(copy);

	if ((copy = strdup(m->rate)) == NULL)
		return conf_error(ctx, section, "rate", "out of memory");
	for (tok = strtok_r(copy, " \t,", &save); tok; tok = strtok_r(NULL, " \t,", &save)) {
		char *slash = strchr(tok, '/'), *end;
		long n;
		int *slot = NULL;

		if (slash != NULL) {
			*slash = '\0';
			n = strtol(tok, &end, 10);
			if (*end != '\0' || end == tok || n < 1 || n > 1000000)
				slash = NULL;
			else if (!strcasecmp(slash + 1, "min") || !strcasecmp(slash + 1, "minute") ||
			    !strcasecmp(slash + 1, "m"))
				slot = &m->rate_min;
			else if (!strcasecmp(slash + 1, "hour") || !strcasecmp(slash + 1, "h"))
				slot = &m->rate_hour;
			else if (!strcasecmp(slash + 1, "day") || !strcasecmp(slash + 1, "d"))
				slot = &m->rate_day;
			else if (m->kind == CONF_SMPP && (!strcasecmp(slash + 1, "s") ||
			    !strcasecmp(slash + 1, "sec") || !strcasecmp(slash + 1, "second")))
				slot = &m->rate_sec;
		}
		if (slot == NULL || *slot != 0) {
			if (slash != NULL)
				*slash = '/';
			conf_error(ctx, section, "rate", slot ? "'%s': that unit is given twice" :
			    m->kind == CONF_SMPP ? "'%s' is not like 100/s, 6000/min, 300/hour or 2000/day" :
			    "'%s' is not like 6/min, 300/hour or 2000/day", tok);
			free(copy);
			return -1;
		}
		*slot = (int)n;
	}
	free(copy);
	return 0;
}

static char *
dup_or_empty(const char *s)
{
	return strdup(s ? s : "");
}

struct modem_conf *
config_modem_copy(const struct modem_conf *src)
{
	struct modem_conf *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return NULL;
	*m = *src;
	m->name = dup_or_empty(src->name);
	m->device = dup_or_empty(src->device);
	m->connection = dup_or_empty(src->connection);
	m->model = dup_or_empty(src->model);
	m->logfile = dup_or_empty(src->logfile);
	m->logformat = dup_or_empty(src->logformat);
	m->smsc = dup_or_empty(src->smsc);
	m->routes = dup_or_empty(src->routes);
	m->rate = dup_or_empty(src->rate);
	m->host = dup_or_empty(src->host);
	m->system_id = dup_or_empty(src->system_id);
	m->password = dup_or_empty(src->password);
	m->password_file = dup_or_empty(src->password_file);
	m->system_type = dup_or_empty(src->system_type);
	m->bind = dup_or_empty(src->bind);
	m->source_addr = dup_or_empty(src->source_addr);
	m->long_mode = dup_or_empty(src->long_mode);
	m->alphabet = dup_or_empty(src->alphabet);
	m->route = src->nroutes ? calloc(src->nroutes, sizeof(*m->route)) : NULL;
	int ok = m->name && m->device && m->connection && m->model && m->logfile &&
	    m->logformat && m->smsc && m->routes && m->rate && m->host &&
	    m->system_id && m->password && m->password_file && m->system_type &&
	    m->bind && m->source_addr && m->long_mode && m->alphabet &&
	    (src->nroutes == 0 || m->route);
	for (int i = 0; ok && i < src->nroutes; i++)
		ok = (m->route[i] = strdup(src->route[i])) != NULL;
	if (!ok) {
		if (m->route == NULL)
			m->nroutes = 0;
		config_modem_free(m);
		return NULL;
	}
	return m;
}

void
config_modem_free(struct modem_conf *m)
{
	if (m == NULL)
		return;
	modem_conf_free(m);
	free(m);
}

int
config_modem_needs_restart(const struct modem_conf *a, const struct modem_conf *b)
{
	if (a->kind == CONF_SMPP)
		return strcmp(a->host, b->host) || a->port != b->port ||
		    strcmp(a->system_id, b->system_id) || strcmp(a->password, b->password) ||
		    strcmp(a->system_type, b->system_type) || strcmp(a->bind, b->bind) ||
		    strcmp(a->source_addr, b->source_addr) || a->source_ton != b->source_ton ||
		    a->source_npi != b->source_npi || a->window != b->window ||
		    a->rate_sec != b->rate_sec || a->enquire_link != b->enquire_link ||
		    a->response_timeout != b->response_timeout ||
		    strcmp(a->long_mode, b->long_mode) || strcmp(a->alphabet, b->alphabet) ||
		    a->health_seconds != b->health_seconds;
	return strcmp(a->device, b->device) || strcmp(a->connection, b->connection) ||
	    strcmp(a->model, b->model) || strcmp(a->logfile, b->logfile) ||
	    strcmp(a->logformat, b->logformat) || strcmp(a->smsc, b->smsc) ||
	    a->poll_ms != b->poll_ms || a->health_seconds != b->health_seconds;
}

void
config_free(struct pigeon_conf *conf)
{
	free(conf->shortcode);
	free(conf->country);
	free(conf->language);
	free(conf->timezone);
	free(conf->hostname);
	free(conf->modem_program);
	free(conf->smpp_program);
	free(conf->conninfo);
	free(conf->http_listen);
	free(conf->http_token);
	free(conf->http_token_file);
	free(conf->http_webhooks);
	free(conf->http_webhook_secret);
	free(conf->log_level);
	for (size_t i = 0; i < conf->nmodems; i++)
		modem_conf_free(&conf->modems[i]);
	free(conf->modems);
	memset(conf, 0, sizeof(*conf));
}

static int check_mode(struct parse_ctx *, const char *, const char *, const char *,
    const char *);

/* A new link section's slot, named; NULL (and err set) on a bad name. */
static struct modem_conf *
link_add(struct parse_ctx *ctx, const char *section, const char *lname,
    struct pigeon_conf *conf)
{
	struct modem_conf *nm, *m;

	if (!modem_name_valid(lname)) {
		conf_error(ctx, section, NULL,
		    "link names are 1-32 of letters, digits, '-', '_', '.'");
		return NULL;
	}
	if (config_modem(conf, lname)) {
		conf_error(ctx, section, NULL, "a link of that name is given twice");
		return NULL;
	}
	if ((nm = realloc(conf->modems, (conf->nmodems + 1) * sizeof(*nm))) == NULL) {
		conf_error(ctx, section, NULL, "out of memory");
		return NULL;
	}
	conf->modems = nm;
	m = &nm[conf->nmodems++];
	memset(m, 0, sizeof(*m));
	if ((m->name = strdup(lname)) == NULL) {
		conf_error(ctx, section, NULL, "out of memory");
		return NULL;
	}
	return m;
}

/* [smpp NAME]: a bind; its password from the key or from password_file. */
static int
load_smpp(struct parse_ctx *ctx, const char *section, INI_Section *s,
    struct pigeon_conf *conf)
{
	const char *lname = section + 5;
	struct modem_conf *m;
	char line[256];
	FILE *f;

	while (*lname == ' ')
		lname++;
	if ((m = link_add(ctx, section, lname, conf)) == NULL)
		return -1;
	m->kind = CONF_SMPP;
	if (apply_section(ctx, section, s->SubEntries, smpp_keys, m, 0, NULL) == -1 ||
	    modem_parse_bank(ctx, section, m) == -1)
		return -1;
	if (*m->password && *m->password_file)
		return conf_error(ctx, section, "password_file",
		    "give password or password_file, not both");
	if (*m->password_file == '\0')
		return 0;
	if (check_mode(ctx, section, "password_file", m->password_file,
	    "the bind's password") == -1)
		return -1;
	if ((f = fopen(m->password_file, "r")) == NULL)
		return conf_error(ctx, section, "password_file", "%s: %s",
		    m->password_file, strerror(errno));
	if (fgets(line, sizeof(line), f) == NULL)
		line[0] = '\0';
	fclose(f);
	line[strcspn(line, "\r\n")] = '\0';
	free(m->password);
	if ((m->password = strdup(line)) == NULL)
		return conf_error(ctx, section, "password_file", "out of memory");
	return 0;
}

static int
load_sections(struct parse_ctx *ctx, INI_Section *ini, struct pigeon_conf *conf)
{
	INI_Section *s, *defaults = NULL;
	int seen_pigeon = 0, seen_database = 0, seen_http = 0;

	/* [modem-defaults] applies to every modem, wherever it stands. */
	for (s = ini; s; s = s->Next)
		if (strcasecmp((const char *)s->SectionName, MODEM_DEFAULTS) == 0)
			defaults = s;
	for (s = ini; s; s = s->Next) {
		const char *name = (const char *)s->SectionName;
		if (strcasecmp(name, "pigeon") == 0) {
			if (seen_pigeon++)
				return conf_error(ctx, name, NULL, "section given twice");
			if (apply_section(ctx, name, s->SubEntries, pigeon_keys, conf, 0,
			    NULL) == -1)
				return -1;
		} else if (strcasecmp(name, "database") == 0) {
			if (seen_database++)
				return conf_error(ctx, name, NULL, "section given twice");
			if (apply_section(ctx, name, s->SubEntries, database_keys, conf, 0,
			    NULL) == -1)
				return -1;
		} else if (strcasecmp(name, "http") == 0) {
			if (seen_http++)
				return conf_error(ctx, name, NULL, "section given twice");
			if (apply_section(ctx, name, s->SubEntries, http_keys, conf, 0,
			    NULL) == -1)
				return -1;
		} else if (s == defaults) {
			/* Checked alone too, so that its mistakes name its own lines. */
			struct modem_conf scratch;
			memset(&scratch, 0, sizeof(scratch));
			int rc = apply_entries(ctx, name, s->SubEntries, modem_keys, &scratch, 1);
			if (rc == 0 && scratch.routes == NULL)
				scratch.routes = strdup("");
			if (rc == 0 && scratch.rate == NULL)
				scratch.rate = strdup("");
			if (rc == 0 && (scratch.routes == NULL || scratch.rate == NULL))
				rc = conf_error(ctx, name, NULL, "out of memory");
			if (rc == 0)
				rc = modem_parse_bank(ctx, name, &scratch);
			modem_conf_free(&scratch);
			if (rc == -1)
				return -1;
		} else if (strncasecmp(name, "modem ", 6) == 0) {
			const char *mname = name + 6;
			while (*mname == ' ')
				mname++;
			struct modem_conf *m = link_add(ctx, name, mname, conf);
			if (m == NULL)
				return -1;
			if (apply_section(ctx, name, s->SubEntries, modem_keys, m, 1,
			    defaults) == -1 || modem_parse_bank(ctx, name, m) == -1)
				return -1;
		} else if (strncasecmp(name, "smpp ", 5) == 0) {
			if (load_smpp(ctx, name, s, conf) == -1)
				return -1;
		} else {
			return conf_error(ctx, name, NULL,
			    "unknown section (expected pigeon, database, http, "
			    MODEM_DEFAULTS ", modem NAME or smpp NAME)");
		}
	}
	/* Sections that were left out still get their defaults. */
	if (!seen_pigeon && apply_section(ctx, "pigeon", NULL, pigeon_keys, conf, 0,
	    NULL) == -1)
		return -1;
	if (!seen_database)
		return conf_error(ctx, "database", "conninfo", "is required");
	if (!seen_http && apply_section(ctx, "http", NULL, http_keys, conf, 0, NULL) == -1)
		return -1;
	return 0;
}

/* The line of a modem's device (or port) key; 0 when unknown. */
static int
device_line(struct parse_ctx *ctx, const struct modem_conf *m, const char **key)
{
	char section[80];
	int line;

	snprintf(section, sizeof(section), "modem %s", m->name);
	*key = "device";
	if ((line = confscan_line(ctx->scan, section, "device")) == 0 &&
	    (line = confscan_line(ctx->scan, section, "port")) != 0)
		*key = "port";
	return line;
}

/*
 * Two modem processes on one device fight over it: the same path, or two
 * paths to the same file (a /dev/serial/by-id link and its ttyUSB).
 */
static int
check_devices(struct parse_ctx *ctx, const struct pigeon_conf *conf)
{
	for (size_t i = 0; i < conf->nmodems; i++) {
		const struct modem_conf *a = &conf->modems[i];
		struct stat sta;
		if (a->kind != CONF_MODEM)
			continue;
		int have_a = stat(a->device, &sta) == 0;
		for (size_t j = 0; j < i; j++) {
			const struct modem_conf *b = &conf->modems[j];
			struct stat stb;
			if (b->kind != CONF_MODEM)
				continue;
			if (strcmp(a->device, b->device) != 0 && !(have_a &&
			    stat(b->device, &stb) == 0 && sta.st_dev == stb.st_dev &&
			    sta.st_ino == stb.st_ino))
				continue;
			const char *akey, *bkey;
			char section[80];
			int bline = device_line(ctx, b, &bkey);
			device_line(ctx, a, &akey);
			snprintf(section, sizeof(section), "modem %s", a->name);
			return conf_error(ctx, section, akey,
			    "'%s' is also the device of [modem %s] (line %d): "
			    "one process per modem", a->device, b->name, bline);
		}
	}
	return 0;
}

/* Others may neither change a file pigeond trusts nor read a secret in it. */
static int
check_mode(struct parse_ctx *ctx, const char *section, const char *key, const char *path,
    const char *secret)
{
	struct stat st;

	if (stat(path, &st) == -1)
		return conf_error(ctx, section, key, "%s: %s", path, strerror(errno));
	if (st.st_mode & S_IWOTH)
		return conf_error(ctx, section, key,
		    "%s is writable by others (mode %04o): chmod o-w it", path,
		    (unsigned)(st.st_mode & 07777));
	if (secret && (st.st_mode & S_IROTH))
		return conf_error(ctx, section, key,
		    "%s holds %s and others can read it (mode %04o): chmod 600 "
		    "it (or 640 with group pigeon)", path, secret,
		    (unsigned)(st.st_mode & 07777));
	return 0;
}

static int
check_http(struct parse_ctx *ctx, const struct pigeon_conf *conf)
{
	const char *file = conf->http_token_file;
	char line[1024];

	if (*conf->http_token && *file)
		return conf_error(ctx, "http", "token_file",
		    "give token or token_file, not both");
	if (*conf->http_token && strlen(conf->http_token) < CONFIG_TOKEN_MIN)
		return conf_error(ctx, "http", "token",
		    "shorter than %d characters (make one with: od -An -N24 -tx1 "
		    "/dev/urandom | tr -d ' \\n')", CONFIG_TOKEN_MIN);
	if (*file) {
		FILE *f = fopen(file, "r");
		if (f == NULL)
			return conf_error(ctx, "http", "token_file", "%s: %s", file,
			    strerror(errno));
		if (fgets(line, sizeof(line), f) == NULL)
			line[0] = '\0';
		fclose(f);
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '\0')
			return conf_error(ctx, "http", "token_file", "%s: its first line is empty",
			    file);
		if (strlen(line) < CONFIG_TOKEN_MIN)
			return conf_error(ctx, "http", "token_file",
			    "%s: the token is shorter than %d characters", file,
			    CONFIG_TOKEN_MIN);
		if (check_mode(ctx, "http", "token_file", file, "the token") == -1)
			return -1;
	}

	/* The webhooks as webhook.c will take them: plain http, no quoting. */
	char *copy = strdup(conf->http_webhooks), *save = NULL;
	if (copy == NULL)
		return conf_error(ctx, "http", "webhooks", "out of memory");
	for (char *u = strtok_r(copy, " \t,", &save); u; u = strtok_r(NULL, " \t,", &save)) {
		struct evhttp_uri *uri = evhttp_uri_parse(u);
		int ok = uri && evhttp_uri_get_scheme(uri) && evhttp_uri_get_host(uri) &&
		    *evhttp_uri_get_host(uri) && strcmp(evhttp_uri_get_scheme(uri), "http") == 0 &&
		    strpbrk(u, "\"\\{},") == NULL;
		if (uri)
			evhttp_uri_free(uri);
		if (!ok) {
			conf_error(ctx, "http", "webhooks", strncasecmp(u, "https:", 6) == 0 ?
			    "'%s': https is not supported (send to a local http:// relay)" :
			    "'%s' is not an http://host[:port]/path URL", u);
			free(copy);
			return -1;
		}
	}
	free(copy);
	return 0;
}

/* PostgreSQL and the C library read the same tz database (tzdata). */
static int
check_timezone(struct parse_ctx *ctx, const char *tz)
{
	const char *dir = getenv("TZDIR") ? getenv("TZDIR") : "/usr/share/zoneinfo";
	char path[512];
	struct stat st;

	for (const char *p = tz; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("/_+-", *p))
			return conf_error(ctx, "pigeon", "timezone",
			    "'%s' is not a time zone name like Africa/Casablanca", tz);
	if (*tz == '\0' || *tz == '/' || strstr(tz, "..") ||
	    snprintf(path, sizeof(path), "%s/%s", dir, tz) >= (int)sizeof(path) ||
	    stat(path, &st) == -1 || !S_ISREG(st.st_mode))
		return conf_error(ctx, "pigeon", "timezone",
		    "'%s' is not a time zone known here (see %s)", tz, dir);
	return 0;
}

/* What a start would trip over later; each names its line. */
static int
check_conf(struct parse_ctx *ctx, const struct pigeon_conf *conf)
{
	if (*conf->modem_program && access(conf->modem_program, X_OK) == -1)
		return conf_error(ctx, "pigeon", "modem_program", "%s: %s",
		    conf->modem_program, strerror(errno));
	if (*conf->smpp_program && access(conf->smpp_program, X_OK) == -1)
		return conf_error(ctx, "pigeon", "smpp_program", "%s: %s",
		    conf->smpp_program, strerror(errno));
	if (check_timezone(ctx, conf->timezone) == -1 || check_http(ctx, conf) == -1 ||
	    check_devices(ctx, conf) == -1)
		return -1;
	/* The file itself: a token in it, or a password in the conninfo. */
	int secret = *conf->http_token || strstr(conf->conninfo, "password") != NULL;
	for (size_t i = 0; i < conf->nmodems; i++)
		if (conf->modems[i].kind == CONF_SMPP && *conf->modems[i].password &&
		    *conf->modems[i].password_file == '\0')
			secret = 1;
	struct stat st;
	if (stat(ctx->path, &st) == 0 && (st.st_mode & S_IWOTH))
		return conf_error(ctx, NULL, NULL,
		    "writable by others (mode %04o): chmod o-w it",
		    (unsigned)(st.st_mode & 07777));
	if (secret && stat(ctx->path, &st) == 0 && (st.st_mode & S_IROTH))
		return conf_error(ctx, NULL, NULL,
		    "holds a secret (the token, a database or an SMPP password) and others can "
		    "read it (mode %04o): chmod 600 it (or 640 with group pigeon)",
		    (unsigned)(st.st_mode & 07777));
	return 0;
}

int
config_load(const char *path, struct pigeon_conf *conf, char *err, size_t errlen)
{
	struct parse_ctx ctx = { path, err, errlen, NULL };
	INI_Section *ini = NULL;
	GSM_Error gerr;

	memset(conf, 0, sizeof(*conf));
	if (access(path, R_OK) == -1)
		return conf_error(&ctx, NULL, NULL, "%s", strerror(errno));
	if ((ctx.scan = confscan_read(path, err, errlen)) == NULL)
		return -1;
	if (confscan_empty(ctx.scan)) {
		confscan_free(ctx.scan);
		return conf_error(&ctx, NULL, NULL,
		    "the file is empty ([database] conninfo is required)");
	}
	gerr = INI_ReadFile(path, FALSE, &ini);
	if (gerr != ERR_NONE) {
		confscan_free(ctx.scan);
		return conf_error(&ctx, NULL, NULL, "libgammu cannot read it: %s",
		    GSM_ErrorString(gerr));
	}
	int rc = load_sections(&ctx, ini, conf);
	INI_Free(ini);
	if (rc == 0)
		rc = check_conf(&ctx, conf);
	confscan_free(ctx.scan);
	if (rc == -1) {
		config_free(conf);
		return -1;
	}
	if (conf->hostname[0] == '\0') {
		char host[256];
		if (gethostname(host, sizeof(host)) == -1)
			strcpy(host, "localhost");
		host[sizeof(host) - 1] = '\0';
		free(conf->hostname);
		conf->hostname = strdup(host);
	}
	return 0;
}

const struct modem_conf *
config_modem(const struct pigeon_conf *conf, const char *name)
{
	for (size_t i = 0; i < conf->nmodems; i++)
		if (conf->modems[i].name && strcmp(conf->modems[i].name, name) == 0)
			return &conf->modems[i];
	return NULL;
}

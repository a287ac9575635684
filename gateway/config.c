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
#include "confint.h"
#include "proto.h"
#include "confscan.h"

static const struct key_def pigeon_keys[] = {
	{ "shortcode",		KEY_DIGITS,	P(shortcode),	"40404", 0, 0, 0 },
	{ "country",		KEY_DIGITS,	P(country),	"212", 0, 0, 0 },
	{ "language",		KEY_LANG,	P(language),	"fr", 0, 0, 0 },
	{ "post_max",		KEY_INT,	P(post_max),	"140", 1, 1000, 0 },
	{ "hostname",		KEY_STRING,	P(hostname),	"", 0, 0, 0 },
	{ "modem_program",	KEY_STRING,	P(modem_program), "", 0, 0, 0 },
	{ "smpp_program",	KEY_STRING,	P(smpp_program), "", 0, 0, 0 },
	{ "lease_seconds",	KEY_INT,	P(lease_seconds), "120", 5, 86400, RELOAD },
	{ "concat_timeout",	KEY_INT,	P(concat_timeout), "600", 1, 86400, 0 },
	{ "max_attempts",	KEY_INT,	P(max_attempts), "5", 1, 100, RELOAD },
	{ "retry_seconds",	KEY_INT,	P(retry_seconds), "10", 1, 3600, RELOAD },
	{ "validity",		KEY_INT,	P(validity),	"86400", 10, 2592000, RELOAD },
	{ "watchdog_seconds",	KEY_INT,	P(watchdog_seconds), "30", 2, 3600, RELOAD },
	{ "restart_max_seconds", KEY_INT,	P(restart_max_seconds), "60", 1, 3600, 0 },
	{ "report_window",	KEY_INT,	P(report_window), "259200", 60, 2592000, RELOAD },
	{ "timezone",		KEY_STRING,	P(timezone),	"Africa/Casablanca", 0, 0, 0 },
	{ "fanout_parts_gsm",	KEY_INT,	P(fanout_parts_gsm), "1", 1, PROTO_MAX_PARTS, 0 },
	{ "fanout_parts_ucs2",	KEY_INT,	P(fanout_parts_ucs2), "3", 1, PROTO_MAX_PARTS, 0 },
	{ "fanout_chunk",	KEY_INT,	P(fanout_chunk), "5000", 1, 1000000, 0 },
	{ "reply_parts",	KEY_INT,	P(reply_parts),	"3", 1, PROTO_MAX_PARTS, 0 },
	{ "limit_minute",	KEY_INT,	P(limit_minute), "10", 1, 100000, 0 },
	{ "limit_day",		KEY_INT,	P(limit_day),	"200", 1, 1000000, 0 },
	{ "reply_cap_hour",	KEY_INT,	P(reply_cap_hour), "20", 1, 100000, 0 },
	{ "reply_cap_day",	KEY_INT,	P(reply_cap_day), "100", 1, 1000000, 0 },
	{ "hold_max_age",	KEY_INT,	P(hold_max_age), "43200", 60, 2592000, 0 },
	{ "track_max",	KEY_INT,	P(track_max),	"10", 0, 1000, 0 },
	{ "track_day",	KEY_INT,	P(track_day),	"50", 0, 100000, 0 },
	{ "recipient_day",	KEY_INT,	P(recipient_day), "250", 0, 1000000, 0 },
	{ "loop_rounds",	KEY_INT,	P(loop_rounds),	"3", 0, 1000, 0 },
	{ "loop_window",	KEY_INT,	P(loop_window),	"600", 10, 86400, 0 },
	{ "repeat_window",	KEY_INT,	P(repeat_window), "120", 0, 86400, 0 },
	{ "link_budget_day",	KEY_INT,	P(link_budget_day), "0", 0, 100000000, 0 },
	{ "log_level",		KEY_LEVEL,	P(log_level),	"info", 0, 0, 0 },
	{ "log_numbers",	KEY_BOOL,	P(log_numbers),	"no", 0, 0, 0 },
	{ NULL, 0, 0, NULL, 0, 0, 0 }
};

static const struct key_def database_keys[] = {
	{ "conninfo",		KEY_STRING,	P(conninfo),	NULL, 0, 0, 0 },
	{ NULL, 0, 0, NULL, 0, 0, 0 }
};

static const struct key_def http_keys[] = {
	{ "listen",		KEY_ADDRESS,	P(http_listen),	"127.0.0.1:8025", 0, 0, 0 },
	{ "port_file",		KEY_STRING,	P(http_port_file), "", 0, 0, 0 },
	{ "token",		KEY_STRING,	P(http_token),	"", 0, 0, 0 },
	{ "token_file",		KEY_STRING,	P(http_token_file), "", 0, 0, 0 },
	{ "tokens_file",	KEY_STRING,	P(http_tokens_file), "", 0, 0, 0 },
	{ "webhooks",		KEY_STRING,	P(http_webhooks), "", 0, 0, 0 },
	{ "webhook_secret",	KEY_STRING,	P(http_webhook_secret), "", 0, 0, 0 },
	{ "dlr_secret",		KEY_STRING,	P(http_dlr_secret), "", 0, 0, 0 },
	{ "public_url",		KEY_STRING,	P(http_public_url), "", 0, 0, 0 },
	{ "dlr_hosts",		KEY_STRING,	P(http_dlr_hosts), "", 0, 0, 0 },
	{ "webhook_seconds",	KEY_INT,	P(http_webhook_seconds), "10", 1, 300, 0 },
	{ "dlr_connections",	KEY_INT,	P(http_dlr_conns), "32", 1, 10000, 0 },
	{ "max_connections",	KEY_INT,	P(http_max_conns), "256", 1, 100000, 0 },
	{ "max_connections_per_address", KEY_INT, P(http_max_conns_addr), "32", 1, 100000, 0 },
	{ "request_seconds",	KEY_INT,	P(http_request_s), "10", 1, 300, 0 },
	{ "public_rate",	KEY_INT,	P(http_public_rate), "600", 1, 1000000, 0 },
	{ "search_rate",	KEY_INT,	P(http_search_rate), "60", 1, 1000000, 0 },
	{ "max_recipients",	KEY_INT,	P(http_max_recipients), "100", 1, 1000, 0 },
	{ NULL, 0, 0, NULL, 0, 0, 0 }
};

/* "PATH:LINE: [section] key: problem", the line from the pre-pass. */
int
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

int
conf_all_digits(const char *s)
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
	if (colon == NULL || colon == v || !conf_all_digits(colon + 1))
		return -1;
	long port = strtol(colon + 1, NULL, 10);
	/* 0: any free port (confcheck.c wants a port_file then). */
	return port >= 0 && port < 65536 ? 0 : -1;
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
		if (!conf_all_digits(value))
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

/*
 * The entries of one section, in file order. In a modem section "port" is
 * gammurc's older name of "device" (gammu reads either).
 */
int
conf_apply_entries(struct parse_ctx *ctx, const char *section, INI_Entry *entries,
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
			if (modem && conflink_ignored(name))
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
int
conf_apply_section(struct parse_ctx *ctx, const char *section, INI_Entry *entries,
    const struct key_def *keys, void *base, int modem, INI_Section *defaults)
{
	const struct key_def *def;

	for (def = keys; def->name; def++)
		if (def->def && set_value(ctx, section, def, base, def->def) == -1)
			return -1;
	if (defaults && conf_apply_entries(ctx, (const char *)defaults->SectionName,
	    defaults->SubEntries, keys, base, modem) == -1)
		return -1;
	if (conf_apply_entries(ctx, section, entries, keys, base, modem) == -1)
		return -1;
	for (def = keys; def->name; def++) {
		if (def->def == NULL && *(char **)((char *)base + def->offset) == NULL)
			return conf_error(ctx, section, def->name, "is required");
	}
	return 0;
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
	free(conf->http_port_file);
	free(conf->http_token);
	free(conf->http_token_file);
	free(conf->http_tokens_file);
	free(conf->http_webhooks);
	free(conf->http_webhook_secret);
	free(conf->http_dlr_secret);
	free(conf->http_public_url);
	free(conf->http_dlr_hosts);
	free(conf->log_level);
	for (size_t i = 0; i < conf->nmodems; i++)
		conflink_free(&conf->modems[i]);
	free(conf->modems);
	memset(conf, 0, sizeof(*conf));
}

static int
load_sections(struct parse_ctx *ctx, INI_Section *ini, struct pigeon_conf *conf)
{
	INI_Section *s, *defaults = NULL;
	int seen_pigeon = 0, seen_database = 0, seen_http = 0, seen_retention = 0;

	/* [modem-defaults] applies to every modem, wherever it stands. */
	for (s = ini; s; s = s->Next)
		if (strcasecmp((const char *)s->SectionName, MODEM_DEFAULTS) == 0)
			defaults = s;
	for (s = ini; s; s = s->Next) {
		const char *name = (const char *)s->SectionName;
		if (strcasecmp(name, "pigeon") == 0) {
			if (seen_pigeon++)
				return conf_error(ctx, name, NULL, "section given twice");
			if (conf_apply_section(ctx, name, s->SubEntries, pigeon_keys, conf, 0,
			    NULL) == -1)
				return -1;
		} else if (strcasecmp(name, "database") == 0) {
			if (seen_database++)
				return conf_error(ctx, name, NULL, "section given twice");
			if (conf_apply_section(ctx, name, s->SubEntries, database_keys, conf, 0,
			    NULL) == -1)
				return -1;
		} else if (strcasecmp(name, "http") == 0) {
			if (seen_http++)
				return conf_error(ctx, name, NULL, "section given twice");
			if (conf_apply_section(ctx, name, s->SubEntries, http_keys, conf, 0,
			    NULL) == -1)
				return -1;
		} else if (strcasecmp(name, "retention") == 0) {
			if (seen_retention++)
				return conf_error(ctx, name, NULL, "section given twice");
			if (config_retention_apply(&conf->retention, s->SubEntries, ctx->path,
			    ctx->scan, ctx->err, ctx->errlen) == -1)
				return -1;
		} else if (s == defaults) {
			/* Checked alone too, so that its mistakes name its own lines. */
			struct modem_conf scratch;
			memset(&scratch, 0, sizeof(scratch));
			int rc = conf_apply_entries(ctx, name, s->SubEntries, conflink_modem_keys, &scratch, 1);
			if (rc == 0 && scratch.routes == NULL)
				scratch.routes = strdup("");
			if (rc == 0 && scratch.rate == NULL)
				scratch.rate = strdup("");
			if (rc == 0 && (scratch.routes == NULL || scratch.rate == NULL))
				rc = conf_error(ctx, name, NULL, "out of memory");
			if (rc == 0)
				rc = conflink_parse_bank(ctx, name, &scratch);
			conflink_free(&scratch);
			if (rc == -1)
				return -1;
		} else if (strncasecmp(name, "modem ", 6) == 0) {
			const char *mname = name + 6;
			while (*mname == ' ')
				mname++;
			struct modem_conf *m = conflink_add(ctx, name, mname, conf);
			if (m == NULL)
				return -1;
			if (conf_apply_section(ctx, name, s->SubEntries, conflink_modem_keys, m, 1,
			    defaults) == -1 || conflink_parse_bank(ctx, name, m) == -1 ||
			    (!ctx->client && config_modem_pin(m, ctx->path, ctx->scan, ctx->err,
			    ctx->errlen) == -1))
				return -1;
		} else if (strncasecmp(name, "smpp ", 5) == 0) {
			if (conflink_load_smpp(ctx, name, s, conf) == -1)
				return -1;
		} else {
			return conf_error(ctx, name, NULL,
			    "unknown section (expected pigeon, database, http, retention, "
			    MODEM_DEFAULTS ", modem NAME or smpp NAME)");
		}
	}
	/* Sections that were left out still get their defaults. */
	if (!seen_pigeon && conf_apply_section(ctx, "pigeon", NULL, pigeon_keys, conf, 0,
	    NULL) == -1)
		return -1;
	if (!seen_database)
		return conf_error(ctx, "database", "conninfo", "is required");
	if (!seen_retention)
		config_retention_apply(&conf->retention, NULL, ctx->path, ctx->scan, NULL, 0);
	if (!seen_http && conf_apply_section(ctx, "http", NULL, http_keys, conf, 0, NULL) == -1)
		return -1;
	return 0;
}

static int
load(const char *path, struct pigeon_conf *conf, int client, char *err, size_t errlen)
{
	struct parse_ctx ctx = { path, err, errlen, NULL, client };
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
	if (rc == 0 && !client)
		rc = confcheck_all(&ctx, conf);
	/* A client sends the token to the address the file names: a file
	 * others can change is refused, as pigeond refuses it. */
	if (rc == 0 && client)
		rc = confcheck_mode(&ctx, NULL, NULL, path, NULL);
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

int
config_load(const char *path, struct pigeon_conf *conf, char *err, size_t errlen)
{
	return load(path, conf, 0, err, errlen);
}

int
config_load_client(const char *path, struct pigeon_conf *conf, char *err, size_t errlen)
{
	return load(path, conf, 1, err, errlen);
}

/* The [pigeon] keys whose row says RELOAD, from src into dst (SIGHUP). */
int
config_reload_keys(struct pigeon_conf *dst, const struct pigeon_conf *src)
{
	for (const struct key_def *def = pigeon_keys; def->name; def++) {
		if (!def->reload)
			continue;
		char *d = (char *)dst + def->offset;
		const char *v = (const char *)src + def->offset;
		if (def->type == KEY_INT || def->type == KEY_BOOL) {
			*(int *)d = *(const int *)v;
		} else {
			char *copy = strdup(*(char *const *)v ? *(char *const *)v : "");
			if (copy == NULL)
				return -1;
			free(*(char **)d);
			*(char **)d = copy;
		}
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

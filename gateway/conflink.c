/*
 * conflink.c: the link sections of the configuration: [modem NAME] (the
 * keys of a gammurc section, a modem bank's routes and rates) and [smpp
 * NAME] (a bind to a carrier's SMSC), and what is done with them: copied
 * for the running links, compared on SIGHUP, checked for two modems on
 * one device.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "config.h"
#include "confint.h"
#include "confscan.h"

const struct key_def conflink_modem_keys[] = {
	{ "device",		KEY_STRING,	M(device),	NULL, 0, 0, 0 },
	{ "connection",		KEY_STRING,	M(connection),	"at", 0, 0, 0 },
	{ "model",		KEY_STRING,	M(model),	"", 0, 0, 0 },
	{ "logfile",		KEY_STRING,	M(logfile),	"", 0, 0, 0 },
	{ "logformat",		KEY_STRING,	M(logformat),	"", 0, 0, 0 },
	{ "smsc",		KEY_STRING,	M(smsc),	"", 0, 0, 0 },
	{ "enabled",		KEY_BOOL,	M(enabled),	"yes", 0, 0, 0 },
	{ "poll_ms",		KEY_INT,	M(poll_ms),	"1000", 10, 600000, 0 },
	{ "routes",		KEY_STRING,	M(routes),	"", 0, 0, 0 },
	{ "rate",		KEY_STRING,	M(rate),	"", 0, 0, 0 },
	{ "report",		KEY_BOOL,	M(report),	"no", 0, 0, 0 },
	{ "drain",		KEY_BOOL,	M(drain),	"no", 0, 0, 0 },
	{ "health_seconds",	KEY_INT,	M(health_seconds), "60", 1, 86400, 0 },
	{ "send_wait_seconds",	KEY_INT,	M(send_wait_seconds), "30", 1, 300, 0 },
	{ "pin",		KEY_STRING,	M(pin),		"", 0, 0, 0 },
	{ "pin_file",		KEY_STRING,	M(pin_file),	"", 0, 0, 0 },
	{ NULL, 0, 0, NULL, 0, 0, 0 }
};

/* [smpp NAME]: docs/carrier.md says what to ask the carrier for. */
static const struct key_def smpp_keys[] = {
	{ "host",		KEY_STRING,	M(host),	NULL, 0, 0, 0 },
	{ "port",		KEY_INT,	M(port),	"2775", 1, 65535, 0 },
	{ "system_id",		KEY_STRING,	M(system_id),	NULL, 0, 0, 0 },
	{ "password",		KEY_STRING,	M(password),	"", 0, 0, 0 },
	{ "password_file",	KEY_STRING,	M(password_file), "", 0, 0, 0 },
	{ "system_type",	KEY_STRING,	M(system_type),	"", 0, 0, 0 },
	{ "bind",		KEY_BIND,	M(bind),	"transceiver", 0, 0, 0 },
	{ "source_addr",	KEY_STRING,	M(source_addr),	"", 0, 0, 0 },
	{ "source_ton",		KEY_INT,	M(source_ton),	"0", 0, 6, 0 },
	{ "source_npi",		KEY_INT,	M(source_npi),	"0", 0, 18, 0 },
	{ "dest_ton",		KEY_INT,	M(dest_ton),	"1", 0, 6, 0 },
	{ "dest_npi",		KEY_INT,	M(dest_npi),	"1", 0, 18, 0 },
	{ "window",		KEY_INT,	M(window),	"10", 1, 1000, 0 },
	{ "ahead",		KEY_INT,	M(ahead),	"4", 1, 64, 0 },
	{ "receipts_yield",	KEY_INT,	M(receipts_yield), "30", 0, 3600, 0 },
	{ "rate",		KEY_STRING,	M(rate),	"", 0, 0, 0 },
	{ "enquire_link",	KEY_INT,	M(enquire_link), "30", 5, 3600, 0 },
	{ "response_timeout",	KEY_INT,	M(response_timeout), "30", 1, 600, 0 },
	{ "report",		KEY_BOOL,	M(report),	"yes", 0, 0, 0 },
	{ "routes",		KEY_STRING,	M(routes),	"", 0, 0, 0 },
	{ "enabled",		KEY_BOOL,	M(enabled),	"yes", 0, 0, 0 },
	{ "drain",		KEY_BOOL,	M(drain),	"no", 0, 0, 0 },
	{ "long",		KEY_LONG,	M(long_mode),	"udh", 0, 0, 0 },
	{ "default_alphabet",	KEY_ALPHABET,	M(alphabet),	"gsm", 0, 0, 0 },
	{ "health_seconds",	KEY_INT,	M(health_seconds), "60", 1, 86400, 0 },
	{ NULL, 0, 0, NULL, 0, 0, 0 }
};

/* gammurc keys we accept in a modem section and do not use. */
static const char *gammurc_ignored[] = {
	"name", "synchronizetime", "use_locking", "gammuloc", "gammucoding",
	"features", "startinfo", NULL
};

int
conflink_ignored(const char *name)
{
	for (int i = 0; gammurc_ignored[i]; i++)
		if (strcasecmp(gammurc_ignored[i], name) == 0)
			return 1;
	return 0;
}

int
conflink_name_valid(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > 32)
		return 0;
	for (; *name; name++)
		if (!isalnum((unsigned char)*name) && !strchr("-_.", *name))
			return 0;
	return 1;
}

void
conflink_free(struct modem_conf *m)
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
	free(m->pin);
	free(m->pin_file);
	for (int i = 0; i < m->nroutes; i++)
		free(m->route[i]);
	free(m->route);
}

/*
 * routes: E.164 prefixes ("+21266 +21267"); rate: "6/min 300/hour 2000/day",
 * each unit at most once. Both were checked by conf_apply_section as strings.
 */
int
conflink_parse_bank(struct parse_ctx *ctx, const char *section, struct modem_conf *m)
{
	char *copy, *tok, *save = NULL;

	if ((copy = strdup(m->routes)) == NULL)
		return conf_error(ctx, section, "routes", "out of memory");
	for (tok = strtok_r(copy, " \t,", &save); tok; tok = strtok_r(NULL, " \t,", &save)) {
		if (tok[0] != '+' || !conf_all_digits(tok + 1) || strlen(tok) > 16) {
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
		/* The windows' ring holds CONFIG_RATE_MAX sends (ratelimit.c);
		 * more was a limit silently lowered to it. The worker paces
		 * /s itself. */
		if (slot != NULL && slot != &m->rate_sec && n > CONFIG_RATE_MAX) {
			*slash = '/';
			conf_error(ctx, section, "rate", "'%s': at most %d a minute, hour "
			    "or day", tok, CONFIG_RATE_MAX);
			free(copy);
			return -1;
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
	m->pin = dup_or_empty(src->pin);
	m->pin_file = dup_or_empty(src->pin_file);
	m->route = src->nroutes ? calloc(src->nroutes, sizeof(*m->route)) : NULL;
	int ok = m->name && m->device && m->connection && m->model && m->logfile &&
	    m->logformat && m->smsc && m->routes && m->rate && m->host &&
	    m->system_id && m->password && m->password_file && m->system_type &&
	    m->bind && m->source_addr && m->long_mode && m->alphabet && m->pin &&
	    m->pin_file &&
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
	conflink_free(m);
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
		    a->source_npi != b->source_npi || a->dest_ton != b->dest_ton ||
		    a->dest_npi != b->dest_npi || a->window != b->window ||
		    a->ahead != b->ahead ||
		    a->rate_sec != b->rate_sec || a->enquire_link != b->enquire_link ||
		    a->response_timeout != b->response_timeout ||
		    strcmp(a->long_mode, b->long_mode) || strcmp(a->alphabet, b->alphabet) ||
		    a->health_seconds != b->health_seconds;
	return strcmp(a->device, b->device) || strcmp(a->connection, b->connection) ||
	    strcmp(a->model, b->model) || strcmp(a->logfile, b->logfile) ||
	    strcmp(a->logformat, b->logformat) || strcmp(a->smsc, b->smsc) ||
	    a->poll_ms != b->poll_ms || a->health_seconds != b->health_seconds ||
	    a->send_wait_seconds != b->send_wait_seconds || strcmp(a->pin, b->pin);
}

/* A new link section's slot, named; NULL (and err set) on a bad name. */
struct modem_conf *
conflink_add(struct parse_ctx *ctx, const char *section, const char *lname,
    struct pigeon_conf *conf)
{
	struct modem_conf *nm, *m;

	if (!conflink_name_valid(lname)) {
		conf_error(ctx, section, NULL, "%s names are 1-32 of letters, digits, "
		    "'-', '_', '.'", strncasecmp(section, "smpp", 4) == 0 ? "smpp" : "modem");
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

/*
 * SMPP 3.4 sizes its bind's strings (C-Octet Strings, the NUL counted):
 * system_id 16, password 9, system_type 13, source_addr 21. A longer
 * value was cut by the worker to fit, and a right password of ten
 * characters made the bind fail as "invalid password".
 */
static int
smpp_size(struct parse_ctx *ctx, const char *section, const char *key,
    const char *what, const char *v, size_t max)
{
	if (v == NULL || strlen(v) <= max)
		return 0;
	return conf_error(ctx, section, key, "%s is %zu characters; SMPP 3.4 takes "
	    "at most %zu", what, strlen(v), max);
}

static int
smpp_sizes(struct parse_ctx *ctx, const char *section, const struct modem_conf *m)
{
	if (smpp_size(ctx, section, "system_id", "the system_id", m->system_id, 15) == -1 ||
	    smpp_size(ctx, section, *m->password_file ? "password_file" : "password",
	    "the password", m->password, 8) == -1 ||
	    smpp_size(ctx, section, "system_type", "the system_type", m->system_type,
	    12) == -1 ||
	    smpp_size(ctx, section, "source_addr", "the source_addr", m->source_addr,
	    20) == -1)
		return -1;
	return 0;
}

/* [smpp NAME]: a bind; its password from the key or from password_file. */
int
conflink_load_smpp(struct parse_ctx *ctx, const char *section, INI_Section *s,
    struct pigeon_conf *conf)
{
	const char *lname = section + 5;
	struct modem_conf *m;
	char line[256];
	FILE *f;

	while (*lname == ' ')
		lname++;
	if ((m = conflink_add(ctx, section, lname, conf)) == NULL)
		return -1;
	m->kind = CONF_SMPP;
	if (conf_apply_section(ctx, section, s->SubEntries, smpp_keys, m, 0, NULL) == -1 ||
	    conflink_parse_bank(ctx, section, m) == -1)
		return -1;
	if (*m->password && *m->password_file)
		return conf_error(ctx, section, "password_file",
		    "give password or password_file, not both");
	if (*m->password_file == '\0' || ctx->client)
		return smpp_sizes(ctx, section, m);
	if (confcheck_mode(ctx, section, "password_file", m->password_file,
	    "the bind's password") == -1)
		return -1;
	if ((f = fopen(m->password_file, "r")) == NULL)
		return conf_error(ctx, section, "password_file", "%s: %s",
		    m->password_file, strerror(errno));
	if (fgets(line, sizeof(line), f) == NULL)
		line[0] = '\0';
	fclose(f);
	line[strcspn(line, "\r\n")] = '\0';
	if (line[0] == '\0')
		return conf_error(ctx, section, "password_file", "%s: its first line is empty",
		    m->password_file);
	free(m->password);
	if ((m->password = strdup(line)) == NULL)
		return conf_error(ctx, section, "password_file", "out of memory");
	return smpp_sizes(ctx, section, m);
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
int
conflink_check_devices(struct parse_ctx *ctx, const struct pigeon_conf *conf)
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

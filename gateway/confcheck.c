/*
 * confcheck.c: what a start would trip over later, checked at -n, at
 * start and at SIGHUP, each naming its line: the conninfo, the token file,
 * the webhook URLs, the time zone, the workers' programs, and files holding
 * a secret that others can read or change.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <strings.h>
#include <sys/stat.h>

#include <event2/http.h>
#include <libpq-fe.h>

#include "config.h"
#include "confint.h"
#include "confscan.h"

/* Others may neither change a file pigeond trusts nor read a secret in it. */
int
confcheck_mode(struct parse_ctx *ctx, const char *section, const char *key, const char *path,
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

/* port_file: pigeond writes PATH.tmp beside it, then renames it. */
static int
check_port_file(struct parse_ctx *ctx, const char *path)
{
	const char *slash = strrchr(path, '/');
	char dir[4096];
	struct stat st;

	if (path[0] != '/' || slash[1] == '\0')
		return conf_error(ctx, "http", "port_file", "'%s' is not an absolute "
		    "path of a file", path);
	snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
	if (stat(dir, &st) == -1)
		return conf_error(ctx, "http", "port_file", "%s: %s", dir, strerror(errno));
	if (!S_ISDIR(st.st_mode) || access(dir, W_OK) == -1)
		return conf_error(ctx, "http", "port_file", "%s: not a directory this user "
		    "can write in", dir);
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
		if (confcheck_mode(ctx, "http", "token_file", file, "the token") == -1)
			return -1;
	}

	/* Port 0 takes any free port: clients learn which from port_file. */
	const char *colon = strrchr(conf->http_listen, ':');
	if (colon != NULL && strtol(colon + 1, NULL, 10) == 0 && *conf->http_port_file == '\0')
		return conf_error(ctx, "http", "listen", "port 0 (any free port) needs "
		    "port_file, where pigeond writes the port it took");
	if (*conf->http_port_file && check_port_file(ctx, conf->http_port_file) == -1)
		return -1;

	if (*conf->http_tokens_file && confcheck_mode(ctx, "http", "tokens_file",
	    conf->http_tokens_file, "tokens") == -1)
		return -1;

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

	/* public_url: what the feeds' links begin with, so a scheme and a
	 * host, nothing after them (the pages' own links are relative). */
	if (*conf->http_public_url) {
		const char *u = conf->http_public_url;
		struct evhttp_uri *uri = evhttp_uri_parse(u);
		const char *scheme = uri ? evhttp_uri_get_scheme(uri) : NULL;
		const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
		int ok = scheme && (strcmp(scheme, "http") == 0 ||
		    strcmp(scheme, "https") == 0) && evhttp_uri_get_host(uri) &&
		    *evhttp_uri_get_host(uri) && (path == NULL || *path == '\0' ||
		    strcmp(path, "/") == 0) && evhttp_uri_get_query(uri) == NULL &&
		    evhttp_uri_get_fragment(uri) == NULL &&
		    evhttp_uri_get_userinfo(uri) == NULL && strpbrk(u, "\"<>\\ ") == NULL;
		if (uri)
			evhttp_uri_free(uri);
		if (!ok)
			return conf_error(ctx, "http", "public_url", "'%s' is not an "
			    "http[s]://host[:port] URL (the address readers reach "
			    "Pigeon at)", u);
	}
	return 0;
}

/*
 * The conninfo as store.c hands it to libpq (dbname, expand_dbname): a
 * connection string or URI when it has an '=' or begins with postgresql://
 * or postgres://, else a database name. One libpq refuses made pigeond
 * retry its connection for ever. *password: whether it holds one (the
 * key, a URI's user:password@ or its ?password=).
 */
static int
check_conninfo(struct parse_ctx *ctx, const char *conninfo, int *password)
{
	PQconninfoOption *opts;
	char *msg = NULL;

	*password = 0;
	if (strchr(conninfo, '=') == NULL && strncmp(conninfo, "postgresql://", 13) != 0 &&
	    strncmp(conninfo, "postgres://", 11) != 0)
		return 0;
	if ((opts = PQconninfoParse(conninfo, &msg)) == NULL) {
		if (msg == NULL)
			return conf_error(ctx, "database", "conninfo", "out of memory");
		msg[strcspn(msg, "\n")] = '\0';
		conf_error(ctx, "database", "conninfo", "libpq refuses it: %s", msg);
		PQfreemem(msg);
		return -1;
	}
	for (PQconninfoOption *o = opts; o->keyword; o++)
		if (strcmp(o->keyword, "password") == 0 && o->val && *o->val)
			*password = 1;
	PQconninfoFree(opts);
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

/*
 * A send's lease must outlast the longest a link can hold it, or another
 * host (or this one's reclaim) sends it again while it is still being
 * sent: a bind's longest throttle pause (16 s, smpp/submit.c) plus its
 * response_timeout, plus the time to work through what pigeond hands it
 * beyond its window (link.c: `ahead` windows in all) at its rate, which
 * counts submit_sm, a part each: as many as a fan-out copy may have.
 * (A modem's send is shorter than the default lease; tests shorten the
 * lease.)
 */
#define SMPP_PAUSE_MAX_S	16

static int
check_lease(struct parse_ctx *ctx, const struct pigeon_conf *conf)
{
	int parts = conf->fanout_parts_gsm > conf->fanout_parts_ucs2 ?
	    conf->fanout_parts_gsm : conf->fanout_parts_ucs2;

	for (size_t i = 0; i < conf->nmodems; i++) {
		const struct modem_conf *m = &conf->modems[i];
		if (m->kind != CONF_SMPP)
			continue;
		int need = SMPP_PAUSE_MAX_S + m->response_timeout + (m->rate_sec > 0 ?
		    m->ahead * m->window * parts / m->rate_sec : 0);
		if (conf->lease_seconds <= need)
			return conf_error(ctx, "pigeon", "lease_seconds",
			    "%d s is not longer than the bind %s can hold a send "
			    "(%d s): raise it above %d", conf->lease_seconds,
			    m->name, need, need);
	}
	return 0;
}

/* What a start would trip over later; each names its line. */
int
confcheck_all(struct parse_ctx *ctx, const struct pigeon_conf *conf)
{
	if (*conf->modem_program && access(conf->modem_program, X_OK) == -1)
		return conf_error(ctx, "pigeon", "modem_program", "%s: %s",
		    conf->modem_program, strerror(errno));
	if (*conf->smpp_program && access(conf->smpp_program, X_OK) == -1)
		return conf_error(ctx, "pigeon", "smpp_program", "%s: %s",
		    conf->smpp_program, strerror(errno));
	int db_password;
	if (check_conninfo(ctx, conf->conninfo, &db_password) == -1 ||
	    check_timezone(ctx, conf->timezone) == -1 || check_http(ctx, conf) == -1 ||
	    conflink_check_devices(ctx, conf) == -1 || check_lease(ctx, conf) == -1)
		return -1;
	/* A sent part must outlive the time its status report may take. */
	if (conf->retention.outbox_days > 0 &&
	    (long)conf->retention.outbox_days * 86400 < conf->report_window)
		return conf_error(ctx, "retention", "outbox_days", "%d day(s) is shorter "
		    "than [pigeon] report_window (%d s): a report would find its part "
		    "purged; keep %ld or more", conf->retention.outbox_days,
		    conf->report_window, (conf->report_window + 86399) / 86400L);
	/* The file itself: the token, a password in the conninfo (its key or
	 * a URI's), the keys that sign webhooks and callbacks (whoever has
	 * them can sign a post of their making), a bind's password. */
	const char *secret = *conf->http_token ? "[http] token" :
	    db_password ? "a password in [database] conninfo" :
	    *conf->http_webhook_secret ? "[http] webhook_secret" :
	    *conf->http_dlr_secret ? "[http] dlr_secret" : NULL;
	char smpp[96];
	for (size_t i = 0; secret == NULL && i < conf->nmodems; i++)
		if (conf->modems[i].kind == CONF_SMPP && *conf->modems[i].password &&
		    *conf->modems[i].password_file == '\0') {
			snprintf(smpp, sizeof(smpp), "[smpp %s] password", conf->modems[i].name);
			secret = smpp;
		}
	struct stat st;
	if (stat(ctx->path, &st) == 0 && (st.st_mode & S_IWOTH))
		return conf_error(ctx, NULL, NULL,
		    "writable by others (mode %04o): chmod o-w it",
		    (unsigned)(st.st_mode & 07777));
	if (secret && stat(ctx->path, &st) == 0 && (st.st_mode & S_IROTH))
		return conf_error(ctx, NULL, NULL,
		    "holds a secret (%s) and others can read it (mode %04o): chmod 600 "
		    "it (or 640 with group pigeon)", secret, (unsigned)(st.st_mode & 07777));
	return 0;
}
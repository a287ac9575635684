/* config.c: the INI configuration file (read with libgammu's INI functions). */
#ifndef PIGEON_CONFIG_H
#define PIGEON_CONFIG_H

/* Shortest [http] token accepted: a guessable token opens the operator API. */
#define CONFIG_TOKEN_MIN	32
/* Most sends a rate's /min, /hour or /day may allow: ratelimit.c keeps
 * the time of each send its largest window counts, that many at most. */
#define CONFIG_RATE_MAX		100000

#include <stddef.h>

/* The kinds of link section: [modem NAME] and [smpp NAME]. */
enum conf_link_kind {
	CONF_MODEM,
	CONF_SMPP,
};

/*
 * One link: a [modem NAME] or an [smpp NAME] section. The keys of the
 * other kind are left at zero (NULL strings are "" after a copy).
 */
struct modem_conf {
	char	*name;		/* from the section title [modem NAME] */
	enum conf_link_kind kind;
	/* gammurc keys, passed to the worker as they are */
	char	*device;
	char	*connection;
	char	*model;
	char	*logfile;
	char	*logformat;
	char	*smsc;
	int	 enabled;
	int	 poll_ms;	/* how often the worker lists stored SMS */
	char	*routes;	/* destination prefixes, space separated */
	char	*rate;		/* e.g. "6/min 300/hour" */
	/* the modem bank (supervisor.c, scheduler.c) */
	char	**route;	/* routes parsed: "+21266", ... */
	int	 nroutes;
	int	 rate_min, rate_hour, rate_day;	/* sends allowed; 0 = no limit */
	int	 report;	/* ask the network for delivery reports */
	int	 drain;		/* finish the send in flight, then take no more */
	int	 health_seconds;	/* how often the worker reports signal etc. */
	/* [smpp NAME]: a bind to a carrier's SMSC (pigeon-smpp) */
	char	*host;
	int	 port;
	char	*system_id, *password, *password_file, *system_type;
	char	*bind;		/* transceiver, or transmitter+receiver */
	char	*source_addr;	/* the shortcode; "" = [pigeon] shortcode */
	int	 source_ton, source_npi;
	int	 dest_ton, dest_npi;	/* the recipients': 2 writes ours nationally */
	int	 window;	/* submit_sm unanswered at once */
	int	 ahead;		/* windows' worth pigeond hands the worker (link.c) */
	int	 receipts_yield;	/* seconds its receipts give way to its
					 * sends at its window (reports.c) */
	int	 rate_sec;	/* sends a second (rate = 100/s); 0 = no cap */
	int	 enquire_link;	/* seconds */
	int	 response_timeout;	/* seconds a submit_sm waits for its answer */
	char	*long_mode;	/* udh or payload */
	char	*alphabet;	/* data_coding 0 is gsm or latin1 at this SMSC */
	int	 send_wait_seconds;	/* the worker's wait for the network, per part */
	char	*pin;		/* the SIM PIN ("" = none), also read from pin_file */
	char	*pin_file;
};

/* [retention] (confretention.c): days each kind of row is kept; 0 = for ever. */
struct retention_conf {
	int	 inbox_days;		/* SMS received, and their parts */
	int	 outbox_days;		/* SMS sent or given up, with their history */
	int	 status_reports_days;
	int	 webhooks_days;		/* webhook deliveries made or given up */
	int	 follow_events_days;	/* follows undone (a follow still on is kept) */
	int	 modem_history_days;
	int	 interval_seconds;	/* how often the purge runs */
	int	 batch;			/* rows per statement */
};

struct pigeon_conf {
	/* [pigeon] */
	char	*shortcode;
	char	*country;	/* calling code, digits */
	char	*language;	/* en, fr or ar */
	int	 post_max;	/* characters */
	char	*hostname;	/* this host's name in the shared database */
	char	*modem_program;	/* path of pigeon-modem; "" = next to pigeond */
	char	*smpp_program;	/* path of pigeon-smpp; "" = next to pigeond */
	int	 lease_seconds;	/* a claimed message returns to the queue after this */
	int	 concat_timeout;	/* seconds to wait for the missing parts of an SMS */
	/* the modem bank's scheduler and watchdog */
	int	 max_attempts;	/* sends of one message before it fails */
	int	 retry_seconds;	/* first retry delay; doubles per attempt */
	int	 validity;	/* seconds a message may wait before it expires */
	int	 watchdog_seconds;	/* a worker silent this long (idle) is killed */
	int	 restart_max_seconds;	/* the longest wait before restarting a worker */
	int	 report_window;	/* seconds a status report may come after a send */
	/* the shortcode language (commands.c, written to the settings table) */
	char	*timezone;	/* quiet hours and dates, e.g. Africa/Casablanca */
	int	 fanout_chunk;		/* followers a fan-out transaction */
	int	 fanout_parts_gsm;	/* parts of a fan-out SMS in GSM-7 ... */
	int	 fanout_parts_ucs2;	/* ... and in UCS-2, cut with "… GET h" */
	int	 reply_parts;	/* parts of a reply carrying a user's text */
	int	 limit_minute, limit_day;	/* commands per sender */
	int	 reply_cap_hour, reply_cap_day;	/* replies per recipient */
	int	 hold_max_age;	/* seconds a held update may wait */
	int	 track_max;	/* words a member may TRACK */
	int	 track_day;	/* tracking SMS to a member a day */
	int	 recipient_day;	/* SMS to one phone a day, every path (0: none) */
	int	 loop_rounds, loop_window;	/* auto-responder loop detector */
	int	 repeat_window;		/* the same post again: not posted */
	int	 link_budget_day;	/* parts a link sends a day before the alert (0: none) */
	/* logging (common/log.c) */
	char	*log_level;	/* error, warning, info or debug */
	int	 log_numbers;	/* show phone numbers whole in info lines */
	/* [database] */
	char	*conninfo;
	/* [http] */
	char	*http_listen;	/* host:port; port 0: any free one */
	char	*http_port_file;	/* pigeond writes the port it listens on
					 * there (""= none); pigeonctl reads it */
	char	*http_token;
	char	*http_token_file;	/* the token is its first line */
	char	*http_tokens_file;	/* named tokens with scopes (api_tokens.c) */
	char	*http_webhooks;	/* URLs each new post is POSTed to, space separated */
	char	*http_webhook_secret;	/* key of X-Pigeon-Signature; "" = none */
	char	*http_public_url;	/* the feeds' links: scheme://host[:port];
					 * "": http:// and the Host header */
	char	*http_dlr_secret;	/* the same for dlr_url callbacks; "":
					 * webhook_secret */
	char	*http_dlr_hosts;	/* hosts a dlr_url may name; "" = any */
	int	 http_webhook_seconds;	/* total time a delivery may take */
	int	 http_dlr_conns;	/* dlr_url deliveries in flight at once */
	int	 http_max_conns;	/* connections at once, all clients */
	int	 http_max_conns_addr;	/* connections at once from one address */
	int	 http_request_s;	/* time to send one request's head and body */
	int	 http_public_rate;	/* public requests a minute per address */
	int	 http_search_rate;	/* /api/search requests a minute per address */
	int	 http_max_recipients;	/* "to" of one POST /api/messages at most */
	/* [retention] */
	struct retention_conf retention;
	/* [modem NAME] and [smpp NAME] sections, in file order */
	struct modem_conf *modems;
	size_t	 nmodems;
};

/*
 * Reads path into conf (zeroed first). On error returns -1 with one line
 * in err saying where and what ("FILE:LINE: [section] key: problem");
 * conf holds nothing to free then. Besides the values it checks what a
 * start would trip over later: the token file, the webhook URLs, the time
 * zone, two modems on one device, and a file holding a secret that others
 * can read.
 */
int	 config_load(const char *path, struct pigeon_conf *conf, char *err, size_t errlen);
/*
 * The same for a client of pigeond (pigeonctl): the file's syntax and
 * values, but no secret is read (pin_file, password_file) and nothing of
 * config_load's start checks is run. An operator who may read the
 * configuration but not the modems' PINs or the binds' passwords (owned by
 * pigeond's user, mode 600) still gets its [http] address and token.
 */
int	 config_load_client(const char *path, struct pigeon_conf *conf, char *err,
	    size_t errlen);
void	 config_free(struct pigeon_conf *conf);
/* confretention.c: applies a [retention] section's entries (NULL: the
 * defaults); -1 with "PATH:LINE: [retention] key: problem" in err. */
struct _INI_Entry;
struct confscan;
int	 config_retention_apply(struct retention_conf *, struct _INI_Entry *entries,
	    const char *path, const struct confscan *, char *err, size_t errlen);
/* confpin.c: checks pin and pin_file, and reads pin_file into pin. */
int	 config_modem_pin(struct modem_conf *, const char *path, const struct confscan *,
	    char *err, size_t errlen);
const struct modem_conf *config_modem(const struct pigeon_conf *, const char *name);
/* SIGHUP: the [pigeon] keys marked reloadable in config.c's table, from
 * src into dst; the others take a restart (docs/operator.md). 0 or -1. */
int	 config_reload_keys(struct pigeon_conf *dst, const struct pigeon_conf *src);
/* A deep copy the supervisor keeps across reloads; NULL when out of memory. */
struct modem_conf *config_modem_copy(const struct modem_conf *);
void	 config_modem_free(struct modem_conf *);
/* 1 when the worker must be restarted to apply b (gammurc keys, poll_ms,
 * an SMPP bind's keys). */
int	 config_modem_needs_restart(const struct modem_conf *a, const struct modem_conf *b);

#endif

/*
 * pigeond.h: the daemon's shared state and every gateway subsystem's public
 * functions, one heading per file, so that the whole API is in one place.
 */
#ifndef PIGEON_PIGEOND_H
#define PIGEON_PIGEOND_H

#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>

#include <event2/event.h>
#include <jansson.h>

#include "config.h"

struct store;
struct evhttp;

/*
 * A modem as the supervisor sees it; one pigeon-modem process each. The
 * state changes only in supervisor.c's modem_set_state, which records it.
 */
enum modem_state {
	MODEM_STARTING,	/* process started, connecting to the modem */
	MODEM_ONLINE,	/* identified; takes sends */
	MODEM_OFFLINE,	/* process exited, hung or cannot reach the modem; restart pending */
	MODEM_DISABLED,	/* enabled = no, disabled by the operator, or removed: no process */
	MODEM_DRAINING,	/* drained: finishes its send, reads SMS, takes no new sends */
	MODEM_ELSEWHERE,	/* another host holds its lock (same name in two configs): no process */
};

/*
 * This host's hold on a modem's session advisory lock (hostlock.c). A
 * modem is driven (sends, deletes, its row in `modems`) only while HELD.
 */
enum modem_lock {
	LOCK_NONE,	/* not held: database down, or not tried yet on this connection */
	LOCK_TRYING,	/* pg_try_advisory_lock in flight */
	LOCK_HELD,	/* this host's connection holds it */
	LOCK_ELSEWHERE,	/* another connection holds it; tried again every few seconds */
};

/* Sliding-window send counts for `rate = 6/min 300/hour 2000/day`. */
struct ratelimit {
	int64_t		*at;		/* ring of send times (ms, monotonic) */
	int		 cap, head, n;
};

struct modem {
	TAILQ_ENTRY(modem) entry;
	struct modem_conf *conf;	/* its own copy; replaced on reload */
	const char	*name;		/* conf->name */
	enum modem_state state;
	enum modem_state want;		/* ONLINE, DISABLED or DRAINING: the operator's wish */
	int		 removed;	/* gone from the config: kept aside once stopped */
	int		 respawn;	/* config changed: restart the process once idle */
	pid_t		 pid;		/* 0 when no process */
	unsigned	 generation;	/* counts process starts */
	unsigned	 restarts;	/* process starts after the first */
	struct bufferevent *bev;	/* the channel to the process */
	struct event	*ev_restart;
	struct event	*ev_watch;	/* ping / watchdog timer */
	int		 backoff_ms;
	time_t		 started_at;
	int64_t		 sending;	/* outbox id in flight, 0 when idle */
	int64_t		 send_started;	/* ms (monotonic) the send was handed over */
	int		 send_parts;	/* parts the send may need, for the watchdog */
	int64_t		 last_heard;	/* ms (monotonic) of the last line from it */
	int64_t		 ping_seq;
	struct ratelimit rate;
	char		 reason[256];	/* why it is in its state */
	json_t		*info;		/* identification from "ready" */
	/* The last health poll ("health" message): signal_percent, signal_dbm,
	 * registration, operator, operator_name, battery_percent, imsi (keys
	 * missing when the modem did not say); NULL before the first. */
	json_t		*health;
	time_t		 health_at;
	unsigned	 sms_sent, sms_failed;	/* since pigeond started */
	int		 fails_in_row;	/* temporary send failures since its last success */
	enum modem_lock	 lock;
	int		 lock_ever;	/* held once: a later hold is a resume */
	char		 lock_holder[160];	/* who holds it when LOCK_ELSEWHERE */
};
TAILQ_HEAD(modem_list, modem);

struct pigeond {
	struct event_base *base;
	struct pigeon_conf conf;
	const char	*config_path;
	struct store	*store;
	struct modem_list modems;
	char		 modem_program[4096];
	int		 verbose;
	int		 draining;	/* SIGTERM: finish what is in flight, then exit */
};

extern struct pigeond env;

/* main.c */
void	 pigeond_check_drained(void);

/* supervisor.c */
int	 supervisor_init(void);
void	 supervisor_start(void);
void	 supervisor_stop(void);
void	 supervisor_reap(void);
void	 supervisor_db_up(void);
int	 supervisor_busy(void);
void	 supervisor_free(void);
struct modem *modem_find(const char *name);
/* "starting", "online", "offline", "disabled", "draining", "elsewhere"
 * (also in JSON). */
const char *modem_state_name(enum modem_state);
int	 modem_send(struct modem *, int64_t id, const char *to, const char *text,
	    int max_parts, const char *more);
int	 modem_delete(struct modem *, unsigned generation, int folder, int location);
/* 1 when the modem can take a send now (online, idle, channel open). */
int	 modem_idle(const struct modem *);
/* The scheduler saw a send fail: too many in a row restart the modem. */
void	 modem_send_failed(struct modem *, const char *why);
/* For modemctl.c: the state machine's steps. */
struct modem *modem_new(const struct modem_conf *);
void	 modem_spawn(struct modem *);
void	 modem_start_now(struct modem *);
/* Closes an idle channel whose worker should not run (disabled, etc.). */
void	 modem_settle(struct modem *);
void	 modem_set_state(struct modem *, enum modem_state, const char *reason);
void	 modem_record(struct modem *);
void	 supervisor_set_aside(struct modem *);

/* modemctl.c */
/* Operator actions (HTTP, SIGHUP); 0, or -1 when the modem is removed.
 * Disable and drain let the send in flight finish first. */
int	 modem_enable(struct modem *);
int	 modem_disable(struct modem *);
int	 modem_drain(struct modem *);
/* SIGHUP: re-reads the config file; modems added, removed, changed. */
void	 supervisor_reload(void);
/* hostlock.c says: this host now holds the modem's lock / another holds it. */
void	 supervisor_lock_held(struct modem *);
void	 supervisor_lock_elsewhere(struct modem *);

/* hostlock.c */
int	 hostlock_init(void);
void	 hostlock_db_up(void);
void	 hostlock_db_down(void);
/* Tries every configured modem whose lock is not held (never waits). */
void	 hostlock_kick(void);
/* A modem leaves the configuration: let another host have it. */
void	 hostlock_release(struct modem *);
/* SIGTERM: stop saying that this host waits for other hosts' modems. */
void	 hostlock_stop(void);
int	 hostlock_busy(void);
/* "held", "waiting" or "elsewhere", for /healthz and the API. */
const char *hostlock_name(const struct modem *);
void	 hostlock_free(void);

/* watchdog.c */
void	 watchdog_start(struct modem *);
void	 watchdog_stop(struct modem *);
void	 watchdog_health(struct modem *, json_t *msg);

/* ratelimit.c */
int	 ratelimit_init(struct ratelimit *, const struct modem_conf *);
void	 ratelimit_free(struct ratelimit *);
/* 1 when one more send now stays within every configured limit. */
int	 ratelimit_allows(const struct ratelimit *, const struct modem_conf *, int64_t now_ms);
void	 ratelimit_record(struct ratelimit *, int64_t now_ms);
int64_t	 pigeon_now_ms(void);

/* reports.c */
void	 reports_sms(struct modem *, json_t *msg);
void	 reports_kick(void);
int	 reports_busy(void);
void	 reports_free(void);

/* inbound.c */
void	 inbound_sms(struct modem *, json_t *msg);
void	 inbound_kick(void);
int	 inbound_busy(void);
void	 inbound_free(void);

/* commands.c */
void	 commands_kick(void);
void	 commands_expire(void);
void	 commands_db_up(void);
int	 commands_busy(void);

/* scheduler.c */
int	 scheduler_init(void);
void	 scheduler_kick(void);
void	 scheduler_db_up(void);
void	 scheduler_sent(struct modem *, json_t *msg);
void	 scheduler_send_failed(struct modem *, json_t *msg);
void	 scheduler_modem_lost(struct modem *, const char *why);
int	 scheduler_busy(void);
void	 scheduler_free(void);

/* http.c */
int	 http_start(char *err, size_t errlen);
void	 http_stop(void);

/* webhook.c */
int	 webhook_init(char *err, size_t errlen);
void	 webhook_db_up(void);
void	 webhook_kick(void);
void	 webhook_free(void);

#endif

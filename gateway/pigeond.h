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
 * A link's state (link.c). A link is a worker process that reaches phones:
 * a GSM modem today (pigeon-modem), an SMPP bind later. The state, the
 * lock and the operator's wish change only in link.c's link_step.
 */
enum link_state {
	LINK_STARTING,	/* process started, connecting to the modem */
	LINK_ONLINE,	/* identified; takes sends */
	LINK_OFFLINE,	/* process exited, hung or cannot reach the modem; restart pending */
	LINK_DISABLED,	/* enabled = no, disabled by the operator, or removed: no process */
	LINK_DRAINING,	/* drained: finishes its sends, reads SMS, takes no new sends */
	LINK_ELSEWHERE,	/* another host holds its lock (same name in two configs): no process */
};

/*
 * This host's hold on a link's session advisory lock (hostlock.c asks,
 * link.c records the answer). A link is driven (sends, deletes, its row
 * in `modems`) only while HELD.
 */
enum link_lock {
	LOCK_NONE,	/* not held: database down, or not tried yet on this connection */
	LOCK_TRYING,	/* pg_try_advisory_lock in flight */
	LOCK_HELD,	/* this host's connection holds it */
	LOCK_ELSEWHERE,	/* another connection holds it; tried again every few seconds */
};

enum link_kind {
	LINK_MODEM,	/* pigeon-modem, one send at a time */
	LINK_SMPP,	/* pigeon-smpp, a window of sends in flight */
};

/* What happens to a link; who sends each is listed in link.c. */
enum link_event {
	LEV_START,		/* pigeond starts, or a reload added it */
	LEV_RESTART,		/* the backoff after an exit ran out */
	LEV_SPAWNED,		/* a worker process runs, its channel open */
	LEV_READY,		/* the worker identified its modem, or bound */
	LEV_WORKER_ERROR,	/* the worker cannot reach its modem or SMSC (reason) */
	LEV_PART_DOWN,		/* a bind's receiver is lost, its sends go on
				 * (reason), or back (no reason) */
	LEV_EXITED,		/* the worker process ended (reason) */
	LEV_LOCK_TRYING,	/* the lock is being asked for */
	LEV_LOCK_HELD,		/* this host holds the lock */
	LEV_LOCK_ELSEWHERE,	/* another host holds it (reason: who) */
	LEV_LOCK_LOST,		/* the database connection is gone */
	LEV_ENABLE,		/* the operator (HTTP) or the config file */
	LEV_DISABLE,
	LEV_DRAIN,
	LEV_REMOVE,		/* gone from the config file */
	LEV_READD,		/* back in it before its process exited */
	LEV_RECONFIGURE,	/* changed so that its process must restart */
	LEV_SEND_STARTED,	/* a send handed to the worker (id, parts) */
	LEV_SENT,		/* the worker sent it (id) */
	LEV_SEND_FAILED,	/* the worker could not (id, temporary, reason) */
	LEV_PAUSED,		/* a bind's SMSC said slow down: no submit for
				 * ms (reason) */
	LEV_STOP,		/* pigeond stops: close the channel */
};

struct link_ev {
	enum link_event	 type;
	const char	*reason;
	int64_t		 id;		/* sends: the outbox id */
	int		 parts;		/* LEV_SEND_STARTED: parts it may need */
	int		 temporary;	/* LEV_SEND_FAILED */
	int		 throttled;	/* LEV_SEND_FAILED: the SMSC said slow down */
	int		 link_lost;	/* LEV_SEND_FAILED: a bind's session ended
					 * under it (or it never left) */
	int		 link_refused;	/* LEV_SEND_FAILED: permanent on this link
					 * only (an SMPP address, TON/NPI...) */
	int		 bind_refused;	/* ... and the bind's own (not one
					 * recipient's): counts toward a restart */
	int		 ms;		/* LEV_PAUSED */
	const char	*claim;		/* LEV_SEND_STARTED: the claim's id */
	struct link_send *done;		/* LEV_SENT, LEV_SEND_FAILED: the send
					 * settled is copied there (may be NULL) */
	int		 crashed;	/* LEV_EXITED: a signal or a non-zero
					 * status, pigeond having asked no stop */
};

/* A send in flight on a link. */
struct link_send {
	int64_t		 id;		/* outbox id */
	int64_t		 started;	/* ms (monotonic) it was handed over */
	int64_t		 renewed;	/* ms (monotonic): its lease, last asked */
	int		 parts;		/* parts it may need, for the watchdog */
	char		 claim[24];	/* its claim's id, for the outcome */
};

/* Sliding-window send counts for `rate = 6/min 300/hour 2000/day`. */
struct ratelimit {
	int64_t		*at;		/* ring of send times (ms, monotonic) */
	int		 cap, head, n;
	int		 loading;	/* the database's counts are being read */
};

struct link {
	TAILQ_ENTRY(link) entry;
	enum link_kind	 kind;
	struct modem_conf *conf;	/* its own copy; replaced on reload (reload.c) */
	const char	*name;		/* conf->name */

	/* The lifecycle: written by link.c only. */
	enum link_state	 state;
	enum link_state	 want;		/* ONLINE, DISABLED or DRAINING: the operator's wish */
	enum link_lock	 lock;
	char		 reason[256];	/* why it is in its state */
	char		 want_by[64];	/* who made the wish, as its reason says
					 * it: "disabled by the operator", "drain
					 * = yes in the configuration" */
	int		 removed;	/* gone from the config: kept aside once stopped */
	int		 dropped;	/* set aside, and dropped from /metrics and
					 * /healthz: forgotten, or another host's
					 * now; put back, a new link */
	int		 respawn;	/* config changed: restart the process once idle */
	int		 window;	/* sends it may have unsettled at once */
	int		 inflight;	/* sends in flight: sends[0 .. inflight-1] */
	int		 recording;	/* scheduler.c's: outcomes it gave that the
					 * database has not committed yet */
	struct link_send *sends;
	int64_t		 last_send;	/* ms (monotonic) of the last send handed over */
	int		 fails_in_row;	/* temporary send failures (and refusals
					 * on this link) since its last success */
	int64_t		 paused_until;	/* ms (monotonic): a bind's submits are
					 * paused (throttled, queue full) until
					 * then: it takes no new send */
	char		 paused_why[96];	/* what the SMSC said */
	int		 restart_idle;	/* offline after failures: its worker is
					 * restarted once its sends settle */
	int		 lock_ever;	/* held once: a later hold is a resume */
	char		 lock_holder[160];	/* who holds it when LOCK_ELSEWHERE */
	int		 backoff_ms;
	struct event	*ev_restart;
	time_t		 started_at;

	/* The worker process and its channel: written by supervisor.c only. */
	pid_t		 pid;		/* 0 when no process */
	unsigned	 generation;	/* counts process starts, for ever: stale
					 * work compares its worker's with it */
	unsigned	 spawned;	/* process starts since pigeond started
					 * (or it was dropped) */
	unsigned	 restarts;	/* of them, those after the first */
	struct bufferevent *bev;	/* the channel to the process */
	int64_t		 last_heard;	/* ms (monotonic) of the last line from it */
	json_t		*info;		/* identification from "ready" */
	int		 stop_asked;	/* pigeond closed its channel or killed
					 * it (watchdog.c too): its exit is no
					 * crash */
	unsigned	 reconnects;	/* an SMPP bind's sessions lost */
	char		 part_down[256];	/* a session down while the
					 * link sends (a bind's receiver):
					 * why, until it is back */
	int		 bound;		/* an SMPP worker's sending session is
					 * bound, as the latest of its `ready`,
					 * `link` down and `health` said; 0 once
					 * its channel is closed */

	/* watchdog.c: pings and the last health poll ("health" message):
	 * signal_percent, signal_dbm, registration, operator, operator_name,
	 * battery_percent, imsi (keys missing when the modem did not say);
	 * NULL before the first. */
	struct event	*ev_watch;
	int64_t		 ping_seq;
	int64_t		 watch_from;	/* ms (monotonic): the pings' pace last
					 * changed (SIGHUP); silence counts from
					 * then at the earliest */
	int64_t		 watch_tick;	/* ms (monotonic): its watchdog's last look */
	json_t		*health;
	time_t		 health_at;
	int64_t		 health_ms;	/* ms (monotonic) of that poll */
	pid_t		 health_pid;	/* the worker that sent it */

	/* reports.c: a bind's receipts giving way to its sends
	 * (receipts_yield) since then (ms, monotonic; 0: they are not), last
	 * seen so then, and how many have, since pigeond started. */
	int64_t		 yield_since, yield_seen;
	unsigned long	 receipts_yielded;

	/* scheduler.c */
	struct ratelimit rate;
	long long	 budget_left;	/* parts it may still send today; -1: no budget */
	char		 budget_day[16];	/* the day of budget_left, YYYY-MM-DD */
	unsigned	 sms_sent, sms_failed;	/* since pigeond started */
};
TAILQ_HEAD(link_list, link);

struct pigeond {
	struct event_base *base;
	struct pigeon_conf conf;
	const char	*config_path;
	struct store	*store;
	struct link_list links;
	char		 modem_program[4096];	/* the workers' programs (main.c) */
	char		 smpp_program[4096];
	int		 verbose;
	int		 draining;	/* SIGTERM: finish what is in flight, then exit */
	int		 settings_sent;	/* pigeon_settings_load answered once */
};

extern struct pigeond env;

/* main.c */
void	 pigeond_check_drained(void);
void	 pigeond_db_ready(void);
struct store;
struct store *pigeond_store(struct store **, const char *role,
	    void (*on_state)(int up, void *arg));

/* link.c */
int	 link_init(void);
void	 link_start_all(void);
void	 link_db_up(void);
void	 link_stop_all(void);
int	 link_busy(void);
int	 link_sending(void);
int	 link_recording(void);
void	 link_free_all(void);
struct link *link_new(const struct modem_conf *);
struct link *link_find(const char *name);
/* A link SIGHUP removed, set aside once its process was gone, back in
 * the configuration: the same struct (its counters since pigeond
 * started, unless dropped) with conf, on env.links again, in *taken: 1;
 * 0 when none is aside; -1 out of memory (it stays aside). */
int	 link_take_back(const struct modem_conf *conf, struct link **taken);
/* The links set aside (removed from the configuration): /metrics and
 * /healthz still show them, disabled, unless dropped (forgotten, or
 * another host's now: a janitor job of link.c reads which). */
const struct link_list *link_set_aside_list(void);
/* `pigeonctl forget NAME` here: its set-aside link is dropped at once. */
void	 link_forgotten(const char *name);
/* The transition function; link_event is the short form for events
 * without a send. 0, or -1 when the event does not apply. */
int	 link_step(struct link *, const struct link_ev *);
int	 link_event(struct link *, enum link_event, const char *reason);
/* The reason a reload's enabled/drain gives (was: NULL at start). */
const char *link_conf_wish(const struct modem_conf *was, const struct modem_conf *);
/* 1 when the link can take a send now (online, a free slot, channel open). */
int	 link_can_send(const struct link *);
int64_t	 link_paused_ms(const struct link *);
/* Closes an idle channel whose worker should not run (disabled, etc.). */
void	 link_settle(struct link *);
void	 link_record(struct link *);
void	 link_record_loss(struct link *, const char *session, const char *why);
/* A bind's SMSC account, SYSTEM_ID@HOST:PORT (malloc), NULL for a modem. */
char	*link_account(const struct link *);
/* "starting", "online", "offline", "disabled", "draining", "elsewhere"
 * (also in JSON). */
const char *link_state_name(enum link_state);
/* "held", "waiting" or "elsewhere", for /healthz and the API. */
const char *link_lock_name(const struct link *);

/* supervisor.c */
/* Starts the link's worker; 0 (LEV_SPAWNED was sent) or -1 with errno. */
int	 supervisor_spawn(struct link *);
/* pigeond stops the worker: its channel closed, it exits, and LEV_EXITED
 * follows (as no surprise: stop_asked). */
void	 supervisor_stop(struct link *);
/* Kills the worker and waits for it (pigeond's exit). */
void	 supervisor_kill(struct link *);
void	 supervisor_reap(void);
/* flash: a class 0 SMS; validity_s: its validity period (0: the network's);
 * max_parts_ucs2 (0: none): a bind's cap should its alphabet make a
 * GSM-7 text UCS-2. */
int	 supervisor_send(struct link *, int64_t id, const char *claim, const char *to,
	    const char *text, int max_parts, int max_parts_ucs2, const char *more,
	    int flash, int validity_s);
/* pigeond committed what the worker (of that generation) reported at
 * that location. Held while the lock is not, sent once it is again. */
int	 supervisor_delete(struct link *, unsigned generation, int folder, int location);
/* link.c: the lock is held again; the deletes held meanwhile go. */
void	 supervisor_lock_held(struct link *);
/* An SMPP link's delivery at location could not be stored: its worker
 * answers it with a temporary error (`release`), the SMSC delivers it
 * again. -1 for a modem (its SMS stays on the SIM). */
int	 supervisor_release(struct link *, unsigned generation, int location);

/* janitor.c */
/* Runs fn every period_ms on the loop; name shows in debug logs. */
int	 janitor_add(const char *name, int period_ms, void (*fn)(void));
void	 janitor_free(void);

/* retention.c */
/* Registers the purge of old rows ([retention]) and the metric folding. */
int	 retention_init(void);

/* digest.c */
/* Registers the job that sends the daily digests of tracked words. */
int	 digest_init(void);

/* fanout.c */
int	 fanout_init(void);
void	 fanout_kick(void);
void	 fanout_free(void);

/* smstext.c */
/* 1 when libgammu sends text (UTF-8, len bytes) as UCS-2, else 0 (GSM-7);
 * *parts: the parts it takes, uncapped. */
int	 smstext_encode(const char *text, size_t len, int *parts);

/* reload.c */
/* SIGHUP: re-reads the config file; links added, removed, changed. */
/* SIGHUP: -1 (the reason in why, if not NULL) when the file is refused. */
int	 reload_config(char *why, size_t whylen);

/* httpguard.c (the rest, http.c's, in httpguard.h) */
long	 httpguard_fds_wanted(void);

/* hostlock.c */
int	 hostlock_init(void);
void	 hostlock_db_up(void);
int	 hostlock_host_held(void);
int	 hostlock_refused(void);
void	 hostlock_db_down(void);
/* Tries every configured link whose lock is not held (never waits). */
void	 hostlock_kick(void);
/* A link leaves the configuration: let another host have it. */
void	 hostlock_release(struct link *);
/* SIGTERM: stop saying that this host waits for other hosts' links. */
void	 hostlock_stop(void);
int	 hostlock_busy(void);
void	 hostlock_free(void);

/* watchdog.c */
void	 watchdog_start(struct link *);
void	 watchdog_stop(struct link *);
/* SIGHUP changed watchdog_seconds: every worker's pings take the new pace. */
void	 watchdog_reload(void);
void	 watchdog_health(struct link *, json_t *msg);

/* ratelimit.c */
int	 ratelimit_init(struct ratelimit *, const struct modem_conf *);
void	 ratelimit_free(struct ratelimit *);
/* 1 when one more send now stays within every configured limit. */
int	 ratelimit_allows(const struct ratelimit *, const struct modem_conf *, int64_t now_ms);
void	 ratelimit_record(struct ratelimit *, int64_t now_ms);
/* A send of parts parts (each part counts against the limits). */
void	 ratelimit_record_parts(struct ratelimit *, int64_t now_ms, int parts);
/*
 * Rebuilds the ring from the database's counts (oldest first: parts[i]
 * sent ago_ms[i] before now) when they hold more sends of the last day
 * than the ring; 1 when it did.
 */
int	 ratelimit_restore(struct ratelimit *, int64_t now_ms, const int64_t *ago_ms,
	    const int64_t *parts, int n);
int64_t	 pigeon_now_ms(void);

/* simpin.c */
/* A worker's pin_needed or pin_refused message (type). */
void	 simpin_message(struct link *, const char *type, json_t *msg);
void	 simpin_free(void);

/* ratedb.c */
/* This host took the link's lock: read its parts of the last day back
 * into its rate limits; no send goes on it until they are. */
void	 ratedb_load(struct link *);

/* reports.c */
void	 reports_sms(struct link *, json_t *msg);
/* An SMPP delivery receipt (a `report` message). */
void	 reports_receipt(struct link *, json_t *msg);
int	 reports_busy(void);
int	 reports_refused(void);	/* status reports held: the database refuses */
void	 reports_free(void);

/* inbound.c */
void	 inbound_sms(struct link *, json_t *msg);
void	 inbound_dropped(struct link *, json_t *msg);
void	 inbound_kick(void);
int	 inbound_busy(void);
int	 inbound_refused(void);	/* SMS parts held: the database refuses */
void	 inbound_free(void);

/* commands.c */
int	 commands_init(void);
void	 commands_free(void);
int	 clockstep_init(void);	/* clockstep.c */
void	 commands_kick(void);
void	 commands_db_up(void);
int	 commands_busy(void);

/* scheduler.c */
int	 scheduler_init(void);
void	 scheduler_kick(void);
void	 scheduler_db_up(void);
void	 scheduler_sent(struct link *, json_t *msg);
void	 scheduler_send_failed(struct link *, json_t *msg);
/* The link's worker died with send id in flight. */
void	 scheduler_link_lost(struct link *, const struct link_send *, const char *why);
int	 scheduler_busy(void);
unsigned long scheduler_caught_up(void);
void	 scheduler_free(void);

/* outcomes.c: the scheduler's outcomes to the database, in batches. */
/* Queues one outcome (its reference is taken) for the next batch; from
 * link l (a send's outcome: it holds l's slot until committed), or NULL
 * (a release). */
void	 outcomes_push(json_t *o, struct link *l);
void	 outcomes_connect(void);
int	 outcomes_busy(void);
int	 outcomes_refused(void);	/* held, or being tried again: until recorded */
void	 outcomes_free(void);
/* Whether the database refuses pigeond's writes for now (its disk full, a
 * shutdown, read-only): writes held (outcomes, SMS parts, reports:
 * store_error_transient) or a periodic job refused (joblog.c, the
 * scheduler's claim among them). /healthz and /metrics say so. */
int	 db_writes_refused(void);

/* http.c */
int	 http_start(char *err, size_t errlen);
void	 http_stop(void);

/* httpport.c */
struct evhttp_bound_socket;
/* The listener's port into *port, and into [http] port_file if set. */
int	 http_port_publish(struct evhttp_bound_socket *, int *port, char *err,
	    size_t errlen);
/* Removes the port file this process wrote (also at exit). */
void	 http_port_unpublish(void);

/* webhook.c */
int	 webhook_init(char *err, size_t errlen);
void	 webhook_db_up(void);
int	 webhook_ready(void);
void	 webhook_kick(void);
void	 webhook_free(void);

#endif

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

/* A modem as the supervisor sees it; one pigeon-modem process each. */
enum modem_state {
	MODEM_STARTING,	/* process started, connecting to the modem */
	MODEM_ONLINE,	/* identified; takes sends */
	MODEM_OFFLINE,	/* process exited or cannot reach the modem; restart pending */
	MODEM_DISABLED,	/* enabled = no in the configuration */
};

struct modem {
	TAILQ_ENTRY(modem) entry;
	const struct modem_conf *conf;
	const char	*name;		/* conf->name */
	enum modem_state state;
	pid_t		 pid;		/* 0 when no process */
	unsigned	 generation;	/* counts process starts */
	struct bufferevent *bev;	/* the channel to the process */
	struct event	*ev_restart;
	int		 backoff_ms;
	time_t		 started_at;
	int64_t		 sending;	/* outbox id in flight, 0 when idle */
	char		 reason[256];	/* why it is in its state */
	json_t		*info;		/* identification from "ready" */
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
const char *modem_state_name(enum modem_state);
int	 modem_send(struct modem *, int64_t id, const char *to, const char *text,
	    int max_parts, const char *more);
int	 modem_delete(struct modem *, unsigned generation, int folder, int location);

/* inbound.c */
void	 inbound_sms(struct modem *, json_t *msg);
void	 inbound_kick(void);
int	 inbound_busy(void);
void	 inbound_free(void);

/* commands.c */
void	 commands_kick(void);
void	 commands_expire(void);
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

#endif

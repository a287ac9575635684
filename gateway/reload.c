/*
 * reload.c: SIGHUP. The config file is read again; links are added,
 * removed and reconfigured through link.c's events, and the scheduler's
 * limits that the reload covers are taken. A file refused (its tokens
 * file included) changes nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "api.h"
#include "log.h"
#include "pigeond.h"

/* Applies a reloaded section to a running modem; conf is copied. */
static void
reload_link(struct link *l, const struct modem_conf *conf)
{
	struct modem_conf *old = l->conf, *copy = config_modem_copy(conf);

	if (copy == NULL) {
		log_warnx("modem %s: out of memory; keeping its old configuration", l->name);
		return;
	}
	l->conf = copy;
	l->name = copy->name;
	if (ratelimit_init(&l->rate, copy) == -1)
		log_warnx("modem %s: out of memory; rate limit unchanged", l->name);
	if (config_modem_needs_restart(old, copy))
		link_event(l, LEV_RECONFIGURE, "");
	/* enabled and drain apply when they changed, so an operator's
	 * enable or disable over HTTP lasts until the file says otherwise. */
	if (old->enabled != copy->enabled || old->drain != copy->drain)
		link_event(l, !copy->enabled ? LEV_DISABLE : copy->drain ?
		    LEV_DRAIN : LEV_ENABLE, link_conf_wish(old, copy));
	config_modem_free(old);
}

/* -1 (err says why) when a link of fresh has no worker program to run. */
static int
reload_programs(const struct pigeon_conf *fresh, char *err, size_t errlen)
{
	for (size_t i = 0; i < fresh->nmodems; i++) {
		int smpp = fresh->modems[i].kind == CONF_SMPP;
		const char *prog = smpp ? env.smpp_program : env.modem_program;
		if (access(prog, X_OK) == 0)
			continue;
		snprintf(err, errlen, "[%s %s]: %.200s: %s (%s, the %s worker: is pigeond "
		    "installed with make install?)", smpp ? "smpp" : "modem",
		    fresh->modems[i].name, prog, strerror(errno),
		    smpp ? "pigeon-smpp" : "pigeon-modem", smpp ? "SMPP" : "modem");
		return -1;
	}
	return 0;
}

int
reload_config(char *why, size_t whylen)
{
	struct pigeon_conf fresh;
	struct link *l, *next;
	char err[1024];
	int watch_was = env.conf.watchdog_seconds;

	if (config_load(env.config_path, &fresh, err, sizeof(err)) == -1) {
		log_warnx("SIGHUP: %s; keeping the running configuration", err);
		if (why != NULL)
			snprintf(why, whylen, "%s", err);
		return -1;
	}
	/* Issue 16's tokens are read before anything is applied: a refused
	 * tokens file refuses the reload whole, so that a token meant to be
	 * revoked is never left working beside half a new configuration.
	 * So does a link whose worker program is not there (as pigeond -n
	 * and a start do): its worker exited 127, restarted for ever. */
	if (reload_programs(&fresh, err, sizeof(err)) == -1 ||
	    api_tokens_stage(&fresh, err, sizeof(err)) == -1) {
		log_warnx("SIGHUP: %s; keeping the running configuration", err);
		if (why != NULL)
			snprintf(why, whylen, "%s", err);
		config_free(&fresh);
		return -1;
	}
	log_info("SIGHUP: reloading modems and limits from %s", env.config_path);
	for (l = TAILQ_FIRST(&env.links); l != NULL; l = next) {
		next = TAILQ_NEXT(l, entry);
		const struct modem_conf *c = config_modem(&fresh, l->name);
		if (c != NULL && l->removed)
			link_event(l, LEV_READD, "");
		if (c != NULL)
			reload_link(l, c);
		else if (!l->removed)
			link_event(l, LEV_REMOVE, "");
	}
	for (size_t i = 0; i < fresh.nmodems; i++) {
		if (link_find(fresh.modems[i].name) != NULL)
			continue;
		/* Removed by an earlier SIGHUP: the same link, its restarts
		 * and counters kept (a new struct counted from 0 again, and
		 * wrote that over its row's). */
		int back = link_take_back(&fresh.modems[i], &l);
		if (back == -1) {
			log_warnx("modem %s: out of memory; not added", fresh.modems[i].name);
			continue;
		}
		if (back == 1) {
			log_info("modem %s: back in the configuration", l->name);
			link_event(l, LEV_START, "");
			continue;
		}
		if ((l = link_new(&fresh.modems[i])) == NULL) {
			log_warnx("modem %s: out of memory; not added", fresh.modems[i].name);
			continue;
		}
		log_info("modem %s: added", l->name);
		TAILQ_INSERT_TAIL(&env.links, l, entry);
		link_event(l, LEV_START, "");
	}
	/* The [pigeon] keys config.c's table marks RELOAD; they are read
	 * where they are used. */
	if (config_reload_keys(&env.conf, &fresh) == -1)
		log_warnx("SIGHUP: out of memory; some limits unchanged");
	/* [retention]: each kind's days and the batch are read at each run;
	 * interval_seconds takes a restart. (The file was checked with its
	 * own outbox_days against its report_window: kept, the old days
	 * ran beside the new window, which the check forbids.) */
	int interval = env.conf.retention.interval_seconds;
	env.conf.retention = fresh.retention;
	env.conf.retention.interval_seconds = interval;
	if (env.conf.watchdog_seconds != watch_was)
		watchdog_reload();
	api_tokens_commit();	/* issue 16: a token removed is revoked */
	config_free(&fresh);
	hostlock_kick();
	scheduler_kick();
	return 0;
}

/*
 * modemctl.c: what each modem should be doing, applied to the
 * supervisor's modems (supervisor.c runs the processes and the state
 * machine): the operator's enable, disable and drain (HTTP), SIGHUP's
 * reloaded modem sections, and hostlock.c's verdicts (this host holds a
 * modem's lock, or another host does).
 *
 * A modem the operator disables, drains or removes finishes the send in
 * flight first: only an idle channel is closed (modem_settle).
 */
#include <stdio.h>
#include <string.h>

#include <event2/event.h>

#include "log.h"
#include "pigeond.h"

int
modem_enable(struct modem *m)
{
	if (m->removed)
		return -1;
	m->want = MODEM_ONLINE;
	if (m->pid == 0) {
		modem_start_now(m);
	} else if (m->state == MODEM_DRAINING) {
		modem_set_state(m, MODEM_ONLINE, "enabled by the operator");
	}
	return 0;
}

int
modem_disable(struct modem *m)
{
	if (m->removed)
		return -1;
	m->want = MODEM_DISABLED;
	if (m->pid == 0) {
		evtimer_del(m->ev_restart);
		modem_set_state(m, MODEM_DISABLED, "disabled by the operator");
		return 0;
	}
	if (m->sending)
		log_info("modem %s: disabled; stopping after the send in flight", m->name);
	modem_settle(m);
	return 0;
}

int
modem_drain(struct modem *m)
{
	if (m->removed)
		return -1;
	m->want = MODEM_DRAINING;
	if (m->pid == 0) {
		/* Drained but running: it still reads incoming SMS. */
		evtimer_del(m->ev_restart);
		modem_spawn(m);
		return 0;
	}
	if (m->sending)
		log_info("modem %s: draining; it takes no send after the one in flight",
		    m->name);
	modem_settle(m);
	return 0;
}

/* Applies a reloaded section to a running modem; conf is copied. */
static void
modem_reconfigure(struct modem *m, const struct modem_conf *conf)
{
	struct modem_conf *old = m->conf, *copy = config_modem_copy(conf);

	if (copy == NULL) {
		log_warnx("modem %s: out of memory; keeping its old configuration", m->name);
		return;
	}
	m->conf = copy;
	m->name = copy->name;
	if (ratelimit_init(&m->rate, copy) == -1)
		log_warnx("modem %s: out of memory; rate limit unchanged", m->name);
	if (m->pid > 0 && config_modem_needs_restart(old, copy)) {
		m->respawn = 1;
		modem_settle(m);
	}
	/* enabled and drain apply when they changed, so an operator's
	 * enable or disable over HTTP lasts until the file says otherwise. */
	if (old->enabled != copy->enabled || old->drain != copy->drain) {
		if (!copy->enabled)
			modem_disable(m);
		else if (copy->drain)
			modem_drain(m);
		else
			modem_enable(m);
	}
	config_modem_free(old);
}

void
supervisor_reload(void)
{
	struct pigeon_conf fresh;
	struct modem *m, *next;
	char err[1024];

	if (config_load(env.config_path, &fresh, err, sizeof(err)) == -1) {
		log_warnx("SIGHUP: %s; keeping the running configuration", err);
		return;
	}
	log_info("SIGHUP: reloading modems and limits from %s", env.config_path);
	for (m = TAILQ_FIRST(&env.modems); m != NULL; m = next) {
		next = TAILQ_NEXT(m, entry);
		const struct modem_conf *c = config_modem(&fresh, m->name);
		if (c != NULL) {
			modem_reconfigure(m, c);
			continue;
		}
		log_info("modem %s: removed from the configuration", m->name);
		m->removed = 1;
		m->want = MODEM_DISABLED;
		if (m->pid > 0) {
			modem_settle(m);
			continue;
		}
		evtimer_del(m->ev_restart);
		modem_set_state(m, MODEM_DISABLED, "removed from the configuration");
		supervisor_set_aside(m);
	}
	for (size_t i = 0; i < fresh.nmodems; i++) {
		if (modem_find(fresh.modems[i].name) != NULL)
			continue;
		if ((m = modem_new(&fresh.modems[i])) == NULL) {
			log_warnx("modem %s: out of memory; not added", fresh.modems[i].name);
			continue;
		}
		log_info("modem %s: added", m->name);
		TAILQ_INSERT_TAIL(&env.modems, m, entry);
		if (m->want != MODEM_DISABLED)
			modem_spawn(m);
		else
			modem_record(m);
	}
	/* Scheduler limits are read where they are used. */
	env.conf.max_attempts = fresh.max_attempts;
	env.conf.retry_seconds = fresh.retry_seconds;
	env.conf.validity = fresh.validity;
	env.conf.watchdog_seconds = fresh.watchdog_seconds;
	env.conf.report_window = fresh.report_window;
	config_free(&fresh);
	hostlock_kick();
	scheduler_kick();
}

/*
 * hostlock.c: this host holds the modem's lock, at start or again after
 * the connection came back. A paused worker resumes where it was (its
 * state is recorded again and it takes sends); a modem without a
 * process is started.
 */
void
supervisor_lock_held(struct modem *m)
{
	if (m->pid > 0 && m->state == MODEM_ELSEWHERE) {
		/* Lost and regained while its worker was stopping: start afresh. */
		m->respawn = 1;
		modem_set_state(m, MODEM_OFFLINE, "restarting: this host holds its lock");
		modem_settle(m);
		return;
	}
	if (m->pid > 0 || m->want == MODEM_DISABLED) {
		modem_record(m);
		scheduler_kick();
		return;
	}
	if (!env.draining)
		modem_start_now(m);
}

/*
 * hostlock.c: another host's connection holds the lock (the same modem
 * name in two configurations). Its worker stops once idle, and it waits,
 * shown as "elsewhere", until hostlock.c gets the lock.
 */
void
supervisor_lock_elsewhere(struct modem *m)
{
	char reason[256];

	if (m->want == MODEM_DISABLED)
		return;
	snprintf(reason, sizeof(reason), "owned by another host (%s)", m->lock_holder);
	if (m->pid == 0)
		evtimer_del(m->ev_restart);
	modem_set_state(m, MODEM_ELSEWHERE, reason);
	modem_settle(m);
}

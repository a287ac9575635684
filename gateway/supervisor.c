/*
 * supervisor.c: the worker processes of the links. One pigeon-modem per
 * modem, started with fork+exec and a socketpair on its fd 3; its lines
 * dispatched to inbound, reports, the scheduler and the watchdog. What
 * happens to the process (started, ready, exited) is told to link.c as
 * events: the lifecycle (when to start, restart, stop) is decided there.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <jansson.h>

#include "log.h"
#include "modemmsg.h"
#include "pigeond.h"
#include "proto.h"
#include "store.h"

static int
channel_write(struct link *l, json_t *msg)
{
	char *line;
	int rc = -1;

	if (l->bev == NULL) {
		json_decref(msg);
		return -1;
	}
	line = json_dumps(msg, JSON_COMPACT);
	json_decref(msg);
	if (line == NULL)
		return -1;
	if (bufferevent_write(l->bev, line, strlen(line)) == 0 &&
	    bufferevent_write(l->bev, "\n", 1) == 0)
		rc = 0;
	free(line);
	return rc;
}

/* The most parts a send can need, for the watchdog's allowance. */
static int
parts_estimate(const char *text, int max_parts)
{
	int parts;

	smstext_encode(text, strlen(text), &parts);
	if (max_parts > 0 && parts > max_parts)
		parts = max_parts;
	return parts > PROTO_MAX_PARTS ? PROTO_MAX_PARTS : parts < 1 ? 1 : parts;
}

int
supervisor_send(struct link *l, int64_t id, const char *claim, const char *to,
    const char *text, int max_parts, int max_parts_ucs2, const char *more,
    int flash, int validity_s)
{
	struct link_ev ev = { .type = LEV_SEND_STARTED, .id = id, .claim = claim };
	json_t *msg;

	if (!link_can_send(l))
		return -1;
	msg = json_pack("{s:s, s:I, s:s, s:s}", "type", "send",
	    "id", (json_int_t)id, "to", to, "text", text);
	if (max_parts > 0)
		json_object_set_new(msg, "max_parts", json_integer(max_parts));
	if (max_parts_ucs2 > max_parts && l->kind == LINK_SMPP)
		json_object_set_new(msg, "max_parts_ucs2", json_integer(max_parts_ucs2));
	if (more != NULL)
		json_object_set_new(msg, "more", json_string(more));
	if (l->conf->report)
		json_object_set_new(msg, "report", json_true());
	if (flash)
		json_object_set_new(msg, "flash", json_true());
	if (validity_s > 0)
		json_object_set_new(msg, "validity", json_integer(validity_s));
	if (channel_write(l, msg) == -1)
		return -1;
	ev.parts = parts_estimate(text, max_parts);
	return link_step(l, &ev);
}

/*
 * Deletes refused while this host did not hold the link's lock (the
 * database connection lost, the lock not taken again yet), sent when it
 * is held again (supervisor_lock_held). Before, they were dropped: a
 * modem's SMS stayed on the SIM, reported again only by a later worker,
 * a full SIM refused new ones; an SMPP worker kept the deliver_sm
 * unanswered until its bound. Not a `release`: what they acknowledge is
 * stored, and the SMSC's copy of a released delivery (which the worker
 * does not call a redelivery) on a link that stayed online is stored
 * again as a new SMS (20_inbox.sql). Dropped with the channel (the
 * worker's process, whose locations they name, is gone), and the oldest
 * dropped past DEFER_MAX: a modem's SMS is then reported again by a
 * later worker, an SMPP worker answers it ESME_RX_T_APPN after its bound
 * and reports the SMSC's copy as a `redelivery`, which the store absorbs.
 */
#define DEFER_MAX	4096

struct deferred {
	struct link	*l;		/* compared, never followed */
	unsigned	 generation;
	int		 folder, location;
};

static struct deferred *deferred;
static size_t ndeferred, deferred_cap;

static void
delete_defer(struct link *l, unsigned generation, int folder, int location)
{
	if (ndeferred == DEFER_MAX) {
		memmove(deferred, deferred + 1, --ndeferred * sizeof(*deferred));
		log_warnx("modem %s: over %d deletes waiting for the host lock; "
		    "the oldest is left to a later worker", l->name, DEFER_MAX);
	}
	if (ndeferred == deferred_cap) {
		size_t cap = deferred_cap ? deferred_cap * 2 : 64;
		struct deferred *n = reallocarray(deferred, cap, sizeof(*n));
		if (n == NULL)
			return;		/* as before: left to a later worker */
		deferred = n;
		deferred_cap = cap;
	}
	deferred[ndeferred++] = (struct deferred){ l, generation, folder, location };
}

/* Forgets l's deferred deletes; sends those of its running worker first
 * when send. */
static void
deferred_take(struct link *l, int send)
{
	size_t j = 0;
	int n = 0;

	for (size_t i = 0; i < ndeferred; i++) {
		struct deferred *d = &deferred[i];
		if (d->l != l) {
			deferred[j++] = *d;
			continue;
		}
		if (send && d->generation == l->generation &&
		    channel_write(l, json_pack("{s:s, s:i, s:i}", "type", "delete",
		    "folder", d->folder, "location", d->location)) == 0)
			n++;
	}
	ndeferred = j;
	if (n > 0)
		log_info("modem %s: %d delete(s) held while the lock was not "
		    "held sent", l->name, n);
}

int
supervisor_delete(struct link *l, unsigned generation, int folder, int location)
{
	/* A later process re-reports what an earlier one left undeleted. */
	if (l->generation != generation || l->bev == NULL)
		return -1;
	/* Without the lock the SMS waits on the SIM (the deliver_sm at the
	 * worker) for the lock to be held again. */
	if (l->lock != LOCK_HELD) {
		delete_defer(l, generation, folder, location);
		return 0;
	}
	return channel_write(l, json_pack("{s:s, s:i, s:i}", "type", "delete",
	    "folder", folder, "location", location));
}

void
supervisor_lock_held(struct link *l)
{
	if (l->bev != NULL)
		deferred_take(l, 1);
}

int
supervisor_release(struct link *l, unsigned generation, int location)
{
	/* Nothing was stored: the lock does not matter. A pigeon-modem
	 * leaves the SMS on the SIM itself; an older pigeon-smpp ignores
	 * `release` and answers after its bound, or never. */
	if (l->kind != LINK_SMPP || l->generation != generation)
		return -1;
	return channel_write(l, json_pack("{s:s, s:i, s:i}", "type", "release",
	    "folder", 0, "location", location));
}

/* The worker exits when its channel closes; the watchdog times that. */
static void
supervisor_close(struct link *l)
{
	deferred_take(l, 0);
	l->bound = 0;	/* it unbinds, and pigeond hands it nothing more */
	if (l->bev) {
		bufferevent_free(l->bev);
		l->bev = NULL;
		l->last_heard = pigeon_now_ms();
	}
}

void
supervisor_stop(struct link *l)
{
	l->stop_asked = 1;
	supervisor_close(l);
}

void
supervisor_kill(struct link *l)
{
	supervisor_stop(l);
	if (l->pid > 0) {
		kill(l->pid, SIGKILL);
		waitpid(l->pid, NULL, 0);
		l->pid = 0;
	}
}

static void
worker_ready(struct link *l, json_t *msg)
{
	json_decref(l->info);
	l->info = json_deep_copy(msg);
	json_object_del(l->info, "type");
	const char *imei = json_string_value(json_object_get(msg, "imei"));
	/* A bind has no IMEI: "SMPP pigeon-smsc", not ", IMEI " and nothing. */
	log_info("modem %s: %s %s%s%s", l->name,
	    json_string_value(json_object_get(msg, "manufacturer")),
	    json_string_value(json_object_get(msg, "model")),
	    imei && *imei ? ", IMEI " : "", imei && *imei ? imei : "");
	l->bound = 1;	/* a bind says ready once the session that sends is */
	link_event(l, LEV_READY, "");
}

/*
 * A bind's session was lost (the worker binds again by itself), or a
 * receiver lost alone is back. A receiver of two sessions lost alone
 * (`sends`) leaves the link online: sends go on, MO and receipts wait at
 * the SMSC, and the reason says so.
 */
static void
link_session(struct link *l, json_t *msg)
{
	const char *state = json_string_value(json_object_get(msg, "state"));
	const char *session = json_string_value(json_object_get(msg, "session"));
	const char *reason = json_string_value(json_object_get(msg, "reason"));
	char why[256];

	if (session == NULL)
		session = "session";
	if (state != NULL && strcmp(state, "up") == 0) {
		log_info("modem %s: %s bound again", l->name, session);
		link_event(l, LEV_PART_DOWN, "");
		return;
	}
	l->reconnects++;
	if (json_is_true(json_object_get(msg, "sends"))) {
		snprintf(why, sizeof(why), "%s down: %s; sending goes on, MO "
		    "and receipts wait at the SMSC", session, reason ? reason : "?");
		/* (Its transmitter down too, the link is not online: the
		 * loss alone is recorded.) */
		if (l->state == LINK_ONLINE)
			log_warnx("modem %s: %s", l->name, why);
		else
			log_warnx("modem %s: %s down: %s", l->name, session,
			    reason ? reason : "?");
		/* An answer to an MO on that session may be lost: the
		 * store absorbs the SMSC's copy by this (20_inbox.sql). */
		link_record_loss(l, session, why);
		link_event(l, LEV_PART_DOWN, why);
		return;
	}
	snprintf(why, sizeof(why), "link down: %s", reason ? reason : "?");
	l->bound = 0;
	log_warnx("modem %s: %s", l->name, why);
	link_event(l, LEV_WORKER_ERROR, why);
}

static void
worker_handle(struct link *l, const char *line, size_t len)
{
	char bad[JSON_ERROR_TEXT_LENGTH];
	json_t *msg;
	const char *type = modem_msg_decode(line, len, &msg, bad, sizeof(bad));

	if (type == NULL) {
		log_warnx("modem %s: bad message from the worker (%s), ignored",
		    l->name, bad);
		return;
	}
	if (modem_msg_repair(msg, bad, sizeof(bad)) > 0)
		log_warnx("modem %s: %s message from the worker: %s; taken "
		    "without them", l->name, type, bad);
	/* An SMS part is stored whatever else is wrong with it (inbound.c
	 * keeps what it can read); any other message must be whole. */
	if (modem_msg_check(type, msg, bad, sizeof(bad)) == -1 &&
	    strcmp(type, "sms") != 0) {
		log_warnx("modem %s: bad %s message from the worker (%s), ignored",
		    l->name, type, bad);
		json_decref(msg);
		return;
	}
	if (strcmp(type, "sms") == 0) {
		if (json_is_true(json_object_get(msg, "status_report")))
			reports_sms(l, msg);
		else
			inbound_sms(l, msg);
	} else if (strcmp(type, "sent") == 0) {
		scheduler_sent(l, msg);
	} else if (strcmp(type, "send_failed") == 0) {
		scheduler_send_failed(l, msg);
	} else if (strcmp(type, "ready") == 0) {
		worker_ready(l, msg);
	} else if (strcmp(type, "health") == 0) {
		watchdog_health(l, msg);
	} else if (strcmp(type, "deleted") == 0) {
		log_debug("modem %s: deleted location %lld", l->name,
		    (long long)json_integer_value(json_object_get(msg, "location")));
	} else if (strcmp(type, "delete_failed") == 0) {
		log_warnx("modem %s: cannot delete location %lld: %s", l->name,
		    (long long)json_integer_value(json_object_get(msg, "location")),
		    json_string_value(json_object_get(msg, "error")));
	} else if (strcmp(type, "dropped") == 0) {
		inbound_dropped(l, msg);
	} else if (strcmp(type, "report") == 0) {
		reports_receipt(l, msg);
	} else if (strcmp(type, "link") == 0) {
		link_session(l, msg);
	} else if (strcmp(type, "paused") == 0) {
		/* A bind's SMSC said slow down (throttled, queue full): its
		 * worker submits nothing for ms; it takes no new send meanwhile. */
		const char *why = json_string_value(json_object_get(msg, "reason"));
		struct link_ev ev = { .type = LEV_PAUSED, .reason = why ? why : "throttled",
		    .ms = (int)json_integer_value(json_object_get(msg, "ms")) };
		link_step(l, &ev);
	} else if (strcmp(type, "error") == 0) {
		const char *stage = json_string_value(json_object_get(msg, "stage"));
		const char *err = json_string_value(json_object_get(msg, "error"));
		json_t *cs = json_object_get(msg, "command_status");
		char why[200];
		/* An SMSC's refusal keeps its code (smpp/main.c): it is what
		 * the operator asks the carrier about, vendor codes above all. */
		if (json_is_integer(cs) && json_integer_value(cs) >= 0 &&
		    json_integer_value(cs) <= 0xffffffffLL)
			snprintf(why, sizeof(why), "%s: command_status 0x%02llx: %s",
			    stage ? stage : "error", (long long)json_integer_value(cs),
			    err ? err : "unknown error");
		else
			snprintf(why, sizeof(why), "%s: %s", stage ? stage : "error",
			    err ? err : "unknown error");
		log_warnx("modem %s: %s", l->name, why);
		/* connect, fatal: the modem worker exits; bind, link: an SMPP
		 * worker keeps trying, and says ready when it is bound. */
		if (stage && (strcmp(stage, "connect") == 0 || strcmp(stage, "fatal") == 0 ||
		    strcmp(stage, "bind") == 0 || strcmp(stage, "link") == 0))
			link_event(l, LEV_WORKER_ERROR, why);
	} else if (strcmp(type, "pin_needed") == 0 || strcmp(type, "pin_refused") == 0) {
		simpin_message(l, type, msg);
	} else if (strcmp(type, "pong") != 0) {
		log_debug("modem %s: unknown message type %s", l->name, type);
	}
	json_decref(msg);
}

static void
channel_on_read(struct bufferevent *bev, void *arg)
{
	struct link *l = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	char *line;
	size_t len;

	l->last_heard = pigeon_now_ms();
	while ((line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF)) != NULL) {
		if (len > PROTO_MAX_LINE)
			log_warnx("modem %s: message of %zu bytes dropped", l->name, len);
		else
			worker_handle(l, line, len);
		free(line);
		if (l->bev == NULL)
			return;
	}
	if (evbuffer_get_length(in) > PROTO_MAX_LINE) {
		log_warnx("modem %s: worker sends garbage; stopping it", l->name);
		evbuffer_drain(in, evbuffer_get_length(in));
		l->stop_asked = 1;
		if (l->pid > 0)
			kill(l->pid, SIGKILL);
	}
}

static void
channel_on_event(struct bufferevent *bev, short what, void *arg)
{
	struct link *l = arg;

	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		/* The process is exiting; supervisor_reap does the rest. */
		log_debug("modem %s: channel closed", l->name);
		supervisor_close(l);
	}
}

static const char *
worker_name(const struct link *l)
{
	return l->kind == LINK_SMPP ? "pigeon-smpp" : "pigeon-modem";
}

static const char *
worker_program(const struct link *l)
{
	return l->kind == LINK_SMPP ? env.smpp_program : env.modem_program;
}

/* The worker's first message (docs/modem-protocol.md). */
static json_t *
worker_config(const struct link *l)
{
	const struct modem_conf *c = l->conf;
	json_t *o;
	char rate[32];

	if (l->kind == LINK_MODEM)
		return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:i}",
		    "type", "config", "name", l->name, "device", c->device,
		    "connection", c->connection, "model", c->model,
		    "logfile", c->logfile, "logformat", c->logformat,
		    "smsc", c->smsc, "poll_ms", c->poll_ms,
		    "health_ms", c->health_seconds * 1000,
		    "send_wait_ms", c->send_wait_seconds * 1000);
	o = json_pack("{s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:i, s:i, "
	    "s:i, s:i, s:i, s:s, s:s, s:i}",
	    "type", "config", "name", l->name, "host", c->host, "port", c->port,
	    "system_id", c->system_id, "password", c->password,
	    "system_type", c->system_type, "bind", c->bind,
	    "source_addr", *c->source_addr ? c->source_addr : env.conf.shortcode,
	    "source_ton", c->source_ton, "source_npi", c->source_npi,
	    "window", c->window, "enquire_link", c->enquire_link,
	    "response_timeout", c->response_timeout,
	    "long", c->long_mode, "default_alphabet", c->alphabet,
	    "health_ms", c->health_seconds * 1000);
	if (o != NULL && c->rate_sec > 0) {
		snprintf(rate, sizeof(rate), "%d/s", c->rate_sec);
		json_object_set_new(o, "rate", json_string(rate));
	}
	/* The recipients' TON/NPI, and the country whose numbers TON 2
	 * (national) writes with its trunk 0 (docs/carrier.md). */
	if (o != NULL) {
		json_object_set_new(o, "dest_ton", json_integer(c->dest_ton));
		json_object_set_new(o, "dest_npi", json_integer(c->dest_npi));
		json_object_set_new(o, "country", json_string(env.conf.country));
	}
	/* What a send asking a receipt (its "report", from `report`, which a
	 * reload changes without a rebind) puts in registered_delivery: 1,
	 * a receipt whether or not it reached the phone. */
	if (o != NULL)
		json_object_set_new(o, "registered_delivery", json_integer(1));
	/* It takes a receiver lost alone (`link` with `sends`, then `up`):
	 * a worker says so only to a pigeond that does. */
	if (o != NULL)
		json_object_set_new(o, "receiver_apart", json_true());
	return o;
}

int
supervisor_spawn(struct link *l)
{
	int sv[2];
	pid_t pid;
	char *argv[3];
	char title[64];

	/* -1 with errno kept: link.c stores it in the link's reason. */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
		int e = errno;
		log_warn("modem %s: socketpair", l->name);
		errno = e;
		return -1;
	}
	pid_t parent = getpid();
	pid = fork();
	if (pid == -1) {
		int e = errno;
		log_warn("modem %s: fork", l->name);
		close(sv[0]);
		close(sv[1]);
		errno = e;
		return -1;
	}
	if (pid == 0) {
		/* A worker dies with pigeond, so the next one finds its modem free. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(0);
		/* dup2 clears close-on-exec on fd 3, and only there. */
		if (sv[1] == PROTO_FD) {
			fcntl(PROTO_FD, F_SETFD, 0);
		} else if (dup2(sv[1], PROTO_FD) == -1) {
			_exit(127);
		}
		/* Nothing else of pigeond's: a descriptor opened without
		 * close-on-exec (libevent's outgoing HTTP connections, a
		 * webhook in flight) kept its connection open in the worker
		 * after pigeond closed it, for the worker's life. */
		if (close_range(PROTO_FD + 1, ~0U, 0) == -1)
			for (int fd = PROTO_FD + 1; fd < 65536; fd++)
				close(fd);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		/* The link's name in argv[0] shows in ps. */
		snprintf(title, sizeof(title), "%s[%s]", worker_name(l), l->name);
		argv[0] = title;
		argv[1] = env.verbose ? "-v" : NULL;
		argv[2] = NULL;
		execv(worker_program(l), argv);
		fprintf(stderr, "%s %s: cannot run %s: %s\n", worker_name(l), l->name,
		    worker_program(l), strerror(errno));
		_exit(127);
	}
	close(sv[1]);
	evutil_make_socket_nonblocking(sv[0]);
	l->pid = pid;
	l->stop_asked = 0;
	l->bev = bufferevent_socket_new(env.base, sv[0], BEV_OPT_CLOSE_ON_FREE);
	if (l->bev == NULL) {
		close(sv[0]);
		kill(pid, SIGKILL);	/* reaped and restarted as any exit */
		return 0;
	}
	bufferevent_setcb(l->bev, channel_on_read, NULL, channel_on_event, l);
	bufferevent_enable(l->bev, EV_READ | EV_WRITE);
	l->generation++;
	if (l->spawned++ > 0)
		l->restarts++;
	l->last_heard = pigeon_now_ms();
	log_debug("modem %s: started process %d", l->name, (int)pid);
	link_event(l, LEV_SPAWNED, "");
	watchdog_start(l);

	channel_write(l, worker_config(l));
	return 0;
}

/* A worker process ended: link.c settles its sends and restarts it. */
static void
worker_exited(struct link *l, int status)
{
	char why[128];
	struct link_ev ev = { .type = LEV_EXITED, .reason = why,
	    .crashed = !l->stop_asked &&
	    !(WIFEXITED(status) && WEXITSTATUS(status) == 0) };

	if (WIFEXITED(status))
		snprintf(why, sizeof(why), "process exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(why, sizeof(why), "process killed by signal %d", WTERMSIG(status));
	else
		snprintf(why, sizeof(why), "process ended");
	supervisor_close(l);
	watchdog_stop(l);
	l->pid = 0;
	l->stop_asked = 0;
	link_step(l, &ev);
}

void
supervisor_reap(void)
{
	pid_t pid;
	int status;
	struct link *l;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		TAILQ_FOREACH(l, &env.links, entry)
			if (l->pid == pid)
				break;
		if (l != NULL)
			worker_exited(l, status);
	}
	if (env.draining)
		pigeond_check_drained();
}

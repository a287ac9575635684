/*
 * worker.c: pigeon-modem, one process per modem, started by pigeond with a
 * socketpair end as file descriptor 3 (docs/modem-protocol.md).
 *
 * It waits for `config`, connects, says `ready`, then loops: handle every
 * complete line pigeond has written, list the modem's SMS every poll_ms and
 * report the parts not yet reported. It exits 0 when the channel closes.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/random.h>

#include <gammu-error.h>
#include <jansson.h>

#include "log.h"
#include "proto.h"
#include "worker.h"

#define POLL_MS_DEFAULT		1000
/*
 * Unsolicited data (+CMTI) is read every IDLE_MS, and every IDLE_BUSY_MS
 * for IDLE_BUSY_FOR_MS after an SMS was announced (a conversation's next
 * SMS comes soon). Each read is a wake-up plus a 50 ms select inside
 * libgammu: reading every 200 ms, sixteen idle workers spent 1.4% of a
 * core on it alone (issue 15). The first SMS after a quiet spell waits at
 * most a second, as it did for the 1 s listing before.
 */
#define IDLE_MS			1000
#define IDLE_BUSY_MS		200
#define IDLE_BUSY_FOR_MS	60000
#define HEALTH_MS_DEFAULT	60000
/*
 * A listing is not repeated sooner than LIST_GAP_FACTOR times its own
 * length (at most LIST_GAP_MAX_MS), even with a shorter poll_ms, so that a
 * worker lists at most a tenth of its time: the dummy driver probed 50,000
 * file names per listing (150 ms of CPU, seconds under load; gsmdummy.c
 * now reads its folders instead), and four
 * workers listing their modems back to back took the CPU the database
 * needed to store what the first listings had read. An AT modem lists a
 * SIM in tens of ms, under the default poll_ms of 1 s; an announced SMS
 * (+CMTI) is listed at once either way.
 */
#define LIST_GAP_FACTOR		10
#define LIST_GAP_MAX_MS		3000
/*
 * A modem that announces each new SMS (+CMTI) is listed when it does, and
 * otherwise only this often (or every poll_ms if longer), as a fallback
 * for an announcement lost (issue 15: idle modems cost CPU for nothing).
 * After a failed listing the next one comes after poll_ms, so that a
 * modem gone is noticed as soon as before.
 */
#define LIST_FALLBACK_MS	30000
/* Queued deletes run between two reads of the channel (listing.c). */
#define DELETES_AT_ONCE		16

/* The process's one state; the signal handler sets its quit. */
static struct worker worker = {
	.progname = "pigeon-modem",
	.poll_last_err = ERR_NONE,
};

long
worker_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

void
worker_exit(struct worker *w, int code)
{
	gsm_free(w->gsm);	/* disconnects */
	seen_free(w->seen);
	linebuf_free(&w->lb);
	free(w->held);
	free(w->cfg.device);
	free(w->cfg.connection);
	free(w->cfg.model);
	free(w->cfg.logfile);
	free(w->cfg.logformat);
	free(w->cfg.smsc);
	exit(code);
}

static void
worker_on_signal(int sig)
{
	(void)sig;
	worker.quit = 1;
}

static char *
worker_config_string(json_t *msg, const char *key)
{
	const char *v = channel_str_get(msg, key);
	char *copy;

	if (v == NULL && json_object_get(msg, key) != NULL &&
	    !json_is_null(json_object_get(msg, key)))
		log_warnx("config: %s is not a string; using the default", key);
	if ((copy = strdup(v != NULL ? v : "")) == NULL)
		fatal("strdup");
	return copy;
}

static void
worker_config_handle(struct worker *w, json_t *msg)
{
	struct gsm_config *cfg = &w->cfg;
	json_t *pm = json_object_get(msg, "poll_ms");
	const char *name;
	long long poll_ms = 0;

	if (w->configured) {
		log_warnx("config received twice; ignored");
		return;
	}
	name = channel_str_get(msg, "name");
	snprintf(cfg->name, sizeof(cfg->name), "%s", name != NULL ? name : "");
	for (char *p = cfg->name; *p != '\0'; p++)
		if (*p < 0x21 || *p > 0x7e)
			*p = '_';	/* it goes into every log line */
	cfg->device = worker_config_string(msg, "device");
	cfg->connection = worker_config_string(msg, "connection");
	cfg->model = worker_config_string(msg, "model");
	cfg->logfile = worker_config_string(msg, "logfile");
	cfg->logformat = worker_config_string(msg, "logformat");
	cfg->smsc = worker_config_string(msg, "smsc");
	if (json_is_integer(pm))
		poll_ms = json_integer_value(pm);
	else if (json_is_string(pm))
		poll_ms = strtoll(json_string_value(pm), NULL, 10);
	if (poll_ms <= 0)
		poll_ms = POLL_MS_DEFAULT;
	cfg->poll_ms = poll_ms < 10 ? 10 : poll_ms > 3600000 ? 3600000 : (int)poll_ms;
	if (channel_int_get(msg, "health_ms", &poll_ms) == 0)
		cfg->health_ms = poll_ms <= 0 ? 0 : poll_ms < 1000 ? 1000 :
		    poll_ms > 86400000 ? 86400000 : (int)poll_ms;
	else
		cfg->health_ms = HEALTH_MS_DEFAULT;
	if (channel_int_get(msg, "send_wait_ms", &poll_ms) == 0 && poll_ms > 0)
		cfg->send_wait_ms = poll_ms < 1000 ? 1000 : poll_ms > 300000 ? 300000 :
		    (int)poll_ms;
	else
		cfg->send_wait_ms = WORKER_SEND_WAIT_MS;
	w->configured = 1;
}

static void
worker_ping_handle(struct worker *w, json_t *msg)
{
	json_t *m = channel_msg_new("pong");
	json_t *seq = json_object_get(msg, "seq");

	if (seq == NULL)
		log_warnx("ping without seq");
	else
		json_object_set(m, "seq", seq);
	channel_emit(w, m);
}

static void
worker_line_handle(struct worker *w, const char *line)
{
	json_t *msg;
	const char *type;
	int bad_utf8;
	long long id;

	if ((msg = channel_line_parse(line, &bad_utf8)) == NULL)
		return;
	type = json_is_object(msg) ? channel_str_get(msg, "type") : NULL;
	if (type == NULL) {
		log_warnx("message without a type; ignored");
	} else if (bad_utf8) {
		if (strcmp(type, "send") == 0 && channel_int_get(msg, "id", &id) == 0)
			send_refuse(w, id, ERR_INVALIDDATA, 0,
			    "message is not valid UTF-8");
		else
			log_warnx("%s message with invalid UTF-8; ignored", type);
	} else if (strcmp(type, "config") == 0) {
		worker_config_handle(w, msg);
	} else if (strcmp(type, "ping") == 0) {
		worker_ping_handle(w, msg);
	} else if (strcmp(type, "send") == 0) {
		send_handle(w, msg);
	} else if (strcmp(type, "delete") == 0) {
		listing_delete_queue(w, msg);
	} else if (strcmp(type, "pin") == 0) {
		pin_answer(w, msg);
	} else {
		log_warnx("unknown message type \"%.40s\"; ignored", type);
	}
	json_decref(msg);
}

/* Handles every complete line read so far; stops early once configured
 * when until_config is set, so that connecting comes first. */
static void
worker_lines_drain(struct worker *w, int until_config)
{
	char *line;
	int toolong;

	for (;;) {
		if (until_config && w->configured)
			return;
		line = linebuf_next(&w->lb, &toolong);
		if (toolong)
			log_warnx("line over %d bytes from pigeond dropped",
			    PROTO_MAX_LINE);
		if (line == NULL)
			return;
		worker_line_handle(w, line);
	}
}

void
worker_serve(struct worker *w, int timeout_ms)
{
	channel_read(w, timeout_ms);
	worker_lines_drain(w, 0);
}

static void
worker_connect(struct worker *w)
{
	struct gsm_ident id;
	const char *errstr = NULL;
	int err;
	json_t *m;

	w->gsm = gsm_new();
	err = gsm_connect(w->gsm, &w->cfg, &errstr);
	if (err != ERR_NONE) {
		/* pigeond logs it, once ("modem NAME: connect: ..."): here
		 * too, each attempt was two warnings. */
		log_debug("connecting: %s", errstr);
		channel_error_emit(w, "connect", err, errstr);
		worker_exit(w, 1);
	}
	char why[256];
	int refused;
	if ((err = pin_unlock(w, why, sizeof(why), &refused)) != ERR_NONE) {
		if (refused)
			channel_emit(w, channel_msg_new("pin_refused"));
		channel_error_emit(w, "connect", err, why);
		worker_exit(w, 1);
	}
	gsm_identify(w->gsm, &id);
	log_info("ready: %s %s, firmware %s, IMEI %s", id.manufacturer,
	    id.model, id.firmware, id.imei);
	m = channel_msg_new("ready");
	json_object_set_new(m, "manufacturer", channel_str_new(id.manufacturer));
	json_object_set_new(m, "model", channel_str_new(id.model));
	json_object_set_new(m, "firmware", channel_str_new(id.firmware));
	json_object_set_new(m, "imei", channel_str_new(id.imei));
	json_object_set_new(m, "imsi", channel_str_new(id.imsi));
	/* Whether an alphanumeric sender can be told from a number. */
	json_object_set_new(m, "sender_types", json_boolean(gsm_sender_types(w->gsm)));
	if (!gsm_sender_types(w->gsm))
		log_info("this driver does not tell a sender's type: an "
		    "alphanumeric sender made of digits reads as a number");
	channel_emit(w, m);
}

static void
usage(void)
{
	fprintf(stderr, "usage: pigeon-modem [-v]\n"
	    "Speaks docs/modem-protocol.md on file descriptor 3.\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	struct worker *w = &worker;
	struct sigaction sa;
	int verbose = 0, ch, fl;

	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		printf("pigeon-modem %s\n", PIGEON_VERSION);
		return 0;
	}
	while ((ch = getopt(argc, argv, "v")) != -1) {
		if (ch == 'v')
			verbose++;
		else
			usage();
	}
	/* As pigeond does: no stat of /etc/localtime per libgammu clock read. */
	if (getenv("TZ") == NULL)
		setenv("TZ", ":/etc/localtime", 0);
	log_init(w->progname, verbose, 0);
	if ((fl = fcntl(PROTO_FD, F_GETFL)) == -1)
		fatal("file descriptor %d (started outside pigeond?)", PROTO_FD);
	/* proto_write_all needs a blocking descriptor. */
	if ((fl & O_NONBLOCK) && fcntl(PROTO_FD, F_SETFL, fl & ~O_NONBLOCK) == -1)
		fatal("fcntl");
	fcntl(PROTO_FD, F_SETFD, FD_CLOEXEC);

	signal(SIGPIPE, SIG_IGN);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = worker_on_signal;	/* no SA_RESTART: poll returns */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	/*
	 * Ctrl-C reaches the whole process group: let pigeond finish the send
	 * in flight and close the channel, rather than dying mid-send.
	 */
	signal(SIGINT, SIG_IGN);

	linebuf_init(&w->lb);
	w->seen = seen_new();
	{
		uint64_t r;
		if (getrandom(&r, sizeof(r), 0) != sizeof(r))
			r = (uint64_t)time(NULL) << 20 ^ (uint64_t)getpid();
		snprintf(w->run_id, sizeof(w->run_id), "%016llx", (unsigned long long)r);
	}
	while (!w->configured) {
		worker_lines_drain(w, 1);
		if (w->configured || w->quit)
			break;
		channel_read(w, -1);
	}
	if (w->quit)
		worker_exit(w, 0);
	if (w->cfg.name[0] != '\0') {
		snprintf(w->progname, sizeof(w->progname), "pigeon-modem[%.*s]",
		    (int)sizeof(w->cfg.name), w->cfg.name);
		log_init(w->progname, verbose, 0);
	}
	worker_connect(w);
	int notify = health_notify_init(w->gsm);
	/* libgammu's AT driver reads +CMTI; the dummy driver says yes and
	 * never announces anything, so it keeps listing every poll_ms. */
	int slow_listing = notify && strncasecmp(w->cfg.connection, "at", 2) == 0;

	/*
	 * Stored SMS are listed at once when the modem announces one, and
	 * every poll_ms (LIST_FALLBACK_MS when it announces them);
	 * announcements are read every IDLE_MS between listings.
	 */
	long next_poll = worker_now_ms(), next_idle = worker_now_ms() + IDLE_MS;
	long next_health = worker_now_ms(), last_poll = 0;
	long last_announced = -IDLE_BUSY_FOR_MS;
	while (!w->quit) {
		worker_lines_drain(w, 0);
		/* Sends and pings first: they are read between the deletes. */
		while (!w->quit && listing_deletes_run(w, DELETES_AT_ONCE))
			worker_serve(w, 0);
		if (w->quit)
			break;
		if (notify && worker_now_ms() >= next_idle) {
			/* A device gone shows here first: list now, and fail. */
			if (outcome_link_error(gsm_idle(w->gsm)))
				next_poll = worker_now_ms();
			if (health_sms_waiting()) {
				last_announced = worker_now_ms();
				log_debug("new SMS announced; listing now");
				next_poll = worker_now_ms();
				w->last_progress = 0;	/* not deferred */
			}
			next_idle = worker_now_ms() +
			    (worker_now_ms() - last_announced < IDLE_BUSY_FOR_MS ?
			    IDLE_BUSY_MS : IDLE_MS);
		}
		if (worker_now_ms() >= next_poll && !listing_deferred(w, last_poll)) {
			long t0 = worker_now_ms(), gap = w->cfg.poll_ms;
			listing_run(w);
			/*
			 * An SMS announced during the listing may have come
			 * after its location was read: list again as soon as
			 * one announced between listings would be, not at the
			 * next poll (poll_ms, or LIST_FALLBACK_MS, away: a
			 * report stored as a listing ended waited that long).
			 * Only LIST_GAP_FACTOR keeps a stream of SMS from
			 * making the worker list all the time.
			 */
			int announced = health_sms_waiting();
			last_poll = w->last_progress = worker_now_ms();
			long busy = (last_poll - t0) * LIST_GAP_FACTOR;
			if (busy > LIST_GAP_MAX_MS)
				busy = LIST_GAP_MAX_MS;
			if (busy > gap)
				gap = busy;	/* never under poll_ms otherwise */
			if (slow_listing && !announced && w->poll_last_err == ERR_NONE &&
			    gap < LIST_FALLBACK_MS)
				gap = LIST_FALLBACK_MS;
			if (announced) {
				log_debug("SMS announced during the listing; "
				    "listing again");
				last_announced = last_poll;
				gap = busy;
			}
			next_poll = last_poll + gap;
		}
		if (w->cfg.health_ms > 0 && worker_now_ms() >= next_health) {
			channel_emit(w, health_poll(w->gsm));
			next_health = worker_now_ms() + w->cfg.health_ms;
		}
		long wake = next_poll;
		if (wake <= worker_now_ms() && listing_deferred(w, last_poll))
			wake = worker_now_ms() + 10;	/* a delete wakes us sooner */
		if (notify && next_idle < wake)
			wake = next_idle;
		if (w->cfg.health_ms > 0 && next_health < wake)
			wake = next_health;
		long wait = wake - worker_now_ms();
		channel_read(w, wait < 0 ? 0 : (int)wait);
	}
	log_info("signal received; exiting");
	worker_exit(w, 0);
}

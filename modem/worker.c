/*
 * worker.c: pigeon-modem, one process per modem, started by pigeond with a
 * socketpair end as file descriptor 3 (docs/modem-protocol.md).
 *
 * It waits for `config`, connects, says `ready`, then loops: handle every
 * complete line pigeond has written, list the modem's SMS every poll_ms and
 * report the parts not yet reported. It exits 0 when the channel closes.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
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
#define POLL_FAILS_FATAL	3	/* link errors in a row before giving up */
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
 * While pigeond is still deleting what the last listing reported, a new
 * listing would only re-read those SMS (the dummy driver opens every file,
 * an AT modem sends them all again): wait for the deletes, as long as one
 * came in the last DEFER_IDLE_MS and no longer than DEFER_MAX_MS in all.
 */
#define DEFER_IDLE_MS		1000
#define DEFER_MAX_MS		10000
/*
 * A listing is not repeated sooner than LIST_GAP_FACTOR times its own
 * length (at most LIST_GAP_MAX_MS), even with a shorter poll_ms, so that a
 * worker lists at most a tenth of its time: the dummy driver probes 50,000
 * file names per listing (150 ms of CPU, seconds under load), and four
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

static struct gsm_config cfg;
static struct gsm	*gsm;
static struct seen	*seen;
static struct linebuf	 lb;
static int		 configured;
static unsigned		 poll_gen;	/* counts listings, for seen_prune */
static int		 poll_fails;
static int		 poll_last_err = ERR_NONE;
static long		 last_progress;	/* last listing or delete, for deferring */
/*
 * Deletes are the worker's least urgent work: they are queued and run a
 * few at a time, the channel read between, so a `send` does not wait
 * behind the hundreds of deletes a stored batch brings. During a listing
 * (the worker serves pigeond between two reads) they wait for its end: an
 * AT listing is read from the modem's answer to one command, so a location
 * deleted meanwhile could still come later in it and be reported twice.
 */
#define DELETES_AT_ONCE		16
static int		 listing;
static int		 listed, reported;	/* this listing's locations */
static struct { int folder, location; } *held;
static size_t		 held_head, nheld, held_cap;
static char		 progname[96] = "pigeon-modem";
/*
 * This process's run, for the dedupe key of an SMS without a network time
 * stamp (docs/modem-protocol.md, "read_id"): random, so that no two runs
 * of any worker share one, even across pigeond restarts.
 */
static char		 run_id[17];
/* pigeond's answer to pin_needed: the PIN, or none and why. */
static int		 pin_answered;
static char		 pin_given[16], pin_why[256];
static volatile sig_atomic_t quit;

static void	worker_exit(int) __attribute__((noreturn));

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void
worker_exit(int code)
{
	gsm_free(gsm);		/* disconnects */
	seen_free(seen);
	linebuf_free(&lb);
	free(held);
	free(cfg.device);
	free(cfg.connection);
	free(cfg.model);
	free(cfg.logfile);
	free(cfg.logformat);
	free(cfg.smsc);
	exit(code);
}

static void
on_signal(int sig)
{
	(void)sig;
	quit = 1;
}

/* Writes one message and releases it; a closed channel ends the worker. */
static void
emit(json_t *msg)
{
	char *s, *line;
	size_t len;

	if (msg == NULL)
		fatalx("emit: out of memory");
	s = json_dumps(msg, JSON_COMPACT);
	json_decref(msg);
	if (s == NULL)
		fatalx("emit: json_dumps failed");
	len = strlen(s);
	if ((line = realloc(s, len + 2)) == NULL)
		fatal("realloc");
	s = line;
	s[len++] = '\n';	/* JSON_COMPACT output has no newline of its own */
	if (proto_write_all(PROTO_FD, s, len) == -1) {
		int gone = errno == EPIPE || errno == ECONNRESET;
		log_warn("writing to pigeond");
		free(s);
		worker_exit(gone ? 0 : 1);
	}
	free(s);
}

/* A JSON string of possibly invalid UTF-8 from a modem. */
static json_t *
jstr(const char *s)
{
	size_t len = strlen(s);
	json_t *j;
	char *clean;

	if (utf8_valid(s, len))
		return json_stringn(s, len);
	if ((clean = utf8_sanitize(s, len, &len)) == NULL)
		fatal("utf8_sanitize");
	j = json_stringn(clean, len);
	free(clean);
	return j;
}

static json_t *
msg_new(const char *type)
{
	json_t *m = json_object();

	if (m == NULL)
		fatalx("out of memory");
	json_object_set_new(m, "type", json_string(type));
	return m;
}

static void
emit_error(const char *stage, int code, const char *error)
{
	json_t *m = msg_new("error");

	json_object_set_new(m, "stage", json_string(stage));
	json_object_set_new(m, "code", json_integer(code));
	json_object_set_new(m, "error", jstr(error));
	emit(m);
}

/* A string member without embedded NUL, or NULL. */
static const char *
get_string(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_string(v) ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return NULL;
	return json_string_value(v);
}

static int
get_int(json_t *obj, const char *key, long long *out)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_integer(v))
		return -1;
	*out = json_integer_value(v);
	return 0;
}

static char *
config_string(json_t *msg, const char *key)
{
	const char *v = get_string(msg, key);
	char *copy;

	if (v == NULL && json_object_get(msg, key) != NULL &&
	    !json_is_null(json_object_get(msg, key)))
		log_warnx("config: %s is not a string; using the default", key);
	if ((copy = strdup(v != NULL ? v : "")) == NULL)
		fatal("strdup");
	return copy;
}

static void
handle_config(json_t *msg)
{
	json_t *pm = json_object_get(msg, "poll_ms");
	const char *name;
	long long poll_ms = 0;

	if (configured) {
		log_warnx("config received twice; ignored");
		return;
	}
	name = get_string(msg, "name");
	snprintf(cfg.name, sizeof(cfg.name), "%s", name != NULL ? name : "");
	for (char *p = cfg.name; *p != '\0'; p++)
		if (*p < 0x21 || *p > 0x7e)
			*p = '_';	/* it goes into every log line */
	cfg.device = config_string(msg, "device");
	cfg.connection = config_string(msg, "connection");
	cfg.model = config_string(msg, "model");
	cfg.logfile = config_string(msg, "logfile");
	cfg.logformat = config_string(msg, "logformat");
	cfg.smsc = config_string(msg, "smsc");
	if (json_is_integer(pm))
		poll_ms = json_integer_value(pm);
	else if (json_is_string(pm))
		poll_ms = strtoll(json_string_value(pm), NULL, 10);
	if (poll_ms <= 0)
		poll_ms = POLL_MS_DEFAULT;
	cfg.poll_ms = poll_ms < 10 ? 10 : poll_ms > 3600000 ? 3600000 : (int)poll_ms;
	if (get_int(msg, "health_ms", &poll_ms) == 0)
		cfg.health_ms = poll_ms <= 0 ? 0 : poll_ms < 1000 ? 1000 :
		    poll_ms > 86400000 ? 86400000 : (int)poll_ms;
	else
		cfg.health_ms = HEALTH_MS_DEFAULT;
	if (get_int(msg, "send_wait_ms", &poll_ms) == 0 && poll_ms > 0)
		cfg.send_wait_ms = poll_ms < 1000 ? 1000 : poll_ms > 300000 ? 300000 :
		    (int)poll_ms;
	else
		cfg.send_wait_ms = WORKER_SEND_WAIT_MS;
	configured = 1;
}

static void
handle_ping(json_t *msg)
{
	json_t *m = msg_new("pong");
	json_t *seq = json_object_get(msg, "seq");

	if (seq == NULL)
		log_warnx("ping without seq");
	else
		json_object_set(m, "seq", seq);
	emit(m);
}

static void
emit_send_failed(long long id, const struct send_result *r)
{
	json_t *m = msg_new("send_failed"), *refs = json_array();

	json_object_set_new(m, "id", json_integer(id));
	json_object_set_new(m, "code", json_integer(r->code));
	json_object_set_new(m, "error", jstr(r->error));
	json_object_set_new(m, "temporary", json_boolean(r->temporary));
	json_object_set_new(m, "parts", json_integer(r->parts));
	json_object_set_new(m, "parts_sent", json_integer(r->parts_sent));
	for (int i = 0; i < r->parts_sent; i++)
		json_array_append_new(refs, json_integer(r->refs[i]));
	json_object_set_new(m, "refs", refs);
	if (r->cms != -2)
		json_object_set_new(m, "cms", json_integer(r->cms));
	log_warnx("send %lld failed (%s): %s", id,
	    r->temporary ? "temporary" : "permanent", r->error);
	emit(m);
}

/* Fails a send that cannot be tried: bad fields, not connected. */
static void
send_refuse(long long id, int code, int temporary, const char *error)
{
	struct send_result r;

	memset(&r, 0, sizeof(r));
	r.code = code;
	r.cms = -2;
	r.temporary = temporary;
	snprintf(r.error, sizeof(r.error), "%s", error);
	emit_send_failed(id, &r);
}

static void
handle_send(json_t *msg)
{
	struct send_result r;
	const char *to, *text;
	json_t *report = json_object_get(msg, "report");
	long long id;

	if (get_int(msg, "id", &id) == -1) {
		log_warnx("send without an integer id; ignored");
		return;
	}
	to = get_string(msg, "to");
	text = get_string(msg, "text");
	if (to == NULL || text == NULL) {
		send_refuse(id, ERR_INVALIDDATA, 0, to == NULL ?
		    "missing or invalid \"to\"" : "missing or invalid \"text\"");
		return;
	}
	if (!configured || gsm == NULL) {
		send_refuse(id, ERR_NOTCONNECTED, 1, "modem not connected yet");
		return;
	}
	long long max_parts = 0;
	if (get_int(msg, "max_parts", &max_parts) == -1 || max_parts < 0)
		max_parts = 0;	/* absent or bad: no cap but the worker's */
	long long validity = 0;
	if (get_int(msg, "validity", &validity) == -1 || validity < 0)
		validity = 0;
	gsm_send_options(gsm, json_is_true(json_object_get(msg, "flash")),
	    (int)(validity > 63 * 7 * 86400 ? 63 * 7 * 86400 : validity));
	gsm_send(gsm, to, text, json_is_true(report),
	    (int)(max_parts > WORKER_MAX_PARTS ? WORKER_MAX_PARTS : max_parts), get_string(msg, "more"), &r);
	if (!r.ok) {
		emit_send_failed(id, &r);
		return;
	}
	json_t *m = msg_new("sent"), *refs = json_array();
	json_object_set_new(m, "id", json_integer(id));
	json_object_set_new(m, "parts", json_integer(r.parts));
	for (int i = 0; i < r.parts; i++)
		json_array_append_new(refs, json_integer(r.refs[i]));
	json_object_set_new(m, "refs", refs);
	log_debug("send %lld: %d part(s) sent", id, r.parts);
	emit(m);
}

static void
delete_now(int folder, int location)
{
	json_t *m;
	int err;

	err = gsm != NULL && configured ?
	    gsm_delete(gsm, (int)folder, (int)location) : ERR_NOTCONNECTED;
	if (err == ERR_NONE) {
		seen_del(seen, (int)folder, (int)location);
		last_progress = now_ms();
		m = msg_new("deleted");
	} else {
		log_warnx("delete folder %d location %d: %s", folder,
		    location, gsm_strerror(err));
		m = msg_new("delete_failed");
		json_object_set_new(m, "code", json_integer(err));
		json_object_set_new(m, "error", json_string(gsm_strerror(err)));
	}
	json_object_set_new(m, "folder", json_integer(folder));
	json_object_set_new(m, "location", json_integer(location));
	emit(m);
}

static void
handle_delete(json_t *msg)
{
	long long folder, location;

	if (get_int(msg, "folder", &folder) == -1 ||
	    get_int(msg, "location", &location) == -1 ||
	    folder < 0 || folder > 1000000 || location < 0 ||
	    location > 1000000000) {
		log_warnx("delete without integer folder and location; ignored");
		return;
	}
	if (!configured || gsm == NULL) {
		delete_now((int)folder, (int)location);	/* fails at once */
		return;
	}
	if (held_head > 0 && nheld == held_cap) {
		memmove(held, held + held_head, (nheld - held_head) * sizeof(*held));
		nheld -= held_head;
		held_head = 0;
	}
	if (nheld == held_cap) {
		size_t ncap = held_cap ? held_cap * 2 : 256;
		void *n = realloc(held, ncap * sizeof(*held));
		if (n == NULL)
			fatal("realloc");
		held = n;
		held_cap = ncap;
	}
	held[nheld].folder = (int)folder;
	held[nheld].location = (int)location;
	nheld++;
}

/* Runs up to max queued deletes, in their order; 1 if more are left. */
static int
held_deletes_run(size_t max)
{
	for (; max > 0 && held_head < nheld && !listing; max--, held_head++)
		delete_now(held[held_head].folder, held[held_head].location);
	if (held_head == nheld)
		held_head = nheld = 0;
	return held_head < nheld;
}

/* Parses a line; invalid UTF-8 is replaced so a `send` can still be refused. */
static json_t *
parse_line(const char *line, int *bad_utf8)
{
	json_error_t err;
	json_t *msg;
	char *clean;

	*bad_utf8 = 0;
	msg = json_loads(line, JSON_ALLOW_NUL, &err);
	if (msg == NULL && json_error_code(&err) == json_error_invalid_utf8) {
		*bad_utf8 = 1;
		if ((clean = utf8_sanitize(line, strlen(line), NULL)) == NULL)
			fatal("utf8_sanitize");
		msg = json_loads(clean, JSON_ALLOW_NUL, &err);
		free(clean);
	}
	if (msg == NULL)
		log_warnx("bad line from pigeond: %s", err.text);
	return msg;
}

static void
handle_line(const char *line)
{
	json_t *msg;
	const char *type;
	int bad_utf8;
	long long id;

	if ((msg = parse_line(line, &bad_utf8)) == NULL)
		return;
	type = json_is_object(msg) ? get_string(msg, "type") : NULL;
	if (type == NULL) {
		log_warnx("message without a type; ignored");
	} else if (bad_utf8) {
		if (strcmp(type, "send") == 0 && get_int(msg, "id", &id) == 0)
			send_refuse(id, ERR_INVALIDDATA, 0,
			    "message is not valid UTF-8");
		else
			log_warnx("%s message with invalid UTF-8; ignored", type);
	} else if (strcmp(type, "config") == 0) {
		handle_config(msg);
	} else if (strcmp(type, "ping") == 0) {
		handle_ping(msg);
	} else if (strcmp(type, "send") == 0) {
		handle_send(msg);
	} else if (strcmp(type, "delete") == 0) {
		handle_delete(msg);
	} else if (strcmp(type, "pin") == 0) {
		const char *pin = get_string(msg, "pin"), *why = get_string(msg, "why");
		snprintf(pin_given, sizeof(pin_given), "%s", pin ? pin : "");
		snprintf(pin_why, sizeof(pin_why), "%s", why ? why : "");
		pin_answered = 1;
	} else {
		log_warnx("unknown message type \"%.40s\"; ignored", type);
	}
	json_decref(msg);
}

/* Handles every complete line read so far; stops early once configured
 * when until_config is set, so that connecting comes first. */
static void
drain_lines(int until_config)
{
	char *line;
	int toolong;

	for (;;) {
		if (until_config && configured)
			return;
		line = linebuf_next(&lb, &toolong);
		if (toolong)
			log_warnx("line over %d bytes from pigeond dropped",
			    PROTO_MAX_LINE);
		if (line == NULL)
			return;
		handle_line(line);
	}
}

/* Waits up to timeout_ms (-1: forever) and reads what fd 3 has. */
static void
read_channel(int timeout_ms)
{
	struct pollfd pfd = { .fd = PROTO_FD, .events = POLLIN };
	ssize_t n;

	if (poll(&pfd, 1, timeout_ms) <= 0)
		return;		/* timeout, or EINTR: the caller checks quit */
	n = linebuf_read(&lb, PROTO_FD);
	if (n > 0)
		return;
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n == -1)
		log_warn("reading from pigeond");
	log_info("channel closed; exiting");
	worker_exit(0);
}

static uint64_t
fnv(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static uint64_t
parts_hash(const struct sms_part *parts, int n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (int i = 0; i < n; i++) {
		const struct sms_part *p = &parts[i];
		int nums[6] = { p->udh, p->udh_ref, p->udh_total, p->udh_seq,
		    p->status_report, p->msg_ref };
		h = fnv(h, p->sender, strlen(p->sender) + 1);
		h = fnv(h, p->time, strlen(p->time) + 1);
		h = fnv(h, p->coding, strlen(p->coding) + 1);
		h = fnv(h, p->text, strlen(p->text) + 1);
		h = fnv(h, nums, sizeof(nums));
	}
	return h;
}

static void
emit_sms(const struct sms_part *p)
{
	json_t *m = msg_new("sms");

	json_object_set_new(m, "folder", json_integer(p->folder));
	json_object_set_new(m, "location", json_integer(p->location));
	json_object_set_new(m, "sender", jstr(p->sender));
	json_object_set_new(m, "smsc", jstr(p->smsc));
	json_object_set_new(m, "time", p->time[0] != '\0' ?
	    json_string(p->time) : json_null());
	json_object_set_new(m, "coding", json_string(p->coding));
	json_object_set_new(m, "text", jstr(p->text));
	json_object_set_new(m, "class", json_integer(p->cls));
	if (p->sender_toa >= 0)
		json_object_set_new(m, "sender_toa", json_integer(p->sender_toa));
	if (p->error != NULL)
		json_object_set_new(m, "error", json_string(p->error));
	if (p->time[0] == '\0' && !p->status_report) {
		/* No time stamp to tell two identical SMS apart: this read. */
		char id[40];
		snprintf(id, sizeof(id), "%s-%u", run_id, poll_gen);
		json_object_set_new(m, "read_id", json_string(id));
	}
	if (p->udh)
		json_object_set_new(m, "udh", json_pack("{s:i,s:i,s:i}",
		    "ref", p->udh_ref, "total", p->udh_total, "seq", p->udh_seq));
	if (p->status_report) {
		json_object_set_new(m, "status_report", json_true());
		json_object_set_new(m, "ref", json_integer(p->msg_ref));
		json_object_set_new(m, "delivery_status",
		    json_integer(p->delivery_status));
		json_object_set_new(m, "discharge_time",
		    p->discharge_time[0] != '\0' ?
		    json_string(p->discharge_time) : json_null());
	}
	emit(m);
}

/* gsm_poll callback: report a location unless reported with this content. */
static void
on_location(const struct sms_part *parts, int n, void *arg)
{
	uint64_t h = parts_hash(parts, n);
	int folder = parts[0].folder, location = parts[0].location;

	(void)arg;
	listed++;
	if (seen_has(seen, folder, location, h, poll_gen))
		return;
	reported++;
	log_debug("SMS at folder %d location %d from %s (%d part(s))",
	    folder, location, parts[0].sender, n);
	for (int i = 0; i < n; i++)
		emit_sms(&parts[i]);
	seen_put(seen, folder, location, h, poll_gen);
}

/* Whether the next listing waits for the deletes of the last one. */
static int
poll_deferred(long last_poll)
{
	long t = now_ms();

	return seen_count(seen) > 0 && t - last_progress < DEFER_IDLE_MS &&
	    t - last_poll < DEFER_MAX_MS;
}

static void
poll_modem(void)
{
	int err = ERR_NONE, done = 0;
	long t0 = now_ms();

	gsm_idle(gsm);
	poll_gen++;
	listed = reported = 0;
	gsm_list_begin(gsm);
	listing = 1;
	while (!quit) {
		err = gsm_list_step(gsm, on_location, NULL, &done);
		if (err != ERR_NONE || done)
			break;
		/* Sends and pings that came meanwhile, without waiting. */
		read_channel(0);
		drain_lines(0);
	}
	listing = 0;
	log_debug("listing: %d location(s), %d new, %ld ms, %zu delete(s) held",
	    listed, reported, now_ms() - t0, nheld - held_head);
	if (err == ERR_NONE && !done)
		return;		/* stopped by a signal: prune nothing */
	if (err == ERR_NONE) {
		seen_prune(seen, poll_gen);
		if (poll_last_err != ERR_NONE)
			log_info("listing SMS works again");
		poll_fails = 0;
		poll_last_err = ERR_NONE;
		return;
	}
	/* One `error` per change of error, not one per poll. */
	if (err != poll_last_err) {
		log_warnx("listing SMS: %s", gsm_strerror(err));
		emit_error("poll", err, gsm_strerror(err));
	}
	poll_last_err = err;
	if (!outcome_link_error(err)) {
		poll_fails = 0;
		return;
	}
	if (++poll_fails >= POLL_FAILS_FATAL) {
		log_warnx("modem not answering (%d failed listings); exiting",
		    poll_fails);
		emit_error("fatal", err, gsm_strerror(err));
		worker_exit(1);
	}
}

/* pin.c asks pigeond for the PIN: the answer comes as a `pin` line. */
static const char *
ask_pin(char *pin, size_t len)
{
	emit(msg_new("pin_needed"));
	while (!pin_answered && !quit) {
		read_channel(-1);
		drain_lines(0);
	}
	snprintf(pin, len, "%s", pin_given);
	explicit_bzero(pin_given, sizeof(pin_given));
	return pin_why;
}

static void
connect_modem(void)
{
	struct gsm_ident id;
	const char *errstr = NULL;
	int err;
	json_t *m;

	gsm = gsm_new();
	err = gsm_connect(gsm, &cfg, &errstr);
	if (err != ERR_NONE) {
		log_warnx("connecting: %s", errstr);
		emit_error("connect", err, errstr);
		worker_exit(1);
	}
	char why[256];
	int refused;
	if ((err = pin_unlock(gsm, ask_pin, why, sizeof(why), &refused)) != ERR_NONE) {
		if (refused)
			emit(msg_new("pin_refused"));
		emit_error("connect", err, why);
		worker_exit(1);
	}
	gsm_identify(gsm, &id);
	log_info("ready: %s %s, firmware %s, IMEI %s", id.manufacturer,
	    id.model, id.firmware, id.imei);
	m = msg_new("ready");
	json_object_set_new(m, "manufacturer", jstr(id.manufacturer));
	json_object_set_new(m, "model", jstr(id.model));
	json_object_set_new(m, "firmware", jstr(id.firmware));
	json_object_set_new(m, "imei", jstr(id.imei));
	json_object_set_new(m, "imsi", jstr(id.imsi));
	/* Whether an alphanumeric sender can be told from a number. */
	json_object_set_new(m, "sender_types", json_boolean(gsm_sender_types(gsm)));
	if (!gsm_sender_types(gsm))
		log_info("this driver does not tell a sender's type: an "
		    "alphanumeric sender made of digits reads as a number");
	emit(m);
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
	log_init(progname, verbose, 0);
	if ((fl = fcntl(PROTO_FD, F_GETFL)) == -1)
		fatal("file descriptor %d (started outside pigeond?)", PROTO_FD);
	/* proto_write_all needs a blocking descriptor. */
	if ((fl & O_NONBLOCK) && fcntl(PROTO_FD, F_SETFL, fl & ~O_NONBLOCK) == -1)
		fatal("fcntl");
	fcntl(PROTO_FD, F_SETFD, FD_CLOEXEC);

	signal(SIGPIPE, SIG_IGN);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;	/* no SA_RESTART: poll returns */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	/*
	 * Ctrl-C reaches the whole process group: let pigeond finish the send
	 * in flight and close the channel, rather than dying mid-send.
	 */
	signal(SIGINT, SIG_IGN);

	linebuf_init(&lb);
	seen = seen_new();
	{
		uint64_t r;
		if (getrandom(&r, sizeof(r), 0) != sizeof(r))
			r = (uint64_t)time(NULL) << 20 ^ (uint64_t)getpid();
		snprintf(run_id, sizeof(run_id), "%016llx", (unsigned long long)r);
	}
	while (!configured) {
		drain_lines(1);
		if (configured || quit)
			break;
		read_channel(-1);
	}
	if (quit)
		worker_exit(0);
	if (cfg.name[0] != '\0') {
		snprintf(progname, sizeof(progname), "pigeon-modem[%s]", cfg.name);
		log_init(progname, verbose, 0);
	}
	connect_modem();
	int notify = health_notify_init(gsm);
	/* libgammu's AT driver reads +CMTI; the dummy driver says yes and
	 * never announces anything, so it keeps listing every poll_ms. */
	int slow_listing = notify && strncasecmp(cfg.connection, "at", 2) == 0;

	/*
	 * Stored SMS are listed at once when the modem announces one, and
	 * every poll_ms (LIST_FALLBACK_MS when it announces them);
	 * announcements are read every IDLE_MS between listings.
	 */
	long next_poll = now_ms(), next_idle = now_ms() + IDLE_MS;
	long next_health = now_ms(), last_poll = 0, last_announced = -IDLE_BUSY_FOR_MS;
	while (!quit) {
		drain_lines(0);
		/* Sends and pings first: they are read between the deletes. */
		while (!quit && held_deletes_run(DELETES_AT_ONCE)) {
			read_channel(0);
			drain_lines(0);
		}
		if (quit)
			break;
		if (notify && now_ms() >= next_idle) {
			/* A device gone shows here first: list now, and fail. */
			if (outcome_link_error(gsm_idle(gsm)))
				next_poll = now_ms();
			if (health_sms_waiting()) {
				last_announced = now_ms();
				log_debug("new SMS announced; listing now");
				next_poll = now_ms();
				last_progress = 0;	/* not deferred */
			}
			next_idle = now_ms() + (now_ms() - last_announced < IDLE_BUSY_FOR_MS ?
			    IDLE_BUSY_MS : IDLE_MS);
		}
		if (now_ms() >= next_poll && !poll_deferred(last_poll)) {
			long t0 = now_ms(), gap = cfg.poll_ms;
			poll_modem();
			/* An SMS announced during the listing may have come after
			 * its location was read: list again at the usual pace. */
			int announced = health_sms_waiting();
			if (announced)
				last_announced = now_ms();
			last_poll = last_progress = now_ms();
			if ((last_poll - t0) * LIST_GAP_FACTOR > gap)
				gap = (last_poll - t0) * LIST_GAP_FACTOR;
			if (gap > cfg.poll_ms && gap > LIST_GAP_MAX_MS)
				gap = cfg.poll_ms > LIST_GAP_MAX_MS ?
				    cfg.poll_ms : LIST_GAP_MAX_MS;
			if (slow_listing && !announced && poll_last_err == ERR_NONE &&
			    gap < LIST_FALLBACK_MS)
				gap = LIST_FALLBACK_MS;
			next_poll = last_poll + gap;
		}
		if (cfg.health_ms > 0 && now_ms() >= next_health) {
			emit(health_poll(gsm));
			next_health = now_ms() + cfg.health_ms;
		}
		long wake = next_poll;
		if (wake <= now_ms() && poll_deferred(last_poll))
			wake = now_ms() + 10;	/* a delete wakes us sooner */
		if (notify && next_idle < wake)
			wake = next_idle;
		if (cfg.health_ms > 0 && next_health < wake)
			wake = next_health;
		long wait = wake - now_ms();
		read_channel(wait < 0 ? 0 : (int)wait);
	}
	log_info("signal received; exiting");
	worker_exit(0);
}

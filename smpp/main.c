/*
 * main.c: pigeon-smpp, one process per SMPP bind, started by pigeond with
 * a socketpair end as file descriptor 3 (docs/modem-protocol.md: the same
 * messages as pigeon-modem, and the SMPP additions).
 *
 * It waits for `config`, binds (link.c), says `ready`, then serves `send`
 * (up to `window` at once, answered in any order), reports every
 * deliver_sm as an `sms` or a `report` event (deliver.c) and answers it to
 * the SMSC only when pigeond's `delete` says it is committed. It unbinds
 * and exits 0 when the channel closes or on SIGTERM.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <jansson.h>

#include "log.h"
#include "proto.h"
#include "smpp.h"
#include "chanint.h"

#define HEALTH_MS_DEFAULT	60000

static struct event_base *base;
static struct bufferevent *chan;
static struct link_config cfg;
static int configured;
static char progname[96] = "pigeon-smpp";
static int verbose;

void
main_exit(int code)
{
	/* What is still buffered for pigeond goes out before we do. */
	if (chan != NULL) {
		struct evbuffer *out = bufferevent_get_output(chan);
		size_t n = evbuffer_get_length(out);
		int fl = fcntl(PROTO_FD, F_GETFL);
		if (n > 0 && fl != -1 &&
		    fcntl(PROTO_FD, F_SETFL, fl & ~O_NONBLOCK) != -1)
			proto_write_all(PROTO_FD,
			    (const char *)evbuffer_pullup(out, -1), n);
	}
	exit(code);
}

const struct link_config *
main_config(void)
{
	return &cfg;
}

void
emit(json_t *m)
{
	char *s;

	if (m == NULL || (s = json_dumps(m, JSON_COMPACT)) == NULL)
		fatalx("emit: out of memory");
	json_decref(m);
	bufferevent_write(chan, s, strlen(s));
	bufferevent_write(chan, "\n", 1);
	free(s);
}

json_t *
msg_new(const char *type)
{
	json_t *m = json_object();

	if (m == NULL)
		fatalx("out of memory");
	json_object_set_new(m, "type", json_string(type));
	return m;
}

/* A JSON string of bytes an SMSC sent, repaired if not UTF-8. */
json_t *
jstr(const char *s)
{
	size_t len = strlen(s);
	char *clean;
	json_t *j;

	if (utf8_valid(s, len))
		return json_stringn(s, len);
	if ((clean = utf8_sanitize(s, len, &len)) == NULL)
		fatal("utf8_sanitize");
	j = json_stringn(clean, len);
	free(clean);
	return j;
}

static json_t *
ids_array(char ids[][SMPP_ID_SIZE], int n)
{
	json_t *a = json_array();

	for (int i = 0; i < n; i++)
		json_array_append_new(a, jstr(ids[i]));
	return a;
}

/* Every spelling of every id, for matching receipts (smpp_id_keys). */
json_t *
keys_array(char ids[][SMPP_ID_SIZE], int n)
{
	json_t *a = json_array();
	char keys[3][SMPP_ID_SIZE];

	for (int i = 0; i < n; i++) {
		int k = smpp_id_keys(ids[i], keys);
		for (int j = 0; j < k; j++)
			json_array_append_new(a, jstr(keys[j]));
	}
	return a;
}

void
main_ready(const char *smsc_system_id, int rebind)
{
	json_t *m = msg_new("ready");

	json_object_set_new(m, "manufacturer", json_string("SMPP"));
	json_object_set_new(m, "model", jstr(smsc_system_id));
	json_object_set_new(m, "firmware", json_string("3.4"));
	json_object_set_new(m, "imei", json_string(""));
	json_object_set_new(m, "imsi", json_string(""));
	json_object_set_new(m, "link", json_string("smpp"));
	json_object_set_new(m, "window", json_integer(cfg.window));
	json_object_set_new(m, "rebind", json_boolean(rebind));
	emit(m);
}

/* A session was lost. sends: the transmitter is still bound (a receiver
 * of two sessions), the link goes on sending. */
void
main_link_down(const char *session, const char *reason, uint32_t status,
    int sends)
{
	json_t *m = msg_new("link");

	json_object_set_new(m, "state", json_string("down"));
	json_object_set_new(m, "session", json_string(session));
	json_object_set_new(m, "reason", jstr(reason));
	if (status != 0)
		json_object_set_new(m, "command_status", json_integer(status));
	if (sends)
		json_object_set_new(m, "sends", json_true());
	emit(m);
}

/* A session said down with `sends` is bound again. */
void
main_link_up(const char *session)
{
	json_t *m = msg_new("link");

	json_object_set_new(m, "state", json_string("up"));
	json_object_set_new(m, "session", json_string(session));
	emit(m);
}

void
main_bind_failed(uint32_t status)
{
	json_t *m = msg_new("error");

	json_object_set_new(m, "stage", json_string("bind"));
	json_object_set_new(m, "code", json_integer(status));
	json_object_set_new(m, "command_status", json_integer(status));
	json_object_set_new(m, "error", json_string(smpp_status_text(status)));
	emit(m);
}

void
main_link_failed(const char *session, const char *reason)
{
	json_t *m = msg_new("error");

	json_object_set_new(m, "stage", json_string("link"));
	json_object_set_new(m, "code", json_integer(0));
	json_object_set_new(m, "session", json_string(session));
	json_object_set_new(m, "error", jstr(reason));
	emit(m);
}

void
main_sent(long long id, int parts, int segments, char ids[][SMPP_ID_SIZE])
{
	json_t *m = msg_new("sent");

	json_object_set_new(m, "id", json_integer(id));
	json_object_set_new(m, "parts", json_integer(parts));
	/* message_payload: one submit_sm, which the carrier splits into (and
	 * bills as) the text's SMS parts: link_budget_day counts those. */
	if (segments > parts)
		json_object_set_new(m, "segments", json_integer(segments));
	json_object_set_new(m, "refs", ids_array(ids, parts));
	json_object_set_new(m, "keys", keys_array(ids, parts));
	emit(m);
}

void
main_send_failed(long long id, int parts, int parts_sent, int nids,
    char ids[][SMPP_ID_SIZE], uint32_t status, int temporary, int throttled,
    int flags, const char *error)
{
	json_t *m = msg_new("send_failed");
	int maybe_sent = (flags & SEND_MAYBE_SENT) != 0;

	json_object_set_new(m, "id", json_integer(id));
	json_object_set_new(m, "code", json_integer(status));
	json_object_set_new(m, "command_status", json_integer(status));
	json_object_set_new(m, "error", jstr(error));
	json_object_set_new(m, "temporary", json_boolean(temporary));
	json_object_set_new(m, "throttled", json_boolean(throttled));
	json_object_set_new(m, "maybe_sent", json_boolean(maybe_sent));
	if (flags & SEND_NOT_SENT)
		json_object_set_new(m, "not_sent", json_true());
	if (flags & SEND_LINK_LOST)
		json_object_set_new(m, "link_lost", json_true());
	if (flags & SEND_LINK_REFUSED)
		json_object_set_new(m, "link_refused", json_true());
	if ((flags & SEND_LINK_REFUSED) && smpp_status_bind(status))
		json_object_set_new(m, "bind_refused", json_true());
	json_object_set_new(m, "parts", json_integer(parts));
	json_object_set_new(m, "parts_sent", json_integer(parts_sent));
	json_object_set_new(m, "refs", ids_array(ids, nids));
	if (flags & SEND_NOT_SENT)
		log_info("send %lld not sent: %s", id, error);
	else if (!throttled)
		log_warnx("send %lld failed (%s%s): %s", id,
		    temporary ? "temporary" : (flags & SEND_LINK_REFUSED) ?
		    "refused on this link" : "permanent",
		    maybe_sent ? ", may have been sent" : "", error);
	emit(m);
}

/* Deliveries forgotten unanswered (acks.c): pigeond forgets what it has
 * not stored of them, as the SMSC delivers each again (inbound.c). */
void
main_dropped(const long long *handles, size_t n)
{
	json_t *m, *locs;

	if (n == 0)
		return;
	m = msg_new("dropped");
	if ((locs = json_array()) == NULL)
		fatalx("out of memory");
	for (size_t i = 0; i < n; i++)
		json_array_append_new(locs, json_integer(handles[i]));
	json_object_set_new(m, "locations", locs);
	emit(m);
}

/* The SMSC said slow down (status): no submit for ms (submit.c). */
void
main_paused(int ms, uint32_t status)
{
	json_t *m = msg_new("paused");

	json_object_set_new(m, "ms", json_integer(ms));
	json_object_set_new(m, "command_status", json_integer(status));
	json_object_set_new(m, "reason", jstr(smpp_status_text(status)));
	emit(m);
}

static const char *
get_string(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_string(v) ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return NULL;
	return json_string_value(v);
}

/* An integer member, or a string of digits; def when absent or bad. */
static long long
get_num(json_t *o, const char *key, long long def, long long lo, long long hi)
{
	json_t *v = json_object_get(o, key);
	long long n;

	if (json_is_integer(v))
		n = json_integer_value(v);
	else if (json_is_true(v))
		n = 1;
	else if (json_is_false(v))
		n = 0;
	else if (json_is_string(v) && json_string_value(v)[0] != '\0')
		n = strtoll(json_string_value(v), NULL, 0);
	else
		return def;
	return n < lo ? lo : n > hi ? hi : n;
}

static void
copy_str(json_t *o, const char *key, char *dst, size_t size, const char *def)
{
	const char *v = get_string(o, key);

	snprintf(dst, size, "%s", v != NULL ? v : def);
}

/* "100/s", "6000/min", "100": submit_sm a second. */
static double
parse_rate(json_t *o)
{
	json_t *v = json_object_get(o, "rate");
	double n;
	char *end;

	if (json_is_number(v))
		return json_number_value(v) > 0 ? json_number_value(v) : 0;
	if (!json_is_string(v))
		return 0;
	n = strtod(json_string_value(v), &end);
	if (n <= 0)
		return 0;
	if (strcmp(end, "/min") == 0)
		n /= 60;
	else if (strcmp(end, "/hour") == 0)
		n /= 3600;
	return n;
}

/*
 * How long a delivery waits for pigeond's answer before it is answered
 * ESME_RX_T_APPN: ACKS_MAX_AGE_MS, or PIGEON_SMPP_ACK_WAIT_MS (1000 ms
 * at least), which only tests set (tests/integration/test_smpp_mo.c: the
 * 5 minutes in a few seconds). Not a config key: no operator should
 * shorten it.
 */
static long
ack_wait_ms(void)
{
	const char *v = getenv("PIGEON_SMPP_ACK_WAIT_MS");
	char *end;
	long n;

	if (v == NULL || *v == '\0')
		return ACKS_MAX_AGE_MS;
	n = strtol(v, &end, 10);
	if (*end != '\0' || n < 1000 || n > ACKS_MAX_AGE_MS) {
		log_warnx("PIGEON_SMPP_ACK_WAIT_MS \"%s\" is not 1000 to %d; "
		    "ignored", v, ACKS_MAX_AGE_MS);
		return ACKS_MAX_AGE_MS;
	}
	log_info("a delivery waits %ld ms for pigeond's answer "
	    "(PIGEON_SMPP_ACK_WAIT_MS)", n);
	return n;
}

static void
handle_config(json_t *o)
{
	const char *bind, *s;

	if (configured) {
		log_warnx("config received twice; ignored");
		return;
	}
	memset(&cfg, 0, sizeof(cfg));
	copy_str(o, "name", cfg.name, sizeof(cfg.name), "");
	for (char *p = cfg.name; *p != '\0'; p++)
		if (*p < 0x21 || *p > 0x7e)
			*p = '_';
	copy_str(o, "host", cfg.host, sizeof(cfg.host), "127.0.0.1");
	snprintf(cfg.port, sizeof(cfg.port), "%lld",
	    get_num(o, "port", 2775, 1, 65535));
	copy_str(o, "system_id", cfg.system_id, sizeof(cfg.system_id), "");
	copy_str(o, "password", cfg.password, sizeof(cfg.password), "");
	copy_str(o, "system_type", cfg.system_type, sizeof(cfg.system_type), "");
	bind = get_string(o, "bind");
	if (bind == NULL || strcmp(bind, "transceiver") == 0)
		;
	else if (strcmp(bind, "transmitter+receiver") == 0 ||
	    strcmp(bind, "transmitter receiver") == 0)
		cfg.split = 1;
	else if (strcmp(bind, "transmitter") == 0)
		cfg.tx_only = 1;
	else if (strcmp(bind, "receiver") == 0)
		cfg.rx_only = 1;
	else
		log_warnx("config: bind \"%s\" unknown; transceiver", bind);
	/* A pigeond of before this took every `link` down for the link's
	 * and knew no `up`: its receiver lost alone would stay offline. */
	cfg.rx_apart = get_num(o, "receiver_apart", 0, 0, 1) == 1;
	copy_str(o, "source_addr", cfg.source_addr, sizeof(cfg.source_addr), "");
	cfg.source_ton = (int)get_num(o, "source_ton", 0, 0, 255);
	cfg.source_npi = (int)get_num(o, "source_npi", 0, 0, 255);
	cfg.dest_ton = (int)get_num(o, "dest_ton", 1, 0, 255);
	cfg.dest_npi = (int)get_num(o, "dest_npi", 1, 0, 255);
	/* A calling code is 1-3 digits; without one, no national form. */
	s = get_string(o, "country");
	if (s != NULL && strlen(s) >= 1 && strlen(s) < sizeof(cfg.country) &&
	    strspn(s, "0123456789") == strlen(s))
		snprintf(cfg.country, sizeof(cfg.country), "%s", s);
	cfg.window = (int)get_num(o, "window", 10, 1, 10000);
	cfg.rate = parse_rate(o);
	cfg.enquire_link_s = (int)get_num(o, "enquire_link", 30, 1, 3600);
	cfg.response_timeout_ms = (int)get_num(o, "response_timeout_ms",
	    get_num(o, "response_timeout", 30, 1, 3600) * 1000, 100, 3600000);
	cfg.registered_delivery = (int)get_num(o, "registered_delivery", 1, 0,
	    255);
	s = get_string(o, "default_alphabet");
	cfg.latin1 = s != NULL && strcmp(s, "latin1") == 0;
	s = get_string(o, "long");
	cfg.payload = s != NULL && strcmp(s, "payload") == 0;
	cfg.health_ms = (int)get_num(o, "health_ms", HEALTH_MS_DEFAULT, 0,
	    86400000);
	if (cfg.health_ms > 0 && cfg.health_ms < 1000)
		cfg.health_ms = 1000;
	cfg.reconnect_max_ms = (int)get_num(o, "reconnect_max_ms", 30000, 500,
	    600000);
	cfg.ack_wait_ms = ack_wait_ms();
	configured = 1;
}

static void
handle_send(json_t *o)
{
	json_t *idv = json_object_get(o, "id");
	const char *to = get_string(o, "to"), *text = get_string(o, "text");
	long long id;

	if (!json_is_integer(idv)) {
		log_warnx("send without an integer id; ignored");
		return;
	}
	id = json_integer_value(idv);
	if (to == NULL || text == NULL) {
		main_send_failed(id, 0, 0, 0, NULL, 0, 0, 0, 0, to == NULL ?
		    "missing or invalid \"to\"" : "missing or invalid \"text\"");
		return;
	}
	size_t digits = 0;
	const char *p = to[0] == '+' ? to + 1 : to;
	for (; *p >= '0' && *p <= '9'; p++)
		digits++;
	if (*p != '\0' || digits < 1 || digits > 20) {
		main_send_failed(id, 0, 0, 0, NULL, 0, 0, 0, 0,
		    "invalid recipient number");
		return;
	}
	if (!configured) {
		main_send_failed(id, 0, 0, 0, NULL, 0, 1, 0, SEND_NOT_SENT,
		    "not configured yet");
		return;
	}
	link_send(id, to, text, json_is_true(json_object_get(o, "report")),
	    (int)get_num(o, "max_parts", 0, 0, SMPP_MAX_PARTS),
	    (int)get_num(o, "max_parts_ucs2", 0, 0, SMPP_MAX_PARTS),
	    get_string(o, "more"), json_is_true(json_object_get(o, "flash")),
	    (int)get_num(o, "validity", 0, 0, 99 * 86400));
}

static void
handle_delete(json_t *o)
{
	json_t *loc = json_object_get(o, "location");
	const char *err;
	json_t *m;

	if (!json_is_integer(loc)) {
		log_warnx("delete without an integer location; ignored");
		return;
	}
	if (link_ack(json_integer_value(loc), &err) == 0) {
		m = msg_new("deleted");
	} else {
		m = msg_new("delete_failed");
		json_object_set_new(m, "code", json_integer(0));
		json_object_set_new(m, "error", json_string(err));
	}
	json_object_set_new(m, "folder", json_integer(0));
	json_object_set_new(m, "location", loc);
	json_incref(loc);
	emit(m);
}

/* pigeond could not store that delivery: the SMSC is to deliver it again
 * now (a temporary error), not once ACKS_MAX_AGE_MS ran out. No answer:
 * pigeond forgets it either way. */
static void
handle_release(json_t *o)
{
	json_t *loc = json_object_get(o, "location");
	const char *err;

	if (!json_is_integer(loc)) {
		log_warnx("release without an integer location; ignored");
		return;
	}
	if (link_release(json_integer_value(loc), &err) == 0)
		log_info("deliver_sm at location %lld released: answered "
		    "ESME_RX_T_APPN, the SMSC delivers it again",
		    (long long)json_integer_value(loc));
	else
		log_info("release of location %lld: %s",
		    (long long)json_integer_value(loc), err);
}

static void
handle_line(const char *line)
{
	json_error_t jerr;
	json_t *o = json_loads(line, JSON_ALLOW_NUL, &jerr);
	const char *type;
	int bad_utf8 = 0;

	/* A send whose id can still be read is answered, as by pigeon-modem. */
	if (o == NULL && json_error_code(&jerr) == json_error_invalid_utf8) {
		char *clean = utf8_sanitize(line, strlen(line), NULL);
		if (clean == NULL)
			fatal("utf8_sanitize");
		o = json_loads(clean, JSON_ALLOW_NUL, &jerr);
		free(clean);
		bad_utf8 = 1;
	}
	if (o == NULL) {
		log_warnx("bad line from pigeond: %s", jerr.text);
		return;
	}
	type = json_is_object(o) ? get_string(o, "type") : NULL;
	if (type == NULL) {
		log_warnx("message without a type; ignored");
	} else if (bad_utf8) {
		json_t *id = json_object_get(o, "id");
		if (strcmp(type, "send") == 0 && json_is_integer(id))
			main_send_failed(json_integer_value(id), 0, 0, 0, NULL, 0, 0,
			    0, 0, "message is not valid UTF-8");
		else
			log_warnx("%s message with invalid UTF-8; ignored", type);
	} else if (strcmp(type, "config") == 0) {
		int was = configured;
		handle_config(o);
		if (!was && configured) {
			if (cfg.name[0] != '\0') {
				snprintf(progname, sizeof(progname),
				    "pigeon-smpp[%s]", cfg.name);
				log_init(progname, verbose, 0);
			}
			link_start(base, &cfg);
		}
	} else if (strcmp(type, "send") == 0) {
		handle_send(o);
	} else if (strcmp(type, "delete") == 0) {
		handle_delete(o);
	} else if (strcmp(type, "release") == 0) {
		handle_release(o);
	} else if (strcmp(type, "ping") == 0) {
		json_t *m = msg_new("pong"), *seq = json_object_get(o, "seq");
		if (seq != NULL)
			json_object_set(m, "seq", seq);
		emit(m);
	} else {
		log_warnx("unknown message type \"%.40s\"; ignored", type);
	}
	json_decref(o);
}

static void
on_chan_read(struct bufferevent *bev, void *arg)
{
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t n;
	char *line;

	(void)arg;
	while ((line = evbuffer_readln(in, &n, EVBUFFER_EOL_LF)) != NULL) {
		handle_line(line);
		free(line);
	}
	if (evbuffer_get_length(in) > PROTO_MAX_LINE) {
		log_warnx("line over %d bytes from pigeond dropped",
		    PROTO_MAX_LINE);
		evbuffer_drain(in, evbuffer_get_length(in));
	}
}

static void
on_chan_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)arg;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		log_info("channel closed; unbinding and exiting");
		bufferevent_disable(chan, EV_READ);
		if (configured)
			link_stop();
		else
			main_exit(0);
	}
}

static void
on_health(evutil_socket_t fd, short what, void *arg)
{
	struct link_stats s;
	json_t *m = msg_new("health");

	(void)fd;
	(void)what;
	(void)arg;
	if (!configured) {
		json_decref(m);
		return;
	}
	link_stats(&s);
	json_object_set_new(m, "link", json_string("smpp"));
	json_object_set_new(m, "bound", json_boolean(s.bound));
	json_object_set_new(m, "window", json_integer(s.window));
	json_object_set_new(m, "in_flight", json_integer(s.in_flight));
	json_object_set_new(m, "queued", json_integer(s.queued));
	/* pigeond keeps integers (watchdog_health): a real was dropped. */
	json_object_set_new(m, "rate", json_integer((json_int_t)(s.rate + 0.5)));
	json_object_set_new(m, "submitted", json_integer(s.submitted));
	json_object_set_new(m, "answered", json_integer(s.answered));
	json_object_set_new(m, "throttled", json_integer(s.throttled));
	json_object_set_new(m, "timeouts", json_integer(s.timeouts));
	json_object_set_new(m, "reconnects", json_integer(s.reconnects));
	json_object_set_new(m, "mo", json_integer(s.mo));
	json_object_set_new(m, "receipts", json_integer(s.receipts));
	emit(m);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	(void)arg;
	log_info("signal %d; unbinding and exiting", (int)sig);
	if (configured)
		link_stop();
	else
		main_exit(0);
}

int
main(int argc, char *argv[])
{
	int ch;
	struct event *sigterm, *health = NULL;

	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		printf("pigeon-smpp %s\n", PIGEON_VERSION);
		return 0;
	}
	while ((ch = getopt(argc, argv, "v")) != -1) {
		if (ch != 'v') {
			fprintf(stderr, "usage: pigeon-smpp [-v | --version]\n"
			    "Speaks docs/modem-protocol.md on file descriptor 3.\n");
			return 2;
		}
		verbose++;
	}
	log_init(progname, verbose, 0);
	if (fcntl(PROTO_FD, F_GETFL) == -1)
		fatal("file descriptor %d (started outside pigeond?)", PROTO_FD);
	fcntl(PROTO_FD, F_SETFD, FD_CLOEXEC);
	evutil_make_socket_nonblocking(PROTO_FD);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, SIG_IGN);	/* pigeond drains its workers itself */
	if ((base = event_base_new()) == NULL)
		fatalx("event_base_new");
	chan = bufferevent_socket_new(base, PROTO_FD, 0);
	if (chan == NULL)
		fatalx("bufferevent_socket_new");
	bufferevent_setcb(chan, on_chan_read, NULL, on_chan_event, NULL);
	bufferevent_enable(chan, EV_READ | EV_WRITE);
	sigterm = evsignal_new(base, SIGTERM, on_signal, NULL);
	evsignal_add(sigterm, NULL);
	/* health needs the config's interval: armed once it came. */
	while (!configured) {
		if (event_base_loop(base, EVLOOP_ONCE) == -1)
			fatalx("event loop");
	}
	if (cfg.health_ms > 0) {
		struct timeval tv = { cfg.health_ms / 1000,
		    (cfg.health_ms % 1000) * 1000 };
		health = event_new(base, -1, EV_PERSIST, on_health, NULL);
		event_add(health, &tv);
	}
	event_base_dispatch(base);
	main_exit(0);
}

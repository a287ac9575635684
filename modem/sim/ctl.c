/*
 * ctl.c: the control socket DIR/ctl, server side.
 *
 * A client writes one JSON object per line, {"cmd": ...}, and gets one JSON
 * object per line back: {"ok": true, ...} or {"ok": false, "error": "..."}.
 * Commands: deliver, stored, fault, status, report, ping. Bad JSON, an unknown
 * command or a bad field is an error reply, never a reason to stop.
 * deliver's hostile forms (issue 14): "from_type": "alpha" sends the SMS
 * from the alphanumeric sender ID `from` (digits too: "0661000001"), and
 * "pdu": HEX stores that PDU as it is (from and text only label it).
 * "lose": [2, ...] stores a long SMS without those parts, as if lost in
 * the network (a phone's long SMS whose part never came); with the same
 * text, time and "ref" a second deliver can bring a lost part later.
 * status answers what a test waits on: "stored" and "free" (SIM slots),
 * "pin_wrong", "pin_locked", "list_held" (an AT+CMGL answer held by the
 * list-hold fault), "sending" (an AT+CMGS was taken, the message is at
 * the modem, and its answer waits for the send-delay: a fault set then,
 * such as silent, lands in the middle of that send), and "faults".
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <jansson.h>

#include "log.h"
#include "proto.h"
#include "sim.h"

#define CTL_MAX_CLIENTS	16

struct ctl_client {
	int	 fd;		/* -1: free */
	struct linebuf in;
	struct obuf out;
	int	 eof;		/* close once out is written */
};

static int ctl_fd = -1;
static char ctl_smsc[SIM_MAX_NUMBER];
static struct ctl_client clients[CTL_MAX_CLIENTS];
static int ctl_index[CTL_MAX_CLIENTS + 1];	/* pollfd slot -> client */

int
ctl_listen(const char *path, const char *smsc)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int i;

	snprintf(ctl_smsc, sizeof(ctl_smsc), "%s", smsc);
	for (i = 0; i < CTL_MAX_CLIENTS; i++)
		clients[i].fd = -1;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		log_warnx("%s: path too long for a unix socket", path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	ctl_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (ctl_fd == -1 ||
	    bind(ctl_fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    listen(ctl_fd, 16) == -1) {
		log_warn("ctl %s", path);
		return -1;
	}
	return 0;
}

static void
ctl_drop(struct ctl_client *c)
{
	close(c->fd);
	c->fd = -1;
	linebuf_free(&c->in);
	obuf_free(&c->out);
	c->eof = 0;
}

void
ctl_close(void)
{
	int i;

	for (i = 0; i < CTL_MAX_CLIENTS; i++)
		if (clients[i].fd != -1)
			ctl_drop(&clients[i]);
	if (ctl_fd != -1)
		close(ctl_fd);
	ctl_fd = -1;
}

static json_t *
ctl_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static json_t *
ctl_error(const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return json_pack("{s:b, s:s}", "ok", 0, "error", buf);
}

/*
 * "2024-05-01T12:00:00" (local time), with "Z" or an offset ("+01:00",
 * "+0100", "-05"). The SMS time stamp has a two-digit year.
 */
static int
ctl_parse_time(const char *s, time_t *when, long *gmtoff)
{
	struct tm tm, chk;
	int y, mo, d, h, mi, sec, n = 0, oh = 0, om = 0;
	char sign;

	if (sscanf(s, "%4d-%2d-%2d%*1[T ]%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi,
	    &sec, &n) != 6 || n == 0)
		return -1;
	if (y < 2000 || y > 2089 || mo < 1 || mo > 12 || d < 1 || d > 31 ||
	    h > 23 || mi > 59 || sec > 59 || h < 0 || mi < 0 || sec < 0)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	s += n;
	if (*s == '\0') {
		tm.tm_isdst = -1;
		if ((*when = mktime(&tm)) == (time_t)-1)
			return -1;
		localtime_r(when, &chk);
		*gmtoff = chk.tm_gmtoff;
		return 0;
	}
	if (strcmp(s, "Z") == 0)
		sign = '+';
	else if ((*s == '+' || *s == '-') &&
	    (sscanf(s + 1, "%2d:%2d%n", &oh, &om, &n) == 2 ||
	    sscanf(s + 1, "%2d%2d%n", &oh, &om, &n) == 2 ||
	    sscanf(s + 1, "%2d%n", &oh, &n) == 1) && s[1 + n] == '\0' &&
	    oh <= 19 && om <= 59 && om % 15 == 0)
		sign = *s;
	else
		return -1;
	chk = tm;
	*when = timegm(&tm);
	if (tm.tm_mday != chk.tm_mday)
		return -1;		/* 31 February */
	*gmtoff = (sign == '-' ? -1 : 1) * (oh * 3600L + om * 60L);
	*when -= *gmtoff;
	return 0;
}

/*
 * An alphanumeric originator holds at most 11 GSM characters (10 octets,
 * GSM 03.40 9.1.2.5); SMSCs cut longer names, so do we. libgammu would
 * encode all of them in an oversized address and decode only 11.
 */
static int
ctl_cut_sender(const char *from, char *out, size_t len)
{
	size_t i, chars = 0;

	snprintf(out, len, "%s", from);
	if (strspn(from + (*from == '+'), "0123456789") ==
	    strlen(from + (*from == '+')))
		return 0;
	for (i = 0; out[i] != '\0'; i++) {
		if (((unsigned char)out[i] & 0xc0) != 0x80 && ++chars > 11) {
			out[i] = '\0';
			return 1;
		}
	}
	return 0;
}

static json_t *
ctl_deliver(json_t *req)
{
	struct pdu_part parts[SIM_MAX_PARTS];
	int order[SIM_MAX_PARTS], seen[SIM_MAX_PARTS + 1], loc[SIM_MAX_PARTS];
	int lost[SIM_MAX_PARTS + 1];
	const char *from, *text, *smsc, *t, *err;
	json_t *jorder, *jlose, *jref, *locs, *resp;
	char sender[SIM_MAX_NUMBER], decoded[SIM_MAX_NUMBER * 3];
	time_t when = time(NULL);
	struct tm tm;
	long gmtoff;
	int ref = -1, n, i, norder = 0, nlost = 0, cut;

	from = json_string_value(json_object_get(req, "from"));
	text = json_string_value(json_object_get(req, "text"));
	smsc = json_string_value(json_object_get(req, "smsc"));
	t = json_string_value(json_object_get(req, "time"));
	jorder = json_object_get(req, "order");
	jlose = json_object_get(req, "lose");
	jref = json_object_get(req, "ref");
	if (from == NULL || text == NULL)
		return ctl_error("deliver needs \"from\" and \"text\" strings");
	if (strlen(from) >= SIM_MAX_NUMBER)
		return ctl_error("sender too long");
	cut = ctl_cut_sender(from, sender, sizeof(sender));
	from = sender;
	if (smsc == NULL)
		smsc = ctl_smsc;
	if (smsc[*smsc == '+'] == '\0' || strlen(smsc) >= SIM_MAX_NUMBER ||
	    strspn(smsc + (*smsc == '+'), "0123456789") !=
	    strlen(smsc + (*smsc == '+')))
		return ctl_error("bad SMSC number \"%s\"", smsc);
	if (jref != NULL) {
		if (!json_is_integer(jref) || json_integer_value(jref) < 0 ||
		    json_integer_value(jref) > 255)
			return ctl_error("ref must be 0..255");
		ref = (int)json_integer_value(jref);
	}
	if ((jref = json_object_get(req, "ref16")) != NULL) {
		if (!json_is_integer(jref) || json_integer_value(jref) < 0 ||
		    json_integer_value(jref) > 65535)
			return ctl_error("ref16 must be 0..65535");
		ref = PDU_REF16 + (int)json_integer_value(jref);
	}
	localtime_r(&when, &tm);
	gmtoff = tm.tm_gmtoff;
	if (t != NULL && ctl_parse_time(t, &when, &gmtoff) == -1)
		return ctl_error("bad time \"%s\" (want 2024-05-01T12:00:00"
		    "[+01:00], years 2000-2089)", t);
	if (jorder != NULL) {
		size_t k;
		json_t *v;
		if (!json_is_array(jorder) ||
		    json_array_size(jorder) > SIM_MAX_PARTS)
			return ctl_error("order must be a list of part numbers");
		json_array_foreach(jorder, k, v) {
			if (!json_is_integer(v))
				return ctl_error("order must be a list of part "
				    "numbers");
			order[norder++] = (int)json_integer_value(v);
		}
	}
	memset(lost, 0, sizeof(lost));
	if (jlose != NULL) {
		size_t k;
		json_t *v;
		if (!json_is_array(jlose) || json_array_size(jlose) > SIM_MAX_PARTS)
			return ctl_error("lose must be a list of part numbers");
		json_array_foreach(jlose, k, v) {
			if (!json_is_integer(v) || json_integer_value(v) < 1 ||
			    json_integer_value(v) > SIM_MAX_PARTS)
				return ctl_error("lose must be a list of part "
				    "numbers");
			if (!lost[json_integer_value(v)]++)
				nlost++;
		}
	}

	if ((t = json_string_value(json_object_get(req, "pdu"))) != NULL) {
		/* Stored as given: hostile or broken SMS (issue 14). */
		if (jorder != NULL || jlose != NULL ||
		    pdu_raw(t, text, &parts[0], &err) == -1)
			return ctl_error("%s", jorder != NULL || jlose != NULL ?
			    "order and lose do not go with pdu" : err);
		n = 1;
		snprintf(decoded, sizeof(decoded), "%s", from);
	} else if ((n = pdu_deliver(from, smsc, text, ref, when, gmtoff,
	    parts, SIM_MAX_PARTS, decoded, sizeof(decoded), &err)) == -1)
		return ctl_error("%s", err);
	t = json_string_value(json_object_get(req, "from_type"));
	if (t != NULL && strcmp(t, "alpha") == 0) {
		/* The same SMS from an alphanumeric sender ID reading `from`. */
		for (i = 0; i < n; i++) {
			if (pdu_alpha_sender(&parts[i], from, &err) == -1) {
				for (i = 0; i < n; i++)
					pdu_part_free(&parts[i]);
				return ctl_error("%s", err);
			}
		}
		snprintf(decoded, sizeof(decoded), "%s", from);
	} else if (t != NULL && strcmp(t, "number") != 0) {
		for (i = 0; i < n; i++)
			pdu_part_free(&parts[i]);
		return ctl_error("from_type is alpha or number");
	}
	if (strcmp(decoded, from) != 0) {
		/* libgammu writes a leading 00 as an international number. */
		if (strncmp(from, "00", 2) != 0 || decoded[0] != '+' ||
		    strcmp(decoded + 1, from + 2) != 0) {
			for (i = 0; i < n; i++)
				pdu_part_free(&parts[i]);
			return ctl_error("sender \"%s\" cannot be encoded: it "
			    "would read \"%s\"", from, decoded);
		}
		cut = 1;
	}
	from = decoded;
	if (jorder != NULL) {
		memset(seen, 0, sizeof(seen));
		for (i = 0; i < norder; i++) {
			if (norder != n || order[i] < 1 || order[i] > n ||
			    seen[order[i]]++) {
				for (i = 0; i < n; i++)
					pdu_part_free(&parts[i]);
				return ctl_error("order must list each of the "
				    "%d part(s) once", n);
			}
		}
	} else
		for (i = 0; i < n; i++)
			order[i] = i + 1;
	for (i = n + 1; i <= SIM_MAX_PARTS; i++) {
		if (lost[i] || nlost >= n) {
			for (i = 0; i < n; i++)
				pdu_part_free(&parts[i]);
			return ctl_error("lose must name some of the %d part(s), "
			    "not all", n);
		}
	}
	/* The parts lost on the way are not stored, the others keep order. */
	for (i = 0, norder = 0; i < n; i++)
		if (!lost[order[i]])
			order[norder++] = order[i];
	if (norder > store_free()) {
		for (i = 0; i < n; i++)
			pdu_part_free(&parts[i]);
		return ctl_error("SIM storage full: %d free location(s), %d "
		    "needed", store_free(), norder);
	}
	for (i = 0; i < norder; i++)
		loc[order[i] - 1] = store_put(&parts[order[i] - 1], from);
	locs = json_array();
	for (i = 0; i < n; i++) {
		if (!lost[i + 1])
			json_array_append_new(locs, json_integer(loc[i]));
		pdu_part_free(&parts[i]);
	}
	log_info("delivered from %s: %d part(s), %d lost", from, norder, n - norder);
	for (i = 0; i < norder; i++)
		at_new_sms(loc[order[i] - 1]);
	resp = json_pack("{s:b, s:o, s:s}", "ok", 1, "locations", locs,
	    "from", from);
	if (resp != NULL && cut)
		json_object_set_new(resp, "warning", json_string("the sender "
		    "reads differently in the SMS (00 means +, an alphanumeric "
		    "one has at most 11 characters)"));
	return resp;
}

static json_t *
ctl_stored(void)
{
	json_t *list = json_array(), *m;
	const struct slot *s;
	int i;

	for (i = 1; i <= SIM_SLOTS; i++) {
		if ((s = store_get(i)) == NULL)
			continue;
		m = json_pack("{s:i, s:s, s:s, s:s}", "location", i,
		    "from", s->from, "text", s->text,
		    "state", s->state ? "read" : "unread");
		if (m != NULL && s->report)
			json_object_set_new(m, "report", json_pack("{s:i, s:i}",
			    "mr", s->mr, "status", s->status));
		if (m != NULL && s->total > 0)
			json_object_set_new(m, "udh", json_pack(
			    "{s:i, s:i, s:i}", "ref", s->ref, "seq", s->seq,
			    "total", s->total));
		json_array_append_new(list, m);
	}
	return json_pack("{s:b, s:o}", "ok", 1, "messages", list);
}

static json_t *
ctl_fault(json_t *req)
{
	const char *name = json_string_value(json_object_get(req, "name"));
	json_t *vals = json_object_get(req, "values"), *v;
	int iv[4], n = 0;
	const char *err;
	size_t k;

	if (name == NULL || !json_is_array(vals) || json_array_size(vals) < 1 ||
	    json_array_size(vals) > 4)
		return ctl_error("fault needs \"name\" and 1 to 4 \"values\"");
	json_array_foreach(vals, k, v) {
		if (!json_is_integer(v) || json_integer_value(v) < -1000000000 ||
		    json_integer_value(v) > 1000000000)
			return ctl_error("fault values are integers");
		iv[n++] = (int)json_integer_value(v);
	}
	if (at_fault(name, iv, n, &err) == -1)
		return ctl_error("fault %s: %s", name, err);
	return json_pack("{s:b}", "ok", 1);
}

static json_t *
ctl_status(void)
{
	struct sim_faults f;

	at_faults(&f);
	return json_pack("{s:b, s:i, s:i, s:i, s:b, s:b, s:b, s:{s:i, s:i, s:i, s:b, s:i, "
	    "s:i, s:i, s:b, s:i, s:i, s:i, s:b, s:i}}", "ok", 1, "stored", store_used(),
	    "pin_wrong", pin_wrong(), "pin_locked", pin_locked(),
	    "free", store_free(), "list_held", f.list_held, "sending", f.sending,
	    "faults", "delete-error", f.delete_error, "send-error",
	    f.send_error, "send-error-count", f.send_error_count, "silent",
	    f.silent, "send-delay", f.send_delay_ms, "report",
	    f.report_status, "report-delay", f.report_delay_ms, "unplug",
	    f.unplugged, "signal", f.signal, "network", f.network, "operator",
	    f.operator, "list-hold", f.list_hold, "list-twice", f.list_twice);
}

/* A status report from the SMSC, for any reference: tests of matching. */
static json_t *
ctl_report(json_t *req)
{
	const char *to = json_string_value(json_object_get(req, "to"));
	json_t *mr = json_object_get(req, "mr"), *st = json_object_get(req, "status");
	const char *err;

	if (to == NULL || strlen(to) >= SIM_MAX_NUMBER || to[*to == '+'] == '\0' ||
	    strspn(to + (*to == '+'), "0123456789") != strlen(to + (*to == '+')))
		return ctl_error("report needs \"to\", a phone number");
	if (!json_is_integer(mr) || json_integer_value(mr) < 0 ||
	    json_integer_value(mr) > 255 || !json_is_integer(st) ||
	    json_integer_value(st) < 0 || json_integer_value(st) > 255)
		return ctl_error("report needs \"mr\" and \"status\" of 0..255");
	if (at_report(to, (int)json_integer_value(mr),
	    (int)json_integer_value(st), &err) == -1)
		return ctl_error("%s", err);
	return json_pack("{s:b}", "ok", 1);
}

static json_t *
ctl_handle(const char *line)
{
	json_error_t jerr;
	json_t *req, *resp;
	const char *cmd;

	if ((req = json_loads(line, 0, &jerr)) == NULL)
		return ctl_error("bad JSON: %s", jerr.text);
	if (!json_is_object(req) ||
	    (cmd = json_string_value(json_object_get(req, "cmd"))) == NULL)
		resp = ctl_error("a request is an object with a \"cmd\"");
	else if (strcmp(cmd, "deliver") == 0)
		resp = ctl_deliver(req);
	else if (strcmp(cmd, "stored") == 0)
		resp = ctl_stored();
	else if (strcmp(cmd, "fault") == 0)
		resp = ctl_fault(req);
	else if (strcmp(cmd, "status") == 0)
		resp = ctl_status();
	else if (strcmp(cmd, "report") == 0)
		resp = ctl_report(req);
	else if (strcmp(cmd, "ping") == 0)
		resp = json_pack("{s:b}", "ok", 1);
	else
		resp = ctl_error("unknown command \"%s\"", cmd);
	json_decref(req);
	return resp;
}

static void
ctl_reply(struct ctl_client *c, json_t *resp)
{
	char *s;

	if (resp == NULL)
		resp = ctl_error("internal error");
	s = json_dumps(resp, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(resp);
	if (s == NULL || obuf_add(&c->out, s, strlen(s)) == -1 ||
	    obuf_add(&c->out, "\n", 1) == -1)
		c->eof = 1;
	free(s);
}

static void
ctl_read(struct ctl_client *c)
{
	ssize_t n;
	char *line;
	int toolong;

	n = linebuf_read(&c->in, c->fd);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		c->eof = 1;
		return;
	}
	while ((line = linebuf_next(&c->in, &toolong)) != NULL || toolong) {
		if (toolong) {
			/* Framing is lost: answer once and hang up. */
			ctl_reply(c, ctl_error("request too long"));
			c->eof = 1;
			return;
		}
		ctl_reply(c, ctl_handle(line));
	}
}

static void
ctl_accept(void)
{
	int fd, i;

	while ((fd = accept4(ctl_fd, NULL, NULL,
	    SOCK_NONBLOCK | SOCK_CLOEXEC)) != -1) {
		for (i = 0; i < CTL_MAX_CLIENTS; i++)
			if (clients[i].fd == -1)
				break;
		if (i == CTL_MAX_CLIENTS) {
			log_warnx("ctl: too many clients");
			close(fd);
			continue;
		}
		clients[i].fd = fd;
		linebuf_init(&clients[i].in);
	}
}

int
ctl_pollfds(struct pollfd *pfd, int max)
{
	int i, n = 0;

	if (ctl_fd == -1 || max < 1)
		return 0;
	pfd[n].fd = ctl_fd;
	pfd[n].events = POLLIN;
	pfd[n].revents = 0;
	ctl_index[n++] = -1;
	for (i = 0; i < CTL_MAX_CLIENTS && n < max; i++) {
		struct ctl_client *c = &clients[i];
		if (c->fd == -1)
			continue;
		pfd[n].fd = c->fd;
		pfd[n].events = (c->eof ? 0 : POLLIN) |
		    (obuf_pending(&c->out) ? POLLOUT : 0);
		pfd[n].revents = 0;
		ctl_index[n++] = i;
	}
	return n;
}

void
ctl_events(const struct pollfd *pfd, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		struct ctl_client *c;
		if (ctl_index[i] == -1) {
			if (pfd[i].revents & POLLIN)
				ctl_accept();
			continue;
		}
		c = &clients[ctl_index[i]];
		if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR) && !c->eof)
			ctl_read(c);
		if (obuf_flush(&c->out, c->fd) == -1 ||
		    (c->eof && !obuf_pending(&c->out)))
			ctl_drop(c);
	}
}

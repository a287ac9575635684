/*
 * pigeonctl: the operator's command line over pigeond's HTTP API.
 * Blocking is fine here: one request, one answer, then exit.
 *
 * Exit codes (documented in pigeonctl(1)):
 *   0  done
 *   1  the API refused the request (400 bad request, 403, 404 not found, 409)
 *   2  usage: bad arguments or an unreadable configuration
 *   3  authentication: no token, or a wrong one (401)
 *   4  pigeond unreachable, too slow, or failing (5xx, 503 database down)
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/http.h>
#include <jansson.h>

#include "pigeonctl.h"

int json_out;
static int operands_only;	/* "--" came before the command */
static json_t *pending;		/* an answer held while another call may exit */

/* --help prints on stdout and exits 0; a mistake prints on stderr, exits 2. */
static void __attribute__((noreturn))
usage_exit(int code)
{
	fprintf(code == 0 ? stdout : stderr,
	    "usage: pigeonctl [-c file] [-a host:port] [-T tokenfile] [-t token] [--json]\n"
	    "                 [--help] [--version] command [options]\n"
	    "  modems [-d DAYS]            the modems, their state, signal and counters;\n"
	    "                              -d: each link's SMS parts of each of the\n"
	    "                              last DAYS days (1-30), as the carrier bills them\n"
	    "  enable|disable|drain NAME   steer a modem\n"
	    "  forget [-f] NAME            drop a modem removed from every host's\n"
	    "                              configuration (its queued sends are cancelled);\n"
	    "                              -f: or whose host is not running (gone for good)\n"
	    "  send NUMBER TEXT            queue an SMS; prints its id\n"
	    "  status ID                   a message's state and history\n"
	    "  messages [-t NUMBER] [-s STATE] [-n LIMIT] [-b BEFORE]\n"
	    "                              search sent messages, newest first\n"
	    "  queue                       queue depth, recent failures, delivery rates\n"
	    "  users HANDLE                a user's profile and latest posts (with an\n"
	    "                              admin token, a suspended one's too)\n"
	    "  health                      pigeond's and the database's state\n"
	    CTL_MORE_USAGE
	    "--json, --help and --version may also come after the command.\n"
	    "The address comes from -a, else PIGEON_ADDR, else [http] listen (its port\n"
	    "from [http] port_file when listen's is 0). The token from -T FILE (its\n"
	    "first line), -t TOKEN, PIGEON_TOKEN_FILE, PIGEON_TOKEN, else [http]\n"
	    "token_file or token of the configuration. Prefer a file: any user on the\n"
	    "host sees -t TOKEN in ps.\n");
	exit(code);
}

void
usage(void)
{
	usage_exit(EXIT_USAGE);
}

void
die(int code, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "pigeonctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(code);
}

/* Length of the UTF-8 sequence at p (code point in *cp), 0 when invalid. */
static size_t
utf8_next(const unsigned char *p, uint32_t *cp)
{
	size_t n;
	uint32_t c = p[0], min;

	if (c < 0x80)
		return *cp = c, 1;
	if ((c & 0xE0) == 0xC0)
		n = 2, c &= 0x1F, min = 0x80;
	else if ((c & 0xF0) == 0xE0)
		n = 3, c &= 0x0F, min = 0x800;
	else if ((c & 0xF8) == 0xF0)
		n = 4, c &= 0x07, min = 0x10000;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		c = (c << 6) | (p[i] & 0x3F);
	}
	if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		return 0;
	return *cp = c, n;
}

/* Characters a terminal acts on or that reorder what follows. */
static int
term_unsafe(uint32_t c)
{
	return c < 0x20 || (c >= 0x7F && c <= 0x9F) || c == 0x061C ||
	    (c >= 0x200B && c <= 0x200F) || (c >= 0x2028 && c <= 0x202E) ||
	    (c >= 0x2066 && c <= 0x2069) || c == 0xFEFF;
}

/*
 * SMS text for the operator's terminal: a UCS-2 SMS can carry ESC and the
 * rest of C0, C1 (CSI), and bidi overrides, which would retitle, clear or
 * reorder the terminal (issue 14, item 11). Each becomes a visible escape
 * (\n, \x1b, \u202e); a backslash is doubled so an escape is never
 * ambiguous; a stray byte is \xNN. Returns a buffer reused after 8 calls.
 */
const char *
term_safe(const char *v)
{
	static char *ring[8];
	static int at;
	const unsigned char *p = (const unsigned char *)v;
	size_t len = strlen(v), n = 0;
	char *out;

	at = (at + 1) % 8;
	free(ring[at]);
	if ((out = ring[at] = malloc(len * 6 + 1)) == NULL)
		return "?";
	while (*p) {
		uint32_t c;
		size_t k = utf8_next(p, &c);
		if (k == 0) {
			n += (size_t)sprintf(out + n, "\\x%02x", *p++);
			continue;
		}
		if (c == '\\')
			n += (size_t)sprintf(out + n, "\\\\");
		else if (c == '\n')
			n += (size_t)sprintf(out + n, "\\n");
		else if (c == '\t')
			n += (size_t)sprintf(out + n, "\\t");
		else if (c == '\r')
			n += (size_t)sprintf(out + n, "\\r");
		else if (c < 0x80 && term_unsafe(c))
			n += (size_t)sprintf(out + n, "\\x%02x", (unsigned)c);
		else if (term_unsafe(c))
			n += (size_t)sprintf(out + n, "\\u%04x", (unsigned)c);
		else
			memcpy(out + n, p, k), n += k;
		p += k;
	}
	out[n] = '\0';
	return out;
}

const char *
s(json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));
	return v && *v ? term_safe(v) : "-";
}

/* A timestamp as "2026-11-26 08:20:30+00:00": the offset says whose
 * clock it is; fractions of a second are left out. */
const char *
when(json_t *o, const char *key)
{
	static char buf[4][40];
	static int i;
	const char *v = json_string_value(json_object_get(o, key));
	if (v == NULL)
		return "-";
	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%.19s", v);
	if (buf[i][10] == 'T')
		buf[i][10] = ' ';
	if (strlen(v) > 19) {
		const char *off = v + 19;
		if (*off == '.')
			off += 1 + strspn(off + 1, "0123456789");
		if (strlen(off) <= 6 && strspn(off, "+-:Z0123456789") == strlen(off))
			strcat(buf[i], off);
	}
	return buf[i];
}

char *
num_or_dash(json_t *o, const char *key, const char *suffix, char *buf, size_t len)
{
	json_t *v = json_object_get(o, key);
	if (json_is_integer(v))
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT "%s", json_integer_value(v), suffix);
	else
		snprintf(buf, len, "-");
	return buf;
}

/* On a terminal, every non-ASCII character as \\uXXXX: jansson escapes C0
 * but would print C1 and bidi controls as they are. */
void
print_json(json_t *j)
{
	json_dumpf(j, stdout, JSON_INDENT(2) | (isatty(STDOUT_FILENO) ? JSON_ENSURE_ASCII : 0));
	putchar('\n');
}

/* A bind's second line: "window 10, in flight 3, 850 submits/s, ...", the
 * worker's figures as of its last health poll. */
static void
print_bind_line(int w, json_t *m)
{
	static const struct { const char *key, *label; } f[] = {
		{ "submits_unanswered", "unanswered" },
		{ "throttled", "throttled" },
		{ "timeouts", "timeouts" },
		{ "reconnects", "reconnects" },
	};
	json_t *v;

	printf("%-*s window %lld, in flight %lld", w, "",
	    (long long)json_integer_value(json_object_get(m, "window")),
	    (long long)json_integer_value(json_object_get(m, "in_flight")));
	if (json_is_integer(v = json_object_get(m, "submits_per_second")))
		printf(", %lld submits/s", (long long)json_integer_value(v));
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (json_is_integer(v = json_object_get(m, f[i].key)))
			printf(", %s %lld", f[i].label, (long long)json_integer_value(v));
	putchar('\n');
}

int
cmd_modems(void)
{
	json_t *j = api("GET", "/api/modems", NULL), *m;
	size_t i;
	char sig[16], sent[24], failed[24], in[24], parts[24];

	if (json_out)
		return print_json(j), json_decref(j), EXIT_OK;
	/* The name column is as wide as the widest name. */
	int w = 12;
	json_array_foreach(json_object_get(j, "modems"), i, m)
		if ((int)strlen(s(m, "name")) > w)
			w = (int)strlen(s(m, "name"));
	/* PARTS: the SMS parts of today, as the carrier bills them. */
	printf("%-*s %-9s %6s %7s %7s %7s %7s  %s\n", w, "NAME", "STATE", "SIGNAL",
	    "SENT", "FAILED", "IN", "PARTS", "REASON / LAST ERROR");
	json_array_foreach(json_object_get(j, "modems"), i, m) {
		const char *reason = s(m, "state_reason");
		char paused[160];
		if (strcmp(reason, "-") == 0)
			reason = s(m, "last_error");
		/* A bind its SMSC slows down: the other links send meanwhile. */
		if (json_integer_value(json_object_get(m, "paused_ms")) > 0) {
			snprintf(paused, sizeof(paused), "submits paused by the SMSC "
			    "(%s), %.1f s left", s(m, "paused_reason"),
			    json_integer_value(json_object_get(m, "paused_ms")) / 1000.0);
			reason = paused;
		}
		printf("%-*s %-9s %6s %7s %7s %7s %7s  %s%s\n", w, s(m, "name"),
		    s(m, "state"), num_or_dash(m, "signal_percent", "%", sig, sizeof(sig)),
		    num_or_dash(m, "sms_sent", "", sent, sizeof(sent)),
		    num_or_dash(m, "sms_failed", "", failed, sizeof(failed)),
		    num_or_dash(m, "sms_in", "", in, sizeof(in)),
		    num_or_dash(m, "parts_today", "", parts, sizeof(parts)), reason,
		    json_is_false(json_object_get(m, "local")) ? " (other host)" : "");
		/* A bind: its window in use and what its worker last said. */
		if (strcmp(s(m, "kind"), "smpp") == 0)
			print_bind_line(w, m);
		/* The same name in another host's config: that host waits. */
		const char *waiting = json_string_value(json_object_get(m, "waiting_host"));
		if (waiting != NULL && *waiting && strcmp(s(m, "state"), "elsewhere") != 0)
			printf("%-*s also configured on host %s, which waits for it\n",
			    w, "", waiting);
	}
	json_decref(j);
	return EXIT_OK;
}

static int
cmd_modem_action(const char *action, const char *name)
{
	char path[256], *enc = evhttp_uriencode(name, -1, 0);
	snprintf(path, sizeof(path), "/api/modems/%s/%s", enc ? enc : name, action);
	free(enc);
	json_t *j = api("POST", path, NULL);
	const char *now = s(j, "state"), *becomes = s(j, "becomes");
	json_int_t busy = json_integer_value(json_object_get(j, "in_flight"));

	/* What is true when pigeond answers: a process stops, or a modem
	 * connects, after the answer. */
	if (json_out)
		print_json(j);
	else if (strcmp(now, becomes) == 0)
		printf("modem %s: %s\n", s(j, "name"), now);
	else if (strcmp(becomes, "disabled") == 0 && busy > 0)
		printf("modem %s: disabled once its %" JSON_INTEGER_FORMAT " send(s) in "
		    "flight are done and its process has stopped (%s now)\n",
		    s(j, "name"), busy, now);
	else if (strcmp(becomes, "disabled") == 0)
		printf("modem %s: disabled once its process has stopped (%s now)\n",
		    s(j, "name"), now);
	else
		printf("modem %s: %s once connected (%s now)\n", s(j, "name"),
		    becomes, now);
	json_decref(j);
	return EXIT_OK;
}

/* A link no host has any more leaves the lists; pigeond refuses one that
 * any host still has (409, its reason printed by api()). -f: also one
 * whose host is not running (switched off for good). */
static int
cmd_forget(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "force", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 }
	};
	int ch, force = 0;

	while ((ch = ctl_getopt(&argc, argv, "f", longopts)) != -1) {
		if (ch != 'f')
			usage();
		force = 1;
	}
	if (argc != 2)
		usage();
	const char *name = argv[1];
	char path[256], *enc = evhttp_uriencode(name, -1, 0);
	snprintf(path, sizeof(path), "/api/modems/%s%s", enc ? enc : name,
	    force ? "?force=1" : "");
	free(enc);
	json_t *j = api("DELETE", path, NULL);
	if (json_out)
		print_json(j);
	else
		printf("modem %s: forgotten; %" JSON_INTEGER_FORMAT " message(s) queued "
		    "via it cancelled\n", s(j, "forgotten"),
		    json_integer_value(json_object_get(j, "cancelled")));
	json_decref(j);
	return EXIT_OK;
}

static int
cmd_send(const char *to, const char *text)
{
	json_t *j = api("POST", "/api/messages", json_pack("{s:s, s:s}", "to", to, "text", text));
	if (json_out)
		print_json(j);
	else
		printf("%" JSON_INTEGER_FORMAT "\n", json_integer_value(json_object_get(j, "id")));
	json_decref(j);
	return EXIT_OK;
}

static int
cmd_status(const char *id)
{
	char path[64], parts[16], att[16];
	json_t *h;
	size_t i;

	if (strspn(id, "0123456789") != strlen(id) || !*id || strlen(id) > 19)
		die(EXIT_USAGE, "'%s' is not a message id", id);
	snprintf(path, sizeof(path), "/api/messages/%s", id);
	json_t *j = api("GET", path, NULL);
	if (json_out)
		return print_json(j), json_decref(j), EXIT_OK;
	printf("message %s to %s: %s\n", id, s(j, "to"), s(j, "state"));
	printf("  text       %s\n", s(j, "text"));
	printf("  modem      %s\n", s(j, "modem"));
	/* A bind with long = payload sends a long text as one submit_sm
	 * that the SMSC splits: 1 part, billed as `segments` SMS. */
	json_int_t np = json_integer_value(json_object_get(j, "parts"));
	json_int_t nseg = json_integer_value(json_object_get(j, "segments"));
	if (nseg > np)
		printf("  parts      %s, billed as %" JSON_INTEGER_FORMAT " SMS (the SMSC "
		    "split it)\n", num_or_dash(j, "parts", "", parts, sizeof(parts)), nseg);
	else
		printf("  parts      %s\n", num_or_dash(j, "parts", "", parts, sizeof(parts)));
	printf("  attempts   %s\n", num_or_dash(j, "attempts", "", att, sizeof(att)));
	printf("  created    %s\n", when(j, "created_at"));
	/* A queued message's next try: one held (quiet hours, a retry's
	 * backoff, a send_at) read as plain "queued". */
	if (json_is_string(json_object_get(j, "next_attempt_at")))
		printf("  next try   %s\n", when(j, "next_attempt_at"));
	printf("  sent       %s\n", when(j, "sent_at"));
	printf("  delivered  %s\n", when(j, "delivered_at"));
	if (json_string_value(json_object_get(j, "last_error")))
		printf("  error      %s\n", s(j, "last_error"));
	/* What each report said, those that changed nothing too (an SMSC's
	 * ENROUTE or UNKNOWN): the history has the changes only. */
	if (json_array_size(json_object_get(j, "reports")) > 0) {
		printf("reports:\n  %-25s  %-4s  %-6s  %s\n", "AT", "PART", "STATUS",
		    "THE SMSC SAID");
		json_array_foreach(json_object_get(j, "reports"), i, h) {
			char part[16], st[16];
			printf("  %-25s  %-4s  %-6s  %s%s%s\n", when(h, "at"),
			    num_or_dash(h, "part", "", part, sizeof(part)),
			    num_or_dash(h, "status", "", st, sizeof(st)),
			    json_is_string(json_object_get(h, "stat")) ? s(h, "stat") : "-",
			    json_string_length(json_object_get(h, "err")) > 0 ? " err " : "",
			    json_string_length(json_object_get(h, "err")) > 0 ? s(h, "err") : "");
		}
	}
	printf("history:\n  %-25s  %-11s  %-10s  %s\n", "AT", "STATE", "MODEM", "DETAIL");
	json_array_foreach(json_object_get(j, "history"), i, h)
		printf("  %-25s  %-11s  %-10s  %s\n", when(h, "at"), s(h, "state"),
		    s(h, "modem"), s(h, "detail"));
	json_decref(j);
	return EXIT_OK;
}

/*
 * getopt_long over a command's arguments, argv[0] the command, with its
 * options before or after its operands: "stats bob -d 7" as "stats -d 7
 * bob". A leading "-" (operands returned in order, as 1) rather than
 * getopt's permuting, which POSIXLY_CORRECT turns off; optind = 0 starts
 * glibc's getopt afresh, with this ordering and not the "+" of main's
 * options. After "--", in the command's arguments or before the command,
 * all are operands. The operands are moved, in order, to argv[1..]; when
 * it returns -1, *argc counts the command and them.
 */
int
ctl_getopt(int *argc, char **argv, const char *opts, const struct option *longopts)
{
	static int nops;
	char spec[32];
	int ch;

	if (nops == 0) {
		nops = 1;
		optind = operands_only ? 1 : 0;
	}
	snprintf(spec, sizeof(spec), "-%s", opts);
	ch = -1;
	while (!operands_only &&
	    (ch = getopt_long(*argc, argv, spec, longopts, NULL)) == 1)
		argv[nops++] = optarg;	/* never past what getopt has read */
	if (ch != -1)
		return ch;
	while (optind < *argc)
		argv[nops++] = argv[optind++];
	argv[nops] = NULL;
	*argc = nops;
	nops = 0;
	return -1;
}

/* "CMD [-d DAYS] HANDLE" (stats, audience), options anywhere: the
 * handle; *days NULL when not given. */
const char *
ctl_days_and_handle(int argc, char **argv, const char **days)
{
	int ch;

	*days = NULL;
	while ((ch = ctl_getopt(&argc, argv, "d:", NULL)) != -1) {
		if (ch != 'd')
			usage();
		*days = optarg;
	}
	if (argc != 2)
		usage();
	return argv[1];
}

void
add_param(char *path, size_t len, const char *name, const char *value)
{
	char *enc = evhttp_uriencode(value, -1, 0);
	size_t n = strlen(path);
	snprintf(path + n, len - n, "%s%s=%s", strchr(path, '?') ? "&" : "?", name,
	    enc ? enc : "");
	free(enc);
}

static int
cmd_messages(int argc, char **argv)
{
	char path[1024] = "/api/messages";
	json_t *m;
	size_t i;
	int ch;

	while ((ch = ctl_getopt(&argc, argv, "t:s:n:b:", NULL)) != -1) {
		switch (ch) {
		case 't': add_param(path, sizeof(path), "to", optarg); break;
		case 's': add_param(path, sizeof(path), "status", optarg); break;
		case 'n': add_param(path, sizeof(path), "limit", optarg); break;
		case 'b': add_param(path, sizeof(path), "before", optarg); break;
		default: usage();
		}
	}
	if (argc != 1)
		usage();
	json_t *j = api("GET", path, NULL);
	if (json_out)
		return print_json(j), json_decref(j), EXIT_OK;
	printf("%-8s %-15s %-11s %-10s %-25s  %s\n", "ID", "TO", "STATE", "MODEM",
	    "CREATED", "TEXT");
	json_array_foreach(json_object_get(j, "messages"), i, m)
		printf("%-8" JSON_INTEGER_FORMAT " %-15s %-11s %-10s %-25s  %.40s\n",
		    json_integer_value(json_object_get(m, "id")), s(m, "to"), s(m, "state"),
		    s(m, "modem"), when(m, "created_at"), s(m, "text"));
	if (json_is_integer(json_object_get(j, "next_before")))
		printf("(more: -b %" JSON_INTEGER_FORMAT ")\n",
		    json_integer_value(json_object_get(j, "next_before")));
	json_decref(j);
	return EXIT_OK;
}

int
cmd_queue(void)
{
	static const char *classes[] = { "reply", "operator", "fan-out" };
	json_t *j = api("GET", "/api/status", NULL), *q, *f, *recent;
	size_t i;
	json_int_t total = 0;

	if (json_out)
		return print_json(j), json_decref(j), EXIT_OK;
	printf("%-8s %-9s %7s  %s\n", "STATE", "CLASS", "COUNT", "OLDEST");
	json_array_foreach(json_object_get(j, "queue"), i, q) {
		json_int_t c = json_integer_value(json_object_get(q, "class"));
		total += json_integer_value(json_object_get(q, "count"));
		printf("%-8s %-9s %7" JSON_INTEGER_FORMAT "  %s\n", s(q, "state"),
		    c >= 0 && c < 3 ? classes[c] : "?",
		    json_integer_value(json_object_get(q, "count")), when(q, "oldest"));
	}
	printf("total %" JSON_INTEGER_FORMAT " waiting or in flight\n", total);
	recent = json_object_get(j, "recent");
	json_int_t del = json_integer_value(json_object_get(recent, "delivered"));
	json_int_t undel = json_integer_value(json_object_get(recent, "undelivered"));
	json_int_t sent = json_integer_value(json_object_get(recent, "sent")) + del + undel;
	json_int_t bad = json_integer_value(json_object_get(recent, "failed")) +
	    json_integer_value(json_object_get(recent, "expired"));
	printf("latest 1000 messages: %" JSON_INTEGER_FORMAT " sent, %" JSON_INTEGER_FORMAT
	    " failed or expired, %" JSON_INTEGER_FORMAT " delivered, %" JSON_INTEGER_FORMAT
	    " undelivered\n", sent, bad, del, undel);
	if (json_array_size(json_object_get(j, "failures"))) {
		printf("recent failures:\n");
		json_array_foreach(json_object_get(j, "failures"), i, f)
			printf("  %-8" JSON_INTEGER_FORMAT " %-15s %-11s %-10s %s\n",
			    json_integer_value(json_object_get(f, "id")), s(f, "to"),
			    s(f, "state"), s(f, "modem"), s(f, "error"));
	}
	json_decref(j);
	return EXIT_OK;
}

static int
cmd_users(const char *handle)
{
	char path[256], *enc = evhttp_uriencode(ctl_member(handle), -1, 0);
	json_t *p;
	size_t i;

	char posts_path[256];
	snprintf(path, sizeof(path), "/api/users/%s", enc ? enc : "");
	snprintf(posts_path, sizeof(posts_path), "/api/users/%s/posts?limit=5", enc ? enc : "");
	free(enc);
	json_t *u = api("GET", path, NULL);
	/* Kept reachable while the second call may exit. */
	pending = u;
	json_t *posts = api("GET", posts_path, NULL);
	pending = NULL;
	if (json_out) {
		json_object_set(u, "latest_posts", json_object_get(posts, "posts"));
		print_json(u);
	} else {
		printf("@%s%s%s%s\n", s(u, "handle"), *s(u, "name") != '-' ? " (" : "",
		    *s(u, "name") != '-' ? s(u, "name") : "", *s(u, "name") != '-' ? ")" : "");
		if (*s(u, "bio") != '-')
			printf("  %s\n", s(u, "bio"));
		/* An admin token's view: the public's has no such member. */
		if (json_is_string(json_object_get(u, "suspended_at")))
			printf("  SUSPENDED since %s (hidden from the public)\n",
			    when(u, "suspended_at"));
		printf("  member since %s; %" JSON_INTEGER_FORMAT " posts, %" JSON_INTEGER_FORMAT
		    " followers, following %" JSON_INTEGER_FORMAT "\n", when(u, "member_since"),
		    json_integer_value(json_object_get(u, "posts")),
		    json_integer_value(json_object_get(u, "followers")),
		    json_integer_value(json_object_get(u, "following")));
		json_array_foreach(json_object_get(posts, "posts"), i, p)
			printf("  %-25s  %s\n", when(p, "created_at"), s(p, "text"));
	}
	json_decref(u);
	json_decref(posts);
	return EXIT_OK;
}

static int
cmd_health(void)
{
	char *text = NULL;
	int code = ctl_call("GET", "/healthz", NULL, &text);
	json_t *j = json_loads(text, 0, NULL);
	free(text);
	if (json_out)
		print_json(j);
	else
		printf("pigeond %s on %s: %s, database %s\n", s(j, "version"), ctl_addr(),
		    s(j, "status"), s(j, "database"));
	json_decref(j);
	return code == 200 ? EXIT_OK : EXIT_UNREACHABLE;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	const char *config = NULL, *opt_addr = NULL, *opt_token = NULL, *opt_token_file = NULL;
	int ch, rc, k = 1;

	/* --json, --help and --version anywhere (modems --json); after "--"
	 * everything is an argument (a text may be "--help"). */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			while (i < argc)
				argv[k++] = argv[i++];
			break;
		}
		if (strcmp(argv[i], "--json") == 0)
			json_out = 1;
		else if (strcmp(argv[i], "--help") == 0)
			usage_exit(EXIT_OK);
		else if (strcmp(argv[i], "--version") == 0)
			return printf("pigeonctl %s\n", PIGEON_VERSION), 0;
		else
			argv[k++] = argv[i];
	}
	argc = k;
	argv[argc] = NULL;
	while ((ch = getopt_long(argc, argv, "+c:a:t:T:jhV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': config = optarg; break;
		case 'a': opt_addr = optarg; break;
		case 't': opt_token = optarg; break;
		case 'T': opt_token_file = optarg; break;
		case 'j': json_out = 1; break;
		case 'h': usage_exit(EXIT_OK);
		case 'V': printf("pigeonctl %s\n", PIGEON_VERSION); return 0;
		default: usage();
		}
	}
	operands_only = optind > 1 && strcmp(argv[optind - 1], "--") == 0;
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	ctl_settings(config, opt_addr, opt_token, opt_token_file);

	const char *cmd = argv[0];
	if (strcmp(cmd, "modems") == 0 && argc == 1)
		rc = cmd_modems();
	else if ((strcmp(cmd, "enable") == 0 || strcmp(cmd, "disable") == 0 ||
	    strcmp(cmd, "drain") == 0) && argc == 2)
		rc = cmd_modem_action(cmd, argv[1]);
	else if (strcmp(cmd, "forget") == 0)
		rc = cmd_forget(argc, argv);
	else if (strcmp(cmd, "send") == 0 && argc == 3)
		rc = cmd_send(argv[1], argv[2]);
	else if (strcmp(cmd, "status") == 0 && argc == 2)
		rc = cmd_status(argv[1]);
	else if (strcmp(cmd, "messages") == 0)
		rc = cmd_messages(argc, argv);
	else if (strcmp(cmd, "queue") == 0 && argc == 1)
		rc = cmd_queue();
	else if ((strcmp(cmd, "users") == 0 || strcmp(cmd, "user") == 0) && argc == 2)
		rc = cmd_users(argv[1]);
	else if (strcmp(cmd, "health") == 0 && argc == 1)
		rc = cmd_health();
	else if ((rc = ctl_more(argc, argv)) == -1) {
		if (ctl_known(cmd))
			die(EXIT_USAGE, "%s: wrong arguments (pigeonctl --help)", cmd);
		die(EXIT_USAGE, "unknown command '%s' (pigeonctl --help lists them)", cmd);
	}
	ctl_settings_free();
	return rc;
}

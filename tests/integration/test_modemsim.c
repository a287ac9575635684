/*
 * test_modemsim.c: pigeon-modemsim driven by the real gammu command line
 * tool (libgammu's AT driver, PDU mode), by raw AT commands on its tty and
 * through its control socket.
 *
 * gammu's AT initialisation sleeps about 3.4 s and each sent part 0.7 s, so
 * each scenario runs as few gammu sessions as it can.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <check.h>
#include <jansson.h>

#include "harness.h"

/* The simulator of the running test (each test is its own process). */
static struct {
	char	*dir;
	char	*rc;		/* gammurc for it */
	char	*log;
	pid_t	 pid;
} sim;

static int
tty_exists(void *arg)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/tty", sim.dir);
	return access(path, F_OK) == 0;
}

/*
 * h_spawn, plus: the simulator gets SIGTERM when this test process goes.
 * A failed assertion leaves through _exit(), past any teardown or atexit.
 */
static pid_t
sim_spawn(const char *logpath, char *const argv[])
{
	pid_t parent = getpid(), pid = fork();
	int fd;

	ck_assert(pid != -1);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(1);
		if ((fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0644))
		    != -1) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		setpgid(0, 0);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static void
sim_start(const char *name, const char *delay_ms)
{
	char *base = h_tmpdir(name), text[2048];
	char *argv[8];
	int n = 0;

	/* A directory that does not exist yet: serve creates it. */
	ck_assert(asprintf(&sim.dir, "%s/modem", base) != -1);
	ck_assert(asprintf(&sim.log, "%s/sim.log", base) != -1);
	ck_assert(asprintf(&sim.rc, "%s/gammurc", base) != -1);
	snprintf(text, sizeof(text), "[gammu]\ndevice = %s/tty\n"
	    "connection = at\nlogfile = %s/gammu.log\nlogformat = textalldate\n",
	    sim.dir, base);
	ck_assert_int_eq(h_write_file(sim.rc, text), 0);
	free(base);

	argv[n++] = (char *)h_bin("pigeon-modemsim");
	argv[n++] = "serve";
	argv[n++] = sim.dir;
	argv[n++] = "-v";
	if (delay_ms != NULL) {
		argv[n++] = "--send-delay";
		argv[n++] = (char *)delay_ms;
	}
	argv[n] = NULL;
	sim.pid = sim_spawn(sim.log, argv);
	ck_assert_msg(h_wait_for(tty_exists, NULL, 10000) == 0,
	    "the simulator never created %s/tty", sim.dir);
}

/* Stops the simulator: it must exit 0 and clean, even under ASan. */
static void
sim_stop(void)
{
	int status;
	char *log;

	if (sim.pid <= 0)
		return;
	status = h_stop(sim.pid, SIGTERM, 10000);
	sim.pid = 0;
	log = h_read_file(sim.log);
	ck_assert(log != NULL);
	ck_assert_msg(strstr(log, "Sanitizer") == NULL &&
	    strstr(log, "runtime error") == NULL, "sanitizer report in %s",
	    sim.log);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "simulator exit status %d, see %s", status, sim.log);
	ck_assert_msg(!tty_exists(NULL), "DIR/tty left behind");
	free(log);
}

static void
teardown(void)
{
	sim_stop();
	free(sim.dir);
	free(sim.rc);
	free(sim.log);
}

/* Single-quotes s for sh. */
static char *
shq(const char *s)
{
	size_t len = 3;
	const char *p;
	char *q, *o;

	for (p = s; *p != '\0'; p++)
		len += *p == '\'' ? 4 : 1;
	o = q = malloc(len);
	*o++ = '\'';
	for (p = s; *p != '\0'; p++) {
		if (*p == '\'') {
			memcpy(o, "'\\''", 4);
			o += 4;
		} else
			*o++ = *p;
	}
	*o++ = '\'';
	*o = '\0';
	return q;
}

/* Runs gammu on the simulator; stdout and stderr in *out. */
static int
gammu(char **out, const char *args)
{
	return h_run(out, "LC_ALL=C.UTF-8 gammu -c %s %s 2>&1", sim.rc, args);
}

/* Runs a client subcommand; stdout in *out, stderr in *err when asked. */
static int
simctl(char **out, char **err, const char *fmt, ...)
{
	char *args, *e, errpath[1100];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	ck_assert(vasprintf(&args, fmt, ap) != -1);
	va_end(ap);
	snprintf(errpath, sizeof(errpath), "%s.err", sim.log);
	rc = h_run(out, "%s %s 2>%s", h_bin("pigeon-modemsim"), args, errpath);
	e = h_read_file(errpath);
	ck_assert_msg(e != NULL && strstr(e, "Sanitizer") == NULL &&
	    strstr(e, "runtime error") == NULL, "pigeon-modemsim %s: %s", args,
	    e);
	if (err != NULL)
		*err = e;
	else
		free(e);
	free(args);
	return rc;
}

/* deliver FROM TEXT [opts]; returns the locations printed (n of them). */
static int
deliver(int *locs, int max, const char *from, const char *text,
    const char *opts)
{
	char *qf = shq(from), *qt = shq(text), *out, *p;
	int n = 0, rc;

	rc = simctl(&out, NULL, "deliver %s %s %s %s", sim.dir, qf, qt,
	    opts ? opts : "");
	ck_assert_msg(rc == 0, "deliver from %s failed", from);
	for (p = out; n < max && *p != '\0'; ) {
		locs[n++] = (int)strtol(p, &p, 10);
		while (*p == '\n')
			p++;
	}
	free(out);
	free(qf);
	free(qt);
	return n;
}

/*
 * The block gammu getallsms prints for a location: its header fields, a
 * blank line, the text.
 */
static char *
sms_block(const char *out, int loc)
{
	char head[64];
	const char *b, *e;

	snprintf(head, sizeof(head), "Location %d, ", loc);
	for (b = out; (b = strstr(b, head)) != NULL; b++)
		if (b == out || b[-1] == '\n')
			break;
	if (b == NULL)
		return NULL;
	e = strstr(b + 1, "\nLocation ");
	return strndup(b, e ? (size_t)(e - b) : strlen(b));
}

static char *
sms_field(const char *block, const char *name)
{
	const char *p = strstr(block, name), *q;

	if (p == NULL || (p = strchr(p, ':')) == NULL)
		return NULL;
	p += 2;
	if (*p == '"')
		p++;
	q = strchr(p, '\n');
	if (q > p && q[-1] == '"')
		q--;
	return strndup(p, q - p);
}

static char *
sms_text(const char *block)
{
	const char *p = strstr(block, "\n\n"), *q;

	if (p == NULL)
		return NULL;
	p += 2;
	if ((q = strstr(p, "\n\n")) == NULL)
		q = p + strlen(p);
	while (q > p && q[-1] == '\n')
		q--;
	return strndup(p, q - p);
}

/* Checks that location loc holds an SMS from `from` reading `text`. */
static void
check_sms(const char *out, int loc, const char *from, const char *text)
{
	char *b = sms_block(out, loc), *f, *t;

	ck_assert_msg(b != NULL, "gammu lists no location %d:\n%s", loc, out);
	f = sms_field(b, "Remote number");
	t = sms_text(b);
	ck_assert_msg(f != NULL && strcmp(f, from) == 0,
	    "location %d: sender \"%s\", want \"%s\"", loc, f, from);
	ck_assert_msg(t != NULL && strcmp(t, text) == 0,
	    "location %d: text \"%s\", want \"%s\"", loc, t, text);
	free(b);
	free(f);
	free(t);
}

/* The lines of `out` parsed as JSON objects; returns how many. */
static int
json_lines(const char *out, json_t **objs, int max)
{
	const char *p = out;
	int n = 0;

	while (*p != '\0' && n < max) {
		const char *e = strchr(p, '\n');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		json_t *o = json_loadb(p, len, 0, NULL);
		ck_assert_msg(o != NULL, "not JSON: %.*s", (int)len, p);
		objs[n++] = o;
		p += len + (e != NULL);
	}
	return n;
}

static const char *
jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

static int
luhn_ok(const char *d)
{
	int sum = 0, i, n = (int)strlen(d);

	for (i = 0; i < n; i++) {
		int v = d[n - 1 - i] - '0';
		if (i % 2 == 1 && (v *= 2) > 9)
			v -= 9;
		sum += v;
	}
	return sum % 10 == 0;
}

START_TEST(identify_and_reopen)
{
	char *out1, *out2, *imei, *log;
	const char *p;

	sim_start("identify", NULL);
	ck_assert_int_eq(gammu(&out1, "identify"), 0);
	ck_assert_msg(strstr(out1, "Manufacturer         : Pigeon") != NULL,
	    "%s", out1);
	ck_assert_msg((p = strstr(out1, "IMEI                 : ")) != NULL, "%s",
	    out1);
	imei = strndup(p + 23, 15);
	ck_assert_msg(strspn(imei, "0123456789") == 15 && luhn_ok(imei),
	    "bad IMEI %s", imei);
	ck_assert_msg(strstr(out1, "SIM IMSI             : 60499") != NULL,
	    "%s", out1);

	/* A second session on the same tty, after the first closed it. */
	ck_assert_int_eq(gammu(&out2, "identify"), 0);
	ck_assert_msg(strstr(out2, imei) != NULL, "IMEI changed:\n%s", out2);
	log = h_read_file(sim.log);
	ck_assert_int_ge(h_count_lines(log, "tty: client opened"), 2);
	ck_assert_int_ge(h_count_lines(log, "tty: client closed"), 2);
	free(log);
	free(imei);
	free(out1);
	free(out2);
}
END_TEST

START_TEST(receive)
{
	const char *french = "Bonjour, ça va? Été à Fès, très réussi!";
	const char *arabic = "مرحبا بكم في بيجون";
	char longtext[401], *out, *b;
	int l1[1], l2[1], l3[1], l4[1], l5[3], i;
	json_t *st[10];

	for (i = 0; i < 400; i++)
		longtext[i] = "abcdefghijklmnopqrstuvwxyz 0123456789."[i % 38];
	longtext[400] = '\0';

	sim_start("receive", NULL);
	ck_assert_int_eq(deliver(l1, 1, "+212661000001", "hello pigeon", NULL), 1);
	ck_assert_int_eq(deliver(l2, 1, "0661000002", french, NULL), 1);
	ck_assert_int_eq(deliver(l3, 1, "40404", arabic, NULL), 1);
	ck_assert_int_eq(deliver(l4, 1, "Maroc Telecom", "Promo: 10 DH",
	    NULL), 1);
	/* Three parts, part 3 stored first, reference 77. */
	ck_assert_int_eq(deliver(l5, 3, "+212661000005", longtext,
	    "--ref 77 --order 3,1,2"), 3);
	ck_assert_int_eq(l1[0], 1);
	ck_assert_int_eq(l5[2], 5);
	ck_assert_int_eq(l5[0], 6);
	ck_assert_int_eq(l5[1], 7);

	ck_assert_int_eq(gammu(&out, "getallsms"), 0);
	check_sms(out, l1[0], "+212661000001", "hello pigeon");
	check_sms(out, l2[0], "0661000002", french);
	check_sms(out, l3[0], "40404", arabic);
	/* An alphanumeric originator holds at most 11 characters. */
	check_sms(out, l4[0], "Maroc Telec", "Promo: 10 DH");
	b = sms_block(out, l2[0]);
	ck_assert_msg(strstr(b, "Unicode") != NULL, "ç needs UCS-2: %s", b);
	free(b);
	b = sms_block(out, l1[0]);
	ck_assert_msg(strstr(b, "Default GSM alphabet") != NULL, "%s", b);
	free(b);
	for (i = 0; i < 3; i++) {
		char want[160], udh[80];
		snprintf(want, sizeof(want), "%.*s", i < 2 ? 153 : 94,
		    longtext + 153 * i);
		check_sms(out, l5[i], "+212661000005", want);
		snprintf(udh, sizeof(udh), "ID (8 bit) 77, part %d of 3", i + 1);
		b = sms_block(out, l5[i]);
		ck_assert_msg(strstr(b, udh) != NULL, "no \"%s\" in %s", udh, b);
		free(b);
	}
	ck_assert_msg(strstr(out, "7 SMS parts in") != NULL, "%s", out);
	free(out);

	/* stored agrees, and the list marked them read. */
	ck_assert_int_eq(simctl(&out, NULL, "stored %s", sim.dir), 0);
	ck_assert_int_eq(json_lines(out, st, 10), 7);
	ck_assert_int_eq(json_integer_value(json_object_get(st[2], "location")),
	    l3[0]);
	ck_assert_str_eq(jstr(st[2], "from"), "40404");
	ck_assert_str_eq(jstr(st[2], "text"), arabic);
	ck_assert_str_eq(jstr(st[2], "state"), "read");
	for (i = 0; i < 7; i++)
		json_decref(st[i]);
	free(out);
}
END_TEST

START_TEST(delete_sms)
{
	char *out, *err;
	int a[1], b[1];

	sim_start("delete", NULL);
	deliver(a, 1, "+212661000001", "first", NULL);
	deliver(b, 1, "+212661000001", "second", NULL);

	ck_assert_int_eq(gammu(&out, "deletesms 1 1"), 0);
	free(out);
	ck_assert_int_eq(simctl(&out, NULL, "stored %s", sim.dir), 0);
	ck_assert_msg(strstr(out, "\"first\"") == NULL &&
	    strstr(out, "{\"location\":2,\"from\":\"+212661000001\","
	    "\"text\":\"second\"") != NULL, "%s", out);
	free(out);

	ck_assert_int_eq(simctl(&out, NULL, "fault %s delete-error 1",
	    sim.dir), 0);
	ck_assert_str_eq(out, "ok\n");
	free(out);
	ck_assert_int_ne(gammu(&out, "deletesms 1 2"), 0);
	ck_assert_msg(strstr(out, "error") != NULL, "%s", out);
	free(out);
	ck_assert_int_eq(simctl(&out, &err, "stored %s", sim.dir), 0);
	ck_assert_msg(strstr(out, "\"second\"") != NULL, "%s", out);
	free(out);
	free(err);
}
END_TEST

START_TEST(send_sms)
{
	const char *arabic = "مرحبا! Ça va? Le pigeon voyageur porte ce "
	    "message en trois parties, à travers le réseau GSM simulé, "
	    "avec des lettres arabes: السلام عليكم ورحمة الله وبركاته، "
	    "وأهلا وسهلا بكم جميعا.";
	char *out, *q = shq(arabic), args[2048];
	json_t *s[4];

	sim_start("send", NULL);
	ck_assert_int_eq(gammu(&out,
	    "sendsms TEXT +212661000002 -report -textutf8 hello"), 0);
	ck_assert_msg(strstr(out, "message reference=0") != NULL, "%s", out);
	free(out);
	snprintf(args, sizeof(args), "sendsms TEXT +212661000003 -unicode "
	    "-autolen 400 -textutf8 %s", q);
	ck_assert_int_eq(gammu(&out, args), 0);
	ck_assert_msg(strstr(out, "Sending SMS 3/3") != NULL, "%s", out);
	free(out);
	/* Only the first asked for a status report; the SMSC sent one. */
	ck_assert_int_eq(simctl(&out, NULL, "stored %s", sim.dir), 0);
	ck_assert_int_eq(h_count_lines(out, "\"location\""), 1);
	ck_assert_msg(strstr(out, "\"from\":\"+212661000002\"") != NULL &&
	    strstr(out, "\"report\":{\"mr\":0,\"status\":0}") != NULL,
	    "%s", out);
	free(out);
	sim_stop();		/* sent reads the file: no simulator needed */

	ck_assert_int_eq(simctl(&out, NULL, "sent %s", sim.dir), 0);
	ck_assert_int_eq(json_lines(out, s, 4), 2);
	free(out);
	ck_assert_str_eq(jstr(s[0], "to"), "+212661000002");
	ck_assert_str_eq(jstr(s[0], "text"), "hello");
	ck_assert_int_eq(json_integer_value(json_object_get(s[0], "parts")), 1);
	ck_assert_str_eq(jstr(s[1], "to"), "+212661000003");
	ck_assert_str_eq(jstr(s[1], "text"), arabic);
	ck_assert_str_eq(jstr(s[1], "coding"), "ucs2");
	ck_assert_int_eq(json_integer_value(json_object_get(s[1], "parts")), 3);
	ck_assert_msg(strlen(jstr(s[1], "time")) >= 19, "no time");
	json_decref(s[0]);
	json_decref(s[1]);

	ck_assert_int_eq(simctl(&out, NULL, "sent %s +212661000003", sim.dir),
	    0);
	ck_assert_int_eq(h_count_lines(out, "+212661000003"), 1);
	ck_assert_int_eq(h_count_lines(out, "+212661000002"), 0);
	ck_assert_msg(strstr(out, "\"refs\":[1,2,3]") != NULL, "%s", out);
	free(out);
	snprintf(args, sizeof(args), "%s/parts.jsonl", sim.dir);
	out = h_read_file(args);
	ck_assert_int_eq(h_count_lines(out, "\"mr\""), 4);
	free(out);
	free(q);
}
END_TEST

START_TEST(send_error)
{
	char *out;

	sim_start("senderr", NULL);
	ck_assert_int_eq(simctl(&out, NULL, "fault %s send-error 500 1",
	    sim.dir), 0);
	free(out);
	ck_assert_int_ne(gammu(&out, "sendsms TEXT +212661000002 "
	    "-textutf8 refused"), 0);
	ck_assert_msg(strstr(out, "error 500") != NULL, "%s", out);
	free(out);
	ck_assert_int_eq(simctl(&out, NULL, "sent %s", sim.dir), 0);
	ck_assert_str_eq(out, "");
	free(out);
	/* COUNT was 1: the next send goes through. */
	ck_assert_int_eq(gammu(&out, "sendsms TEXT +212661000002 "
	    "-textutf8 accepted"), 0);
	free(out);
	ck_assert_int_eq(simctl(&out, NULL, "sent %s +212661000002", sim.dir),
	    0);
	ck_assert_msg(strstr(out, "\"text\":\"accepted\"") != NULL &&
	    h_count_lines(out, "\"to\"") == 1, "%s", out);
	free(out);
}
END_TEST

/* Raw AT on the tty: a tiny terminal. */
struct term {
	int	 fd;
	char	 buf[8192];
	size_t	 len;
	const char *want;
};

static int
term_has(void *arg)
{
	struct term *t = arg;
	struct pollfd p = { .fd = t->fd, .events = POLLIN };
	ssize_t n;

	while (poll(&p, 1, 0) == 1 && (p.revents & POLLIN) &&
	    t->len < sizeof(t->buf) - 1 &&
	    (n = read(t->fd, t->buf + t->len, sizeof(t->buf) - 1 - t->len)) > 0)
		t->len += n;
	t->buf[t->len] = '\0';
	return strstr(t->buf, t->want) != NULL;
}

/* Sends cmd, waits up to ms for want; returns 0 when it came. */
static int
term_cmd(struct term *t, const char *cmd, const char *want, int ms)
{
	t->len = 0;
	t->buf[0] = '\0';
	t->want = want;
	ck_assert(write(t->fd, cmd, strlen(cmd)) == (ssize_t)strlen(cmd));
	return h_wait_for(term_has, t, ms);
}

static void
term_open(struct term *t)
{
	char path[1024];
	struct termios tio;

	snprintf(path, sizeof(path), "%s/tty", sim.dir);
	t->fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK);
	ck_assert_msg(t->fd != -1, "open %s: %s", path, strerror(errno));
	ck_assert(tcgetattr(t->fd, &tio) == 0);
	cfmakeraw(&tio);
	ck_assert(tcsetattr(t->fd, TCSANOW, &tio) == 0);
}

/* status's "sending" is want ("true", "false"). */
static int
sim_sending(void *want)
{
	char *out = NULL, needle[32];
	int is;

	snprintf(needle, sizeof(needle), "\"sending\":%s", (const char *)want);
	is = simctl(&out, NULL, "status %s", sim.dir) == 0 && strstr(out, needle) != NULL;
	free(out);
	return is;
}

START_TEST(raw_at)
{
	/* SMS-SUBMIT "hello" to +212661000002, SMSC +212600000000. */
	const char *pdu = "079112620000000011000C911262160000200000FF05E8329BFD06";
	char cmd[256], *out;
	struct term t;
	long t0, took;

	sim_start("rawat", "3000");
	term_open(&t);
	ck_assert_int_eq(term_cmd(&t, "AT\r", "\r\nOK\r\n", 3000), 0);
	ck_assert_int_eq(term_cmd(&t, "AT+NOSUCH\r", "\r\nERROR\r\n", 3000), 0);
	ck_assert_int_eq(term_cmd(&t, "at+cgmi\r", "Pigeon\r\n\r\nOK", 3000), 0);
	ck_assert_int_eq(term_cmd(&t, "AT+CMGS=19\r", "\r\n> ", 3000), 0);
	ck_assert_int_eq(term_cmd(&t, "00FF\x1a", "+CMS ERROR: 304", 3000), 0);

	/* The answer waits --send-delay; the control socket does not (asked
	 * through the program, whose start under ASan and a loaded machine
	 * may take a second: the delay is long enough to tell them apart). */
	ck_assert_int_eq(term_cmd(&t, "AT+CMGS=19\r", "\r\n> ", 3000), 0);
	snprintf(cmd, sizeof(cmd), "%s\x1a", pdu);
	t0 = h_now_ms();
	t.len = 0;
	t.want = "+CMGS: 0\r\n\r\nOK\r\n";
	ck_assert(write(t.fd, cmd, strlen(cmd)) == (ssize_t)strlen(cmd));
	ck_assert_int_eq(simctl(&out, NULL, "status %s", sim.dir), 0);
	took = h_now_ms() - t0;
	ck_assert_msg(took < 2000, "status took %ld ms during a send", took);
	ck_assert_msg(strstr(out, "\"send-delay\":3000") != NULL, "%s", out);
	free(out);
	/* status says the send is at the modem (once it has read the
	 * Ctrl-Z), until its answer. */
	ck_assert_int_eq(h_wait_for(sim_sending, "true", 2500), 0);
	ck_assert_int_eq(h_wait_for(term_has, &t, 5000), 0);
	took = h_now_ms() - t0;
	ck_assert_msg(took >= 2950, "answered after %ld ms", took);
	ck_assert_int_eq(sim_sending("false"), 1);

	/* Silent: not even an echo. Then it answers again. */
	ck_assert_int_eq(simctl(&out, NULL, "fault %s silent 1", sim.dir), 0);
	free(out);
	ck_assert_int_eq(term_cmd(&t, "AT\r", "A", 400), -1);
	ck_assert_int_eq(simctl(&out, NULL, "fault %s silent 0", sim.dir), 0);
	free(out);
	ck_assert_int_eq(term_cmd(&t, "AT\r", "\r\nOK\r\n", 3000), 0);
	close(t.fd);

	/* Unplugged: DIR/tty is gone until plugged back. */
	ck_assert_int_eq(simctl(&out, NULL, "fault %s unplug 1", sim.dir), 0);
	free(out);
	ck_assert(!tty_exists(NULL));
	ck_assert_int_eq(simctl(&out, NULL, "fault %s unplug 0", sim.dir), 0);
	free(out);
	term_open(&t);
	ck_assert_int_eq(term_cmd(&t, "AT\r", "\r\nOK\r\n", 3000), 0);
	close(t.fd);
}
END_TEST

/* One request line to DIR/ctl; returns the reply line (malloc). */
static char *
ctl_raw(int fd, const char *req)
{
	struct term t = { .fd = fd, .want = "\n" };

	ck_assert(write(fd, req, strlen(req)) == (ssize_t)strlen(req));
	ck_assert_int_eq(h_wait_for(term_has, &t, 5000), 0);
	return strdup(t.buf);
}

START_TEST(control)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char *r, *out, *err, req[256];
	int fd, i;

	sim_start("control", NULL);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/ctl", sim.dir);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert(connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0);

	const char *bad[] = { "not json\n", "[1,2]\n", "{\"cmd\":\"nope\"}\n",
	    "{\"cmd\":\"deliver\",\"from\":\"x\"}\n",
	    "{\"cmd\":\"fault\",\"name\":\"melt\",\"values\":[1]}\n",
	    "{\"cmd\":\"deliver\",\"from\":\"1\",\"text\":\"x\",\"ref\":300}\n",
	    "{\"cmd\":\"deliver\",\"from\":\"1\",\"text\":\"x\",\"time\":\"May\"}\n",
	    "{\"cmd\":\"deliver\",\"from\":\"1\",\"text\":\"x\",\"order\":[2]}\n",
	    "{\"cmd\":\"deliver\",\"from\":\"1\",\"text\":\"x\",\"lose\":[1]}\n" };
	for (i = 0; i < (int)(sizeof(bad) / sizeof(bad[0])); i++) {
		r = ctl_raw(fd, bad[i]);
		ck_assert_msg(strncmp(r, "{\"ok\":false,\"error\":", 20) == 0,
		    "%s -> %s", bad[i], r);
		free(r);
	}
	r = ctl_raw(fd, "{\"cmd\":\"ping\"}\n");
	ck_assert_str_eq(r, "{\"ok\":true}\n");
	free(r);

	/* Fill the SIM through the socket, then deliver says it is full. */
	for (i = 1; i <= 50; i++) {
		snprintf(req, sizeof(req), "{\"cmd\":\"deliver\",\"from\":"
		    "\"+212661000001\",\"text\":\"n%d\"}\n", i);
		r = ctl_raw(fd, req);
		ck_assert_msg(strstr(r, "\"ok\":true") != NULL, "%s", r);
		free(r);
	}
	close(fd);
	ck_assert_int_ne(simctl(&out, &err, "deliver %s +212661000001 one-more",
	    sim.dir), 0);
	ck_assert_msg(strstr(err, "full") != NULL, "%s", err);
	free(out);
	free(err);
	sim_stop();

	ck_assert_int_ne(simctl(&out, &err, "deliver %s +212661000001 hi",
	    sim.dir), 0);
	ck_assert_msg(strstr(err, "no simulator running") != NULL, "%s", err);
	free(out);
	free(err);
}
END_TEST

static Suite *
modemsim_suite(void)
{
	Suite *s = suite_create("modemsim");
	struct {
		const char *name;
		const TTest *test;
	} tests[] = {
		{ "identify_and_reopen", identify_and_reopen },
		{ "receive", receive },
		{ "delete_sms", delete_sms },
		{ "send_sms", send_sms },
		{ "send_error", send_error },
		{ "raw_at", raw_at },
		{ "control", control },
	};
	size_t i;

	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		TCase *tc = tcase_create(tests[i].name);
		tcase_add_checked_fixture(tc, NULL, teardown);
		tcase_set_timeout(tc, 60);
		tcase_add_test(tc, tests[i].test);
		suite_add_tcase(s, tc);
	}
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(modemsim_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

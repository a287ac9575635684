/*
 * test_worker.c: pigeon-modem on its own, driven over the socketpair the way
 * pigeond drives it, against libgammu's dummy driver (incoming SMS are
 * SMS-backup files in DIR/sms/1/N) and, for sending through the AT driver,
 * against pigeon-modemsim.
 *
 * Env: PIGEON_TEST_BIN (pigeon-modem, pigeon-modemsim), PIGEON_TEST_TMP.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <check.h>
#include <gammu.h>
#include <jansson.h>

#include "harness.h"

/* For anything the dummy driver does: a listing under ASan takes up to
 * 2 s, and more on a loaded machine (10 s failed at a load of 10). */
#define WAIT_MS		30000
#define AT_WAIT_MS	30000	/* the AT driver sleeps ~3.4 s to connect */
#define MAXQ		256

/* The worker of the running test (each test is its own process). */
static struct worker {
	pid_t	 pid;
	int	 fd;		/* our end of the socketpair */
	char	*dir;		/* scratch directory of the test */
	char	*dev;		/* dummy device directory */
	char	*log;		/* the worker's stderr */
	char	 buf[1 << 20];
	size_t	 len;
	int	 eof;
	json_t	*q[MAXQ];	/* messages read, not yet taken */
	int	 nq;
} w = { .pid = -1, .fd = -1 };

static struct {
	char	*dir;
	char	*log;
	pid_t	 pid;
} sim = { .pid = -1 };

/* A failed assertion exits the test process: take the children along. */
static void
reap_children(void)
{
	if (w.pid > 0)
		kill(w.pid, SIGKILL);
	if (sim.pid > 0)
		kill(sim.pid, SIGKILL);
}

/* Starts pigeon-modem with one end of a socketpair as its fd 3. */
static void
w_spawn(const char *name)
{
	int sv[2];

	w.dir = h_tmpdir(name);
	ck_assert(asprintf(&w.dev, "%s/dev", w.dir) != -1);
	ck_assert(asprintf(&w.log, "%s/worker.log", w.dir) != -1);
	ck_assert_int_eq(mkdir(w.dev, 0755), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	w.pid = fork();
	ck_assert(w.pid != -1);
	if (w.pid == 0) {
		int fd = open(w.log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd != -1) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		if (sv[1] == 3)
			fcntl(3, F_SETFD, 0);
		else if (dup2(sv[1], 3) == -1)	/* clears close-on-exec */
			_exit(126);
		execl(h_bin("pigeon-modem"), "pigeon-modem", "-v", (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	w.fd = sv[0];
	fcntl(w.fd, F_SETFL, O_NONBLOCK);
	atexit(reap_children);
}

static void
w_write(const char *fmt, ...)
{
	char *line;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&line, fmt, ap);
	va_end(ap);
	ck_assert(n != -1);
	for (int off = 0; off < n;) {
		ssize_t r = write(w.fd, line + off, n - off);
		if (r == -1 && errno == EAGAIN) {
			struct pollfd p = { .fd = w.fd, .events = POLLOUT };
			poll(&p, 1, 1000);
			continue;
		}
		ck_assert_msg(r > 0, "write to the worker: %s", strerror(errno));
		off += r;
	}
	if (line[n - 1] != '\n')
		ck_assert_int_eq(write(w.fd, "\n", 1), 1);
	free(line);
}

/* Reads what the worker wrote and queues each message. */
static void
w_pump(void)
{
	ssize_t n;
	char *nl;

	while (!w.eof && w.fd != -1) {
		n = read(w.fd, w.buf + w.len, sizeof(w.buf) - 1 - w.len);
		if (n == 0)
			w.eof = 1;
		if (n <= 0) {
			ck_assert_msg(n == 0 || errno == EAGAIN || errno == EINTR,
			    "read: %s", strerror(errno));
			break;
		}
		w.len += n;
	}
	while ((nl = memchr(w.buf, '\n', w.len)) != NULL) {
		json_error_t err;
		json_t *m;

		*nl = '\0';
		m = json_loads(w.buf, 0, &err);
		ck_assert_msg(m != NULL, "worker wrote bad JSON: %s (%s)",
		    w.buf, err.text);
		ck_assert_msg(w.nq < MAXQ, "too many unread messages");
		w.q[w.nq++] = m;
		w.len -= (size_t)(nl + 1 - w.buf);
		memmove(w.buf, nl + 1, w.len);
	}
}

static const char *
m_str(json_t *m, const char *key)
{
	return json_string_value(json_object_get(m, key));
}

static long long
m_int(json_t *m, const char *key)
{
	json_t *v = json_object_get(m, key);
	ck_assert_msg(json_is_integer(v), "no integer %s", key);
	return json_integer_value(v);
}

struct want {
	const char	*type;
	const char	*key;		/* optional member to match */
	const char	*sval;
	long long	 ival;
	int		 isint;
	json_t		*found;
};

static int
want_match(json_t *m, const struct want *wt)
{
	json_t *v;

	if (strcmp(m_str(m, "type"), wt->type) != 0)
		return 0;
	if (wt->key == NULL)
		return 1;
	v = json_object_get(m, wt->key);
	if (wt->isint)
		return json_is_integer(v) && json_integer_value(v) == wt->ival;
	return json_is_string(v) && strcmp(json_string_value(v), wt->sval) == 0;
}

static int
want_found(void *arg)
{
	struct want *wt = arg;

	w_pump();
	for (int i = 0; i < w.nq; i++)
		if (want_match(w.q[i], wt)) {
			wt->found = w.q[i];
			memmove(&w.q[i], &w.q[i + 1], (w.nq - i - 1) * sizeof(w.q[0]));
			w.nq--;
			return 1;
		}
	return w.eof;
}

/* Takes the first message of that type (and key = value), waiting for it. */
static json_t *
w_take_ex(struct want *wt, int timeout_ms)
{
	h_wait_for(want_found, wt, timeout_ms);
	ck_assert_msg(wt->found != NULL, "no \"%s\" message from the worker "
	    "within %d ms%s (log: %s)", wt->type, timeout_ms,
	    w.eof ? ", which closed the channel" : "", w.log);
	return wt->found;
}

static json_t *
w_take(const char *type, int timeout_ms)
{
	struct want wt = { .type = type };
	return w_take_ex(&wt, timeout_ms);
}

static json_t *
w_take_id(const char *type, long long id, int timeout_ms)
{
	struct want wt = { .type = type, .key = "id", .ival = id, .isint = 1 };
	return w_take_ex(&wt, timeout_ms);
}

static json_t *
w_take_sms(const char *text, int timeout_ms)
{
	struct want wt = { .type = "sms", .key = "text", .sval = text };
	return w_take_ex(&wt, timeout_ms);
}

static int
w_count(const char *type)
{
	int n = 0;

	w_pump();
	for (int i = 0; i < w.nq; i++)
		if (strcmp(m_str(w.q[i], "type"), type) == 0)
			n++;
	return n;
}

/* A ping answered proves every line written before it was handled. */
static void
w_barrier(int seq, int timeout_ms)
{
	struct want wt = { .type = "pong", .key = "seq", .ival = seq, .isint = 1 };

	w_write("{\"type\":\"ping\",\"seq\":%d}", seq);
	json_decref(w_take_ex(&wt, timeout_ms));
}

/* Starts a worker on the dummy driver and waits for `ready`. */
static json_t *
w_start_dummy(const char *name)
{
	w_spawn(name);
	w_write("{\"type\":\"config\",\"name\":\"%s\",\"device\":\"%s\","
	    "\"connection\":\"none\",\"model\":\"dummy\",\"logfile\":\"\","
	    "\"logformat\":\"\",\"poll_ms\":50,\"smsc\":\"\"}", name, w.dev);
	return w_take("ready", WAIT_MS);
}

struct exited {
	pid_t	pid;
	int	status;
	int	done;
};

static int
has_exited(void *arg)
{
	struct exited *e = arg;

	if (waitpid(e->pid, &e->status, WNOHANG) == e->pid)
		e->done = 1;
	return e->done;
}

/* Waits for the worker to exit; returns its wait status. */
static int
w_wait_exit(int timeout_ms)
{
	struct exited e = { .pid = w.pid };

	ck_assert_msg(h_wait_for(has_exited, &e, timeout_ms) == 0,
	    "worker still running %d ms later", timeout_ms);
	w.pid = -1;
	return e.status;
}

static void
log_clean(const char *path)
{
	char *log = h_read_file(path);

	ck_assert(log != NULL);
	ck_assert_msg(strstr(log, "Sanitizer") == NULL &&
	    strstr(log, "runtime error") == NULL, "sanitizer report in %s", path);
	free(log);
}

/* Closes the channel as a dying pigeond would: the worker must exit 0. */
static void
w_close_expect_exit(void)
{
	int status;

	if (w.pid <= 0)
		return;
	close(w.fd);
	w.fd = -1;
	/* Within the deadline, whatever the machine's load: how fast is a
	 * benchmark's question (a dummy listing under ASan can take 2 s, 5 s
	 * were not enough on a loaded machine). */
	status = w_wait_exit(WAIT_MS);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "worker wait status %d (log: %s)", status, w.log);
	log_clean(w.log);
}

static void
teardown(void)
{
	w_close_expect_exit();
	for (int i = 0; i < w.nq; i++)
		json_decref(w.q[i]);
	w.nq = 0;
	if (sim.pid > 0) {
		int status = h_stop(sim.pid, SIGTERM, 10000);
		sim.pid = -1;
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "simulator exit status %d (log: %s)", status, sim.log);
		log_clean(sim.log);
	}
}

/* UTF-8 to the hex of libgammu's UCS-2 text, as SMS-backup files hold it. */
static char *
ucs2_hex(const char *utf8)
{
	size_t len = strlen(utf8);
	unsigned char *u = calloc(len + 2, 2);
	char *hex = malloc(4 * (len + 1) + 1);
	size_t n;

	DecodeUTF8(u, utf8, len);
	n = UnicodeLength(u);
	for (size_t i = 0; i < 2 * n; i++)
		sprintf(hex + 2 * i, "%02X", u[i]);
	hex[4 * n] = '\0';
	free(u);
	return hex;
}

/*
 * Puts an incoming SMS in the dummy modem's inbox the way a modem would
 * store it: a gammu SMS-backup file, written to a temporary name and
 * renamed to DIR/sms/1/<loc> so the worker never reads half a file.
 */
static void
put_sms(int loc, const char *from, const char *coding, const char *text,
    const char *udh)
{
	char tmp[1024], path[1024], *body, *hex;
	int len;

	if (strcmp(coding, "8bit") == 0) {
		hex = strdup(text);	/* already hex */
		len = (int)strlen(text) / 2;
	} else {
		hex = ucs2_hex(text);
		len = (int)strlen(hex) / 4;
	}
	snprintf(tmp, sizeof(tmp), "%s/sms/1/.incoming", w.dev);
	snprintf(path, sizeof(path), "%s/sms/1/%d", w.dev, loc);
	ck_assert(asprintf(&body,
	    "[SMSBackup000]\n"
	    "SMSC = \"+212600000000\"\n"
	    "PDU = Deliver\n"
	    "DateTime = 20240501T123456Z\n"
	    "State = UnRead\n"
	    "Number = \"%s\"\n"
	    "%s%s%s"
	    "Text00 = %s\n"
	    "Coding = %s\n"
	    "Folder = 1\n"
	    "Length = %d\n"
	    "Class = -1\n",
	    from, udh ? "UDH = " : "", udh ? udh : "", udh ? "\n" : "",
	    hex, coding, len) != -1);
	ck_assert_int_eq(h_write_file(tmp, body), 0);
	ck_assert_int_eq(rename(tmp, path), 0);
	free(body);
	free(hex);
}

/* ---------------------------------------------------------------- */

START_TEST(test_ready)
{
	json_t *r = w_start_dummy("ready");

	ck_assert_str_eq(m_str(r, "manufacturer"), "Gammu");
	ck_assert_str_eq(m_str(r, "model"), "Dummy");
	ck_assert_str_eq(m_str(r, "imei"), "999999999999999");
	ck_assert_str_eq(m_str(r, "imsi"), "994299429942994");
	ck_assert_msg(strncmp(m_str(r, "firmware"), "1.", 2) == 0,
	    "firmware \"%s\"", m_str(r, "firmware"));
	json_decref(r);
	w_barrier(1, WAIT_MS);
	/* teardown closes the channel and wants exit 0 within 2 s */
}
END_TEST

START_TEST(test_sms_gsm7_once)
{
	json_t *m;

	json_decref(w_start_dummy("gsm7"));
	put_sms(1, "+212661234567", "Default_No_Compression",
	    "Hello @ pigeon {1}", NULL);
	m = w_take_sms("Hello @ pigeon {1}", WAIT_MS);
	ck_assert_str_eq(m_str(m, "sender"), "+212661234567");
	ck_assert_str_eq(m_str(m, "smsc"), "+212600000000");
	ck_assert_str_eq(m_str(m, "coding"), "gsm");
	ck_assert_str_eq(m_str(m, "time"), "2024-05-01T12:34:56+00:00");
	ck_assert_int_eq(m_int(m, "folder"), 1);
	ck_assert_int_eq(m_int(m, "class"), -1);
	ck_assert(json_object_get(m, "udh") == NULL);
	ck_assert(json_object_get(m, "status_report") == NULL);
	json_decref(m);

	/* Each listing runs from the first location: had the first SMS been
	 * reported again, that would show before the second one. */
	put_sms(2, "+212661234568", "Default_No_Compression", "second", NULL);
	json_decref(w_take_sms("second", WAIT_MS));
	put_sms(3, "+212661234568", "Default_No_Compression", "third", NULL);
	json_decref(w_take_sms("third", WAIT_MS));
	ck_assert_int_eq(w_count("sms"), 0);
}
END_TEST

START_TEST(test_sms_ucs2_arabic)
{
	const char *arabic = "مرحبا بكم في بيجن";
	json_t *m;

	json_decref(w_start_dummy("ucs2"));
	put_sms(1, "+212661234567", "Unicode_No_Compression", arabic, NULL);
	m = w_take("sms", WAIT_MS);
	ck_assert_str_eq(m_str(m, "text"), arabic);
	ck_assert_str_eq(m_str(m, "coding"), "ucs2");
	ck_assert_str_eq(m_str(m, "sender"), "+212661234567");
	json_decref(m);
}
END_TEST

START_TEST(test_sms_concatenated)
{
	json_t *a, *b, *u;

	json_decref(w_start_dummy("concat"));
	put_sms(1, "+212661234567", "Default_No_Compression", "first half, ",
	    "050003A70201");
	put_sms(2, "+212661234567", "Default_No_Compression", "second half",
	    "050003A70202");
	a = w_take_sms("first half, ", WAIT_MS);
	b = w_take_sms("second half", WAIT_MS);
	u = json_object_get(a, "udh");
	ck_assert_int_eq(m_int(u, "ref"), 0xa7);
	ck_assert_int_eq(m_int(u, "total"), 2);
	ck_assert_int_eq(m_int(u, "seq"), 1);
	u = json_object_get(b, "udh");
	ck_assert_int_eq(m_int(u, "ref"), 0xa7);
	ck_assert_int_eq(m_int(u, "total"), 2);
	ck_assert_int_eq(m_int(u, "seq"), 2);
	json_decref(a);
	json_decref(b);
}
END_TEST

START_TEST(test_sms_8bit)
{
	json_t *m;

	json_decref(w_start_dummy("8bit"));
	put_sms(1, "+212661234567", "8bit", "00FF10AB", NULL);
	m = w_take("sms", WAIT_MS);
	ck_assert_str_eq(m_str(m, "coding"), "8bit");
	ck_assert_str_eq(m_str(m, "text"), "00FF10AB");
	json_decref(m);
}
END_TEST

START_TEST(test_delete)
{
	char path[1024];
	json_t *m, *d;
	long long folder, location;

	json_decref(w_start_dummy("delete"));
	put_sms(7, "+212661234567", "Default_No_Compression", "delete me", NULL);
	m = w_take_sms("delete me", WAIT_MS);
	folder = m_int(m, "folder");
	location = m_int(m, "location");
	json_decref(m);

	w_write("{\"type\":\"delete\",\"folder\":%lld,\"location\":%lld}",
	    folder, location);
	d = w_take("deleted", WAIT_MS);
	ck_assert_int_eq(m_int(d, "folder"), folder);
	ck_assert_int_eq(m_int(d, "location"), location);
	json_decref(d);
	snprintf(path, sizeof(path), "%s/sms/1/7", w.dev);
	ck_assert_msg(access(path, F_OK) == -1, "%s still there", path);

	/* The location is free again: a new SMS there is a new SMS. */
	put_sms(7, "+212661234567", "Default_No_Compression", "new one", NULL);
	m = w_take_sms("new one", WAIT_MS);
	ck_assert_int_eq(m_int(m, "location"), location);
	json_decref(m);
	ck_assert_int_eq(w_count("sms"), 0);
}
END_TEST

START_TEST(test_send)
{
	char longtext[400];
	json_t *m, *refs;

	json_decref(w_start_dummy("send"));
	w_write("{\"type\":\"send\",\"id\":1,\"to\":\"+212661234567\","
	    "\"text\":\"hello from pigeon\"}");
	m = w_take_id("sent", 1, WAIT_MS);
	ck_assert_int_eq(m_int(m, "parts"), 1);
	refs = json_object_get(m, "refs");
	ck_assert_int_eq(json_array_size(refs), 1);
	ck_assert_int_eq(json_integer_value(json_array_get(refs, 0)), 255);
	json_decref(m);

	memset(longtext, 'x', 200);
	longtext[200] = '\0';
	w_write("{\"type\":\"send\",\"id\":2,\"to\":\"+212661234567\","
	    "\"text\":\"%s\",\"report\":true}", longtext);
	m = w_take_id("sent", 2, WAIT_MS);
	ck_assert_int_eq(m_int(m, "parts"), 2);
	refs = json_object_get(m, "refs");
	ck_assert_int_eq(json_array_size(refs), 2);
	ck_assert_int_eq(json_integer_value(json_array_get(refs, 1)), 255);
	json_decref(m);

	/* 100 Arabic letters: UCS-2, 67 to a part. */
	longtext[0] = '\0';
	for (int i = 0; i < 100; i++)
		strcat(longtext, "ب");
	w_write("{\"type\":\"send\",\"id\":3,\"to\":\"+212661234567\","
	    "\"text\":\"%s\"}", longtext);
	m = w_take_id("sent", 3, WAIT_MS);
	ck_assert_int_eq(m_int(m, "parts"), 2);
	json_decref(m);
}
END_TEST

START_TEST(test_send_refused)
{
	char *big;
	json_t *m;

	json_decref(w_start_dummy("refused"));

	w_write("{\"type\":\"send\",\"id\":11,\"to\":\"+212661234567\","
	    "\"text\":\"caf\xc3\x28 \xff\"}");
	m = w_take_id("send_failed", 11, WAIT_MS);
	ck_assert(json_is_false(json_object_get(m, "temporary")));
	ck_assert_int_eq(m_int(m, "parts_sent"), 0);
	ck_assert_msg(strstr(m_str(m, "error"), "UTF-8") != NULL, "error: %s",
	    m_str(m, "error"));
	json_decref(m);

	/* 1531 GSM-7 characters: 11 parts of 153. */
	big = malloc(3000);
	memset(big, 'a', 1531);
	big[1531] = '\0';
	w_write("{\"type\":\"send\",\"id\":12,\"to\":\"+212661234567\","
	    "\"text\":\"%s\"}", big);
	m = w_take_id("send_failed", 12, WAIT_MS);
	ck_assert(json_is_false(json_object_get(m, "temporary")));
	ck_assert_msg(strstr(m_str(m, "error"), "11 parts") != NULL,
	    "error: %s", m_str(m, "error"));
	json_decref(m);

	/* Ten parts exactly are fine. */
	big[1530] = '\0';
	w_write("{\"type\":\"send\",\"id\":13,\"to\":\"+212661234567\","
	    "\"text\":\"%s\"}", big);
	m = w_take_id("sent", 13, WAIT_MS);
	ck_assert_int_eq(m_int(m, "parts"), 10);
	json_decref(m);
	free(big);

	w_write("{\"type\":\"send\",\"id\":14,\"to\":\"call me\",\"text\":\"x\"}");
	m = w_take_id("send_failed", 14, WAIT_MS);
	ck_assert(json_is_false(json_object_get(m, "temporary")));
	json_decref(m);

	w_write("{\"type\":\"send\",\"id\":15,\"to\":\"+212661234567\","
	    "\"text\":\"nul \\u0000 inside\"}");
	m = w_take_id("send_failed", 15, WAIT_MS);
	ck_assert(json_is_false(json_object_get(m, "temporary")));
	json_decref(m);
}
END_TEST

START_TEST(test_garbage)
{
	char *huge;
	json_t *m;

	json_decref(w_start_dummy("garbage"));
	w_write("this is not json");
	w_write("[1,2,3]");
	w_write("{}");
	w_write("{\"type\":42}");
	w_write("{\"type\":\"frobnicate\",\"x\":1}");
	w_write("{\"type\":\"send\"}");
	w_write("{\"type\":\"send\",\"id\":\"seven\",\"to\":\"+1\",\"text\":\"x\"}");
	w_write("{\"type\":\"delete\",\"folder\":\"one\"}");
	w_write("{\"type\":\"delete\"}");
	w_write("{\"type\":\"config\",\"device\":\"/nonexistent\"}");
	w_write("{\"type\":\"ping\"");
	w_write("\xff\xfe{\"type\":\"ping\",\"seq\":\"\xff\"}");
	huge = malloc(300 * 1024 + 1);
	memset(huge, 'z', 300 * 1024);
	huge[300 * 1024] = '\0';
	w_write("{\"type\":\"ping\",\"seq\":\"%s\"}", huge);
	free(huge);
	/* A send with an id but missing fields still gets an answer. */
	w_write("{\"type\":\"send\",\"id\":21}");
	m = w_take_id("send_failed", 21, WAIT_MS);
	ck_assert(json_is_false(json_object_get(m, "temporary")));
	json_decref(m);
	w_barrier(99, WAIT_MS);
	ck_assert_int_eq(w_count("pong"), 0);
	ck_assert_int_eq(w_count("error"), 0);
	ck_assert_int_eq(kill(w.pid, 0), 0);
}
END_TEST

START_TEST(test_exit_on_eof)
{
	json_decref(w_start_dummy("eof"));
	w_close_expect_exit();
}
END_TEST

START_TEST(test_connect_fails)
{
	char bad[1024];
	json_t *m;
	int status;

	w_spawn("connfail");
	/* The dummy driver cannot create its directories under a file. */
	snprintf(bad, sizeof(bad), "%s/file", w.dir);
	ck_assert_int_eq(h_write_file(bad, "x"), 0);
	w_write("{\"type\":\"config\",\"name\":\"bad\",\"device\":\"%s/dev\","
	    "\"connection\":\"none\",\"model\":\"dummy\",\"poll_ms\":50}", bad);
	m = w_take("error", WAIT_MS);
	ck_assert_str_eq(m_str(m, "stage"), "connect");
	ck_assert_int_ne(m_int(m, "code"), 1);
	ck_assert_msg(strlen(m_str(m, "error")) > 0, "empty error");
	json_decref(m);
	status = w_wait_exit(WAIT_MS);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) != 0,
	    "wait status %d", status);
	ck_assert_int_eq(w_count("ready"), 0);
	log_clean(w.log);
}
END_TEST

/* ---------------------------------------------------------------- */

static int
sim_tty_exists(void *arg)
{
	char path[1024];

	(void)arg;
	snprintf(path, sizeof(path), "%s/tty", sim.dir);
	return access(path, F_OK) == 0;
}

struct sent_wait {
	int	 want;		/* lines in `pigeon-modemsim sent` */
	char	*out;
};

static int
sim_sent_lines(void *arg)
{
	struct sent_wait *sw = arg;

	free(sw->out);
	sw->out = NULL;
	if (h_run(&sw->out, "%s sent %s", h_bin("pigeon-modemsim"), sim.dir) != 0)
		return 0;
	return h_count_lines(sw->out, "\"to\"") >= sw->want;
}

/* Lines of DIR/parts.jsonl (one per PDU the simulator accepted). */
static json_t *
sim_parts(void)
{
	char path[1024], *text, *line, *save = NULL;
	json_t *arr = json_array();

	snprintf(path, sizeof(path), "%s/parts.jsonl", sim.dir);
	text = h_read_file(path);
	ck_assert_msg(text != NULL, "no %s", path);
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		json_t *o = json_loads(line, 0, NULL);
		if (o != NULL)
			json_array_append_new(arr, o);
	}
	free(text);
	return arr;
}

/* Starts pigeon-modemsim and a worker on its tty with the AT driver. */
static void
at_start(const char *name)
{
	char *argv[5], *base;
	json_t *m;

	base = h_tmpdir(name);
	ck_assert(asprintf(&sim.dir, "%s/modem", base) != -1);
	ck_assert(asprintf(&sim.log, "%s/sim.log", base) != -1);
	free(base);
	argv[0] = (char *)h_bin("pigeon-modemsim");
	argv[1] = "serve";
	argv[2] = sim.dir;
	argv[3] = "-v";
	argv[4] = NULL;
	sim.pid = h_spawn(sim.log, argv);
	atexit(reap_children);
	ck_assert_msg(h_wait_for(sim_tty_exists, NULL, WAIT_MS) == 0,
	    "simulator never made %s/tty (log: %s)", sim.dir, sim.log);

	w_spawn(name);
	w_write("{\"type\":\"config\",\"name\":\"%s\",\"device\":\"%s/tty\","
	    "\"connection\":\"at\",\"model\":\"\",\"logfile\":\"%s/gammu.log\","
	    "\"logformat\":\"textalldate\",\"poll_ms\":200}", name, sim.dir,
	    w.dir);
	m = w_take("ready", AT_WAIT_MS);
	ck_assert_msg(strlen(m_str(m, "imei")) > 0, "no IMEI");
	ck_assert_msg(strlen(m_str(m, "manufacturer")) > 0, "no manufacturer");
	json_decref(m);
}

static void
simctl(const char *fmt, ...)
{
	char *args, *out;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	ck_assert(vasprintf(&args, fmt, ap) != -1);
	va_end(ap);
	rc = h_run(&out, "%s %s 2>&1", h_bin("pigeon-modemsim"), args);
	ck_assert_msg(rc == 0, "pigeon-modemsim %s: %s", args, out);
	free(out);
	free(args);
}

START_TEST(test_at_send_joined)
{
	const char *msg1 = "Pigeon over AT: this message is long enough to need "
	    "two parts, so the modem gets two PDUs with one concatenation "
	    "reference each, and the simulator joins them back together.";
	const char *msg2 = "Second message, sent in the same second as the "
	    "first one, must not share its concatenation reference with it, "
	    "or a phone that got parts of both would mix them up together.";
	char *text;
	struct sent_wait sw = { .want = 2 };
	json_t *m, *refs, *parts, *o, *sms;
	int ref1 = -1, ref2 = -1;
	size_t i;

	at_start("atsend");

	w_write("{\"type\":\"send\",\"id\":31,\"to\":\"+212661234567\","
	    "\"text\":\"%s\"}", msg1);
	w_write("{\"type\":\"send\",\"id\":32,\"to\":\"+212661234567\","
	    "\"text\":\"%s\"}", msg2);
	m = w_take_id("sent", 31, AT_WAIT_MS);
	ck_assert_int_eq(m_int(m, "parts"), 2);
	refs = json_object_get(m, "refs");
	ck_assert_int_eq(json_array_size(refs), 2);
	ck_assert(json_integer_value(json_array_get(refs, 0)) !=
	    json_integer_value(json_array_get(refs, 1)));
	json_decref(m);
	m = w_take_id("sent", 32, AT_WAIT_MS);
	ck_assert_int_eq(m_int(m, "parts"), 2);
	json_decref(m);

	/* The simulator joined each message back from its two PDUs. */
	ck_assert_msg(h_wait_for(sim_sent_lines, &sw, WAIT_MS) == 0,
	    "simulator recorded: %s", sw.out ? sw.out : "(nothing)");
	ck_assert_msg(strstr(sw.out, msg1) != NULL, "sent: %s", sw.out);
	ck_assert_msg(strstr(sw.out, msg2) != NULL, "sent: %s", sw.out);
	ck_assert_int_eq(h_count_lines(sw.out, "\"parts\":2"), 2);
	free(sw.out);

	/* And each message had a reference of its own. */
	parts = sim_parts();
	json_array_foreach(parts, i, o) {
		json_t *udh = json_object_get(o, "udh");
		const char *t = m_str(o, "text");
		if (!json_is_object(udh) || t == NULL)
			continue;
		if (strstr(msg1, t) != NULL)
			ref1 = (int)m_int(udh, "ref");
		else if (strstr(msg2, t) != NULL)
			ref2 = (int)m_int(udh, "ref");
	}
	json_decref(parts);
	ck_assert_msg(ref1 != -1 && ref2 != -1, "refs %d %d", ref1, ref2);
	ck_assert_int_ne(ref1, ref2);

	/* An SMS the network delivers shows up as an `sms` event. */
	ck_assert_int_eq(h_run(&text, "%s deliver %s +212661000009 "
	    "'hello over AT' 2>&1", h_bin("pigeon-modemsim"), sim.dir), 0);
	free(text);
	sms = w_take_sms("hello over AT", AT_WAIT_MS);
	ck_assert_str_eq(m_str(sms, "sender"), "+212661000009");
	ck_assert_str_eq(m_str(sms, "coding"), "gsm");
	ck_assert_msg(m_str(sms, "time") != NULL &&
	    strlen(m_str(sms, "time")) == 25 && m_str(sms, "time")[10] == 'T',
	    "time %s", m_str(sms, "time"));
	json_decref(sms);
}
END_TEST

START_TEST(test_at_failures)
{
	json_t *m, *sms;
	long long ref, folder, location;
	int status;

	at_start("atfault");

	/* The network refuses: unassigned number is for good, congestion not. */
	simctl("fault %s send-error 21", sim.dir);
	w_write("{\"type\":\"send\",\"id\":41,\"to\":\"+212661234567\","
	    "\"text\":\"nobody there\"}");
	m = w_take_id("send_failed", 41, AT_WAIT_MS);
	ck_assert(json_is_false(json_object_get(m, "temporary")));
	ck_assert_int_eq(m_int(m, "cms"), 21);
	ck_assert_int_eq(m_int(m, "parts_sent"), 0);
	json_decref(m);
	simctl("fault %s send-error 42", sim.dir);
	w_write("{\"type\":\"send\",\"id\":42,\"to\":\"+212661234567\","
	    "\"text\":\"busy network\"}");
	m = w_take_id("send_failed", 42, AT_WAIT_MS);
	ck_assert(json_is_true(json_object_get(m, "temporary")));
	ck_assert_int_eq(m_int(m, "cms"), 42);
	json_decref(m);

	/* A send asking for a report; the SMSC's report comes back stored. */
	w_write("{\"type\":\"send\",\"id\":43,\"to\":\"+212661234567\","
	    "\"text\":\"tell me when it arrives\",\"report\":true}");
	m = w_take_id("sent", 43, AT_WAIT_MS);
	ck_assert_int_eq(m_int(m, "parts"), 1);
	ref = json_integer_value(json_array_get(json_object_get(m, "refs"), 0));
	json_decref(m);
	sms = w_take("sms", AT_WAIT_MS);
	ck_assert(json_is_true(json_object_get(sms, "status_report")));
	ck_assert_int_eq(m_int(sms, "ref"), ref);
	ck_assert_int_eq(m_int(sms, "delivery_status"), 0);
	ck_assert_str_eq(m_str(sms, "sender"), "+212661234567");
	folder = m_int(sms, "folder");
	location = m_int(sms, "location");
	json_decref(sms);

	/* A delete the modem refuses leaves it there; the next one works. */
	simctl("fault %s delete-error 321", sim.dir);
	w_write("{\"type\":\"delete\",\"folder\":%lld,\"location\":%lld}",
	    folder, location);
	m = w_take("delete_failed", AT_WAIT_MS);
	ck_assert_int_eq(m_int(m, "location"), location);
	ck_assert_msg(strlen(m_str(m, "error")) > 0, "empty error");
	json_decref(m);
	simctl("fault %s delete-error 0", sim.dir);
	w_write("{\"type\":\"delete\",\"folder\":%lld,\"location\":%lld}",
	    folder, location);
	json_decref(w_take("deleted", AT_WAIT_MS));
	w_barrier(7, AT_WAIT_MS);
	ck_assert_int_eq(w_count("sms"), 0);

	/* The modem is unplugged: say so, then exit for pigeond to restart. */
	simctl("fault %s unplug 1", sim.dir);
	m = w_take("error", AT_WAIT_MS);
	ck_assert_str_eq(m_str(m, "stage"), "poll");
	json_decref(m);
	m = w_take("error", AT_WAIT_MS);
	ck_assert_str_eq(m_str(m, "stage"), "fatal");
	json_decref(m);
	status = w_wait_exit(AT_WAIT_MS);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 1,
	    "wait status %d", status);
	log_clean(w.log);
}
END_TEST

static Suite *
worker_suite(void)
{
	Suite *s = suite_create("worker");
	TCase *tc = tcase_create("dummy");
	TCase *at = tcase_create("at");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_ready);
	tcase_add_test(tc, test_sms_gsm7_once);
	tcase_add_test(tc, test_sms_ucs2_arabic);
	tcase_add_test(tc, test_sms_concatenated);
	tcase_add_test(tc, test_sms_8bit);
	tcase_add_test(tc, test_delete);
	tcase_add_test(tc, test_send);
	tcase_add_test(tc, test_send_refused);
	tcase_add_test(tc, test_garbage);
	tcase_add_test(tc, test_exit_on_eof);
	tcase_add_test(tc, test_connect_fails);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(at, NULL, teardown);
	tcase_set_timeout(at, 120);
	tcase_add_test(at, test_at_send_joined);
	tcase_add_test(at, test_at_failures);
	suite_add_tcase(s, at);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(worker_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

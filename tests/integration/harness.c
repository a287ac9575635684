/* harness.c: process, file and database helpers for integration tests. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <check.h>

#include "harness.h"

static void
h_die(const char *what)
{
	fprintf(stderr, "harness: %s: %s\n", what, strerror(errno));
	abort();
}

static const char *
h_env(const char *name)
{
	const char *v = getenv(name);
	if (v == NULL || *v == '\0') {
		fprintf(stderr, "harness: %s is not set (run the tests with make test)\n", name);
		abort();
	}
	return v;
}

long
h_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

void
h_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Every process a test started dies with the test, even when it fails. */
static pid_t spawned[64];
static int nspawned;
static long spawn_nofile;

void
h_spawn_nofile(long n)
{
	spawn_nofile = n;
}

static void
h_kill_spawned(void)
{
	for (int i = 0; i < nspawned; i++) {
		if (spawned[i] > 0 && kill(spawned[i], SIGKILL) == 0)
			waitpid(spawned[i], NULL, 0);
	}
	nspawned = 0;
}

pid_t
h_spawn(const char *logpath, char *const argv[])
{
	static int registered;
	if (!registered++)
		atexit(h_kill_spawned);
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == -1)
		h_die("fork");
	if (pid == 0) {
		/* What a test starts dies with it, also when a failed check in
		 * a fixture aborts it before its atexit handler runs: a stale
		 * pigeond would keep its modems' locks for the next run. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(0);
		int fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd != -1) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		setpgid(0, 0);
		if (spawn_nofile > 0) {
			struct rlimit rl = { (rlim_t)spawn_nofile, (rlim_t)spawn_nofile };
			if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
				_exit(126);
		}
		execv(argv[0], argv);
		fprintf(stderr, "harness: exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	if (nspawned < (int)(sizeof(spawned) / sizeof(spawned[0])))
		spawned[nspawned++] = pid;
	return pid;
}

int
h_wait_exit(pid_t pid, int timeout_ms, int *status)
{
	long deadline = h_now_ms() + timeout_ms;

	*status = 0;
	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);
		if (r == pid)
			return 0;
		if (r == -1 || h_now_ms() > deadline)
			return -1;
		h_sleep_ms(10);
	}
}

int
h_stop(pid_t pid, int sig, int timeout_ms)
{
	int status = 0;
	long deadline = h_now_ms() + timeout_ms;

	if (pid <= 0)
		return -1;
	kill(pid, sig);
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return status;
		if (r == -1)
			return -1;
		if (h_now_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return status;
		}
		h_sleep_ms(10);
	}
}

int
h_run(char **out, const char *fmt, ...)
{
	char *cmd;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&cmd, fmt, ap) == -1)
		h_die("vasprintf");
	va_end(ap);

	FILE *p = popen(cmd, "r");
	if (p == NULL)
		h_die("popen");
	size_t len = 0, cap = 1024;
	char *buf = malloc(cap);
	size_t n;
	while ((n = fread(buf + len, 1, cap - len - 1, p)) > 0) {
		len += n;
		if (cap - len < 512)
			buf = realloc(buf, cap *= 2);
	}
	buf[len] = '\0';
	int status = pclose(p);
	free(cmd);
	if (out != NULL)
		*out = buf;
	else
		free(buf);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

int
h_wait_for(int (*cond)(void *), void *arg, int timeout_ms)
{
	long deadline = h_now_ms() + timeout_ms;
	for (;;) {
		if (cond(arg))
			return 0;
		if (h_now_ms() > deadline)
			return -1;
		h_sleep_ms(20);
	}
}

const char *
h_bin(const char *name)
{
	static char bufs[8][512];
	static int next;
	char *b = bufs[next++ % 8];
	snprintf(b, sizeof(bufs[0]), "%s/%s", h_env("PIGEON_TEST_BIN"), name);
	return b;
}

char *
h_tmpdir(const char *name)
{
	char *path;
	if (asprintf(&path, "%s/%s.XXXXXX", h_env("PIGEON_TEST_TMP"), name) == -1)
		h_die("asprintf");
	if (mkdtemp(path) == NULL)
		h_die("mkdtemp");
	chmod(path, 0755);
	return path;
}

char *
h_read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return NULL;
	size_t len = 0, cap = 4096, n;
	char *buf = malloc(cap);
	while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
		len += n;
		if (cap - len < 1024)
			buf = realloc(buf, cap *= 2);
	}
	buf[len] = '\0';
	fclose(f);
	return buf;
}

int
h_open_fds(pid_t pid)
{
	char path[64];
	int n = 0;
	struct dirent *e;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

int
h_write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (f == NULL)
		return -1;
	fputs(text, f);
	return fclose(f);
}

char *
h_secret_file(const char *dir, const char *name, const char *text)
{
	char *d = h_tmpdir(dir), *path = h_strf("%s/%s", d, name);

	free(d);
	if (h_write_file(path, text) == -1 || chmod(path, 0600) == -1)
		h_fatal("cannot write %s", path);
	return path;
}

int
h_api_time(const char *s)
{
	return s && strlen(s) == 29 && s[10] == 'T' && s[19] == '.' &&
	    strspn(s + 20, "0123456789") == 3 && strcmp(s + 23, "+00:00") == 0;
}

int
h_count_lines(const char *text, const char *needle)
{
	int count = 0;
	const char *line = text;
	while (line != NULL && *line != '\0') {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		char *copy = strndup(line, len);
		if (strstr(copy, needle) != NULL)
			count++;
		free(copy);
		line = end ? end + 1 : NULL;
	}
	return count;
}

PGconn *
h_db_connect(const char *conninfo)
{
	PGconn *c = PQconnectdb(conninfo);
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "harness: connect %s: %s", conninfo, PQerrorMessage(c));
		abort();
	}
	return c;
}

/*
 * tests/run may run one case of a program (CK_RUN_CASE) beside another case
 * of the same program: each gets a database of its own, name_case.
 */
static char *
db_name(const char *name)
{
	const char *c = getenv("CK_RUN_CASE");
	char *n;

	if (asprintf(&n, "%s%s%s", name, c && *c ? "_" : "", c ? c : "") == -1)
		h_die("asprintf");
	for (char *p = n; *p != '\0'; p++)
		if (!(*p >= 'a' && *p <= 'z') && !(*p >= '0' && *p <= '9'))
			*p = '_';
	return n;
}

char *
h_db_create(const char *name_)
{
	char *admin, *conninfo, *sql, *name = db_name(name_);
	const char *base = h_env("PIGEON_TEST_PG");

	if (asprintf(&admin, "%s dbname=postgres", base) == -1 ||
	    asprintf(&conninfo, "%s dbname=%s", base, name) == -1 ||
	    asprintf(&sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", name) == -1)
		h_die("asprintf");
	PGconn *c = h_db_connect(admin);
	PQclear(PQexec(c, sql));
	free(sql);
	if (asprintf(&sql, "CREATE DATABASE %s", name) == -1)
		h_die("asprintf");
	PGresult *r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		fprintf(stderr, "harness: %s: %s", sql, PQerrorMessage(c));
		abort();
	}
	PQclear(r);
	PQfinish(c);
	free(sql);
	free(admin);
	free(name);
	return conninfo;
}

char *
h_db_value(PGconn *c, const char *sql, int nparams, const char *const *params)
{
	PGresult *r = PQexecParams(c, sql, nparams, NULL, params, NULL, NULL, 0);
	char *v = NULL;
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 &&
	    !PQgetisnull(r, 0, 0))
		v = strdup(PQgetvalue(r, 0, 0));
	else if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		fprintf(stderr, "harness: %s: %s", sql, PQerrorMessage(c));
		h_db_revive(c);
	}
	PQclear(r);
	return v;
}

void
h_db_revive(PGconn *c)
{
	if (PQstatus(c) == CONNECTION_BAD)
		PQreset(c);
}

void
h_db_exec(PGconn *c, const char *sql)
{
	PGresult *res = PQexec(c, sql);
	ExecStatusType st = PQresultStatus(res);

	ck_assert_msg(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK, "%s: %s",
	    sql, PQerrorMessage(c));
	PQclear(res);
}

long
h_db_long(PGconn *c, const char *sql, int nparams, const char *const *params)
{
	char *v = h_db_value(c, sql, nparams, params);
	long n = v ? strtol(v, NULL, 10) : -1;
	free(v);
	return n;
}

int
h_exec(char **out, char *const argv[])
{
	int pfd[2];
	if (pipe(pfd) == -1)
		h_die("pipe");
	pid_t pid = fork();
	if (pid == -1)
		h_die("fork");
	if (pid == 0) {
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		close(pfd[0]);
		close(pfd[1]);
		execv(argv[0], argv);
		fprintf(stderr, "harness: exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(pfd[1]);
	size_t len = 0, cap = 1024;
	char *buf = malloc(cap);
	ssize_t n;
	while ((n = read(pfd[0], buf + len, cap - len - 1)) > 0 ||
	    (n == -1 && errno == EINTR)) {
		if (n > 0)
			len += n;
		if (cap - len < 512)
			buf = realloc(buf, cap *= 2);
	}
	buf[len] = '\0';
	close(pfd[0]);
	int status;
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	if (out != NULL)
		*out = buf;
	else
		free(buf);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* The ports of h_port_owner, newest first over the oldest when full. */
static struct {
	int	 port;
	pid_t	 pid;
} owners[32];
static int nowners;

void
h_port_owner(int port, pid_t pid)
{
	int i;

	for (i = 0; i < nowners && owners[i].port != port; i++)
		;
	if (i == nowners) {
		int cap = (int)(sizeof(owners) / sizeof(owners[0]));
		i = nowners < cap ? nowners++ : port % cap;
	}
	owners[i].port = port;
	owners[i].pid = pid;
}

/*
 * Whether port may be asked: one the harness did not register is the
 * test's own; a registered one is its process's while that lives (it
 * holds the listening socket; nobody else can bind the port). waitid
 * with WNOWAIT leaves the exit status to h_stop; a child already reaped
 * is not ours any more either (ECHILD).
 */
static int
port_owned(int port)
{
	for (int i = 0; i < nowners; i++) {
		siginfo_t si = { 0 };

		if (owners[i].port != port)
			continue;
		if (waitid(P_PID, owners[i].pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
		    si.si_pid == 0)
			return 1;
		fprintf(stderr, "harness: 127.0.0.1:%d: its server (pid %d) has exited: "
		    "not asking what may be another test's\n", port, (int)owners[i].pid);
		return 0;
	}
	return 1;
}

int
h_http_get(int port, const char *path, char **body)
{
	struct sockaddr_in sa = { 0 };
	char req[512];
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int code = -1;

	if (body)
		*body = NULL;
	sa.sin_family = AF_INET;
	sa.sin_port = htons(port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd == -1 || !port_owned(port) ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		if (fd != -1)
			close(fd);
		return -1;
	}
	snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n", path);
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
		close(fd);
		return -1;
	}
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);
	ssize_t n;
	while ((n = read(fd, buf + len, cap - len - 1)) > 0) {
		len += n;
		if (cap - len < 1024)
			buf = realloc(buf, cap *= 2);
	}
	buf[len] = '\0';
	close(fd);
	int owned = port_owned(port);
	if (!owned || sscanf(buf, "HTTP/1.%*d %d", &code) != 1)
		code = -1;
	char *start = owned ? strstr(buf, "\r\n\r\n") : NULL;
	if (body)
		*body = strdup(start ? start + 4 : "");
	free(buf);
	return code;
}

struct contains_arg {
	const char *path;
	const char *needle;
};

static int
file_contains(void *p)
{
	struct contains_arg *a = p;
	char *data = h_read_file(a->path);
	int found = data && strstr(data, a->needle) != NULL;
	free(data);
	return found;
}

char *
h_strf(const char *fmt, ...)
{
	char *s;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) == -1)
		h_fatal("out of memory");
	va_end(ap);
	return s;
}

char *
h_screenshot_path(const char *scratch, const char *name)
{
	const char *kept = getenv("PIGEON_TEST_SCREENSHOTS");
	char *path = NULL;

	if (asprintf(&path, "%s/%s", kept != NULL && *kept != '\0' ? kept : scratch,
	    name) == -1)
		h_fatal("out of memory");
	return path;
}

int
h_wait_file_contains(const char *path, const char *needle, int timeout_ms)
{
	struct contains_arg a = { path, needle };
	return h_wait_for(file_contains, &a, timeout_ms);
}

/*
 * A failure found after a test, in a teardown: Check does not count a
 * failed assertion in an unchecked fixture's teardown (a leak report in
 * pigeond's log went unnoticed), so the test program exits non-zero,
 * which tests/run counts as a failure. exit, not abort: the atexit
 * handler stops the processes the test started.
 */
void
h_fatal(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "harness: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(3);
}

/* Fails the test (what) if the log at path holds one of marks, shown from
 * the start of its line. */
static void
assert_log_lacks(const char *path, const char *const *marks, const char *what)
{
	char *data = h_read_file(path);

	for (int i = 0; data != NULL && marks[i] != NULL; i++) {
		char *at = strstr(data, marks[i]);
		if (at == NULL)
			continue;
		while (at > data && at[-1] != '\n')
			at--;
		fprintf(stderr, "harness: %s in %s:\n%.2000s\n", what, path, at);
		free(data);
		h_fatal("%s in %s", what, path);
	}
	free(data);
}

void
h_assert_no_sanitizer_report(const char *path)
{
	static const char *const marks[] = {
		"ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:", NULL
	};

	assert_log_lacks(path, marks, "sanitizer report");
}

/*
 * pigeond's log holds no drain that ran out of time: a SIGTERM whose
 * drain waited its 30 s for something that never came ("still busy
 * after 30 s; exiting anyway") exits 0 all the same, and passed.
 */
void
h_assert_drained(const char *path)
{
	static const char *const marks[] = { "still busy after", NULL };

	assert_log_lacks(path, marks, "pigeond's drain timed out");
}

size_t
h_http_read_request(int c, char *buf, size_t cap)
{
	size_t len = 0;

	for (;;) {
		ssize_t n = read(c, buf + len, cap - len - 1);
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
		char *end = strstr(buf, "\r\n\r\n");
		char *cl = strcasestr(buf, "content-length:");
		if (end && cl && strlen(end + 4) >= (size_t)atoi(cl + 15))
			break;
	}
	buf[len] = '\0';
	return len;
}

int
h_http(int port, const char *method, const char *path, const char *token,
    const char *body, char **resp)
{
	struct sockaddr_in sa = { 0 };
	struct timeval tv = { 20, 0 };
	char *req = NULL;
	int fd = socket(AF_INET, SOCK_STREAM, 0), code = -1, n;

	if (resp)
		*resp = NULL;
	sa.sin_family = AF_INET;
	sa.sin_port = htons(port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd == -1)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (!port_owned(port) || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		close(fd);
		return -1;
	}
	n = asprintf(&req, "%s %s HTTP/1.0\r\nHost: 127.0.0.1:%d\r\n%s%s%s"
	    "Content-Length: %zu\r\n\r\n", method, path, port,
	    token ? "Authorization: Bearer " : "", token ? token : "", token ? "\r\n" : "",
	    body ? strlen(body) : 0);
	if (n < 0 || write(fd, req, (size_t)n) != n ||
	    (body && write(fd, body, strlen(body)) != (ssize_t)strlen(body))) {
		/* A server that refuses a large body may close early: read its answer. */
		if (!body)
			goto out;
	}
	size_t len = 0, cap = 8192;
	char *buf = malloc(cap);
	ssize_t r;
	while ((r = read(fd, buf + len, cap - len - 1)) > 0) {
		len += (size_t)r;
		if (cap - len < 1024)
			buf = realloc(buf, cap *= 2);
	}
	buf[len] = '\0';
	int owned = port_owned(port);
	if (!owned || sscanf(buf, "HTTP/1.%*d %d", &code) != 1)
		code = -1;
	char *start = owned ? strstr(buf, "\r\n\r\n") : NULL;
	if (resp)
		*resp = strdup(start ? start + 4 : "");
	free(buf);
out:
	free(req);
	close(fd);
	return code;
}

/*
 * The cluster's directory is PIGEON_TEST_PGDIR (tests/run runs the tests
 * that stop it on a cluster of their own), or by default next to
 * PIGEON_TEST_TMP ($var/test-pg).
 */
static int
pg_cmd(const char *what)
{
	const char *tmp = getenv("PIGEON_TEST_TMP"), *pgdir = getenv("PIGEON_TEST_PGDIR");
	char *out = NULL, dir[4096];
	int rc;

	if (pgdir != NULL && *pgdir != '\0')
		snprintf(dir, sizeof(dir), "%s", pgdir);
	else {
		if (tmp == NULL)
			return -1;
		snprintf(dir, sizeof(dir), "%s", tmp);
		char *slash = strrchr(dir, '/');
		if (slash == NULL)
			return -1;
		snprintf(slash, sizeof(dir) - (size_t)(slash - dir), "/test-pg");
	}
	rc = h_run(&out, "scripts/pg %s '%s' 2>&1", what, dir);
	if (rc != 0)
		fprintf(stderr, "harness: scripts/pg %s failed: %s\n", what, out ? out : "");
	free(out);
	return rc;
}

int
h_pg_stop(void)
{
	return pg_cmd("stop");
}

int
h_pg_start(void)
{
	return pg_cmd("start");
}

int
h_main(Suite *s)
{
	SRunner *sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

Suite *
h_suite_cases(const char *name, const struct h_case *cases, size_t n,
    void (*setup)(void), void (*teardown)(void), int timeout_s)
{
	Suite *s = suite_create(name);

	for (size_t i = 0; i < n; i++) {
		TCase *tc = tcase_create(cases[i].name);
		tcase_add_checked_fixture(tc, setup, teardown);
		tcase_set_timeout(tc, timeout_s);
		tcase_add_test(tc, cases[i].test);
		suite_add_tcase(s, tc);
	}
	return s;
}

/* Issue 7 (test_rel_*.c): stops the run's PostgreSQL with pg_ctl -m mode
 * ("fast" or "immediate", a crash). */
int
h_pg_stop_mode(const char *mode)
{
	setenv("PIGEON_PG_STOP_MODE", mode, 1);
	int rc = pg_cmd("stop");
	unsetenv("PIGEON_PG_STOP_MODE");
	return rc;
}

pid_t
h_spawn_channel(const char *logpath, char *const argv[], int *fd)
{
	static int registered;
	int sv[2];
	pid_t pid;

	if (!registered++)
		atexit(h_kill_spawned);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		h_die("socketpair");
	pid_t parent = getpid();
	if ((pid = fork()) == -1)
		h_die("fork");
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);	/* as h_spawn */
		if (getppid() != parent)
			_exit(0);
		int log = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (log != -1) {
			dup2(log, 1);
			dup2(log, 2);
			close(log);
		}
		setpgid(0, 0);
		/* dup2 clears close-on-exec; fd 3 itself needs it cleared. */
		if (sv[1] == 3 ? fcntl(3, F_SETFD, 0) == -1 : dup2(sv[1], 3) == -1)
			_exit(126);
		execv(argv[0], argv);
		fprintf(stderr, "harness: exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(sv[1]);
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	*fd = sv[0];
	if (nspawned < (int)(sizeof(spawned) / sizeof(spawned[0])))
		spawned[nspawned++] = pid;
	return pid;
}

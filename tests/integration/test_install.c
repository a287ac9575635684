/*
 * Issue 15: `make install PREFIX=/usr DESTDIR=...` gives a pigeond that
 * finds its worker through the installed paths only (PREFIX/libexec/pigeon
 * beside PREFIX/sbin, whatever PREFIX the build had), a sample
 * configuration that `pigeond -n` accepts and a second install keeps, the
 * guides the man pages name, and no simulator. Then that installed
 * pigeond, started from DESTDIR, answers a JOIN through a simulated modem.
 *
 * Issue 14.12 on the same gateway: the public /healthz shows states and
 * the version, never the reason of a state (which names devices, hosts,
 * pids); pigeonctl takes its token from a file or the environment.
 *
 * SYSCONFDIR is where the programs look for pigeon.conf by default, not
 * only where make install puts it.
 */
#include <ctype.h>
#include <dirent.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <check.h>

#include "harness.h"

#define TOKEN	"install-token-0123456789abcdef0123456789"

static char *dest;	/* DESTDIR */

struct health_arg {
	int	 port;
	char	*body;
};

/* The broken modem has been tried and is offline. */
static int
broken_offline(void *p)
{
	struct health_arg *a = p;
	free(a->body);
	a->body = NULL;
	h_http_get(a->port, "/healthz", &a->body);
	return a->body && strstr(a->body, "{\"name\":\"broken\",\"state\":\"offline\",");
}

static char *
path_in(const char *rel)
{
	char *p;
	if (asprintf(&p, "%s%s", dest, rel) == -1)
		abort();
	return p;
}

static int
installed(const char *rel)
{
	char *p = path_in(rel);
	struct stat st;
	int ok = stat(p, &st) == 0;
	free(p);
	return ok;
}

#define DOCDIR	"/usr/share/doc/pigeon/"

/*
 * The guides an installed page names are installed beside it, in DOCDIR:
 * each "NAME.md" (docs/api.md in a man page, [api.md](api.md) in
 * operator.md) and, when links is set, each relative link's target
 * (reliability.md's ![..](soak-5min.svg)).
 */
static void
named_docs_installed(const char *rel, int names, int links)
{
	char *p = path_in(rel), *text = h_read_file(p);

	ck_assert_msg(text != NULL, "%s not installed", rel);
	for (const char *q = text; names && (q = strstr(q, ".md")) != NULL; q += 3) {
		const char *b = q;
		while (b > text && (isalnum((unsigned char)b[-1]) || b[-1] == '-' ||
		    b[-1] == '_'))
			b--;
		char *doc = h_strf(DOCDIR "%.*s", (int)(q + 3 - b), b);
		ck_assert_msg(b < q && installed(doc), "%s names %s, not installed", rel, doc);
		free(doc);
	}
	for (const char *q = text; links && (q = strstr(q, "](")) != NULL; q += 2) {
		size_t n = strcspn(q + 2, ")#");
		if (n == 0 || memchr(q + 2, ':', n) != NULL)
			continue;	/* an anchor here, or a URL */
		char *doc = h_strf(DOCDIR "%.*s", (int)n, q + 2);
		ck_assert_msg(installed(doc), "%s links to %s, not installed", rel, doc);
		free(doc);
	}
	free(text);
	free(p);
}

/* The build under test (PIGEON_TEST_BIN), installed as a packager would. */
static void
install(void)
{
	char *out = NULL;
	const char *bin = getenv("PIGEON_TEST_BIN");
	size_t n = strlen(bin);
	/* SAN=1 for the sanitizer build, so that nothing is rebuilt without it. */
	int san = n >= 4 && strcmp(bin + n - 4, "/san") == 0;
	int rc = h_run(&out, "make -s install %s PREFIX=/usr DESTDIR='%s' B='%s' 2>&1",
	    san ? "SAN=1" : "", dest, bin);
	ck_assert_msg(rc == 0, "make install: %s", out);
	free(out);
}

/* The executable of pigeond's first child: its modem worker. */
static int
worker_exe(pid_t parent, char *exe, size_t len)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int found = 0;

	while (!found && d && (e = readdir(d)) != NULL) {
		char path[64], buf[512];
		int pid, ppid;
		FILE *f;
		if (sscanf(e->d_name, "%d", &pid) != 1)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		if (fgets(buf, sizeof(buf), f) != NULL) {
			char *close = strrchr(buf, ')');
			if (close && sscanf(close + 2, "%*c %d", &ppid) == 1 && ppid == parent) {
				snprintf(path, sizeof(path), "/proc/%d/exe", pid);
				ssize_t n = readlink(path, exe, len - 1);
				if (n > 0) {
					exe[n] = '\0';
					found = 1;
				}
			}
		}
		fclose(f);
	}
	if (d)
		closedir(d);
	return found;
}

START_TEST(test_installed_pigeond_answers)
{
	char *out = NULL, *bindir, *link, *conf;
	char exe[PATH_MAX];
	struct h_gateway g;

	dest = h_tmpdir("install-dest");
	install();
	ck_assert(installed("/usr/sbin/pigeond"));
	ck_assert(installed("/usr/bin/pigeonctl"));
	ck_assert(installed("/usr/libexec/pigeon/pigeon-modem"));
	ck_assert(installed("/usr/lib/systemd/system/pigeond.service"));
	ck_assert(installed("/usr/lib/sysusers.d/pigeon.conf"));
	ck_assert(installed("/usr/lib/tmpfiles.d/pigeon.conf"));
	ck_assert(installed(DOCDIR "LICENSE"));
	/* The guides they name: docs/api.md, carrier.md, scaling.md... (only
	 * README, deploy.md and operator.md were installed). */
	named_docs_installed("/usr/share/man/man8/pigeond.8", 1, 0);
	named_docs_installed("/usr/share/man/man5/pigeon.conf.5", 1, 0);
	named_docs_installed("/usr/share/man/man1/pigeonctl.1", 1, 0);
	named_docs_installed(DOCDIR "README.md", 1, 1);
	named_docs_installed(DOCDIR "operator.md", 1, 1);
	named_docs_installed(DOCDIR "deploy.md", 1, 1);
	named_docs_installed(DOCDIR "reliability.md", 1, 1);
	ck_assert(!installed("/usr/bin/pigeon-modemsim"));

	/* The sample configuration passes the check as installed ... */
	conf = path_in("/etc/pigeon/pigeon.conf");
	ck_assert_int_eq(h_run(&out, "'%s/usr/sbin/pigeond' -n -c '%s' 2>&1", dest, conf), 0);
	ck_assert_str_eq(out, "configuration OK\n");
	free(out);
	ck_assert_int_eq(h_run(&out, "'%s/usr/sbin/pigeond' --version", dest), 0);
	/* The schema and functions it brings: which of two builds is newer. */
	ck_assert_msg(strstr(out, "pigeond ") && strstr(out, " (schema ") &&
	    strstr(out, ", functions release "), "%s", out);
	free(out);
	/* Every program answers --version (pigeon-smpp printed its usage). */
	static const char *const workers[] = { "pigeon-modem", "pigeon-smpp" };
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(h_run(&out, "'%s/usr/libexec/pigeon/%s' --version", dest,
		    workers[i]), 0);
		ck_assert_ptr_nonnull(strstr(out, workers[i]));
		free(out);
	}
	/* ... and a second install keeps the operator's edits. */
	FILE *f = fopen(conf, "a");
	fprintf(f, "# edited by the operator\n");
	fclose(f);
	install();
	char *text = h_read_file(conf);
	ck_assert_ptr_nonnull(strstr(text, "# edited by the operator"));
	free(text);
	free(conf);

	/* The harness runs "pigeond" from PIGEON_TEST_BIN: a directory whose
	 * pigeond is a link to the installed one (/proc/self/exe resolves it,
	 * so the worker is looked for under DESTDIR only). */
	bindir = h_tmpdir("install-bin");
	ck_assert_int_ne(asprintf(&link, "%s/pigeond", bindir), -1);
	char *target = path_in("/usr/sbin/pigeond");
	ck_assert_int_eq(symlink(target, link), 0);
	free(target);
	free(link);
	ck_assert_int_ne(asprintf(&link, "%s/pigeon-modemsim", bindir), -1);
	ck_assert_int_eq(symlink(h_bin("pigeon-modemsim"), link), 0);
	free(link);
	setenv("PIGEON_TEST_BIN", bindir, 1);

	/* A token file beside the configuration, and a modem that cannot open. */
	char *tokfile = NULL, *nodev = NULL, http_extra[600], extra[600];
	ck_assert_int_ne(asprintf(&tokfile, "%s/token", bindir), -1);
	ck_assert_int_eq(h_write_file(tokfile, TOKEN "\n"), 0);
	chmod(tokfile, 0600);
	snprintf(http_extra, sizeof(http_extra), "token_file = %s\n", tokfile);
	ck_assert_int_ne(asprintf(&nodev, "%s/no-such-tty", bindir), -1);
	snprintf(extra, sizeof(extra), "\n[modem broken]\ndevice = %s\n", nodev);
	memset(&g, 0, sizeof(g));
	g.http_extra = http_extra;
	g.extra_config = extra;
	h_gateway_start(&g, "install", 1);
	ck_assert_int_eq(h_text(&g, 0, "+212661000001", "JOIN alice"), 0);
	ck_assert_int_eq(h_wait_received(&g, "+212661000001", "@alice", 30000), 0);

	ck_assert(worker_exe(g.pigeond, exe, sizeof(exe)));
	char *want = path_in("/usr/libexec/pigeon/pigeon-modem");
	ck_assert_str_eq(exe, want);
	free(want);

	struct health_arg ha = { g.http_port, NULL };
	ck_assert_int_eq(h_wait_for(broken_offline, &ha, 30000), 0);
	ck_assert_ptr_nonnull(strstr(ha.body, "\"version\":\""));
	ck_assert_msg(strstr(ha.body, "reason") == NULL && strstr(ha.body, "connect:") == NULL &&
	    strstr(ha.body, "\"host\"") == NULL, "%s", ha.body);
	free(ha.body);
	/* The reason is for the operator, with the token from a file ... */
	char *cmd_out = NULL;
	ck_assert_int_eq(h_run(&cmd_out, "'%s/usr/bin/pigeonctl' -a 127.0.0.1:%d -T '%s' "
	    "--json modems 2>&1", dest, g.http_port, tokfile), 0);
	ck_assert_msg(strstr(cmd_out, "connect: Error opening device") != NULL, "%s", cmd_out);
	free(cmd_out);
	/* ... or the environment; a wrong one is refused. */
	ck_assert_int_eq(h_run(&cmd_out, "PIGEON_TOKEN_FILE='%s' '%s/usr/bin/pigeonctl' "
	    "-a 127.0.0.1:%d modems 2>&1", tokfile, dest, g.http_port), 0);
	free(cmd_out);
	ck_assert_int_eq(h_run(&cmd_out, "PIGEON_TOKEN=wrong '%s/usr/bin/pigeonctl' "
	    "-a 127.0.0.1:%d modems 2>&1", dest, g.http_port), 3);
	free(cmd_out);
	free(tokfile);
	free(nodev);
	h_gateway_stop(&g);
	free(bindir);
	free(dest);
}
END_TEST

/*
 * `make SYSCONFDIR=DIR` gives a pigeonctl that reads DIR/pigeon/pigeon.conf
 * when no -c is given. The programs looked in /etc/pigeon whatever
 * SYSCONFDIR said, though make install put pigeon.conf, the unit's -c and
 * the tmpfiles entry under SYSCONFDIR. Built here, apart from the build
 * under test, as the build under test was (SAN=1 or not). A default file
 * there that pigeonctl refuses is an error; a missing one is not.
 */
START_TEST(test_sysconfdir)
{
	char *dir = h_tmpdir("sysconfdir"), *out = NULL;
	const char *bin = getenv("PIGEON_TEST_BIN");
	size_t n = strlen(bin);
	int san = n >= 4 && strcmp(bin + n - 4, "/san") == 0;
	char *ctl = h_strf("%s/build%s/pigeonctl", dir, san ? "/san" : "");

	int rc = h_run(&out, "make -s -j2 %s BUILD='%s/build' SYSCONFDIR='%s/etc' '%s' 2>&1",
	    san ? "SAN=1" : "", dir, dir, ctl);
	ck_assert_msg(rc == 0, "make: %s", out);
	free(out);
	char *etc = h_strf("%s/etc/pigeon", dir);
	ck_assert_int_eq(h_run(&out, "mkdir -p '%s'", etc), 0);
	free(out);
	char *conf = h_strf("%s/pigeon.conf", etc);
	/* Its [http] listen is where pigeonctl goes: port 1, where nothing
	 * listens (without the file, 127.0.0.1:8025). */
	ck_assert_int_eq(h_write_file(conf, "[database]\nconninfo = dbname=pigeon\n\n"
	    "[http]\nlisten = 127.0.0.1:1\ntoken = " TOKEN "\n"), 0);
	ck_assert_int_eq(h_run(&out, "'%s' health 2>&1", ctl), 4);
	ck_assert_msg(strstr(out, "cannot reach pigeond at 127.0.0.1:1:") != NULL, "%s", out);
	free(out);

	/* A default file pigeonctl refuses is an error, exit 2, naming it; it
	 * was passed over (to 127.0.0.1:8025, without a token). -a and -t
	 * change nothing to that. */
	ck_assert_int_eq(h_write_file(conf, "[database]\nconninfo = dbname=pigeon\n\n"
	    "[http]\nlisten = 127.0.0.1:1\ntokn = " TOKEN "\n"), 0);
	ck_assert_int_eq(h_run(&out, "'%s' health 2>&1", ctl), 2);
	ck_assert_msg(strstr(out, conf) != NULL && strstr(out, "tokn") != NULL, "%s", out);
	free(out);
	ck_assert_int_eq(h_run(&out, "'%s' -a 127.0.0.1:1 -t x health 2>&1", ctl), 2);
	free(out);
	/* None is no error: the address and token come from elsewhere. */
	unlink(conf);
	ck_assert_int_eq(h_run(&out, "'%s' -a 127.0.0.1:1 -t x health 2>&1", ctl), 4);
	ck_assert_msg(strstr(out, "cannot reach pigeond at 127.0.0.1:1:") != NULL, "%s", out);
	free(out);
	free(conf);
	free(etc);
	free(ctl);
	free(dir);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("install");
	TCase *tc = tcase_create("install");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_installed_pigeond_answers);
	suite_add_tcase(s, tc);
	tc = tcase_create("sysconfdir");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_sysconfdir);
	suite_add_tcase(s, tc);
	return h_main(s);
}

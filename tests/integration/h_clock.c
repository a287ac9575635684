/*
 * h_clock.c: a PostgreSQL cluster of a test's own whose clock the test
 * moves. The server runs under libfaketime, which reads the offset from
 * the real clock ("+0", "+2h", "-1d", "+86400") from a file at each call:
 * the tests of the digest's hour and of clock steps (test_digest,
 * test_rel_clock) set the database's time while pigeond's runs on.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "harness.h"

/*
 * libfaketime keeps a semaphore and a shared memory segment in /dev/shm
 * named by its process's pid, and leaves them when the process execs or
 * is killed (the shell and pg_ctl under scripts/pg start do both). A
 * later process of another user given the same pid (pid_max is often
 * 32768) cannot open them, and libfaketime aborts it: "sem_open failed
 * ... Permission denied" (a CI run lost test_digest so). Those of pids
 * that no longer run are removed first.
 */
static void
faketime_sweep(void)
{
	DIR *d = opendir("/dev/shm");
	struct dirent *e;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		const char *n = e->d_name, *num = NULL;
		char path[300], *end;

		if (strncmp(n, "sem.faketime_sem_", 17) == 0)
			num = n + 17;
		else if (strncmp(n, "faketime_shm_", 13) == 0)
			num = n + 13;
		if (num == NULL)
			continue;
		long pid = strtol(num, &end, 10);
		if (*end != '\0' || pid <= 0 || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		snprintf(path, sizeof(path), "/dev/shm/%s", n);
		unlink(path);
	}
	closedir(d);
}

char *
h_clock_cluster_start(struct h_clock *c, const char *name, long at)
{
	char *out = NULL, *dir;
	int rc;

	ck_assert_msg(access(H_FAKETIME_LIB, R_OK) == 0, "libfaketime missing: run scripts/deps");
	faketime_sweep();
	/* Read by the postgres user: outside the test's tree. */
	c->clock_file = h_strf("/tmp/pigeon-%s-clock-%d", name, (int)getpid());
	if (at != 0)
		h_clock_at(c, at);
	else
		h_clock_set(c, "+0");
	chmod(c->clock_file, 0644);
	dir = h_strf("%s-pg", name);
	c->pg_dir = h_tmpdir(dir);
	free(dir);
	rmdir(c->pg_dir);
	rc = h_run(&out, "LD_PRELOAD=%s FAKETIME_TIMESTAMP_FILE=%s FAKETIME_NO_CACHE=1 "
	    "FAKETIME_DONT_FAKE_MONOTONIC=1 scripts/pg start '%s' 2>&1", H_FAKETIME_LIB,
	    c->clock_file, c->pg_dir);
	ck_assert_msg(rc == 0, "scripts/pg start: %s", out ? out : "");
	out[strcspn(out, "\n")] = '\0';
	return out;
}

/* The clock set last, destroyed at exit if its test ends without its
 * teardown (a failed assertion in a fixture, h_fatal). */
static struct h_clock *clock_left;

static void
clock_at_exit(void)
{
	if (clock_left != NULL)
		h_clock_cluster_destroy(clock_left);
}

void
h_clock_set(struct h_clock *c, const char *offset)
{
	char *tmp = h_strf("%s.new", c->clock_file);

	if (clock_left == NULL)
		atexit(clock_at_exit);
	clock_left = c;

	/* Whole or not at all: libfaketime may read it at any moment. */
	ck_assert_int_eq(h_write_file(tmp, offset), 0);
	ck_assert_int_eq(rename(tmp, c->clock_file), 0);
	free(tmp);
}

void
h_clock_at(struct h_clock *c, long target)
{
	char off[32];

	snprintf(off, sizeof(off), "%+ld", target - (long)time(NULL));
	h_clock_set(c, off);
}

void
h_clock_cluster_destroy(struct h_clock *c)
{
	char *out = NULL;

	if (c->pg_dir != NULL) {
		/* Its log outlives it, beside the test's other logs. */
		h_run(NULL, "cp '%s/server.log' '%s.server.log' 2>/dev/null", c->pg_dir,
		    c->pg_dir);
		h_run(&out, "scripts/pg destroy '%s' 2>&1", c->pg_dir);
		free(out);
		free(c->pg_dir);
		c->pg_dir = NULL;
	}
	if (c->clock_file != NULL) {
		unlink(c->clock_file);
		free(c->clock_file);
		c->clock_file = NULL;
	}
}

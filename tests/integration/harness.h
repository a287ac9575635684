/*
 * harness.c: what integration tests share: processes, deadlines, files,
 * a throwaway database per test, simulated modems and phones.
 *
 * tests/run sets the environment:
 *   PIGEON_TEST_BIN  directory of the binaries under test (pigeond, ...)
 *   PIGEON_TEST_PG   conninfo of the test cluster, without dbname
 *   PIGEON_TEST_TMP  a scratch directory for this run
 */
#ifndef PIGEON_HARNESS_H
#define PIGEON_HARNESS_H

#include <sys/types.h>
#include <libpq-fe.h>

/* Processes. Output (stdout and stderr) goes to logpath. */
pid_t	 h_spawn(const char *logpath, char *const argv[]);
/* Sends sig, waits up to timeout_ms, then SIGKILL; returns wait status. */
int	 h_stop(pid_t pid, int sig, int timeout_ms);
/* Runs a shell command; returns its exit status, stdout in *out (malloc). */
int	 h_run(char **out, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/* Waits until cond(arg) returns non-zero, polling; 0 on success, -1 at deadline. */
int	 h_wait_for(int (*cond)(void *), void *arg, int timeout_ms);
long	 h_now_ms(void);
void	 h_sleep_ms(int ms);

/* Paths. */
const char *h_bin(const char *name);		/* static buffer rotation */
char	*h_tmpdir(const char *name);		/* fresh dir, malloc'd path */
char	*h_read_file(const char *path);		/* NULL if missing */
int	 h_write_file(const char *path, const char *text);
int	 h_count_lines(const char *text, const char *needle);

/* A fresh database on the test cluster; returns its conninfo (malloc). */
char	*h_db_create(const char *name);
PGconn	*h_db_connect(const char *conninfo);
/* First column of the first row of a parameterised query, or NULL. */
char	*h_db_value(PGconn *, const char *sql, int nparams, const char *const *params);
long	 h_db_long(PGconn *, const char *sql, int nparams, const char *const *params);

#endif

/* Runs argv (no shell); stdout+stderr in *out (malloc) if out; exit status. */
int	 h_exec(char **out, char *const argv[]);

/* h_gateway.c: simulated modems, pigeond and phones. */
#define H_MAX_MODEMS	8

struct h_gateway {
	char	*dir;			/* scratch directory of this gateway */
	char	*conninfo;		/* its database */
	char	*config;		/* path of the generated pigeon.conf */
	char	*extra_config;		/* appended to [pigeon] (may be NULL) */
	int	 nmodems;
	char	*sim_dir[H_MAX_MODEMS];
	pid_t	 sim_pid[H_MAX_MODEMS];
	pid_t	 pigeond;
	int	 http_port;
	PGconn	*db;			/* the test's own connection */
};

/* Starts nmodems simulators, writes a config and starts pigeond; waits
 * until every modem is online. name names the database and directory. */
void	 h_gateway_start(struct h_gateway *, const char *name, int nmodems);
void	 h_pigeond_start(struct h_gateway *);
/* Waits until n modems are online in the database. */
int	 h_gateway_wait_online(struct h_gateway *, int n, int timeout_ms);
void	 h_gateway_stop(struct h_gateway *);
/* A phone texts the gateway through modem i; 0 on success. */
int	 h_text(struct h_gateway *, int modem, const char *from, const char *text);
/* Every SMS sent to number so far, across all modems, texts joined by '\n'
 * in sending order (malloc). */
char	*h_received(struct h_gateway *, const char *number);
int	 h_received_count(struct h_gateway *, const char *number);
/* Waits until number received an SMS containing needle; 0 or -1. */
int	 h_wait_received(struct h_gateway *, const char *number, const char *needle,
	    int timeout_ms);
/* Number of SMS still stored on modem i. */
int	 h_stored_count(struct h_gateway *, int modem);

/* Fails the test if the log at path holds an ASan, UBSan or LSan report. */
void	 h_assert_no_sanitizer_report(const char *path);

/* A GET on 127.0.0.1:port; returns the status code, body in *body (malloc). */
int	 h_http_get(int port, const char *path, char **body);
/* Waits until the file at path contains needle; 0 or -1. */
int	 h_wait_file_contains(const char *path, const char *needle, int timeout_ms);

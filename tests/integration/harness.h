/*
 * harness.c: what integration tests share: processes, deadlines, files,
 * a throwaway database per test, simulated modems and phones.
 *
 * tests/run sets the environment:
 *   PIGEON_TEST_BIN  directory of the binaries under test (pigeond, ...)
 *   PIGEON_TEST_PG   conninfo of the test cluster, without dbname
 *   PIGEON_TEST_TMP  a scratch directory for this run
 *   PIGEON_TEST_PGDIR the cluster's directory (h_pg_stop, h_pg_start)
 */
#ifndef PIGEON_HARNESS_H
#define PIGEON_HARNESS_H

#include <sys/types.h>
#include <check.h>
#include <libpq-fe.h>
#include <jansson.h>

/*
 * Runs the suite in this process (no fork: the gateway a test starts is
 * shared by its steps, and the harness kills what it started at exit);
 * returns main's exit status.
 */
int	 h_main(Suite *);
/* A test of a one-test case (h_suite_cases). */
struct h_case {
	const char	*name;
	const TTest	*test;
};
/*
 * A suite of one case per test (each test starts its own gateway, so
 * tests/run may run the cases side by side), each case with the checked
 * fixtures setup and teardown (either NULL) and a timeout of timeout_s.
 */
Suite	*h_suite_cases(const char *name, const struct h_case *, size_t n,
	    void (*setup)(void), void (*teardown)(void), int timeout_s);

/* Processes. Output (stdout and stderr) goes to logpath. */
pid_t	 h_spawn(const char *logpath, char *const argv[]);
/* The open-file limit (soft and hard) of the processes h_spawn starts from
 * now on, set in the child before exec, as `ulimit -n N` would; 0: as the
 * test's own. */
void	 h_spawn_nofile(long n);
/* Sends sig, waits up to timeout_ms, then SIGKILL; returns wait status. */
int	 h_stop(pid_t pid, int sig, int timeout_ms);
/* How long a pigeond told to stop (SIGTERM) is given to exit: its drain
 * (gateway/main.c DRAIN_TIMEOUT_S, 30 s) and the exit after it. */
#define H_STOP_MS	40000
/* 0 once pid (a child) has exited by itself, its wait status in *status;
 * -1 if it still runs after timeout_ms. */
int	 h_wait_exit(pid_t pid, int timeout_ms, int *status);
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
/* asprintf that cannot fail (h_fatal when out of memory). */
char	*h_strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char	*h_read_file(const char *path);		/* NULL if missing */
int	 h_open_fds(pid_t pid);		/* descriptors it holds; -1 if gone */
int	 h_write_file(const char *path, const char *text);
/* A file of a fresh h_tmpdir(dir) holding text, mode 0600 (a token file
 * pigeond and pigeonctl accept): its path, malloc'd. */
char	*h_secret_file(const char *dir, const char *name, const char *text);
int	 h_count_lines(const char *text, const char *needle);
/* 1 when s is a time as the API answers it: 2026-12-06T00:07:35.768+00:00. */
int	 h_api_time(const char *s);

/* A fresh database on the test cluster; returns its conninfo (malloc). */
char	*h_db_create(const char *name);
PGconn	*h_db_connect(const char *conninfo);
/* First column of the first row of a parameterised query, or NULL. */
char	*h_db_value(PGconn *, const char *sql, int nparams, const char *const *params);
long	 h_db_long(PGconn *, const char *sql, int nparams, const char *const *params);
/* A fixed statement (BEGIN, an INSERT...) that must succeed. */
void	 h_db_exec(PGconn *, const char *sql);
/* A connection the server dropped is opened again (PQreset), so that the
 * next poll of a wait works once the server is back: PostgreSQL restarts
 * every session when one of its processes dies, and pigeond reconnects. */
void	 h_db_revive(PGconn *);

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
	int	 http_port;		/* the one pigeond took and wrote in
					 * DIR/http.port ([http] port_file) */
	char	*http_extra;		/* appended to [http] (may be NULL) */
	PGconn	*db;			/* the test's own connection */
	char	*modem_extra[H_MAX_MODEMS];	/* appended to [modem simN] (may be NULL) */
	int	 modem_removed[H_MAX_MODEMS];	/* left out of the config when set */
	int	 modem_poll_ms[H_MAX_MODEMS];	/* poll_ms of [modem simN]; 0 = 200 */
	const char *modem_prefix;	/* modem names: prefix + N; NULL = "sim" */
	int	 start_no_wait;		/* start does not wait for its modems (a
					 * host whose modem another host owns) */
	char	*smpp_extra;		/* appended to the config: [smpp NAME]
					 * sections (h_smsc_section); may be NULL */
	int	 nsmpp;			/* links of smpp_extra that start waits
					 * for, as for its modems */
};

/* Starts nmodems simulators, writes a config and starts pigeond; waits
 * until every modem is online. name names the database and directory. */
void	 h_gateway_start(struct h_gateway *, const char *name, int nmodems);
void	 h_pigeond_start(struct h_gateway *);
/* Waits until n modems are online in the database. */
int	 h_gateway_wait_online(struct h_gateway *, int n, int timeout_ms);
void	 h_gateway_stop(struct h_gateway *);
/* pigeonctl -c with the gateway's config and args, its stderr with its
 * stdout: its exit status, its output in *out (malloc'd). */
int	 h_pigeonctl(const struct h_gateway *, char **out, const char *args);
/* A phone texts the gateway through modem i; 0 on success. */
int	 h_text(struct h_gateway *, int modem, const char *from, const char *text);
/* Every SMS sent to number so far, across all modems, texts joined by '\n'
 * in sending order (malloc). */
char	*h_received(struct h_gateway *, const char *number);
int	 h_received_count(struct h_gateway *, const char *number);
/* How many of them contain needle. */
int	 h_received_matching(struct h_gateway *, const char *number, const char *needle);
/* Waits until number received an SMS containing needle; 0 or -1. */
int	 h_wait_received(struct h_gateway *, const char *number, const char *needle,
	    int timeout_ms);
/* Number of SMS still stored on modem i. */
int	 h_stored_count(struct h_gateway *, int modem);
/* Waits until modem i stores n SMS (a worker deletes an SMS after its
 * commit, which can trail what the test saw); 0 or -1. */
int	 h_wait_stored(struct h_gateway *, int modem, int n, int timeout_ms);
/* A fake modem's SIM (tests/reliability/fake-modem, SIM mode) as
 * dir/simI.sms: "JOIN uI" from `from`, then "post K" for K = i, i +
 * nmodems, ... below n: modem I's share of n posts. */
void	 h_sim_posts(const char *dir, int i, const char *from, int n, int nmodems);
/* The commands most tests start with, each failing the test when its
 * answer does not come within timeout_ms: "JOIN handle" from phone through
 * modem i, until the phone is answered "@handle"; a post, until pigeond has
 * made it (its copies included). */
void	 h_join(struct h_gateway *, int modem, const char *phone, const char *handle,
	    int timeout_ms);
void	 h_post(struct h_gateway *, int modem, const char *from, const char *text,
	    int timeout_ms);

/* Fails the test if the log at path holds an ASan, UBSan or LSan report. */
void	 h_assert_no_sanitizer_report(const char *path);
/* Fails the test if pigeond's log at path shows its drain timed out. */
void	 h_assert_drained(const char *path);
void	 h_fatal(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/* A GET on 127.0.0.1:port; returns the status code, body in *body (malloc).
 * On a port of h_port_owner's whose process has exited, -1 without asking
 * (and an answer that came while it exited is taken for none): whatever
 * answers there may be another test's server. */
int	 h_http_get(int port, const char *path, char **body);
/* The server that listens on 127.0.0.1:port is the harness's child pid
 * (h_pigeond_start says so for each pigeond); h_http and h_http_get then
 * ask that port only while pid lives. */
void	 h_port_owner(int port, pid_t pid);
/* Waits until the file at path contains needle; 0 or -1. */
int	 h_wait_file_contains(const char *path, const char *needle, int timeout_ms);
/* Where a test writes its screenshot `name` (malloc'd): in the test's own
 * scratch folder, or in $PIGEON_TEST_SCREENSHOTS when set (`make
 * screenshots` sets it to tests/integration/screenshots, the kept ones). */
char	*h_screenshot_path(const char *scratch, const char *name);

/* Waits until pigeond's scheduler has caught up n more times than when
 * called (found nothing more it could send: /metrics
 * pigeon_scheduler_caught_up_total, read with token); fails the test at
 * the deadline. A negative check ("it still waits") asserts after n = 2:
 * the second began after the call, so a message that could go has been
 * claimed by then (it is 'sending' at least). */
/* The value of one series of GET /metrics ("pigeon_x{modem=\"sim0\"}"),
 * or absent when /metrics does not show it. */
long	 h_metric(struct h_gateway *, const char *token, const char *series,
	    long absent);
void	 h_wait_scheduler_caught_up(struct h_gateway *, const char *token, int n,
	    int timeout_ms);

/* Modem bank helpers (h_gateway.c). */
/* Writes the config again (modem_extra, modem_removed) and sends SIGHUP. */
void	 h_gateway_reload(struct h_gateway *);
/* Runs `pigeon-modemsim fault DIR NAME VALUE...` on modem i; 0 on success. */
int	 h_sim_fault(struct h_gateway *, int modem, const char *name_values);
/* Number of SMS (whole messages) modem i has sent so far. */
int	 h_sim_sent_count(struct h_gateway *, int modem);
/* Waits until sql (one value; $1 = param, may be NULL) returns the text want; 0 or -1. */
int	 h_wait_db(struct h_gateway *, const char *sql, const char *param,
	    const char *want, int timeout_ms);
/* Queues an SMS in the outbox as an operator send would; returns its id. */
long	 h_outbox_add(struct h_gateway *, const char *to, const char *text, int cls);
/* One column (or expression) of an outbox row as text (malloc); "" for NULL. */
char	*h_outbox_col(struct h_gateway *, long id, const char *col);
/* Wait until an outbox row or a modem is in state; fail the test if not. */
void	 h_wait_outbox(struct h_gateway *, long id, const char *state, int timeout_ms);
void	 h_wait_modem(struct h_gateway *, const char *name, const char *state, int timeout_ms);

/* HTTP API helpers (harness.c). */
/* One request to 127.0.0.1:port with a 20 s deadline; token and body may be
 * NULL. Returns the status code (-1: no answer, or the port's owner has
 * exited: see h_http_get), the body in *resp (malloc). */
int	 h_http(int port, const char *method, const char *path, const char *token,
	    const char *body, char **resp);
/* A test's HTTP receiver: one whole request (head, and the body its
 * Content-Length gives) read from c into buf (cap bytes, NUL-terminated),
 * or what came before the peer closed or the socket's timeout. Its length. */
size_t	 h_http_read_request(int c, char *buf, size_t cap);
/* Stops / starts the run's PostgreSQL cluster (scripts/pg, tests/run's). */
int	 h_pg_stop(void);
int	 h_pg_start(void);

/* A phone texts the gateway with pigeon-modemsim deliver options (space
 * separated: "--order 3,1,2 --ref 7", "--ref16 4660"); 0 on success. */
int	 h_deliver(struct h_gateway *, int modem, const char *from, const char *text,
	    const char *opts);
/* Restarts pigeond with another [pigeon] extra (kept by pointer); waits
 * until its modems are online again. */
void	 h_gateway_restart(struct h_gateway *, const char *extra_config);
/* Waits until nothing is left to do: no SMS on the modems, no message to
 * apply, no SMS due or being sent. Only then can a test say that
 * something never came. 0 or -1. */
int	 h_gateway_settle(struct h_gateway *, int timeout_ms);

/* Issue 7: stops the run's PostgreSQL with pg_ctl -m mode ("fast",
 * "immediate"); h_pg_start starts it again. */
int	 h_pg_stop_mode(const char *mode);
/* Issue 7: a second host on an existing database (conninfo, copied): as
 * h_gateway_start otherwise. Give it another modem_prefix. */
void	 h_gateway_start_on(struct h_gateway *, const char *name, int nmodems,
	    const char *conninfo);
/* Issue 7: adds to per_id[id - first_id] the sends of each outbox id in
 * [first_id, first_id + n) that tests/reliability/fake-modem logged in
 * dir/modem.log. */
void	 h_fake_sends(const char *dir, const char *modem, long first_id, long n,
	    int *per_id);
/* The SIM of tests/reliability/fake-modem's SIM mode (dir/modem.sms)
 * against what pigeond had it delete: `deleted`, a copy of
 * dir/modem.deleted taken earlier (NULL: the file as it is now). Adds to
 * *sms the SMS on the SIM and to *ndeleted the distinct ones deleted (a
 * location deleted twice counts once); with db, adds to *early the deleted
 * ones that no inbox row (sender, text) stored by a transaction begun
 * before `before` (h_epoch's clock, the server's: one machine) accounts
 * for. A delete comes after the commit that stored its SMS, so a copy
 * taken at `before` has none (inbound.c). */
void	 h_fake_deletes(PGconn *db, const char *dir, const char *modem,
	    const char *deleted, double before, long *sms, long *ndeleted, long *early);
/* The wall clock, in seconds since the epoch (PostgreSQL's now() reads it). */
double	 h_epoch(void);

/* Issue 6: spawns argv (as h_spawn) with one end of a socketpair as its
 * file descriptor 3, the way pigeond starts pigeon-modem; *fd is the other
 * end, non-blocking. */
pid_t	 h_spawn_channel(const char *logpath, char *const argv[], int *fd);

/* Issue 13 (h_smsc.c): the simulated SMSC, tests/smsc/smsc.js. */
struct h_smsc {
	char	*dir;			/* DIR/port, DIR/ctl, DIR/received.jsonl */
	char	*log;
	pid_t	 pid;
	int	 port;
};

/* Starts it (--parent-pid: it exits with the test) with extra options
 * (space separated, may be NULL: "--ids decimal"); waits for its port. */
void	 h_smsc_start(struct h_smsc *, const char *name, const char *opts);
void	 h_smsc_stop(struct h_smsc *);
/* One control request (printf format, JSON); fails the test unless the
 * answer says ok; the answer (caller decrefs). */
json_t	*h_smsc_ctl(struct h_smsc *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* A counter of the status request (submit_sm, deliver_sm_resp, binds...). */
long long h_smsc_count(struct h_smsc *, const char *what);
/* Waits until that counter reaches n; fails the test if not. */
void	 h_smsc_wait_count(struct h_smsc *, const char *what, long long n,
	    int timeout_ms);
/* The submit_sm records of received.jsonl, in order (caller decrefs). */
json_t	*h_smsc_submits(struct h_smsc *);
/* How many records of command (e.g. "deliver_sm_resp") the SMSC sent or
 * received with that command_status (not the answers its fault
 * lose_answer lost). */
long	 h_smsc_resps(struct h_smsc *, const char *command, long status);
/* Until the SMSC recorded n of them: 0, or -1 after timeout_ms. */
int	 h_smsc_wait_resps(struct h_smsc *, const char *command, long status,
	    long n, int timeout_ms);
/* The messages the SMSC accepted for number (with or without '+'), parts
 * joined, in the order their last part came: an array of strings. */
json_t	*h_smsc_messages(struct h_smsc *, const char *number);
/* The same, joined by '\n' (malloc), like h_received. */
char	*h_smsc_received(struct h_smsc *, const char *number);
int	 h_smsc_wait_received(struct h_smsc *, const char *number,
	    const char *needle, int timeout_ms);
/* A phone texts the shortcode over the SMSC: scripts/smsc deliver, opts as
 * "--concat sar --ref 9" (may be NULL); 0 on success. */
int	 h_smsc_deliver(struct h_smsc *, const char *from, const char *text,
	    const char *opts);
/* Receipts: scripts/smsc receipts with opts ("ID --stat UNDELIV",
 * "--text-id decimal", NULL: every message that asked for one). */
int	 h_smsc_receipts(struct h_smsc *, const char *opts);
/* An [smpp NAME] section for this SMSC plus extra lines (malloc), for
 * h_gateway.smpp_extra. */
char	*h_smsc_section(struct h_smsc *, const char *name, const char *extra);

/* A PostgreSQL cluster whose clock the test moves (h_clock.c), through
 * libfaketime (preloaded: H_FAKETIME_LIB). */
#define H_FAKETIME_LIB	"/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"
struct h_clock {
	char	*pg_dir;
	char	*clock_file;
};
/* Starts it, its clock at `at` (seconds since the epoch) running on, or at
 * the real time when at is 0; returns its conninfo (malloc'd), for
 * h_gateway_start_on. name names its folders. */
char	*h_clock_cluster_start(struct h_clock *, const char *name, long at);
/* The clock as an offset from the real one: "+0", "+2h", "-1d". */
void	 h_clock_set(struct h_clock *, const char *offset);
/* The clock at target (seconds since the epoch) now, running on from there. */
void	 h_clock_at(struct h_clock *, long target);
void	 h_clock_cluster_destroy(struct h_clock *);

#endif

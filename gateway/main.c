/*
 * pigeond: the Pigeon gateway daemon. One libevent loop drives the
 * database connection, the modem processes, the HTTP listener, timers
 * and signals; nothing in it blocks.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <libgen.h>
#include <sys/resource.h>

#include <event2/event.h>

#include "api.h"
#include "log.h"
#include "migrate.h"
#include "pigeond.h"
#include "store.h"

#ifndef PIGEON_LIBEXECDIR
#define PIGEON_LIBEXECDIR "/usr/local/libexec/pigeon"
#endif
#ifndef PIGEON_SYSCONFDIR
#define PIGEON_SYSCONFDIR "/etc/pigeon"
#endif

#define DRAIN_TIMEOUT_S	30

struct pigeond env;

static struct event *ev_drain_timeout;

static void
usage(void)
{
	fprintf(stderr, "usage: pigeond [-nsvV] [-c file]\n"
	    "  -c file  configuration (default %s/pigeon.conf)\n"
	    "  -n       check the configuration and exit\n"
	    "  -s       log to syslog instead of stderr (the modem workers too)\n"
	    "  -v       more logging (debug)\n"
	    "  -V, --version  print the version and exit\n", PIGEON_SYSCONFDIR);
	exit(2);
}

/*
 * A worker program (pigeon-modem, pigeon-smpp) into path: as configured,
 * else next to this binary (a build tree), else ../libexec/pigeon from it
 * (an install, whatever its PREFIX), else the compiled-in directory.
 * 0 when it is executable.
 */
static int
find_program(const char *configured, const char *name, char *path, size_t len)
{
	char self[PATH_MAX], *dir;
	ssize_t n;

	if (configured[0]) {
		snprintf(path, len, "%s", configured);
		return access(path, X_OK);
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		dir = dirname(self);
		snprintf(path, len, "%s/%s", dir, name);
		if (access(path, X_OK) == 0)
			return 0;
		snprintf(path, len, "%s/../libexec/pigeon/%s", dir, name);
		if (access(path, X_OK) == 0)
			return 0;
	}
	snprintf(path, len, "%s/%s", PIGEON_LIBEXECDIR, name);
	return access(path, X_OK);
}

/* 1 when the configuration has a link of that kind. */
static int
has_links(enum conf_link_kind kind)
{
	for (size_t i = 0; i < env.conf.nmodems; i++)
		if (env.conf.modems[i].kind == kind)
			return 1;
	return 0;
}

/* The logging keys, here and (through the environment) in every worker. */
static void
log_configure(int use_syslog)
{
	log_set_level(env.conf.log_level);
	log_set_numbers(env.conf.log_numbers);
	setenv("PIGEON_LOG_LEVEL", env.conf.log_level, 1);
	setenv("PIGEON_LOG_NUMBERS", env.conf.log_numbers ? "1" : "0", 1);
	if (use_syslog)
		setenv("PIGEON_SYSLOG", "1", 1);
}

/*
 * The connection of a subsystem's own (store_open_role, opened at the
 * first call into *sp, on_state told when it comes up or goes down), or
 * the main one while that one is not up: the inbox, the outcomes, the
 * receipts and the fan-out chunks never wait behind each other.
 */
struct store *
pigeond_store(struct store **sp, const char *role, void (*on_state)(int up, void *arg))
{
	if (*sp == NULL)
		*sp = store_open_role(env.base, env.conf.conninfo, env.conf.hostname,
		    role, on_state, 0);
	return *sp != NULL && store_is_up(*sp) ? *sp : env.store;
}

/* Exits the loop once nothing is in flight and every modem process is gone. */
void
pigeond_check_drained(void)
{
	static const char *waiting;
	const char *now = NULL;

	if (!env.draining)
		return;
	/*
	 * The workers are needed while the SMS and reports they read wait to
	 * be stored (they delete them once told) and while their sends are
	 * in flight; nothing else waits on them. A claim queued behind a
	 * write that waits on a locked row kept every modem running until
	 * the lock went; answered after the stop, its rows go back (dispatch
	 * puts back what no link can take). Closing a channel makes its
	 * worker exit.
	 */
	if (link_busy() && !(inbound_busy() && store_is_up(env.store)) &&
	    !reports_busy() && !link_sending())
		link_stop_all();
	if (inbound_busy() && store_is_up(env.store))
		now = "SMS being stored";
	else if (commands_busy())
		now = "commands being applied";
	else if (scheduler_busy())
		now = "sends and their outcomes";
	else if (reports_busy())
		now = "status reports";
	else if (hostlock_busy() && store_is_up(env.store))
		now = "host locks";
	else if (link_busy())
		now = "modem processes";
	else if (link_recording() && store_is_up(env.store))
		now = "the modems' states";
	if (now != waiting && now != NULL)
		log_debug("draining: waiting for %s", now);
	waiting = now;
	if (now != NULL)
		return;
	log_info("drained; exiting");
	event_base_loopexit(env.base, NULL);
}

static void
on_drain_timeout(evutil_socket_t fd, short what, void *arg)
{
	log_warnx("still busy after %d s; exiting anyway", DRAIN_TIMEOUT_S);
	event_base_loopexit(env.base, NULL);
}


static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	switch (sig) {
	case SIGTERM:
	case SIGINT:
		if (env.draining) {
			log_info("second %s: exiting now", sig == SIGTERM ? "SIGTERM" : "SIGINT");
			event_base_loopexit(env.base, NULL);
			return;
		}
		log_info("%s: finishing what is in flight, then exiting",
		    sig == SIGTERM ? "SIGTERM" : "SIGINT");
		env.draining = 1;
		http_stop();
		hostlock_stop();
		{
			struct timeval tv = { DRAIN_TIMEOUT_S, 0 };
			ev_drain_timeout = evtimer_new(env.base, on_drain_timeout, NULL);
			evtimer_add(ev_drain_timeout, &tv);
		}
		/*
		 * Every subsystem re-checks when its own work completes, but a
		 * path that forgets to (or a callback that completes nothing)
		 * must not keep pigeond up until the drain timeout.
		 */
		janitor_add("drain: is anything left?", 100, pigeond_check_drained);
		pigeond_check_drained();
		break;
	case SIGHUP:
		if (!env.draining)
			reload_config(NULL, 0);
		break;
	case SIGCHLD:
		supervisor_reap();
		break;
	}
}

static void
on_db_state(int up, void *arg)
{
	if (!up) {
		log_warnx("database: down; SMS wait on the modems, sends pause");
		hostlock_db_down();
		return;
	}
	/* The host name's lock first; pigeond_db_ready once it is held. */
	hostlock_db_up();
}

/* hostlock.c: this pigeond holds its host name's lock on a new connection. */
void
pigeond_db_ready(void)
{
	/* The modems' locks first: their answers come before any claim's;
	 * then the settings, which the scheduler's first queries read. */
	hostlock_kick();
	link_db_up();
	commands_db_up();
	scheduler_db_up();
	webhook_db_up();
	inbound_kick();
	fanout_kick();
}

static void
on_db_notify(const char *channel, const char *payload, void *arg)
{
	if (strcmp(channel, "pigeon_outbox") == 0)
		scheduler_kick();
	else if (strcmp(channel, "pigeon_webhook") == 0)
		webhook_kick();
	else if (strcmp(channel, "pigeon_fanout") == 0)
		fanout_kick();
}

/*
 * The version, and the schema and functions this build brings: the two
 * numbers pigeond compares with a database's before it starts (an older
 * build refuses a newer schema or functions release), so that an
 * operator can tell which of two builds is the newer one.
 */
static int
print_version(void)
{
	char err[256];

	if (migrate_init(err, sizeof(err)) == -1) {
		printf("pigeond %s\n", PIGEON_VERSION);
		return 0;
	}
	printf("pigeond %s (schema %d, functions release %d)\n", PIGEON_VERSION,
	    migrate_latest(), migrate_functions_release());
	migrate_cleanup();
	return 0;
}

int
main(int argc, char *argv[])
{
	const char *config_path = PIGEON_SYSCONFDIR "/pigeon.conf";
	int check_only = 0, use_syslog = 0, ch;
	char err[1024];
	struct event *sigs[4];
	int signums[4] = { SIGTERM, SIGINT, SIGHUP, SIGCHLD };

	if (argc == 2 && strcmp(argv[1], "--version") == 0)
		return print_version();
	while ((ch = getopt(argc, argv, "c:nsvV")) != -1) {
		switch (ch) {
		case 'c': config_path = optarg; break;
		case 'n': check_only = 1; break;
		case 's': use_syslog = 1; break;
		case 'v': env.verbose++; break;
		case 'V': return print_version();
		default: usage();
		}
	}
	if (optind != argc)
		usage();
	/*
	 * Without TZ, glibc stats /etc/localtime at every mktime and
	 * localtime: libgammu's encoder reads the clock for each SMS, and
	 * that stat was a third of pigeond's CPU during an ingest. The
	 * workers inherit it.
	 */
	if (getenv("TZ") == NULL)
		setenv("TZ", ":/etc/localtime", 0);
	log_init("pigeond", env.verbose, use_syslog);

	env.config_path = config_path;
	if (config_load(config_path, &env.conf, err, sizeof(err)) == -1) {
		log_errorx("config: %s", err);
		return 1;
	}
	log_configure(use_syslog);
	if (find_program(env.conf.modem_program, "pigeon-modem", env.modem_program,
	    sizeof(env.modem_program)) == -1 && (has_links(CONF_MODEM) || check_only)) {
		log_errorx("%s: %s (pigeon-modem, the modem worker: is pigeond installed "
		    "with make install?)", env.modem_program, strerror(errno));
		config_free(&env.conf);
		return 1;
	}
	if (find_program(env.conf.smpp_program, "pigeon-smpp", env.smpp_program,
	    sizeof(env.smpp_program)) == -1 && has_links(CONF_SMPP)) {
		log_errorx("%s: %s (pigeon-smpp, the SMPP worker: is pigeond installed "
		    "with make install?)", env.smpp_program, strerror(errno));
		config_free(&env.conf);
		return 1;
	}
	/* The tokens files' lines too: a start refuses a short token. */
	if (check_only && api_tokens_check(&env.conf, err, sizeof(err)) == -1) {
		log_errorx("config: %s", err);
		config_free(&env.conf);
		return 1;
	}
	if (check_only) {
		printf("configuration OK\n");
		config_free(&env.conf);
		return 0;
	}
	if (migrate_init(err, sizeof(err)) == -1)
		fatalx("this build is broken: %s", err);
	signal(SIGPIPE, SIG_IGN);
	/* HTTP clients must not take the descriptors a worker restart needs:
	 * take all the system allows; http.c keeps a reserve below it. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			log_warn("setrlimit RLIMIT_NOFILE");
	}
	/* Even the hard limit can be too low (ulimit -n 30 for 23 modems):
	 * the links then fail to start, with backoff (link.c), and the API
	 * cannot accept. Said at start, where the operator looks. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    (long)rl.rlim_cur < httpguard_fds_wanted())
		log_warnx("the open file limit is %ld (the hard limit too, or it could not "
		    "be raised to it), below the %ld pigeond wants for %zu link(s), its "
		    "database connections and HTTP clients: links may fail to start "
		    "(\"Too many open files\") and the API to answer. Raise it "
		    "(LimitNOFILE= in the systemd unit, ulimit -n)", (long)rl.rlim_cur,
		    httpguard_fds_wanted(), env.conf.nmodems);

	if ((env.base = event_base_new()) == NULL)
		fatalx("cannot create the event loop");
	for (int i = 0; i < 4; i++) {
		sigs[i] = evsignal_new(env.base, signums[i], on_signal, NULL);
		if (sigs[i] == NULL || event_add(sigs[i], NULL) == -1)
			fatalx("cannot watch signal %d", signums[i]);
	}
	if ((env.store = store_new(env.base, env.conf.conninfo)) == NULL)
		fatalx("out of memory");
	store_set_callbacks(env.store, migrate_on_connect, on_db_state, on_db_notify, NULL);
	/* Who holds a modem's lock shows in pg_stat_activity (hostlock.c). */
	{
		char app[64];
		snprintf(app, sizeof(app), "pigeond %s", env.conf.hostname);
		store_set_name(env.store, app);
	}
	if (link_init() == -1 || scheduler_init() == -1 || commands_init() == -1 ||
	    hostlock_init() == -1 || retention_init() == -1 ||
	    clockstep_init() == -1 || digest_init() == -1 ||
	    fanout_init() == -1)
		fatalx("out of memory");
	if (http_start(err, sizeof(err)) == -1 || webhook_init(err, sizeof(err)) == -1)
		fatalx("%s", err);

	size_t binds = 0;
	for (size_t i = 0; i < env.conf.nmodems; i++)
		binds += env.conf.modems[i].kind == CONF_SMPP;
	log_info("starting pigeond %s: %zu modem(s), %zu SMPP bind(s), host %s, "
	    "shortcode %s", PIGEON_VERSION, env.conf.nmodems - binds, binds,
	    env.conf.hostname, env.conf.shortcode);
	store_start(env.store);
	link_start_all();

	event_base_dispatch(env.base);

	http_stop();
	link_free_all();
	inbound_free();
	commands_free();
	scheduler_free();
	reports_free();
	fanout_free();
	janitor_free();
	hostlock_free();
	webhook_free();
	simpin_free();
	store_free(env.store);
	if (ev_drain_timeout)
		event_free(ev_drain_timeout);
	for (int i = 0; i < 4; i++)
		event_free(sigs[i]);
	event_base_free(env.base);
	migrate_cleanup();
	config_free(&env.conf);
	if (hostlock_refused())
		return 1;
	if (migrate_refused()) {
		/* systemd: RestartPreventExitStatus keeps it from looping. */
		return MIGRATE_EXIT_NEWER;
	}
	log_info("stopped");
	return 0;
}

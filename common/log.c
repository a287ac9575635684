/* log.c: one line per event, prefixed with the program name. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <sys/time.h>

#include "log.h"

static const char *log_progname = "pigeon";
static int log_verbose;
static int log_syslog;

void
log_init(const char *progname, int verbose, int use_syslog)
{
	log_progname = progname;
	log_verbose = verbose;
	log_syslog = use_syslog;
	if (use_syslog)
		openlog(progname, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	tzset();
}

static void
log_emit(int pri, const char *errstr, const char *fmt, va_list ap)
{
	char msg[2048];
	int n;

	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		return;
	if (errstr != NULL && (size_t)n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - n, ": %s", errstr);

	if (log_syslog) {
		syslog(pri, "%s", msg);
		return;
	}

	struct timeval tv;
	struct tm tm;
	char ts[32];
	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ld %s: %s\n", ts, (long)(tv.tv_usec / 1000),
	    log_progname, msg);
}

#define LOG_BODY(pri, err) do {			\
	int saved = errno;				\
	va_list ap;					\
	va_start(ap, fmt);				\
	log_emit(pri, (err) ? strerror(saved) : NULL, fmt, ap); \
	va_end(ap);					\
	errno = saved;					\
} while (0)

void log_warn(const char *fmt, ...)  { LOG_BODY(LOG_WARNING, 1); }
void log_warnx(const char *fmt, ...) { LOG_BODY(LOG_WARNING, 0); }
void log_info(const char *fmt, ...)  { LOG_BODY(LOG_INFO, 0); }

void
log_debug(const char *fmt, ...)
{
	if (!log_verbose)
		return;
	LOG_BODY(LOG_DEBUG, 0);
}

void
fatal(const char *fmt, ...)
{
	LOG_BODY(LOG_CRIT, 1);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	LOG_BODY(LOG_CRIT, 0);
	exit(1);
}

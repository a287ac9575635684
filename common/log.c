/*
 * log.c: one line per event, prefixed with the program name. Under systemd
 * each line starts with its syslog priority ("<4>"), which journald takes
 * as the line's severity, so `journalctl -p warning` finds the warnings.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/time.h>

#include "log.h"

static const char *log_progname = "pigeon";
static int log_max = LOG_INFO;		/* lines above this priority are dropped */
static int log_verbose;
static int log_syslog;
static int log_journal;		/* "<N>" prefixes, no time stamp */
static int log_numbers;		/* phone numbers whole */

static int
env_on(const char *name)
{
	const char *v = getenv(name);
	return v != NULL && strcmp(v, "1") == 0;
}

/* systemd sets JOURNAL_STREAM to the device:inode of the journal's socket. */
static int
stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (js == NULL || sscanf(js, "%llu:%llu", &dev, &ino) != 2 ||
	    fstat(STDERR_FILENO, &st) == -1)
		return 0;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void
log_init(const char *progname, int verbose, int use_syslog)
{
	log_progname = progname;
	log_syslog = use_syslog || env_on("PIGEON_SYSLOG");
	log_journal = env_on("PIGEON_LOG_JOURNAL") || stderr_is_journal();
	log_numbers = env_on("PIGEON_LOG_NUMBERS");
	log_verbose = verbose;
	if (getenv("PIGEON_LOG_LEVEL") == NULL || log_set_level(getenv("PIGEON_LOG_LEVEL")) == -1)
		log_max = verbose ? LOG_DEBUG : LOG_INFO;
	if (log_syslog)
		openlog(progname, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	tzset();
}

int
log_set_level(const char *name)
{
	static const struct { const char *name; int pri; } levels[] = {
		{ "error", LOG_ERR }, { "warning", LOG_WARNING },
		{ "info", LOG_INFO }, { "debug", LOG_DEBUG },
	};
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (strcmp(name, levels[i].name) == 0) {
			log_max = log_verbose ? LOG_DEBUG : levels[i].pri;
			return 0;
		}
	return -1;
}

void
log_set_numbers(int whole)
{
	log_numbers = whole;
}

/*
 * "+" and 8 to 15 digits is a phone number in E.164: the three digits
 * before the last three become "***" (+212661234567: +212661***567), so a
 * log shows the operator and the line without the whole number.
 */
void
log_mask_numbers(char *s)
{
	for (char *p = s; (p = strchr(p, '+')) != NULL; ) {
		size_t n = 0;
		while (isdigit((unsigned char)p[1 + n]))
			n++;
		if (n >= 8 && n <= 15 && (p == s || !isalnum((unsigned char)p[-1])))
			memset(p + 1 + n - 6, '*', 3);
		p += 1 + n;
	}
}

static void
log_emit(int pri, const char *errstr, const char *fmt, va_list ap)
{
	char msg[2048];
	int n;

	if (pri > log_max)
		return;
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		return;
	if (errstr != NULL && (size_t)n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - n, ": %s", errstr);
	if (pri < LOG_DEBUG && !log_numbers)
		log_mask_numbers(msg);
	/*
	 * One message, one line: a control character from outside (an URL
	 * decoded, a modem's text, an SMSC's error) could start a line of its
	 * own, which journald reads with the priority it claims ("\n<0>" an
	 * emergency, broadcast to the terminals).
	 */
	for (char *p = msg; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';

	if (log_syslog) {
		syslog(pri, "%s", msg);
		return;
	}
	if (log_journal) {
		fprintf(stderr, "<%d>%s: %s\n", pri, log_progname, msg);
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

void log_errorx(const char *fmt, ...) { LOG_BODY(LOG_ERR, 0); }
void log_warn(const char *fmt, ...)  { LOG_BODY(LOG_WARNING, 1); }
void log_warnx(const char *fmt, ...) { LOG_BODY(LOG_WARNING, 0); }
void log_info(const char *fmt, ...)  { LOG_BODY(LOG_INFO, 0); }
void log_debug(const char *fmt, ...) { LOG_BODY(LOG_DEBUG, 0); }

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

/* log.c: logging to stderr (foreground) or syslog, in the OpenBSD style. */
#ifndef PIGEON_LOG_H
#define PIGEON_LOG_H

#include <stdarg.h>

/* Every program prints it for --version; the Makefile passes VERSION. */
#ifndef PIGEON_VERSION
#define PIGEON_VERSION "unknown"
#endif

/*
 * verbose > 0 logs debug lines. The environment, which pigeond sets for its
 * workers before it starts them, adds:
 *   PIGEON_SYSLOG=1        log to syslog (as -s does for pigeond)
 *   PIGEON_LOG_LEVEL=L     error, warning, info (default) or debug
 *   PIGEON_LOG_NUMBERS=1   phone numbers whole in lines above debug
 *   PIGEON_LOG_JOURNAL=1   "<N>" severity prefixes on stderr; without it they
 *                          come when stderr is the journal (JOURNAL_STREAM)
 */
void log_init(const char *progname, int verbose, int use_syslog);
/* "error", "warning", "info" or "debug"; -1 for another word. */
int  log_set_level(const char *name);
/* 0: "+212661234567" shows as "+212661***567" in lines above debug. */
void log_set_numbers(int whole);
/* What stops the program (priority err); the caller exits. */
void log_errorx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* log_warn appends strerror(errno); log_warnx does not. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* fatal and fatalx log and exit(1): for start-up errors only. */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* Masks the phone numbers of s in place, as lines above debug show them. */
void log_mask_numbers(char *s);

#endif

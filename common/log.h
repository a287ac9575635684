/* log.c: logging to stderr (foreground) or syslog, in the OpenBSD style. */
#ifndef PIGEON_LOG_H
#define PIGEON_LOG_H

#include <stdarg.h>

void log_init(const char *progname, int verbose, int use_syslog);
/* log_warn appends strerror(errno); log_warnx does not. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* fatal and fatalx log and exit(1): for start-up errors only. */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif

/*
 * confscan.c: a pass over the configuration file before libgammu's INI
 * reader sees it. INI_ReadFile drops what it cannot parse without a word
 * (a "[modem b" header loses the whole section, a line without '=' is
 * skipped) and keeps no line numbers; this pass rejects such lines and
 * remembers where each section and key is, so that every error names
 * the line.
 */
#ifndef PIGEON_CONFSCAN_H
#define PIGEON_CONFSCAN_H

#include <stddef.h>

struct confscan;

/*
 * Reads path; on a line libgammu would misread (or drop), returns NULL
 * with "PATH:LINE: problem" in err. The result is freed with
 * confscan_free.
 */
struct confscan *confscan_read(const char *path, char *err, size_t errlen);
void	 confscan_free(struct confscan *);
/* The line of key in section (key NULL: of the section's header); 0 when
 * the file does not have it. Names compare as libgammu does (case). */
int	 confscan_line(const struct confscan *, const char *section, const char *key);
/* 1 when the file holds no line but comments and blanks. */
int	 confscan_empty(const struct confscan *);

#endif

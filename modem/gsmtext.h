/* gsmtext.h: text and number helpers of gsm.c and gsmsend.c that need no
 * modem (gsmtext.c). */
#ifndef PIGEON_GSMTEXT_H
#define PIGEON_GSMTEXT_H

#include <stddef.h>

/* Copies what fits in size bytes, NUL-terminated. */
void	 gsm_copy(char *dst, size_t size, const char *src);
/* 1 when to is an optional + and 1 to 20 digits. */
int	 gsm_number_valid(const char *to);
/* The first n bytes of text without trailing spaces, then more (malloc). */
char	*gsm_cut_text(const char *text, size_t n, const char *more);

#endif

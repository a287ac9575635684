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
/*
 * A UCS-2 part cut inside a surrogate pair (phones split a long message at
 * 67 units whatever they hold): in u, libgammu's unicode text (big-endian
 * units up to a 0 unit, in a buffer of cap bytes), a low surrogate that
 * begins it and a high one that ends it become private-use markers,
 * U+F0400 + (unit - 0xDC00) and U+F0000 + (unit - 0xD800), that the join
 * of the parts pairs again (pigeon_inbox_surrogates, 20_inbox.sql): each
 * alone was decoded as U+FFFD, and the emoji was lost. Needs 4 bytes of
 * cap more than the text and its 0 unit.
 */
void	 gsm_mark_cut_pair(unsigned char *u, size_t cap);
/*
 * The same for a GSM-7 part that a phone cut between an escape and its
 * character (a euro sign, a bracket, at 153 septets whatever they hold):
 * libgammu decodes the escape left last as U+00B9, and the next part
 * begins with the character of the main table ('e' for the euro). Call
 * it for a part that another follows: the escape becomes U+F0800, which
 * the join reads with the next part's first character as the character
 * meant. Needs 4 bytes of cap more than the text and its 0 unit.
 */
void	 gsm_mark_cut_escape(unsigned char *u, size_t cap);

#endif

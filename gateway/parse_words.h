/*
 * parse_words.h: the words of a message as parse.c reads them, shared
 * with parse_hours.c.
 */
#ifndef PIGEON_PARSE_WORDS_H
#define PIGEON_PARSE_WORDS_H

#include <stddef.h>

#define FOLD_MAX	64	/* longest folded word compared, with its NUL */

/* A word: [s, e) of the message. */
struct span {
	const char	*s, *e;
};

/* The word without its leading and trailing punctuation. */
void	 core(const char **k, size_t *n);
/* The index of k (n bytes) in list (every stride-th entry), or -1. */
int	 list_find(const char *k, size_t n, const char *const *list, size_t stride);
/* The folded core of w into buf as *k, *n; 0 when it has none. */
int	 word_key(const struct span *w, char *buf, size_t bufsz, const char **k,
	    size_t *n);

/* parse_hours.c */
/* Two hours from SLEEP's arguments: 0 and *from, *to, or -1. */
int	 hours_parse(const struct span *args, size_t nargs, int *from, int *to);
/* DIGEST's hour, 0-23, or -1. */
int	 digest_hour_parse(const struct span *args, size_t nargs);
/* How many of DIGEST's hour words are not joiners ("at", "على"). */
int	 digest_hour_words(const struct span *args, size_t nargs);
int	 args_have_digit(const struct span *args, size_t nargs);

#endif

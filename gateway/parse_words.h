/*
 * parse_words.h: the words of a message as parse.c reads them
 * (parse_words.c), shared with parse_hours.c.
 */
#ifndef PIGEON_PARSE_WORDS_H
#define PIGEON_PARSE_WORDS_H

#include <stddef.h>
#include <stdint.h>

#define FOLD_MAX	64	/* longest folded word compared, with its NUL */
#define ARABIC_AL	"\xd8\xa7\xd9\x84"	/* the article ال, a prefix */

struct keyword;

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

/* The next run of characters at or after *pp, before e, that are not
 * sep (an invalid byte is none): 0 when there is none. */
int	 span_next(const char **pp, const char *e, struct span *w,
	    int (*sep)(uint32_t));
/* The next word (a run between spaces). */
int	 word_next(const char **pp, const char *e, struct span *w);
int	 in_set(char c, const char *set);
/* Whether w's folded core is in list (or in a Darija list, by skeleton). */
int	 word_in(const struct span *w, const char *const *list);
int	 word_in_darija(const struct span *w, const char *const *list);
/* How many of the n words at w make one STOP filler ("svp": 1, "s'il
 * vous plaît": 3), 0 when none; whether they are all fillers. */
size_t	 filler_words(const struct span *w, size_t n);
int	 fillers_only(const struct span *w, size_t n);
int	 polite_only(const struct span *w, size_t n);
/* A word of punctuation only; of symbols and emoji only. */
int	 punct_only(const struct span *w);
int	 symbol_only(const struct span *w);
/* The keyword w is, or NULL. */
const struct keyword *keyword_of(const struct span *w);
/* The handle in w into out (NUL-terminated), *at when it had its '@'. */
int	 handle_parse(const struct span *w, char *out, int *at);
/* The language code LANG's argument names, or NULL. */
const char *lang_parse(const struct span *w);
/* What separates the runs of a word that STOP looks at. */
int	 stop_separator(uint32_t c);
/* The end of [s, e) without its trailing words that drop says do not
 * count in a command's shape. */
const char *shape_end(const char *s, const char *e,
	    int (*drop)(const struct span *));
/* Whether the character at p joins two parts of one word (a hyphen or an
 * apostrophe, typed or typographic). */
int	 joiner_at(const char *p, const char *e);

/* parse_hours.c */
/* Two hours from SLEEP's arguments: 0 and *from, *to, or -1. */
int	 hours_parse(const struct span *args, size_t nargs, int *from, int *to);
/* DIGEST's hour, 0-23, or -1. */
int	 digest_hour_parse(const struct span *args, size_t nargs);
/* How many of DIGEST's hour words are not joiners ("at", "على"). */
int	 digest_hour_words(const struct span *args, size_t nargs);
int	 args_have_digit(const struct span *args, size_t nargs);

#endif

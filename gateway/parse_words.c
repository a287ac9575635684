/*
 * parse_words.c: the words of a message as the shortcode language reads
 * them (parse.c): runs between separators, their folded cores, the
 * keyword a word is (in Arabic letters, French, English or Darija), the
 * politeness fillers of the STOP rule, handles, languages, and the end of
 * a command's shape. parse.c decides what a message is with them.
 */
#include <ctype.h>
#include <stdint.h>
#include <string.h>

#include "fold.h"
#include "keywords.h"
#include "parse.h"
#include "parse_words.h"

/* The next run of characters that are not sep at or after *pp, before e.
 * Returns 0 when there is none. An invalid byte is BAD_CHAR: no sep. */
int
span_next(const char **pp, const char *e, struct span *w, int (*sep)(uint32_t))
{
	const char *p = *pp;
	uint32_t c;
	size_t n;

	while (p < e && (n = fold_char_at(p, e, &c)) > 0 && sep(c))
		p += n;
	if (p >= e)
		return 0;
	w->s = p;
	while (p < e && (n = fold_char_at(p, e, &c)) > 0 && !sep(c))
		p += n;
	w->e = p;
	*pp = p;
	return 1;
}

/* The next word at or after *pp, before e. Returns 0 when there is none. */
int
word_next(const char **pp, const char *e, struct span *w)
{
	return span_next(pp, e, w, fold_is_space);
}


int
in_set(char c, const char *set)
{
	return c != '\0' && strchr(set, c) != NULL;
}

/* Drops the quotes and brackets around a folded word, and its trailing
 * punctuation. */
void
core(const char **k, size_t *n)
{
	while (*n > 0 && in_set(**k, "\"'(["))
		(*k)++, (*n)--;
	while (*n > 0 && in_set((*k)[*n - 1], ".,;:!?\"')]"))
		(*n)--;
}

/* Is the folded word k one of list? Returns its index or -1; an Arabic
 * word with the article ال is tried without it. */
int
list_find(const char *k, size_t n, const char *const *list, size_t stride)
{
	size_t i;

	for (i = 0; list[i] != NULL; i += stride)
		if (strlen(list[i]) == n && memcmp(list[i], k, n) == 0)
			return (int)i;
	if (n >= 8 && memcmp(k, ARABIC_AL, 4) == 0)
		return list_find(k + 4, n - 4, list, stride);
	return -1;
}

/* The folded core of word w into buf; returns 0 if it has none. */
int
word_key(const struct span *w, char *buf, size_t bufsz, const char **k,
    size_t *n)
{
	int m = fold_text(w->s, w->e, FOLD_WORD, buf, bufsz);

	if (m < 0)
		return 0;
	*k = buf;
	*n = (size_t)m;
	core(k, n);
	return 1;
}

/* Is the skeleton a (m bytes) the skeleton of word? */
static int
skeleton_is(const char *a, int m, const char *word)
{
	char b[FOLD_MAX];

	return fold_darija(word, strlen(word), b, sizeof(b)) == m &&
	    memcmp(a, b, (size_t)m) == 0;
}

/* Is the folded word k one of the Arabizi words of list (by skeleton)?
 * Returns its index or -1. */
static int
darija_find(const char *k, size_t n, const char *const *list, size_t stride)
{
	char a[FOLD_MAX];
	int m;
	size_t i;

	if ((m = fold_darija(k, n, a, sizeof(a))) < 0)
		return -1;
	for (i = 0; list[i] != NULL; i += stride)
		if (skeleton_is(a, m, list[i]))
			return (int)i;
	return -1;
}

int
word_in(const struct span *w, const char *const *list)
{
	char buf[FOLD_MAX];
	const char *k;
	size_t n;

	return word_key(w, buf, sizeof(buf), &k, &n) && n > 0 &&
	    list_find(k, n, list, 1) >= 0;
}

int
word_in_darija(const struct span *w, const char *const *list)
{
	char buf[FOLD_MAX];
	const char *k;
	size_t n;

	return word_key(w, buf, sizeof(buf), &k, &n) && n > 0 &&
	    darija_find(k, n, list, 1) >= 0;
}

/* How many of the n words at w make one politeness filler of the STOP
 * rule: 1 for a word ("please", "svp", "من", "3afak"), more for a phrase
 * ("s'il vous plaît"), 0 when w starts none. */
size_t
filler_words(const struct span *w, size_t n)
{
	char buf[FOLD_MAX];
	const char *k, *t, *sp;
	size_t i, kn, tn, j;

	if (n == 0)
		return 0;
	if (word_in(&w[0], stop_fillers) || word_in(&w[0], stop_links) ||
	    word_in_darija(&w[0], darija_fillers))
		return 1;
	for (j = 0; stop_filler_phrases[j] != NULL; j++) {
		for (t = stop_filler_phrases[j], i = 0; i < n; i++) {
			sp = strchr(t, ' ');
			tn = sp != NULL ? (size_t)(sp - t) : strlen(t);
			if (!word_key(&w[i], buf, sizeof(buf), &k, &kn) ||
			    kn != tn || memcmp(k, t, tn) != 0)
				break;
			if (sp == NULL)
				return i + 1;
			t = sp + 1;
		}
	}
	return 0;
}

/* Whether the n words at w are all fillers (at least one): "svp", "من
 * فضلك", "s'il vous plaît". */
int
fillers_only(const struct span *w, size_t n)
{
	size_t i, k;

	for (i = 0; i < n; i += k)
		if ((k = filler_words(w + i, n - i)) == 0)
			return 0;
	return n > 0;
}

/* Whether the n words at w are all fillers of politeness or time (at
 * least one): "please", "svp", "من فضلك", "3afak", "now", "s'il vous
 * plaît"; not those that say what or how much ("all", "les", "me",
 * "sms"). */
int
polite_only(const struct span *w, size_t n)
{
	size_t i, k;

	for (i = 0; i < n; i += k) {
		if ((k = filler_words(w + i, n - i)) == 0)
			return 0;
		if (k == 1 && !word_in(&w[i], polite_fillers) &&
		    !word_in_darija(&w[i], polite_darija))
			return 0;
	}
	return n > 0;
}

/* A word of punctuation only, like the "!" of French "Aide !". */
int
punct_only(const struct span *w)
{
	char buf[FOLD_MAX];
	const char *k;
	size_t n;
	int m = fold_text(w->s, w->e, FOLD_PUNCT, buf, sizeof(buf));

	if (m <= 0)
		return 0;
	k = buf;
	n = (size_t)m;
	core(&k, &n);
	return n == 0;
}

static const struct keyword *
keyword_find(const char *k, size_t n)
{
	size_t i;

	for (i = 0; keywords[i].word != NULL; i++)
		if (strlen(keywords[i].word) == n &&
		    memcmp(keywords[i].word, k, n) == 0)
			return &keywords[i];
	if (n >= 8 && memcmp(k, ARABIC_AL, 4) == 0)
		return keyword_find(k + 4, n - 4);
	return NULL;
}

/* An Arabizi keyword (by skeleton), or NULL. */
static const struct keyword *
darija_keyword(const char *k, size_t n)
{
	char a[FOLD_MAX];
	int m;
	size_t i;

	if ((m = fold_darija(k, n, a, sizeof(a))) < 0)
		return NULL;
	for (i = 0; darija[i].word != NULL; i++)
		if (skeleton_is(a, m, darija[i].word))
			return &darija[i];
	return NULL;
}

const struct keyword *
keyword_of(const struct span *w)
{
	const struct keyword *kw;
	char buf[FOLD_MAX];
	const char *k;
	size_t n;

	if (!word_key(w, buf, sizeof(buf), &k, &n))
		return NULL;
	if (n == 0) {
		/* only punctuation: "?", "??", "?!" ask for help */
		if (strchr(buf, '?') == NULL)
			return NULL;
		k = "?";
		n = 1;
	}
	if ((kw = keyword_find(k, n)) == NULL)
		kw = darija_keyword(k, n);
	return kw;
}

int
handle_valid(const char *s, size_t len)
{
	size_t i;
	char c;

	if (s == NULL || len < 1 || len > HANDLE_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_'))
			return 0;
	}
	return 1;
}

/* Reads a handle from word w into out (lower-case). Returns 1 if valid.
 * *at tells whether the word carried an '@', valid or not. */
int
handle_parse(const struct span *w, char *out, int *at)
{
	char buf[FOLD_MAX];
	const char *k;
	size_t n, i;
	int m;

	*at = 0;
	m = fold_text(w->s, w->e, FOLD_PUNCT, buf, sizeof(buf));
	if (m < 0) {
		*at = w->s[0] == '@' || (w->e - w->s >= 3 &&
		    memcmp(w->s, "\xef\xbc\xa0", 3) == 0);
		return 0;
	}
	k = buf;
	n = (size_t)m;
	core(&k, &n);
	if (n > 0 && k[0] == '@') {
		*at = 1;
		k++;
		n--;
	}
	if (!handle_valid(k, n))
		return 0;
	for (i = 0; i < n; i++)
		out[i] = (k[i] >= 'A' && k[i] <= 'Z') ? k[i] + 'a' - 'A' : k[i];
	out[n] = '\0';
	return 1;
}

int
handle_filler(const char *h, size_t n)
{
	if (list_find(h, n, stop_fillers, 1) >= 0 ||
	    list_find(h, n, darija_fillers, 1) >= 0)
		return 1;
	/* Other Arabizi spellings ("3afaak") by skeleton, only with a digit
	 * in them: "alia" and "men" are names, though "3lia" and "mn" are
	 * fillers. */
	return strpbrk(h, "0123456789") != NULL && n < FOLD_MAX &&
	    darija_find(h, n, darija_fillers, 1) >= 0;
}

const char *
lang_parse(const struct span *w)
{
	char buf[FOLD_MAX];
	const char *k;
	size_t n;
	int i;

	if (!word_key(w, buf, sizeof(buf), &k, &n) || n == 0)
		return NULL;
	if ((i = list_find(k, n, langnames, 2)) >= 0)
		return langnames[i + 1];
	return darija_find(k, n, darija_langnames, 1) >= 0 ? "darija" : NULL;
}

/*
 * Whether code point c parts two words for the STOP check, glued as they
 * may be ("STOP,please", "stop/unsubscribe", "STOP\U0001F621"): ASCII
 * punctuation and symbols, Latin-1's and Arabic's punctuation,
 * general punctuation and symbols, emoji and their selectors.
 */
int
stop_separator(uint32_t c)
{
	if (c < 0x80)	/* not a control character: a NUL is no word's end */
		return c > 0x20 && c < 0x7f && !isalnum((int)c);
	return (c >= 0xa1 && c <= 0xbf) || c == 0xd7 || c == 0xf7 ||
	    c == 0x60c || c == 0x61b || c == 0x61f || c == 0x6d4 ||
	    (c >= 0x2000 && c <= 0x2bff) || (c >= 0x3000 && c <= 0x303f) ||
	    (c >= 0xfe00 && c <= 0xfe0f) || (c >= 0x1f000 && c <= 0x1faff);
}

/* A word that holds no letter or digit: punctuation, symbols, emoji and
 * emoticons (":-)", "🙏", "👍🏽", "❤️", "^_^"). Trailing ones do not count
 * in a command's shape: "FOLLOW karim :-)" became a post. Not a word with
 * an '@' ("JOIN @" is a bad handle), nor one that is a handle ("_"). */
int
symbol_only(const struct span *w)
{
	char h[FOLD_MAX];
	const char *p;
	uint32_t c;
	size_t n;
	int under = 0, at;

	for (p = w->s; p < w->e; p += n) {
		n = fold_char_at(p, w->e, &c);
		if (c == BAD_CHAR)
			return 0;
		if (c >= 0xff01 && c <= 0xff5e)
			c -= 0xfee0;	/* full-width ASCII */
		if (c == '@')
			return 0;
		under |= c == '_';
		/* tag characters (U+E0020-E007F) spell the flags of regions */
		if (!(stop_separator(c) || fold_is_ignorable(c) ||
		    (c >= 0xe0020 && c <= 0xe007f)))
			return 0;
	}
	return !under || !handle_parse(w, h, &at);
}

/* The end of the last word of [s, e) that counts in a command's shape:
 * the first word always does; after it, words that drop(w) says are
 * trailing noise do not. */
const char *
shape_end(const char *s, const char *e, int (*drop)(const struct span *))
{
	const char *p = s, *end = s;
	struct span w;

	if (word_next(&p, e, &w))
		end = w.e;
	while (word_next(&p, e, &w))
		if (!drop(&w))
			end = w.e;
	return end;
}

/* Whether the character at p (before e) joins two parts of one word: a
 * hyphen or an apostrophe, typed or typographic ("stop's", "Stop’s",
 * "stop-motion", "Stop–motion": U+2018, U+2019, U+2010-2014, U+2212). */
int
joiner_at(const char *p, const char *e)
{
	uint32_t c;

	(void)fold_char_at(p, e, &c);
	return c == '-' || c == '\'' || c == 0x2018 || c == 0x2019 ||
	    (c >= 0x2010 && c <= 0x2014) || c == 0x2212;
}

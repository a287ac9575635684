/*
 * parse_hours.c: the hours of SLEEP and of TRACK ... DIGEST, in the forms
 * texters write them ("23 7", "23h-7h", "de 23h à 7h", "11pm 7am", "à 18h",
 * "١١م ٧ص", "٨ مساء", "8h du soir", Arabic-Indic digits), for parse.c.
 */
#include <string.h>

#include "fold.h"
#include "keywords.h"
#include "parse_words.h"

/* A word that says which half of the day an hour is in, folded: 'a'
 * (am, صباحا, ص, matin), 'p' (pm, مساء, م, ظهرا, soir), 'n' (ليلا, "at
 * night": 9 is 21, 2 is 2, 12 is 0), or 0. */
static int
ampm_word(const char *t, size_t n)
{
	static const char *const words[] = {
		"am", "a", "pm", "p", "صباحا", "a", "صباح", "a", "ص", "a",
		"matin", "a", "مساء", "p", "مساءا", "p", "م", "p", "ظهرا", "p",
		"soir", "p", "ليلا", "n", "ليل", "n", NULL
	};
	int i;

	if ((i = list_find(t, n, words, 2)) < 0)
		return 0;
	return words[i + 1][0];
}

/* The hour h (1-12) in that half of the day, 0-23, or -1. */
static int
ampm_hour(int h, int ampm)
{
	if (h < 1 || h > 12)
		return -1;
	if (ampm == 'n')
		return h == 12 ? 0 : h >= 6 ? h + 12 : h;
	return h % 12 + (ampm == 'p' ? 12 : 0);
}

/* "23", "23h", "23h00", "23:00", "11pm", "11م", "7ص": the hour
 * (unchecked), or -1. *ampm is 0 or what ampm_word says. */
static int
hour_token(const char *t, size_t n, int *ampm)
{
	size_t i = 0;
	int h = 0;

	*ampm = 0;
	while (i < n && i < 2 && t[i] >= '0' && t[i] <= '9')
		h = h * 10 + (t[i++] - '0');
	if (i == 0)
		return -1;
	t += i;
	n -= i;
	if (n == 0 || (n == 1 && t[0] == 'h'))
		return h;
	if (n == 3 && (memcmp(t, "h00", 3) == 0 || memcmp(t, ":00", 3) == 0))
		return h;
	if ((*ampm = ampm_word(t, n)) != 0)
		return h;
	return -1;
}

/* Two hours from the SLEEP arguments. Returns 0 and sets from, to, or -1. */
int
hours_parse(const struct span *args, size_t nargs, int *from, int *to)
{
	char buf[FOLD_MAX];
	const char *p, *q, *end, *k, *t;
	int h[2] = { 0, 0 }, ap[2] = { 0, 0 }, a;
	size_t i, n, tn, nh = 0;

	for (i = 0; i < nargs; i++) {
		if (!word_key(&args[i], buf, sizeof(buf), &k, &n))
			return -1;
		for (p = k, end = k + n; p < end; p = q + 1) {
			/* "23-7" and "23h-7h" are split at the dash */
			q = memchr(p, '-', (size_t)(end - p));
			if (q == NULL)
				q = end;
			t = p;
			tn = (size_t)(q - p);
			core(&t, &tn);
			if (tn == 0 || list_find(t, tn, sleep_joiners, 1) >= 0)
				continue;
			if (nh > 0 && ap[nh - 1] == 0 &&
			    (a = ampm_word(t, tn)) != 0) {
				ap[nh - 1] = a;	/* "11 pm", "١١ مساء" */
				continue;
			}
			if (nh == 2 || (h[nh] = hour_token(t, tn, &a)) < 0)
				return -1;
			ap[nh++] = a;
		}
	}
	if (nh != 2)
		return -1;
	for (i = 0; i < 2; i++) {
		if (ap[i] != 0) {
			if ((h[i] = ampm_hour(h[i], ap[i])) < 0)
				return -1;
		} else if (h[i] > 23)
			return -1;
	}
	if (h[0] == h[1])
		return -1;
	*from = h[0];
	*to = h[1];
	return 0;
}

/* DIGEST's hour from its words: "18", "18h", "18:00", "6pm", "6 pm",
 * "à 18h", Arabic-Indic digits. 0-23, or -1. */
int
digest_hour_parse(const struct span *args, size_t nargs)
{
	char buf[FOLD_MAX];
	const char *k;
	size_t n, i;
	int h = -1, ap = 0;

	for (i = 0; i < nargs; i++) {
		if (!word_key(&args[i], buf, sizeof(buf), &k, &n))
			return -1;
		if (n == 0 || list_find(k, n, digest_joiners, 1) >= 0)
			continue;
		if (h >= 0 && ap == 0 && (ap = ampm_word(k, n)) != 0)
			continue;	/* "6 pm", "٨ مساء" */
		if (h >= 0 || (h = hour_token(k, n, &ap)) < 0)
			return -1;
	}
	if (h < 0)
		return -1;
	if (ap != 0)
		return ampm_hour(h, ap);
	return h <= 23 ? h : -1;
}

/* How many of DIGEST's hour words are not joiners ("at", "الساعة"):
 * more than an hour and its half of the day ("at 6 pm please") is a
 * sentence, not an hour. */
int
digest_hour_words(const struct span *args, size_t nargs)
{
	char buf[FOLD_MAX];
	const char *k;
	size_t n, i;
	int words = 0;

	for (i = 0; i < nargs; i++)
		if (!word_key(&args[i], buf, sizeof(buf), &k, &n) ||
		    (n > 0 && list_find(k, n, digest_joiners, 1) < 0))
			words++;
	return words;
}

/* Whether a word of the arguments holds a digit: hours were meant. */
int
args_have_digit(const struct span *args, size_t nargs)
{
	char buf[FOLD_MAX];
	size_t i;
	int m;

	for (i = 0; i < nargs; i++) {
		m = fold_text(args[i].s, args[i].e, FOLD_WORD, buf, sizeof(buf));
		if (m > 0 && strpbrk(buf, "0123456789") != NULL)
			return 1;
	}
	return 0;
}

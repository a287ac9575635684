/*
 * The text and number helpers of the worker's libgammu layer (gsm.c,
 * gsmsend.c) that need no modem: what identification copies, what a send
 * checks a number against, and how a text cut to fit ends.
 */
#include <stdlib.h>
#include <string.h>

#include "gsmtext.h"
#include "log.h"

/* Copies what fits; jstr() repairs a UTF-8 sequence cut in half. */
void
gsm_copy(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

int
gsm_number_valid(const char *to)
{
	size_t digits = 0;

	if (*to == '+')
		to++;
	for (; *to != '\0'; to++, digits++)
		if (*to < '0' || *to > '9')
			return 0;
	return digits >= 1 && digits <= 20;
}

char *
gsm_cut_text(const char *text, size_t n, const char *more)
{
	size_t ml = strlen(more);
	char *out;

	while (n > 0 && (text[n - 1] == ' ' || text[n - 1] == '\n'))
		n--;
	if ((out = malloc(n + ml + 1)) == NULL)
		fatal("malloc");
	memcpy(out, text, n);
	memcpy(out + n, more, ml + 1);
	return out;
}

/* The unit at u (big-endian). */
static unsigned
unit_at(const unsigned char *u)
{
	return (unsigned)u[0] << 8 | u[1];
}

/* The marker of a lone surrogate at u, in its place: a pair of units of
 * U+F0000 + k; the rest of the text (rest bytes, its 0 unit included)
 * moved one unit on. */
static void
mark_at(unsigned char *u, size_t rest, unsigned k)
{
	unsigned hi = 0xdb80 + (k >> 10), lo = 0xdc00 + (k & 0x3ff);

	memmove(u + 4, u + 2, rest);
	u[0] = (unsigned char)(hi >> 8);
	u[1] = (unsigned char)hi;
	u[2] = (unsigned char)(lo >> 8);
	u[3] = (unsigned char)lo;
}

void
gsm_mark_cut_pair(unsigned char *u, size_t cap)
{
	size_t n = 0;
	unsigned first, last;

	while (2 * n + 1 < cap && unit_at(u + 2 * n) != 0)
		n++;
	if (n == 0 || 2 * n + 2 > cap)
		return;
	/* A high surrogate last, or a low one first, has no other half. */
	last = unit_at(u + 2 * (n - 1));
	if (last >= 0xd800 && last <= 0xdbff && 2 * n + 4 <= cap) {
		mark_at(u + 2 * (n - 1), 2, last - 0xd800);
		n++;
	}
	first = unit_at(u);
	if (first >= 0xdc00 && first <= 0xdfff && 2 * n + 4 <= cap)
		mark_at(u, 2 * n, 0x400 + first - 0xdc00);
}

void
gsm_mark_cut_escape(unsigned char *u, size_t cap)
{
	size_t n = 0;

	while (2 * n + 1 < cap && unit_at(u + 2 * n) != 0)
		n++;
	if (n > 0 && 2 * n + 4 <= cap && unit_at(u + 2 * (n - 1)) == 0x00b9)
		mark_at(u + 2 * (n - 1), 2, 0x800);
}

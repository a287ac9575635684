/*
 * utf8.c: strict UTF-8 checks. libgammu's DecodeUTF8 silently stops at the
 * first invalid byte, and jansson refuses invalid strings, so text is checked
 * here before it reaches either.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "worker.h"

/* Length of the valid sequence at s (RFC 3629), or 0 if invalid. */
static size_t
utf8_seq(const unsigned char *s, size_t left)
{
	unsigned char c = s[0];
	size_t n;
	unsigned char lo = 0x80, hi = 0xbf;

	if (c < 0x80)
		return 1;
	if (c < 0xc2)
		return 0;
	if (c < 0xe0)
		n = 2;
	else if (c < 0xf0) {
		n = 3;
		if (c == 0xe0)
			lo = 0xa0;	/* overlong */
		else if (c == 0xed)
			hi = 0x9f;	/* surrogates */
	} else if (c < 0xf5) {
		n = 4;
		if (c == 0xf0)
			lo = 0x90;	/* overlong */
		else if (c == 0xf4)
			hi = 0x8f;	/* above U+10FFFF */
	} else
		return 0;
	if (left < n)
		return 0;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

int
utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		size_t n = utf8_seq(p + i, len - i);
		if (n == 0)
			return 0;
		i += n;
	}
	return 1;
}

size_t
utf8_count(const char *s, size_t len)
{
	size_t count = 0;

	for (size_t i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			count++;
	return count;
}

char *
utf8_sanitize(const char *s, size_t len, size_t *outlen)
{
	const unsigned char *p = (const unsigned char *)s;
	char *out = malloc(len * 3 + 1);	/* one byte can become U+FFFD */
	size_t i = 0, o = 0;

	if (out == NULL)
		return NULL;
	while (i < len) {
		size_t n = utf8_seq(p + i, len - i);
		if (n == 0) {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		} else {
			memcpy(out + o, p + i, n);
			o += n;
			i += n;
		}
	}
	out[o] = '\0';
	if (outlen != NULL)
		*outlen = o;
	return out;
}

/* The code point of the valid sequence at s (n bytes long). */
static uint32_t
utf8_cp(const unsigned char *s, size_t n)
{
	static const unsigned char lead[] = { 0, 0x7f, 0x1f, 0x0f, 0x07 };
	uint32_t c = s[0] & lead[n];

	for (size_t i = 1; i < n; i++)
		c = (c << 6) | (s[i] & 0x3f);
	return c;
}

size_t *
utf8_offsets(const char *s, size_t len, size_t *n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t *off = malloc((len + 1) * sizeof(*off));
	size_t i = 0, k = 0;

	if (off == NULL)
		return NULL;
	while (i < len) {
		size_t m = utf8_seq(p + i, len - i);
		off[k++] = i;
		i += m ? m : 1;
	}
	off[k] = len;
	*n = k;
	return off;
}

/* The code point that ends just before byte offset off (off > 0). */
static uint32_t
utf8_before(const unsigned char *p, size_t off, size_t *start)
{
	size_t b = off - 1;

	while (b > 0 && (p[b] & 0xc0) == 0x80 && off - b < 4)
		b--;
	*start = b;
	return utf8_seq(p + b, off - b) == off - b ? utf8_cp(p + b, off - b) : 0xfffd;
}

/* Characters that extend the one before them into one symbol. */
static int
utf8_extender(uint32_t c)
{
	return c == 0x200d ||				/* zero-width joiner */
	    (c >= 0xfe00 && c <= 0xfe0f) ||		/* variation selectors */
	    (c >= 0x1f3fb && c <= 0x1f3ff) ||		/* skin tones */
	    (c >= 0x0300 && c <= 0x036f) ||		/* combining accents */
	    (c >= 0x064b && c <= 0x065f) ||		/* Arabic harakat */
	    c == 0x20e3 ||				/* keycap */
	    (c >= 0xe0020 && c <= 0xe007f);		/* tags (flags) */
}

static int
utf8_regional(uint32_t c)
{
	return c >= 0x1f1e6 && c <= 0x1f1ff;
}

int
utf8_cut_ok(const char *s, size_t len, size_t off)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t next, prev;
	size_t m, start, at;
	int ri = 0;

	if (off == 0 || off >= len)
		return 1;
	if ((p[off] & 0xc0) == 0x80 || (m = utf8_seq(p + off, len - off)) == 0)
		return 0;
	next = utf8_cp(p + off, m);
	prev = utf8_before(p, off, &start);
	if (utf8_extender(next) || prev == 0x200d)
		return 0;
	if (!utf8_regional(next) || !utf8_regional(prev))
		return 1;
	/* A flag is a pair of regional indicators: cut after an even run. */
	for (at = off; at > 0 && utf8_regional(utf8_before(p, at, &start)); at = start)
		ri++;
	return ri % 2 == 0;
}

/* fold.c: UTF-8 decoding and the folding of words for comparison, shared
 * by the shortcode parser. The rules match pigeon_fold() in
 * db/migrations/0006_track.sql, which folds the words of posts for TRACK
 * and SEARCH: keywords and tracked words fold alike.
 */
#include <stdint.h>
#include <string.h>

#include "fold.h"

/* Latin-1 letters U+00C0..U+00FF without their accents; '-' keeps the
 * character as it is. */
static const char latin1[] =
	"aaaaaa-ceeeeiiii" "-nooooo-ouuuuy--"
	"aaaaaa-ceeeeiiii" "-nooooo-ouuuuy-y";

/* Decodes the character at s (s < e). Returns its length; *cp is BAD_CHAR
 * (length 1) when the bytes are not UTF-8, overlong and surrogates included. */
static size_t
utf8_next(const unsigned char *s, const unsigned char *e, uint32_t *cp)
{
	uint32_t c, min;
	size_t n, i;

	*cp = BAD_CHAR;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0) {
		n = 2; c = s[0] & 0x1f; min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3; c = s[0] & 0x0f; min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4; c = s[0] & 0x07; min = 0x10000;
	} else
		return 1;
	if ((size_t)(e - s) < n)
		return 1;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 1;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 1;
	*cp = c;
	return n;
}

size_t
fold_char_at(const char *s, const char *e, uint32_t *cp)
{
	return utf8_next((const unsigned char *)s, (const unsigned char *)e, cp);
}

/* White space and the invisible marks that separate words. */
int
fold_is_space(uint32_t c)
{
	return c == ' ' || (c >= '\t' && c <= '\r') || c == 0x85 ||
	    c == 0xa0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200b) ||
	    c == 0x200e || c == 0x200f || c == 0x2028 || c == 0x2029 ||
	    (c >= 0x202a && c <= 0x202f) || c == 0x205f || c == 0x2060 ||
	    (c >= 0x2066 && c <= 0x2069) || c == 0x3000 || c == 0xfeff ||
	    c == 0x061c;
}

/* Marks dropped inside a keyword: combining accents, tatweel, harakat,
 * superscript alef, Quranic marks, ZWNJ and ZWJ. */
int
fold_is_ignorable(uint32_t c)
{
	return (c >= 0x0300 && c <= 0x036f) || c == 0x0640 ||
	    (c >= 0x064b && c <= 0x065f) || c == 0x0670 ||
	    (c >= 0x06d6 && c <= 0x06ed) || c == 0x200c || c == 0x200d;
}

static int
put(char *out, size_t *n, size_t outsz, const char *s, size_t len)
{
	if (*n + len >= outsz)
		return -1;
	memcpy(out + *n, s, len);
	*n += len;
	return 0;
}

static int
put_char(char *out, size_t *n, size_t outsz, uint32_t c)
{
	char b[4];
	size_t len;

	if (c < 0x80) {
		b[0] = (char)c; len = 1;
	} else if (c < 0x800) {
		b[0] = (char)(0xc0 | (c >> 6));
		b[1] = (char)(0x80 | (c & 0x3f)); len = 2;
	} else if (c < 0x10000) {
		b[0] = (char)(0xe0 | (c >> 12));
		b[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		b[2] = (char)(0x80 | (c & 0x3f)); len = 3;
	} else {
		b[0] = (char)(0xf0 | (c >> 18));
		b[1] = (char)(0x80 | ((c >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((c >> 6) & 0x3f));
		b[3] = (char)(0x80 | (c & 0x3f)); len = 4;
	}
	return put(out, n, outsz, b, len);
}

static uint32_t
fold_arabic(uint32_t c)
{
	switch (c) {
	case 0x0622: case 0x0623: case 0x0625: case 0x0671:
		return 0x0627;		/* alef forms: ا */
	case 0x0629:
		return 0x0647;		/* ta marbuta: ه */
	case 0x0649: case 0x06cc:
		return 0x064a;		/* alef maksura, Farsi yeh: ي */
	case 0x06a9:
		return 0x0643;		/* keheh: ك */
	}
	return c;	/* (digits: fold_text, in both modes) */
}

/*
 * The Arabic presentation forms: the shaped letters (isolated, final,
 * initial, medial) and ligatures some phones send instead of the letters,
 * as their Unicode compatibility decompositions (NFKD, as pigeon_fold
 * takes them) give them. Forms-B, U+FE80..U+FEF4, are the forms of
 * U+0621..U+063A and U+0641..U+064A in order, each letter with the count
 * below: hamza one, the letters that join on one side only two, the others
 * four. U+FEF5..U+FEFC are lam-alef ligatures, two forms of each of lam
 * + آ أ إ ا. U+FE70..U+FE7F are harakat, alone or on a tatweel (U+FE73,
 * a tail fragment, and the unassigned U+FE75 stay). Of Forms-A, only the
 * forms of the letters fold_arabic folds: ٱ, ک, ی and ى.
 */
static const char forms_b[] = "12222424244444222244444444" "4444444224";

/* The base letters of c into b (one or two); returns their count. */
static int
unshape(uint32_t c, uint32_t b[2])
{
	uint32_t f = 0xfe80, l = 0x0621;
	const char *p;

	b[0] = c;
	if (c >= 0xfe70 && c <= 0xfe7f && c != 0xfe73 && c != 0xfe75)
		b[0] = c <= 0xfe71 ? 0x064b : c <= 0xfe74 ?
		    0x064c + (c - 0xfe72) / 2 : 0x064e + (c - 0xfe76) / 2;
	else if (c >= 0xfef5 && c <= 0xfefc) {
		b[0] = 0x0644;
		b[1] = 0x0600 + (uint32_t)"\x22\x23\x25\x27"[(c - 0xfef5) / 2];
		return 2;
	} else if (c >= 0xfe80 && c <= 0xfef4) {
		for (p = forms_b; c >= f + (uint32_t)(*p - '0'); p++) {
			f += (uint32_t)(*p - '0');
			l = l == 0x063a ? 0x0641 : l + 1;
		}
		b[0] = l;
	} else if (c == 0xfb50 || c == 0xfb51)
		b[0] = 0x0671;
	else if (c >= 0xfb8e && c <= 0xfb91)
		b[0] = 0x06a9;
	else if (c == 0xfbe8 || c == 0xfbe9)
		b[0] = 0x0649;
	else if (c >= 0xfbfc && c <= 0xfbff)
		b[0] = 0x06cc;
	return 1;
}

/* Folds the character c into out: what fold_text does to each. */
static int
fold_char(uint32_t c, enum fold_mode mode, char *out, size_t *n, size_t outsz)
{
	if (c >= 0xff01 && c <= 0xff5e)
		c -= 0xfee0;	/* full-width ASCII */
	/* Arabic-Indic and Eastern Arabic-Indic digits, as an Arabic
	 * keyboard types them: "karim٢" is @karim2. */
	if (c >= 0x0660 && c <= 0x0669)
		c = '0' + (c - 0x0660);
	else if (c >= 0x06f0 && c <= 0x06f9)
		c = '0' + (c - 0x06f0);
	switch (c) {
	case 0x061f: c = '?'; break;
	case 0x060c: c = ','; break;
	case 0x061b: c = ';'; break;
	case 0x06d4: case 0x3002: c = '.'; break;
	case 0x00ab: case 0x00bb: case 0x201c: case 0x201d: case 0x201e:
		c = '"'; break;
	case 0x2018: case 0x2019: c = '\''; break;
	case 0x2013: case 0x2014: case 0x2212: c = '-'; break;
	case 0x2026:
		return put(out, n, outsz, "...", 3);
	}
	if (mode == FOLD_WORD) {
		if (fold_is_ignorable(c))
			return 0;
		if (c == 0x0152 || c == 0x0153)
			return put(out, n, outsz, "oe", 2);
		if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		else if (c >= 0xc0 && c <= 0xff && latin1[c - 0xc0] != '-')
			c = (unsigned char)latin1[c - 0xc0];
		else
			c = fold_arabic(c);
	}
	return put_char(out, n, outsz, c);
}

/* Folds [s, e) into out (NUL-terminated). Returns the length, or -1 for
 * invalid UTF-8 or a word that does not fit: such a word matches nothing.
 * Presentation forms are their letters in either mode, as full-width
 * letters are. */
int
fold_text(const char *s, const char *e, enum fold_mode mode, char *out,
    size_t outsz)
{
	size_t n = 0, len;
	uint32_t c, b[2];
	int i, k;

	for (; s < e; s += len) {
		len = fold_char_at(s, e, &c);
		if (c == BAD_CHAR)
			return -1;
		k = unshape(c, b);
		for (i = 0; i < k; i++)
			if (fold_char(b[i], mode, out, &n, outsz) == -1)
				return -1;
	}
	if (n >= outsz)
		return -1;
	out[n] = '\0';
	return (int)n;
}

/*
 * Arabizi (Darija in Latin letters with digits) is spelled many ways:
 * "tbe3", "tba3", "tb3" and "tebbe3" are one word. For keywords only (the
 * words of posts are folded by pigeon_fold alone), a word of a-z and 0-9
 * holding a letter is reduced to a skeleton: the digits are the letters
 * they stand for (3 ع and 2 ء as a, 7 ح as h, 9 ق as q), sh and x are
 * ch, o is u (so ou is u), e is dropped (the short vowel is written e or
 * not at all), and a run of one letter is one letter ("3awenni", "baraaka").
 */
int
fold_darija(const char *s, size_t n, char *out, size_t outsz)
{
	const char *emit;
	size_t i, o = 0;
	int letter = 0;
	char c, one[2] = { 0, 0 };

	for (i = 0; i < n; i++) {
		if (s[i] >= 'a' && s[i] <= 'z')
			letter = 1;
		else if (s[i] < '0' || s[i] > '9')
			return -1;
	}
	if (!letter)
		return -1;
	for (i = 0; i < n; i++) {
		c = s[i];
		switch (c) {
		case 'e':
			continue;
		case '2': case '3':
			c = 'a';
			break;
		case '7':
			c = 'h';
			break;
		case '9':
			c = 'q';
			break;
		case 'o':
			c = 'u';
			break;
		}
		if (c == 'x' || (c == 's' && i + 1 < n && s[i + 1] == 'h')) {
			emit = "ch";
			i += c == 's';
		} else {
			one[0] = c;
			emit = one;
		}
		for (; *emit != '\0'; emit++) {
			if (o > 0 && out[o - 1] == *emit)
				continue;
			if (o + 1 >= outsz)
				return -1;
			out[o++] = *emit;
		}
	}
	if (o == 0)
		return -1;
	out[o] = '\0';
	return (int)o;
}

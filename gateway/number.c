/* number.c: sender and recipient numbers to E.164, short codes and
 * alphanumeric senders. Pure functions of their arguments.
 *
 * The rules, in order (cc is the configured country calling code):
 *
 * - Leading and trailing white space is ignored: ASCII space, tab, CR, LF,
 *   no-break spaces (U+00A0, U+202F), the Unicode spaces, and invisible
 *   format characters (bidi marks and isolates, zero-width space, BOM), which
 *   phones add around numbers copied in a right-to-left language.
 * - Invalid UTF-8 or a control character anywhere: INVALID.
 * - A letter anywhere (ASCII or any non-ASCII character that is not a space,
 *   a dash or an invisible mark): ALPHA. The result is the sender with white
 *   space runs folded to one space and invisible marks dropped, cut at a
 *   character boundary to NUMBER_MAX - 1 bytes. The network carries at most 11
 *   GSM characters, but some modems report longer names ("Maroc Telecom"), and
 *   since an alphanumeric sender is only stored, never answered, it is kept.
 * - Otherwise the text is a number: digits with separators (space, '.', '-',
 *   '/', '(', ')'); one '+', before every digit, with nothing but opening
 *   brackets before it: "+212..." or the country code in brackets,
 *   "(+212) 661 000 002", as business cards and signatures write it; a
 *   "(0)" after at least one digit is the trunk prefix of the international
 *   format and is dropped ("+212 (0)661234567"). Any other character:
 *   INVALID.
 * - "+D" and "00D" are international: D must not start with 0 and, once an
 *   extra trunk 0 right after our own cc is dropped ("+2120661234567"), must
 *   be 8..15 digits.
 * - Otherwise, at most 6 digits (leading 0 or not) is a SHORT code ("40404",
 *   "123", "0800"): stored as its digits, never answered.
 * - "0N" is national with the trunk prefix 0: cc + N ("0661234567").
 * - A bare number of 7..10 digits is a national number written without its
 *   trunk 0 (networks report national-type senders that way): cc + N
 *   ("661234567" becomes +212661234567).
 * - A bare number of 11..15 digits is international without its '+'
 *   ("212661234567", "33612345678"): national significant numbers are at
 *   most 10 digits in the numbering plans that use a trunk 0, and full
 *   mobile numbers with their country code are at least 11 in most.
 * - The result must be 8..15 digits; anything longer is INVALID.
 * - When the number's country fixes how many digits follow its calling code
 *   (the national significant number), it must have that many, in national
 *   and international forms alike: Moroccan numbers are 9 digits after 212,
 *   so "06610000", "6610000000" and "+21266100000" are INVALID (queued, the
 *   network refused them; the sender learnt it from a failed message). The
 *   plans are the table below (North America, Morocco, Tunisia, Senegal,
 *   France, Spain); a number of another country is not checked.
 *
 * National numbers assume the home country's trunk prefix is 0 and that no
 * national number starts with 0 (Morocco, France and most of Africa, Europe
 * and Asia). For a country without a trunk 0 (Italy, Spain, North America),
 * give numbers in international form. A country that is not 1-3 digits
 * (or NULL) makes every national form INVALID; international forms still work.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fold.h"
#include "number.h"

#define E164_MIN	8	/* digits after '+' */
#define E164_MAX	15
#define SHORT_MAX	6	/* longest short code */
#define NATIONAL_MAX	10	/* longest bare number taken as national */
#define DIGITS_MAX	20	/* more digits than this is garbage */

static int
is_space(uint32_t c)
{
	return c == ' ' || (c >= '\t' && c <= '\r') || c == 0xa0 ||
	    (c >= 0x2000 && c <= 0x200a) || c == 0x202f || c == 0x205f ||
	    c == 0x3000;
}

/* Invisible format characters: bidi marks, embeddings and isolates,
 * zero-width space and joiners, word joiner, BOM. */
static int
is_invisible(uint32_t c)
{
	return c == 0x061c || (c >= 0x200b && c <= 0x200f) ||
	    (c >= 0x202a && c <= 0x202e) || c == 0x2060 ||
	    (c >= 0x2066 && c <= 0x2069) || c == 0xfeff;
}

static int
is_dash(uint32_t c)
{
	return c == '-' || (c >= 0x2010 && c <= 0x2015) || c == 0x2212;
}

static int
is_control(uint32_t c)
{
	return (c < 0x20 && !is_space(c)) || (c >= 0x7f && c < 0xa0);
}

/* The value of a digit as phones and keyboards write it: ASCII, Arabic-
 * Indic (٠-٩), Eastern Arabic-Indic (۰-۹) or full-width; -1 otherwise.
 * "٠٦٦١٠٠٠٠٠٢" is 0661000002 (it was a bad number, or an alphanumeric
 * sender). */
static int
digit_of(uint32_t c)
{
	if (c >= '0' && c <= '9')
		return (int)(c - '0');
	if (c >= 0x0660 && c <= 0x0669)
		return (int)(c - 0x0660);
	if (c >= 0x06f0 && c <= 0x06f9)
		return (int)(c - 0x06f0);
	if (c >= 0xff10 && c <= 0xff19)
		return (int)(c - 0xff10);
	return -1;
}

static int
is_letter(uint32_t c)
{
	if (c < 0x80)
		return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
	return !is_space(c) && !is_invisible(c) && !is_dash(c) && digit_of(c) < 0;
}

static int
country_valid(const char *cc)
{
	size_t i, n;

	if (cc == NULL)
		return 0;
	n = strlen(cc);
	if (n < 1 || n > 3 || cc[0] == '0')
		return 0;
	for (i = 0; i < n; i++)
		if (cc[i] < '0' || cc[i] > '9')
			return 0;
	return 1;
}

/*
 * The national significant number's lengths where the country's plan fixes
 * them (ITU-T E.164 assignments, the national plans). Calling codes are
 * prefix-free (no other code starts with 1, none is 21, 212 is Morocco), so
 * a number that starts with a row's code is of that country. A row that
 * goes on with digits after the code is a range of that plan with lengths
 * of its own; the longest row that matches is the one. Only plans known to
 * be closed are here: a number of a country not here is taken as it is.
 * France and Spain give machine-to-machine SIMs (which get SMS) numbers of
 * 13 digits in ranges of their own; those rows keep 9 too, the length of
 * the plan's other numbers, as nothing says none is left there.
 */
#define LEN(n)		(1u << (n))
static const struct plan {
	const char	*prefix;	/* calling code, then any NSN digits */
	unsigned	 cc;		/* digits of the calling code in prefix */
	unsigned	 lengths;	/* LEN(n) for each length n allowed */
} plans[] = {
	{ "1",		1, LEN(10) },		/* NANP: NPA NXX XXXX */
	{ "212",	3, LEN(9) },		/* Morocco */
	{ "216",	3, LEN(8) },		/* Tunisia */
	{ "221",	3, LEN(9) },		/* Senegal */
	{ "33",		2, LEN(9) },		/* France */
	{ "33700",	2, LEN(9) | LEN(13) },	/* France: 0700, M2M of 14 digits */
	{ "33901",	2, LEN(9) | LEN(13) },	/* France: 0901, 14 digits */
	{ "34",		2, LEN(9) },		/* Spain */
	{ "3459",	2, LEN(9) | LEN(13) },	/* Spain: 59, M2M of 13 digits */
};

/* The row of the international number d (digits only, no '+'), or NULL
 * when its country's lengths are not fixed here. */
static const struct plan *
plan_of(const char *d, size_t n)
{
	const struct plan *best = NULL;
	size_t i, pl;

	for (i = 0; i < sizeof(plans) / sizeof(plans[0]); i++) {
		pl = strlen(plans[i].prefix);
		if (n >= pl && memcmp(d, plans[i].prefix, pl) == 0 &&
		    (best == NULL || pl > strlen(best->prefix)))
			best = &plans[i];
	}
	return best;
}

/* Whether d has a length its row allows (any, without a row). check is 0
 * only for number_plan_why, which looks for what the check refused. */
static int
plan_fits(const char *d, size_t n, int check)
{
	const struct plan *p = check ? plan_of(d, n) : NULL;

	return p == NULL || (n - p->cc < 32 && (p->lengths & LEN(n - p->cc)) != 0);
}

static enum number_kind
emit(const char *s, size_t n, enum number_kind kind, char *out, size_t outlen)
{
	if (n >= outlen)
		return NUMBER_INVALID;
	memcpy(out, s, n);
	out[n] = '\0';
	return kind;
}

/* The alphanumeric sender in [s, e), white space folded, invisibles dropped. */
static enum number_kind
alpha(const unsigned char *s, const unsigned char *e, char *out, size_t outlen)
{
	char buf[NUMBER_MAX];
	size_t n = 0, len;
	int space = 0;
	uint32_t c;

	for (; s < e; s += len) {
		len = fold_char_at((const char *)s, (const char *)e, &c);
		if (is_invisible(c))
			continue;
		if (is_space(c)) {
			space = n > 0;
			continue;
		}
		if (n + space + len > sizeof(buf) - 1)
			break;
		if (space)
			buf[n++] = ' ';
		space = 0;
		memcpy(buf + n, s, len);
		n += len;
	}
	return emit(buf, n, NUMBER_ALPHA, out, outlen);
}

/* "+" and the international number d (digits only), checked. */
static enum number_kind
international(const char *d, size_t n, const char *cc, int check, char *out,
    size_t outlen)
{
	char buf[1 + E164_MAX + 1];
	size_t ccl;

	if (n > E164_MAX + 1)	/* even with a trunk 0 to drop */
		return NUMBER_INVALID;
	if (country_valid(cc)) {
		ccl = strlen(cc);
		if (n > ccl && memcmp(d, cc, ccl) == 0 && d[ccl] == '0') {
			/* "+212 0661...": the trunk 0 kept by mistake. Only one:
			 * no national number starts with 0, and a second 0 left
			 * in would be dropped by normalizing the result again. */
			if (n > ccl + 1 && d[ccl + 1] == '0')
				return NUMBER_INVALID;
			buf[0] = '+';
			memcpy(buf + 1, d, ccl);
			memcpy(buf + 1 + ccl, d + ccl + 1, n - ccl - 1);
			n--;
			if (n < E164_MIN || n > E164_MAX ||
			    !plan_fits(buf + 1, n, check))
				return NUMBER_INVALID;
			return emit(buf, n + 1, NUMBER_E164, out, outlen);
		}
	}
	if (n < E164_MIN || n > E164_MAX || d[0] == '0' ||
	    !plan_fits(d, n, check))
		return NUMBER_INVALID;
	buf[0] = '+';
	memcpy(buf + 1, d, n);
	return emit(buf, n + 1, NUMBER_E164, out, outlen);
}

/* cc followed by the national significant number d. */
static enum number_kind
national(const char *d, size_t n, const char *cc, int check, char *out,
    size_t outlen)
{
	char buf[3 + DIGITS_MAX];
	size_t ccl;

	if (!country_valid(cc))
		return NUMBER_INVALID;
	ccl = strlen(cc);
	memcpy(buf, cc, ccl);
	memcpy(buf + ccl, d, n);
	return international(buf, ccl + n, NULL, check, out, outlen);
}

static enum number_kind
normalize(const char *in, const char *country, int check, char *out,
    size_t outlen)
{
	const unsigned char *p, *s, *e, *end;
	char d[DIGITS_MAX];
	size_t len, n = 0;
	int letter = 0, plus = 0, lead = 1;	/* lead: only '(' so far */
	uint32_t c;

	if (out == NULL || outlen == 0)
		return NUMBER_INVALID;
	out[0] = '\0';
	if (in == NULL)
		return NUMBER_INVALID;

	/* Trim, and classify in the same pass. */
	s = e = NULL;
	end = (const unsigned char *)in + strlen(in);
	for (p = (const unsigned char *)in; p < end; p += len) {
		len = fold_char_at((const char *)p, (const char *)end, &c);
		if (c == BAD_CHAR || is_control(c))
			return NUMBER_INVALID;
		if (is_space(c) || is_invisible(c))
			continue;
		if (s == NULL)
			s = p;
		e = p + len;
		if (is_letter(c))
			letter = 1;
	}
	if (s == NULL)
		return NUMBER_INVALID;
	if (letter)
		return alpha(s, e, out, outlen);

	for (p = s; p < e; p += len) {
		len = fold_char_at((const char *)p, (const char *)e, &c);
		if (digit_of(c) >= 0) {
			if (n == DIGITS_MAX)
				return NUMBER_INVALID;
			d[n++] = (char)('0' + digit_of(c));
		} else if (c == '+') {
			if (!lead)
				return NUMBER_INVALID;
			plus = 1;
			lead = 0;
			continue;
		} else if (c == '(' && n > 0 && e - p >= 3 && p[1] == '0' &&
		    p[2] == ')') {
			len = 3;	/* "(0)": the trunk prefix, dropped */
		} else if (c == '(' || is_space(c) || is_invisible(c)) {
			continue;	/* leaves lead as it is */
		} else if (is_dash(c) || c == '.' || c == '/' || c == ')') {
			lead = 0;
			continue;
		} else
			return NUMBER_INVALID;
		lead = 0;
	}
	if (n == 0)
		return NUMBER_INVALID;

	if (plus)
		return international(d, n, country, check, out, outlen);
	if (n >= 2 && d[0] == '0' && d[1] == '0')
		return international(d + 2, n - 2, country, check, out, outlen);
	if (n <= SHORT_MAX)
		return emit(d, n, NUMBER_SHORT, out, outlen);
	if (d[0] == '0')
		return national(d + 1, n - 1, country, check, out, outlen);
	if (n <= NATIONAL_MAX)
		return national(d, n, country, check, out, outlen);
	return international(d, n, country, check, out, outlen);
}

enum number_kind
number_normalize(const char *in, const char *country, char *out, size_t outlen)
{
	return normalize(in, country, 1, out, outlen);
}

int
number_plan_why(const char *in, const char *country, char *e164, char *out,
    size_t outlen)
{
	char norm[NUMBER_MAX], lengths[32] = "";
	const struct plan *p;
	size_t n, l, at = 0;

	if (e164 != NULL)
		e164[0] = '\0';
	if (out == NULL || outlen == 0)
		return 0;
	out[0] = '\0';
	if (normalize(in, country, 0, norm, sizeof(norm)) != NUMBER_E164)
		return 0;
	n = strlen(norm + 1);
	if ((p = plan_of(norm + 1, n)) == NULL || plan_fits(norm + 1, n, 1))
		return 0;
	if (e164 != NULL)
		memcpy(e164, norm, n + 2);
	for (l = 1; l <= E164_MAX && at < sizeof(lengths); l++)
		if (p->lengths & LEN(l))
			at += (size_t)snprintf(lengths + at, sizeof(lengths) - at,
			    "%s%zu", at > 0 ? " or " : "", l);
	snprintf(out, outlen, "+%s numbers have %s digits after the country "
	    "code, this one %zu", p->prefix, lengths, n - p->cc);
	return 1;
}

const char *
number_kind_name(enum number_kind kind)
{
	switch (kind) {
	case NUMBER_E164:
		return "e164";
	case NUMBER_SHORT:
		return "short";
	case NUMBER_ALPHA:
		return "alpha";
	case NUMBER_INVALID:
		return "invalid";
	}
	return "unknown";
}

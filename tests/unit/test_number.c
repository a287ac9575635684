/* Unit tests for number.c: every DESIGN section 4 vector, then the edges. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#include "number.h"

struct ncase {
	const char		*in;
	const char		*country;
	enum number_kind	 kind;
	const char		*out;
};

#define E(in, out)		{ in, "212", NUMBER_E164, out }
#define EC(in, cc, out)		{ in, cc, NUMBER_E164, out }
#define S(in, out)		{ in, "212", NUMBER_SHORT, out }
#define A(in, out)		{ in, "212", NUMBER_ALPHA, out }
#define X(in)			{ in, "212", NUMBER_INVALID, "" }
#define XC(in, cc)		{ in, cc, NUMBER_INVALID, "" }

static const struct ncase cases[] = {
	/* DESIGN section 4 */
	E("0661234567", "+212661234567"),
	E("06 61 23 45 67", "+212661234567"),
	E("00212661234567", "+212661234567"),
	E("212661234567", "+212661234567"),
	E("+212 (0)661234567", "+212661234567"),
	E("+212661234567", "+212661234567"),

	/* separators and surrounding space */
	E("06.61.23.45.67", "+212661234567"),
	E("06-61-23-45-67", "+212661234567"),
	E("06/61/23/45/67", "+212661234567"),
	E("(0661) 23 45 67", "+212661234567"),
	E("(0)661234567", "+212661234567"),
	E("+212-661-234-567", "+212661234567"),
	E("+212.661.234.567", "+212661234567"),
	E("  +212 661 234 567 \n", "+212661234567"),
	E("\t0661234567\r\n", "+212661234567"),
	E("06\xc2\xa0" "61\xc2\xa0" "23\xc2\xa0" "45\xc2\xa0" "67", "+212661234567"),
	E("06\xe2\x80\xaf" "61 23 45 67", "+212661234567"),	/* U+202F */
	E("06\xe2\x80\x93" "61234567", "+212661234567"),	/* en dash */
	E("\xe2\x80\xaa+212 661-234567\xe2\x80\xac", "+212661234567"), /* LRE..PDF */
	E("\xe2\x80\x8f" "0661234567", "+212661234567"),	/* RLM */
	E("00 212 661 23 45 67", "+212661234567"),
	E("+212 06 61 23 45 67", "+212661234567"),	/* trunk 0 kept by mistake */
	E("+2120661234567", "+212661234567"),
	E("00212 (0)6 61 23 45 67", "+212661234567"),
	E("212 (0)661234567", "+212661234567"),
	/* the country code in brackets, as business cards write it */
	E("(+212) 661 000 002", "+212661000002"),
	E("(+212)661000002", "+212661000002"),
	E("( +212 ) 6 61 00 00 02", "+212661000002"),
	E("(+212) (0)661 000 002", "+212661000002"),
	E("(+33) 6 12 34 56 78", "+33612345678"),
	E("((+212)) 661000002", "+212661000002"),
	X("(212+) 661000002"),
	X("(2+12) 661000002"),
	X(")+212 661000002"),
	X("-+212661000002"),
	X("(++212) 661000002"),
	X("(+212) +661000002"),

	/* digits as Arabic keyboards type them, and full-width ones */
	E("٠٦٦١٢٣٤٥٦٧", "+212661234567"),
	E("+٢١٢ ۶۶۱ ۲۳ ۴۵ ۶۷", "+212661234567"),
	E("０６６１２３４５６７", "+212661234567"),
	A("اتصالات ١", "اتصالات ١"),

	/* a bare national number without its trunk 0 */
	E("661234567", "+212661234567"),
	E("6 61 23 45 67", "+212661234567"),
	EC("1234567", "49", "+491234567"),	/* 7 digits: still national */
	EC("5223456789", "49", "+495223456789"),	/* 10 digits: still national */

	/* foreign numbers are kept */
	E("+33612345678", "+33612345678"),
	E("0033612345678", "+33612345678"),
	E("+33 6 12 34 56 78", "+33612345678"),
	E("+33 (0)6 12 34 56 78", "+33612345678"),
	E("33612345678", "+33612345678"),	/* 11 bare digits: international */
	E("+14155551234", "+14155551234"),
	E("+1 (415) 555-1234", "+14155551234"),
	E("+4930123456", "+4930123456"),
	E("+49301234", "+49301234"),		/* 8 digits: the shortest */
	E("+491234567890123", "+491234567890123"),	/* 15: the longest */
	E("+490301234567", "+490301234567"),	/* only our own trunk 0 is dropped */

	/* another configured country */
	EC("0612345678", "33", "+33612345678"),
	EC("06 12 34 56 78", "33", "+33612345678"),
	EC("+33 (0)6 12 34 56 78", "33", "+33612345678"),
	EC("+330612345678", "33", "+33612345678"),
	EC("612345678", "33", "+33612345678"),
	EC("4155551234", "1", "+14155551234"),
	EC("+212661234567", "33", "+212661234567"),
	EC("00212661234567", "33", "+212661234567"),

	/* numbering plans that fix the length after the country code: Morocco's
	 * is 9 digits, in every form */
	X("06610000"),			/* 7: "+2126610000" was queued */
	X("066100000"),
	X("06610000000"),		/* 10 */
	X("06 61 00 00"),
	X("0661000"),			/* 6 after the trunk 0 */
	X("66100000"),			/* bare national, 8 */
	X("6610000000"),		/* bare national, 10 */
	X("1234567"),
	X("5223456789"),
	X("+21266100000"),		/* international, 8 */
	X("+2126610000000"),		/* 10 */
	X("0021266100000"),
	X("21266100000"),		/* bare international, 8 */
	X("+212 (0)6610000"),
	X("+21206610000"),		/* the trunk 0 kept, then 7 */
	X("+21206610000000"),		/* the trunk 0 kept, then 10 */
	E("0661000000", "+212661000000"),
	E("+212661000000", "+212661000000"),
	E("+2120661000000", "+212661000000"),
	E("0212345678", "+212212345678"),	/* a national number that starts 212 */
	/* the other plans in the table */
	E("+21620123456", "+21620123456"),	/* Tunisia: 8 */
	X("+2162012345"),
	X("+216201234567"),
	EC("20123456", "216", "+21620123456"),
	XC("201234567", "216"),
	E("+221771234567", "+221771234567"),	/* Senegal: 9 */
	X("+22177123456"),
	X("+2217712345678"),
	X("+3361234567"),			/* France: 9 */
	X("+330612345678"),			/* France's trunk 0 is no digit of it */
	X("+3361234567890"),
	E("+337001234567890", "+337001234567890"),	/* its 0700 M2M: 13 */
	E("+339011234567890", "+339011234567890"),	/* its 0901: 13 */
	E("+33700123456", "+33700123456"),
	X("+3370012345678"),
	XC("061234567", "33"),
	EC("0700 1234 5678 90", "33", "+337001234567890"),
	E("+34612345678", "+34612345678"),	/* Spain: 9 */
	X("+3461234567"),
	X("+346123456789"),
	E("+345901234567890", "+345901234567890"),	/* its 59 M2M: 13 */
	X("+34590123456789"),
	X("+1415555123"),			/* North America: 10 */
	X("+141555512345"),
	X("+12345678"),
	X("+123456789012345"),
	XC("0661234567", "1"),
	/* the longest code that is one: 1212 is New York, not Morocco; 213,
	 * 211 and 222 are not 212, 216 or 221; 35x are not 33 or 34 */
	E("+12125551234", "+12125551234"),
	X("+1212555123"),
	X("+1212661234567"),
	E("+213551234567", "+213551234567"),	/* Algeria: not checked */
	E("+21321123456", "+21321123456"),
	E("+2135512345678", "+2135512345678"),
	E("0021321123456", "+21321123456"),
	E("+21191234567", "+21191234567"),
	E("+22212345678", "+22212345678"),
	E("+351912345678", "+351912345678"),
	E("+3591234567", "+3591234567"),
	E("+447911123456", "+447911123456"),	/* the UK, Germany: not checked */
	E("+491711234567", "+491711234567"),
	EC("030 1234567", "49", "+49301234567"),
	EC("0612345678", "49", "+49612345678"),
	S("066100", "066100"),			/* still a short code */
	A("0661 INFO", "0661 INFO"),

	/* short codes and service numbers */
	S("40404", "40404"),
	S("123", "123"),
	S("1", "1"),
	S("1414", "1414"),
	S("0800", "0800"),
	S("40 404", "40404"),
	S(" 777 ", "777"),
	S("123456", "123456"),

	/* alphanumeric senders */
	A("INWI", "INWI"),
	A("Maroc Telecom", "Maroc Telecom"),
	A("  Maroc \t  Telecom \n", "Maroc Telecom"),
	A("Orange", "Orange"),
	A("O2", "O2"),
	A("0661abc", "0661abc"),
	A("+212 INFO", "+212 INFO"),
	A("\xd8\xa7\xd8\xaa\xd8\xb5\xd8\xa7\xd9\x84\xd8\xa7\xd8\xaa",
	    "\xd8\xa7\xd8\xaa\xd8\xb5\xd8\xa7\xd9\x84\xd8\xa7\xd8\xaa"), /* اتصالات */
	A("M\xc3\xa9" "diTel", "M\xc3\xa9" "diTel"),
	A("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", "ABCDEFGHIJKLMNOPQRSTUVWXYZ01234"),

	/* invalid */
	X(""),
	X("   "),
	X("\xc2\xa0"),
	X("+"),
	X(" + "),
	X("++212661234567"),
	X("+212661234567+"),
	X("0661+234567"),
	X("-"),
	X("()"),
	X("...---"),
	X("+0661234567"),		/* no country code starts with 0 */
	X("000212661234567"),
	X("+123"),			/* too short for international */
	X("+1234567"),
	X("00123"),
	X("+1234567890123456"),		/* 16 digits */
	X("1234567890123456"),
	X("00 1234 5678 9012 3456"),
	X("0661234567#"),
	X("*123#"),
	X("06,61,23,45,67"),
	X("06_61_23_45_67"),
	X("0661234567\x01"),
	X("06\x7f" "61234567"),
	X("\xff\xfe"),
	X("0661\xc3"),			/* truncated UTF-8 */
	X("06\xc0\xaf"),		/* overlong '/' */
	X("INWI\xed\xa0\x80"),		/* a surrogate */
	X("12345678901234567890123456789"),

	/* a country that is not 1-3 digits: national forms cannot be read */
	XC("0661234567", ""),
	XC("0661234567", "0"),
	XC("0661234567", "2120"),
	XC("0661234567", "ma"),
	XC("0661234567", NULL),
	XC("661234567", NULL),
	{ "+212661234567", NULL, NUMBER_E164, "+212661234567" },
	{ "00212661234567", "x", NUMBER_E164, "+212661234567" },
	{ "40404", NULL, NUMBER_SHORT, "40404" },
	{ "INWI", NULL, NUMBER_ALPHA, "INWI" },
};

#define NCASES	((int)(sizeof(cases) / sizeof(cases[0])))

/* One Check test for the whole table (a forked test costs ~60 ms under
 * ASan), reporting every failing row, not only the first. */
START_TEST(test_vectors)
{
	const struct ncase *c;
	char out[NUMBER_MAX];
	enum number_kind k;
	int i, failed = 0;

	for (i = 0; i < NCASES; i++) {
		c = &cases[i];
		memset(out, 'x', sizeof(out));
		k = number_normalize(c->in, c->country, out, sizeof(out));
		if (k == c->kind && strcmp(out, c->out) == 0)
			continue;
		fprintf(stderr, "case %d \"%s\" (country %s): got %s \"%s\", "
		    "want %s \"%s\"\n", i, c->in,
		    c->country ? c->country : "NULL", number_kind_name(k), out,
		    number_kind_name(c->kind), c->out);
		failed++;
	}
	ck_assert_msg(failed == 0, "%d of %d cases failed (see stderr)",
	    failed, NCASES);
}
END_TEST

/* Every case again, from an exact-size heap copy of the input (ASan sees
 * any read past the terminator) into an exact-size heap output, then into
 * one byte less. */
static void
check_exact(const struct ncase *c)
{
	size_t inlen = strlen(c->in), outlen = strlen(c->out) + 1;
	char *in = malloc(inlen + 1), *out = malloc(outlen);
	enum number_kind k;

	ck_assert_ptr_nonnull(in);
	ck_assert_ptr_nonnull(out);
	memcpy(in, c->in, inlen + 1);
	k = number_normalize(in, c->country, out, outlen);
	ck_assert_int_eq(k, c->kind);
	ck_assert_str_eq(out, c->out);
	if (c->kind != NUMBER_INVALID) {
		/* one byte less is too small: INVALID and empty */
		k = number_normalize(in, c->country, out, outlen - 1);
		ck_assert_int_eq(k, NUMBER_INVALID);
		if (outlen > 1)
			ck_assert_str_eq(out, "");
	}
	free(in);
	free(out);
}

START_TEST(test_vectors_exact_buffers)
{
	int i;

	for (i = 0; i < NCASES; i++)
		check_exact(&cases[i]);
}
END_TEST

START_TEST(test_small_out)
{
	char out[16];

	ck_assert_int_eq(number_normalize("0661234567", "212", out, 14),
	    NUMBER_E164);
	ck_assert_str_eq(out, "+212661234567");
	memset(out, 'x', sizeof(out));
	ck_assert_int_eq(number_normalize("0661234567", "212", out, 13),
	    NUMBER_INVALID);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(number_normalize("40404", "212", out, 6), NUMBER_SHORT);
	ck_assert_int_eq(number_normalize("40404", "212", out, 5),
	    NUMBER_INVALID);
	ck_assert_int_eq(number_normalize("INWI", "212", out, 4),
	    NUMBER_INVALID);
	ck_assert_int_eq(number_normalize("INWI", "212", out, 1),
	    NUMBER_INVALID);
	ck_assert_str_eq(out, "");
	/* no room at all: nothing written, nothing read */
	out[0] = 'x';
	ck_assert_int_eq(number_normalize("0661234567", "212", out, 0),
	    NUMBER_INVALID);
	ck_assert_int_eq(out[0], 'x');
	ck_assert_int_eq(number_normalize("0661234567", "212", NULL, 32),
	    NUMBER_INVALID);
	ck_assert_int_eq(number_normalize(NULL, "212", out, sizeof(out)),
	    NUMBER_INVALID);
	ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(test_long_input)
{
	size_t n = 100000, i;
	char *in = malloc(n + 1), out[NUMBER_MAX];

	ck_assert_ptr_nonnull(in);
	memset(in, '6', n);
	in[n] = '\0';
	ck_assert_int_eq(number_normalize(in, "212", out, sizeof(out)),
	    NUMBER_INVALID);
	in[0] = '+';
	ck_assert_int_eq(number_normalize(in, "212", out, sizeof(out)),
	    NUMBER_INVALID);
	/* a long alpha sender is cut at a character boundary */
	for (i = 0; i + 2 <= n; i += 2) {
		in[i] = '\xd8';
		in[i + 1] = '\xa7';	/* alef */
	}
	in[i] = '\0';
	ck_assert_int_eq(number_normalize(in, "212", out, sizeof(out)),
	    NUMBER_ALPHA);
	ck_assert_uint_eq(strlen(out), 30);
	/* spaces everywhere: still empty */
	memset(in, ' ', n);
	in[n] = '\0';
	ck_assert_int_eq(number_normalize(in, "212", out, sizeof(out)),
	    NUMBER_INVALID);
	free(in);
}
END_TEST

/* Random bytes: never crashes, and the result is always well-formed. */
START_TEST(test_random)
{
	static const char alphabet[] = "0123456789+()-. /aZ\xc2\xa0\xd8\xa7\xff\t";
	unsigned int seed = 12345;
	char in[40], out[NUMBER_MAX];
	enum number_kind k;
	size_t len, j;
	int i;

	for (i = 0; i < 50000; i++) {
		seed = seed * 1103515245 + 12345;
		len = (seed >> 16) % sizeof(in);
		for (j = 0; j < len; j++) {
			seed = seed * 1103515245 + 12345;
			in[j] = alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
		}
		in[len] = '\0';
		k = number_normalize(in, "212", out, sizeof(out));
		ck_assert_uint_lt(strlen(out), sizeof(out));
		switch (k) {
		case NUMBER_E164:
			ck_assert_int_eq(out[0], '+');
			ck_assert_uint_ge(strlen(out), 1 + 8);
			ck_assert_uint_le(strlen(out), 1 + 15);
			ck_assert_uint_eq(strspn(out + 1, "0123456789"),
			    strlen(out) - 1);
			ck_assert_int_ne(out[1], '0');
			break;
		case NUMBER_SHORT:
			ck_assert_uint_ge(strlen(out), 1);
			ck_assert_uint_le(strlen(out), 6);
			ck_assert_uint_eq(strspn(out, "0123456789"),
			    strlen(out));
			break;
		case NUMBER_ALPHA:
			ck_assert_uint_ge(strlen(out), 1);
			break;
		case NUMBER_INVALID:
			ck_assert_str_eq(out, "");
			break;
		}
	}
}
END_TEST

START_TEST(test_idempotent)
{
	char out[NUMBER_MAX], again[NUMBER_MAX];
	size_t i;

	/* A normalized result normalizes to itself. */
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum number_kind k = number_normalize(cases[i].in,
		    cases[i].country, out, sizeof(out));
		if (k == NUMBER_INVALID)
			continue;
		ck_assert_int_eq(number_normalize(out, cases[i].country, again,
		    sizeof(again)), k);
		ck_assert_str_eq(again, out);
	}
}
END_TEST

/* The reason given for a number refused for its length alone. */
START_TEST(test_plan_why)
{
	char why[96], e164[NUMBER_MAX];

	ck_assert_int_eq(number_plan_why("06610000", "212", NULL, why, sizeof(why)), 1);
	ck_assert_str_eq(why, "+212 numbers have 9 digits after the country code, "
	    "this one 7");
	ck_assert_int_eq(number_plan_why("+21266100000", "212", e164, why, sizeof(why)), 1);
	ck_assert_str_eq(e164, "+21266100000");	/* as it was queued before */
	ck_assert_str_eq(why, "+212 numbers have 9 digits after the country code, "
	    "this one 8");
	ck_assert_int_eq(number_plan_why("+2120661000000 0", "212", NULL, why,
	    sizeof(why)), 1);
	ck_assert_str_eq(why, "+212 numbers have 9 digits after the country code, "
	    "this one 10");
	ck_assert_int_eq(number_plan_why("+3370012345678", "212", NULL, why, sizeof(why)), 1);
	ck_assert_str_eq(why, "+33700 numbers have 9 or 13 digits after the "
	    "country code, this one 11");
	ck_assert_int_eq(number_plan_why("+1212555123", "212", NULL, why, sizeof(why)), 1);
	ck_assert_str_eq(why, "+1 numbers have 10 digits after the country code, "
	    "this one 9");
	/* valid, or refused for another reason: no reason of this kind */
	ck_assert_int_eq(number_plan_why("0661000000", "212", e164, why, sizeof(why)), 0);
	ck_assert_str_eq(why, "");
	ck_assert_str_eq(e164, "");
	ck_assert_int_eq(number_plan_why("+2135512345678", "212", NULL, why, sizeof(why)), 0);
	ck_assert_int_eq(number_plan_why("hello", "212", NULL, why, sizeof(why)), 0);
	ck_assert_int_eq(number_plan_why("+1234567", "212", NULL, why, sizeof(why)), 0);
	ck_assert_int_eq(number_plan_why("40404", "212", NULL, why, sizeof(why)), 0);
	ck_assert_int_eq(number_plan_why(NULL, "212", NULL, why, sizeof(why)), 0);
	ck_assert_int_eq(number_plan_why("06610000", "212", NULL, NULL, 0), 0);
}
END_TEST

START_TEST(test_kind_names)
{
	ck_assert_str_eq(number_kind_name(NUMBER_E164), "e164");
	ck_assert_str_eq(number_kind_name(NUMBER_SHORT), "short");
	ck_assert_str_eq(number_kind_name(NUMBER_ALPHA), "alpha");
	ck_assert_str_eq(number_kind_name(NUMBER_INVALID), "invalid");
	ck_assert_str_eq(number_kind_name((enum number_kind)42), "unknown");
}
END_TEST

static Suite *
number_suite(void)
{
	Suite *s = suite_create("number");
	TCase *tc = tcase_create("normalize");

	tcase_add_test(tc, test_vectors);
	tcase_add_test(tc, test_vectors_exact_buffers);
	tcase_add_test(tc, test_small_out);
	tcase_add_test(tc, test_long_input);
	tcase_add_test(tc, test_random);
	tcase_add_test(tc, test_idempotent);
	tcase_add_test(tc, test_plan_why);
	tcase_add_test(tc, test_kind_names);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(number_suite());
}

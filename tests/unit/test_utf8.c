/* Unit tests for modem/utf8.c: where a text may be cut (the worker's cut
 * of a long fan-out SMS), and code point offsets. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#include "worker.h"

/* Whether text may be cut after its first n code points. */
static int
cut_after(const char *text, size_t n)
{
	size_t count, *off = utf8_offsets(text, strlen(text), &count);
	int ok;

	ck_assert_ptr_nonnull(off);
	ck_assert_uint_le(n, count);
	ok = utf8_cut_ok(text, strlen(text), off[n]);
	free(off);
	return ok;
}

START_TEST(test_offsets)
{
	const char *t = "a\xc3\xa9\xf0\x9f\x98\x80z";	/* a é 😀 z */
	size_t n, *off = utf8_offsets(t, strlen(t), &n);

	ck_assert_uint_eq(n, 4);
	ck_assert_uint_eq(off[0], 0);
	ck_assert_uint_eq(off[1], 1);
	ck_assert_uint_eq(off[2], 3);
	ck_assert_uint_eq(off[3], 7);
	ck_assert_uint_eq(off[4], 8);
	free(off);
}
END_TEST

START_TEST(test_cut_points)
{
	const char *emoji = "a\xf0\x9f\x98\x80" "b";
	const char *tone = "\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd!";	/* 👍🏽! */
	const char *family = "\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9";	/* 👨‍👩 */
	const char *flags = "\xf0\x9f\x87\xb2\xf0\x9f\x87\xa6\xf0\x9f\x87\xab\xf0\x9f\x87\xb7";
	const char *accent = "e\xcc\x81x";	/* e + combining acute */
	const char *heart = "\xe2\x9d\xa4\xef\xb8\x8f ";	/* ❤️ */
	const char *arabic = "\xd8\xa8\xd9\x8e\xd8\xa8";	/* بَب */

	ck_assert(cut_after(emoji, 1));
	ck_assert(cut_after(emoji, 2));
	ck_assert(!utf8_cut_ok(emoji, strlen(emoji), 2));	/* inside the emoji */
	ck_assert(!cut_after(tone, 1));
	ck_assert(cut_after(tone, 2));
	ck_assert(!cut_after(family, 1));
	ck_assert(!cut_after(family, 2));
	ck_assert(!cut_after(flags, 1));
	ck_assert(cut_after(flags, 2));
	ck_assert(!cut_after(flags, 3));
	ck_assert(!cut_after(accent, 1));
	ck_assert(cut_after(accent, 2));
	ck_assert(!cut_after(heart, 1));
	ck_assert(cut_after(heart, 2));
	ck_assert(!cut_after(arabic, 1));
	ck_assert(cut_after(arabic, 2));
	ck_assert(cut_after("abc", 0));
	ck_assert(cut_after("abc", 3));
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("utf8");
	TCase *tc = tcase_create("utf8");

	tcase_add_test(tc, test_offsets);
	tcase_add_test(tc, test_cut_points);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(suite());
}

/* Unit tests for modem/udh.c: the concatenation and application port of
 * a user data header that libgammu did not recognise whole, and headers
 * whose lengths lie. */
#include <check.h>
#include <string.h>

#include "unit.h"

#include "worker.h"

static struct udh_info
walk(const unsigned char *udh, size_t len)
{
	struct udh_info u;

	udh_walk(udh, len, &u);
	return u;
}

START_TEST(test_concat_beside_language_shift)
{
	/* A Turkish phone: concatenation (ref 0x11, part 2 of 2), then the
	 * national language single shift (0x24) and locking shift (0x25). */
	static const unsigned char shifts[] = { 0x0b, 0x00, 0x03, 0x11, 0x02,
	    0x02, 0x24, 0x01, 0x01, 0x25, 0x01, 0x01 };
	/* The shift first, a 16-bit reference after it. */
	static const unsigned char ref16[] = { 0x09, 0x24, 0x01, 0x02, 0x08,
	    0x04, 0x12, 0x34, 0x03, 0x01 };
	struct udh_info u = walk(shifts, sizeof(shifts));

	ck_assert_int_eq(u.concat, 1);
	ck_assert_int_eq(u.ref, 0x11);
	ck_assert_int_eq(u.total, 2);
	ck_assert_int_eq(u.seq, 2);
	ck_assert_int_eq(u.port, -1);
	u = walk(ref16, sizeof(ref16));
	ck_assert_int_eq(u.concat, 1);
	ck_assert_int_eq(u.ref, 0x1234);
	ck_assert_int_eq(u.total, 3);
	ck_assert_int_eq(u.seq, 1);
}
END_TEST

START_TEST(test_application_port)
{
	/* WAP push: 16-bit ports 2948 from 9200, and a concatenation. */
	static const unsigned char wap[] = { 0x0b, 0x05, 0x04, 0x0b, 0x84,
	    0x23, 0xf0, 0x00, 0x03, 0x07, 0x02, 0x01 };
	static const unsigned char port8[] = { 0x04, 0x04, 0x02, 0xe2, 0x00 };
	/* A port IE of the wrong length is still addressed to a port. */
	static const unsigned char odd[] = { 0x03, 0x05, 0x01, 0x0b };
	struct udh_info u = walk(wap, sizeof(wap));

	ck_assert_int_eq(u.port, 2948);
	ck_assert_int_eq(u.concat, 1);
	ck_assert_int_eq(u.ref, 7);
	ck_assert_int_eq(walk(port8, sizeof(port8)).port, 0xe2);
	ck_assert_int_eq(walk(odd, sizeof(odd)).port, 0);
}
END_TEST

START_TEST(test_invalid_concatenation)
{
	/* Sequence 0, sequence above the total, total 0, a wrong length. */
	static const unsigned char seq0[] = { 0x05, 0x00, 0x03, 0x01, 0x02, 0x00 };
	static const unsigned char seqhi[] = { 0x05, 0x00, 0x03, 0x01, 0x02, 0x03 };
	static const unsigned char tot0[] = { 0x05, 0x00, 0x03, 0x01, 0x00, 0x00 };
	static const unsigned char len2[] = { 0x04, 0x00, 0x02, 0x01, 0x02 };

	ck_assert_int_eq(walk(seq0, sizeof(seq0)).concat, 0);
	ck_assert_int_eq(walk(seqhi, sizeof(seqhi)).concat, 0);
	ck_assert_int_eq(walk(tot0, sizeof(tot0)).concat, 0);
	ck_assert_int_eq(walk(len2, sizeof(len2)).concat, 0);
}
END_TEST

START_TEST(test_lengths_that_lie)
{
	/* UDHL beyond the buffer: only the bytes given are read (the
	 * concatenation IE fits, the shift after it is cut off). */
	static const unsigned char longer[] = { 0xff, 0x00, 0x03, 0x09, 0x02,
	    0x01, 0x24, 0x01 };
	/* An IE whose length runs past the header: nothing after it. */
	static const unsigned char ie[] = { 0x07, 0x24, 0x09, 0x00, 0x03,
	    0x01, 0x02, 0x01, 0x00 };
	/* UDHL shorter than the IEs that follow it. */
	static const unsigned char udhl[] = { 0x03, 0x00, 0x03, 0x01, 0x02,
	    0x01 };
	unsigned char big[300];
	struct udh_info u = walk(longer, sizeof(longer));

	ck_assert_int_eq(u.concat, 1);
	ck_assert_int_eq(u.ref, 9);
	ck_assert_int_eq(walk(ie, sizeof(ie)).concat, 0);
	ck_assert_int_eq(walk(udhl, sizeof(udhl)).concat, 0);
	ck_assert_int_eq(walk(NULL, 0).concat, 0);
	ck_assert_int_eq(walk(longer, 0).port, -1);
	ck_assert_int_eq(walk(longer, 1).concat, 0);
	/* A header of empty IEs up to its end, and one of 0xff lengths. */
	memset(big, 0, sizeof(big));
	big[0] = 0xff;
	ck_assert_int_eq(walk(big, sizeof(big)).concat, 0);
	memset(big, 0xff, sizeof(big));
	ck_assert_int_eq(walk(big, sizeof(big)).port, -1);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("udh");
	TCase *tc = tcase_create("udh");

	tcase_add_test(tc, test_concat_beside_language_shift);
	tcase_add_test(tc, test_application_port);
	tcase_add_test(tc, test_invalid_concatenation);
	tcase_add_test(tc, test_lengths_that_lie);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(suite());
}

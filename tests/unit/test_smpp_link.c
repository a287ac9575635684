/*
 * test_smpp_link.c: pigeon-smpp's bookkeeping in smpp/link.c, included
 * whole (its state is static) without a socket: the deliveries waiting for
 * pigeond's answer.
 */
#include "../../smpp/link.c"

#include <check.h>

/* What smpp/main.c gives link.c; nothing here reaches pigeond. */
void main_ready(const char *smsc_system_id, int rebind) { }
void main_link_down(const char *session, const char *reason, uint32_t status) { }
void main_bind_failed(uint32_t status) { }
void main_link_failed(const char *session, const char *reason) { }
void main_sent(long long id, int parts, char ids[][66]) { }
void main_send_failed(long long id, int parts, int parts_sent, char ids[][66],
    uint32_t status, int temporary, int throttled, int maybe_sent,
    const char *error) { }
void main_deliver(long long handle, uint32_t seq, const struct deliver *d) { }
void main_exit(int code) { exit(code); }

/*
 * A delivery pigeond never answers (it could not store it; the SMSC
 * delivers it again) must not keep every later one: before, the head
 * stopped at it, and 100,000 answered deliveries after it were all kept
 * (3 MB) and scanned at each answer.
 */
START_TEST(test_acks_one_never_answered)
{
	const char *err = NULL;

	sess[0].state = S_BOUND;
	sess[0].bev = NULL;
	ack_add(1, &sess[0], 1);
	for (long long h = 2; h <= 100001; h++) {
		ack_add(h, &sess[0], (uint32_t)h);
		ck_assert_int_eq(link_ack(h, &err), 0);
	}
	ck_assert_msg(nacks - acks_head <= 200, "%zu entries kept for one unanswered",
	    nacks - acks_head);
	/* It is still answered when pigeond does at last. */
	ck_assert_int_eq(link_ack(1, &err), 0);
	ck_assert_uint_eq(nacks, 0);
	ck_assert_int_eq(link_ack(1, &err), -1);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("smpp_link");
	TCase *tc = tcase_create("smpp_link");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_acks_one_never_answered);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

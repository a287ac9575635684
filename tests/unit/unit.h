/* unit.h: what every unit test's main does with its suite. */
#ifndef PIGEON_UNIT_H
#define PIGEON_UNIT_H

#include <stdlib.h>

#include <check.h>

/* Runs s (freed after) in fork mode fstat and gives main's exit status:
 * CK_NOFORK for a suite whose tests must run in main's own process. */
static inline int
unit_run_mode(Suite *s, enum fork_status fstat)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_set_fork_status(sr, fstat);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* Runs s with Check's default: a fork per test unless CK_FORK=no. */
static inline int
unit_run(Suite *s)
{
	return unit_run_mode(s, CK_FORK_GETENV);
}

#endif

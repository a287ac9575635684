/* unit.h: what every unit test's main does with its suite. */
#ifndef PIGEON_UNIT_H
#define PIGEON_UNIT_H

#include <stdlib.h>

#include <check.h>

/* Runs s (freed after) and gives main's exit status. */
static inline int
unit_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif

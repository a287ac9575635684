/*
 * store_result.c: what a result says (store.h): whether it is a success,
 * its error on one line, and whether that error is the database's own
 * for now (its disk full, a shutdown) rather than the statement's.
 */
#include <string.h>

#include <libpq-fe.h>

#include "store.h"

/* libpq's message on one line: its line breaks and the tab that indents
 * its hint ("...failed: No such file or directory\n\tIs the server
 * running...?") one space each, none at either end (the log shows a
 * control character as '?'). */
char *
store_one_line(const char *msg)
{
	static char buf[512];
	size_t i, j = 0;
	for (i = 0; msg && msg[i] && j < sizeof(buf) - 1; i++) {
		int blank = (unsigned char)msg[i] <= ' ' || msg[i] == 0x7f;
		if (!blank)
			buf[j++] = msg[i];
		else if (j > 0 && buf[j - 1] != ' ')
			buf[j++] = ' ';
	}
	while (j > 0 && buf[j - 1] == ' ')
		j--;
	buf[j] = '\0';
	return buf;
}

int
store_ok(const PGresult *res)
{
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	return st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK;
}

const char *
store_error(const PGresult *res)
{
	if (res == NULL)
		return "database connection lost";
	const char *m = PQresultErrorMessage(res);
	return (m && *m) ? store_one_line(m) : PQresStatus(PQresultStatus(res));
}

int
store_error_transient(const PGresult *res)
{
	const char *st;

	if (res == NULL || store_ok(res) ||
	    (st = PQresultErrorField(res, PG_DIAG_SQLSTATE)) == NULL)
		return 0;
	return strncmp(st, "53", 2) == 0 || strncmp(st, "58", 2) == 0 ||
	    strncmp(st, "08", 2) == 0 || strncmp(st, "57P0", 4) == 0 ||
	    strcmp(st, "40001") == 0 || strcmp(st, "40P01") == 0 ||
	    strcmp(st, "25006") == 0;
}

/*
 * modemmsg.c: the first step of how pigeond reads what a modem process
 * says, apart from the event loop so that tests/fuzz/fuzz_modem.c can
 * feed it any bytes. supervisor.c dispatches on the type.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "modemmsg.h"

const char *
modem_msg_decode(const char *line, size_t len, json_t **msg, char *err, size_t errlen)
{
	json_error_t jerr;
	const char *type;

	/*
	 * JSON_ALLOW_NUL: an SMS may hold U+0000 (UCS-2 allows it); refusing
	 * the line would leave that SMS on the SIM for ever, re-reported by
	 * every worker. inbound.c makes each NUL a U+FFFD, and other strings
	 * are read as C strings (cut at the NUL). JSON_REJECT_DUPLICATES: a
	 * second "type" or "id" is a worker gone wrong.
	 */
	*msg = json_loadb(line, len, JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, &jerr);
	if (*msg == NULL) {
		snprintf(err, errlen, "%s", jerr.text);
		return NULL;
	}
	if (!json_is_object(*msg) ||
	    (type = json_string_value(json_object_get(*msg, "type"))) == NULL ||
	    strlen(type) != json_string_length(json_object_get(*msg, "type"))) {
		snprintf(err, errlen, "no type");
		json_decref(*msg);
		*msg = NULL;
		return NULL;
	}
	return type;
}

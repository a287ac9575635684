/* modemmsg.c: decoding one line a modem process wrote (pure; fuzzed). */
#ifndef PIGEON_MODEMMSG_H
#define PIGEON_MODEMMSG_H

#include <stddef.h>
#include <jansson.h>

/* Decodes one line of the worker channel (docs/modem-protocol.md): returns
 * its "type" and *msg (a new reference, a JSON object), or NULL with *msg
 * NULL and why in err. Anything may come from a worker gone wrong. */
const char *modem_msg_decode(const char *line, size_t len, json_t **msg,
	    char *err, size_t errlen);

/* Checks the fields of a decoded message against what its type must carry
 * (docs/modem-protocol.md): 0, or -1 with why in err (an unknown type, a
 * required field missing, a field of the wrong JSON type or range). Meant
 * to be called by supervisor.c right after modem_msg_decode. */
int	 modem_msg_check(const char *type, json_t *msg, char *err, size_t errlen);

#endif

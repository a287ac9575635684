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

#endif

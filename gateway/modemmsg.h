/* modemmsg.c: decoding one line a modem process wrote (pure; fuzzed). */
#ifndef PIGEON_MODEMMSG_H
#define PIGEON_MODEMMSG_H

#include <stddef.h>
#include <jansson.h>

#include "number.h"

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
/*
 * Before modem_msg_check: a `refs` entry pigeond cannot take (a string
 * longer than 64 bytes, a reference out of range) becomes null (that part
 * without an id), a `keys` entry so is left out; returns how many, what
 * was done in note. The rest of a `sent` or a `report` is taken: ignored
 * whole, a send stayed unsettled (holding its slot) and was sent again at
 * each lease's end, and a receipt was delivered again for ever.
 */
int	 modem_msg_repair(json_t *msg, char *note, size_t notelen);
/*
 * The sender of an `sms` as the inbox keeps it: norm (normlen bytes, at
 * least NUMBER_MAX) gets the normalised number, or the sender itself, cut
 * between two UTF-8 characters, when it is not a number; returns its kind.
 * A sender the network marked alphanumeric ("sender_toa" 0x50-0x5f, e.g.
 * 0xD0) is NUMBER_ALPHA whatever its text: "0661000001" as a sender ID is
 * a name anyone may choose, never a member's number.
 */
enum number_kind modem_msg_sender(json_t *msg, const char *sender,
	    const char *country, char *norm, size_t normlen);
/* Copies into row (an object for pigeon_inbox_store) what an `sms` says
 * beyond sender, time, text and udh: folder, location, read_id, error. */
void	 modem_msg_sms_extra(json_t *msg, json_t *row);

#endif

/* number.c: sender and recipient numbers to E.164 (DESIGN section 4). */
#ifndef PIGEON_NUMBER_H
#define PIGEON_NUMBER_H

#include <stddef.h>

/* A buffer this size holds every result of number_normalize. */
#define NUMBER_MAX	32

enum number_kind {
	NUMBER_E164,	/* normalized to +<country><subscriber>, 8..15 digits */
	NUMBER_SHORT,	/* a short code or service number (e.g. 40404, 123): stored, never answered */
	NUMBER_ALPHA,	/* alphanumeric sender (e.g. "Maroc Telecom", "INWI"): stored, never answered */
	NUMBER_INVALID	/* empty, garbage, too long */
};

/* Normalizes in (NUL-terminated, may be any bytes) with the default country calling code
 * country (digits, e.g. "212"). Writes the result (E.164 with '+', the short code digits,
 * or the alpha sender trimmed) to out (outlen >= 32 recommended); returns the kind.
 * INVALID, including an out too small for the result, leaves out empty. Pure: no
 * locale, no allocation, safe from any thread. The rules are at the top of number.c. */
enum number_kind number_normalize(const char *in, const char *country, char *out, size_t outlen);
const char *number_kind_name(enum number_kind);

#endif

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
	NUMBER_INVALID	/* empty, garbage, too long, a length its country's plan has not */
};

/* Normalizes in (NUL-terminated, may be any bytes) with the default country calling code
 * country (digits, e.g. "212"). Writes the result (E.164 with '+', the short code digits,
 * or the alpha sender trimmed) to out (outlen >= 32 recommended); returns the kind.
 * INVALID, including an out too small for the result, leaves out empty. Pure: no
 * locale, no allocation, safe from any thread. The rules are at the top of number.c. */
enum number_kind number_normalize(const char *in, const char *country, char *out, size_t outlen);
/* Why number_normalize found in INVALID when the reason is the number's length
 * alone in its country's numbering plan: writes e.g. "+212 numbers have 9 digits
 * after the country code, this one 7" to out and returns 1, and, when e164 is not
 * NULL, the number as it was taken before the plans were checked (NUMBER_MAX bytes:
 * "+2126610000", to find what was stored then). Otherwise 0, both empty (out when
 * outlen > 0). Pure, like number_normalize. */
int number_plan_why(const char *in, const char *country, char *e164, char *out,
    size_t outlen);
const char *number_kind_name(enum number_kind);

#endif

/* api_body.c: the API's body parsing and send checks, pure (fuzzed). */
#ifndef PIGEON_API_BODY_H
#define PIGEON_API_BODY_H

#include <stddef.h>
#include <jansson.h>

#define API_MAX_BODY		(16 * 1024)	/* larger bodies get 413 */
#define API_SEND_MAX_CHARS	1000	/* about 7 UCS-2 parts; the worker splits */

/* Parses a request body that must be a JSON object: 0 and *out (a new
 * reference), or the HTTP status to answer (400, 413) and err. */
int	api_body_parse(const char *data, size_t len, json_t **out, char *err,
	    size_t errlen);
/* Checks POST /api/messages's body: 0 with number (E.164, numlen >= 32)
 * and *text (borrowed from body), or 400 and err. */
int	api_send_check(json_t *body, const char *country, char *number,
	    size_t numlen, const char **text, char *err, size_t errlen);

#endif

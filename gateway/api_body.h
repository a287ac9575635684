/* api_body.c: the API's body parsing and send checks, pure (fuzzed). */
#ifndef PIGEON_API_BODY_H
#define PIGEON_API_BODY_H

#include <stddef.h>
#include <jansson.h>

/* Larger bodies get 413: a send to the most recipients [http]
 * max_recipients allows (API_SEND_TO_CAP), each written with spaces and
 * dashes, with a text of API_SEND_MAX_CHARS written as \u escapes (at
 * 16 KiB, 1,000 numbers alone were over it). Under evhttp's own 64 KiB
 * (http.c), past which it answers 413 itself, in HTML. */
#define API_MAX_BODY		(8 * 1024 + 48 * API_SEND_TO_CAP)
#define API_SEND_MAX_CHARS	1000	/* and at most 10 parts (api_messages.c) */

/* Parses a request body that must be a JSON object: 0 and *out (a new
 * reference), or the HTTP status to answer (400, 413) and err. */
int	api_body_parse(const char *data, size_t len, json_t **out, char *err,
	    size_t errlen);
#define API_SEND_TO_CAP		1000	/* highest [http] max_recipients */
#define API_PRIORITY_MAX	3	/* 0-3, as Kannel and Jasmin number them */
#define API_SEND_AHEAD_S	(30 * 86400)	/* send_at at most this far ahead */

/* POST /api/messages, checked. Strings are borrowed from the body. */
struct api_send {
	size_t		 nto;
	char		 to[API_SEND_TO_CAP][32];	/* E.164, distinct */
	const char	*text;
	int		 priority;	/* 0 when not given */
	int		 flash;
	long long	 validity;	/* seconds; 0 when not given */
	long long	 send_at;	/* Unix seconds; 0 when not given */
	const char	*via;		/* a link name, checked by the caller */
	const char	*dlr_url;
	const char	*idempotency_key;
};

/* 1 when v has the shape of POST /api/posts's send_at (a date that
 * exists, 'T' or ' ', HH:MM[:SS[.ffffff]], an optional zone: Z, +HH,
 * +HHMM, +HH:MM), which PostgreSQL then reads; 0 otherwise. */
int	 api_post_time_ok(const char *v);

/* Checks POST /api/messages's body: 0 with *s filled, or 400 and err
 * (which names the field at fault). now is the current Unix time,
 * max_to the most recipients allowed. */
int	api_send_check(json_t *body, const char *country, size_t max_to,
	    long long now, struct api_send *s, char *err, size_t errlen);

#endif

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
#define API_SEND_NAMES_CAP	2000	/* names in "to", repeats too (a 16 KiB
					 * body holds about 1,500) */
#define API_PRIORITY_MAX	3	/* 0-3, as Kannel and Jasmin number them */
#define API_SEND_AHEAD_S	(30 * 86400)	/* send_at at most this far ahead */

/* A time given to the API (api_time_parse). */
struct api_time {
	long long	 wall;		/* as written, in Unix seconds as if UTC */
	int		 usec;
	int		 zoned;		/* 0: no zone given (the service's) */
	int		 offset_s;	/* east of UTC, when zoned */
};

#define API_TIME_FORMS	"\"send_at\" is a time such as 2026-12-04T18:00:00Z, " \
	"2026-12-04T19:00:00.000+01:00 or 2026-12-04T18:00 (without a zone: " \
	"the service's time zone)"

/* 0 and *t when v is a time of RFC 3339 / ISO 8601 (a date that exists,
 * 'T' or ' ', HH:MM[:SS[.ffffff]], an optional zone: Z, +HH:MM, +HHMM,
 * +HH); -1 otherwise. The one reading of every send_at of the API. */
int	 api_time_parse(const char *v, struct api_time *t);
/* A zoned time's Unix seconds (without a zone: as if UTC). */
long long api_time_unix(const struct api_time *t);
/* t as PostgreSQL reads it whatever its settings:
 * YYYY-MM-DDTHH:MM:SS.ffffff, then +HH:MM when zoned. */
void	 api_time_text(const struct api_time *t, char *out, size_t len);

/* A zoned time (as PostgreSQL writes a timestamptz in JSON: 'T', 0-6
 * decimals) as the API answers it: UTC, milliseconds, "+00:00"
 * (2026-11-26T08:28:37.100+00:00). 0 and out, or -1 (v left as it is). */
int	 api_time_json(const char *v, char *out, size_t len);
/* Every time in v (the values of created_at, ..._at, ..._since, at, t,
 * oldest, updated, at any depth) written by api_time_json: the fixed
 * format of docs/api.md, Times, whatever PostgreSQL wrote. */
void	 api_json_times(json_t *v);

/* 0 when every field of body is one of fields (NULL-terminated); 400
 * and err naming the first that is not: a field is never ignored. */
int	 api_body_fields(json_t *body, const char *const *fields, char *err,
	    size_t errlen);
/* The body's optional idempotency_key: 0 and *out (borrowed, NULL when
 * absent), or 400 and err when it is not 1-200 printable characters. */
int	 api_idempotency_key(json_t *body, const char **out, char *err,
	    size_t errlen);

/* POST /api/messages, checked. Strings are borrowed from the body. */
struct api_send {
	size_t		 nto;
	char		 to[API_SEND_NAMES_CAP][32];	/* E.164, in the order of
						 * "to", a repeated number again */
	size_t		 ndistinct;	/* numbers, each once: at most max_to */
	const char	*text;
	int		 priority;	/* 0 when not given */
	int		 flash;
	long long	 validity;	/* seconds; 0 when not given */
	int		 has_send_at;
	struct api_time	 send_at;	/* when has_send_at */
	const char	*via;		/* a link name, checked by the caller */
	const char	*dlr_url;
	const char	*idempotency_key;
};

/* Checks POST /api/messages's body: 0 with *s filled, or 400 and err
 * (which names the field at fault). now is the current Unix time,
 * max_to the most recipients allowed. */
int	api_send_check(json_t *body, const char *country, size_t max_to,
	    long long now, struct api_send *s, char *err, size_t errlen);

#endif

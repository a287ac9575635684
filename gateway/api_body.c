/*
 * api_body.c: the pure part of the API's request handling, the JSON body
 * and POST /api/messages's checks, apart from libevent and the database so
 * that tests/fuzz/fuzz_api.c can feed it any bytes.
 */
#include <stdio.h>
#include <stdarg.h>
#include <string.h>

#include <jansson.h>

#include "api_body.h"
#include "number.h"

static int
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return 400;
}

int
api_body_parse(const char *data, size_t len, json_t **out, char *err, size_t errlen)
{
	json_error_t jerr;

	*out = NULL;
	if (len > API_MAX_BODY) {
		fail(err, errlen, "the body is larger than %d bytes", API_MAX_BODY);
		return 413;
	}
	if (len == 0)
		return fail(err, errlen, "a JSON object is required");
	*out = json_loadb(data, len, 0, &jerr);
	if (*out == NULL)
		return fail(err, errlen, "bad JSON: %s", jerr.text);
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return fail(err, errlen, "the body must be a JSON object");
	}
	return 0;
}

/* Characters, not bytes: jansson has checked that the text is UTF-8. */
static size_t
utf8_chars(const char *s, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			n++;
	return n;
}

int
api_send_check(json_t *body, const char *country, char *number, size_t numlen,
    const char **text, char *err, size_t errlen)
{
	json_t *to = json_object_get(body, "to");
	json_t *t = json_object_get(body, "text");

	if (!json_is_string(to) || !json_is_string(t))
		return fail(err, errlen, "\"to\" and \"text\" are required strings");
	/* A NUL would cut the string short for C and cannot be stored. */
	if (strlen(json_string_value(to)) != json_string_length(to) ||
	    strlen(json_string_value(t)) != json_string_length(t))
		return fail(err, errlen, "\"to\" and \"text\" cannot hold U+0000");
	if (number_normalize(json_string_value(to), country, number, numlen) != NUMBER_E164)
		return fail(err, errlen, "\"to\" is not a phone number");
	size_t n = utf8_chars(json_string_value(t), json_string_length(t));
	if (n == 0 || n > API_SEND_MAX_CHARS)
		return fail(err, errlen, "\"text\" must have 1 to %d characters",
		    API_SEND_MAX_CHARS);
	*text = json_string_value(t);
	return 0;
}

/*
 * api_body.c: the pure part of the API's request handling, the JSON body
 * and POST /api/messages's checks, apart from libevent and the database so
 * that tests/fuzz/fuzz_api.c can feed it any bytes.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>

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

static const char *const send_fields[] = { "to", "text", "idempotency_key",
    "validity", "priority", "send_at", "via", "flash", "dlr_url", NULL };

/* A string without U+0000 (a NUL would cut it short for C). */
static const char *
plain_string(json_t *v)
{
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
		return NULL;
	return json_string_value(v);
}

/* The n ASCII digits at s, as a number; -1 when they are not all digits. */
static int
digits(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/*
 * The "YYYY-MM-DD?HH:MM" that both times below begin with, '?' one of
 * seps: its fields in f (year, month, day, hour, minute), 0; or -1 when
 * a field is not its exact number of digits (sscanf took " 1" and "-1")
 * or out of range, or the date does not exist (2026-02-31 was taken as
 * 3 March).
 */
static int
date_and_minute(const char *v, const char *seps, int f[5])
{
	struct tm tm = { 0 }, back;

	if (strlen(v) < 16 || v[4] != '-' || v[7] != '-' || v[10] == '\0' ||
	    strchr(seps, v[10]) == NULL || v[13] != ':')
		return -1;
	f[0] = digits(v, 4);
	f[1] = digits(v + 5, 2);
	f[2] = digits(v + 8, 2);
	f[3] = digits(v + 11, 2);
	f[4] = digits(v + 14, 2);
	if (f[0] < 1970 || f[1] < 1 || f[1] > 12 || f[2] < 1 || f[2] > 31 ||
	    f[3] < 0 || f[3] > 23 || f[4] < 0 || f[4] > 59)
		return -1;
	tm.tm_year = f[0] - 1900;
	tm.tm_mon = f[1] - 1;
	tm.tm_mday = f[2];
	time_t t = timegm(&tm);
	if (gmtime_r(&t, &back) == NULL || back.tm_mday != f[2] || back.tm_mon != f[1] - 1)
		return -1;
	return 0;
}

/* 2026-12-04T18:00:00Z or with an offset (+01:00); -1 when not so. */
static long long
iso_time(const char *v)
{
	struct tm tm = { 0 };
	int f[5], sec, oh = 0, om = 0;

	if (strlen(v) < 20 || date_and_minute(v, "T", f) == -1 || v[16] != ':' ||
	    (sec = digits(v + 17, 2)) < 0 || sec > 59)
		return -1;
	v += 19;
	if (strcmp(v, "Z") != 0) {
		if (strlen(v) != 6 || (v[0] != '+' && v[0] != '-') || v[3] != ':' ||
		    (oh = digits(v + 1, 2)) < 0 || (om = digits(v + 4, 2)) < 0 ||
		    oh > 14 || om > 59)
			return -1;
		if (v[0] == '-') {
			oh = -oh;
			om = -om;
		}
	}
	tm.tm_year = f[0] - 1900;
	tm.tm_mon = f[1] - 1;
	tm.tm_mday = f[2];
	tm.tm_hour = f[3];
	tm.tm_min = f[4];
	tm.tm_sec = sec;
	return (long long)timegm(&tm) - oh * 3600LL - om * 60LL;
}

/*
 * The shape of a post's send_at, before PostgreSQL reads it: a date that
 * exists, 'T' or a space, HH:MM, optional :SS with up to 6 decimals, and
 * an optional zone (Z, +HH, +HHMM, +HH:MM). PostgreSQL's own input also
 * takes "tomorrow", "epoch", "infinity", "allballs", month names and
 * zone names: nothing a client means by a time to post at. 1 when so.
 */
int
api_post_time_ok(const char *v)
{
	int f[5], n;

	if (date_and_minute(v, "T ", f) == -1)
		return 0;
	v += 16;
	if (*v == ':') {
		if (digits(v + 1, 2) < 0 || digits(v + 1, 2) > 59)
			return 0;
		v += 3;
		if (*v == '.') {
			for (n = 0, v++; *v >= '0' && *v <= '9'; v++)
				n++;
			if (n < 1 || n > 6)
				return 0;
		}
	}
	if (*v == '\0' || strcmp(v, "Z") == 0)
		return 1;
	if ((*v != '+' && *v != '-') || digits(v + 1, 2) < 0 || digits(v + 1, 2) > 14)
		return 0;
	v += 3;
	if (*v == ':')
		v++;
	if (*v == '\0')
		return v[-1] != ':';
	return strlen(v) == 2 && digits(v, 2) >= 0 && digits(v, 2) <= 59;
}

/* An optional integer field in [min, max]: 0 and *out, 1 when absent. */
static int
int_field(json_t *body, const char *name, long long min, long long max,
    long long *out, char *err, size_t errlen)
{
	json_t *v = json_object_get(body, name);

	if (v == NULL)
		return 1;
	if (!json_is_integer(v) || json_integer_value(v) < min ||
	    json_integer_value(v) > max)
		return fail(err, errlen, "\"%s\" must be a whole number from %lld to %lld",
		    name, min, max);
	*out = json_integer_value(v);
	return 0;
}

static int
add_recipient(struct api_send *s, json_t *v, const char *country, size_t max_to,
    char *err, size_t errlen)
{
	const char *t = plain_string(v);
	char number[32];

	if (t == NULL)
		return fail(err, errlen, "\"to\" holds phone numbers as strings");
	if (number_normalize(t, country, number, sizeof(number)) != NUMBER_E164)
		return fail(err, errlen, "\"to\": %.40s is not a phone number", t);
	for (size_t i = 0; i < s->nto; i++)
		if (strcmp(s->to[i], number) == 0)
			return 0;	/* one SMS per phone, however often named */
	if (s->nto >= max_to)
		return fail(err, errlen, "\"to\" may name at most %zu recipients", max_to);
	memcpy(s->to[s->nto++], number, sizeof(number));
	return 0;
}

int
api_send_check(json_t *body, const char *country, size_t max_to, long long now,
    struct api_send *s, char *err, size_t errlen)
{
	json_t *to = json_object_get(body, "to"), *v;
	const char *key;
	long long n;
	int rc;

	memset(s, 0, offsetof(struct api_send, to));
	s->text = s->via = s->dlr_url = s->idempotency_key = NULL;
	s->priority = s->flash = 0;
	s->validity = s->send_at = 0;
	if (max_to > API_SEND_TO_CAP)
		max_to = API_SEND_TO_CAP;
	/* Never ignored: a field we do not know is a mistake to report. */
	json_object_foreach(body, key, v) {
		int known = 0;
		for (int i = 0; send_fields[i]; i++)
			known |= strcmp(send_fields[i], key) == 0;
		if (!known)
			return fail(err, errlen, "unknown field \"%.40s\"", key);
	}
	if (to == NULL || (s->text = plain_string(json_object_get(body, "text"))) == NULL)
		return fail(err, errlen, "\"to\" and \"text\" are required, \"text\" a string "
		    "without U+0000");
	if (json_is_array(to)) {
		size_t i;
		if (json_array_size(to) == 0)
			return fail(err, errlen, "\"to\" is an empty list");
		json_array_foreach(to, i, v)
			if (add_recipient(s, v, country, max_to, err, errlen) != 0)
				return 400;
	} else if (add_recipient(s, to, country, max_to, err, errlen) != 0) {
		return 400;
	}
	size_t chars = utf8_chars(s->text, strlen(s->text));
	if (chars == 0 || chars > API_SEND_MAX_CHARS)
		return fail(err, errlen, "\"text\" must have 1 to %d characters",
		    API_SEND_MAX_CHARS);
	if ((rc = int_field(body, "validity", 60, 2592000, &s->validity, err, errlen)) > 1)
		return rc;
	n = 0;
	if ((rc = int_field(body, "priority", 0, API_PRIORITY_MAX, &n, err, errlen)) > 1)
		return rc;
	s->priority = (int)n;
	if ((v = json_object_get(body, "flash")) != NULL) {
		if (!json_is_boolean(v))
			return fail(err, errlen, "\"flash\" is true or false");
		s->flash = json_is_true(v);
	}
	if ((v = json_object_get(body, "send_at")) != NULL) {
		const char *t = plain_string(v);
		s->send_at = t ? iso_time(t) : -1;
		if (s->send_at < 0)
			return fail(err, errlen, "\"send_at\" is a time such as "
			    "2026-12-04T18:00:00Z or 2026-12-04T19:00:00+01:00");
		if (s->send_at > now + API_SEND_AHEAD_S)
			return fail(err, errlen, "\"send_at\" is more than %d days ahead",
			    API_SEND_AHEAD_S / 86400);
	}
	if ((v = json_object_get(body, "via")) != NULL &&
	    ((s->via = plain_string(v)) == NULL || *s->via == '\0' || strlen(s->via) > 64))
		return fail(err, errlen, "\"via\" is a link name");
	if ((v = json_object_get(body, "dlr_url")) != NULL) {
		s->dlr_url = plain_string(v);
		/* Kept as a text[] element and a request line: no quote,
		 * backslash, brace, comma, space or control character. */
		int ok = s->dlr_url && strncmp(s->dlr_url, "http://", 7) == 0 &&
		    strlen(s->dlr_url) > 7 && strlen(s->dlr_url) <= 1000;
		for (const char *p = s->dlr_url; ok && *p; p++)
			ok = (unsigned char)*p > 0x20 && (unsigned char)*p < 0x7f &&
			    strchr("\"\\{},", *p) == NULL;
		if (!ok)
			return fail(err, errlen, "\"dlr_url\" is an http:// URL "
			    "(at most 1000 characters, no space, quote, brace or comma)");
	}
	if ((v = json_object_get(body, "idempotency_key")) != NULL) {
		s->idempotency_key = plain_string(v);
		int ok = s->idempotency_key && *s->idempotency_key &&
		    strlen(s->idempotency_key) <= 200;
		for (const char *p = s->idempotency_key; ok && *p; p++)
			ok = (unsigned char)*p >= 0x20 && *p != 0x7f;
		if (!ok)
			return fail(err, errlen, "\"idempotency_key\" is 1 to 200 printable "
			    "characters");
	}
	return 0;
}

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
 * The one reading of a time in the API (POST /api/messages's send_at and
 * POST /api/posts's): RFC 3339 / ISO 8601, "YYYY-MM-DD", 'T' (or a
 * space, as RFC 3339 allows), "HH:MM", optional ":SS" with 1 to 6
 * decimals, and an optional zone: Z, +HH:MM, +HHMM or +HH. What
 * JavaScript's toISOString() and PostgreSQL's own answers write is taken.
 * Not taken: what else PostgreSQL's input reads ("tomorrow", "epoch",
 * month and zone names), a 60th second, a date that does not exist
 * (2026-02-31 was taken as 3 March), a field without its exact digits
 * (sscanf took " 1" and "-1"). 0 and *t, or -1.
 */
int
api_time_parse(const char *v, struct api_time *t)
{
	struct tm tm = { 0 }, back;
	int f[6] = { 0 }, n, oh, om = 0;

	memset(t, 0, sizeof(*t));
	if (strlen(v) < 16 || v[4] != '-' || v[7] != '-' || (v[10] != 'T' &&
	    v[10] != ' ') || v[13] != ':')
		return -1;
	f[0] = digits(v, 4);
	f[1] = digits(v + 5, 2);
	f[2] = digits(v + 8, 2);
	f[3] = digits(v + 11, 2);
	f[4] = digits(v + 14, 2);
	v += 16;
	if (*v == ':') {
		if ((f[5] = digits(v + 1, 2)) < 0)
			return -1;
		v += 3;
		if (*v == '.') {
			for (n = 0, v++; *v >= '0' && *v <= '9'; v++, n++)
				if (n < 6)
					t->usec = t->usec * 10 + (*v - '0');
			if (n < 1 || n > 6)
				return -1;
			for (; n < 6; n++)
				t->usec *= 10;
		}
	}
	if (f[0] < 1970 || f[1] < 1 || f[1] > 12 || f[2] < 1 || f[2] > 31 ||
	    f[3] < 0 || f[3] > 23 || f[4] < 0 || f[4] > 59 || f[5] < 0 || f[5] > 59)
		return -1;
	tm.tm_year = f[0] - 1900;
	tm.tm_mon = f[1] - 1;
	tm.tm_mday = f[2];
	tm.tm_hour = f[3];
	tm.tm_min = f[4];
	tm.tm_sec = f[5];
	time_t w = timegm(&tm);
	if (gmtime_r(&w, &back) == NULL || back.tm_mday != f[2] || back.tm_mon != f[1] - 1)
		return -1;
	t->wall = (long long)w;
	if (*v == '\0')
		return 0;
	t->zoned = 1;
	if (strcmp(v, "Z") == 0)
		return 0;
	if ((*v != '+' && *v != '-') || (oh = digits(v + 1, 2)) < 0 || oh > 14)
		return -1;
	const char *m = v + 3;
	if (*m == ':')
		m++;
	if (*m == '\0' && m[-1] == ':')
		return -1;
	if (*m != '\0' && (strlen(m) != 2 || (om = digits(m, 2)) < 0 || om > 59))
		return -1;
	t->offset_s = (oh * 3600 + om * 60) * (*v == '-' ? -1 : 1);
	return 0;
}

long long
api_time_unix(const struct api_time *t)
{
	return t->wall - t->offset_s;
}

void
api_time_text(const struct api_time *t, char *out, size_t len)
{
	struct tm tm;
	time_t w = (time_t)t->wall;
	char zone[16] = "";
	int off = t->offset_s < 0 ? -t->offset_s : t->offset_s;

	if (t->zoned)
		snprintf(zone, sizeof(zone), "%c%02d:%02d", t->offset_s < 0 ? '-' : '+',
		    off / 3600, off / 60 % 60);
	gmtime_r(&w, &tm);
	snprintf(out, len, "%04d-%02d-%02dT%02d:%02d:%02d.%06d%s", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, t->usec, zone);
}

int
api_time_json(const char *v, char *out, size_t len)
{
	struct api_time t;
	struct tm tm;

	if (api_time_parse(v, &t) == -1 || !t.zoned || v[10] != 'T')
		return -1;
	time_t u = (time_t)api_time_unix(&t);
	if (gmtime_r(&u, &tm) == NULL)
		return -1;
	snprintf(out, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03d+00:00", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, t.usec / 1000);
	return 0;
}

/* A key whose value is a time: created_at, member_since, at, t... A
 * member's words (text, name, bio) are never under one. */
static int
time_key(const char *k)
{
	size_t n = strlen(k);

	return strcmp(k, "at") == 0 || strcmp(k, "t") == 0 || strcmp(k, "oldest") == 0 ||
	    strcmp(k, "updated") == 0 || (n > 3 && strcmp(k + n - 3, "_at") == 0) ||
	    (n > 6 && strcmp(k + n - 6, "_since") == 0);
}

void
api_json_times(json_t *v)
{
	const char *key;
	json_t *e;
	size_t i;
	char fixed[40];

	if (json_is_array(v)) {
		json_array_foreach(v, i, e)
			api_json_times(e);
		return;
	}
	json_object_foreach(v, key, e) {
		if (json_is_string(e) && time_key(key) &&
		    api_time_json(json_string_value(e), fixed, sizeof(fixed)) == 0)
			json_object_set_new(v, key, json_string(fixed));
		else
			api_json_times(e);
	}
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

/*
 * One name of to, in its place: each name has its place in to (ids
 * answer in the order of to, one a name), a number named again the same
 * number as its first mention (pigeon_api_send queues one SMS for it
 * and answers its id in each place).
 */
static int
add_recipient(struct api_send *s, json_t *v, const char *country, size_t max_to,
    char *err, size_t errlen)
{
	const char *t = plain_string(v);
	char number[32], why[96];

	if (t == NULL)
		return fail(err, errlen, "\"to\" holds phone numbers as strings");
	if (number_normalize(t, country, number, sizeof(number)) != NUMBER_E164) {
		if (number_plan_why(t, country, NULL, why, sizeof(why)))
			return fail(err, errlen, "\"to\": %.40s is not a phone number: %s",
			    t, why);
		return fail(err, errlen, "\"to\": %.40s is not a phone number", t);
	}
	size_t i;
	for (i = 0; i < s->nto; i++)
		if (strcmp(s->to[i], number) == 0)
			break;
	if ((i == s->nto && s->ndistinct >= max_to) || s->nto >= API_SEND_NAMES_CAP)
		return fail(err, errlen, "\"to\" may name at most %zu recipients", max_to);
	s->ndistinct += i == s->nto;
	memcpy(s->to[s->nto++], number, sizeof(number));
	return 0;
}

int
api_body_fields(json_t *body, const char *const *fields, char *err, size_t errlen)
{
	const char *key;
	json_t *v;

	json_object_foreach(body, key, v) {
		int known = 0;
		for (int i = 0; fields[i]; i++)
			known |= strcmp(fields[i], key) == 0;
		if (!known)
			return fail(err, errlen, "unknown field \"%.40s\"", key);
	}
	return 0;
}

int
api_idempotency_key(json_t *body, const char **out, char *err, size_t errlen)
{
	json_t *v = json_object_get(body, "idempotency_key");

	*out = NULL;
	if (v == NULL)
		return 0;
	const char *k = plain_string(v);
	int ok = k && *k && strlen(k) <= 200;
	for (const char *p = k; ok && *p; p++)
		ok = (unsigned char)*p >= 0x20 && *p != 0x7f;
	if (!ok)
		return fail(err, errlen, "\"idempotency_key\" is 1 to 200 printable "
		    "characters");
	*out = k;
	return 0;
}

int
api_send_check(json_t *body, const char *country, size_t max_to, long long now,
    struct api_send *s, char *err, size_t errlen)
{
	json_t *to = json_object_get(body, "to"), *v;
	long long n;
	int rc;

	memset(s, 0, offsetof(struct api_send, to));
	s->text = s->via = s->dlr_url = s->idempotency_key = NULL;
	s->priority = s->flash = 0;
	s->validity = 0;
	s->has_send_at = 0;
	s->ndistinct = 0;
	memset(&s->send_at, 0, sizeof(s->send_at));
	if (max_to > API_SEND_TO_CAP)
		max_to = API_SEND_TO_CAP;
	/* Never ignored: a field we do not know is a mistake to report. */
	if (api_body_fields(body, send_fields, err, errlen) != 0)
		return 400;
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
		if (t == NULL || api_time_parse(t, &s->send_at) == -1)
			return fail(err, errlen, "%s", API_TIME_FORMS);
		/* Without a zone: the service's time zone, which the database
		 * applies (and checks the 30 days again). */
		if (api_time_unix(&s->send_at) > now + API_SEND_AHEAD_S +
		    (s->send_at.zoned ? 0 : 14 * 3600))
			return fail(err, errlen, "\"send_at\" is more than %d days ahead",
			    API_SEND_AHEAD_S / 86400);
		s->has_send_at = 1;
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
	if (api_idempotency_key(body, &s->idempotency_key, err, errlen) != 0)
		return 400;
	return 0;
}

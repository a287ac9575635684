/*
 * modemmsg.c: the first step of how pigeond reads what a modem process
 * says, apart from the event loop so that tests/fuzz/fuzz_modem.c can
 * feed it any bytes. supervisor.c dispatches on the type.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "modemmsg.h"

const char *
modem_msg_decode(const char *line, size_t len, json_t **msg, char *err, size_t errlen)
{
	json_error_t jerr;
	const char *type;

	/*
	 * JSON_ALLOW_NUL: an SMS may hold U+0000 (UCS-2 allows it); refusing
	 * the line would leave that SMS on the SIM for ever, re-reported by
	 * every worker. inbound.c makes each NUL a U+FFFD, and other strings
	 * are read as C strings (cut at the NUL). JSON_REJECT_DUPLICATES: a
	 * second "type" or "id" is a worker gone wrong.
	 */
	*msg = json_loadb(line, len, JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, &jerr);
	if (*msg == NULL) {
		snprintf(err, errlen, "%s", jerr.text);
		return NULL;
	}
	if (!json_is_object(*msg) ||
	    (type = json_string_value(json_object_get(*msg, "type"))) == NULL ||
	    strlen(type) != json_string_length(json_object_get(*msg, "type"))) {
		snprintf(err, errlen, "no type");
		json_decref(*msg);
		*msg = NULL;
		return NULL;
	}
	return type;
}

/* Copies what fits of s into out, never cutting a UTF-8 character. */
static void
modem_msg_cut(char *out, size_t outlen, const char *s)
{
	size_t n = strlen(s);

	if (n >= outlen) {
		n = outlen - 1;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(out, s, n);
	out[n] = '\0';
}

enum number_kind
modem_msg_sender(json_t *msg, const char *sender, const char *country,
    char *norm, size_t normlen)
{
	json_t *toa = json_object_get(msg, "sender_toa");
	enum number_kind kind;

	if (json_is_integer(toa) && (json_integer_value(toa) & 0x70) == 0x50) {
		modem_msg_cut(norm, normlen, sender);
		return NUMBER_ALPHA;
	}
	kind = number_normalize(sender, country, norm, normlen);
	if (kind == NUMBER_INVALID)
		modem_msg_cut(norm, normlen, sender);
	return kind;
}

/* A short printable ASCII string member, or NULL. */
static const char *
modem_msg_word(json_t *msg, const char *key, size_t max)
{
	const char *s = json_string_value(json_object_get(msg, key));

	if (s == NULL || strlen(s) > max)
		return NULL;
	for (const char *p = s; *p != '\0'; p++)
		if (*p < 0x20 || *p > 0x7e)
			return NULL;
	return s;
}

void
modem_msg_sms_extra(json_t *msg, json_t *row)
{
	json_t *v;
	const char *s;

	if (row == NULL)
		return;
	if (json_is_integer(v = json_object_get(msg, "folder")))
		json_object_set(row, "folder", v);
	if (json_is_integer(v = json_object_get(msg, "location")))
		json_object_set(row, "location", v);
	if ((s = modem_msg_word(msg, "read_id", 64)) != NULL)
		json_object_set_new(row, "read_id", json_string(s));
	if ((s = modem_msg_word(msg, "error", 200)) != NULL)
		json_object_set_new(row, "error", json_string(s));
}

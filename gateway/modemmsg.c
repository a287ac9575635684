/*
 * modemmsg.c: the first step of how pigeond reads what a modem process
 * says, apart from the event loop so that tests/fuzz/fuzz_modem.c can
 * feed it any bytes. supervisor.c dispatches on the type.
 */
#include <stdint.h>
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

/*
 * What each message type must carry (docs/modem-protocol.md), checked in
 * one place so that a worker gone wrong is caught before any handler reads
 * a field: F_REQ fields must be present; any field present must have its
 * JSON type and, for integers, lie in [min, max].
 */
enum field_kind { F_INT, F_STR, F_BOOL, F_OBJ, F_ARR, F_STR_OR_NULL };
struct field_rule {
	const char	*type;
	const char	*name;
	enum field_kind	 kind;
	int		 required;
	long long	 min, max;
};

#define F_REQ	1
static const struct field_rule rules[] = {
	{ "sms", "folder", F_INT, 0, 0, 255 },
	{ "sms", "location", F_INT, F_REQ, 0, INT32_MAX },
	{ "sms", "key", F_STR, 0, 0, 0 },
	{ "sms", "redelivery", F_BOOL, 0, 0, 0 },
	{ "sms", "sender", F_STR, 0, 0, 0 },
	{ "sms", "smsc", F_STR_OR_NULL, 0, 0, 0 },
	{ "sms", "time", F_STR_OR_NULL, 0, 0, 0 },
	{ "sms", "discharge_time", F_STR_OR_NULL, 0, 0, 0 },
	{ "sms", "coding", F_STR, 0, 0, 0 },
	{ "sms", "text", F_STR, 0, 0, 0 },
	{ "sms", "udh", F_OBJ, 0, 0, 0 },
	{ "sms", "status_report", F_BOOL, 0, 0, 0 },
	{ "sms", "ref", F_INT, 0, -1, 255 },
	{ "sms", "delivery_status", F_INT, 0, -1, 255 },
	{ "sent", "id", F_INT, F_REQ, 1, (1LL << 62) },
	{ "sent", "parts", F_INT, 0, 0, 255 },
	{ "sent", "segments", F_INT, 0, 1, 255 },
	{ "sent", "refs", F_ARR, 0, 0, 0 },
	{ "sent", "keys", F_ARR, 0, 0, 0 },
	{ "send_failed", "id", F_INT, F_REQ, 1, (1LL << 62) },
	{ "send_failed", "error", F_STR, 0, 0, 0 },
	{ "send_failed", "temporary", F_BOOL, 0, 0, 0 },
	{ "send_failed", "parts_sent", F_INT, 0, 0, 255 },
	{ "send_failed", "throttled", F_BOOL, 0, 0, 0 },
	{ "send_failed", "maybe_sent", F_BOOL, 0, 0, 0 },
	{ "send_failed", "not_sent", F_BOOL, 0, 0, 0 },
	{ "send_failed", "link_lost", F_BOOL, 0, 0, 0 },
	{ "send_failed", "link_refused", F_BOOL, 0, 0, 0 },
	{ "send_failed", "bind_refused", F_BOOL, 0, 0, 0 },
	{ "paused", "ms", F_INT, F_REQ, 0, 3600000 },
	{ "paused", "reason", F_STR, 0, 0, 0 },
	{ "report", "folder", F_INT, 0, 0, 255 },
	{ "report", "location", F_INT, F_REQ, 0, INT32_MAX },
	{ "report", "key", F_STR, F_REQ, 0, 0 },
	{ "report", "keys", F_ARR, F_REQ, 0, 0 },
	{ "report", "recipient", F_STR, 0, 0, 0 },
	{ "report", "stat", F_STR, 0, 0, 0 },
	{ "report", "err", F_STR_OR_NULL, 0, 0, 0 },
	{ "report", "delivered", F_BOOL, 0, 0, 0 },
	{ "report", "final", F_BOOL, 0, 0, 0 },
	{ "link", "state", F_STR, 0, 0, 0 },
	{ "link", "reason", F_STR, 0, 0, 0 },
	{ "link", "session", F_STR, 0, 0, 0 },
	{ "link", "sends", F_BOOL, 0, 0, 0 },
	{ "health", "signal_percent", F_INT, 0, -200, 200 },
	{ "health", "registration", F_STR, 0, 0, 0 },
	{ "health", "operator", F_STR, 0, 0, 0 },
	{ "deleted", "location", F_INT, F_REQ, 0, INT32_MAX },
	{ "deleted", "folder", F_INT, 0, 0, 255 },
	{ "delete_failed", "location", F_INT, F_REQ, 0, INT32_MAX },
	{ "delete_failed", "error", F_STR, 0, 0, 0 },
	{ "dropped", "locations", F_ARR, F_REQ, 0, 0 },
	{ "error", "stage", F_STR, 0, 0, 0 },
	{ "error", "error", F_STR, 0, 0, 0 },
	{ "ready", NULL, F_INT, 0, 0, 0 },
	{ "pong", NULL, F_INT, 0, 0, 0 },
	{ "pin_needed", NULL, F_INT, 0, 0, 0 },
	{ "pin_refused", NULL, F_INT, 0, 0, 0 },
};

static int
kind_ok(json_t *v, const struct field_rule *r)
{
	switch (r->kind) {
	case F_INT:
		return json_is_integer(v) && json_integer_value(v) >= r->min &&
		    json_integer_value(v) <= r->max;
	case F_STR:
		return json_is_string(v);
	case F_STR_OR_NULL:
		return json_is_string(v) || json_is_null(v);
	case F_BOOL:
		return json_is_boolean(v);
	case F_OBJ:
		return json_is_object(v);
	case F_ARR:
		return json_is_array(v);
	}
	return 0;
}

/* A modem's references are 0-255, or -1 where the network gave none;
 * an SMSC's message ids are strings; keys are strings. */
static int
ref_ok(json_t *ref)
{
	return (json_is_integer(ref) && json_integer_value(ref) >= -1 &&
	    json_integer_value(ref) <= 255) ||
	    (json_is_string(ref) && json_string_length(ref) <= 64);
}

static int
key_ok(json_t *key)
{
	return json_is_string(key) && json_string_length(key) <= 64;
}

int
modem_msg_check(const char *type, json_t *msg, char *err, size_t errlen)
{
	int known = 0;

	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		const struct field_rule *r = &rules[i];
		if (strcmp(r->type, type) != 0)
			continue;
		known = 1;
		if (r->name == NULL)
			continue;
		json_t *v = json_object_get(msg, r->name);
		if (v == NULL) {
			if (r->required) {
				snprintf(err, errlen, "%s without %s", type, r->name);
				return -1;
			}
			continue;
		}
		if (!kind_ok(v, r)) {
			snprintf(err, errlen, "%s: bad %s", type, r->name);
			return -1;
		}
	}
	if (!known) {
		snprintf(err, errlen, "unknown type");
		return -1;
	}
	json_t *udh = json_object_get(msg, "udh");
	if (udh != NULL) {
		static const char *const parts[] = { "ref", "total", "seq" };
		for (size_t i = 0; i < 3; i++) {
			json_t *v = json_object_get(udh, parts[i]);
			if (v != NULL && (!json_is_integer(v) || json_integer_value(v) < 0 ||
			    json_integer_value(v) > 65535)) {
				snprintf(err, errlen, "sms: bad udh %s", parts[i]);
				return -1;
			}
		}
	}
	json_t *refs = json_object_get(msg, "refs"), *ref;
	size_t i;
	json_array_foreach(refs, i, ref)
		if (!ref_ok(ref) && !json_is_null(ref)) {
			snprintf(err, errlen, "%s: bad refs", type);
			return -1;
		}
	json_array_foreach(json_object_get(msg, "keys"), i, ref)
		if (!key_ok(ref)) {
			snprintf(err, errlen, "%s: bad keys", type);
			return -1;
		}
	return 0;
}

int
modem_msg_repair(json_t *msg, char *note, size_t notelen)
{
	json_t *refs = json_object_get(msg, "refs");
	json_t *keys = json_object_get(msg, "keys");
	int nrefs = 0, nkeys = 0;
	size_t i;

	note[0] = '\0';
	for (i = 0; i < json_array_size(refs); i++)
		if (!ref_ok(json_array_get(refs, i)) &&
		    !json_is_null(json_array_get(refs, i))) {
			json_array_set_new(refs, i, json_null());
			nrefs++;
		}
	for (i = json_array_size(keys); i-- > 0; )
		if (!key_ok(json_array_get(keys, i))) {
			json_array_remove(keys, i);
			nkeys++;
		}
	if (nrefs + nkeys > 0)
		snprintf(note, notelen, "%d of its refs and %d of its keys "
		    "cannot be taken (not a reference, or longer than 64 bytes)",
		    nrefs, nkeys);
	return nrefs + nkeys;
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

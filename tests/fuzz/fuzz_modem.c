/*
 * libFuzzer target: what pigeond makes of the bytes a modem process writes
 * on its channel: the line splitting of common/proto.c (struct linebuf, fed
 * in chunks whose sizes come from the input) and the decoding of each line
 * (gateway/modemmsg.c), the check of each type's fields (modem_msg_check),
 * then the fields pigeond's handlers read from every type: sms, status
 * report, sent, send_failed, ready, health, deleted, delete_failed, error,
 * pong. An input starting with '!' is a message whose type the next byte
 * picks, the rest being its other members, so that every type is reached.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "modemmsg.h"
#include "number.h"
#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const types[] = { "sms", "sent", "send_failed", "ready",
	"health", "deleted", "delete_failed", "error", "pong" };

/* What the handlers read: a field's value as the type they expect. */
static void
read_fields(json_t *msg)
{
	static const char *const names[] = { "folder", "location", "sender", "smsc",
		"time", "coding", "text", "ref", "delivery_status", "discharge_time", "id",
		"parts", "error", "temporary", "parts_sent", "signal_percent",
		"registration", "operator", "stage", "seq" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		json_t *v = json_object_get(msg, names[i]);
		const char *s = json_string_value(v);
		if (s != NULL && strlen(s) > json_string_length(v))
			abort();
		(void)json_integer_value(v);
		(void)json_is_true(v);
	}
	json_t *refs = json_object_get(msg, "refs"), *r;
	size_t i;
	json_array_foreach(refs, i, r)
		(void)json_integer_value(r);
}

static void
use_line(const char *line, size_t len)
{
	char err[JSON_ERROR_TEXT_LENGTH], norm[NUMBER_MAX];
	json_t *msg;
	const char *type = modem_msg_decode(line, len, &msg, err, sizeof(err));

	if (type == NULL) {
		if (msg != NULL)
			abort();
		return;
	}
	err[0] = '\0';
	if (modem_msg_check(type, msg, err, sizeof(err)) == -1) {
		if (err[0] == '\0')
			abort();
	} else if (strcmp(type, "sms") == 0) {
		const char *sender = json_string_value(json_object_get(msg, "sender"));
		number_normalize(sender ? sender : "", "212", norm, sizeof(norm));
		json_t *udh = json_object_get(msg, "udh");
		json_int_t total = json_integer_value(json_object_get(udh, "total"));
		json_int_t seq = json_integer_value(json_object_get(udh, "seq"));
		if (total < 0 || total > 65535 || seq < 0 || seq > 65535)
			abort();	/* the check let a bad part through */
	}
	read_fields(msg);
	/* pigeond keeps a copy of "ready" and writes JSON back out. */
	char *s = json_dumps(msg, JSON_COMPACT);
	free(s);
	json_decref(msg);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct linebuf lb;
	size_t off = 0;
	char *line;
	int toolong;

	if (size >= 2 && data[0] == '!') {
		/* {"type":"T", + the rest: every type reached with any members. */
		const char *t = types[data[1] % (sizeof(types) / sizeof(types[0]))];
		size_t n = strlen(t) + 12 + size - 2;
		char *line = malloc(n + 1);
		if (line == NULL)
			return 0;
		int k = snprintf(line, n + 1, "{\"type\":\"%s\",", t);
		memcpy(line + k, data + 2, size - 2);
		use_line(line, (size_t)k + size - 2);
		free(line);
		return 0;
	}
	linebuf_init(&lb);
	while (off < size) {
		/* A chunk size from the data itself: lines split across reads. */
		size_t n = 1 + data[off] % 64;
		if (n > size - off)
			n = size - off;
		if (linebuf_append(&lb, (const char *)data + off, n) == -1)
			break;
		off += n;
		while ((line = linebuf_next(&lb, &toolong)) != NULL)
			use_line(line, strlen(line));
	}
	linebuf_free(&lb);
	return 0;
}

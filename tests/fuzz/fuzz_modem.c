/*
 * libFuzzer target: what pigeond makes of the bytes a modem process writes
 * on its channel: the line splitting of common/proto.c (struct linebuf, fed
 * in chunks whose sizes come from the input) and the decoding of each line
 * (gateway/modemmsg.c), then the fields pigeond reads from an "sms".
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "modemmsg.h"
#include "number.h"
#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
use_line(const char *line)
{
	char err[JSON_ERROR_TEXT_LENGTH], norm[NUMBER_MAX];
	json_t *msg;
	const char *type = modem_msg_decode(line, strlen(line), &msg, err, sizeof(err));

	if (type == NULL) {
		if (msg != NULL)
			abort();
		return;
	}
	if (strcmp(type, "sms") == 0) {
		const char *sender = json_string_value(json_object_get(msg, "sender"));
		number_normalize(sender ? sender : "", "212", norm, sizeof(norm));
		json_t *udh = json_object_get(msg, "udh");
		(void)json_integer_value(json_object_get(udh, "total"));
	}
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
			use_line(line);
	}
	linebuf_free(&lb);
	return 0;
}

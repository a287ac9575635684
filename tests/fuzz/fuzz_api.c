/*
 * libFuzzer target: the API's request bodies (gateway/api_body.c), the
 * part of POST /api/messages and POST /api/posts that sees a client's
 * bytes before any database: JSON parsing, the size limit, the checks of
 * "to" and "text". A refusal must be 400 or 413 with a message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api_body.h"
#include "number.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	json_t *body;
	char *copy = malloc(size ? size : 1);	/* exact size: no NUL after it */

	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	err[0] = '\0';
	int code = api_body_parse(copy, size, &body, err, sizeof(err));
	if (code != 0) {
		if ((code != 400 && code != 413) || body != NULL || err[0] == '\0')
			abort();
	} else {
		if (!json_is_object(body))
			abort();
		err[0] = '\0';
		static struct api_send send;
		code = api_send_check(body, "212", 100, 1800000000LL, &send, err,
		    sizeof(err));
		if (code == 0) {
			if (send.text == NULL || send.text[0] == '\0' || send.nto == 0 ||
			    send.to[0][0] != '+')
				abort();
		} else if (code != 400 || err[0] == '\0') {
			abort();
		}
		json_decref(body);
	}
	free(copy);
	return 0;
}

/*
 * libFuzzer target: the shortcode parser (gateway/parse.c) on any bytes.
 * Checks what parse.h promises, not only the absence of crashes: the text
 * points into the input, handles are valid, hours and languages in range.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct command cmd;
	/* An exact-size copy: ASan catches a read past len. */
	char *buf = malloc(size ? size : 1);

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	command_parse(buf, size, &cmd);
	if (command_name(cmd.type) == NULL || command_error_name(cmd.error) == NULL)
		abort();
	if (cmd.text != NULL && cmd.error != CMDERR_EMPTY &&
	    (cmd.text < buf || cmd.text + cmd.textlen > buf + size))
		abort();
	if (cmd.handle[0] != '\0' && !handle_valid(cmd.handle, strlen(cmd.handle)))
		abort();
	if (cmd.type == CMD_SLEEP && cmd.error == CMDERR_NONE &&
	    (cmd.sleep_from < -1 || cmd.sleep_from > 23 || cmd.sleep_to < -1 ||
	    cmd.sleep_to > 23))
		abort();
	if (cmd.type == CMD_POST && cmd.text == NULL)
		abort();
	free(buf);
	return 0;
}

/*
 * The text and number helpers of the worker's libgammu layer (gsm.c,
 * gsmsend.c) that need no modem: what identification copies, what a send
 * checks a number against, and how a text cut to fit ends.
 */
#include <stdlib.h>
#include <string.h>

#include "gsmtext.h"
#include "log.h"

/* Copies what fits; jstr() repairs a UTF-8 sequence cut in half. */
void
gsm_copy(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

int
gsm_number_valid(const char *to)
{
	size_t digits = 0;

	if (*to == '+')
		to++;
	for (; *to != '\0'; to++, digits++)
		if (*to < '0' || *to > '9')
			return 0;
	return digits >= 1 && digits <= 20;
}

char *
gsm_cut_text(const char *text, size_t n, const char *more)
{
	size_t ml = strlen(more);
	char *out;

	while (n > 0 && (text[n - 1] == ' ' || text[n - 1] == '\n'))
		n--;
	if ((out = malloc(n + ml + 1)) == NULL)
		fatal("malloc");
	memcpy(out, text, n);
	memcpy(out + n, more, ml + 1);
	return out;
}

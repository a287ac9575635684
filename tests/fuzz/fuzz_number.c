/*
 * libFuzzer target: number normalization (gateway/number.c). The first
 * input byte picks the default country and the output size; the rest is
 * the number. Checks number.h's promises: an E.164 result is '+' and 8-15
 * digits, INVALID leaves the output empty, and nothing is written past
 * outlen (an exact-size heap buffer).
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "number.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *countries[] = { "212", "1", "44", "33", "7", "880", "" };
	const char *country;
	size_t outlen;
	char *in, *out;

	if (size < 1)
		return 0;
	country = countries[data[0] % 7];
	outlen = (data[0] >> 3) % 2 ? NUMBER_MAX : 1 + (data[0] >> 4);
	in = malloc(size);
	out = malloc(outlen);
	if (in == NULL || out == NULL)
		abort();
	memcpy(in, data + 1, size - 1);
	in[size - 1] = '\0';
	enum number_kind k = number_normalize(in, country, out, outlen);
	if (number_kind_name(k) == NULL)
		abort();
	if (k == NUMBER_INVALID && out[0] != '\0')
		abort();
	if (k == NUMBER_E164) {
		size_t n = strlen(out);
		if (out[0] != '+' || n < 9 || n > 16)
			abort();
		for (size_t i = 1; i < n; i++)
			if (!isdigit((unsigned char)out[i]))
				abort();
		/* Normalizing a normalized number gives it back. */
		char again[NUMBER_MAX];
		if (number_normalize(out, country, again, sizeof(again)) != NUMBER_E164 ||
		    strcmp(again, out) != 0)
			abort();
	}
	free(in);
	free(out);
	return 0;
}

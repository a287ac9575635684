/* util.c: small helpers shared by the simulator's subsystems. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim.h"

void
obuf_free(struct obuf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

int
obuf_add(struct obuf *b, const char *data, size_t len)
{
	if (b->off > 0 && b->off == b->len)
		b->off = b->len = 0;
	if (b->cap - b->len < len) {
		/* Reclaim the written prefix before growing. */
		if (b->off > 0) {
			memmove(b->data, b->data + b->off, b->len - b->off);
			b->len -= b->off;
			b->off = 0;
		}
		size_t ncap = b->cap ? b->cap : 4096;
		while (ncap - b->len < len)
			ncap *= 2;
		if (ncap != b->cap) {
			char *n = realloc(b->data, ncap);
			if (n == NULL)
				return -1;
			b->data = n;
			b->cap = ncap;
		}
	}
	memcpy(b->data + b->len, data, len);
	b->len += len;
	return 0;
}

int
obuf_flush(struct obuf *b, int fd)
{
	while (b->off < b->len) {
		ssize_t n = write(fd, b->data + b->off, b->len - b->off);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			return -1;
		}
		b->off += n;
	}
	b->off = b->len = 0;
	return 0;
}

int
obuf_pending(const struct obuf *b)
{
	return b->off < b->len;
}

/* Strict decimal: the whole string, within [min, max]. */
int
parse_int(const char *s, int min, int max, int *out)
{
	char *end;
	long v;

	if (s == NULL || *s == '\0')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = (int)v;
	return 0;
}

/* Fills out with ndigits decimal digits derived from seed (FNV-1a). */
void
hash_digits(const char *seed, char *out, size_t ndigits)
{
	uint64_t h = 14695981039346656037ULL;
	size_t i;

	for (; *seed != '\0'; seed++) {
		h ^= (unsigned char)*seed;
		h *= 1099511628211ULL;
	}
	for (i = 0; i < ndigits; i++) {
		out[i] = '0' + (char)(h % 10);
		h /= 10;
		if (h == 0)
			h = 0x9e3779b97f4a7c15ULL ^ i;
	}
	out[ndigits] = '\0';
}

/* Appends the Luhn check digit an IMEI ends with. */
void
luhn_append(char *digits)
{
	size_t len = strlen(digits), i;
	int sum = 0;

	for (i = 0; i < len; i++) {
		int d = digits[len - 1 - i] - '0';
		if (i % 2 == 0) {
			d *= 2;
			if (d > 9)
				d -= 9;
		}
		sum += d;
	}
	digits[len] = '0' + (10 - sum % 10) % 10;
	digits[len + 1] = '\0';
}

int
set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl == -1 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
		return -1;
	return 0;
}

/* proto.c: line framing for the modem channel. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto.h"

void
linebuf_init(struct linebuf *lb)
{
	memset(lb, 0, sizeof(*lb));
}

void
linebuf_free(struct linebuf *lb)
{
	free(lb->buf);
	memset(lb, 0, sizeof(*lb));
}

/* Drops the returned prefix and makes room for at least want more bytes. */
static int
linebuf_reserve(struct linebuf *lb, size_t want)
{
	if (lb->start > 0) {
		memmove(lb->buf, lb->buf + lb->start, lb->len - lb->start);
		lb->len -= lb->start;
		lb->start = 0;
	}
	if (lb->cap - lb->len >= want)
		return 0;
	size_t ncap = lb->cap ? lb->cap : 4096;
	while (ncap - lb->len < want)
		ncap *= 2;
	char *nbuf = realloc(lb->buf, ncap);
	if (nbuf == NULL)
		return -1;
	lb->buf = nbuf;
	lb->cap = ncap;
	return 0;
}

ssize_t
linebuf_read(struct linebuf *lb, int fd)
{
	ssize_t n;

	if (linebuf_reserve(lb, 4096) == -1)
		return -1;
	do {
		n = read(fd, lb->buf + lb->len, lb->cap - lb->len);
	} while (n == -1 && errno == EINTR);
	if (n > 0)
		lb->len += n;
	return n;
}

int
linebuf_append(struct linebuf *lb, const char *data, size_t len)
{
	if (linebuf_reserve(lb, len) == -1)
		return -1;
	memcpy(lb->buf + lb->len, data, len);
	lb->len += len;
	return 0;
}

char *
linebuf_next(struct linebuf *lb, int *toolong)
{
	*toolong = 0;
	for (;;) {
		char *p = lb->buf + lb->start;
		size_t avail = lb->len - lb->start;
		char *nl = avail ? memchr(p, '\n', avail) : NULL;

		if (nl == NULL) {
			if (avail > PROTO_MAX_LINE) {
				/* Keep nothing of it; skip up to its newline. */
				lb->overflow = 1;
				lb->start = lb->len;
				*toolong = 1;
			}
			return NULL;
		}
		*nl = '\0';
		lb->start += (size_t)(nl - p) + 1;
		if (lb->overflow || (size_t)(nl - p) > PROTO_MAX_LINE) {
			lb->overflow = 0;
			*toolong = 1;
			continue;
		}
		return p;
	}
}

int
proto_write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= n;
	}
	return 0;
}

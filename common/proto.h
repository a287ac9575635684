/*
 * proto.c: the pigeond <-> pigeon-modem channel.
 *
 * pigeond starts one pigeon-modem per modem with one end of a socketpair as
 * file descriptor 3. Each side writes one JSON object per line ('\n'), with a
 * "type" member. docs/modem-protocol.md lists every message and its fields.
 * The worker exits when the channel closes.
 */
#ifndef PIGEON_PROTO_H
#define PIGEON_PROTO_H

#include <stddef.h>
#include <sys/types.h>

#define PROTO_FD	3		/* the worker's end of the socketpair */
#define PROTO_MAX_LINE	(256 * 1024)	/* longer lines are a protocol error */
/* The most parts one `send` may take: the workers refuse longer texts,
 * pigeond's part caps (fanout_parts_*, reply_parts) stay within it, and
 * the outbox's max_parts column has the same bound (migration 0002). */
#define PROTO_MAX_PARTS	10

/* Accumulates bytes read from a stream socket and yields whole lines. */
struct linebuf {
	char	*buf;
	size_t	 len;		/* bytes held */
	size_t	 cap;
	size_t	 start;		/* first byte not yet returned */
	int	 overflow;	/* discarding a line longer than PROTO_MAX_LINE */
};

void	linebuf_init(struct linebuf *);
void	linebuf_free(struct linebuf *);
/* Reads what fd has; returns bytes read, 0 at end of file, -1 on error. */
ssize_t	linebuf_read(struct linebuf *, int fd);
/* Appends bytes as if read (for tests and in-memory use). */
int	linebuf_append(struct linebuf *, const char *, size_t);
/*
 * Returns the next complete line, NUL-terminated without its '\n', or NULL
 * when none is complete. The pointer is valid until the next linebuf call.
 * *toolong is set when a line over PROTO_MAX_LINE was dropped.
 */
char	*linebuf_next(struct linebuf *, int *toolong);

/* Writes all of buf (blocking descriptor); 0 or -1 with errno. */
int	proto_write_all(int fd, const char *buf, size_t len);

#endif

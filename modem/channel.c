/*
 * channel.c: pigeon-modem's side of the channel to pigeond: one JSON
 * object per line on PROTO_FD (docs/modem-protocol.md). Writes block (a
 * message is whole or the channel is gone); reads wait in poll, so that the
 * worker's loop decides how long. A channel closed either way ends the
 * worker: pigeond is gone, or is restarting it.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "log.h"
#include "proto.h"
#include "worker.h"

void
channel_emit(struct worker *w, json_t *msg)
{
	char *s, *line;
	size_t len;

	if (msg == NULL)
		fatalx("emit: out of memory");
	s = json_dumps(msg, JSON_COMPACT);
	json_decref(msg);
	if (s == NULL)
		fatalx("emit: json_dumps failed");
	len = strlen(s);
	if ((line = realloc(s, len + 2)) == NULL)
		fatal("realloc");
	s = line;
	s[len++] = '\n';	/* JSON_COMPACT output has no newline of its own */
	if (proto_write_all(PROTO_FD, s, len) == -1) {
		int gone = errno == EPIPE || errno == ECONNRESET;
		/* Gone: pigeond closed the channel, a stop it asked for (the
		 * worker wrote before it read the close): no warning. */
		if (gone)
			log_info("channel closed while writing to pigeond; exiting");
		else
			log_warn("writing to pigeond");
		free(s);
		worker_exit(w, gone ? 0 : 1);
	}
	free(s);
}

json_t *
channel_str_new(const char *s)
{
	size_t len = strlen(s);
	json_t *j;
	char *clean;

	if (utf8_valid(s, len))
		return json_stringn(s, len);
	if ((clean = utf8_sanitize(s, len, &len)) == NULL)
		fatal("utf8_sanitize");
	j = json_stringn(clean, len);
	free(clean);
	return j;
}

json_t *
channel_msg_new(const char *type)
{
	json_t *m = json_object();

	if (m == NULL)
		fatalx("out of memory");
	json_object_set_new(m, "type", json_string(type));
	return m;
}

void
channel_error_emit(struct worker *w, const char *stage, int code, const char *error)
{
	json_t *m = channel_msg_new("error");

	json_object_set_new(m, "stage", json_string(stage));
	json_object_set_new(m, "code", json_integer(code));
	json_object_set_new(m, "error", channel_str_new(error));
	channel_emit(w, m);
}

const char *
channel_str_get(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_string(v) ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return NULL;
	return json_string_value(v);
}

int
channel_int_get(json_t *obj, const char *key, long long *out)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_integer(v))
		return -1;
	*out = json_integer_value(v);
	return 0;
}

json_t *
channel_line_parse(const char *line, int *bad_utf8)
{
	json_error_t err;
	json_t *msg;
	char *clean;

	*bad_utf8 = 0;
	msg = json_loads(line, JSON_ALLOW_NUL, &err);
	if (msg == NULL && json_error_code(&err) == json_error_invalid_utf8) {
		*bad_utf8 = 1;
		if ((clean = utf8_sanitize(line, strlen(line), NULL)) == NULL)
			fatal("utf8_sanitize");
		msg = json_loads(clean, JSON_ALLOW_NUL, &err);
		free(clean);
	}
	if (msg == NULL)
		log_warnx("bad line from pigeond: %s", err.text);
	return msg;
}

void
channel_read(struct worker *w, int timeout_ms)
{
	struct pollfd pfd = { .fd = PROTO_FD, .events = POLLIN };
	ssize_t n;

	if (poll(&pfd, 1, timeout_ms) <= 0)
		return;		/* timeout, or EINTR: the caller checks quit */
	n = linebuf_read(&w->lb, PROTO_FD);
	if (n > 0)
		return;
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n == -1)
		log_warn("reading from pigeond");
	log_info("channel closed; exiting");
	worker_exit(w, 0);
}

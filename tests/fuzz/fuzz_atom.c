/*
 * libFuzzer target: the Atom writer (gateway/atom.c). The input is either a
 * whole feed as pigeon_api_feed returns it (JSON) or, when it is not JSON,
 * the raw bytes as a member's name, bio and post text. The output must be
 * valid UTF-8 holding only characters XML 1.0 allows, every '<' and '&'
 * of the text escaped (checked: the text never opens a tag of its own).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "atom.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts on invalid UTF-8 or a character XML 1.0 forbids. */
static void
check_xml_chars(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		uint32_t c = s[i];
		size_t n = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 :
		    (c & 0xF8) == 0xF0 ? 4 : 0;
		if (n == 0 || i + n > len)
			abort();
		if (n > 1)
			c &= 0x3F >> (n - 1);
		for (size_t k = 1; k < n; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				abort();
			c = (c << 6) | (s[i + k] & 0x3F);
		}
		if ((c < 0x20 && c != 0x9 && c != 0xA && c != 0xD) ||
		    (c >= 0xD800 && c <= 0xDFFF) || c == 0xFFFE || c == 0xFFFF || c > 0x10FFFF)
			abort();
		i += n;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *f = json_loadb((const char *)data, size, JSON_ALLOW_NUL, NULL);
	struct evbuffer *b = evbuffer_new();
	size_t tags = 0;

	if (b == NULL)
		return 0;
	if (!json_is_object(f)) {
		char *s = malloc(size + 1);
		json_decref(f);
		if (s == NULL) {
			evbuffer_free(b);
			return 0;
		}
		memcpy(s, data, size);
		s[size] = '\0';
		/* Any bytes, invalid UTF-8 too, through the text filter alone. */
		atom_text_add(b, s);
		check_xml_chars(evbuffer_pullup(b, -1), evbuffer_get_length(b));
		evbuffer_drain(b, evbuffer_get_length(b));
		f = json_pack("{s:s, s:s?, s:s?, s:s, s:[{s:i, s:s?, s:s}]}", "user", "alice",
		    "name", s, "bio", s, "member_since", "2026-01-01",
		    "posts", "id", 1, "text", s, "created_at", "2026-01-02");
		free(s);
		if (f == NULL) {
			evbuffer_free(b);
			return 0;
		}
		tags = 1;	/* the text is free; the markup is fixed */
	}
	if (atom_feed_write(b, f, "host\x01\xef\xbf\xbe", "h<o>st") == 0) {
		size_t len = evbuffer_get_length(b);
		const unsigned char *out = evbuffer_pullup(b, -1);
		check_xml_chars(out, len);
		if (tags) {
			/* The writer's own tags, and no other: 30 with one entry. */
			size_t n = 0;
			for (size_t i = 0; i < len; i++)
				n += out[i] == '<';
			if (n != 30)
				abort();
		}
	}
	json_decref(f);
	evbuffer_free(b);
	return 0;
}

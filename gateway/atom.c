/*
 * atom.c: the Atom feed of a member (GET /users/HANDLE.atom). Posts come
 * from SMS, and a UCS-2 SMS can carry any UTF-16 unit: U+FFFE, U+FFFF,
 * U+0000, C0 and C1 controls. XML 1.0 forbids some of them outright and a
 * feed reader rejects the whole document for one, so a member could break
 * their own feed (issue 14, item 11). The text writer drops every such
 * character rather than replace it: what is left is what a reader shows.
 */
#include <stdint.h>
#include <string.h>

#include "atom.h"

/* Length of the UTF-8 sequence at s (its code point in *cp), or 0 if invalid. */
static size_t
utf8_next(const unsigned char *s, uint32_t *cp)
{
	size_t n;
	uint32_t c = s[0], min;

	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if ((c & 0xE0) == 0xC0) {
		n = 2, c &= 0x1F, min = 0x80;
	} else if ((c & 0xF0) == 0xE0) {
		n = 3, c &= 0x0F, min = 0x800;
	} else if ((c & 0xF8) == 0xF0) {
		n = 4, c &= 0x07, min = 0x10000;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3F);
	}
	if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		return 0;
	*cp = c;
	return n;
}

/* XML 1.0's Char production, less non-characters, DEL and C1 controls. */
static int
xml_char_ok(uint32_t c)
{
	if (c == 0x9 || c == 0xA || c == 0xD)
		return 1;
	if (c < 0x20 || (c >= 0x7F && c <= 0x9F))
		return 0;
	if (c >= 0xD800 && c <= 0xDFFF)
		return 0;
	if (c >= 0xFDD0 && c <= 0xFDEF)
		return 0;
	if ((c & 0xFFFE) == 0xFFFE)	/* U+FFFE, U+FFFF, U+1FFFE ... */
		return 0;
	return c <= 0x10FFFF;
}

/*
 * s escaped for XML, without what XML 1.0 cannot hold; with feed, also
 * without the explicit bidi embeddings, overrides and isolates: a feed's
 * text has no markup to contain them, and a right-to-left override in a
 * name showed the handle after it reversed in a reader's title ("@ecila"
 * for @alice). The marks (LRM, RLM, ALM) stay: Arabic text uses them and
 * they reorder nothing around them. A page keeps them all (its names are
 * in <bdi>, its posts dir="auto").
 */
static void
text_add(struct evbuffer *b, const char *str, int feed)
{
	const unsigned char *s = (const unsigned char *)str;

	while (s && *s) {
		uint32_t c;
		size_t n = utf8_next(s, &c);
		if (n == 0) {
			s++;		/* a stray byte: dropped */
			continue;
		}
		switch (c) {
		case '&': evbuffer_add(b, "&amp;", 5); break;
		case '<': evbuffer_add(b, "&lt;", 4); break;
		case '>': evbuffer_add(b, "&gt;", 4); break;
		case '"': evbuffer_add(b, "&quot;", 6); break;
		case '\'': evbuffer_add(b, "&#39;", 5); break;
		default:
			if (xml_char_ok(c) && !(feed && ((c >= 0x202a && c <= 0x202e) ||
			    (c >= 0x2066 && c <= 0x2069))))
				evbuffer_add(b, s, n);
		}
		s += n;
	}
}

void
atom_text_add(struct evbuffer *b, const char *str)
{
	text_add(b, str, 0);
}

void
atom_feed_text_add(struct evbuffer *b, const char *str)
{
	text_add(b, str, 1);
}

static const char *
str(json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));
	return v ? v : "";
}

int
atom_feed_open(struct evbuffer *b, const char *authority, const char *prefix,
    const char *path)
{
	int rc = evbuffer_add_printf(b, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
	    "<feed xmlns=\"http://www.w3.org/2005/Atom\">\n  <id>tag:") < 0;

	atom_feed_text_add(b, authority);
	rc |= evbuffer_add_printf(b, ",2026:pigeon/%s", prefix) < 0;
	atom_feed_text_add(b, path);
	rc |= evbuffer_add_printf(b, "</id>\n") < 0;
	return rc ? -1 : 0;
}

int
atom_entry_open(struct evbuffer *b, const char *authority, json_int_t post)
{
	int rc = evbuffer_add_printf(b, "  <entry>\n    <id>tag:") < 0;

	atom_feed_text_add(b, authority);
	rc |= evbuffer_add_printf(b, ",2026:pigeon/posts/%" JSON_INTEGER_FORMAT "</id>\n",
	    post) < 0;
	return rc ? -1 : 0;
}

int
atom_entry_close(struct evbuffer *b, const char *text, const char *at)
{
	int rc = evbuffer_add_printf(b, "    <content type=\"text\">") < 0;

	atom_feed_text_add(b, text);
	rc |= evbuffer_add_printf(b, "</content>\n    <published>") < 0;
	atom_feed_text_add(b, at);
	rc |= evbuffer_add_printf(b, "</published>\n    <updated>") < 0;
	atom_feed_text_add(b, at);
	rc |= evbuffer_add_printf(b, "</updated>\n  </entry>\n") < 0;
	return rc ? -1 : 0;
}

int
atom_feed_write(struct evbuffer *b, json_t *f, const char *authority, const char *base)
{
	json_t *posts = json_object_get(f, "posts"), *p;
	const char *user = str(f, "user"), *name = str(f, "name");
	const char *updated = json_array_size(posts) ?
	    str(json_array_get(posts, 0), "created_at") : str(f, "member_since");
	size_t i;
	int rc = 0;

	rc |= atom_feed_open(b, authority, "users/", user);
	rc |= evbuffer_add_printf(b, "  <title>@") < 0;
	atom_feed_text_add(b, user);
	rc |= evbuffer_add_printf(b, " on Pigeon</title>\n  <subtitle>") < 0;
	atom_feed_text_add(b, str(f, "bio"));
	rc |= evbuffer_add_printf(b, "</subtitle>\n  <updated>") < 0;
	atom_feed_text_add(b, updated);
	rc |= evbuffer_add_printf(b, "</updated>\n  <author><name>") < 0;
	if (*name) {
		atom_feed_text_add(b, name);
	} else {
		evbuffer_add(b, "@", 1);
		atom_feed_text_add(b, user);
	}
	rc |= evbuffer_add_printf(b, "</name></author>\n  <link rel=\"self\" href=\"") < 0;
	atom_feed_text_add(b, base);
	rc |= evbuffer_add_printf(b, "/users/") < 0;
	atom_feed_text_add(b, user);
	rc |= evbuffer_add_printf(b, ".atom\"/>\n") < 0;
	/* The member's page (web_pages.c), for the feed and each entry. */
	rc |= evbuffer_add_printf(b, "  <link rel=\"alternate\" type=\"text/html\" "
	    "href=\"") < 0;
	atom_feed_text_add(b, base);
	rc |= evbuffer_add_printf(b, "/users/") < 0;
	atom_feed_text_add(b, user);
	rc |= evbuffer_add_printf(b, "\"/>\n") < 0;
	json_array_foreach(posts, i, p) {
		const char *at = str(p, "created_at"), *text = str(p, "text");
		rc |= atom_entry_open(b, authority, json_integer_value(json_object_get(p, "id")));
		rc |= evbuffer_add_printf(b,
		    "    <link rel=\"alternate\" type=\"text/html\" href=\"") < 0;
		atom_feed_text_add(b, base);
		rc |= evbuffer_add_printf(b, "/users/") < 0;
		atom_feed_text_add(b, user);
		rc |= evbuffer_add_printf(b, "\"/>\n    <title type=\"text\">") < 0;
		atom_feed_text_add(b, text);
		rc |= evbuffer_add_printf(b, "</title>\n") < 0;
		rc |= atom_entry_close(b, text, at);
	}
	rc |= evbuffer_add_printf(b, "</feed>\n") < 0;
	return rc ? -1 : 0;
}

/*
 * web_feed.c: search results and hashtags as Atom 1.0 (/search.atom?q=,
 * /tags/NAME.atom), so that a watch on a word or a competitor is a feed
 * subscription. Every text goes through atom_text_add, which escapes it
 * and drops what XML 1.0 cannot hold (a post from a UCS-2 SMS can carry
 * any UTF-16 unit); the feed has what readers require: id, title,
 * updated, self and alternate links, and per entry id, title, updated,
 * author and a link to the member's page.
 */
#include <event2/buffer.h>
#include <jansson.h>

#include "atom.h"
#include "web.h"

static const char *
str(json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));
	return v ? v : "";
}

int
web_feed_write(struct evbuffer *b, json_t *page, const char *title,
    const char *authority, const char *base, const char *self,
    const char *alternate, const char *tag)
{
	json_t *posts = json_object_get(page, "posts"), *p;
	size_t i;
	int rc = 0;

	rc |= atom_feed_open(b, authority, "", tag);
	rc |= evbuffer_add_printf(b, "  <title>") < 0;
	atom_feed_text_add(b, title);
	rc |= evbuffer_add_printf(b, "</title>\n  <updated>") < 0;
	atom_feed_text_add(b, str(page, "updated"));
	rc |= evbuffer_add_printf(b, "</updated>\n  <author><name>Pigeon</name></author>\n"
	    "  <link rel=\"self\" type=\"application/atom+xml\" href=\"") < 0;
	atom_feed_text_add(b, base);
	atom_feed_text_add(b, self);
	rc |= evbuffer_add_printf(b, "\"/>\n  <link rel=\"alternate\" type=\"text/html\" "
	    "href=\"") < 0;
	atom_feed_text_add(b, base);
	atom_feed_text_add(b, alternate);
	rc |= evbuffer_add_printf(b, "\"/>\n") < 0;
	json_array_foreach(posts, i, p) {
		const char *at = str(p, "created_at"), *text = str(p, "text");
		const char *handle = str(p, "handle"), *name = str(p, "name");

		rc |= atom_entry_open(b, authority, json_integer_value(json_object_get(p, "id")));
		rc |= evbuffer_add_printf(b, "    <title type=\"text\">@") < 0;
		atom_feed_text_add(b, handle);
		rc |= evbuffer_add_printf(b, ": ") < 0;
		atom_feed_text_add(b, text);
		rc |= evbuffer_add_printf(b, "</title>\n    <author><name>") < 0;
		if (*name) {
			atom_feed_text_add(b, name);
			evbuffer_add(b, " ", 1);
		}
		evbuffer_add(b, "@", 1);
		atom_feed_text_add(b, handle);
		rc |= evbuffer_add_printf(b, "</name></author>\n    <link rel=\"alternate\" "
		    "type=\"text/html\" href=\"") < 0;
		atom_feed_text_add(b, base);
		rc |= evbuffer_add_printf(b, "/users/") < 0;
		atom_feed_text_add(b, handle);
		rc |= evbuffer_add_printf(b, "\"/>\n") < 0;
		rc |= atom_entry_close(b, text, at);
	}
	rc |= evbuffer_add_printf(b, "</feed>\n") < 0;
	return rc ? -1 : 0;
}

/* atom.c: a member's Atom feed as XML 1.0 (pure apart from evbuffer; fuzzed). */
#ifndef PIGEON_ATOM_H
#define PIGEON_ATOM_H

#include <stddef.h>

#include <event2/buffer.h>
#include <jansson.h>

/* Appends to b the feed of f, the JSON of pigeon_api_feed ({user, name, bio,
 * member_since, posts: [{id, text, created_at}]}); authority makes the tag:
 * ids (the database's, pigeon_identity: the same on every host), base (scheme://host[:port]) starts the links. Any text may come in:
 * what XML 1.0 cannot hold is left out. 0, or -1 when out of memory. */
int	 atom_feed_write(struct evbuffer *b, json_t *f, const char *authority,
	    const char *base);
/* Appends s escaped for XML text or attributes, without the characters
 * XML 1.0 forbids, non-characters, C1 controls, DEL and invalid UTF-8;
 * the feed variant also without the explicit bidi controls (U+202A-202E,
 * U+2066-2069), which a feed has no markup to contain. */
void	 atom_text_add(struct evbuffer *b, const char *s);
void	 atom_feed_text_add(struct evbuffer *b, const char *s);
/* The pieces every Pigeon feed shares (atom.c, web_feed.c), each 0 or -1:
 * the document's start up to its id, tag:AUTHORITY,2026:pigeon/PREFIX+PATH
 * (PATH escaped); an entry's start up to the id of post POST; an entry's
 * content, published and updated times, and its end. */
int	 atom_feed_open(struct evbuffer *b, const char *authority, const char *prefix,
	    const char *path);
int	 atom_entry_open(struct evbuffer *b, const char *authority, json_int_t post);
int	 atom_entry_close(struct evbuffer *b, const char *text, const char *at);

#endif

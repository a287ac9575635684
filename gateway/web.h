/*
 * web.h: the public web side (issue 17): server-rendered HTML pages and
 * their Atom feeds, for a cheap phone's browser with JavaScript off.
 * Every page is one query (db/functions/68_web.sql) whose JSON is turned
 * into HTML here; nothing on a page or in a feed is a phone number.
 */
#ifndef PIGEON_WEB_H
#define PIGEON_WEB_H

#include <event2/buffer.h>
#include <jansson.h>

struct api_req;

/* web_pages.c: the route handlers (http.c's table). */
void	 web_user(struct api_req *);	/* /users/HANDLE, /users/HANDLE.atom */
void	 web_search(struct api_req *);	/* /search, /search.atom */
void	 web_tag(struct api_req *);	/* /tags/NAME, /tags/NAME.atom */
void	 web_directory(struct api_req *);	/* /directory */

/* web_i18n.c: the pages' three languages. */
enum web_lang { WEB_EN, WEB_FR, WEB_AR, WEB_NLANG };

/* The language of a page: ?lang=, else the best of Accept-Language,
 * else the service's language ([pigeon] language). */
enum web_lang web_lang_pick(struct api_req *);
const char *web_lang_code(enum web_lang);	/* "en", "fr", "ar" */
const char *web_lang_dir(enum web_lang);	/* "ltr" or "rtl" */
const char *web_lang_name(enum web_lang);	/* in its own language */
/* The page text key in lang (the key itself when it is unknown). */
const char *web_text(enum web_lang, const char *key);

/* web_feed.c: a list of posts (pigeon_web_posts_page's JSON) as Atom
 * 1.0. title is the feed's title, authority the tag: ids' (the page's
 * 'authority'), base (scheme://host[:port]) starts its links, self and
 * alternate are its paths (already URL-encoded), tag the tag: id's path.
 * 0, or -1 when out of memory. */
int	 web_feed_write(struct evbuffer *, json_t *page, const char *title,
	    const char *authority, const char *base, const char *self,
	    const char *alternate, const char *tag);

#endif

/*
 * web_pages.c: the public pages (issue 17): GET /users/HANDLE (a member
 * and their posts, paged with ?before=), /search?q= (the folding of SMS
 * SEARCH: "ete" finds "été"), /tags/NAME (a hashtag), /directory (the 100
 * most-followed members), each in English, French or Arabic (web_i18n.c),
 * and the Atom feeds /search.atom?q= and /tags/NAME.atom (web_feed.c;
 * /users/HANDLE.atom stays atom.c's).
 *
 * For a cheap phone's browser with JavaScript off: plain HTML forms and
 * links, a few lines of inline CSS, no script and no image; the Content
 * Security Policy forbids scripts outright, so that a post's text could
 * not run one even if escaping failed. Every text from the database goes
 * through atom_text_add (HTML and XML escaping, forbidden characters
 * dropped). The SQL (db/functions/68_web.sql) never returns a phone
 * number, so no page can show one.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <jansson.h>

#include "api.h"
#include "atom.h"
#include "fold.h"
#include "httphead.h"
#include "pigeond.h"
#include "web.h"

#define WEB_PAGE_POSTS	20	/* posts per page */
#define WEB_FEED_POSTS	50	/* entries per feed */
#define WEB_DIRECTORY	100
#define WEB_MAX_Q	500	/* bytes of a query; as /api/search */
#define WEB_MAX_TAG	100	/* bytes of a hashtag's name */
/* A page's own path and query: the longest query URL-encoded (3 bytes a
 * byte) and what goes around it. */
#define WEB_MAX_URL	(3 * WEB_MAX_Q + 64)

/* A page being written: its buffer, language, and the path and query of
 * this page without lang=, for the language links. */
struct page {
	struct api_req	*r;
	struct evbuffer	*b;
	enum web_lang	 lang;
	int		 lang_given;	/* ?lang= was given: links keep it */
	char		 here[WEB_MAX_URL];
};

static const char css[] =
    "body{font:16px/1.45 sans-serif;max-width:40em;margin:0 auto;padding:0 .6em;"
    "color:#222;background:#fff}"
    "nav{display:flex;flex-wrap:wrap;gap:1em;padding:.5em 0}"
    "a{color:#0645ad}"
    "h1{font-size:1.5em;overflow-wrap:anywhere}"
    "form{margin:.5em 0}"
    "input[type=search]{width:60%;font-size:1em}"
    "button{font-size:1em}"
    ".post{border-bottom:1px solid #ddd;padding:.4em 0}"
    ".post p{margin:.2em 0;overflow-wrap:anywhere}"
    ".meta{color:#555;font-size:.85em}"
    ".counts{color:#555}"
    "table{border-collapse:collapse;width:100%}"
    "th,td{padding:.3em;border-bottom:1px solid #eee;text-align:start}"
    ".num{text-align:end}"
    "footer{margin-top:1em;border-top:1px solid #ddd}";

static void
raw(struct page *p, const char *s)
{
	evbuffer_add(p->b, s, strlen(s));
}

static void
esc(struct page *p, const char *s)
{
	atom_text_add(p->b, s);
}

/* Escapes n bytes of s (not NUL-terminated). */
static void
esc_n(struct page *p, const char *s, size_t n)
{
	char *t = strndup(s, n);
	if (t != NULL)
		atom_text_add(p->b, t);
	free(t);
}

/* s URL-encoded (every byte but unreserved ones), then escaped for HTML. */
static void
url(struct page *p, const char *s)
{
	char *e = evhttp_uriencode(s, -1, 0);
	if (e != NULL)
		atom_text_add(p->b, e);
	free(e);
}

/* "?lang=xx" or "&amp;lang=xx" when the reader chose the language. */
static void
lang_arg(struct page *p, char sep)
{
	if (p->lang_given)
		evbuffer_add_printf(p->b, "%slang=%s", sep == '&' ? "&amp;" : "?",
		    web_lang_code(p->lang));
}

static const char *
str(json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));
	return v ? v : "";
}

static int
page_init(struct page *p, struct api_req *r)
{
	memset(p, 0, sizeof(*p));
	p->r = r;
	p->lang = web_lang_pick(r);
	p->lang_given = api_param(r, "lang") != NULL;
	p->b = evbuffer_new();
	return p->b ? 0 : -1;
}

/* The top of every page: title, feed link, navigation and search form. */
static void
page_head(struct page *p, const char *title, const char *feed)
{
	evbuffer_add_printf(p->b, "<!DOCTYPE html>\n<html lang=\"%s\" dir=\"%s\"><head>"
	    "<meta charset=\"utf-8\"><meta name=\"viewport\" "
	    "content=\"width=device-width, initial-scale=1\"><title>",
	    web_lang_code(p->lang), web_lang_dir(p->lang));
	esc(p, title);
	raw(p, " · Pigeon</title>");
	if (feed) {
		raw(p, "<link rel=\"alternate\" type=\"application/atom+xml\" href=\"");
		raw(p, feed);
		raw(p, "\">");
	}
	raw(p, "<style>");
	raw(p, css);
	raw(p, "</style></head>\n<body><header><nav><strong>Pigeon</strong><a href=\"/directory");
	lang_arg(p, '?');
	raw(p, "\">");
	esc(p, web_text(p->lang, "directory"));
	raw(p, "</a><a href=\"/search");
	lang_arg(p, '?');
	raw(p, "\">");
	esc(p, web_text(p->lang, "search"));
	raw(p, "</a></nav><form action=\"/search\" method=\"get\" role=\"search\"><label>");
	esc(p, web_text(p->lang, "search_label"));
	raw(p, " <input type=\"search\" name=\"q\" maxlength=\"200\" value=\"");
	if (strcmp(p->r->path, "/search") == 0 && api_param(p->r, "q"))
		esc(p, api_param(p->r, "q"));
	raw(p, "\"></label>");
	if (p->lang_given)
		evbuffer_add_printf(p->b, "<input type=\"hidden\" name=\"lang\" value=\"%s\">",
		    web_lang_code(p->lang));
	raw(p, " <button type=\"submit\">");
	esc(p, web_text(p->lang, "search_button"));
	raw(p, "</button></form></header>\n<main>");
}

/* The bottom: the feed and the three languages (links to this page). */
static void
page_foot(struct page *p, const char *feed)
{
	raw(p, "</main>\n<footer><nav>");
	if (feed) {
		raw(p, "<a href=\"");
		raw(p, feed);
		raw(p, "\">");
		esc(p, web_text(p->lang, "feed"));
		raw(p, "</a>");
	}
	for (int l = 0; l < WEB_NLANG; l++) {
		evbuffer_add_printf(p->b, "<a lang=\"%s\" dir=\"%s\" hreflang=\"%s\" href=\"",
		    web_lang_code(l), web_lang_dir(l), web_lang_code(l));
		raw(p, p->here);
		evbuffer_add_printf(p->b, "%slang=%s\">", strchr(p->here, '?') ? "&amp;" : "?",
		    web_lang_code(l));
		esc(p, web_lang_name(l));
		raw(p, "</a>");
	}
	raw(p, "</nav></footer></body></html>\n");
}

static void
page_send(struct page *p, int code)
{
	struct evkeyvalq *h = p->r->req ? evhttp_request_get_output_headers(p->r->req) : NULL;

	if (h != NULL) {
		evhttp_add_header(h, "Content-Language", web_lang_code(p->lang));
		evhttp_add_header(h, "Vary", "Accept-Language");
		/* No script, no image: text and its inline style. (Framing is
		 * allowed: the pages act on nothing, there is nothing to trick
		 * a reader into clicking.) */
		evhttp_add_header(h, "Content-Security-Policy", "default-src 'none'; "
		    "style-src 'unsafe-inline'; form-action 'self'");
	}
	api_reply_raw(p->r, code, "text/html; charset=utf-8",
	    (const char *)evbuffer_pullup(p->b, -1), evbuffer_get_length(p->b));
	evbuffer_free(p->b);
	p->b = NULL;
}

/* A whole page that only says what went wrong, in the reader's language. */
static void
page_message(struct api_req *r, int code, const char *key)
{
	struct page p;

	if (page_init(&p, r) == -1) {
		api_error(r, 500, "out of memory");
		return;
	}
	snprintf(p.here, sizeof(p.here), "/directory");
	page_head(&p, web_text(p.lang, key), NULL);
	raw(&p, "<p>");
	esc(&p, web_text(p.lang, key));
	raw(&p, "</p>");
	page_foot(&p, NULL);
	page_send(&p, code);
}

/* A character that continues a #hashtag or @mention: a letter, digit or
 * '_' of any script, not a space or punctuation ("#été," is #été). */
static int
word_char(uint32_t c)
{
	if (c < 0x80)
		return isalnum((int)c) || c == '_';
	if (c == BAD_CHAR || fold_is_space(c) || c < 0xc0 || c == 0xd7 || c == 0xf7)
		return 0;
	if (c == 0x060c || c == 0x061b || c == 0x061f || c == 0x06d4 ||
	    (c >= 0x066a && c <= 0x066d) || (c >= 0x2000 && c <= 0x206f) ||
	    (c >= 0x3000 && c <= 0x303f) || (c >= 0xfe10 && c <= 0xfe6f) ||
	    (c >= 0xff00 && c <= 0xff0f))
		return 0;
	return 1;
}

/*
 * How the search's fold (pigeon_fold and pigeon_words, migrations 0006
 * and 0027: NFKD, marks dropped, then Latin, Greek, Cyrillic, Arabic and
 * Tifinagh letters and digits) takes a character of a hashtag: 1 a letter
 * or digit of a word, 0 dropped (a combining mark, tatweel, harakat, ZWJ),
 * -1 anything that is not kept whole in one word (another script: CJK,
 * Hebrew; or what NFKD makes several words or punctuation of, such as
 * U+FDFA).
 */
static int
tag_char(uint32_t c)
{
	if (c < 0x80)
		return isalnum((int)c) || c == '_' ? 1 : -1;
	if (fold_is_ignorable(c))
		return 0;
	if (c == 0x140 || c == 0x149 || c == 0x37e || c == 0x384 || c == 0x385 ||
	    c == 0x387 || c == 0xfdfa || c == 0xfdfb || c == 0xfd3e || c == 0xfd3f ||
	    (c >= 0xfe70 && c <= 0xfe7f))
		return -1;
	return (c >= 0xc0 && c <= 0x24f) || (c >= 0x370 && c <= 0x4ff) ||
	    (c >= 0x621 && c <= 0x63a) || (c >= 0x641 && c <= 0x64a) ||
	    (c >= 0x660 && c <= 0x669) || (c >= 0x66e && c <= 0x6d3) || c == 0x6d5 ||
	    (c >= 0x6f0 && c <= 0x6ff) || (c >= 0x1e00 && c <= 0x1fff) ||
	    (c >= 0x2d30 && c <= 0x2d6f) || c == 0x2d7f ||
	    (c >= 0xfb00 && c <= 0xfb06) || (c >= 0xfb50 && c <= 0xfdff) ||
	    (c >= 0xfe80 && c <= 0xfefc) || (c >= 0xff10 && c <= 0xff19) ||
	    (c >= 0xff21 && c <= 0xff3a) || (c >= 0xff41 && c <= 0xff5a) ? 1 : -1;
}

/*
 * Whether the hashtag w..we (after its '#') has a page: one word of the
 * search's, at most WEB_MAX_TAG bytes (what /tags/NAME takes). A hashtag
 * in a script the search does not index (#東京) linked to an error page;
 * it stays text.
 */
static int
tag_linkable(const char *w, const char *we)
{
	int letters = 0;
	uint32_t c;

	if (we - w > WEB_MAX_TAG)
		return 0;
	for (size_t n; w < we; w += n) {
		int k;
		if ((n = fold_char_at(w, we, &c)) == 0 || (k = tag_char(c)) < 0)
			return 0;
		letters += k;
	}
	return letters > 0;
}

/* A post's text, escaped, its #hashtags linked to their page and its
 * @handles to the member's page. */
static void
post_text(struct page *p, const char *s)
{
	const char *e = s + strlen(s), *plain = s, *q = s;
	uint32_t c, prev = ' ';

	while (q < e) {
		size_t n = fold_char_at(q, e, &c);
		if ((c == '#' || c == '@') && !word_char(prev)) {
			const char *w = q + 1, *we = w;
			uint32_t d;
			size_t m;
			while (we < e && (m = fold_char_at(we, e, &d)) && word_char(d))
				we += m;
			int handle = c == '@' && we - w <= 15;
			for (const char *h = w; handle && h < we; h++)
				if (!isalnum((unsigned char)*h) && *h != '_')
					handle = 0;
			if (we > w && (c == '#' ? tag_linkable(w, we) : handle)) {
				char *word = strndup(w, (size_t)(we - w));
				esc_n(p, plain, (size_t)(q - plain));
				if (word != NULL) {
					/* dir: "@bob" stays "@bob" in Arabic text. */
					raw(p, c == '#' ? "<a href=\"/tags/" :
					    "<a dir=\"ltr\" href=\"/users/");
					if (c == '@')
						for (char *h = word; *h; h++)
							*h = (char)tolower((unsigned char)*h);
					url(p, word);
					lang_arg(p, '?');
					raw(p, "\">");
					esc_n(p, q, (size_t)(we - q));
					raw(p, "</a>");
					free(word);
				}
				plain = q = we;
				prev = 'a';
				continue;
			}
		}
		prev = c;
		q += n;
	}
	esc_n(p, plain, (size_t)(e - plain));
}

static void
post_item(struct page *p, json_t *post)
{
	const char *handle = str(post, "handle"), *name = str(post, "name");

	raw(p, "<article class=\"post\"><p class=\"meta\"><a dir=\"ltr\" href=\"/users/");
	esc(p, handle);
	lang_arg(p, '?');
	raw(p, "\">@");
	esc(p, handle);
	raw(p, "</a>");
	if (*name) {
		raw(p, " <bdi>");
		esc(p, name);
		raw(p, "</bdi>");
	}
	/* dir: "2026-12-04 21:45" keeps its order in Arabic text. */
	raw(p, " · <time dir=\"ltr\" datetime=\"");
	esc(p, str(post, "created_at"));
	raw(p, "\">");
	esc(p, str(post, "at"));
	raw(p, "</time></p><p dir=\"auto\">");
	post_text(p, str(post, "text"));
	raw(p, "</p></article>\n");
}

/* The posts of a page, or the empty_key text, and the link to older ones. */
static void
post_list(struct page *p, json_t *page, const char *empty_key)
{
	json_t *posts = json_object_get(page, "posts"), *post;
	json_t *next = json_object_get(page, "next_before");
	size_t i;

	if (json_array_size(posts) == 0) {
		raw(p, "<p>");
		esc(p, web_text(p->lang, empty_key));
		raw(p, "</p>");
	}
	json_array_foreach(posts, i, post)
		post_item(p, post);
	if (json_is_integer(next)) {
		raw(p, "<p><a rel=\"next\" href=\"");
		raw(p, p->here);
		evbuffer_add_printf(p->b, "%sbefore=%" JSON_INTEGER_FORMAT,
		    strchr(p->here, '?') ? "&amp;" : "?", json_integer_value(next));
		lang_arg(p, '&');
		raw(p, "\">");
		esc(p, web_text(p->lang, "older"));
		raw(p, "</a></p>");
	}
}

static int
utf8_ok(const char *s)
{
	const char *e = s + strlen(s);
	uint32_t c;

	while (s < e) {
		s += fold_char_at(s, e, &c);
		if (c == BAD_CHAR)
			return 0;
	}
	return 1;
}

/* ?before=ID into buf ("" when absent); -1 after answering 400. */
static int
before_param(struct api_req *r, char *buf, size_t len)
{
	const char *v = api_param(r, "before");
	long long id;

	buf[0] = '\0';
	if (v == NULL)
		return 0;
	if (http_param_int(v, 1, INT64_MAX, &id) == -1) {
		page_message(r, 400, "bad_request");
		return -1;
	}
	snprintf(buf, len, "%lld", id);
	return 0;
}

/* Ends name with ".atom"? Then cut it off and say so. */
static int
atom_suffix(char *name)
{
	size_t n = strlen(name);
	if (n > 5 && strcmp(name + n - 5, ".atom") == 0) {
		name[n - 5] = '\0';
		return 1;
	}
	return 0;
}

static void
feed_send(struct api_req *r, json_t *page, const char *title, const char *self,
    const char *alternate, const char *tag)
{
	const char *authority = json_string_value(json_object_get(page, "authority"));
	struct evbuffer *b;

	/* Before the first pigeond on this database has kept the ids'
	 * authority (migrate.c): no id of another to give. */
	if (authority == NULL) {
		api_error(r, 503, "database not ready");
		return;
	}
	b = evbuffer_new();
	if (b == NULL || web_feed_write(b, page, title, authority,
	    r->base, self, alternate, tag) == -1) {
		if (b)
			evbuffer_free(b);
		api_error(r, 500, "out of memory");
		return;
	}
	api_reply_raw(r, 200, "application/atom+xml; charset=utf-8",
	    (const char *)evbuffer_pullup(b, -1), evbuffer_get_length(b));
	evbuffer_free(b);
}

/* --- /users/HANDLE --- */

static void
user_fetched(struct api_req *r, PGresult *res)
{
	json_t *u = api_json_value(res);
	const char *handle = str(u, "handle"), *name = str(u, "name");
	char feed[64];
	struct page p;

	if (u == NULL) {
		page_message(r, 404, "no_user");
		return;
	}
	if (page_init(&p, r) == -1) {
		json_decref(u);
		api_error(r, 500, "out of memory");
		return;
	}
	snprintf(p.here, sizeof(p.here), "/users/%s", handle);
	snprintf(feed, sizeof(feed), "/users/%s.atom", handle);
	page_head(&p, *name ? name : handle, feed);
	/* <bdi>: a Latin name keeps its order in an Arabic page, and the
	 * heading its place (at the right there). */
	raw(&p, "<h1><bdi>");
	esc(&p, *name ? name : handle);
	raw(&p, "</bdi></h1><p><bdi dir=\"ltr\">@");
	esc(&p, handle);
	raw(&p, "</bdi></p>");
	if (*str(u, "bio")) {
		raw(&p, "<p dir=\"auto\">");
		esc(&p, str(u, "bio"));
		raw(&p, "</p>");
	}
	evbuffer_add_printf(p.b, "<p class=\"counts\">%" JSON_INTEGER_FORMAT " %s · %"
	    JSON_INTEGER_FORMAT " %s · %" JSON_INTEGER_FORMAT " %s · %s ",
	    json_integer_value(json_object_get(u, "post_count")), web_text(p.lang, "posts"),
	    json_integer_value(json_object_get(u, "followers")), web_text(p.lang, "followers"),
	    json_integer_value(json_object_get(u, "following")), web_text(p.lang, "following"),
	    web_text(p.lang, "member_since"));
	raw(&p, "<bdi dir=\"ltr\">");
	esc(&p, str(u, "member_since"));
	raw(&p, "</bdi></p><p>");
	esc(&p, web_text(p.lang, "follow_sms"));
	raw(&p, " <b>");
	esc(&p, web_text(p.lang, "follow_word"));
	raw(&p, " ");
	esc(&p, handle);
	raw(&p, "</b>");
	if (env.conf.shortcode && *env.conf.shortcode) {
		raw(&p, " ");
		esc(&p, web_text(p.lang, "to"));
		raw(&p, " <b>");
		esc(&p, env.conf.shortcode);
		raw(&p, "</b>");
	}
	raw(&p, "</p>\n");
	post_list(&p, u, "no_posts");
	page_foot(&p, feed);
	page_send(&p, 200);
	json_decref(u);
}

void
web_user(struct api_req *r)
{
	char before[24], limit[16];
	const char *h;

	/* /users/HANDLE.atom is the member's feed, as before this page. */
	if (strlen(r->arg) > 5 && strcmp(r->arg + strlen(r->arg) - 5, ".atom") == 0) {
		api_feed_atom(r);
		return;
	}
	if ((h = api_handle(r->arg)) == NULL) {
		page_message(r, 404, "no_user");
		return;
	}
	if (before_param(r, before, sizeof(before)) == -1)
		return;
	snprintf(limit, sizeof(limit), "%d", WEB_PAGE_POSTS);
	const char *params[] = { h, before[0] ? before : NULL, limit };
	api_query(r, "SELECT pigeon_web_user($1, $2, $3)", 3, params, user_fetched);
}

/* --- /search and /tags/NAME, as pages and feeds --- */

/* The title of a search or tag page: "Posts with ete", "Posts tagged #x". */
static void
results_title(char *buf, size_t len, enum web_lang l, const char *q, const char *tag)
{
	if (tag)
		snprintf(buf, len, "%s #%s", web_text(l, "tag_title"), tag);
	else
		snprintf(buf, len, "%s%s%s", web_text(l, "results_for"),
		    web_text(l, "colon"), q);
}

static void
results_fetched(struct api_req *r, PGresult *res)
{
	json_t *o = api_json_value(res);
	const char *q = api_param(r, "q"), *tag = NULL;
	int atom = strcmp(r->path, "/search.atom") == 0 ||
	    (strncmp(r->path, "/tags/", 6) == 0 && strlen(r->path) > 11 &&
	    strcmp(r->path + strlen(r->path) - 5, ".atom") == 0);
	char title[700], *enc;
	struct page p;

	if (o == NULL) {
		page_message(r, 500, "error");
		return;
	}
	if (json_object_get(o, "error")) {
		json_decref(o);
		if (atom)
			api_error(r, 400, "no word to search for (letters or digits)");
		else
			page_message(r, 400, strncmp(r->path, "/tags/", 6) == 0 ?
			    "bad_tag" : "no_words");
		return;
	}
	if (json_is_string(json_object_get(o, "tag")))
		tag = str(o, "tag");
	enc = evhttp_uriencode(tag ? tag : q, -1, 0);
	if (enc == NULL || page_init(&p, r) == -1) {
		free(enc);
		json_decref(o);
		api_error(r, 500, "out of memory");
		return;
	}
	results_title(title, sizeof(title), p.lang, q, tag);
	if (tag)
		snprintf(p.here, sizeof(p.here), "/tags/%s", enc);
	else
		snprintf(p.here, sizeof(p.here), "/search?q=%s", enc);
	if (atom) {
		char self[WEB_MAX_URL], id[WEB_MAX_URL];
		if (tag) {
			snprintf(self, sizeof(self), "/tags/%s.atom", enc);
			snprintf(id, sizeof(id), "tags/%s", enc);
		} else {
			snprintf(self, sizeof(self), "/search.atom?q=%s", enc);
			snprintf(id, sizeof(id), "search?q=%s", enc);
		}
		evbuffer_free(p.b);
		feed_send(r, o, title, self, p.here, id);
	} else {
		char feed[WEB_MAX_URL];
		if (tag)
			snprintf(feed, sizeof(feed), "/tags/%s.atom", enc);
		else
			snprintf(feed, sizeof(feed), "/search.atom?q=%s", enc);
		page_head(&p, title, feed);
		raw(&p, "<h1>");
		esc(&p, title);
		raw(&p, "</h1>\n");
		post_list(&p, o, "no_results");
		page_foot(&p, feed);
		page_send(&p, 200);
	}
	free(enc);
	json_decref(o);
}

/* The search form alone: /search without q. */
static void
search_form(struct api_req *r)
{
	struct page p;

	if (page_init(&p, r) == -1) {
		api_error(r, 500, "out of memory");
		return;
	}
	snprintf(p.here, sizeof(p.here), "/search");
	page_head(&p, web_text(p.lang, "search"), NULL);
	raw(&p, "<h1>");
	esc(&p, web_text(p.lang, "search"));
	raw(&p, "</h1><p>");
	esc(&p, web_text(p.lang, "no_words"));
	raw(&p, "</p>");
	page_foot(&p, NULL);
	page_send(&p, 200);
}

void
web_search(struct api_req *r)
{
	const char *q = api_param(r, "q");
	int atom = strcmp(r->path, "/search.atom") == 0;
	char before[24], limit[16];

	if (q == NULL) {
		if (atom)
			api_error(r, 400, "q (the words to watch) is required");
		else
			search_form(r);
		return;
	}
	if (strlen(q) > WEB_MAX_Q || !utf8_ok(q)) {
		if (atom)
			api_error(r, 400, "q is not UTF-8 text of at most %d bytes", WEB_MAX_Q);
		else
			page_message(r, 400, "bad_request");
		return;
	}
	if (before_param(r, before, sizeof(before)) == -1)
		return;
	snprintf(limit, sizeof(limit), "%d", atom ? WEB_FEED_POSTS : WEB_PAGE_POSTS);
	const char *params[] = { q, before[0] ? before : NULL, limit };
	api_query(r, "SELECT pigeon_web_search($1, $2, $3)", 3, params, results_fetched);
}

void
web_tag(struct api_req *r)
{
	int atom = atom_suffix(r->arg);
	char before[24], limit[16];

	if (strlen(r->arg) > WEB_MAX_TAG || !utf8_ok(r->arg) || r->arg[0] == '\0') {
		page_message(r, 404, "bad_tag");
		return;
	}
	if (before_param(r, before, sizeof(before)) == -1)
		return;
	snprintf(limit, sizeof(limit), "%d", atom ? WEB_FEED_POSTS : WEB_PAGE_POSTS);
	const char *params[] = { r->arg, before[0] ? before : NULL, limit };
	api_query(r, "SELECT pigeon_web_tag($1, $2, $3)", 3, params, results_fetched);
}

/* --- /directory --- */

static void
directory_fetched(struct api_req *r, PGresult *res)
{
	json_t *o = api_json_value(res), *a;
	json_t *accounts = json_object_get(o, "accounts");
	struct page p;
	size_t i;

	if (o == NULL || page_init(&p, r) == -1) {
		json_decref(o);
		page_message(r, 500, "error");
		return;
	}
	snprintf(p.here, sizeof(p.here), "/directory");
	page_head(&p, web_text(p.lang, "top"), NULL);
	raw(&p, "<h1>");
	esc(&p, web_text(p.lang, "top"));
	raw(&p, "</h1>\n");
	if (json_array_size(accounts) == 0) {
		raw(&p, "<p>");
		esc(&p, web_text(p.lang, "nobody"));
		raw(&p, "</p>");
	} else {
		raw(&p, "<table><thead><tr><th class=\"num\">#</th><th>");
		esc(&p, web_text(p.lang, "member"));
		raw(&p, "</th><th class=\"num\">");
		esc(&p, web_text(p.lang, "followers"));
		raw(&p, "</th></tr></thead><tbody>\n");
	}
	json_array_foreach(accounts, i, a) {
		const char *handle = str(a, "handle"), *name = str(a, "name");
		evbuffer_add_printf(p.b, "<tr data-followers=\"%" JSON_INTEGER_FORMAT
		    "\"><td class=\"num\">%" JSON_INTEGER_FORMAT "</td><td><a dir=\"ltr\" "
		    "href=\"/users/",
		    json_integer_value(json_object_get(a, "followers")),
		    json_integer_value(json_object_get(a, "rank")));
		esc(&p, handle);
		lang_arg(&p, '?');
		raw(&p, "\">@");
		esc(&p, handle);
		raw(&p, "</a>");
		if (*name) {
			raw(&p, " <bdi>");
			esc(&p, name);
			raw(&p, "</bdi>");
		}
		evbuffer_add_printf(p.b, "</td><td class=\"num\">%" JSON_INTEGER_FORMAT
		    "</td></tr>\n", json_integer_value(json_object_get(a, "followers")));
	}
	if (json_array_size(accounts) > 0)
		raw(&p, "</tbody></table>");
	page_foot(&p, NULL);
	page_send(&p, 200);
	json_decref(o);
}

void
web_directory(struct api_req *r)
{
	char limit[16];

	snprintf(limit, sizeof(limit), "%d", WEB_DIRECTORY);
	const char *params[] = { limit };
	api_query(r, "SELECT pigeon_web_directory($1)", 1, params, directory_fetched);
}

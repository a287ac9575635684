/*
 * Issue 17, item 3: the public web side, as a reader sees it in a real
 * browser (headless Chromium) and a feed reader sees it (xmllint):
 * a member's page in Arabic laid out right to left (the computed direction
 * and the x positions of its elements, read by a script in a page that
 * frames it), the search page finding "Été" from "ete" and الكسكس from
 * كسكس, the directory ordered by followers, the three languages and their
 * links, the Atom feeds of a search, a hashtag and a member well-formed
 * and with what a reader requires, and no phone number anywhere. The
 * screenshots are kept in tests/integration/screenshots/ (web-*.png) by
 * `make screenshots`.
 */
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "harness.h"

#define PUBLIC_URL	"https://pigeon.example.ma"
static struct h_gateway g;
static char *probe_dir;		/* the framing page, served by probe_pid */
static pid_t probe_pid;
static int probe_port;

/* Every phone of the test's members, in the forms a page could show. */
static const char *const phones[] = {
	"+212661000101", "+212661000102", "+212661000103", "+212661000104",
	"+212661000105", "212661000", "0661000", "661000101",
};

/* Frames the page named after '#' and writes what a reader's browser
 * computed for it into <pre id="out">: the body's direction, the left x of
 * the first two navigation links, and the x range of the heading's text.
 * The page is on another port: Chromium is run with web security off so
 * that the script may read it (a test browser only). */
static const char probe_html[] =
    "<!DOCTYPE html><html><body><pre id=\"out\">waiting</pre><script>\n"
    "var f = document.createElement('iframe');\n"
    "f.width = 400; f.height = 700;\n"
    "f.onload = function () {\n"
    "  var out = document.getElementById('out');\n"
    "  try {\n"
    "    var d = f.contentDocument, w = f.contentWindow;\n"
    "    var a = d.querySelectorAll('header nav a');\n"
    "    var r = d.createRange(); r.selectNodeContents(d.querySelector('h1'));\n"
    "    var h = r.getBoundingClientRect();\n"
    "    out.textContent = 'direction=' + w.getComputedStyle(d.body).direction +\n"
    "      ' lang=' + d.documentElement.lang +\n"
    "      ' first=' + Math.round(a[0].getBoundingClientRect().left) +\n"
    "      ' second=' + Math.round(a[1].getBoundingClientRect().left) +\n"
    "      ' h1left=' + Math.round(h.left) + ' h1right=' + Math.round(h.right) +\n"
    "      ' width=' + d.documentElement.clientWidth + ' end';\n"
    "  } catch (e) { out.textContent = 'error ' + e; }\n"
    "};\n"
    "f.src = decodeURIComponent(location.hash.slice(1));\n"
    "document.body.appendChild(f);\n"
    "</script></body></html>\n";

/* Serves probe_dir on a free loopback port, written to probe_dir/port. */
static const char probe_server[] =
    "import http.server, os, sys\n"
    "os.chdir(sys.argv[1])\n"
    "s = http.server.ThreadingHTTPServer(('127.0.0.1', 0),"
    " http.server.SimpleHTTPRequestHandler)\n"
    "open('port.tmp', 'w').write(str(s.server_address[1]))\n"
    "os.rename('port.tmp', 'port')\n"
    "s.serve_forever()\n";

/* The set-up's statements: each a literal, checked here. */
static void
sql_ok(PGresult *r)
{
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
	PQclear(r);
	ck_assert_msg(ok, "set-up: %s", PQerrorMessage(g.db));
}

static void
post(const char *handle, const char *text)
{
	const char *params[] = { text, handle };

	sql_ok(PQexecParams(g.db, "SELECT pigeon_post(id, $1::text, NULL::bigint) "
	    "FROM accounts WHERE handle = $2", 2, NULL, params, NULL, NULL, 0));
}

static int
probe_up(void *unused)
{
	char *path = NULL, *port;

	if (asprintf(&path, "%s/port", probe_dir) < 0)
		return 0;
	port = h_read_file(path);
	free(path);
	probe_port = port ? atoi(port) : 0;
	free(port);
	return probe_port > 0;
}

static int
healthy(void *unused)
{
	return h_http(g.http_port, "GET", "/healthz", NULL, NULL, NULL) == 200;
}

static void
setup(void)
{
	char *path = NULL;

	memset(&g, 0, sizeof(g));
	g.extra_config = "shortcode = 40404\n";
	/* Behind a TLS proxy: the feeds' links are https and the proxy's
	 * name, whatever Host the request came with. */
	g.http_extra = "public_url = https://pigeon.example.ma/\n";
	h_gateway_start(&g, "public_web", 0);
	/* Its schema and functions are in once it says the database is up. */
	ck_assert_int_eq(h_wait_for(healthy, NULL, 60000), 0);
	/* Five members; alice, bob and carol post, dave posts 25 times. */
	sql_ok(PQexec(g.db, "INSERT INTO accounts (phone, handle, name, bio, lang) VALUES "
	    "('+212661000101', 'alice', 'Alice <A>', 'Couscous & pigeons', 'fr'), "
	    "('+212661000102', 'bob', 'بوب', '', 'ar'), "
	    "('+212661000103', 'carol', 'Carol', '', 'en'), "
	    "('+212661000104', 'dave', '', '', 'en'), "
	    "('+212661000105', 'erin', E'Erin \\u202Eevil', '', 'en')"));
	post("alice", "Été au marché #Soldes avec @bob");
	post("bob", "الكسكس اليوم في الرباط #المغرب");
	/* Hashtags of scripts the search does not index, one in Tifinagh
	 * (indexed: migration 0027), one in Arabic presentation forms (NFKD
	 * makes it #فاس), a Vietnamese one (#pho) and one NFKD makes four
	 * words of (ﷺ). */
	post("erin", "Tokyo #東京 #שלום #ⵜⴰⵎⴰⵣⵉⵖⵜ #Rabat2026 #ﻓﺎﺱ #phở #ﷺ");
	/* Markup, quotes, a control and a non-character: text, never code. */
	post("carol", "<script>alert(1)</script> & \"quoted\" \x01\xef\xbf\xbe end");
	for (int i = 1; i <= 25; i++) {
		char t[40];
		snprintf(t, sizeof(t), "dave post number %d", i);
		post("dave", t);
	}
	/* Followers: carol 3, alice 2, bob 1, dave and erin none. */
	sql_ok(PQexec(g.db, "INSERT INTO follows (followee, follower) SELECT a.id, b.id "
	    "FROM accounts a, accounts b WHERE (a.handle, b.handle) IN "
	    "(('carol', 'alice'), ('carol', 'bob'), ('carol', 'dave'), "
	    "('alice', 'bob'), ('alice', 'dave'), ('bob', 'erin'))"));

	probe_dir = h_tmpdir("web-probe");
	ck_assert_int_ge(asprintf(&path, "%s/probe.html", probe_dir), 0);
	ck_assert_int_eq(h_write_file(path, probe_html), 0);
	free(path);
	ck_assert_int_ge(asprintf(&path, "%s/server.log", probe_dir), 0);
	char *argv[] = { "/usr/bin/python3", "-c", (char *)probe_server, probe_dir, NULL };
	probe_pid = h_spawn(path, argv);
	free(path);
	ck_assert_int_eq(h_wait_for(probe_up, NULL, 30000), 0);
}

static void
teardown(void)
{
	if (probe_pid > 0)
		h_stop(probe_pid, SIGTERM, 5000);
	h_gateway_stop(&g);
}

/* Headless Chromium with its language set to lang ("ar", "fr-FR"). */
static int
chromium(char **out, const char *lang, const char *args, const char *url)
{
	char *profile = h_tmpdir("chromium-profile-web");
	int rc = h_run(out, "timeout 90 chromium --headless --no-sandbox --disable-gpu "
	    "--disable-quic --no-first-run --disable-background-networking "
	    "--disable-component-update --disable-sync --disable-dev-shm-usage "
	    "--disable-web-security --lang=%s --accept-lang=%s "
	    "--user-data-dir='%s' --virtual-time-budget=8000 %s '%s' 2>/dev/null",
	    lang, lang, profile, args, url);
	h_run(NULL, "rm -rf '%s'", profile);
	free(profile);
	return rc;
}

/* The DOM of path on the gateway as Chromium built it (malloc). */
static char *
dom_of(const char *lang, const char *path)
{
	char url[512], *dom = NULL;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", g.http_port, path);
	ck_assert_int_eq(chromium(&dom, lang, "--dump-dom", url), 0);
	ck_assert_ptr_nonnull(dom);
	return dom;
}

/* What the probe page measured of path (see probe_html). */
struct layout {
	char	direction[8], lang[8];
	int	first, second, h1left, h1right, width;
};

static void
measure(const char *lang, const char *path, struct layout *l)
{
	char url[600], *dom = NULL;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/probe.html#http%%3A%%2F%%2F127.0.0.1%%3A%d%s",
	    probe_port, g.http_port, path);
	ck_assert_int_eq(chromium(&dom, lang, "--dump-dom", url), 0);
	const char *o = strstr(dom, "<pre id=\"out\">");
	ck_assert_msg(o != NULL, "the probe measured nothing:\n%s", dom);
	ck_assert_msg(sscanf(o, "<pre id=\"out\">direction=%7s lang=%7s first=%d second=%d h1left=%d "
	    "h1right=%d width=%d end", l->direction, l->lang, &l->first, &l->second,
	    &l->h1left, &l->h1right, &l->width) == 7, "probe said: %.300s", o);
	free(dom);
}

/* A screenshot of path as name (h_screenshot_path: `make screenshots`
 * keeps them in tests/integration/screenshots/). */
static void
screenshot(const char *lang, const char *path, const char *name)
{
	char url[512], *shot = h_screenshot_path(g.dir, name), *args = NULL, *out = NULL;

	/* A cheap phone's screen. */
	ck_assert_int_ge(asprintf(&args, "--window-size=360,740 --screenshot='%s'", shot), 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", g.http_port, path);
	ck_assert_int_eq(chromium(&out, lang, args, url), 0);
	ck_assert_int_eq(h_run(NULL, "test -s '%s'", shot), 0);
	fprintf(stderr, "public web screenshot: %s\n", shot);
	free(args);
	free(out);
	free(shot);
}

/* A page by plain HTTP, which must be a 200 (malloc). */
static char *
page(const char *path)
{
	char *body = NULL;
	int code = h_http_get(g.http_port, path, &body);
	ck_assert_msg(code == 200, "%s: %d", path, code);
	return body;
}

static void
assert_has(const char *text, const char *needle)
{
	ck_assert_msg(strstr(text, needle) != NULL, "no «%s» in:\n%.3000s", needle, text);
}

static void
assert_no_phone(const char *what, const char *text)
{
	for (size_t i = 0; i < sizeof(phones) / sizeof(phones[0]); i++)
		ck_assert_msg(strstr(text, phones[i]) == NULL, "%s shows %s", what, phones[i]);
}

START_TEST(test_arabic_page_right_to_left)
{
	struct layout ar, fr;

	/* The browser asks for Arabic: the page is Arabic, right to left. */
	measure("ar", "/users/alice", &ar);
	ck_assert_str_eq(ar.direction, "rtl");
	ck_assert_str_eq(ar.lang, "ar");
	/* The first link of the bar is at the right, the next one left of it;
	 * the heading's text ends at the right edge and starts away from the left. */
	ck_assert_msg(ar.first > ar.second, "Arabic: first link at %d, second at %d",
	    ar.first, ar.second);
	ck_assert_msg(ar.h1right > ar.width - 40 && ar.h1left > 100,
	    "Arabic heading from %d to %d of %d", ar.h1left, ar.h1right, ar.width);

	/* ?lang=fr wins over the browser's Arabic: left to right. */
	measure("ar", "/users/alice?lang=fr", &fr);
	ck_assert_str_eq(fr.direction, "ltr");
	ck_assert_str_eq(fr.lang, "fr");
	ck_assert_msg(fr.first < fr.second, "French: first link at %d, second at %d",
	    fr.first, fr.second);
	ck_assert_msg(fr.h1left < 40, "French heading starts at %d", fr.h1left);

	char *dom = dom_of("ar", "/users/alice");
	assert_has(dom, "<html lang=\"ar\" dir=\"rtl\">");
	assert_has(dom, "الدليل");			/* "Directory" */
	assert_has(dom, "Alice &lt;A&gt;");
	assert_has(dom, "Couscous &amp; pigeons");
	assert_has(dom, "تابع alice</b>");		/* FOLLOW alice, in Arabic */
	assert_has(dom, "<b>40404</b>");
	/* Her post, its hashtag and mention as links. */
	assert_has(dom, "Été au marché <a href=\"/tags/Soldes\">#Soldes</a> avec "
	    "<a dir=\"ltr\" href=\"/users/bob\">@bob</a>");
	/* Links to the two other languages, in their own names. */
	assert_has(dom, "href=\"/users/alice?lang=fr\">Français</a>");
	assert_has(dom, "href=\"/users/alice?lang=en\">English</a>");
	assert_no_phone("the Arabic page", dom);
	free(dom);
	screenshot("ar", "/users/alice?lang=ar", "web-member-ar.png");
}
END_TEST

START_TEST(test_search_folds_like_sms)
{
	char *dom = dom_of("fr-FR", "/search?q=ete");

	assert_has(dom, "<html lang=\"fr\" dir=\"ltr\">");
	assert_has(dom, "Été au marché");
	assert_has(dom, "@alice");
	ck_assert_ptr_null(strstr(dom, "dave post"));
	assert_no_phone("the search page", dom);
	free(dom);
	/* The rest as plain HTTP (the browser adds nothing more here). Upper
	 * case, the article and the letter forms: كسكس finds الكسكس. */
	dom = page("/search?q=ETE%20MARCHE&lang=en");
	assert_has(dom, "Été au marché");
	free(dom);
	dom = page("/search?q=%D9%83%D8%B3%D9%83%D8%B3&lang=en");
	assert_has(dom, "الكسكس اليوم في الرباط");
	free(dom);
	/* The hashtag page: /tags/soldes is #Soldes. */
	dom = page("/tags/soldes?lang=en");
	assert_has(dom, "Posts tagged #soldes");
	assert_has(dom, "Été au marché");
	ck_assert_ptr_null(strstr(dom, "dave post"));
	free(dom);
	/* Nothing found, said so. */
	dom = page("/search?q=pigeonnier&lang=en");
	assert_has(dom, "Nothing found.");
	free(dom);
	/* Markup in a post is shown as text: no script element, the text
	 * kept (the control and the non-character left out). */
	dom = page("/search?q=alert&lang=en");
	assert_has(dom, "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quoted&quot;  end");
	ck_assert_ptr_null(strstr(dom, "<script>alert"));
	free(dom);
	screenshot("fr-FR", "/search?q=ete", "web-search-fr.png");
}
END_TEST

START_TEST(test_directory_by_followers)
{
	char *dom = dom_of("en", "/directory");
	const char *order[] = { "@carol", "@alice", "@bob", "@dave", "@erin" };
	const char *at = dom;

	assert_has(dom, "The 100 most-followed members");
	for (size_t i = 0; i < 5; i++) {
		const char *n = strstr(at, order[i]);
		ck_assert_msg(n != NULL, "%s missing or out of order in:\n%.3000s", order[i], dom);
		at = n;
	}
	assert_has(dom, "<tr data-followers=\"3\"><td class=\"num\">1</td>"
	    "<td><a dir=\"ltr\" href=\"/users/carol\">@carol</a> <bdi>Carol</bdi></td>"
	    "<td class=\"num\">3</td></tr>");
	assert_has(dom, "<tr data-followers=\"2\"><td class=\"num\">2</td>"
	    "<td><a dir=\"ltr\" href=\"/users/alice\">@alice</a>");
	assert_no_phone("the directory", dom);
	free(dom);
	/* A suspended member is not promoted. */
	sql_ok(PQexec(g.db, "UPDATE accounts SET suspended_at = now() WHERE handle = 'carol'"));
	char *body = NULL;
	ck_assert_int_eq(h_http_get(g.http_port, "/directory?lang=en", &body), 200);
	ck_assert_ptr_null(strstr(body, "@carol"));
	assert_has(body, "<td class=\"num\">1</td><td><a dir=\"ltr\" href=\"/users/alice?lang=en\">@alice");
	free(body);
	sql_ok(PQexec(g.db, "UPDATE accounts SET suspended_at = NULL WHERE handle = 'carol'"));
	screenshot("en", "/directory", "web-directory-en.png");
}
END_TEST

/* The number an XPath expression gives over file. */
static long
xpath_num(const char *file, const char *expr)
{
	char *out = NULL;
	int rc = h_run(&out, "xmllint --xpath \"%s\" '%s' 2>&1", expr, file);
	ck_assert_msg(rc == 0, "xmllint --xpath %s: %s", expr, out);
	long n = atol(out);
	free(out);
	return n;
}

static char *
xpath_str(const char *file, const char *expr)
{
	char *out = NULL;
	ck_assert_int_eq(h_run(&out, "xmllint --xpath \"string(%s)\" '%s' 2>&1", expr,
	    file), 0);
	out[strcspn(out, "\n")] = '\0';
	return out;
}

#define F	"/*[local-name()='feed']"
#define E	F "/*[local-name()='entry']"
#define C(x)	"*[local-name()='" x "']"

/* An RFC 3339 date-time, as Atom requires for updated and published. */
static void
assert_rfc3339(const char *what, const char *s)
{
	regex_t re;

	ck_assert_int_eq(regcomp(&re, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:"
	    "[0-9]{2}(\\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$", REG_EXTENDED | REG_NOSUB), 0);
	ck_assert_msg(regexec(&re, s, 0, NULL, 0) == 0, "%s is not RFC 3339: «%s»", what, s);
	regfree(&re);
}

/* path is a well-formed Atom feed a reader takes, with entries entries,
 * whose self link ends with self. */
static char *
assert_feed(const char *path, long entries, const char *self)
{
	char *body = NULL, *file = NULL, *out = NULL, *dir = h_tmpdir("web-feed");

	ck_assert_int_eq(h_http_get(g.http_port, path, &body), 200);
	ck_assert_int_ge(asprintf(&file, "%s/feed.xml", dir), 0);
	ck_assert_int_eq(h_write_file(file, body), 0);
	int rc = h_run(&out, "xmllint --noout '%s' 2>&1", file);
	ck_assert_msg(rc == 0, "%s is not well-formed: %s", path, out);
	free(out);
	ck_assert_int_eq(xpath_num(file, "count(" F ")"), 1);
	ck_assert_int_eq(xpath_num(file, "count(" F "/" C("id") ")"), 1);
	ck_assert_int_eq(xpath_num(file, "count(" F "/" C("title") ")"), 1);
	ck_assert_int_eq(xpath_num(file, "count(" F "/" C("updated") ")"), 1);
	ck_assert_int_eq(xpath_num(file, "count(" F "/" C("link") "[@rel='self'])"), 1);
	ck_assert_int_eq(xpath_num(file, "count(" F "/" C("link") "[@rel='alternate'])"), 1);
	ck_assert_int_eq(xpath_num(file, "count(" E ")"), entries);
	/* Every entry: id, title, updated, a link; an author's name, its own
	 * or the feed's. */
	ck_assert_int_eq(xpath_num(file, "count(" E "[" C("id") " and " C("title") " and "
	    C("updated") " and " C("link") "[@rel='alternate']])"), entries);
	ck_assert(xpath_num(file, "count(" F "/" C("author") "/" C("name") ")") == 1 ||
	    xpath_num(file, "count(" E "/" C("author") "/" C("name") ")") == entries);
	char *s = xpath_str(file, F "/" C("updated"));
	assert_rfc3339(path, s);
	free(s);
	if (entries > 0) {
		s = xpath_str(file, E "[1]/" C("updated"));
		assert_rfc3339(path, s);
		free(s);
	}
	/* The self link is this feed's address, at [http] public_url. */
	s = xpath_str(file, F "/" C("link") "[@rel='self']/@href");
	ck_assert_msg(strncmp(s, PUBLIC_URL "/", strlen(PUBLIC_URL) + 1) == 0 &&
	    strlen(s) > strlen(self) && strcmp(s + strlen(s) - strlen(self), self) == 0,
	    "self link %s for %s", s, path);
	free(s);
	h_run(NULL, "rm -rf '%s'", dir);
	free(dir);
	free(file);
	return body;
}

START_TEST(test_feeds_for_readers)
{
	char *body = assert_feed("/search.atom?q=ete", 1, "/search.atom?q=ete");
	assert_has(body, "Été au marché #Soldes avec @bob");
	assert_has(body, "/search.atom?q=ete\"/>");
	assert_no_phone("the search feed", body);
	free(body);

	body = assert_feed("/tags/SOLDES.atom", 1, "/tags/soldes.atom");
	assert_has(body, "<id>tag:");
	assert_has(body, "/tags/soldes.atom\"/>");
	free(body);

	/* An Arabic hashtag, named as typed (URL-encoded): #المغرب, folded
	 * without its article. */
	body = assert_feed("/tags/%D8%A7%D9%84%D9%85%D8%BA%D8%B1%D8%A8.atom", 1,
	    "/tags/%D9%85%D8%BA%D8%B1%D8%A8.atom");
	assert_has(body, "الكسكس اليوم");
	free(body);

	/* Escaped markup, the control and the non-character left out. */
	body = assert_feed("/search.atom?q=quoted", 1, "/search.atom?q=quoted");
	assert_has(body, "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quoted&quot;  end");
	free(body);

	body = assert_feed("/search.atom?q=nothing%20here", 0, "/search.atom?q=nothing%20here");
	free(body);

	/* The member's feed, with the links to her page. */
	body = assert_feed("/users/alice.atom", 1, "/users/alice.atom");
	assert_has(body, "<link rel=\"alternate\" type=\"text/html\" href=\""
	    PUBLIC_URL "/users/alice\"/>");
	assert_has(body, "/users/alice\"/>");
	assert_no_phone("the member's feed", body);
	free(body);
	/* A right-to-left override in a name does not reach a reader's
	 * titles, where it showed the handle after it reversed. */
	body = assert_feed("/users/erin.atom", 1, "/users/erin.atom");
	assert_has(body, "<name>Erin evil</name>");
	ck_assert_ptr_null(strstr(body, "\xe2\x80\xae"));
	free(body);
	body = assert_feed("/search.atom?q=rabat2026", 1, "/search.atom?q=rabat2026");
	assert_has(body, "<name>Erin evil @erin</name>");
	ck_assert_ptr_null(strstr(body, "\xe2\x80\xae"));
	free(body);

	/* A watch without words is refused, not an empty feed. */
	ck_assert_int_eq(h_http_get(g.http_port, "/search.atom", &body), 400);
	free(body);
	ck_assert_int_eq(h_http_get(g.http_port, "/search.atom?q=%21%21", &body), 400);
	free(body);
}
END_TEST

static int
healthy_on(void *port)
{
	return h_http(*(int *)port, "GET", "/healthz", NULL, NULL, NULL) == 200;
}

/* The <id>s of a feed, one a line (malloc). */
static char *
feed_ids(int port, const char *path)
{
	char *body = NULL, *ids = h_strf("%s", "");
	int code = h_http_get(port, path, &body);

	ck_assert_msg(code == 200, "%s on port %d: %d", path, port, code);
	for (const char *p = body; (p = strstr(p, "<id>")) != NULL; ) {
		const char *e = strstr(p, "</id>");
		ck_assert_ptr_nonnull(e);
		char *more = h_strf("%s%.*s\n", ids, (int)(e - p - 4), p + 4);
		free(ids);
		ids = more;
		p = e;
	}
	free(body);
	return ids;
}

/*
 * Two hosts behind one load balancer (docs/scaling.md), each with its own
 * host name, give a post the same id in their feeds: the database's
 * authority, the first host's name, not each host's own. A feed reader
 * saw the post again each time the balancer sent it to the other host,
 * and every post again when the service moved to a new host name.
 */
START_TEST(test_feed_ids_every_host)
{
	static const char *feeds[] = { "/users/alice.atom", "/users/dave.atom",
	    "/tags/soldes.atom", "/search.atom?q=dave" };
	struct h_gateway g2;
	char *first = h_strf("<id>tag:%s,2026:pigeon/posts/", strrchr(g.dir, '/') + 1);

	memset(&g2, 0, sizeof(g2));
	g2.http_extra = "public_url = https://pigeon.example.ma/\n";
	h_gateway_start_on(&g2, "public_web_gw2", 0, g.conninfo);
	ck_assert_int_eq(h_wait_for(healthy_on, &g2.http_port, 60000), 0);
	ck_assert_str_ne(strrchr(g.dir, '/') + 1, strrchr(g2.dir, '/') + 1);
	for (size_t i = 0; i < sizeof(feeds) / sizeof(feeds[0]); i++) {
		char *one = feed_ids(g.http_port, feeds[i]);
		char *two = feed_ids(g2.http_port, feeds[i]);
		ck_assert_msg(strcmp(one, two) == 0, "%s: one host's ids:\n%sthe other's:\n%s",
		    feeds[i], one, two);
		free(one);
		free(two);
	}
	/* Those of the host that started first on the database: an install
	 * of before keeps its ids. */
	char *body = page("/users/alice.atom");
	assert_has(body, first);
	free(body);
	h_gateway_stop(&g2);
	free(first);
}
END_TEST

/* GET path with an Accept-Language header; the body (malloc). */
static char *
get_lang(const char *path, const char *accept, int *code)
{
	char *out = NULL;

	ck_assert_int_eq(h_run(&out, "curl -s -m 20 -w '\\n%%{http_code}' -H 'Accept-Language: %s' "
	    "'http://127.0.0.1:%d%s'", accept, g.http_port, path), 0);
	char *nl = strrchr(out, '\n');
	ck_assert_ptr_nonnull(nl);
	*code = atoi(nl + 1);
	*nl = '\0';
	return out;
}

START_TEST(test_languages_and_pages)
{
	int code;
	char *body;

	body = get_lang("/directory", "en-GB,en;q=0.9", &code);
	ck_assert_int_eq(code, 200);
	assert_has(body, "<html lang=\"en\" dir=\"ltr\">");
	free(body);
	body = get_lang("/directory", "de-DE, ar-MA;q=0.8, fr;q=0.5", &code);
	assert_has(body, "<html lang=\"ar\" dir=\"rtl\">");
	assert_has(body, "الأعضاء المئة الأكثر متابعة");
	free(body);
	body = get_lang("/directory", "fr-FR", &code);
	assert_has(body, "Les 100 membres les plus suivis");
	free(body);
	/* ?lang= wins, and the page's links keep it. */
	body = get_lang("/users/alice?lang=en", "ar", &code);
	assert_has(body, "<html lang=\"en\" dir=\"ltr\">");
	assert_has(body, "<a href=\"/directory?lang=en\">Directory</a>");
	assert_has(body, "<a href=\"/tags/Soldes?lang=en\">#Soldes</a>");
	assert_has(body, "<input type=\"hidden\" name=\"lang\" value=\"en\">");
	free(body);
	/* A hashtag is a link when it has a page: one the search does not
	 * index stays text (its link led to an error page). */
	body = get_lang("/users/erin?lang=en", "en", &code);
	assert_has(body, "Tokyo #東京 #שלום <a href=\"/tags/%E2%B5%9C%E2%B4%B0%E2%B5%8E%E2%B4%B0"
	    "%E2%B5%A3%E2%B5%89%E2%B5%96%E2%B5%9C?lang=en\">#ⵜⴰⵎⴰⵣⵉⵖⵜ</a> "
	    "<a href=\"/tags/Rabat2026?lang=en\">");
	const char *pf = "<a href=\"/tags/%EF%BB%93%EF%BA%8E%EF%BA%B1?lang=en\">";
	assert_has(body, pf);
	assert_has(body, "<a href=\"/tags/ph%E1%BB%9F?lang=en\">#phở</a> #ﷺ");
	/* A page keeps the bidi controls of a name: <bdi> contains them
	 * (a feed, which cannot, drops them: test_feeds_for_readers). */
	assert_has(body, "<bdi>Erin \xe2\x80\xae" "evil</bdi>");
	free(body);
	body = get_lang("/tags/ph%E1%BB%9F", "en", &code);
	ck_assert_int_eq(code, 200);
	assert_has(body, "Tokyo #東京");
	free(body);
	/* Tamazight in Tifinagh: its hashtag's page, and its words searched. */
	body = get_lang("/tags/%E2%B5%9C%E2%B4%B0%E2%B5%8E%E2%B4%B0%E2%B5%A3%E2%B5%89%E2%B5%96"
	    "%E2%B5%9C", "en", &code);
	ck_assert_int_eq(code, 200);
	assert_has(body, "Tokyo #東京");
	free(body);
	body = get_lang("/search?q=%E2%B5%9C%E2%B4%B0%E2%B5%8E%E2%B4%B0%E2%B5%A3%E2%B5%89"
	    "%E2%B5%96%E2%B5%9C", "en", &code);
	ck_assert_int_eq(code, 200);
	assert_has(body, "Tokyo #東京");
	free(body);
	body = get_lang("/tags/%EF%BB%93%EF%BA%8E%EF%BA%B1", "en", &code);
	ck_assert_int_eq(code, 200);
	assert_has(body, "Tokyo #東京");
	free(body);

	/* A member's posts, 20 a page, then the older ones. */
	ck_assert_int_eq(h_http_get(g.http_port, "/users/dave?lang=en", &body), 200);
	ck_assert_int_eq(h_count_lines(body, "dave post number"), 20);
	assert_has(body, "dave post number 25<");
	assert_has(body, "25 posts · 0 followers · 2 following");
	const char *next = strstr(body, "<a rel=\"next\" href=\"");
	ck_assert_ptr_nonnull(next);
	char older[200];
	ck_assert_int_eq(sscanf(next, "<a rel=\"next\" href=\"%199[^\"]", older), 1);
	free(body);
	/* The link is HTML: &amp; stands for &. */
	char *amp = strstr(older, "&amp;");
	ck_assert_ptr_nonnull(amp);
	memmove(amp + 1, amp + 5, strlen(amp + 5) + 1);
	ck_assert_int_eq(h_http_get(g.http_port, older, &body), 200);
	ck_assert_int_eq(h_count_lines(body, "dave post number"), 5);
	assert_has(body, "dave post number 5<");
	assert_has(body, "dave post number 1<");
	ck_assert_ptr_null(strstr(body, "rel=\"next\""));
	free(body);

	/* What is not there, said in the reader's language, as a page. */
	body = get_lang("/users/nobody", "fr", &code);
	ck_assert_int_eq(code, 404);
	assert_has(body, "Ce membre n&#39;existe pas.");
	free(body);
	body = get_lang("/users/alice?before=x", "en", &code);
	ck_assert_int_eq(code, 400);
	free(body);
	body = get_lang("/search", "en", &code);
	ck_assert_int_eq(code, 200);
	assert_has(body, "Type one or more words");
	free(body);
	/* Bad input is a page saying so, never a crash: bytes that are not
	 * UTF-8, a query too long, an unknown language, a handle too long. */
	const struct { const char *path; int code; } bad[] = {
		{ "/search?q=%FF%FE", 400 }, { "/tags/%FF.atom", 404 },
		{ "/tags/%C3", 404 }, { "/users/%FF", 404 },
		{ "/users/abcdefghijklmnop", 404 }, { "/search?q=ete&lang=zz", 200 },
		{ "/search?q=ete&before=-1", 400 }, { "/search.atom?q=%FF", 400 },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		body = get_lang(bad[i].path, "en", &code);
		ck_assert_msg(code == bad[i].code, "%s: %d", bad[i].path, code);
		free(body);
	}
	char longq[600 + 16] = "/search?q=";
	memset(longq + 10, 'a', 600);
	longq[610] = '\0';
	body = get_lang(longq, "en", &code);
	ck_assert_int_eq(code, 400);
	free(body);
	ck_assert_int_eq(h_http(g.http_port, "GET", "/healthz", NULL, NULL, NULL), 200);

	/* No phone number on any page or feed, in any language. */
	const char *paths[] = { "/users/alice", "/users/bob", "/users/carol", "/users/dave",
	    "/users/erin", "/users/alice.atom", "/search?q=ete", "/search?q=end",
	    "/search.atom?q=ete", "/tags/soldes", "/tags/soldes.atom", "/directory" };
	const char *langs[] = { "en", "fr", "ar" };
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		for (size_t l = 0; l < 3; l++) {
			body = get_lang(paths[i], langs[l], &code);
			ck_assert_msg(code == 200, "%s: %d", paths[i], code);
			assert_no_phone(paths[i], body);
			free(body);
		}
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("public_web");
	TCase *tc = tcase_create("web");

	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_arabic_page_right_to_left);
	tcase_add_test(tc, test_search_folds_like_sms);
	tcase_add_test(tc, test_directory_by_followers);
	tcase_add_test(tc, test_feeds_for_readers);
	tcase_add_test(tc, test_languages_and_pages);
	suite_add_tcase(s, tc);
	tc = tcase_create("hosts");
	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, test_feed_ids_every_host);
	suite_add_tcase(s, tc);
	return h_main(s);
}

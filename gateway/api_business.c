/*
 * api_business.c: business accounts (issue 17, item 1). An operator marks
 * an account as business and issues it API keys; a key is scoped to its
 * account: it may post as it (now or at a send_at), read its statistics
 * (api_stats.c), list its scheduled posts and manage its tracked words,
 * and nothing of any other account (403). Operator tokens (api_tokens.c)
 * keep working on the same routes.
 *
 * A key is "pk_ID_SECRET": ID names its row, SECRET is 32 random bytes in
 * hex. The database keeps SHA-256(SECRET) only; the key is shown once,
 * when it is issued. A check reads the row by ID and compares the hashes
 * here with CRYPTO_memcmp, in time that does not depend on where they
 * differ. Browsers may give the key as the password of HTTP Basic (the
 * statistics page works with JavaScript off).
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/http.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "api.h"
#include "joblog.h"
#include "log.h"
#include "pigeond.h"
#include "store.h"

#define KEY_PREFIX	"pk_"
#define SECRET_BYTES	32
#define DUE_EVERY_MS	1000	/* scheduled posts leave within a second */
#define DUE_BATCH	"100"
#define SEND_AHEAD_S	"2592000"	/* send_at at most 30 days ahead */

static void
hex(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

/* SHA-256 of s in hex (out: API_SHA256_HEX + 1 bytes); -1 on failure. */
int
api_sha256_hex(const char *s, char *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	if (EVP_Digest(s, strlen(s), md, &len, EVP_sha256(), NULL) != 1 || len != 32)
		return -1;
	hex(md, len, out);
	return 0;
}

/* The digest of a request's body for its idempotency key: its fields
 * sorted, so that a client's JSON library may order them as it likes. */
int
api_body_digest(json_t *body, char *out)
{
	char *canon = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
	int rc = canon ? api_sha256_hex(canon, out) : -1;

	free(canon);
	return rc;
}

/* The credential of the request: a bearer token, or the password of
 * Basic (user:key); "" when none. */
static void
credential(struct api_req *r, char *out, size_t len)
{
	const char *h = evhttp_find_header(evhttp_request_get_input_headers(r->req),
	    "Authorization");
	unsigned char dec[256];

	out[0] = '\0';
	if (h == NULL)
		return;
	if (strncasecmp(h, "Bearer ", 7) == 0) {
		for (h += 7; *h == ' '; h++)
			;
		if (strlen(h) < len)
			snprintf(out, len, "%s", h);
		return;
	}
	if (strncasecmp(h, "Basic ", 6) != 0)
		return;
	for (h += 6; *h == ' '; h++)
		;
	size_t n = strlen(h);
	if (n == 0 || n % 4 != 0 || n / 4 * 3 >= sizeof(dec))
		return;
	/* Padding: one or two '=' closing the last four, nowhere else. */
	size_t pad = h[n - 1] != '=' ? 0 : h[n - 2] != '=' ? 1 : 2;
	if (memchr(h, '=', n - pad) != NULL)
		return;
	int m = EVP_DecodeBlock(dec, (const unsigned char *)h, (int)n);
	/* EVP_DecodeBlock counts the padding's zero bytes. */
	if (m < (int)pad)
		return;
	m -= (int)pad;
	dec[m] = '\0';
	const char *colon = memchr(dec, ':', (size_t)m);
	if (colon && strlen(colon + 1) < len)
		snprintf(out, len, "%s", colon + 1);
	explicit_bzero(dec, sizeof(dec));
}

/* pk_ID_SECRET: the id and a pointer to the secret, or -1. */
static long long
key_parse(const char *k, const char **secret)
{
	char *end;

	if (strncmp(k, KEY_PREFIX, 3) != 0 || !isdigit((unsigned char)k[3]))
		return -1;
	long long id = strtoll(k + 3, &end, 10);
	if (id < 1 || *end != '_' || strlen(end + 1) != 2 * SECRET_BYTES ||
	    strspn(end + 1, "0123456789abcdef") != 2 * SECRET_BYTES)
		return -1;
	*secret = end + 1;
	return id;
}

/* httpguard.c: a bearer shaped as a key may send a body; it is checked
 * before anything is done with it. */
int
api_biz_key_shaped(const char *k)
{
	const char *secret;

	return key_parse(k, &secret) != -1;
}

static void
refuse(struct api_req *r, int code, const char *why)
{
	/* The HTML page asks the browser for the key (user: the handle). */
	const char *f = api_param(r, "format");
	if (code == 401 && f && strcmp(f, "html") == 0)
		evhttp_add_header(evhttp_request_get_output_headers(r->req),
		    "WWW-Authenticate", "Basic realm=\"pigeon business\", charset=\"UTF-8\"");
	api_error(r, code, "%s", why);
}

static void
key_checked(struct api_req *r, PGresult *res)
{
	json_t *k = api_json_value(res);
	char given[API_SHA256_HEX + 1], stored[API_SHA256_HEX + 1] = "";
	const char *h = json_string_value(json_object_get(k, "hash"));
	int same;

	if (h && strlen(h) == API_SHA256_HEX)
		memcpy(stored, h, sizeof(stored));
	/* Hashed and compared whether or not the row exists: the same work. */
	if (api_sha256_hex(r->biz_secret, given) == -1)
		memset(given, 'x', API_SHA256_HEX);
	given[API_SHA256_HEX] = '\0';
	explicit_bzero(r->biz_secret, sizeof(r->biz_secret));
	same = CRYPTO_memcmp(given, stored[0] ? stored : "-", stored[0] ? API_SHA256_HEX : 1) == 0;
	if (k == NULL || !same) {
		json_decref(k);
		refuse(r, 401, "bad key");
		return;
	}
	char owner[32];
	snprintf(owner, sizeof(owner), "%s", json_string_value(json_object_get(k, "handle")) ?
	    json_string_value(json_object_get(k, "handle")) : "?");
	if (!json_is_true(json_object_get(k, "business")) ||
	    json_is_true(json_object_get(k, "suspended"))) {
		log_info("http: %s refused to a key of @%s (not business, or suspended)",
		    r->path, owner);
		json_decref(k);
		api_error(r, 403, "this key's account is not a business account now");
		return;
	}
	if (strcmp(owner, r->biz_handle) != 0) {
		log_info("http: %s refused to a key of @%s", r->path, owner);
		json_decref(k);
		api_error(r, 403, "this key is for @%s only", owner);
		return;
	}
	r->biz_account = (long long)json_integer_value(json_object_get(k, "account"));
	json_decref(k);
	log_debug("http: %s by a key of @%s", r->path, r->biz_handle);
	/* Checked: an account's own work, not an anonymous reader's; it no
	 * longer waits in the public routes' bounded queue. */
	r->public = 0;
	r->biz_next(r);
}

void
api_biz_auth(struct api_req *r, unsigned scope, const char *handle,
    void (*next)(struct api_req *))
{
	char cred[512], id_s[24];
	const char *name, *secret;
	unsigned scopes;
	long long id;

	credential(r, cred, sizeof(cred));
	if (cred[0] == '\0') {
		refuse(r, 401, "missing Authorization: Bearer TOKEN (or a business key)");
		return;
	}
	if ((name = api_token_find(cred, &scopes)) != NULL) {
		explicit_bzero(cred, sizeof(cred));
		if (!(scopes & (scope | API_SCOPE_ADMIN))) {
			api_error(r, 403, "token %s has no %s scope", name,
			    scope == API_SCOPE_READ ? "read" : "send");
			return;
		}
		r->biz_account = 0;
		r->biz_key = 0;
		snprintf(r->token, sizeof(r->token), "%s", name);
		r->scopes = scopes;
		next(r);
		return;
	}
	id = key_parse(cred, &secret);
	if (id == -1) {
		explicit_bzero(cred, sizeof(cred));
		refuse(r, 401, "bad token");
		return;
	}
	snprintf(r->biz_secret, sizeof(r->biz_secret), "%s", secret);
	snprintf(r->biz_handle, sizeof(r->biz_handle), "%s", handle);
	explicit_bzero(cred, sizeof(cred));
	r->biz_next = next;
	r->biz_key = id;
	snprintf(id_s, sizeof(id_s), "%lld", id);
	const char *params[] = { id_s };
	api_query(r, "SELECT pigeon_biz_key($1)", 1, params, key_checked);
}

/* Answers the function's JSON as it is, 404 when NULL. */
static void
json_or_404(struct api_req *r, PGresult *res)
{
	json_t *o = api_json_value(res);

	if (o == NULL) {
		api_error(r, 404, "no such user");
		return;
	}
	api_reply(r, 200, o);
}

/* The route's handle (r->arg), or NULL after a 404. */
static const char *
route_handle(struct api_req *r)
{
	const char *h = api_handle(r->arg);

	if (h == NULL)
		api_error(r, 404, "no such user");
	return h;
}

/* The last path segment, as a positive id; -1 after a 400. */
static long long
tail_id(struct api_req *r, char *out, size_t len)
{
	const char *t = strrchr(r->path, '/');
	char *end;
	long long id = t ? strtoll(t + 1, &end, 10) : 0;

	if (t == NULL || end == t + 1 || *end != '\0' || id < 1) {
		api_error(r, 400, "an id is a positive number");
		return -1;
	}
	snprintf(out, len, "%lld", id);
	return id;
}

/* POST / DELETE /api/users/HANDLE/business (admin). */
void
api_biz_mark(struct api_req *r)
{
	const char *h = route_handle(r);

	if (h == NULL)
		return;
	const char *on = evhttp_request_get_command(r->req) == EVHTTP_REQ_POST ? "t" : "f";
	const char *params[] = { h, on };
	api_query(r, "SELECT pigeon_biz_mark($1, $2)", 2, params, json_or_404);
}

/* GET /api/users/HANDLE/keys (admin). */
void
api_biz_keys_list(struct api_req *r)
{
	const char *h = route_handle(r);

	if (h == NULL)
		return;
	const char *params[] = { h };
	api_query(r, "SELECT pigeon_biz_keys($1)", 1, params, json_or_404);
}

static void
key_added(struct api_req *r, PGresult *res)
{
	json_t *o = api_json_value(res);
	const char *err = json_string_value(json_object_get(o, "error"));
	char key[128];

	if (o == NULL || (err && strcmp(err, "no_user") == 0)) {
		api_error(r, 404, "no such user");
	} else if (err) {
		api_error(r, 409, "@%s is not a business account (POST "
		    "/api/users/HANDLE/business first)", r->arg);
	} else {
		snprintf(key, sizeof(key), KEY_PREFIX "%" JSON_INTEGER_FORMAT "_%s",
		    json_integer_value(json_object_get(o, "id")), r->biz_secret);
		log_info("http: a key (id %" JSON_INTEGER_FORMAT ") issued to @%s",
		    json_integer_value(json_object_get(o, "id")), r->arg);
		api_reply(r, 201, json_pack("{s:O, s:O, s:s, s:s}", "id",
		    json_object_get(o, "id"), "handle", json_object_get(o, "handle"),
		    "key", key, "note", "shown once: pigeond keeps its hash only"));
		explicit_bzero(key, sizeof(key));
	}
	explicit_bzero(r->biz_secret, sizeof(r->biz_secret));
	json_decref(o);
}

/* POST /api/users/HANDLE/keys[?label=TEXT] (admin): a new key, shown once. */
void
api_biz_key_issue(struct api_req *r)
{
	unsigned char raw[SECRET_BYTES];
	char hash[API_SHA256_HEX + 1];
	const char *h = route_handle(r), *label = api_param(r, "label");

	if (h == NULL)
		return;
	if (label && strlen(label) > 100) {
		api_error(r, 400, "label is at most 100 characters");
		return;
	}
	if (RAND_bytes(raw, sizeof(raw)) != 1) {
		api_error(r, 500, "no random bytes for a key");
		return;
	}
	hex(raw, sizeof(raw), r->biz_secret);
	explicit_bzero(raw, sizeof(raw));
	if (api_sha256_hex(r->biz_secret, hash) == -1) {
		explicit_bzero(r->biz_secret, sizeof(r->biz_secret));
		api_error(r, 500, "cannot hash the key");
		return;
	}
	const char *params[] = { h, hash, label };
	api_query(r, "SELECT pigeon_biz_key_add($1, $2, $3)", 3, params, key_added);
}

static void
key_revoked(struct api_req *r, PGresult *res)
{
	json_t *o = api_json_value(res);

	if (o == NULL) {
		api_error(r, 404, "@%s has no such key", r->arg);
		return;
	}
	log_info("http: key %" JSON_INTEGER_FORMAT " of @%s revoked, %" JSON_INTEGER_FORMAT
	    " scheduled post(s) of it cancelled", json_integer_value(json_object_get(o, "id")),
	    r->arg, json_integer_value(json_object_get(o, "cancelled_posts")));
	api_reply(r, 200, o);
}

/* DELETE /api/users/HANDLE/keys/ID (admin): revoked at once, and the posts
 * it scheduled that are still waiting cancelled (pigeon_biz_key_revoke). */
void
api_biz_key_revoke(struct api_req *r)
{
	const char *h = route_handle(r);
	char id[24];

	if (h == NULL || tail_id(r, id, sizeof(id)) == -1)
		return;
	const char *params[] = { h, id };
	api_query(r, "SELECT pigeon_biz_key_revoke($1, $2)", 2, params, key_revoked);
}

static void
posted(struct api_req *r, PGresult *res)
{
	json_t *o = api_json_value(res);
	const char *err = json_string_value(json_object_get(o, "error"));
	json_t *a;

	if (o == NULL)
		api_error(r, 500, "internal error");
	else if (err && strcmp(err, "no_user") == 0)
		api_error(r, 404, "no such user");
	else if (err && strcmp(err, "suspended") == 0)
		api_error(r, 409, "@%s is suspended: it cannot post", r->biz_handle);
	else if (err && strcmp(err, "bad_time") == 0)
		api_error(r, 400, "%s", API_TIME_FORMS);
	else if (err && strcmp(err, "too_far") == 0)
		api_error(r, 400, "\"send_at\" is more than 30 days ahead");
	else if (err && strcmp(err, "empty") == 0)
		api_error(r, 400, "\"text\" is empty");
	else if (err && strcmp(err, "revoked") == 0)
		refuse(r, 401, "bad key");	/* revoked since it was checked */
	else if (err && strcmp(err, "key_reused") == 0)
		api_error(r, 422, "idempotency_key was used for another request "
		    "within 24 hours; nothing was posted");
	else if (err)
		api_error(r, 400, "\"text\" is longer than %d characters", env.conf.post_max);
	else {
		/* A replay answers as the first request did: nothing new. */
		if (json_object_get(o, "scheduled"))
			a = json_pack("{s:O, s:O, s:s}", "scheduled",
			    json_object_get(o, "scheduled"), "send_at",
			    json_object_get(o, "send_at"), "state", "scheduled");
		else
			a = json_pack("{s:O}", "id", json_object_get(o, "id"));
		if (a && json_is_true(json_object_get(o, "replayed")))
			json_object_set_new(a, "replayed", json_true());
		api_reply(r, json_object_get(o, "scheduled") ? 202 : 201, a);
	}
	json_decref(o);
}

static void
post_allowed(struct api_req *r)
{
	char max[16], key[24], at[48], idem[API_TOKEN_NAME_MAX + 240];
	char digest[API_SHA256_HEX + 1];
	json_t *v = json_object_get(r->body, "send_at");
	const char *text = json_string_value(json_object_get(r->body, "text"));
	const char *k = json_string_value(json_object_get(r->body, "idempotency_key"));
	struct api_time t;
	int parts;

	snprintf(max, sizeof(max), "%d", env.conf.post_max);
	snprintf(key, sizeof(key), "%lld", r->biz_key);
	/* As read when the body was checked; written so that PostgreSQL
	 * reads it whatever its DateStyle. */
	if (v && api_time_parse(json_string_value(v), &t) == 0)
		api_time_text(&t, at, sizeof(at));
	/* A key is its caller's own, a post's never a message's: '#' starts
	 * none of pigeon_api_send's keys (a token's name holds none). */
	if (k) {
		if (r->biz_key)
			snprintf(idem, sizeof(idem), "#post key:%lld %s", r->biz_key, k);
		else
			snprintf(idem, sizeof(idem), "#post token:%s %s", r->token, k);
		if (api_body_digest(r->body, digest) == -1) {
			api_error(r, 500, "out of memory");
			return;
		}
	}
	/* The fan-out's cap of parts is that of the text's coding, asked of
	 * libgammu as for a post by SMS (commands.c): a GSM-7 text is cut to
	 * fanout_parts_gsm parts, now or at send_at. The key is kept with a
	 * scheduled post: revoking it cancels the post. */
	const char *params[] = { r->biz_handle, text, max, v ? at : NULL,
	    SEND_AHEAD_S, smstext_encode(text, strlen(text), &parts) ? "true" : "false",
	    r->biz_key ? key : NULL, k ? idem : NULL, k ? digest : NULL };
	api_query(r, "SELECT pigeon_biz_post($1, $2, $3, $4, $5, $6, $7, $8, $9)", 9,
	    params, posted);
}

static const char *const post_fields[] = { "user", "text", "send_at",
    "idempotency_key", NULL };

/* POST /api/posts {"user", "text"[, "send_at", "idempotency_key"]}: an
 * operator token with the send scope posts for anyone, a business key for
 * its account only. */
void
api_biz_posts_create(struct api_req *r)
{
	json_t *user = json_object_get(r->body, "user");
	json_t *text = json_object_get(r->body, "text");
	json_t *at = json_object_get(r->body, "send_at");
	char handle[32], err[200];
	const char *h, *k;
	struct api_time when;

	/* Never ignored: "send_at" misspelt posted to every follower at
	 * once instead of at its time. */
	if (api_body_fields(r->body, post_fields, err, sizeof(err)) != 0 ||
	    api_idempotency_key(r->body, &k, err, sizeof(err)) != 0) {
		api_error(r, 400, "%s", err);
		return;
	}
	if (!json_is_string(user) || !json_is_string(text)) {
		api_error(r, 400, "\"user\" and \"text\" are required strings");
		return;
	}
	if (at && (!json_is_string(at) || api_time_parse(json_string_value(at), &when) == -1)) {
		api_error(r, 400, "%s", API_TIME_FORMS);
		return;
	}
	snprintf(handle, sizeof(handle), "%s", json_string_value(user));
	if (strlen(json_string_value(user)) >= sizeof(handle) ||
	    (h = api_handle(handle)) == NULL) {
		api_error(r, 400, "\"user\" is not a handle (1-15 of a-z, 0-9, _)");
		return;
	}
	/* ASCII blanks are refused here; a text of other spaces or invisible
	 * characters only ("\u200b") by pigeon_biz_post, which makes it the
	 * one line an SMS copy shows first, as for a post by SMS. */
	const char *t = json_string_value(text);
	while (*t == ' ' || *t == '\t' || *t == '\n' || *t == '\r')
		t++;
	if (*t == '\0') {
		api_error(r, 400, "\"text\" is empty");
		return;
	}
	snprintf(r->biz_handle, sizeof(r->biz_handle), "%s", h);
	api_biz_auth(r, API_SCOPE_SEND, h, post_allowed);
}

static void
track_changed(struct api_req *r, PGresult *res)
{
	json_t *o = api_json_value(res);
	const char *err = json_string_value(json_object_get(o, "error"));

	if (o == NULL || (err && strcmp(err, "no_user") == 0))
		api_error(r, 404, "no such user");
	else if (err && strcmp(err, "full") == 0)
		api_error(r, 409, "already %" JSON_INTEGER_FORMAT " tracked words, the most "
		    "allowed", json_integer_value(json_object_get(o, "max")));
	else if (err)
		api_error(r, 400, "a tracked word is one word of 2 to 20 characters");
	else
		api_reply(r, json_is_true(json_object_get(o, "added")) ? 201 : 200,
		    json_incref(o));
	json_decref(o);
}

static void
tracks_allowed(struct api_req *r)
{
	enum evhttp_cmd_type cmd = evhttp_request_get_command(r->req);
	const char *h = r->biz_handle;

	if (cmd == EVHTTP_REQ_POST) {
		static const char *const fields[] = { "word", NULL };
		json_t *w = json_object_get(r->body, "word");
		char err[200];
		if (api_body_fields(r->body, fields, err, sizeof(err)) != 0) {
			api_error(r, 400, "%s", err);
			return;
		}
		if (!json_is_string(w)) {
			api_error(r, 400, "\"word\" is a required string");
			return;
		}
		const char *params[] = { h, json_string_value(w) };
		api_query(r, "SELECT pigeon_biz_track_add($1, $2)", 2, params, track_changed);
	} else if (cmd == EVHTTP_REQ_DELETE) {
		const char *word = strrchr(r->path, '/') + 1;
		const char *params[] = { h, word };
		api_query(r, "SELECT pigeon_biz_track_remove($1, $2)", 2, params,
		    track_changed);
	} else {
		const char *params[] = { h };
		api_query(r, "SELECT pigeon_biz_tracks($1)", 1, params, json_or_404);
	}
}

/* GET, POST {"word"} /api/accounts/HANDLE/tracks; DELETE .../tracks/WORD. */
void
api_biz_tracks(struct api_req *r)
{
	const char *h = route_handle(r);

	if (h == NULL)
		return;
	snprintf(r->biz_handle, sizeof(r->biz_handle), "%s", h);
	api_biz_auth(r, evhttp_request_get_command(r->req) == EVHTTP_REQ_GET ?
	    API_SCOPE_READ : API_SCOPE_SEND, h, tracks_allowed);
}

static void
scheduled_cancelled(struct api_req *r, PGresult *res)
{
	json_t *o = api_json_value(res);
	const char *id = strrchr(r->path, '/') + 1;
	const char *st = json_string_value(json_object_get(o, "state"));

	if (st == NULL)
		api_error(r, 404, "@%s has no scheduled post %s", r->biz_handle, id);
	else if (!json_is_true(json_object_get(o, "changed")))
		api_error(r, 409, "scheduled post %s is %s already", id, st);
	else
		api_reply(r, 200, json_pack("{s:I, s:s}", "id",
		    (json_int_t)strtoll(id, NULL, 10), "state", st));
	json_decref(o);
}

static void
scheduled_allowed(struct api_req *r)
{
	char id[24];

	if (evhttp_request_get_command(r->req) == EVHTTP_REQ_DELETE) {
		if (tail_id(r, id, sizeof(id)) == -1)
			return;
		const char *params[] = { r->biz_handle, id };
		api_query(r, "SELECT pigeon_biz_scheduled_cancel($1, $2)", 2, params,
		    scheduled_cancelled);
		return;
	}
	const char *params[] = { r->biz_handle };
	api_query(r, "SELECT pigeon_biz_scheduled($1)", 1, params, json_or_404);
}

/* GET /api/accounts/HANDLE/scheduled; DELETE .../scheduled/ID. */
void
api_biz_scheduled(struct api_req *r)
{
	const char *h = route_handle(r);

	if (h == NULL)
		return;
	snprintf(r->biz_handle, sizeof(r->biz_handle), "%s", h);
	api_biz_auth(r, evhttp_request_get_command(r->req) == EVHTTP_REQ_GET ?
	    API_SCOPE_READ : API_SCOPE_SEND, h, scheduled_allowed);
}

static int due_running;

static struct joblog due_log = JOBLOG_INIT("business: scheduled posts");

static void
due_done(PGresult *res, void *arg)
{
	due_running = 0;
	if (joblog_result(&due_log, res) == 0 && PQntuples(res) == 1 && atoi(PQgetvalue(res, 0, 0)) > 0)
		log_info("business: %s scheduled post(s) posted", PQgetvalue(res, 0, 0));
}

/* Janitor job: posts the scheduled posts that are due (database clock). */
static void
due_tick(void)
{
	const char *params[] = { DUE_BATCH };

	if (due_running || env.draining || !store_is_up(env.store))
		return;
	if (store_query(env.store, "SELECT pigeon_biz_post_due($1)", 1, params, due_done,
	    NULL) == 0)
		due_running = 1;
}

int
api_biz_init(void)
{
	return janitor_add("business: scheduled posts", DUE_EVERY_MS, due_tick);
}

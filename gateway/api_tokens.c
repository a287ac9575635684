/*
 * api_tokens.c: the API's bearer tokens (issue 16), each with a name and
 * scopes: read (operator GETs), send (POST/DELETE /api/messages, POST
 * /api/posts), admin (everything, modem actions included).
 *
 * [http] token (or the first line of token_file) is the token named
 * "admin", with the admin scope, as before. [http] tokens_file adds named
 * tokens, one a line:  NAME SCOPE[,SCOPE...] TOKEN  (# starts a comment).
 * The file is a secret: others may not read it (config.c checks its mode
 * too), and each token has at least CONFIG_TOKEN_MIN characters. Logs
 * show a token's name, never its value. SIGHUP reads the file again
 * (reload.c): a line removed is a token revoked at once. A bad file at
 * reload refuses the whole reload (nothing of it applied) and says why.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "api.h"
#include "log.h"
#include "pigeond.h"

#define TOKENS_MAX	256

struct api_token {
	char		*name;
	char		*secret;
	unsigned	 scopes;
};

static struct api_token *table;
static size_t ntable;

static void
table_free(struct api_token *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(t[i].name);
		if (t[i].secret)
			explicit_bzero(t[i].secret, strlen(t[i].secret));
		free(t[i].secret);
	}
	free(t);
}

static int
add(struct api_token *t, size_t *n, const char *name, const char *secret,
    unsigned scopes)
{
	if (*n >= TOKENS_MAX)
		return -1;
	t[*n].name = strdup(name);
	t[*n].secret = strdup(secret);
	t[*n].scopes = scopes;
	(*n)++;
	return t[*n - 1].name && t[*n - 1].secret ? 0 : -1;
}

static int
parse_scopes(char *list, unsigned *out)
{
	char *save = NULL;

	*out = 0;
	for (char *s = strtok_r(list, ",", &save); s; s = strtok_r(NULL, ",", &save)) {
		if (strcmp(s, "read") == 0)
			*out |= API_SCOPE_READ;
		else if (strcmp(s, "send") == 0)
			*out |= API_SCOPE_SEND;
		else if (strcmp(s, "admin") == 0)
			*out |= API_SCOPE_ADMIN;
		else
			return -1;
	}
	return *out ? 0 : -1;
}

/* The first line of a file; -1 with err. */
static int
first_line(const char *file, char *line, size_t len, char *err, size_t errlen)
{
	FILE *f = fopen(file, "r");

	if (f == NULL) {
		snprintf(err, errlen, "http: token_file %s: %s", file, strerror(errno));
		return -1;
	}
	if (fgets(line, (int)len, f) == NULL)
		line[0] = '\0';
	fclose(f);
	line[strcspn(line, "\r\n")] = '\0';
	if (line[0] == '\0') {
		snprintf(err, errlen, "http: token_file %s is empty", file);
		return -1;
	}
	return 0;
}

static int
read_tokens_file(const char *file, struct api_token *t, size_t *n, char *err,
    size_t errlen)
{
	struct stat st;
	char line[1024];
	int lineno = 0;
	FILE *f;

	if (stat(file, &st) == -1 || (f = fopen(file, "r")) == NULL) {
		snprintf(err, errlen, "http: tokens_file %s: %s", file, strerror(errno));
		return -1;
	}
	if (st.st_mode & (S_IROTH | S_IWOTH)) {
		fclose(f);
		snprintf(err, errlen, "http: tokens_file %s: others can read or write it "
		    "(mode %04o): chmod 600 it", file, (unsigned)(st.st_mode & 07777));
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char *save = NULL, *name, *scopes, *secret;
		unsigned sc;
		lineno++;
		line[strcspn(line, "#\r\n")] = '\0';
		if ((name = strtok_r(line, " \t", &save)) == NULL)
			continue;
		scopes = strtok_r(NULL, " \t", &save);
		secret = strtok_r(NULL, " \t", &save);
		if (scopes == NULL || secret == NULL || strtok_r(NULL, " \t", &save) ||
		    parse_scopes(scopes, &sc) == -1) {
			snprintf(err, errlen, "http: tokens_file %s:%d: not NAME SCOPES TOKEN "
			    "(scopes: read, send, admin, comma separated)", file, lineno);
			goto fail;
		}
		/* The name is what a message records as its sender (a send
		 * token cancels its own) and keys idempotency: kept whole. */
		if (strlen(name) >= API_TOKEN_NAME_MAX) {
			snprintf(err, errlen, "http: tokens_file %s:%d: the name %.40s... is "
			    "longer than %d characters", file, lineno, name,
			    API_TOKEN_NAME_MAX - 1);
			goto fail;
		}
		if (strlen(secret) < CONFIG_TOKEN_MIN) {
			snprintf(err, errlen, "http: tokens_file %s:%d: token %.40s is shorter "
			    "than %d characters", file, lineno, name, CONFIG_TOKEN_MIN);
			goto fail;
		}
		for (size_t i = 0; i < *n; i++)
			if (strcmp(t[i].name, name) == 0) {
				snprintf(err, errlen, "http: tokens_file %s:%d: a second token "
				    "named %.40s", file, lineno, name);
				goto fail;
			}
		if (add(t, n, name, secret, sc) == -1) {
			snprintf(err, errlen, "http: tokens_file %s: more than %d tokens, or "
			    "out of memory", file, TOKENS_MAX);
			goto fail;
		}
	}
	explicit_bzero(line, sizeof(line));
	fclose(f);
	return 0;
fail:
	explicit_bzero(line, sizeof(line));
	fclose(f);
	return -1;
}

/* The tokens c names, read into a new table (TOKENS_MAX entries) in *tp
 * with their count in *np; -1 with the reason in err. */
static int
tokens_read(const struct pigeon_conf *c, struct api_token **tp, size_t *np,
    char *err, size_t errlen)
{
	struct api_token *t = calloc(TOKENS_MAX, sizeof(*t));
	size_t n = 0;
	char line[1024];

	if (t == NULL) {
		snprintf(err, errlen, "http: out of memory");
		return -1;
	}
	if (c->http_token_file && *c->http_token_file) {
		if (c->http_token && *c->http_token) {
			snprintf(err, errlen, "http: give [http] token or token_file, not both");
			goto fail;
		}
		if (first_line(c->http_token_file, line, sizeof(line), err, errlen) == -1 ||
		    add(t, &n, "admin", line, API_SCOPE_ADMIN) == -1)
			goto fail;
		explicit_bzero(line, sizeof(line));
	} else if (c->http_token && *c->http_token) {
		if (add(t, &n, "admin", c->http_token, API_SCOPE_ADMIN) == -1)
			goto fail;
	}
	if (c->http_tokens_file && *c->http_tokens_file &&
	    read_tokens_file(c->http_tokens_file, t, &n, err, errlen) == -1)
		goto fail;
	*tp = t;
	*np = n;
	return 0;
fail:
	table_free(t, TOKENS_MAX);
	return -1;
}

/* pigeond -n: what api_tokens_load would refuse, without loading. */
int
api_tokens_check(const struct pigeon_conf *c, char *err, size_t errlen)
{
	struct api_token *t;
	size_t n;

	if (tokens_read(c, &t, &n, err, errlen) == -1)
		return -1;
	table_free(t, TOKENS_MAX);
	return 0;
}

/* Puts the table t of n tokens in force, freeing the one it replaces. */
static void
tokens_install(struct api_token *t, size_t n)
{
	table_free(table, ntable);
	table = t;
	ntable = n;
	if (n == 0)
		log_warnx("http: no token ([http] token, token_file or tokens_file): "
		    "operator routes and /api writes answer 401");
	for (size_t i = 0; i < n; i++)
		log_info("http: token %s: %s%s%s", t[i].name,
		    t[i].scopes & API_SCOPE_READ ? "read " : "",
		    t[i].scopes & API_SCOPE_SEND ? "send " : "",
		    t[i].scopes & API_SCOPE_ADMIN ? "admin" : "");
}

int
api_tokens_load(const struct pigeon_conf *c, char *err, size_t errlen)
{
	struct api_token *t;
	size_t n;

	if (tokens_read(c, &t, &n, err, errlen) == -1)
		return -1;
	tokens_install(t, n);
	return 0;
}

/* Every token is compared whole, in time that depends on the tokens'
 * lengths only, not on where a guess goes wrong. */
const char *
api_token_find(const char *given, unsigned *scopes)
{
	const char *found = NULL;
	size_t glen = strlen(given);

	*scopes = 0;
	for (size_t i = 0; i < ntable; i++) {
		const char *tok = table[i].secret;
		size_t tlen = strlen(tok);
		unsigned char diff = glen != tlen;
		for (size_t k = 0; k < tlen; k++)
			diff |= (unsigned char)tok[k] ^ (unsigned char)(k < glen ? given[k] : 0);
		if (diff == 0 && found == NULL) {
			found = table[i].name;
			*scopes = table[i].scopes;
		}
	}
	return found;
}

int
api_tokens_count(void)
{
	return (int)ntable;
}

void
api_tokens_free(void)
{
	table_free(table, ntable);
	table = NULL;
	ntable = 0;
}

/* SIGHUP reads the tokens before it applies anything else of the file
 * (reload.c), so that a refused tokens file refuses the whole reload:
 * the tokens read wait here for api_tokens_commit. */
static struct api_token *staged;
static size_t nstaged;

int
api_tokens_stage(const struct pigeon_conf *fresh, char *err, size_t errlen)
{
	api_tokens_unstage();
	return tokens_read(fresh, &staged, &nstaged, err, errlen);
}

void
api_tokens_commit(void)
{
	if (staged == NULL)
		return;
	tokens_install(staged, nstaged);
	staged = NULL;
	nstaged = 0;
}

void
api_tokens_unstage(void)
{
	table_free(staged, nstaged);
	staged = NULL;
	nstaged = 0;
}

/* GET /api/tokens (admin): the names and scopes in force, never a token. */
void
api_tokens_list(struct api_req *r)
{
	json_t *list = json_array();

	for (size_t i = 0; list && i < ntable; i++) {
		json_t *sc = json_array();
		if (table[i].scopes & API_SCOPE_READ)
			json_array_append_new(sc, json_string("read"));
		if (table[i].scopes & API_SCOPE_SEND)
			json_array_append_new(sc, json_string("send"));
		if (table[i].scopes & API_SCOPE_ADMIN)
			json_array_append_new(sc, json_string("admin"));
		json_array_append_new(list, json_pack("{s:s, s:o}", "name", table[i].name,
		    "scopes", sc));
	}
	api_reply(r, 200, json_pack("{s:o}", "tokens", list));
}

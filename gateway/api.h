/*
 * api.h: what the HTTP route files (api_*.c, metrics.c) share with http.c.
 *
 * Every request becomes a struct api_req. A handler answers at once with
 * api_reply/api_error, or runs one query with api_query, whose callback
 * answers (or runs the next query). http.c answers 503 itself when the
 * database is down, when the query's connection is lost, and when the
 * answer takes longer than API_TIMEOUT_S: a request never hangs. Then
 * the query is cancelled (store_cancel), and a write's 503 says it may
 * have been done ("maybe_done"). A handler that can answer without the
 * database (GET /metrics) sets r->fallback (and a shorter timeout_s)
 * instead.
 */
#ifndef PIGEON_API_H
#define PIGEON_API_H

#include <sys/queue.h>

#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <libpq-fe.h>

#define API_TIMEOUT_S	10
#include "api_body.h"	/* API_MAX_BODY */

struct api_req;
/* res is a successful result (tuples or command ok); never NULL. */
typedef void (*api_result_cb)(struct api_req *, PGresult *res);

#define API_TOKEN_NAME_MAX	64	/* a token's name, its NUL included */

struct api_req {
	TAILQ_ENTRY(api_req) entry;
	struct evhttp_request *req;	/* NULL once answered or abandoned */
	struct event	*ev_timeout;
	int		 pending;	/* a query is in flight */
	int		 public;	/* a public route's: its own connection */
	api_result_cb	 cb;
	/* Set by a handler that answers without the database rather than
	 * 503 or 500 (metrics.c): called instead when its query fails, is
	 * lost or takes longer than timeout_s (0: API_TIMEOUT_S). */
	void		(*fallback)(struct api_req *);
	int		 timeout_s;
	const char	*path;		/* decoded path, e.g. /api/messages/12 */
	char		*arg;		/* the route's path argument (malloc'd) */
	struct evkeyvalq query;		/* ?a=b pairs */
	json_t		*body;		/* parsed JSON body of a POST, or NULL */
	int		 head;		/* HEAD: answer without the body */
	char		 token[API_TOKEN_NAME_MAX];	/* the operator token's
						 * name, once authorized */
	unsigned	 scopes;	/* and its scopes (API_SCOPE_*) */
	char		 base[300];	/* the feeds' links' start: [http]
					 * public_url, or http:// and the Host
					 * header (when plain; localhost when not) */
	/* api_business.c: who a business route was allowed to, and what
	 * runs once a key is checked (a key's check is a query). */
	long long	 biz_account;	/* the key's account; 0: an operator token */
	long long	 biz_key;	/* the key's id (checked once next runs);
					 * 0: an operator token */
	char		 biz_handle[16];
	char		 biz_secret[80];	/* a key being issued, wiped after */
	void		(*biz_next)(struct api_req *);
};

/* http.c */
/* 1 when the API's database connection can take queries. */
int	 api_db_up(void);
int	 api_query(struct api_req *, const char *sql, int nparams,
	    const char *const *params, api_result_cb);
void	 api_reply(struct api_req *, int code, json_t *body);	/* steals body */
void	 api_reply_raw(struct api_req *, int code, const char *content_type,
	    const char *data, size_t len);
void	 api_error(struct api_req *, int code, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
const char *api_param(struct api_req *, const char *name);
/* Parses ?name= as an integer in [min, max]; def when absent; -1 after a 400. */
int	 api_param_int(struct api_req *, const char *name, long long def,
	    long long min, long long max, long long *out);
/* The route's argument as a positive id that fits a bigint; -1 after a
 * 400 saying "a WHAT id is a positive number". */
int	 api_id_arg(struct api_req *, const char *what);
/* The first column of the first row as JSON (NULL when SQL NULL or bad). */
json_t	*api_json_value(PGresult *res);

/* api_modems.c */
void	 api_modems_list(struct api_req *);
void	 api_modems_action(struct api_req *);
void	 api_modems_forget(struct api_req *);
void	 api_status(struct api_req *);
void	 api_reload(struct api_req *);
void	 api_charts(struct api_req *);
void	 api_status_sample(void);	/* janitor job, once a minute */
json_t	*api_modems_merge(json_t *db_rows);

/* api_messages.c */
void	 api_messages_send(struct api_req *);
void	 api_messages_get(struct api_req *);
void	 api_messages_search(struct api_req *);
void	 api_messages_cancel(struct api_req *);
void	 api_inbox_list(struct api_req *);

/* api_users.c */
/* A handle as in the shortcode language, with or without '@', lower-cased
 * in place; NULL if not one. */
char	*api_handle(char *);
void	 api_users_get(struct api_req *);
void	 api_users_posts(struct api_req *);
void	 api_feed_atom(struct api_req *);
void	 api_users_stats(struct api_req *);

/* api_moderation.c */
void	 api_mod_post_remove(struct api_req *);
void	 api_mod_user_action(struct api_req *);

/* api_desk.c: the support desk's phone routes (admin scope). */
void	 api_desk_phone(struct api_req *);	/* GET /api/phones/PHONE */
void	 api_desk_optout(struct api_req *);	/* POST /api/phones/PHONE/optout */

/* api_business.c: business accounts, their keys, scheduled posts and
 * tracked words by API (issue 17). */
void	 api_biz_mark(struct api_req *);
void	 api_biz_keys_list(struct api_req *);
void	 api_biz_key_issue(struct api_req *);
void	 api_biz_key_revoke(struct api_req *);
void	 api_biz_posts_create(struct api_req *);	/* POST /api/posts */
int	 api_biz_key_shaped(const char *bearer);
void	 api_biz_tracks(struct api_req *);
void	 api_biz_scheduled(struct api_req *);
/* Allows r to an operator token with scope (or admin), or to a business
 * key of handle; then runs next, or answers 401/403 itself. */
void	 api_biz_auth(struct api_req *, unsigned scope, const char *handle,
	    void (*next)(struct api_req *));
int	 api_biz_init(void);	/* the scheduled posts' janitor job */

/* api_stats.c: GET /api/accounts/HANDLE/stats as JSON, CSV or HTML. */
void	 api_biz_stats(struct api_req *);

/* api_search.c */
void	 api_search(struct api_req *);

/* api_business.c: SHA-256 of s in hex (out: API_SHA256_HEX + 1 bytes);
 * -1 on failure. */
#define API_SHA256_HEX	64
int	 api_sha256_hex(const char *s, char *out);
/* The SHA-256 (hex, out: API_SHA256_HEX + 1 bytes) of body with its
 * fields sorted: what an idempotency key was first used for; -1 on
 * failure. */
int	 api_body_digest(json_t *body, char *out);

/* api_tokens.c: named tokens with scopes (an admin token has them all). */
#define API_SCOPE_READ	1u
#define API_SCOPE_SEND	2u
#define API_SCOPE_ADMIN	4u
struct pigeon_conf;
int	 api_tokens_load(const struct pigeon_conf *, char *err, size_t errlen);
int	 api_tokens_check(const struct pigeon_conf *, char *err, size_t errlen);
/* SIGHUP (reload.c): the fresh configuration's tokens read and held, or
 * -1 with the reason and nothing held; commit puts the held ones in
 * force, unstage drops them. */
int	 api_tokens_stage(const struct pigeon_conf *, char *err, size_t errlen);
void	 api_tokens_commit(void);
void	 api_tokens_unstage(void);
/* The name of the token given (and its scopes), or NULL. */
const char *api_token_find(const char *given, unsigned *scopes);
int	 api_tokens_count(void);
void	 api_tokens_list(struct api_req *);
void	 api_tokens_free(void);

/* metrics.c */
void	 api_metrics(struct api_req *);
/* Drops the cached scrape (a change the next one must show) and frees it. */
void	 metrics_free(void);

#endif

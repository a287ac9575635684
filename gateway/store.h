/*
 * store.c: one PostgreSQL connection driven by the libevent loop.
 *
 * Queries are queued and sent one at a time with PQsendQueryParams on a
 * non-blocking connection; each completes with a callback. The connection
 * is re-established with backoff when it fails, and every queued query is
 * then completed with a NULL result: its outcome is unknown, so every
 * write the callers retry must be idempotent.
 */
#ifndef PIGEON_STORE_H
#define PIGEON_STORE_H

#include <event2/event.h>
#include <libpq-fe.h>

struct store;

/*
 * res is the query's result (check PQresultStatus), or NULL when the
 * connection was lost first. The store clears res after the callback.
 */
typedef void (*store_result_cb)(PGresult *res, void *arg);
/* Called on the loop once connected, before the store is up: run set-up
 * queries with store_query_setup, then call store_setup_done. */
typedef void (*store_connect_cb)(struct store *, void *arg);
typedef void (*store_state_cb)(int up, void *arg);
typedef void (*store_notify_cb)(const char *channel, const char *payload, void *arg);

struct store *store_new(struct event_base *, const char *conninfo);
void	 store_free(struct store *);
void	 store_set_callbacks(struct store *, store_connect_cb, store_state_cb,
	    store_notify_cb, void *arg);
/* application_name unless the conninfo sets one; before store_start. */
int	 store_set_name(struct store *, const char *application_name);
/*
 * A connection of its own for one subsystem (an SMS pipeline stage that
 * must not wait behind the others' statements), named "pigeond HOST
 * ROLE" unless the conninfo names it, connecting now. It runs no set-up
 * of its own: the main connection has migrated the schema. on_state may
 * be NULL. utc: the session's TimeZone is UTC, whatever the server's
 * default (the API answers every time in UTC, as PostgreSQL writes a
 * timestamptz in the session's zone).
 */
struct store *store_open_role(struct event_base *, const char *conninfo,
	    const char *hostname, const char *role, store_state_cb on_state,
	    int utc);
/* Connects now and again after every failure, until store_free. */
void	 store_start(struct store *);
int	 store_is_up(const struct store *);
unsigned store_reconnects(const struct store *);

/* Queues a parameterised statement; -1 (and no callback) when not up. */
int	 store_query(struct store *, const char *sql, int nparams,
	    const char *const *params, store_result_cb, void *arg);
/*
 * "Keep it until the database has it": an idempotent write, queued even
 * while the store is down, and sent again, in order, when the connection
 * was lost before its answer. cb sees the first answer (success or a
 * statement error), or NULL only when the store is freed first.
 */
int	 store_durable(struct store *, const char *sql, int nparams,
	    const char *const *params, store_result_cb, void *arg);
/*
 * Cancels the plain query queued with (cb, arg). One not sent yet never
 * is: it completes with NULL. The one in flight gets PostgreSQL's cancel
 * request and completes as it ends: with its result when it ended first
 * (a write may have committed), or with an error (SQLSTATE 57014). The
 * next query is sent once the server has the request, so that it never
 * stops another statement; a request the server did not take within 5 s
 * drops the connection (the queries' outcome is unknown, as when lost).
 * 1 when the query was never sent (it certainly did not run), 0 when
 * the request is made, -1 when no such query is waiting, or the request
 * cannot be made.
 */
int	 store_cancel(struct store *, store_result_cb, void *arg);
/* Queries queued or in flight (counted: for short queues). */
size_t	 store_queued(const struct store *);
/* Durable queries not answered yet (held or in flight). */
size_t	 store_durable_pending(const struct store *);
/* Like store_query, but only during set-up. */
int	 store_query_setup(struct store *, const char *sql, int nparams,
	    const char *const *params, store_result_cb, void *arg);
/* A script of several statements without parameters (migrations only). */
int	 store_script_setup(struct store *, const char *sql, store_result_cb, void *arg);
void	 store_setup_done(struct store *);
/* Drops the connection (set-up failed) and reconnects after the backoff. */
void	 store_reset(struct store *, const char *why);

/* Helpers for callbacks (store_result.c). */
int	 store_ok(const PGresult *res);		/* tuples or command ok */
const char *store_error(const PGresult *res);	/* one line, never NULL */
/*
 * 1 when res failed for a reason that says nothing about the statement's
 * own data, so that the same statement may succeed later: the server
 * short of resources (class 53: disk full, out of memory, too many
 * connections), shutting down or restarting (57P01-57P05), a system error
 * (class 58: I/O), a serialization failure or a deadlock (40001, 40P01),
 * the connection (class 08), a database turned read-only (25006: a
 * failover onto a standby, default_transaction_read_only). A write that fails so is held and tried again
 * after a pause, as one whose connection was lost; any other error is the
 * statement's (a constraint its data breaks). 0 for success and for NULL.
 */
int	 store_error_transient(const PGresult *res);
/* libpq's message on one line (in a static buffer: copy it to keep it). */
char	*store_one_line(const char *msg);

#endif

/*
 * h_smpp.h: what the SMPP integration tests (test_smpp*.c) share
 * (h_smpp.c): one gateway g with a [smpp carrier] bind to the simulated
 * SMSC smsc, the fixtures that start and stop them, and helpers.
 */
#ifndef PIGEON_H_SMPP_H
#define PIGEON_H_SMPP_H

#include <jansson.h>

#include "harness.h"

#define WAIT_MS	60000
#define TOKEN	"smpp-token-0123456789abcdef0123456789"

extern struct h_gateway g;
extern struct h_smsc smsc;
extern char *section;		/* g's [smpp] sections */
extern const char *pigeon_conf;	/* g's [pigeon] lines */
extern int nmodems;		/* simulated modems beside the bind (setup_bank) */
extern const char *smsc_args;	/* the simulator's options */
extern struct h_gateway g2;	/* a second host (setup_account_hosts) */
extern char *section2;

/* A gateway named name with one [smpp carrier] bind of that window; bind:
 * its `bind` line, or "". */
void	 setup_window(const char *name, int window, const char *bind);
void	 setup_bind(const char *name, const char *bind);
void	 setup(void);
void	 teardown(void);

#define TEXT(from, text) ck_assert_int_eq(h_smsc_deliver(&smsc, (from), (text), NULL), 0)
#define TEXT_OPTS(from, text, opts) \
	ck_assert_int_eq(h_smsc_deliver(&smsc, (from), (text), (opts)), 0)
#define GETS(to, needle) ck_assert_msg(h_smsc_wait_received(&smsc, (to), (needle), \
	WAIT_MS) == 0, "%s never received \"%s\"; got:\n%s", (to), (needle), \
	h_smsc_received(&smsc, (to)))

/* The SMSC has no MO left unanswered (h_wait_for). */
int	 mo_answered(void *);
/* Nothing left: every MO answered (so committed), nothing due to send. */
void	 settle(void);
/* Lines the SMSC sent `to` that contain needle. */
int	 count_of(const char *to, const char *needle);
/* The id of the outbox row to `to` whose text is text; 0 if none. */
long	 outbox_id(const char *to, const char *text);
/* The message ids the SMSC gave the parts of outbox row id. */
json_t	*message_ids(long id);
/* GET /api/messages/ID, parsed. */
json_t	*api_message(long id);
/* GET /api/messages/ID says state. */
void	 assert_api_state(long id, const char *state);
/* A message to `to` through the API: its outbox id once sent. */
long	 api_send(const char *to, const char *text);
/* Fields of the carrier's row of GET /api/modems, joined by '|' (malloc;
 * NULL when there is no such row; a missing field is ""). */
char	*carrier_fields(const char *const *keys, size_t nkeys);
/* A counter of the carrier's row of GET /api/modems; -1 without one. */
long long carrier_counter(const char *name);
/* Lets the gateway's database take new connections again (or not). */
void	 allow_connections(int yes);

#endif

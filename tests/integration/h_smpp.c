/*
 * h_smpp.c: what the SMPP integration tests (test_smpp*.c) share: the
 * gateway with one [smpp carrier] bind to the simulated SMSC and its
 * fixtures, and small helpers several of them use.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <jansson.h>

#include "harness.h"
#include "h_smpp.h"

struct h_gateway g;
struct h_smsc smsc;
char *section;
const char *pigeon_conf =
    "timezone = UTC\npost_max = 160\nfanout_parts_gsm = 2\n";

int nmodems;	/* simulated modems beside the bind (setup_bank) */
const char *smsc_args = "--ids hex";	/* the simulator's options */

/* A gateway named name with one [smpp carrier] bind of that window; bind:
 * its `bind` line, or "". */
void
setup_window(const char *name, int window, const char *bind)
{
	char extra[256], sname[64];

	memset(&g, 0, sizeof(g));
	memset(&smsc, 0, sizeof(smsc));
	snprintf(sname, sizeof(sname), "%s-smsc", name);
	h_smsc_start(&smsc, sname, smsc_args);
	snprintf(extra, sizeof(extra), "source_ton = 3\nsource_npi = 0\n"
	    "window = %d\nhealth_seconds = 1\n%s", window, bind);
	section = h_smsc_section(&smsc, "carrier", extra);
	g.smpp_extra = section;
	g.nsmpp = 1;
	g.extra_config = (char *)pigeon_conf;
	g.http_extra = "token = " TOKEN "\n";
	h_gateway_start(&g, name, nmodems);
}

void
setup_bind(const char *name, const char *bind)
{
	setup_window(name, 10, bind);
}

void
setup(void)
{
	setup_bind("smpp_e2e", "");
}

struct h_gateway g2;	/* a second host (setup_account_hosts) */
char *section2;

void
teardown(void)
{
	if (g2.smpp_extra != NULL) {
		h_gateway_stop(&g2);
		free(section2);
		section2 = NULL;
		memset(&g2, 0, sizeof(g2));
	}
	h_gateway_stop(&g);
	h_smsc_stop(&smsc);
	free(section);
}

int
mo_answered(void *arg)
{
	json_t *st = h_smsc_ctl(&smsc, "{\"cmd\":\"status\"}");
	int done = json_integer_value(json_object_get(st, "pending_mo")) == 0;

	(void)arg;
	json_decref(st);
	if (!done)
		h_sleep_ms(50);
	return done;
}

/* Nothing left: every MO answered (so committed), nothing due to send. */
void
settle(void)
{
	ck_assert_msg(h_wait_for(mo_answered, NULL, WAIT_MS) == 0,
	    "the SMSC still has MO messages unanswered");
	ck_assert_int_eq(h_gateway_settle(&g, WAIT_MS), 0);
}

int
count_of(const char *to, const char *needle)
{
	char *all = h_smsc_received(&smsc, to);
	int n = h_count_lines(all, needle);

	free(all);
	return n;
}

/* The id of the outbox row to `to` whose text is text; 0 if none. */
long
outbox_id(const char *to, const char *text)
{
	const char *params[] = { to, text };
	return h_db_long(g.db, "SELECT coalesce(max(id), 0) FROM outbox "
	    "WHERE recipient = $1 AND text = $2", 2, params);
}

/* The message ids the SMSC gave the parts of outbox row id. */
json_t *
message_ids(long id)
{
	char sid[32];
	const char *params[] = { sid };

	snprintf(sid, sizeof(sid), "%ld", id);
	char *v = h_db_value(g.db, "SELECT coalesce(json_agg(message_id ORDER BY seq), "
	    "'[]') FROM outbox_parts WHERE outbox_id = $1::bigint", 1, params);
	json_t *a = json_loads(v ? v : "[]", 0, NULL);
	free(v);
	return a;
}

/* GET /api/messages/ID, parsed. */
json_t *
api_message(long id)
{
	char path[64], *body = NULL;
	json_t *m;

	snprintf(path, sizeof(path), "/api/messages/%ld", id);
	ck_assert_int_eq(h_http(g.http_port, "GET", path, TOKEN, NULL, &body), 200);
	m = json_loads(body, 0, NULL);
	ck_assert_msg(m != NULL, "GET %s: %s", path, body);
	free(body);
	return m;
}

void
assert_api_state(long id, const char *state)
{
	json_t *m = api_message(id);

	ck_assert_str_eq(json_string_value(json_object_get(m, "state")), state);
	json_decref(m);
}

/* A message to `to` through the API: its outbox id once sent. */
long
api_send(const char *to, const char *text)
{
	char body[512], *resp = NULL;
	long id = 0;

	snprintf(body, sizeof(body), "{\"to\":\"%s\",\"text\":\"%s\"}", to, text);
	ck_assert_int_eq(h_http(g.http_port, "POST", "/api/messages", TOKEN, body, &resp), 202);
	free(resp);
	for (int i = 0; i < 200 && id == 0; i++) {
		if ((id = outbox_id(to, text)) == 0)
			h_sleep_ms(50);
	}
	ck_assert_int_gt(id, 0);
	h_wait_outbox(&g, id, "sent", WAIT_MS);
	return id;
}

/* Fields of the carrier's row of GET /api/modems, joined by '|' (malloc;
 * NULL when there is no such row; a missing field is ""). */
char *
carrier_fields(const char *const *keys, size_t nkeys)
{
	char *body = NULL, *out = NULL;
	json_t *all, *m;
	size_t i, k;

	if (h_http(g.http_port, "GET", "/api/modems", TOKEN, NULL, &body) == 200 &&
	    (all = json_loads(body, 0, NULL)) != NULL) {
		json_array_foreach(json_object_get(all, "modems"), i, m) {
			if (strcmp(json_string_value(json_object_get(m, "name")),
			    "carrier") != 0)
				continue;
			for (k = 0; k < nkeys; k++) {
				const char *v = json_string_value(json_object_get(m, keys[k]));
				char *prev = out;
				out = h_strf("%s%s%s", prev ? prev : "", k ? "|" : "", v ? v : "");
				free(prev);
			}
		}
		json_decref(all);
	}
	free(body);
	return out;
}

/* A counter of the carrier's row of GET /api/modems; -1 without one. */
long long
carrier_counter(const char *name)
{
	char *body = NULL;
	json_t *all, *m, *v;
	size_t i;
	long long n = -1;

	if (h_http(g.http_port, "GET", "/api/modems", TOKEN, NULL, &body) == 200 &&
	    (all = json_loads(body, 0, NULL)) != NULL) {
		json_array_foreach(json_object_get(all, "modems"), i, m)
			if (strcmp(json_string_value(json_object_get(m, "name")),
			    "carrier") == 0 && json_is_integer(v = json_object_get(m, name)))
				n = json_integer_value(v);
		json_decref(all);
	}
	free(body);
	return n;
}

/* Lets the gateway's database take new connections again (or not). */
void
allow_connections(int yes)
{
	const char *params[] = { yes ? "true" : "false" };

	ck_assert_int_eq(h_db_long(g.db, "WITH d AS (UPDATE pg_database SET "
	    "datallowconn = $1::boolean WHERE datname = current_database() "
	    "RETURNING 1) SELECT count(*) FROM d", 1, params), 1);
}

/*
 * send.c: the `send` message. Its fields are checked here, the SMS is sent
 * by gsmsend.c, and every `send` with an integer id gets one answer: `sent`
 * with each part's reference, or `send_failed` saying whether trying again
 * may help (outcome.c) and which parts went out already.
 */
#include <stdio.h>
#include <string.h>

#include <gammu-error.h>
#include <jansson.h>

#include "log.h"
#include "worker.h"

static void
send_failed_emit(struct worker *w, long long id, const struct send_result *r)
{
	json_t *m = channel_msg_new("send_failed"), *refs = json_array();

	json_object_set_new(m, "id", json_integer(id));
	json_object_set_new(m, "code", json_integer(r->code));
	json_object_set_new(m, "error", channel_str_new(r->error));
	json_object_set_new(m, "temporary", json_boolean(r->temporary));
	json_object_set_new(m, "parts", json_integer(r->parts));
	json_object_set_new(m, "parts_sent", json_integer(r->parts_sent));
	for (int i = 0; i < r->parts_sent; i++)
		json_array_append_new(refs, json_integer(r->refs[i]));
	json_object_set_new(m, "refs", refs);
	if (r->cms != -2)
		json_object_set_new(m, "cms", json_integer(r->cms));
	log_warnx("send %lld failed (%s): %s", id,
	    r->temporary ? "temporary" : "permanent", r->error);
	channel_emit(w, m);
}

void
send_refuse(struct worker *w, long long id, int code, int temporary, const char *error)
{
	struct send_result r;

	memset(&r, 0, sizeof(r));
	r.code = code;
	r.cms = -2;
	r.temporary = temporary;
	snprintf(r.error, sizeof(r.error), "%s", error);
	send_failed_emit(w, id, &r);
}

void
send_handle(struct worker *w, json_t *msg)
{
	struct send_result r;
	const char *to, *text;
	json_t *report = json_object_get(msg, "report");
	long long id;

	if (channel_int_get(msg, "id", &id) == -1) {
		log_warnx("send without an integer id; ignored");
		return;
	}
	to = channel_str_get(msg, "to");
	text = channel_str_get(msg, "text");
	if (to == NULL || text == NULL) {
		send_refuse(w, id, ERR_INVALIDDATA, 0, to == NULL ?
		    "missing or invalid \"to\"" : "missing or invalid \"text\"");
		return;
	}
	if (!w->configured || w->gsm == NULL) {
		send_refuse(w, id, ERR_NOTCONNECTED, 1, "modem not connected yet");
		return;
	}
	long long max_parts = 0;
	if (channel_int_get(msg, "max_parts", &max_parts) == -1 || max_parts < 0)
		max_parts = 0;	/* absent or bad: no cap but the worker's */
	long long validity = 0;
	if (channel_int_get(msg, "validity", &validity) == -1 || validity < 0)
		validity = 0;
	gsm_send_options(w->gsm, json_is_true(json_object_get(msg, "flash")),
	    (int)(validity > 63 * 7 * 86400 ? 63 * 7 * 86400 : validity));
	gsm_send(w->gsm, to, text, json_is_true(report),
	    (int)(max_parts > WORKER_MAX_PARTS ? WORKER_MAX_PARTS : max_parts),
	    channel_str_get(msg, "more"), &r);
	if (!r.ok) {
		send_failed_emit(w, id, &r);
		return;
	}
	json_t *m = channel_msg_new("sent"), *refs = json_array();
	json_object_set_new(m, "id", json_integer(id));
	json_object_set_new(m, "parts", json_integer(r.parts));
	for (int i = 0; i < r.parts; i++)
		json_array_append_new(refs, json_integer(r.refs[i]));
	json_object_set_new(m, "refs", refs);
	log_debug("send %lld: %d part(s) sent", id, r.parts);
	channel_emit(w, m);
}

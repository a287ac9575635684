/*
 * listing.c: the SMS stored on the modem. A listing reads every location
 * and reports (`sms`) those not yet reported with the same content
 * (seen.c), so that an SMS is reported once however often it is listed;
 * pigeond deletes what it stored (`delete`), and a location deleted is
 * forgotten. A listing that fails says `error` once per change of error,
 * and one that fails on a link error POLL_FAILS_FATAL times in a row ends
 * the worker: the modem is gone, and pigeond restarts it. So does a
 * listing that the modem cuts short by listing a location twice, when it
 * happens POLL_FAILS_FATAL times in a row with nothing read or deleted
 * meanwhile: the SMS after that location would never be read, and the
 * modem would look well.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gammu-error.h>
#include <jansson.h>

#include "fnv.h"
#include "log.h"
#include "worker.h"

#define POLL_FAILS_FATAL	3	/* link errors in a row before giving up */
/*
 * While pigeond is still deleting what the last listing reported, a new
 * listing would only re-read those SMS (the dummy driver opens every file,
 * an AT modem sends them all again): wait for the deletes, as long as one
 * came in the last DEFER_IDLE_MS and no longer than DEFER_MAX_MS in all.
 */
#define DEFER_IDLE_MS		1000
#define DEFER_MAX_MS		10000


static uint64_t
listing_parts_hash(const struct sms_part *parts, int n)
{
	uint64_t h = FNV_OFFSET;

	for (int i = 0; i < n; i++) {
		const struct sms_part *p = &parts[i];
		int nums[6] = { p->udh, p->udh_ref, p->udh_total, p->udh_seq,
		    p->status_report, p->msg_ref };
		h = fnv(h, p->sender, strlen(p->sender) + 1);
		h = fnv(h, p->time, strlen(p->time) + 1);
		h = fnv(h, p->coding, strlen(p->coding) + 1);
		h = fnv(h, p->text, strlen(p->text) + 1);
		h = fnv(h, nums, sizeof(nums));
	}
	return h;
}

static void
listing_sms_emit(struct worker *w, const struct sms_part *p)
{
	json_t *m = channel_msg_new("sms");

	json_object_set_new(m, "folder", json_integer(p->folder));
	json_object_set_new(m, "location", json_integer(p->location));
	json_object_set_new(m, "sender", channel_str_new(p->sender));
	json_object_set_new(m, "smsc", channel_str_new(p->smsc));
	json_object_set_new(m, "time", p->time[0] != '\0' ?
	    json_string(p->time) : json_null());
	json_object_set_new(m, "coding", json_string(p->coding));
	json_object_set_new(m, "text", channel_str_new(p->text));
	json_object_set_new(m, "class", json_integer(p->cls));
	if (p->sender_toa >= 0)
		json_object_set_new(m, "sender_toa", json_integer(p->sender_toa));
	if (p->error != NULL)
		json_object_set_new(m, "error", json_string(p->error));
	if (p->time[0] == '\0' && !p->status_report) {
		/* No time stamp to tell two identical SMS apart: this read. */
		char id[40];
		snprintf(id, sizeof(id), "%s-%u", w->run_id, w->poll_gen);
		json_object_set_new(m, "read_id", json_string(id));
	}
	if (p->udh)
		json_object_set_new(m, "udh", json_pack("{s:i,s:i,s:i}",
		    "ref", p->udh_ref, "total", p->udh_total, "seq", p->udh_seq));
	if (p->status_report) {
		json_object_set_new(m, "status_report", json_true());
		json_object_set_new(m, "ref", json_integer(p->msg_ref));
		json_object_set_new(m, "delivery_status",
		    json_integer(p->delivery_status));
		json_object_set_new(m, "discharge_time",
		    p->discharge_time[0] != '\0' ?
		    json_string(p->discharge_time) : json_null());
	}
	channel_emit(w, m);
}

/* gsm_list_step callback (arg: the worker): report a location unless
 * reported with this content. */
static void
listing_location_report(const struct sms_part *parts, int n, void *arg)
{
	struct worker *w = arg;
	uint64_t h = listing_parts_hash(parts, n);
	int folder = parts[0].folder, location = parts[0].location;

	w->listed++;
	if (seen_has(w->seen, folder, location, h, w->poll_gen))
		return;
	w->reported++;
	log_debug("SMS at folder %d location %d from %s (%d part(s))",
	    folder, location, parts[0].sender, n);
	for (int i = 0; i < n; i++)
		listing_sms_emit(w, &parts[i]);
	seen_put(w->seen, folder, location, h, w->poll_gen, n);
}

int
listing_deferred(struct worker *w, long last_poll)
{
	long t = worker_now_ms();

	return seen_count(w->seen) > 0 && t - w->last_progress < DEFER_IDLE_MS &&
	    t - last_poll < DEFER_MAX_MS;
}

/*
 * The modem listed a location twice: the listing ended there, with what
 * it read (reported, and their deletes may run). Nothing is pruned (what
 * came after is not gone). It makes progress while it reads new SMS or
 * pigeond deletes some (the location listed twice among them, often):
 * the next listing then gets further. Without either, POLL_FAILS_FATAL
 * times in a row, the worker ends for pigeond to restart it (a modem
 * reconnected may list its SMS right), rather than stay online reading
 * nothing.
 */
static void
listing_cut_short(struct worker *w)
{
	int folder, location = gsm_list_repeated(w->gsm, &folder);
	char why[160];

	snprintf(why, sizeof(why), "the modem listed folder %d location %d "
	    "twice: the SMS after it in its list are not read", folder, location);
	if (w->poll_last_err != ERR_BUG)
		channel_error_emit(w, "poll", ERR_BUG, why);
	w->poll_last_err = ERR_BUG;
	if (w->reported > 0 || w->deleted != w->deleted_then)
		w->poll_fails = 0;
	else
		w->poll_fails++;
	w->deleted_then = w->deleted;
	if (w->poll_fails >= POLL_FAILS_FATAL) {
		log_warnx("%d listings in a row cut short at the same place, "
		    "nothing read or deleted; exiting", w->poll_fails);
		channel_error_emit(w, "fatal", ERR_BUG, why);
		worker_exit(w, 1);
	}
}

void
listing_run(struct worker *w)
{
	int err = ERR_NONE, done = 0;
	long t0 = worker_now_ms();

	gsm_idle(w->gsm);
	/*
	 * An SMS announced by now is stored before this listing reads the
	 * modem: it is in it. An announcement read from here on (inside a
	 * step, or a send served between two) may be of an SMS stored after
	 * its location was read: the worker lists again (worker.c).
	 */
	health_sms_waiting();
	w->poll_gen++;
	w->listed = w->reported = 0;
	gsm_list_begin(w->gsm);
	w->listing = 1;
	while (!w->quit) {
		err = gsm_list_step(w->gsm, listing_location_report, w, &done);
		if (err != ERR_NONE || done)
			break;
		/* Sends and pings that came meanwhile, without waiting. */
		worker_serve(w, 0);
	}
	w->listing = 0;
	log_debug("listing: %d location(s), %d new, %ld ms, %zu delete(s) held",
	    w->listed, w->reported, worker_now_ms() - t0, w->nheld - w->held_head);
	if (err == ERR_NONE && !done)
		return;		/* stopped by a signal: prune nothing */
	if (err == ERR_NONE && done == GSM_LIST_REPEAT) {
		listing_cut_short(w);
		return;
	}
	w->deleted_then = w->deleted;
	if (err == ERR_NONE) {
		seen_prune(w->seen, w->poll_gen);
		if (w->poll_last_err != ERR_NONE)
			log_info("listing SMS works again");
		w->poll_fails = 0;
		w->poll_last_err = ERR_NONE;
		return;
	}
	/* One `error` per change of error, not one per poll. */
	if (err != w->poll_last_err) {
		log_warnx("listing SMS: %s", gsm_strerror(err));
		channel_error_emit(w, "poll", err, gsm_strerror(err));
	}
	w->poll_last_err = err;
	if (!outcome_link_error(err)) {
		w->poll_fails = 0;
		return;
	}
	if (++w->poll_fails >= POLL_FAILS_FATAL) {
		log_warnx("modem not answering (%d failed listings); exiting",
		    w->poll_fails);
		channel_error_emit(w, "fatal", err, gsm_strerror(err));
		worker_exit(w, 1);
	}
}

/*
 * One location can hold several parts (a dummy driver's SMS-backup file
 * with several sections), each reported as its own `sms`, and pigeond
 * sends a `delete` for each once it stored it, not always in one batch.
 * Deleting the location at the first removed parts pigeond had not stored
 * yet: lost if it stopped before storing them. The location goes with the
 * last part's `delete`; the others are answered `deleted` at once, with
 * `held` set.
 */
static void
listing_delete_now(struct worker *w, int folder, int location)
{
	json_t *m;
	int err;

	if (w->gsm != NULL && w->configured &&
	    seen_part_deleted(w->seen, folder, location) > 0) {
		m = channel_msg_new("deleted");
		json_object_set_new(m, "folder", json_integer(folder));
		json_object_set_new(m, "location", json_integer(location));
		json_object_set_new(m, "held", json_true());
		channel_emit(w, m);
		return;
	}
	err = w->gsm != NULL && w->configured ?
	    gsm_delete(w->gsm, folder, location) : ERR_NOTCONNECTED;
	if (err == ERR_NONE) {
		seen_del(w->seen, folder, location);
		w->deleted++;
		w->last_progress = worker_now_ms();
		m = channel_msg_new("deleted");
	} else {
		log_warnx("delete folder %d location %d: %s", folder,
		    location, gsm_strerror(err));
		m = channel_msg_new("delete_failed");
		json_object_set_new(m, "code", json_integer(err));
		json_object_set_new(m, "error", json_string(gsm_strerror(err)));
	}
	json_object_set_new(m, "folder", json_integer(folder));
	json_object_set_new(m, "location", json_integer(location));
	channel_emit(w, m);
}

/*
 * Deletes are the worker's least urgent work: they are queued and run a
 * few at a time, the channel read between, so a `send` does not wait
 * behind the hundreds of deletes a stored batch brings. During a listing
 * (the worker serves pigeond between two reads) they wait for its end: an
 * AT listing is read from the modem's answer to one command, so a location
 * deleted meanwhile could still come later in it and be reported twice.
 */
void
listing_delete_queue(struct worker *w, json_t *msg)
{
	long long folder, location;

	if (channel_int_get(msg, "folder", &folder) == -1 ||
	    channel_int_get(msg, "location", &location) == -1 ||
	    folder < 0 || folder > 1000000 || location < 0 ||
	    location > 1000000000) {
		log_warnx("delete without integer folder and location; ignored");
		return;
	}
	if (!w->configured || w->gsm == NULL) {
		listing_delete_now(w, (int)folder, (int)location);	/* fails at once */
		return;
	}
	if (w->held_head > 0 && w->nheld == w->held_cap) {
		memmove(w->held, w->held + w->held_head,
		    (w->nheld - w->held_head) * sizeof(*w->held));
		w->nheld -= w->held_head;
		w->held_head = 0;
	}
	if (w->nheld == w->held_cap) {
		size_t ncap = w->held_cap ? w->held_cap * 2 : 256;
		void *n = realloc(w->held, ncap * sizeof(*w->held));
		if (n == NULL)
			fatal("realloc");
		w->held = n;
		w->held_cap = ncap;
	}
	w->held[w->nheld].folder = (int)folder;
	w->held[w->nheld].location = (int)location;
	w->nheld++;
}

int
listing_deletes_run(struct worker *w, size_t max)
{
	for (; max > 0 && w->held_head < w->nheld && !w->listing; max--, w->held_head++)
		listing_delete_now(w, w->held[w->held_head].folder,
		    w->held[w->held_head].location);
	if (w->held_head == w->nheld)
		w->held_head = w->nheld = 0;
	return w->held_head < w->nheld;
}

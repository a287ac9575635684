/*
 * worker.h: pigeon-modem, the process that owns one libgammu state machine
 * and speaks the line-delimited JSON protocol of docs/modem-protocol.md on
 * file descriptor 3.
 *
 * worker.c is the process (start, main loop, connecting, the messages
 * pigeond sends), channel.c the channel's JSON lines, listing.c the stored
 * SMS (listing them, reporting each once, deleting them), send.c `send`,
 * pin.c the SIM's PIN; gsm.c the libgammu side (connect, identify, list,
 * delete) and gsmsend.c its sends, outcome.c what a failure means
 * (temporary, permanent, modem gone), seen.c the set of SMS locations
 * already reported, utf8.c strict UTF-8 checks, udh.c a user data
 * header's elements.
 */
#ifndef PIGEON_WORKER_H
#define PIGEON_WORKER_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

#define WORKER_MAX_PARTS	PROTO_MAX_PARTS	/* longest message `send` accepts */
#define WORKER_SEND_WAIT_MS	30000	/* wait for the network's verdict on a part;
					 * config's send_wait_ms overrides it */

/* The `config` message: gammurc keys of the modem section. */
struct gsm_config {
	char	 name[64];
	char	*device;
	char	*connection;
	char	*model;
	char	*logfile;
	char	*logformat;
	char	*smsc;		/* "" = the SIM's, read once with GSM_GetSMSC */
	int	 poll_ms;
	int	 health_ms;	/* how often `health` is sent; 0 = never */
	int	 send_wait_ms;	/* wait for the network's verdict on a part */
};

/* What `ready` carries; "" where the modem did not say. */
struct gsm_ident {
	char	manufacturer[64];
	char	model[64];
	char	firmware[256];
	char	imei[64];
	char	imsi[64];
};

/* One stored SMS part, converted to what the `sms` event carries. */
struct sms_part {
	int	 folder;
	int	 location;
	char	 sender[4 * 201];
	char	 smsc[4 * 201];
	char	 time[40];		/* ISO 8601 with offset; "" = none */
	const char *coding;		/* "gsm", "ucs2", "8bit", "corrupt" */
	char	 text[4 * 651 + 1];	/* UTF-8, or hex for 8bit and the
					 * stored PDU of a corrupt one */
	int	 cls;			/* message class, -1 = none */
	int	 udh;			/* part of a concatenated message */
	int	 udh_ref, udh_total, udh_seq;
	int	 status_report;
	int	 msg_ref;		/* status report: reference of the sent part */
	int	 delivery_status;	/* status report: TP-Status */
	char	 discharge_time[40];	/* status report: TP-DT */
	int	 sender_toa;		/* type of address, -1 = the driver did not say */
	const char *error;		/* coding "corrupt": why libgammu refused it */
};

/* Outcome of a `send`. */
struct send_result {
	int	 ok;
	int	 parts;			/* parts of the encoded message, 0 if not encoded */
	int	 parts_sent;
	int	 refs[WORKER_MAX_PARTS];
	int	 code;			/* GSM_Error of the failure */
	int	 cms;			/* modem/network error number, -2 = none */
	int	 temporary;
	char	 error[256];
};

struct gsm;
struct seen;
struct json_t;		/* jansson's, declared loosely to keep this header free of it */

/*
 * The worker's state: one instance, worker.c's, which each file below is
 * given. A group's fields are kept by the file named above it; worker.c's
 * loop also paces listings with poll_last_err and last_progress.
 */
struct worker {
	/* worker.c */
	struct gsm_config cfg;
	int		 configured;	/* `config` received */
	struct gsm	*gsm;		/* NULL until connecting */
	char		 progname[96];	/* what log lines start with */
	/*
	 * This process's run, for the dedupe key of an SMS without a network
	 * time stamp (docs/modem-protocol.md, "read_id"): random, so that no
	 * two runs of any worker share one, even across pigeond restarts.
	 */
	char		 run_id[17];
	volatile sig_atomic_t quit;	/* SIGTERM came: leave the loop */

	/* channel.c */
	struct linebuf	 lb;		/* what pigeond wrote, not yet handled */

	/* listing.c */
	struct seen	*seen;
	unsigned	 poll_gen;	/* counts listings, for seen_prune */
	int		 poll_fails;	/* link errors in a row */
	int		 poll_last_err;	/* GSM_Error of the last listing */
	long		 last_progress;	/* last listing or delete, for deferring */
	int		 listing;	/* a listing is under way */
	int		 listed, reported;	/* this listing's locations */
	unsigned	 deleted;	/* locations deleted, ever */
	unsigned	 deleted_then;	/* ... as the last listing ended */
	struct { int folder, location; } *held;	/* deletes queued */
	size_t		 held_head, nheld, held_cap;

	/* pin.c: pigeond's answer to pin_needed: the PIN, or none and why. */
	int		 pin_answered;
	char		 pin_given[16], pin_why[256];
};

/* worker.c */
/* The worker's end: frees what it holds and exits with code. */
void	 worker_exit(struct worker *, int code) __attribute__((noreturn));
/* Monotonic milliseconds. */
long	 worker_now_ms(void);
/* Reads what pigeond wrote within timeout_ms (-1: forever, 0: no wait) and
 * handles every complete line: what listing and PIN waits call between
 * their steps so that sends and pings are not kept waiting. */
void	 worker_serve(struct worker *, int timeout_ms);

/* channel.c: the JSON lines of docs/modem-protocol.md on PROTO_FD. */
/* Writes one message and releases it; a closed channel ends the worker. */
void	 channel_emit(struct worker *, struct json_t *msg);
/* A new message {"type": type}. */
struct json_t *channel_msg_new(const char *type);
/* A JSON string of possibly invalid UTF-8 from a modem. */
struct json_t *channel_str_new(const char *s);
void	 channel_error_emit(struct worker *, const char *stage, int code,
	    const char *error);
/* A string member without embedded NUL, or NULL. */
const char *channel_str_get(struct json_t *msg, const char *key);
/* An integer member into *out: 0, or -1 if there is none. */
int	 channel_int_get(struct json_t *msg, const char *key, long long *out);
/* A line as JSON, or NULL; invalid UTF-8 is replaced and *bad_utf8 set,
 * so a `send` can still be refused. */
struct json_t *channel_line_parse(const char *line, int *bad_utf8);
/* Waits up to timeout_ms (-1: forever) and reads what PROTO_FD has into
 * the worker's line buffer; a closed channel ends the worker. */
void	 channel_read(struct worker *, int timeout_ms);

/* listing.c: stored SMS, listed and reported once each, then deleted. */
/* Whether the next listing waits for the deletes of the last one. */
int	 listing_deferred(struct worker *, long last_poll);
/* Lists every stored SMS and reports the new ones; the worker exits after
 * too many link errors in a row. */
void	 listing_run(struct worker *);
/* The `delete` message: queued, or failed at once if not connected. */
void	 listing_delete_queue(struct worker *, struct json_t *msg);
/* Runs up to max queued deletes, in their order; 1 if more are left. */
int	 listing_deletes_run(struct worker *, size_t max);

/* send.c */
/* The `send` message: sends, then says `sent` or `send_failed`. */
void	 send_handle(struct worker *, struct json_t *msg);
/* Fails a send that cannot be tried: bad fields, not connected. */
void	 send_refuse(struct worker *, long long id, int code, int temporary,
	    const char *error);

/* Called by gsm_poll once per stored location, with all its parts. */
typedef void (*gsm_sms_cb)(const struct sms_part *parts, int nparts, void *arg);

/* gsm.c */
struct gsm *gsm_new(void);
void	 gsm_free(struct gsm *);
/* Connects; on failure returns the GSM_Error (> ERR_NONE) and fills *errstr. */
int	 gsm_connect(struct gsm *, const struct gsm_config *, const char **errstr);
void	 gsm_identify(struct gsm *, struct gsm_ident *);
/*
 * A listing of every stored SMS of every folder, one location per step:
 * gsm_list_begin, then gsm_list_step until *done or an error (the
 * GSM_Error it returns), calling cb for each location read. *done is
 * GSM_LIST_DONE at the end of the list, GSM_LIST_REPEAT when the modem
 * listed a location a second time (gsm_list_repeated says which): the
 * listing ends there, what came after it in the list unread.
 */
#define GSM_LIST_DONE	1
#define GSM_LIST_REPEAT	2
void	 gsm_list_begin(struct gsm *);
int	 gsm_list_step(struct gsm *, gsm_sms_cb, void *arg, int *done);
/* The location the listing met twice, its folder in *folder; -1: none. */
int	 gsm_list_repeated(struct gsm *, int *folder);
/* Lets the driver read unsolicited data between polls; the read's error. */
int	 gsm_idle(struct gsm *);
/* Returns ERR_NONE when the SMS is gone (also if it already was). */
int	 gsm_delete(struct gsm *, int folder, int location);
void	 gsm_disconnect(struct gsm *);
const char *gsm_strerror(int code);

/* gsmsend.c */
/* Sends text to to; when it needs more than max_parts parts (0: no cap)
 * it is cut and ends with more ("… GET alice"). */
void	 gsm_send(struct gsm *, const char *to, const char *text, int report,
	    int max_parts, const char *more, struct send_result *);
/* The next gsm_send only: flash (class 0) and a validity period in
 * seconds (0: the SMSC's default). */
void	 gsm_send_options(struct gsm *, int flash, int validity_s);

/* gsmpart.c: fills p from sms, a GSM_SMSMessage (declared loosely). */
void	 gsm_part_fill(struct sms_part *p, const void *sms);

/* udh.c: a user data header's IEs, read without libgammu. */
struct udh_info {
	int	 concat;		/* a valid concatenation IE (0x00, 0x08) */
	int	 ref, total, seq;	/* its reference, total and sequence */
	int	 port;			/* destination port of an application
					 * port IE (0x04, 0x05); 0 when its
					 * length is wrong; -1 none */
};
/* Reads udh (UDHL first, as GSM_UDHHeader.Text holds it), never past its
 * len bytes nor past the length it gives itself. */
void	 udh_walk(const unsigned char *udh, size_t len, struct udh_info *);

/* For health.c: the GSM_StateMachine while connected, else NULL. */
void	*gsm_state_machine(struct gsm *);
/* Whether this connection's driver tells a sender's type (TOA). */
int	 gsm_sender_types(struct gsm *);

/* gsmlog.c: facts from libgammu's debug log (see there). */
#define GSMLOG_PDU_MAX	(2 * 200)	/* hex digits of a stored PDU kept */
struct gsmlog;
struct gsmlog *gsmlog_new(const char *logfile);
void	 gsmlog_free(struct gsmlog *);
/* A GSM_Log_Function; arg is the struct gsmlog. */
void	 gsmlog_write(const char *text, void *arg);
/* One whole line of the log (what gsmlog_write calls; for the fuzzer). */
void	 gsmlog_line(struct gsmlog *, const char *line);
/* Forgets what the last GSM_GetNextSMS logged. */
void	 gsmlog_reset(struct gsmlog *);
/* The TOA of the i-th of the n SMS the call returned; -1 unknown. */
int	 gsmlog_toa(const struct gsmlog *, int i, int n);
/* The hex of the stored PDU the call decoded last; "" if none was logged. */
const char *gsmlog_pdu(const struct gsmlog *);
/* ERR_NONE if every length of the stored PDU (hex) adds up; *unsafe set
 * when libgammu's decoder would overflow a buffer on it. */
int	 gsmlog_pdu_check(const char *hex, int *unsafe);
/* fn(arg) is called from inside libgammu when it logged a stored PDU that
 * gsmlog_pdu_check refuses, just before decoding it; fn must not return. */
void	 gsmlog_set_unsafe(struct gsmlog *, void (*fn)(void *), void *arg);
/* Decodes a stored PDU (hex) as the AT driver does, into sms (a
 * GSM_SMSMessage, declared loosely as above); ERR_NONE or why not. */
int	 gsmlog_pdu_decode(const char *hex, void *sms);

/* health.c */
int	 health_notify_init(struct gsm *);
/* 1 once after the modem announced a new SMS. */
int	 health_sms_waiting(void);
struct json_t *health_poll(struct gsm *);

/* pin.c: the SIM's lock, after gsm_connect. */
enum { PIN_READY, PIN_NEEDED, PIN_PUK, PIN_OTHER };
/*
 * ERR_NONE when the SIM is ready (its PIN entered if it asked: it is asked
 * of pigeond with `pin_needed`). Else the GSM_Error and the reason in why;
 * *refused is 1 when the SIM refused the PIN given.
 */
int	 pin_unlock(struct worker *, char *why, size_t whylen, int *refused);
/* The `pin` message: pigeond's answer to `pin_needed`. */
void	 pin_answer(struct worker *, struct json_t *msg);

/* outcome.c */
/* A +CMS ERROR number: temporary or not, and what it says. */
void	 outcome_cms(int code, int *temporary, const char **text);
/* A GSM_Error that failed a send: 1 temporary, 0 permanent. */
int	 outcome_temporary(int code);
/* Whether an error means the modem is gone rather than one request failed. */
int	 outcome_link_error(int code);

/* seen.c: (folder, location) pairs reported, with a hash of their content. */
struct seen;
struct seen *seen_new(void);
void	 seen_free(struct seen *);
/* 1 if this location was reported with this content; marks it current. */
int	 seen_has(struct seen *, int folder, int location, uint64_t hash, unsigned gen);
void	 seen_put(struct seen *, int folder, int location, uint64_t hash, unsigned gen,
	    int parts);
/*
 * pigeond stored one of the location's parts (its `delete`): how many of
 * the parts reported there it has not stored yet. The location is deleted
 * from the modem only at 0 (a location the worker does not know: 0 too).
 */
int	 seen_part_deleted(struct seen *, int folder, int location);
void	 seen_del(struct seen *, int folder, int location);
/* Forgets locations not marked with gen (gone from the modem). */
void	 seen_prune(struct seen *, unsigned gen);
size_t	 seen_count(const struct seen *);

/* utf8.c */
int	 utf8_valid(const char *, size_t);
/* Copies s with each invalid sequence replaced by U+FFFD; malloc'd. */
char	*utf8_sanitize(const char *s, size_t len, size_t *outlen);
/* Number of code points of valid UTF-8. */
size_t	 utf8_count(const char *, size_t);
/* Byte offset of each code point of s, then len: n + 1 entries (malloc). */
size_t	*utf8_offsets(const char *s, size_t len, size_t *n);
/* 1 if s may be cut at byte offset off: not inside a character, and not
 * inside an emoji sequence (joiners, modifiers, flags) or before a mark. */
int	 utf8_cut_ok(const char *s, size_t len, size_t off);

#endif

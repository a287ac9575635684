/*
 * worker.h: pigeon-modem, the process that owns one libgammu state machine
 * and speaks the line-delimited JSON protocol of docs/modem-protocol.md on
 * file descriptor 3.
 *
 * worker.c is the protocol side (main loop, messages, reported-once rule),
 * gsm.c the libgammu side (connect, identify, list, send, delete),
 * outcome.c what a failure means (temporary, permanent, modem gone), seen.c
 * the set of SMS locations already reported, utf8.c strict UTF-8 checks.
 */
#ifndef PIGEON_WORKER_H
#define PIGEON_WORKER_H

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
 * GSM_Error it returns), calling cb for each location read.
 */
void	 gsm_list_begin(struct gsm *);
int	 gsm_list_step(struct gsm *, gsm_sms_cb, void *arg, int *done);
/* Lets the driver read unsolicited data between polls; the read's error. */
int	 gsm_idle(struct gsm *);
/* Sends text to to; when it needs more than max_parts parts (0: no cap)
 * it is cut and ends with more ("… GET alice"). */
void	 gsm_send(struct gsm *, const char *to, const char *text, int report,
	    int max_parts, const char *more, struct send_result *);
/* The next gsm_send only: flash (class 0) and a validity period in
 * seconds (0: the SMSC's default). */
void	 gsm_send_options(struct gsm *, int flash, int validity_s);
/* Returns ERR_NONE when the SMS is gone (also if it already was). */
int	 gsm_delete(struct gsm *, int folder, int location);
void	 gsm_disconnect(struct gsm *);
const char *gsm_strerror(int code);

/* gsmpart.c: fills p from sms, a GSM_SMSMessage (declared loosely). */
void	 gsm_part_fill(struct sms_part *p, const void *sms);

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

/* health.c (returns a jansson json_t *, declared loosely to keep this
 * header free of jansson) */
int	 health_notify_init(struct gsm *);
/* 1 once after the modem announced a new SMS. */
int	 health_sms_waiting(void);
struct json_t;
struct json_t *health_poll(struct gsm *);

/* pin.c: the SIM's lock, after gsm_connect. */
enum { PIN_READY, PIN_NEEDED, PIN_PUK, PIN_OTHER };
/*
 * ERR_NONE when the SIM is ready (its PIN entered if it asked: ask gets
 * it from pigeond, "" when there is none, and returns why). Else the
 * GSM_Error and the reason in why; *refused is 1 when the SIM refused
 * the PIN given.
 */
int	 pin_unlock(struct gsm *, const char *(*ask)(char *pin, size_t len), char *why,
	    size_t whylen, int *refused);

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
void	 seen_put(struct seen *, int folder, int location, uint64_t hash, unsigned gen);
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

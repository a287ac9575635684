/*
 * smpp.h: pigeon-smpp, one process per SMPP bind to a carrier's SMSC,
 * started by pigeond like pigeon-modem and speaking the same channel
 * protocol on file descriptor 3 (docs/modem-protocol.md, "SMPP links").
 *
 * main.c is the channel side (config, send, delete, events), deliver.c
 * what a deliver_sm becomes for pigeond (an MO `sms` or a `report`),
 * link.c the SMPP sessions (connect, bind, enquire_link, deliveries,
 * reconnects), submit.c the submits on them (the window, the rate,
 * throttling, timeouts), acks.c the deliveries waiting for pigeond's
 * commit, pdu.c the PDUs and receipts, text.c the SMS text (libgammu's
 * GSM-7/UCS-2 encoder and splitter, as on modems). This process never
 * includes gateway/ headers.
 *
 * Why not libsmpp34 (Debian's Osmocom PDU packer, 1.14.1): its unpacker
 * refuses a whole PDU whose command_status, TON or NPI is not in its
 * tables (a submit_sm_resp with the vendor status 0x401 unpacks as -1,
 * "Invalid value": carriers answer with 0x400-0x4FF), writes a per-field
 * trace into a fixed global 2048-byte buffer without bounding the total
 * (a deliver_sm with 200 small TLVs made smpp34_unpack write past it and
 * crash, under ASan), reads C strings with strlen on the input, and caps
 * a TLV at 1024 bytes (a 10-part message_payload is up to 1600). The PDUs
 * a bind uses are a dozen fixed layouts: pdu.c reads them with bounds
 * checked at every byte (tests/fuzz/fuzz_smpp.c).
 */
#ifndef PIGEON_SMPP_H
#define PIGEON_SMPP_H

#include <stddef.h>
#include <stdint.h>

/* command_id values (SMPP 3.4, 5.1.2.1) */
#define SMPP_GENERIC_NACK		0x80000000u
#define SMPP_BIND_RECEIVER		0x00000001u
#define SMPP_BIND_TRANSMITTER		0x00000002u
#define SMPP_SUBMIT_SM			0x00000004u
#define SMPP_DELIVER_SM			0x00000005u
#define SMPP_UNBIND			0x00000006u
#define SMPP_BIND_TRANSCEIVER		0x00000009u
#define SMPP_ENQUIRE_LINK		0x00000015u
#define SMPP_ALERT_NOTIFICATION		0x00000102u
#define SMPP_DATA_SM			0x00000103u
#define SMPP_RESP			0x80000000u

/* command_status values the worker acts on */
#define ESME_ROK		0x00
#define ESME_RINVCMDLEN		0x02
#define ESME_RINVCMDID		0x03
#define ESME_RINVBNDSTS		0x04
#define ESME_RSYSERR		0x08
#define ESME_RMSGQFUL		0x14
#define ESME_RTHROTTLED		0x58
/* ESME Receiver Temporary App Error: the answer to a deliver_sm the worker
 * could not have committed (acks.c), so that the SMSC delivers it again. */
#define ESME_RX_T_APPN		0x64

/* TLV tags */
#define TLV_DEST_ADDR_SUBUNIT		0x0005
#define TLV_RECEIPTED_MESSAGE_ID	0x001e
#define TLV_SAR_MSG_REF_NUM		0x020c
#define TLV_SAR_TOTAL_SEGMENTS		0x020e
#define TLV_SAR_SEGMENT_SEQNUM		0x020f
#define TLV_MESSAGE_PAYLOAD		0x0424
#define TLV_MESSAGE_STATE		0x0427

#define SMPP_HEADER_LEN		16
#define SMPP_MAX_PDU		65536	/* longer command_length: protocol error */
/* A message id with its NUL: 65 octets, 64 characters (SMPP 3.4, 5.2.23).
 * Longer ones, which some SMSCs send, are cut to 64 wherever they come
 * (submit_sm_resp, a receipt's text, receipted_message_id), so that the
 * two sides still meet; pigeond takes ids and keys of at most 64. */
#define SMPP_ID_SIZE		65
#define SMPP_MAX_PARTS		10	/* as pigeon-modem */

/* A PDU being written: grows as needed. */
struct pdu_out {
	uint8_t	*buf;
	size_t	 len, cap;
};

/* What the worker reads out of a deliver_sm, or a data_sm (the same
 * fields but the ones data_sm lacks; its text in message_payload). */
struct deliver {
	int	 data_sm;		/* came as data_sm: data_sm_resp */
	char	 source[22];
	uint8_t	 source_ton, source_npi;
	char	 dest[22];
	uint8_t	 esm_class;
	uint8_t	 data_coding;
	const uint8_t *sm;		/* short_message, or message_payload */
	size_t	 sm_len;
	int	 has_sar;
	unsigned sar_ref, sar_total, sar_seq;
	char	 receipted_id[SMPP_ID_SIZE];	/* TLV; "" = none */
	int	 message_state;		/* TLV; -1 = none */
	size_t	 bad_tail;		/* bytes of the optional part that
					 * could not be read, ignored */
};

/* A delivery receipt's text (SMPP 3.4 appendix B, as carriers write it). */
struct receipt {
	char	 id[SMPP_ID_SIZE];
	char	 stat[16];	/* DELIVRD, UNDELIV, EXPIRED, ... (DELIVERED) */
	char	 err[8];
	char	 submit_date[16];
	char	 done_date[16];
	int	 sub, dlvrd;	/* -1 = absent */
};

/* pdu.c */
void	 pdu_out_init(struct pdu_out *);
void	 pdu_out_free(struct pdu_out *);
/* Starts a PDU (header with a length to fill in by pdu_out_end). */
void	 pdu_begin(struct pdu_out *, uint32_t command_id, uint32_t status,
	    uint32_t seq);
void	 pdu_u8(struct pdu_out *, uint8_t);
void	 pdu_u16(struct pdu_out *, uint16_t);
void	 pdu_cstr(struct pdu_out *, const char *, size_t max);
void	 pdu_bytes(struct pdu_out *, const void *, size_t);
void	 pdu_tlv(struct pdu_out *, uint16_t tag, const void *, size_t);
void	 pdu_end(struct pdu_out *);
uint32_t pdu_get32(const uint8_t *);
/* submit_sm_resp's / bind_resp's cstring after the header, cut to size
 * (without its NUL, up to the PDU's end); 0, or -1 when there is no
 * body. */
int	 pdu_read_cstr_body(const uint8_t *pdu, size_t len, char *out, size_t size);
/* Reads a deliver_sm or a data_sm (by the header's command_id); 0, or
 * -1 when a mandatory field is malformed. An optional part that cannot
 * be read (stray bytes, a TLV running past the PDU) is ignored from
 * there, what came before it kept: d->bad_tail says how many bytes. d
 * points into pdu. */
int	 pdu_deliver_parse(const uint8_t *pdu, size_t len, struct deliver *d);
/*
 * What identifies a deliver_sm across the SMSC's redeliveries (which come
 * with new sequence numbers): a hash of its addresses, coding,
 * concatenation and bytes, the `key` pigeond dedupes on.
 */
uint64_t deliver_hash(const struct deliver *d);
/* Parses a receipt's text; 0, or -1 when it is not one. */
int	 receipt_parse(const char *text, size_t len, struct receipt *);
/*
 * The spellings of one message id to compare a receipt with the id a
 * submit_sm_resp gave: the id itself, and its value in the other base
 * (carriers write hex in one and decimal in the other), each in lower
 * case without leading zeros. Returns how many keys (1-3) were written.
 */
int	 smpp_id_keys(const char *id, char keys[3][SMPP_ID_SIZE]);
/*
 * An id as the SMSC's bytes came (in submit_sm_resp, a receipt's text or
 * receipted_message_id, already cut to 64), made one pigeond takes: kept
 * when it is UTF-8 without control characters, else written "hex:" and
 * its bytes in hex, or, past 64 characters, the first SMPP_ID_HEX_HEAD
 * bytes in hex, '~' and 16 hex digits of a hash of them all (63). The
 * same bytes give the same id wherever they come, so receipts still
 * match. (Each bad byte was U+FFFD, three bytes: past 64, pigeond
 * ignored the sent or the receipt, and the send stayed unsettled.)
 */
#define SMPP_ID_HEX_HEAD	21
void	 smpp_id_clean(char id[SMPP_ID_SIZE]);
/* A command_status: what it means for the message. */
const char *smpp_status_text(uint32_t status);
int	 smpp_status_temporary(uint32_t status);
int	 smpp_status_message(uint32_t status);
int	 smpp_status_link(uint32_t status);
/* Of those, the bind's own (misconfigured: counted toward a restart). */
int	 smpp_status_bind(uint32_t status);
int	 smpp_status_throttle(uint32_t status);
/* message_state (5.2.28) for a receipt's stat word, and back. */
int	 smpp_state_of_stat(const char *stat);
const char *smpp_stat_of_state(int state);

/* text.c */
struct text_parts {
	int	 n;				/* parts */
	int	 ucs2;				/* data_coding 8, else default */
	uint8_t	 body[SMPP_MAX_PARTS][160];	/* user data without UDH */
	size_t	 body_len[SMPP_MAX_PARTS];
	uint8_t	 udh[SMPP_MAX_PARTS][8];	/* concatenation UDH, with UDHL */
	size_t	 udh_len[SMPP_MAX_PARTS];
};
/*
 * Encodes UTF-8 text as pigeon-modem would send it: GSM-7 when it fits,
 * else UCS-2, split into concatenated parts with reference ref; latin1
 * makes data_coding 0 mean Latin-1. max_parts > 0 cuts the text to that
 * many parts ending with more; max_parts_ucs2, when larger, instead when
 * Latin-1 made a GSM-7 text UCS-2. Returns 0, or -1 with *err set.
 */
int	 text_encode(const char *utf8, int max_parts, int max_parts_ucs2,
	    const char *more, int latin1, unsigned ref, struct text_parts *,
	    const char **err);
/*
 * Decodes a deliver_sm's user data (after any UDH) into UTF-8 (malloc'd);
 * *coding is "gsm", "ucs2" or "8bit" (then the text is hex). more: a
 * part of a long SMS that another follows (an escape cut from its
 * character is marked: gsm_mark_cut_escape).
 */
char	*text_decode(const uint8_t *ud, size_t len, uint8_t data_coding,
	    int latin1, int more, const char **coding);
/* UTF-8 checks shared with pigeon-modem (modem/utf8.c, linked as is). */
int	 utf8_valid(const char *, size_t);
char	*utf8_sanitize(const char *s, size_t len, size_t *outlen);
size_t	 utf8_count(const char *, size_t);
size_t	*utf8_offsets(const char *s, size_t len, size_t *n);
int	 utf8_cut_ok(const char *s, size_t len, size_t off);
/* How a text cut to fit ends, as on a modem (modem/gsmtext.c, linked as
 * is): the first n bytes without trailing spaces, then more (malloc). */
char	*gsm_cut_text(const char *text, size_t n, const char *more);
/* A UCS-2 part's lone surrogate at either end as a marker the parts' join
 * pairs again (modem/gsmtext.c, linked as is; its header says how). */
void	 gsm_mark_cut_pair(unsigned char *u, size_t cap);
/* A GSM-7 part's escape cut from its character, likewise. */
void	 gsm_mark_cut_escape(unsigned char *u, size_t cap);


struct link_config;
struct text_parts;
/* to: the recipient as pigeond gives it (+E.164), written as the
 * config's dest_ton asks (pdu_dest). flash: class 0 (shown at once, not
 * stored); validity_s > 0: the network keeps trying that long (relative
 * validity_period). */
void	 pdu_submit(struct pdu_out *, const struct link_config *,
	    const char *to, const struct text_parts *, int i, int report,
	    int flash, int validity_s);
/* The destination_addr of to (+E.164) and its TON: the digits without
 * '+', or with dest_ton 2 a number of the config's country in national
 * form (its trunk 0, then the national number); a number of another
 * country stays international, TON 1. */
int	 pdu_dest(const struct link_config *, const char *to, char *out,
	    size_t size);

/* The `config` message (docs/modem-protocol.md, SMPP links). */
struct link_config {
	char	 name[64];
	char	 host[256];
	char	 port[8];
	char	 system_id[16];
	char	 password[9];
	char	 system_type[13];
	int	 split;			/* transmitter + receiver sessions */
	int	 rx_only, tx_only;	/* a single receiver or transmitter */
	int	 rx_apart;		/* pigeond takes a receiver lost alone
					 * (link: sends, up); else it is the
					 * link's loss, as before */
	char	 source_addr[21];
	int	 source_ton, source_npi, dest_ton, dest_npi;
	char	 country[4];		/* [pigeon] country: TON 2's numbers */
	int	 window;
	double	 rate;			/* submit_sm a second; 0 = no cap */
	int	 enquire_link_s;
	int	 response_timeout_ms;
	int	 registered_delivery;
	int	 latin1;		/* data_coding 0 is Latin-1 at this SMSC */
	int	 payload;		/* long = payload: message_payload TLV */
	int	 health_ms;
	int	 reconnect_max_ms;
	long	 ack_wait_ms;		/* a delivery's wait for pigeond's answer
					 * (0: ACKS_MAX_AGE_MS; shorter only
					 * in tests, main.c) */
};

/* link.c: the sessions of one bind, in the libevent loop of main.c. */
struct event_base;
void	 link_start(struct event_base *, const struct link_config *);
/* pigeond committed the MO message behind handle: answer its deliver_sm
 * (or data_sm). */
int	 link_ack(long long handle, const char **err);
/* pigeond could not store it (`release`): answer it ESME_RX_T_APPN, so
 * that the SMSC delivers it again. */
int	 link_release(long long handle, const char **err);
/* Unbinds every session, then calls main_exit(0). */
void	 link_stop(void);
int	 link_bound(void);
/* Counters for `health`. */
struct link_stats {
	int	 bound;
	int	 window, in_flight, queued;
	double	 rate;			/* the submit rate allowed now */
	long long submitted, answered, throttled, timeouts, reconnects;
	long long mo, receipts;
};
void	 link_stats(struct link_stats *);

/* submit.c: the submits on the session that sends. Queues a message; its
 * outcome comes through main_sent/main_send_failed. */
void	 link_send(long long id, const char *to, const char *text, int report,
	    int max_parts, int max_parts_ucs2, const char *more, int flash,
	    int validity_s);

/* acks.c: deliveries waiting for pigeond's answer. A new one's handle
 * (pigeond's location), for the session (opaque here) and its generation;
 * then, given a handle, what it was recorded with (-1: no such one), and
 * the sequence numbers of its copies (malloc'd, the caller frees; NULL
 * when none). acks_join: 1 when a delivery with that key waits on that
 * session, seq then joined to it as a copy; 0 when none; 2 when it has
 * ACKS_MAX_COPIES copies already (seq not joined: answered throttled;
 * its key noted, acks_again_note). */
#define ACKS_MAX_COPIES	32
/* Deliveries waiting for pigeond's commit, at most: an SMSC that sends
 * without waiting for its answers gets ESME_RTHROTTLED past it (each
 * kept in the worker and in pigeond, and each new one scanned them all:
 * 100,000 of them took 22 s of the worker's CPU and 460 MB). */
#define ACKS_MAX_WAITING	1024
/* A delivery waits this long at most: then it is answered ESME_RX_T_APPN
 * (the SMSC delivers it again) and forgotten. pigeond commits within
 * seconds; one it never answers stayed for good. */
#define ACKS_MAX_AGE_MS	(5 * 60 * 1000)
size_t	 acks_waiting(void);
/* Forgets every delivery of a session that closed (their answers can no
 * longer be given); how many, their handles in *handles (malloc'd, the
 * caller frees; NULL when none), to tell pigeond (main_dropped). */
size_t	 acks_drop_owner(void *owner, long long **handles);
/* Appends handle to the list *handles of *n (realloc'd). */
void	 acks_handles_add(long long **handles, size_t *n, long long handle);
/* The handle of the oldest delivery waiting when it has waited age_ms or
 * more, else 0. */
long long acks_oldest(long age_ms);
/* cmd: SMPP_DELIVER_SM or SMPP_DATA_SM, whose answer it gets. *again
 * (when not NULL): 1 when the SMSC was told to deliver that key again
 * (acks_again_take): pigeond is to take it for a redelivery. */
long long acks_add(void *owner, unsigned gen, uint32_t seq, uint64_t key,
	    uint32_t cmd, int *again);
int	 acks_join(void *owner, unsigned gen, uint64_t key, uint32_t seq);
/* What the answer given to a delivery taken tells the SMSC. */
enum acks_then {
	ACKS_DONE,		/* committed (status 0) */
	ACKS_AGAIN,		/* deliver it again; pigeond may have stored
				 * it (the wait ran out): its key noted */
	ACKS_AGAIN_UNSTORED,	/* deliver it again; pigeond stored nothing
				 * (`release`): noted only if it came as a
				 * redelivery (the first copy may be stored) */
};
int	 acks_take(long long handle, enum acks_then then, void **owner,
	    unsigned *gen, uint32_t *seq, uint32_t *cmd, uint32_t **copies,
	    size_t *ncopies);
/* The again book (acks.c's opening comment): keys the SMSC was told to
 * deliver again while pigeond may have stored them. Noted for
 * ACKS_AGAIN_MS, the store's window for a redelivery (20_inbox.sql), at
 * most ACKS_AGAIN_MAX of them (the oldest forgotten first); a key noted
 * again is noted anew. acks_again_take: 1 (and forgotten) when noted. */
#define ACKS_AGAIN_MS	(15 * 60 * 1000)
#define ACKS_AGAIN_MAX	4096
void	 acks_again_note(uint64_t key);
int	 acks_again_take(uint64_t key);

/* main.c: events to pigeond. */
void	 main_ready(const char *smsc_system_id, int rebind);
void	 main_link_down(const char *session, const char *reason, uint32_t status,
	    int sends);
void	 main_link_up(const char *session);
void	 main_bind_failed(uint32_t status);
void	 main_link_failed(const char *session, const char *reason);
void	 main_sent(long long id, int parts, int segments, char ids[][SMPP_ID_SIZE]);
/* A receipt, by its esm_class, its TLVs or its text (deliver.c). */
int	 deliver_is_receipt(const struct deliver *);
/* send_failed's flags (docs/modem-protocol.md, SMPP links). */
#define SEND_MAYBE_SENT	0x01	/* a submit_sm went out, its answer never came */
#define SEND_NOT_SENT	0x02	/* no part was submitted: back to the queue */
#define SEND_LINK_LOST	0x04	/* the session ended (or was down) under it */
#define SEND_LINK_REFUSED 0x08	/* permanent on this link only (smpp_status_link):
				 * another link may send it */
/* The submits pause ms after a throttle status (docs/modem-protocol.md). */
void	 main_paused(int ms, uint32_t status);
void	 main_send_failed(long long id, int parts, int parts_sent, int nids,
	    char ids[][SMPP_ID_SIZE], uint32_t status, int temporary, int throttled,
	    int flags, const char *error);
/* A deliver_sm or data_sm: an MO part or, when receipt (as
 * deliver_is_receipt says), a receipt, to acknowledge by handle
 * (deliver.c); again: the SMSC delivers it again after an answer that
 * asked so (acks_add), said as a redelivery. */
void	 main_deliver(long long handle, uint32_t seq, const struct deliver *,
	    int again, int receipt);
/* Deliveries forgotten unanswered (their session closed, their wait ran
 * out): pigeond forgets what it has not stored of them. */
void	 main_dropped(const long long *handles, size_t n);
void	 main_exit(int) __attribute__((noreturn));

#endif

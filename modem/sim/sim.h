/*
 * sim.h: pigeon-modemsim, a GSM modem on a pseudo-terminal.
 *
 * One process, one poll() loop: the pty master (AT commands from libgammu's
 * AT driver), the control socket DIR/ctl (one JSON object per line, from the
 * client subcommands) and a timer for slow answers. Every subsystem keeps its
 * own file-static state: there is exactly one simulated modem per process.
 */
#ifndef PIGEON_SIM_H
#define PIGEON_SIM_H

#include <stddef.h>
#include <time.h>
#include <poll.h>
#include <sys/types.h>

#define SIM_SLOTS	50	/* SIM storage "SM": locations 1..SIM_SLOTS */
#define SIM_MAX_PARTS	SIM_SLOTS /* a delivered text may fill the SIM */
#define SIM_MAX_TEXT	4096	/* bytes of UTF-8 accepted by deliver */
#define SIM_MAX_NUMBER	40	/* bytes of an address (number or name) */

/* What the modem says about itself (AT+CGMI, +CGSN, +CIMI, ...). */
struct sim_ident {
	char	 manufacturer[32];
	char	 model[32];
	char	 revision[32];
	char	 imei[16];
	char	 imsi[16];
	char	 smsc[SIM_MAX_NUMBER];	/* default service centre */
};

/* A growable output queue for a non-blocking descriptor. */
struct obuf {
	char	*data;
	size_t	 len;
	size_t	 off;		/* bytes already written */
	size_t	 cap;
};

/* A PDU built for storage: an SMS-DELIVER part or a status report. */
struct pdu_part {
	char	*hex;		/* SMSC address + TPDU, as +CMGR shows it */
	int	 tpdu_len;	/* octets after the SMSC address */
	char	*text;		/* this part's text, UTF-8 */
	int	 ref, seq, total; /* concatenation, all 0 for a single SMS */
	int	 report;	/* an SMS-STATUS-REPORT ... */
	int	 mr, status;	/* ... for this reference, with this TP-ST */
};

/* An SMS-SUBMIT received through AT+CMGS, decoded. */
struct pdu_submit {
	char	 to[SIM_MAX_NUMBER * 2];
	char	*text;		/* UTF-8; hex for 8-bit data */
	const char *coding;	/* "gsm", "ucs2" or "8bit" */
	int	 ref, seq, total; /* concatenation, all 0 for a single SMS */
	int	 report;	/* status report requested */
	int	 cls;		/* message class; -1: none (0: flash) */
	int	 vp;		/* relative TP-VP; -1: none */
};

/* Faults injected through `fault`, and what they are set to. */
struct sim_faults {
	int	 delete_error;	/* +CMS ERROR code for AT+CMGD */
	int	 send_error;	/* +CMS ERROR code for AT+CMGS ... */
	int	 send_error_count; /* ... this many more times */
	int	 silent;	/* no answer, no echo */
	int	 send_delay_ms;	/* before each AT+CMGS answer */
	int	 report_status;	/* TP-ST of status reports; -1: none */
	int	 report_delay_ms; /* status reports come this long after the send */
	int	 unplugged;	/* the pty is gone */
	int	 signal;	/* AT+CSQ <rssi>: 0-31, 99 unknown */
	int	 network;	/* AT+CREG <stat>: 0 none, 1 home, 2 searching,
				   3 denied, 4 unknown, 5 roaming */
	int	 operator;	/* AT+COPS numeric operator; 0: from the IMSI */
	int	 list_hold;	/* hold the next AT+CMGL answer */
	int	 list_held;	/* (status) an AT+CMGL answer is held */
	int	 sending;	/* (status) an AT+CMGS was taken and its
				   answer waits for the send-delay */
	int	 list_twice;	/* AT+CMGL lists this location again after
				   the next one listed (or at once when it is
				   the last); 0: off */
};

/* A stored SMS part. */
struct slot {
	int	 used;
	int	 state;		/* 27.005 <stat>: 0 REC UNREAD, 1 REC READ */
	char	*hex;
	int	 tpdu_len;
	char	*from;
	char	*text;
	int	 ref, seq, total;
	int	 report, mr, status;
};

/* main.c */
long	 now_ms(void);
void	 iso8601(time_t, char *, size_t);
/* Queues bytes for the modem client; -1: dropped (no client attached). */
int	 tty_write(const char *, size_t);
/* The unplug fault: closes the pty and removes DIR/tty, or makes new ones. */
int	 tty_unplug(int);

/* util.c */
void	 obuf_free(struct obuf *);
int	 obuf_add(struct obuf *, const char *, size_t);
/* Writes what the descriptor takes; 0, or -1 on a real error. */
int	 obuf_flush(struct obuf *, int fd);
int	 obuf_pending(const struct obuf *);
int	 parse_int(const char *, int min, int max, int *);
void	 hash_digits(const char *seed, char *out, size_t ndigits);
void	 luhn_append(char *digits);
int	 set_nonblock(int);

/* at.c */
void	 at_init(const struct sim_ident *, int send_delay_ms);
void	 at_input(const char *, size_t);
/* The client closed the tty: forget a half-typed command or PDU. */
void	 at_detached(void);
/* 0 while an answer is being delayed: leave input in the kernel. */
int	 at_wants_input(void);
long	 at_deadline(void);		/* ms timestamp, or -1 */
void	 at_timer(void);
void	 at_new_sms(int location);	/* +CMTI when AT+CNMI asked for it */
int	 at_fault(const char *name, const int *vals, int nvals, const char **);
void	 at_faults(struct sim_faults *);
/* pin.c: the SIM PIN (`fault pin N`, `fault puk 1`), for `status`. */
int	 pin_wrong(void);		/* wrong PINs entered since it was set */
int	 pin_locked(void);		/* the SIM waits for its PIN or PUK */
/* Stores a status report for a part sent to `to` with reference mr, as
 * the SMSC would; 0, or -1 with *errstr. */
int	 at_report(const char *to, int mr, int status, const char **errstr);

/* store.c */
int	 store_free(void);
int	 store_used(void);
/* Takes ownership of part's strings; returns the location or -1 when full. */
int	 store_put(struct pdu_part *, const char *from);
const struct slot *store_get(int location);
void	 store_mark_read(int location);
int	 store_delete(int location);
void	 store_clear(void);

/* pdu.c */
void	 pdu_part_free(struct pdu_part *);
/* pdu_deliver's ref PDU_REF16 + N: a 16-bit concatenation reference N. */
#define PDU_REF16	0x10000
/*
 * Encodes text from `from` as SMS-DELIVER parts (GSM-7 when the text
 * survives it, else UCS-2; concatenated with 8-bit reference ref, 16-bit
 * reference ref - PDU_REF16 when ref >= PDU_REF16, or a fresh 8-bit one
 * when ref < 0). Returns the number of parts and, in sender,
 * the originator as a phone decodes it; or -1 with *errstr set.
 */
int	 pdu_deliver(const char *from, const char *smsc, const char *text,
	    int ref, time_t when, long gmtoff, struct pdu_part *, int maxparts,
	    char *sender, size_t sendersz, const char **errstr);
/* Decodes hex (SMSC + TPDU of tpdu_len octets); 0, or -1 with *errstr. */
int	 pdu_submit(const char *hex, int tpdu_len, struct pdu_submit *,
	    const char **errstr);
void	 pdu_submit_free(struct pdu_submit *);
/* Makes a built part's sender the alphanumeric sender ID name (TOA 0xD0). */
int	 pdu_alpha_sender(struct pdu_part *, const char *name, const char **errstr);
/* A part holding hex as it is (SMSC first), text label; 0 or -1. */
int	 pdu_raw(const char *hex, const char *label, struct pdu_part *,
	    const char **errstr);
/* The SMSC's status report for a sent part; 0, or -1 with *errstr. */
int	 pdu_status_report(const struct pdu_submit *, int mr, int status,
	    const char *smsc, time_t when, long gmtoff, struct pdu_part *,
	    const char **errstr);

/* sentlog.c */
int	 sentlog_open(const char *dir);
void	 sentlog_close(void);
/* Records one part accepted with message reference mr. */
void	 sentlog_part(const struct pdu_submit *, int mr);
/* Client side: prints DIR/sent.jsonl, only to number when not NULL. */
int	 sentlog_print(const char *dir, const char *number, int text_only);

/* ctl.c */
int	 ctl_listen(const char *path, const char *default_smsc);
void	 ctl_close(void);
int	 ctl_pollfds(struct pollfd *, int max);
void	 ctl_events(const struct pollfd *, int n);

/* client.c */
int	 client_main(const char *cmd, int argc, char *argv[]);

#endif

/*
 * at.h: between the AT engine (at.c: framing, echo, PDU entry, delays,
 * faults) and the commands it runs (atcmd.c). Not for other subsystems.
 */
#ifndef PIGEON_SIM_AT_H
#define PIGEON_SIM_AT_H

#include <stddef.h>

#include "sim.h"

#define AT_MAX_ARGS	8

/* Results of one command; its information lines are already queued. */
enum {
	R_OK,
	R_ERROR,
	R_CMS,		/* +CMS ERROR: <code> */
	R_CME,		/* +CME ERROR: <code> (ERROR while AT+CMEE=0) */
	R_PROMPT,	/* no result yet: PDU entry follows (AT+CMGS) */
};

/* Forms of an extended command: +X, +X=args, +X?, +X=? */
enum { T_EXEC, T_SET, T_READ, T_TEST };

/* Settings a modem keeps while its port is closed and reopened. */
struct at_settings {
	int	 echo;		/* ATE */
	int	 cmee;
	int	 cnmi[5];	/* <mode>,<mt>,<bm>,<ds>,<bfr> */
	int	 creg, cgreg;
	int	 cops_format;
	int	 cmms;
	char	 cscs[8];
	char	 smsc[SIM_MAX_NUMBER];
	int	 smsc_type;
};

/* at.c */
extern struct at_settings at_set;
extern struct sim_ident at_id;
void	 at_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 at_raw(const char *, size_t);
int	 at_cms(int code);
int	 at_cme(int code);
void	 at_defaults(void);
int	 at_delete_error(void);

/* pin.c */
/* `fault pin N` (-1: none) or `fault puk 0|1`; -1 when v is out of range. */
int	 pin_fault(const char *name, int v);
int	 pin_cpin(int type, const char *args);

/* atcmd.c */
/* Runs "+NAME..."; on R_PROMPT *pdu_len is the announced TPDU length. */
int	 atcmd_extended(char *cmd, int *pdu_len);
/* Runs the basic command at *pp (E1, Z, &F, S0=0...) and moves past it. */
int	 atcmd_basic(const char **pp);

#endif

/*
 * gsmint.h: the libgammu state machine of pigeon-modem, shared by gsm.c
 * (connecting, identifying, listing, deleting) and gsmsend.c (sending).
 * Not an API: worker.h is.
 */
#ifndef PIGEON_GSMINT_H
#define PIGEON_GSMINT_H

#include <gammu.h>

struct gsm_dummy;
struct gsmlog;
struct seen;
struct sms_part;

struct gsm {
	GSM_StateMachine	*sm;
	int			 connected;
	GSM_MultiSMSMessage	*list;		/* listing buffer, ~260 KB */
	GSM_MultiSMSMessage	*out;		/* encoded outgoing message */
	GSM_MultiPartSMSInfo	*info;
	struct sms_part		*parts;		/* GSM_MAX_MULTI_SMS of them */
	int			 list_start;	/* next step starts a listing */
	/*
	 * The locations this listing read (gsm_list_seen; seen.c's set, the
	 * worker's own kind). A modem that lists one twice, even apart
	 * ([1, 2, 1]), makes the AT driver go round for ever: it finds the
	 * next SMS by the location of the last one, the first time it is in
	 * the list.
	 */
	struct seen		*listed;
	unsigned		 list_gen;
	int			 repeat_folder;	/* the location read twice */
	int			 repeat_location;
	struct gsmlog		*log;		/* what the debug log told */
	int			 sender_types;	/* the driver decodes PDUs */
	struct gsm_dummy	*dummy;		/* the dummy driver (gsmdummy.c) */
	int			 unsafe;	/* the last step met an unsafe PDU */
	/* Locations holding such a PDU: never given to GSM_DeleteSMS. */
#define GSM_POISON_MAX	64
	int			 poison[GSM_POISON_MAX];
	int			 npoison;

	char			*cfg_smsc;
	GSM_SMSC		 smsc;
	int			 smsc_known;	/* smsc holds what every part uses */
	unsigned		 next_ref;	/* concatenation reference */
	int			 send_wait_ms;	/* config's, for each part */
	int			 next_flash;	/* gsm_send_options, for one send */
	int			 next_validity;

	/* Written by gsm_send_status only. */
	int			 cb_waiting;
	int			 cb_fired;
	int			 cb_status;
	int			 cb_ref;
};

/* gsmsend.c: libgammu's send status callback, registered by gsm_connect;
 * runs inside GSM_SendSMS or GSM_ReadDevice. */
void	 gsm_send_status(GSM_StateMachine *, int status, int ref, void *arg);

#endif

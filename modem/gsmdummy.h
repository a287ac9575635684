/* gsmdummy.h: the dummy driver's listing (gsmdummy.c), for gsm.c. */
#ifndef PIGEON_GSMDUMMY_H
#define PIGEON_GSMDUMMY_H

#include <gammu.h>

struct gsm_dummy;

struct gsm_dummy *gsm_dummy_new(const char *device);
void	 gsm_dummy_free(struct gsm_dummy *);
/* What GSM_GetNextSMS(sm, m, start) gives on the dummy driver. */
int	 gsm_dummy_next(struct gsm_dummy *, GSM_StateMachine *,
	    GSM_MultiSMSMessage *, int start);

#endif

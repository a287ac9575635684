/*
 * pin.c: the SIM's security state through libgammu (issue 15): whether
 * the SIM waits for its PIN (or is blocked and needs its PUK), and
 * entering the PIN. worker.c asks pigeond for the PIN only when needed.
 */
#include <string.h>

#include <gammu.h>

#include "log.h"
#include "worker.h"

int
pin_status(struct gsm *g)
{
	GSM_StateMachine *sm = gsm_state_machine(g);
	GSM_SecurityCodeType type = SEC_None;
	GSM_Error err;

	if (sm == NULL)
		return PIN_READY;
	err = GSM_GetSecurityStatus(sm, &type);
	if (err != ERR_NONE) {
		/* A modem (or driver) that cannot tell: go on, as before. */
		log_debug("SIM security status: %s", GSM_ErrorString(err));
		return PIN_READY;
	}
	switch (type) {
	case SEC_Pin:
		return PIN_NEEDED;
	case SEC_Puk:
	case SEC_Puk2:
		return PIN_PUK;
	case SEC_None:
	case SEC_Pin2:		/* only for some phone book and call commands */
		return PIN_READY;
	default:
		return PIN_OTHER;
	}
}

int
pin_enter(struct gsm *g, const char *pin)
{
	GSM_StateMachine *sm = gsm_state_machine(g);
	GSM_SecurityCode code;
	GSM_Error err;

	if (sm == NULL)
		return ERR_NOTCONNECTED;
	memset(&code, 0, sizeof(code));
	code.Type = SEC_Pin;
	strncpy(code.Code, pin, GSM_SECURITY_CODE_LEN);
	err = GSM_EnterSecurityCode(sm, &code);
	explicit_bzero(&code, sizeof(code));
	return err;
}

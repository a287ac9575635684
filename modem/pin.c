/*
 * pin.c: the SIM's security state through libgammu (issue 15): whether
 * the SIM waits for its PIN (or is blocked and needs its PUK), and
 * entering the PIN. worker.c asks pigeond for the PIN only when needed.
 */
#include <stdio.h>
#include <string.h>

#include <gammu.h>

#include "log.h"
#include "worker.h"

static int
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

static int
pin_enter(struct gsm *g, const char *pin)
{
	GSM_StateMachine *sm = gsm_state_machine(g);
	GSM_SecurityCode code;
	GSM_Error err;

	if (sm == NULL)
		return ERR_NOTCONNECTED;
	memset(&code, 0, sizeof(code));
	code.Type = SEC_Pin;
	snprintf(code.Code, sizeof(code.Code), "%s", pin);
	err = GSM_EnterSecurityCode(sm, &code);
	explicit_bzero(&code, sizeof(code));
	return err;
}

/*
 * A SIM that asks for its PIN gets it once: pigeond gives it (ask) only
 * if that PIN was never refused, and a refusal is reported at once, so no
 * PIN is tried twice (three wrong ones block the SIM).
 */
int
pin_unlock(struct gsm *g, const char *(*ask)(char *pin, size_t len), char *why,
    size_t whylen, int *refused)
{
	char pin[16];
	const char *said;
	int st = pin_status(g), err;

	*refused = 0;
	if (st == PIN_READY)
		return ERR_NONE;
	if (st != PIN_NEEDED) {
		snprintf(why, whylen, "%s", st == PIN_PUK ?
		    "SIM blocked (PUK required): enter its PUK in a phone, then set the new PIN" :
		    "the SIM asks for a code other than its PIN (PH-SIM or network lock)");
		return ERR_SECURITYERROR;
	}
	said = ask(pin, sizeof(pin));
	if (pin[0] == '\0') {
		snprintf(why, whylen, "%s", said && *said ? said : "the SIM asks for its PIN");
		return ERR_SECURITYERROR;
	}
	err = pin_enter(g, pin);
	explicit_bzero(pin, sizeof(pin));
	if (err != ERR_NONE) {
		/* Whatever the error, the SIM may have counted a wrong try. */
		snprintf(why, whylen, "the SIM refused the PIN; it is not entered again until "
		    "pin changes in the configuration");
		*refused = 1;
		return err;
	}
	log_info("SIM PIN entered");
	return ERR_NONE;
}

/*
 * pin.c: the SIM's security state through libgammu (issue 15): whether
 * the SIM waits for its PIN (or is blocked and needs its PUK), and
 * entering the PIN, which is asked of pigeond (`pin_needed`, answered by
 * `pin`) only when the SIM waits for it.
 */
#include <stdio.h>
#include <string.h>

#include <gammu.h>
#include <jansson.h>

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
 * Asks pigeond for the PIN and serves the channel until the answer: the
 * PIN into pin ("" when there is none); returns why there is none.
 */
static const char *
pin_ask(struct worker *w, char *pin, size_t len)
{
	channel_emit(w, channel_msg_new("pin_needed"));
	while (!w->pin_answered && !w->quit)
		worker_serve(w, -1);
	snprintf(pin, len, "%s", w->pin_given);
	explicit_bzero(w->pin_given, sizeof(w->pin_given));
	return w->pin_why;
}

void
pin_answer(struct worker *w, json_t *msg)
{
	const char *pin = channel_str_get(msg, "pin"), *why = channel_str_get(msg, "why");

	snprintf(w->pin_given, sizeof(w->pin_given), "%s", pin ? pin : "");
	snprintf(w->pin_why, sizeof(w->pin_why), "%s", why ? why : "");
	w->pin_answered = 1;
}

/*
 * A SIM that asks for its PIN gets it once: pigeond gives it only if that
 * PIN was never refused, and a refusal is reported at once, so no PIN is
 * tried twice (three wrong ones block the SIM).
 */
int
pin_unlock(struct worker *w, char *why, size_t whylen, int *refused)
{
	struct gsm *g = w->gsm;
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
	said = pin_ask(w, pin, sizeof(pin));
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

/*
 * pin.c: a SIM that asks for its PIN, for the tests of [modem] pin
 * (issue 15). `fault pin N` locks the SIM with PIN N (four digits at
 * least, %04d), `fault pin -1` takes the PIN away, `fault puk 1` blocks
 * it as three wrong PINs do. AT+CPIN? says SIM PIN, SIM PUK or READY;
 * AT+CPIN="code" unlocks it or counts a wrong try; while locked, the SIM's
 * SMS and IMSI commands answer "SIM PIN required" as a real modem does.
 */
#include <stdio.h>
#include <string.h>

#include "at.h"
#include "log.h"

#define PIN_TRIES	3

static struct {
	int	 pin;		/* -1: the SIM asks for none (or it was entered) */
	int	 puk;		/* blocked: only the PUK helps */
	int	 wrong;		/* wrong PINs entered since the PIN was set */
} sim_pin = { -1, 0, 0 };

int
pin_fault(const char *name, int v)
{
	if (strcmp(name, "pin") == 0) {
		if (v < -1 || v > 99999999)
			return -1;
		sim_pin.pin = v;
		sim_pin.puk = 0;
		sim_pin.wrong = 0;
		return 0;
	}
	if (v < 0 || v > 1)
		return -1;
	sim_pin.puk = v;
	return 0;
}

int
pin_wrong(void)
{
	return sim_pin.wrong;
}

int
pin_locked(void)
{
	return sim_pin.puk || sim_pin.pin >= 0;
}

/* AT+CPIN: the SIM's state, or a PIN entered. */
int
pin_cpin(int type, const char *args)
{
	char code[16], want[16];
	size_t n;

	if (type == T_READ) {
		at_info("+CPIN: %s", sim_pin.puk ? "SIM PUK" : sim_pin.pin >= 0 ?
		    "SIM PIN" : "READY");
		return R_OK;
	}
	if (type == T_TEST)
		return R_OK;
	if (type != T_SET)
		return R_ERROR;
	if (*args == '"')
		args++;
	n = strcspn(args, "\",");
	if (n == 0 || n >= sizeof(code))
		return at_cme(3);
	memcpy(code, args, n);
	code[n] = '\0';
	if (sim_pin.puk)
		return at_cme(18);		/* SIM PUK required */
	if (sim_pin.pin < 0)
		return at_cme(3);		/* operation not allowed: not asked */
	snprintf(want, sizeof(want), "%04d", sim_pin.pin);
	if (strcmp(code, want) == 0) {
		log_info("SIM PIN entered");
		sim_pin.pin = -1;
		return R_OK;
	}
	sim_pin.wrong++;
	log_info("wrong SIM PIN (%d of %d)", sim_pin.wrong, PIN_TRIES);
	if (sim_pin.wrong >= PIN_TRIES)
		sim_pin.puk = 1;
	return at_cme(16);			/* incorrect password */
}

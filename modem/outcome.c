/*
 * outcome.c: what a failure means for pigeond: a send to retry (temporary)
 * or not (permanent), or a modem gone. docs/modem-protocol.md has the table.
 */
#include <gammu.h>

#include "worker.h"

/*
 * What a +CMS ERROR from the modem or the network means for a retry: a
 * permanent one fails the same way on every modem (bad or barred recipient,
 * a message the network refuses); everything else, including the modem's
 * own trouble (SIM, network registration, SMSC setting), may work later or
 * on another modem. 3GPP TS 24.011 annex E-2 (RP causes), TS 23.040 9.2.3.22
 * (TP failure causes) and TS 27.005 3.2.5 (ME errors).
 */
static const struct cms_error {
	int		 code;
	int		 temporary;
	const char	*text;
} cms_errors[] = {
	{ 1,	0, "unassigned number" },
	{ 8,	0, "operator determined barring" },
	{ 10,	0, "call barred" },
	{ 21,	0, "short message transfer rejected" },
	{ 27,	1, "destination out of service" },
	{ 28,	0, "unidentified subscriber" },
	{ 29,	0, "facility rejected" },
	{ 30,	0, "unknown subscriber" },
	{ 38,	1, "network out of order" },
	{ 41,	1, "temporary failure" },
	{ 42,	1, "congestion" },
	{ 47,	1, "resources unavailable" },
	{ 50,	0, "requested facility not subscribed" },
	{ 69,	0, "requested facility not implemented" },
	{ 81,	1, "invalid short message transfer reference" },
	{ 95,	0, "invalid message" },
	{ 96,	0, "invalid mandatory information" },
	{ 97,	0, "message type non-existent" },
	{ 98,	1, "message not compatible with protocol state" },
	{ 99,	0, "information element non-existent" },
	{ 111,	1, "protocol error" },
	{ 127,	1, "interworking error" },
	{ 0xc0,	1, "SC busy" },
	{ 0xc1,	0, "no SC subscription" },
	{ 0xc2,	1, "SC system failure" },
	{ 0xc3,	0, "invalid SME address" },
	{ 0xc4,	0, "destination SME barred" },
	{ 0xc5,	0, "duplicate message rejected" },
	{ 0xc6,	0, "validity period format not supported" },
	{ 0xc7,	0, "validity period not supported" },
	{ 0xd0,	1, "SIM SMS storage full" },
	{ 0xd3,	1, "memory capacity exceeded" },
	{ 0xff,	1, "unspecified error" },
	{ 300,	1, "ME failure" },
	{ 301,	1, "SMS service of ME reserved" },
	{ 302,	1, "operation not allowed" },
	{ 303,	1, "operation not supported" },
	{ 304,	0, "invalid PDU mode parameter" },
	{ 305,	0, "invalid text mode parameter" },
	{ 310,	1, "SIM not inserted" },
	{ 311,	1, "SIM PIN required" },
	{ 313,	1, "SIM failure" },
	{ 314,	1, "SIM busy" },
	{ 322,	1, "memory full" },
	{ 330,	1, "SMSC address unknown" },
	{ 331,	1, "no network service" },
	{ 332,	1, "network timeout" },
	{ 500,	1, "unknown error" },
};

void
outcome_cms(int code, int *temporary, const char **text)
{
	*temporary = 1;
	*text = "unknown error";
	/* Other TP-PID, TP-DCS and command errors: the message itself. */
	if (code >= 0x80 && code <= 0xbf) {
		*temporary = 0;
		*text = "message refused by the SC";
	}
	for (size_t i = 0; i < sizeof(cms_errors) / sizeof(cms_errors[0]); i++)
		if (cms_errors[i].code == code) {
			*temporary = cms_errors[i].temporary;
			*text = cms_errors[i].text;
		}
}

int
outcome_temporary(int code)
{
	switch (code) {
	case ERR_INVALIDDATA:	/* bad number or text */
	case ERR_BUG:		/* the modem refused our PDU */
		return 0;
	default:
		return 1;
	}
}

int
outcome_link_error(int code)
{
	switch (code) {
	case ERR_DEVICEOPENERROR:
	case ERR_DEVICELOCKED:
	case ERR_DEVICENOTEXIST:
	case ERR_DEVICEBUSY:
	case ERR_DEVICENOPERMISSION:
	case ERR_DEVICENODRIVER:
	case ERR_DEVICENOTWORK:
	case ERR_DEVICEDTRRTSERROR:
	case ERR_DEVICECHANGESPEEDERROR:
	case ERR_DEVICEWRITEERROR:
	case ERR_DEVICEREADERROR:
	case ERR_DEVICEPARITYERROR:
	case ERR_TIMEOUT:
	case ERR_NOTCONNECTED:
	case ERR_PHONEOFF:
		return 1;
	default:
		return 0;
	}
}

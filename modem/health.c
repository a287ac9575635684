/*
 * health.c: what pigeon-modem tells pigeond about its modem besides SMS:
 * a `health` message every health_ms (signal, network registration and
 * operator, battery where the modem reports one, the SIM's IMSI), and the
 * new-SMS notification (+CMTI on AT modems), which makes the worker list
 * the modem's SMS at once instead of at its next poll.
 *
 * libgammu calls the notification back from inside GSM_ReadDevice (so from
 * inside any libgammu call): the callback only raises a flag, and the
 * worker's loop acts on it between calls.
 */
#include <stdio.h>
#include <string.h>

#include <gammu.h>
#include <jansson.h>

#include "log.h"
#include "worker.h"

static int sms_waiting;
static int notify_on;

static void
health_on_incoming(GSM_StateMachine *sm, GSM_SMSMessage *sms, void *arg)
{
	(void)sm;
	(void)sms;
	(void)arg;
	sms_waiting = 1;
}

int
health_notify_init(struct gsm *g)
{
	GSM_StateMachine *sm = gsm_state_machine(g);
	GSM_Error err;

	if (sm == NULL)
		return 0;
	GSM_SetIncomingSMSCallback(sm, health_on_incoming, NULL);
	err = GSM_SetIncomingSMS(sm, TRUE);
	notify_on = err == ERR_NONE;
	if (notify_on)
		log_info("new-SMS notifications on: SMS are read as they arrive");
	else
		log_info("no new-SMS notifications (%s): polling only",
		    gsm_strerror(err));
	return notify_on;
}

int
health_sms_waiting(void)
{
	int w = sms_waiting;

	sms_waiting = 0;
	return w;
}

static const char *
registration_name(GSM_NetworkInfo_State st)
{
	switch (st) {
	case GSM_HomeNetwork:		return "home";
	case GSM_RoamingNetwork:	return "roaming";
	case GSM_RequestingNetwork:	return "searching";
	case GSM_RegistrationDenied:	return "denied";
	case GSM_NoNetwork:		return "none";
	case GSM_NetworkStatusUnknown:	break;
	}
	return "unknown";
}

/* Asks the modem; a key is left out when the modem cannot say. */
json_t *
health_poll(struct gsm *g)
{
	GSM_StateMachine *sm = gsm_state_machine(g);
	GSM_SignalQuality sig;
	GSM_NetworkInfo net;
	GSM_BatteryCharge bat;
	char imsi[GSM_MAX_INFO_LENGTH + 1], name[4 * 64];
	json_t *h = json_object();

	json_object_set_new(h, "type", json_string("health"));
	if (sm == NULL)
		return h;
	memset(&sig, 0, sizeof(sig));
	if (GSM_GetSignalQuality(sm, &sig) == ERR_NONE) {
		if (sig.SignalPercent >= 0 && sig.SignalPercent <= 100)
			json_object_set_new(h, "signal_percent",
			    json_integer(sig.SignalPercent));
		if (sig.SignalStrength < 0 && sig.SignalStrength >= -150)
			json_object_set_new(h, "signal_dbm",
			    json_integer(sig.SignalStrength));
	}
	memset(&net, 0, sizeof(net));
	if (GSM_GetNetworkInfo(sm, &net) == ERR_NONE) {
		json_object_set_new(h, "registration",
		    json_string(registration_name(net.State)));
		net.NetworkCode[sizeof(net.NetworkCode) - 1] = '\0';
		if (net.NetworkCode[0] != '\0' && utf8_valid(net.NetworkCode,
		    strlen(net.NetworkCode)))
			json_object_set_new(h, "operator",
			    json_string(net.NetworkCode));
		name[0] = '\0';
		net.NetworkName[sizeof(net.NetworkName) - 1] = 0;
		net.NetworkName[sizeof(net.NetworkName) - 2] = 0;
		EncodeUTF8(name, net.NetworkName);
		if (name[0] == '\0' && net.NetworkCode[0] != '\0')
			EncodeUTF8(name, GSM_GetNetworkName(net.NetworkCode));
		if (name[0] != '\0' && utf8_valid(name, strlen(name)))
			json_object_set_new(h, "operator_name", json_string(name));
	}
	memset(&bat, 0, sizeof(bat));
	if (GSM_GetBatteryCharge(sm, &bat) == ERR_NONE &&
	    bat.BatteryPercent >= 0 && bat.BatteryPercent <= 100 &&
	    bat.ChargeState != 0)
		json_object_set_new(h, "battery_percent",
		    json_integer(bat.BatteryPercent));
	imsi[0] = '\0';
	if (GSM_GetSIMIMSI(sm, imsi) == ERR_NONE && imsi[0] != '\0' &&
	    utf8_valid(imsi, strlen(imsi)))
		json_object_set_new(h, "imsi", json_string(imsi));
	return h;
}

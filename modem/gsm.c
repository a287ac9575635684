/*
 * gsm.c: the libgammu side of pigeon-modem. Every blocking libgammu call of
 * the worker is made here or in gsmsend.c (sending), on the one state
 * machine this process owns (gsmint.h): connecting, identifying, listing
 * stored SMS, deleting them.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/random.h>

#include <gammu.h>

#include "gsmdummy.h"
#include "gsmint.h"
#include "gsmtext.h"
#include "log.h"
#include "worker.h"

const char *
gsm_strerror(int code)
{
	const char *s = GSM_ErrorString((GSM_Error)code);
	return s != NULL ? s : "unknown error";
}

/*
 * A stored PDU that would overflow libgammu's decoder (gsmlog.c) is met
 * inside GSM_GetNextSMS, from its debug log, just before it is decoded:
 * gsm_list_step jumps back out of libgammu there. The AT driver is then
 * between two cached SMS, with no command in flight, and its next step
 * resumes after that location. Armed only around GSM_GetNextSMS.
 */
static sigjmp_buf	 gsm_unsafe_jmp;
static volatile int	 gsm_unsafe_armed;

static void
gsm_unsafe_pdu(void *arg)
{
	(void)arg;
	if (gsm_unsafe_armed) {
		gsm_unsafe_armed = 0;
		siglongjmp(gsm_unsafe_jmp, 1);
	}
}

struct gsm *
gsm_new(void)
{
	struct gsm *g = calloc(1, sizeof(*g));

	if (g == NULL ||
	    (g->sm = GSM_AllocStateMachine()) == NULL ||
	    (g->list = calloc(1, sizeof(*g->list))) == NULL ||
	    (g->out = calloc(1, sizeof(*g->out))) == NULL ||
	    (g->info = calloc(1, sizeof(*g->info))) == NULL ||
	    (g->parts = calloc(GSM_MAX_MULTI_SMS, sizeof(*g->parts))) == NULL)
		fatal("gsm_new");
	if (getrandom(&g->next_ref, sizeof(g->next_ref), 0) != sizeof(g->next_ref))
		g->next_ref = (unsigned)time(NULL) ^ ((unsigned)getpid() << 8);
	return g;
}

void
gsm_free(struct gsm *g)
{
	if (g == NULL)
		return;
	gsm_disconnect(g);
	GSM_FreeStateMachine(g->sm);
	free(g->list);
	free(g->out);
	free(g->info);
	free(g->parts);
	if (g->listed != NULL)
		seen_free(g->listed);
	free(g->cfg_smsc);
	gsmlog_free(g->log);
	gsm_dummy_free(g->dummy);
	free(g);
}

static void
gsm_set_string(char **dst, const char *value)
{
	char *copy = strdup(value);

	if (copy == NULL)
		fatal("strdup");
	free(*dst);
	*dst = copy;
}

int
gsm_connect(struct gsm *g, const struct gsm_config *cfg, const char **errstr)
{
	GSM_Config *c = GSM_GetConfig(g->sm, 0);
	GSM_Error err;

	/* Defaults of an empty gammurc (it says ERR_USING_DEFAULTS). */
	GSM_ReadConfig(NULL, c, 0);
	if (cfg->device[0] != '\0')
		gsm_set_string(&c->Device, cfg->device);
	if (cfg->connection[0] != '\0')
		gsm_set_string(&c->Connection, cfg->connection);
	if (strcmp(cfg->model, "auto") == 0)
		c->Model[0] = '\0';
	else
		snprintf(c->Model, sizeof(c->Model), "%s", cfg->model);
	/*
	 * An AT connection logs to gsmlog.c at least at the "text" level: the
	 * log carries the senders' type of address (gsmlog.c says why), and
	 * gsmlog.c copies it to the operator's logfile; a logformat that is
	 * not a text one (errors, binary) becomes "textalldate" then. Other
	 * drivers decode no PDU (and the dummy one logs every file it
	 * probes): their log is libgammu's, as configured.
	 */
	g->sender_types = strncasecmp(c->Connection, "at", 2) == 0;
	if (g->dummy == NULL && strcasecmp(c->Model, "dummy") == 0)
		g->dummy = gsm_dummy_new(c->Device);
	gsmlog_free(g->log);
	g->log = gsmlog_new(g->sender_types ? cfg->logfile : NULL);
	gsmlog_set_unsafe(g->log, gsm_unsafe_pdu, g);
	if (g->sender_types) {
		c->UseGlobalDebugFile = FALSE;
		gsm_set_string(&c->DebugFile, "");
		if (cfg->logfile[0] == '\0')
			snprintf(c->DebugLevel, sizeof(c->DebugLevel), "text");
		else if (strncmp(cfg->logformat, "text", 4) == 0 &&
		    strncmp(cfg->logformat, "texterror", 9) != 0)
			snprintf(c->DebugLevel, sizeof(c->DebugLevel), "%s",
			    cfg->logformat);
		else {
			if (cfg->logformat[0] != '\0')
				log_warnx("logformat %s: using textalldate "
				    "(pigeon-modem reads libgammu's text log)",
				    cfg->logformat);
			snprintf(c->DebugLevel, sizeof(c->DebugLevel),
			    "textalldate");
		}
	} else if (cfg->logfile[0] != '\0') {
		c->UseGlobalDebugFile = FALSE;
		gsm_set_string(&c->DebugFile, cfg->logfile);
		snprintf(c->DebugLevel, sizeof(c->DebugLevel), "%s",
		    cfg->logformat[0] != '\0' ? cfg->logformat : "textalldate");
	}
	GSM_SetConfigNum(g->sm, 1);
	gsm_set_string(&g->cfg_smsc, cfg->smsc);
	g->send_wait_ms = cfg->send_wait_ms > 0 ? cfg->send_wait_ms : WORKER_SEND_WAIT_MS;

	log_info("connecting to %s (connection %s, model %s)", c->Device,
	    c->Connection, c->Model[0] != '\0' ? c->Model : "auto");
	err = g->sender_types ?
	    GSM_InitConnection_Log(g->sm, 1, gsmlog_write, g->log) :
	    GSM_InitConnection(g->sm, 1);
	if (err != ERR_NONE) {
		*errstr = gsm_strerror(err);
		if (GSM_IsConnected(g->sm))
			GSM_TerminateConnection(g->sm);
		return err;
	}
	g->connected = 1;
	/* GSM_InitConnection resets the callbacks: register them after it. */
	GSM_SetSendSMSStatusCallback(g->sm, gsm_send_status, g);
	return ERR_NONE;
}

void
gsm_disconnect(struct gsm *g)
{
	GSM_Error err;

	if (!g->connected)
		return;
	g->connected = 0;
	err = GSM_TerminateConnection(g->sm);
	if (err != ERR_NONE)
		log_warnx("disconnect: %s", gsm_strerror(err));
}

static void
gsm_ident_log(const char *what, GSM_Error err)
{
	if (err == ERR_NOTSUPPORTED || err == ERR_NOTIMPLEMENTED)
		log_debug("%s: %s", what, gsm_strerror(err));
	else
		log_warnx("%s: %s", what, gsm_strerror(err));
}

void
gsm_identify(struct gsm *g, struct gsm_ident *id)
{
	char buf[GSM_MAX_INFO_LENGTH + 1], date[GSM_MAX_VERSION_DATE_LENGTH + 1];
	double num;
	GSM_Error err;

	memset(id, 0, sizeof(*id));
#define IDENT(call, field, what) do {					\
		buf[0] = '\0';						\
		if ((err = (call)) == ERR_NONE)				\
			gsm_copy(id->field, sizeof(id->field), buf);	\
		else							\
			gsm_ident_log(what, err);			\
	} while (0)
	IDENT(GSM_GetManufacturer(g->sm, buf), manufacturer, "manufacturer");
	IDENT(GSM_GetModel(g->sm, buf), model, "model");
	IDENT(GSM_GetFirmware(g->sm, buf, date, &num), firmware, "firmware");
	IDENT(GSM_GetIMEI(g->sm, buf), imei, "IMEI");
	IDENT(GSM_GetSIMIMSI(g->sm, buf), imsi, "IMSI");
#undef IDENT
}

int
gsm_idle(struct gsm *g)
{
	/*
	 * waitforreply=FALSE: one read of what the device has. With TRUE,
	 * GSM_ReadDevice spins until the wall clock's second changes, so
	 * up to a second with pigeond's messages unread. It answers the
	 * bytes it read, not a GSM_Error: "RING" (8 bytes) read as error 8
	 * was a device gone, and every unsolicited line listed the SIM.
	 */
	if (!g->connected)
		return ERR_NONE;
	return GSM_ReadDevice(g->sm, FALSE) < 0 ? ERR_DEVICEREADERROR : ERR_NONE;
}

/*
 * Whether GSM_GetNextSMS failed on the stored SMS itself rather than on
 * the modem: libgammu says the data is corrupted, or it logged the PDU it
 * failed on and that PDU does not decode. Such an SMS would stop every
 * listing at its location for ever; it is reported as "corrupt" instead
 * and the listing goes on (the AT driver resumes after its location).
 */
static int
gsm_undecodable(struct gsm *g, int err)
{
	GSM_SMSMessage *tmp;
	const char *pdu = gsmlog_pdu(g->log);
	int bad;

	if (g->list->SMS[0].Location <= 0)
		return 0;
	if (err == ERR_CORRUPTED)
		return 1;
	if (pdu[0] == '\0' || outcome_link_error(err))
		return 0;
	if ((tmp = malloc(sizeof(*tmp))) == NULL)
		fatal("malloc");
	bad = gsmlog_pdu_decode(pdu, tmp) != ERR_NONE;
	free(tmp);
	return bad;
}

/* The part an undecodable SMS is reported as: its location, the PDU when
 * the driver logged it, and the error. */
static void
gsm_part_corrupt(struct gsm *g, struct sms_part *p, int err)
{
	memset(p, 0, sizeof(*p));
	p->folder = g->list->SMS[0].Folder;
	p->location = g->list->SMS[0].Location;
	p->coding = "corrupt";
	p->cls = -1;
	p->sender_toa = -1;
	p->error = g->unsafe ? "PDU lengths beyond what libgammu decodes safely" :
	    gsm_strerror(err);
	snprintf(p->text, sizeof(p->text), "%s", gsmlog_pdu(g->log));
	if (g->unsafe) {
		for (int i = 0; i < g->npoison; i++)
			if (g->poison[i] == p->location)
				return;		/* said once */
		if (g->npoison < GSM_POISON_MAX)
			g->poison[g->npoison++] = p->location;
	}
	log_warnx("SMS at folder %d location %d cannot be decoded (%s)%s%s",
	    p->folder, p->location, p->error, p->text[0] ? ": PDU " : "",
	    p->text);
}

int
gsm_sender_types(struct gsm *g)
{
	return g->sender_types;
}

void
gsm_list_begin(struct gsm *g)
{
	g->list_start = 1;
	if (g->listed == NULL)
		g->listed = seen_new();
	seen_prune(g->listed, ++g->list_gen);	/* all of the last listing */
	g->repeat_folder = g->repeat_location = -1;
}

/* 1 if this listing read (folder, location) already; else remembers it. */
static int
gsm_list_seen(struct gsm *g, int folder, int location)
{
	if (seen_has(g->listed, folder, location, 0, g->list_gen))
		return 1;
	seen_put(g->listed, folder, location, 0, g->list_gen, 0);
	return 0;
}

int
gsm_list_repeated(struct gsm *g, int *folder)
{
	*folder = g->repeat_folder;
	return g->repeat_location;
}

/*
 * One GSM_GetNextSMS call: the caller serves pigeond between two, so a
 * `send` waits for one read, not for a whole listing. The driver resumes
 * from the location left in g->list, which nothing else touches (a send
 * uses g->out and g->info).
 */
int
gsm_list_step(struct gsm *g, gsm_sms_cb cb, void *arg, int *done)
{
	GSM_MultiSMSMessage *m = g->list;
	GSM_Error err;

	*done = 0;
	if (!g->connected)
		return ERR_NOTCONNECTED;
	if (g->list_start) {
		m->Number = 0;
		m->SMS[0].Folder = 0;
		m->SMS[0].Location = 0;
	}
	gsmlog_reset(g->log);
	g->unsafe = 0;
	if (sigsetjmp(gsm_unsafe_jmp, 0) != 0) {
		g->unsafe = 1;
		err = ERR_CORRUPTED;
	} else {
		gsm_unsafe_armed = 1;
		err = g->dummy != NULL ? (GSM_Error)gsm_dummy_next(g->dummy,
		    g->sm, m, g->list_start) : GSM_GetNextSMS(g->sm, m, g->list_start);
		gsm_unsafe_armed = 0;
	}
	g->list_start = 0;
	if (err == ERR_EMPTY) {
		*done = GSM_LIST_DONE;
		return ERR_NONE;
	}
	if (err != ERR_NONE && !gsm_undecodable(g, err))
		return err;
	if (err == ERR_NONE && m->Number <= 0)
		return ERR_NONE;
	if (gsm_list_seen(g, m->SMS[0].Folder, m->SMS[0].Location)) {
		/*
		 * Not reported: under a location already reported it may
		 * hold another SMS, and pigeond's delete of the location
		 * would take the first with it. What comes after it in the
		 * list cannot be reached (the driver would go round).
		 */
		g->repeat_folder = m->SMS[0].Folder;
		g->repeat_location = m->SMS[0].Location;
		log_warnx("listing returned folder %d location %d twice; the "
		    "listing ends there", g->repeat_folder, g->repeat_location);
		*done = GSM_LIST_REPEAT;
		return ERR_NONE;
	}

	int n = 0;
	if (err != ERR_NONE) {
		gsm_part_corrupt(g, &g->parts[n++], err);
	} else {
		for (int i = 0; i < m->Number && i < GSM_MAX_MULTI_SMS; i++) {
			/* Drafts and sent copies are not incoming SMS. */
			if (m->SMS[i].PDU == SMS_Submit)
				continue;
			gsm_part_fill(&g->parts[n], &m->SMS[i]);
			g->parts[n++].sender_toa = gsmlog_toa(g->log, i,
			    m->Number);
		}
	}
	if (n > 0)
		cb(g->parts, n, arg);
	return ERR_NONE;
}

int
gsm_delete(struct gsm *g, int folder, int location)
{
	GSM_SMSMessage sms;
	GSM_Error err;

	if (!g->connected)
		return ERR_NOTCONNECTED;
	for (int i = 0; i < g->npoison; i++) {
		if (g->poison[i] != location)
			continue;
		/* ATGEN_DeleteSMS reads the SMS (and decodes it) first. */
		log_warnx("SMS at location %d is not deleted: libgammu reads an "
		    "SMS before deleting it, and decoding this one would overflow "
		    "its stack; delete it on the modem (AT+CMGD=%d)", location,
		    location);
		return ERR_CORRUPTED;
	}
	memset(&sms, 0, sizeof(sms));
	sms.Folder = folder;
	sms.Location = location;
	err = GSM_DeleteSMS(g->sm, &sms);
	if (err == ERR_EMPTY) {
		log_info("SMS folder %d location %d was already gone",
		    folder, location);
		err = ERR_NONE;
	}
	return err;
}

/* For health.c: the state machine while connected, else NULL. */
void *
gsm_state_machine(struct gsm *g)
{
	return g->connected ? g->sm : NULL;
}

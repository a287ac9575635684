/*
 * gsm.c: the libgammu side of pigeon-modem. Every blocking libgammu call of
 * the worker is made here, on the one state machine this process owns.
 *
 * libgammu calls back (send status) from inside GSM_SendSMS or
 * GSM_ReadDevice; the callback only records what it was told, and the code
 * that made the call acts on it afterwards.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/random.h>

#include <gammu.h>

#include "gsmdummy.h"
#include "gsmtext.h"
#include "log.h"
#include "worker.h"

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

const char *
gsm_strerror(int code)
{
	const char *s = GSM_ErrorString((GSM_Error)code);
	return s != NULL ? s : "unknown error";
}

static long
gsm_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
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

/* Runs inside GSM_SendSMS or GSM_ReadDevice: record, never call libgammu. */
static void
gsm_send_status(GSM_StateMachine *sm, int status, int ref, void *arg)
{
	struct gsm *g = arg;

	(void)sm;
	if (!g->cb_waiting) {
		log_warnx("send status %d (reference %d) for no send in "
		    "progress; ignored", status, ref);
		return;
	}
	g->cb_fired = 1;
	g->cb_status = status;
	g->cb_ref = ref;
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

/* The SMSC every part carries; read from the SIM once, unless configured. */
static void
gsm_smsc_prepare(struct gsm *g)
{
	GSM_Error err;

	if (g->smsc_known)
		return;
	memset(&g->smsc, 0, sizeof(g->smsc));
	if (g->cfg_smsc != NULL && g->cfg_smsc[0] != '\0') {
		DecodeUTF8(g->smsc.Number, g->cfg_smsc, strlen(g->cfg_smsc));
		g->smsc.Validity.Format = SMS_Validity_RelativeFormat;
		g->smsc.Validity.Relative = SMS_VALID_Max_Time;
		g->smsc.Format = SMS_FORMAT_Text;
		g->smsc_known = 1;
		return;
	}
	g->smsc.Location = 1;
	err = GSM_GetSMSC(g->sm, &g->smsc);
	if (err == ERR_NONE) {
		g->smsc_known = 1;
	} else {
		/* An empty SMSC makes the modem use the SIM's. */
		memset(&g->smsc, 0, sizeof(g->smsc));
		g->smsc.Validity.Format = SMS_Validity_RelativeFormat;
		g->smsc.Validity.Relative = SMS_VALID_Max_Time;
		g->smsc.Format = SMS_FORMAT_Text;
		/* A modem that cannot tell will not tell next time either. */
		if (!outcome_link_error(err))
			g->smsc_known = 1;
		log_warnx("reading the SMSC: %s; sending with the modem's "
		    "default", gsm_strerror(err));
	}
	g->smsc.Location = 0;	/* or libgammu reads it again per part */
}

static void
send_fail(struct send_result *r, int code, int temporary, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
send_fail(struct send_result *r, int code, int temporary, const char *fmt, ...)
{
	va_list ap;

	r->ok = 0;
	r->code = code;
	r->temporary = temporary;
	va_start(ap, fmt);
	vsnprintf(r->error, sizeof(r->error), fmt, ap);
	va_end(ap);
}

/* Sends one part and waits for the network's verdict. */
static void
gsm_send_part(struct gsm *g, GSM_SMSMessage *sms, int i, struct send_result *r)
{
	GSM_Error err;
	long deadline;
	int temporary;
	const char *text;

	g->cb_fired = 0;
	g->cb_waiting = 1;
	err = GSM_SendSMS(g->sm, sms);
	if (err != ERR_NONE) {
		g->cb_waiting = 0;
		send_fail(r, err, outcome_temporary(err), "part %d/%d: %s",
		    i + 1, r->parts, gsm_strerror(err));
		return;
	}
	deadline = gsm_now_ms() + g->send_wait_ms;
	while (!g->cb_fired && gsm_now_ms() < deadline) {
		long t0 = gsm_now_ms();
		if (GSM_ReadDevice(g->sm, TRUE) < 0) {
			g->cb_waiting = 0;
			send_fail(r, ERR_NOTCONNECTED, 1, "part %d/%d: %s",
			    i + 1, r->parts, gsm_strerror(ERR_NOTCONNECTED));
			return;
		}
		if (!g->cb_fired && gsm_now_ms() - t0 < 5) {
			struct timespec ts = { 0, 10 * 1000000L };
			nanosleep(&ts, NULL);
		}
	}
	g->cb_waiting = 0;
	if (!g->cb_fired) {
		send_fail(r, ERR_TIMEOUT, 1, "part %d/%d: no answer from the "
		    "network within %d s", i + 1, r->parts,
		    g->send_wait_ms / 1000);
		return;
	}
	if (g->cb_status != 0) {
		r->cms = g->cb_status;
		outcome_cms(g->cb_status, &temporary, &text);
		send_fail(r, ERR_UNKNOWN, temporary, "part %d/%d: error %d: %s",
		    i + 1, r->parts, g->cb_status, text);
		return;
	}
	r->refs[i] = g->cb_ref;
	r->parts_sent++;
	r->ok = 1;
}

/* Encodes text as libgammu would send it (GSM-7 or UCS-2, concatenated). */
static GSM_Error
gsm_encode(struct gsm *g, const char *text, size_t len, GSM_MultiSMSMessage *m)
{
	GSM_MultiPartSMSInfo *info = g->info;
	unsigned char *ubuf;
	GSM_Error err;

	/* One UTF-16 unit per UTF-8 byte at most, plus the terminator. */
	if ((ubuf = calloc(len + 2, 2)) == NULL)
		fatal("calloc");
	DecodeUTF8(ubuf, text, len);
	GSM_ClearMultiPartSMSInfo(info);
	info->Class = g->next_flash ? 0 : -1;	/* class 0: a flash SMS */
	info->EntriesNum = 1;
	info->Entries[0].ID = SMS_ConcatenatedAutoTextLong;
	info->Entries[0].Buffer = ubuf;
	err = GSM_EncodeMultiPartSMS(GSM_GetDebug(g->sm), info, m);
	info->Entries[0].Buffer = NULL;
	free(ubuf);
	return err;
}

static int
gsm_fits(struct gsm *g, const char *text, int max_parts)
{
	return gsm_encode(g, text, strlen(text), g->out) == ERR_NONE &&
	    g->out->Number <= max_parts;
}

/*
 * The longest start of text that, followed by more, fits max_parts parts
 * in the coding libgammu picks for it (malloc'd), or NULL when text fits
 * whole. The cut falls between characters, never inside an emoji
 * sequence or before a combining mark, and at a space when one is near.
 * more's "…" (U+2026) becomes "..." when the text is GSM-7: the ellipsis
 * alone would make the whole SMS UCS-2 and shorter.
 */
static char *
gsm_fit(struct gsm *g, const char *text, int max_parts, const char *more)
{
	size_t len = strlen(text), n, *off, lo, hi, mid, k;
	char *m2, *p, *best = NULL;
	int gsm7;

	if (gsm_encode(g, text, len, g->out) != ERR_NONE ||
	    g->out->Number <= max_parts)
		return NULL;	/* the caller reports an encoding error */
	gsm7 = g->out->SMS[0].Coding == SMS_Coding_Default_No_Compression;
	if ((m2 = malloc(strlen(more) * 3 + 1)) == NULL)
		fatal("malloc");
	m2[0] = '\0';
	for (const char *q = more; *q != '\0'; ) {
		if (gsm7 && strncmp(q, "\xe2\x80\xa6", 3) == 0) {
			strcat(m2, "...");
			q += 3;
		} else {
			p = m2 + strlen(m2);
			*p++ = *q++;
			*p = '\0';
		}
	}
	if ((off = utf8_offsets(text, len, &n)) == NULL)
		fatal("malloc");
	for (int attempt = 0; attempt < 2 && best == NULL; attempt++) {
		const char *tail = attempt == 0 ? m2 : "";
		/* Fitting is monotonic in the length: binary search on
		 * code points, k fits and hi does not. */
		lo = 0;
		hi = n;
		p = gsm_cut_text(text, 0, tail);
		if (!gsm_fits(g, p, max_parts)) {
			free(p);
			continue;
		}
		free(p);
		while (hi - lo > 1) {
			mid = (lo + hi) / 2;
			p = gsm_cut_text(text, off[mid], tail);
			if (gsm_fits(g, p, max_parts))
				lo = mid;
			else
				hi = mid;
			free(p);
		}
		k = lo;
		while (k > 0 && !utf8_cut_ok(text, len, off[k]))
			k--;
		/* At a word's end when one ends in the last 15 characters. */
		for (size_t w = k; w > 0 && k - w < 15; w--)
			if (text[off[w]] == ' ' && w > 0) {
				k = w;
				break;
			}
		best = gsm_cut_text(text, off[k], tail);
	}
	free(off);
	free(m2);
	return best;
}

void
gsm_send_options(struct gsm *g, int flash, int validity_s)
{
	g->next_flash = flash;
	g->next_validity = validity_s;
}

/* TP-VP, relative format (3GPP TS 23.040 9.2.3.12.1): the smallest
 * period that is at least validity_s, up to 63 weeks. */
static GSM_ValidityPeriod
gsm_relative_validity(int s)
{
	int m = (s + 59) / 60;

	if (m <= 720)
		return (GSM_ValidityPeriod)((m + 4) / 5 - 1 < 0 ? 0 : (m + 4) / 5 - 1);
	if (m <= 1440)
		return (GSM_ValidityPeriod)(143 + (m - 720 + 29) / 30);
	if (s <= 30 * 86400)
		return (GSM_ValidityPeriod)(166 + (s + 86399) / 86400);
	int w = (s + 7 * 86400 - 1) / (7 * 86400);
	return (GSM_ValidityPeriod)(192 + (w > 63 ? 63 : w));
}

void
gsm_send(struct gsm *g, const char *to, const char *text, int report,
    int max_parts, const char *more, struct send_result *r)
{
	GSM_MultiSMSMessage *m = g->out;
	size_t len = strlen(text);
	char *cut = NULL;
	GSM_Error err;

	memset(r, 0, sizeof(*r));
	r->cms = -2;
	if (!gsm_number_valid(to)) {
		send_fail(r, ERR_INVALIDDATA, 0, "invalid recipient number");
		return;
	}
	if (!utf8_valid(text, len) || (more != NULL &&
	    !utf8_valid(more, strlen(more)))) {
		send_fail(r, ERR_INVALIDDATA, 0, "text is not valid UTF-8");
		return;
	}
	/* libgammu stops at 50 parts without a word: refuse long text early. */
	if (utf8_count(text, len) > WORKER_MAX_PARTS * 160) {
		send_fail(r, ERR_INVALIDDATA, 0, "text of %zu characters needs "
		    "more than %d parts", utf8_count(text, len),
		    WORKER_MAX_PARTS);
		return;
	}
	if (!g->connected) {
		send_fail(r, ERR_NOTCONNECTED, 1, "%s",
		    gsm_strerror(ERR_NOTCONNECTED));
		return;
	}
	if (max_parts > 0 && max_parts < WORKER_MAX_PARTS &&
	    (cut = gsm_fit(g, text, max_parts, more ? more : "")) != NULL) {
		log_debug("cut to %d part(s): %s", max_parts, cut);
		text = cut;
		len = strlen(cut);
	}
	err = gsm_encode(g, text, len, m);
	free(cut);
	if (err != ERR_NONE) {
		send_fail(r, err, 0, "encoding: %s", gsm_strerror(err));
		return;
	}
	if (m->Number > WORKER_MAX_PARTS) {
		send_fail(r, ERR_INVALIDDATA, 0, "text needs %s%d parts, at most "
		    "%d are sent", m->Number >= GSM_MAX_MULTI_SMS ? "at least " :
		    "", m->Number, WORKER_MAX_PARTS);
		return;
	}
	r->parts = m->Number;

	/* libgammu takes the reference from the clock: make it per message. */
	unsigned ref = g->next_ref++ & 0xff;
	gsm_smsc_prepare(g);
	for (int i = 0; i < m->Number; i++) {
		GSM_SMSMessage *sms = &m->SMS[i];
		if (sms->UDH.Type == UDH_ConcatenatedMessages) {
			sms->UDH.ID8bit = (int)ref;
			GSM_EncodeUDHHeader(GSM_GetDebug(g->sm), &sms->UDH);
		}
		sms->SMSC = g->smsc;
		if (g->next_validity > 0) {
			sms->SMSC.Validity.Format = SMS_Validity_RelativeFormat;
			sms->SMSC.Validity.Relative = gsm_relative_validity(g->next_validity);
		}
		DecodeUTF8(sms->Number, to, strlen(to));
		sms->PDU = report ? SMS_Status_Report : SMS_Submit;
		r->refs[i] = -1;
	}
	for (int i = 0; i < m->Number; i++) {
		gsm_send_part(g, &m->SMS[i], i, r);
		if (r->parts_sent != i + 1) {
			r->ok = 0;
			return;
		}
		log_debug("sent part %d/%d to %s, reference %d", i + 1,
		    r->parts, to, r->refs[i]);
	}
}

/* For health.c: the state machine while connected, else NULL. */
void *
gsm_state_machine(struct gsm *g)
{
	return g->connected ? g->sm : NULL;
}

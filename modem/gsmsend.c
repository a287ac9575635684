/*
 * gsmsend.c: sending an SMS through libgammu for pigeon-modem (gsm.c
 * connects, lists and deletes): the text encoded, and cut to its cap of
 * parts, as libgammu would send it, the SMSC every part carries, each part
 * sent and its status awaited.
 *
 * libgammu calls back (send status) from inside GSM_SendSMS or
 * GSM_ReadDevice; the callback only records what it was told, and the code
 * that made the call acts on it afterwards.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gammu.h>

#include "gsmint.h"
#include "gsmtext.h"
#include "log.h"
#include "worker.h"

static long
gsm_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Runs inside GSM_SendSMS or GSM_ReadDevice: record, never call libgammu. */
void
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

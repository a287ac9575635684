/*
 * pdu.c: SMS PDUs, built and read with libgammu.
 *
 * Incoming texts become SMS-DELIVER PDUs as a SIM stores them (SMSC address
 * first); AT+CMGS PDUs are SMS-SUBMIT. libgammu splits, encodes and decodes;
 * we only lay its fields out in PDU order (PHONE_SMSDeliver is a layout of
 * offsets, not a PDU) and check every PDU we build by decoding it again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gammu.h>

#include "sim.h"

#define PDU_MAX_OCTETS	200	/* 12 (SMSC) + 164 (longest TPDU) and slack */

static int pdu_next_ref = -1;

void
pdu_part_free(struct pdu_part *p)
{
	free(p->hex);
	free(p->text);
	memset(p, 0, sizeof(*p));
}

void
pdu_submit_free(struct pdu_submit *s)
{
	free(s->text);
	s->text = NULL;
}

/* UTF-8 to gammu's internal UCS-2 (big endian, two NUL bytes at the end). */
static unsigned char *
pdu_ucs2(const char *utf8)
{
	size_t len = strlen(utf8);
	unsigned char *u = calloc(2 * len + 4, 1);

	if (u != NULL)
		DecodeUTF8(u, utf8, len);
	return u;
}

static const char *
pdu_coding_name(GSM_Coding_Type c)
{
	switch (c) {
	case SMS_Coding_Default_No_Compression:
		return "gsm";
	case SMS_Coding_Unicode_No_Compression:
		return "ucs2";
	default:
		return "8bit";
	}
}

/*
 * GSM_EncodeSMSFrame leaves the time zone octet of the time stamp at zero
 * ("FIXME" in libgammu), so we write it: quarters of an hour in swapped
 * BCD, bit 3 for a negative offset (GSM 03.40 9.2.3.11).
 */
static unsigned char
pdu_tz_octet(long gmtoff)
{
	long q = (gmtoff < 0 ? -gmtoff : gmtoff) / 900;
	unsigned char o;

	if (q > 79)
		q = 79;
	o = (unsigned char)(((q % 10) << 4) | (q / 10));
	if (gmtoff < 0)
		o |= 0x08;
	return o;
}

/*
 * Lays out one encoded part in PDU order, the way libgammu's AT driver does
 * for AT+CMGW. Returns the PDU length in octets, SMSC included.
 */
static int
pdu_layout_deliver(GSM_SMSMessage *m, unsigned char *out, int *tpdu_len,
    long gmtoff)
{
	GSM_SMSMessageLayout L = PHONE_SMSDeliver;
	unsigned char frame[1000];
	int flen = 0, n = 0, i, smsc;

	memset(frame, 0, sizeof(frame));
	if (GSM_EncodeSMSFrame(GSM_GetGlobalDebug(), m, frame, L, &flen,
	    TRUE) != ERR_NONE || flen < L.Text)
		return -1;
	for (i = 0; i < frame[L.SMSCNumber] + 1; i++)
		out[n++] = frame[L.SMSCNumber + i];
	smsc = n;
	/* TP-MMS set: no more messages waiting, as SMSCs say. */
	out[n++] = frame[L.firstbyte] | 0x04;
	for (i = 0; i < (frame[L.Number] + 1) / 2 + 2; i++)
		out[n++] = frame[L.Number + i];
	out[n++] = frame[L.TPPID];
	out[n++] = frame[L.TPDCS];
	for (i = 0; i < 7; i++)
		out[n++] = frame[L.DateTime + i];
	out[n - 1] = pdu_tz_octet(gmtoff);
	out[n++] = frame[L.TPUDL];
	if (n + flen - L.Text > PDU_MAX_OCTETS)
		return -1;
	for (i = 0; i < flen - L.Text; i++)
		out[n++] = frame[L.Text + i];
	*tpdu_len = n - smsc;
	return n;
}

/*
 * Decodes what we built; fills p->text and, for the first part, the sender
 * as a phone will read it (libgammu rewrites "00212..." as "+212..."), which
 * later parts must match.
 */
static int
pdu_verify_deliver(const unsigned char *pdu, int len, char *sender,
    size_t sendersz, long gmtoff, struct pdu_part *p)
{
	GSM_SMSMessage *d;
	char num[(GSM_MAX_NUMBER_LENGTH + 1) * 3], text[(GSM_MAX_SMS_LENGTH + 1) * 3];
	size_t fin = 0;
	int ok = 0;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return -1;
	if (GSM_DecodePDUFrame(GSM_GetGlobalDebug(), d, pdu, len, &fin,
	    TRUE) == ERR_NONE && (int)fin == len && d->PDU == SMS_Deliver &&
	    d->DateTime.Timezone == (int)(gmtoff / 900 * 900)) {
		EncodeUTF8(num, d->Number);
		EncodeUTF8(text, d->Text);
		if (*sender == '\0' && strlen(num) < sendersz)
			memcpy(sender, num, strlen(num) + 1);
		if (*num != '\0' && strcmp(num, sender) == 0 &&
		    (p->text = strdup(text)) != NULL)
			ok = 1;
	}
	free(d);
	return ok ? 0 : -1;
}

/* One attempt in one coding; returns parts, 0 when the text did not survive. */
static int
pdu_try_coding(const char *from, const char *smsc, const char *text,
    int ucs2, int ref, time_t when, long gmtoff, struct pdu_part *parts,
    int maxparts, char *sender, size_t sendersz, const char **errstr)
{
	GSM_MultiSMSMessage *ms;
	GSM_MultiPartSMSInfo info;
	unsigned char *u, bin[PDU_MAX_OCTETS];
	char *joined = NULL;
	size_t jlen = 0;
	struct tm tm;
	time_t local = when + gmtoff;
	int i, n = 0, len, rc = -1;

	ms = calloc(1, sizeof(*ms));
	u = pdu_ucs2(text);
	if (ms == NULL || u == NULL) {
		*errstr = "out of memory";
		goto done;
	}
	GSM_ClearMultiPartSMSInfo(&info);
	info.EntriesNum = 1;
	info.Class = -1;
	info.UnicodeCoding = ucs2;
	info.Entries[0].ID = ref >= PDU_REF16 ? SMS_ConcatenatedTextLong16bit :
	    SMS_ConcatenatedTextLong;
	info.Entries[0].Buffer = u;
	if (GSM_EncodeMultiPartSMS(GSM_GetGlobalDebug(), &info, ms) != ERR_NONE) {
		rc = 0;
		goto done;
	}
	if (ms->Number > maxparts) {
		*errstr = "text needs more parts than the SIM can store";
		goto done;
	}
	gmtime_r(&local, &tm);
	*sender = '\0';
	for (i = 0; i < ms->Number; i++) {
		GSM_SMSMessage *m = &ms->SMS[i];

		memset(&parts[n], 0, sizeof(parts[n]));
		m->PDU = SMS_Deliver;
		m->ReplyViaSameSMSC = FALSE;
		DecodeUTF8(m->Number, from, strlen(from));
		DecodeUTF8(m->SMSC.Number, smsc, strlen(smsc));
		m->DateTime.Year = tm.tm_year + 1900;
		m->DateTime.Month = tm.tm_mon + 1;
		m->DateTime.Day = tm.tm_mday;
		m->DateTime.Hour = tm.tm_hour;
		m->DateTime.Minute = tm.tm_min;
		m->DateTime.Second = tm.tm_sec;
		m->DateTime.Timezone = (int)gmtoff;
		if (m->UDH.Type == UDH_ConcatenatedMessages ||
		    m->UDH.Type == UDH_ConcatenatedMessages16bit) {
			/* libgammu took the reference from the clock. */
			if (ref >= PDU_REF16)
				m->UDH.ID16bit = ref - PDU_REF16;
			else
				m->UDH.ID8bit = ref;
			GSM_EncodeUDHHeader(GSM_GetGlobalDebug(), &m->UDH);
			parts[n].ref = ref >= PDU_REF16 ? ref - PDU_REF16 : ref;
			parts[n].seq = m->UDH.PartNumber;
			parts[n].total = m->UDH.AllParts;
		}
		len = pdu_layout_deliver(m, bin, &parts[n].tpdu_len, gmtoff);
		if (len < 0 || (parts[n].hex = malloc(2 * len + 1)) == NULL) {
			*errstr = "cannot encode the SMS";
			goto done;
		}
		EncodeHexBin(parts[n].hex, bin, len);
		n++;
		if (pdu_verify_deliver(bin, len, sender, sendersz, gmtoff,
		    &parts[n - 1]) == -1) {
			*errstr = "sender cannot be encoded";
			goto done;
		}
		size_t tl = strlen(parts[n - 1].text);
		char *nj = realloc(joined, jlen + tl + 1);
		if (nj == NULL) {
			*errstr = "out of memory";
			goto done;
		}
		joined = nj;
		memcpy(joined + jlen, parts[n - 1].text, tl + 1);
		jlen += tl;
	}
	/* GSM-7 silently replaces what it lacks (ç becomes c): compare. */
	rc = joined != NULL && strcmp(joined, text) == 0 ? n : 0;
	/* libgammu stops splitting at GSM_MAX_MULTI_SMS parts, silently. */
	if (rc == 0 && ms->Number >= GSM_MAX_MULTI_SMS)
		*errstr = "text too long: more than 50 parts";
done:
	if (rc <= 0)
		for (i = 0; i < n; i++)
			pdu_part_free(&parts[i]);
	free(joined);
	free(u);
	free(ms);
	return rc;
}

int
pdu_deliver(const char *from, const char *smsc, const char *text, int ref,
    time_t when, long gmtoff, struct pdu_part *parts, int maxparts,
    char *sender, size_t sendersz, const char **errstr)
{
	int n;

	*errstr = NULL;
	if (*from == '\0' || strlen(from) >= SIM_MAX_NUMBER) {
		*errstr = "bad sender";
		return -1;
	}
	if (strlen(text) > SIM_MAX_TEXT) {
		*errstr = "text too long";
		return -1;
	}
	if (ref < 0) {
		/* A fresh reference per message, unlike libgammu's clock. */
		if (pdu_next_ref < 0)
			pdu_next_ref = (int)((time(NULL) ^ getpid()) & 0xff);
		ref = pdu_next_ref;
		pdu_next_ref = (pdu_next_ref + 1) & 0xff;
	}
	n = pdu_try_coding(from, smsc, text, 0, ref, when, gmtoff, parts,
	    maxparts, sender, sendersz, errstr);
	if (n == 0 && *errstr == NULL)
		n = pdu_try_coding(from, smsc, text, 1, ref, when, gmtoff,
		    parts, maxparts, sender, sendersz, errstr);
	if (n <= 0) {
		if (*errstr == NULL)
			*errstr = "text cannot be encoded as GSM-7 or UCS-2";
		return -1;
	}
	return n;
}

static int
pdu_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * Walks the SMS-SUBMIT's structure before libgammu sees it: its decoder
 * trusts the length octets (it copies a UDH of up to 256 octets into a
 * 140-octet buffer), and a modem must refuse what does not add up.
 */
static int
pdu_check_submit(const unsigned char *b, int n, int tpdu_len)
{
	int p, fb, alen, vpf, udl, octets;

	if (n < 1 || b[0] > 12 || 1 + b[0] + tpdu_len != n)
		return -1;
	p = 1 + b[0];
	if (p + 4 > n)
		return -1;
	fb = b[p];
	if ((fb & 0x03) != 0x01)
		return -1;			/* not an SMS-SUBMIT */
	p += 2;					/* first octet, TP-MR */
	alen = b[p];
	if (alen > 20)
		return -1;
	p += 2 + (alen + 1) / 2;		/* length, type, digits */
	if (p + 2 > n)
		return -1;
	GSM_Coding_Type c = GSM_GetMessageCoding(GSM_GetGlobalDebug(),
	    b[p + 1]);
	p += 2;					/* TP-PID, TP-DCS */
	vpf = (fb >> 3) & 0x03;
	p += vpf == 2 ? 1 : vpf == 0 ? 0 : 7;
	if (p + 1 > n)
		return -1;
	udl = b[p++];
	if (c == SMS_Coding_Default_No_Compression) {
		if (udl > 160)
			return -1;
		octets = (udl * 7 + 7) / 8;
	} else {
		if (udl > 140)
			return -1;
		octets = udl;
	}
	if (p + octets != n)
		return -1;
	if ((fb & 0x40) && (octets < 1 || b[p] + 1 > octets))
		return -1;
	return 0;
}

int
pdu_submit(const char *hex, int tpdu_len, struct pdu_submit *out,
    const char **errstr)
{
	unsigned char bin[PDU_MAX_OCTETS];
	char num[(GSM_MAX_NUMBER_LENGTH + 1) * 3];
	char text[(GSM_MAX_SMS_LENGTH + 1) * 3];
	GSM_SMSMessage *m = NULL;
	size_t len = strlen(hex), i, fin = 0;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	*errstr = "invalid PDU";
	if (len == 0 || len % 2 != 0 || len / 2 > sizeof(bin))
		return -1;
	for (i = 0; i < len; i += 2) {
		int hi = pdu_hexval(hex[i]), lo = pdu_hexval(hex[i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		bin[i / 2] = (unsigned char)(hi << 4 | lo);
	}
	if (pdu_check_submit(bin, (int)(len / 2), tpdu_len) == -1)
		return -1;
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return -1;
	if (GSM_DecodePDUFrame(GSM_GetGlobalDebug(), m, bin, len / 2, &fin,
	    TRUE) != ERR_NONE || m->PDU != SMS_Submit || fin != len / 2)
		goto done;
	EncodeUTF8(num, m->Number);
	if (strlen(num) >= sizeof(out->to))
		goto done;
	memcpy(out->to, num, strlen(num) + 1);
	out->coding = pdu_coding_name(m->Coding);
	if (m->Coding == SMS_Coding_8bit) {
		if ((out->text = malloc(2 * m->Length + 1)) == NULL)
			goto done;
		EncodeHexBin(out->text, m->Text, m->Length);
	} else {
		EncodeUTF8(text, m->Text);
		if ((out->text = strdup(text)) == NULL)
			goto done;
	}
	if (m->UDH.Type == UDH_ConcatenatedMessages ||
	    m->UDH.Type == UDH_ConcatenatedMessages16bit) {
		out->ref = m->UDH.Type == UDH_ConcatenatedMessages ?
		    m->UDH.ID8bit : m->UDH.ID16bit;
		out->seq = m->UDH.PartNumber;
		out->total = m->UDH.AllParts;
	}
	out->report = (bin[1 + bin[0]] & 0x20) != 0;
	out->cls = m->Class;
	out->vp = ((bin[1 + bin[0]] >> 3) & 0x03) == 2 ?
	    (int)m->SMSC.Validity.Relative : -1;
	*errstr = NULL;
	rc = 0;
done:
	free(m);
	return rc;
}

/*
 * libgammu encodes no SMS-STATUS-REPORT ("We DON'T CREATE FRAME FOR REAL
 * SMS_STATUS_REPORT"), so we take the SMSC address, recipient address and
 * time stamp from an SMS-DELIVER it encodes for us, set the fixed octets
 * around them (GSM 03.40 9.2.2.3) and check the result with its decoder.
 */
int
pdu_status_report(const struct pdu_submit *sub, int mr, int status,
    const char *smsc, time_t when, long gmtoff, struct pdu_part *out,
    const char **errstr)
{
	GSM_SMSMessageLayout L = PHONE_SMSDeliver;
	GSM_SMSMessage *m;
	unsigned char frame[1000], pdu[PDU_MAX_OCTETS];
	char num[(GSM_MAX_NUMBER_LENGTH + 1) * 3];
	struct tm tm;
	time_t local = when + gmtoff;
	size_t fin = 0;
	int flen = 0, n = 0, i, smsclen, ok = 0;

	memset(out, 0, sizeof(*out));
	*errstr = "cannot encode the status report";
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return -1;
	GSM_SetDefaultSMSData(m);
	m->PDU = SMS_Deliver;
	m->Class = -1;
	DecodeUTF8(m->Number, sub->to, strlen(sub->to));
	DecodeUTF8(m->SMSC.Number, smsc, strlen(smsc));
	gmtime_r(&local, &tm);
	m->DateTime.Year = tm.tm_year + 1900;
	m->DateTime.Month = tm.tm_mon + 1;
	m->DateTime.Day = tm.tm_mday;
	m->DateTime.Hour = tm.tm_hour;
	m->DateTime.Minute = tm.tm_min;
	m->DateTime.Second = tm.tm_sec;
	memset(frame, 0, sizeof(frame));
	if (GSM_EncodeSMSFrame(GSM_GetGlobalDebug(), m, frame, L, &flen,
	    TRUE) != ERR_NONE)
		goto done;
	for (i = 0; i < frame[L.SMSCNumber] + 1; i++)
		pdu[n++] = frame[L.SMSCNumber + i];
	smsclen = n;
	pdu[n++] = 0x06;		/* SMS-STATUS-REPORT, no more messages */
	pdu[n++] = (unsigned char)mr;
	for (i = 0; i < (frame[L.Number] + 1) / 2 + 2; i++)
		pdu[n++] = frame[L.Number + i];
	for (i = 0; i < 2; i++) {	/* TP-SCTS, then TP-DT: the same */
		memcpy(pdu + n, frame + L.DateTime, 7);
		pdu[n + 6] = pdu_tz_octet(gmtoff);
		n += 7;
	}
	pdu[n++] = (unsigned char)status;
	memset(m, 0, sizeof(*m));
	if (GSM_DecodePDUFrame(GSM_GetGlobalDebug(), m, pdu, n, &fin,
	    TRUE) != ERR_NONE || m->PDU != SMS_Status_Report ||
	    m->MessageReference != mr)
		goto done;
	EncodeUTF8(num, m->Number);
	if (strcmp(num, sub->to) != 0)
		goto done;
	if ((out->hex = malloc(2 * n + 1)) == NULL)
		goto done;
	EncodeHexBin(out->hex, pdu, n);
	if (asprintf(&out->text, "status report: %s (TP-ST %d)",
	    status == 0 ? "delivered" : status < 0x40 ? "pending" : "failed",
	    status) == -1) {
		out->text = NULL;
		goto done;
	}
	out->tpdu_len = n - smsclen;
	out->report = 1;
	out->mr = mr;
	out->status = status;
	ok = 1;
	*errstr = NULL;
done:
	if (!ok)
		pdu_part_free(out);
	free(m);
	return ok ? 0 : -1;
}

/*
 * Makes the sender of a built SMS-DELIVER part an alphanumeric sender ID
 * (TOA 0xD0) reading name, GSM-7 packed: what an operator's promotion, or
 * anyone with a bulk SMS account, can send. name is ASCII letters, digits
 * and spaces, at most 11 of them; "0661000001" reads like a number to
 * whoever ignores the TOA. 0, or -1 with *errstr.
 */
int
pdu_alpha_sender(struct pdu_part *p, const char *name, const char **errstr)
{
	unsigned char in[PDU_MAX_OCTETS], out[PDU_MAX_OCTETS + 12], oa[12];
	size_t nl = strlen(name), hl = strlen(p->hex), n, i, o = 0, bits = 0;
	unsigned acc = 0;
	int pos, oalen;

	if (nl == 0 || nl > 11 || strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789 ") != nl) {
		*errstr = "an alphanumeric sender is 1-11 letters, digits, spaces";
		return -1;
	}
	n = hl / 2;
	if (hl % 2 != 0 || n > sizeof(in) ||
	    !DecodeHexBin(in, (unsigned char *)p->hex, hl)) {
		*errstr = "bad PDU";
		return -1;
	}
	/* GSM-7 packing; these characters have their ASCII codes in it. */
	for (i = 0; i < nl; i++) {
		acc |= (unsigned)(name[i] & 0x7f) << bits;
		bits += 7;
		while (bits >= 8) {
			oa[2 + o++] = acc & 0xff;
			acc >>= 8;
			bits -= 8;
		}
	}
	if (bits > 0)
		oa[2 + o++] = acc & 0xff;
	oa[0] = (unsigned char)((nl * 7 + 3) / 4);	/* useful semi-octets */
	oa[1] = 0xd0;
	pos = 1 + in[0] + 1;			/* SMSC, first octet */
	oalen = 2 + (in[pos] + 1) / 2;
	if (pos + oalen > (int)n) {
		*errstr = "bad PDU";
		return -1;
	}
	memcpy(out, in, pos);
	memcpy(out + pos, oa, 2 + o);
	memcpy(out + pos + 2 + o, in + pos + oalen, n - pos - oalen);
	n = n - oalen + 2 + o;
	free(p->hex);
	if ((p->hex = malloc(2 * n + 1)) == NULL) {
		*errstr = "out of memory";
		return -1;
	}
	EncodeHexBin(p->hex, out, n);
	p->tpdu_len = (int)n - 1 - out[0];
	return 0;
}

/*
 * A stored PDU exactly as given (SMSC address first): a truncated, binary
 * or otherwise hostile SMS that libgammu's encoder would never make.
 * Only the hex itself is checked. 0, or -1 with *errstr.
 */
int
pdu_raw(const char *hex, const char *label, struct pdu_part *p,
    const char **errstr)
{
	size_t n = strlen(hex);

	memset(p, 0, sizeof(p[0]));
	for (size_t i = 0; i < n; i++)
		if (pdu_hexval(hex[i]) < 0)
			n = 0;
	if (n < 4 || n % 2 != 0 || n > 2 * PDU_MAX_OCTETS ||
	    (size_t)(pdu_hexval(hex[0]) * 16 + pdu_hexval(hex[1])) + 1 > n / 2) {
		*errstr = "a PDU is hex digits, SMSC address first";
		return -1;
	}
	if ((p->hex = strdup(hex)) == NULL || (p->text = strdup(label)) == NULL) {
		pdu_part_free(p);
		*errstr = "out of memory";
		return -1;
	}
	for (char *c = p->hex; *c != '\0'; c++)
		if (*c >= 'a' && *c <= 'f')
			*c -= 'a' - 'A';
	p->tpdu_len = (int)(n / 2) - 1 - (pdu_hexval(hex[0]) * 16 +
	    pdu_hexval(hex[1]));
	return 0;
}

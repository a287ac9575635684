/*
 * gsmlog.c: what libgammu's debug log tells that its structures do not.
 *
 * GSM_SMSMessage keeps the sender as a string and drops its type of
 * address (TOA): an alphanumeric sender ID "0661000001" (TOA 0xD0) and the
 * national number 0661000001 (TOA 0x81) read the same. libgammu's PDU
 * decoder does log the TOA ("Number type d0 (...)") before it logs the
 * decoded sender ("Remote number : ..."), and the AT driver logs each
 * stored PDU it takes from its AT+CMGL listing ("Getting message from
 * cache", then the PDU's hex) before decoding it. The worker gives the
 * state machine this file's log function at the "text" level: it keeps
 * those facts for the current GSM_GetNextSMS call and copies every line
 * to the operator's logfile when one is configured. A driver that
 * decodes no PDU (the dummy driver reads backup files) logs neither: its
 * senders' type is unknown.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gammu.h>

#include "log.h"
#include "worker.h"

#define GSMLOG_LINE	1024	/* longer lines are only copied to the file */
#define GSMLOG_TOAS	8	/* remote numbers remembered per call */

struct gsmlog {
	FILE	*file;		/* the operator's logfile, or NULL */
	char	 line[GSMLOG_LINE];
	size_t	 len;
	int	 overflow;	/* the current line did not fit */
	int	 want_pdu;	/* the next line is a stored PDU */
	int	 toa_pending;	/* TOA of the number being decoded, -1 none */
	int	 toas[GSMLOG_TOAS];	/* TOAs of the remote numbers, oldest first */
	int	 ntoa;
	char	 pdu[GSMLOG_PDU_MAX + 1];	/* hex, "" when none */
};

struct gsmlog *
gsmlog_new(const char *path)
{
	struct gsmlog *l = calloc(1, sizeof(*l));

	if (l == NULL)
		fatal("calloc");
	if (path != NULL && path[0] != '\0' &&
	    (l->file = fopen(path, "a")) == NULL)
		log_warn("libgammu log file %s", path);
	gsmlog_reset(l);
	return l;
}

void
gsmlog_free(struct gsmlog *l)
{
	if (l == NULL)
		return;
	if (l->file != NULL)
		fclose(l->file);
	free(l);
}

void
gsmlog_reset(struct gsmlog *l)
{
	l->want_pdu = 0;
	l->toa_pending = -1;
	l->ntoa = 0;
	l->pdu[0] = '\0';
}

/* The text after the date prefix of the *date log formats, if any. */
static const char *
gsmlog_body(const char *line)
{
	const char *p = strstr(line, ": ");

	/* "Fri 2026/12/04 17:20:42: text": a date has '/' before it. */
	if (p != NULL && p - line >= 19 && p - line <= 24 && line[3] == ' ' &&
	    line[8] == '/')
		return p + 2;
	return line;
}

static int
gsmlog_is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strchr("0123456789ABCDEFabcdef", s[i]) == NULL || s[i] == '\0')
			return 0;
	return 1;
}

void
gsmlog_line(struct gsmlog *l, const char *line)
{
	const char *b = gsmlog_body(line), *p;
	size_t n;

	if (l->want_pdu) {
		l->want_pdu = 0;
		n = strlen(b);
		/* As libgammu's AT driver strips it: a trailing ",0". */
		while (n >= 2 && b[n - 1] == '0' && b[n - 2] == ',')
			n -= 2;
		if (n <= GSMLOG_PDU_MAX && gsmlog_is_hex(b, n)) {
			memcpy(l->pdu, b, n);
			l->pdu[n] = '\0';
			return;
		}
	}
	if (strncmp(b, "Getting message from cache", 26) == 0) {
		l->want_pdu = 1;
		l->pdu[0] = '\0';
	} else if (strncmp(b, "Number Length=", 14) == 0) {
		l->toa_pending = -1;	/* an empty number logs no type */
	} else if (strncmp(b, "Number type ", 12) == 0) {
		unsigned long v = strtoul(b + 12, (char **)&p, 16);
		l->toa_pending = p != b + 12 && v <= 0xff ? (int)v : -1;
	} else if (strncmp(b, "Remote number : ", 16) == 0) {
		if (l->ntoa == GSMLOG_TOAS) {
			memmove(l->toas, l->toas + 1, sizeof(l->toas) - sizeof(int));
			l->ntoa--;
		}
		l->toas[l->ntoa++] = l->toa_pending;
		l->toa_pending = -1;
	}
}

/* GSM_Log_Function: libgammu writes pieces of lines, and "\n" alone. */
void
gsmlog_write(const char *text, void *arg)
{
	struct gsmlog *l = arg;
	const char *nl;
	size_t n;

	if (l->file != NULL) {
		fputs(text, l->file);
		if (strchr(text, '\n') != NULL)
			fflush(l->file);
	}
	while (*text != '\0') {
		nl = strchr(text, '\n');
		n = nl != NULL ? (size_t)(nl - text) : strlen(text);
		if (l->len + n < sizeof(l->line)) {
			memcpy(l->line + l->len, text, n);
			l->len += n;
		} else {
			l->overflow = 1;
		}
		if (nl == NULL)
			break;
		l->line[l->len] = '\0';
		if (!l->overflow)
			gsmlog_line(l, l->line);
		l->len = 0;
		l->overflow = 0;
		text = nl + 1;
	}
}

int
gsmlog_toa(const struct gsmlog *l, int i, int n)
{
	/* The last n numbers decoded are the n SMS returned: a cached PDU
	 * that failed and was read again logs its number twice. */
	int k = l->ntoa - n + i;

	return n > 0 && i >= 0 && i < n && k >= 0 && k < l->ntoa ?
	    l->toas[k] : -1;
}

const char *
gsmlog_pdu(const struct gsmlog *l)
{
	return l->pdu;
}

/*
 * Decodes a stored PDU's hex (SMSC address first, as AT+CMGL gives it)
 * the way libgammu's AT driver does, into *sms: ERR_NONE or why not.
 * Length octets are checked first: libgammu's decoder trusts the UDH
 * length (it copies up to 256 octets into a 140-octet field).
 */
int
gsmlog_pdu_decode(const char *hex, void *out)
{
	GSM_SMSMessage *sms = out;
	unsigned char buf[GSMLOG_PDU_MAX / 2 + 1];
	size_t n = strlen(hex), fin = 0, p;
	int fb, udl, dcs, octets;
	GSM_Error err;

	if (n == 0 || n % 2 != 0 || n > GSMLOG_PDU_MAX || !gsmlog_is_hex(hex, n) ||
	    !DecodeHexBin(buf, (const unsigned char *)hex, n))
		return ERR_CORRUPTED;
	n /= 2;
	/* SMSC, first octet, [TP-MR], address: as GSM 03.40 lays them out. */
	if (buf[0] > 11 || (size_t)buf[0] + 2 > n)
		return ERR_CORRUPTED;
	p = 1 + buf[0];
	fb = buf[p++];
	if ((fb & 0x03) == 0x02 || (fb & 0x03) == 0x01)
		p++;				/* TP-MR */
	if (p + 2 > n || buf[p] > 20)
		return ERR_CORRUPTED;
	p += 2 + (buf[p] + 1) / 2;
	if ((fb & 0x03) == 0x00) {
		/* SMS-DELIVER: PID, DCS, SCTS, UDL, UD. */
		if (p + 10 > n)
			return ERR_CORRUPTED;
		dcs = buf[p + 1];
		p += 9;
		udl = buf[p];
		octets = GSM_GetMessageCoding(GSM_GetGlobalDebug(), (char)dcs) ==
		    SMS_Coding_Default_No_Compression ? (udl * 7 + 7) / 8 : udl;
		if (p + 1 + (size_t)octets > n)
			return ERR_CORRUPTED;
		if ((fb & 0x40) && (udl == 0 || p + 2 > n ||
		    buf[p + 1] + 1 > octets || buf[p + 1] + 1 > GSM_MAX_UDH_LENGTH))
			return ERR_CORRUPTED;
	}
	memset(sms, 0, sizeof(*sms));
	err = GSM_DecodePDUFrame(GSM_GetGlobalDebug(), sms, buf, n, &fin, TRUE);
	if (err == ERR_NONE && fin != n && buf[fin] != 0xff && buf[fin] != 0x89 &&
	    sms->PDU != SMS_Status_Report)
		err = ERR_UNKNOWN;	/* the AT driver refuses trailing data */
	return err;
}

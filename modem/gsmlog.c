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
	void	(*unsafe)(void *);	/* called with a PDU libgammu cannot take */
	void	*unsafe_arg;
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
		if (n > 0 && gsmlog_is_hex(b, n)) {
			/* Longer than any SMS: kept cut, and unsafe. */
			size_t k = n <= GSMLOG_PDU_MAX ? n : GSMLOG_PDU_MAX;
			memcpy(l->pdu, b, k);
			l->pdu[k] = '\0';
			/* libgammu decodes it right after logging it. */
			int unsafe = k < n;
			if (!unsafe)
				(void)gsmlog_pdu_check(l->pdu, &unsafe);
			if (l->unsafe != NULL && unsafe)
				l->unsafe(l->unsafe_arg);
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
		text = nl + 1;
		/* Reset first: gsmlog_line may not return (the unsafe hook). */
		l->len = 0;
		if (!l->overflow)
			gsmlog_line(l, l->line);
		l->overflow = 0;
	}
}

void
gsmlog_set_unsafe(struct gsmlog *l, void (*fn)(void *), void *arg)
{
	l->unsafe = fn;
	l->unsafe_arg = arg;
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
 * Walks a stored PDU as GSM 03.40 lays it out, checking every length:
 * ERR_NONE, or ERR_CORRUPTED when something does not add up. *unsafe is
 * set when libgammu 1.42's decoder would write past one of its buffers,
 * in the order it reads the fields (what it refuses by itself first is
 * safe): a 7-bit TP-UDL over 160 is unpacked into a 161-octet array on
 * its stack (found by tests/fuzz/fuzz_pdu.c: "stack smashing", the
 * process aborts), an address of 200 digits or more into a 201-octet one,
 * a UDH longer than 140 octets over the sender it has decoded.
 */
int
gsmlog_pdu_check(const char *hex, int *unsafe)
{
	unsigned char b[GSMLOG_PDU_MAX / 2 + 1];
	size_t n = strlen(hex), p;
	int fb, type, dcs = 0, udl, octets, vpf, pi, seven, bad = ERR_NONE;

	*unsafe = 0;
	if (n == 0 || n % 2 != 0 || n > GSMLOG_PDU_MAX || !gsmlog_is_hex(hex, n) ||
	    !DecodeHexBin(b, (const unsigned char *)hex, n))
		return ERR_CORRUPTED;
	n /= 2;
	/* The SMSC: libgammu takes up to 200 octets into a 201-octet
	 * buffer, two digits an octet. */
	if (b[0] > n)
		return ERR_CORRUPTED;
	if (b[0] >= 101) {
		*unsafe = 1;
		return ERR_CORRUPTED;
	}
	if (b[0] > 11 || (size_t)b[0] + 2 > n)
		return ERR_CORRUPTED;		/* no SMSC has over 20 digits */
	p = 1 + b[0];
	fb = b[p++];
	type = fb & 0x03;
	if (type == 3)
		return ERR_CORRUPTED;
	if (type != 0)
		p++;				/* TP-MR */
	if (p + 2 > n || b[p] > n)
		return ERR_CORRUPTED;
	if (b[p] >= 199) {
		*unsafe = 1;
		return ERR_CORRUPTED;
	}
	if (b[p] > 20)
		bad = ERR_CORRUPTED;		/* a number has at most 20 digits */
	p += 2 + (b[p] + 1) / 2;
	if (type == 2) {
		/* SMS-STATUS-REPORT: SCTS, DT, ST, then optional PI. */
		p += 15;
		if (p > n)
			return ERR_CORRUPTED;
		if (p == n || b[p] == 0xff)
			return bad;
		pi = b[p++];
		if (pi & 1)
			p++;
		if (pi & 2) {
			if (p >= n)
				return ERR_CORRUPTED;
			dcs = b[p++];
		}
		if (!(pi & 4))
			return p <= n ? bad : ERR_CORRUPTED;
	} else {
		if (p + 2 > n)
			return ERR_CORRUPTED;
		dcs = b[p + 1];
		p += 2;				/* TP-PID, TP-DCS */
		if (type == 0) {
			p += 7;			/* TP-SCTS */
		} else {
			vpf = (fb >> 3) & 0x03;
			p += vpf == 2 ? 1 : vpf == 0 ? 0 : 7;
		}
	}
	if (p >= n)
		return ERR_CORRUPTED;
	udl = b[p];
	seven = GSM_GetMessageCoding(GSM_GetGlobalDebug(), (char)dcs) ==
	    SMS_Coding_Default_No_Compression;
	octets = seven ? (udl * 7 + 7) / 8 : udl;
	if (p + (size_t)octets >= n)
		return ERR_CORRUPTED;		/* libgammu says so too */
	/*
	 * It copies a UDH of the length the UDH says, up to 256 octets, into
	 * a 140-octet field: past the PDU it read, and over the sender it
	 * has just decoded (the fields after the UDH).
	 */
	if ((fb & 0x40) && (b[p + 1] + 1 > GSM_MAX_UDH_LENGTH ||
	    p + 2 + (size_t)b[p + 1] > n)) {
		*unsafe = 1;
		return ERR_CORRUPTED;
	}
	if (seven && udl > GSM_MAX_SMS_CHARS_LENGTH) {
		*unsafe = 1;
		return ERR_CORRUPTED;
	}
	if (udl > 140 + seven * 20 || ((fb & 0x40) && (octets == 0 ||
	    b[p + 1] + 1 > octets)))
		return ERR_CORRUPTED;
	return bad;
}

/*
 * Decodes a stored PDU's hex (SMSC address first, as AT+CMGL gives it)
 * the way libgammu's AT driver does, into *sms: ERR_NONE or why not.
 */
int
gsmlog_pdu_decode(const char *hex, void *out)
{
	GSM_SMSMessage *sms = out;
	unsigned char buf[GSMLOG_PDU_MAX / 2 + 1];
	size_t n = strlen(hex), fin = 0;
	GSM_Error err;

	int unsafe;

	if (gsmlog_pdu_check(hex, &unsafe) != ERR_NONE ||
	    !DecodeHexBin(buf, (const unsigned char *)hex, n))
		return ERR_CORRUPTED;
	n /= 2;
	memset(sms, 0, sizeof(*sms));
	err = GSM_DecodePDUFrame(GSM_GetGlobalDebug(), sms, buf, n, &fin, TRUE);
	if (err == ERR_NONE && fin != n && buf[fin] != 0xff && buf[fin] != 0x89 &&
	    sms->PDU != SMS_Status_Report)
		err = ERR_UNKNOWN;	/* the AT driver refuses trailing data */
	return err;
}

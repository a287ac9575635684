/*
 * libFuzzer target: a stored SMS PDU from the network as pigeon-modem
 * reads it (issue 14, item 13). The input is the PDU's octets, SMSC
 * address first. It goes through what the worker does with it: the AT
 * driver's debug log lines that gsmlog.c reads (the PDU's hex, the type
 * of the remote number), libgammu's decoder itself on every PDU that
 * gsmlog_pdu_check does not call unsafe (as the AT driver decodes it),
 * gsmlog_pdu_decode, and gsm_part_fill (modem/gsmpart.c), which makes
 * the `sms` event's fields. Checks that every field
 * is terminated within its buffer and that the sender type comes only
 * from the last number decoded.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gammu.h>

#include "log.h"
#include "worker.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
terminated(const char *s, size_t size)
{
	if (memchr(s, '\0', size) == NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct gsmlog *l;
	static GSM_SMSMessage *sms;
	static struct sms_part *p;
	char hex[GSMLOG_PDU_MAX + 64], line[GSMLOG_PDU_MAX + 96];
	static const char digits[] = "0123456789ABCDEF";
	size_t n = size < GSMLOG_PDU_MAX / 2 ? size : GSMLOG_PDU_MAX / 2;

	if (l == NULL) {
		log_init("fuzz_pdu", 0, 0);
		l = gsmlog_new(NULL);
		sms = malloc(sizeof(*sms));
		p = malloc(sizeof(*p));
		if (l == NULL || sms == NULL || p == NULL)
			abort();
	}
	for (size_t i = 0; i < n; i++) {
		hex[2 * i] = digits[data[i] >> 4];
		hex[2 * i + 1] = digits[data[i] & 0xf];
	}
	hex[2 * n] = '\0';

	/* The log as the AT driver writes it around one cached SMS, in
	 * pieces and with a date prefix, as gsmlog_write receives it. */
	gsmlog_reset(l);
	gsmlog_write("Fri 2026/12/04 17:20:42: Getting message from cache\n", l);
	snprintf(line, sizeof(line), "%s\n", hex);
	gsmlog_write(line, l);
	if (size > 0) {
		snprintf(line, sizeof(line), "Number type %02x (1 1 0 1|0 0 0 0)\n", data[0]);
		gsmlog_write("Number Len", l);
		gsmlog_write("gth=10\n", l);
		gsmlog_write(line, l);
		gsmlog_write("Remote number : \"x\"\n", l);
		if (gsmlog_toa(l, 0, 1) != data[0])
			abort();
	}
	if (strcmp(gsmlog_pdu(l), hex) != 0 && n > 0)
		abort();
	/* The raw bytes as a log line too: any text must be safe there. */
	memcpy(line, data, size < sizeof(line) - 1 ? size : sizeof(line) - 1);
	line[size < sizeof(line) - 1 ? size : sizeof(line) - 1] = '\0';
	gsmlog_line(l, line);

	/* What the AT driver does with any PDU we do not stop (gsm.c jumps
	 * out of libgammu on an unsafe one): its decoder must survive it. */
	int unsafe;
	(void)gsmlog_pdu_check(hex, &unsafe);
	if (!unsafe && n > 0) {
		/* The AT driver's buffer has one octet more. */
		unsigned char *copy = calloc(1, n + 1);
		size_t fin = 0;
		if (copy == NULL)
			abort();
		memcpy(copy, data, n);
		(void)GSM_DecodePDUFrame(GSM_GetGlobalDebug(), sms, copy, n, &fin, TRUE);
		free(copy);
	}
	if (gsmlog_pdu_decode(hex, sms) == ERR_NONE) {
		gsm_part_fill(p, sms);
		terminated(p->sender, sizeof(p->sender));
		terminated(p->smsc, sizeof(p->smsc));
		terminated(p->time, sizeof(p->time));
		terminated(p->text, sizeof(p->text));
		terminated(p->discharge_time, sizeof(p->discharge_time));
		if (p->coding == NULL)
			abort();
		/* What jstr() makes of them must be valid UTF-8. */
		char *clean = utf8_sanitize(p->text, strlen(p->text), NULL);
		if (clean == NULL || !utf8_valid(clean, strlen(clean)))
			abort();
		free(clean);
	}
	return 0;
}

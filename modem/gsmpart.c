/*
 * gsmpart.c: a stored SMS as libgammu decoded it (GSM_SMSMessage) to the
 * fields of the `sms` event (struct sms_part). Pure, apart from log
 * lines: tests/fuzz/fuzz_pdu.c runs it on what libgammu makes of any PDU.
 */
#include <stdio.h>
#include <string.h>

#include <gammu.h>

#include "gsmtext.h"
#include "log.h"
#include "worker.h"

/* ISO 8601 with the offset the timestamp carries. */
static void
gsm_format_time(char *buf, size_t len, const GSM_DateTime *dt)
{
	int tz = dt->Timezone;
	char sign = '+';

	if (dt->Year == 0) {
		buf[0] = '\0';
		return;
	}
	if (tz < 0) {
		sign = '-';
		tz = -tz;
	}
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d",
	    dt->Year % 10000, dt->Month % 100, dt->Day % 100, dt->Hour % 100,
	    dt->Minute % 100, dt->Second % 100, sign, (tz / 3600) % 100,
	    (tz % 3600) / 60);
}

/* EncodeUTF8 of a fixed-size libgammu string that may lack its terminator. */
static void
gsm_utf8(char *dst, const unsigned char *src, size_t srcsize)
{
	unsigned char tmp[(GSM_MAX_SMS_LENGTH + 2) * 2];
	size_t n = srcsize < sizeof(tmp) - 2 ? srcsize : sizeof(tmp) - 2;

	n &= ~(size_t)1;
	memcpy(tmp, src, n);
	tmp[n] = tmp[n + 1] = 0;
	dst[0] = '\0';
	EncodeUTF8(dst, tmp);
}

/*
 * What libgammu leaves unsaid of a UDH (udh.c): the concatenation of a
 * header it did not recognise whole (one more IE, a language shift, beside
 * it), and an application port. An SMS addressed to a port is for an
 * application (WAP push, vCard, a SIM toolkit applet), never a command
 * nor a post, whatever its alphabet: it is reported as `8bit`, which
 * pigeond stores and never applies, its text as the hex of its UTF-8.
 */
static void
gsm_part_udh(struct sms_part *p, const GSM_SMSMessage *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char tmp[sizeof(p->text)];
	struct udh_info u;
	size_t n = (size_t)s->UDH.Length;

	if (n > sizeof(s->UDH.Text))
		n = sizeof(s->UDH.Text);
	udh_walk(s->UDH.Text, n, &u);
	if (!p->udh && u.concat) {
		p->udh = 1;
		p->udh_ref = u.ref;
		p->udh_total = u.total;
		p->udh_seq = u.seq;
	}
	if (u.port < 0 || strcmp(p->coding, "8bit") == 0)
		return;
	log_info("SMS at folder %d location %d is addressed to application "
	    "port %d: stored as binary, not applied", s->Folder, s->Location,
	    u.port);
	memcpy(tmp, p->text, sizeof(tmp));
	n = strlen(tmp);
	if (n * 2 >= sizeof(p->text))
		n = (sizeof(p->text) - 1) / 2;
	for (size_t i = 0; i < n; i++) {
		p->text[2 * i] = hex[(unsigned char)tmp[i] >> 4];
		p->text[2 * i + 1] = hex[(unsigned char)tmp[i] & 0xf];
	}
	p->text[2 * n] = '\0';
	p->coding = "8bit";
}

void
gsm_part_fill(struct sms_part *p, const void *sms)
{
	const GSM_SMSMessage *s = sms;
	static const char hex[] = "0123456789ABCDEF";

	memset(p, 0, sizeof(*p));
	p->folder = s->Folder;
	p->location = s->Location;
	gsm_utf8(p->sender, s->Number, sizeof(s->Number));
	gsm_utf8(p->smsc, s->SMSC.Number, sizeof(s->SMSC.Number));
	gsm_format_time(p->time, sizeof(p->time), &s->DateTime);
	if (s->DateTime.Year != 0 && (s->DateTime.Timezone > 15 * 3600 + 59 * 60 ||
	    s->DateTime.Timezone < -(15 * 3600 + 59 * 60)))
		log_warnx("SMS at folder %d location %d: time zone offset %s "
		    "is beyond +-15:59; it is stored without its time stamp",
		    s->Folder, s->Location, p->time + 19);
	switch (s->Coding) {
	case SMS_Coding_8bit: {
		size_t n = s->Length < 0 ? 0 : (size_t)s->Length;
		if (n > sizeof(s->Text))
			n = sizeof(s->Text);
		if (n * 2 >= sizeof(p->text))
			n = (sizeof(p->text) - 1) / 2;
		for (size_t i = 0; i < n; i++) {
			p->text[2 * i] = hex[s->Text[i] >> 4];
			p->text[2 * i + 1] = hex[s->Text[i] & 0xf];
		}
		p->text[2 * n] = '\0';
		p->coding = "8bit";
		break;
	}
	case SMS_Coding_Unicode_No_Compression:
	case SMS_Coding_Unicode_Compression: {
		unsigned char u[sizeof(s->Text) + 4];
		memcpy(u, s->Text, sizeof(s->Text));
		u[sizeof(s->Text)] = u[sizeof(s->Text) + 1] = 0;
		gsm_mark_cut_pair(u, sizeof(u));
		gsm_utf8(p->text, u, sizeof(u));
		p->coding = "ucs2";
		break;
	}
	default: {
		unsigned char u[sizeof(s->Text) + 4];
		memcpy(u, s->Text, sizeof(s->Text));
		u[sizeof(s->Text)] = u[sizeof(s->Text) + 1] = 0;
		if ((s->UDH.ID8bit != -1 || s->UDH.ID16bit != -1) &&
		    s->UDH.PartNumber > 0 && s->UDH.PartNumber < s->UDH.AllParts)
			gsm_mark_cut_escape(u, sizeof(u));	/* another follows */
		gsm_utf8(p->text, u, sizeof(u));
		p->coding = "gsm";
		break;
	}
	}
	p->cls = s->Class;
	p->sender_toa = -1;
	if ((s->UDH.ID8bit != -1 || s->UDH.ID16bit != -1) &&
	    s->UDH.AllParts > 0 && s->UDH.PartNumber > 0) {
		p->udh = 1;
		p->udh_ref = s->UDH.ID8bit != -1 ? s->UDH.ID8bit : s->UDH.ID16bit;
		p->udh_total = s->UDH.AllParts;
		p->udh_seq = s->UDH.PartNumber;
	}
	if (s->UDH.Type != UDH_NoUDH && s->UDH.Length > 0)
		gsm_part_udh(p, s);
	if (s->PDU == SMS_Status_Report) {
		p->status_report = 1;
		p->msg_ref = s->MessageReference;
		p->delivery_status = s->DeliveryStatus;
		gsm_format_time(p->discharge_time, sizeof(p->discharge_time),
		    &s->SMSCTime);
	}
}

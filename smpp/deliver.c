/*
 * deliver.c: a deliver_sm (or data_sm) told to pigeond: an MO part as an
 * `sms` event, a delivery receipt as a `report` (docs/modem-protocol.md,
 * "SMPP links"). Which one it is (deliver_is_receipt), the receipt's
 * text and TLVs, the sender with its TON/NPI, the key pigeond dedupes on.
 * The channel itself (emit, msg_new, the config) is main.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "log.h"
#include "smpp.h"
#include "chanint.h"

/* Two identical texts from one phone share the key too: pigeond keeps it
 * for dedupe over a bounded time, as the modems' (sender, SMSC time). */
static void
deliver_key(const struct deliver *d, char *out, size_t size)
{
	snprintf(out, size, "smpp:%016llx", (unsigned long long)deliver_hash(d));
}

/* The sender as pigeond reads it: an international number (TON 1) with
 * its `+`; any other as it came (sender_toa tells what it is). */
static void
sender_of(const struct deliver *d, char *out, size_t size)
{
	/* Some SMSCs write an international number with its dialling
	 * prefix (00212...): +00212... was no number to pigeond, and the
	 * member's MO was never applied. */
	if (d->source_ton == 1 && strncmp(d->source, "00", 2) == 0 &&
	    d->source[2] >= '1' && d->source[2] <= '9')
		snprintf(out, size, "+%s", d->source + 2);
	/* Others write a national number (0661234567) with TON 1. No
	 * international number starts with 0: it is read as TON 2's, as
	 * it came, and pigeond puts the country before it (the member a
	 * modem sees); +0661234567 was no number, the MO never applied. */
	else if (d->source_ton == 1 && d->source[0] == '0')
		snprintf(out, size, "%s", d->source);
	else if (d->source_ton == 1 && d->source[0] != '+' && d->source[0] != '\0')
		snprintf(out, size, "+%s", d->source);
	else
		snprintf(out, size, "%s", d->source);
}

/*
 * The sender's type of address as a modem's TP-OA gives it (GSM 03.40
 * 9.1.2.5: 1, TON in bits 4-6, NPI in bits 0-3): TON 5 alphanumeric is
 * 0xD0, which pigeond stores and never takes for a number. Without it, a
 * sender ID of digits ("0661000001", chosen by anyone with a bulk SMS
 * account) was normalised to that subscriber's number, and the stranger
 * posted, followed or stopped as them.
 */
static int
sender_toa(const struct deliver *d)
{
	return 0x80 | (d->source_ton & 0x07) << 4 | (d->source_npi & 0x0f);
}

/* A receipt's state of the SMSC's own (none of SMPP 3.4's 1-8). */
#define STATE_OWN	9

static void
emit_report(long long handle, uint32_t seq, const struct deliver *d,
    const char *key)
{
	json_t *m = msg_new("report");
	char text[256], recipient[32], ids[1][SMPP_ID_SIZE], rid[SMPP_ID_SIZE];
	struct receipt rc;
	size_t n = d->sm_len < sizeof(text) - 1 ? d->sm_len : sizeof(text) - 1;
	int state = d->message_state;

	memcpy(text, d->sm, n);
	text[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if (text[i] == '\0')
			text[i] = ' ';
	if (receipt_parse(text, n, &rc) == -1)
		memset(&rc, 0, sizeof(rc));
	/* Written as the submit_sm_resp's id was (smpp_id_clean), so that
	 * bytes pigeond cannot take still meet. */
	smpp_id_clean(rc.id);
	memcpy(rid, d->receipted_id, sizeof(rid));
	smpp_id_clean(rid);
	/* The TLV, where given, is the id as submit_sm_resp wrote it. */
	snprintf(ids[0], sizeof(ids[0]), "%s", rid[0] != '\0' ? rid : rc.id);
	/* One source for stat, delivered and final: the message_state TLV
	 * where given (the SMSC's field for it; the text is free-form),
	 * else the text's stat:. Both were used, and message_state 2 with
	 * stat:UNDELIV made a report delivered with stat UNDELIV. */
	if (state >= 0 && smpp_state_of_stat(rc.stat) != state) {
		if (rc.stat[0] != '\0')
			log_warnx("receipt %s: message_state %d but stat:%s in its "
			    "text; message_state taken", rc.id, state, rc.stat);
		snprintf(rc.stat, sizeof(rc.stat), "%s", smpp_stat_of_state(state));
	}
	if (state < 0)
		state = smpp_state_of_stat(rc.stat);
	/* A stat word of the SMSC's own (FAILED, ERROR, BLOCKED...): a
	 * final failure, as a message_state of its own is (its word is what
	 * the history says). Taken for not final, its message stayed sent
	 * for good. */
	if (state < 0 && rc.stat[0] != '\0')
		state = STATE_OWN;
	sender_of(d, recipient, sizeof(recipient));
	json_object_set_new(m, "folder", json_integer(0));
	json_object_set_new(m, "location", json_integer(handle));
	json_object_set_new(m, "seq", json_integer(seq));
	json_object_set_new(m, "key", json_string(key));
	json_object_set_new(m, "message_id", jstr(ids[0]));
	if (rc.id[0] != '\0')
		json_object_set_new(m, "text_id", jstr(rc.id));
	json_object_set_new(m, "keys", keys_array(ids, 1));
	if (rc.id[0] != '\0' && rid[0] != '\0') {
		/* Both given: match on either. */
		char t[1][SMPP_ID_SIZE];
		snprintf(t[0], sizeof(t[0]), "%s", rc.id);
		json_t *more = keys_array(t, 1);
		json_array_extend(json_object_get(m, "keys"), more);
		json_decref(more);
	}
	json_object_set_new(m, "recipient", jstr(recipient));
	json_object_set_new(m, "stat", jstr(rc.stat[0] ? rc.stat : "UNKNOWN"));
	json_object_set_new(m, "err", jstr(rc.err));
	json_object_set_new(m, "state", json_integer(state));
	json_object_set_new(m, "delivered", json_boolean(state == 2));
	json_object_set_new(m, "final", json_boolean(state >= 2 && state != 6 &&
	    state != 7));
	json_object_set_new(m, "submit_date", jstr(rc.submit_date));
	json_object_set_new(m, "done_date", jstr(rc.done_date));
	json_object_set_new(m, "text", jstr(text));
	emit(m);
}

/*
 * A receipt, whatever its esm_class: some SMSCs send theirs with 0, the
 * receipted_message_id and message_state TLVs present, or only the text.
 * Taken for an MO, it was published as the recipient's post to every
 * follower ("id:... stat:DELIVRD ...") and the message never turned
 * delivered. A text is a receipt's when it begins with `id:` and has a
 * `stat:` word a receipt uses; a part of a long MO (a UDH) never is.
 */
int
deliver_is_receipt(const struct deliver *d)
{
	char text[256];
	struct receipt rc;
	size_t n = d->sm_len < sizeof(text) - 1 ? d->sm_len : sizeof(text) - 1;
	size_t i = 0;

	if ((d->esm_class >> 2) & 0x0f)
		return 1;
	if (d->receipted_id[0] != '\0' || d->message_state >= 0)
		return 1;
	if ((d->esm_class & 0x40) || d->data_coding == 8 || n < 3)
		return 0;
	memcpy(text, d->sm, n);
	text[n] = '\0';
	while (i < n && text[i] == ' ')
		i++;
	/* A stat word of its own too, with the receipt's other fields. */
	return strncasecmp(text + i, "id:", 3) == 0 &&
	    memchr(text, '\0', n) == NULL &&
	    receipt_parse(text, n, &rc) == 0 && (smpp_state_of_stat(rc.stat) >= 0 ||
	    (rc.stat[0] != '\0' && (rc.err[0] != '\0' || rc.done_date[0] != '\0')));
}

void
main_deliver(long long handle, uint32_t seq, const struct deliver *d,
    int again, int receipt)
{
	char key[40], sender[32];
	const uint8_t *ud = d->sm;
	size_t len = d->sm_len;
	int ref = -1, total = 0, part = 0;
	const char *coding;
	json_t *m;
	char *text;

	deliver_key(d, key, sizeof(key));
	log_debug("deliver_sm %u from %s esm 0x%02x dc %u, %zu bytes", seq, d->source, d->esm_class, d->data_coding, d->sm_len);
	if (receipt) {
		emit_report(handle, seq, d, key);
		return;
	}
	if ((d->esm_class & 0x40) && len > 0 && (size_t)ud[0] + 1 <= len) {
		size_t udhl = ud[0];
		for (size_t i = 1; i + 1 < udhl + 1; ) {
			unsigned ie = ud[i], il = ud[i + 1];
			if (i + 2 + il > udhl + 1)
				break;
			if (ie == 0 && il == 3) {
				ref = ud[i + 2];
				total = ud[i + 3];
				part = ud[i + 4];
			} else if (ie == 8 && il == 4) {
				ref = ud[i + 2] << 8 | ud[i + 3];
				total = ud[i + 4];
				part = ud[i + 5];
			}
			i += 2 + il;
		}
		ud += udhl + 1;
		len -= udhl + 1;
	} else if (d->has_sar) {
		ref = (int)d->sar_ref;
		total = (int)d->sar_total;
		part = (int)d->sar_seq;
	}
	text = text_decode(ud, len, d->data_coding, main_config()->latin1,
	    part > 0 && part < total, &coding);
	sender_of(d, sender, sizeof(sender));
	m = msg_new("sms");
	json_object_set_new(m, "folder", json_integer(0));
	json_object_set_new(m, "location", json_integer(handle));
	json_object_set_new(m, "seq", json_integer(seq));
	json_object_set_new(m, "key", json_string(key));
	json_object_set_new(m, "sender", jstr(sender));
	json_object_set_new(m, "sender_toa", json_integer(sender_toa(d)));
	json_object_set_new(m, "dest", jstr(d->dest));
	json_object_set_new(m, "smsc", jstr(main_config()->name));
	json_object_set_new(m, "time", json_null());
	json_object_set_new(m, "coding", json_string(coding));
	json_object_set_new(m, "data_coding", json_integer(d->data_coding));
	json_object_set_new(m, "text", jstr(text));
	json_object_set_new(m, "class", json_integer(-1));
	/* The SMSC delivers it again after an answer that asked so (acks.c):
	 * pigeond's store absorbs it when the first copy is stored. */
	if (again)
		json_object_set_new(m, "redelivery", json_true());
	if (ref >= 0 && total > 0 && part > 0)
		json_object_set_new(m, "udh", json_pack("{s:i,s:i,s:i}",
		    "ref", ref, "total", total, "seq", part));
	free(text);
	emit(m);
}

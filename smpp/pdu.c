/*
 * pdu.c: the SMPP 3.4 PDUs pigeon-smpp writes and reads, delivery receipt
 * texts and message id spellings. Every read is bounded by the PDU's
 * length: an SMSC's bytes never make the worker read past them.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fnv.h"
#include "log.h"
#include "smpp.h"

void
pdu_out_init(struct pdu_out *o)
{
	memset(o, 0, sizeof(*o));
}

void
pdu_out_free(struct pdu_out *o)
{
	free(o->buf);
	memset(o, 0, sizeof(*o));
}

static void
pdu_grow(struct pdu_out *o, size_t n)
{
	if (o->len + n <= o->cap)
		return;
	size_t cap = o->cap ? o->cap : 256;
	while (cap < o->len + n)
		cap *= 2;
	uint8_t *b = realloc(o->buf, cap);
	if (b == NULL)
		fatal("realloc");
	o->buf = b;
	o->cap = cap;
}

static void
pdu_put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

uint32_t
pdu_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

void
pdu_begin(struct pdu_out *o, uint32_t command_id, uint32_t status, uint32_t seq)
{
	o->len = 0;
	pdu_grow(o, SMPP_HEADER_LEN);
	pdu_put32(o->buf, 0);
	pdu_put32(o->buf + 4, command_id);
	pdu_put32(o->buf + 8, status);
	pdu_put32(o->buf + 12, seq);
	o->len = SMPP_HEADER_LEN;
}

void
pdu_u8(struct pdu_out *o, uint8_t v)
{
	pdu_grow(o, 1);
	o->buf[o->len++] = v;
}

void
pdu_u16(struct pdu_out *o, uint16_t v)
{
	pdu_u8(o, v >> 8);
	pdu_u8(o, v & 0xff);
}

/* A C-Octet String of at most max bytes with its NUL (cut if longer). */
void
pdu_cstr(struct pdu_out *o, const char *s, size_t max)
{
	size_t n = strnlen(s, max - 1);

	pdu_bytes(o, s, n);
	pdu_u8(o, 0);
}

void
pdu_bytes(struct pdu_out *o, const void *p, size_t n)
{
	pdu_grow(o, n);
	if (n > 0)
		memcpy(o->buf + o->len, p, n);
	o->len += n;
}

void
pdu_tlv(struct pdu_out *o, uint16_t tag, const void *p, size_t n)
{
	pdu_u16(o, tag);
	pdu_u16(o, (uint16_t)n);
	pdu_bytes(o, p, n);
}

void
pdu_end(struct pdu_out *o)
{
	pdu_put32(o->buf, (uint32_t)o->len);
}

/*
 * Part i of a message as a submit_sm (sequence 0: set when it is sent),
 * or the whole text in message_payload when cfg->payload. A validity is
 * relative (SMPP 3.4 7.1.1: "YYMMDDhhmmss000R", days, hours, minutes and
 * seconds from now). Flash is class 0 in data_coding (0x10 GSM-7, 0x18
 * UCS-2, 23.038's general coding with a class); where data_coding 0 is
 * Latin-1 at this SMSC (latin1) it has no class bits: dest_addr_subunit
 * 1, the MS display, says the same.
 */
int
pdu_dest(const struct link_config *cfg, const char *to, char *out, size_t size)
{
	const char *d = to[0] == '+' ? to + 1 : to;
	size_t ccl = strlen(cfg->country);

	if (cfg->dest_ton != 2) {
		snprintf(out, size, "%s", d);
		return cfg->dest_ton;
	}
	/* Only a number of the home country has a national form: the one
	 * its phones dial, as gateway/number.c reads it back (trunk 0). */
	if (ccl > 0 && strncmp(d, cfg->country, ccl) == 0 && d[ccl] >= '1' &&
	    d[ccl] <= '9') {
		snprintf(out, size, "0%s", d + ccl);
		return 2;
	}
	snprintf(out, size, "%s", d);
	return 1;
}

void
pdu_submit(struct pdu_out *o, const struct link_config *cfg, const char *to,
    const struct text_parts *tp, int i, int report, int flash, int validity_s)
{
	char validity[17] = "", dest[24];
	uint8_t dc = tp->ucs2 ? 8 : 0;	/* 0: GSM-7 or Latin-1, per SMSC */
	int dest_ton = pdu_dest(cfg, to, dest, sizeof(dest));

	if (validity_s > 0)
		snprintf(validity, sizeof(validity), "0000%02d%02d%02d%02d000R",
		    validity_s / 86400 % 100, validity_s / 3600 % 24,
		    validity_s / 60 % 60, validity_s % 60);
	if (flash && (tp->ucs2 || !cfg->latin1))
		dc |= 0x10;
	pdu_begin(o, SMPP_SUBMIT_SM, 0, 0);
	pdu_cstr(o, "", 6);		/* service_type */
	pdu_u8(o, (uint8_t)cfg->source_ton);
	pdu_u8(o, (uint8_t)cfg->source_npi);
	pdu_cstr(o, cfg->source_addr, 21);
	pdu_u8(o, (uint8_t)dest_ton);
	pdu_u8(o, (uint8_t)cfg->dest_npi);
	pdu_cstr(o, dest, 21);
	pdu_u8(o, !cfg->payload && tp->n > 1 ? 0x40 : 0);
	pdu_u8(o, 0);			/* protocol_id */
	pdu_u8(o, 0);			/* priority_flag */
	pdu_cstr(o, "", 17);		/* schedule */
	pdu_cstr(o, validity, 17);
	pdu_u8(o, report ? (uint8_t)cfg->registered_delivery : 0);
	pdu_u8(o, 0);			/* replace_if_present */
	pdu_u8(o, dc);
	pdu_u8(o, 0);			/* sm_default_msg_id */
	if (cfg->payload) {
		uint8_t all[SMPP_MAX_PARTS * 160];
		size_t n = 0;
		for (int k = 0; k < tp->n; k++) {
			memcpy(all + n, tp->body[k], tp->body_len[k]);
			n += tp->body_len[k];
		}
		pdu_u8(o, 0);
		pdu_tlv(o, TLV_MESSAGE_PAYLOAD, all, n);
	} else {
		pdu_u8(o, (uint8_t)(tp->udh_len[i] + tp->body_len[i]));
		pdu_bytes(o, tp->udh[i], tp->udh_len[i]);
		pdu_bytes(o, tp->body[i], tp->body_len[i]);
	}
	if (flash && !(dc & 0x10))
		pdu_tlv(o, TLV_DEST_ADDR_SUBUNIT, "\x01", 1);
	pdu_end(o);
}

/* A bounded reader over one PDU's body. */
struct rd {
	const uint8_t *p;
	size_t	 left;
	int	 bad;
};

static unsigned
rd_u8(struct rd *r)
{
	if (r->left < 1) {
		r->bad = 1;
		return 0;
	}
	r->left--;
	return *r->p++;
}

static unsigned
rd_u16(struct rd *r)
{
	unsigned hi = rd_u8(r);
	return hi << 8 | rd_u8(r);
}

/* A C-Octet String of at most max bytes with its NUL. */
static void
rd_cstr(struct rd *r, char *out, size_t max)
{
	size_t i;

	for (i = 0; i < r->left && i < max; i++)
		if (r->p[i] == '\0')
			break;
	if (i == r->left || i == max) {
		r->bad = 1;
		out[0] = '\0';
		return;
	}
	memcpy(out, r->p, i);
	out[i] = '\0';
	r->p += i + 1;
	r->left -= i + 1;
}

int
pdu_read_cstr_body(const uint8_t *pdu, size_t len, char *out, size_t size)
{
	const uint8_t *body = pdu + SMPP_HEADER_LEN;
	size_t n;

	out[0] = '\0';
	if (len <= SMPP_HEADER_LEN)
		return -1;	/* an error response may carry no body */
	/* Without its NUL (some SMSCs end the PDU with the id's last
	 * character), the id runs to the end of the PDU: read as empty, the
	 * part had no id and its receipts matched nothing. Longer than out:
	 * cut, as the same id is cut where receipts name it (SMPP_ID_SIZE). */
	n = strnlen((const char *)body, len - SMPP_HEADER_LEN);
	if (n >= size)
		n = size - 1;
	memcpy(out, body, n);
	out[n] = '\0';
	return 0;
}


uint64_t
deliver_hash(const struct deliver *d)
{
	uint64_t h = FNV_OFFSET;
	unsigned nums[6] = { d->esm_class, d->data_coding, d->has_sar,
	    d->sar_ref, d->sar_total, d->sar_seq };

	h = fnv(h, d->source, strlen(d->source) + 1);
	h = fnv(h, d->dest, strlen(d->dest) + 1);
	h = fnv(h, nums, sizeof(nums));
	h = fnv(h, d->sm, d->sm_len);
	/* Answered as it came: a data_sm never joins a deliver_sm's copies
	 * (acks_join). A deliver_sm's key is as it always was. */
	if (d->data_sm)
		h = fnv(h, "data_sm", 7);
	/* A receipt whose id and state come only in TLVs (its short_message
	 * empty): without them, the receipts of two parts sent to one phone
	 * were one key, the second taken for a copy of the first and never
	 * reported. Only when present, so a PDU without them keeps the key
	 * it always had (a redelivery across an upgrade is still absorbed). */
	if (d->receipted_id[0] != '\0') {
		h = fnv(h, "receipted_message_id", 20);
		h = fnv(h, d->receipted_id, strlen(d->receipted_id) + 1);
	}
	if (d->message_state >= 0) {
		unsigned char st = (unsigned char)d->message_state;
		h = fnv(h, "message_state", 13);
		h = fnv(h, &st, 1);
	}
	return h;
}

int
pdu_deliver_parse(const uint8_t *pdu, size_t len, struct deliver *d)
{
	struct rd r = { pdu + SMPP_HEADER_LEN, len - SMPP_HEADER_LEN, 0 };
	char skip[66];
	size_t sm_len;

	memset(d, 0, sizeof(*d));
	d->message_state = -1;
	if (len < SMPP_HEADER_LEN)
		return -1;
	d->data_sm = pdu_get32(pdu + 4) == SMPP_DATA_SM;
	rd_cstr(&r, skip, 6);			/* service_type */
	d->source_ton = rd_u8(&r);
	d->source_npi = rd_u8(&r);
	rd_cstr(&r, d->source, sizeof(d->source));
	rd_u8(&r);				/* dest_addr_ton */
	rd_u8(&r);				/* dest_addr_npi */
	rd_cstr(&r, d->dest, sizeof(d->dest));
	d->esm_class = rd_u8(&r);
	if (d->data_sm) {
		/* SMPP 3.4, 4.7.1: the text comes in message_payload. */
		rd_u8(&r);			/* registered_delivery */
		d->data_coding = rd_u8(&r);
		sm_len = 0;
	} else {
		rd_u8(&r);			/* protocol_id */
		rd_u8(&r);			/* priority_flag */
		rd_cstr(&r, skip, 17);		/* schedule_delivery_time */
		rd_cstr(&r, skip, 17);		/* validity_period */
		rd_u8(&r);			/* registered_delivery */
		rd_u8(&r);			/* replace_if_present_flag */
		d->data_coding = rd_u8(&r);
		rd_u8(&r);			/* sm_default_msg_id */
		sm_len = rd_u8(&r);
	}
	if (r.bad || sm_len > r.left)
		return -1;
	d->sm = r.p;
	d->sm_len = sm_len;
	r.p += sm_len;
	r.left -= sm_len;
	/* A broken optional part ends the reading, the rest kept: refused
	 * whole, the SMSC delivered it again for ever, and the MO or the
	 * receipt was never stored. */
	while (r.left > 0) {
		if (r.left < 4) {
			d->bad_tail = r.left;	/* not even a TLV's header */
			break;
		}
		unsigned tag = rd_u16(&r), n = rd_u16(&r);
		if (n > r.left) {
			d->bad_tail = r.left + 4;
			break;
		}
		const uint8_t *v = r.p;
		switch (tag) {
		case TLV_SAR_MSG_REF_NUM:
			if (n == 2) {
				d->sar_ref = (unsigned)v[0] << 8 | v[1];
				d->has_sar |= 1;
			}
			break;
		case TLV_SAR_TOTAL_SEGMENTS:
			if (n == 1) {
				d->sar_total = v[0];
				d->has_sar |= 2;
			}
			break;
		case TLV_SAR_SEGMENT_SEQNUM:
			if (n == 1) {
				d->sar_seq = v[0];
				d->has_sar |= 4;
			}
			break;
		case TLV_MESSAGE_PAYLOAD:
			if (sm_len == 0) {
				d->sm = v;
				d->sm_len = n;
			}
			break;
		case TLV_RECEIPTED_MESSAGE_ID: {
			size_t k = strnlen((const char *)v, n);
			if (k >= sizeof(d->receipted_id))
				k = sizeof(d->receipted_id) - 1;
			memcpy(d->receipted_id, v, k);
			d->receipted_id[k] = '\0';
			break;
		}
		case TLV_MESSAGE_STATE:
			if (n == 1)
				d->message_state = v[0];
			break;
		default:
			break;	/* unknown TLVs are skipped, as 3.4 says */
		}
		r.p += n;
		r.left -= n;
	}
	d->has_sar = d->has_sar == 7 && d->sar_total > 0 && d->sar_seq > 0;
	return 0;
}

/*
 * Reads the value after "key:" up to the next space (the date fields
 * have a space in their key: "submit date:"). Keys are case-insensitive.
 */
static int
receipt_field(const char *text, size_t len, const char *key, char *out,
    size_t size)
{
	size_t kl = strlen(key);

	for (size_t i = 0; i + kl <= len; i++) {
		if (strncasecmp(text + i, key, kl) != 0)
			continue;
		if (i > 0 && text[i - 1] != ' ')
			continue;	/* "id:" inside "xid:" */
		size_t j = i + kl, k = 0, e;
		/* "id: 123": a space after the colon, unless what follows is
		 * the next field ("err: stat:DELIVRD": err is empty). */
		while (j < len && text[j] == ' ')
			j++;
		for (e = j; e < len && text[e] != ' ' && text[e] != ':'; e++)
			;
		if (j > i + kl && e < len && text[e] == ':')
			j = i + kl;
		while (j < len && text[j] != ' ' && k + 1 < size)
			out[k++] = text[j++];
		out[k] = '\0';
		return 0;
	}
	out[0] = '\0';
	return -1;
}

int
receipt_parse(const char *text, size_t len, struct receipt *rc)
{
	char num[16];

	memset(rc, 0, sizeof(*rc));
	if (receipt_field(text, len, "id:", rc->id, sizeof(rc->id)) == -1 ||
	    rc->id[0] == '\0' ||
	    receipt_field(text, len, "stat:", rc->stat, sizeof(rc->stat)) == -1)
		return -1;
	for (char *p = rc->stat; *p != '\0'; p++)
		*p = (char)toupper((unsigned char)*p);
	receipt_field(text, len, "err:", rc->err, sizeof(rc->err));
	receipt_field(text, len, "submit date:", rc->submit_date,
	    sizeof(rc->submit_date));
	receipt_field(text, len, "done date:", rc->done_date,
	    sizeof(rc->done_date));
	rc->sub = rc->dlvrd = -1;
	if (receipt_field(text, len, "sub:", num, sizeof(num)) == 0 &&
	    num[0] != '\0')
		rc->sub = atoi(num);
	if (receipt_field(text, len, "dlvrd:", num, sizeof(num)) == 0 &&
	    num[0] != '\0')
		rc->dlvrd = atoi(num);
	return 0;
}

/* Lower case without leading zeros ("0" stays). */
static void
id_canon(const char *s, char *out, size_t size)
{
	size_t k = 0;

	while (s[0] == '0' && s[1] != '\0')
		s++;
	for (; *s != '\0' && k + 1 < size; s++)
		out[k++] = (char)tolower((unsigned char)*s);
	out[k] = '\0';
}

/* Converts a digit string between bases 10 and 16 (any length). */
static int
id_rebase(const char *s, unsigned from, unsigned to, char *out, size_t size)
{
	unsigned char digits[80];	/* little-endian digits in base `to` */
	size_t nd = 1;
	const char *hex = "0123456789abcdef";

	digits[0] = 0;
	for (; *s != '\0'; s++) {
		int c = tolower((unsigned char)*s);
		unsigned v = c >= '0' && c <= '9' ? (unsigned)(c - '0') :
		    c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10) : 99;
		if (v >= from)
			return -1;
		unsigned carry = v;
		for (size_t i = 0; i < nd; i++) {
			unsigned x = digits[i] * from + carry;
			digits[i] = x % to;
			carry = x / to;
		}
		while (carry > 0) {
			if (nd == sizeof(digits))
				return -1;
			digits[nd++] = carry % to;
			carry /= to;
		}
	}
	if (nd + 1 > size)
		return -1;
	for (size_t i = 0; i < nd; i++)
		out[i] = hex[digits[nd - 1 - i]];
	out[nd] = '\0';
	return 0;
}

void
smpp_id_clean(char id[SMPP_ID_SIZE])
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)id;
	size_t len = strnlen(id, SMPP_ID_SIZE - 1), n, k = 0;
	char out[SMPP_ID_SIZE];
	int clean = utf8_valid(id, len);

	for (size_t i = 0; i < len && clean; i++)
		if (p[i] < 0x20 || p[i] == 0x7f)
			clean = 0;
	if (clean) {
		id[len] = '\0';
		return;
	}
	/* "hex:" and every byte in hex when that fits; else the first
	 * SMPP_ID_HEX_HEAD bytes, '~' and the FNV-1a of them all: two ids
	 * that differ only past the head still differ. */
	n = 4 + 2 * len <= SMPP_ID_SIZE - 1 ? len : SMPP_ID_HEX_HEAD;
	memcpy(out, "hex:", 4);
	k = 4;
	for (size_t i = 0; i < n; i++) {
		out[k++] = hex[p[i] >> 4];
		out[k++] = hex[p[i] & 15];
	}
	if (n < len) {
		uint64_t h = fnv(FNV_OFFSET, p, len);
		out[k++] = '~';
		for (int i = 60; i >= 0; i -= 4)
			out[k++] = hex[(h >> i) & 15];
	}
	out[k] = '\0';
	memcpy(id, out, k + 1);
}

int
smpp_id_keys(const char *id, char keys[3][SMPP_ID_SIZE])
{
	char alt[SMPP_ID_SIZE];
	int n = 0;

	id_canon(id, keys[n++], sizeof(keys[0]));
	if (id[0] == '\0' || strlen(id) > 40)
		return n;
	/* Read as hex, written in decimal; read as decimal, written in hex. */
	if (id_rebase(id, 16, 10, alt, sizeof(alt)) == 0 &&
	    strcmp(alt, keys[0]) != 0)
		id_canon(alt, keys[n++], sizeof(keys[0]));
	if (id_rebase(id, 10, 16, alt, sizeof(alt)) == 0 &&
	    strcmp(alt, keys[0]) != 0 && (n < 2 || strcmp(alt, keys[1]) != 0))
		id_canon(alt, keys[n++], sizeof(keys[0]));
	return n;
}

const char *
smpp_status_text(uint32_t s)
{
	switch (s) {
	case 0x00: return "ok";
	case 0x01: return "message length is invalid";
	case 0x02: return "command length is invalid";
	case 0x03: return "invalid command id";
	case 0x04: return "incorrect bind status";
	case 0x05: return "already bound";
	case 0x06: return "invalid priority flag";
	case 0x07: return "invalid registered delivery flag";
	case 0x08: return "system error";
	case 0x0a: return "invalid source address";
	case 0x0b: return "invalid destination address";
	case 0x0c: return "message id is invalid";
	case 0x0d: return "bind failed";
	case 0x0e: return "invalid password";
	case 0x0f: return "invalid system id";
	case 0x14: return "message queue full";
	case 0x15: return "invalid service type";
	case 0x43: return "invalid esm_class";
	case 0x45: return "submit failed";
	case 0x48: return "invalid source address TON";
	case 0x49: return "invalid source address NPI";
	case 0x50: return "invalid destination address TON";
	case 0x51: return "invalid destination address NPI";
	case 0x53: return "invalid system_type";
	case 0x58: return "throttling error";
	case 0x61: return "invalid scheduled delivery time";
	case 0x62: return "invalid validity period";
	case 0x64: return "receiver temporary error";
	case 0x65: return "receiver permanent error";
	case 0x66: return "receiver rejected the message";
	case 0xc0: return "error in the optional part";
	case 0xc1: return "optional parameter not allowed";
	case 0xc2: return "invalid parameter length";
	case 0xc3: return "expected optional parameter missing";
	case 0xc4: return "invalid optional parameter value";
	case 0xfe: return "delivery failure";
	case 0xff: return "unknown error";
	default:
		return s >= 0x400 && s <= 0x4ff ? "SMSC vendor error" :
		    "unknown command_status";
	}
}

/*
 * Temporary: the same message may pass later or on another link: the
 * SMSC's state (system error, queue, throttling, bind state, vendor
 * codes we cannot read), and when in doubt, as on modems. The rest is
 * permanent, for the message itself (smpp_status_message) or on this
 * link only (smpp_status_link).
 */
int
smpp_status_temporary(uint32_t s)
{
	return !smpp_status_message(s) && !smpp_status_link(s);
}

/*
 * Refused for the message itself, which fails the same way on every
 * link: its length (0x01), and the recipient's side refusing it for good
 * (0x65 receiver permanent error, 0x66 receiver rejected it).
 */
int
smpp_status_message(uint32_t s)
{
	return s == 0x01 || s == 0x65 || s == 0x66;
}

/*
 * Refused for what this bind puts in every submit_sm or what its carrier
 * reaches: the source address and its TON/NPI, the destination's
 * TON/NPI (the bind's dest_ton, dest_npi), the destination itself (a
 * ported or off-net number: another carrier may reach it), the flags
 * and options the bind sets (priority, registered_delivery, service_type,
 * esm_class: concatenation, the validity and schedule fields, optional
 * parameters such as message_payload). Another link may send the same
 * message: permanent on this link only, and a sign of a misconfigured
 * bind when every send gets one.
 */
int
smpp_status_link(uint32_t s)
{
	switch (s) {
	case 0x06: case 0x07: case 0x0a: case 0x0b: case 0x15: case 0x43:
	case 0x48: case 0x49: case 0x50: case 0x51: case 0x61: case 0x62:
	case 0xc1: case 0xc2: case 0xc4:
		return 1;
	default:
		return 0;
	}
}

/*
 * Of those, the ones every send of a misconfigured bind gets (its source
 * address, TON/NPI, flags and options): they count toward the link's
 * failures in a row, which restart it. Not an invalid destination (0x0b:
 * a ported or off-net number, which five recipients in a row of a
 * fan-out may be, on a bind that is fine) nor a message's own validity
 * or schedule (0x61, 0x62: an API send's).
 */
int
smpp_status_bind(uint32_t s)
{
	return smpp_status_link(s) && s != 0x0b && s != 0x61 && s != 0x62;
}

int
smpp_status_throttle(uint32_t s)
{
	return s == ESME_RTHROTTLED || s == ESME_RMSGQFUL;
}

static const char *const states[] = { "SCHEDULED", "ENROUTE", "DELIVRD",
    "EXPIRED", "DELETED", "UNDELIV", "ACCEPTD", "UNKNOWN", "REJECTD" };

/*
 * By the first five letters, which tell the states apart: carriers that
 * write the state in full (DELIVERED, UNDELIVERABLE, REJECTED) meet the
 * 3.4 spellings (DELIVRD, UNDELIV, REJECTD). Read exactly, a DELIVERED
 * receipt left its message sent for good. A digit 1-8 is the state's
 * number. -1: none of them (deliver.c takes a word of the SMSC's own
 * for a final failure).
 */
int
smpp_state_of_stat(const char *stat)
{
	/* Some write message_state's number: stat:2. */
	if (stat[0] >= '1' && stat[0] <= '8' && stat[1] == '\0')
		return stat[0] - '0';
	if (strlen(stat) < 5)
		return -1;
	for (size_t i = 1; i < sizeof(states) / sizeof(states[0]); i++)
		if (strncasecmp(stat, states[i], 5) == 0)
			return (int)i;
	return -1;
}

const char *
smpp_stat_of_state(int state)
{
	if (state < 1 || state >= (int)(sizeof(states) / sizeof(states[0])))
		return "UNKNOWN";
	return states[state];
}

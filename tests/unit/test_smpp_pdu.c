/*
 * test_smpp_pdu.c: smpp/pdu.c and smpp/text.c alone: receipt texts, the
 * spellings of message ids (hex and decimal), deliver_sm parsing with its
 * bounds, command_status classes, and the text encoder's parts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "unit.h"

#include "smpp.h"

static int
has(char keys[3][SMPP_ID_SIZE], int n, const char *k)
{
	for (int i = 0; i < n; i++)
		if (strcmp(keys[i], k) == 0)
			return 1;
	return 0;
}

START_TEST(test_receipt_text)
{
	const char *t = "id:3A00001F sub:001 dlvrd:001 submit date:2612041200 "
	    "done date:2612041201 stat:DELIVRD err:000 text:Hello";
	struct receipt rc;

	ck_assert_int_eq(receipt_parse(t, strlen(t), &rc), 0);
	ck_assert_str_eq(rc.id, "3A00001F");
	ck_assert_str_eq(rc.stat, "DELIVRD");
	ck_assert_str_eq(rc.err, "000");
	ck_assert_str_eq(rc.submit_date, "2612041200");
	ck_assert_str_eq(rc.done_date, "2612041201");
	ck_assert_int_eq(rc.sub, 1);
	ck_assert_int_eq(rc.dlvrd, 1);
	/* Lower case keys, a missing err, fields in another order. */
	t = "stat:undeliv ID:12345 Sub:001";
	ck_assert_int_eq(receipt_parse(t, strlen(t), &rc), 0);
	ck_assert_str_eq(rc.id, "12345");
	ck_assert_str_eq(rc.stat, "UNDELIV");
	ck_assert_str_eq(rc.err, "");
	ck_assert_int_eq(rc.dlvrd, -1);
	/* Not a receipt. */
	t = "FOLLOW alice";
	ck_assert_int_eq(receipt_parse(t, strlen(t), &rc), -1);
	t = "id: stat:DELIVRD";
	ck_assert_int_eq(receipt_parse(t, strlen(t), &rc), -1);
	/* A space after each colon, the state in full. */
	t = "id: 3A00001F sub: 001 dlvrd: 001 stat: DELIVERED err: 000";
	ck_assert_int_eq(receipt_parse(t, strlen(t), &rc), 0);
	ck_assert_str_eq(rc.id, "3A00001F");
	ck_assert_str_eq(rc.stat, "DELIVERED");
	ck_assert_str_eq(rc.err, "000");
	ck_assert_int_eq(rc.dlvrd, 1);
	ck_assert_int_eq(smpp_state_of_stat(rc.stat), 2);
	/* An empty field before the next one. */
	t = "id:7 err: stat:UNDELIV";
	ck_assert_int_eq(receipt_parse(t, strlen(t), &rc), 0);
	ck_assert_str_eq(rc.err, "");
	ck_assert_str_eq(rc.stat, "UNDELIV");
	ck_assert_int_eq(smpp_state_of_stat("UNDELIVERABLE"), 5);
	ck_assert_int_eq(smpp_state_of_stat("rejected"), 8);
	ck_assert_int_eq(smpp_state_of_stat("DELETED"), 4);
	ck_assert_int_eq(smpp_state_of_stat("ACCEPTED"), 6);
	ck_assert_int_eq(smpp_state_of_stat("DEL"), -1);
	ck_assert_int_eq(smpp_state_of_stat("FOO"), -1);
}
END_TEST

START_TEST(test_id_keys)
{
	char sent[3][SMPP_ID_SIZE], got[3][SMPP_ID_SIZE];
	int ns, ng;

	/* submit_sm_resp in hex, the receipt in decimal. */
	ns = smpp_id_keys("3a00001f", sent);
	ng = smpp_id_keys("973078559", got);
	ck_assert(has(sent, ns, "3a00001f"));
	ck_assert(has(sent, ns, "973078559"));
	ck_assert(has(got, ng, "973078559"));
	/* Upper case and leading zeros do not matter. */
	ng = smpp_id_keys("003A00001F", got);
	ck_assert(has(got, ng, "3a00001f"));
	/* The other way: decimal given, hex in the receipt. */
	ns = smpp_id_keys("973078559", sent);
	ck_assert(has(sent, ns, "3a00001f"));
	/* Not a number: only itself. */
	ns = smpp_id_keys("msg-42", sent);
	ck_assert_int_eq(ns, 1);
	ck_assert_str_eq(sent[0], "msg-42");
	/* Longer than 64 bits still converts. */
	ns = smpp_id_keys("ffffffffffffffffffff", sent);
	ck_assert(has(sent, ns, "1208925819614629174706175"));
}
END_TEST

/*
 * An id longer than SMPP's 64 characters, in submit_sm_resp and in the
 * receipt: cut to 64 on both sides, so that they still meet, and never
 * longer than pigeond takes (a 65-character one was refused there: the
 * send stayed in flight, the receipt unanswered for good).
 */
START_TEST(test_long_ids)
{
	char id70[71], resp[16 + 71], got[SMPP_ID_SIZE], text[128];
	char sent[3][SMPP_ID_SIZE], rkeys[3][SMPP_ID_SIZE];
	struct receipt rc;

	memset(id70, 'a', 70);
	id70[70] = '\0';
	id70[0] = 'b';
	memset(resp, 0, 16);
	memcpy(resp + 16, id70, 71);
	ck_assert_int_eq(pdu_read_cstr_body((const uint8_t *)resp, sizeof(resp), got,
	    sizeof(got)), 0);
	ck_assert_int_eq(strlen(got), 64);
	ck_assert(strncmp(got, id70, 64) == 0);
	snprintf(text, sizeof(text), "id:%s stat:DELIVRD err:000", id70);
	ck_assert_int_eq(receipt_parse(text, strlen(text), &rc), 0);
	ck_assert_str_eq(rc.id, got);
	int ns = smpp_id_keys(got, sent), nr = smpp_id_keys(rc.id, rkeys);
	ck_assert(has(rkeys, nr, sent[0]));
	for (int i = 0; i < ns; i++)
		ck_assert_int_le(strlen(sent[i]), 64);
	/* No NUL in the body: the id runs to the end of the PDU (it was
	 * read as none: the part had no id, its receipts matched nothing),
	 * cut to 64 when longer. */
	ck_assert_int_eq(pdu_read_cstr_body((const uint8_t *)resp, 16 + 20, got,
	    sizeof(got)), 0);
	ck_assert_int_eq(strlen(got), 20);
	ck_assert(strncmp(got, id70, 20) == 0);
	ck_assert_int_eq(pdu_read_cstr_body((const uint8_t *)resp, 16 + 70, got,
	    sizeof(got)), 0);
	ck_assert_int_eq(strlen(got), 64);
	ck_assert_int_eq(pdu_read_cstr_body((const uint8_t *)resp, 16, got,
	    sizeof(got)), -1);
}
END_TEST

/*
 * Ids of bytes pigeond cannot take as they are (not UTF-8, control
 * characters): written "hex:" and their bytes, or past 64 characters a
 * head and a hash; at most 64 bytes, the same for the same bytes. (Each
 * bad byte became U+FFFD, three bytes: 22 of them made an id pigeond
 * refused, and the send stayed unsettled.) UTF-8 and ASCII ids stay.
 */
START_TEST(test_id_clean)
{
	char id[SMPP_ID_SIZE], other[SMPP_ID_SIZE], want[SMPP_ID_SIZE];

	snprintf(id, sizeof(id), "3A000001");
	smpp_id_clean(id);
	ck_assert_str_eq(id, "3A000001");
	snprintf(id, sizeof(id), "f0e1d2c3-b4a5-4697-8899-00003a000000");
	smpp_id_clean(id);
	ck_assert_str_eq(id, "f0e1d2c3-b4a5-4697-8899-00003a000000");
	snprintf(id, sizeof(id), "r\xc3\xa9" "f-12");	/* "réf-12", UTF-8 */
	smpp_id_clean(id);
	ck_assert_str_eq(id, "r\xc3\xa9" "f-12");
	/* 30 bytes of 0xE9: 64 characters in hex. */
	memset(id, 0xe9, 30);
	id[30] = '\0';
	smpp_id_clean(id);
	memcpy(want, "hex:", 4);
	memset(want + 4, 'e', 60);
	for (int i = 5; i < 64; i += 2)
		want[i] = '9';
	want[64] = '\0';
	ck_assert_str_eq(id, want);
	ck_assert_int_eq(utf8_valid(id, strlen(id)), 1);
	/* 64 of them: a head and a hash; one byte else, another id. */
	memset(id, 0xe9, 64);
	id[64] = '\0';
	memcpy(other, id, sizeof(other));
	other[63] = 'x';
	smpp_id_clean(id);
	smpp_id_clean(other);
	ck_assert_int_le(strlen(id), 64);
	ck_assert_int_eq(strncmp(id, want, 4 + 2 * SMPP_ID_HEX_HEAD), 0);
	ck_assert_int_eq(id[4 + 2 * SMPP_ID_HEX_HEAD], '~');
	ck_assert_str_ne(id, other);
	memset(other, 0xe9, 64);
	other[64] = '\0';
	smpp_id_clean(other);
	ck_assert_str_eq(id, other);
	/* A control character. */
	snprintf(id, sizeof(id), "a\tb");
	smpp_id_clean(id);
	ck_assert_str_eq(id, "hex:610962");
	/* Its keys: itself alone (no number in another base), at most 64. */
	char keys[3][SMPP_ID_SIZE];
	ck_assert_int_eq(smpp_id_keys(want, keys), 1);
	ck_assert_str_eq(keys[0], want);
}
END_TEST

static size_t
build_deliver(uint8_t *buf, const char *src, uint8_t esm, uint8_t dc,
    const uint8_t *sm, size_t smlen, const uint8_t *tlvs, size_t tlen)
{
	struct pdu_out o;
	size_t n;

	pdu_out_init(&o);
	pdu_begin(&o, SMPP_DELIVER_SM, 0, 7);
	pdu_cstr(&o, "", 6);
	pdu_u8(&o, 1);
	pdu_u8(&o, 1);
	pdu_cstr(&o, src, 21);
	pdu_u8(&o, 0);
	pdu_u8(&o, 0);
	pdu_cstr(&o, "40404", 21);
	pdu_u8(&o, esm);
	pdu_u8(&o, 0);
	pdu_u8(&o, 0);
	pdu_cstr(&o, "", 17);
	pdu_cstr(&o, "", 17);
	pdu_u8(&o, 0);
	pdu_u8(&o, 0);
	pdu_u8(&o, dc);
	pdu_u8(&o, 0);
	pdu_u8(&o, (uint8_t)smlen);
	pdu_bytes(&o, sm, smlen);
	pdu_bytes(&o, tlvs, tlen);
	pdu_end(&o);
	memcpy(buf, o.buf, o.len);
	n = o.len;
	pdu_out_free(&o);
	return n;
}

START_TEST(test_deliver_parse)
{
	uint8_t buf[1024];
	uint8_t tlvs[] = { 0x02, 0x0c, 0, 2, 0x01, 0x2c, 0x02, 0x0e, 0, 1, 3,
	    0x02, 0x0f, 0, 1, 2, 0x00, 0x1e, 0, 9, '3', 'a', '0', '0', '0',
	    '0', '1', 'f', 0, 0x04, 0x27, 0, 1, 2, 0x99, 0x99, 0, 1, 0 };
	struct deliver d;
	size_t n = build_deliver(buf, "212611000001", 0x04, 0,
	    (const uint8_t *)"id:1", 4, tlvs, sizeof(tlvs));

	ck_assert_int_eq(pdu_deliver_parse(buf, n, &d), 0);
	ck_assert_str_eq(d.source, "212611000001");
	ck_assert_str_eq(d.dest, "40404");
	ck_assert_int_eq(d.esm_class, 0x04);
	ck_assert_int_eq(d.sm_len, 4);
	ck_assert(d.has_sar);
	ck_assert_int_eq(d.sar_ref, 300);
	ck_assert_int_eq(d.sar_total, 3);
	ck_assert_int_eq(d.sar_seq, 2);
	ck_assert_str_eq(d.receipted_id, "3a00001f");
	ck_assert_int_eq(d.message_state, 2);
	ck_assert_uint_eq(d.bad_tail, 0);
	/* Every cut of the PDU is refused or read within it, never past. */
	for (size_t k = SMPP_HEADER_LEN; k < n; k++) {
		uint8_t *cut = malloc(k);
		memcpy(cut, buf, k);
		(void)pdu_deliver_parse(cut, k, &d);
		free(cut);
	}
	/* A source address without its NUL within 21 bytes. */
	n = build_deliver(buf, "1234567890123456789012345", 0, 0, NULL, 0, NULL, 0);
	ck_assert_int_eq(pdu_deliver_parse(buf, n, &d), 0);	/* pdu_cstr cut it */
	memset(buf + SMPP_HEADER_LEN + 3, 'x', 30);
	ck_assert_int_eq(pdu_deliver_parse(buf, n, &d), -1);
}
END_TEST

/* A receipt TLV: receipted_message_id id and message_state state. */
static size_t
receipt_tlvs(uint8_t *t, const char *id, uint8_t state)
{
	size_t n = strlen(id) + 1;

	t[0] = 0x00; t[1] = 0x1e; t[2] = 0; t[3] = (uint8_t)n;
	memcpy(t + 4, id, n);
	t[4 + n] = 0x04; t[5 + n] = 0x27; t[6 + n] = 0; t[7 + n] = 1;
	t[8 + n] = state;
	return 9 + n;
}

/*
 * Receipts whose id and state come only in TLVs, short_message empty:
 * two to one phone (two parts of a long message) are two keys, not one
 * (the second was taken for a copy of the first, or a duplicate, and its
 * part stayed sent). A PDU without those TLVs keeps the key it always
 * had: a redelivery across the worker's upgrade is still absorbed.
 */
START_TEST(test_deliver_key_receipt_tlvs)
{
	uint8_t buf[512], t[96];
	struct deliver d;
	size_t n;

	n = build_deliver(buf, "212611000001", 0x04, 0, NULL, 0, t,
	    receipt_tlvs(t, "1004", 2));
	ck_assert_int_eq(pdu_deliver_parse(buf, n, &d), 0);
	ck_assert_str_eq(d.receipted_id, "1004");
	uint64_t k1004 = deliver_hash(&d);
	ck_assert_uint_eq(deliver_hash(&d), k1004);	/* the same PDU, the same key */
	n = build_deliver(buf, "212611000001", 0x04, 0, NULL, 0, t,
	    receipt_tlvs(t, "1005", 2));
	ck_assert_int_eq(pdu_deliver_parse(buf, n, &d), 0);
	uint64_t k1005 = deliver_hash(&d);
	ck_assert_msg(k1004 != k1005, "receipts for 1004 and 1005 share a key");
	/* One id, another state (ENROUTE, then DELIVRD): two receipts. */
	n = build_deliver(buf, "212611000001", 0x04, 0, NULL, 0, t,
	    receipt_tlvs(t, "1005", 1));
	ck_assert_int_eq(pdu_deliver_parse(buf, n, &d), 0);
	ck_assert_msg(deliver_hash(&d) != k1005, "ENROUTE and DELIVRD share a key");
	/* An MO without those TLVs: its key as before this change. */
	n = build_deliver(buf, "212611000001", 0, 0, (const uint8_t *)"hello", 5,
	    NULL, 0);
	ck_assert_int_eq(pdu_deliver_parse(buf, n, &d), 0);
	ck_assert_uint_eq(deliver_hash(&d), 0xa2c8815b2db787c9ULL);
}
END_TEST

/*
 * A broken optional part (1-3 stray bytes after short_message, a TLV
 * running past the PDU) is ignored from there, the mandatory fields and
 * the TLVs before it kept: refused whole (ESME_RSYSERR), the SMSC
 * delivered it again for ever and the MO or receipt was never stored.
 */
START_TEST(test_deliver_broken_tail)
{
	uint8_t buf[1024];
	struct deliver d;
	size_t n;

	for (size_t k = 1; k <= 3; k++) {
		uint8_t stray[3] = { 0, 0, 0 };
		n = build_deliver(buf, "212611000001", 0, 0,
		    (const uint8_t *)"hello", 5, stray, k);
		ck_assert_int_eq(pdu_deliver_parse(buf, n, &d), 0);
		ck_assert_str_eq(d.source, "212611000001");
		ck_assert_int_eq(d.sm_len, 5);
		ck_assert(memcmp(d.sm, "hello", 5) == 0);
		ck_assert_uint_eq(d.bad_tail, k);
	}
	/* A TLV longer than the PDU, after a good one. */
	uint8_t bad[] = { 0x04, 0x27, 0, 1, 2, 0x00, 0x1e, 0x10, 0x00, 'x' };
	n = build_deliver(buf, "1", 0x04, 0, (const uint8_t *)"id:7 stat:DELIVRD",
	    17, bad, sizeof(bad));
	ck_assert_int_eq(pdu_deliver_parse(buf, n, &d), 0);
	ck_assert_int_eq(d.esm_class, 0x04);
	ck_assert_int_eq(d.sm_len, 17);
	ck_assert_int_eq(d.message_state, 2);
	ck_assert_str_eq(d.receipted_id, "");
	ck_assert_uint_eq(d.bad_tail, 5);
	/* short_message itself running past the PDU is still malformed. */
	n = build_deliver(buf, "1", 0, 0, (const uint8_t *)"hello", 5, NULL, 0);
	ck_assert_int_eq(pdu_deliver_parse(buf, n - 1, &d), -1);
}
END_TEST

START_TEST(test_status_classes)
{
	ck_assert(smpp_status_throttle(0x58));
	ck_assert(smpp_status_throttle(0x14));
	ck_assert(!smpp_status_throttle(0x08));
	ck_assert(smpp_status_temporary(0x58));
	ck_assert(smpp_status_temporary(0x08));
	ck_assert(smpp_status_temporary(0x400));	/* vendor: when in doubt */
	ck_assert(!smpp_status_temporary(0x0b));	/* invalid destination */
	ck_assert(!smpp_status_temporary(0x0a));
	/* On the link, not the message: another carrier may take it. */
	ck_assert(smpp_status_link(0x0b));
	ck_assert(smpp_status_link(0x0a));
	ck_assert(smpp_status_link(0x48));
	ck_assert(!smpp_status_message(0x0b));
	ck_assert(smpp_status_message(0x01));	/* its length */
	ck_assert(!smpp_status_link(0x01));
	ck_assert(!smpp_status_temporary(0x01));
	ck_assert(!smpp_status_link(0x58));
	ck_assert_int_eq(smpp_state_of_stat("DELIVRD"), 2);
	ck_assert_int_eq(smpp_state_of_stat("undeliv"), 5);
	ck_assert_int_eq(smpp_state_of_stat("nonsense"), -1);
	ck_assert_str_eq(smpp_stat_of_state(3), "EXPIRED");
}
END_TEST

START_TEST(test_text_parts)
{
	struct text_parts tp;
	const char *err;
	char *back, longtext[400] = "";
	const char *coding;

	ck_assert_int_eq(text_encode("Hello {world} €", 0, 0, NULL, 0, 9, &tp, &err), 0);
	ck_assert_int_eq(tp.n, 1);
	ck_assert(!tp.ucs2);
	/* GSM-7 unpacked: { } and € are escapes, two septets each. */
	ck_assert_int_eq(tp.body_len[0], 15 + 3);
	back = text_decode(tp.body[0], tp.body_len[0], 0, 0, 0, &coding);
	ck_assert_str_eq(back, "Hello {world} €");
	ck_assert_str_eq(coding, "gsm");
	free(back);
	ck_assert_int_eq(text_encode("سلام", 0, 0, NULL, 0, 9, &tp, &err), 0);
	ck_assert(tp.ucs2);
	ck_assert_int_eq(tp.body_len[0], 8);
	back = text_decode(tp.body[0], tp.body_len[0], 8, 0, 0, &coding);
	ck_assert_str_eq(back, "سلام");
	free(back);
	for (int i = 0; i < 20; i++)
		strcat(longtext, "abcdefghij");
	ck_assert_int_eq(text_encode(longtext, 0, 0, NULL, 0, 0x1ab, &tp, &err), 0);
	ck_assert_int_eq(tp.n, 2);
	ck_assert_int_eq(tp.body_len[0], 153);
	ck_assert_int_eq(tp.udh_len[0], 6);
	ck_assert_int_eq(tp.udh[1][3], 0xab);
	ck_assert_int_eq(tp.udh[1][5], 2);
	/* The same text again (a fan-out's next copy, its parts kept from
	 * the last): its own reference, the same parts. */
	struct text_parts again;
	ck_assert_int_eq(text_encode(longtext, 0, 0, NULL, 0, 0x1cd, &again, &err), 0);
	ck_assert_int_eq(again.n, 2);
	ck_assert_int_eq(again.udh[0][3], 0xcd);
	ck_assert_int_eq(again.udh[1][3], 0xcd);
	ck_assert_int_eq(again.udh[1][5], 2);
	ck_assert_mem_eq(again.body[1], tp.body[1], tp.body_len[1]);
	ck_assert_int_eq(again.body_len[1], tp.body_len[1]);
	/* Cut to one part with an ending. */
	ck_assert_int_eq(text_encode(longtext, 1, 0, "\xe2\x80\xa6 GET bob", 0, 1,
	    &tp, &err), 0);
	ck_assert_int_eq(tp.n, 1);
	ck_assert(!tp.ucs2);
	back = text_decode(tp.body[0], tp.body_len[0], 0, 0, 0, &coding);
	ck_assert_msg(strstr(back, "... GET bob") != NULL, "%s", back);
	free(back);
	/* Latin-1 as the default alphabet; Greek is GSM-7 but not Latin-1. */
	ck_assert_int_eq(text_encode("café", 0, 0, NULL, 1, 1, &tp, &err), 0);
	ck_assert(!tp.ucs2);
	ck_assert_int_eq(tp.body_len[0], 4);
	ck_assert_int_eq(tp.body[0][3], 0xe9);
	back = text_decode(tp.body[0], tp.body_len[0], 0, 1, 0, &coding);
	ck_assert_str_eq(back, "café");
	free(back);
	ck_assert_int_eq(text_encode("ΔΦ", 0, 0, NULL, 1, 1, &tp, &err), 0);
	ck_assert(tp.ucs2);
	ck_assert_int_eq(text_encode("ΔΦ", 0, 0, NULL, 0, 1, &tp, &err), 0);
	ck_assert(!tp.ucs2);
	ck_assert_int_eq(text_encode("\xff", 0, 0, NULL, 0, 1, &tp, &err), -1);
	/*
	 * A post of 200 characters with a euro sign, capped for GSM-7 at 2
	 * parts (fanout_parts_gsm), on a Latin-1 bind: UCS-2, so the UCS-2
	 * cap (3) applies and it goes whole. It was cut to 2 UCS-2 parts,
	 * about 130 characters, the rest lost.
	 */
	char euro[256];
	memset(euro, 'a', 197);
	memcpy(euro + 197, "\xe2\x82\xac", 4);	/* ... and a euro sign */
	ck_assert_int_eq(text_encode(euro, 2, 3, "\xe2\x80\xa6", 1, 1, &tp, &err), 0);
	ck_assert(tp.ucs2);
	ck_assert_int_eq(tp.n, 3);
	ck_assert_int_eq(text_encode(euro, 2, 0, "\xe2\x80\xa6", 1, 1, &tp, &err), 0);
	ck_assert_int_eq(tp.n, 2);	/* no UCS-2 cap given: the one given */
	/* GSM-7 on a GSM-7 bind: 2 parts, the UCS-2 cap unused. */
	ck_assert_int_eq(text_encode(euro, 2, 3, "\xe2\x80\xa6", 0, 1, &tp, &err), 0);
	ck_assert(!tp.ucs2);
	ck_assert_int_eq(tp.n, 2);
}
END_TEST

/* A UCS-2 segment cut inside a surrogate pair (a phone's long message,
 * passed on by the SMSC): each lone half becomes its marker (U+F0000 +
 * unit - 0xD800), which the join pairs again (20_inbox.sql); a whole pair
 * stays the character. Each half was U+FFFD, and the emoji lost. */
START_TEST(test_decode_cut_pair)
{
	const char *coding;
	/* "Vive " and a high half. */
	char *t = text_decode((const uint8_t *)"\0V\0i\0v\0e\0 \xd8\x3d", 12, 8, 0,
	    0, &coding);

	ck_assert_str_eq(coding, "ucs2");
	ck_assert_str_eq(t, "Vive \xf3\xb0\x80\xbd");		/* U+F003D */
	free(t);
	/* A low half, then " ok". */
	t = text_decode((const uint8_t *)"\xde\x00\0 \0o\0k", 8, 8, 0, 0, &coding);
	ck_assert_str_eq(t, "\xf3\xb0\x98\x80 ok");		/* U+F0600 */
	free(t);
	/* Whole: U+1F600. */
	t = text_decode((const uint8_t *)"\xd8\x3d\xde\x00", 4, 8, 0, 0, &coding);
	ck_assert_str_eq(t, "\xf0\x9f\x98\x80");
	free(t);
}
END_TEST

/* A send's flash and validity in its submit_sm: a relative validity
 * period; class 0 in data_coding, or where data_coding 0 is Latin-1 (no
 * class bits) the dest_addr_subunit TLV (1, the MS display). */
START_TEST(test_submit_flash_validity)
{
	struct link_config cfg;
	struct text_parts tp;
	struct pdu_out o;
	const char *err;
	static const uint8_t subunit[] = { 0x00, 0x05, 0x00, 0x01, 0x01 };

	memset(&cfg, 0, sizeof(cfg));
	ck_assert_int_eq(text_encode("flash", 0, 0, NULL, 0, 1, &tp, &err), 0);
	pdu_out_init(&o);
	pdu_submit(&o, &cfg, "212600000001", &tp, 0, 0, 1, 90061);
	ck_assert_ptr_nonnull(memmem(o.buf, o.len, "000001010101000R", 17));
	ck_assert_ptr_nonnull(memmem(o.buf, o.len, "flash", 5));
	/* data_coding: after the validity, registered_delivery, replace. */
	ck_assert_int_eq(((uint8_t *)memmem(o.buf, o.len, "000R", 5))[5 + 2], 0x10);
	ck_assert_ptr_null(memmem(o.buf, o.len, subunit, sizeof(subunit)));
	pdu_out_free(&o);

	cfg.latin1 = 1;
	ck_assert_int_eq(text_encode("flash", 0, 0, NULL, 1, 1, &tp, &err), 0);
	pdu_out_init(&o);
	pdu_submit(&o, &cfg, "212600000001", &tp, 0, 0, 1, 0);
	ck_assert_int_eq(memcmp(o.buf + o.len - sizeof(subunit), subunit,
	    sizeof(subunit)), 0);
	pdu_out_free(&o);
}
END_TEST

/* dest_ton 2: a number of the [pigeon] country written nationally, its
 * trunk 0 first, TON 2; another country's stays international, TON 1;
 * any other dest_ton writes the digits without '+' as they are. */
START_TEST(test_dest_national)
{
	struct link_config cfg;
	char out[24];

	memset(&cfg, 0, sizeof(cfg));
	cfg.dest_ton = 1;
	snprintf(cfg.country, sizeof(cfg.country), "212");
	ck_assert_int_eq(pdu_dest(&cfg, "+212661234567", out, sizeof(out)), 1);
	ck_assert_str_eq(out, "212661234567");
	cfg.dest_ton = 2;
	ck_assert_int_eq(pdu_dest(&cfg, "+212661234567", out, sizeof(out)), 2);
	ck_assert_str_eq(out, "0661234567");
	ck_assert_int_eq(pdu_dest(&cfg, "+33612345678", out, sizeof(out)), 1);
	ck_assert_str_eq(out, "33612345678");
	/* 21 is not 212's start; +2120... is no number of ours. */
	ck_assert_int_eq(pdu_dest(&cfg, "+21612345678", out, sizeof(out)), 1);
	ck_assert_str_eq(out, "21612345678");
	cfg.country[0] = '\0';		/* no country: no national form */
	ck_assert_int_eq(pdu_dest(&cfg, "+212661234567", out, sizeof(out)), 1);
	ck_assert_str_eq(out, "212661234567");
	cfg.dest_ton = 0;
	ck_assert_int_eq(pdu_dest(&cfg, "+212661234567", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "212661234567");
}
END_TEST

/* A GSM-7 part cut between an escape and its character ("5" and the
 * escape of a euro sign): marked U+F0800 when another part follows, for
 * the join (pigeon_inbox_surrogates); the last part's is left as decoded. */
START_TEST(test_decode_cut_escape)
{
	const char *coding;
	char *t = text_decode((const uint8_t *)"5\x1b", 2, 0, 0, 1, &coding);

	ck_assert_str_eq(coding, "gsm");
	ck_assert_str_eq(t, "5\xf3\xb0\xa0\x80");		/* U+F0800 */
	free(t);
	t = text_decode((const uint8_t *)"5\x1b\x65", 3, 0, 0, 1, &coding);
	ck_assert_str_eq(t, "5\xe2\x82\xac");		/* whole: the euro */
	free(t);
	t = text_decode((const uint8_t *)"5\x1b", 2, 0, 0, 0, &coding);
	ck_assert_str_eq(t, "5\xc2\xb9");		/* the last part: as before */
	free(t);
}
END_TEST

/* A data_coding 0 text with bytes above 0x7f is not GSM septets: read as
 * Latin-1, whole (it was garbled, or cut at a byte read as U+0000). */
START_TEST(test_decode_high_bytes)
{
	const char *coding;
	char *t = text_decode((const uint8_t *)"caf\xe9 ok", 7, 0, 0, 0, &coding);

	ck_assert_str_eq(t, "café ok");
	free(t);
	t = text_decode((const uint8_t *)"abc\x80" "def", 7, 0, 0, 0, &coding);
	ck_assert_str_eq(t, "abc\xc2\x80" "def");
	free(t);
	t = text_decode((const uint8_t *)"x\x81\x90\xff" "y", 5, 0xf0, 0, 0, &coding);
	ck_assert_str_eq(t, "x\xc2\x81\xc2\x90\xc3\xbf" "y");
	free(t);
	/* GSM septets are still GSM: 0x00 is "@". */
	t = text_decode((const uint8_t *)"a\x00" "b", 3, 0, 0, 0, &coding);
	ck_assert_str_eq(t, "a@b");
	free(t);
}
END_TEST

/*
 * data_coding as SMPP 3.4 writes it (5.2.19) below 0x10, as GSM 03.38's
 * coding groups from 0x10 up. 2 (octets) was read as GSM-7 and 9, 10 as
 * UCS-2 (23.038's group rules applied to SMPP's own values): a binary
 * SMS reading "STOP" was applied as a STOP. The auto-delete groups
 * (0x40-0x7F) and the message waiting groups (0xC0-0xEF) were binary.
 */
static const char *
coding_of(uint8_t dc, const char *bytes, size_t n, char **text)
{
	const char *coding = NULL;

	*text = text_decode((const uint8_t *)bytes, n, dc, 0, 0, &coding);
	return coding;
}

START_TEST(test_decode_data_coding)
{
	static const struct {
		uint8_t	 dc;
		const char *coding;
		const char *text;	/* of "STOP", or of UCS-2 "\0S\0T" */
	} cases[] = {
		{ 0x00, "gsm", "STOP" },
		{ 0x01, "gsm", "STOP" },	/* IA5 (ASCII) */
		{ 0x02, "8bit", "53544F50" },	/* octet unspecified */
		{ 0x03, "gsm", "STOP" },	/* Latin-1 */
		{ 0x04, "8bit", "53544F50" },	/* octet */
		{ 0x05, "8bit", "53544F50" },	/* JIS */
		{ 0x06, "8bit", "53544F50" },	/* Cyrillic */
		{ 0x07, "8bit", "53544F50" },	/* Hebrew */
		{ 0x08, "ucs2", "ST" },
		{ 0x09, "8bit", "0053" "0054" },	/* pictograms */
		{ 0x0a, "8bit", "0053" "0054" },	/* ISO-2022-JP */
		{ 0x0d, "8bit", "0053" "0054" },	/* extended Kanji */
		{ 0x0e, "8bit", "0053" "0054" },	/* KS C 5601 */
		{ 0x10, "gsm", "STOP" },	/* 23.038: GSM-7, class 0 */
		{ 0x11, "gsm", "STOP" },
		{ 0x14, "8bit", "53544F50" },	/* 8-bit data */
		{ 0x18, "ucs2", "ST" },
		{ 0x30, "8bit", "53544F50" },	/* compressed */
		{ 0x40, "gsm", "STOP" },	/* auto-delete, GSM-7 */
		{ 0x44, "8bit", "53544F50" },
		{ 0x48, "ucs2", "ST" },
		{ 0x59, "ucs2", "ST" },	/* UCS-2, class 1 */
		{ 0x60, "8bit", "53544F50" },	/* auto-delete, compressed */
		{ 0x80, "8bit", "53544F50" },	/* reserved */
		{ 0xc0, "gsm", "STOP" },	/* message waiting, discard */
		{ 0xd8, "gsm", "STOP" },	/* message waiting, store */
		{ 0xe0, "ucs2", "ST" },	/* message waiting, UCS-2 */
		{ 0xf0, "gsm", "STOP" },
		{ 0xf4, "8bit", "53544F50" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int wide = strcmp(cases[i].text, "ST") == 0 ||
		    strncmp(cases[i].text, "0053", 4) == 0;
		char *t;
		const char *c = wide ? coding_of(cases[i].dc, "\0S\0T", 4, &t) :
		    coding_of(cases[i].dc, "STOP", 4, &t);
		ck_assert_msg(strcmp(c, cases[i].coding) == 0 &&
		    strcmp(t, cases[i].text) == 0,
		    "data_coding 0x%02x: %s \"%s\", not %s \"%s\"", cases[i].dc,
		    c, t, cases[i].coding, cases[i].text);
		free(t);
	}
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("smpp_pdu");
	TCase *tc = tcase_create("smpp_pdu");

	tcase_add_test(tc, test_receipt_text);
	tcase_add_test(tc, test_id_keys);
	tcase_add_test(tc, test_long_ids);
	tcase_add_test(tc, test_id_clean);
	tcase_add_test(tc, test_deliver_parse);
	tcase_add_test(tc, test_deliver_broken_tail);
	tcase_add_test(tc, test_deliver_key_receipt_tlvs);
	tcase_add_test(tc, test_status_classes);
	tcase_add_test(tc, test_text_parts);
	tcase_add_test(tc, test_decode_high_bytes);
	tcase_add_test(tc, test_decode_cut_pair);
	tcase_add_test(tc, test_decode_cut_escape);
	tcase_add_test(tc, test_submit_flash_validity);
	tcase_add_test(tc, test_dest_national);
	tcase_add_test(tc, test_decode_data_coding);
	suite_add_tcase(s, tc);
	return unit_run(s);
}

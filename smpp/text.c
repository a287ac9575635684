/*
 * text.c: SMS text for SMPP, with libgammu's encoder and splitter as on
 * modems (GSM_EncodeMultiPartSMS picks GSM-7 or UCS-2 and the same part
 * sizes), so a message makes the same parts over a bind as over a modem.
 * SMPP carries GSM-7 unpacked, one septet per byte (data_coding 0), and
 * UCS-2 big-endian (8).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gammu.h>

#include "log.h"
#include "smpp.h"

/*
 * libgammu's default-alphabet converters are exported but not declared in
 * its public headers (libgammu/misc/coding/coding.h): unicode is its
 * big-endian UTF-16 with a two-byte NUL, the default alphabet one septet
 * per byte, escapes included.
 */
void	EncodeDefault(unsigned char *dest, const unsigned char *src,
	    size_t *len, gboolean UseExtensions, unsigned char *ExtraAlphabet);
void	DecodeDefault(unsigned char *dest, const unsigned char *src,
	    size_t len, gboolean UseExtensions, unsigned char *ExtraAlphabet);

static GSM_MultiSMSMessage *out;	/* ~260 KB: on the heap, once */
static GSM_MultiPartSMSInfo *info;

static GSM_Error
text_gammu(const char *text, int force_ucs2)
{
	size_t len = strlen(text);
	unsigned char *ubuf;
	GSM_Error err;

	if (out == NULL && ((out = calloc(1, sizeof(*out))) == NULL ||
	    (info = calloc(1, sizeof(*info))) == NULL))
		fatal("calloc");
	if ((ubuf = calloc(len + 2, 2)) == NULL)
		fatal("calloc");
	DecodeUTF8(ubuf, text, len);
	GSM_ClearMultiPartSMSInfo(info);
	info->Class = -1;
	info->EntriesNum = 1;
	info->UnicodeCoding = force_ucs2 ? TRUE : FALSE;
	info->Entries[0].ID = force_ucs2 ? SMS_ConcatenatedTextLong :
	    SMS_ConcatenatedAutoTextLong;
	info->Entries[0].Buffer = ubuf;
	err = GSM_EncodeMultiPartSMS(GSM_GetGlobalDebug(), info, out);
	info->Entries[0].Buffer = NULL;
	free(ubuf);
	return err;
}

/* Whether every character of the parts is in Latin-1. */
static int
text_latin1_ok(void)
{
	for (int i = 0; i < out->Number; i++) {
		const unsigned char *t = out->SMS[i].Text;
		for (int k = 0; k < out->SMS[i].Length; k++)
			if (t[2 * k] != 0)
				return 0;
	}
	return 1;
}

/* Encodes text; number of parts, or -1. *forced (when not NULL): GSM-7
 * would have carried it, but a character Latin-1 lacks made it UCS-2. */
static int
text_count(const char *text, int latin1, int *forced)
{
	if (forced != NULL)
		*forced = 0;
	if (text_gammu(text, 0) != ERR_NONE)
		return -1;
	if (latin1 && out->SMS[0].Coding == SMS_Coding_Default_No_Compression &&
	    !text_latin1_ok()) {
		if (text_gammu(text, 1) != ERR_NONE)
			return -1;
		if (forced != NULL)
			*forced = 1;
	}
	return out->Number;
}

/*
 * The longest start of text that, followed by more, fits max_parts
 * (malloc'd): cut between characters, at a space when one is in the last
 * 15, as pigeon-modem cuts; "…" becomes "..." in GSM-7.
 */
static char *
text_fit(const char *text, int max_parts, const char *more, int latin1)
{
	size_t len = strlen(text), n, *off, lo = 0, hi, k;
	char tail[256], *p;
	int gsm7 = out->SMS[0].Coding == SMS_Coding_Default_No_Compression;

	tail[0] = '\0';
	for (const char *q = more; *q != '\0' && strlen(tail) + 4 < sizeof(tail); ) {
		if (gsm7 && strncmp(q, "\xe2\x80\xa6", 3) == 0) {
			strcat(tail, "...");
			q += 3;
		} else {
			size_t t = strlen(tail);
			tail[t] = *q++;
			tail[t + 1] = '\0';
		}
	}
	if ((off = utf8_offsets(text, len, &n)) == NULL)
		fatal("malloc");
	hi = n;
	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;
		p = gsm_cut_text(text, off[mid], tail);
		int c = text_count(p, latin1, NULL);
		free(p);
		if (c > 0 && c <= max_parts)
			lo = mid;
		else
			hi = mid;
	}
	k = lo;
	while (k > 0 && !utf8_cut_ok(text, len, off[k]))
		k--;
	for (size_t w = k; w > 0 && k - w < 15; w--)
		if (text[off[w]] == ' ') {
			k = w;
			break;
		}
	p = gsm_cut_text(text, off[k], tail);
	free(off);
	return p;
}

/*
 * The last text encoded, with what its parts depend on, and its parts: a
 * fan-out hands the worker one text for every follower, and libgammu's
 * encoder (a search of its alphabet table a character, several encodings
 * for a text cut to its cap) was a third of the worker's time in a
 * 100,000-copy fan-out. Only the concatenation reference differs.
 */
static struct {
	char			*text, *more;
	int			 max_parts, max_parts_ucs2, latin1;
	struct text_parts	 tp;
} last;

static int
text_last_is(const char *text, int max_parts, int max_parts_ucs2,
    const char *more, int latin1)
{
	return last.text != NULL && last.max_parts == max_parts &&
	    last.max_parts_ucs2 == max_parts_ucs2 && last.latin1 == latin1 &&
	    strcmp(last.text, text) == 0 && strcmp(last.more, more) == 0;
}

static void
text_last_keep(const char *text, int max_parts, int max_parts_ucs2,
    const char *more, int latin1, const struct text_parts *tp)
{
	free(last.text);
	free(last.more);
	if ((last.text = strdup(text)) == NULL || (last.more = strdup(more)) == NULL)
		fatal("strdup");
	last.max_parts = max_parts;
	last.max_parts_ucs2 = max_parts_ucs2;
	last.latin1 = latin1;
	last.tp = *tp;
}

/* The concatenation UDH of part i of n (libgammu takes the reference from
 * the clock: ours). */
static void
text_udh(struct text_parts *tp, int i, int n, unsigned ref)
{
	uint8_t u[6] = { 5, 0, 3, ref & 0xff, (uint8_t)n, (uint8_t)(i + 1) };

	memcpy(tp->udh[i], u, 6);
	tp->udh_len[i] = 6;
}

int
text_encode(const char *text, int max_parts, int max_parts_ucs2,
    const char *more, int latin1, unsigned ref, struct text_parts *tp,
    const char **err)
{
	char *cut = NULL;
	int n, forced;

	if (more == NULL)
		more = "";
	if (text_last_is(text, max_parts, max_parts_ucs2, more, latin1)) {
		*tp = last.tp;
		for (int i = 0; tp->n > 1 && i < tp->n; i++)
			text_udh(tp, i, tp->n, ref);
		return 0;
	}
	memset(tp, 0, sizeof(*tp));
	if (!utf8_valid(text, strlen(text)) || !utf8_valid(more, strlen(more))) {
		*err = "text is not valid UTF-8";
		return -1;
	}
	if (utf8_count(text, strlen(text)) > SMPP_MAX_PARTS * 160) {
		*err = "text needs more than 10 parts";
		return -1;
	}
	if ((n = text_count(text, latin1, &forced)) < 0) {
		*err = "the text cannot be encoded";
		return -1;
	}
	/* A text pigeond capped as GSM-7 that this bind's Latin-1 makes
	 * UCS-2 (a euro sign): the UCS-2 cap, as pigeond would have given
	 * had it seen it so (it was cut to the GSM-7 cap's parts, a third
	 * of the text lost). */
	if (forced && max_parts_ucs2 > max_parts)
		max_parts = max_parts_ucs2;
	if (max_parts > 0 && n > max_parts) {
		cut = text_fit(text, max_parts, more, latin1);
		n = text_count(cut, latin1, NULL);
		free(cut);
		if (n < 0) {
			*err = "the text cannot be encoded";
			return -1;
		}
	}
	if (n > SMPP_MAX_PARTS) {
		*err = "text needs more than 10 parts";
		return -1;
	}
	tp->n = n;
	tp->ucs2 = out->SMS[0].Coding != SMS_Coding_Default_No_Compression;
	for (int i = 0; i < n; i++) {
		GSM_SMSMessage *s = &out->SMS[i];
		size_t len = (size_t)s->Length;
		if (tp->ucs2) {
			if (len * 2 > sizeof(tp->body[i]))
				len = sizeof(tp->body[i]) / 2;
			memcpy(tp->body[i], s->Text, len * 2);
			tp->body_len[i] = len * 2;
		} else if (latin1) {
			for (size_t k = 0; k < len && k < sizeof(tp->body[i]); k++)
				tp->body[i][k] = s->Text[2 * k + 1];
			tp->body_len[i] = len;
		} else {
			unsigned char sept[2 * 160 + 2];
			EncodeDefault(sept, s->Text, &len, TRUE, NULL);
			if (len > sizeof(tp->body[i]))
				len = sizeof(tp->body[i]);
			memcpy(tp->body[i], sept, len);
			tp->body_len[i] = len;
		}
		if (n > 1)
			text_udh(tp, i, n, ref);
	}
	text_last_keep(text, max_parts, max_parts_ucs2, more, latin1, tp);
	return 0;
}

/*
 * Whether every byte is a GSM septet (below 0x80). A data_coding 0 text
 * with a byte above is not in the GSM alphabet: the SMSC sent 8-bit text,
 * read as Latin-1. Decoded as GSM, libgammu looked such a byte up past the
 * end of its 128-entry table: "caf\xe9" came out garbled, and a byte
 * that read as U+0000 cut the text there, the rest lost.
 */
static int
septets(const uint8_t *ud, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (ud[i] & 0x80)
			return 0;
	return 1;
}

enum alphabet { GSM, LATIN1, UCS2, BIN };

/*
 * data_coding 0x01-0x0F are SMPP 3.4's own values (5.2.19), not GSM
 * 03.38 coding groups: 1 IA5 (ASCII) and 3 Latin-1 are text, 8 UCS-2;
 * 2 and 4 are octets (binary: stored inert, never a command or a post);
 * 5 JIS, 6 Cyrillic, 7 Hebrew, 9 pictograms, 10 ISO-2022-JP music codes,
 * 13 extended Kanji and 14 KS C 5601 are not decoded here (kept as
 * bytes, like any coding we cannot read). Read with 23.038's group rules,
 * 2 was GSM-7 and 9 and 10 UCS-2: a binary SMS could be applied as a
 * command, and Japanese text read as garbage.
 */
static enum alphabet
smpp_alphabet(uint8_t dc)
{
	switch (dc) {
	case 1:
	case 3:
		return LATIN1;
	case 8:
		return UCS2;
	default:
		return BIN;
	}
}

/* 23.038's alphabet bits (3-2) of groups 00xx and 01xx: GSM-7, 8-bit
 * data, UCS-2, reserved. */
static enum alphabet
gsm_alphabet(uint8_t dc)
{
	switch (dc >> 2 & 3) {
	case 0:
		return GSM;
	case 2:
		return UCS2;
	default:
		return BIN;
	}
}

char *
text_decode(const uint8_t *ud, size_t len, uint8_t dc, int latin1, int more,
    const char **coding)
{
	enum alphabet a;
	unsigned char *u;
	char *s;

	if (dc == 0)
		a = latin1 ? LATIN1 : GSM;
	else if (dc < 0x10)
		a = smpp_alphabet(dc);
	else if (dc < 0x80)		/* general data coding, auto-delete */
		a = dc & 0x20 ? BIN : gsm_alphabet(dc);
	else if (dc >= 0xc0 && dc < 0xf0)	/* message waiting groups */
		a = dc < 0xe0 ? GSM : UCS2;
	else if (dc >= 0xf0)		/* data coding / message class */
		a = dc & 0x04 ? BIN : GSM;
	else
		a = BIN;		/* 0x80-0xBF: reserved */
	if (a == GSM && !septets(ud, len))
		a = LATIN1;
	if (a == BIN) {
		static const char hex[] = "0123456789ABCDEF";
		if ((s = malloc(len * 2 + 1)) == NULL)
			fatal("malloc");
		for (size_t i = 0; i < len; i++) {
			s[2 * i] = hex[ud[i] >> 4];
			s[2 * i + 1] = hex[ud[i] & 15];
		}
		s[2 * len] = '\0';
		*coding = "8bit";
		return s;
	}
	/* To libgammu's unicode, then UTF-8 (at most 3 bytes a unit, 4 for
	 * each of the two markers of gsm_mark_cut_pair, or the one of
	 * gsm_mark_cut_escape). */
	if ((u = calloc(len + 4, 2)) == NULL || (s = malloc(len * 3 + 3)) == NULL)
		fatal("calloc");
	if (a == UCS2) {
		memcpy(u, ud, len & ~(size_t)1);
		gsm_mark_cut_pair(u, 2 * (len + 4));
		*coding = "ucs2";
	} else if (a == LATIN1) {
		for (size_t i = 0; i < len; i++)
			u[2 * i + 1] = ud[i];
		*coding = "gsm";
	} else {
		DecodeDefault(u, ud, len, TRUE, NULL);
		if (more)
			gsm_mark_cut_escape(u, 2 * (len + 4));
		*coding = "gsm";
	}
	s[0] = '\0';
	EncodeUTF8(s, u);
	free(u);
	return s;
}

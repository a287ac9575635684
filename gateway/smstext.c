/*
 * smstext.c: what libgammu will make of a text, asked of libgammu itself
 * (the one oracle for GSM-7 against UCS-2: é is GSM-7, ş is not; a rule
 * such as "any byte >= 0x80" gets that wrong).
 */
#include <stdlib.h>
#include <string.h>

#include <gammu.h>

#include "pigeond.h"

#define SCAN_MAX	4096	/* bytes of a text looked at: longer than any SMS text */

/*
 * The last text asked and its answer: a fan-out sends the same text to
 * each follower, and libgammu's encoding of it was a quarter of pigeond's
 * CPU during one (perf, 100,000 copies over an SMPP bind).
 */
static char	*last_text;
static size_t	 last_len;
static int	 last_ucs2, last_parts;

int
smstext_encode(const char *text, size_t len, int *parts)
{
	/* Kept: ~260 KB, allocated once (pigeond is single-threaded). */
	static GSM_MultiSMSMessage *m;
	GSM_MultiPartSMSInfo info;
	unsigned char *u;
	int ucs2 = 1;

	*parts = 1;
	if (len > SCAN_MAX)
		len = SCAN_MAX;
	if (last_text != NULL && len == last_len && memcmp(text, last_text, len) == 0) {
		*parts = last_parts;
		return last_ucs2;
	}
	if (m == NULL)
		m = calloc(1, sizeof(*m));
	u = calloc(len + 2, 2);
	if (m == NULL || u == NULL)
		goto out;
	DecodeUTF8(u, text, len);
	GSM_ClearMultiPartSMSInfo(&info);
	info.Class = -1;
	info.EntriesNum = 1;
	info.Entries[0].ID = SMS_ConcatenatedAutoTextLong;
	info.Entries[0].Buffer = u;
	if (GSM_EncodeMultiPartSMS(NULL, &info, m) == ERR_NONE && m->Number > 0) {
		ucs2 = m->SMS[0].Coding != SMS_Coding_Default_No_Compression;
		*parts = m->Number;
	}
	/* The answer, for the same text next time. */
	free(last_text);
	if ((last_text = malloc(len + 1)) != NULL) {
		memcpy(last_text, text, len);
		last_len = len;
		last_ucs2 = ucs2;
		last_parts = *parts;
	}
out:
	free(u);
	return ucs2;
}

/*
 * smstext.c: what libgammu will make of a text, asked of libgammu itself
 * (the one oracle for GSM-7 against UCS-2: é is GSM-7, ş is not; a rule
 * such as "any byte >= 0x80" gets that wrong).
 */
#include <stdlib.h>

#include <gammu.h>

#include "pigeond.h"

#define SCAN_MAX	4096	/* bytes of a text looked at: longer than any SMS text */

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
out:
	free(u);
	return ucs2;
}

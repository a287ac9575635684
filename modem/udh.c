/*
 * udh.c: the information elements of a user data header (3GPP TS 23.040
 * 9.2.3.24), read by pigeon-modem itself. libgammu names a header only
 * when the whole of it is one it knows (GSM_DecodeUDHHeader compares it
 * with a table), so a concatenation IE beside a national language shift
 * (IE 0x24, 0x25, which Turkish, Spanish, Portuguese and Indian phones
 * add) came out as a "user UDH" without reference: each part of a long
 * SMS was applied alone, and the tail of a DM went out as a post. Pure:
 * tests/unit/test_udh.c and tests/fuzz/fuzz_pdu.c run it on any bytes.
 */
#include <stddef.h>

#include "worker.h"

/*
 * 23.040: a total of 0, or a sequence of 0 or above the total, makes the
 * IE to be ignored; of a repeated IE the last one counts.
 */
static void
udh_concat(struct udh_info *u, int ref, int total, int seq)
{
	if (total == 0 || seq == 0 || seq > total)
		return;
	u->concat = 1;
	u->ref = ref;
	u->total = total;
	u->seq = seq;
}

void
udh_walk(const unsigned char *udh, size_t len, struct udh_info *u)
{
	size_t end, i;

	u->concat = 0;
	u->ref = u->total = u->seq = 0;
	u->port = -1;
	if (udh == NULL || len == 0)
		return;
	/* UDHL, then the IEs; never past what the caller has. */
	end = (size_t)udh[0] + 1;
	if (end > len)
		end = len;
	for (i = 1; i + 2 <= end; ) {
		unsigned id = udh[i], n = udh[i + 1];
		const unsigned char *d = udh + i + 2;

		if (i + 2 + n > end)
			break;		/* an IE longer than the header */
		switch (id) {
		case 0x00:	/* concatenation, 8-bit reference */
			if (n == 3)
				udh_concat(u, d[0], d[1], d[2]);
			break;
		case 0x08:	/* concatenation, 16-bit reference */
			if (n == 4)
				udh_concat(u, (d[0] << 8) | d[1], d[2], d[3]);
			break;
		case 0x04:	/* application port, 8-bit */
			u->port = n == 2 ? d[0] : 0;
			break;
		case 0x05:	/* application port, 16-bit */
			u->port = n == 4 ? (d[0] << 8) | d[1] : 0;
			break;
		default:
			break;
		}
		i += 2 + n;
	}
}

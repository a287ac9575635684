/*
 * libFuzzer target: what an SMSC's bytes reach in pigeon-smpp (smpp/pdu.c):
 * a deliver_sm (the input is its body after a 16-byte header), the receipt
 * text inside it, and the spellings of the ids it names. The PDU is copied
 * into a heap buffer of its exact size, so a read past it is caught.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smpp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct deliver d;
	struct receipt rc;
	char keys[3][SMPP_ID_SIZE];
	size_t len = SMPP_HEADER_LEN + size;
	uint8_t *pdu;

	if (size > SMPP_MAX_PDU)
		return 0;
	if ((pdu = malloc(len)) == NULL)
		abort();
	memset(pdu, 0, SMPP_HEADER_LEN);
	pdu[3] = (uint8_t)len;
	pdu[2] = (uint8_t)(len >> 8);
	pdu[7] = 5;		/* deliver_sm */
	memcpy(pdu + SMPP_HEADER_LEN, data, size);
	if (pdu_deliver_parse(pdu, len, &d) == 0) {
		if (d.sm_len > 0 && (d.sm < pdu || d.sm + d.sm_len > pdu + len))
			abort();
		if (receipt_parse((const char *)d.sm, d.sm_len, &rc) == 0) {
			if (strlen(rc.id) >= sizeof(rc.id))
				abort();
			int n = smpp_id_keys(rc.id, keys);
			if (n < 1 || n > 3)
				abort();
		}
		if (d.receipted_id[0] != '\0') {
			/* As deliver.c writes it: at most 64 bytes of UTF-8. */
			char rid[SMPP_ID_SIZE];
			memcpy(rid, d.receipted_id, sizeof(rid));
			smpp_id_clean(rid);
			if (strlen(rid) > SMPP_ID_SIZE - 1 ||
			    !utf8_valid(rid, strlen(rid)))
				abort();
			smpp_id_keys(rid, keys);
		}
	}
	free(pdu);
	return 0;
}

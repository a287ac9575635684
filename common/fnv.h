/*
 * fnv.h: FNV-1a, 64 bits, over a run of bytes; chain calls to hash several
 * fields (start with FNV_OFFSET). The workers key what the SMSC or the SIM
 * sends again with it (smpp/pdu.c deliver_hash, modem/listing.c).
 */
#ifndef PIGEON_FNV_H
#define PIGEON_FNV_H

#include <stddef.h>
#include <stdint.h>

#define FNV_OFFSET	0xcbf29ce484222325ULL

static inline uint64_t
fnv(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

#endif

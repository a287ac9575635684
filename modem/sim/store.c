/*
 * store.c: the SIM's SMS storage ("SM"), locations 1..SIM_SLOTS.
 *
 * Kept in memory only: a restarted simulator is a fresh SIM.
 */
#include <stdlib.h>
#include <string.h>

#include "sim.h"

static struct slot store[SIM_SLOTS + 1];	/* [0] unused: 1-based like AT */

int
store_free(void)
{
	return SIM_SLOTS - store_used();
}

int
store_used(void)
{
	int i, n = 0;

	for (i = 1; i <= SIM_SLOTS; i++)
		n += store[i].used;
	return n;
}

/* Real modems fill the lowest free location first; so do we. */
int
store_put(struct pdu_part *p, const char *from)
{
	int i;

	for (i = 1; i <= SIM_SLOTS; i++) {
		if (store[i].used)
			continue;
		store[i].state = 0;
		store[i].hex = p->hex;
		store[i].tpdu_len = p->tpdu_len;
		store[i].text = p->text;
		if ((store[i].from = strdup(from)) == NULL) {
			memset(&store[i], 0, sizeof(store[i]));
			return -1;
		}
		store[i].ref = p->ref;
		store[i].seq = p->seq;
		store[i].total = p->total;
		store[i].report = p->report;
		store[i].mr = p->mr;
		store[i].status = p->status;
		store[i].used = 1;
		p->hex = p->text = NULL;
		return i;
	}
	return -1;
}

const struct slot *
store_get(int location)
{
	if (location < 1 || location > SIM_SLOTS || !store[location].used)
		return NULL;
	return &store[location];
}

void
store_mark_read(int location)
{
	if (location >= 1 && location <= SIM_SLOTS && store[location].used)
		store[location].state = 1;
}

int
store_delete(int location)
{
	struct slot *s;

	if (location < 1 || location > SIM_SLOTS)
		return -1;
	s = &store[location];
	free(s->hex);
	free(s->text);
	free(s->from);
	memset(s, 0, sizeof(*s));
	return 0;
}

void
store_clear(void)
{
	int i;

	for (i = 1; i <= SIM_SLOTS; i++)
		store_delete(i);
}

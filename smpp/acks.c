/*
 * acks.c: pigeon-smpp's deliveries waiting for pigeond's answer. Each
 * deliver_sm gets a handle (pigeond's `location`); the deliver_sm_resp
 * goes out only once pigeond says it committed the delivery (`delete`
 * with that handle: link_ack), on the session that delivered it, if that
 * session is still the one open (the generation). The book is kept in
 * delivery order: answers come mostly in that order.
 *
 * An SMSC sends a deliver_sm again, with a new sequence number, when its
 * answer is late (pigeond's commit waits on a slow database). A copy
 * that comes on the same session while the first still waits joins it
 * (acks_join): both are answered when pigeond commits the first, and the
 * copy never reaches pigeond, which took it for a new SMS (it drops a
 * copy as a redelivery only when the link went down in between) and
 * applied it twice.
 *
 * An entry leaves the book when pigeond answers it, when its session
 * closes (acks_drop_owner: the SMSC delivers it again on the next one),
 * or when it has waited ACKS_MAX_AGE_MS (acks_oldest: link.c answers it
 * with a temporary error, and the SMSC delivers it again). The last two
 * are told to pigeond (`dropped`): what it has not stored of them it
 * forgets, as the SMSC's copy, perhaps on another bind, is stored. pigeond
 * answers within seconds; one it never answers (a store that failed, an
 * ack refused while the database was away) otherwise stayed for good,
 * every copy of it was joined to it and never stored, and once
 * ACKS_MAX_WAITING of them had piled up every delivery was refused
 * until the worker restarted.
 *
 * What the SMSC was told to deliver again while pigeond may have stored
 * it (answered ESME_RX_T_APPN after its wait, a copy over
 * ACKS_MAX_COPIES throttled, its session closed under it) is remembered
 * by key (the again book): the next delivery with that key is said to
 * pigeond as a redelivery (acks_add), which its store absorbs when the
 * first copy is stored. pigeond takes a copy for a redelivery by itself
 * only when the link went down in between; otherwise the same text from
 * the same phone is a new SMS (a second STOP after a START). So an MO
 * stored during a lock outage of over 5 minutes, its answer held, was
 * stored and applied again when the SMSC delivered it again on the
 * session that stayed up. Not remembered: what pigeond said it could not
 * store (`release`, unless that one was itself a redelivery) and what
 * was throttled before reaching pigeond: stored when they come again.
 * A key is remembered for ACKS_AGAIN_MS (the store's window) and taken
 * by the first delivery with it; ACKS_AGAIN_MAX keys at most, the oldest
 * forgotten first.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "smpp.h"
#include "linkint.h"

struct pending_ack {
	long long	 handle;	/* 0: answered (a hole) */
	void		*owner;
	unsigned	 gen;
	uint32_t	 seq;
	uint64_t	 key;		/* the deliver_sm's (deliver_hash) */
	uint32_t	 cmd;		/* SMPP_DELIVER_SM or SMPP_DATA_SM: answered so */
	int		 again;		/* said to pigeond as a redelivery */
	uint32_t	*copies;	/* sequence numbers of its copies */
	size_t		 ncopies;
	long		 at;		/* when it came (now_ms) */
};

static struct pending_ack *acks;
static size_t		 acks_head, nacks, acks_cap;
static size_t		 acks_holes;	/* answered entries after acks_head */
static long long	 next_handle;

/* The again book: a ring in the order keys were noted, holes where one
 * was taken or noted again. */
struct again {
	uint64_t	 key;
	long		 at;		/* when noted (now_ms) */
	int		 live;		/* 0: taken (a hole) */
};
static struct again	 again_book[ACKS_AGAIN_MAX];
static size_t		 again_head, again_n;

/* Keeps only the entries still waiting for their answer, in order. */
static void
acks_compact(void)
{
	size_t j = 0;

	for (size_t i = acks_head; i < nacks; i++)
		if (acks[i].handle != 0)
			acks[j++] = acks[i];
	nacks = j;
	acks_head = 0;
	acks_holes = 0;
}

/*
 * The next delivery's handle, pigeond's `location`: 1 to INT32_MAX, as
 * pigeond reads it (it refused or cut larger ones, and every delivery
 * after the 2^31st went unanswered until the worker restarted), and
 * never one still waiting for its answer.
 */
static long long
handle_next(void)
{
	for (;;) {
		int used = 0;

		next_handle = next_handle >= INT32_MAX ? 1 : next_handle + 1;
		for (size_t i = acks_head; i < nacks && !used; i++)
			used = acks[i].handle == next_handle;
		if (!used)
			return next_handle;
	}
}

static void
ack_put(long long handle, void *owner, unsigned gen, uint32_t seq)
{
	if (nacks == acks_cap && acks_head + acks_holes > 0)
		acks_compact();
	if (nacks == acks_cap) {
		size_t ncap = acks_cap ? acks_cap * 2 : 64;
		void *n = realloc(acks, ncap * sizeof(*acks));
		if (n == NULL)
			fatal("realloc");
		acks = n;
		acks_cap = ncap;
	}
	memset(&acks[nacks], 0, sizeof(acks[nacks]));
	acks[nacks].handle = handle;
	acks[nacks].owner = owner;
	acks[nacks].gen = gen;
	acks[nacks].seq = seq;
	acks[nacks].cmd = SMPP_DELIVER_SM;
	acks[nacks].at = now_ms();
	nacks++;
}

/* Entry i is answered or dropped: a hole, counted. */
static void
ack_hole(size_t i)
{
	free(acks[i].copies);
	acks[i].copies = NULL;
	acks[i].ncopies = 0;
	acks[i].handle = 0;
	acks_holes++;
}

/* After holes were made: the head skips them, and the array is compacted
 * when half of it is holes (acks_take). */
static void
acks_settle(void)
{
	while (acks_head < nacks && acks[acks_head].handle == 0) {
		acks_head++;
		acks_holes--;
	}
	if (acks_head == nacks)
		acks_head = nacks = acks_holes = 0;
	else if (acks_head + acks_holes > 64 &&
	    (acks_head + acks_holes) * 2 > nacks)
		acks_compact();
}

size_t
acks_waiting(void)
{
	return nacks - acks_head - acks_holes;
}

/* Forgets the keys noted ACKS_AGAIN_MS ago or more, and the holes
 * before the oldest live one. */
static void
again_expire(long t)
{
	while (again_n > 0 && (!again_book[again_head].live ||
	    t - again_book[again_head].at >= ACKS_AGAIN_MS)) {
		again_head = (again_head + 1) % ACKS_AGAIN_MAX;
		again_n--;
	}
}

/* The live entry with that key, or NULL. */
static struct again *
again_find(uint64_t key)
{
	for (size_t i = 0; i < again_n; i++) {
		struct again *a = &again_book[(again_head + i) % ACKS_AGAIN_MAX];
		if (a->live && a->key == key)
			return a;
	}
	return NULL;
}

void
acks_again_note(uint64_t key)
{
	long t = now_ms();
	struct again *a;

	again_expire(t);
	if ((a = again_find(key)) != NULL)
		a->live = 0;		/* noted again: as new, at the end */
	if (again_n == ACKS_AGAIN_MAX) {
		again_head = (again_head + 1) % ACKS_AGAIN_MAX;
		again_n--;
	}
	a = &again_book[(again_head + again_n++) % ACKS_AGAIN_MAX];
	a->key = key;
	a->at = t;
	a->live = 1;
}

int
acks_again_take(uint64_t key)
{
	struct again *a;
	long t;

	if (again_n == 0)
		return 0;
	t = now_ms();
	again_expire(t);
	if ((a = again_find(key)) == NULL)
		return 0;
	a->live = 0;
	again_expire(t);
	return 1;
}

long long
acks_add(void *owner, unsigned gen, uint32_t seq, uint64_t key, uint32_t cmd,
    int *again)
{
	long long h = handle_next();
	int a = acks_again_take(key);

	ack_put(h, owner, gen, seq);
	acks[nacks - 1].key = key;
	acks[nacks - 1].cmd = cmd;
	acks[nacks - 1].again = a;
	if (again != NULL)
		*again = a;
	return h;
}

int
acks_join(void *owner, unsigned gen, uint64_t key, uint32_t seq)
{
	for (size_t i = acks_head; i < nacks; i++) {
		struct pending_ack *a = &acks[i];
		uint32_t *n;

		if (a->handle == 0 || a->owner != owner || a->gen != gen ||
		    a->key != key)
			continue;
		/* An SMSC sending one delivery again and again while the
		 * commit is slow: each copy kept, and answered, at most so
		 * many times; the rest are to come again later. */
		if (a->ncopies >= ACKS_MAX_COPIES) {
			/* Throttled: to come again, perhaps once the first
			 * is stored. */
			acks_again_note(key);
			return 2;
		}
		if ((n = realloc(a->copies, (a->ncopies + 1) * sizeof(*n))) == NULL)
			fatal("realloc");
		a->copies = n;
		a->copies[a->ncopies++] = seq;
		return 1;
	}
	return 0;
}

/*
 * The first live entry is found at once; an answered entry becomes a
 * hole that the head skips, and the array is compacted when half of it
 * is holes. A delivery pigeond never answers (it could not store it: the
 * SMSC delivers it again) stays, and the head stops at it: the holes
 * after it are counted and compacted too, or every later ack would be
 * kept and scanned for good (100,000 deliveries: 3 MB, 35 µs an ack).
 */
int
acks_take(long long handle, enum acks_then then, void **owner, unsigned *gen,
    uint32_t *seq, uint32_t *cmd, uint32_t **copies, size_t *ncopies)
{
	for (size_t i = acks_head; i < nacks; i++) {
		if (acks[i].handle != handle)
			continue;
		if (then == ACKS_AGAIN ||
		    (then == ACKS_AGAIN_UNSTORED && acks[i].again))
			acks_again_note(acks[i].key);
		*owner = acks[i].owner;
		*gen = acks[i].gen;
		*seq = acks[i].seq;
		*cmd = acks[i].cmd;
		*copies = acks[i].copies;
		*ncopies = acks[i].ncopies;
		acks[i].copies = NULL;
		ack_hole(i);
		acks_settle();
		return 0;
	}
	return -1;
}

void
acks_handles_add(long long **handles, size_t *n, long long handle)
{
	long long *h = realloc(*handles, (*n + 1) * sizeof(*h));

	if (h == NULL)
		fatal("realloc");
	h[(*n)++] = handle;
	*handles = h;
}

size_t
acks_drop_owner(void *owner, long long **handles)
{
	size_t n = 0;

	*handles = NULL;
	for (size_t i = acks_head; i < nacks; i++)
		if (acks[i].handle != 0 && acks[i].owner == owner) {
			acks_handles_add(handles, &n, acks[i].handle);
			/* The SMSC delivers it again, on the next session. */
			acks_again_note(acks[i].key);
			ack_hole(i);
		}
	acks_settle();
	return n;
}

long long
acks_oldest(long age_ms)
{
	long t = now_ms();

	/* In delivery order: the first one waiting is the oldest. */
	for (size_t i = acks_head; i < nacks; i++)
		if (acks[i].handle != 0)
			return t - acks[i].at >= age_ms ? acks[i].handle : 0;
	return 0;
}

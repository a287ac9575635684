/*
 * seen.c: the SMS locations this worker has reported, so that each stored
 * part is reported once per worker lifetime until pigeond deletes it.
 *
 * A location is keyed by (folder, location) and remembers a hash of what it
 * held: if the modem reuses a location for a new SMS behind our back, the
 * content differs and the new SMS is reported. Open addressing with linear
 * probing; a modem holds tens of SMS, the dummy driver up to a few thousand.
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "worker.h"

struct seen_entry {
	int		 used;
	int		 folder;
	int		 location;
	unsigned	 gen;		/* last listing that saw it */
	uint64_t	 hash;
	int		 parts;		/* reported and not yet deleted */
};

struct seen {
	struct seen_entry *tab;
	size_t		 cap;		/* power of two */
	size_t		 n;
};

static size_t
seen_slot(const struct seen *s, int folder, int location)
{
	uint64_t h = (uint64_t)(unsigned)folder * 0x9e3779b97f4a7c15ULL;
	h ^= (uint64_t)(unsigned)location + 0x632be59bd9b4e019ULL + (h << 6) + (h >> 2);
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return (size_t)h & (s->cap - 1);
}

static struct seen_entry *
seen_find(const struct seen *s, int folder, int location)
{
	size_t i = seen_slot(s, folder, location);

	while (s->tab[i].used) {
		if (s->tab[i].folder == folder && s->tab[i].location == location)
			return &s->tab[i];
		i = (i + 1) & (s->cap - 1);
	}
	return NULL;
}

struct seen *
seen_new(void)
{
	struct seen *s = calloc(1, sizeof(*s));

	if (s == NULL)
		fatal("calloc");
	s->cap = 64;
	s->tab = calloc(s->cap, sizeof(*s->tab));
	if (s->tab == NULL)
		fatal("calloc");
	return s;
}

void
seen_free(struct seen *s)
{
	if (s == NULL)
		return;
	free(s->tab);
	free(s);
}

size_t
seen_count(const struct seen *s)
{
	return s->n;
}

int
seen_has(struct seen *s, int folder, int location, uint64_t hash, unsigned gen)
{
	struct seen_entry *e = seen_find(s, folder, location);

	if (e == NULL || e->hash != hash)
		return 0;
	e->gen = gen;
	return 1;
}

/* Re-inserts every used entry of old into a table of newcap slots. */
static void
seen_rehash(struct seen *s, size_t newcap, int keep_gen_only, unsigned gen)
{
	struct seen_entry *old = s->tab;
	size_t oldcap = s->cap;

	s->tab = calloc(newcap, sizeof(*s->tab));
	if (s->tab == NULL)
		fatal("calloc");
	s->cap = newcap;
	s->n = 0;
	for (size_t i = 0; i < oldcap; i++) {
		if (!old[i].used || (keep_gen_only && old[i].gen != gen))
			continue;
		size_t j = seen_slot(s, old[i].folder, old[i].location);
		while (s->tab[j].used)
			j = (j + 1) & (s->cap - 1);
		s->tab[j] = old[i];
		s->n++;
	}
	free(old);
}

void
seen_put(struct seen *s, int folder, int location, uint64_t hash, unsigned gen,
    int parts)
{
	struct seen_entry *e = seen_find(s, folder, location);

	if (e == NULL) {
		if ((s->n + 1) * 2 > s->cap)
			seen_rehash(s, s->cap * 2, 0, 0);
		size_t i = seen_slot(s, folder, location);
		while (s->tab[i].used)
			i = (i + 1) & (s->cap - 1);
		e = &s->tab[i];
		e->used = 1;
		e->folder = folder;
		e->location = location;
		e->parts = 0;
		s->n++;
	}
	/* New content at a known location: its parts come on top of the
	 * earlier content's, whose deletes may still be on their way (the
	 * location goes once every part reported there was stored). */
	e->parts = e->hash != hash && e->parts > 0 ? e->parts + parts : parts;
	e->hash = hash;
	e->gen = gen;
}

int
seen_part_deleted(struct seen *s, int folder, int location)
{
	struct seen_entry *e = seen_find(s, folder, location);

	if (e == NULL || e->parts <= 1)
		return 0;
	return --e->parts;
}

void
seen_del(struct seen *s, int folder, int location)
{
	struct seen_entry *e = seen_find(s, folder, location);

	if (e == NULL)
		return;
	/* Backward-shift deletion keeps every probe chain unbroken. */
	size_t i = (size_t)(e - s->tab), j = i;
	s->tab[i].used = 0;
	s->n--;
	for (;;) {
		j = (j + 1) & (s->cap - 1);
		if (!s->tab[j].used)
			break;
		size_t k = seen_slot(s, s->tab[j].folder, s->tab[j].location);
		/* Move j to the hole at i unless its home k lies in (i, j]. */
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		s->tab[i] = s->tab[j];
		s->tab[j].used = 0;
		i = j;
	}
}

void
seen_prune(struct seen *s, unsigned gen)
{
	size_t before = s->n, stale = 0;

	for (size_t i = 0; i < s->cap; i++)
		if (s->tab[i].used && s->tab[i].gen != gen)
			stale++;
	if (stale == 0)
		return;
	seen_rehash(s, s->cap, 1, gen);
	log_debug("forgot %zu SMS locations gone from the modem",
	    before - s->n);
}

/*
 * gsmdummy.c: the listing of libgammu's dummy driver (tests, benchmarks),
 * from its folders. On it, GSM_GetNextSMS opens every file name a folder
 * may hold, 1 to 10,000 in each of DEVICE/sms/1..5: 50,000 opens a
 * listing, ~0.15 s of CPU, seconds under ASan on a busy machine, and most
 * of them in the last call, which the worker cannot leave (a pigeond gone
 * meanwhile waited for it; a test that closed the channel saw the worker
 * outlive its deadline). The files it would find are read from the folders
 * instead, in its order (folder, then location), and each one is read by
 * libgammu (GSM_GetSMS) as GSM_GetNextSMS would read it.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gsmdummy.h"
#include "log.h"

#define DUMMY_FOLDERS		5
#define DUMMY_LOCATIONS		9999	/* names the driver reads back as written */

struct gsm_dummy {
	char	*device;
	struct { int folder, location; } *at;	/* this listing's files */
	size_t	 n, cap, next;
};

struct gsm_dummy *
gsm_dummy_new(const char *device)
{
	struct gsm_dummy *d = calloc(1, sizeof(*d));

	if (d == NULL || (d->device = strdup(device)) == NULL)
		fatal("gsm_dummy_new");
	return d;
}

void
gsm_dummy_free(struct gsm_dummy *d)
{
	if (d == NULL)
		return;
	free(d->device);
	free(d->at);
	free(d);
}

/* A file name the driver would open: a location in decimal, no zeros first. */
static int
gsm_dummy_location(const char *name)
{
	int v = 0;

	if (name[0] < '1' || name[0] > '9')
		return -1;
	for (const char *p = name; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' || v > DUMMY_LOCATIONS)
			return -1;
		v = v * 10 + (*p - '0');
	}
	return v <= DUMMY_LOCATIONS ? v : -1;
}

static int
gsm_dummy_cmp(const void *a, const void *b)
{
	const int *x = a, *y = b;

	if (x[0] != y[0])
		return x[0] < y[0] ? -1 : 1;
	return x[1] < y[1] ? -1 : x[1] > y[1];
}

/* Reads the folders' names; a folder that cannot be read has no SMS. */
static void
gsm_dummy_scan(struct gsm_dummy *d)
{
	char path[4200];

	d->n = d->next = 0;
	for (int folder = 1; folder <= DUMMY_FOLDERS; folder++) {
		snprintf(path, sizeof(path), "%s/sms/%d", d->device, folder);
		DIR *dir = opendir(path);
		struct dirent *e;
		if (dir == NULL)
			continue;
		while ((e = readdir(dir)) != NULL) {
			int loc = gsm_dummy_location(e->d_name);
			if (loc == -1)
				continue;
			if (d->n == d->cap) {
				size_t ncap = d->cap ? d->cap * 2 : 64;
				void *p = realloc(d->at, ncap * sizeof(*d->at));
				if (p == NULL)
					fatal("realloc");
				d->at = p;
				d->cap = ncap;
			}
			d->at[d->n].folder = folder;
			d->at[d->n].location = loc;
			d->n++;
		}
		closedir(dir);
	}
	if (d->n > 1)
		qsort(d->at, d->n, sizeof(*d->at), gsm_dummy_cmp);
}

int
gsm_dummy_next(struct gsm_dummy *d, GSM_StateMachine *sm,
    GSM_MultiSMSMessage *m, int start)
{
	GSM_Error err;

	if (start)
		gsm_dummy_scan(d);
	while (d->next < d->n) {
		memset(m, 0, sizeof(*m));
		m->SMS[0].Folder = d->at[d->next].folder;
		m->SMS[0].Location = d->at[d->next].location;
		d->next++;
		err = GSM_GetSMS(sm, m);
		if (err != ERR_EMPTY)
			return err;	/* ERR_EMPTY: deleted since the scan */
	}
	return ERR_EMPTY;
}

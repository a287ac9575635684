/*
 * migrate.c: what pigeond does on every new database connection before the
 * store is up: numbered migrations (db/migrations) under an advisory lock,
 * the functions of db/functions/NN_name.sql, the reply catalogs, LISTEN.
 */
#ifndef PIGEON_MIGRATE_H
#define PIGEON_MIGRATE_H

#include <stddef.h>

struct store;

/* Checks the embedded migrations and catalogs; -1 with err on a bad build. */
int	 migrate_init(char *err, size_t errlen);
/* The store's connect callback. */
void	 migrate_on_connect(struct store *, void *arg);
/* The schema version the embedded migrations reach. */
int	 migrate_latest(void);
/* This build's release of db/functions (after migrate_init). */
int	 migrate_functions_release(void);
void	 migrate_cleanup(void);
/*
 * 1 when the database's schema was newer than this build's: an older
 * pigeond would put its older functions over the newer ones, so it stops
 * the loop instead, and main exits with MIGRATE_EXIT_NEWER.
 */
int	 migrate_refused(void);
#define MIGRATE_EXIT_NEWER	78	/* EX_CONFIG */

#endif

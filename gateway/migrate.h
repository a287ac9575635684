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
void	 migrate_cleanup(void);

#endif

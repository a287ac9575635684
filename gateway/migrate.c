/* migrate.c: bring the database to this build's schema, once per connection. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <jansson.h>

#include "embedded.h"
#include "log.h"
#include "migrate.h"
#include "pigeond.h"
#include "store.h"

/* Any constant will do, as long as every pigeond uses the same one. */
#define MIGRATE_LOCK_KEY	"7417303731"

#define MIGRATIONS_DIR	"db/migrations/"
#define FUNCTIONS_DIR	"db/functions/"
#define RELEASE_FILE	"db/functions/00_release.sql"	/* pigeon_functions_serial() */
#define CATALOG_DIR	"gateway/catalog/"

struct migration {
	int		 version;
	char		 name[64];
	const char	*sql;
};

static struct migration migrations[64];
static int nmigrations;
static const struct embedded_file *functions[32];	/* in name order, the
							 * release last */
static int nfunctions;
static int functions_serial;	/* this build's release of db/functions */
static char *catalog_json;	/* {"en": {...}, "fr": {...}, "ar": {...}} */

/* Set-up steps, in order; each one's callback starts the next. */
enum step {
	STEP_LOCK,
	STEP_VERSION_TABLE,
	STEP_VERSION,
	STEP_RELEASE,		/* the database's release of the functions */
	STEP_MIGRATE,		/* repeated for each pending migration */
	STEP_FUNCTIONS,		/* repeated for each file of db/functions */
	STEP_CATALOG,
	STEP_IDENTITY,		/* the feeds' authority; a restored dump noticed */
	STEP_UNLOCK,
	STEP_LISTEN,
	STEP_DONE,
};

struct setup {
	struct store	*store;
	enum step	 step;
	int		 current;	/* schema version found */
	int		 next;		/* index into migrations or functions */
	char		 error[512];	/* first error inside a migration's transaction */
};

static struct setup setup;
static int refused;	/* the schema or the functions are newer than this build */

int
migrate_refused(void)
{
	return refused;
}

int
migrate_latest(void)
{
	return nmigrations ? migrations[nmigrations - 1].version : 0;
}

int
migrate_functions_release(void)
{
	return functions_serial;
}

/*
 * The serial in the text of pigeon_functions_serial(): its body as
 * 00_release.sql writes it, or as pg_proc keeps it (" SELECT 7 "). 0 when
 * there is none (a database of before the releases).
 */
static int
serial_of(const char *text)
{
	const char *p = text ? strstr(text, "SELECT ") : NULL;

	return p ? atoi(p + strlen("SELECT ")) : 0;
}

int
migrate_init(char *err, size_t errlen)
{
	const struct embedded_file *f;
	json_t *all = json_object();

	nmigrations = 0;
	for (f = embedded_files; f->path; f++) {
		if (strncmp(f->path, MIGRATIONS_DIR, strlen(MIGRATIONS_DIR)) == 0) {
			const char *base = f->path + strlen(MIGRATIONS_DIR);
			struct migration *m = &migrations[nmigrations];
			int consumed = 0;
			if (nmigrations == (int)(sizeof(migrations) / sizeof(migrations[0])) ||
			    sscanf(base, "%4d_%n", &m->version, &consumed) != 1 || consumed != 5) {
				snprintf(err, errlen, "bad migration file name %s", f->path);
				goto fail;
			}
			snprintf(m->name, sizeof(m->name), "%.*s",
			    (int)(strlen(base + 5) - 4), base + 5);
			m->sql = f->data;
			if (nmigrations > 0 && m->version != migrations[nmigrations - 1].version + 1) {
				snprintf(err, errlen, "migrations are not numbered 1, 2, 3...: %s", f->path);
				goto fail;
			}
			nmigrations++;
		} else if (strncmp(f->path, FUNCTIONS_DIR, strlen(FUNCTIONS_DIR)) == 0) {
			if (nfunctions == (int)(sizeof(functions) / sizeof(functions[0]))) {
				snprintf(err, errlen, "too many files in %s", FUNCTIONS_DIR);
				goto fail;
			}
			functions[nfunctions++] = f;
			/* The body, past any comment that names SELECT. */
			if (strcmp(f->path, RELEASE_FILE) == 0)
				functions_serial = serial_of(strstr(f->data, "$$"));
		} else if (strncmp(f->path, CATALOG_DIR, strlen(CATALOG_DIR)) == 0) {
			char lang[8];
			json_error_t jerr;
			json_t *cat = json_loadb(f->data, f->len, 0, &jerr);
			const char *key;
			json_t *v;
			const char *name = f->path + strlen(CATALOG_DIR);
			/* the file's name is the language: fr.json, darija.json */
			snprintf(lang, sizeof(lang), "%.*s", (int)strcspn(name, "."), name);
			if (cat == NULL || !json_is_object(cat)) {
				snprintf(err, errlen, "%s: line %d: %s", f->path, jerr.line, jerr.text);
				json_decref(cat);
				goto fail;
			}
			json_object_foreach(cat, key, v) {
				if (!json_is_string(v)) {
					snprintf(err, errlen, "%s: %s is not a string", f->path, key);
					json_decref(cat);
					goto fail;
				}
			}
			json_object_set_new(all, lang, cat);
		}
	}
	/* The release is installed last: a file that fails leaves the
	 * database's release as it was, so that older hosts do not refuse
	 * functions that are only half in place. */
	for (int i = 0; i + 1 < nfunctions; i++)
		if (strcmp(functions[i]->path, RELEASE_FILE) == 0) {
			const struct embedded_file *r = functions[i];
			memmove(&functions[i], &functions[i + 1],
			    (size_t)(nfunctions - i - 1) * sizeof(functions[0]));
			functions[nfunctions - 1] = r;
			break;
		}
	if (nmigrations == 0 || nfunctions == 0 || functions_serial <= 0 ||
	    json_object_get(all, "en") == NULL) {
		snprintf(err, errlen, "this build lacks its migrations, functions (and "
		    "their release) or English catalog");
		goto fail;
	}
	free(catalog_json);
	catalog_json = json_dumps(all, JSON_COMPACT);
	json_decref(all);
	return catalog_json ? 0 : -1;
fail:
	json_decref(all);
	return -1;
}

void
migrate_cleanup(void)
{
	free(catalog_json);
	catalog_json = NULL;
}

static void setup_next(void);

/* Statements inside a migration's transaction: keep the first error, since
 * the COMMIT of a failed transaction reports success (as ROLLBACK). */
static void
setup_partial(PGresult *res, void *arg)
{
	if (res != NULL && !store_ok(res) && setup.error[0] == '\0')
		snprintf(setup.error, sizeof(setup.error), "%s", store_error(res));
}

static void
setup_result(PGresult *res, void *arg)
{
	static const char *what[] = {
		"advisory lock", "schema version table", "schema version",
		"functions' release", "migration", "functions", "catalog",
		"identity", "advisory unlock", "LISTEN",
	};

	if (res == NULL)
		return;		/* the store is resetting already */
	if (!store_ok(res) || setup.error[0] != '\0') {
		char why[640];
		if (setup.step == STEP_MIGRATE)
			snprintf(why, sizeof(why), "migration %04d_%s failed: %s",
			    migrations[setup.next].version, migrations[setup.next].name,
			    setup.error[0] ? setup.error : store_error(res));
		else if (setup.step == STEP_FUNCTIONS)
			snprintf(why, sizeof(why), "%s failed: %s",
			    functions[setup.next]->path, store_error(res));
		else
			snprintf(why, sizeof(why), "set-up (%s) failed: %s",
			    what[setup.step], store_error(res));
		store_reset(setup.store, why);
		return;
	}
	switch (setup.step) {
	case STEP_VERSION:
		setup.current = atoi(PQgetvalue(res, 0, 0));
		if (setup.current > migrate_latest()) {
			/* Stop before the functions: ours are older than the schema's. */
			log_errorx("database schema is version %d, newer than this pigeond "
			    "(%s, migrations up to %d): refusing to start; run the newer "
			    "pigeond on this host", setup.current, PIGEON_VERSION,
			    migrate_latest());
			refused = 1;
			event_base_loopexit(env.base, NULL);
			return;
		}
		setup.step = STEP_RELEASE;
		break;
	case STEP_RELEASE: {
		/* The same schema, newer functions: most releases change
		 * db/functions/ without a migration, and an older host put its
		 * own back over them at each (re)connection. */
		int theirs = serial_of(PQgetvalue(res, 0, 0));
		if (theirs > functions_serial) {
			log_errorx("database functions are release %d, newer than this "
			    "pigeond's (%s, release %d): refusing to start; run the newer "
			    "pigeond on this host", theirs, PIGEON_VERSION, functions_serial);
			refused = 1;
			event_base_loopexit(env.base, NULL);
			return;
		}
		setup.next = 0;
		while (setup.next < nmigrations && migrations[setup.next].version <= setup.current)
			setup.next++;
		if (setup.next >= nmigrations) {
			setup.step = STEP_FUNCTIONS;
			setup.next = 0;
		} else {
			setup.step = STEP_MIGRATE;
		}
		break;
	}
	case STEP_MIGRATE:
		log_info("database: applied migration %04d_%s",
		    migrations[setup.next].version, migrations[setup.next].name);
		if (++setup.next >= nmigrations) {
			setup.step = STEP_FUNCTIONS;
			setup.next = 0;
		}
		break;
	case STEP_FUNCTIONS:
		if (++setup.next >= nfunctions)
			setup.step++;
		break;
	case STEP_IDENTITY: {
		json_t *o = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
		json_int_t moved = json_integer_value(json_object_get(o, "moved"));
		if (moved > 0)
			log_warnx("database: not the one pigeond last started on (a "
			    "restored dump, a copy, a new cluster): %" JSON_INTEGER_FORMAT
			    " id sequences moved past anything the database it came from may "
			    "have handed out since (pigeon_after_restore)", moved);
		json_decref(o);
		setup.step++;
		break;
	}
	default:
		setup.step++;
		break;
	}
	setup_next();
}

static void
setup_next(void)
{
	struct store *s = setup.store;
	const char *params[2];
	char version[16];
	int rc = 0;

	switch (setup.step) {
	case STEP_LOCK:
		params[0] = MIGRATE_LOCK_KEY;
		rc = store_query_setup(s, "SELECT pg_advisory_lock($1::bigint)", 1,
		    params, setup_result, NULL);
		break;
	case STEP_VERSION_TABLE:
		rc = store_script_setup(s,
		    "CREATE TABLE IF NOT EXISTS pigeon_schema ("
		    " version integer PRIMARY KEY,"
		    " name text NOT NULL,"
		    " applied_at timestamptz NOT NULL DEFAULT now())",
		    setup_result, NULL);
		break;
	case STEP_VERSION:
		rc = store_query_setup(s,
		    "SELECT coalesce(max(version), 0) FROM pigeon_schema", 0, NULL,
		    setup_result, NULL);
		break;
	case STEP_RELEASE:
		rc = store_query_setup(s,
		    "SELECT coalesce((SELECT prosrc FROM pg_proc WHERE proname = "
		    "'pigeon_functions_serial' AND pronamespace = 'public'::regnamespace "
		    "LIMIT 1), '')", 0, NULL, setup_result, NULL);
		break;
	case STEP_MIGRATE: {
		/* The migration and its version row commit together. */
		const struct migration *m = &migrations[setup.next];
		snprintf(version, sizeof(version), "%d", m->version);
		params[0] = version;
		params[1] = m->name;
		setup.error[0] = '\0';
		rc = store_script_setup(s, "BEGIN", setup_partial, NULL);
		if (rc == 0)
			rc = store_script_setup(s, m->sql, setup_partial, NULL);
		if (rc == 0)
			rc = store_query_setup(s,
			    "INSERT INTO pigeon_schema (version, name) VALUES ($1, $2)",
			    2, params, setup_partial, NULL);
		if (rc == 0)
			rc = store_script_setup(s, "COMMIT", setup_result, NULL);
		break;
	}
	case STEP_FUNCTIONS:
		rc = store_script_setup(s, functions[setup.next]->data, setup_result, NULL);
		break;
	case STEP_CATALOG:
		params[0] = catalog_json;
		rc = store_query_setup(s, "SELECT pigeon_catalog_load($1::jsonb)", 1,
		    params, setup_result, NULL);
		break;
	case STEP_IDENTITY:
		/* Under the lock, before this pigeond or another hands out an id. */
		params[0] = env.conf.hostname;
		rc = store_query_setup(s, "SELECT pigeon_identity_check($1)", 1,
		    params, setup_result, NULL);
		break;
	case STEP_UNLOCK:
		params[0] = MIGRATE_LOCK_KEY;
		rc = store_query_setup(s, "SELECT pg_advisory_unlock($1::bigint)", 1,
		    params, setup_result, NULL);
		break;
	case STEP_LISTEN:
		rc = store_script_setup(s, "LISTEN pigeon_outbox; LISTEN pigeon_fanout", setup_result, NULL);
		break;
	case STEP_DONE:
		store_setup_done(s);
		return;
	}
	if (rc == -1)
		store_reset(s, "cannot queue set-up query");
}

void
migrate_on_connect(struct store *s, void *arg)
{
	memset(&setup, 0, sizeof(setup));
	setup.store = s;
	setup.step = STEP_LOCK;
	setup_next();
}

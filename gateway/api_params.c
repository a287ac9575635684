/*
 * api_params.c: a request's query parameters and path argument, read
 * with the error a client gets for a bad one, and a query's one JSON
 * value (api.h).
 */
#include <errno.h>
#include <stdlib.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "api.h"
#include "httphead.h"

const char *
api_param(struct api_req *r, const char *name)
{
	const char *v = evhttp_find_header(&r->query, name);
	return v && *v ? v : NULL;
}

int
api_id_arg(struct api_req *r, const char *what)
{
	char *end;
	long long id;

	errno = 0;
	id = strtoll(r->arg, &end, 10);
	if (end == r->arg || *end != '\0' || errno == ERANGE || id < 1) {
		api_error(r, 400, "a %s id is a positive number", what);
		return -1;
	}
	return 0;
}

int
api_param_int(struct api_req *r, const char *name, long long def,
    long long min, long long max, long long *out)
{
	const char *v = api_param(r, name);

	*out = def;
	if (v == NULL)
		return 0;
	if (http_param_int(v, min, max, out) == -1) {
		*out = def;
		api_error(r, 400, "%s must be a number from %lld to %lld", name, min, max);
		return -1;
	}
	return 0;
}

json_t *
api_json_value(PGresult *res)
{
	if (PQntuples(res) < 1 || PQnfields(res) < 1 || PQgetisnull(res, 0, 0))
		return NULL;
	return json_loads(PQgetvalue(res, 0, 0), JSON_DECODE_ANY, NULL);
}

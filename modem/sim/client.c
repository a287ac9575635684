/*
 * client.c: the subcommands that talk to a running simulator over DIR/ctl
 * (deliver, stored, fault, status) and `sent`, which reads DIR/sent.jsonl
 * and so works without one. Exit status: 0 done, 1 failed, 2 usage.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <jansson.h>

#include "proto.h"
#include "sim.h"

#define CLIENT_TIMEOUT_MS	30000

static int
client_fail(const char *fmt, const char *arg)
{
	fprintf(stderr, "pigeon-modemsim: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	return 1;
}

static int
client_usage(void)
{
	fprintf(stderr,
	    "usage: pigeon-modemsim deliver DIR FROM TEXT [--smsc NUMBER] "
	    "[--order 3,1,2] [--ref N | --ref16 N] [--time ISO8601]\n"
	    "           [--lose 2,3] [--from-type alpha|number] [--pdu HEX]\n"
	    "       pigeon-modemsim stored DIR\n"
	    "       pigeon-modemsim sent DIR [NUMBER] [--text]\n"
	    "       pigeon-modemsim fault DIR NAME VALUE...\n"
	    "       pigeon-modemsim status DIR\n"
	    "       pigeon-modemsim report DIR TO MR STATUS\n");
	return 2;
}

/* Sends req (reference stolen) and waits for the one-line answer. */
static json_t *
client_call(const char *dir, json_t *req)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct linebuf lb;
	json_error_t jerr;
	json_t *resp = NULL;
	char *s, *line;
	long deadline;
	int fd, toolong;

	if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/ctl",
	    dir) >= sizeof(sun.sun_path)) {
		client_fail("%s: path too long", dir);
		json_decref(req);
		return NULL;
	}
	s = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (s == NULL) {
		client_fail("%s", "cannot encode the request");
		return NULL;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		client_fail("no simulator running in %s", dir);
		goto out;
	}
	if (proto_write_all(fd, s, strlen(s)) == -1 ||
	    proto_write_all(fd, "\n", 1) == -1) {
		client_fail("write: %s", strerror(errno));
		goto out;
	}
	linebuf_init(&lb);
	deadline = now_ms() + CLIENT_TIMEOUT_MS;
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long left = deadline - now_ms();
		ssize_t n;

		if ((line = linebuf_next(&lb, &toolong)) != NULL) {
			if ((resp = json_loads(line, 0, &jerr)) == NULL)
				client_fail("bad answer: %s", jerr.text);
			break;
		}
		if (left <= 0 || poll(&p, 1, (int)left) == 0) {
			client_fail("%s: the simulator did not answer", dir);
			break;
		}
		if ((n = linebuf_read(&lb, fd)) <= 0) {
			if (n == -1 && errno == EINTR)
				continue;
			client_fail("%s: the simulator hung up", dir);
			break;
		}
	}
	linebuf_free(&lb);
out:
	if (fd != -1)
		close(fd);
	free(s);
	return resp;
}

/* Returns the answer when it says ok; prints its error otherwise. */
static json_t *
client_ok(const char *dir, json_t *req)
{
	json_t *resp = client_call(dir, req);
	const char *err;

	if (resp == NULL)
		return NULL;
	if (json_is_true(json_object_get(resp, "ok")))
		return resp;
	err = json_string_value(json_object_get(resp, "error"));
	client_fail("%s", err ? err : "failed");
	json_decref(resp);
	return NULL;
}

/* "3,1,2" as a JSON list of part numbers; NULL when it is not one. */
static json_t *
client_parts(const char *val)
{
	char *copy = strdup(val), *tok, *save = NULL;
	json_t *list = json_array();
	int ival;

	if (copy == NULL || list == NULL)
		goto fail;
	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		if (parse_int(tok, 1, SIM_MAX_PARTS, &ival) == -1)
			goto fail;
		json_array_append_new(list, json_integer(ival));
	}
	free(copy);
	return list;
fail:
	free(copy);
	json_decref(list);
	return NULL;
}

static int
client_deliver(const char *dir, int argc, char *argv[])
{
	const char *pos[2];
	json_t *req, *resp, *v;
	const char *s;
	int i, npos = 0, ival, optsdone = 0;
	size_t k;

	req = json_pack("{s:s}", "cmd", "deliver");
	for (i = 0; i < argc; i++) {
		const char *opt = argv[i];
		if (!optsdone && strcmp(opt, "--") == 0) {
			optsdone = 1;
			continue;
		}
		if (!optsdone && strncmp(opt, "--", 2) == 0 && i + 1 < argc) {
			const char *val = argv[++i];
			if (strcmp(opt, "--smsc") == 0 || strcmp(opt, "--time") == 0 ||
			    strcmp(opt, "--pdu") == 0) {
				if (json_object_set_new(req, opt + 2,
				    json_string(val)) == -1)
					goto usage;
			} else if (strcmp(opt, "--from-type") == 0) {
				json_object_set_new(req, "from_type", json_string(val));
			} else if (strcmp(opt, "--ref") == 0) {
				if (parse_int(val, 0, 255, &ival) == -1)
					goto usage;
				json_object_set_new(req, "ref", json_integer(ival));
			} else if (strcmp(opt, "--ref16") == 0) {
				/* a 16-bit concatenation reference */
				if (parse_int(val, 0, 65535, &ival) == -1)
					goto usage;
				json_object_set_new(req, "ref16", json_integer(ival));
			} else if (strcmp(opt, "--order") == 0 ||
			    strcmp(opt, "--lose") == 0) {
				json_t *list = client_parts(val);
				if (list == NULL)
					goto usage;
				json_object_set_new(req, opt + 2, list);
			} else
				goto usage;
		} else if (npos < 2)
			pos[npos++] = opt;
		else
			goto usage;
	}
	if (npos != 2)
		goto usage;
	/* json_string refuses invalid UTF-8, which gammu would drop. */
	if ((v = json_string(pos[0])) == NULL ||
	    json_object_set_new(req, "from", v) == -1) {
		json_decref(req);
		return client_fail("%s", "FROM is not valid UTF-8");
	}
	if ((v = json_string(pos[1])) == NULL ||
	    json_object_set_new(req, "text", v) == -1) {
		json_decref(req);
		return client_fail("%s", "TEXT is not valid UTF-8");
	}
	if ((resp = client_ok(dir, req)) == NULL)
		return 1;
	if ((s = json_string_value(json_object_get(resp, "warning"))) != NULL)
		fprintf(stderr, "pigeon-modemsim: warning: %s: \"%s\"\n", s,
		    json_string_value(json_object_get(resp, "from")));
	json_array_foreach(json_object_get(resp, "locations"), k, v)
		printf("%lld\n", (long long)json_integer_value(v));
	json_decref(resp);
	return 0;
usage:
	json_decref(req);
	return client_usage();
}

static int
client_stored(const char *dir)
{
	json_t *resp, *m;
	size_t k;
	char *s;

	if ((resp = client_ok(dir, json_pack("{s:s}", "cmd", "stored"))) == NULL)
		return 1;
	json_array_foreach(json_object_get(resp, "messages"), k, m) {
		if ((s = json_dumps(m, JSON_COMPACT | JSON_PRESERVE_ORDER)) != NULL)
			printf("%s\n", s);
		free(s);
	}
	json_decref(resp);
	return 0;
}

static int
client_fault(const char *dir, int argc, char *argv[])
{
	json_t *resp, *vals;
	int i, v;

	if (argc < 2 || argc > 5)
		return client_usage();
	vals = json_array();
	for (i = 1; i < argc; i++) {
		if (parse_int(argv[i], -1000000000, 1000000000, &v) == -1) {
			json_decref(vals);
			return client_fail("fault value \"%s\" is not an "
			    "integer", argv[i]);
		}
		json_array_append_new(vals, json_integer(v));
	}
	resp = client_ok(dir, json_pack("{s:s, s:s, s:o}", "cmd", "fault",
	    "name", argv[0], "values", vals));
	if (resp == NULL)
		return 1;
	json_decref(resp);
	printf("ok\n");
	return 0;
}

static int
client_status(const char *dir)
{
	json_t *resp;
	char *s;

	if ((resp = client_ok(dir, json_pack("{s:s}", "cmd", "status"))) == NULL)
		return 1;
	json_object_del(resp, "ok");
	if ((s = json_dumps(resp, JSON_COMPACT | JSON_PRESERVE_ORDER)) != NULL)
		printf("%s\n", s);
	free(s);
	json_decref(resp);
	return 0;
}

/* A status report for reference MR of a part sent to TO, as the SMSC sends it. */
static int
client_report(const char *dir, char *argv[])
{
	json_t *resp;
	int mr, status;

	if (parse_int(argv[1], 0, 255, &mr) == -1 ||
	    parse_int(argv[2], 0, 255, &status) == -1)
		return client_usage();
	resp = client_ok(dir, json_pack("{s:s, s:s, s:i, s:i}", "cmd", "report",
	    "to", argv[0], "mr", mr, "status", status));
	if (resp == NULL)
		return 1;
	json_decref(resp);
	printf("ok\n");
	return 0;
}

int
client_main(const char *cmd, int argc, char *argv[])
{
	const char *dir;

	if (argc < 1)
		return client_usage();
	dir = argv[0];
	argc--;
	argv++;
	if (strcmp(cmd, "deliver") == 0)
		return client_deliver(dir, argc, argv);
	if (strcmp(cmd, "stored") == 0 && argc == 0)
		return client_stored(dir);
	if (strcmp(cmd, "sent") == 0) {
		int text_only = argc > 0 && strcmp(argv[argc - 1], "--text") == 0;
		if (text_only)
			argc--;
		if (argc <= 1)
			return sentlog_print(dir, argc == 1 ? argv[0] : NULL, text_only);
	}
	if (strcmp(cmd, "fault") == 0)
		return client_fault(dir, argc, argv);
	if (strcmp(cmd, "status") == 0 && argc == 0)
		return client_status(dir);
	if (strcmp(cmd, "report") == 0 && argc == 3)
		return client_report(dir, argv);
	return client_usage();
}

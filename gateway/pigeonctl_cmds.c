/*
 * pigeonctl_cmds.c: pigeonctl's commands over the API of issue 16:
 * search, stats, post, cancel, inbox, reload and watch; modems -d.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#include <event2/http.h>
#include <jansson.h>

#include "pigeonctl.h"

static const char *const commands[] = { "modems", "enable", "disable", "drain",
    "forget", "send", "status", "messages", "queue", "users", "user", "health", "search",
    "stats", "post", "cancel", "inbox", "reload", "watch", "remove-post", "suspend",
    "restore", "export", "erase", "tokens", NULL };

int
ctl_known(const char *name)
{
	for (int i = 0; commands[i]; i++)
		if (strcmp(commands[i], name) == 0)
			return 1;
	return ctl_biz_known(name) || ctl_desk_known(name);
}

static const char *
id_arg(const char *id)
{
	if (strspn(id, "0123456789") != strlen(id) || !*id || strlen(id) > 19)
		die(EXIT_USAGE, "'%s' is not a message id", id);
	return id;
}

static int
cmd_search(int argc, char **argv)
{
	char path[1024] = "/api/search";
	json_t *p;
	size_t i;
	int ch;

	while ((ch = ctl_getopt(&argc, argv, "n:b:", NULL)) != -1) {
		switch (ch) {
		case 'n': add_param(path, sizeof(path), "limit", optarg); break;
		case 'b': add_param(path, sizeof(path), "before", optarg); break;
		default: usage();
		}
	}
	if (argc != 2)
		usage();
	add_param(path, sizeof(path), "q", argv[1]);
	json_t *j = api("GET", path, NULL);
	if (json_out)
		return print_json(j), json_decref(j), EXIT_OK;
	json_t *list = json_object_get(j, "posts");
	int w = 6;
	json_array_foreach(list, i, p)
		if ((int)strlen(s(p, "handle")) + 1 > w)
			w = (int)strlen(s(p, "handle")) + 1;
	printf("%-8s %-*s %-25s  %s\n", "ID", w, "USER", "AT", "TEXT");
	json_array_foreach(list, i, p) {
		char user[64];
		snprintf(user, sizeof(user), "@%s", s(p, "handle"));
		printf("%-8" JSON_INTEGER_FORMAT " %-*s %-25s  %s\n",
		    json_integer_value(json_object_get(p, "id")), w, user,
		    when(p, "created_at"), s(p, "text"));
	}
	json_decref(j);
	return EXIT_OK;
}

static int
cmd_stats(int argc, char **argv)
{
	char path[512];
	const char *days, *h = ctl_days_and_handle(argc, argv, &days);

	if (h[0] == '@')
		h++;
	char *enc = evhttp_uriencode(h, -1, 0);
	snprintf(path, sizeof(path), "/api/users/%s/stats", enc ? enc : "");
	free(enc);
	if (days)
		add_param(path, sizeof(path), "days", days);
	/* Its fields change with the statistics kept: shown as they come. */
	json_t *j = api("GET", path, NULL);
	if (json_out) {
		print_json(j);
	} else {
		const char *k;
		json_t *v;
		json_object_foreach(j, k, v) {
			char *t = json_is_string(v) ? NULL : json_dumps(v, JSON_COMPACT |
			    JSON_ENCODE_ANY);
			printf("%-16s %s\n", k, t ? t : s(j, k));
			free(t);
		}
	}
	json_decref(j);
	return EXIT_OK;
}

static int
cmd_post(const char *handle, const char *text)
{
	json_t *j = api("POST", "/api/posts", json_pack("{s:s, s:s}", "user",
	    handle[0] == '@' ? handle + 1 : handle, "text", text));
	if (json_out)
		print_json(j);
	else
		printf("%" JSON_INTEGER_FORMAT "\n", json_integer_value(json_object_get(j, "id")));
	json_decref(j);
	return EXIT_OK;
}

static int
cmd_cancel(const char *id)
{
	char path[64];

	snprintf(path, sizeof(path), "/api/messages/%s", id_arg(id));
	json_t *j = api("DELETE", path, NULL);
	if (json_out)
		print_json(j);
	else
		printf("message %s: %s\n", id, s(j, "state"));
	json_decref(j);
	return EXIT_OK;
}

static int
cmd_inbox(int argc, char **argv)
{
	char path[1024] = "/api/inbox";
	json_t *m;
	size_t i;
	int ch;

	while ((ch = ctl_getopt(&argc, argv, "f:s:n:b:", NULL)) != -1) {
		switch (ch) {
		case 'f': add_param(path, sizeof(path), "from", optarg); break;
		case 's': add_param(path, sizeof(path), "state", optarg); break;
		case 'n': add_param(path, sizeof(path), "limit", optarg); break;
		case 'b': add_param(path, sizeof(path), "before", optarg); break;
		default: usage();
		}
	}
	if (argc != 1)
		usage();
	json_t *j = api("GET", path, NULL);
	if (json_out)
		return print_json(j), json_decref(j), EXIT_OK;
	/* SENT: when the phone sent it (the SMSC's time of its first part);
	 * STORED: when pigeond stored it, later behind a database outage or
	 * for a long SMS processed incomplete after concat_timeout. */
	printf("%-8s %-16s %-8s %-25s %-25s %-10s  %s\n", "ID", "FROM", "STATE", "SENT",
	    "STORED", "LINK", "TEXT / RESULT");
	json_array_foreach(json_object_get(j, "messages"), i, m) {
		char mark[64] = "";
		if (json_is_false(json_object_get(m, "complete")))
			snprintf(mark, sizeof(mark), "[incomplete: %" JSON_INTEGER_FORMAT
			    " part%s of a long SMS came] ",
			    json_integer_value(json_object_get(m, "parts")),
			    json_integer_value(json_object_get(m, "parts")) == 1 ? "" : "s");
		printf("%-8" JSON_INTEGER_FORMAT " %-16s %-8s %-25s %-25s %-10s  %s%.60s\n",
		    json_integer_value(json_object_get(m, "id")), s(m, "from"), s(m, "state"),
		    when(m, "sent_at"), when(m, "received_at"), s(m, "link"), mark,
		    s(m, "text"));
		if (json_string_value(json_object_get(m, "result")))
			printf("%-8s %-16s %-8s %-25s %-25s %-10s  -> %.60s\n", "", "", "", "",
			    "", "", s(m, "result"));
	}
	if (json_is_integer(json_object_get(j, "next_before")))
		printf("(more: -b %" JSON_INTEGER_FORMAT ")\n",
		    json_integer_value(json_object_get(j, "next_before")));
	json_decref(j);
	return EXIT_OK;
}

static int
cmd_reload(void)
{
	json_t *j = api("POST", "/api/reload", NULL);
	if (json_out)
		print_json(j);
	else
		printf("pigeond reloaded %s\n", s(j, "config"));
	json_decref(j);
	return EXIT_OK;
}

static int
cmd_tokens(void)
{
	json_t *j = api("GET", "/api/tokens", NULL), *t, *sc;
	size_t i, k;

	if (json_out)
		return print_json(j), json_decref(j), EXIT_OK;
	int w = 4;
	json_array_foreach(json_object_get(j, "tokens"), i, t)
		if ((int)strlen(s(t, "name")) > w)
			w = (int)strlen(s(t, "name"));
	printf("%-*s  %s\n", w, "NAME", "SCOPES");
	json_array_foreach(json_object_get(j, "tokens"), i, t) {
		printf("%-*s  ", w, s(t, "name"));
		json_array_foreach(json_object_get(t, "scopes"), k, sc)
			printf("%s%s", k ? "," : "", json_string_value(sc));
		printf("\n");
	}
	json_decref(j);
	return EXIT_OK;
}

/* One refresh of watch, in a child process: api() prints an error and
 * exits, and watch must outlive that. The refresh's exit code. */
static int
watch_refresh(void)
{
	pid_t pid;
	int status;

	fflush(stdout);
	if ((pid = fork()) == -1)
		die(EXIT_UNREACHABLE, "fork: %s", strerror(errno));
	if (pid == 0) {
		cmd_modems();
		printf("\n");
		/* What it printed comes before an error of the queue's call. */
		fflush(stdout);
		exit(cmd_queue());
	}
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			die(EXIT_UNREACHABLE, "waitpid: %s", strerror(errno));
	return WIFEXITED(status) ? WEXITSTATUS(status) : EXIT_UNREACHABLE;
}

/*
 * A refreshing view, as gammu-smsd-monitor: modems, then the queue. An
 * error that waiting may mend (pigeond unreachable or restarting, a 5xx,
 * 503 while the database is down) is printed and the next refresh tries
 * again: watch is what an operator looks at during an incident. A refused
 * token or request ends it with its code. With --count, the exit code is
 * the last refresh's.
 */
static int
cmd_watch(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "delay", required_argument, NULL, 'd' },
		{ "count", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 }
	};
	long delay = 2, count = 0;
	char *end;
	int ch;

	while ((ch = ctl_getopt(&argc, argv, "d:n:", opts)) != -1) {
		long *into = ch == 'd' ? &delay : ch == 'n' ? &count : NULL;
		if (into == NULL)
			usage();
		*into = strtol(optarg, &end, 10);
		if (*end || *into < (ch == 'd' ? 1 : 0) || *into > 86400)
			die(EXIT_USAGE, "--%s takes a number of %s", ch == 'd' ? "delay" :
			    "count", ch == 'd' ? "seconds (1 or more)" : "refreshes");
	}
	if (argc != 1)
		usage();
	int tty = isatty(STDOUT_FILENO);
	for (long n = 1; ; n++) {
		time_t now = time(NULL);
		char stamp[40];
		strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S%z", localtime(&now));
		/* Home and clear on a terminal; a log gets one block after another. */
		if (tty)
			fputs("\033[H\033[2J", stdout);
		printf("pigeonctl watch, every %ld s: %s\n\n", delay, stamp);
		int rc = watch_refresh();
		fflush(stdout);
		if (rc != EXIT_OK && rc != EXIT_UNREACHABLE)
			return rc;
		if (count > 0 && n >= count)
			return rc;
		sleep((unsigned)delay);
	}
}

/* Moderation: remove-post, suspend, restore, export, erase. */
static int
cmd_moderate(const char *cmd, const char *arg)
{
	char path[256];
	const char *method = "POST";
	const char *h = strcmp(cmd, "remove-post") == 0 ? arg : ctl_member(arg);
	char *enc = evhttp_uriencode(h, -1, 0);

	if (strcmp(cmd, "remove-post") == 0) {
		snprintf(path, sizeof(path), "/api/posts/%s", id_arg(arg));
		method = "DELETE";
	} else if (strcmp(cmd, "export") == 0) {
		snprintf(path, sizeof(path), "/api/users/%s/export", enc ? enc : "");
		method = "GET";
	} else if (strcmp(cmd, "erase") == 0) {
		snprintf(path, sizeof(path), "/api/users/%s", enc ? enc : "");
		method = "DELETE";
	} else {
		snprintf(path, sizeof(path), "/api/users/%s/%s", enc ? enc : "", cmd);
	}
	free(enc);
	json_t *j = api(method, path, NULL);
	/* export is data: JSON whatever --json says. */
	if (json_out || strcmp(cmd, "export") == 0)
		print_json(j);
	else if (strcmp(cmd, "remove-post") == 0)
		printf("post %s removed; %" JSON_INTEGER_FORMAT " queued copies cancelled\n",
		    arg, json_integer_value(json_object_get(j, "copies_cancelled")));
	else if (strcmp(cmd, "erase") == 0)
		printf("@%s erased: %" JSON_INTEGER_FORMAT " posts, %" JSON_INTEGER_FORMAT
		    " messages in, %" JSON_INTEGER_FORMAT " out\n", s(j, "handle"),
		    json_integer_value(json_object_get(j, "posts")),
		    json_integer_value(json_object_get(j, "inbox")),
		    json_integer_value(json_object_get(j, "outbox")));
	else
		printf("@%s %s\n", s(j, "handle"), strcmp(cmd, "suspend") == 0 ?
		    "suspended" : "restored");
	json_decref(j);
	return EXIT_OK;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A link's column: as wide as its name, at least 7. */
static int
name_width(const char *name)
{
	return strlen(name) > 7 ? (int)strlen(name) : 7;
}

/*
 * "modems -d DAYS": each link's SMS parts of each of the last DAYS days
 * (the service's days), as the carrier bills them: a row a day, a column
 * a link that sent any (GET /api/charts, its daily buckets' parts).
 */
static int
cmd_modems_days(int argc, char **argv)
{
	long days = 0;
	char *end;
	int ch;

	while ((ch = ctl_getopt(&argc, argv, "d:", NULL)) != -1) {
		if (ch != 'd')
			usage();
		days = strtol(optarg, &end, 10);
		if (*end || days < 1 || days > 30)
			die(EXIT_USAGE, "-d takes a number of days (1 to 30)");
	}
	if (argc != 1 || days == 0)
		usage();
	json_t *j = api("GET", "/api/charts", NULL);
	json_t *daily = json_object_get(j, "daily"), *b, *links = json_object();
	size_t n = json_array_size(daily), first = n > (size_t)days ? n - days : 0;
	const char *name;
	json_t *v;

	if (json_out) {
		json_t *out = json_array();
		for (size_t i = first; i < n; i++) {
			b = json_array_get(daily, i);
			json_array_append_new(out, json_pack("{s:O, s:O}", "day",
			    json_object_get(b, "day"), "parts", json_object_get(b, "parts")));
		}
		print_json(out);
		json_decref(out);
		json_decref(j);
		json_decref(links);
		return EXIT_OK;
	}
	/* The links of those days, in name order. */
	for (size_t i = first; i < n; i++)
		json_object_foreach(json_object_get(json_array_get(daily, i), "parts"), name, v)
			json_object_set_new(links, name, json_true());
	size_t nl = json_object_size(links), k = 0;
	const char **names = calloc(nl ? nl : 1, sizeof(*names));
	if (names == NULL)
		die(EXIT_UNREACHABLE, "out of memory");
	json_object_foreach(links, name, v)
		names[k++] = name;
	qsort(names, nl, sizeof(*names), name_cmp);
	printf("%-10s", "DAY");
	for (k = 0; k < nl; k++)
		printf(" %*s", name_width(names[k]), names[k]);
	printf("\n");
	for (size_t i = first; i < n; i++) {
		json_t *parts = json_object_get(json_array_get(daily, i), "parts");
		printf("%-10s", json_string_value(json_object_get(json_array_get(daily, i),
		    "day")));
		for (k = 0; k < nl; k++)
			printf(" %*" JSON_INTEGER_FORMAT, name_width(names[k]),
			    json_integer_value(json_object_get(parts, names[k])));
		printf("\n");
	}
	free(names);
	json_decref(links);
	json_decref(j);
	return EXIT_OK;
}

int
ctl_more(int argc, char **argv)
{
	const char *cmd = argv[0];
	int rc;

	if ((rc = ctl_biz(argc, argv)) != -1 || (rc = ctl_desk(argc, argv)) != -1)
		return rc;
	if ((strcmp(cmd, "remove-post") == 0 || strcmp(cmd, "suspend") == 0 ||
	    strcmp(cmd, "restore") == 0 || strcmp(cmd, "export") == 0) && argc == 2)
		return cmd_moderate(cmd, argv[1]);
	/* Erasing cannot be undone: it is asked for in so many words, not
	 * getopt's abbreviation; before or after the handle all the same. */
	if (strcmp(cmd, "erase") == 0 && argc == 3 && (strcmp(argv[1], "--yes") == 0) !=
	    (strcmp(argv[2], "--yes") == 0))
		return cmd_moderate(cmd, argv[strcmp(argv[1], "--yes") == 0 ? 2 : 1]);

	if (strcmp(cmd, "search") == 0)
		return cmd_search(argc, argv);
	if (strcmp(cmd, "stats") == 0)
		return cmd_stats(argc, argv);
	if (strcmp(cmd, "post") == 0 && argc == 3)
		return cmd_post(argv[1], argv[2]);
	if (strcmp(cmd, "cancel") == 0 && argc == 2)
		return cmd_cancel(argv[1]);
	if (strcmp(cmd, "inbox") == 0)
		return cmd_inbox(argc, argv);
	if (strcmp(cmd, "reload") == 0 && argc == 1)
		return cmd_reload();
	if (strcmp(cmd, "tokens") == 0 && argc == 1)
		return cmd_tokens();
	if (strcmp(cmd, "watch") == 0)
		return cmd_watch(argc, argv);
	if (strcmp(cmd, "modems") == 0 && argc > 1)
		return cmd_modems_days(argc, argv);
	return -1;
}

/*
 * pigeonctl_desk.c: the support desk's commands (admin scope): phone
 * (what the service knows of a phone: its member, its STOP), optout (a
 * STOP recorded on a phone's behalf, nothing sent to it), and a member
 * named by its phone where a command takes a handle (users, export,
 * suspend, restore, erase).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <jansson.h>

#include "pigeonctl.h"

/* /api/phones/PHONE[suffix], the phone encoded. A '/' (a separator
 * number.c takes, as it takes '.') would split the path: it goes as '.'. */
static void
phone_path(char *path, size_t len, const char *phone, const char *suffix)
{
	char *p = strdup(phone), *enc;

	if (p == NULL)
		die(EXIT_UNREACHABLE, "out of memory");
	for (char *c = p; *c; c++)
		if (*c == '/')
			*c = '.';
	enc = evhttp_uriencode(p, -1, 0);
	snprintf(path, len, "/api/phones/%s%s", enc ? enc : "", suffix);
	free(enc);
	free(p);
}

/* "texted STOP", "the operator (token desk)": how a STOP was recorded. */
static const char *
optout_how(json_t *o)
{
	static char buf[128];

	if (strcmp(s(o, "how"), "operator") == 0) {
		snprintf(buf, sizeof(buf), "recorded by the operator (token %s)", s(o, "by"));
		return buf;
	}
	return "texted STOP";
}

/* The line of a phone's STOP, after its first line. */
static void
print_optout(json_t *o)
{
	if (json_is_object(o))
		printf("  opted out (STOP) since %s, %s: nothing is sent to it until it "
		    "texts START or JOIN\n", when(o, "since"), optout_how(o));
	else
		printf("  not opted out\n");
}

static int
cmd_phone(const char *phone)
{
	char path[512];

	phone_path(path, sizeof(path), phone, "");
	json_t *j = api("GET", path, NULL), *m = json_object_get(j, "member");
	if (json_out)
		return print_json(j), json_decref(j), EXIT_OK;
	if (json_is_object(m)) {
		printf("%s: member @%s", s(j, "phone"), s(m, "handle"));
		if (json_is_string(json_object_get(m, "suspended_at")))
			printf(", suspended since %s", when(m, "suspended_at"));
		printf("\n");
	} else {
		printf("%s: not a member\n", s(j, "phone"));
	}
	print_optout(json_object_get(j, "optout"));
	printf("  last message in: %s\n", when(j, "last_in"));
	json_decref(j);
	return EXIT_OK;
}

static int
cmd_optout(const char *phone)
{
	char path[512];

	phone_path(path, sizeof(path), phone, "/optout");
	json_t *j = api("POST", path, NULL), *o = json_object_get(j, "optout");
	if (json_out)
		return print_json(j), json_decref(j), EXIT_OK;
	if (json_is_true(json_object_get(j, "already")))
		printf("%s was already opted out since %s, %s\n", s(j, "phone"),
		    when(o, "since"), optout_how(o));
	else
		printf("%s opted out; nothing was sent to it, and nothing will be until it "
		    "texts START or JOIN\n", s(j, "phone"));
	json_decref(j);
	return EXIT_OK;
}

/* 1 when a member has the handle name (digits only: the caller's). */
static int
digits_handle(const char *name)
{
	char path[96], *text = NULL;

	snprintf(path, sizeof(path), "/api/users/%s", name);
	int code = ctl_call("GET", path, NULL, &text);
	free(text);
	return code == 200;
}

/*
 * A member named by its handle ("@dave", "dave") or by its phone, in any
 * form number.c takes ("+212 661-000004", "0661000004"): the handle
 * (the buffer is reused). Digits with a '+' or a separator are a
 * phone; anything with another character is a handle; bare digits are a
 * phone when a member has it, else a handle ("@" forces one), and an
 * error when they are both a member's phone and another's handle. A
 * phone no member has exits 1.
 */
const char *
ctl_member(const char *arg)
{
	static char handle[64];
	char path[512], *text = NULL;
	int digits = arg[0] != '\0' && strspn(arg, "0123456789") == strlen(arg);

	/* Not a phone's characters (a mistyped handle): the route says. */
	if (arg[0] == '@' || strpbrk(arg, "0123456789") == NULL ||
	    strspn(arg, "0123456789+-./() ") != strlen(arg))
		return arg[0] == '@' ? arg + 1 : arg;
	phone_path(path, sizeof(path), arg, "");
	if (digits) {
		/* A read token may not look phones up: then it is a handle. */
		int code = ctl_call("GET", path, NULL, &text);
		json_t *j = code == 200 ? json_loads(text, 0, NULL) : NULL;
		free(text);
		const char *h = json_string_value(json_object_get(json_object_get(j,
		    "member"), "handle"));
		snprintf(handle, sizeof(handle), "%s", h ? h : arg);
		json_decref(j);
		/* A handle of digits may be another member's phone: suspend or
		 * erase acted on the phone's owner. Both exist: say which. */
		if (h != NULL && strcmp(handle, arg) != 0 && digits_handle(arg)) {
			fprintf(stderr, "pigeonctl: %s is @%s's phone and also the handle "
			    "of @%s: write @%s for the handle, or the phone with its "
			    "country code (+...)\n", arg, handle, arg, arg);
			exit(EXIT_USAGE);
		}
		return handle;
	}
	json_t *j = api("GET", path, NULL);
	const char *h = json_string_value(json_object_get(json_object_get(j, "member"),
	    "handle"));
	if (h == NULL) {
		fprintf(stderr, "pigeonctl: no member has the phone %s (pigeonctl phone %s "
		    "says what is known of it)\n", s(j, "phone"), term_safe(arg));
		json_decref(j);
		exit(EXIT_REFUSED);
	}
	snprintf(handle, sizeof(handle), "%s", h);
	json_decref(j);
	return handle;
}

int
ctl_desk_known(const char *name)
{
	return strcmp(name, "phone") == 0 || strcmp(name, "optout") == 0;
}

int
ctl_desk(int argc, char **argv)
{
	if (strcmp(argv[0], "phone") == 0 && argc == 2)
		return cmd_phone(argv[1]);
	if (strcmp(argv[0], "optout") == 0 && argc == 2)
		return cmd_optout(argv[1]);
	return -1;
}

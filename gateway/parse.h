/* parse.c: the shortcode language (DESIGN section 5, docs/commands.md). */
#ifndef PIGEON_PARSE_H
#define PIGEON_PARSE_H

#include <stddef.h>

#define HANDLE_MAX	15	/* characters in a handle */
#define WORDS_LIST	6	/* handles of a list kept (the arguments looked at) */

enum cmd_type { CMD_POST, CMD_JOIN, CMD_FOLLOW, CMD_LEAVE, CMD_ON, CMD_OFF, CMD_STOP, CMD_START, CMD_HELP, CMD_DM, CMD_GET, CMD_WHOIS, CMD_STATS, CMD_NAME, CMD_BIO, CMD_LANG, CMD_SLEEP, CMD_DELETE, CMD_TRACK, CMD_UNTRACK, CMD_TRACKS, CMD_SEARCH };
enum cmd_error { CMDERR_NONE, CMDERR_MISSING_ARG, CMDERR_BAD_HANDLE, CMDERR_BAD_LANG, CMDERR_BAD_HOURS, CMDERR_EMPTY, CMDERR_EXTRA, CMDERR_HANDLES };

struct command {
	enum cmd_type	 type;
	enum cmd_error	 error;		/* when not NONE, type says which command's usage to show */
	char		 handle[16];	/* lower-case, without '@'; "" when none */
	const char	*text;		/* post / DM / NAME / BIO text, pointing into the input (trimmed) */
	size_t		 textlen;
	char		 lang[8];	/* "en","fr","ar","darija" for LANG */
	int		 sleep_from, sleep_to;	/* hours 0-23 for SLEEP; -1,-1 for SLEEP OFF */
	const char	*keyword_lang;	/* "en","fr","ar","darija": the language of the keyword used (NULL for a post) — used as the new account's language on JOIN */
	int		 loose;		/* the keyword is also an ordinary word: a member's handle nobody has (written without '@') makes the message a post (pigeon_apply) */
	int		 at;		/* the handle was written with '@' ("OFF @bobb"): a handle is meant, never a post */
	int		 join_words;	/* a post that starts with JOIN's keyword and more than a name ("JOIN karim ali"): a stranger gets JOIN's usage in keyword_lang, never the join hint (pigeon_apply) */
	/* A list of handles with commas between and no '@' ("FOLLOW karim,
	 * nadia", CMDERR_HANDLES): its handles. A member's list of words
	 * nobody is called ("Follow us, friends") is a post (pigeon_apply). */
	char		 list[WORDS_LIST][16];
	int		 nlist;
	int		 digest;	/* TRACK word DIGEST: one SMS a day for the word, not one per post */
	int		 digest_hour;	/* its hour 0-23; -1 when not given (and outside DIGEST) */
};

/* Parses one SMS text (UTF-8, len bytes, not necessarily NUL-terminated). Never fails:
 * anything that is not a command is CMD_POST with text = the trimmed message.
 * text is NULL for commands without text; for CMDERR_EMPTY it is "" (not in the
 * input). lang is "" and the hours are -1 outside LANG, SLEEP and TRACK's
 * DIGEST. Pure and
 * reentrant; the rules are at the top of parse.c and in docs/commands.md. */
void command_parse(const char *text, size_t len, struct command *cmd);
/* "post", "join", ..., "search": the "cmd" pigeon_apply takes, logs and
 * metrics; never shown to users. */
const char *command_name(enum cmd_type);
/* "none", "missing_arg", "bad_handle", "bad_lang", "bad_hours", "empty",
 * "extra_words", "handles". */
const char *command_error_name(enum cmd_error);
int handle_valid(const char *s, size_t len); /* 1-15 of a-z 0-9 _ (case-insensitive input) */
/* Is the handle (lower case, NUL-terminated, n bytes) a politeness word of
 * the STOP rule ("please", "svp", "3afak", "daba")? "JOIN please" is no name. */
int handle_filler(const char *h, size_t n);

#endif

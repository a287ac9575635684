/* pigeonctl.c, pigeonctl_http.c, pigeonctl_cmds.c and pigeonctl_biz.c:
 * what they share. */
#ifndef PIGEON_PIGEONCTL_H
#define PIGEON_PIGEONCTL_H

#include <stddef.h>
#include <jansson.h>

enum { EXIT_OK, EXIT_REFUSED, EXIT_USAGE, EXIT_AUTH, EXIT_UNREACHABLE };

extern int json_out;

void	 usage(void) __attribute__((noreturn));
void	 die(int code, const char *fmt, ...)
	    __attribute__((noreturn, format(printf, 2, 3)));
/* A string made safe for a terminal: controls escaped; the buffer is
 * reused after 8 calls. */
const char *term_safe(const char *);
/* A string field made safe for a terminal, "-" when absent. */
const char *s(json_t *o, const char *key);
/* A timestamp field with its offset, "-" when absent. */
const char *when(json_t *o, const char *key);
char	*num_or_dash(json_t *o, const char *key, const char *suffix, char *buf,
	    size_t len);
void	 print_json(json_t *);
struct option;
/* getopt_long for a command (argv[0]), its options before or after its
 * operands; at -1 the operands are argv[1..] and *argc counts them and
 * the command. */
int	 ctl_getopt(int *argc, char **argv, const char *opts,
	    const struct option *longopts);
const char *ctl_days_and_handle(int argc, char **argv, const char **days);
/* Appends ?name=value (or &name=value), value URL-encoded. */
void	 add_param(char *path, size_t len, const char *name, const char *value);
int	 cmd_modems(void);
int	 cmd_queue(void);

/* pigeonctl_http.c: the connection to pigeond. */
/* Address and token: options, then the environment, then the
 * configuration; exits with the code of what is missing or wrong. */
void	 ctl_settings(const char *config, const char *opt_addr,
	    const char *opt_token, const char *opt_token_file);
void	 ctl_settings_free(void);
/* host:port, as ctl_settings found it. */
const char *ctl_addr(void);
/* One request; the status code, the body (malloc'd) in *out. Exits with
 * EXIT_UNREACHABLE when pigeond cannot be reached or read. */
int	 ctl_call(const char *method, const char *path, json_t *body, char **out);
/* Calls the API; on an error prints it and exits with its code. Steals body. */
json_t	*api(const char *method, const char *path, json_t *body);

/* pigeonctl_cmds.c: the commands of issue 16. */
#define CTL_MORE_USAGE \
	"  search QUERY [-n LIMIT]     posts matching QUERY\n" \
	"  stats HANDLE [-d DAYS]      a user's statistics\n" \
	"  post HANDLE TEXT            post as a user\n" \
	"  cancel ID                   cancel a message not yet sent\n" \
	"  inbox [-f FROM] [-s STATE] [-n LIMIT] [-b BEFORE]\n" \
	"                              incoming messages, newest first\n" \
	"  reload                      what SIGHUP does: read the configuration again\n" \
	"  tokens                      the API tokens in force: names and scopes\n" \
	"  remove-post ID              remove a post everywhere (moderation)\n" \
	"  suspend|restore HANDLE      suspend an account, or restore it\n" \
	"  export HANDLE               a member's data, as JSON\n" \
	"  erase HANDLE --yes          erase a member's data for good\n" \
	"  watch [--delay SECONDS] [--count N]\n" \
	"                              modems and queue, refreshed (Ctrl-C stops)\n" \
	CTL_DESK_USAGE \
	CTL_BIZ_USAGE
/* Runs one of them: its exit code, or -1 when argv is none of them. */
int	 ctl_more(int argc, char **argv);

/* pigeonctl_desk.c: the support desk (admin scope). */
#define CTL_DESK_USAGE \
	"  phone NUMBER                what is known of a phone: its member, its STOP\n" \
	"  optout NUMBER               record a STOP for a phone that asked by other\n" \
	"                              means (nothing is sent to it; only the phone\n" \
	"                              lifts it, by START or JOIN)\n" \
	"  A HANDLE of users, export, suspend, restore and erase may be the\n" \
	"  member's phone number, in any form (+212 661-000004, 0661000004).\n"
int	 ctl_desk(int argc, char **argv);
int	 ctl_desk_known(const char *name);
/* A handle or a member's phone to its handle (exits 1 when no member has
 * the phone); the buffer is reused. */
const char *ctl_member(const char *arg);

/* pigeonctl_biz.c: business accounts (issue 17). */
#define CTL_BIZ_USAGE \
	"  business HANDLE [on|off]    make an account a business account, or not\n" \
	"  key HANDLE [LABEL]          issue a business account an API key (shown once)\n" \
	"  keys HANDLE                 a business account's keys (never the keys)\n" \
	"  revoke HANDLE ID            revoke a key at once\n" \
	"  schedule HANDLE TIME TEXT   a post that leaves at TIME (ISO 8601)\n" \
	"  audience HANDLE [-d DAYS]   a business account's audience statistics\n"
int	 ctl_biz(int argc, char **argv);
int	 ctl_biz_known(const char *name);
/* 1 when name is a command (its arguments may still be wrong). */
int	 ctl_known(const char *name);

#endif

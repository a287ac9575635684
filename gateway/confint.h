/*
 * confint.h: what config.c, conflink.c (the [modem NAME] and [smpp NAME]
 * sections) and confcheck.c (what a start would trip over) share. Not an
 * API: gateway/config.h is.
 */
#ifndef PIGEON_CONFINT_H
#define PIGEON_CONFINT_H

#include <stddef.h>

#include <gammu.h>

enum key_type {
	KEY_STRING,
	KEY_INT,
	KEY_BOOL,
	KEY_LANG,
	KEY_DIGITS,
	KEY_ADDRESS,	/* host:port */
	KEY_LEVEL,	/* error, warning, info, debug */
	KEY_BIND,	/* transceiver, transmitter+receiver */
	KEY_LONG,	/* udh, payload */
	KEY_ALPHABET,	/* gsm, latin1 */
};

struct key_def {
	const char	*name;
	enum key_type	 type;
	size_t		 offset;
	const char	*def;		/* NULL: required */
	int		 min, max;	/* KEY_INT range */
	int		 reload;	/* SIGHUP applies it (else a restart) */
};

#define RELOAD	1

#define P(f) offsetof(struct pigeon_conf, f)
#define M(f) offsetof(struct modem_conf, f)

/* [modem-defaults]: modem keys given once for every [modem NAME]. */
#define MODEM_DEFAULTS	"modem-defaults"

struct parse_ctx {
	const char	*path;
	char		*err;
	size_t		 errlen;
	struct confscan	*scan;		/* where each section and key is */
	int		 client;	/* config_load_client: no secret read */
};

/* config.c */
/* "PATH:LINE: [section] key: problem", the line from the pre-pass; -1. */
int	 conf_error(struct parse_ctx *, const char *section, const char *key,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
int	 conf_all_digits(const char *);
/* The entries of one section into base; modem: a modem section's rules. */
int	 conf_apply_entries(struct parse_ctx *, const char *section, INI_Entry *,
	    const struct key_def *, void *base, int modem);
/* Defaults, then [modem-defaults] (defaults may be NULL), then entries. */
int	 conf_apply_section(struct parse_ctx *, const char *section, INI_Entry *,
	    const struct key_def *, void *base, int modem, INI_Section *defaults);

/* conflink.c */
extern const struct key_def conflink_modem_keys[];
int	 conflink_ignored(const char *key);
int	 conflink_name_valid(const char *);
void	 conflink_free(struct modem_conf *);
int	 conflink_parse_bank(struct parse_ctx *, const char *section, struct modem_conf *);
struct modem_conf *conflink_add(struct parse_ctx *, const char *section,
	    const char *name, struct pigeon_conf *);
int	 conflink_load_smpp(struct parse_ctx *, const char *section, INI_Section *,
	    struct pigeon_conf *);
int	 conflink_check_devices(struct parse_ctx *, const struct pigeon_conf *);

/* confcheck.c */
int	 confcheck_mode(struct parse_ctx *, const char *section, const char *key,
	    const char *path, const char *secret);
int	 confcheck_all(struct parse_ctx *, const struct pigeon_conf *);

#endif

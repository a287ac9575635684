/* config.c: the INI configuration file (read with libgammu's INI functions). */
#ifndef PIGEON_CONFIG_H
#define PIGEON_CONFIG_H

#include <stddef.h>

struct modem_conf {
	char	*name;		/* from the section title [modem NAME] */
	/* gammurc keys, passed to the worker as they are */
	char	*device;
	char	*connection;
	char	*model;
	char	*logfile;
	char	*logformat;
	char	*smsc;
	int	 enabled;
	int	 poll_ms;	/* how often the worker lists stored SMS */
	char	*routes;	/* destination prefixes, space separated */
	char	*rate;		/* e.g. "6/min 300/hour" */
};

struct pigeon_conf {
	/* [pigeon] */
	char	*shortcode;
	char	*country;	/* calling code, digits */
	char	*language;	/* en, fr or ar */
	int	 post_max;	/* characters */
	char	*hostname;	/* this host's name in the shared database */
	char	*modem_program;	/* path of pigeon-modem; "" = next to pigeond */
	int	 lease_seconds;	/* a claimed message returns to the queue after this */
	int	 concat_timeout;	/* seconds to wait for the missing parts of an SMS */
	/* [database] */
	char	*conninfo;
	/* [http] */
	char	*http_listen;	/* host:port */
	char	*http_token;
	/* [modem NAME] sections, in file order */
	struct modem_conf *modems;
	size_t	 nmodems;
};

/*
 * Reads path into conf (zeroed first). On error returns -1 with one line
 * in err saying where and what; conf holds nothing to free then.
 */
int	 config_load(const char *path, struct pigeon_conf *conf, char *err, size_t errlen);
void	 config_free(struct pigeon_conf *conf);
const struct modem_conf *config_modem(const struct pigeon_conf *, const char *name);

#endif

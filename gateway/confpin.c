/*
 * confpin.c: a modem's SIM PIN, `pin = 1234` or `pin_file = PATH` (its
 * first line) in [modem NAME] or [modem-defaults] (issue 15). Checked
 * here so that -n finds a bad PIN; the PIN from the file ends up in
 * modem_conf.pin, so that a reload reads the file again.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "confscan.h"

static int
pin_error(const char *path, const struct confscan *scan, const struct modem_conf *m,
    const char *key, char *err, size_t errlen, const char *problem, const char *arg)
{
	char section[80], where[32] = "";
	int line;

	snprintf(section, sizeof(section), "modem %s", m->name);
	if ((line = confscan_line(scan, section, key)) == 0)
		line = confscan_line(scan, "modem-defaults", key);
	if (line > 0)
		snprintf(where, sizeof(where), ":%d", line);
	snprintf(err, errlen, "%s%s: [%s] %s: %s%s%s", path, where, section, key,
	    arg ? arg : "", arg && *problem != ':' ? ": " : "", problem);
	return -1;
}

/* A SIM PIN is 4 to 8 digits (3GPP TS 22.022 / 31.101). */
static int
pin_valid(const char *s)
{
	size_t n = strlen(s);

	if (n < 4 || n > 8)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

int
config_modem_pin(struct modem_conf *m, const char *path, const struct confscan *scan,
    char *err, size_t errlen)
{
	char line[64];
	struct stat st;
	FILE *f;

	if (*m->pin && *m->pin_file)
		return pin_error(path, scan, m, "pin_file", err, errlen,
		    "give pin or pin_file, not both", NULL);
	if (*m->pin) {
		if (!pin_valid(m->pin))
			return pin_error(path, scan, m, "pin", err, errlen,
			    "a SIM PIN is 4 to 8 digits", NULL);
		if (stat(path, &st) == 0 && (st.st_mode & S_IROTH))
			return pin_error(path, scan, m, "pin", err, errlen,
			    "the file holds a SIM PIN and others can read it: chmod 600 "
			    "it (or 640 with group pigeon), or use pin_file", NULL);
		return 0;
	}
	if (*m->pin_file == '\0')
		return 0;
	if ((f = fopen(m->pin_file, "r")) == NULL)
		return pin_error(path, scan, m, "pin_file", err, errlen, strerror(errno),
		    m->pin_file);
	if (fgets(line, sizeof(line), f) == NULL)
		line[0] = '\0';
	fclose(f);
	line[strcspn(line, "\r\n")] = '\0';
	if (!pin_valid(line))
		return pin_error(path, scan, m, "pin_file", err, errlen,
		    ": its first line is not a SIM PIN (4 to 8 digits)", m->pin_file);
	if (stat(m->pin_file, &st) == 0 && (st.st_mode & (S_IROTH | S_IWOTH)))
		return pin_error(path, scan, m, "pin_file", err, errlen,
		    ": others can read or change it: chmod 600 it (or 640 with group "
		    "pigeon)", m->pin_file);
	free(m->pin);
	if ((m->pin = strdup(line)) == NULL)
		return pin_error(path, scan, m, "pin_file", err, errlen, "out of memory", NULL);
	return 0;
}

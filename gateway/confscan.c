/*
 * confscan.c: the configuration file read line by line, the way libgammu's
 * INI_ReadFile tokenizes it (a line ends at CR or LF; ';' and '#' start a
 * comment only at the start of a line; a key ends at the first '=';
 * whitespace around names and values is dropped), to refuse what it would
 * drop or misread and to keep the line of every section and key.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "confscan.h"

struct scan_item {
	char	*section;
	char	*key;		/* NULL: the section's header */
	int	 line;
};

struct confscan {
	struct scan_item *items;
	size_t	 n, cap;
};

void
confscan_free(struct confscan *cs)
{
	if (cs == NULL)
		return;
	for (size_t i = 0; i < cs->n; i++) {
		free(cs->items[i].section);
		free(cs->items[i].key);
	}
	free(cs->items);
	free(cs);
}

static int
scan_add(struct confscan *cs, const char *section, const char *key, size_t keylen, int line)
{
	if (cs->n == cs->cap) {
		size_t cap = cs->cap ? cs->cap * 2 : 32;
		struct scan_item *ni = realloc(cs->items, cap * sizeof(*ni));
		if (ni == NULL)
			return -1;
		cs->items = ni;
		cs->cap = cap;
	}
	struct scan_item *it = &cs->items[cs->n];
	it->section = strdup(section);
	it->key = key ? strndup(key, keylen) : NULL;
	it->line = line;
	if (it->section == NULL || (key && it->key == NULL)) {
		free(it->section);
		free(it->key);
		return -1;
	}
	cs->n++;
	return 0;
}

static const struct scan_item *
scan_find(const struct confscan *cs, const char *section, const char *key, size_t keylen)
{
	for (size_t i = 0; i < cs->n; i++) {
		const struct scan_item *it = &cs->items[i];
		if (strcasecmp(it->section, section) != 0)
			continue;
		if (key == NULL && it->key == NULL)
			return it;
		if (key && it->key && strlen(it->key) == keylen &&
		    strncasecmp(it->key, key, keylen) == 0)
			return it;
	}
	return NULL;
}

int
confscan_line(const struct confscan *cs, const char *section, const char *key)
{
	const struct scan_item *it;

	if (cs == NULL || section == NULL)
		return 0;
	it = scan_find(cs, section, key, key ? strlen(key) : 0);
	return it ? it->line : 0;
}

int
confscan_empty(const struct confscan *cs)
{
	return cs->n == 0;
}

static int
scan_error(char *err, size_t errlen, const char *path, int line, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "%s:%d: %s", path, line, msg);
	return -1;
}

/* One line, NUL-terminated, without its end of line; 0 or -1 with err. */
static int
scan_line(struct confscan *cs, char *s, int line, char **section, const char *path,
    char *err, size_t errlen)
{
	const struct scan_item *prev;
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	if (*s == '\0' || *s == ';' || *s == '#')
		return 0;
	if (*s == '[') {
		char *close = strchr(s, ']');
		if (close == NULL)
			return scan_error(err, errlen, path, line,
			    "'%s': a section header without its ']' (the whole section "
			    "would be ignored)", s);
		if (close == s + 1)
			return scan_error(err, errlen, path, line, "an empty section name");
		char *rest = close + 1;
		while (isspace((unsigned char)*rest))
			rest++;
		if (*rest != '\0' && *rest != ';' && *rest != '#')
			return scan_error(err, errlen, path, line,
			    "'%s' after the section header", rest);
		*close = '\0';
		if ((prev = scan_find(cs, s + 1, NULL, 0)) != NULL)
			return scan_error(err, errlen, path, line,
			    "[%s]: section given twice (first at line %d)", s + 1, prev->line);
		free(*section);
		if ((*section = strdup(s + 1)) == NULL || scan_add(cs, s + 1, NULL, 0, line) == -1)
			return scan_error(err, errlen, path, line, "out of memory");
		return 0;
	}
	char *eq = strchr(s, '=');
	if (*section == NULL)
		return scan_error(err, errlen, path, line,
		    "'%s' comes before any [section]", s);
	if (eq == NULL)
		return scan_error(err, errlen, path, line,
		    "[%s]: '%s' is not 'key = value' (the line would be ignored)",
		    *section, s);
	char *kend = eq;
	while (kend > s && isspace((unsigned char)kend[-1]))
		kend--;
	if (kend == s)
		return scan_error(err, errlen, path, line, "[%s]: a value without a key",
		    *section);
	int klen = (int)(kend - s);
	if ((prev = scan_find(cs, *section, s, klen)) != NULL)
		return scan_error(err, errlen, path, line,
		    "[%s] %.*s: given twice (first at line %d)", *section, klen, s, prev->line);
	char *v = eq + 1;
	while (isspace((unsigned char)*v))
		v++;
	size_t vlen = strlen(v);
	if (vlen >= 2 && (v[0] == '"' || v[0] == '\'') && v[vlen - 1] == v[0])
		return scan_error(err, errlen, path, line,
		    "[%s] %.*s: the quotes would be part of the value: write %.*s without them",
		    *section, klen, s, (int)vlen - 2, v + 1);
	if (strstr(v, " ;") || strstr(v, "\t;") || strstr(v, " #") || strstr(v, "\t#"))
		return scan_error(err, errlen, path, line,
		    "[%s] %.*s: '%s' looks like it ends with a comment: put comments on "
		    "their own line", *section, klen, s, v);
	if (scan_add(cs, *section, s, klen, line) == -1)
		return scan_error(err, errlen, path, line, "out of memory");
	return 0;
}

struct confscan *
confscan_read(const char *path, char *err, size_t errlen)
{
	struct confscan *cs = calloc(1, sizeof(*cs));
	char *buf = NULL, *section = NULL;
	size_t cap = 0;
	ssize_t len;
	int line = 0, rc = 0;
	FILE *f;

	if (cs == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		free(cs);
		return NULL;
	}
	while (rc == 0 && (len = getline(&buf, &cap, f)) != -1) {
		line++;
		if (len > 0 && buf[len - 1] == '\n')
			buf[--len] = '\0';
		if (len > 0 && buf[len - 1] == '\r')
			buf[--len] = '\0';
		/* libgammu skips a UTF-8 byte order mark (it looks for '['). */
		if (line == 1 && strncmp(buf, "\xef\xbb\xbf", 3) == 0) {
			memmove(buf, buf + 3, len - 2);
			len -= 3;
		}
		if ((size_t)len != strlen(buf))
			rc = scan_error(err, errlen, path, line, "a NUL byte in the line");
		else if (strchr(buf, '\r'))
			rc = scan_error(err, errlen, path, line,
			    "a carriage return inside the line");
		else
			rc = scan_line(cs, buf, line, &section, path, err, errlen);
	}
	if (rc == 0 && ferror(f))
		rc = scan_error(err, errlen, path, line, "%s", strerror(errno));
	fclose(f);
	free(buf);
	free(section);
	if (rc == -1) {
		confscan_free(cs);
		return NULL;
	}
	return cs;
}

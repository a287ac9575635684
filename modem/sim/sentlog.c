/*
 * sentlog.c: what went out through AT+CMGS.
 *
 * DIR/parts.jsonl gets a line per accepted PDU; DIR/sent.jsonl a line per
 * whole message, once every part of a concatenated one has arrived. Each line
 * is one write() on an O_APPEND descriptor, so a reader never sees half a
 * line and the files outlive the simulator (`sent` reads them directly).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "log.h"
#include "sim.h"

#define SENT_MAX_GROUPS	64	/* incomplete multi-part sends kept */

/* The parts of one concatenated message seen so far. */
struct group {
	char	 to[SIM_MAX_NUMBER * 2];
	int	 ref, total;
	char	*text[256];		/* by sequence number, 1-based */
	int	 mr[256];
	int	 have;
	const char *coding;	/* of the first part seen */
	long	 born;			/* now_ms() of its first part */
};

static int sent_fd = -1, parts_fd = -1;
static struct group *groups[SENT_MAX_GROUPS];

static int
sentlog_openat(const char *dir, const char *name)
{
	char path[1024];
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    sizeof(path))
		return -1;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd == -1)
		log_warn("open %s", path);
	return fd;
}

int
sentlog_open(const char *dir)
{
	sent_fd = sentlog_openat(dir, "sent.jsonl");
	parts_fd = sentlog_openat(dir, "parts.jsonl");
	return sent_fd == -1 || parts_fd == -1 ? -1 : 0;
}

static void
group_free(struct group *g)
{
	int i;

	for (i = 0; i < 256; i++)
		free(g->text[i]);
	free(g);
}

void
sentlog_close(void)
{
	int i;

	for (i = 0; i < SENT_MAX_GROUPS; i++) {
		if (groups[i] != NULL)
			group_free(groups[i]);
		groups[i] = NULL;
	}
	if (sent_fd != -1)
		close(sent_fd);
	if (parts_fd != -1)
		close(parts_fd);
	sent_fd = parts_fd = -1;
}

/* Steals the reference to obj. */
static void
sentlog_write(int fd, json_t *obj)
{
	char *line;
	size_t len;

	if (obj == NULL) {
		log_warnx("sentlog: cannot build a record");
		return;
	}
	line = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(obj);
	if (line == NULL)
		return;
	len = strlen(line);
	line[len] = '\n';	/* json_dumps' NUL: one write for the line */
	if (fd != -1 && write(fd, line, len + 1) != (ssize_t)(len + 1))
		log_warn("sentlog: write");
	free(line);
}

static void
sentlog_message(const char *to, const char *text, int parts, json_t *refs,
    const char *coding)
{
	char when[40];

	iso8601(time(NULL), when, sizeof(when));
	sentlog_write(sent_fd, json_pack("{s:s, s:s, s:i, s:s, s:o, s:s}",
	    "to", to, "text", text, "parts", parts, "time", when,
	    "refs", refs, "coding", coding));
}

static struct group *
group_find(const struct pdu_submit *s)
{
	int i, free_i = -1, oldest = 0;

	for (i = 0; i < SENT_MAX_GROUPS; i++) {
		struct group *g = groups[i];
		if (g == NULL) {
			if (free_i == -1)
				free_i = i;
			continue;
		}
		if (g->ref == s->ref && g->total == s->total &&
		    strcmp(g->to, s->to) == 0)
			return g;
		if (groups[oldest] == NULL || g->born < groups[oldest]->born)
			oldest = i;
	}
	if (free_i == -1) {
		log_warnx("sentlog: dropping an incomplete message to %s",
		    groups[oldest]->to);
		group_free(groups[oldest]);
		groups[oldest] = NULL;
		free_i = oldest;
	}
	if ((groups[free_i] = calloc(1, sizeof(struct group))) == NULL)
		return NULL;
	snprintf(groups[free_i]->to, sizeof(groups[free_i]->to), "%s", s->to);
	groups[free_i]->ref = s->ref;
	groups[free_i]->total = s->total;
	groups[free_i]->born = now_ms();
	groups[free_i]->coding = s->coding;
	return groups[free_i];
}

/* Joins a complete group in sequence order and forgets it. */
static void
group_finish(struct group *g)
{
	json_t *refs = json_array();
	char *text;
	size_t len = 0;
	int i;

	for (i = 1; i <= g->total; i++)
		len += strlen(g->text[i]);
	if ((text = malloc(len + 1)) == NULL) {
		json_decref(refs);
		return;
	}
	text[0] = '\0';
	for (i = 1; i <= g->total; i++) {
		strcat(text, g->text[i]);
		json_array_append_new(refs, json_integer(g->mr[i]));
	}
	sentlog_message(g->to, text, g->total, refs, g->coding);
	free(text);
	for (i = 0; i < SENT_MAX_GROUPS; i++)
		if (groups[i] == g)
			groups[i] = NULL;
	group_free(g);
}

void
sentlog_part(const struct pdu_submit *s, int mr)
{
	char when[40];
	json_t *udh = json_null();
	struct group *g;

	iso8601(time(NULL), when, sizeof(when));
	if (s->total > 0)
		udh = json_pack("{s:i, s:i, s:i}", "ref", s->ref, "seq", s->seq,
		    "total", s->total);
	sentlog_write(parts_fd, json_pack("{s:s, s:s, s:s, s:o, s:i, s:b, s:s, s:i, s:i}",
	    "to", s->to, "text", s->text, "coding", s->coding, "udh", udh,
	    "mr", mr, "report", s->report, "time", when, "class", s->cls,
	    "vp", s->vp));

	if (s->total <= 1 || s->seq < 1 || s->seq > s->total ||
	    s->total > 255) {
		sentlog_message(s->to, s->text, 1, json_pack("[i]", mr),
		    s->coding);
		return;
	}
	if ((g = group_find(s)) == NULL)
		return;
	if (g->text[s->seq] == NULL)
		g->have++;
	free(g->text[s->seq]);
	g->text[s->seq] = strdup(s->text ? s->text : "");
	g->mr[s->seq] = mr;
	if (g->have == g->total)
		group_finish(g);
}

int
sentlog_print(const char *dir, const char *number, int text_only)
{
	char path[1024], *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/sent.jsonl", dir);
	if ((f = fopen(path, "r")) == NULL) {
		if (errno == ENOENT && access(dir, F_OK) == 0)
			return 0;	/* nothing sent yet */
		fprintf(stderr, "pigeon-modemsim: %s: %s\n", path,
		    strerror(errno));
		return 1;
	}
	while ((n = getline(&line, &cap, f)) > 0) {
		json_t *o;
		const char *to;

		if (line[n - 1] != '\n')
			break;		/* a line still being written */
		if ((o = json_loads(line, 0, NULL)) == NULL)
			continue;
		to = json_string_value(json_object_get(o, "to"));
		if (number != NULL && (to == NULL || strcmp(to, number) != 0)) {
			json_decref(o);
			continue;
		}
		if (text_only) {
			/* "time<TAB>text" on one line, for scripts/phone. */
			const char *t = json_string_value(json_object_get(o, "time"));
			const char *text = json_string_value(json_object_get(o, "text"));
			printf("%s\t", t ? t : "");
			for (; text && *text; text++)
				putchar(*text == '\n' || *text == '\r' || *text == '\t' ? ' ' : *text);
			putchar('\n');
		} else {
			fputs(line, stdout);
		}
		json_decref(o);
	}
	free(line);
	fclose(f);
	return 0;
}

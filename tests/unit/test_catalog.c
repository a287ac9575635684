/* Unit tests for the reply catalogs (gateway/catalog/LANG.json): every key
 * exists in every language with the same placeholders, and every entry,
 * filled with its longest arguments, fits one SMS in the encoding
 * libgammu picks for it (160 GSM-7 characters or 70 UCS-2). Darija is
 * written in Latin letters and digits, as Moroccans text it: all GSM-7. */
#include <check.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gammu.h>
#include <jansson.h>

#include "parse.h"
#include "unit.h"

static const char *const langs[] = { "en", "fr", "ar", "darija" };
#define NLANGS	4
#define DARIJA	3

/*
 * The arguments each entry gets from db/functions/30_commands.sql, by
 * kind: h a handle (15 characters), n a count (10 digits), d a date,
 * H an hour, a hours with a tenth (hold_max_age, under 23 h where it is
 * said), k a command name, w a tracked word (20 characters), t a user's
 * text that ends the reply (the reply is cut there by the worker,
 * to reply_parts parts: it is checked empty here, what precedes it must
 * fit).
 */
struct spec {
	const char	*key;
	const char	*args;
};

static const struct spec specs[] = {
	{ "welcome", "h" }, { "already_member", "h" }, { "handle_taken", "h" },
	{ "handle_reserved", "h" }, { "join_hint", "" }, { "following", "h" },
	{ "unfollowed", "h" }, { "not_following", "h" }, { "no_such_user", "h" },
	{ "follow_self", "" }, { "too_long", "nn" }, { "stopped", "" },
	{ "started", "" }, { "started_join", "" }, { "help", "" },
	{ "not_available", "k" }, { "rate_limited", "nn" }, { "on_all", "" },
	{ "off_all", "" }, { "on_user", "h" }, { "off_user", "h" },
	{ "dm", "ht" }, { "dm_not_follower", "h" }, { "dm_self", "" },
	{ "dm_too_long", "nn" },
	{ "get", "ht" }, { "get_none", "h" }, { "whois", "hnndt" },
	{ "stats", "nnn" }, { "stats_nopost", "n" }, { "name_set", "t" }, { "name_too_long", "nn" },
	{ "bio_set", "" }, { "bio_too_long", "nn" }, { "lang_set", "" },
	{ "sleep_set", "HH" }, { "sleep_set_long", "HHa" }, { "sleep_off", "" },
	{ "deleted", "" },
	{ "delete_none", "" }, { "help_words", "" }, { "tracking", "w" },
	{ "track_already", "w" }, { "track_full", "n" }, { "track_cap", "n" },
	{ "untracked", "w" }, { "not_tracking", "w" }, { "tracks", "t" },
	{ "tracks_none", "" }, { "search", "t" }, { "search_none", "t" },
	{ "usage_track", "" }, { "usage_untrack", "" }, { "usage_tracks", "" },
	{ "usage_search", "" },
	{ "usage_join", "" }, { "usage_follow", "" }, { "usage_leave", "" },
	{ "usage_post", "" }, { "usage_on", "" }, { "usage_off", "" },
	{ "usage_dm", "" }, { "usage_get", "" }, { "usage_whois", "" },
	{ "usage_name", "" }, { "usage_bio", "" }, { "usage_lang", "" },
	{ "usage_sleep", "" }, { "usage_help", "" }, { "usage_stop", "" },
	{ "usage_start", "" }, { "usage_stats", "" }, { "usage_delete", "" },
	{ "recipient_ceiling", "n" },
	{ "tracking_digest", "wH" }, { "digest", "wnt" },
	{ "tracks_digest", "tHt" }, { "tracks_digest_only", "Ht" },
	{ NULL, NULL }
};

static json_t *catalogs[NLANGS];

static void
load(void)
{
	json_error_t err;
	char path[64];

	for (int i = 0; i < NLANGS; i++) {
		snprintf(path, sizeof(path), "gateway/catalog/%s.json", langs[i]);
		catalogs[i] = json_load_file(path, 0, &err);
		if (catalogs[i] == NULL) {
			fprintf(stderr, "%s:%d: %s\n", path, err.line, err.text);
			abort();
		}
	}
}

static void
unload(void)
{
	for (int i = 0; i < NLANGS; i++)
		json_decref(catalogs[i]);
}

/* The tracked word: 20 ASCII letters, or 20 letters outside GSM-7
 * ("SURVEILLER المغرب", "TRACK كسكس DIGEST" took 2 SMS when the reply
 * echoed the word): the reply is UCS-2 then, 70 characters. */
static const char word_gsm[] = "abcdefghijklmnopqrst";
static const char word_ucs2[] = "\xd9\x83\xd8\xb3\xd9\x83\xd8\xb3\xd9\x83\xd8\xb3"
    "\xd9\x83\xd8\xb3\xd9\x83\xd8\xb3\xd9\x83\xd8\xb3\xd9\x83\xd8\xb3"
    "\xd9\x83\xd8\xb3\xd9\x83\xd8\xb3\xd9\x83\xd8\xb3";	/* كسكس... 20 letters */
static const char *word_value = word_gsm;

static const char *
arg_value(char kind)
{
	switch (kind) {
	case 'h': return "abcdefghijklmno";
	case 'n': return "1234567890";
	case 'd': return "2026-11-26";
	case 'H': return "23";
	case 'a': return "22.9";
	case 'k': return "UNFOLLOW";
	case 'w': return word_value;
	case 't': return "";
	}
	return NULL;
}

/* format() of PostgreSQL for %N$s; returns NULL on any other '%'. */
static char *
render(const char *tmpl, const char *args)
{
	size_t cap = strlen(tmpl) + 200, n = 0;
	char *out = malloc(cap);
	const char *p = tmpl;

	while (*p) {
		if (*p != '%') {
			out[n++] = *p++;
			continue;
		}
		if (p[1] == '%') {
			out[n++] = '%';
			p += 2;
			continue;
		}
		if (!(p[1] >= '1' && p[1] <= '9' && p[2] == '$' && p[3] == 's') ||
		    (size_t)(p[1] - '1') >= strlen(args)) {
			free(out);
			return NULL;
		}
		const char *v = arg_value(args[p[1] - '1']);
		memcpy(out + n, v, strlen(v));
		n += strlen(v);
		p += 4;
	}
	out[n] = '\0';
	return out;
}

/* The placeholders of tmpl as a bit set (bit N for %N$s). */
static unsigned
placeholders(const char *tmpl)
{
	unsigned set = 0;

	for (const char *p = tmpl; (p = strchr(p, '%')) != NULL; p++)
		if (p[1] >= '1' && p[1] <= '9' && p[2] == '$')
			set |= 1u << (p[1] - '0');
	return set;
}

/* Parts libgammu needs for text and whether it chose UCS-2. */
static int
sms_parts(const char *text, int *ucs2)
{
	GSM_MultiSMSMessage *m = calloc(1, sizeof(*m));
	GSM_MultiPartSMSInfo info;
	unsigned char *u = calloc(strlen(text) + 2, 2);
	int n;

	DecodeUTF8(u, text, strlen(text));
	GSM_ClearMultiPartSMSInfo(&info);
	info.Class = -1;
	info.EntriesNum = 1;
	info.Entries[0].ID = SMS_ConcatenatedAutoTextLong;
	info.Entries[0].Buffer = u;
	ck_assert_int_eq(GSM_EncodeMultiPartSMS(NULL, &info, m), ERR_NONE);
	n = m->Number;
	*ucs2 = m->SMS[0].Coding != SMS_Coding_Default_No_Compression;
	free(u);
	free(m);
	return n;
}

static size_t
utf16_units(const char *s)
{
	size_t n = 0;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c & 0xc0) != 0x80)
			n += c >= 0xf0 ? 2 : 1;
	}
	return n;
}

START_TEST(test_every_key_everywhere)
{
	for (int i = 0; i < NLANGS; i++) {
		const char *key;
		json_t *v;

		json_object_foreach(catalogs[i], key, v) {
			int known = 0;
			for (const struct spec *s = specs; s->key; s++)
				known |= strcmp(s->key, key) == 0;
			ck_assert_msg(known, "%s: key %s has no test spec", langs[i], key);
			ck_assert_msg(json_is_string(v), "%s: %s is not a string", langs[i], key);
		}
	}
	for (const struct spec *s = specs; s->key; s++) {
		unsigned want = 0;
		for (size_t a = 0; a < strlen(s->args); a++)
			want |= 1u << (a + 1);
		for (int i = 0; i < NLANGS; i++) {
			const char *t = json_string_value(json_object_get(catalogs[i], s->key));
			ck_assert_msg(t != NULL, "%s: missing key %s", langs[i], s->key);
			ck_assert_msg(placeholders(t) == want,
			    "%s: %s has placeholders %#x, want %#x", langs[i], s->key,
			    placeholders(t), want);
		}
	}
}
END_TEST

START_TEST(test_every_entry_fits_one_sms)
{
	int checked = 0;

	for (const struct spec *s = specs; s->key; s++) {
		for (int i = 0; i < NLANGS; i++) {
			const char *t = json_string_value(json_object_get(catalogs[i], s->key));
			char *out;
			int ucs2, parts;

			if (t == NULL)
				continue;	/* reported by the other test */
			out = render(t, s->args);
			ck_assert_msg(out != NULL, "%s: %s: a '%%' that is not %%N$s",
			    langs[i], s->key);
			parts = sms_parts(out, &ucs2);
			ck_assert_msg(parts == 1, "%s: %s needs %d SMS (%s) with its "
			    "longest arguments: \"%s\"", langs[i], s->key, parts,
			    ucs2 ? "UCS-2" : "GSM-7", out);
			/* Arabic is UCS-2 as soon as it holds an Arabic letter. */
			if (strcmp(langs[i], "ar") == 0)
				ck_assert_msg(utf16_units(out) <= 70, "ar: %s has %zu "
				    "characters, more than 70", s->key, utf16_units(out));
			free(out);
			checked++;
		}
	}
	ck_assert_int_eq(checked, NLANGS * (int)(sizeof(specs) / sizeof(specs[0]) - 1));
}
END_TEST

/* A reply that names a tracked word fits one SMS also when the word is
 * not GSM-7 (Arabic, or French with ê): 70 UCS-2 characters. */
START_TEST(test_word_replies_fit_ucs2)
{
	int checked = 0;

	ck_assert_uint_eq(utf16_units(word_ucs2), 20);
	word_value = word_ucs2;
	for (const struct spec *s = specs; s->key; s++) {
		if (strchr(s->args, 'w') == NULL)
			continue;
		for (int i = 0; i < NLANGS; i++) {
			const char *t = json_string_value(json_object_get(catalogs[i], s->key));
			char *out = render(t, s->args);
			int ucs2, parts;

			ck_assert_ptr_nonnull(out);
			parts = sms_parts(out, &ucs2);
			ck_assert_msg(parts == 1 && ucs2, "%s: %s needs %d SMS (%s) with "
			    "a word of 20 letters outside GSM-7: \"%s\"", langs[i],
			    s->key, parts, ucs2 ? "UCS-2" : "GSM-7", out);
			free(out);
			checked++;
		}
	}
	word_value = word_gsm;
	ck_assert_int_ge(checked, 5 * NLANGS);
}
END_TEST

/* French with é è à stays GSM-7 (160 characters): only the entries that
 * must use ç or ê are UCS-2, and those are short. */
START_TEST(test_french_mostly_gsm7)
{
	int ucs2_entries = 0;

	for (const struct spec *s = specs; s->key; s++) {
		const char *t = json_string_value(json_object_get(catalogs[1], s->key));
		char *out = render(t, s->args);
		int ucs2;

		sms_parts(out, &ucs2);
		ucs2_entries += ucs2;
		free(out);
	}
	ck_assert_int_le(ucs2_entries, 2);
}
END_TEST

/* Darija is Latin letters and digits (Arabizi): every entry stays GSM-7,
 * 160 characters, like the sender's own SMS. */
START_TEST(test_darija_gsm7)
{
	for (const struct spec *s = specs; s->key; s++) {
		const char *t = json_string_value(json_object_get(catalogs[DARIJA],
		    s->key));
		char *out;
		int ucs2;

		ck_assert_msg(t != NULL, "darija: missing key %s", s->key);
		out = render(t, s->args);
		ck_assert_ptr_nonnull(out);
		sms_parts(out, &ucs2);
		ck_assert_msg(!ucs2, "darija: %s needs UCS-2: \"%s\"", s->key, out);
		free(out);
	}
}
END_TEST

/*
 * HELP (its two SMS, help and help_words) names every command a member
 * uses, in each language, by a keyword the parser takes: French HELP left
 * out LANGUE and SUPPRIMER, Arabic HELP تفعيل/تعطيل, اسم and نبذة. Not
 * START (a phone that said STOP gets no HELP: the STOP reply names START)
 * nor HELP itself. A word in capitals of a Latin catalog is a keyword
 * (but for the few below); Arabic words are tried one by one.
 */
static const enum cmd_type must_list[] = {
	CMD_JOIN, CMD_FOLLOW, CMD_LEAVE, CMD_ON, CMD_OFF, CMD_STOP, CMD_DM,
	CMD_GET, CMD_WHOIS, CMD_STATS, CMD_NAME, CMD_BIO, CMD_LANG, CMD_SLEEP,
	CMD_DELETE, CMD_TRACK, CMD_UNTRACK, CMD_TRACKS, CMD_SEARCH,
};
/* Capitals that are no command: TRACK's DIGEST (RÉSUMÉ), and SMS. */
static const char *const not_keywords[] = { "DIGEST", "RÉSUMÉ", "SMS", NULL };

/* Parses each word of t (ASCII punctuation, spaces and '،' part words)
 * alone and marks the commands found in listed[]. */
static void
help_commands(const char *lang, const char *t, int listed[])
{
	const char *p = t, *w;
	struct command cmd;
	char word[64];

	while (*p) {
		int upper = 0, lower = 0, arabic = 0;

		while (*p && ((*p > 0 && *p < 0x7f && !isalnum((unsigned char)*p)) ||
		    strncmp(p, "\xd8\x8c", 2) == 0))
			p += *p == '\xd8' ? 2 : 1;
		for (w = p; *p && !((*p > 0 && *p < 0x7f && !isalnum((unsigned char)*p)) ||
		    strncmp(p, "\xd8\x8c", 2) == 0); p++) {
			upper |= *p >= 'A' && *p <= 'Z';
			lower |= *p >= 'a' && *p <= 'z';
			arabic |= *p == '\xd8' || *p == '\xd9';
		}
		if (p == w || (size_t)(p - w) >= sizeof(word))
			continue;
		memcpy(word, w, (size_t)(p - w));
		word[p - w] = '\0';
		if (!arabic && (!upper || lower))
			continue;	/* not in capitals: a hint ("name") */
		command_parse(word, strlen(word), &cmd);
		if (!arabic) {
			int skip = 0;
			for (const char *const *n = not_keywords; *n; n++)
				skip |= strcmp(*n, word) == 0;
			ck_assert_msg(skip || cmd.type != CMD_POST,
			    "%s: HELP names %s, which is no keyword", lang, word);
		}
		listed[cmd.type] = 1;
	}
}

START_TEST(test_help_lists_commands)
{
	for (int i = 0; i < NLANGS; i++) {
		int listed[CMD_SEARCH + 1] = { 0 };

		help_commands(langs[i], json_string_value(json_object_get(catalogs[i],
		    "help")), listed);
		help_commands(langs[i], json_string_value(json_object_get(catalogs[i],
		    "help_words")), listed);
		for (size_t c = 0; c < sizeof(must_list) / sizeof(must_list[0]); c++)
			ck_assert_msg(listed[must_list[c]], "%s: HELP does not name %s",
			    langs[i], command_name(must_list[c]));
	}
}
END_TEST

/* The welcome names HELP and STOP by a keyword the parser takes, in
 * every language (the Arabic one named neither: a new member learnt of
 * STOP only from HELP). */
START_TEST(test_welcome_names_stop)
{
	for (int i = 0; i < NLANGS; i++) {
		int listed[CMD_SEARCH + 1] = { 0 };

		help_commands(langs[i], json_string_value(json_object_get(catalogs[i],
		    "welcome")), listed);
		ck_assert_msg(listed[CMD_STOP], "%s: the welcome does not name STOP",
		    langs[i]);
		ck_assert_msg(listed[CMD_HELP], "%s: the welcome does not name HELP",
		    langs[i]);
	}
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("catalog");
	TCase *tc = tcase_create("catalog");

	tcase_add_unchecked_fixture(tc, load, unload);
	tcase_add_test(tc, test_every_key_everywhere);
	tcase_add_test(tc, test_every_entry_fits_one_sms);
	tcase_add_test(tc, test_word_replies_fit_ucs2);
	tcase_add_test(tc, test_french_mostly_gsm7);
	tcase_add_test(tc, test_darija_gsm7);
	tcase_add_test(tc, test_help_lists_commands);
	tcase_add_test(tc, test_welcome_names_stop);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(suite());
}

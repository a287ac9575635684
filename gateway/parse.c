/* parse.c: the shortcode language: one SMS text to one struct command.
 * docs/commands.md is the table for users, operators and translators.
 *
 * - The message is trimmed of white space: ASCII, no-break and the other
 *   Unicode spaces, and invisible marks (bidi marks and isolates, zero-width
 *   space, BOM), which also separate words. A run of them is one separator.
 * - The first word is the keyword. It is compared folded: ASCII case; Latin
 *   accents (ARRÊT = arret, DÉSACTIVER = desactiver, also when decomposed);
 *   full-width forms; Arabic tatweel, diacritics (harakat) and ZWJ/ZWNJ
 *   dropped; alef forms (أ إ آ ٱ) to ا, ة to ه, ى and ی to ي, ک to ك; an
 *   Arabic word with the article (التسجيل) is tried without it. Quotes and
 *   brackets around it and trailing punctuation (. , ; : ! ? and the Arabic
 *   ones) are ignored, so "Stop!" and "«HELP»" work; "?", "??" or "؟" alone
 *   is HELP. A keyword glued to its argument by , . : ; or a dash is the
 *   keyword and its argument ("D,fay9 hi", "DM:alice", "FOLLOW,karim":
 *   glued_keyword). Handles are not folded beyond ASCII case: "josé" is a bad handle.
 * - A command has a fixed shape. Words beyond it make the message a post
 *   ("follow your dreams, everyone", "help me move"), except for STOP (below).
 *   Trailing words without a letter or digit do not count: punctuation
 *   ("Aide !", French typography), emoticons and emoji ("FOLLOW karim
 *   :-)", "HELP 🙏"), so a smiley does not publish a command to every
 *   follower. The text of DM, NAME and BIO still runs to the end, and a
 *   post is the whole message. Nor do STOP's fillers after a handle
 *   ("FOLLOW karim svp"; after a loose keyword only with '@'); for ON and
 *   OFF a filler is no handle ("OFF svp" is OFF). Nor after a command
 *   that takes none ("help please", "Aide svp", "مساعدة من فضلك", "help
 *   me"); the delete command takes politeness only ("supprimer svp"):
 *   other fillers ask for more than it does ("supprimer tous les
 *   messages"), CMDERR_EXTRA.
 * - STOP: the primary opt-out words (STOP, STOPALL, UNSUBSCRIBE, ARRÊT, توقف
 *   and its plural توقفوا) win as the first word whatever follows ("STOP please", "stop sending
 *   me these"): a missed STOP publishes the message to every follower and
 *   keeps sending SMS the user no longer wants, while a wrong STOP costs the
 *   user one confirmation that says how to START again. The ordinary words
 *   QUIT, END, CANCEL, إلغاء, إيقاف are a STOP only when every word of the
 *   message is a STOP word or a politeness filler ("cancel please", "please
 *   stop", "stop stop", "الغاء الاشتراك", "baraka 3afak"; a filler may
 *   be a phrase: "s'il vous plaît"); "End of the
 *   day" is a post. ستوب (STOP in Arabic letters) wins like STOP.
 * - Darija in Latin letters (Arabizi: "tbe3 karim", "3awni") is a second
 *   table, compared by skeleton (fold_darija: 3/a, 7/h, 9/q, ch/sh/x, o/u,
 *   e dropped, doubled letters single), so each entry covers its usual
 *   spellings. Its keywords say "darija": a JOIN with one makes Darija
 *   the reply language. Darija in Arabic letters is in the main table as
 *   Arabic ("ar"): the replies come in the script the sender wrote.
 * - Loose keywords (KW_LOOSE) are ordinary words too ("اتبع قلبك", follow
 *   your heart; "tbe3 lmatch"; "jib lia"). Where a handle must follow, a
 *   word that cannot be a handle (no '@') makes the message a post, like
 *   ON/OFF below; and pigeon_apply makes a member's message a post when
 *   nobody has the handle (cmd->loose; not with an '@': "tbe3 @x").
 *   The Darija STOP words (baraka, 7bes, w9ef, and بركا, وقف, كفى...) are
 *   weak STOP words (below): "safi" ("OK") is a filler, never a STOP.
 * - A missing required argument is CMDERR_MISSING_ARG; an invalid handle
 *   where one is required is CMDERR_BAD_HANDLE (the handle may carry '@' or
 *   '＠' and trailing punctuation: "D alice: hi").
 * - ON/OFF take an optional handle. As "on" is an ordinary word (French
 *   "On verra"), "ON word" with a word that cannot be a handle is a post,
 *   unless it carries an '@' ("OFF @bad-name" is a bad handle). cmd->at
 *   tells pigeon_apply the handle had an '@': "OFF @bobb" where nobody is
 *   called bobb is answered so, never published as a post.
 * - SLEEP takes two hours ("23 7", "23h 7h", "23-7", "23:00 07:00",
 *   "11pm 7am", "de 23h à 7h", Arabic-Indic digits) or OFF. Equal hours are
 *   bad; more than six words are SLEEP's hours when each of up to
 *   SLEEP_HOURS_MAX is an hour, a joiner or a half of the day (sleep_long).
 *   Arguments that do not parse are CMDERR_BAD_HOURS when they hold a
 *   digit in at most SLEEP_WORDS words, otherwise the message is a post
 *   ("Sleep tight, everyone").
 * - TRACK and UNTRACK take one word (a word, #hashtag or @mention, folded
 *   and checked in SQL: db/functions/36_track.sql); TRACKS takes none.
 *   TRACK also takes DIGEST (RÉSUMÉ, ملخص) before or after the word, and
 *   then an optional hour ("TRACK couscous DIGEST 18h"): the word's posts
 *   come once a day (37_digest.sql). An hour that does not parse is
 *   CMDERR_BAD_HOURS when it holds a digit, else the message is a post.
 *   SEARCH takes one to SEARCH_WORDS words; more make the message a post.
 * - Where one handle is taken, a list of handles ("FOLLOW @karim @nadia",
 *   "FOLLOW karim, nadia": each with '@', or commas between) is
 *   CMDERR_HANDLES, the command's usage: never a post (handle_list).
 * - JOIN's keyword with more than a name ("JOIN karim ali", "Join us at
 *   the festival tonight!") is a post with cmd->join_words and the
 *   keyword's language: a member's is published, a stranger gets JOIN's
 *   usage in that language (pigeon_apply).
 * - Invalid UTF-8 never matches anything: such a message is a post.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fold.h"
#include "keywords.h"
#include "parse.h"
#include "parse_words.h"

#define WORDS_MAX	7	/* words looked at: a keyword and six arguments */
#define SLEEP_WORDS	5	/* "SLEEP de 23h à 7h" and a spare */
#define SLEEP_HOURS_MAX	10	/* "نوم من الساعة ١١ ليلا الى الساعة ٧ صباحا" */
#define SEARCH_WORDS	3	/* more words make a post: "Search party tonight, who's in?" */
#define DIGEST_HOUR_WORDS 4	/* "تتبع w ملخص على الساعة ٨ مساء" */
#define PHRASE_WORDS	3	/* the longest filler: "s'il vous plaît" */

/* In enum cmd_type's order: pigeon_apply dispatches on these names. */
static const char *const command_names[] = {
	"post", "join", "follow", "leave", "on", "off", "stop", "start", "help",
	"dm", "get", "whois", "stats", "name", "bio", "lang", "sleep", "delete",
	"track", "untrack", "tracks", "search"
};
_Static_assert(sizeof(command_names) / sizeof(command_names[0]) == CMD_SEARCH + 1,
    "one name per command type");

/* The STOP language if the message [s, e) is a STOP (see the top), else
 * NULL. Each word is looked at in its runs between punctuation, symbols
 * and emoji: "STOP,please" or "STOP" and an emoji without a space was a
 * post, published to every follower. */
static const char *
stop_lang(const char *s, const char *e, const struct keyword *first)
{
	const struct keyword *kw;
	const char *lang = NULL, *p;
	struct span w, r;

	if (first != NULL && first->type == CMD_STOP &&
	    (first->flags & KW_STRONG))
		return first->lang;
	/* The same first word glued to punctuation, a symbol or an emoji
	 * ("STOP😡 stop sending me this", "<STOP> leave me alone") is a STOP
	 * whatever follows, as it is alone: with more words after it, it was
	 * a post. Not when a hyphen or an apostrophe joins it to more letters
	 * ("stop-motion films", "stop's"). */
	p = s;
	if (first == NULL && word_next(&p, e, &w)) {
		const char *q = w.s;
		if (span_next(&q, w.e, &r, stop_separator) &&
		    (kw = keyword_of(&r)) != NULL && kw->type == CMD_STOP &&
		    (kw->flags & KW_STRONG) && r.e < w.e && !joiner_at(r.e, w.e))
			return kw->lang;
	}
	while (word_next(&s, e, &w)) {
		struct span ahead[PHRASE_WORDS];
		size_t na, k;

		kw = keyword_of(&w);
		if (kw != NULL && kw->type == CMD_STOP) {
			if (lang == NULL)
				lang = kw->lang;
			continue;
		}
		/* "s'il vous plaît": a filler of three words */
		ahead[0] = w;
		for (p = s, na = 1; na < PHRASE_WORDS && word_next(&p, e, &ahead[na]); na++)
			;
		if ((k = filler_words(ahead, na)) > 0) {
			s = ahead[k - 1].e;
			continue;
		}
		if (punct_only(&w))
			continue;
		for (p = w.s; span_next(&p, w.e, &r, stop_separator); ) {
			kw = keyword_of(&r);
			if (kw != NULL && kw->type == CMD_STOP) {
				if (lang == NULL)
					lang = kw->lang;
			} else if (!word_in(&r, stop_fillers) &&
			    !word_in(&r, stop_links) &&
			    !word_in_darija(&r, darija_fillers))
				return NULL;
		}
	}
	return lang;
}

/* Whether c glues a keyword to what follows in the first word: "D,fay9",
 * "D:fay9", "D.alice", "FOLLOW,karim", "تابع،karim", "D- alice", "D—alice".
 * *dash tells a hyphen or dash (which also joins compound words). */
static int
glue_char(uint32_t c, int *dash)
{
	*dash = c == '-' || (c >= 0x2010 && c <= 0x2015) || c == 0x2212 ||
	    c == 0xfe58 || c == 0xfe63 || c == 0xff0d;
	return *dash || c == ',' || c == '.' || c == ':' || c == ';' ||
	    c == 0x60c || c == 0x61b || c == 0xff0c || c == 0xff0e ||
	    c == 0xff1a || c == 0xff1b;
}

/* The commands whose first argument is a handle. */
static int
takes_handle(enum cmd_type t)
{
	return t == CMD_JOIN || t == CMD_FOLLOW || t == CMD_LEAVE ||
	    t == CMD_ON || t == CMD_OFF || t == CMD_DM || t == CMD_GET ||
	    t == CMD_WHOIS;
}

/*
 * The keyword that starts the first word w when punctuation glues it to
 * its argument ("D,fay9 my PIN is 4321", "DM:alice", "D- alice hi",
 * "FOLLOW,karim"): these were posts, published to every follower. The
 * piece before the first , . : ; or dash is the keyword (not STOP: the
 * STOP rule reads glued words itself), *piece its span and *rest where
 * the argument glued to it starts. A hyphen or dash with letters after
 * it also makes compound words ("Start-up", "Bio-produits", "Search-and-
 * rescue"): there only a command that takes a handle splits, and *loose
 * is set for those but D, so that a handle nobody has ("Follow-up") is a
 * post as for a loose keyword. An abbreviation ("L.A.", "F.Y.I.") is no
 * keyword and its argument. Returns NULL when there is no such keyword.
 */
static const struct keyword *
glued_keyword(const struct span *word, struct span *piece, const char **rest,
    int *loose)
{
	const struct span whole = *word, *w = &whole;
	const struct keyword *kw;
	const char *p, *q;
	uint32_t c;
	size_t n;
	int dash, any_dash = 0;

	for (p = w->s; p < w->e; p += n) {
		n = fold_char_at(p, w->e, &c);
		if (c == BAD_CHAR)
			return NULL;
		if (glue_char(c, &dash))
			break;
	}
	if (p == w->s || p >= w->e)
		return NULL;
	piece->s = w->s;
	piece->e = p;
	for (q = p; q < w->e; q += n) {
		n = fold_char_at(q, w->e, &c);
		if (!glue_char(c, &dash))
			break;
		any_dash |= dash;
	}
	if ((kw = keyword_of(piece)) == NULL || kw->type == CMD_STOP)
		return NULL;
	if (*p == '.' && q - p == 1 && w->e[-1] == '.') {
		/* An abbreviation ("L.A.", "D.C.", "F.Y.I."), not "D.alice". */
		const char *t = w->e;
		while (t > q && in_set(t[-1], ".,;:!?"))
			t--;
		if (t - q <= 1 || memchr(q, '.', (size_t)(t - q)) != NULL)
			return NULL;
	}
	*loose = 0;
	if (any_dash && q < w->e) {
		if (!takes_handle(kw->type))
			return NULL;
		*loose = kw->type != CMD_DM;
	}
	*rest = q;
	return kw;
}

/*
 * Whether the n words at w (two or more) are a list of handles: each
 * with its '@' ("FOLLOW @karim @nadia", "suivre @karim et @nadia"), or
 * separated by commas ("FOLLOW karim, nadia"; not after a loose keyword
 * nor ON and OFF, which pass loose,
 * and no filler: "Follow me, everyone" is a post). An '@' elsewhere is
 * proof a handle was meant ("OFF @bobb"): these were posts, published to
 * every follower. A command takes one handle: they get its usage (fillers
 * after them do not count). A list without every '@' leaves its handles in cmd->list: a member's
 * list of words nobody is called ("Follow us, friends") is a post
 * (pigeon_apply).
 */
static int
handle_list(const struct span *w, size_t n, int loose, struct command *cmd)
{
	char h[WORDS_LIST][FOLD_MAX];
	size_t i, handles = 0;
	int at, all_at = 1, commas = !loose;

	if (n < 2 || n > WORDS_LIST)
		return 0;
	/* Fillers after the list do not count ("FOLLOW @karim @nadia svp"),
	 * as after one handle; none can be one of the handles. */
	for (i = 2; i < n; i++)
		if (fillers_only(w + i, n - i)) {
			n = i;
			break;
		}
	for (i = 0; i < n; i++) {
		if (i > 0 && i < n - 1 && word_in(&w[i], list_joiners))
			continue;
		if (!handle_parse(&w[i], h[handles], &at) ||
		    handle_filler(h[handles], strlen(h[handles])))
			return 0;
		handles++;
		all_at &= at;
		if (i < n - 1 && w[i].e[-1] != ',' &&
		    !(w[i].e - w[i].s >= 2 && memcmp(w[i].e - 2, "\xd8\x8c", 2) == 0))
			commas = 0;	/* ، the Arabic comma */
	}
	if (handles < 2 || !(all_at || commas))
		return 0;
	if (!all_at)
		for (cmd->nlist = 0; (size_t)cmd->nlist < handles; cmd->nlist++)
			snprintf(cmd->list[cmd->nlist], sizeof(cmd->list[0]), "%s",
			    h[cmd->nlist]);
	return 1;
}

static void
command_reset(struct command *cmd)
{
	memset(cmd, 0, sizeof(*cmd));
	cmd->type = CMD_POST;
	cmd->error = CMDERR_NONE;
	cmd->sleep_from = cmd->sleep_to = -1;
	cmd->digest_hour = -1;
}

/*
 * SLEEP's hours in more words than command_parse looks at: "نوم من الساعة
 * ١١ ليلا الى الساعة ٧ صباحا" (from the hour 11 at night to the hour 7 in
 * the morning) was a post to every follower. Up to SLEEP_HOURS_MAX words
 * from p to e, each an hour, a joiner or a half of the day (hours_parse
 * takes nothing else). 0 and the hours set, or -1.
 */
static int
sleep_long(const char *p, const char *e, struct command *cmd)
{
	struct span a[SLEEP_HOURS_MAX + 1];
	size_t n;

	for (n = 0; n <= SLEEP_HOURS_MAX && word_next(&p, e, &a[n]); n++)
		;
	if (n > SLEEP_HOURS_MAX)
		return -1;
	return hours_parse(a, n, &cmd->sleep_from, &cmd->sleep_to);
}

void
command_parse(const char *text, size_t len, struct command *cmd)
{
	const struct keyword *kw;
	struct span w[WORDS_MAX], extra;
	const char *s, *e, *p, *stop, *pe, *se;
	size_t nw = 0, nargs, nargs_text, n;
	int many, at = 0, glued_loose = 0, join_words = 0;
	uint32_t c;

	command_reset(cmd);
	if (text == NULL)
		len = 0;

	/* Trim: the first and the end of the last non-space character. */
	s = e = NULL;
	for (p = text; p < text + len; p += n) {
		n = fold_char_at(p, text + len, &c);
		if (fold_is_space(c))
			continue;
		if (s == NULL)
			s = p;
		e = p + n;
	}
	if (s == NULL) {
		cmd->error = CMDERR_EMPTY;
		cmd->text = "";
		return;
	}
	cmd->text = s;
	cmd->textlen = (size_t)(e - s);

	/* Trailing words of punctuation ("Aide !", "suivre @alice !") or
	 * of symbols and emoji ("FOLLOW karim :-)", "HELP 🙏") are not
	 * arguments. The text of DM, NAME and BIO keeps them ("D amina 🙏");
	 * a post is the whole message. */
	p = s;
	(void)word_next(&p, e, &w[0]);	/* there is one: s is not a space */
	kw = keyword_of(&w[0]);
	if (kw == NULL || kw->type == CMD_STOP) {
		if ((stop = stop_lang(s, e, kw)) != NULL) {
			command_reset(cmd);
			cmd->type = CMD_STOP;
			cmd->keyword_lang = stop;
			return;
		}
		/* "D,fay9 my PIN is 4321": the keyword glued to its argument. */
		if (kw == NULL && (kw = glued_keyword(&w[0], &w[0], &p,
		    &glued_loose)) == NULL)
			return;
	}
	pe = shape_end(s, e, punct_only);
	se = shape_end(s, pe, symbol_only);
	for (nw = 1; nw < WORDS_MAX && word_next(&p, pe, &w[nw]); nw++)
		;
	for (nargs_text = nw - 1; nw > 1 && w[nw - 1].e > se; nw--)
		;
	/* Arguments that were all symbols (words dropped above). */
	int only_symbols = nw == 1 && nargs_text > 0;
	p = w[nw - 1].e;
	many = nw == WORDS_MAX && word_next(&p, se, &extra);
	nargs = nw - 1;

	/* A word that is also a keyword followed by symbols alone stays a
	 * post: "On 🎉", "Off 😴" (ON and OFF take an argument that may be a
	 * word), "jib 🍕", "اتبع ❤️" (loose keywords: ordinary words too).
	 * Dropped, they made OFF turn every update off and a usage reply eat
	 * the post. */
	if (only_symbols && ((kw->flags & KW_LOOSE) || kw->type == CMD_ON ||
	    kw->type == CMD_OFF))
		return;
	cmd->type = kw->type;
	cmd->keyword_lang = kw->lang;
	cmd->loose = (kw->flags & KW_LOOSE) != 0 || glued_loose;
	cmd->text = NULL;
	cmd->textlen = 0;
	switch (kw->type) {
	case CMD_STOP:
	case CMD_START:
	case CMD_HELP:
	case CMD_STATS:
	case CMD_TRACKS:
		/* Fillers do not count ("help please", "Aide svp", "3awni
		 * 3afak", "مساعدة من فضلك", "help me"): they were posts,
		 * published to every follower, and the member got no help. */
		if (nargs != 0 && (many || !fillers_only(w + 1, nargs)))
			goto post;
		break;
	case CMD_DELETE:
		/* "supprimer svp", "احذف من فضلك": the latest post goes, as
		 * asked. Other fillers ask for more than it does ("supprimer
		 * tous les messages", the English "all" or "me"): its usage
		 * says what it does, where they were published to every
		 * follower. */
		if (nargs == 0)
			break;
		if (many || !fillers_only(w + 1, nargs))
			goto post;
		if (!polite_only(w + 1, nargs))
			cmd->error = CMDERR_EXTRA;
		break;
	case CMD_ON:
	case CMD_OFF:
		/* A politeness filler is no handle ("OFF svp", "OFF now"), and
		 * after the handle it does not count ("OFF @fay9 svp"): they
		 * were posts (a word nobody is called). */
		if (!many && fillers_only(w + 1, nargs))
			nargs = 0;
		else if (!many && nargs > 1 && fillers_only(w + 2, nargs - 1))
			nargs = 1;
		if (nargs == 0)
			break;
		/* "OFF @karim @nadia": the usage, where it was published to
		 * every follower; not with commas ("Off work, finally"). */
		if (!many && handle_list(w + 1, nargs, 1, cmd)) {
			cmd->error = CMDERR_HANDLES;
			break;
		}
		if (nargs > 1)
			goto post;
		if (!handle_parse(&w[1], cmd->handle, &at)) {
			if (!at)
				goto post;
			cmd->error = CMDERR_BAD_HANDLE;
		}
		cmd->at = at;	/* "OFF @bobb": nobody is called so, not a post */
		break;
	case CMD_JOIN:
	case CMD_FOLLOW:
	case CMD_LEAVE:
	case CMD_GET:
	case CMD_WHOIS:
		/* Fillers after the handle do not count ("FOLLOW karim svp",
		 * "تابع karim من فضلك", "tbe3 @karim 3afak"; they were posts),
		 * but after a loose keyword's word without '@': "jib lia daba"
		 * is still a post. */
		if (!many && nargs > 1 && fillers_only(w + 2, nargs - 1) &&
		    (!cmd->loose || (handle_parse(&w[1], cmd->handle, &at), at)))
			nargs = 1;
		if (nargs == 0)
			cmd->error = CMDERR_MISSING_ARG;
		else if (!many && handle_list(w + 1, nargs, cmd->loose, cmd))
			cmd->error = CMDERR_HANDLES;	/* the usage */
		else if (nargs > 1) {
			join_words = kw->type == CMD_JOIN;
			goto post;
		} else if (!handle_parse(&w[1], cmd->handle, &at)) {
			if (cmd->loose && !at)
				goto post;	/* "اتبع قلبك", "tbe3 l'match" */
			cmd->error = CMDERR_BAD_HANDLE;
		} else if (at)
			cmd->loose = 0;	/* "tbe3 @lmatch" means a handle */
		cmd->at = at;
		break;
	case CMD_DM:
		if (nargs_text == 0)
			cmd->error = CMDERR_MISSING_ARG;
		else if (!handle_parse(&w[1], cmd->handle, &cmd->at))
			cmd->error = CMDERR_BAD_HANDLE;
		else if (nargs_text == 1)
			cmd->error = CMDERR_MISSING_ARG;
		else {
			cmd->text = w[2].s;
			cmd->textlen = (size_t)(e - w[2].s);
		}
		break;
	case CMD_TRACK:
	case CMD_UNTRACK:
		/* TRACK word DIGEST [hour] or TRACK DIGEST word [hour]: the
		 * word once a day. "TRACK digest" alone tracks the word. */
		if (kw->type == CMD_TRACK && nargs >= 2 && !many &&
		    (word_in(&w[2], digest_words) || word_in(&w[1], digest_words))) {
			p = word_in(&w[2], digest_words) ? w[1].s : w[2].s;
			cmd->text = p;
			cmd->textlen = (size_t)(p == w[1].s ? w[1].e - p : w[2].e - p);
			cmd->digest = 1;
			if (nargs == 2)
				break;
			/* An hour and its half of the day, with joiners if
			 * one likes ("على الساعة ٨ مساء" was a post): more
			 * words are a sentence ("at 6 pm please"). */
			if (nargs > 2 + DIGEST_HOUR_WORDS ||
			    digest_hour_words(w + 3, nargs - 2) > 2)
				goto post;
			if ((cmd->digest_hour = digest_hour_parse(w + 3, nargs - 2)) >= 0)
				break;
			if (!args_have_digit(w + 3, nargs - 2))
				goto post;	/* "track news digest please" */
			cmd->error = CMDERR_BAD_HOURS;
			cmd->text = NULL;
			cmd->textlen = 0;
			cmd->digest = 0;
			break;
		}
		/* One word, tag and all: "TRACK #couscous"; checked in SQL. */
		if (nargs == 0)
			cmd->error = CMDERR_MISSING_ARG;
		else if (nargs > 1)
			goto post;
		else {
			cmd->text = w[1].s;
			cmd->textlen = (size_t)(w[1].e - w[1].s);
		}
		break;
	case CMD_SEARCH:
		if (nargs == 0)
			cmd->error = CMDERR_MISSING_ARG;
		else if (many || nargs > SEARCH_WORDS)
			goto post;
		else {
			cmd->text = w[1].s;
			cmd->textlen = (size_t)(e - w[1].s);
		}
		break;
	case CMD_NAME:
	case CMD_BIO:
		if (nargs_text == 0)
			cmd->error = CMDERR_MISSING_ARG;
		else {
			cmd->text = w[1].s;
			cmd->textlen = (size_t)(e - w[1].s);
		}
		break;
	case CMD_LANG:
		if (nargs == 0)
			cmd->error = CMDERR_MISSING_ARG;
		else if (nargs > 1)
			goto post;
		else if ((p = lang_parse(&w[1])) != NULL)
			memcpy(cmd->lang, p, strlen(p) + 1);
		else
			cmd->error = CMDERR_BAD_LANG;
		break;
	case CMD_SLEEP:
		if (nargs == 0)
			cmd->error = CMDERR_MISSING_ARG;
		else if (nargs == 1 && word_in(&w[1], sleep_off))
			break;		/* -1, -1 */
		else if (!many && hours_parse(w + 1, nargs, &cmd->sleep_from,
		    &cmd->sleep_to) == 0)
			break;
		else if (many && sleep_long(w[1].s, se, cmd) == 0)
			break;
		else if (!many && nargs <= SLEEP_WORDS &&
		    args_have_digit(w + 1, nargs))
			cmd->error = CMDERR_BAD_HOURS;
		else
			goto post;
		break;
	case CMD_POST:
		break;
	}
	return;

post:
	command_reset(cmd);
	cmd->text = s;
	cmd->textlen = (size_t)(e - s);
	/* "JOIN karim ali", "INSCRIPTION Karim Benali" from a stranger got
	 * the join hint, which tells them to do what they did (and once a
	 * day: retries got nothing). A member's "Join us tonight!" is a
	 * post: the parser does not know which, pigeon_apply does. */
	if (join_words) {
		cmd->join_words = 1;
		cmd->keyword_lang = kw->lang;
	}
}

const char *
command_name(enum cmd_type type)
{
	if ((size_t)type < sizeof(command_names) / sizeof(command_names[0]))
		return command_names[type];
	return "unknown";
}

const char *
command_error_name(enum cmd_error error)
{
	static const char *const names[] = { "none", "missing_arg",
	    "bad_handle", "bad_lang", "bad_hours", "empty", "extra_words",
	    "handles" };

	if ((size_t)error < sizeof(names) / sizeof(names[0]))
		return names[error];
	return "unknown";
}

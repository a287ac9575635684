/* keywords.c: the parser's word lists, each ended by a NULL entry. */
#ifndef PIGEON_KEYWORDS_H
#define PIGEON_KEYWORDS_H

#include "parse.h"

#define KW_STRONG	0x1	/* a STOP word that wins as the first word */
#define KW_LOOSE	0x2	/* also an ordinary word: see "Loose keywords" */

struct keyword {
	const char	*word;	/* folded, as fold() leaves it */
	enum cmd_type	 type;
	const char	*lang;
	int		 flags;
};

extern const struct keyword keywords[];
extern const struct keyword darija[];
extern const char *const langnames[];
extern const char *const darija_langnames[];
extern const char *const stop_fillers[];
extern const char *const stop_links[];
extern const char *const list_joiners[];
extern const char *const polite_fillers[];
extern const char *const polite_darija[];
extern const char *const stop_filler_phrases[];
extern const char *const darija_fillers[];
extern const char *const sleep_off[];
extern const char *const sleep_joiners[];
extern const char *const digest_words[];
extern const char *const digest_joiners[];

#endif

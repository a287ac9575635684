/* fold.c: UTF-8 decoding and word folding for the shortcode parser. */
#ifndef PIGEON_FOLD_H
#define PIGEON_FOLD_H

#include <stddef.h>
#include <stdint.h>

#define BAD_CHAR	0xffffffffu

enum fold_mode {
	FOLD_PUNCT,	/* punctuation and width only: for handles */
	FOLD_WORD	/* also case, accents and Arabic: for keywords */
};

/* Decodes the character at s (s < e). Returns its length; *cp is BAD_CHAR
 * (length 1) when the bytes are not UTF-8, overlong and surrogates included. */
size_t fold_char_at(const char *s, const char *e, uint32_t *cp);
/* White space and the invisible marks that separate words. */
int fold_is_space(uint32_t c);
/* Marks a fold drops inside a word, as the search's does: combining
 * accents, tatweel, harakat, superscript alef, Quranic marks, ZWNJ, ZWJ. */
int fold_is_ignorable(uint32_t c);
/* Folds [s, e) into out (NUL-terminated). Returns the length, or -1 for
 * invalid UTF-8 or a word that does not fit: such a word matches nothing. */
int fold_text(const char *s, const char *e, enum fold_mode mode, char *out,
    size_t outsz);
/* The Arabizi skeleton of a word fold_text(FOLD_WORD) left (s, n bytes) into
 * out: "tba3", "tbe3" and "tb3" are "tba". Returns its length, or -1 when
 * the word is not made of a-z and 0-9 with a letter, or does not fit. */
int fold_darija(const char *s, size_t n, char *out, size_t outsz);

#endif

/*
 * libFuzzer target: gsm_fit and gsm_cut_text (modem/gsmsend.c, included
 * with modem/gsm.c: they are static), which cut a fan-out or reply SMS to
 * its cap of parts with "… GET alice" (issue 14, item 13). Input: one
 * octet for the cap (1-3 parts), one for a cut offset, then the text
 * (made valid UTF-8 as the worker requires of a `send`). Checks what
 * gsm_send relies on: the result is valid UTF-8, starts with a prefix of
 * the text, ends with the tail, and fits the cap in the coding libgammu
 * picks.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../modem/gsm.c"
#include "../../modem/gsmsend.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MORE	"\xe2\x80\xa6 GET alice"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct gsm *g;
	char *text, *cut;
	size_t len, off;
	int max_parts;

	if (g == NULL) {
		log_init("fuzz_fit", 0, 0);
		g = gsm_new();
	}
	if (size < 2 || size > 2000)
		return 0;
	max_parts = 1 + data[0] % 3;
	if ((text = utf8_sanitize((const char *)data + 2, size - 2, &len)) == NULL)
		abort();
	/* The worker refuses NUL-cut and over-long texts before fitting. */
	len = strlen(text);
	if (utf8_count(text, len) > WORKER_MAX_PARTS * 160) {
		free(text);
		return 0;
	}

	/* gsm_cut_text: any offset between characters. */
	off = len ? data[1] % (len + 1) : 0;
	while (off > 0 && off < len && ((unsigned char)text[off] & 0xc0) == 0x80)
		off--;
	cut = gsm_cut_text(text, off, MORE);
	if (strncmp(cut, text, strlen(cut) - strlen(MORE)) != 0 ||
	    strcmp(cut + strlen(cut) - strlen(MORE), MORE) != 0 ||
	    strlen(cut) > off + strlen(MORE) || !utf8_valid(cut, strlen(cut)))
		abort();
	free(cut);

	cut = gsm_fit(g, text, max_parts, MORE);
	if (cut != NULL) {
		size_t cl = strlen(cut), k = 0;
		if (!utf8_valid(cut, cl))
			abort();
		while (k < cl && k < len && cut[k] == text[k])
			k++;
		/* What follows the prefix is a tail: "… GET alice", its
		 * GSM-7 form "... GET alice", or nothing. */
		if (strcmp(cut + k, MORE) != 0 && strcmp(cut + k, "... GET alice") != 0 &&
		    cut[k] != '\0' && strstr(MORE, cut + k) == NULL &&
		    strstr("... GET alice", cut + k) == NULL)
			abort();
		if (!gsm_fits(g, cut, max_parts))
			abort();
		free(cut);
	}
	free(text);
	return 0;
}

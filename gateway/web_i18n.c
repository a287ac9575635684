/*
 * web_i18n.c: the public pages in English, French and Arabic. The
 * language is the reader's choice (?lang=, kept in the pages' links),
 * else their browser's (Accept-Language), else the service's: a phone
 * browser in Arabic gets the Arabic page without a click.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/http.h>

#include "api.h"
#include "pigeond.h"
#include "web.h"

struct web_string {
	const char	*key;
	const char	*text[WEB_NLANG];	/* en, fr, ar */
};

static const struct web_string strings[] = {
	{ "directory", { "Directory", "Annuaire", "الدليل" } },
	{ "search", { "Search", "Recherche", "بحث" } },
	{ "search_button", { "Search", "Chercher", "ابحث" } },
	{ "search_label", { "Words to find", "Mots à chercher", "كلمات للبحث" } },
	{ "followers", { "followers", "abonnés", "متابِعون" } },
	{ "following", { "following", "abonnements", "يتابِع" } },
	{ "posts", { "posts", "messages", "منشورات" } },
	{ "member_since", { "Member since", "Membre depuis", "عضو منذ" } },
	{ "older", { "Older posts", "Messages plus anciens", "منشورات أقدم" } },
	{ "no_posts", { "No posts yet.", "Aucun message pour l'instant.",
	    "لا توجد منشورات بعد." } },
	{ "no_results", { "Nothing found.", "Aucun résultat.", "لا توجد نتائج." } },
	{ "no_words", { "Type one or more words to search for.",
	    "Tapez un ou plusieurs mots à chercher.",
	    "اكتب كلمة أو أكثر للبحث عنها." } },
	{ "results_for", { "Posts with", "Messages contenant", "منشورات تحتوي على" } },
	{ "colon", { ": ", " : ", ": " } },	/* French puts a space before */
	{ "tag_title", { "Posts tagged", "Messages avec le mot-clé", "منشورات الوسم" } },
	{ "no_user", { "There is no such member.", "Ce membre n'existe pas.",
	    "لا يوجد عضو بهذا الاسم." } },
	{ "bad_tag", { "That is not a hashtag.", "Ce n'est pas un mot-clé.",
	    "هذا ليس وسمًا." } },
	{ "top", { "The 100 most-followed members", "Les 100 membres les plus suivis",
	    "الأعضاء المئة الأكثر متابعة" } },
	{ "nobody", { "No members yet.", "Aucun membre pour l'instant.",
	    "لا يوجد أعضاء بعد." } },
	{ "member", { "Member", "Membre", "العضو" } },
	{ "feed", { "Atom feed", "Flux Atom", "موجز Atom" } },
	{ "follow_sms", { "Follow by SMS: send", "Suivre par SMS : envoyez",
	    "للمتابعة عبر SMS أرسل" } },
	{ "follow_word", { "FOLLOW", "SUIVRE", "تابع" } },
	{ "to", { "to", "au", "إلى" } },
	{ "error", { "The page cannot be shown right now. Try again later.",
	    "La page ne peut pas être affichée pour l'instant. Réessayez plus tard.",
	    "تعذر عرض الصفحة الآن. حاول لاحقًا." } },
	{ "bad_request", { "This address is not valid.", "Cette adresse n'est pas valide.",
	    "هذا العنوان غير صالح." } },
	{ "tagline", { "Posts sent by SMS", "Les messages envoyés par SMS",
	    "منشورات مرسلة عبر SMS" } },
};

static const char *const codes[WEB_NLANG] = { "en", "fr", "ar" };
static const char *const names[WEB_NLANG] = { "English", "Français", "العربية" };

const char *
web_lang_code(enum web_lang l)
{
	return codes[l];
}

const char *
web_lang_dir(enum web_lang l)
{
	return l == WEB_AR ? "rtl" : "ltr";
}

const char *
web_lang_name(enum web_lang l)
{
	return names[l];
}

const char *
web_text(enum web_lang l, const char *key)
{
	for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
		if (strcmp(strings[i].key, key) == 0)
			return strings[i].text[l];
	return key;
}

/* The language whose code starts tag ("fr", "fr-MA", "AR_ma"), or -1. */
static int
lang_of(const char *tag, size_t n)
{
	for (int l = 0; l < WEB_NLANG; l++)
		if (n >= 2 && strncasecmp(tag, codes[l], 2) == 0 &&
		    (n == 2 || tag[2] == '-' || tag[2] == '_'))
			return l;
	return -1;
}

/* The best of "fr-MA,fr;q=0.9,ar;q=0.8" among ours (q=0 means no), or -1. */
static int
accept_language(const char *h)
{
	int best = -1;
	double best_q = 0;

	while (h && *h) {
		const char *end = strchr(h, ',');
		size_t n = end ? (size_t)(end - h) : strlen(h);
		const char *semi = memchr(h, ';', n);
		size_t tn = semi ? (size_t)(semi - h) : n;
		double q = 1;

		while (tn > 0 && (*h == ' ' || *h == '\t'))
			h++, tn--, n--;
		while (tn > 0 && (h[tn - 1] == ' ' || h[tn - 1] == '\t'))
			tn--;
		if (semi) {
			const char *qs = strstr(semi, "q=");
			if (qs && qs < h + n)
				q = strtod(qs + 2, NULL);
		}
		int l = lang_of(h, tn);
		if (l >= 0 && q > best_q) {
			best = l;
			best_q = q;
		}
		h = end ? end + 1 : NULL;
	}
	return best;
}

enum web_lang
web_lang_pick(struct api_req *r)
{
	const char *p = api_param(r, "lang");
	int l;

	if (p && (l = lang_of(p, strlen(p))) >= 0 && strlen(p) == 2)
		return (enum web_lang)l;
	if (r->req && (l = accept_language(evhttp_find_header(
	    evhttp_request_get_input_headers(r->req), "Accept-Language"))) >= 0)
		return (enum web_lang)l;
	if ((l = lang_of(env.conf.language ? env.conf.language : "", 2)) >= 0)
		return (enum web_lang)l;
	return WEB_FR;
}

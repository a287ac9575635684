/*
 * keywords.c: the word lists of the shortcode language (parse.c reads
 * them): keywords in English, French, Arabic and Darija, LANG names, the
 * words that may surround a STOP, and those of SLEEP. docs/commands.md
 * says why each keyword is there, and which were left out.
 */
#include <stddef.h>

#include "keywords.h"

/* The word lists below are written folded, as fold() leaves a word: no
 * capitals or accents, ا for أ إ آ, ه for ة, ي for ى. The tests spell every
 * one naturally, so an entry that is not folded fails there. */
const struct keyword keywords[] = {
	{ "join", CMD_JOIN, "en", 0 }, { "signup", CMD_JOIN, "en", 0 },
	{ "inscription", CMD_JOIN, "fr", 0 }, { "تسجيل", CMD_JOIN, "ar", 0 },
	/* join, subscribe, register; Darija tsejjel, sejjelni */
	{ "انضم", CMD_JOIN, "ar", KW_LOOSE }, { "اشترك", CMD_JOIN, "ar", KW_LOOSE },
	{ "سجل", CMD_JOIN, "ar", KW_LOOSE }, { "تسجل", CMD_JOIN, "ar", KW_LOOSE },
	{ "سجلني", CMD_JOIN, "ar", KW_LOOSE },
	{ "follow", CMD_FOLLOW, "en", 0 }, { "f", CMD_FOLLOW, "en", 0 },
	{ "suivre", CMD_FOLLOW, "fr", 0 }, { "تابع", CMD_FOLLOW, "ar", 0 },
	/* follow (imperative), following; Darija tbe3 */
	{ "اتبع", CMD_FOLLOW, "ar", KW_LOOSE },
	{ "متابعه", CMD_FOLLOW, "ar", KW_LOOSE },
	{ "تبع", CMD_FOLLOW, "ar", KW_LOOSE },
	{ "leave", CMD_LEAVE, "en", 0 }, { "unfollow", CMD_LEAVE, "en", 0 },
	{ "l", CMD_LEAVE, "en", 0 }, { "quitter", CMD_LEAVE, "fr", 0 },
	{ "اترك", CMD_LEAVE, "ar", 0 },
	{ "حيد", CMD_LEAVE, "ar", KW_LOOSE },		/* Darija 7iyed, remove */
	{ "on", CMD_ON, "en", 0 }, { "activer", CMD_ON, "fr", 0 },
	{ "تفعيل", CMD_ON, "ar", 0 },
	{ "off", CMD_OFF, "en", 0 }, { "desactiver", CMD_OFF, "fr", 0 },
	{ "تعطيل", CMD_OFF, "ar", 0 },
	{ "stop", CMD_STOP, "en", KW_STRONG },
	{ "stopall", CMD_STOP, "en", KW_STRONG },
	{ "unsubscribe", CMD_STOP, "en", KW_STRONG },
	{ "quit", CMD_STOP, "en", 0 }, { "end", CMD_STOP, "en", 0 },
	{ "cancel", CMD_STOP, "en", 0 }, { "arret", CMD_STOP, "fr", KW_STRONG },
	/* French and Arabic opt-outs people write beside the listed ones
	 * (stop, unsubscribe, stop it; Arabic stop, plural): ordinary words,
	 * so alone or with fillers only ("Arrêtez les SMS" was published to
	 * every follower, and the phone stayed subscribed). */
	{ "arreter", CMD_STOP, "fr", 0 }, { "arretez", CMD_STOP, "fr", 0 },
	{ "arrete", CMD_STOP, "fr", 0 }, { "desinscription", CMD_STOP, "fr", 0 },
	{ "desinscrire", CMD_STOP, "fr", 0 }, { "desabonner", CMD_STOP, "fr", 0 },
	{ "desabonnement", CMD_STOP, "fr", 0 }, { "stopper", CMD_STOP, "fr", 0 },
	/* unsubscribe me, unregister me ("Désabonnez-moi", "se désinscrire"
	 * went out as posts) */
	{ "desabonnez", CMD_STOP, "fr", 0 }, { "desinscrivez", CMD_STOP, "fr", 0 },
	{ "desabonne", CMD_STOP, "fr", 0 }, { "desinscris", CMD_STOP, "fr", 0 },
	{ "اوقفوا", CMD_STOP, "ar", 0 },
	/* توقف and its plural (also written توقفو) win alike: "توقفوا عن
	 * الارسال" was a post while "توقف عن الارسال" was a STOP. */
	{ "توقف", CMD_STOP, "ar", KW_STRONG }, { "توقفوا", CMD_STOP, "ar", KW_STRONG },
	{ "توقفو", CMD_STOP, "ar", KW_STRONG }, { "الغاء", CMD_STOP, "ar", 0 },
	{ "ايقاف", CMD_STOP, "ar", 0 },
	/* STOP in Arabic letters wins like STOP; stop, stop it, halt,
	 * enough; Darija wa9ef, baraka, 7bes: ordinary words, so STOP alone
	 * or with fillers only. */
	{ "ستوب", CMD_STOP, "ar", KW_STRONG },
	{ "وقف", CMD_STOP, "ar", 0 }, { "اوقف", CMD_STOP, "ar", 0 },
	/* its colloquial plural, stop (you all): "وقفو الرسائل" was a post */
	{ "وقفو", CMD_STOP, "ar", 0 }, { "وقفوا", CMD_STOP, "ar", 0 },
	{ "قف", CMD_STOP, "ar", 0 }, { "كفي", CMD_STOP, "ar", 0 },
	{ "كفايه", CMD_STOP, "ar", 0 },	/* enough, as كفى: كفاية, كفايه */
	{ "بركا", CMD_STOP, "ar", 0 }, { "باركا", CMD_STOP, "ar", 0 },
	{ "حبس", CMD_STOP, "ar", 0 },
	{ "start", CMD_START, "en", 0 }, { "reprendre", CMD_START, "fr", 0 },
	{ "ابدا", CMD_START, "ar", 0 },
	{ "رجع", CMD_START, "ar", 0 },		/* Darija rje3, come back */
	{ "help", CMD_HELP, "en", 0 }, { "info", CMD_HELP, "en", 0 },
	{ "?", CMD_HELP, "en", 0 }, { "aide", CMD_HELP, "fr", 0 },
	{ "مساعده", CMD_HELP, "ar", 0 },
	/* help me; Darija 3awni */
	{ "ساعدني", CMD_HELP, "ar", 0 }, { "عاوني", CMD_HELP, "ar", 0 },
	{ "d", CMD_DM, "en", 0 }, { "dm", CMD_DM, "en", 0 },
	{ "mp", CMD_DM, "fr", 0 }, { "راسل", CMD_DM, "ar", 0 },
	{ "get", CMD_GET, "en", 0 }, { "voir", CMD_GET, "fr", 0 },
	{ "اعرض", CMD_GET, "ar", 0 },
	{ "جيب", CMD_GET, "ar", KW_LOOSE },		/* Darija jib, bring */
	{ "whois", CMD_WHOIS, "en", 0 }, { "profil", CMD_WHOIS, "fr", 0 },
	{ "ملف", CMD_WHOIS, "ar", 0 },
	{ "stats", CMD_STATS, "en", 0 }, { "statistiques", CMD_STATS, "fr", 0 },
	{ "احصائيات", CMD_STATS, "ar", 0 },
	{ "name", CMD_NAME, "en", 0 }, { "nom", CMD_NAME, "fr", 0 },
	{ "اسم", CMD_NAME, "ar", 0 },
	{ "bio", CMD_BIO, "en", 0 }, { "نبذه", CMD_BIO, "ar", 0 },
	{ "lang", CMD_LANG, "en", 0 }, { "language", CMD_LANG, "en", 0 },
	{ "langue", CMD_LANG, "fr", 0 }, { "لغه", CMD_LANG, "ar", 0 },
	{ "sleep", CMD_SLEEP, "en", 0 }, { "sommeil", CMD_SLEEP, "fr", 0 },
	{ "نوم", CMD_SLEEP, "ar", 0 },
	{ "delete", CMD_DELETE, "en", 0 }, { "supprimer", CMD_DELETE, "fr", 0 },
	{ "احذف", CMD_DELETE, "ar", 0 }, { "حذف", CMD_DELETE, "ar", 0 },
	/* French SUIVRE is FOLLOW: tracking a word is SURVEILLER. */
	{ "track", CMD_TRACK, "en", 0 }, { "surveiller", CMD_TRACK, "fr", 0 },
	{ "تتبع", CMD_TRACK, "ar", 0 },
	{ "untrack", CMD_UNTRACK, "en", 0 }, { "retirer", CMD_UNTRACK, "fr", 0 },
	{ "ازل", CMD_UNTRACK, "ar", 0 },
	{ "tracks", CMD_TRACKS, "en", 0 }, { "surveillances", CMD_TRACKS, "fr", 0 },
	{ "كلماتي", CMD_TRACKS, "ar", 0 },
	{ "search", CMD_SEARCH, "en", 0 }, { "chercher", CMD_SEARCH, "fr", 0 },
	{ "rechercher", CMD_SEARCH, "fr", 0 }, { "ابحث", CMD_SEARCH, "ar", 0 },
	{ "بحث", CMD_SEARCH, "ar", 0 },
	{ NULL, CMD_POST, NULL, 0 }
};

/*
 * Darija in Latin letters (Arabizi), compared by their fold_darija
 * skeletons, so one entry stands for its spellings: "tbe3" is also tba3,
 * tb3, tebbe3, TBE3; "3awni" is also 3awenni, awni. Written here the way
 * Moroccans text them; docs/commands.md says why each was chosen and
 * which were left out. Their replies come from the darija catalog.
 */
#define DJ(w, t, f)	{ w, t, "darija", f }
const struct keyword darija[] = {
	/* register yourself, register, register me */
	DJ("tsejjel", CMD_JOIN, KW_LOOSE), DJ("tsajjal", CMD_JOIN, KW_LOOSE),
	DJ("tsajel", CMD_JOIN, KW_LOOSE), DJ("sejjel", CMD_JOIN, KW_LOOSE),
	DJ("sajjal", CMD_JOIN, KW_LOOSE), DJ("sajel", CMD_JOIN, KW_LOOSE),
	DJ("sejjelni", CMD_JOIN, KW_LOOSE), DJ("sajjalni", CMD_JOIN, KW_LOOSE),
	DJ("sajelni", CMD_JOIN, KW_LOOSE),
	/* follow; remove (unfollow) */
	DJ("tbe3", CMD_FOLLOW, KW_LOOSE), DJ("tabe3", CMD_FOLLOW, KW_LOOSE),
	DJ("tabi3", CMD_FOLLOW, KW_LOOSE),
	DJ("7iyed", CMD_LEAVE, KW_LOOSE), DJ("7ayed", CMD_LEAVE, KW_LOOSE),
	DJ("7yed", CMD_LEAVE, KW_LOOSE),
	/* enough, stop it, stop: alone or with fillers only */
	DJ("baraka", CMD_STOP, 0), DJ("barka", CMD_STOP, 0),
	DJ("7bes", CMD_STOP, 0), DJ("7abes", CMD_STOP, 0),
	DJ("w9ef", CMD_STOP, 0), DJ("wa9ef", CMD_STOP, 0),
	/* start, come back; help me; bring (GET) */
	DJ("bda", CMD_START, 0), DJ("rje3", CMD_START, 0),
	DJ("3awni", CMD_HELP, 0),
	DJ("jib", CMD_GET, KW_LOOSE),
	{ NULL, CMD_POST, NULL, 0 }
};

/* LANG arguments: pairs of a name and its code. */
const char *const langnames[] = {
	"en", "en", "eng", "en", "english", "en", "anglais", "en",
	"انجليزي", "en", "انجليزيه", "en", "انكليزي", "en", "انكليزيه", "en",
	"fr", "fr", "fra", "fr", "french", "fr", "francais", "fr",
	"فرنسي", "fr", "فرنسيه", "fr",
	"ar", "ar", "ara", "ar", "arabic", "ar", "arabe", "ar",
	"عربي", "ar", "عربيه", "ar",
	"darija", "darija", "دارجه", "darija", "مغربي", "darija",
	"مغربيه", "darija",
	NULL
};

/* More LANG names of Darija, compared by their fold_darija skeletons. */
const char *const darija_langnames[] = {
	"darija", "darja", "derja", "derija", "ary", "marocain", "maghribi",
	NULL
};

/* Words that may surround a STOP word without making the message a post. */
const char *const stop_fillers[] = {
	"please", "pls", "plz", "now", "all", "thanks", "thank", "you", "thx",
	"svp", "stp", "merci", "maintenant", "tout", "tous",
	"les", "ces", "me", "moi", "sms", "messages", "envoyer", "envoi",
	"من", "فضلك", "لو", "سمحت", "شكرا", "الان", "الكل",
	"اشتراك", "رسائل", "عافاك", "صافي", "دابا", "كلشي", "هاد",
	/* French "se désabonner"; please (to many), please, very (much),
	 * my subscription */
	"se", "فضلكم", "سمحتم", "رجاء", "رجاءا", "جزيلا", "اشتراكي", NULL
};

/* Words that tie a French STOP to what it stops ("Arrêtez de m'envoyer
 * des SMS", "Arrête de m'écrire" were posts): fillers as those above, but
 * not in handle_filler's list, as "des" and "de" are names too. Each is
 * harmless beside a STOP word: the message is a STOP only when every other
 * word is a filler ("Arrêtez de crier" stays a post). */
const char *const stop_links[] = {
	"de", "des", "m'envoyer", "m'envoyez", "m'ecrire", "m'ecrivez", NULL
};

/* Words between the handles of a list ("FOLLOW @karim and @nadia"):
 * and, French et, Arabic و, Darija w. */
const char *const list_joiners[] = { "and", "&", "et", "و", "w", NULL };

/* The fillers above that are politeness or time only, not what or how
 * much: "supprimer svp" deletes the latest post, "supprimer tous les
 * messages" does not (parse.c). The phrases ("s'il vous plaît") are
 * politeness too. */
const char *const polite_fillers[] = {
	"please", "pls", "plz", "now", "thanks", "thank", "you", "thx",
	"svp", "stp", "merci", "maintenant",
	"من", "فضلك", "فضلكم", "لو", "سمحت", "سمحتم", "رجاء", "رجاءا",
	"شكرا", "جزيلا", "الان", "عافاك", "دابا", NULL
};
const char *const polite_darija[] = {
	"3afak", "3fak", "daba", "chokran", NULL
};

/* Fillers of several words, each written folded, separated by one space:
 * French please, with its apostrophe typed or not. */
const char *const stop_filler_phrases[] = {
	"s'il vous plait", "s'il te plait", "sil vous plait", "sil te plait",
	NULL
};

/* The same in Arabizi, compared by their fold_darija skeletons: please,
 * OK/enough, now, everything, thanks, to me, of this, the messages. */
const char *const darija_fillers[] = {
	"3afak", "3fak", "safi", "daba", "kolchi", "chokran", "3lia", "3liya",
	"mn", "had", "hadchi", "sms", "messages", "lmessagat", "lmessages",
	NULL
};

const char *const sleep_off[] = {
	"off", "no", "none", "stop", "non", "aucun", "desactiver",
	"تعطيل", "الغاء", "ايقاف", "لا", NULL
};

/* Words between or around the two hours of SLEEP. */
const char *const sleep_joiners[] = {
	"from", "to", "till", "until", "h", "de", "du", "a", "jusqu'a", "jusqua",
	"من", "الي", "حتي", "الساعه", NULL
};

/* TRACK word DIGEST [hour]: the word comes once a day, counted, with the
 * top 3 posts (docs/commands.md). French RÉSUMÉ, Arabic ملخص ("summary"). */
const char *const digest_words[] = {
	"digest", "resume", "ملخص", NULL
};

/* Words allowed before DIGEST's hour: "DIGEST at 18h", "RÉSUMÉ à 18h". */
const char *const digest_joiners[] = {
	"at", "a", "vers", "h", "du", "علي", "في", "الساعه", NULL
};

/* Unit tests for parse.c: every command and alias in English, French,
 * Arabic and Darija (Arabic letters and Arabizi), then spacing, case, handles, arguments and post fallbacks. Every
 * input is parsed from an exact-size heap copy, so ASan sees any read past
 * its end. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#include "fold.h"
#include "parse.h"

struct pcase {
	const char	*in;
	enum cmd_type	 type;
	enum cmd_error	 err;
	const char	*arg;		/* the handle, or the code for LANG */
	const char	*text;		/* NULL: no text */
	const char	*kwlang;	/* NULL: a post */
	int		 from, to;
	int		 digest, dhour;	/* TRACK ... DIGEST and its hour */
};

#define POST(in, t)		{ in, CMD_POST, CMDERR_NONE, "", t, NULL, -1, -1, 0, -1 }
#define C0(in, ty, l)		{ in, ty, CMDERR_NONE, "", NULL, l, -1, -1, 0, -1 }
#define CH(in, ty, h, l)	{ in, ty, CMDERR_NONE, h, NULL, l, -1, -1, 0, -1 }
#define CT(in, ty, h, t, l)	{ in, ty, CMDERR_NONE, h, t, l, -1, -1, 0, -1 }
#define ERR(in, ty, e, l)	{ in, ty, e, "", NULL, l, -1, -1, 0, -1 }
#define LNG(in, code, l)	{ in, CMD_LANG, CMDERR_NONE, code, NULL, l, -1, -1, 0, -1 }
#define SLP(in, f, t, l)	{ in, CMD_SLEEP, CMDERR_NONE, "", NULL, l, f, t, 0, -1 }
#define DG(in, w, h, l)		{ in, CMD_TRACK, CMDERR_NONE, "", w, l, -1, -1, 1, h }
/* A post that starts with JOIN's keyword: its language, for a stranger's
 * JOIN usage (test_join_words). */
#define JPOST(in, l)		{ in, CMD_POST, CMDERR_NONE, "", in, l, -1, -1, 0, -1 }
#define EMPTY(in)		{ in, CMD_POST, CMDERR_EMPTY, "", "", NULL, -1, -1, 0, -1 }

#define MISSING		CMDERR_MISSING_ARG
#define BADH		CMDERR_BAD_HANDLE

static const struct pcase cases[] = {
	/* JOIN */
	CH("JOIN alice", CMD_JOIN, "alice", "en"),
	CH("join @Alice", CMD_JOIN, "alice", "en"),
	CH("SignUp bob_1", CMD_JOIN, "bob_1", "en"),
	CH("INSCRIPTION karim", CMD_JOIN, "karim", "fr"),
	CH("inscription @Karim", CMD_JOIN, "karim", "fr"),
	CH("تسجيل karim", CMD_JOIN, "karim", "ar"),
	CH("التسجيل karim", CMD_JOIN, "karim", "ar"),
	CH("تسجـــيل karim", CMD_JOIN, "karim", "ar"),		/* tatweel */
	CH("تَسْجِيل karim", CMD_JOIN, "karim", "ar"),		/* harakat */
	CH("تسجیل karim", CMD_JOIN, "karim", "ar"),		/* Farsi yeh */
	CH("join abcdefghijklmno", CMD_JOIN, "abcdefghijklmno", "en"),
	CH("join 123", CMD_JOIN, "123", "en"),
	CH("JOIN ＠Alice", CMD_JOIN, "alice", "en"),
	ERR("JOIN", CMD_JOIN, MISSING, "en"),
	ERR("تسجيل", CMD_JOIN, MISSING, "ar"),
	ERR("inscription !", CMD_JOIN, MISSING, "fr"),
	ERR("inscription $", CMD_JOIN, MISSING, "fr"),	/* a symbol: no argument */
	ERR("join alice-b", CMD_JOIN, BADH, "en"),
	ERR("join abcdefghijklmnop", CMD_JOIN, BADH, "en"),	/* 16 */
	ERR("join josé", CMD_JOIN, BADH, "en"),
	ERR("join @", CMD_JOIN, BADH, "en"),
	ERR("join @@alice", CMD_JOIN, BADH, "en"),
	ERR("join al.ice", CMD_JOIN, BADH, "en"),
	ERR("تسجيل كريم", CMD_JOIN, BADH, "ar"),
	JPOST("Join us tonight", "en"),
	/* A list of handles, each with '@' or commas between: the usage
	 * (one handle a command), where it was published to every follower. */
	ERR("FOLLOW @karim @nadia", CMD_FOLLOW, CMDERR_HANDLES, "en"),
	ERR("FOLLOW karim, nadia", CMD_FOLLOW, CMDERR_HANDLES, "en"),
	ERR("follow @karim, @nadia", CMD_FOLLOW, CMDERR_HANDLES, "en"),
	ERR("suivre @karim et @nadia", CMD_FOLLOW, CMDERR_HANDLES, "fr"),
	ERR("SUIVRE karim, nadia, ali", CMD_FOLLOW, CMDERR_HANDLES, "fr"),
	ERR("تابع karim، nadia", CMD_FOLLOW, CMDERR_HANDLES, "ar"),
	ERR("tbe3 @karim @nadia", CMD_FOLLOW, CMDERR_HANDLES, "darija"),
	ERR("LEAVE @karim @nadia", CMD_LEAVE, CMDERR_HANDLES, "en"),
	ERR("JOIN @karim @ali", CMD_JOIN, CMDERR_HANDLES, "en"),
	POST("Follow @karim on instagram", "Follow @karim on instagram"),
	/* ON and OFF: a list with each '@' only (the '@' says handles were
	 * meant); with commas it may be words ("Off work, finally"). */
	ERR("OFF @karim @nadia", CMD_OFF, CMDERR_HANDLES, "en"),
	ERR("OFF @karim @nadia svp", CMD_OFF, CMDERR_HANDLES, "en"),
	ERR("FOLLOW @karim @nadia please", CMD_FOLLOW, CMDERR_HANDLES, "en"),
	ERR("suivre karim, nadia s'il vous plaît", CMD_FOLLOW, CMDERR_HANDLES, "fr"),
	ERR("tbe3 @karim @nadia 3afak", CMD_FOLLOW, CMDERR_HANDLES, "darija"),
	ERR("ON @karim et @nadia", CMD_ON, CMDERR_HANDLES, "en"),
	POST("Off work, finally", "Off work, finally"),
	POST("Follow me, everyone", "Follow me, everyone"),
	POST("follow karim, he rocks", "follow karim, he rocks"),
	POST("tbe3 karim, nadia", "tbe3 karim, nadia"),
	POST("Follow your dreams, everyone", "Follow your dreams, everyone"),
	JPOST("Join @karim and me tonight", "en"),

	/* FOLLOW */
	CH("FOLLOW alice", CMD_FOLLOW, "alice", "en"),
	CH("follow @alice.", CMD_FOLLOW, "alice", "en"),
	CH("FoLLoW AlIcE", CMD_FOLLOW, "alice", "en"),
	CH("  follow \t\n @alice  \r\n", CMD_FOLLOW, "alice", "en"),
	CH("F alice", CMD_FOLLOW, "alice", "en"),
	CH("f @Alice!", CMD_FOLLOW, "alice", "en"),
	CH("SUIVRE @alice", CMD_FOLLOW, "alice", "fr"),
	CH("Suivre @alice !", CMD_FOLLOW, "alice", "fr"),
	CH("suivre alice", CMD_FOLLOW, "alice", "fr"),
	CH("تابع @alice", CMD_FOLLOW, "alice", "ar"),
	CH("تابع alice،", CMD_FOLLOW, "alice", "ar"),
	CH("\xe2\x80\x8fتابع\xe2\x80\x8f @alice", CMD_FOLLOW, "alice", "ar"),
	CH("follow\xc2\xa0" "alice", CMD_FOLLOW, "alice", "en"),
	CH("follow \"alice\"", CMD_FOLLOW, "alice", "en"),
	ERR("follow", CMD_FOLLOW, MISSING, "en"),
	ERR("F", CMD_FOLLOW, MISSING, "en"),
	ERR("تابع", CMD_FOLLOW, MISSING, "ar"),
	ERR("follow @al-ice", CMD_FOLLOW, BADH, "en"),
	ERR("suivre ça", CMD_FOLLOW, BADH, "fr"),
	POST("follow your dreams, everyone", "follow your dreams, everyone"),
	ERR("follow @alice @bob", CMD_FOLLOW, CMDERR_HANDLES, "en"),	/* was a post */
	CH("FOLLOW,karim", CMD_FOLLOW, "karim", "en"),
	/* trailing fillers do not count (they made the message a post) */
	CH("FOLLOW karim svp", CMD_FOLLOW, "karim", "en"),
	CH("follow @karim please thanks", CMD_FOLLOW, "karim", "en"),
	CH("تابع karim من فضلك", CMD_FOLLOW, "karim", "ar"),
	CH("tbe3 @karim 3afak", CMD_FOLLOW, "karim", "darija"),
	CH("JOIN karim s'il vous plaît", CMD_JOIN, "karim", "en"),
	CH("LEAVE karim now", CMD_LEAVE, "karim", "en"),
	POST("tbe3 karim 3afak", "tbe3 karim 3afak"),	/* loose, no '@' */
	POST("jib lia daba", "jib lia daba"),
	POST("follow karim and me", "follow karim and me"),
	CH("F,karim", CMD_FOLLOW, "karim", "en"),
	CH("F:@karim", CMD_FOLLOW, "karim", "en"),
	CH("\xd8\xaa\xd8\xa7\xd8\xa8\xd8\xb9,karim", CMD_FOLLOW, "karim", "ar"),	/* تابع,karim */
	CH("\xd8\xaa\xd8\xa7\xd8\xa8\xd8\xb9\xd8\x8c" "karim", CMD_FOLLOW, "karim", "ar"),	/* تابع،karim */
	CH("Follow-up", CMD_FOLLOW, "up", "en"),	/* loose: a post unless @up */
	POST("Follow-up meeting at 5", "Follow-up meeting at 5"),
	POST("Start-up", "Start-up"),
	POST("Bio-produits en promo", "Bio-produits en promo"),
	POST("Search-and-rescue team", "Search-and-rescue team"),
	POST("Help-desk closed", "Help-desk closed"),
	POST("cancel-culture", "cancel-culture"),

	/* LEAVE */
	CH("LEAVE alice", CMD_LEAVE, "alice", "en"),
	CH("unfollow @alice", CMD_LEAVE, "alice", "en"),
	CH("L alice", CMD_LEAVE, "alice", "en"),
	CH("QUITTER @alice", CMD_LEAVE, "alice", "fr"),
	CH("اترك @alice", CMD_LEAVE, "alice", "ar"),
	ERR("leave", CMD_LEAVE, MISSING, "en"),
	ERR("Quitter", CMD_LEAVE, MISSING, "fr"),
	ERR("L", CMD_LEAVE, MISSING, "en"),
	POST("leave me alone please", "leave me alone please"),
	POST("L'amour", "L'amour"),

	/* ON / OFF, all and per handle */
	C0("ON", CMD_ON, "en"),
	C0("on!", CMD_ON, "en"),
	C0("ON !", CMD_ON, "en"),
	C0("Activer", CMD_ON, "fr"),
	C0("تفعيل", CMD_ON, "ar"),
	C0("OFF", CMD_OFF, "en"),
	C0("off.", CMD_OFF, "en"),
	C0("DESACTIVER", CMD_OFF, "fr"),
	C0("DÉSACTIVER", CMD_OFF, "fr"),
	C0("Désactiver", CMD_OFF, "fr"),
	C0("de\xcc\x81sactiver", CMD_OFF, "fr"),		/* decomposed é */
	C0("تعطيل", CMD_OFF, "ar"),
	CH("ON alice", CMD_ON, "alice", "en"),
	CH("on @Alice", CMD_ON, "alice", "en"),
	CH("activer @alice", CMD_ON, "alice", "fr"),
	CH("تفعيل @alice", CMD_ON, "alice", "ar"),
	CH("OFF bob", CMD_OFF, "bob", "en"),
	CH("désactiver @bob", CMD_OFF, "bob", "fr"),
	CH("تعطيل bob", CMD_OFF, "bob", "ar"),
	CH("On verra", CMD_ON, "verra", "en"),	/* can't tell: ON h */
	ERR("OFF @bad-name", CMD_OFF, BADH, "en"),
	POST("On déménage", "On déménage"),
	POST("on y va", "on y va"),
	POST("Off to work now", "Off to work now"),
	/* A filler is no handle, and after the handle does not count: these
	 * were posts (nobody is called svp). */
	C0("OFF svp", CMD_OFF, "en"),
	C0("OFF please", CMD_OFF, "en"),
	C0("OFF now", CMD_OFF, "en"),
	C0("off s'il vous plaît", CMD_OFF, "en"),
	C0("تعطيل من فضلك", CMD_OFF, "ar"),
	C0("ON 3afak", CMD_ON, "en"),
	CH("OFF @fay9 svp", CMD_OFF, "fay9", "en"),
	CH("désactiver bob merci", CMD_OFF, "bob", "fr"),
	CH("ON @please", CMD_ON, "please", "en"),	/* the '@': a handle */
	POST("On me dit", "On me dit"),

	/* STOP: every alias alone, then with other words */
	C0("STOP", CMD_STOP, "en"),
	C0("stop", CMD_STOP, "en"),
	C0("Stop.", CMD_STOP, "en"),
	C0("STOP!!!", CMD_STOP, "en"),
	C0("\"STOP\"", CMD_STOP, "en"),
	C0("(StOp)", CMD_STOP, "en"),
	C0("ＳＴＯＰ", CMD_STOP, "en"),
	C0("stopall", CMD_STOP, "en"),
	C0("QUIT", CMD_STOP, "en"),
	C0("end", CMD_STOP, "en"),
	C0("Cancel", CMD_STOP, "en"),
	C0("UNSUBSCRIBE", CMD_STOP, "en"),
	C0("ARRET", CMD_STOP, "fr"),
	C0("arret", CMD_STOP, "fr"),
	C0("ARRÊT", CMD_STOP, "fr"),
	C0("Arrêt", CMD_STOP, "fr"),
	C0("arre\xcc\x82t", CMD_STOP, "fr"),
	C0("توقف", CMD_STOP, "ar"),
	C0("توقّف", CMD_STOP, "ar"),
	C0("إلغاء", CMD_STOP, "ar"),
	C0("الغاء", CMD_STOP, "ar"),
	C0("إيقاف", CMD_STOP, "ar"),
	C0(" \n STOP \n ", CMD_STOP, "en"),
	C0("STOP please", CMD_STOP, "en"),
	C0("stop stop", CMD_STOP, "en"),
	C0("STOP ALL", CMD_STOP, "en"),
	C0("Stop the war!", CMD_STOP, "en"),		/* the first word wins */
	C0("stop sending me messages", CMD_STOP, "en"),
	C0("arrêt svp", CMD_STOP, "fr"),
	C0("Arrêt de l'envoi des messages", CMD_STOP, "fr"),
	C0("ARRET les sms", CMD_STOP, "fr"),
	C0("توقف عن الإرسال", CMD_STOP, "ar"),
	C0("unsubscribe me from this list", CMD_STOP, "en"),
	C0("stopall the messages", CMD_STOP, "en"),
	C0("STOP !", CMD_STOP, "en"),
	C0("cancel !", CMD_STOP, "en"),
	C0("توقف من فضلك", CMD_STOP, "ar"),
	C0("please stop", CMD_STOP, "en"),
	C0("cancel please", CMD_STOP, "en"),
	C0("end now", CMD_STOP, "en"),
	C0("quit quit", CMD_STOP, "en"),
	C0("merci, stop", CMD_STOP, "en"),
	C0("الغاء من فضلك", CMD_STOP, "ar"),
	C0("إلغاء الآن", CMD_STOP, "ar"),
	C0("please stop !", CMD_STOP, "en"),
	/* French and Arabic opt-outs beside the listed ones, alone or with
	 * fillers (they were posts, published to every follower). */
	C0("Arr\xc3\xaatez les SMS", CMD_STOP, "fr"),
	C0("arr\xc3\xaate svp", CMD_STOP, "fr"),
	C0("D\xc3\xa9sinscription", CMD_STOP, "fr"),
	C0("me d\xc3\xa9sabonner", CMD_STOP, "fr"),
	C0("\xd8\xaa\xd9\x88\xd9\x82\xd9\x81\xd9\x88\xd8\xa7", CMD_STOP, "ar"),	/* توقفوا */
	C0("\xd8\xa3\xd9\x88\xd9\x82\xd9\x81\xd9\x88\xd8\xa7 \xd8\xa7\xd9\x84\xd8\xb1\xd8\xb3\xd8\xa7\xd8\xa6\xd9\x84",
	    CMD_STOP, "ar"),	/* أوقفوا الرسائل */
	/* Fillers and opt-out words that were missing: each was published
	 * as a post and the phone stayed subscribed. */
	C0("Arrêtez les SMS s'il vous plaît", CMD_STOP, "fr"),
	C0("arrête s’il te plaît", CMD_STOP, "fr"),
	C0("stop sil vous plait", CMD_STOP, "en"),
	C0("الغاء الاشتراك من فضلكم", CMD_STOP, "ar"),
	C0("الغاء لو سمحتم", CMD_STOP, "ar"),
	C0("وقف رجاء", CMD_STOP, "ar"),
	C0("إلغاء شكرا جزيلا", CMD_STOP, "ar"),
	C0("إلغاء اشتراكي", CMD_STOP, "ar"),
	C0("Désabonnez-moi", CMD_STOP, "fr"),
	C0("désabonnez moi", CMD_STOP, "fr"),
	C0("Désinscrivez-moi", CMD_STOP, "fr"),
	C0("se désabonner", CMD_STOP, "fr"),
	C0("Se désinscrire", CMD_STOP, "fr"),
	/* the plural of توقف wins like it; كفاية is كفى */
	C0("توقفوا عن الارسال", CMD_STOP, "ar"),
	C0("توقفو", CMD_STOP, "ar"),
	C0("كفاية", CMD_STOP, "ar"),
	C0("كفايه من فضلك", CMD_STOP, "ar"),
	POST("كفاية ظلم", "كفاية ظلم"),
	POST("Se désabonner de quoi", "Se désabonner de quoi"),
	POST("s'il vous plaît", "s'il vous plaît"),
	POST("شكرا جزيلا", "شكرا جزيلا"),
	POST("Arr\xc3\xaatez de crier, on gagne", "Arr\xc3\xaatez de crier, on gagne"),
	POST("The end", "The end"),
	/* "de", "des" and the elided "m'envoyer" tie a French STOP to what
	 * it stops; the colloquial plural وقفو: these were posts, published
	 * to every follower, and the phone stayed subscribed. */
	C0("Arrêtez de m'envoyer des SMS", CMD_STOP, "fr"),
	C0("Arrête de m'envoyer des messages", CMD_STOP, "fr"),
	C0("arrêtez de m’envoyer des sms svp", CMD_STOP, "fr"),	/* ’ */
	C0("Arrêtez de m'écrire", CMD_STOP, "fr"),
	C0("Arrêtez de m'envoyez des messages", CMD_STOP, "fr"),
	C0("وقفو الرسائل", CMD_STOP, "ar"),
	C0("وقفوا", CMD_STOP, "ar"),
	POST("Arrêtez de m'envoyer des photos", "Arrêtez de m'envoyer des photos"),
	POST("Arrête de rêver", "Arrête de rêver"),
	POST("وقفو الحرب", "وقفو الحرب"),	/* stop the war */
	POST("Des nouvelles de Karim", "Des nouvelles de Karim"),
	/* Glued to punctuation, symbols or an emoji: still STOP (they were
	 * posts, published to every follower). */
	C0("STOP,please", CMD_STOP, "en"),
	C0("Stop!please", CMD_STOP, "en"),
	C0("stop:(", CMD_STOP, "en"),
	C0("STOP\xf0\x9f\x98\xa1", CMD_STOP, "en"),
	C0("STOP-", CMD_STOP, "en"),
	C0("{STOP}", CMD_STOP, "en"),
	C0("<STOP>", CMD_STOP, "en"),
	C0("please,stop", CMD_STOP, "en"),
	C0("stop/unsubscribe", CMD_STOP, "en"),
	C0("\xd8\xaa\xd9\x88\xd9\x82\xd9\x81\xd8\x9f", CMD_STOP, "ar"),	/* توقف؟ */
	/* ... and with more words after it, as a STOP alone is (a post,
	 * published to every follower, and the phone still subscribed). */
	C0("STOP\xf0\x9f\x98\xa1 stop sending me this", CMD_STOP, "en"),
	C0("Stop!please don't send", CMD_STOP, "en"),
	C0("<STOP> leave me alone", CMD_STOP, "en"),
	C0("ARR\xc3\x8aT\xf0\x9f\x98\xa1 je veux plus", CMD_STOP, "fr"),
	C0("STOP, I never asked for this", CMD_STOP, "en"),
	POST("stop's a word I like", "stop's a word I like"),
	POST("stop-motion films tonight", "stop-motion films tonight"),
	/* typographic apostrophes and dashes join too (these opted out) */
	POST("Stop’s the word of the day", "Stop’s the word of the day"),
	POST("Stop’em now", "Stop’em now"),
	POST("Stop‘em", "Stop‘em"),
	POST("Stop–motion", "Stop–motion"),		/* en dash */
	POST("Stop‐motion films", "Stop‐motion films"),	/* U+2010 */
	POST("STOP−motion", "STOP−motion"),		/* U+2212 */
	C0("STOP’", CMD_STOP, "en"),
	C0("Stop– please", CMD_STOP, "en"),
	POST("don't,stop", "don't,stop"),
	POST("End of the day here", "End of the day here"),
	POST("Cancel culture is real", "Cancel culture is real"),
	POST("quit smoking today", "quit smoking today"),
	POST("don't stop me now", "don't stop me now"),
	POST("stopping by later", "stopping by later"),
	POST("please", "please"),

	/* START */
	C0("START", CMD_START, "en"),
	C0("start.", CMD_START, "en"),
	C0("Reprendre", CMD_START, "fr"),
	C0("ابدأ", CMD_START, "ar"),
	C0("إبدأ", CMD_START, "ar"),
	C0("ابدا", CMD_START, "ar"),
	POST("Start the day right", "Start the day right"),

	/* HELP */
	C0("HELP", CMD_HELP, "en"),
	C0("help?", CMD_HELP, "en"),
	C0("Help!", CMD_HELP, "en"),
	C0("?", CMD_HELP, "en"),
	C0("??", CMD_HELP, "en"),
	C0("؟", CMD_HELP, "en"),
	C0("info", CMD_HELP, "en"),
	C0("«HELP»", CMD_HELP, "en"),
	C0("مساعدة؟", CMD_HELP, "ar"),
	C0("AIDE", CMD_HELP, "fr"),
	C0("aide !", CMD_HELP, "fr"),
	C0("Aide ?!", CMD_HELP, "fr"),
	C0("مساعدة", CMD_HELP, "ar"),
	C0("مساعده", CMD_HELP, "ar"),
	C0("المساعدة", CMD_HELP, "ar"),
	/* Fillers do not count after a command that takes no argument:
	 * these were posts, published to every follower, and the member
	 * got no help. */
	C0("help me", CMD_HELP, "en"),
	C0("help please", CMD_HELP, "en"),
	C0("Help me please!", CMD_HELP, "en"),
	C0("Aide svp", CMD_HELP, "fr"),
	C0("aide s'il vous plaît", CMD_HELP, "fr"),
	C0("3awni 3afak", CMD_HELP, "darija"),
	C0("مساعدة من فضلك", CMD_HELP, "ar"),
	C0("START please", CMD_START, "en"),
	C0("Reprendre svp", CMD_START, "fr"),
	C0("stats please", CMD_STATS, "en"),
	C0("احصائيات من فضلك", CMD_STATS, "ar"),
	C0("TRACKS please", CMD_TRACKS, "en"),
	C0("DELETE please", CMD_DELETE, "en"),
	C0("supprimer svp", CMD_DELETE, "fr"),
	C0("احذف من فضلك", CMD_DELETE, "ar"),
	C0("delete now thanks", CMD_DELETE, "en"),
	/* more than DELETE does: its usage, never a post */
	ERR("DELETE all", CMD_DELETE, CMDERR_EXTRA, "en"),
	ERR("delete me", CMD_DELETE, CMDERR_EXTRA, "en"),
	ERR("supprimer tous les messages", CMD_DELETE, CMDERR_EXTRA, "fr"),
	POST("help me move on Saturday", "help me move on Saturday"),
	POST("Help wanted: a driver", "Help wanted: a driver"),
	POST("Aide-moi à porter ça", "Aide-moi à porter ça"),
	POST("delete my last post", "delete my last post"),
	POST("Stats are boring", "Stats are boring"),
	POST("start now and never stop learning", "start now and never stop learning"),
	POST("? alice", "? alice"),
	POST("!!!", "!!!"),

	/* D / DM */
	CT("D alice hi there", CMD_DM, "alice", "hi there", "en"),
	CT("d @Alice  hi  there ", CMD_DM, "alice", "hi  there", "en"),
	CT("DM bob see you", CMD_DM, "bob", "see you", "en"),
	CT("D alice: hi", CMD_DM, "alice", "hi", "en"),
	CT("D alice\xc2\xa0hi", CMD_DM, "alice", "hi", "en"),
	CT("D\nalice\nline1\nline2\n", CMD_DM, "alice", "line1\nline2", "en"),
	CT("MP bob salut", CMD_DM, "bob", "salut", "fr"),
	CT("راسل @alice مرحبا", CMD_DM, "alice", "مرحبا", "ar"),
	CT("راسل alice مرحبا بك", CMD_DM, "alice", "مرحبا بك", "ar"),
	ERR("راسل", CMD_DM, MISSING, "ar"),
	POST("خاص لكل المتابعين", "خاص لكل المتابعين"),
	ERR("D", CMD_DM, MISSING, "en"),
	/* the handle is kept when only the text is missing */
	{ "dm alice", CMD_DM, MISSING, "alice", NULL, "en", -1, -1, 0, -1 },
	{ "D alice!", CMD_DM, MISSING, "alice", NULL, "en", -1, -1, 0, -1 },
	ERR("DM @al-ice hi", CMD_DM, BADH, "en"),
	ERR("D josé salut", CMD_DM, BADH, "en"),
	POST("D'accord", "D'accord"),
	/* The keyword glued to its argument by punctuation or a dash: a DM
	 * (or FOLLOW) published to every follower, PIN and all. */
	CT("D,fay9 my PIN is 4321", CMD_DM, "fay9", "my PIN is 4321", "en"),
	CT("D:fay9 meet me", CMD_DM, "fay9", "meet me", "en"),
	CT("D.alice hi", CMD_DM, "alice", "hi", "en"),
	CT("D;alice hi", CMD_DM, "alice", "hi", "en"),
	CT("D- alice hi", CMD_DM, "alice", "hi", "en"),
	CT("D\xe2\x80\x94 alice hi", CMD_DM, "alice", "hi", "en"),	/* em dash */
	CT("D\xe2\x80\x93" "alice hi", CMD_DM, "alice", "hi", "en"),	/* en dash */
	CT("DM:alice hi", CMD_DM, "alice", "hi", "en"),
	CT("MP,bob salut", CMD_DM, "bob", "salut", "fr"),
	CT("\xd8\xb1\xd8\xa7\xd8\xb3\xd9\x84\xd8\x8c" "alice \xd9\x85\xd8\xb1\xd8\xad\xd8\xa8\xd8\xa7",
	    CMD_DM, "alice", "\xd9\x85\xd8\xb1\xd8\xad\xd8\xa8\xd8\xa7", "ar"),	/* راسل،alice مرحبا */
	{ "DM:alice", CMD_DM, MISSING, "alice", NULL, "en", -1, -1, 0, -1 },
	ERR("D:", CMD_DM, MISSING, "en"),
	ERR("D,jos\xc3\xa9 salut", CMD_DM, BADH, "en"),
	ERR("D-al-ice hi", CMD_DM, BADH, "en"),
	POST("L.A. tonight", "L.A. tonight"),
	POST("D.C.", "D.C."),
	POST("F.Y.I.", "F.Y.I."),

	/* GET */
	CH("GET alice", CMD_GET, "alice", "en"),
	CH("get @ALICE", CMD_GET, "alice", "en"),
	CH("voir alice", CMD_GET, "alice", "fr"),
	CH("اعرض alice", CMD_GET, "alice", "ar"),
	ERR("GET", CMD_GET, MISSING, "en"),
	POST("get a life man", "get a life man"),

	/* WHOIS */
	CH("WHOIS alice", CMD_WHOIS, "alice", "en"),
	CH("profil @alice", CMD_WHOIS, "alice", "fr"),
	CH("ملف alice", CMD_WHOIS, "alice", "ar"),
	CH("الملف alice", CMD_WHOIS, "alice", "ar"),
	ERR("whois", CMD_WHOIS, MISSING, "en"),
	POST("whois al ice", "whois al ice"),

	/* STATS */
	C0("STATS", CMD_STATS, "en"),
	C0("stats.", CMD_STATS, "en"),
	C0("statistiques", CMD_STATS, "fr"),
	C0("إحصائيات", CMD_STATS, "ar"),
	C0("احصائيات", CMD_STATS, "ar"),
	POST("stats don't lie", "stats don't lie"),

	/* TRACK, UNTRACK, TRACKS: one word, as written */
	CT("TRACK couscous", CMD_TRACK, "", "couscous", "en"),
	CT("track #Couscous!", CMD_TRACK, "", "#Couscous!", "en"),
	CT("Track @alice", CMD_TRACK, "", "@alice", "en"),
	CT("SURVEILLER été", CMD_TRACK, "", "été", "fr"),
	CT("surveiller  #Maroc ", CMD_TRACK, "", "#Maroc", "fr"),
	CT("تتبع كسكس", CMD_TRACK, "", "كسكس", "ar"),
	CT("UNTRACK couscous", CMD_UNTRACK, "", "couscous", "en"),
	CT("RETIRER été", CMD_UNTRACK, "", "été", "fr"),
	CT("أزل كسكس", CMD_UNTRACK, "", "كسكس", "ar"),
	ERR("TRACK", CMD_TRACK, MISSING, "en"),
	ERR("untrack", CMD_UNTRACK, MISSING, "en"),
	POST("Track your parcel online", "Track your parcel online"),
	POST("Retirer de l'argent", "Retirer de l'argent"),
	C0("TRACKS", CMD_TRACKS, "en"),
	C0("Surveillances ?", CMD_TRACKS, "fr"),
	C0("كلماتي", CMD_TRACKS, "ar"),
	POST("tracks of my tears", "tracks of my tears"),
	/* TRACK ... DIGEST [hour] (issue 17): once a day */
	DG("TRACK couscous DIGEST", "couscous", -1, "en"),
	DG("track couscous digest 18h", "couscous", 18, "en"),
	DG("TRACK DIGEST #Maroc 7pm", "#Maroc", 19, "en"),
	DG("Track @alice digest at 6 pm", "@alice", 18, "en"),
	DG("TRACK digest news", "news", -1, "en"),
	DG("track kora digest 0", "kora", 0, "en"),
	DG("SURVEILLER été RÉSUMÉ 18h", "été", 18, "fr"),
	DG("surveiller ete resume à 20h00", "ete", 20, "fr"),
	DG("Surveiller Résumé kora 8", "kora", 8, "fr"),
	DG("surveiller #Maroc re\xcc\x81sume\xcc\x81 21:00", "#Maroc", 21, "fr"),
	DG("تتبع كسكس ملخص ١٨", "كسكس", 18, "ar"),
	DG("تتبع كسكس الملخص", "كسكس", -1, "ar"),
	DG("تتبع ملخص كسكس 20:00", "كسكس", 20, "ar"),
	DG("تتبع كسكس مُلَخَّص على الساعة ٨", "كسكس", 8, "ar"),
	/* the Arabic am/pm words (this was a post) */
	DG("تتبع كسكس ملخص على الساعة ٨ مساء", "كسكس", 20, "ar"),
	DG("تتبع كسكس ملخص الساعة ٨ مساءً", "كسكس", 20, "ar"),
	DG("تتبع كسكس ملخص ٧ صباحا", "كسكس", 7, "ar"),
	DG("تتبع كسكس ملخص ٩ ليلا", "كسكس", 21, "ar"),
	DG("تتبع كسكس ملخص ١٢ ليلا", "كسكس", 0, "ar"),
	DG("تتبع كسكس ملخص ٨م", "كسكس", 20, "ar"),
	DG("surveiller ete résumé à 8h du soir", "ete", 20, "fr"),
	ERR("TRACK couscous DIGEST à 20 heures", CMD_TRACK, CMDERR_BAD_HOURS, "en"),
	ERR("تتبع كسكس ملخص على الساعة ١٥ مساء", CMD_TRACK, CMDERR_BAD_HOURS, "ar"),
	CT("TRACK digest", CMD_TRACK, "", "digest", "en"),	/* the word */
	ERR("TRACK couscous DIGEST 25", CMD_TRACK, CMDERR_BAD_HOURS, "en"),
	ERR("surveiller ete résumé 18h30", CMD_TRACK, CMDERR_BAD_HOURS, "fr"),
	ERR("تتبع كسكس ملخص ٩٩", CMD_TRACK, CMDERR_BAD_HOURS, "ar"),
	POST("Track this digest please", "Track this digest please"),
	POST("UNTRACK couscous DIGEST", "UNTRACK couscous DIGEST"),
	POST("track news digest at 6 pm please", "track news digest at 6 pm please"),
	/* SEARCH: one to three words */
	CT("SEARCH couscous", CMD_SEARCH, "", "couscous", "en"),
	CT("search couscous royal", CMD_SEARCH, "", "couscous royal", "en"),
	CT("CHERCHER l'été à Rabat", CMD_SEARCH, "", "l'été à Rabat", "fr"),
	CT("rechercher ete", CMD_SEARCH, "", "ete", "fr"),
	CT("ابحث كسكس", CMD_SEARCH, "", "كسكس", "ar"),
	CT("بحث الكسكس المغربي", CMD_SEARCH, "", "الكسكس المغربي", "ar"),
	ERR("SEARCH", CMD_SEARCH, MISSING, "en"),
	POST("Search party tonight, who's in?", "Search party tonight, who's in?"),
	/* NAME, BIO */
	CT("NAME Alice Smith", CMD_NAME, "", "Alice Smith", "en"),
	CT("name   Alice  ", CMD_NAME, "", "Alice", "en"),
	CT("nom Karim B.", CMD_NAME, "", "Karim B.", "fr"),
	CT("NAME Alice !", CMD_NAME, "", "Alice !", "en"),
	CT("اسم كريم", CMD_NAME, "", "كريم", "ar"),
	CT("الاسم كريم", CMD_NAME, "", "كريم", "ar"),
	ERR("NAME", CMD_NAME, MISSING, "en"),
	ERR("nom   \n", CMD_NAME, MISSING, "fr"),
	CT("BIO I love birds", CMD_BIO, "", "I love birds", "en"),
	CT("bio\nJ'aime les pigeons\net le thé", CMD_BIO, "",
	    "J'aime les pigeons\net le thé", "en"),
	CT("نبذة أحب الحمام", CMD_BIO, "", "أحب الحمام", "ar"),
	ERR("BIO", CMD_BIO, MISSING, "en"),
	ERR("نبذة", CMD_BIO, MISSING, "ar"),

	/* LANG */
	LNG("LANG en", "en", "en"),
	LNG("lang FR", "fr", "en"),
	LNG("LANG ar", "ar", "en"),
	LNG("language english", "en", "en"),
	LNG("lang anglais", "en", "en"),
	LNG("langue français", "fr", "fr"),
	LNG("LANGUE FRANÇAIS", "fr", "fr"),
	LNG("langue francais.", "fr", "fr"),
	LNG("lang french", "fr", "en"),
	LNG("lang arabic", "ar", "en"),
	LNG("LANGUE arabe", "ar", "fr"),
	LNG("لغة عربية", "ar", "ar"),
	LNG("لغة العربية", "ar", "ar"),
	LNG("اللغة العربية", "ar", "ar"),
	LNG("لغة عربي", "ar", "ar"),
	LNG("لغة الفرنسية", "fr", "ar"),
	LNG("لغة الإنجليزية", "en", "ar"),
	LNG("LANG العربية", "ar", "en"),
	ERR("LANG", CMD_LANG, MISSING, "en"),
	ERR("langue", CMD_LANG, MISSING, "fr"),
	ERR("LANG xx", CMD_LANG, CMDERR_BAD_LANG, "en"),
	ERR("lang es", CMD_LANG, CMDERR_BAD_LANG, "en"),
	ERR("لغة اسبانية", CMD_LANG, CMDERR_BAD_LANG, "ar"),
	POST("langue de bois", "langue de bois"),

	/* SLEEP */
	SLP("SLEEP 23 7", 23, 7, "en"),
	/* Arabic am/pm: م and ص glued or alone, مساء, صباحا, ليلا */
	SLP("نوم ١١م ٧ص", 23, 7, "ar"),
	SLP("نوم ١١ م ٧ ص", 23, 7, "ar"),
	SLP("نوم ١١ مساء ٧ صباحا", 23, 7, "ar"),
	SLP("نوم ١١ ليلا ٦ صباحا", 23, 6, "ar"),
	SLP("sommeil 11h du soir 7h", 23, 7, "fr"),
	SLP("sleep 23h 7h", 23, 7, "en"),
	SLP("SLEEP 23-7", 23, 7, "en"),
	SLP("sleep 23h-7h", 23, 7, "en"),
	SLP("SLEEP 23 - 7", 23, 7, "en"),
	SLP("sleep 23\xe2\x80\x93" "7", 23, 7, "en"),
	SLP("sleep 22:00 06:00", 22, 6, "en"),
	SLP("sleep 22h00 6h00", 22, 6, "en"),
	SLP("sleep 0 6", 0, 6, "en"),
	SLP("sleep 7 23", 7, 23, "en"),
	SLP("sleep 11pm 7am", 23, 7, "en"),
	SLP("sleep 11 pm 7 am", 23, 7, "en"),
	SLP("sleep 12am 6am", 0, 6, "en"),
	SLP("sleep 12pm 1pm", 12, 13, "en"),
	SLP("SLEEP from 23 to 7", 23, 7, "en"),
	SLP("sommeil de 23h à 7h", 23, 7, "fr"),
	SLP("SOMMEIL 23 7", 23, 7, "fr"),
	SLP("نوم 23 7", 23, 7, "ar"),
	SLP("نوم ٢٣ ٧", 23, 7, "ar"),
	SLP("نوم من 23 إلى 7", 23, 7, "ar"),
	/* More than six words, each an hour, a joiner or a half of the day
	 * (they were a post to every follower) */
	SLP("نوم من الساعة ١١ ليلا الى ٧ صباحا", 23, 7, "ar"),
	SLP("نوم من الساعة ١١ ليلا الى الساعة ٧ صباحا", 23, 7, "ar"),
	SLP("sommeil de 11h du soir jusqu'à 7h du matin", 23, 7, "fr"),
	SLP("SLEEP from 11 pm until 7 am", 23, 7, "en"),
	SLP("SLEEP OFF", -1, -1, "en"),
	SLP("sleep off!", -1, -1, "en"),
	SLP("sommeil désactiver", -1, -1, "fr"),
	SLP("sommeil non", -1, -1, "fr"),
	SLP("نوم تعطيل", -1, -1, "ar"),
	ERR("SLEEP", CMD_SLEEP, MISSING, "en"),
	ERR("SLEEP 25 7", CMD_SLEEP, CMDERR_BAD_HOURS, "en"),
	ERR("sleep 23", CMD_SLEEP, CMDERR_BAD_HOURS, "en"),
	ERR("sleep 7 7", CMD_SLEEP, CMDERR_BAD_HOURS, "en"),
	ERR("sleep 23 7 5", CMD_SLEEP, CMDERR_BAD_HOURS, "en"),
	ERR("sleep 13pm 7", CMD_SLEEP, CMDERR_BAD_HOURS, "en"),
	ERR("sleep 23:30 7", CMD_SLEEP, CMDERR_BAD_HOURS, "en"),
	ERR("sleep 123 7", CMD_SLEEP, CMDERR_BAD_HOURS, "en"),
	ERR("نوم ٢٥ ٧", CMD_SLEEP, CMDERR_BAD_HOURS, "ar"),
	POST("Sleep tight, everyone", "Sleep tight, everyone"),
	POST("sleep well", "sleep well"),
	POST("sleep 8 hours a night, every night", "sleep 8 hours a night, every night"),
	POST("sleep from 11 pm to 7 am is what I need", "sleep from 11 pm to 7 am is what I need"),
	POST("نوم من الساعة ١١ ليلا الى ٧ صباحا كل يوم", "نوم من الساعة ١١ ليلا الى ٧ صباحا كل يوم"),

	/* DELETE */
	C0("DELETE", CMD_DELETE, "en"),
	C0("delete!", CMD_DELETE, "en"),
	C0("SUPPRIMER", CMD_DELETE, "fr"),
	C0("احذف", CMD_DELETE, "ar"),
	C0("حذف", CMD_DELETE, "ar"),
	POST("delete my last post", "delete my last post"),

	/* Arabic synonyms (issue 19). The new handle keywords are loose: an
	 * argument that cannot be a handle makes the message a post. */
	CH("انضم karim", CMD_JOIN, "karim", "ar"),
	CH("إنضم @karim", CMD_JOIN, "karim", "ar"),
	CH("اشترك karim", CMD_JOIN, "karim", "ar"),
	CH("سجل karim", CMD_JOIN, "karim", "ar"),
	CH("سجّل karim", CMD_JOIN, "karim", "ar"),
	CH("تسجل karim", CMD_JOIN, "karim", "ar"),		/* Darija tsejjel */
	CH("تسجيل amina٢٠", CMD_JOIN, "amina20", "ar"),	/* Arabic-Indic digits */
	CH("تابع karim۲", CMD_FOLLOW, "karim2", "ar"),		/* Eastern Arabic-Indic */
	/* Arabic presentation forms (U+FE70..U+FEFC), as some phones send
	 * Arabic: shaped letters, lam-alef ligatures. They were posts. */
	C0("\uFE97\uFEEE\uFED7\uFED2", CMD_STOP, "ar"),		/* توقف */
	CH("\uFE97\uFE8E\uFE91\uFECA karim", CMD_FOLLOW, "karim", "ar"),	/* تابع */
	C0("\uFEE3\uFEB4\uFE8E\uFECB\uFEAA\uFE93", CMD_HELP, "ar"),	/* مساعدة */
	CH("\uFE97\uFEB4\uFEA0\uFEF4\uFEDE omar", CMD_JOIN, "omar", "ar"),	/* تسجيل */
	C0("\uFE8D\uFEF9\uFEDF\uFED0\uFE8E\uFE80", CMD_STOP, "ar"),	/* الإلغاء */
	C0("\uFE97\uFE7D\uFEEE\uFED7\uFED2", CMD_STOP, "ar"),	/* with a shadda */
	LNG("\uFEDF\uFED0\uFE94 fr", "fr", "ar"),			/* لغة */
	CH("سجلني karim", CMD_JOIN, "karim", "ar"),		/* register me */
	ERR("انضم", CMD_JOIN, MISSING, "ar"),
	ERR("اشترك @kar-im", CMD_JOIN, BADH, "ar"),
	POST("انضم الينا", "انضم الينا"),			/* join us */
	POST("سجل زياش", "سجل زياش"),			/* Ziyech scored */
	POST("اشترك الآن", "اشترك الآن"),
	CH("اتبع karim", CMD_FOLLOW, "karim", "ar"),
	CH("متابعة @karim", CMD_FOLLOW, "karim", "ar"),
	CH("تبع karim", CMD_FOLLOW, "karim", "ar"),		/* Darija tbe3 */
	ERR("اتبع", CMD_FOLLOW, MISSING, "ar"),
	POST("اتبع قلبك", "اتبع قلبك"),			/* follow your heart */
	POST("متابعة ممتعة", "متابعة ممتعة"),			/* enjoy the show */
	POST("تبع حلمك", "تبع حلمك"),
	CH("حيد karim", CMD_LEAVE, "karim", "ar"),		/* Darija 7iyed */
	POST("حيد من طريقي", "حيد من طريقي"),
	C0("ستوب", CMD_STOP, "ar"),
	C0("ستوب هاد الرسائل", CMD_STOP, "ar"),		/* wins like STOP */
	C0("وقف", CMD_STOP, "ar"),
	C0("أوقف", CMD_STOP, "ar"),
	C0("قف!", CMD_STOP, "ar"),
	C0("كفى", CMD_STOP, "ar"),
	C0("بركا", CMD_STOP, "ar"),
	C0("باركا", CMD_STOP, "ar"),
	C0("حبس", CMD_STOP, "ar"),
	C0("إلغاء الاشتراك", CMD_STOP, "ar"),
	C0("ايقاف الرسائل", CMD_STOP, "ar"),
	C0("وقف عافاك", CMD_STOP, "ar"),
	C0("صافي بركا", CMD_STOP, "ar"),
	C0("بركا دابا", CMD_STOP, "ar"),
	POST("وقف الحرب", "وقف الحرب"),
	POST("كفى ظلما", "كفى ظلما"),
	POST("صافي", "صافي"),
	C0("رجع", CMD_START, "ar"),
	C0("ساعدني", CMD_HELP, "ar"),
	C0("عاوني", CMD_HELP, "ar"),
	POST("ساعدني يا رب", "ساعدني يا رب"),
	CH("جيب karim", CMD_GET, "karim", "ar"),
	POST("جيب الخبز", "جيب الخبز"),

	/* Darija in Latin letters (Arabizi): every spelling folds to its
	 * keyword; the replies come in the darija catalog. */
	CH("tsejjel karim", CMD_JOIN, "karim", "darija"),
	CH("TSEJJEL @Karim", CMD_JOIN, "karim", "darija"),
	CH("tsejel karim", CMD_JOIN, "karim", "darija"),
	CH("tsjel karim", CMD_JOIN, "karim", "darija"),
	CH("tsjjl karim", CMD_JOIN, "karim", "darija"),
	CH("tsajjal karim", CMD_JOIN, "karim", "darija"),
	CH("tsajel karim", CMD_JOIN, "karim", "darija"),
	CH("sejjel karim", CMD_JOIN, "karim", "darija"),
	CH("sajjal karim", CMD_JOIN, "karim", "darija"),
	CH("sajel karim", CMD_JOIN, "karim", "darija"),
	CH("sejjelni karim", CMD_JOIN, "karim", "darija"),
	CH("sejelni karim", CMD_JOIN, "karim", "darija"),
	CH("sajjalni karim", CMD_JOIN, "karim", "darija"),
	CH("sajelni karim", CMD_JOIN, "karim", "darija"),
	ERR("tsejjel", CMD_JOIN, MISSING, "darija"),
	ERR("tsejjel @kar-im", CMD_JOIN, BADH, "darija"),
	POST("tsejjel karim_el_alaoui_1", "tsejjel karim_el_alaoui_1"),
	JPOST("sejjel had nemra", "darija"),
	CH("tbe3 karim", CMD_FOLLOW, "karim", "darija"),
	CH("TBE3 @Karim", CMD_FOLLOW, "karim", "darija"),
	CH("tba3 karim", CMD_FOLLOW, "karim", "darija"),
	CH("tb3 karim", CMD_FOLLOW, "karim", "darija"),
	CH("tbee3 karim", CMD_FOLLOW, "karim", "darija"),
	CH("tebbe3 karim", CMD_FOLLOW, "karim", "darija"),
	CH("tabe3 karim", CMD_FOLLOW, "karim", "darija"),
	CH("tab3 karim", CMD_FOLLOW, "karim", "darija"),
	CH("tabi3 karim", CMD_FOLLOW, "karim", "darija"),
	CH("Tbe3 karim!", CMD_FOLLOW, "karim", "darija"),
	ERR("tbe3", CMD_FOLLOW, MISSING, "darija"),
	/* can't tell: pigeon_apply posts it when nobody is called lmatch */
	CH("tbe3 lmatch", CMD_FOLLOW, "lmatch", "darija"),
	POST("tbe3 l'match", "tbe3 l'match"),
	POST("tbe3 9albek w safi", "tbe3 9albek w safi"),
	CH("7iyed karim", CMD_LEAVE, "karim", "darija"),
	CH("7ayed karim", CMD_LEAVE, "karim", "darija"),
	CH("7yed karim", CMD_LEAVE, "karim", "darija"),
	CH("hiyed karim", CMD_LEAVE, "karim", "darija"),
	CH("7eyyed @karim", CMD_LEAVE, "karim", "darija"),
	CH("7ayyed karim", CMD_LEAVE, "karim", "darija"),
	ERR("7iyed", CMD_LEAVE, MISSING, "darija"),
	POST("7iyed mn tri9 3afak", "7iyed mn tri9 3afak"),
	C0("baraka", CMD_STOP, "darija"),
	C0("BARAKA", CMD_STOP, "darija"),
	C0("Baraka!", CMD_STOP, "darija"),
	C0("baraaaka", CMD_STOP, "darija"),
	C0("barka", CMD_STOP, "darija"),
	C0("7bes", CMD_STOP, "darija"),
	C0("7bess", CMD_STOP, "darija"),
	C0("hbes", CMD_STOP, "darija"),
	C0("7abes", CMD_STOP, "darija"),
	C0("w9ef", CMD_STOP, "darija"),
	C0("wqef", CMD_STOP, "darija"),
	C0("wa9ef", CMD_STOP, "darija"),
	C0("wa99ef", CMD_STOP, "darija"),
	C0("baraka 3afak", CMD_STOP, "darija"),
	C0("safi baraka", CMD_STOP, "darija"),
	C0("baraka mn had lmessagat", CMD_STOP, "darija"),
	C0("baraka 3lia, chokran", CMD_STOP, "darija"),
	C0("7bes daba", CMD_STOP, "darija"),
	C0("w9ef kolchi 3afak", CMD_STOP, "darija"),
	C0("please baraka", CMD_STOP, "darija"),
	C0("stop 3afak", CMD_STOP, "en"),
	POST("safi", "safi"),				/* "OK": never a STOP alone */
	POST("safi, chokran", "safi, chokran"),
	POST("baraka llahou fik", "baraka llahou fik"),	/* thank you */
	POST("Baraka Obama", "Baraka Obama"),
	POST("7bes tfekker f rasek", "7bes tfekker f rasek"),
	POST("w9ef m3aya", "w9ef m3aya"),			/* stand by me */
	C0("bda", CMD_START, "darija"),
	C0("Bda!", CMD_START, "darija"),
	C0("ebda", CMD_START, "darija"),
	C0("bda2", CMD_START, "darija"),
	C0("rje3", CMD_START, "darija"),
	C0("rja3", CMD_START, "darija"),
	C0("rj3", CMD_START, "darija"),
	POST("bda lkhedma daba", "bda lkhedma daba"),
	POST("rje3 l dar", "rje3 l dar"),
	C0("3awni", CMD_HELP, "darija"),
	C0("3AWNI!", CMD_HELP, "darija"),
	C0("3awenni", CMD_HELP, "darija"),
	C0("3awnni", CMD_HELP, "darija"),
	C0("awni", CMD_HELP, "darija"),
	POST("3awni nl9a khedma", "3awni nl9a khedma"),
	CH("jib karim", CMD_GET, "karim", "darija"),
	CH("JIB @karim", CMD_GET, "karim", "darija"),
	CH("jibb karim", CMD_GET, "karim", "darija"),
	CH("jib lia", CMD_GET, "lia", "darija"),	/* a post unless @lia exists */
	POST("jib lia lkhobz", "jib lia lkhobz"),
	POST("Jib's up", "Jib's up"),
	/* words near a keyword, and English and French, stay themselves */
	POST("tab", "tab"),
	POST("bad", "bad"),
	POST("stooop", "stooop"),
	POST("sir", "sir"),
	POST("dkhol tchouf", "dkhol tchouf"),
	POST("chouf hna", "chouf hna"),
	POST("khrej daba", "khrej daba"),
	LNG("LANG darija", "darija", "en"),
	LNG("lang Darija.", "darija", "en"),
	LNG("langue darja", "darija", "fr"),
	LNG("lang derja", "darija", "en"),
	LNG("lang derija", "darija", "en"),
	LNG("lang daarija", "darija", "en"),
	LNG("lang ary", "darija", "en"),
	LNG("langue marocain", "darija", "fr"),
	LNG("lang maghribi", "darija", "en"),
	LNG("لغة الدارجة", "darija", "ar"),
	LNG("لغة دارجة", "darija", "ar"),
	LNG("لغة المغربية", "darija", "ar"),

	/* Trailing emoticons, emoji and symbols are not arguments (they made
	 * each of these a post, published to every follower); a post keeps
	 * them, and so does the text of D, NAME and BIO. */
	CH("FOLLOW alice :-)", CMD_FOLLOW, "alice", "en"),
	CH("FOLLOW karim :-) :-)", CMD_FOLLOW, "karim", "en"),
	CH("suivre @alice \xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd", CMD_FOLLOW, "alice", "fr"),	/* 👍🏽 */
	CH("tbe3 karim \xf0\x9f\x99\x8f\xf0\x9f\x99\x8f", CMD_FOLLOW, "karim", "darija"),	/* 🙏🙏 */
	CH("JOIN karim :-)", CMD_JOIN, "karim", "en"),
	CH("JOIN karim ;-) !", CMD_JOIN, "karim", "en"),
	CH("OFF @bob ^_^", CMD_OFF, "bob", "en"),
	CH("GET alice \xe2\x9d\xa4\xef\xb8\x8f", CMD_GET, "alice", "en"),	/* ❤️ */
	C0("HELP :-)", CMD_HELP, "en"),
	C0("HELP \xf0\x9f\x99\x8f", CMD_HELP, "en"),			/* 🙏 */
	C0("aide \xf0\x9f\x87\xb2\xf0\x9f\x87\xa6", CMD_HELP, "fr"),	/* 🇲🇦 */
	C0("stats (-_-)", CMD_STATS, "en"),
	C0("ＨＥＬＰ ！", CMD_HELP, "en"),
	LNG("LANG fr :-)", "fr", "en"),
	SLP("SLEEP 23 7 :-)", 23, 7, "en"),
	DG("TRACK couscous DIGEST 20 :-)", "couscous", 20, "en"),
	CT("SEARCH couscous :-)", CMD_SEARCH, "", "couscous :-)", "en"),
	CT("D alice \xf0\x9f\x99\x8f", CMD_DM, "alice", "\xf0\x9f\x99\x8f", "en"),
	CT("D alice hi :-)", CMD_DM, "alice", "hi :-)", "en"),
	CT("NAME Amina \xf0\x9f\x8c\xb9", CMD_NAME, "", "Amina \xf0\x9f\x8c\xb9", "en"),
	ERR("JOIN :-)", CMD_JOIN, MISSING, "en"),
	ERR("join @ :-)", CMD_JOIN, BADH, "en"),
	CH("join _", CMD_JOIN, "_", "en"),		/* "_" is a handle */
	POST("follow alice _", "follow alice _"),
	POST("Hello world :-)", "Hello world :-)"),
	POST("Bonne nuit \xf0\x9f\x99\x8f", "Bonne nuit \xf0\x9f\x99\x8f"),
	POST("follow your dreams :-)", "follow your dreams :-)"),
	C0("help me :-)", CMD_HELP, "en"),
	POST("On d\xc3\xa9m\xc3\xa9nage \xf0\x9f\x8e\x89", "On d\xc3\xa9m\xc3\xa9nage \xf0\x9f\x8e\x89"),
	POST(":-)", ":-)"),
	POST("\xf0\x9f\x99\x8f", "\xf0\x9f\x99\x8f"),
	POST(":-) HELP", ":-) HELP"),
	POST("follow alice :D", "follow alice :D"),	/* a letter: a word */
	/* a keyword that is an ordinary word, followed by symbols alone */
	POST("On \xf0\x9f\x8e\x89", "On \xf0\x9f\x8e\x89"),		/* 🎉 */
	POST("Off \xf0\x9f\x98\xb4", "Off \xf0\x9f\x98\xb4"),		/* 😴 */
	POST("jib \xf0\x9f\x8d\x95", "jib \xf0\x9f\x8d\x95"),		/* 🍕 */
	POST("\xd8\xa7\xd8\xaa\xd8\xa8\xd8\xb9 \xe2\x9d\xa4\xef\xb8\x8f",
	    "\xd8\xa7\xd8\xaa\xd8\xa8\xd8\xb9 \xe2\x9d\xa4\xef\xb8\x8f"),	/* اتبع ❤️ */

	/* empty */
	EMPTY(""),
	EMPTY("   "),
	EMPTY("\n\t\r\n"),
	EMPTY("\xc2\xa0\xc2\xa0"),
	EMPTY("\xe2\x80\x8f"),
	EMPTY("\xef\xbb\xbf \xe3\x80\x80"),

	/* posts */
	POST("Hello world", "Hello world"),
	POST("  hello   world  \n", "hello   world"),
	POST("\xc2\xa0hello\xc2\xa0", "hello"),
	POST("@alice hi", "@alice hi"),
	POST("Helpful tip: water your plants", "Helpful tip: water your plants"),
	POST("...", "..."),
	POST("مرحبا بالجميع", "مرحبا بالجميع"),
	POST("follow@alice", "follow@alice"),
};

#define BAD(...) do {						\
	fprintf(stderr, "case %d \"%s\": ", i, c->in);			\
	fprintf(stderr, __VA_ARGS__);					\
	fputc('\n', stderr);						\
	bad = 1;							\
} while (0)

/* Returns 0 if the case parses as expected; prints every difference. */
static int
check_case(const struct pcase *c, int i)
{
	size_t len = strlen(c->in);
	char *buf = malloc(len ? len : 1);
	const char *want_handle, *want_lang;
	struct command cmd;
	int bad = 0;

	ck_assert_ptr_nonnull(buf);
	memcpy(buf, c->in, len);
	command_parse(buf, len, &cmd);

	if (cmd.type != c->type || cmd.error != c->err)
		BAD("got %s/%s, want %s/%s", command_name(cmd.type),
		    command_error_name(cmd.error), command_name(c->type),
		    command_error_name(c->err));
	want_lang = c->type == CMD_LANG && c->err == CMDERR_NONE ? c->arg : "";
	want_handle = want_lang[0] != '\0' ? "" : c->arg;
	if (strcmp(cmd.handle, want_handle) != 0)
		BAD("handle \"%s\", want \"%s\"", cmd.handle, want_handle);
	if (strcmp(cmd.lang, want_lang) != 0)
		BAD("lang \"%s\", want \"%s\"", cmd.lang, want_lang);
	if (c->text == NULL) {
		if (cmd.text != NULL || cmd.textlen != 0)
			BAD("text \"%.*s\", want none", (int)cmd.textlen,
			    cmd.text ? cmd.text : "");
	} else if (cmd.text == NULL)
		BAD("no text, want \"%s\"", c->text);
	else {
		if (cmd.textlen != strlen(c->text) ||
		    memcmp(cmd.text, c->text, cmd.textlen) != 0)
			BAD("text \"%.*s\", want \"%s\"", (int)cmd.textlen,
			    cmd.text, c->text);
		if (c->err != CMDERR_EMPTY && (cmd.text < buf ||
		    cmd.text + cmd.textlen > buf + len))
			BAD("text outside the input");
	}
	if ((c->kwlang == NULL) != (cmd.keyword_lang == NULL) ||
	    (c->kwlang != NULL && strcmp(c->kwlang, cmd.keyword_lang) != 0))
		BAD("keyword_lang %s, want %s", cmd.keyword_lang ?
		    cmd.keyword_lang : "NULL", c->kwlang ? c->kwlang : "NULL");
	if (cmd.sleep_from != c->from || cmd.sleep_to != c->to)
		BAD("hours %d %d, want %d %d", cmd.sleep_from, cmd.sleep_to,
		    c->from, c->to);
	if (cmd.digest != c->digest ||
	    cmd.digest_hour != (c->digest ? c->dhour : -1))
		BAD("digest %d at %d, want %d at %d", cmd.digest, cmd.digest_hour,
		    c->digest, c->digest ? c->dhour : -1);
	free(buf);
	return bad;
}

/* One Check test for the whole table (a forked test costs ~60 ms under
 * ASan), reporting every failing row, not only the first. */
START_TEST(test_cases)
{
	int i, n = (int)(sizeof(cases) / sizeof(cases[0])), failed = 0;

	for (i = 0; i < n; i++)
		failed += check_case(&cases[i], i);
	ck_assert_msg(failed == 0, "%d of %d cases failed (see stderr)",
	    failed, n);
}
END_TEST

/* The invariants every result keeps, whatever the input. */
static void
check_sane(const char *buf, size_t len, const struct command *cmd)
{
	ck_assert_int_ge(cmd->type, CMD_POST);
	ck_assert_int_le(cmd->type, CMD_SEARCH);
	ck_assert_uint_lt(strlen(cmd->handle), sizeof(cmd->handle));
	ck_assert(cmd->handle[0] == '\0' ||
	    handle_valid(cmd->handle, strlen(cmd->handle)));
	ck_assert_uint_lt(strlen(cmd->lang), sizeof(cmd->lang));
	if (cmd->error == CMDERR_EMPTY)
		ck_assert_uint_eq(cmd->textlen, 0);
	else if (cmd->text != NULL)
		ck_assert(cmd->text >= buf && cmd->textlen <= len &&
		    cmd->text + cmd->textlen <= buf + len);
	if (cmd->type == CMD_POST && cmd->error == CMDERR_NONE)
		ck_assert_uint_gt(cmd->textlen, 0);
	/* DIGEST only on a TRACK that names its word; an hour or none. */
	if (cmd->digest)
		ck_assert(cmd->type == CMD_TRACK && cmd->error == CMDERR_NONE &&
		    cmd->text != NULL && cmd->textlen > 0);
	ck_assert(cmd->digest_hour >= -1 && cmd->digest_hour <= 23);
	ck_assert(cmd->digest || cmd->digest_hour == -1);
	if (cmd->type == CMD_SLEEP && cmd->error == CMDERR_NONE &&
	    cmd->sleep_from != -1) {
		ck_assert(cmd->sleep_from >= 0 && cmd->sleep_from <= 23);
		ck_assert(cmd->sleep_to >= 0 && cmd->sleep_to <= 23);
	}
}

/* Every prefix of every case, cut anywhere, even inside a UTF-8 sequence. */
START_TEST(test_prefixes)
{
	const char *in;
	size_t len, k, i;
	struct command cmd;
	char *buf;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	for (in = cases[i].in, len = strlen(in), k = 0; k <= len; k++) {
		buf = malloc(k ? k : 1);
		ck_assert_ptr_nonnull(buf);
		memcpy(buf, in, k);
		command_parse(buf, k, &cmd);
		check_sane(buf, k, &cmd);
		free(buf);
	}
}
END_TEST

START_TEST(test_random)
{
	static const char *pieces[] = {
		"stop", "STOP", "follow", "d", "@", "＠", "alice", " ", "  ",
		"\n", "\xc2\xa0", "sleep", "23", "-", "7", "pm", "lang", "ar",
		"تابع", "ـ", "\xd8", "\xff", "\xe2\x80", "?", "!", "٢", "on",
		"off", "\0", "é", "e\xcc\x81", "please", "name", "x",
		"track", "digest", "résumé", "ملخص", "18h", "at", "pm"
	};
	unsigned int seed = 4242;
	char buf[64];
	struct command cmd;
	size_t n, pl, np = sizeof(pieces) / sizeof(pieces[0]);
	int i;

	for (i = 0; i < 20000; i++) {
		n = 0;
		for (;;) {
			seed = seed * 1103515245 + 12345;
			const char *p = pieces[(seed >> 16) % np];
			pl = p[0] == '\0' ? 1 : strlen(p);
			if (n + pl > sizeof(buf) || (seed >> 8) % 7 == 0)
				break;
			memcpy(buf + n, p, pl);
			n += pl;
		}
		char *heap = malloc(n ? n : 1);
		ck_assert_ptr_nonnull(heap);
		memcpy(heap, buf, n);
		command_parse(heap, n, &cmd);
		check_sane(heap, n, &cmd);
		free(heap);
	}
}
END_TEST

START_TEST(test_bytes)
{
	struct command cmd;
	char *big;
	size_t n = 200000, i;

	/* invalid UTF-8 never matches a keyword, and never crashes */
	command_parse("\xff\xfe", 2, &cmd);
	ck_assert_int_eq(cmd.type, CMD_POST);
	ck_assert_uint_eq(cmd.textlen, 2);
	command_parse("STOP\xff", 5, &cmd);
	ck_assert_int_eq(cmd.type, CMD_POST);
	command_parse("STOP \xff", 6, &cmd);	/* the first word wins */
	ck_assert_int_eq(cmd.type, CMD_STOP);
	command_parse("follow \xc3", 8, &cmd);
	ck_assert_int_eq(cmd.type, CMD_FOLLOW);
	ck_assert_int_eq(cmd.error, CMDERR_BAD_HANDLE);
	command_parse("\xc3", 1, &cmd);
	ck_assert_int_eq(cmd.type, CMD_POST);
	ck_assert_uint_eq(cmd.textlen, 1);
	command_parse("STOP\0", 5, &cmd);	/* a NUL is not a space */
	ck_assert_int_eq(cmd.type, CMD_POST);
	ck_assert_uint_eq(cmd.textlen, 5);
	command_parse("STOP please", 4, &cmd);	/* len, not the NUL, ends it */
	ck_assert_int_eq(cmd.type, CMD_STOP);
	command_parse(NULL, 0, &cmd);
	ck_assert_int_eq(cmd.error, CMDERR_EMPTY);
	ck_assert_ptr_nonnull(cmd.text);
	command_parse(NULL, 5, &cmd);
	ck_assert_int_eq(cmd.error, CMDERR_EMPTY);

	/* long inputs: one huge word, all spaces, STOP and many words */
	big = malloc(n);
	ck_assert_ptr_nonnull(big);
	memset(big, 'a', n);
	command_parse(big, n, &cmd);
	ck_assert_int_eq(cmd.type, CMD_POST);
	ck_assert_uint_eq(cmd.textlen, n);
	memset(big, ' ', n);
	command_parse(big, n, &cmd);
	ck_assert_int_eq(cmd.error, CMDERR_EMPTY);
	for (i = 0; i + 5 <= n; i += 5)
		memcpy(big + i, "stop ", 5);
	command_parse(big, n, &cmd);
	ck_assert_int_eq(cmd.type, CMD_STOP);
	memcpy(big, "end  ", 5);
	command_parse(big, n, &cmd);	/* every word a STOP word */
	ck_assert_int_eq(cmd.type, CMD_STOP);
	memcpy(big, "NAME ", 5);
	command_parse(big, n, &cmd);
	ck_assert_int_eq(cmd.type, CMD_NAME);
	ck_assert_ptr_eq(cmd.text, big + 5);
	memcpy(big, "D al ", 5);
	command_parse(big, n, &cmd);
	ck_assert_int_eq(cmd.type, CMD_DM);
	ck_assert_str_eq(cmd.handle, "al");
	memset(big, 'x', 100);	/* a long first word: not a keyword */
	command_parse(big, n, &cmd);
	ck_assert_int_eq(cmd.type, CMD_POST);
	free(big);
}
END_TEST

/* Loose keywords tell pigeon_apply so: a member's handle nobody has
 * makes the message a post ("tbe3 lmatch"). */
START_TEST(test_loose)
{
	static const struct { const char *in; int loose; } c[] = {
		{ "tbe3 lmatch", 1 }, { "jib karim", 1 }, { "tsejjel karim", 1 },
		{ "7iyed karim", 1 }, { "انضم karim", 1 }, { "اتبع karim", 1 },
		{ "جيب karim", 1 }, { "FOLLOW karim", 0 }, { "تابع karim", 0 },
		{ "ON alice", 0 }, { "baraka", 0 }, { "3awni", 0 },
		{ "tbe3 l'match", 0 },	/* a post: nothing loose about it */
		{ "tbe3 @lmatch", 0 },	/* the '@' says a handle is meant */
		/* A dash glued to more letters also makes compound words:
		 * "Follow-up" is a post unless someone is @up. Not a DM. */
		{ "Follow-up", 1 }, { "FOLLOW,karim", 0 }, { "F-@karim", 0 },
		{ "D-alice hi", 0 },
	};
	struct command cmd;

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		command_parse(c[i].in, strlen(c[i].in), &cmd);
		ck_assert_msg(cmd.loose == c[i].loose, "\"%s\": loose %d",
		    c[i].in, cmd.loose);
	}
}
END_TEST

/* A handle written with '@' tells pigeon_apply so: "OFF @bobb" where
 * nobody is called bobb was published to every follower as a post. */
START_TEST(test_at)
{
	static const struct { const char *in; int at; } c[] = {
		{ "OFF @bobb", 1 }, { "on @Alice", 1 }, { "OFF bobb", 0 },
		{ "On verra", 0 }, { "désactiver ＠bob", 1 }, { "FOLLOW @alice", 1 },
		{ "FOLLOW alice", 0 }, { "tbe3 @lmatch", 1 }, { "tbe3 lmatch", 0 },
		{ "D @alice hi", 1 }, { "D alice hi", 0 }, { "OFF", 0 },
		{ "@alice hi", 0 },	/* a post */
	};
	struct command cmd;

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		command_parse(c[i].in, strlen(c[i].in), &cmd);
		ck_assert_msg(cmd.at == c[i].at, "\"%s\": at %d", c[i].in, cmd.at);
	}
}
END_TEST

/* JOIN's keyword and more than a name: a post, marked so that a
 * stranger gets JOIN's usage in the keyword's language (the join hint
 * told them to do what they did, and came once a day). */
START_TEST(test_join_words)
{
	static const struct { const char *in; int jw; const char *lang; } c[] = {
		{ "JOIN karim ali", 1, "en" }, { "tsejjel karim ali", 1, "darija" },
		{ "INSCRIPTION Karim Benali", 1, "fr" },
		{ "Join us at the festival tonight!", 1, "en" },
		{ "تسجيل كريم علي", 1, "ar" },
		{ "JOIN karim", 0, "en" }, { "JOIN karim svp", 0, "en" },
		{ "FOLLOW karim ali", 0, NULL }, { "hello there", 0, NULL },
		{ "Karim joined us", 0, NULL },
	};
	struct command cmd;

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		command_parse(c[i].in, strlen(c[i].in), &cmd);
		ck_assert_msg(cmd.join_words == c[i].jw, "\"%s\": join_words %d",
		    c[i].in, cmd.join_words);
		ck_assert_msg(c[i].lang == NULL ? cmd.keyword_lang == NULL :
		    cmd.keyword_lang != NULL && strcmp(cmd.keyword_lang, c[i].lang) == 0,
		    "\"%s\": keyword_lang %s", c[i].in,
		    cmd.keyword_lang ? cmd.keyword_lang : "NULL");
		if (c[i].jw)
			ck_assert_int_eq(cmd.type, CMD_POST);
	}
}
END_TEST

/* A list with commas and no '@' keeps its handles for pigeon_apply,
 * which makes a member's list of words nobody is called a post ("Follow
 * us, friends"); a list with every '@' is a list whoever is called so. */
START_TEST(test_list_words)
{
	static const struct { const char *in; int n; const char *first, *last; } c[] = {
		{ "FOLLOW karim, nadia", 2, "karim", "nadia" },
		{ "Follow us, friends", 2, "us", "friends" },
		{ "SUIVRE Karim, nadia, ali", 3, "karim", "ali" },
		{ "تابع karim، nadia", 2, "karim", "nadia" },
		{ "follow @karim, nadia", 2, "karim", "nadia" },
		{ "FOLLOW @karim @nadia", 0, NULL, NULL },
		{ "follow @karim, @nadia", 0, NULL, NULL },
		{ "FOLLOW karim", 0, NULL, NULL },
		{ "Follow me, everyone", 0, NULL, NULL },
	};
	struct command cmd;

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		command_parse(c[i].in, strlen(c[i].in), &cmd);
		ck_assert_msg(cmd.nlist == c[i].n, "\"%s\": nlist %d", c[i].in, cmd.nlist);
		if (c[i].n == 0)
			continue;
		ck_assert_int_eq(cmd.error, CMDERR_HANDLES);
		ck_assert_str_eq(cmd.list[0], c[i].first);
		ck_assert_str_eq(cmd.list[c[i].n - 1], c[i].last);
	}
}
END_TEST

/* The Arabizi skeletons (fold.c) the Darija keywords are compared by. */
START_TEST(test_fold_darija)
{
	static const char *const same[][2] = {
		{ "tba3", "tbe3" }, { "tb3", "tebbe3" }, { "3awenni", "awni" },
		{ "7bes", "hbess" }, { "w9ef", "wqef" }, { "wa99ef", "wa9ef" },
		{ "chokran", "shukran" }, { "kolchi", "koulshi" }, { "xno", "chnu" },
		{ "bda2", "bda" }, { "baraaaka", "baraka" },
	};
	static const char *const none[] = { "", "123", "l'match", "b\xc3\xa9", "?" };
	char a[32], b[32];
	int m, n;

	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		m = fold_darija(same[i][0], strlen(same[i][0]), a, sizeof(a));
		n = fold_darija(same[i][1], strlen(same[i][1]), b, sizeof(b));
		ck_assert_msg(m > 0 && m == n && memcmp(a, b, (size_t)m) == 0,
		    "%s and %s differ", same[i][0], same[i][1]);
	}
	for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++)
		ck_assert_int_eq(fold_darija(none[i], strlen(none[i]), a,
		    sizeof(a)), -1);
	ck_assert_int_eq(fold_darija("baraka", 6, a, 4), -1);	/* too small */
	ck_assert_int_eq(fold_darija("tbe3", 4, a, sizeof(a)), 3);
	ck_assert_str_eq(a, "tba");
}
END_TEST

/* fold_text takes each Arabic presentation form as its letter(s), as
 * NFKD does for pigeon_fold: every form of Forms-B, both ends of each run. */
START_TEST(test_fold_forms)
{
	static const struct { const char *in, *word, *punct; } t[] = {
		{ "\uFE80", "\u0621", "\u0621" },		/* hamza, the first */
		{ "\uFE81\uFE82", "\u0627\u0627", "\u0622\u0622" },
		{ "\uFE89\uFE8C", "\u0626\u0626", "\u0626\u0626" },
		{ "\uFE8D\uFE8E", "\u0627\u0627", "\u0627\u0627" },
		{ "\uFE93\uFE94", "\u0647\u0647", "\u0629\u0629" },	/* ة is ه */
		{ "\uFECD\uFED0", "\u063A\u063A", "\u063A\u063A" },	/* ghain */
		{ "\uFED1\uFED4", "\u0641\u0641", "\u0641\u0641" },	/* feh */
		{ "\uFEE9\uFEEC", "\u0647\u0647", "\u0647\u0647" },
		{ "\uFEEF\uFEF0", "\u064A\u064A", "\u0649\u0649" },	/* ى is ي */
		{ "\uFEF1\uFEF4", "\u064A\u064A", "\u064A\u064A" },	/* yeh, the last */
		{ "\uFEF5", "\u0644\u0627", "\u0644\u0622" },	/* lam-alef ligatures */
		{ "\uFEF8", "\u0644\u0627", "\u0644\u0623" },
		{ "\uFEF9", "\u0644\u0627", "\u0644\u0625" },
		{ "\uFEFC", "\u0644\u0627", "\u0644\u0627" },
		{ "\uFE70\uFE71", "", "\u064B\u064B" },	/* harakat: dropped */
		{ "\uFE72\uFE74", "", "\u064C\u064D" },
		{ "\uFE76\uFE7F", "", "\u064E\u0652" },
		{ "\uFE73\uFE75", "\uFE73\uFE75", "\uFE73\uFE75" },	/* not harakat */
		{ "\uFEFD", "\uFEFD", "\uFEFD" },		/* unassigned */
		{ "\uFB50\uFB8E\uFBE8\uFBFF", "\u0627\u0643\u064A\u064A",
		  "\u0671\u06A9\u0649\u06CC" },		/* of Forms-A */
		{ "\uFB56", "\uFB56", "\uFB56" },		/* peh: left */
		{ "\uFE97\uFEEE\uFED7\uFED2", "\u062A\u0648\u0642\u0641",
		  "\u062A\u0648\u0642\u0641" },
	};
	char out[64];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		const char *e = t[i].in + strlen(t[i].in);

		ck_assert_int_eq(fold_text(t[i].in, e, FOLD_WORD, out, sizeof(out)),
		    (int)strlen(t[i].word));
		ck_assert_str_eq(out, t[i].word);
		ck_assert_int_eq(fold_text(t[i].in, e, FOLD_PUNCT, out, sizeof(out)),
		    (int)strlen(t[i].punct));
		ck_assert_str_eq(out, t[i].punct);
	}
	/* A ligature is two letters: it must fit whole. */
	ck_assert_int_eq(fold_text("\uFEFB", "\uFEFB" + 3, FOLD_WORD, out, 4), -1);
	ck_assert_int_eq(fold_text("\uFEFB", "\uFEFB" + 3, FOLD_WORD, out, 5), 4);
}
END_TEST

START_TEST(test_handle_valid)
{
	ck_assert_int_eq(handle_valid("alice", 5), 1);
	ck_assert_int_eq(handle_valid("Alice_99", 8), 1);
	ck_assert_int_eq(handle_valid("a", 1), 1);
	ck_assert_int_eq(handle_valid("_", 1), 1);
	ck_assert_int_eq(handle_valid("abcdefghijklmno", 15), 1);
	ck_assert_int_eq(handle_valid("abcdefghijklmnop", 16), 0);
	ck_assert_int_eq(handle_valid("alice", 0), 0);
	ck_assert_int_eq(handle_valid(NULL, 0), 0);
	ck_assert_int_eq(handle_valid("@alice", 6), 0);
	ck_assert_int_eq(handle_valid("al-ice", 6), 0);
	ck_assert_int_eq(handle_valid("al ice", 6), 0);
	ck_assert_int_eq(handle_valid("jos\xc3\xa9", 5), 0);
	ck_assert_int_eq(handle_valid("al\0ce", 5), 0);
	ck_assert_int_eq(handle_valid("alice-", 5), 1);	/* len counts */
}
END_TEST

/* The politeness words are no names: "JOIN please", "Inscription svp",
 * "tsejjel 3afak", "sejjelni daba" each made an account for good. */
START_TEST(test_handle_filler)
{
	static const char *const yes[] = { "please", "pls", "svp", "stp",
	    "merci", "3afak", "3fak", "3afaak", "daba", "safi", "chokran",
	    "3lia", "3liya", "mn", "sms" };
	static const char *const no[] = { "alice", "amina", "karim", "alia",
	    "aliya", "men", "pleased", "_", "daba_", "3afak1x",
	    "des", "de" };	/* STOP's links (keywords.c), but names too */

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		ck_assert_msg(handle_filler(yes[i], strlen(yes[i])), "%s", yes[i]);
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		ck_assert_msg(!handle_filler(no[i], strlen(no[i])), "%s", no[i]);
}
END_TEST

START_TEST(test_names)
{
	ck_assert_str_eq(command_name(CMD_POST), "post");
	ck_assert_str_eq(command_name(CMD_DM), "dm");
	ck_assert_str_eq(command_name(CMD_DELETE), "delete");
	ck_assert_str_eq(command_name((enum cmd_type)99), "unknown");
	ck_assert_str_eq(command_error_name(CMDERR_NONE), "none");
	ck_assert_str_eq(command_error_name(CMDERR_BAD_HOURS), "bad_hours");
	ck_assert_str_eq(command_error_name(CMDERR_EMPTY), "empty");
	ck_assert_str_eq(command_error_name((enum cmd_error)99), "unknown");
}
END_TEST

static Suite *
parse_suite(void)
{
	Suite *s = suite_create("parse");
	TCase *tc = tcase_create("commands");

	tcase_add_test(tc, test_cases);
	tcase_add_test(tc, test_prefixes);
	tcase_add_test(tc, test_random);
	tcase_add_test(tc, test_bytes);
	tcase_add_test(tc, test_loose);
	tcase_add_test(tc, test_at);
	tcase_add_test(tc, test_join_words);
	tcase_add_test(tc, test_list_words);
	tcase_add_test(tc, test_fold_darija);
	tcase_add_test(tc, test_fold_forms);
	tcase_add_test(tc, test_handle_valid);
	tcase_add_test(tc, test_handle_filler);
	tcase_add_test(tc, test_names);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(parse_suite());
}

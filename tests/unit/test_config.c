/* config.c: what an operator's pigeon.conf turns into, or which line it rejects. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "config.h"

static char path[64];

static int
load(const char *text, struct pigeon_conf *conf, char *err, size_t errlen)
{
	strcpy(path, "/tmp/pigeon-test-config.XXXXXX");
	int fd = mkstemp(path);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	int rc = config_load(path, conf, err, errlen);
	unlink(path);
	return rc;
}

START_TEST(test_design_example)
{
	struct pigeon_conf c;
	char err[512] = "";
	int rc = load(
	    "[pigeon]\nshortcode = 40404\ncountry = 212\nlanguage = fr\n\n"
	    "[database]\nconninfo = host=/run/postgresql dbname=pigeon\n\n"
	    "[http]\nlisten = 127.0.0.1:8025\ntoken = change-me\n\n"
	    "[modem bank1-a]\ndevice = /dev/serial/by-id/usb-HUAWEI-if00\n"
	    "connection = at\nroutes = +21266 +21267\nrate = 6/min 300/hour\n"
	    "\n[modem bank1-b]\ndevice = /dev/ttyUSB1\nenabled = no\n"
	    "; a comment on its own line\n# and another\n", &c, err, sizeof(err));
	ck_assert_msg(rc == 0, "%s", err);
	ck_assert_str_eq(c.shortcode, "40404");
	ck_assert_str_eq(c.country, "212");
	ck_assert_str_eq(c.language, "fr");
	ck_assert_int_eq(c.post_max, 140);
	ck_assert_str_eq(c.conninfo, "host=/run/postgresql dbname=pigeon");
	ck_assert_str_eq(c.http_listen, "127.0.0.1:8025");
	ck_assert_str_eq(c.http_token, "change-me");
	ck_assert_uint_eq(c.nmodems, 2);
	ck_assert_str_eq(c.modems[0].name, "bank1-a");
	ck_assert_str_eq(c.modems[0].device, "/dev/serial/by-id/usb-HUAWEI-if00");
	ck_assert_str_eq(c.modems[0].routes, "+21266 +21267");
	ck_assert_str_eq(c.modems[0].rate, "6/min 300/hour");
	ck_assert_int_eq(c.modems[0].enabled, 1);
	ck_assert_int_eq(c.modems[0].poll_ms, 1000);
	ck_assert_str_eq(c.modems[1].name, "bank1-b");
	ck_assert_str_eq(c.modems[1].connection, "at");
	ck_assert_int_eq(c.modems[1].enabled, 0);
	ck_assert_ptr_eq(config_modem(&c, "bank1-b"), &c.modems[1]);
	ck_assert_ptr_null(config_modem(&c, "bank9"));
	ck_assert(c.hostname[0] != '\0');
	config_free(&c);
}
END_TEST

START_TEST(test_defaults)
{
	struct pigeon_conf c;
	char err[512] = "";
	ck_assert_msg(load("[database]\nconninfo = dbname=p\n", &c, err, sizeof(err)) == 0,
	    "%s", err);
	ck_assert_str_eq(c.shortcode, "40404");
	ck_assert_str_eq(c.country, "212");
	ck_assert_str_eq(c.language, "fr");
	ck_assert_str_eq(c.http_listen, "127.0.0.1:8025");
	ck_assert_int_eq(c.lease_seconds, 120);
	ck_assert_uint_eq(c.nmodems, 0);
	config_free(&c);
}
END_TEST

START_TEST(test_gammurc_section_pasted)
{
	struct pigeon_conf c;
	char err[512] = "";
	int rc = load("[database]\nconninfo = dbname=p\n[modem usb0]\n"
	    "device = /dev/ttyUSB0\nname = Huawei E173\nconnection = at19200\n"
	    "model = \nsynchronizetime = yes\nlogfile = /tmp/g.log\nlogformat = textall\n",
	    &c, err, sizeof(err));
	ck_assert_msg(rc == 0, "%s", err);
	ck_assert_str_eq(c.modems[0].connection, "at19200");
	ck_assert_str_eq(c.modems[0].logformat, "textall");
	config_free(&c);
}
END_TEST

static const struct {
	const char *text;
	const char *error;	/* a part of the one line that explains it */
} bad[] = {
	{ "[pigeon]\ncountry = 212\n", "[database] conninfo: is required" },
	{ "[database]\nconninfo = x\n[pigeon]\npost_max = 0\n",
	  "[pigeon] post_max: '0' is not a number from 1 to 1000" },
	{ "[database]\nconninfo = x\n[pigeon]\nlanguage = de\n",
	  "[pigeon] language: 'de' is not one of en, fr, ar" },
	{ "[database]\nconninfo = x\n[pigeon]\ncountry = +212\n",
	  "[pigeon] country: '+212' is not all digits" },
	{ "[database]\nconninfo = x\n[pigeon]\nshortcod = 1\n",
	  "[pigeon] shortcod: unknown key" },
	{ "[database]\nconninfo = x\n[pigeon]\ncountry = 212\ncountry = 213\n",
	  "[pigeon] country: given twice" },
	{ "[database]\nconninfo = x\n[pigeon]\ncountry = 212 ; Morocco\n",
	  "put comments on their own line" },
	{ "[database]\nconninfo = x\n[http]\nlisten = 8025\n",
	  "[http] listen: '8025' is not host:port" },
	{ "[database]\nconninfo = x\n[modem a]\nconnection = at\n",
	  "[modem a] device: is required" },
	{ "[database]\nconninfo = x\n[modem a]\ndevice = /d\nenabled = maybe\n",
	  "[modem a] enabled: 'maybe' is not yes or no" },
	{ "[database]\nconninfo = x\n[modem a]\ndevice = /d\n[modem a]\ndevice = /e\n",
	  "[modem a]: modem given twice" },
	{ "[database]\nconninfo = x\n[modem bad/name]\ndevice = /d\n",
	  "modem names are 1-32 of letters" },
	{ "[database]\nconninfo = x\n[modems]\ndevice = /d\n", "[modems]: unknown section" },
	{ "[database\nconninfo = x\n", "not a valid INI file" },
	{ "", "the file is empty" },
};

START_TEST(test_bad)
{
	struct pigeon_conf c;
	char err[512] = "";
	ck_assert_int_eq(load(bad[_i].text, &c, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, bad[_i].error) != NULL, "got \"%s\", want \"%s\"",
	    err, bad[_i].error);
	ck_assert_ptr_null(strchr(err, '\n'));
	ck_assert_ptr_nonnull(strstr(err, path));
}
END_TEST

START_TEST(test_missing_file)
{
	struct pigeon_conf c;
	char err[512] = "";
	ck_assert_int_eq(config_load("/nonexistent/pigeon.conf", &c, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "/nonexistent/pigeon.conf: No such file or directory");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("config");
	tcase_add_test(tc, test_design_example);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_gammurc_section_pasted);
	tcase_add_loop_test(tc, test_bad, 0, sizeof(bad) / sizeof(bad[0]));
	tcase_add_test(tc, test_missing_file);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

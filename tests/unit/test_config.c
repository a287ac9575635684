/* config.c: what an operator's pigeon.conf turns into, or which line it rejects. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <check.h>

#include "unit.h"

#include "config.h"

#define T	"0123456789abcdef0123456789abcdef"

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
	    "[http]\nlisten = 127.0.0.1:8025\ntoken = 0123456789abcdef0123456789abcdef\n\n"
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
	ck_assert_str_eq(c.http_token, "0123456789abcdef0123456789abcdef");
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

/* A file saved by an editor that writes a byte order mark. */
START_TEST(test_byte_order_mark)
{
	struct pigeon_conf c;
	char err[512] = "";
	ck_assert_msg(load("\xef\xbb\xbf[database]\nconninfo = dbname=p\n", &c, err,
	    sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(c.conninfo, "dbname=p");
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
	  ":5: [pigeon] country: given twice (first at line 4)" },
	{ "[database]\nconninfo = x\n[pigeon]\ncountry = 212 ; Morocco\n",
	  "put comments on their own line" },
	{ "[database]\nconninfo = x\n[http]\nlisten = 8025\n",
	  "[http] listen: '8025' is not host:port" },
	/* Port 0 takes any free port: where it is said must be given. */
	{ "[database]\nconninfo = x\n[http]\nlisten = 127.0.0.1:0\n",
	  ":4: [http] listen: port 0 (any free port) needs port_file" },
	{ "[database]\nconninfo = x\n[http]\nlisten = 127.0.0.1:0\nport_file = run/port\n",
	  ":5: [http] port_file: 'run/port' is not an absolute path of a file" },
	{ "[database]\nconninfo = x\n[http]\nport_file = /tmp/\n",
	  ":4: [http] port_file: '/tmp/' is not an absolute path of a file" },
	{ "[database]\nconninfo = x\n[http]\nport_file = /nonexistent/port\n",
	  ":4: [http] port_file: /nonexistent: No such file or directory" },
	{ "[database]\nconninfo = x\n[http]\nport_file = /etc/hostname/port\n",
	  ":4: [http] port_file: /etc/hostname: not a directory" },
	{ "[database]\nconninfo = x\n[http]\nlisten = 127.0.0.1:65536\n",
	  "[http] listen: '127.0.0.1:65536' is not host:port" },
	{ "[database]\nconninfo = x\n[modem a]\nconnection = at\n",
	  "[modem a] device: is required" },
	{ "[database]\nconninfo = x\n[modem a]\ndevice = /d\nenabled = maybe\n",
	  "[modem a] enabled: 'maybe' is not yes or no" },
	{ "[database]\nconninfo = x\n[modem a]\ndevice = /d\n[modem a]\ndevice = /e\n",
	  ":5: [modem a]: section given twice (first at line 3)" },
	{ "[database]\nconninfo = x\n[modem bad/name]\ndevice = /d\n",
	  "modem names are 1-32 of letters" },
	{ "[database]\nconninfo = x\n[modems]\ndevice = /d\n", "[modems]: unknown section" },
	{ "[database\nconninfo = x\n", ":1: '[database': a section header without its ']'" },
	/* Issue 15: what libgammu's reader dropped or misread silently. */
	{ "[database]\nconninfo = x\n[modem a]\ndevice = /d\n[modem b\ndevice = /e\n",
	  ":5: '[modem b': a section header without its ']'" },
	{ "[database]\nconninfo = x\n[pigeon]\ncountry 212\n",
	  ":4: [pigeon]: 'country 212' is not 'key = value'" },
	{ "country = 212\n[database]\nconninfo = x\n",
	  ":1: 'country = 212' comes before any [section]" },
	{ "[database]\nconninfo = x\n\n[modem a]\ndevice = \"/dev/ttyUSB0\"\n",
	  ":5: [modem a] device: the quotes would be part of the value" },
	{ "[database]\nconninfo = x\n[http]\ntoken_file = /nonexistent/token\n",
	  ":4: [http] token_file: /nonexistent/token: No such file or directory" },
	{ "[database]\nconninfo = x\n[http]\ntoken = " T "\ntoken_file = /etc/hostname\n",
	  ":5: [http] token_file: give token or token_file, not both" },
	{ "[database]\nconninfo = x\n[http]\ntoken = change-me\n",
	  ":4: [http] token: shorter than 32 characters" },
	{ "[database]\nconninfo = x\n[http]\nwebhooks = https://example.org/hook\n",
	  ":4: [http] webhooks: 'https://example.org/hook': https is not supported" },
	{ "[database]\nconninfo = x\n[http]\nwebhooks = http://127.0.0.1/a junk\n",
	  ":4: [http] webhooks: 'junk' is not an http://host[:port]/path URL" },
	{ "[database]\nconninfo = x\n[http]\npublic_url = https://pigeon.example.ma/feeds\n",
	  ":4: [http] public_url: 'https://pigeon.example.ma/feeds' is not an "
	  "http[s]://host[:port] URL" },
	{ "[database]\nconninfo = x\n[http]\npublic_url = pigeon.example.ma\n",
	  ":4: [http] public_url: 'pigeon.example.ma' is not an http[s]://host[:port] URL" },
	{ "[database]\nconninfo = x\n[pigeon]\ntimezone = Mars/Olympus\n",
	  ":4: [pigeon] timezone: 'Mars/Olympus' is not a time zone known here" },
	{ "[database]\nconninfo = x\n[pigeon]\ntimezone = ../../etc/passwd\n",
	  ":4: [pigeon] timezone: '../../etc/passwd' is not a time zone name" },
	{ "[database]\nconninfo = x\n[modem a]\ndevice = /dev/ttyUSB0\n\n"
	  "[modem b]\nconnection = at\ndevice = /dev/ttyUSB0\n",
	  ":8: [modem b] device: '/dev/ttyUSB0' is also the device of [modem a] (line 4)" },
	{ "[database]\nconninfo = x\n[modem a]\ndevice = /dev/null\n"
	  "[modem b]\nport = /dev/../dev/null\n",
	  ":6: [modem b] port: '/dev/../dev/null' is also the device of [modem a] (line 4)" },
	{ "[database]\nconninfo = x\n[modem a]\ndevice = /d\nport = /e\n",
	  ":5: [modem a] port: give device or port (gammurc's older name), not both" },
	{ "[database]\nconninfo = x\n[modem-defaults]\ndevice = /d\n",
	  ":4: [modem-defaults] device: each [modem NAME] gives its own device" },
	{ "[database]\nconninfo = x\n[modem-defaults]\nrate = 6/sec\n[modem a]\ndevice = /d\n",
	  ":4: [modem-defaults] rate: '6/sec' is not like 6/min" },
	/* The limiter holds 100000 sends a window: more was silently 100000. */
	{ "[database]\nconninfo = x\n[modem a]\ndevice = /d\nrate = 6/min 100001/day\n",
	  ":5: [modem a] rate: '100001/day': at most 100000 a minute, hour or day" },
	{ "[database]\nconninfo = x\n[smpp c]\nhost = 127.0.0.1\nsystem_id = a\n"
	  "password = b\nrate = 200/s 500000/day\n",
	  ":7: [smpp c] rate: '500000/day': at most 100000 a minute, hour or day" },
	{ "[database]\nconninfo = x\n[smpp c]\nhost = 127.0.0.1\nsystem_id = a\n"
	  "password = b\ndest_ton = 7\n",
	  ":7: [smpp c] dest_ton: '7' is not a number from 0 to 6" },
	/* SMPP 3.4's sizes: pigeon-smpp cut a longer value, and the bind
	 * was refused for a password that was right. */
	{ "[database]\nconninfo = x\n[smpp c]\nhost = 127.0.0.1\nsystem_id = a\n"
	  "password = 0123456789\n",
	  ":6: [smpp c] password: the password is 10 characters; SMPP 3.4 takes at most 8" },
	{ "[database]\nconninfo = x\n[smpp c]\nhost = 127.0.0.1\n"
	  "system_id = pigeon-media-casa\npassword = b\n",
	  ":5: [smpp c] system_id: the system_id is 17 characters; SMPP 3.4 takes at most 15" },
	{ "[database]\nconninfo = x\n[smpp c]\nhost = 127.0.0.1\nsystem_id = a\n"
	  "password = b\nsystem_type = VMA-PROMOTIONS\n",
	  ":7: [smpp c] system_type: the system_type is 14 characters; SMPP 3.4 takes at most 12" },
	{ "[database]\nconninfo = x\n[smpp c]\nhost = 127.0.0.1\nsystem_id = a\n"
	  "password = b\nsource_addr = PigeonMediaMorocco2026\n",
	  ":7: [smpp c] source_addr: the source_addr is 22 characters; SMPP 3.4 takes at most 20" },
	{ "[database]\nconninfo = x\n[pigeon]\nlog_level = loud\n",
	  ":4: [pigeon] log_level: 'loud' is not one of error, warning, info, debug" },
	{ "[database]\nconninfo = x\n[pigeon]\nmodem_program = /nonexistent/pigeon-modem\n",
	  ":4: [pigeon] modem_program: /nonexistent/pigeon-modem: No such file" },
	{ "[database]\nconninfo = x\n[pigeon]\n[pigeon]\n",
	  ":4: [pigeon]: section given twice (first at line 3)" },
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

/* [modem-defaults] spares 64 sections the same three lines; a modem's
 * own key wins; gammurc's "port" names the device. */
START_TEST(test_modem_defaults)
{
	struct pigeon_conf c;
	char err[512] = "";
	int rc = load("[database]\nconninfo = dbname=p\n"
	    "[modem a]\ndevice = /dev/ttyUSB0\n"
	    "[modem b]\nport = /dev/ttyUSB1\nrate = 1/min\n"
	    "[modem-defaults]\nconnection = at115200\nrate = 6/min 300/hour\nreport = yes\n",
	    &c, err, sizeof(err));
	ck_assert_msg(rc == 0, "%s", err);
	ck_assert_str_eq(c.modems[0].connection, "at115200");
	ck_assert_int_eq(c.modems[0].rate_min, 6);
	ck_assert_int_eq(c.modems[0].rate_hour, 300);
	ck_assert_int_eq(c.modems[0].report, 1);
	ck_assert_str_eq(c.modems[1].device, "/dev/ttyUSB1");
	ck_assert_int_eq(c.modems[1].rate_min, 1);
	ck_assert_int_eq(c.modems[1].rate_hour, 0);
	ck_assert_int_eq(c.modems[1].report, 1);
	ck_assert_uint_eq(c.nmodems, 2);
	config_free(&c);
}
END_TEST

/* The largest count each unit takes; /s is the worker's (smpp/submit.c),
 * not the windows' ring. */
START_TEST(test_rate_max)
{
	struct pigeon_conf c;
	char err[512] = "";
	int rc = load("[database]\nconninfo = x\n"
	    "[modem a]\ndevice = /d\nrate = 100000/min 100000/hour 100000/day\n"
	    "[smpp c]\nhost = 127.0.0.1\nsystem_id = a\npassword = b\n"
	    "rate = 200000/s 100000/day\n", &c, err, sizeof(err));
	ck_assert_msg(rc == 0, "%s", err);
	ck_assert_int_eq(c.modems[0].rate_min, CONFIG_RATE_MAX);
	ck_assert_int_eq(c.modems[0].rate_hour, CONFIG_RATE_MAX);
	ck_assert_int_eq(c.modems[0].rate_day, CONFIG_RATE_MAX);
	ck_assert_int_eq(c.modems[1].rate_sec, 200000);
	ck_assert_int_eq(c.modems[1].rate_day, CONFIG_RATE_MAX);
	config_free(&c);
}
END_TEST

/* The recipients' TON/NPI (docs/carrier.md): 1/1 unless the carrier
 * wants national numbers; pigeon-smpp read keys pigeond refused. */
START_TEST(test_smpp_dest_ton)
{
	struct pigeon_conf c;
	char err[512] = "";
	int rc = load("[database]\nconninfo = x\n"
	    "[smpp c]\nhost = 127.0.0.1\nsystem_id = a\npassword = b\n"
	    "[smpp d]\nhost = 127.0.0.1\nsystem_id = a\npassword = b\n"
	    "dest_ton = 2\ndest_npi = 1\n", &c, err, sizeof(err));
	ck_assert_msg(rc == 0, "%s", err);
	ck_assert_int_eq(c.modems[0].dest_ton, 1);
	ck_assert_int_eq(c.modems[0].dest_npi, 1);
	ck_assert_int_eq(c.modems[1].dest_ton, 2);
	ck_assert(config_modem_needs_restart(&c.modems[0], &c.modems[1]));
	config_free(&c);
}
END_TEST

/* Issue 14: a token others can read is refused, in the file or beside it. */
START_TEST(test_secret_files)
{
	struct pigeon_conf c;
	char err[512] = "", tok[64], text[256];

	ck_assert_int_eq(load("[database]\nconninfo = x\n[http]\ntoken = " T "\n", &c,
	    err, sizeof(err)), 0);
	config_free(&c);

	/* load() unlinks its file: write one that stays for the chmod. */
	strcpy(path, "/tmp/pigeon-test-config.XXXXXX");
	int fd = mkstemp(path);
	const char *conf = "[database]\nconninfo = x\n[http]\ntoken = " T "\n";
	ck_assert_int_eq(write(fd, conf, strlen(conf)), (ssize_t)strlen(conf));
	close(fd);
	chmod(path, 0644);
	ck_assert_int_eq(config_load(path, &c, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "holds a secret") && strstr(err, "mode 0644"), "%s", err);
	chmod(path, 0666);
	ck_assert_int_eq(config_load(path, &c, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "writable by others"), "%s", err);
	unlink(path);

	strcpy(tok, "/tmp/pigeon-test-token.XXXXXX");
	fd = mkstemp(tok);
	ck_assert_int_eq(write(fd, T "\n", 33), 33);
	close(fd);
	chmod(tok, 0644);
	snprintf(text, sizeof(text), "[database]\nconninfo = x\n[http]\ntoken_file = %s\n", tok);
	ck_assert_int_eq(load(text, &c, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, ":4: [http] token_file:") &&
	    strstr(err, "holds the token and others can read it"), "%s", err);
	chmod(tok, 0640);
	ck_assert_msg(load(text, &c, err, sizeof(err)) == 0, "%s", err);
	config_free(&c);
	unlink(tok);
}
END_TEST

/* listen's port 0 with a port_file: pigeond takes any free port and
 * says which there (test_startup runs it). */
START_TEST(test_port_zero)
{
	struct pigeon_conf c;
	char err[512] = "";

	ck_assert_msg(load("[database]\nconninfo = x\n[http]\nlisten = 127.0.0.1:0\n"
	    "port_file = /tmp/pigeon-http.port\n", &c, err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(c.http_listen, "127.0.0.1:0");
	ck_assert_str_eq(c.http_port_file, "/tmp/pigeon-http.port");
	config_free(&c);
	ck_assert_msg(load("[database]\nconninfo = x\n", &c, err, sizeof(err)) == 0,
	    "%s", err);
	ck_assert_str_eq(c.http_port_file, "");
	config_free(&c);
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
	tcase_add_test(tc, test_port_zero);
	tcase_add_test(tc, test_modem_defaults);
	tcase_add_test(tc, test_rate_max);
	tcase_add_test(tc, test_smpp_dest_ton);
	tcase_add_test(tc, test_byte_order_mark);
	tcase_add_test(tc, test_secret_files);
	suite_add_tcase(s, tc);
	return unit_run(s);
}

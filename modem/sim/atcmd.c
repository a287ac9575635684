/*
 * atcmd.c: the AT commands the simulated modem knows, each answering with
 * information lines (at_info) and a result (R_*); at.c frames and sends
 * them. Anything else gets ERROR.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "at.h"
#include "sim.h"

static int cmgs_len;			/* <length> of the last AT+CMGS */

/*
 * Splits "a,\"b,c\",,d" into at most max fields, quotes removed; returns
 * the count, or -1 when there are more or a field is too long.
 */
static int
at_args(const char *s, char out[][64], int max)
{
	int n = 0, q = 0;
	size_t o = 0;

	if (*s == '\0')
		return 0;
	out[0][0] = '\0';
	for (; ; s++) {
		if (*s == '\0' || (*s == ',' && !q)) {
			out[n++][o] = '\0';
			if (*s == '\0')
				return n;
			if (n == max)
				return -1;
			o = 0;
			continue;
		}
		if (*s == '"') {
			q = !q;
			continue;
		}
		if (o + 1 >= 64)
			return -1;
		out[n][o++] = *s;
	}
}

/* Strings in answers follow AT+CSCS: UCS2 means hex of each character. */
static const char *
at_str(const char *s)
{
	static char buf[4 * SIM_MAX_NUMBER * 2 + 1];
	size_t o = 0;

	if (strcmp(at_set.cscs, "UCS2") != 0)
		return s;
	for (; *s != '\0' && o + 5 < sizeof(buf); s++)
		o += snprintf(buf + o, sizeof(buf) - o, "%04X",
		    (unsigned char)*s);
	buf[o] = '\0';
	return buf;
}

/* Identification: AT+CGMI, +CGMM, +CGMR, +CGSN, +CIMI. */
static int
cmd_ident(const char *name, int type, const char *args)
{
	if (type == T_TEST)
		return R_OK;
	if (type != T_EXEC)
		return R_ERROR;
	if (strcmp(name, "+CIMI") == 0)
		at_info("%s", at_id.imsi);
	else if (strstr(name, "MI") != NULL)
		at_info("%s", at_id.manufacturer);
	else if (strstr(name, "MM") != NULL)
		at_info("%s", at_id.model);
	else if (strstr(name, "MR") != NULL)
		at_info("Revision: %s", at_id.revision);
	else
		at_info("%s", at_id.imei);
	return R_OK;
}

/* Settings that are a single integer in a range. */
static int
cmd_setting(const char *name, int type, const char *args)
{
	static const struct {
		const char *name;
		int	*var;
		int	 max;
		const char *range;
	} tab[] = {
		{ "+CMEE", &at_set.cmee, 2, "(0-2)" },
		{ "+CREG", &at_set.creg, 2, "(0-2)" },
		{ "+CGREG", &at_set.cgreg, 2, "(0-2)" },
		{ "+CMMS", &at_set.cmms, 2, "(0-2)" },
	};
	size_t i;
	int v;

	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (strcmp(tab[i].name, name) == 0)
			break;
	if (i == sizeof(tab) / sizeof(tab[0]))
		return R_ERROR;
	switch (type) {
	case T_TEST:
		at_info("%s: %s", name, tab[i].range);
		return R_OK;
	case T_SET:
		if (parse_int(args, 0, tab[i].max, &v) == -1)
			return at_cme(4);
		*tab[i].var = v;
		return R_OK;
	case T_READ:
		if (tab[i].var == &at_set.creg || tab[i].var == &at_set.cgreg) {
			struct sim_faults f;
			at_faults(&f);
			if (*tab[i].var == 2 && (f.network == 1 || f.network == 5))
				at_info("%s: 2,%d,\"00A1\",\"1B2C\"", name, f.network);
			else
				at_info("%s: %d,%d", name, *tab[i].var, f.network);
		} else
			at_info("%s: %d", name, *tab[i].var);
		return R_OK;
	}
	return R_ERROR;
}

/* Network and status queries, fixed answers of a healthy modem. */
static int
cmd_status(const char *name, int type, const char *args)
{
	if (strcmp(name, "+CPIN") == 0)
		return pin_cpin(type, args);
	if (strcmp(name, "+CFUN") == 0) {
		if (type == T_READ)
			at_info("+CFUN: 1");
		else if (type == T_TEST)
			at_info("+CFUN: (0,1),(0,1)");
		return R_OK;
	}
	if (strcmp(name, "+CSQ") == 0) {
		if (type == T_TEST)
			at_info("+CSQ: (0-31,99),(0-7,99)");
		else if (type == T_EXEC) {
			struct sim_faults f;
			at_faults(&f);
			at_info("+CSQ: %d,%d", f.signal, f.signal == 99 ? 99 : 0);
		}
		else
			return R_ERROR;
		return R_OK;
	}
	if (strcmp(name, "+CBC") == 0) {
		if (type != T_EXEC)
			return type == T_TEST ? R_OK : R_ERROR;
		at_info("+CBC: 0,100");
		return R_OK;
	}
	if (strcmp(name, "+CGATT") == 0) {
		if (type == T_READ)
			at_info("+CGATT: 1");
		return R_OK;
	}
	if (strcmp(name, "+CCLK") == 0) {
		char buf[40];
		time_t t = time(NULL);
		struct tm tm;
		long q;

		if (type != T_READ)
			return R_OK;	/* setting the clock: accepted, ignored */
		localtime_r(&t, &tm);
		q = tm.tm_gmtoff / 900;
		strftime(buf, sizeof(buf), "%y/%m/%d,%H:%M:%S", &tm);
		at_info("+CCLK: \"%s%c%02ld\"", buf, q < 0 ? '-' : '+',
		    q < 0 ? -q : q);
		return R_OK;
	}
	return R_ERROR;
}

static int
cmd_cops(const char *name, int type, const char *args)
{
	char a[AT_MAX_ARGS][64];
	int n, mode, f;
	char mccmnc[8];
	struct sim_faults flt;

	at_faults(&flt);
	if (flt.operator != 0)
		snprintf(mccmnc, sizeof(mccmnc), "%d", flt.operator);
	else
		snprintf(mccmnc, sizeof(mccmnc), "%.5s", at_id.imsi);
	if (type == T_READ && flt.network != 1 && flt.network != 5) {
		at_info("+COPS: 0");		/* not registered: no operator */
		return R_OK;
	}
	switch (type) {
	case T_TEST:
		at_info("+COPS: (2,\"PIGEON SIM\",\"PIGEON\",\"%s\"),,(0-4),"
		    "(0-2)", mccmnc);
		return R_OK;
	case T_READ:
		if (at_set.cops_format == 2)
			at_info("+COPS: 0,2,\"%s\"", mccmnc);
		else
			at_info("+COPS: 0,%d,\"%s\"", at_set.cops_format,
			    at_str(at_set.cops_format ? "PIGEON" : "PIGEON SIM"));
		return R_OK;
	case T_SET:
		if ((n = at_args(args, a, AT_MAX_ARGS)) < 1 ||
		    parse_int(a[0], 0, 4, &mode) == -1)
			return at_cme(4);
		if (n >= 2 && a[1][0] != '\0') {
			if (parse_int(a[1], 0, 2, &f) == -1)
				return at_cme(4);
			at_set.cops_format = f;
		}
		return R_OK;
	}
	return R_OK;
}

static int
cmd_cscs(const char *name, int type, const char *args)
{
	char a[AT_MAX_ARGS][64];

	switch (type) {
	case T_TEST:
		at_info("+CSCS: (\"GSM\",\"IRA\",\"UCS2\")");
		return R_OK;
	case T_READ:
		at_info("+CSCS: \"%s\"", at_set.cscs);
		return R_OK;
	case T_SET:
		if (at_args(args, a, AT_MAX_ARGS) != 1 ||
		    (strcmp(a[0], "GSM") != 0 && strcmp(a[0], "IRA") != 0 &&
		    strcmp(a[0], "UCS2") != 0))
			return at_cme(4);
		snprintf(at_set.cscs, sizeof(at_set.cscs), "%.7s", a[0]);
		return R_OK;
	}
	return R_ERROR;
}

static int
cmd_cnmi(const char *name, int type, const char *args)
{
	static const int max[5] = { 3, 3, 3, 2, 1 };
	char a[AT_MAX_ARGS][64];
	int n, i, v[5];

	switch (type) {
	case T_TEST:
		at_info("+CNMI: (0-3),(0-3),(0,2),(0-2),(0,1)");
		return R_OK;
	case T_READ:
		at_info("+CNMI: %d,%d,%d,%d,%d", at_set.cnmi[0], at_set.cnmi[1],
		    at_set.cnmi[2], at_set.cnmi[3], at_set.cnmi[4]);
		return R_OK;
	case T_SET:
		if ((n = at_args(args, a, AT_MAX_ARGS)) < 1 || n > 5)
			return at_cms(303);
		memcpy(v, at_set.cnmi, sizeof(v));
		for (i = 0; i < n; i++)
			if (a[i][0] != '\0' && parse_int(a[i], 0, max[i], &v[i]))
				return at_cms(303);
		memcpy(at_set.cnmi, v, sizeof(v));
		return R_OK;
	}
	return R_ERROR;
}

/* SMS service settings: mode, service centre, parameters, memories. */
static int
cmd_smsconf(const char *name, int type, const char *args)
{
	char a[AT_MAX_ARGS][64];
	int n, v, i, used = store_used();

	if (strcmp(name, "+CMGF") == 0) {
		if (type == T_READ)
			at_info("+CMGF: 0");
		else if (type == T_TEST)
			at_info("+CMGF: (0)");
		else if (type == T_SET && strcmp(args, "0") != 0)
			return R_ERROR;		/* no text mode */
		return R_OK;
	}
	if (strcmp(name, "+CSCA") == 0) {
		if (type == T_READ) {
			at_info("+CSCA: \"%s\",%d", at_str(at_set.smsc),
			    at_set.smsc_type);
		} else if (type == T_SET) {
			n = at_args(args, a, AT_MAX_ARGS);
			if (n < 1 || n > 2 || a[0][0] == '\0' ||
			    strlen(a[0]) >= sizeof(at_set.smsc) ||
			    (n == 2 && parse_int(a[1], 0, 255, &v) == -1))
				return at_cms(304);
			memcpy(at_set.smsc, a[0], strlen(a[0]) + 1);
			at_set.smsc_type = n == 2 ? v : a[0][0] == '+' ? 145 : 129;
		}
		return R_OK;
	}
	if (strcmp(name, "+CSMP") == 0) {
		if (type == T_READ)
			at_info("+CSMP: 17,167,0,0");
		return R_OK;
	}
	if (strcmp(name, "+CSMS") == 0) {
		if (type == T_READ)
			at_info("+CSMS: 0,1,1,1");
		else if (type == T_TEST)
			at_info("+CSMS: (0,1)");
		else if (type == T_SET) {
			if (parse_int(args, 0, 1, &v) == -1)
				return at_cms(303);
			at_info("+CSMS: 1,1,1");
		}
		return R_OK;
	}
	if (strcmp(name, "+CSDH") == 0)
		return R_OK;			/* text mode only: harmless */
	/* +CPMS */
	switch (type) {
	case T_TEST:
		at_info("+CPMS: (\"SM\"),(\"SM\"),(\"SM\")");
		return R_OK;
	case T_READ:
		at_info("+CPMS: \"SM\",%d,%d,\"SM\",%d,%d,\"SM\",%d,%d", used,
		    SIM_SLOTS, used, SIM_SLOTS, used, SIM_SLOTS);
		return R_OK;
	case T_SET:
		if ((n = at_args(args, a, AT_MAX_ARGS)) < 1 || n > 3)
			return at_cms(302);
		for (i = 0; i < n; i++)
			if (strcmp(a[i], "SM") != 0)
				return at_cms(302);
		at_info("+CPMS: %d,%d,%d,%d,%d,%d", used, SIM_SLOTS, used,
		    SIM_SLOTS, used, SIM_SLOTS);
		return R_OK;
	}
	return R_ERROR;
}

static void
at_list_one(const char *cmd, int loc, const struct slot *s)
{
	if (loc > 0)
		at_info("%s: %d,%d,,%d", cmd, loc, s->state, s->tpdu_len);
	else
		at_info("%s: %d,,%d", cmd, s->state, s->tpdu_len);
	/* at_info's buffer is too small for a long PDU. */
	at_raw(s->hex, strlen(s->hex));
	at_raw("\r\n", 2);
}

/* Reading and deleting stored SMS: AT+CMGL, +CMGR, +CMGD. */
static int
cmd_smsread(const char *name, int type, const char *args)
{
	char a[AT_MAX_ARGS][64];
	const struct slot *s;
	int loc, stat = 0, flag = 0, n, i;

	if (strcmp(name, "+CMGL") == 0) {
		if (type == T_TEST) {
			at_info("+CMGL: (0-4)");
			return R_OK;
		}
		if ((type == T_SET && parse_int(args, 0, 4, &stat) == -1) ||
		    type == T_READ)
			return R_ERROR;	/* "ALL" is text mode */
		struct sim_faults f;
		int again = 0;	/* list-twice: to be listed again */
		at_faults(&f);
		for (i = 1; i <= SIM_SLOTS; i++) {
			if ((s = store_get(i)) == NULL ||
			    (stat != 4 && s->state != stat))
				continue;
			at_list_one("+CMGL", i, s);
			if (again > 0) {
				at_list_one("+CMGL", again, store_get(again));
				again = -1;
			} else if (again == 0 && i == f.list_twice)
				again = i;
		}
		if (again > 0)
			at_list_one("+CMGL", again, store_get(again));
		for (i = 1; i <= SIM_SLOTS; i++)
			if ((s = store_get(i)) != NULL &&
			    (stat == 4 || s->state == stat))
				store_mark_read(i);
		return R_OK;
	}
	if (strcmp(name, "+CMGR") == 0) {
		if (type == T_TEST)
			return R_OK;
		if (type != T_SET || parse_int(args, 1, SIM_SLOTS, &loc) == -1)
			return at_cms(321);
		if ((s = store_get(loc)) != NULL) {
			at_list_one("+CMGR", 0, s);
			store_mark_read(loc);
		}
		return R_OK;		/* an empty location is just OK */
	}
	/* +CMGD */
	if (type == T_TEST) {
		char list[4 * SIM_SLOTS + 2] = "";
		size_t o = 0;
		for (i = 1; i <= SIM_SLOTS; i++)
			if (store_get(i) != NULL)
				o += snprintf(list + o, sizeof(list) - o,
				    "%s%d", o ? "," : "", i);
		at_info("+CMGD: (%s),(0-4)", list);
		return R_OK;
	}
	if (type != T_SET || (n = at_args(args, a, AT_MAX_ARGS)) < 1 || n > 2 ||
	    (n == 2 && parse_int(a[1], 0, 4, &flag) == -1))
		return at_cms(302);
	if (flag == 0 && parse_int(a[0], 1, SIM_SLOTS, &loc) == -1)
		return at_cms(321);
	if (at_delete_error())
		return at_cms(at_delete_error());
	if (flag == 0) {
		store_delete(loc);
		return R_OK;
	}
	/* 1 read, 2 read and sent, 3 and unsent, 4 all: we store inbox only */
	for (i = 1; i <= SIM_SLOTS; i++)
		if ((s = store_get(i)) != NULL && (flag == 4 || s->state == 1))
			store_delete(i);
	return R_OK;
}

static int
cmd_cmgs(const char *name, int type, const char *args)
{
	int len;

	if (type == T_TEST)
		return R_OK;
	if (type != T_SET || parse_int(args, 1, 164, &len) == -1)
		return at_cms(304);
	cmgs_len = len;
	return R_PROMPT;
}

static const struct {
	const char *name;
	int	(*fn)(const char *, int, const char *);
} at_cmds[] = {
	{ "+CGMI", cmd_ident }, { "+GMI", cmd_ident },
	{ "+CGMM", cmd_ident }, { "+GMM", cmd_ident },
	{ "+CGMR", cmd_ident }, { "+GMR", cmd_ident },
	{ "+CGSN", cmd_ident }, { "+GSN", cmd_ident },
	{ "+CIMI", cmd_ident },
	{ "+CMEE", cmd_setting }, { "+CREG", cmd_setting },
	{ "+CGREG", cmd_setting }, { "+CMMS", cmd_setting },
	{ "+CPIN", cmd_status }, { "+CFUN", cmd_status },
	{ "+CSQ", cmd_status }, { "+CBC", cmd_status },
	{ "+CGATT", cmd_status }, { "+CCLK", cmd_status },
	{ "+COPS", cmd_cops },
	{ "+CSCS", cmd_cscs },
	{ "+CNMI", cmd_cnmi },
	{ "+CMGF", cmd_smsconf }, { "+CSCA", cmd_smsconf },
	{ "+CSMP", cmd_smsconf }, { "+CSMS", cmd_smsconf },
	{ "+CSDH", cmd_smsconf }, { "+CPMS", cmd_smsconf },
	{ "+CMGL", cmd_smsread }, { "+CMGR", cmd_smsread },
	{ "+CMGD", cmd_smsread },
	{ "+CMGS", cmd_cmgs },
};

/* One extended command, "+NAME", "+NAME=args", "+NAME?" or "+NAME=?". */
int
atcmd_extended(char *cmd, int *pdu_len)
{
	char *p = cmd + 1;
	int type = T_EXEC;
	size_t i;

	while (isalnum((unsigned char)*p))
		p++;
	if (strcmp(p, "=?") == 0)
		type = T_TEST;
	else if (strcmp(p, "?") == 0)
		type = T_READ;
	else if (*p == '=')
		type = T_SET;
	else if (*p != '\0')
		return R_ERROR;
	char *args = type == T_SET ? p + 1 : p + strlen(p);
	*p = '\0';
	/* A SIM waiting for its PIN keeps its messages and IMSI to itself. */
	if (pin_locked() && (strcmp(cmd, "+CIMI") == 0 || strncmp(cmd, "+CMG", 4) == 0 ||
	    strcmp(cmd, "+CPMS") == 0))
		return strcmp(cmd, "+CIMI") == 0 ? at_cme(11) : at_cms(311);
	for (i = 0; i < sizeof(at_cmds) / sizeof(at_cmds[0]); i++) {
		if (strcmp(at_cmds[i].name, cmd) == 0) {
			int r = at_cmds[i].fn(cmd, type, args);
			*pdu_len = cmgs_len;
			return r;
		}
	}
	return R_ERROR;
}

/* Basic commands, possibly chained: E1, V1, Q0, Z, &F, I, &C1, S0=0... */
int
atcmd_basic(const char **pp)
{
	const char *p = *pp;
	char c = *p++;
	int amp = 0, v = 0;

	if (c == '&') {
		amp = 1;
		if ((c = *p) != '\0')
			p++;
	}
	if (!amp && c == 'S') {		/* S-registers: Sn=v or Sn? */
		while (isdigit((unsigned char)*p))
			p++;
		if (*p == '?') {
			at_info("000");
			p++;
		} else if (*p == '=') {
			p++;
			while (isdigit((unsigned char)*p))
				p++;
		}
		*pp = p;
		return R_OK;
	}
	for (; isdigit((unsigned char)*p); p++)
		if (v < 1000)
			v = v * 10 + (*p - '0');
	*pp = p;
	if (amp && c == 'F')
		at_defaults();
	if (amp)
		return c != '\0' && strchr("CDFKW", c) != NULL ? R_OK : R_ERROR;
	switch (c) {
	case 'E':
		at_set.echo = v != 0;
		return R_OK;
	case 'V':
		return v == 1 ? R_OK : R_ERROR;	/* numeric codes: no */
	case 'Z':
		at_defaults();
		return R_OK;
	case 'I':
		at_info("%s", at_id.manufacturer);
		at_info("%s", at_id.model);
		at_info("Revision: %s", at_id.revision);
		return R_OK;
	case 'Q':
	case 'X':
	case 'L':
	case 'M':
	case 'H':
		return R_OK;
	}
	return R_ERROR;
}


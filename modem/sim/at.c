/*
 * at.c: the AT engine, as libgammu's AT driver expects a modem to behave;
 * the commands themselves are in atcmd.c.
 *
 * Verbose result codes (ATV1): information lines and the final result are
 * each framed by "\r\n"; the command line is echoed first while ATE1. SMS
 * commands follow 3GPP TS 27.005 in PDU mode only, over one memory, "SM".
 * After AT+CMGS=<n> the modem prompts "> " and takes hex until Ctrl-Z (send)
 * or ESC (cancel); the answer may be held back for --send-delay, during
 * which no further input is read, like a busy modem (`status` says
 * "sending" meanwhile). Unsolicited results (+CMTI) wait until no command
 * is in progress.
 *
 * The list-hold fault holds the next AT+CMGL answer, made when the command
 * came, until `fault list-hold 0` (or AT_HOLD_MAX_MS): what is stored and
 * announced meanwhile comes after the listing, its +CMTI in the same write
 * as the answer's end, as a modem's buffer gives both to one read.
 *
 * The list-twice fault (`fault list-twice N`) lists stored location N a
 * second time in every AT+CMGL answer, after the location listed next
 * ([N, M, N, ...]), or right after itself when it is the last: modems
 * whose firmware repeats an entry of the list exist, and libgammu's AT
 * driver, which finds the next SMS by its location in the list, then
 * goes round N, M, N, M for ever.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "at.h"
#include "log.h"
#include "sim.h"

#define AT_MAX_LINE	1024	/* command line; longer ones get ERROR */
#define AT_MAX_PDU	400	/* hex digits after the prompt */
#define AT_HOLD_MAX_MS	10000	/* a held listing answers by then anyway */

enum at_mode {
	AT_COMMAND,	/* reading a command line */
	AT_PDU,		/* after the "> " prompt: hex until Ctrl-Z or ESC */
	AT_BUSY,	/* an AT+CMGS answer waits for its delay */
	AT_HELD,	/* an AT+CMGL answer waits for list-hold 0 */
};

struct at_settings at_set;
struct sim_ident at_id;

/* What one session of the port is doing. */
static struct {
	enum at_mode mode;
	char	 line[AT_MAX_LINE + 1];
	size_t	 len;
	int	 overflow;
	int	 pdu_len;		/* TPDU octets announced by AT+CMGS */
	long	 due;			/* AT_BUSY, AT_HELD: when to answer */
	struct pdu_submit sub;		/* AT_BUSY: what is being sent */
	struct obuf held;		/* input that came after Ctrl-Z */
	struct obuf urc;		/* unsolicited results waiting for idle */
} ses;

#define AT_MAX_REPORTS	64	/* status reports waiting for their delay */

static struct sim_faults fault;
static struct obuf resp;		/* the answer being built */
/* Status reports the SMSC has not sent yet (report-delay). */
static struct {
	long	 due;			/* 0: free slot */
	int	 mr, status;
	char	 to[SIM_MAX_NUMBER * 2];
} reports[AT_MAX_REPORTS];
static int at_code;			/* for R_CMS and R_CME */
static int next_mr;

static void at_feed(const char *, size_t);

static void
at_log(const char *dir, const char *s, size_t len)
{
	char buf[2048];
	size_t i, o = 0;

	for (i = 0; i < len && o + 5 < sizeof(buf); i++) {
		unsigned char c = s[i];
		if (c == '\r')
			o += snprintf(buf + o, sizeof(buf) - o, "\\r");
		else if (c == '\n')
			o += snprintf(buf + o, sizeof(buf) - o, "\\n");
		else if (c < 0x20 || c >= 0x7f)
			o += snprintf(buf + o, sizeof(buf) - o, "\\x%02x", c);
		else
			buf[o++] = c;
	}
	buf[o] = '\0';
	log_debug("tty %s %s%s", dir, buf, i < len ? "..." : "");
}

/* Everything to the client passes here: silence is total. */
static void
at_emit(const char *s, size_t len)
{
	if (fault.silent || len == 0)
		return;
	at_log(tty_write(s, len) == 0 ? ">" : "> (no client, dropped)", s, len);
}

void
at_info(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(buf))
		n = sizeof(buf) - 1;
	obuf_add(&resp, "\r\n", 2);
	obuf_add(&resp, buf, n);
	obuf_add(&resp, "\r\n", 2);
}

void
at_raw(const char *s, size_t len)
{
	obuf_add(&resp, s, len);
}

int
at_delete_error(void)
{
	return fault.delete_error;
}

static void
at_send_resp(void)
{
	at_emit(resp.data + resp.off, resp.len - resp.off);
	resp.len = resp.off = 0;
}

/* Adds the final result code to the answer being built. */
static void
at_final_add(int r)
{
	switch (r) {
	case R_OK:
		obuf_add(&resp, "\r\nOK\r\n", 6);
		break;
	case R_CMS:
		at_info("+CMS ERROR: %d", at_code);
		break;
	case R_CME:
		if (at_set.cmee > 0) {
			at_info("+CME ERROR: %d", at_code);
			break;
		}
		/* FALLTHROUGH */
	default:
		obuf_add(&resp, "\r\nERROR\r\n", 9);
		break;
	}
}

static void
at_final(int r)
{
	at_final_add(r);
	at_send_resp();
}

/* What the host wrote while a command held the line is read now. */
static void
at_feed_held(void)
{
	struct obuf h = ses.held;

	if (!obuf_pending(&h))
		return;
	memset(&ses.held, 0, sizeof(ses.held));
	at_feed(h.data + h.off, h.len - h.off);
	obuf_free(&h);
}

/* The held AT+CMGL answer goes out, and what waited behind it with it. */
static void
at_release(void)
{
	if (ses.mode != AT_HELD)
		return;
	ses.mode = AT_COMMAND;
	log_info("AT+CMGL answer released");
	obuf_add(&resp, ses.urc.data + ses.urc.off, ses.urc.len - ses.urc.off);
	ses.urc.len = ses.urc.off = 0;
	at_send_resp();
	at_feed_held();
}

int
at_cms(int code)
{
	at_code = code;
	return R_CMS;
}

int
at_cme(int code)
{
	at_code = code;
	return R_CME;
}

/* Unsolicited results go out only between commands. */
static void
at_flush_urc(void)
{
	if (ses.mode != AT_COMMAND || ses.len > 0 || !obuf_pending(&ses.urc))
		return;
	at_emit(ses.urc.data + ses.urc.off, ses.urc.len - ses.urc.off);
	ses.urc.len = ses.urc.off = 0;
}

void
at_defaults(void)
{
	memset(&at_set, 0, sizeof(at_set));
	at_set.echo = 1;
	snprintf(at_set.cscs, sizeof(at_set.cscs), "GSM");
	snprintf(at_set.smsc, sizeof(at_set.smsc), "%s", at_id.smsc);
	at_set.smsc_type = at_id.smsc[0] == '+' ? 145 : 129;
}

static void
at_command(char *line)
{
	char *p, *q, *end;
	int r = R_OK;

	/* Upper-case outside quotes: AT is case-insensitive, data is not. */
	for (p = line, q = NULL; *p != '\0'; p++) {
		if (*p == '"')
			q = q ? NULL : p;
		else if (q == NULL)
			*p = toupper((unsigned char)*p);
	}
	if (strncmp(line, "AT", 2) != 0) {
		log_debug("tty: ignoring a line without AT");
		return;
	}
	int hold = fault.list_hold && strncmp(line, "AT+CMGL=", 8) == 0 &&
	    strcmp(line, "AT+CMGL=?") != 0;
	p = line + 2;
	while (*p != '\0' && r == R_OK) {
		if (*p == '+' || *p == '^' || *p == '$' || *p == '*') {
			/* Extended commands run to ';' (outside quotes). */
			for (end = p, q = NULL; *end != '\0'; end++) {
				if (*end == '"')
					q = q ? NULL : end;
				else if (*end == ';' && q == NULL)
					break;
			}
			char save = *end;
			*end = '\0';
			r = atcmd_extended(p, &ses.pdu_len);
			p = save ? end + 1 : end;
		} else if (*p == ';' || *p == ' ')
			p++;
		else if (*p == 'D' || *p == 'A')
			r = R_ERROR;		/* no calls on this modem */
		else
			r = atcmd_basic((const char **)&p);
	}
	if (r == R_PROMPT) {
		ses.mode = AT_PDU;
		ses.len = 0;
		ses.overflow = 0;
		obuf_add(&resp, "\r\n> ", 4);
		at_send_resp();
		return;
	}
	if (hold) {
		fault.list_hold = 0;	/* the next listing only */
		at_final_add(r);
		ses.mode = AT_HELD;
		ses.due = now_ms() + AT_HOLD_MAX_MS;
		log_info("AT+CMGL answer held until list-hold 0");
		return;
	}
	at_final(r);
}

/*
 * The SMSC's report for a part that asked for one goes into "SM", as on a
 * modem set to store reports, and is announced like an SMS.
 */
int
at_report(const char *to, int mr, int status, const char **errstr)
{
	struct pdu_submit sub;
	struct pdu_part p;
	struct tm tm;
	time_t now = time(NULL);
	int loc;

	memset(&sub, 0, sizeof(sub));
	snprintf(sub.to, sizeof(sub.to), "%s", to);
	localtime_r(&now, &tm);
	if (pdu_status_report(&sub, mr, status, at_set.smsc, now, tm.tm_gmtoff,
	    &p, errstr) == -1) {
		log_warnx("status report for %d: %s", mr, *errstr);
		return -1;
	}
	if ((loc = store_put(&p, to)) == -1) {
		log_warnx("status report for %d dropped: SIM full", mr);
		*errstr = "SIM storage full";
		pdu_part_free(&p);
		return -1;
	}
	log_info("status report for %d to %s (status %d) stored at %d", mr, to,
	    status, loc);
	at_new_sms(loc);
	pdu_part_free(&p);
	return 0;
}

static void
at_store_report(int mr)
{
	const char *err;
	int i;

	if (fault.report_delay_ms <= 0) {
		at_report(ses.sub.to, mr, fault.report_status, &err);
		return;
	}
	for (i = 0; i < AT_MAX_REPORTS && reports[i].due != 0; i++)
		;
	if (i == AT_MAX_REPORTS) {
		log_warnx("status report for %d dropped: too many waiting", mr);
		return;
	}
	reports[i].due = now_ms() + fault.report_delay_ms;
	reports[i].mr = mr;
	reports[i].status = fault.report_status;
	snprintf(reports[i].to, sizeof(reports[i].to), "%s", ses.sub.to);
}

static long
at_reports_due(void)
{
	long due = -1;

	for (int i = 0; i < AT_MAX_REPORTS; i++)
		if (reports[i].due != 0 && (due == -1 || reports[i].due < due))
			due = reports[i].due;
	return due;
}

static void
at_reports_run(void)
{
	const char *err;
	long now = now_ms();

	for (int i = 0; i < AT_MAX_REPORTS; i++) {
		if (reports[i].due == 0 || reports[i].due > now)
			continue;
		reports[i].due = 0;
		at_report(reports[i].to, reports[i].mr, reports[i].status, &err);
	}
}

/* After the send delay: the network's answer to one AT+CMGS. */
static void
at_finish_send(void)
{
	int r = R_OK, mr;

	if (fault.send_error_count > 0) {
		fault.send_error_count--;
		r = at_cms(fault.send_error);
		log_info("send to %s fails with +CMS ERROR: %d (fault)",
		    ses.sub.to, fault.send_error);
	} else {
		mr = next_mr;
		next_mr = (next_mr + 1) & 0xff;
		sentlog_part(&ses.sub, mr);
		log_info("sent to %s, part %d/%d, reference %d", ses.sub.to,
		    ses.sub.seq ? ses.sub.seq : 1,
		    ses.sub.total ? ses.sub.total : 1, mr);
		at_info("+CMGS: %d", mr);
		if (ses.sub.report && fault.report_status >= 0)
			at_store_report(mr);
	}
	pdu_submit_free(&ses.sub);
	ses.mode = AT_COMMAND;
	at_final(r);
	at_flush_urc();
	at_feed_held();
}

static void
at_submit(void)
{
	const char *err;

	ses.line[ses.len] = '\0';
	at_log("<", ses.line, ses.len);
	ses.mode = AT_COMMAND;
	if (ses.overflow || pdu_submit(ses.line, ses.pdu_len, &ses.sub,
	    &err) == -1) {
		log_warnx("AT+CMGS: refusing a bad PDU");
		ses.len = 0;
		at_final(at_cms(304));
		return;
	}
	ses.len = 0;
	ses.mode = AT_BUSY;
	ses.due = now_ms() + fault.send_delay_ms;
	if (fault.send_delay_ms == 0)
		at_finish_send();
}

/* Bytes in PDU entry: hex until Ctrl-Z; returns bytes consumed. */
static size_t
at_feed_pdu(const char *buf, size_t len)
{
	size_t i, from = ses.len;

	for (i = 0; i < len && ses.mode == AT_PDU; i++) {
		char c = buf[i];
		if (c == 0x1a || c == 0x1b) {
			/* The echo of what came before, as a modem types it. */
			if (at_set.echo)
				at_emit(ses.line + from, ses.len - from);
			from = ses.len;
		}
		if (c == 0x1a) {
			at_submit();
		} else if (c == 0x1b) {
			log_debug("tty: PDU entry cancelled");
			ses.mode = AT_COMMAND;
			ses.len = 0;
			at_final(R_OK);
		} else if (isxdigit((unsigned char)c)) {
			if (ses.len < AT_MAX_PDU)
				ses.line[ses.len++] = c;
			else
				ses.overflow = 1;
		}
	}
	if (ses.mode == AT_PDU && at_set.echo)
		at_emit(ses.line + from, ses.len - from);
	return i;
}

static void
at_feed(const char *buf, size_t len)
{
	size_t i = 0;

	while (i < len) {
		if (ses.mode == AT_BUSY || ses.mode == AT_HELD) {
			obuf_add(&ses.held, buf + i, len - i);
			return;
		}
		if (ses.mode == AT_PDU) {
			i += at_feed_pdu(buf + i, len - i);
			continue;
		}
		char c = buf[i++];
		if (c == '\r' || c == '\n') {
			if (ses.len == 0)
				continue;
			ses.line[ses.len] = '\0';
			at_log("<", ses.line, ses.len);
			if (at_set.echo) {
				at_emit(ses.line, ses.len);
				at_emit("\r", 1);
			}
			ses.len = 0;
			if (ses.overflow) {
				ses.overflow = 0;
				at_final(R_ERROR);
			} else
				at_command(ses.line);
			at_flush_urc();
		} else if (c == 0x08 || c == 0x7f) {
			if (ses.len > 0)
				ses.len--;
		} else if ((unsigned char)c < 0x20) {
			continue;	/* ESC, Ctrl-Z outside PDU entry */
		} else if (ses.len < AT_MAX_LINE) {
			ses.line[ses.len++] = c;
		} else
			ses.overflow = 1;
	}
}

void
at_input(const char *buf, size_t len)
{
	if (fault.silent) {
		at_log("< (silent, dropped)", buf, len);
		return;
	}
	at_feed(buf, len);
}

void
at_init(const struct sim_ident *ident, int send_delay_ms)
{
	at_id = *ident;
	fault.send_delay_ms = send_delay_ms;
	fault.signal = 21;
	fault.network = 1;
	at_defaults();
	next_mr = 0;
}

void
at_detached(void)
{
	if (ses.mode == AT_PDU)
		log_info("client left during PDU entry: nothing sent");
	if (ses.mode == AT_HELD)
		resp.len = resp.off = 0;	/* for the last client */
	if (ses.mode != AT_BUSY)
		ses.mode = AT_COMMAND;
	ses.len = 0;
	ses.overflow = 0;
	obuf_free(&ses.held);
	obuf_free(&ses.urc);
}

int
at_wants_input(void)
{
	return ses.mode != AT_BUSY && ses.mode != AT_HELD;
}

long
at_deadline(void)
{
	long r = at_reports_due();

	if ((ses.mode == AT_BUSY || ses.mode == AT_HELD) && (r == -1 || ses.due < r))
		return ses.due;
	return r;
}

void
at_timer(void)
{
	if (ses.mode == AT_BUSY && now_ms() >= ses.due)
		at_finish_send();
	at_reports_run();
	if (ses.mode == AT_HELD && now_ms() >= ses.due)
		at_release();
}

void
at_new_sms(int location)
{
	char buf[64];
	int n;

	if (at_set.cnmi[1] == 0)
		return;
	n = snprintf(buf, sizeof(buf), "\r\n+CMTI: \"SM\",%d\r\n", location);
	obuf_add(&ses.urc, buf, n);
	at_flush_urc();
}

int
at_fault(const char *name, const int *v, int n, const char **errstr)
{
	*errstr = "bad value";
	if (strcmp(name, "delete-error") == 0) {
		if (n != 1 || v[0] < 0 || v[0] > 999)
			return -1;
		fault.delete_error = v[0] == 1 ? 320 : v[0];
	} else if (strcmp(name, "send-error") == 0) {
		if (n < 1 || n > 2 || v[0] < 0 || v[0] > 999 ||
		    (n == 2 && v[1] < 0))
			return -1;
		fault.send_error = v[0];
		fault.send_error_count = v[0] == 0 ? 0 : n == 2 ? v[1] : 1;
	} else if (strcmp(name, "silent") == 0) {
		if (n != 1 || v[0] < 0 || v[0] > 1)
			return -1;
		fault.silent = v[0];
	} else if (strcmp(name, "send-delay") == 0) {
		if (n != 1 || v[0] < 0 || v[0] > 600000)
			return -1;
		fault.send_delay_ms = v[0];
	} else if (strcmp(name, "report") == 0) {
		if (n != 1 || v[0] < -1 || v[0] > 255)
			return -1;
		fault.report_status = v[0];
	} else if (strcmp(name, "report-delay") == 0) {
		if (n != 1 || v[0] < 0 || v[0] > 3600000)
			return -1;
		fault.report_delay_ms = v[0];
	} else if (strcmp(name, "signal") == 0) {
		if (n != 1 || v[0] < 0 || (v[0] > 31 && v[0] != 99))
			return -1;
		fault.signal = v[0];
	} else if (strcmp(name, "network") == 0) {
		if (n != 1 || v[0] < 0 || v[0] > 5)
			return -1;
		fault.network = v[0];
	} else if (strcmp(name, "operator") == 0) {
		if (n != 1 || (v[0] != 0 && (v[0] < 10000 || v[0] > 999999)))
			return -1;
		fault.operator = v[0];
	} else if (strcmp(name, "pin") == 0 || strcmp(name, "puk") == 0) {
		if (n != 1 || pin_fault(name, v[0]) == -1)
			return -1;
	} else if (strcmp(name, "list-hold") == 0) {
		if (n != 1 || v[0] < 0 || v[0] > 1)
			return -1;
		fault.list_hold = v[0];
		if (v[0] == 0)
			at_release();
	} else if (strcmp(name, "list-twice") == 0) {
		if (n != 1 || v[0] < 0 || v[0] > SIM_SLOTS)
			return -1;
		fault.list_twice = v[0];
	} else if (strcmp(name, "unplug") == 0) {
		if (n != 1 || v[0] < 0 || v[0] > 1)
			return -1;
		if (tty_unplug(v[0]) == -1) {
			*errstr = "cannot (re)create the pty";
			return -1;
		}
		fault.unplugged = v[0];
	} else {
		*errstr = "unknown fault (delete-error, send-error, silent, "
		    "send-delay, report, report-delay, list-hold, list-twice, "
		    "unplug, signal, network, operator, pin, puk)";
		return -1;
	}
	*errstr = NULL;
	if (n == 2)
		log_info("fault %s %d %d", name, v[0], v[1]);
	else
		log_info("fault %s %d", name, v[0]);
	return 0;
}

void
at_faults(struct sim_faults *f)
{
	*f = fault;
	f->list_held = ses.mode == AT_HELD;
	f->sending = ses.mode == AT_BUSY;
}

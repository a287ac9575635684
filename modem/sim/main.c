/*
 * main.c: pigeon-modemsim, a simulated GSM AT modem on a pseudo-terminal.
 *
 *   pigeon-modemsim serve DIR [-v] [--send-delay MS]
 *   pigeon-modemsim deliver|stored|sent|fault|status DIR ...   (client.c)
 *
 * serve keeps the pty master, listens on DIR/ctl and, last, points DIR/tty
 * at the slave: a test waits for DIR/tty to know the simulator is ready.
 *
 * A pty master reads EIO and polls POLLHUP while no process has the slave
 * open, and bytes written to it then wait for the next opener. So when the
 * client closes the tty we stop polling the master, drop what we had queued,
 * flush the slave's input through a short-lived slave descriptor, and check
 * every TTY_PROBE_MS whether someone opened it again.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "log.h"
#include "sim.h"

#define TTY_PROBE_MS	50		/* how often a closed tty is checked */
#define TTY_MAX_QUEUE	(1024 * 1024)	/* unread output beyond this: dropped */
#define MAX_POLLFDS	32

static struct {
	char	*dir;
	char	 ttylink[PATH_MAX];
	char	 ctlpath[PATH_MAX];
	int	 ptm;			/* pty master, -1 while unplugged */
	char	 slave[64];
	int	 attached;		/* a client has the slave open */
	long	 next_probe;
	struct obuf out;
} tty = { .ptm = -1 };

static volatile sig_atomic_t quit;

long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

void
iso8601(time_t t, char *buf, size_t len)
{
	struct tm tm;
	long off;
	size_t n;

	localtime_r(&t, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	off = tm.tm_gmtoff / 60;
	snprintf(buf + n, len - n, "%c%02ld:%02ld", off < 0 ? '-' : '+',
	    labs(off) / 60, labs(off) % 60);
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: pigeon-modemsim serve DIR [-v] [--send-delay MS]\n"
	    "       pigeon-modemsim deliver DIR FROM TEXT [--smsc NUMBER] "
	    "[--order 3,1,2] [--ref N | --ref16 N] [--time ISO8601]\n"
	    "           [--lose 2,3] [--from-type alpha|number] [--pdu HEX]\n"
	    "       pigeon-modemsim stored DIR\n"
	    "       pigeon-modemsim sent DIR [NUMBER] [--text]\n"
	    "       pigeon-modemsim fault DIR NAME VALUE...\n"
	    "       pigeon-modemsim status DIR\n"
	    "       pigeon-modemsim report DIR TO MR STATUS\n");
	exit(2);
}

int
tty_write(const char *buf, size_t len)
{
	if (tty.ptm == -1 || !tty.attached)
		return -1;
	if (tty.out.len - tty.out.off + len > TTY_MAX_QUEUE) {
		log_warnx("tty: client is not reading, dropping output");
		return -1;
	}
	if (obuf_add(&tty.out, buf, len) == -1 ||
	    obuf_flush(&tty.out, tty.ptm) == -1) {
		log_warn("tty: write");
		return -1;
	}
	return 0;
}

/* Discards what waits in the slave's input: it was for the last client. */
static void
tty_flush_slave(void)
{
	int fd = open(tty.slave, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);

	if (fd == -1)
		return;
	tcflush(fd, TCIFLUSH);
	close(fd);
}

static void
tty_detach(void)
{
	if (tty.attached)
		log_info("tty: client closed %s", tty.slave);
	tty.attached = 0;
	obuf_free(&tty.out);
	at_detached();
	tty_flush_slave();
	tty.next_probe = now_ms() + TTY_PROBE_MS;
}

static void
tty_probe(void)
{
	struct pollfd p = { .fd = tty.ptm, .events = POLLIN };

	tty.next_probe = now_ms() + TTY_PROBE_MS;
	if (poll(&p, 1, 0) == -1 || (p.revents & POLLHUP))
		return;
	tty.attached = 1;
	log_info("tty: client opened %s", tty.slave);
}

static int
tty_open(void)
{
	struct termios t;
	char tmp[PATH_MAX + 8];
	int fd;

	tty.ptm = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (tty.ptm == -1 || grantpt(tty.ptm) == -1 || unlockpt(tty.ptm) == -1 ||
	    ptsname_r(tty.ptm, tty.slave, sizeof(tty.slave)) != 0 ||
	    set_nonblock(tty.ptm) == -1) {
		log_warn("pty");
		goto fail;
	}
	/* Raw, like a serial port, for a client that does not set it up. */
	if ((fd = open(tty.slave, O_RDWR | O_NOCTTY | O_CLOEXEC)) == -1) {
		log_warn("open %s", tty.slave);
		goto fail;
	}
	if (tcgetattr(fd, &t) == 0) {
		cfmakeraw(&t);
		tcsetattr(fd, TCSANOW, &t);
	}
	close(fd);
	tty.attached = 0;
	tty.next_probe = now_ms();
	snprintf(tmp, sizeof(tmp), "%s.new", tty.ttylink);
	unlink(tmp);
	if (symlink(tty.slave, tmp) == -1 || rename(tmp, tty.ttylink) == -1) {
		log_warn("symlink %s", tty.ttylink);
		unlink(tmp);
		goto fail;
	}
	log_info("tty: %s -> %s", tty.ttylink, tty.slave);
	return 0;
fail:
	if (tty.ptm != -1)
		close(tty.ptm);
	tty.ptm = -1;
	return -1;
}

static void
tty_close(void)
{
	unlink(tty.ttylink);
	if (tty.ptm != -1)
		close(tty.ptm);
	tty.ptm = -1;
	tty.attached = 0;
	obuf_free(&tty.out);
	at_detached();
}

int
tty_unplug(int on)
{
	if (on) {
		if (tty.ptm != -1) {
			log_info("tty: unplugged");
			tty_close();
		}
		return 0;
	}
	return tty.ptm == -1 ? tty_open() : 0;
}

static void
tty_read(void)
{
	char buf[4096];
	ssize_t n;

	for (;;) {
		n = read(tty.ptm, buf, sizeof(buf));
		if (n > 0) {
			at_input(buf, n);
			if (!at_wants_input() || tty.ptm == -1)
				return;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;
		tty_detach();		/* EIO: the last slave fd closed */
		return;
	}
}

static void
on_signal(int sig)
{
	quit = sig;
}

/* A second simulator on the same DIR would steal the first's files. */
static int
already_running(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd, ok;

	if (strlen(path) >= sizeof(sun.sun_path))
		return 0;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return 0;
	ok = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
	close(fd);
	return ok;
}

static void
make_ident(const char *dir, struct sim_ident *id)
{
	char digits[16];

	memset(id, 0, sizeof(*id));
	snprintf(id->manufacturer, sizeof(id->manufacturer), "Pigeon");
	snprintf(id->model, sizeof(id->model), "PGN-SIM900");
	snprintf(id->revision, sizeof(id->revision), "1.0.0");
	hash_digits(dir, digits, 6);
	snprintf(id->imei, sizeof(id->imei), "35209900%.6s", digits);
	luhn_append(id->imei);
	hash_digits(id->imei, digits, 10);
	snprintf(id->imsi, sizeof(id->imsi), "60499%.10s", digits);
	snprintf(id->smsc, sizeof(id->smsc), "+212600000000");
}

static int
mkdirs(const char *path)
{
	char buf[PATH_MAX], *p;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -1;
	for (p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) == -1 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(buf, 0755) == -1 && errno != EEXIST ? -1 : 0;
}

static void
serve_loop(void)
{
	struct pollfd pfd[MAX_POLLFDS];
	sigset_t empty;
	long now, due, timeout;
	int n, nctl;

	sigemptyset(&empty);
	while (!quit) {
		pfd[0].fd = tty.ptm != -1 && tty.attached ? tty.ptm : -1;
		pfd[0].events = (at_wants_input() ? POLLIN : 0) |
		    (obuf_pending(&tty.out) ? POLLOUT : 0);
		pfd[0].revents = 0;
		nctl = ctl_pollfds(pfd + 1, MAX_POLLFDS - 1);

		now = now_ms();
		timeout = -1;
		if ((due = at_deadline()) != -1)
			timeout = due > now ? due - now : 0;
		if (tty.ptm != -1 && !tty.attached) {
			due = tty.next_probe > now ? tty.next_probe - now : 0;
			if (timeout == -1 || due < timeout)
				timeout = due;
		}
		struct timespec ts = { timeout / 1000, (timeout % 1000) * 1000000 };
		n = ppoll(pfd, 1 + nctl, timeout == -1 ? NULL : &ts, &empty);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			fatal("ppoll");
		}
		if (pfd[0].fd != -1 && tty.ptm != -1) {
			if (pfd[0].revents & POLLOUT &&
			    obuf_flush(&tty.out, tty.ptm) == -1)
				tty_detach();
			else if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR))
				tty_read();
		}
		if (tty.ptm != -1 && !tty.attached && now_ms() >= tty.next_probe)
			tty_probe();
		at_timer();
		ctl_events(pfd + 1, nctl);
	}
	log_info("signal %d: exiting", (int)quit);
}

static int
serve_main(int argc, char *argv[])
{
	struct sim_ident id;
	struct sigaction sa;
	sigset_t block;
	char *dir = NULL, abs[PATH_MAX];
	int i, verbose = 0, delay = 0;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "-v") == 0)
			verbose = 1;
		else if (strcmp(argv[i], "--send-delay") == 0 && i + 1 < argc) {
			if (parse_int(argv[++i], 0, 600000, &delay) == -1)
				usage();
		} else if (argv[i][0] != '-' && dir == NULL)
			dir = argv[i];
		else
			usage();
	}
	if (dir == NULL)
		usage();
	log_init("pigeon-modemsim", verbose, 0);
	setvbuf(stderr, NULL, _IOLBF, 0);

	if (mkdirs(dir) == -1)
		fatal("mkdir %s", dir);
	if (realpath(dir, abs) == NULL)
		fatal("%s", dir);
	tty.dir = abs;
	if ((size_t)snprintf(tty.ttylink, sizeof(tty.ttylink), "%s/tty", abs) >=
	    sizeof(tty.ttylink) ||
	    (size_t)snprintf(tty.ctlpath, sizeof(tty.ctlpath), "%s/ctl", abs) >=
	    sizeof(tty.ctlpath))
		fatalx("%s: path too long", abs);
	if (already_running(tty.ctlpath))
		fatalx("%s: a simulator is already running there", abs);
	unlink(tty.ttylink);
	unlink(tty.ctlpath);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	/* Signals arrive only inside ppoll(), so none is missed. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, NULL);

	make_ident(abs, &id);
	at_init(&id, delay);
	if (sentlog_open(abs) == -1)
		fatalx("cannot open the send logs in %s", abs);
	if (ctl_listen(tty.ctlpath, id.smsc) == -1)
		fatalx("cannot listen on %s", tty.ctlpath);
	if (tty_open() == -1)		/* last: DIR/tty means ready */
		fatalx("cannot create the pty");
	log_info("ready: %s %s IMEI %s IMSI %s, send delay %d ms",
	    id.manufacturer, id.model, id.imei, id.imsi, delay);

	serve_loop();

	tty_close();
	ctl_close();
	unlink(tty.ctlpath);
	sentlog_close();
	store_clear();
	return 0;
}

int
main(int argc, char *argv[])
{
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		printf("pigeon-modemsim %s\n", PIGEON_VERSION);
		return 0;
	}
	if (argc < 3)
		usage();
	if (strcmp(argv[1], "serve") == 0)
		return serve_main(argc - 2, argv + 2);
	return client_main(argv[1], argc - 2, argv + 2);
}

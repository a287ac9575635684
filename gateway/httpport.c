/*
 * httpport.c: [http] port_file, the port the listener took, for
 * pigeonctl and the tests (http.c writes it once listening).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <event2/http.h>

#include "log.h"
#include "pigeond.h"

/* [http] port_file as written at the start: removed when the listener
 * closes, so that the file names a port only while pigeond listens. */
static char *port_file;
static pid_t port_file_pid;

/* Removes the port file this process wrote, if it still stands. Also
 * at exit: a start-up that fails after the file was written (fatalx)
 * leaves no port that another program may hold next. A worker's child
 * (fork) never removes its parent's. */
void
http_port_unpublish(void)
{
	if (port_file == NULL || getpid() != port_file_pid)
		return;
	if (unlink(port_file) == -1)
		log_warn("http: port_file %s", port_file);
	free(port_file);
	port_file = NULL;
}

/*
 * The port the listener took (listen's own, or the system's pick for
 * port 0), and into [http] port_file when there is one: "PORT PID",
 * written to PATH.tmp, then renamed, so that a reader never sees half a
 * line. pigeonctl and the tests read it; pigeonctl refuses it when no
 * process PID runs (a file left by a pigeond that was killed names a
 * port that anyone may have taken since).
 */
int
http_port_publish(struct evhttp_bound_socket *bound, int *port, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	const char *path = env.conf.http_port_file;
	char *tmp = NULL;
	FILE *f;

	if (getsockname(evhttp_bound_socket_get_fd(bound), (struct sockaddr *)&ss,
	    &len) == -1) {
		snprintf(err, errlen, "http: the listener's port: %s", strerror(errno));
		return -1;
	}
	*port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port :
	    ((struct sockaddr_in *)&ss)->sin_port);
	if (*path == '\0')
		return 0;
	if (asprintf(&tmp, "%s.tmp", path) == -1) {
		snprintf(err, errlen, "http: out of memory");
		return -1;
	}
	int ok = (f = fopen(tmp, "w")) != NULL;
	if (ok) {
		ok = fprintf(f, "%d %ld\n", *port, (long)getpid()) > 0;
		ok = fclose(f) == 0 && ok;
	}
	if (ok && rename(tmp, path) == -1)
		ok = 0;
	if (!ok) {
		snprintf(err, errlen, "[http] port_file %s: %s", path, strerror(errno));
		unlink(tmp);
	} else if ((port_file = strdup(path)) == NULL) {
		snprintf(err, errlen, "http: out of memory");
		unlink(path);
		ok = 0;
	} else {
		static int registered;

		port_file_pid = getpid();
		if (!registered && atexit(http_port_unpublish) == 0)
			registered = 1;
	}
	free(tmp);
	return ok ? 0 : -1;
}

/*
 * pigeonctl's connection to pigeond: the address (-a, PIGEON_ADDR, [http]
 * listen and port_file), the token (-T, -t, the environment, [http]
 * token_file or token), and one HTTP request and its answer over a socket.
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <jansson.h>

#include "config.h"
#include "pigeonctl.h"

#ifndef PIGEON_SYSCONFDIR
#define PIGEON_SYSCONFDIR "/etc/pigeon"
#endif

#define TIMEOUT_S	30

static char *addr;		/* host:port */
static char *token;

const char *
ctl_addr(void)
{
	return addr;
}

void
ctl_settings_free(void)
{
	free(addr);
	free(token);
	addr = token = NULL;
}

/* Connects with a deadline; -1 with errno. */
static int
dial(void)
{
	char host[256], port[16];
	const char *colon = strrchr(addr, ':');
	struct addrinfo hints = { 0 }, *res, *ai;
	int fd = -1, rc;

	if (colon == NULL || colon == addr)
		die(EXIT_USAGE, "'%s' is not host:port", addr);
	snprintf(host, sizeof(host), "%.*s", (int)(colon - addr), addr);
	snprintf(port, sizeof(port), "%s", colon + 1);
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	/* pigeond listening on every address is reached on loopback. */
	if (strcmp(host, "0.0.0.0") == 0)
		strcpy(host, "127.0.0.1");
	else if (strcmp(host, "::") == 0)
		strcpy(host, "::1");
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0)
		die(EXIT_UNREACHABLE, "%s: %s", addr, gai_strerror(rc));
	for (ai = res; ai; ai = ai->ai_next) {
		struct pollfd pfd;
		int err = 0;
		socklen_t len = sizeof(err);
		if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK, 0)) == -1)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		pfd.fd = fd;
		pfd.events = POLLOUT;
		if (errno == EINPROGRESS && poll(&pfd, 1, 5000) == 1 &&
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0)
			break;
		if (err)
			errno = err;
		else if (errno == EINPROGRESS)
			errno = ETIMEDOUT;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd != -1) {
		struct timeval tv = { TIMEOUT_S, 0 };
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	}
	return fd;
}

/* One request; returns the status code and the body (malloc'd) in *out.
 * Exits with EXIT_UNREACHABLE when pigeond cannot be reached or read. */
int
ctl_call(const char *method, const char *path, json_t *body, char **out)
{
	char *req = NULL, *payload = NULL, *buf = NULL, err[512] = "";
	size_t len = 0, cap = 8192;
	int fd, code = -1, n;

	if ((fd = dial()) == -1)
		die(EXIT_UNREACHABLE, "cannot reach pigeond at %s: %s", addr, strerror(errno));
	payload = body ? json_dumps(body, JSON_COMPACT) : NULL;
	n = asprintf(&req, "%s %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: pigeonctl\r\n"
	    "%s%s%s" "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
	    method, path, addr, token ? "Authorization: Bearer " : "", token ? token : "",
	    token ? "\r\n" : "", payload ? strlen(payload) : 0, payload ? payload : "");
	if (n < 0 || (buf = malloc(cap)) == NULL) {
		snprintf(err, sizeof(err), "out of memory");
		goto fail;
	}
	for (size_t off = 0; off < (size_t)n; ) {
		ssize_t w = write(fd, req + off, (size_t)n - off);
		if (w <= 0) {
			snprintf(err, sizeof(err), "sending to %s: %s", addr, strerror(errno));
			goto fail;
		}
		off += (size_t)w;
	}
	for (;;) {
		ssize_t r = read(fd, buf + len, cap - len - 1);
		if (r == 0)
			break;
		if (r < 0) {
			snprintf(err, sizeof(err), "no answer from %s: %s", addr,
			    errno == EAGAIN ? "timed out" : strerror(errno));
			goto fail;
		}
		len += (size_t)r;
		if (cap - len < 1024) {
			char *bigger = realloc(buf, cap *= 2);
			if (bigger == NULL) {
				snprintf(err, sizeof(err), "out of memory");
				goto fail;
			}
			buf = bigger;
		}
	}
	buf[len] = '\0';
	if (sscanf(buf, "HTTP/1.%*d %d", &code) != 1) {
		snprintf(err, sizeof(err), "%s did not answer HTTP", addr);
		goto fail;
	}
	char *start = strstr(buf, "\r\n\r\n");
	*out = strdup(start ? start + 4 : "");
fail:
	close(fd);
	free(buf);
	free(req);
	free(payload);
	if (err[0])
		die(EXIT_UNREACHABLE, "%s", err);
	return code;
}

/* Calls the API; on an error prints it and exits with its code. */
json_t *
api(const char *method, const char *path, json_t *body)
{
	char *text = NULL;
	int code = ctl_call(method, path, body, &text);
	json_t *j = json_loads(text, JSON_DECODE_ANY, NULL);

	json_decref(body);
	if (code >= 200 && code < 300 && j != NULL) {
		free(text);
		return j;
	}
	const char *err = json_string_value(json_object_get(j, "error"));
	if (json_out && j)
		print_json(j);
	fprintf(stderr, "pigeonctl: %s (HTTP %d)\n", err ? term_safe(err) : "unexpected answer",
	    code);
	free(text);
	json_decref(j);
	if (code == 401)
		exit(EXIT_AUTH);
	if (code >= 400 && code < 500)
		exit(EXIT_REFUSED);
	exit(EXIT_UNREACHABLE);
}

static char *
read_token_file(const char *path)
{
	char line[1024];
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		fprintf(stderr, "pigeonctl: token_file %s: %s\n", path, strerror(errno));
		return NULL;
	}
	if (fgets(line, sizeof(line), f) == NULL)
		line[0] = '\0';
	fclose(f);
	line[strcspn(line, "\r\n")] = '\0';
	return strdup(line);
}

/* [http] listen, or for port 0 its host and the port pigeond wrote in
 * [http] port_file, "PORT PID" (malloc'd); NULL with why in err. A file
 * whose pigeond no longer runs (killed: nothing removed it) is refused:
 * its port may be anyone's now, and the token would go to them. */
static char *
listen_address(const struct pigeon_conf *conf, char *err, size_t errlen)
{
	const char *colon = strrchr(conf->http_listen, ':');
	char line[64], *a = NULL, *end;
	long port, pid;
	FILE *f;

	if (colon == NULL || strtol(colon + 1, NULL, 10) != 0 || *conf->http_port_file == '\0')
		return strdup(conf->http_listen);
	if ((f = fopen(conf->http_port_file, "r")) == NULL) {
		snprintf(err, errlen, "[http] port_file %s: %s (is pigeond running?)",
		    conf->http_port_file, strerror(errno));
		return NULL;
	}
	if (fgets(line, sizeof(line), f) == NULL)
		line[0] = '\0';
	fclose(f);
	line[strcspn(line, "\r\n")] = '\0';
	errno = 0;
	port = strtol(line, &end, 10);
	pid = *end == ' ' ? strtol(end + 1, &end, 10) : 0;
	if (line[0] < '0' || line[0] > '9' || *end != '\0' || errno != 0 ||
	    port < 1 || port > 65535 || pid < 1 || (pid_t)pid != pid) {
		snprintf(err, errlen, "[http] port_file %s holds no \"PORT PID\" line "
		    "(an older pigeond's? start it again)", conf->http_port_file);
		return NULL;
	}
	/* EPERM: it runs, as another user (pigeond's own). */
	if (kill((pid_t)pid, 0) == -1 && errno == ESRCH) {
		snprintf(err, errlen, "[http] port_file %s is stale: pigeond (pid %ld) is "
		    "not running (killed?); port %ld may be another program's now: nothing "
		    "is sent there", conf->http_port_file, pid, port);
		return NULL;
	}
	if (asprintf(&a, "%.*s:%ld", (int)(colon - conf->http_listen), conf->http_listen,
	    port) == -1) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	return a;
}

/* Address and token: options, then the environment, then the configuration. */
void
ctl_settings(const char *config, const char *opt_addr, const char *opt_token,
    const char *opt_token_file)
{
	struct pigeon_conf conf;
	char err[1024];
	const char *path = config ? config : PIGEON_SYSCONFDIR "/pigeon.conf";
	int loaded = 0;

	/* The default file may be absent, or kept from this user (the
	 * environment then gives address and token); one there that is wrong
	 * is said, not passed over for 127.0.0.1:8025 without a token. */
	if (config || access(path, R_OK) == 0) {
		if (config_load_client(path, &conf, err, sizeof(err)) == -1)
			die(EXIT_USAGE, "%s", err);
		loaded = 1;
	}
	if (opt_addr)
		addr = strdup(opt_addr);
	else if (getenv("PIGEON_ADDR") && *getenv("PIGEON_ADDR"))
		addr = strdup(getenv("PIGEON_ADDR"));
	else if (!loaded)
		addr = strdup("127.0.0.1:8025");
	else if ((addr = listen_address(&conf, err, sizeof(err))) == NULL) {
		config_free(&conf);
		die(EXIT_UNREACHABLE, "%s", err);
	}
	/* -T, -t, PIGEON_TOKEN_FILE, PIGEON_TOKEN, then the configuration. */
	const char *tfile = opt_token_file ? opt_token_file : opt_token ? NULL :
	    (getenv("PIGEON_TOKEN_FILE") && *getenv("PIGEON_TOKEN_FILE") ?
	    getenv("PIGEON_TOKEN_FILE") : NULL);
	if (tfile) {
		/* A file keeps the token out of ps and the shell's history. */
		if ((token = read_token_file(tfile)) == NULL) {
			if (loaded)
				config_free(&conf);
			exit(EXIT_AUTH);
		}
	} else if (opt_token)
		token = strdup(opt_token);
	else if (getenv("PIGEON_TOKEN") && *getenv("PIGEON_TOKEN"))
		token = strdup(getenv("PIGEON_TOKEN"));
	else if (loaded && conf.http_token_file && *conf.http_token_file &&
	    (token = read_token_file(conf.http_token_file)) == NULL) {
		config_free(&conf);
		exit(EXIT_AUTH);
	}
	else if (loaded && conf.http_token && *conf.http_token)
		token = strdup(conf.http_token);
	if (loaded)
		config_free(&conf);
	if (token && strpbrk(token, "\r\n"))
		die(EXIT_USAGE, "the token holds a line break");
}

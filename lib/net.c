/* lib/net.c: TCP sockets and host:port parsing. */
#define _GNU_SOURCE /* accept4 */
#include "net.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int lt_parse_hostport(const char *s, char *host, size_t hostlen, uint16_t *port, int allow_zero,
                      char *err, size_t errlen)
{
	const char *colon, *hs, *he;
	if (!s || !*s) {
		snprintf(err, errlen, "expected host:port, got an empty value");
		return -1;
	}
	if (s[0] == '[') {
		he = strchr(s, ']');
		if (!he || he[1] != ':') {
			snprintf(err, errlen, "expected [v6addr]:port, got \"%s\"", s);
			return -1;
		}
		hs = s + 1;
		colon = he + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || strchr(s, ':') != colon) {
			snprintf(err, errlen, "expected host:port, got \"%s\"", s);
			return -1;
		}
		hs = s;
		he = colon;
	}
	size_t hl = (size_t)(he - hs);
	if (hl == 0 || hl >= hostlen) {
		snprintf(err, errlen, "bad host in \"%s\"", s);
		return -1;
	}
	memcpy(host, hs, hl);
	host[hl] = '\0';
	char *end;
	errno = 0;
	long p = strtol(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || errno || p < (allow_zero ? 0 : 1) || p > 65535) {
		snprintf(err, errlen, "bad port in \"%s\" (expected %d..65535)", s,
		         allow_zero ? 0 : 1);
		return -1;
	}
	*port = (uint16_t)p;
	return 0;
}

static struct addrinfo *resolve(const char *hostport, int passive, char *err, size_t errlen)
{
	char host[256], ports[8];
	uint16_t port;
	if (lt_parse_hostport(hostport, host, sizeof host, &port, passive, err, errlen) < 0)
		return NULL;
	snprintf(ports, sizeof ports, "%u", port);
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = passive ? AI_PASSIVE : 0};
	struct addrinfo *res = NULL;
	int rc = getaddrinfo(host, ports, &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "cannot resolve %s: %s", host, gai_strerror(rc));
		return NULL;
	}
	return res;
}

int lt_tcp_listen(const char *hostport, char *err, size_t errlen)
{
	struct addrinfo *res = resolve(hostport, 1, err, errlen);
	if (!res)
		return -1;
	int fd = -1;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0)
			continue;
		int one = 1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 64) == 0)
			break;
		snprintf(err, errlen, "cannot listen on %s: %s", hostport, strerror(errno));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

int lt_tcp_local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		return -1;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return -1;
}

static int connect_one(const struct addrinfo *ai, int timeout_ms, int *err_out)
{
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0) {
		*err_out = errno;
		return -1;
	}
	int fl = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	int rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
	if (rc != 0 && errno == EINPROGRESS) {
		struct pollfd p = {.fd = fd, .events = POLLOUT};
		rc = poll(&p, 1, timeout_ms);
		if (rc == 1) {
			int soerr = 0;
			socklen_t sl = sizeof soerr;
			getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
			rc = soerr ? -1 : 0;
			errno = soerr;
		} else {
			errno = rc == 0 ? ETIMEDOUT : errno;
			rc = -1;
		}
	}
	if (rc != 0) {
		*err_out = errno;
		close(fd);
		return -1;
	}
	fcntl(fd, F_SETFL, fl);
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

int lt_tcp_connect(const char *hostport, int timeout_ms, char *err, size_t errlen)
{
	struct addrinfo *res = resolve(hostport, 0, err, errlen);
	if (!res)
		return -1;
	int fd = -1, e = 0;
	for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next)
		fd = connect_one(ai, timeout_ms, &e);
	freeaddrinfo(res);
	if (fd < 0)
		snprintf(err, errlen, "cannot connect to %s: %s", hostport, strerror(e));
	return fd;
}

int lt_tcp_accept(int lfd, int timeout_ms)
{
	struct pollfd p = {.fd = lfd, .events = POLLIN};
	int rc = poll(&p, 1, timeout_ms);
	if (rc <= 0) {
		errno = rc == 0 ? EAGAIN : errno;
		return -1;
	}
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd >= 0) {
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	}
	return fd;
}

void lt_peer_addr(int fd, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	char host[INET6_ADDRSTRLEN] = "?";
	int port = 0;
	memset(&ss, 0, sizeof ss);
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *a = (struct sockaddr_in *)&ss;
			inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
			port = ntohs(a->sin_port);
		} else if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
			inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
			port = ntohs(a->sin6_port);
		}
	}
	snprintf(buf, len, strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);
}

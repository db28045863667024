/* iap/dial.c: a TCP connection and TLS handshake to the mediator that never blocks the caller.
 *
 * lt_tcp_connect + lt_tls_connect wait up to their timeout in connect() and in the handshake,
 * which would stop the capture loop for that long whenever the mediator is away (a peer that
 * drops SYNs costs the whole timeout). Here the socket is non-blocking from the start: each
 * step does what the socket allows now and returns, the caller polls iap_dial_pollfd with its
 * other descriptors, and the attempt fails once its deadline has passed. The peer must hold
 * the mediator role (lt_tls_check_role), as with lt_tls_connect. */
#include "iap.h"

#include "lib/log.h"
#include "lib/net.h"
#include "lib/timeutil.h"
#include "lib/tls.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum { D_IDLE, D_TCP, D_TLS };

void iap_dial_init(struct iap_dial *d, SSL_CTX *ctx, const char *hostport, const char *what,
                   int timeout_ms)
{
	memset(d, 0, sizeof *d);
	d->ctx = ctx;
	d->hostport = hostport;
	d->what = what;
	d->timeout_ms = timeout_ms;
	d->fd = -1;
}

static void release(struct iap_dial *d)
{
	if (d->ssl)
		SSL_free(d->ssl);
	d->ssl = NULL;
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
	if (d->res)
		freeaddrinfo(d->res);
	d->res = NULL;
	d->ai = NULL;
	d->state = D_IDLE;
}

void iap_dial_abort(struct iap_dial *d)
{
	if (d->state != D_IDLE) /* also safe on a zeroed, never initialised dial */
		release(d);
}

int iap_dial_active(const struct iap_dial *d)
{
	return d->state != D_IDLE;
}

static int fail(struct iap_dial *d, const char *why)
{
	lt_err("%s link %s: %s", d->what, d->hostport, why);
	release(d);
	return -1;
}

/* Starts a non-blocking connect to d->ai and the addresses after it. 0 started, -1 none left
 * (errno of the last one in *e). */
static int connect_next(struct iap_dial *d, int *e)
{
	for (; d->ai; d->ai = d->ai->ai_next) {
		int fd = socket(d->ai->ai_family, d->ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
		                d->ai->ai_protocol);
		if (fd < 0) {
			*e = errno;
			continue;
		}
		if (connect(fd, d->ai->ai_addr, d->ai->ai_addrlen) == 0 || errno == EINPROGRESS) {
			d->fd = fd;
			d->events = POLLOUT;
			d->state = D_TCP;
			return 0;
		}
		*e = errno;
		close(fd);
	}
	return -1;
}

int iap_dial_start(struct iap_dial *d, int64_t now_ms)
{
	char host[256], ports[8], err[300];
	uint16_t port;
	release(d);
	d->deadline_ms = now_ms + d->timeout_ms;
	if (lt_parse_hostport(d->hostport, host, sizeof host, &port, 0, err, sizeof err) != 0)
		return fail(d, err);
	snprintf(ports, sizeof ports, "%u", port);
	/* Numeric addresses (the usual configuration) resolve without a lookup; a host name is
	 * resolved here, once per attempt. */
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM};
	int rc = getaddrinfo(host, ports, &hints, &d->res);
	if (rc != 0) {
		snprintf(err, sizeof err, "cannot resolve %s: %s", host, gai_strerror(rc));
		d->res = NULL;
		return fail(d, err);
	}
	d->ai = d->res;
	int e = 0;
	if (connect_next(d, &e) != 0) {
		snprintf(err, sizeof err, "cannot connect to %s: %s", d->hostport, strerror(e));
		return fail(d, err);
	}
	return 0;
}

int iap_dial_pollfd(const struct iap_dial *d, struct pollfd *p)
{
	if (d->state == D_IDLE)
		return 0;
	p->fd = d->fd;
	p->events = (short)d->events;
	p->revents = 0;
	return 1;
}

/* The handshake failed with SSL error e: the reason, as lt_tls_connect words it. */
static void tls_reason(struct iap_dial *d, int e, char *why, size_t len)
{
	char buf[256] = "";
	unsigned long code = ERR_peek_last_error();
	if (code)
		ERR_error_string_n(code, buf, sizeof buf);
	ERR_clear_error();
	long vr = SSL_get_verify_result(d->ssl);
	if (vr != X509_V_OK)
		snprintf(why, len, "certificate verify failed: %s",
		         X509_verify_cert_error_string(vr));
	else if (e == SSL_ERROR_SYSCALL && !buf[0])
		snprintf(why, len, "TLS handshake failed: connection closed by peer");
	else if (strstr(buf, "peer did not return a certificate"))
		snprintf(why, len, "peer presented no certificate (%s)", buf);
	else
		snprintf(why, len, "TLS handshake failed: %s", buf);
}

int iap_dial_step(struct iap_dial *d, int64_t now_ms, SSL **out)
{
	char why[400];
	*out = NULL;
	if (d->state == D_TCP) {
		struct pollfd p = {.fd = d->fd, .events = POLLOUT};
		int pr = poll(&p, 1, 0);
		if (pr == 0) {
			if (now_ms < d->deadline_ms)
				return 0;
			snprintf(why, sizeof why, "cannot connect to %s: %s", d->hostport,
			         strerror(ETIMEDOUT));
			return fail(d, why);
		}
		int soerr = 0;
		socklen_t sl = sizeof soerr;
		if (pr < 0 || getsockopt(d->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
			soerr = errno;
		if (soerr) {
			close(d->fd);
			d->fd = -1;
			d->ai = d->ai->ai_next;
			int e = soerr;
			if (connect_next(d, &e) == 0)
				return 0;
			snprintf(why, sizeof why, "cannot connect to %s: %s", d->hostport,
			         strerror(e));
			return fail(d, why);
		}
		int one = 1;
		setsockopt(d->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		if (!(d->ssl = SSL_new(d->ctx)) || SSL_set_fd(d->ssl, d->fd) != 1) {
			ERR_clear_error();
			return fail(d, "TLS: cannot make a session (out of memory)");
		}
		d->state = D_TLS;
	}
	if (d->state != D_TLS)
		return -1;
	ERR_clear_error();
	int rc = SSL_connect(d->ssl);
	if (rc != 1) {
		int e = SSL_get_error(d->ssl, rc);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			d->events = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
			if (now_ms < d->deadline_ms)
				return 0;
			return fail(d, "TLS handshake timed out");
		}
		tls_reason(d, e, why, sizeof why);
		return fail(d, why);
	}
	if (lt_tls_check_role(d->ssl, LT_ROLE_MEDIATOR, why, sizeof why) != 0) {
		SSL_shutdown(d->ssl);
		return fail(d, why);
	}
	/* Handed over in blocking mode, as lt_tls_connect does; the links set what they need. */
	int fl = fcntl(d->fd, F_GETFL);
	if (fl >= 0)
		fcntl(d->fd, F_SETFL, fl & ~O_NONBLOCK);
	*out = d->ssl;
	d->ssl = NULL;
	d->fd = -1; /* owned by the SSL's user now (lt_tls_close closes it) */
	release(d);
	return 1;
}

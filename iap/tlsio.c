/* iap/tlsio.c: TLS reads and writes on a non-blocking socket for the IAP's two links.
 *
 * Why not lt_tls_read/lt_tls_write_all: those work on a blocking socket, where a readable socket
 * that holds only a non-application record (a TLS 1.3 session ticket from a peer that sends them)
 * makes SSL_read block until application data comes, which stalls the capture loop. Here
 * SSL_read returns WANT_READ instead and the caller carries on. */
#include "iap.h"

#include "lib/timeutil.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/err.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

int iap_tls_set_nonblock(SSL *ssl)
{
	/* SSL_write may then return after some records (iap_tls_write_some) and be called again
	 * with the rest from another place in memory */
	SSL_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	int fd = SSL_get_fd(ssl);
	int fl = fcntl(fd, F_GETFL);
	return fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ? -1 : 0;
}

/* Waits for the socket as SSL asked (e), at most ms (-1 forever). 1 ready, 0 timeout/EINTR,
 * -1 error. */
static int wait_io(SSL *ssl, int e, int ms)
{
	struct pollfd p = {.fd = SSL_get_fd(ssl),
	                   .events = e == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN};
	int pr = poll(&p, 1, ms);
	if (pr < 0)
		return errno == EINTR ? 0 : -1;
	return pr > 0;
}

static void failure(SSL *ssl, int e, char *why, size_t whylen)
{
	unsigned long code = ERR_peek_last_error();
	if (e == SSL_ERROR_ZERO_RETURN)
		snprintf(why, whylen, "peer closed the connection");
	else if (e == SSL_ERROR_SYSCALL && !code)
		snprintf(why, whylen, "connection lost: %s", errno ? strerror(errno) : "EOF");
	else {
		char b[256];
		ERR_error_string_n(code, b, sizeof b);
		snprintf(why, whylen, "TLS error: %s", b);
	}
	ERR_clear_error();
}

long iap_tls_read(SSL *ssl, void *buf, size_t len, int timeout_ms, char *why, size_t whylen)
{
	int64_t deadline = -1; /* read from the clock only when there is a wait to bound */
	if (len > INT_MAX)
		len = INT_MAX;
	for (;;) {
		ERR_clear_error();
		errno = 0;
		int n = SSL_read(ssl, buf, (int)len);
		if (n > 0)
			return n;
		int e = SSL_get_error(ssl, n);
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
			failure(ssl, e, why, whylen);
			return -1;
		}
		if (timeout_ms == 0)
			return 0; /* only what is there: no wait, no clock */
		if (timeout_ms > 0 && deadline < 0)
			deadline = lt_now_ms() + timeout_ms;
		int64_t left = timeout_ms < 0 ? -1 : deadline - lt_now_ms();
		if (timeout_ms > 0 && left <= 0)
			return 0;
		int w = wait_io(ssl, e, (int)left);
		if (w < 0) {
			snprintf(why, whylen, "poll: %s", strerror(errno));
			return -1;
		}
		if (w == 0)
			return 0; /* timeout or a signal: the caller looks at its flags */
	}
}

long iap_tls_write_some(SSL *ssl, const void *buf, size_t len, int *want_read, char *why,
                        size_t whylen)
{
	const unsigned char *p = buf;
	size_t done = 0;
	*want_read = 0;
	while (done < len) {
		size_t left = len - done;
		int chunk = left > INT_MAX ? INT_MAX : (int)left;
		ERR_clear_error();
		errno = 0;
		int n = SSL_write(ssl, p + done, chunk);
		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		int e = SSL_get_error(ssl, n);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			ERR_clear_error();
			*want_read = e == SSL_ERROR_WANT_READ;
			break; /* the socket takes no more now; the rest goes in a later call */
		}
		failure(ssl, e, why, whylen);
		return -1;
	}
	return (long)done;
}

int iap_tls_write(SSL *ssl, const void *buf, size_t len, int timeout_ms, char *why, size_t whylen)
{
	const unsigned char *p = buf;
	while (len > 0) {
		int chunk = len > INT_MAX ? INT_MAX : (int)len;
		ERR_clear_error();
		errno = 0;
		int n = SSL_write(ssl, p, chunk);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		int e = SSL_get_error(ssl, n);
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
			failure(ssl, e, why, whylen);
			return -1;
		}
		/* Retry with the same arguments, as OpenSSL requires. */
		int64_t t0 = lt_now_ms();
		int w;
		while ((w = wait_io(ssl, e, timeout_ms)) == 0 && lt_now_ms() - t0 < timeout_ms)
			;
		if (w <= 0) {
			snprintf(why, whylen, "%s",
			         w == 0 ? "write timed out (peer not reading)" : strerror(errno));
			return -1;
		}
	}
	return 0;
}

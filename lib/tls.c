/* lib/tls.c: mutual TLS with roles bound to certificates (SAN URI urn:lawtap:role:<role> and
 * the serverAuth/clientAuth EKU, checked after chain verification). */
#include "tls.h"

#include "log.h"
#include "timeutil.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define ROLE_URI_PREFIX "urn:lawtap:role:"

static const char *const role_names[] = {"none", "mediator", "iap", "lea", "admin"};

const char *lt_role_name(enum lt_role r)
{
	return (r >= LT_ROLE_NONE && r <= LT_ROLE_ADMIN) ? role_names[r] : "none";
}

enum lt_role lt_role_parse(const char *s)
{
	for (int r = LT_ROLE_MEDIATOR; r <= LT_ROLE_ADMIN; r++)
		if (s && strcmp(s, role_names[r]) == 0)
			return (enum lt_role)r;
	return LT_ROLE_NONE;
}

/* The last OpenSSL error as text (drains the queue). */
static void ssl_err_string(char *buf, size_t len)
{
	unsigned long e, last = 0;
	while ((e = ERR_get_error()) != 0)
		last = e;
	if (last)
		ERR_error_string_n(last, buf, len);
	else
		snprintf(buf, len, "%s", errno ? strerror(errno) : "unknown TLS error");
}

/* TEST ONLY key log: secrets appended, one line per call, under a lock. */
static pthread_mutex_t keylog_lock = PTHREAD_MUTEX_INITIALIZER;
static int keylog_ex_index = -1;

static void keylog_cb(const SSL *ssl, const char *line)
{
	SSL_CTX *ctx = SSL_get_SSL_CTX(ssl);
	const char *path = SSL_CTX_get_ex_data(ctx, keylog_ex_index);
	if (!path)
		return;
	pthread_mutex_lock(&keylog_lock);
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0) {
		char buf[1024];
		int n = snprintf(buf, sizeof buf, "%s\n", line);
		if (n > 0 && (size_t)n < sizeof buf && write(fd, buf, (size_t)n) != n)
			lt_err("tls keylog %s: write failed: %s", path, strerror(errno));
		close(fd);
	}
	pthread_mutex_unlock(&keylog_lock);
}

static void free_keylog_path(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
                             void *argp)
{
	OPENSSL_free(ptr);
}

/* Pinned contexts: chain verification is replaced by lt_tls_check_pin after the handshake. */
static int pinned_ex_index = -1;
static pthread_once_t pinned_once = PTHREAD_ONCE_INIT;

static void pinned_init(void)
{
	pinned_ex_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

static int accept_any_cb(int ok, X509_STORE_CTX *store)
{
	(void)ok;
	X509_STORE_CTX_set_error(store, X509_V_OK);
	return 1;
}

static SSL_CTX *ctx_build(const struct lt_tls_conf *conf, const char *ca, int server, char *err,
                          size_t errlen)
{
	char why[256];
	/* A peer closing mid-write must give EPIPE, not kill the process. */
	signal(SIGPIPE, SIG_IGN);
	if (!ca || !conf->cert || !conf->key) {
		snprintf(err, errlen, "TLS needs a CA, a certificate and a key");
		return NULL;
	}
	SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
	if (!ctx) {
		ssl_err_string(why, sizeof why);
		snprintf(err, errlen, "cannot create TLS context: %s", why);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* No session tickets: a ticket arriving after the handshake would make a blocking read
	 * with a timeout wait for application data that is not there. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	if (server)
		SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_mode(ctx, SSL_MODE_AUTO_RETRY);
	if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
		ssl_err_string(why, sizeof why);
		snprintf(err, errlen, "CA file %s: %s", ca, why);
		goto fail;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, conf->cert) != 1) {
		ssl_err_string(why, sizeof why);
		snprintf(err, errlen, "certificate file %s: %s", conf->cert, why);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, conf->key, SSL_FILETYPE_PEM) != 1) {
		ssl_err_string(why, sizeof why);
		snprintf(err, errlen, "key file %s: %s", conf->key, why);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(err, errlen, "key file %s does not match certificate %s", conf->key,
		         conf->cert);
		goto fail;
	}
	/* Chain verification plus the EKU of the side the peer plays. */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	SSL_CTX_set_purpose(ctx, server ? X509_PURPOSE_SSL_CLIENT : X509_PURPOSE_SSL_SERVER);
	if (conf->keylog) {
		if (keylog_ex_index < 0)
			keylog_ex_index =
			    SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, free_keylog_path);
		SSL_CTX_set_ex_data(ctx, keylog_ex_index, OPENSSL_strdup(conf->keylog));
		SSL_CTX_set_keylog_callback(ctx, keylog_cb);
		lt_warn("*** TLS KEY LOG ENABLED: session secrets are written to %s; anyone with "
		        "that file can decrypt intercepted content. For tests only. ***",
		        conf->keylog);
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

SSL_CTX *lt_tls_ctx_new(const struct lt_tls_conf *conf, int server, char *err, size_t errlen)
{
	return ctx_build(conf, conf->ca, server, err, errlen);
}

SSL_CTX *lt_tls_ctx_new_client_ca(const struct lt_tls_conf *conf, const char *peer_ca, int pinned,
                                  char *err, size_t errlen)
{
	SSL_CTX *ctx = ctx_build(conf, peer_ca ? peer_ca : conf->ca, 0, err, errlen);
	if (!ctx || !pinned)
		return ctx;
	pthread_once(&pinned_once, pinned_init);
	/* Any non-NULL marker (lt_tls_ctx_pinned). */
	SSL_CTX_set_ex_data(ctx, pinned_ex_index, (void *)&pinned_ex_index);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, accept_any_cb);
	return ctx;
}

int lt_tls_ctx_pinned(SSL_CTX *ctx)
{
	return ctx && pinned_ex_index >= 0 && SSL_CTX_get_ex_data(ctx, pinned_ex_index) != NULL;
}

int lt_tls_cert_sha256(SSL *ssl, uint8_t out[32])
{
	X509 *peer = ssl ? SSL_get1_peer_certificate(ssl) : NULL;
	if (!peer)
		return -1;
	unsigned int n = 0;
	int rc = X509_digest(peer, EVP_sha256(), out, &n) == 1 && n == 32 ? 0 : -1;
	X509_free(peer);
	return rc;
}

static void hex32(const uint8_t b[32], char out[65])
{
	static const char hx[] = "0123456789abcdef";
	for (int i = 0; i < 32; i++) {
		out[2 * i] = hx[b[i] >> 4];
		out[2 * i + 1] = hx[b[i] & 15];
	}
	out[64] = '\0';
}

int lt_tls_parse_pin(const char *hex, uint8_t out[32])
{
	size_t j = 0;
	int half = -1;
	for (const char *c = hex; c && *c; c++) {
		int v;
		if (*c >= '0' && *c <= '9')
			v = *c - '0';
		else if (*c >= 'a' && *c <= 'f')
			v = *c - 'a' + 10;
		else if (*c >= 'A' && *c <= 'F')
			v = *c - 'A' + 10;
		else if (*c == ':' && half < 0)
			continue;
		else
			return -1;
		if (half < 0) {
			half = v;
		} else {
			if (j == 32)
				return -1;
			out[j++] = (uint8_t)(half << 4 | v);
			half = -1;
		}
	}
	return j == 32 && half < 0 ? 0 : -1;
}

int lt_tls_check_pin(SSL *ssl, const uint8_t pin[32], char *why, size_t whylen)
{
	uint8_t got[32];
	char want_hex[65], got_hex[65];
	if (lt_tls_cert_sha256(ssl, got) != 0) {
		snprintf(why, whylen, "peer presented no certificate");
		return -1;
	}
	if (CRYPTO_memcmp(got, pin, 32) == 0)
		return 0;
	hex32(pin, want_hex);
	hex32(got, got_hex);
	snprintf(why, whylen,
	         "peer certificate does not match the pin: expected sha256 %s, presented %s",
	         want_hex, got_hex);
	return -1;
}

void lt_tls_ctx_free(SSL_CTX *ctx)
{
	SSL_CTX_free(ctx);
}

/* The role in the peer certificate's SAN URI, or LT_ROLE_NONE. */
static enum lt_role cert_role(X509 *cert, char *uri, size_t urilen)
{
	enum lt_role role = LT_ROLE_NONE;
	GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	uri[0] = '\0';
	for (int i = 0; names && i < sk_GENERAL_NAME_num(names); i++) {
		const GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, i);
		if (gn->type != GEN_URI)
			continue;
		const unsigned char *p = ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier);
		int n = ASN1_STRING_length(gn->d.uniformResourceIdentifier);
		size_t pl = strlen(ROLE_URI_PREFIX);
		if (n <= (int)pl || (size_t)n >= urilen || memcmp(p, ROLE_URI_PREFIX, pl) != 0)
			continue;
		memcpy(uri, p, (size_t)n);
		uri[n] = '\0';
		role = lt_role_parse(uri + pl);
		break;
	}
	GENERAL_NAMES_free(names);
	return role;
}

static int set_nonblock(int fd, int on)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return -1;
	return fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
}

static SSL *handshake(SSL_CTX *ctx, int fd, int server, enum lt_role want, int timeout_ms,
                      char *why, size_t whylen)
{
	SSL *ssl = SSL_new(ctx);
	char buf[256];
	if (!ssl) {
		ssl_err_string(buf, sizeof buf);
		snprintf(why, whylen, "SSL_new: %s", buf);
		return NULL;
	}
	SSL_set_fd(ssl, fd);
	set_nonblock(fd, 1);
	ERR_clear_error();
	for (;;) {
		int rc = server ? SSL_accept(ssl) : SSL_connect(ssl);
		if (rc == 1)
			break;
		int e = SSL_get_error(ssl, rc);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			struct pollfd p = {.fd = fd,
			                   .events = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT};
			int pr = poll(&p, 1, timeout_ms);
			if (pr > 0)
				continue;
			snprintf(why, whylen, "TLS handshake %s",
			         pr == 0 ? "timed out" : strerror(errno));
			goto fail;
		}
		long vr = SSL_get_verify_result(ssl);
		if (vr != X509_V_OK) {
			snprintf(why, whylen, "certificate verify failed: %s",
			         X509_verify_cert_error_string(vr));
		} else {
			ssl_err_string(buf, sizeof buf);
			if (e == SSL_ERROR_SYSCALL && !buf[0])
				snprintf(buf, sizeof buf, "connection closed by peer");
			if (strstr(buf, "peer did not return a certificate"))
				snprintf(why, whylen, "peer presented no certificate (%s)", buf);
			else
				snprintf(why, whylen, "TLS handshake failed: %s", buf);
		}
		goto fail;
	}
	set_nonblock(fd, 0);
	X509 *peer = SSL_get1_peer_certificate(ssl);
	if (!peer) {
		snprintf(why, whylen, "peer presented no certificate");
		goto fail;
	}
	if (SSL_get_verify_result(ssl) != X509_V_OK) {
		snprintf(why, whylen, "certificate verify failed: %s",
		         X509_verify_cert_error_string(SSL_get_verify_result(ssl)));
		X509_free(peer);
		goto fail;
	}
	char uri[256];
	enum lt_role got = cert_role(peer, uri, sizeof uri);
	X509_free(peer);
	if (want != LT_ROLE_NONE && got != want) {
		if (got == LT_ROLE_NONE)
			snprintf(why, whylen,
			         "peer certificate carries no lawtap role (SAN URI %s<role>), "
			         "expected %s",
			         ROLE_URI_PREFIX, lt_role_name(want));
		else
			snprintf(why, whylen, "peer role is %s, expected %s", lt_role_name(got),
			         lt_role_name(want));
		SSL_shutdown(ssl);
		goto fail;
	}
	return ssl;
fail:
	set_nonblock(fd, 0);
	SSL_free(ssl);
	return NULL;
}

int lt_tls_check_role(SSL *ssl, enum lt_role want, char *why, size_t whylen)
{
	X509 *peer = ssl ? SSL_get1_peer_certificate(ssl) : NULL;
	if (!peer) {
		snprintf(why, whylen, "peer presented no certificate");
		return -1;
	}
	if (SSL_get_verify_result(ssl) != X509_V_OK) {
		snprintf(why, whylen, "certificate verify failed: %s",
		         X509_verify_cert_error_string(SSL_get_verify_result(ssl)));
		X509_free(peer);
		return -1;
	}
	char uri[256];
	enum lt_role got = cert_role(peer, uri, sizeof uri);
	X509_free(peer);
	if (got != want) {
		snprintf(why, whylen, "peer role is %s, expected %s", lt_role_name(got),
		         lt_role_name(want));
		return -1;
	}
	return 0;
}

SSL *lt_tls_accept(SSL_CTX *ctx, int fd, enum lt_role want, int timeout_ms, char *why,
                   size_t whylen)
{
	return handshake(ctx, fd, 1, want, timeout_ms, why, whylen);
}

SSL *lt_tls_connect(SSL_CTX *ctx, int fd, enum lt_role want, int timeout_ms, char *why,
                    size_t whylen)
{
	return handshake(ctx, fd, 0, want, timeout_ms, why, whylen);
}

static int peer_name(SSL *ssl, char *buf, size_t len, int cn_only)
{
	X509 *peer = SSL_get1_peer_certificate(ssl);
	if (!peer)
		return -1;
	int rc = -1;
	X509_NAME *name = X509_get_subject_name(peer);
	if (cn_only) {
		int n = X509_NAME_get_text_by_NID(name, NID_commonName, buf, (int)len);
		rc = n > 0 && (size_t)n < len ? 0 : -1;
	} else {
		BIO *b = BIO_new(BIO_s_mem());
		if (b && X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253) >= 0) {
			int n = BIO_read(b, buf, (int)len - 1);
			if (n >= 0) {
				buf[n] = '\0';
				rc = 0;
			}
		}
		BIO_free(b);
	}
	X509_free(peer);
	return rc;
}

int lt_tls_peer_cn(SSL *ssl, char *buf, size_t len)
{
	return peer_name(ssl, buf, len, 1);
}

int lt_tls_peer_subject(SSL *ssl, char *buf, size_t len)
{
	return peer_name(ssl, buf, len, 0);
}

int lt_tls_write_all(SSL *ssl, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	while (len > 0) {
		size_t chunk = len > (1u << 30) ? (1u << 30) : len;
		int n = SSL_write(ssl, p, (int)chunk);
		if (n <= 0) {
			ERR_clear_error();
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Why a read failed (SSL_get_error code e, errno saved after it), into why; clears the
 * OpenSSL error queue. */
static void read_failure(int e, int saved, char *why, size_t whylen)
{
	if (why) {
		if (e == SSL_ERROR_ZERO_RETURN)
			snprintf(why, whylen, "peer closed the connection");
		else if (e == SSL_ERROR_SYSCALL)
			snprintf(why, whylen, "connection lost: %s",
			         saved ? strerror(saved) : "unexpected EOF");
		else {
			char b[256];
			ssl_err_string(b, sizeof b);
			snprintf(why, whylen, "TLS error: %s", b);
		}
	}
	ERR_clear_error();
}

long lt_tls_read(SSL *ssl, void *buf, size_t len, int timeout_ms, char *why, size_t whylen)
{
	if (len > (1u << 30))
		len = 1u << 30;
	int fd = SSL_get_fd(ssl);
	int64_t deadline = timeout_ms >= 0 ? lt_now_ms() + timeout_ms : 0;
	for (;;) {
		if (SSL_pending(ssl) == 0) {
			int wait = -1;
			if (timeout_ms >= 0) {
				int64_t left = deadline - lt_now_ms();
				wait = left > 0 ? (int)left : 0;
			}
			struct pollfd p = {.fd = fd, .events = POLLIN};
			int pr = poll(&p, 1, wait);
			if (pr < 0 && errno == EINTR)
				continue;
			if (pr == 0)
				return 0;
			if (pr < 0) {
				if (why)
					snprintf(why, whylen, "poll: %s", strerror(errno));
				return -1;
			}
		}
		/* Non-blocking for this read: readable bytes may be only a TLS 1.3 session
		 * ticket or a partial record, and a blocking SSL_read would then wait for
		 * application data past the timeout. */
		set_nonblock(fd, 1);
		int n = SSL_read(ssl, buf, (int)len);
		int e = n > 0 ? SSL_ERROR_NONE : SSL_get_error(ssl, n);
		int saved = errno;
		set_nonblock(fd, 0);
		if (n > 0)
			return n;
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			ERR_clear_error();
			if (timeout_ms >= 0 && lt_now_ms() >= deadline)
				return 0;
			continue;
		}
		read_failure(e, saved, why, whylen);
		return -1;
	}
}

int lt_tls_set_write_buffer(SSL *ssl, size_t size)
{
	BIO *wbio = SSL_get_wbio(ssl);
	BIO *buf = BIO_new(BIO_f_buffer());
	if (!wbio || !buf)
		goto fail;
	/* the read side stays on the socket BIO; the write side goes through the buffer */
	if (BIO_set_write_buffer_size(buf, (long)size) != 1 || !BIO_up_ref(wbio))
		goto fail;
	BIO_push(buf, wbio);
	SSL_set0_wbio(ssl, buf);
	return 0;
fail:
	BIO_free(buf);
	return -1;
}

int lt_tls_flush(SSL *ssl)
{
	BIO *wbio = SSL_get_wbio(ssl);
	return wbio && BIO_flush(wbio) == 1 ? 0 : -1;
}

int lt_tls_set_bulk(SSL *ssl, size_t rbuf)
{
	int fd = SSL_get_fd(ssl);
	if (fd < 0 || set_nonblock(fd, 1) != 0)
		return -1;
	SSL_set_default_read_buffer_len(ssl, rbuf);
	SSL_set_read_ahead(ssl, 1);
	/* the handshake allocated a buffer of the default size: freed (when empty) so the next
	 * read allocates one of rbuf bytes; a busy buffer stays as it is (still correct) */
	(void)SSL_free_buffers(ssl);
	return 0;
}

static int wait_fd(int fd, short events, int64_t deadline, int timeout_ms)
{
	for (;;) {
		int wait = -1;
		if (timeout_ms >= 0) {
			int64_t left = deadline - lt_now_ms();
			wait = left > 0 ? (int)left : 0;
		}
		struct pollfd p = {.fd = fd, .events = events};
		int pr = poll(&p, 1, wait);
		if (pr < 0 && errno == EINTR)
			continue;
		return pr;
	}
}

long lt_tls_read_nb(SSL *ssl, void *buf, size_t len, int timeout_ms, char *why, size_t whylen)
{
	if (len > (1u << 30))
		len = 1u << 30;
	int fd = SSL_get_fd(ssl);
	int64_t deadline = timeout_ms > 0 ? lt_now_ms() + timeout_ms : 0;
	uint8_t *p = buf;
	size_t got = 0;
	int waited = 0;
	while (got < len) {
		ERR_clear_error();
		int n = SSL_read(ssl, p + got, (int)(len - got));
		if (n > 0) {
			got += (size_t)n;
			continue;
		}
		int e = SSL_get_error(ssl, n);
		int saved = errno;
		if (got > 0) {
			ERR_clear_error(); /* a failure shows again on the next call */
			break;
		}
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			ERR_clear_error();
			if (timeout_ms == 0 ||
			    (waited && timeout_ms > 0 && lt_now_ms() >= deadline))
				return 0;
			int pr = wait_fd(fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline,
			                 timeout_ms);
			if (pr == 0)
				return 0;
			if (pr < 0) {
				if (why)
					snprintf(why, whylen, "poll: %s", strerror(errno));
				return -1;
			}
			waited = 1;
			continue;
		}
		read_failure(e, saved, why, whylen);
		return -1;
	}
	return (long)got;
}

int lt_tls_write_nb(SSL *ssl, const void *buf, size_t len, int timeout_ms)
{
	const unsigned char *p = buf;
	int fd = SSL_get_fd(ssl);
	int64_t deadline = timeout_ms >= 0 ? lt_now_ms() + timeout_ms : 0;
	while (len > 0) {
		size_t chunk = len > (1u << 30) ? (1u << 30) : len;
		ERR_clear_error();
		int n = SSL_write(ssl, p, (int)chunk);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		int e = SSL_get_error(ssl, n);
		ERR_clear_error();
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
			return -1;
		if (timeout_ms >= 0 && lt_now_ms() >= deadline)
			return -1;
		if (wait_fd(fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline,
		            timeout_ms) <= 0)
			return -1;
	}
	return 0;
}

void lt_tls_close(SSL *ssl)
{
	if (!ssl)
		return;
	int fd = SSL_get_fd(ssl);
	SSL_shutdown(ssl);
	SSL_free(ssl);
	if (fd >= 0)
		close(fd);
}

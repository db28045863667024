/* lib/tls.h: the one OpenSSL helper for every lawtap link (X2/X3, tasking, HI2/HI3, REST).
 *
 * Every link is mutual TLS (1.2 minimum). Roles are bound to certificates: a SAN URI
 * "urn:lawtap:role:<mediator|iap|lea|admin>" plus the extended key usage for the side the peer
 * plays (serverAuth for a server, clientAuth for a client), checked after chain verification.
 * A peer with no certificate, one from another CA, or with the wrong role is refused, and the
 * reason is logged by the caller with the string this API returns. */
#ifndef LAWTAP_TLS_H
#define LAWTAP_TLS_H

#include <openssl/ssl.h>
#include <stddef.h>
#include <stdint.h>

enum lt_role { LT_ROLE_NONE = 0, LT_ROLE_MEDIATOR, LT_ROLE_IAP, LT_ROLE_LEA, LT_ROLE_ADMIN };

struct lt_tls_conf {
	const char *ca;     /* PEM CA bundle that peers must chain to */
	const char *cert;   /* own certificate (PEM, may include chain) */
	const char *key;    /* own private key (PEM) */
	const char *keylog; /* TEST ONLY: SSLKEYLOGFILE-format path, NULL = off (default) */
};

const char *lt_role_name(enum lt_role r);
/* Parses "mediator", "iap", "lea", "admin"; returns LT_ROLE_NONE otherwise. */
enum lt_role lt_role_parse(const char *s);

/* Builds a context. server != 0: accepts clients and requires a client certificate whose
 * EKU allows clientAuth; server == 0: connects out and requires the server's EKU to allow
 * serverAuth. On failure returns NULL and writes the reason (naming the file) into err.
 * When conf->keylog is set, every session's secrets are appended there and a loud warning is
 * logged once. */
SSL_CTX *lt_tls_ctx_new(const struct lt_tls_conf *conf, int server, char *err, size_t errlen);
void lt_tls_ctx_free(SSL_CTX *ctx);

/* A client context towards a peer that is not lawtap (e.g. an LEA's own collector): like
 * lt_tls_ctx_new(conf, 0, ...) (own certificate and key from conf, serverAuth EKU required), but
 * the peer's chain is verified against peer_ca (NULL: conf->ca). The caller connects with
 * want = LT_ROLE_NONE, as such a peer carries no lawtap role. pinned != 0: no chain or EKU
 * verification at all, the caller MUST call lt_tls_check_pin after every handshake (the pin is
 * the trust). NULL with the reason in err. */
SSL_CTX *lt_tls_ctx_new_client_ca(const struct lt_tls_conf *conf, const char *peer_ca, int pinned,
                                  char *err, size_t errlen);
/* 1 when ctx was made with pinned != 0. */
int lt_tls_ctx_pinned(SSL_CTX *ctx);
/* Parses 64 hex digits (colons between octets allowed, as openssl -fingerprint prints them)
 * into out. 0 or -1. */
int lt_tls_parse_pin(const char *hex, uint8_t out[32]);
/* SHA-256 of the peer's leaf certificate (DER). 0 or -1 (no certificate). */
int lt_tls_cert_sha256(SSL *ssl, uint8_t out[32]);
/* After a handshake: 0 when the peer's leaf certificate's SHA-256 equals pin, -1 otherwise with
 * the expected and the presented fingerprint (hex) in why. */
int lt_tls_check_pin(SSL *ssl, const uint8_t pin[32], char *why, size_t whylen);

/* Wraps a connected socket and runs the handshake (blocking, with timeout_ms), then checks the
 * peer's role: want is the role the peer must hold. Returns a ready SSL* or NULL with the
 * reason in why (e.g. "peer presented no certificate", "certificate verify failed: unable to get
 * local issuer certificate", "peer role is iap, expected mediator"). The socket is not closed on
 * failure; the caller closes it. */
SSL *lt_tls_accept(SSL_CTX *ctx, int fd, enum lt_role want, int timeout_ms, char *why,
                   size_t whylen);
SSL *lt_tls_connect(SSL_CTX *ctx, int fd, enum lt_role want, int timeout_ms, char *why,
                    size_t whylen);

/* After a handshake run elsewhere (e.g. an OpenSSL bufferevent): checks that the peer
 * presented a certificate that verified and holds role want. 0, or -1 with the reason in why. */
int lt_tls_check_role(SSL *ssl, enum lt_role want, char *why, size_t whylen);
/* The subject CN of the verified peer certificate (for IAP ids and audit). 0 or -1. */
int lt_tls_peer_cn(SSL *ssl, char *buf, size_t len);
/* The one-line subject of the verified peer certificate (RFC 2253 form). 0 or -1. */
int lt_tls_peer_subject(SSL *ssl, char *buf, size_t len);

/* Writes all len bytes (blocking socket). 0, or -1 when the link failed. */
int lt_tls_write_all(SSL *ssl, const void *buf, size_t len);
/* Reads up to len bytes, waiting at most timeout_ms (-1 forever) for data.
 * Returns >0 bytes read, 0 on timeout, -1 on EOF or error (why says which, may be NULL). */
long lt_tls_read(SSL *ssl, void *buf, size_t len, int timeout_ms, char *why, size_t whylen);
/* For a connection that mostly writes a long stream (the mediator's HI2/HI3 side), on a blocking
 * socket: TLS records are gathered in a buffer of size bytes and reach the socket in one write()
 * when it is full or at lt_tls_flush, instead of one write() per record. The caller must call
 * lt_tls_flush after each burst of writes (lt_tls_write_all does not). 0 or -1. */
int lt_tls_set_write_buffer(SSL *ssl, size_t size);
/* Writes out what lt_tls_set_write_buffer gathered (nothing to do without one). 0 or -1. */
int lt_tls_flush(SSL *ssl);
/* For a connection that mostly reads a long stream (the mediator's X2/X3 side): puts the socket
 * in non-blocking mode for good and lets OpenSSL read ahead up to rbuf bytes per read() call
 * (keep it to a few TLS records: OpenSSL 3.0 moves what is left in that buffer to its start
 * before each record, a memmove of up to rbuf bytes per record).
 * Such a connection is then read with lt_tls_read_nb and written with lt_tls_write_nb only
 * (lt_tls_read's readiness check does not see data read ahead). 0 or -1. */
int lt_tls_set_bulk(SSL *ssl, size_t rbuf);
/* Reads on a non-blocking socket (lt_tls_set_bulk): everything available now, up to len bytes
 * (several TLS records), waiting at most timeout_ms (0: not at all, -1: forever) for the first
 * byte. >0 bytes, 0 when nothing came in time, -1 on EOF or error (why says which, may be NULL;
 * data read before a failure is returned first, the failure on the next call). */
long lt_tls_read_nb(SSL *ssl, void *buf, size_t len, int timeout_ms, char *why, size_t whylen);
/* Writes all len bytes on a non-blocking socket, waiting at most timeout_ms (-1: forever) in
 * all. 0, or -1 when the link failed or the time ran out. */
int lt_tls_write_nb(SSL *ssl, const void *buf, size_t len, int timeout_ms);
/* Sends close_notify (best effort), frees the SSL and closes its socket. Accepts NULL. */
void lt_tls_close(SSL *ssl);

#endif

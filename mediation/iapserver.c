/* mediation/iapserver.c: the IAP side. Listeners accept TCP, each connection gets a thread
 * that runs the mutual-TLS handshake (IAP role required) and then reads X2/X3 PDUs through a
 * bounded buffer. A garbage or oversized PDU drops the connection, never the process. */
#include "med_int.h"

#include "lib/log.h"
#include "lib/net.h"
#include "lib/timeutil.h"
#include "lib/tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define HANDSHAKE_TIMEOUT_MS 10000
#define READ_POLL_MS 200
#define SOCK_IO_TIMEOUT_S 10
/* Connection threads (X2/X3 and tasking together); more clients are refused. */
#define MED_MAX_CONNS 512

/* PrintableString (X.680): A-Z a-z 0-9 space ' ( ) + , - . / : = ? */
static int printable_string(const char *s, size_t min, size_t max)
{
	size_t n = strlen(s);
	if (n < min || n > max)
		return 0;
	for (; *s; s++) {
		char c = *s;
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      strchr(" '()+,-./:=?", c)))
			return 0;
	}
	return 1;
}

static void sanitize(const char *in, char *out, size_t len)
{
	size_t i = 0;
	for (; in[i] && i + 1 < len; i++)
		out[i] = (in[i] >= 0x20 && in[i] < 0x7f) ? in[i] : '?';
	out[i] = '\0';
}

SSL *med_accept_iap(struct med_ctx *m, int fd, const char *what, char *iap_id, size_t idlen)
{
	char addr[80], why[256] = "";
	lt_peer_addr(fd, addr, sizeof addr);
	struct timeval tv = {SOCK_IO_TIMEOUT_S, 0};
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	SSL *ssl =
	    lt_tls_accept(m->srv_ctx, fd, LT_ROLE_IAP, HANDSHAKE_TIMEOUT_MS, why, sizeof why);
	if (!ssl) {
		lt_warn("%s: refused connection from %s: %s", what, addr, why);
		atomic_fetch_add(&m->bad_conns, 1);
		close(fd);
		return NULL;
	}
	char cn[128] = "";
	if (lt_tls_peer_cn(ssl, cn, sizeof cn) != 0 || !printable_string(cn, 1, MED_IPID_MAX)) {
		char clean[64];
		sanitize(cn, clean, sizeof clean);
		lt_warn("%s: refused connection from %s: IAP id (certificate CN \"%s\") must be "
		        "1..%d PrintableString characters",
		        what, addr, clean, MED_IPID_MAX);
		atomic_fetch_add(&m->bad_conns, 1);
		lt_tls_close(ssl);
		return NULL;
	}
	snprintf(iap_id, idlen, "%s", cn);
	lt_info("iap %s %s: connected from %s", iap_id, what, addr);
	return ssl;
}

void med_conn_begin(struct med_ctx *m)
{
	pthread_mutex_lock(&m->conn_mu);
	m->nconns++;
	pthread_mutex_unlock(&m->conn_mu);
}

void med_conn_end(struct med_ctx *m)
{
	pthread_mutex_lock(&m->conn_mu);
	m->nconns--;
	pthread_cond_broadcast(&m->conn_cv);
	pthread_mutex_unlock(&m->conn_mu);
}

static const char *x2x3_err(int rc)
{
	switch (rc) {
	case LT_X2X3_E_TOOBIG:
		return "PDU larger than the accepted maximum";
	case LT_X2X3_E_BADTYPE:
		return "unknown PDU type";
	default:
		return "malformed PDU header";
	}
}

/* Handles every whole PDU in buf[*len]; returns -1 to drop the connection (logged). */
static int handle_pdus(struct med_ctx *m, SSL *ssl, const char *id, uint8_t *buf, size_t *len,
                       uint8_t *scratch, uint64_t *count)
{
	size_t off = 0;
	int rc = 0;
	while (off < *len) {
		size_t pdu_len = 0;
		int fr = lt_x2x3_frame(buf + off, *len - off, &pdu_len);
		if (fr == LT_X2X3_E_SHORT)
			break;
		if (fr != 0) {
			lt_warn("iap %s x2x3: %s, dropping the connection", id, x2x3_err(fr));
			rc = -1;
			break;
		}
		struct lt_x2x3_pdu p;
		const char *why = NULL;
		int pr = lt_x2x3_parse(buf + off, pdu_len, &p, &why);
		if (pr != 0) {
			lt_warn("iap %s x2x3: %s, dropping the connection", id,
			        why ? why : x2x3_err(pr));
			rc = -1;
			break;
		}
		if (p.type == LT_X2 || p.type == LT_X3) {
			if (med_record_in(m, &p, id, scratch, MED_PSPDU_MAX) != 0) {
				lt_warn("iap %s x2x3: record not spooled, dropping the connection "
				        "unacknowledged (the IAP resends)",
				        id);
				rc = -1;
				break;
			}
			(*count)++;
		} else if (p.type == LT_X2X3_KEEPALIVE) {
			/* Everything before it is spooled by now (handled synchronously above);
			 * made durable per the fsync policy (group commit), the ack confirms it
			 * to the IAP (internals.md, delivery.md). */
			if (med_spool_sync(m) != 0) {
				lt_warn("iap %s x2x3: spool not durable, dropping the connection "
				        "unacknowledged (the IAP resends)",
				        id);
				rc = -1;
				break;
			}
			uint8_t ack[64];
			long n = lt_x2x3_keepalive(1, p.has_seq ? p.seq : 0, ack, sizeof ack);
			if (n < 0 || lt_tls_write_all(ssl, ack, (size_t)n) != 0) {
				lt_warn("iap %s x2x3: cannot send a keep-alive ack, dropping the "
				        "connection",
				        id);
				rc = -1;
				break;
			}
		} else {
			lt_debug("iap %s x2x3: ignoring a keep-alive ack", id);
		}
		off += pdu_len;
	}
	if (off) {
		memmove(buf, buf + off, *len - off);
		*len -= off;
	}
	return rc;
}

static void *x2x3_conn(void *arg)
{
	struct med_conn_arg *a = arg;
	struct med_ctx *m = a->m;
	int fd = a->fd;
	free(a);
	char id[MED_IPID_MAX + 1];
	SSL *ssl = med_accept_iap(m, fd, "x2x3", id, sizeof id);
	uint8_t *buf = NULL, *scratch = NULL;
	if (!ssl)
		goto out;
	buf = malloc(LT_X2X3_MAX_PDU);
	scratch = malloc(MED_PSPDU_MAX);
	if (!buf || !scratch) {
		lt_err("iap %s x2x3: out of memory, dropping the connection", id);
		goto out;
	}
	size_t len = 0;
	uint64_t count = 0;
	char why[256];
	while (!atomic_load(&m->stopping)) {
		why[0] = '\0';
		long n = lt_tls_read(ssl, buf + len, LT_X2X3_MAX_PDU - len, READ_POLL_MS, why,
		                     sizeof why);
		if (n == 0)
			continue;
		if (n < 0) {
			if (len)
				lt_warn("iap %s x2x3: connection ended inside a PDU (%zu bytes "
				        "discarded): %s",
				        id, len, why[0] ? why : "closed");
			else
				lt_info("iap %s x2x3: closed (%" PRIu64 " records): %s", id, count,
				        why[0] ? why : "closed by peer");
			break;
		}
		len += (size_t)n;
		if (handle_pdus(m, ssl, id, buf, &len, scratch, &count) != 0)
			break;
		if (len == LT_X2X3_MAX_PDU) { /* cannot happen: frame refuses bigger PDUs */
			lt_warn("iap %s x2x3: PDU does not fit the buffer, dropping the connection",
			        id);
			break;
		}
	}
out:
	free(buf);
	free(scratch);
	lt_tls_close(ssl);
	med_conn_end(m);
	return NULL;
}

/* Accept loop shared by both listeners. */
static void listen_loop(struct med_ctx *m, int lfd, const char *what, void *(*fn)(void *))
{
	int64_t last_busy_log = -100000;
	while (!atomic_load(&m->stopping)) {
		int fd = lt_tcp_accept(lfd, READ_POLL_MS);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != EWOULDBLOCK) {
				lt_warn("%s: accept: %s", what, strerror(errno));
				usleep(100 * 1000);
			}
			continue;
		}
		pthread_mutex_lock(&m->conn_mu);
		int busy = m->nconns >= MED_MAX_CONNS;
		pthread_mutex_unlock(&m->conn_mu);
		if (busy) {
			int64_t now = lt_now_ms();
			if (now - last_busy_log >= 10000) {
				char addr[80];
				lt_peer_addr(fd, addr, sizeof addr);
				lt_warn(
				    "%s: refused connection from %s: %d connections open already",
				    what, addr, MED_MAX_CONNS);
				last_busy_log = now;
			}
			atomic_fetch_add(&m->bad_conns, 1);
			close(fd);
			continue;
		}
		struct med_conn_arg *a = malloc(sizeof *a);
		pthread_t t;
		pthread_attr_t at;
		pthread_attr_init(&at);
		pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
		if (a) {
			a->m = m;
			a->fd = fd;
			med_conn_begin(m);
			if (pthread_create(&t, &at, fn, a) != 0) {
				med_conn_end(m);
				free(a);
				a = NULL;
			}
		}
		pthread_attr_destroy(&at);
		if (!a) {
			lt_err("%s: cannot start a connection thread, connection closed", what);
			close(fd);
		}
	}
}

void *med_x2x3_listener(void *arg)
{
	struct med_ctx *m = arg;
	listen_loop(m, m->x2x3_fd, "x2x3", x2x3_conn);
	return NULL;
}

void *med_tasking_listener(void *arg)
{
	struct med_ctx *m = arg;
	listen_loop(m, m->tasking_fd, "tasking", med_tasking_conn);
	return NULL;
}

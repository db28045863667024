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

/* Reading: up to X2X3_READ bytes per read (OpenSSL reading ahead X2X3_READ_AHEAD per read()
 * call), and every whole PDU in them handled before the next read.
 * Acknowledging: a keep-alive's ack waits for a group commit (every record received before it
 * spooled, written and synced per the fsync policy, then the acks written together). The
 * commit runs once ACK_MS passed since the first waiting keep-alive, or a byte budget arrived
 * since, or ACK_MAX acks wait: one fdatasync for many keep-alives (the IAP keeps up to 4 MiB
 * in flight, so it does not stall meanwhile), at the cost of up to ACK_MS of ack latency.
 * The byte budget (X2/X3 bytes handled since the first waiting keep-alive, checked at each
 * keep-alive) is 0 on a new connection, then ACK_BYTES_FIRST, doubling with each commit up to
 * ACK_BYTES: a link that keeps breaking still gets its first batches acknowledged at once (so
 * the IAP's resends make progress), a steady one soon syncs once per ACK_BYTES. */
#define X2X3_READ (256 * 1024)
/* OpenSSL's read-ahead buffer: a few TLS records per read() call, no more: OpenSSL 3.0 moves
 * the bytes left in it to the buffer's start before every record (payload alignment), so a
 * large one costs a memmove of up to its size per record. */
#define X2X3_READ_AHEAD (48 * 1024)
#define ACK_MAX 64
#define ACK_BYTES (2 * 1024 * 1024) /* half of what the IAP keeps in flight (IAP_INFLIGHT_MAX) */
#define ACK_BYTES_FIRST (64 * 1024) /* one IAP batch */
#define ACK_MS 10

struct acks {
	uint32_t seq[ACK_MAX];
	size_t n;
	uint64_t bytes;   /* received since the first waiting keep-alive */
	uint64_t budget;  /* commit once bytes reach it (ACK_BYTES_FIRST, doubling to ACK_BYTES) */
	int64_t first_ms; /* when the first one came */
	/* The group whose sync runs in the syncer thread (syncer.c): its acks go out once sync
	 * number fgen is done. One group at a time; the next one waits behind it. */
	uint32_t fseq[ACK_MAX];
	size_t fn;
	uint64_t fgen;
};

/* Encodes and writes the acks of n keep-alives in one write. -1 to drop the connection. */
static int send_acks(SSL *ssl, const char *id, const uint32_t *seq, size_t n)
{
	uint8_t out[ACK_MAX * 64];
	size_t len = 0;
	for (size_t i = 0; i < n; i++) {
		long k = lt_x2x3_keepalive(1, seq[i], out + len, sizeof out - len);
		if (k < 0) {
			lt_warn(
			    "iap %s x2x3: cannot encode a keep-alive ack, dropping the connection",
			    id);
			return -1;
		}
		len += (size_t)k;
	}
	if (lt_tls_write_nb(ssl, out, len, SOCK_IO_TIMEOUT_S * 1000) != 0) {
		lt_warn("iap %s x2x3: cannot send a keep-alive ack, dropping the connection", id);
		return -1;
	}
	return 0;
}

static void not_durable(const char *id)
{
	lt_warn("iap %s x2x3: spool not durable, dropping the connection unacknowledged (the IAP "
	        "resends)",
	        id);
}

/* The group in flight: its acks are sent once its sync is done (waiting up to wait_ms).
 * 1 when sent (or there was none), 0 while the sync runs, -1 to drop the connection. */
static int ack_flight(struct med_ctx *m, SSL *ssl, const char *id, struct acks *a, int wait_ms)
{
	if (!a->fn)
		return 1;
	int r = med_sync_poll(m, a->fgen, wait_ms);
	if (r == 0)
		return 0;
	if (r < 0) {
		not_durable(id);
		return -1;
	}
	if (send_acks(ssl, id, a->fseq, a->fn) != 0)
		return -1;
	a->fn = 0;
	return 1;
}

/* Group commit of the waiting acks: the syncer is asked for a sync and the acks follow when
 * it is done (ack_flight); without a syncer ("always", "none") the spools are written (and
 * synced) here and the acks sent at once. -1 to drop the connection (logged). */
static int ack_commit(struct med_ctx *m, SSL *ssl, const char *id, struct acks *a)
{
	if (!a->n)
		return 0;
	int full = a->n == ACK_MAX;
	int f = ack_flight(m, ssl, id, a, full ? SOCK_IO_TIMEOUT_S * 1000 : 0);
	if (f < 0)
		return -1;
	if (f == 0) {
		if (!full)
			return 0; /* this group waits behind the one in flight */
		lt_warn("iap %s x2x3: spool sync takes longer than %d s, dropping the connection "
		        "unacknowledged (the IAP resends)",
		        id, SOCK_IO_TIMEOUT_S);
		return -1;
	}
	uint64_t g = med_sync_request(m);
	if (g) {
		memcpy(a->fseq, a->seq, a->n * sizeof a->seq[0]);
		a->fn = a->n;
		a->fgen = g;
	} else {
		if (med_spool_sync(m) != 0) {
			not_durable(id);
			return -1;
		}
		if (send_acks(ssl, id, a->seq, a->n) != 0)
			return -1;
	}
	a->n = 0;
	a->bytes = 0;
	a->budget = a->budget < ACK_BYTES_FIRST ? ACK_BYTES_FIRST
	            : a->budget * 2 > ACK_BYTES ? ACK_BYTES
	                                        : a->budget * 2;
	return 0;
}

/* Handles every whole PDU in buf[*len]; returns -1 to drop the connection (logged). */
static int handle_pdus(struct med_ctx *m, SSL *ssl, const char *id, uint8_t *buf, size_t *len,
                       uint8_t *scratch, uint64_t *count, struct acks *acks)
{
	size_t off = 0;
	int rc = 0;
	struct med_run run = {NULL, {0}, 0, 0}; /* one warrant lock per run of records */
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
			if (med_record_in(m, &p, id, scratch, MED_PSPDU_MAX, &run) != 0) {
				lt_warn("iap %s x2x3: record not spooled, dropping the connection "
				        "unacknowledged (the IAP resends)",
				        id);
				rc = -1;
				break;
			}
			(*count)++;
		} else if (p.type == LT_X2X3_KEEPALIVE) {
			/* Everything before it is spooled by now (handled synchronously above); its
			 * ack follows the next group commit (internals.md, delivery.md). */
			med_run_end(&run);
			if (acks->n == 0)
				acks->first_ms = lt_now_ms();
			acks->seq[acks->n++] = p.has_seq ? p.seq : 0;
			if ((acks->n == ACK_MAX || acks->bytes >= acks->budget) &&
			    ack_commit(m, ssl, id, acks) != 0) {
				rc = -1;
				break;
			}
		} else {
			lt_debug("iap %s x2x3: ignoring a keep-alive ack", id);
		}
		off += pdu_len;
		if (acks->n)
			acks->bytes += pdu_len;
	}
	med_run_end(&run);
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
	struct acks *acks = NULL;
	const size_t cap = LT_X2X3_MAX_PDU + X2X3_READ;
	if (!ssl)
		goto out;
	buf = malloc(cap);
	scratch = malloc(MED_PSPDU_MAX);
	acks = calloc(1, sizeof *acks);
	if (!buf || !scratch || !acks || lt_tls_set_bulk(ssl, X2X3_READ_AHEAD) != 0) {
		lt_err("iap %s x2x3: out of memory, dropping the connection", id);
		goto out;
	}
	size_t len = 0;
	uint64_t count = 0;
	char why[256];
	acks->budget = 0; /* the first keep-alive is acknowledged at once */
	med_iap_x2x3(m, id, 1);
	while (!atomic_load(&m->stopping)) {
		why[0] = '\0';
		/* with acks waiting, read only until they are due: then the group commit */
		int wait = READ_POLL_MS;
		if (acks->n) {
			int64_t left = acks->first_ms + ACK_MS - lt_now_ms();
			wait = left > 0 ? (int)left : 0;
		}
		if (acks->fn && wait > 1)
			wait = 1; /* a sync in flight: its acks go out soon after it ends */
		long n = lt_tls_read_nb(ssl, buf + len, cap - len, wait, why, sizeof why);
		if (n == 0) {
			if (ack_flight(m, ssl, id, acks, 0) < 0)
				break;
			if (acks->n && lt_now_ms() - acks->first_ms >= ACK_MS &&
			    ack_commit(m, ssl, id, acks) != 0)
				break;
			continue;
		}
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
		if (handle_pdus(m, ssl, id, buf, &len, scratch, &count, acks) != 0)
			break;
		if (ack_flight(m, ssl, id, acks, 0) < 0)
			break;
		if (acks->n &&
		    (acks->bytes >= acks->budget || lt_now_ms() - acks->first_ms >= ACK_MS) &&
		    ack_commit(m, ssl, id, acks) != 0)
			break;
		if (len >= LT_X2X3_MAX_PDU) { /* cannot happen: frame refuses bigger PDUs */
			lt_warn("iap %s x2x3: PDU does not fit the buffer, dropping the connection",
			        id);
			break;
		}
	}
	/* intake stops: what was taken is spooled, so its waiting acks are still given */
	if (atomic_load(&m->stopping) && (acks->n || acks->fn) &&
	    ack_flight(m, ssl, id, acks, SOCK_IO_TIMEOUT_S * 1000) > 0 &&
	    ack_commit(m, ssl, id, acks) == 0)
		(void)ack_flight(m, ssl, id, acks, SOCK_IO_TIMEOUT_S * 1000);
	med_iap_x2x3(m, id, 0);
out:
	free(buf);
	free(scratch);
	free(acks);
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
			if (atomic_load(&m->stopping))
				break; /* med_stop_intake shut the socket down to wake us */
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

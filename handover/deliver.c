/* handover/deliver.c: the delivery thread of one handover (LEA x HI2|HI3).
 * States: down -> connecting (TCP + TLS, peer must hold the LEA role, or for a collector that
 * is not lawtap chain to the LEA's CA or match its pin) -> up -> (failure)
 * backoff (capped full jitter) -> connecting ... In "up" the thread writes batches of whole
 * records read from the spool, sends keep-alives (idle, confirming, draining) and reads only
 * keep-alive responses; a response advances the spool's cursor (ack modes: handover.h). In
 * ack_mode pdu-ack the state machine of pduack.h (docs/pdu-ack.md) negotiates PDU
 * acknowledgement first and then pDUAcknowledgementRequests take the confirming keep-alives'
 * place; it also answers which responses are allowed. */
#include "ho_int.h"

#include "lib/log.h"
#include "lib/net.h"
#include "lib/timeutil.h"
#include "lib/tls.h"
#include "mediation/codec/pspdu.h"

#include <errno.h>
#include <limits.h>
#include <openssl/err.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define CONNECT_TIMEOUT_MS 5000
#define HANDSHAKE_TIMEOUT_MS 10000
#define IO_TIMEOUT_S 10
#define POLL_MS 50
#define KA_WAIT_POLL_MS 5
#define RBUF_MAX 4096 /* a keep-alive response is ~60 bytes; anything bigger is wrong anyway */
#define FAIL_LOG_EVERY_MS 60000

/* Per-connection state of the thread. */
struct session {
	SSL *ssl;
	uint32_t ka_seq; /* next keep-alive sequence number on this connection */
	int ka_out;      /* a keep-alive waits for its response */
	uint32_t ka_want;
	struct ho_spool_pos ka_mark; /* what the outstanding keep-alive confirms */
	uint64_t bytes_since_ka;     /* written since the last keep-alive */
	int64_t ka_deadline;
	int64_t last_write;
	uint8_t rbuf[RBUF_MAX];
	size_t rlen;
	int64_t connected_at;
	int healthy;      /* a keep-alive was answered on this connection */
	int64_t stall_ms; /* since when only unwritten records were left to send (0: not) */
	char why[256];    /* why the link is being dropped */
};

static void timed_wait(struct ho_link *l, int64_t ms)
{
	struct timespec ts;
	lt_abstime_ms(&ts, ms);
	pthread_cond_timedwait(&l->cv, &l->mu, &ts);
}

static SSL *link_connect(struct ho_link *l, char *why, size_t whylen)
{
	const char *addr = l->lea->addr[l->hi];
	int fd = lt_tcp_connect(addr, CONNECT_TIMEOUT_MS, why, whylen);
	if (fd < 0)
		return NULL;
	/* Bound every blocking write/read so a stuck LEA cannot hang the thread forever. */
	struct timeval tv = {IO_TIMEOUT_S, 0};
	if (l->lea->keepalive_timeout > IO_TIMEOUT_S)
		tv.tv_sec = l->lea->keepalive_timeout;
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	/* A collector that is not lawtap has no role URI: its trust is the LEA's own CA (chain and
	 * serverAuth EKU verified by the context) or the pinned certificate. */
	enum lt_role want = l->lea->peer_no_role ? LT_ROLE_NONE : LT_ROLE_LEA;
	SSL *ssl = lt_tls_connect(l->ho->ssl_ctx, fd, want, HANDSHAKE_TIMEOUT_MS, why, whylen);
	if (!ssl) {
		close(fd);
		return NULL;
	}
	/* A pinned context verifies nothing itself: the pin is the trust, so a context without one
	 * is refused too (fail closed). */
	if (l->lea->has_pin || lt_tls_ctx_pinned(l->ho->ssl_ctx)) {
		char pw[256];
		if (!l->lea->has_pin) {
			snprintf(why, whylen,
			         "refused: TLS context is pinned but the LEA has no pin");
			lt_tls_close(ssl);
			return NULL;
		}
		if (lt_tls_check_pin(ssl, l->lea->pin, pw, sizeof pw) != 0) {
			/* the caller logs it with the handover's name ("lea <id> hi2") */
			snprintf(why, whylen, "refused: %.240s", pw);
			lt_tls_close(ssl);
			return NULL;
		}
	}
	/* one write() per batch (HO_BATCH_MAX of records becomes ~16 TLS records) */
	if (lt_tls_set_write_buffer(ssl, HO_BATCH_MAX + 64 * 1024) != 0) {
		snprintf(why, whylen, "out of memory for the TLS write buffer");
		lt_tls_close(ssl);
		return NULL;
	}
	return ssl;
}

/* Writes and pushes out (the link gathers TLS records in a write buffer: one write() per batch
 * instead of one per 16 KiB TLS record). 0 or -1. */
static int link_write(SSL *ssl, const void *buf, size_t len)
{
	return lt_tls_write_all(ssl, buf, len) == 0 && lt_tls_flush(ssl) == 0 ? 0 : -1;
}

/* A read that never waits: like lt_tls_read with timeout 0, but a TLS record without
 * application data (a TLS 1.3 session ticket from a non-lawtap LEMF) is "nothing yet" instead
 * of a blocking wait for the next record. >0 bytes, 0 nothing, -1 closed or failed. */
static long link_read(SSL *ssl, void *buf, size_t len, char *why, size_t whylen)
{
	if (SSL_pending(ssl) == 0) {
		struct pollfd p = {.fd = SSL_get_fd(ssl), .events = POLLIN};
		int pr = poll(&p, 1, 0);
		if (pr == 0 || (pr < 0 && errno == EINTR))
			return 0;
		if (pr < 0) {
			snprintf(why, whylen, "poll: %s", strerror(errno));
			return -1;
		}
	}
	SSL_clear_mode(ssl, SSL_MODE_AUTO_RETRY);
	ERR_clear_error();
	int n = SSL_read(ssl, buf, len > INT_MAX ? INT_MAX : (int)len);
	if (n > 0)
		return n;
	int e = SSL_get_error(ssl, n);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
		return 0;
	if (e == SSL_ERROR_ZERO_RETURN)
		snprintf(why, whylen, "peer closed the connection");
	else if (e == SSL_ERROR_SYSCALL)
		snprintf(why, whylen, "connection lost: %s",
		         errno ? strerror(errno) : "unexpected EOF");
	else
		snprintf(why, whylen, "TLS error: %s",
		         ERR_reason_error_string(ERR_peek_error())
		             ? ERR_reason_error_string(ERR_peek_error())
		             : "unknown");
	ERR_clear_error();
	return -1;
}

static int pa_on_pdu(struct ho_link *l, struct session *s, const uint8_t *buf, size_t len);

/* Reads whatever the LEA sent; only keep-alive responses to our outstanding keep-alive are
 * allowed (OpenLI's rule: anything else drops the link). 0 or -1 (logged). */
static int read_responses(struct ho_link *l, struct session *s)
{
	char why[256] = "";
	long n = link_read(s->ssl, s->rbuf + s->rlen, sizeof s->rbuf - s->rlen, why, sizeof why);
	if (n < 0) {
		snprintf(s->why, sizeof s->why, "link lost: %.200s",
		         why[0] ? why : "connection closed");
		return -1;
	}
	s->rlen += (size_t)n;
	while (s->rlen > 0) {
		size_t rec = 0;
		int rc = med_frame(s->rbuf, s->rlen, sizeof s->rbuf, &rec);
		if (rc == MED_E_SHORT) {
			if (s->rlen == sizeof s->rbuf) {
				snprintf(s->why, sizeof s->why,
				         "oversized data from the LEA, rebuilding the link");
				return -1;
			}
			return 0;
		}
		if (rc != 0) {
			snprintf(
			    s->why, sizeof s->why,
			    "unexpected data from the LEA (not a PS-PDU), rebuilding the link");
			return -1;
		}
		if (l->lea->ack_mode == HO_ACK_PDU) {
			if (pa_on_pdu(l, s, s->rbuf, rec) != 0)
				return -1;
		} else {
			if (ho_ka_check(s->rbuf, rec, s->ka_out, s->ka_want, why, sizeof why) !=
			    0) {
				snprintf(s->why, sizeof s->why, "%.200s, rebuilding the link", why);
				return -1;
			}
			pthread_mutex_lock(&l->mu);
			ho_link_confirm_locked(l, &s->ka_mark);
			pthread_mutex_unlock(&l->mu);
			lt_debug("%s: keep-alive %u answered", l->name, s->ka_want);
			s->ka_out = 0;
			s->healthy = 1;
		}
		memmove(s->rbuf, s->rbuf + rec, s->rlen - rec);
		s->rlen -= rec;
	}
	return 0;
}

/* ack_mode pdu-ack: writes the TRI PDU the state machine asked for (header: ho_tri_header).
 * 0 or -1 (s->why set). */
static int pa_send(struct ho_link *l, struct session *s, const struct ho_pa_tx *tx)
{
	uint8_t buf[512];
	struct med_header h;
	ho_tri_header(l, &h);
	h.seq = tx->seq;
	long n = ho_pa_encode(tx, &h, buf, sizeof buf);
	if (n <= 0) {
		snprintf(s->why, sizeof s->why,
		         "cannot encode a %s (code %ld), rebuilding the link",
		         ho_pa_tri_name(tx->tri), n);
		return -1;
	}
	if (link_write(s->ssl, buf, (size_t)n) != 0) {
		snprintf(s->why, sizeof s->why, "link lost while sending a %s",
		         ho_pa_tri_name(tx->tri));
		return -1;
	}
	s->last_write = lt_now_ms();
	if (tx->tri == MED_TRI_KEEPALIVE || tx->tri == MED_TRI_PDU_ACK_REQUEST)
		s->bytes_since_ka = 0;
	if (tx->tri == MED_TRI_KEEPALIVE || tx->tri == MED_TRI_PDU_ACK_REQUEST) {
		pthread_mutex_lock(&l->mu);
		if (tx->tri == MED_TRI_KEEPALIVE)
			l->keepalives++;
		else
			l->pdu_ack_requests++;
		pthread_mutex_unlock(&l->mu);
	}
	return 0;
}

/* ack_mode pdu-ack: makes the machine's mode visible to the statistics (ho_stats.ack). Only
 * this thread writes l->pa_mode, so reading it here needs no lock. */
static void pa_publish(struct ho_link *l)
{
	int m = ho_pa_med_mode(&l->pa);
	if (m == l->pa_mode)
		return;
	pthread_mutex_lock(&l->mu);
	l->pa_mode = m;
	pthread_mutex_unlock(&l->mu);
}

/* ack_mode pdu-ack: carries out what a state machine call returned (rc, ev). 0 or -1 (drop the
 * link, s->why set). */
static int pa_apply(struct ho_link *l, struct session *s, int rc, struct ho_pa_med_ev *ev)
{
	pa_publish(l);
	if (rc < 0) {
		snprintf(s->why, sizeof s->why, "%.200s, rebuilding the link",
		         ev->note[0] ? ev->note : "pdu-ack protocol error");
		return -1;
	}
	if (ev->note[0])
		lt_info("%s: %s", l->name, ev->note);
	if (ev->confirm) {
		pthread_mutex_lock(&l->mu);
		ho_link_confirm_locked(l, &ev->pos);
		pthread_mutex_unlock(&l->mu);
		s->healthy = 1;
	}
	if (ev->tx.tri != MED_TRI_NONE)
		return pa_send(l, s, &ev->tx);
	return 0;
}

/* ack_mode pdu-ack: one whole PS-PDU from the LEA. 0 or -1. */
static int pa_on_pdu(struct ho_link *l, struct session *s, const uint8_t *buf, size_t len)
{
	struct med_tri_pdu t;
	struct ho_pa_med_ev ev;
	char err[160] = "";
	if (med_decode_tri(buf, len, &t, err, sizeof err) != 0) {
		snprintf(s->why, sizeof s->why,
		         "undecodable PS-PDU from the LEA: %.160s, rebuilding the link", err);
		return -1;
	}
	int rc = ho_pa_med_on_pdu(&l->pa, &t, lt_now_ms(), &ev);
	if (rc >= 0)
		s->healthy = 1; /* an expected answer: the LEA is there */
	if (rc >= 0 && t.tri == MED_TRI_PDU_ACK_RESPONSE) {
		pthread_mutex_lock(&l->mu);
		l->pdu_ack_responses++;
		pthread_mutex_unlock(&l->mu);
	}
	return pa_apply(l, s, rc, &ev);
}

static int send_keepalive(struct ho_link *l, struct session *s, uint8_t *buf, size_t cap)
{
	long n = ho_ka_build(l, s->ka_seq, buf, cap);
	if (n < 0) {
		lt_err("%s: cannot encode a keep-alive (code %ld)", l->name, n);
		return -1;
	}
	if (link_write(s->ssl, buf, (size_t)n) != 0) {
		snprintf(s->why, sizeof s->why, "link lost while sending a keep-alive");
		return -1;
	}
	int64_t now = lt_now_ms();
	pthread_mutex_lock(&l->mu);
	s->ka_mark = l->sent;
	l->keepalives++;
	pthread_mutex_unlock(&l->mu);
	s->ka_out = 1;
	s->ka_want = s->ka_seq++;
	s->ka_deadline = now + (int64_t)l->lea->keepalive_timeout * 1000;
	s->last_write = now;
	s->bytes_since_ka = 0;
	return 0;
}

/* Window ack mode, with l->mu held, after a batch was written: a record counts as confirmed
 * once resend_window newer records were written after it. */
static void window_advance(struct ho_link *l)
{
	struct ho_spool_pos conf = {0, 0, 0};
	int have = 0;
	uint64_t w = (uint64_t)l->lea->resend_window;
	while (l->ring_n > 0) {
		struct ho_spool_pos *f = &l->ring[l->ring_head];
		if (f->rec + w > l->sent.rec && l->ring_n < l->ring_cap)
			break;
		conf = *f;
		have = 1;
		l->ring_head = (l->ring_head + 1) % l->ring_cap;
		l->ring_n--;
	}
	if (l->ring_cap) {
		l->ring[(l->ring_head + l->ring_n) % l->ring_cap] = l->sent;
		l->ring_n++;
	}
	if (have)
		ho_link_confirm_locked(l, &conf);
}

/* One step of an established link. 0 to go on, -1 to drop the link. */
static int link_step(struct ho_link *l, struct session *s, uint8_t *batch)
{
	int pdu = l->lea->ack_mode == HO_ACK_PDU;
	int pmode = HO_PA_DOWN;
	if (pdu && ho_pa_med_mode(&l->pa) == HO_PA_DOWN) {
		/* a new connection: the optionRequest goes out before any record */
		struct ho_pa_med_ev ev;
		int rc = ho_pa_med_connected(&l->pa, lt_now_ms(), &ev);
		if (pa_apply(l, s, rc, &ev) != 0)
			return -1;
	}
	if (read_responses(l, s) != 0)
		return -1;
	int64_t now = lt_now_ms();
	if (pdu) {
		struct ho_pa_med_ev ev;
		int rc = ho_pa_med_tick(&l->pa, now, &ev);
		if (pa_apply(l, s, rc, &ev) != 0)
			return -1;
		pmode = ho_pa_med_mode(&l->pa);
		if (pmode == HO_PA_NEGOTIATING) {
			/* no records until the LEA answered (or the negotiation timed out) */
			int64_t wait = ho_pa_med_deadline(&l->pa) - now;
			if (wait > POLL_MS)
				wait = POLL_MS;
			if (wait < 1)
				wait = 1;
			if (SSL_pending(s->ssl) == 0) {
				struct pollfd pf = {.fd = SSL_get_fd(s->ssl), .events = POLLIN};
				(void)poll(&pf, 1, (int)wait);
			}
			return 0;
		}
	} else if (s->ka_out && now >= s->ka_deadline) {
		snprintf(s->why, sizeof s->why,
		         "no keep-alive response within %d s, rebuilding the link",
		         l->lea->keepalive_timeout);
		return -1;
	}
	pthread_mutex_lock(&l->mu);
	uint64_t nrec = 0;
	/* Records still in the spool's memory only are written to its file by the appender (a
	 * full block, the group commit before an IAP ack); the thread does it itself when they
	 * waited HO_FLUSH_MS or when draining. Only records in the file are sent. */
	int flush = l->stopping || (s->stall_ms && now - s->stall_ms >= HO_FLUSH_MS);
	size_t n = ho_spool_read_ex(l->sp, &l->sent, batch, HO_BATCH_MAX, UINT64_MAX, &nrec, flush);
	if (l->sent.rec > l->sent_max)
		l->sent_max = l->sent.rec;
	struct ho_spool_pos end = ho_spool_end(l->sp);
	int unsent = l->sent.rec != end.rec;
	uint64_t unconf = l->sent.rec - ho_spool_cursor(l->sp).rec;
	int stopping = l->stopping, abort = l->abort;
	pthread_mutex_unlock(&l->mu);
	if (abort)
		return 0;
	if (n == 0 && unsent) {
		if (!s->stall_ms)
			s->stall_ms = now;
	} else {
		s->stall_ms = 0;
	}
	if (n > 0) {
		if (link_write(s->ssl, batch, n) != 0) {
			snprintf(s->why, sizeof s->why, "link lost while writing records");
			return -1;
		}
		s->last_write = now = lt_now_ms();
		s->bytes_since_ka += n;
		if (l->lea->ack_mode == HO_ACK_WINDOW) {
			pthread_mutex_lock(&l->mu);
			window_advance(l);
			pthread_mutex_unlock(&l->mu);
		}
	}
	/* Keep-alives: after keepalive_idle of idleness (TS 102 232-1 TIME1); when draining; and
	 * in keepalive ack mode to confirm (and free) what was written: once HO_CONFIRM_BYTES
	 * wait, or HO_CONFIRM_MS after the last batch of a burst. A batch ends on a record
	 * boundary, so a keep-alive may follow. */
	int idle = n == 0 && l->lea->keepalive_idle > 0 &&
	           now - s->last_write >= (int64_t)l->lea->keepalive_idle * 1000;
	int confirm = (l->lea->ack_mode == HO_ACK_KEEPALIVE || pmode == HO_PA_KEEPALIVE ||
	               pmode == HO_PA_ACTIVE) &&
	              (s->bytes_since_ka >= HO_CONFIRM_BYTES ||
	               (!unsent && n == 0 && unconf > 0 && now - s->last_write >= HO_CONFIRM_MS));
	int drained = !unsent && n == 0;
	if (pmode == HO_PA_ACTIVE) {
		/* PDU acknowledgement in force: a pDUAcknowledgementRequest confirms (when records
		 * were written since the last one); keep-alives only show the link is alive. */
		struct ho_pa_med_ev ev;
		if ((confirm || (drained && stopping && unconf > 0)) &&
		    ho_pa_med_can_request(&l->pa) &&
		    l->sent.rec > ho_pa_med_requested(&l->pa).rec) {
			int rc = ho_pa_med_request(&l->pa, now, &l->sent, &ev);
			return pa_apply(l, s, rc, &ev);
		}
		if (drained && idle && !ho_pa_med_keepalive_out(&l->pa)) {
			int rc = ho_pa_med_keepalive(&l->pa, now, &l->sent, &ev);
			return pa_apply(l, s, rc, &ev);
		}
	} else if (pmode == HO_PA_KEEPALIVE) {
		/* fallback: keepalive ack mode, the machine numbering the keep-alives */
		struct ho_pa_med_ev ev;
		if (!ho_pa_med_keepalive_out(&l->pa) &&
		    (confirm || (drained && (idle || (stopping && unconf > 0))))) {
			int rc = ho_pa_med_keepalive(&l->pa, now, &l->sent, &ev);
			return pa_apply(l, s, rc, &ev);
		}
	} else if (!s->ka_out && (confirm || (drained && (idle || (stopping && unconf > 0))))) {
		return send_keepalive(l, s, batch, HO_BATCH_MAX);
	}
	if (n > 0)
		return 0;
	/* Nothing to send now. A keep-alive (or a pDUAcknowledgementRequest) waits for its
	 * response: watch the socket (a few ms at a time, so new records are not kept waiting
	 * long either). */
	int answer_due =
	    pdu ? ho_pa_med_keepalive_out(&l->pa) || ho_pa_med_outstanding(&l->pa) > 0 : s->ka_out;
	if (answer_due && SSL_pending(s->ssl) == 0) {
		pthread_mutex_lock(&l->mu);
		int idle_now = ho_spool_written_end(l->sp).rec == l->sent.rec && !l->abort;
		pthread_mutex_unlock(&l->mu);
		if (idle_now) {
			struct pollfd pf = {.fd = SSL_get_fd(s->ssl), .events = POLLIN};
			(void)poll(&pf, 1, KA_WAIT_POLL_MS);
		}
		return 0;
	}
	/* Otherwise wait for the appender (woken per written block, not per record), or until
	 * the unwritten records are due. */
	pthread_mutex_lock(&l->mu);
	if (ho_spool_written_end(l->sp).rec == l->sent.rec && !l->abort &&
	    !(l->stopping && ho_link_pending(l) == 0)) {
		int64_t wait = POLL_MS;
		if (s->stall_ms && !flush) {
			wait = s->stall_ms + HO_FLUSH_MS - lt_now_ms();
			if (wait < 1)
				wait = 1;
		}
		l->waiting = 1;
		timed_wait(l, wait);
		l->waiting = 0;
	}
	pthread_mutex_unlock(&l->mu);
	return 0;
}

static void session_close(struct session *s)
{
	lt_tls_close(s->ssl);
	s->ssl = NULL;
	s->ka_out = 0;
	s->rlen = 0;
}

/* A connection that dropped before it proved itself (a keep-alive answered, or
 * HEALTHY_AFTER_MS up) does not reset the backoff, and after FLAP_QUIET drops in a row the
 * connect/drop messages are replaced by one summary per FAIL_LOG_EVERY_MS. */
#define HEALTHY_AFTER_MS 30000
#define FLAP_QUIET 3

struct backoff {
	int attempt;  /* 0: connect now */
	int failures; /* connect failures in a row */
	int flaps;    /* unhealthy drops in a row */
	int64_t last_log;
};

static void on_connect_failed(struct ho_link *l, struct backoff *b, const char *why)
{
	int64_t now = lt_now_ms();
	b->failures++;
	if (b->failures == 1 || now - b->last_log >= FAIL_LOG_EVERY_MS) {
		if (strstr(why, l->lea->addr[l->hi]))
			lt_warn("%s: attempt %d: %s", l->name, b->failures, why);
		else
			lt_warn("%s: cannot connect to %s (attempt %d): %s", l->name,
			        l->lea->addr[l->hi], b->failures, why);
		b->last_log = now;
	}
	if (b->attempt < 30)
		b->attempt++;
}

static void on_connected(struct ho_link *l, struct backoff *b, struct session *s)
{
	pthread_mutex_lock(&l->mu);
	l->sent = ho_spool_cursor(l->sp); /* unconfirmed records first, in order */
	l->ring_n = l->ring_head = 0;
	uint64_t resend = ho_link_pending(l);
	l->up = 1;
	pthread_mutex_unlock(&l->mu);
	if (b->flaps < FLAP_QUIET) {
		lt_info("%s: connected to %s%s", l->name, l->lea->addr[l->hi],
		        b->failures ? " (after failures)" : "");
		if (resend)
			lt_info("%s: %llu unconfirmed or queued records to send", l->name,
			        (unsigned long long)resend);
	}
	b->failures = 0;
	s->ka_seq = 0;
	s->bytes_since_ka = 0;
	s->stall_ms = 0;
	s->healthy = 0;
	s->connected_at = s->last_write = lt_now_ms();
}

static void on_dropped(struct ho_link *l, struct backoff *b, struct session *s)
{
	int64_t now = lt_now_ms();
	int healthy = s->healthy || now - s->connected_at >= HEALTHY_AFTER_MS;
	if (healthy) {
		b->flaps = 0;
		b->attempt = 1;
	} else {
		b->flaps++;
		if (b->attempt < 30)
			b->attempt++;
	}
	if (b->flaps <= FLAP_QUIET) {
		lt_warn("%s: %s", l->name, s->why);
		if (b->flaps == FLAP_QUIET)
			b->last_log = now;
	} else if (now - b->last_log >= FAIL_LOG_EVERY_MS) {
		lt_warn("%s: link unstable, %d drops in a row, last: %s", l->name, b->flaps,
		        s->why);
		b->last_log = now;
	}
	session_close(s);
	if (l->lea->ack_mode == HO_ACK_PDU)
		ho_pa_med_dropped(&l->pa, now);
	pthread_mutex_lock(&l->mu);
	l->pa_mode = ho_pa_med_mode(&l->pa);
	l->reconnects++;
	l->up = 0;
	pthread_mutex_unlock(&l->mu);
}

/* Waits out the backoff; returns 1 when the wait was cut short by abort or a finished drain. */
static int backoff_wait(struct ho_link *l, const struct backoff *b)
{
	int64_t cap = (int64_t)l->lea->reconnect_max * 1000;
	pthread_mutex_lock(&l->mu);
	int was_stopping = l->stopping;
	if (was_stopping && cap > 2000)
		cap = 2000; /* draining: try often within drain_timeout */
	int64_t until = lt_now_ms() + lt_backoff_ms(b->attempt - 1, 1000, cap);
	/* A drain starting meanwhile ends the wait: try the LEA once more right away. */
	while (!l->abort && !(l->stopping && ho_link_pending(l) == 0) &&
	       l->stopping == was_stopping && lt_now_ms() < until)
		timed_wait(l, until - lt_now_ms());
	int cut = l->abort || (l->stopping && ho_link_pending(l) == 0);
	pthread_mutex_unlock(&l->mu);
	return cut;
}

void *ho_link_main(void *arg)
{
	struct ho_link *l = arg;
	struct session *s = calloc(1, sizeof *s);
	uint8_t *batch = malloc(HO_BATCH_MAX);
	struct backoff b = {0, 0, 0, 0};
	char why[256];
	if (!s || !batch) {
		lt_err("%s: out of memory, handover not started", l->name);
		goto out;
	}
	for (;;) {
		pthread_mutex_lock(&l->mu);
		int finish = l->abort || (l->stopping && ho_link_pending(l) == 0);
		pthread_mutex_unlock(&l->mu);
		if (finish)
			break;
		if (!s->ssl) {
			if (b.attempt > 0 && backoff_wait(l, &b))
				continue;
			why[0] = '\0';
			s->ssl = link_connect(l, why, sizeof why);
			if (!s->ssl) {
				on_connect_failed(l, &b, why);
				continue;
			}
			on_connected(l, &b, s);
		}
		if (link_step(l, s, batch) != 0)
			on_dropped(l, &b, s);
	}
out:
	if (s) {
		if (s->ssl)
			session_close(s);
		free(s);
	}
	free(batch);
	pthread_mutex_lock(&l->mu);
	l->done = 1;
	pthread_mutex_unlock(&l->mu);
	pthread_mutex_lock(&l->ho->mu);
	pthread_cond_broadcast(&l->ho->done_cv);
	pthread_mutex_unlock(&l->ho->mu);
	return NULL;
}

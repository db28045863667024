/* iap/uplink.c: X2/X3 PDUs (TS 103 221-2) to the mediator over mutual TLS, loss-free.
 *
 * PDUs are encoded into an open batch. After a packet, a batch holding IAP_BATCH_BYTES or more
 * is closed into the store (buffer.c); so is a partial one after IAP_FLUSH_IDLE_MS of quiet.
 * Batches hold whole packets, so "all PDUs of packets up to P are confirmed" is exact (resume).
 * While connected, held batches are written in order, and a keep-alive (type 3) with a
 * sequence number of its own follows every IAP_KEEPALIVE_BYTES of batches, every batch sent
 * again, and the last batch sent within IAP_KEEPALIVE_LAG_MS (see send_batches): keep-alives
 * are pipelined with the data, up to IAP_INFLIGHT_MAX in flight (after a reconnect the bound
 * starts at one batch and doubles with every ack), never stop-and-wait; the mediator acks (type 4,
 * same number) only after it has spooled everything received before it on that connection, so an
 * ack confirms every batch sent before that keep-alive, and those are released. After a reconnect
 * every batch still held is sent again, oldest first, before any newer one; the mediator drops the
 * duplicates by their key (IAP id, run epoch in attribute 65280, XID, sequence number). */
#include "iap.h"

#include "lib/log.h"
#include "lib/timeutil.h"
#include "lib/tls.h"
#include "lib/x2x3.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Attributes lawtap-iap puts on a PDU: 7 (<= 8 octets), 8, 9, 12, 13, 14, 15, 16, 65280. */
#define ATTR_ROOM 160
#define PAYLOAD_MAX 65535

struct iap_uplink {
	SSL *ssl;
	struct iap_stats *st;
	struct iap_buf *buf;
	char id[9];
	uint8_t id_attr[12]; /* attribute 7 as sent: type, length, the id (computed once) */
	size_t id_attr_len;
	uint64_t epoch;
	iap_confirm_fn on_confirm;
	void *on_confirm_arg;
	/* open batch: built in place in oseg->data (open), handed to the store without a copy */
	struct iap_seg *oseg;
	uint8_t *open;
	size_t used, cap;
	uint64_t open_first, cur_pkt, done_pkt;
	int64_t last_add_ms; /* when iap_uplink_tick last saw PDUs added (no clock per PDU) */
	uint64_t npdus, tick_npdus;
	uint64_t nbatches; /* batches closed into the store */
	int drain;         /* iap_uplink_flush since the last PDU: no more input for now */
	/* connection */
	int64_t last_send_ms;
	uint64_t inflight;
	uint64_t window;   /* in-flight bound now: IAP_INFLIGHT_MAX, or growing after a reconnect */
	int attached;      /* a connection was attached before (the next one is a reconnect) */
	uint64_t since_ka; /* bytes of batches sent since the last keep-alive */
	int64_t last_ka_ms; /* when the last keep-alive was sent */
	uint32_t ka_next;
	int ka_any, acked_last; /* a keep-alive was sent on this connection; the newest was acked */
	int probe_outstanding, probe_acked;
	uint32_t probe_seq;
	int64_t probe_ms;
	int warned_big;
	int64_t full_log_ms; /* buffer-full notices are rate-limited */
	uint64_t full_count;
	size_t rlen;
	uint8_t rbuf[256];
	/* A write the socket did not take whole (a peer that reads slowly or not at all): the
	 * capture goes on, and the rest goes out first when the socket has room (flush_pending).
	 * wp points into a held batch (kept until its ack, which cannot come before) or into
	 * kout; keep-alives made meanwhile wait in kq, in order, behind it. */
	const uint8_t *wp;
	size_t wleft;
	int64_t wlast_ms;       /* when the socket last took bytes of it */
	int wwant_read;         /* the last try needs TLS to read first (no POLLOUT then) */
	int64_t flush_retry_ms; /* the open batch could not be closed (store full): retry then */
	uint8_t kout[512], kq[512];
	size_t kq_len;
};

/* Big-endian stores of the X3 fast path (one bswap and store each where the host allows). */
static inline void be16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void be32(uint8_t *p, uint32_t v)
{
#if defined(__GNUC__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	v = __builtin_bswap32(v);
	memcpy(p, &v, 4);
#else
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
#endif
}

static inline void be64(uint8_t *p, uint64_t v)
{
	be32(p, (uint32_t)(v >> 32));
	be32(p + 4, (uint32_t)v);
}

/* Attribute 7 (the IAP id, 1..8 characters, idlen of them) as sent; its size (4 + idlen). */
static size_t id_attr(uint8_t out[12], const char *id, size_t idlen)
{
	be16(out, LT_ATTR_IPID);
	be16(out + 2, (uint32_t)idlen);
	memcpy(out + 4, id, idlen);
	return 4 + idlen;
}

/* The open batch's first capacity: a closed batch holds IAP_BATCH_BYTES and the PDUs of the
 * packet that crossed it, so this mostly suffices (reserve grows it otherwise), and it stays
 * below glibc's mmap threshold, so batches reuse freed heap memory. */
#define OPEN_CAP (IAP_BATCH_BYTES + 4096)

static struct iap_seg *open_seg_new(void)
{
	return malloc(sizeof(struct iap_seg) + OPEN_CAP);
}

struct iap_uplink *iap_uplink_new(const char *iap_id, const struct iap_uplink_conf *c,
                                  struct iap_stats *stats, char *err, size_t errlen)
{
	size_t idlen = strlen(iap_id);
	if (idlen < 1 || idlen > 8) {
		snprintf(err, errlen, "IAP id \"%s\" must be 1..8 characters", iap_id);
		return NULL;
	}
	struct iap_uplink *u = calloc(1, sizeof *u);
	if (!u || !(u->oseg = open_seg_new())) {
		snprintf(err, errlen, "out of memory");
		free(u);
		return NULL;
	}
	u->open = u->oseg->data;
	u->cap = OPEN_CAP;
	if (!(u->buf = iap_buf_new(&c->buf, err, errlen))) {
		free(u->oseg);
		free(u);
		return NULL;
	}
	u->st = stats;
	u->epoch = c->epoch;
	memcpy(u->id, iap_id, idlen + 1);
	u->id_attr_len = id_attr(u->id_attr, iap_id, idlen);
	u->last_send_ms = u->last_add_ms = lt_now_ms();
	return u;
}

void iap_uplink_free(struct iap_uplink *u)
{
	if (!u)
		return;
	lt_tls_close(u->ssl);
	iap_buf_free(u->buf);
	free(u->oseg);
	free(u);
}

void iap_uplink_on_confirm(struct iap_uplink *u, iap_confirm_fn fn, void *arg)
{
	u->on_confirm = fn;
	u->on_confirm_arg = arg;
}

int iap_uplink_attach_take(struct iap_uplink *u, SSL *ssl)
{
	iap_uplink_detach(u);
	if (iap_tls_set_nonblock(ssl) != 0) {
		lt_err("mediator link: cannot make the socket non-blocking");
		lt_tls_close(ssl);
		return -1;
	}
	u->ssl = ssl;
	u->last_send_ms = lt_now_ms();
	/* After a reconnect the link proves itself: one batch in flight until an ack comes, then
	 * the bound doubles with every ack up to IAP_INFLIGHT_MAX, so a link that keeps failing
	 * after a few hundred KB still confirms something each time (fault_proxy_x2x3.sh). */
	u->window = u->attached ? IAP_BATCH_BYTES : IAP_INFLIGHT_MAX;
	u->attached = 1;
	return 0;
}

void iap_uplink_detach(struct iap_uplink *u)
{
	if (!u->ssl)
		return;
	lt_tls_close(u->ssl);
	u->ssl = NULL;
	u->rlen = 0;
	u->inflight = 0;
	u->since_ka = 0;
	u->ka_any = u->acked_last = 0;
	u->probe_outstanding = 0;
	u->wp = NULL;
	u->wleft = u->kq_len = 0;
	iap_buf_unsend_all(u->buf);
}

int iap_uplink_connected(const struct iap_uplink *u)
{
	return u->ssl != NULL;
}

int iap_uplink_want_write(const struct iap_uplink *u)
{
	return u->ssl && (u->wleft > 0 || u->kq_len > 0) && !u->wwant_read;
}

int iap_uplink_fd(const struct iap_uplink *u)
{
	return u->ssl ? SSL_get_fd(u->ssl) : -1;
}

static int link_failed(struct iap_uplink *u, const char *why)
{
	struct iap_buf_usage us;
	iap_buf_usage(u->buf, &us);
	lt_err("mediator link: %s (%zu batch(es) held in memory, %zu on disk, resent after "
	       "reconnect)",
	       why, us.mem_batches, us.disk_batches);
	iap_uplink_detach(u);
	return -1;
}

/* ---- the open batch ---- */
void iap_uplink_begin_packet(struct iap_uplink *u, uint64_t pkt)
{
	u->cur_pkt = pkt;
}

void iap_uplink_skip_packet(struct iap_uplink *u, uint64_t pkt)
{
	u->cur_pkt = u->done_pkt = pkt;
}

/* Closes the open batch into the store. 0, or IAP_BUF_E_FULL / _IO (it stays open). */
static int close_batch(struct iap_uplink *u)
{
	if (u->used == 0)
		return 0;
	/* The store takes the open batch itself when it goes to memory: a new one is ready
	 * first, and without one the batch is copied as before. */
	struct iap_seg *fresh = open_seg_new();
	int rc = fresh ? iap_buf_push_take(u->buf, &u->oseg, u->used, u->open_first, u->done_pkt)
	               : iap_buf_push(u->buf, u->open, u->used, u->open_first, u->done_pkt);
	if (fresh && !u->oseg) {
		u->oseg = fresh;
		u->open = fresh->data;
		u->cap = OPEN_CAP;
	} else {
		free(fresh);
	}
	if (rc != 0) {
		int64_t now = lt_now_ms();
		u->full_count++;
		if (u->full_count == 1 || now - u->full_log_ms >= 10000) {
			lt_warn("mediator link: buffer full (memory and disk): input held back "
			        "(%llu time(s) so far)",
			        (unsigned long long)u->full_count);
			u->full_log_ms = now;
		}
		return rc;
	}
	u->used = 0;
	u->nbatches++;
	return 0;
}

int iap_uplink_flush(struct iap_uplink *u)
{
	u->drain = 1; /* the input paused or ended: the tail gets its keep-alive at once */
	return close_batch(u);
}

uint64_t iap_uplink_batches(const struct iap_uplink *u)
{
	return u->nbatches;
}

void iap_uplink_end_packet(struct iap_uplink *u)
{
	u->done_pkt = u->cur_pkt;
	if (u->used >= IAP_BATCH_BYTES)
		(void)close_batch(u);
}

int iap_uplink_room(struct iap_uplink *u)
{
	if (u->used >= IAP_BATCH_BYTES)
		(void)close_batch(u);
	return u->used < IAP_BATCH_BYTES;
}

/* Room for a PDU of payload_len more bytes in the open batch. 0 or -1 (no memory). */
static int reserve(struct iap_uplink *u, size_t payload_len)
{
	size_t need = LT_X2X3_FIXED_HDR + ATTR_ROOM + payload_len;
	if (u->used + need <= u->cap)
		return 0;
	/* Many tasks matched one packet: the batch grows (it holds whole packets). */
	size_t ncap = u->cap * 2 > u->used + need ? u->cap * 2 : u->used + need;
	struct iap_seg *ns = realloc(u->oseg, sizeof *ns + ncap);
	if (!ns) {
		lt_err("mediator link: out of memory for a batch");
		return -1;
	}
	u->oseg = ns;
	u->open = ns->data;
	u->cap = ncap;
	return 0;
}

static void added(struct iap_uplink *u, size_t n)
{
	if (u->used == 0)
		u->open_first = u->cur_pkt;
	u->used += n;
	u->npdus++;
	u->drain = 0;
}

static int queue_pdu(struct iap_uplink *u, const struct lt_x2x3_pdu *p)
{
	if (reserve(u, p->payload_len) != 0)
		return -1;
	long n = lt_x2x3_encode(p, u->open + u->used, u->cap - u->used);
	if (n < 0) {
		/* Cannot happen with the bounds above; refuse the PDU rather than the link. */
		lt_err("mediator link: cannot encode a PDU (code %ld), dropped", n);
		return 0;
	}
	added(u, (size_t)n);
	return 0;
}

/* Writes an X3 PDU (attributes 7 as idattr[0..idattr_len), 8, 9, 65280; payload ip[0..len))
 * at out, which has room for it; the checks are the callers'. Returns its size. */
static inline size_t x3_write(uint8_t *out, const uint8_t xid[16], uint64_t correlation,
                              int direction, int family, const uint8_t *idattr, size_t idattr_len,
                              uint32_t seq, uint32_t ts_sec, uint32_t ts_nsec, uint64_t epoch,
                              const uint8_t *ip, size_t len)
{
	size_t alen = idattr_len + 8 + 12 + 12; /* attributes 7, 8, 9, 65280 */
	uint8_t *p = out;
	p[0] = 0; /* version 0.5 */
	p[1] = 5;
	be16(p + 2, LT_X3);
	be32(p + 4, (uint32_t)(LT_X2X3_FIXED_HDR + alen));
	be32(p + 8, (uint32_t)len);
	be16(p + 12, family == 4 ? LT_PF_IPV4 : LT_PF_IPV6);
	be16(p + 14, (uint32_t)direction);
	memcpy(p + 16, xid, 16);
	be64(p + 32, correlation);
	p += LT_X2X3_FIXED_HDR;
	memcpy(p, idattr, idattr_len);
	p += idattr_len;
	be16(p, LT_ATTR_SEQ);
	be16(p + 2, 4);
	be32(p + 4, seq);
	be16(p + 8, LT_ATTR_TIMESTAMP);
	be16(p + 10, 8);
	be32(p + 12, ts_sec);
	be32(p + 16, ts_nsec);
	be16(p + 20, LT_ATTR_LAWTAP_EPOCH);
	be16(p + 22, 8);
	be64(p + 24, epoch);
	p += 32;
	if (len)
		memcpy(p, ip, len);
	return LT_X2X3_FIXED_HDR + alen + len;
}

long iap_x3_encode_fast(const struct iap_x3_fields *x, const uint8_t *ip, size_t len, uint8_t *out,
                        size_t cap)
{
	size_t idlen = strnlen(x->ipid, 9);
	if (idlen < 1 || idlen > 8 || (x->family != 4 && x->family != 6) || (len > 0 && !ip))
		return LT_X2X3_E_BADHDR;
	uint8_t idattr[12];
	size_t idattr_len = id_attr(idattr, x->ipid, idlen);
	size_t total = LT_X2X3_FIXED_HDR + idattr_len + 8 + 12 + 12 + len;
	if (total > LT_X2X3_MAX_PDU)
		return LT_X2X3_E_TOOBIG;
	if (total > cap)
		return LT_X2X3_E_SPACE;
	return (long)x3_write(out, x->xid, x->correlation, x->direction, x->family, idattr,
	                      idattr_len, x->seq, x->ts_sec, x->ts_nsec, x->epoch, ip, len);
}

static void fill_common(struct iap_uplink *u, struct lt_x2x3_pdu *p, const struct lt_task *task,
                        uint32_t seq, int direction, uint32_t ts_sec, uint32_t ts_nsec)
{
	memset(p, 0, sizeof *p);
	memcpy(p->xid, task->xid, 16);
	p->correlation = task->cin; /* lawtap: correlationID value = CIN */
	p->direction = (uint16_t)direction;
	p->has_ipid = 1;
	memcpy(p->ipid, u->id, sizeof u->id);
	p->has_seq = 1;
	p->seq = seq;
	p->has_ts = 1;
	p->ts_sec = ts_sec;
	p->ts_nsec = ts_nsec;
	p->has_epoch = 1; /* lawtap-private attribute 65280: the de-duplication key's run epoch */
	p->epoch = u->epoch;
}

int iap_uplink_x3(struct iap_uplink *u, const struct lt_task *task, uint32_t seq, int direction,
                  int family, uint32_t ts_sec, uint32_t ts_nsec, const uint8_t *ip, size_t len)
{
	if (len > PAYLOAD_MAX) {
		/* Only an IPv6 packet with a 65535-byte payload gets here: cut it to the
		 * documented PDU limit (LT_X2X3_MAX_PDU). */
		if (!u->warned_big)
			lt_warn("mediator link: IPv6 packet of %zu bytes cut to %d", len,
			        PAYLOAD_MAX);
		u->warned_big = 1;
		len = PAYLOAD_MAX;
	}
	/* The same bytes as lt_x2x3_encode of the PDU fill_common + format 5/6 describe, as
	 * iap_x3_encode_fast writes them (tests/unit/test_iap_x3fast.c), with the id checked once
	 * (iap_uplink_new) rather than per PDU, and reserve making room for the PDU, whose size is
	 * below LT_X2X3_MAX_PDU (at most 40 + 44 bytes of attributes + PAYLOAD_MAX). */
	if ((family != 4 && family != 6) || (len > 0 && !ip)) {
		lt_err("mediator link: cannot encode a PDU (code %d), dropped", LT_X2X3_E_BADHDR);
		return 0;
	}
	if (reserve(u, len) != 0)
		return -1;
	added(u, x3_write(u->open + u->used, task->xid, task->cin /* lawtap: correlationID = CIN */,
	                  direction, family, u->id_attr, u->id_attr_len, seq, ts_sec, ts_nsec,
	                  u->epoch, ip, len));
	u->st->x3_sent++;
	return 0;
}

int iap_uplink_x2(struct iap_uplink *u, const struct lt_task *task, uint32_t seq, int direction,
                  uint32_t ts_sec, uint32_t ts_nsec, const struct iap_pkt_facts *f)
{
	struct lt_x2x3_pdu p;
	fill_common(u, &p, task, seq, direction, ts_sec, ts_nsec);
	p.type = LT_X2;
	p.format = LT_PF_PROPRIETARY; /* header facts only, in attributes 10-16 */
	if (f->family == 4) {
		p.has_src_v4 = p.has_dst_v4 = 1;
	} else {
		p.has_src_v6 = p.has_dst_v6 = 1;
	}
	memcpy(p.src, f->src, 16);
	memcpy(p.dst, f->dst, 16);
	if (f->has_ports) {
		p.has_sport = p.has_dport = 1;
		p.sport = f->sport;
		p.dport = f->dport;
	}
	p.has_proto = 1;
	p.proto = f->proto;
	if (queue_pdu(u, &p) != 0)
		return -1;
	u->st->x2_sent++;
	return 0;
}

/* ---- the connection ---- */
/* Writes what the socket takes now of the pending write, then of the keep-alives queued behind
 * it. 0 when nothing is pending any more, 1 when some still is, -1 when the link failed
 * (detached): an error, or the socket took no byte for IAP_WRITE_TIMEOUT_MS. */
static int flush_pending(struct iap_uplink *u, int64_t now_ms)
{
	char why[300];
	while (u->ssl && (u->wleft > 0 || u->kq_len > 0)) {
		if (u->wleft == 0) { /* the queued keep-alives are next */
			memcpy(u->kout, u->kq, u->kq_len);
			u->wp = u->kout;
			u->wleft = u->kq_len;
			u->kq_len = 0;
		}
		long n =
		    iap_tls_write_some(u->ssl, u->wp, u->wleft, &u->wwant_read, why, sizeof why);
		if (n < 0)
			return link_failed(u, why);
		if (n > 0) {
			u->wp += n;
			u->wleft -= (size_t)n;
			u->wlast_ms = now_ms;
			u->last_send_ms = now_ms;
			continue;
		}
		if (now_ms - u->wlast_ms >= IAP_WRITE_TIMEOUT_MS)
			return link_failed(u, "write timed out (the mediator takes no data)");
		return 1;
	}
	return u->ssl ? 0 : -1;
}

/* Writes p[0..n) (a held batch, which stays in place until its ack) as far as the socket
 * takes it now; the rest is pending (flush_pending). 0, or -1 (detached). */
static int send_bytes(struct iap_uplink *u, const uint8_t *p, size_t n)
{
	char why[300];
	long w = iap_tls_write_some(u->ssl, p, n, &u->wwant_read, why, sizeof why);
	if (w < 0)
		return link_failed(u, why);
	u->st->bytes_sent += n;
	u->last_send_ms = u->wlast_ms = lt_now_ms();
	if ((size_t)w < n) {
		u->wp = p + w;
		u->wleft = n - (size_t)w;
	}
	return 0;
}

/* Sends a keep-alive (queued behind a pending write, if any); *seq gets its number. 0 or -1
 * (detached). */
static int send_keepalive(struct iap_uplink *u, uint32_t *seq)
{
	uint8_t ka[64];
	long n = lt_x2x3_keepalive(0, u->ka_next, ka, sizeof ka);
	if (n < 0)
		return link_failed(u, "cannot encode a keep-alive");
	if ((u->wleft > 0 || u->kq_len > 0) && u->kq_len + (size_t)n > sizeof u->kq)
		return link_failed(u, "too many keep-alives waiting behind a write the mediator "
		                      "does not take");
	*seq = u->ka_next++;
	u->last_ka_ms = lt_now_ms();
	u->ka_any = 1;
	u->acked_last = 0;
	u->st->keepalives++;
	u->since_ka = 0; /* every batch sent before it is covered by its ack */
	if (u->wleft > 0 || u->kq_len > 0) {
		memcpy(u->kq + u->kq_len, ka, (size_t)n);
		u->kq_len += (size_t)n;
		u->st->bytes_sent += (uint64_t)n;
		return 0;
	}
	/* the socket takes 64 bytes now or they wait in kout */
	memcpy(u->kout, ka, (size_t)n);
	return send_bytes(u, u->kout, (size_t)n);
}

int iap_uplink_probe(struct iap_uplink *u)
{
	if (!u->ssl)
		return -1;
	uint32_t seq;
	if (send_keepalive(u, &seq) != 0)
		return -1;
	u->probe_seq = seq;
	u->probe_outstanding = 1;
	u->probe_acked = 0;
	u->probe_ms = lt_now_ms();
	return 0;
}

int iap_uplink_probe_acked(const struct iap_uplink *u)
{
	return u->probe_acked;
}

int iap_uplink_all_acked(const struct iap_uplink *u)
{
	return u->ssl && u->ka_any && u->acked_last && u->since_ka == 0 && u->used == 0 &&
	       u->wleft == 0 && u->kq_len == 0 && !iap_buf_has_unsent(u->buf);
}

/* a <= b in sequence-number arithmetic (RFC 1982 style, 32 bits) */
static int seq_le(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) <= 0;
}

static void on_ack(struct iap_uplink *u, uint32_t seq)
{
	if (u->ka_any && seq == u->ka_next - 1)
		u->acked_last = 1;
	if (u->probe_outstanding && u->probe_seq == seq) {
		u->probe_outstanding = 0;
		u->probe_acked = 1;
	}
	struct iap_seg *s;
	while ((s = iap_buf_head(u->buf)) != NULL && s->sent && seq_le(s->ka, seq)) {
		if (u->on_confirm)
			u->on_confirm(u->on_confirm_arg, s);
		u->inflight = u->inflight >= s->len ? u->inflight - s->len : 0;
		u->window = u->window * 2 < IAP_INFLIGHT_MAX ? u->window * 2 : IAP_INFLIGHT_MAX;
		u->st->confirmed++;
		iap_buf_pop(u->buf);
	}
}

/* Reads what the mediator sent (keep-alive acks). 0 or -1 (detached). */
static int read_acks(struct iap_uplink *u, int timeout_ms)
{
	char why[256];
	while (u->ssl) {
		size_t plen = 0;
		int rc = lt_x2x3_frame(u->rbuf, u->rlen, &plen);
		if (rc == 0) {
			struct lt_x2x3_pdu p;
			const char *perr = NULL;
			if (lt_x2x3_parse(u->rbuf, plen, &p, &perr) != 0) {
				snprintf(why, sizeof why, "bad PDU from mediator: %s",
				         perr ? perr : "malformed");
				return link_failed(u, why);
			}
			if (p.type == LT_X2X3_KEEPALIVE_ACK && p.has_seq)
				on_ack(u, p.seq);
			else if (p.type != LT_X2X3_KEEPALIVE_ACK)
				lt_warn("mediator link: unexpected PDU type %u ignored", p.type);
			memmove(u->rbuf, u->rbuf + plen, u->rlen - plen);
			u->rlen -= plen;
			continue;
		}
		if (rc != LT_X2X3_E_SHORT || plen > sizeof u->rbuf) {
			snprintf(why, sizeof why, "bad PDU header from mediator (code %d)", rc);
			return link_failed(u, why);
		}
		long n = iap_tls_read(u->ssl, u->rbuf + u->rlen, sizeof u->rbuf - u->rlen,
		                      timeout_ms, why, sizeof why);
		if (n == 0)
			return 0;
		if (n < 0)
			return link_failed(u, why);
		u->rlen += (size_t)n;
		timeout_ms = 0;
	}
	return -1;
}

/* Sends held batches, oldest first, while the in-flight bound allows. A keep-alive follows
 * every IAP_KEEPALIVE_BYTES of batches; after the last batch ready now, one follows when half
 * the in-flight bound is used, after iap_uplink_flush (the input paused or ended: the tail
 * is confirmed at once), or when the last one is IAP_KEEPALIVE_LAG_MS old. Each
 * batch is marked with the number of the keep-alive that will follow it (the next one), whose
 * ack confirms it. Fewer keep-alives mean fewer spool commits at the mediator. 0 or -1. */
static int send_batches(struct iap_uplink *u, int64_t now_ms)
{
	struct iap_seg *s;
	uint32_t ka;
	int pr = flush_pending(u, now_ms);
	if (pr < 0)
		return -1;
	/* no new batch before the pending bytes are out (pr 1); a keep-alive owed below still is
	 * queued behind them, so nothing stays due and the loop does not spin */
	while (pr == 0 && u->ssl && u->wleft == 0 && u->inflight < u->window &&
	       (s = iap_buf_next_unsent(u->buf)) != NULL) {
		if (send_bytes(u, s->data, s->len) != 0)
			return -1;
		if (s->tries++ > 0)
			u->st->resent++;
		u->inflight += s->len;
		u->since_ka += s->len;
		iap_buf_mark_sent(u->buf, s, u->ka_next, now_ms);
		/* A batch sent again (the link was lost before its ack) gets its own keep-alive,
		 * as every batch did before: a link cut again and again (less than
		 * IAP_KEEPALIVE_BYTES between cuts) still confirms something each time. */
		if (u->since_ka >= IAP_KEEPALIVE_BYTES || s->tries > 1) {
			if (send_keepalive(u, &ka) != 0)
				return -1;
			/* Take acks as they come, so a long resend does not hold them up. */
			if (read_acks(u, 0) != 0)
				return -1;
		}
	}
	if (u->ssl && u->since_ka > 0 &&
	    (u->inflight >= u->window / 2 || u->drain ||
	     now_ms - u->last_ka_ms >= IAP_KEEPALIVE_LAG_MS) &&
	    send_keepalive(u, &ka) != 0)
		return -1;
	return u->ssl ? 0 : -1;
}

int iap_uplink_tick(struct iap_uplink *u, int64_t now_ms, int flush_idle)
{
	if (u->npdus != u->tick_npdus) { /* PDUs were added since the last tick */
		u->tick_npdus = u->npdus;
		u->last_add_ms = now_ms;
	}
	if (flush_idle && u->used > 0 && now_ms - u->last_add_ms >= IAP_FLUSH_IDLE_MS &&
	    now_ms >= u->flush_retry_ms && iap_uplink_flush(u) != 0)
		u->flush_retry_ms = now_ms + IAP_FLUSH_IDLE_MS; /* the store is full: not at once */
	if (!u->ssl)
		return -1;
	if (read_acks(u, 0) != 0 || send_batches(u, now_ms) != 0)
		return -1;
	struct iap_seg *h = iap_buf_head(u->buf);
	/* A loaded mediator may take a while to spool 4 MiB: a longer bound than for an idle
	 * keep-alive, so a slow peer is not mistaken for a dead one. */
	if (h && h->sent && now_ms - h->sent_ms >= IAP_BATCH_ACK_MS)
		return link_failed(u, "no ack for a batch within 30 s");
	if (u->probe_outstanding && now_ms - u->probe_ms >= IAP_KEEPALIVE_WAIT_MS)
		return link_failed(u, "no keep-alive ack within 10 s");
	if (!u->probe_outstanding && (!h || !h->sent) &&
	    now_ms - u->last_send_ms >= IAP_KEEPALIVE_IDLE_MS)
		return iap_uplink_probe(u);
	return 0;
}

int iap_uplink_next_ms(const struct iap_uplink *u, int64_t now_ms, int max_ms)
{
	int64_t due = now_ms + max_ms;
	if (u->used > 0) {
		int64_t f = u->last_add_ms + IAP_FLUSH_IDLE_MS;
		if (f < u->flush_retry_ms)
			f = u->flush_retry_ms;
		if (f < due)
			due = f;
	}
	if (u->ssl) {
		/* A batch waiting to go out: no waiting at all, unless the socket has not taken the
		 * last write yet (then poll waits for room, iap_uplink_want_write). */
		if (u->wleft > 0 || u->kq_len > 0) {
			if (u->wlast_ms + IAP_WRITE_TIMEOUT_MS < due)
				due = u->wlast_ms + IAP_WRITE_TIMEOUT_MS;
		} else if (u->inflight < u->window && iap_buf_has_unsent(u->buf)) {
			due = now_ms;
		}
		/* Batches sent without their keep-alive yet: it is owed after the lag. */
		if (u->since_ka > 0 && u->last_ka_ms + IAP_KEEPALIVE_LAG_MS < due)
			due = u->last_ka_ms + IAP_KEEPALIVE_LAG_MS;
		if (u->probe_outstanding && u->probe_ms + IAP_KEEPALIVE_WAIT_MS < due)
			due = u->probe_ms + IAP_KEEPALIVE_WAIT_MS;
		/* What iap_uplink_tick checks: the oldest batch's ack when it was sent, else the
		 * idle probe (only then: a deadline tick does not act on would spin the loop). */
		const struct iap_seg *h = iap_buf_peek(u->buf);
		if (h && h->sent) {
			if (h->sent_ms + IAP_BATCH_ACK_MS < due)
				due = h->sent_ms + IAP_BATCH_ACK_MS;
		} else if (!u->probe_outstanding && u->last_send_ms + IAP_KEEPALIVE_IDLE_MS < due) {
			due = u->last_send_ms + IAP_KEEPALIVE_IDLE_MS;
		}
	}
	return due <= now_ms ? 0 : (int)(due - now_ms);
}

int iap_uplink_idle(struct iap_uplink *u)
{
	return u->used == 0 && iap_buf_empty(u->buf);
}

uint64_t iap_uplink_confirmed_pkts(struct iap_uplink *u)
{
	struct iap_seg *h = iap_buf_head(u->buf);
	if (h)
		return h->first_pkt - 1;
	if (u->used > 0)
		return u->open_first - 1;
	return u->done_pkt;
}

void iap_uplink_usage(const struct iap_uplink *u, struct iap_buf_usage *out)
{
	iap_buf_usage(u->buf, out);
}

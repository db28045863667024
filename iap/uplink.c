/* iap/uplink.c: X2/X3 PDUs (TS 103 221-2) to the mediator over mutual TLS.
 *
 * PDUs are encoded straight into one batch buffer and written with one SSL_write when the next
 * PDU would take the batch past IAP_BATCH_BYTES, when the caller flushes (idle or end), and
 * before a keep-alive. Keep-alives (type 3) carry a sequence number of their own; the mediator's
 * ack (type 4) echoes it, and it acks only after queuing everything received before it.
 *
 * Not yet loss-free: when the link fails the caller gives up (lawtap-iap -r exits 1). Buffering
 * unacknowledged batches and resending them after a reconnect is a later issue. */
#include "iap.h"

#include "lib/log.h"
#include "lib/timeutil.h"
#include "lib/tls.h"
#include "lib/x2x3.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Room for a full batch, and for one PDU of the largest size on its own. */
#define BUF_CAP (IAP_BATCH_BYTES > LT_X2X3_MAX_PDU ? IAP_BATCH_BYTES : LT_X2X3_MAX_PDU)
/* Attributes lawtap-iap puts on a PDU: 7 (<= 8 octets), 8, 9, 12, 13, 14, 15, 16. */
#define ATTR_ROOM 128
#define PAYLOAD_MAX 65535

struct iap_uplink {
	SSL *ssl;
	struct iap_stats *st;
	char id[9];
	int failed;
	uint8_t *buf;
	size_t used;
	int64_t last_send_ms, last_add_ms;
	int ka_outstanding;
	uint32_t ka_seq, ka_next;
	int64_t ka_sent_ms;
	int warned_big;
	size_t rlen;
	uint8_t rbuf[256];
};

struct iap_uplink *iap_uplink_new_take(SSL *ssl, const char *iap_id, struct iap_stats *stats,
                                       char *err, size_t errlen)
{
	struct iap_uplink *u = calloc(1, sizeof *u);
	size_t idlen = strlen(iap_id);
	if (idlen < 1 || idlen > 8) {
		snprintf(err, errlen, "IAP id \"%s\" must be 1..8 characters", iap_id);
		free(u);
		lt_tls_close(ssl);
		return NULL;
	}
	if (!u || !(u->buf = malloc(BUF_CAP))) {
		snprintf(err, errlen, "out of memory");
		free(u);
		lt_tls_close(ssl);
		return NULL;
	}
	u->ssl = ssl;
	u->st = stats;
	if (iap_tls_set_nonblock(ssl) != 0) {
		snprintf(err, errlen, "cannot make the socket non-blocking");
		iap_uplink_free(u);
		return NULL;
	}
	memcpy(u->id, iap_id, idlen + 1);
	u->last_send_ms = u->last_add_ms = lt_now_ms();
	return u;
}

void iap_uplink_free(struct iap_uplink *u)
{
	if (!u)
		return;
	lt_tls_close(u->ssl);
	free(u->buf);
	free(u);
}

int iap_uplink_fd(const struct iap_uplink *u)
{
	return SSL_get_fd(u->ssl);
}

static int link_failed(struct iap_uplink *u, const char *why)
{
	if (!u->failed)
		lt_err("mediator link: %s", why);
	u->failed = 1;
	return -1;
}

int iap_uplink_flush(struct iap_uplink *u)
{
	if (u->failed)
		return -1;
	if (u->used == 0)
		return 0;
	char why[300];
	if (iap_tls_write(u->ssl, u->buf, u->used, IAP_WRITE_TIMEOUT_MS, why, sizeof why) != 0)
		return link_failed(u, why);
	u->st->bytes_sent += u->used;
	u->used = 0;
	u->last_send_ms = lt_now_ms();
	return 0;
}

/* Makes room for a PDU of about need bytes: flushes the batch when it would overflow. */
static int make_room(struct iap_uplink *u, size_t need)
{
	if (u->failed)
		return -1;
	if (u->used > 0 && u->used + need > IAP_BATCH_BYTES)
		return iap_uplink_flush(u);
	return 0;
}

static int queue_pdu(struct iap_uplink *u, const struct lt_x2x3_pdu *p)
{
	if (make_room(u, LT_X2X3_FIXED_HDR + ATTR_ROOM + p->payload_len) != 0)
		return -1;
	long n = lt_x2x3_encode(p, u->buf + u->used, BUF_CAP - u->used);
	if (n < 0) {
		/* Cannot happen with the bounds above; refuse the PDU rather than the link. */
		lt_err("mediator link: cannot encode a PDU (code %ld), dropped", n);
		return 0;
	}
	u->used += (size_t)n;
	u->last_add_ms = lt_now_ms();
	return 0;
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
}

int iap_uplink_x3(struct iap_uplink *u, const struct lt_task *task, uint32_t seq, int direction,
                  int family, uint32_t ts_sec, uint32_t ts_nsec, const uint8_t *ip, size_t len)
{
	struct lt_x2x3_pdu p;
	fill_common(u, &p, task, seq, direction, ts_sec, ts_nsec);
	p.type = LT_X3;
	p.format = family == 4 ? LT_PF_IPV4 : LT_PF_IPV6;
	if (len > PAYLOAD_MAX) {
		/* Only an IPv6 packet with a 65535-byte payload gets here: cut it to the
		 * documented PDU limit (LT_X2X3_MAX_PDU). */
		if (!u->warned_big)
			lt_warn("mediator link: IPv6 packet of %zu bytes cut to %d", len,
			        PAYLOAD_MAX);
		u->warned_big = 1;
		len = PAYLOAD_MAX;
	}
	p.payload = ip;
	p.payload_len = (uint32_t)len;
	if (queue_pdu(u, &p) != 0)
		return -1;
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

static int send_keepalive(struct iap_uplink *u)
{
	if (make_room(u, 64) != 0)
		return -1;
	long n = lt_x2x3_keepalive(0, u->ka_next, u->buf + u->used, BUF_CAP - u->used);
	if (n < 0)
		return link_failed(u, "cannot encode a keep-alive");
	u->used += (size_t)n;
	u->ka_seq = u->ka_next++;
	u->ka_outstanding = 1;
	u->st->keepalives++;
	if (iap_uplink_flush(u) != 0)
		return -1;
	u->ka_sent_ms = lt_now_ms();
	return 0;
}

/* Reads what the mediator sent (keep-alive acks). timeout_ms as iap_tls_read. 0 or -1. */
static int read_acks(struct iap_uplink *u, int timeout_ms)
{
	char why[256];
	for (;;) {
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
			if (p.type == LT_X2X3_KEEPALIVE_ACK && p.has_seq && u->ka_outstanding &&
			    p.seq == u->ka_seq)
				u->ka_outstanding = 0;
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
}

int iap_uplink_tick(struct iap_uplink *u, int64_t now_ms, int flush_idle)
{
	if (u->failed)
		return -1;
	if (flush_idle && u->used > 0 && now_ms - u->last_add_ms >= IAP_FLUSH_IDLE_MS &&
	    iap_uplink_flush(u) != 0)
		return -1;
	if (read_acks(u, 0) != 0)
		return -1;
	if (u->ka_outstanding && now_ms - u->ka_sent_ms >= IAP_KEEPALIVE_WAIT_MS)
		return link_failed(u, "no keep-alive ack within 10 s");
	if (!u->ka_outstanding && u->used == 0 && now_ms - u->last_send_ms >= IAP_KEEPALIVE_IDLE_MS)
		return send_keepalive(u);
	return 0;
}

int iap_uplink_next_ms(const struct iap_uplink *u, int64_t now_ms, int max_ms)
{
	int64_t due = now_ms + max_ms;
	if (u->used > 0 && u->last_add_ms + IAP_FLUSH_IDLE_MS < due)
		due = u->last_add_ms + IAP_FLUSH_IDLE_MS;
	if (u->ka_outstanding && u->ka_sent_ms + IAP_KEEPALIVE_WAIT_MS < due)
		due = u->ka_sent_ms + IAP_KEEPALIVE_WAIT_MS;
	if (!u->ka_outstanding && u->last_send_ms + IAP_KEEPALIVE_IDLE_MS < due)
		due = u->last_send_ms + IAP_KEEPALIVE_IDLE_MS;
	return due <= now_ms ? 0 : (int)(due - now_ms);
}

int iap_uplink_finish(struct iap_uplink *u, int timeout_ms)
{
	if (u->failed || send_keepalive(u) != 0) /* send_keepalive flushes the batch first */
		return -1;
	int64_t deadline = lt_now_ms() + timeout_ms;
	while (u->ka_outstanding) {
		int64_t left = deadline - lt_now_ms();
		if (left <= 0)
			return link_failed(u, "no ack for the final keep-alive");
		if (read_acks(u, (int)left) != 0)
			return -1;
	}
	return 0;
}

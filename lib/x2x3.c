/* lib/x2x3.c: ETSI TS 103 221-2 X2/X3 PDU framing, parsing and encoding.
 * Every byte from the peer is read through lib/wire.h cursors: a field is decoded only from a
 * span lt_wire_take handed out with its length checked. */
#include "x2x3.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "wire.h"

/* Offsets of the length fields in the fixed header (TS 103 221-2 clause 5.1). */
#define HDRLEN_OFF 4
#define FIXED_LEN_FIELDS 12 /* version(2) + pduType(2) + headerLength(4) + payloadLength(4) */

/* The *why strings that carry numbers are formatted into a per-thread buffer, so parse stays
 * usable from several threads; the pointer is valid until the next parse in the same thread. */
static _Thread_local char why_buf[96];

static int fail(const char **why, int code, const char *msg)
{
	if (why)
		*why = msg;
	return code;
}

static int failf_attr(const char **why, int code, unsigned type, unsigned len, const char *exp)
{
	snprintf(why_buf, sizeof why_buf, "attribute %u has length %u, expected %s", type, len,
	         exp);
	if (why)
		*why = why_buf;
	return code;
}

/* Big-endian loads, only ever from a span a cursor handed out with its length checked
 * (lt_wire_take): the parse takes each span once and decodes the fields inside it. */
static inline unsigned ld16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static inline uint32_t ld32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t ld64(const uint8_t *p)
{
	return (uint64_t)ld32(p) << 32 | ld32(p + 4);
}

/* Checks the length fields of a fixed header whose first FIXED_LEN_FIELDS bytes are at h;
 * sets *hdr_len / *total. */
static inline int check_lengths(const uint8_t *h, uint32_t *hdr_len, size_t *total,
                                const char **why)
{
	/* h[0..1], the version: any accepted on receipt */
	unsigned type = ld16(h + 2);
	uint32_t hl = ld32(h + HDRLEN_OFF);
	uint32_t pl = ld32(h + HDRLEN_OFF + 4);
	if (type < LT_X2 || type > LT_X2X3_KEEPALIVE_ACK)
		return fail(why, LT_X2X3_E_BADTYPE, "pduType is not 1..4");
	if (hl < LT_X2X3_FIXED_HDR)
		return fail(why, LT_X2X3_E_BADHDR, "headerLength is below 40");
	if (hl - LT_X2X3_FIXED_HDR > LT_X2X3_MAX_ATTRS)
		return fail(why, LT_X2X3_E_TOOBIG, "conditional attributes exceed 1024 bytes");
	if ((uint64_t)hl + pl > LT_X2X3_MAX_PDU)
		return fail(why, LT_X2X3_E_TOOBIG, "PDU exceeds the maximum size");
	*hdr_len = hl;
	*total = (size_t)hl + pl;
	return 0;
}

int lt_x2x3_frame(const uint8_t *buf, size_t len, size_t *pdu_len)
{
	struct lt_wire_rd r = lt_wire_rd_init(buf, len);
	const uint8_t *h = lt_wire_take(&r, FIXED_LEN_FIELDS);
	uint32_t hl;
	size_t total;
	if (!h)
		return LT_X2X3_E_SHORT;
	int rc = check_lengths(h, &hl, &total, NULL);
	if (rc)
		return rc;
	*pdu_len = total;
	return len >= total ? 0 : LT_X2X3_E_SHORT;
}

static int dup_attr(const char **why, unsigned t)
{
	snprintf(why_buf, sizeof why_buf, "attribute %u appears twice", t);
	if (why)
		*why = why_buf;
	return LT_X2X3_E_BADHDR;
}

/* Decodes one attribute (type t, value v[0..n), inside the checked attribute span) into out.
 * Checks in this order: the length, then (addresses) the other family for the same end, then
 * the value when first seen (NUL in 7, nanoseconds in 9), then a repeat. */
static inline int parse_attr(unsigned t, const uint8_t *v, unsigned n, struct lt_x2x3_pdu *out,
                             const char **why)
{
	switch (t) {
	case LT_ATTR_IPID:
		if (n < 1 || n > sizeof out->ipid - 1)
			return failf_attr(why, LT_X2X3_E_BADHDR, t, n, "1..32");
		if (out->has_ipid)
			return dup_attr(why, t);
		memcpy(out->ipid, v, n);
		out->ipid[n] = '\0';
		for (unsigned i = 0; i < n; i++) /* at most 32 bytes: no library call */
			if (v[i] == '\0')
				return fail(why, LT_X2X3_E_BADHDR,
				            "attribute 7 contains a NUL byte");
		out->has_ipid = 1;
		return 0;
	case LT_ATTR_SEQ:
		if (n != 4)
			return failf_attr(why, LT_X2X3_E_BADHDR, t, n, "4");
		if (out->has_seq)
			return dup_attr(why, t);
		out->seq = ld32(v);
		out->has_seq = 1;
		return 0;
	case LT_ATTR_TIMESTAMP:
		if (n != 8)
			return failf_attr(why, LT_X2X3_E_BADHDR, t, n, "8");
		if (out->has_ts)
			return dup_attr(why, t);
		out->ts_sec = ld32(v);
		out->ts_nsec = ld32(v + 4);
		if (out->ts_nsec > 999999999u)
			return fail(why, LT_X2X3_E_BADHDR,
			            "attribute 9 has nanoseconds above 999999999");
		out->has_ts = 1;
		return 0;
	case LT_ATTR_SRC_V4:
	case LT_ATTR_DST_V4:
	case LT_ATTR_SRC_V6:
	case LT_ATTR_DST_V6: {
		int v6 = t == LT_ATTR_SRC_V6 || t == LT_ATTR_DST_V6;
		int src = t == LT_ATTR_SRC_V4 || t == LT_ATTR_SRC_V6;
		if (n != (v6 ? 16u : 4u))
			return failf_attr(why, LT_X2X3_E_BADHDR, t, n, v6 ? "16" : "4");
		int *other = src ? (v6 ? &out->has_src_v4 : &out->has_src_v6)
		                 : (v6 ? &out->has_dst_v4 : &out->has_dst_v6);
		if (*other)
			return fail(why, LT_X2X3_E_BADHDR,
			            "both an IPv4 and an IPv6 address for the same end");
		int *has = src ? (v6 ? &out->has_src_v6 : &out->has_src_v4)
		               : (v6 ? &out->has_dst_v6 : &out->has_dst_v4);
		if (*has)
			return dup_attr(why, t);
		memcpy(src ? out->src : out->dst, v, n);
		*has = 1;
		return 0;
	}
	case LT_ATTR_SRC_PORT:
	case LT_ATTR_DST_PORT: {
		if (n != 2)
			return failf_attr(why, LT_X2X3_E_BADHDR, t, n, "2");
		int *has = t == LT_ATTR_SRC_PORT ? &out->has_sport : &out->has_dport;
		if (*has)
			return dup_attr(why, t);
		*(t == LT_ATTR_SRC_PORT ? &out->sport : &out->dport) = (uint16_t)ld16(v);
		*has = 1;
		return 0;
	}
	case LT_ATTR_PROTO:
		if (n != 1)
			return failf_attr(why, LT_X2X3_E_BADHDR, t, n, "1");
		if (out->has_proto)
			return dup_attr(why, t);
		out->proto = v[0];
		out->has_proto = 1;
		return 0;
	case LT_ATTR_LAWTAP_EPOCH:
		if (n != 8)
			return failf_attr(why, LT_X2X3_E_BADHDR, t, n, "8");
		if (out->has_epoch)
			return dup_attr(why, t);
		out->epoch = ld64(v);
		out->has_epoch = 1;
		return 0;
	default:
		return 0; /* 5, 6, 17 and unknown attributes: skipped */
	}
}

/* Zeroes *out in 64-byte pieces: GCC writes one memset of the whole ~200-byte struct as rep
 * stosq, whose start-up cost was a third of a parse. */
static inline void zero_pdu(struct lt_x2x3_pdu *out)
{
	unsigned char *p = (unsigned char *)out;
	size_t n = sizeof *out;
	while (n >= 64) {
		memset(p, 0, 64);
		p += 64;
		n -= 64;
	}
	memset(p, 0, n);
}

/* One pass: the fixed header is taken as one 40-byte span and the attributes as one span of
 * headerLength - 40 bytes, each attribute's type/length and value as spans of it. */
int lt_x2x3_parse(const uint8_t *buf, size_t len, struct lt_x2x3_pdu *out, const char **why)
{
	struct lt_wire_rd r = lt_wire_rd_init(buf, len);
	uint32_t hl;
	size_t total;
	int rc;

	zero_pdu(out);
	if (why)
		*why = NULL;
	const uint8_t *h = lt_wire_take(&r, LT_X2X3_FIXED_HDR);
	if (!h)
		return fail(why, LT_X2X3_E_SHORT, "PDU shorter than its 40-byte fixed header");
	if ((rc = check_lengths(h, &hl, &total, why)) != 0)
		return rc;
	if (total != len)
		return fail(why, len < total ? LT_X2X3_E_SHORT : LT_X2X3_E_BADHDR,
		            "PDU length differs from headerLength + payloadLength");

	out->ver_major = h[0];
	out->ver_minor = h[1];
	out->type = (uint16_t)ld16(h + 2);
	/* h[4..11]: the lengths, checked above */
	out->format = (uint16_t)ld16(h + 12);
	out->direction = (uint16_t)ld16(h + 14);
	memcpy(out->xid, h + 16, sizeof out->xid);
	out->correlation = ld64(h + 32);

	struct lt_wire_rd attrs = lt_wire_sub(&r, hl - LT_X2X3_FIXED_HDR);
	while (lt_wire_avail(&attrs) > 0) {
		const uint8_t *tl = lt_wire_take(&attrs, 4);
		if (!tl)
			return fail(why, LT_X2X3_E_BADHDR, "truncated attribute type/length");
		unsigned t = ld16(tl), n = ld16(tl + 2);
		const uint8_t *v = lt_wire_take(&attrs, n);
		if (!v) {
			snprintf(why_buf, sizeof why_buf,
			         "attribute %u (length %u) runs past headerLength", t, n);
			if (why)
				*why = why_buf;
			return LT_X2X3_E_BADHDR;
		}
		if ((rc = parse_attr(t, v, n, out, why)) != 0)
			return rc;
	}
	out->payload_len = (uint32_t)(len - hl);
	out->payload = lt_wire_take(&r, out->payload_len);
	if (lt_wire_rd_err(&r) || lt_wire_rd_err(&attrs) || lt_wire_avail(&r) != 0)
		return fail(why, LT_X2X3_E_BADHDR, "internal length mismatch"); /* not reached */
	return 0;
}

static void put_attr(struct lt_wire_wr *w, uint16_t t, const void *v, uint16_t n)
{
	lt_wire_put_u16(w, t);
	lt_wire_put_u16(w, n);
	lt_wire_put(w, v, n);
}

static void put_attr_u32(struct lt_wire_wr *w, uint16_t t, uint32_t v)
{
	lt_wire_put_u16(w, t);
	lt_wire_put_u16(w, 4);
	lt_wire_put_u32(w, v);
}

static void put_attr_u16(struct lt_wire_wr *w, uint16_t t, uint16_t v)
{
	lt_wire_put_u16(w, t);
	lt_wire_put_u16(w, 2);
	lt_wire_put_u16(w, v);
}

long lt_x2x3_encode(const struct lt_x2x3_pdu *p, uint8_t *out, size_t cap)
{
	size_t ipid_len = p->has_ipid ? strnlen(p->ipid, sizeof p->ipid) : 0;
	size_t alen = 0;

	if (p->type < LT_X2 || p->type > LT_X2X3_KEEPALIVE_ACK)
		return LT_X2X3_E_BADTYPE;
	if ((p->has_ipid && (ipid_len < 1 || ipid_len > sizeof p->ipid - 1)) ||
	    (p->has_src_v4 && p->has_src_v6) || (p->has_dst_v4 && p->has_dst_v6) ||
	    (p->payload_len > 0 && !p->payload))
		return LT_X2X3_E_BADHDR;
	if (p->has_ipid)
		alen += 4 + ipid_len;
	alen += p->has_seq ? 8 : 0;
	alen += p->has_ts ? 12 : 0;
	alen += (p->has_src_v4 ? 8 : 0) + (p->has_dst_v4 ? 8 : 0);
	alen += (p->has_src_v6 ? 20 : 0) + (p->has_dst_v6 ? 20 : 0);
	alen += (p->has_sport ? 6 : 0) + (p->has_dport ? 6 : 0) + (p->has_proto ? 5 : 0);
	alen += p->has_epoch ? 12 : 0;
	if (alen > LT_X2X3_MAX_ATTRS ||
	    (uint64_t)LT_X2X3_FIXED_HDR + alen + p->payload_len > LT_X2X3_MAX_PDU)
		return LT_X2X3_E_TOOBIG;

	struct lt_wire_wr w = lt_wire_wr_init(out, cap);
	lt_wire_put_u8(&w, 0); /* version 0.5, see standards.md */
	lt_wire_put_u8(&w, 5);
	lt_wire_put_u16(&w, p->type);
	lt_wire_put_u32(&w, (uint32_t)(LT_X2X3_FIXED_HDR + alen));
	lt_wire_put_u32(&w, p->payload_len);
	lt_wire_put_u16(&w, p->format);
	lt_wire_put_u16(&w, p->direction);
	lt_wire_put(&w, p->xid, sizeof p->xid);
	lt_wire_put_u64(&w, p->correlation);
	if (p->has_ipid)
		put_attr(&w, LT_ATTR_IPID, p->ipid, (uint16_t)ipid_len);
	if (p->has_seq)
		put_attr_u32(&w, LT_ATTR_SEQ, p->seq);
	if (p->has_ts) {
		lt_wire_put_u16(&w, LT_ATTR_TIMESTAMP);
		lt_wire_put_u16(&w, 8);
		lt_wire_put_u32(&w, p->ts_sec);
		lt_wire_put_u32(&w, p->ts_nsec);
	}
	if (p->has_src_v4)
		put_attr(&w, LT_ATTR_SRC_V4, p->src, 4);
	if (p->has_dst_v4)
		put_attr(&w, LT_ATTR_DST_V4, p->dst, 4);
	if (p->has_src_v6)
		put_attr(&w, LT_ATTR_SRC_V6, p->src, 16);
	if (p->has_dst_v6)
		put_attr(&w, LT_ATTR_DST_V6, p->dst, 16);
	if (p->has_sport)
		put_attr_u16(&w, LT_ATTR_SRC_PORT, p->sport);
	if (p->has_dport)
		put_attr_u16(&w, LT_ATTR_DST_PORT, p->dport);
	if (p->has_proto)
		put_attr(&w, LT_ATTR_PROTO, &p->proto, 1);
	if (p->has_epoch) {
		lt_wire_put_u16(&w, LT_ATTR_LAWTAP_EPOCH);
		lt_wire_put_u16(&w, 8);
		lt_wire_put_u64(&w, p->epoch);
	}
	lt_wire_put(&w, p->payload, p->payload_len);
	if (lt_wire_wr_err(&w))
		return LT_X2X3_E_SPACE;
	return (long)lt_wire_wr_pos(&w);
}

long lt_x2x3_keepalive(int ack, uint32_t seq, uint8_t *out, size_t cap)
{
	struct lt_x2x3_pdu p;
	memset(&p, 0, sizeof p);
	p.type = ack ? LT_X2X3_KEEPALIVE_ACK : LT_X2X3_KEEPALIVE;
	p.format = LT_PF_KEEPALIVE;
	p.direction = LT_DIR_KEEPALIVE;
	p.has_seq = 1;
	p.seq = seq;
	return lt_x2x3_encode(&p, out, cap);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int lt_uuid_parse(const char *s, uint8_t out[16])
{
	uint8_t tmp[16];
	size_t j = 0;
	if (!s || strnlen(s, 37) != 36)
		return -1;
	for (size_t i = 0; i < 36;) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return -1;
			i++;
			continue;
		}
		int hi = hexval(s[i]), lo = hexval(s[i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		tmp[j++] = (uint8_t)(hi << 4 | lo);
		i += 2;
	}
	memcpy(out, tmp, 16);
	return 0;
}

void lt_uuid_format(const uint8_t in[16], char out[37])
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	for (size_t i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[in[i] >> 4];
		out[o++] = hex[in[i] & 15];
	}
	out[o] = '\0';
}

void lt_uuid_random(uint8_t out[16])
{
	if (RAND_bytes(out, 16) != 1) {
		/* A broken CSPRNG is a start-up invariant failure, never a peer's doing. */
		fputs("lawtap: RAND_bytes failed\n", stderr);
		abort();
	}
	out[6] = (uint8_t)((out[6] & 0x0f) | 0x40); /* RFC 4122 4.4: version 4 */
	out[8] = (uint8_t)((out[8] & 0x3f) | 0x80); /* variant 10 */
}

/* lib/x2x3.c: ETSI TS 103 221-2 X2/X3 PDU framing, parsing and encoding.
 * Every byte from the peer is read through lib/wire.h cursors. */
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

/* Checks the first FIXED_LEN_FIELDS bytes; sets *hdr_len / *total. */
static int check_lengths(struct lt_wire_rd *r, uint32_t *hdr_len, size_t *total, const char **why)
{
	lt_wire_skip(r, 2); /* version: any accepted on receipt */
	uint16_t type = lt_wire_u16(r);
	uint32_t hl = lt_wire_u32(r);
	uint32_t pl = lt_wire_u32(r);
	if (lt_wire_rd_err(r))
		return fail(why, LT_X2X3_E_SHORT, "PDU shorter than its fixed header");
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
	uint32_t hl;
	size_t total;
	if (len < FIXED_LEN_FIELDS)
		return LT_X2X3_E_SHORT;
	int rc = check_lengths(&r, &hl, &total, NULL);
	if (rc)
		return rc;
	*pdu_len = total;
	return len >= total ? 0 : LT_X2X3_E_SHORT;
}

/* Decodes one attribute (type t, value cursor v of length n) into out. */
static int parse_attr(unsigned t, struct lt_wire_rd *v, struct lt_x2x3_pdu *out, const char **why)
{
	unsigned n = (unsigned)lt_wire_avail(v);
	int *has = NULL;
	switch (t) {
	case LT_ATTR_IPID:
		if (n < 1 || n > sizeof out->ipid - 1)
			return failf_attr(why, LT_X2X3_E_BADHDR, t, n, "1..32");
		has = &out->has_ipid;
		if (!*has) {
			lt_wire_read(v, out->ipid, n);
			out->ipid[n] = '\0';
			if (memchr(out->ipid, '\0', n))
				return fail(why, LT_X2X3_E_BADHDR,
				            "attribute 7 contains a NUL byte");
		}
		break;
	case LT_ATTR_SEQ:
		if (n != 4)
			return failf_attr(why, LT_X2X3_E_BADHDR, t, n, "4");
		has = &out->has_seq;
		if (!*has)
			out->seq = lt_wire_u32(v);
		break;
	case LT_ATTR_TIMESTAMP:
		if (n != 8)
			return failf_attr(why, LT_X2X3_E_BADHDR, t, n, "8");
		has = &out->has_ts;
		if (!*has) {
			out->ts_sec = lt_wire_u32(v);
			out->ts_nsec = lt_wire_u32(v);
			if (out->ts_nsec > 999999999u)
				return fail(why, LT_X2X3_E_BADHDR,
				            "attribute 9 has nanoseconds above 999999999");
		}
		break;
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
		has = src ? (v6 ? &out->has_src_v6 : &out->has_src_v4)
		          : (v6 ? &out->has_dst_v6 : &out->has_dst_v4);
		if (!*has)
			lt_wire_read(v, src ? out->src : out->dst, n);
		break;
	}
	case LT_ATTR_SRC_PORT:
	case LT_ATTR_DST_PORT:
		if (n != 2)
			return failf_attr(why, LT_X2X3_E_BADHDR, t, n, "2");
		has = t == LT_ATTR_SRC_PORT ? &out->has_sport : &out->has_dport;
		if (!*has)
			*(t == LT_ATTR_SRC_PORT ? &out->sport : &out->dport) = lt_wire_u16(v);
		break;
	case LT_ATTR_PROTO:
		if (n != 1)
			return failf_attr(why, LT_X2X3_E_BADHDR, t, n, "1");
		has = &out->has_proto;
		if (!*has)
			out->proto = lt_wire_u8(v);
		break;
	case LT_ATTR_LAWTAP_EPOCH:
		if (n != 8)
			return failf_attr(why, LT_X2X3_E_BADHDR, t, n, "8");
		has = &out->has_epoch;
		if (!*has)
			out->epoch = lt_wire_u64(v);
		break;
	default:
		return 0; /* 5, 6, 17 and unknown attributes: skipped */
	}
	if (has) {
		if (*has) {
			snprintf(why_buf, sizeof why_buf, "attribute %u appears twice", t);
			if (why)
				*why = why_buf;
			return LT_X2X3_E_BADHDR;
		}
		*has = 1;
	}
	return 0;
}

int lt_x2x3_parse(const uint8_t *buf, size_t len, struct lt_x2x3_pdu *out, const char **why)
{
	struct lt_wire_rd r = lt_wire_rd_init(buf, len);
	uint32_t hl;
	size_t total;
	int rc;

	memset(out, 0, sizeof *out);
	if (why)
		*why = NULL;
	if (len < LT_X2X3_FIXED_HDR)
		return fail(why, LT_X2X3_E_SHORT, "PDU shorter than its 40-byte fixed header");
	if ((rc = check_lengths(&r, &hl, &total, why)) != 0)
		return rc;
	if (total != len)
		return fail(why, len < total ? LT_X2X3_E_SHORT : LT_X2X3_E_BADHDR,
		            "PDU length differs from headerLength + payloadLength");

	r = lt_wire_rd_init(buf, len);
	out->ver_major = lt_wire_u8(&r);
	out->ver_minor = lt_wire_u8(&r);
	out->type = lt_wire_u16(&r);
	lt_wire_skip(&r, 8); /* lengths, checked above */
	out->format = lt_wire_u16(&r);
	out->direction = lt_wire_u16(&r);
	lt_wire_read(&r, out->xid, sizeof out->xid);
	out->correlation = lt_wire_u64(&r);

	struct lt_wire_rd attrs = lt_wire_sub(&r, hl - LT_X2X3_FIXED_HDR);
	while (lt_wire_avail(&attrs) > 0) {
		if (lt_wire_avail(&attrs) < 4)
			return fail(why, LT_X2X3_E_BADHDR, "truncated attribute type/length");
		unsigned t = lt_wire_u16(&attrs);
		unsigned n = lt_wire_u16(&attrs);
		if (n > lt_wire_avail(&attrs)) {
			snprintf(why_buf, sizeof why_buf,
			         "attribute %u (length %u) runs past headerLength", t, n);
			if (why)
				*why = why_buf;
			return LT_X2X3_E_BADHDR;
		}
		struct lt_wire_rd v = lt_wire_sub(&attrs, n);
		if ((rc = parse_attr(t, &v, out, why)) != 0)
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

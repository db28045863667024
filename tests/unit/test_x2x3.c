/* Unit tests for lib/x2x3.c: framing, parsing (every error path), encoding, keep-alives, UUIDs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/wire.h"
#include "lib/x2x3.h"

static uint8_t buf[LT_X2X3_MAX_PDU + 16];

static const uint8_t xid1[16] = {0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0x4d, 0xef,
                                 0x81, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};

static struct lt_x2x3_pdu sample_x3(const uint8_t *payload, uint32_t plen)
{
	struct lt_x2x3_pdu p;
	memset(&p, 0, sizeof p);
	p.type = LT_X3;
	p.format = LT_PF_IPV4;
	p.direction = LT_DIR_TO_TARGET;
	memcpy(p.xid, xid1, 16);
	p.correlation = 0x0102030405060708ull;
	p.has_ipid = 1;
	strcpy(p.ipid, "iap1");
	p.has_seq = 1;
	p.seq = 0xfffffffe;
	p.has_ts = 1;
	p.ts_sec = 1790000000;
	p.ts_nsec = 999999999;
	p.has_src_v4 = p.has_dst_v4 = 1;
	memcpy(p.src, "\x0a\x00\x00\x01", 4);
	memcpy(p.dst, "\xc0\x00\x02\x01", 4);
	p.has_sport = p.has_dport = p.has_proto = 1;
	p.sport = 1234;
	p.dport = 443;
	p.proto = 6;
	p.payload = payload;
	p.payload_len = plen;
	return p;
}

static void assert_same(const struct lt_x2x3_pdu *a, const struct lt_x2x3_pdu *b)
{
	assert_int_equal(a->type, b->type);
	assert_int_equal(a->format, b->format);
	assert_int_equal(a->direction, b->direction);
	assert_memory_equal(a->xid, b->xid, 16);
	assert_true(a->correlation == b->correlation);
	assert_int_equal(a->has_seq, b->has_seq);
	assert_int_equal(a->seq, b->seq);
	assert_int_equal(a->has_ts, b->has_ts);
	assert_int_equal(a->ts_sec, b->ts_sec);
	assert_int_equal(a->ts_nsec, b->ts_nsec);
	assert_int_equal(a->has_ipid, b->has_ipid);
	assert_string_equal(a->ipid, b->ipid);
	assert_int_equal(a->has_src_v4, b->has_src_v4);
	assert_int_equal(a->has_dst_v4, b->has_dst_v4);
	assert_int_equal(a->has_src_v6, b->has_src_v6);
	assert_int_equal(a->has_dst_v6, b->has_dst_v6);
	assert_memory_equal(a->src, b->src, a->has_src_v6 ? 16 : a->has_src_v4 ? 4 : 0);
	assert_memory_equal(a->dst, b->dst, a->has_dst_v6 ? 16 : a->has_dst_v4 ? 4 : 0);
	assert_int_equal(a->has_sport, b->has_sport);
	assert_int_equal(a->sport, b->sport);
	assert_int_equal(a->has_dport, b->has_dport);
	assert_int_equal(a->dport, b->dport);
	assert_int_equal(a->has_proto, b->has_proto);
	assert_int_equal(a->proto, b->proto);
	assert_int_equal(a->has_epoch, b->has_epoch);
	assert_true(a->epoch == b->epoch);
	assert_int_equal(a->payload_len, b->payload_len);
	if (a->payload_len)
		assert_memory_equal(a->payload, b->payload, a->payload_len);
}

static void test_roundtrip_v4(void **state)
{
	uint8_t pl[20] = {0x45, 0, 0, 20};
	struct lt_x2x3_pdu p = sample_x3(pl, sizeof pl), q;
	long n = lt_x2x3_encode(&p, buf, sizeof buf);
	/* 40 + 7:4+4 + 8:8 + 9:12 + 10:8 + 11:8 + 14:6 + 15:6 + 16:5 = 101, + 20 payload */
	assert_int_equal(n, 121);
	assert_int_equal(buf[0], 0);
	assert_int_equal(buf[1], 5);
	assert_memory_equal(buf + 4, "\x00\x00\x00\x65\x00\x00\x00\x14", 8);
	size_t fl = 0;
	assert_int_equal(lt_x2x3_frame(buf, (size_t)n, &fl), 0);
	assert_int_equal(fl, 121);
	const char *why = "x";
	assert_int_equal(lt_x2x3_parse(buf, (size_t)n, &q, &why), 0);
	assert_null(why);
	assert_int_equal(q.ver_major, 0);
	assert_int_equal(q.ver_minor, 5);
	assert_ptr_equal(q.payload, buf + 101);
	assert_same(&p, &q);
}

static void test_roundtrip_v6_x2(void **state)
{
	struct lt_x2x3_pdu p, q;
	memset(&p, 0, sizeof p);
	p.type = LT_X2;
	p.format = LT_PF_PROPRIETARY;
	p.direction = LT_DIR_FROM_TARGET;
	p.has_src_v6 = p.has_dst_v6 = 1;
	memset(p.src, 0x20, 16);
	memset(p.dst, 0xfe, 16);
	p.has_proto = 1;
	p.proto = 17;
	long n = lt_x2x3_encode(&p, buf, sizeof buf);
	assert_int_equal(n, 40 + 20 + 20 + 5);
	assert_int_equal(lt_x2x3_parse(buf, (size_t)n, &q, NULL), 0);
	assert_same(&p, &q);
	assert_int_equal(q.payload_len, 0);
	/* an empty PDU: no attributes, no payload */
	memset(&p, 0, sizeof p);
	p.type = LT_X3;
	assert_int_equal(lt_x2x3_encode(&p, buf, sizeof buf), 40);
	assert_int_equal(lt_x2x3_parse(buf, 40, &q, NULL), 0);
	assert_same(&p, &q);
}

static void test_keepalive_golden(void **state)
{
	static const uint8_t ka[] = {0, 5, 0, 3, 0, 0, 0, 48, 0, 0, 0, 0, 0,    0,    0,    0,
	                             0, 0, 0, 0, 0, 0, 0, 0,  0, 0, 0, 0, 0,    0,    0,    0,
	                             0, 0, 0, 0, 0, 0, 0, 0,  0, 8, 0, 4, 0xde, 0xad, 0xbe, 0xef};
	assert_int_equal(lt_x2x3_keepalive(0, 0xdeadbeef, buf, sizeof buf), sizeof ka);
	assert_memory_equal(buf, ka, sizeof ka);
	assert_int_equal(lt_x2x3_keepalive(1, 0xdeadbeef, buf, sizeof buf), sizeof ka);
	assert_int_equal(buf[3], 4);
	struct lt_x2x3_pdu q;
	assert_int_equal(lt_x2x3_parse(buf, sizeof ka, &q, NULL), 0);
	assert_int_equal(q.type, LT_X2X3_KEEPALIVE_ACK);
	assert_true(q.has_seq);
	assert_int_equal(q.seq, 0xdeadbeef);
	assert_int_equal(lt_x2x3_keepalive(0, 1, buf, sizeof ka - 1), LT_X2X3_E_SPACE);
}

static void test_frame(void **state)
{
	uint8_t pl[100] = {0};
	struct lt_x2x3_pdu p = sample_x3(pl, sizeof pl);
	long n = lt_x2x3_encode(&p, buf, sizeof buf);
	size_t fl;
	for (size_t len = 0; len < 12; len++) {
		fl = 7;
		assert_int_equal(lt_x2x3_frame(buf, len, &fl), LT_X2X3_E_SHORT);
		assert_int_equal(fl, 7); /* untouched */
	}
	for (size_t len = 12; len < (size_t)n; len++) {
		fl = 0;
		assert_int_equal(lt_x2x3_frame(buf, len, &fl), LT_X2X3_E_SHORT);
		assert_int_equal(fl, (size_t)n);
	}
	/* two PDUs back to back: the first is framed alone */
	memcpy(buf + n, buf, (size_t)n);
	assert_int_equal(lt_x2x3_frame(buf, 2 * (size_t)n, &fl), 0);
	assert_int_equal(fl, (size_t)n);
	assert_int_equal(lt_x2x3_frame(NULL, 0, &fl), LT_X2X3_E_SHORT);
}

static void put32(uint8_t *b, uint32_t v)
{
	b[0] = (uint8_t)(v >> 24);
	b[1] = (uint8_t)(v >> 16);
	b[2] = (uint8_t)(v >> 8);
	b[3] = (uint8_t)v;
}

/* A raw header: type, headerLength, payloadLength; the rest zero. */
static void raw_hdr(uint8_t *b, uint16_t type, uint32_t hl, uint32_t pl)
{
	memset(b, 0, 40);
	b[1] = 5;
	b[2] = (uint8_t)(type >> 8);
	b[3] = (uint8_t)type;
	put32(b + 4, hl);
	put32(b + 8, pl);
}

static void test_frame_errors(void **state)
{
	size_t fl;
	const char *why;
	struct lt_x2x3_pdu q;
	raw_hdr(buf, 0, 40, 0);
	assert_int_equal(lt_x2x3_frame(buf, 40, &fl), LT_X2X3_E_BADTYPE);
	assert_int_equal(lt_x2x3_parse(buf, 40, &q, &why), LT_X2X3_E_BADTYPE);
	assert_non_null(why);
	raw_hdr(buf, 5, 40, 0);
	assert_int_equal(lt_x2x3_frame(buf, 12, &fl), LT_X2X3_E_BADTYPE);
	raw_hdr(buf, 2, 39, 0);
	assert_int_equal(lt_x2x3_frame(buf, 12, &fl), LT_X2X3_E_BADHDR);
	assert_int_equal(lt_x2x3_parse(buf, 40, &q, &why), LT_X2X3_E_BADHDR);
	/* attribute limit: 1024 accepted, 1025 refused */
	raw_hdr(buf, 2, 40 + LT_X2X3_MAX_ATTRS, 0);
	assert_int_equal(lt_x2x3_frame(buf, 12, &fl), LT_X2X3_E_SHORT);
	assert_int_equal(fl, 40 + LT_X2X3_MAX_ATTRS);
	raw_hdr(buf, 2, 40 + LT_X2X3_MAX_ATTRS + 1, 0);
	assert_int_equal(lt_x2x3_frame(buf, 12, &fl), LT_X2X3_E_TOOBIG);
	/* total size limit */
	raw_hdr(buf, 2, 40 + LT_X2X3_MAX_ATTRS, 65535);
	assert_int_equal(lt_x2x3_frame(buf, 12, &fl), LT_X2X3_E_SHORT);
	assert_int_equal(fl, LT_X2X3_MAX_PDU);
	raw_hdr(buf, 2, 40 + LT_X2X3_MAX_ATTRS, 65536);
	assert_int_equal(lt_x2x3_frame(buf, 12, &fl), LT_X2X3_E_TOOBIG);
	raw_hdr(buf, 2, 40, 0xffffffffu);
	assert_int_equal(lt_x2x3_frame(buf, 12, &fl), LT_X2X3_E_TOOBIG);
	raw_hdr(buf, 2, 0xffffffffu, 0xffffffffu);
	assert_int_equal(lt_x2x3_frame(buf, 12, &fl), LT_X2X3_E_TOOBIG);
}

static void test_max_pdu(void **state)
{
	/* exactly LT_X2X3_MAX_PDU: 1024 bytes of an unknown attribute + 65535 payload */
	raw_hdr(buf, 2, 40 + LT_X2X3_MAX_ATTRS, 65535);
	buf[40] = 0x7f;
	buf[41] = 0xff;
	buf[42] = (LT_X2X3_MAX_ATTRS - 4) >> 8;
	buf[43] = (LT_X2X3_MAX_ATTRS - 4) & 0xff;
	memset(buf + 44, 0xaa, LT_X2X3_MAX_PDU - 44);
	size_t fl;
	struct lt_x2x3_pdu q;
	assert_int_equal(lt_x2x3_frame(buf, LT_X2X3_MAX_PDU, &fl), 0);
	assert_int_equal(lt_x2x3_parse(buf, LT_X2X3_MAX_PDU, &q, NULL), 0);
	assert_int_equal(q.payload_len, 65535);
	/* encode side */
	struct lt_x2x3_pdu p;
	memset(&p, 0, sizeof p);
	p.type = LT_X3;
	p.payload = buf;
	p.payload_len = LT_X2X3_MAX_PDU - 40;
	static uint8_t out[LT_X2X3_MAX_PDU + 1];
	assert_int_equal(lt_x2x3_encode(&p, out, sizeof out), LT_X2X3_MAX_PDU);
	p.payload_len++;
	assert_int_equal(lt_x2x3_encode(&p, out, sizeof out), LT_X2X3_E_TOOBIG);
}

/* Builds a PDU with the given attribute bytes and parses it. */
static int parse_attrs(const uint8_t *attrs, size_t alen, struct lt_x2x3_pdu *q, const char **why)
{
	raw_hdr(buf, 1, (uint32_t)(40 + alen), 0);
	memcpy(buf + 40, attrs, alen);
	return lt_x2x3_parse(buf, 40 + alen, q, why);
}

static void test_parse_attr_lengths(void **state)
{
	static const struct {
		uint16_t type, good;
	} known[] = {{8, 4},   {9, 8},  {10, 4}, {11, 4}, {12, 16},
	             {13, 16}, {14, 2}, {15, 2}, {16, 1}};
	uint8_t a[64];
	struct lt_x2x3_pdu q;
	const char *why;
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
		for (uint16_t len = 0; len <= 20; len++) {
			memset(a, 0, sizeof a);
			a[1] = (uint8_t)known[i].type;
			a[3] = (uint8_t)len;
			int rc = parse_attrs(a, 4u + len, &q, &why);
			if (len == known[i].good) {
				assert_int_equal(rc, 0);
			} else {
				assert_int_equal(rc, LT_X2X3_E_BADHDR);
				char exp[80];
				snprintf(exp, sizeof exp, "attribute %u has length %u, expected",
				         known[i].type, len);
				assert_non_null(strstr(why, exp));
			}
		}
	}
	/* example message from the header */
	memset(a, 0, sizeof a);
	a[1] = 9;
	a[3] = 4;
	assert_int_equal(parse_attrs(a, 8, &q, &why), LT_X2X3_E_BADHDR);
	assert_string_equal(why, "attribute 9 has length 4, expected 8");
}

static void test_parse_attr_errors(void **state)
{
	struct lt_x2x3_pdu q;
	const char *why;
	/* truncated TL (1..3 bytes) */
	for (size_t n = 1; n < 4; n++) {
		uint8_t a[3] = {0, 8, 0};
		assert_int_equal(parse_attrs(a, n, &q, &why), LT_X2X3_E_BADHDR);
		assert_string_equal(why, "truncated attribute type/length");
	}
	/* value past headerLength */
	uint8_t past[] = {0, 8, 0, 5, 1, 2, 3, 4};
	assert_int_equal(parse_attrs(past, sizeof past, &q, &why), LT_X2X3_E_BADHDR);
	assert_string_equal(why, "attribute 8 (length 5) runs past headerLength");
	/* duplicates */
	uint8_t dup[] = {0, 8, 0, 4, 0, 0, 0, 1, 0, 8, 0, 4, 0, 0, 0, 2};
	assert_int_equal(parse_attrs(dup, sizeof dup, &q, &why), LT_X2X3_E_BADHDR);
	assert_string_equal(why, "attribute 8 appears twice");
	uint8_t dup7[] = {0, 7, 0, 1, 'a', 0, 7, 0, 1, 'b'};
	assert_int_equal(parse_attrs(dup7, sizeof dup7, &q, &why), LT_X2X3_E_BADHDR);
	/* ipid: empty, too long, NUL, max */
	uint8_t ip0[] = {0, 7, 0, 0};
	assert_int_equal(parse_attrs(ip0, sizeof ip0, &q, &why), LT_X2X3_E_BADHDR);
	uint8_t ipl[4 + 33] = {0, 7, 0, 33};
	memset(ipl + 4, 'x', 33);
	assert_int_equal(parse_attrs(ipl, sizeof ipl, &q, &why), LT_X2X3_E_BADHDR);
	ipl[3] = 32;
	assert_int_equal(parse_attrs(ipl, 36, &q, &why), 0);
	assert_int_equal(strlen(q.ipid), 32);
	uint8_t ipn[] = {0, 7, 0, 3, 'a', 0, 'b'};
	assert_int_equal(parse_attrs(ipn, sizeof ipn, &q, &why), LT_X2X3_E_BADHDR);
	assert_string_equal(why, "attribute 7 contains a NUL byte");
	/* nanoseconds */
	uint8_t ts[] = {0, 9, 0, 8, 0, 0, 0, 1, 0x3b, 0x9a, 0xca, 0x00};
	assert_int_equal(parse_attrs(ts, sizeof ts, &q, &why), LT_X2X3_E_BADHDR);
	ts[11] = 0xff; /* 0x3b9ac9ff = 999999999 */
	ts[10] = 0xc9;
	assert_int_equal(parse_attrs(ts, sizeof ts, &q, &why), 0);
	assert_int_equal(q.ts_nsec, 999999999);
	/* IPv4 and IPv6 for the same end, both orders, both ends */
	uint8_t mix[4 + 4 + 4 + 16] = {0, 10, 0, 4, 1, 2, 3, 4, 0, 12, 0, 16};
	assert_int_equal(parse_attrs(mix, sizeof mix, &q, &why), LT_X2X3_E_BADHDR);
	assert_string_equal(why, "both an IPv4 and an IPv6 address for the same end");
	uint8_t mix2[4 + 16 + 4 + 4] = {0, 13, 0, 16};
	memcpy(mix2 + 20, "\x00\x0b\x00\x04", 4);
	assert_int_equal(parse_attrs(mix2, sizeof mix2, &q, &why), LT_X2X3_E_BADHDR);
	/* src v4 + dst v6 is fine */
	uint8_t ok[4 + 4 + 4 + 16] = {0, 10, 0, 4, 1, 2, 3, 4, 0, 13, 0, 16};
	assert_int_equal(parse_attrs(ok, sizeof ok, &q, &why), 0);
	assert_true(q.has_src_v4 && q.has_dst_v6);
}

static void test_parse_skips_unknown(void **state)
{
	struct lt_x2x3_pdu q;
	const char *why;
	uint8_t a[] = {0,    5,    0, 3, 'd',  'o', 'm', 0, 6, 0, 0, 0, 17,   0,    2,    'x', 'y',
	               0xff, 0xff, 0, 1, 0x00, 0,   8,   0, 4, 0, 0, 0, 0x2a, 0x12, 0x34, 0,   0};
	assert_int_equal(parse_attrs(a, sizeof a, &q, &why), 0);
	assert_true(q.has_seq);
	assert_int_equal(q.seq, 42);
	assert_false(q.has_ipid);
	/* zero-length unknown attribute at the very end */
	uint8_t b[] = {0x12, 0x34, 0, 0};
	assert_int_equal(parse_attrs(b, sizeof b, &q, &why), 0);
}

/* Attribute 65280: lawtap run epoch (u64), round trip, wrong lengths, duplicate. */
static void test_epoch_attr(void **state)
{
	struct lt_x2x3_pdu p = sample_x3(NULL, 0), q;
	const char *why;
	p.has_epoch = 1;
	p.epoch = 0x8877665544332211ull;
	long n = lt_x2x3_encode(&p, buf, sizeof buf);
	assert_int_equal(n, 101 + 12);
	assert_memory_equal(buf + 101, "\xff\x00\x00\x08\x88\x77\x66\x55\x44\x33\x22\x11", 12);
	assert_int_equal(lt_x2x3_parse(buf, (size_t)n, &q, &why), 0);
	assert_true(q.has_epoch);
	assert_true(q.epoch == p.epoch);
	assert_same(&p, &q);
	p.has_epoch = 0;
	n = lt_x2x3_encode(&p, buf, sizeof buf);
	assert_int_equal(lt_x2x3_parse(buf, (size_t)n, &q, &why), 0);
	assert_false(q.has_epoch);
	uint8_t a[4 + 16] = {0xff, 0x00, 0, 0};
	for (uint8_t len = 0; len <= 16; len++) {
		a[3] = len;
		int rc = parse_attrs(a, 4u + len, &q, &why);
		if (len == 8) {
			assert_int_equal(rc, 0);
			assert_true(q.has_epoch);
		} else {
			assert_int_equal(rc, LT_X2X3_E_BADHDR);
			assert_non_null(strstr(why, "attribute 65280 has length"));
		}
	}
	uint8_t dup[24] = {0xff, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0, 0, 8};
	assert_int_equal(parse_attrs(dup, sizeof dup, &q, &why), LT_X2X3_E_BADHDR);
	assert_string_equal(why, "attribute 65280 appears twice");
}

static void test_parse_lengths(void **state)
{
	struct lt_x2x3_pdu q;
	const char *why;
	uint8_t pl[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
	struct lt_x2x3_pdu p = sample_x3(pl, sizeof pl);
	long n = lt_x2x3_encode(&p, buf, sizeof buf);
	for (long len = 0; len < n; len++)
		assert_int_equal(lt_x2x3_parse(buf, (size_t)len, &q, &why), LT_X2X3_E_SHORT);
	assert_int_equal(lt_x2x3_parse(buf, (size_t)n + 1, &q, &why), LT_X2X3_E_BADHDR);
	assert_string_equal(why, "PDU length differs from headerLength + payloadLength");
	/* any version accepted on receipt */
	buf[0] = 1;
	buf[1] = 0;
	assert_int_equal(lt_x2x3_parse(buf, (size_t)n, &q, &why), 0);
	assert_int_equal(q.ver_major, 1);
	assert_int_equal(q.ver_minor, 0);
	assert_int_equal(lt_x2x3_parse(NULL, 0, &q, NULL), LT_X2X3_E_SHORT);
}

static void test_encode_errors(void **state)
{
	uint8_t pl[30] = {0};
	struct lt_x2x3_pdu p = sample_x3(pl, sizeof pl);
	long n = lt_x2x3_encode(&p, buf, sizeof buf);
	assert_true(n > 0);
	uint8_t *out = malloc((size_t)n);
	assert_non_null(out);
	for (long cap = 0; cap < n; cap++)
		assert_int_equal(lt_x2x3_encode(&p, out, (size_t)cap), LT_X2X3_E_SPACE);
	assert_int_equal(lt_x2x3_encode(&p, out, (size_t)n), n);
	assert_memory_equal(out, buf, (size_t)n);
	free(out);
	assert_int_equal(lt_x2x3_encode(&p, NULL, 0), LT_X2X3_E_SPACE);

	struct lt_x2x3_pdu e = p;
	e.type = 0;
	assert_int_equal(lt_x2x3_encode(&e, buf, sizeof buf), LT_X2X3_E_BADTYPE);
	e.type = 5;
	assert_int_equal(lt_x2x3_encode(&e, buf, sizeof buf), LT_X2X3_E_BADTYPE);
	e = p;
	e.ipid[0] = '\0';
	assert_int_equal(lt_x2x3_encode(&e, buf, sizeof buf), LT_X2X3_E_BADHDR);
	e = p;
	e.has_src_v6 = 1;
	assert_int_equal(lt_x2x3_encode(&e, buf, sizeof buf), LT_X2X3_E_BADHDR);
	e = p;
	e.has_dst_v6 = 1;
	assert_int_equal(lt_x2x3_encode(&e, buf, sizeof buf), LT_X2X3_E_BADHDR);
	e = p;
	e.payload = NULL;
	assert_int_equal(lt_x2x3_encode(&e, buf, sizeof buf), LT_X2X3_E_BADHDR);
	e.payload_len = 0;
	assert_true(lt_x2x3_encode(&e, buf, sizeof buf) > 0);
	/* a 32-octet ipid without NUL in the first 32 bytes is encoded as 32 octets */
	e = p;
	memset(e.ipid, 'z', 32);
	e.ipid[32] = '\0';
	n = lt_x2x3_encode(&e, buf, sizeof buf);
	struct lt_x2x3_pdu q;
	assert_int_equal(lt_x2x3_parse(buf, (size_t)n, &q, NULL), 0);
	assert_string_equal(q.ipid, e.ipid);
}

static void test_uuid(void **state)
{
	uint8_t u[16], v[16];
	char s[37];
	assert_int_equal(lt_uuid_parse("12345678-9abc-4def-8123-456789abcdef", u), 0);
	assert_memory_equal(u, xid1, 16);
	lt_uuid_format(u, s);
	assert_string_equal(s, "12345678-9abc-4def-8123-456789abcdef");
	assert_int_equal(lt_uuid_parse("12345678-9ABC-4DEF-8123-456789ABCDEF", v), 0);
	assert_memory_equal(u, v, 16);
	memset(v, 0x5a, 16);
	static const char *const bad[] = {
	    "",
	    "12345678-9abc-4def-8123-456789abcde",
	    "12345678-9abc-4def-8123-456789abcdef0",
	    "123456789abc-4def-8123-456789abcdef0",
	    "12345678_9abc-4def-8123-456789abcdef",
	    "12345678-9abc-4def-8123-456789abcdeg",
	    "g2345678-9abc-4def-8123-456789abcdef",
	    "1234567-89abc-4def-8123-456789abcdef",
	    "12345678-9abc-4def-8123+456789abcdef",
	    " 2345678-9abc-4def-8123-456789abcdef",
	    "12345678-9abc-4def-8123-456789abcde ",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(lt_uuid_parse(bad[i], v), -1);
		assert_int_equal(v[0], 0x5a); /* out untouched */
	}
	assert_int_equal(lt_uuid_parse(NULL, v), -1);
	lt_uuid_random(u);
	lt_uuid_random(v);
	assert_memory_not_equal(u, v, 16);
	assert_int_equal(u[6] >> 4, 4);
	assert_int_equal(u[8] >> 6, 2);
	lt_uuid_format(u, s);
	assert_int_equal(lt_uuid_parse(s, v), 0);
	assert_memory_equal(u, v, 16);
}

static void test_wire(void **state)
{
	static const uint8_t b[] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
	struct lt_wire_rd r = lt_wire_rd_init(b, sizeof b);
	assert_int_equal(lt_wire_u8(&r), 1);
	assert_int_equal(lt_wire_u16(&r), 0x0203);
	assert_int_equal(lt_wire_u32(&r), 0x04050607);
	assert_int_equal(lt_wire_avail(&r), 2);
	assert_int_equal(lt_wire_u32(&r), 0); /* overrun: error, position kept */
	assert_int_equal(lt_wire_rd_err(&r), LT_WIRE_E_SHORT);
	assert_int_equal(lt_wire_rd_pos(&r), 7);
	assert_int_equal(lt_wire_u8(&r), 0); /* sticky */
	assert_int_equal(lt_wire_avail(&r), 0);
	r = lt_wire_rd_init(b, sizeof b);
	struct lt_wire_rd s = lt_wire_sub(&r, 8);
	assert_true(lt_wire_u64(&s) == 0x0102030405060708ull);
	struct lt_wire_rd s2 = lt_wire_sub(&r, 2);
	assert_int_equal(lt_wire_rd_err(&s2), LT_WIRE_E_SHORT);
	assert_int_equal(lt_wire_avail(&s2), 0);
	uint8_t o[3] = {9, 9, 9};
	r = lt_wire_rd_init(b, 2);
	lt_wire_read(&r, o, 3);
	assert_memory_equal(o, "\0\0\0", 3);

	uint8_t w8[7];
	struct lt_wire_wr w = lt_wire_wr_init(w8, sizeof w8);
	lt_wire_put_u16(&w, 0xa1b2);
	lt_wire_put_u32(&w, 0xc3d4e5f6);
	lt_wire_put_u16(&w, 0x1234); /* no room */
	assert_int_equal(lt_wire_wr_err(&w), LT_WIRE_E_SPACE);
	assert_int_equal(lt_wire_wr_pos(&w), 6);
	lt_wire_put_u8(&w, 1); /* sticky even though it would fit */
	assert_int_equal(lt_wire_wr_pos(&w), 6);
	assert_memory_equal(w8, "\xa1\xb2\xc3\xd4\xe5\xf6", 6);
	w = lt_wire_wr_init(w8, 8 - 1);
	lt_wire_put_u64(&w, 1);
	assert_int_equal(lt_wire_wr_err(&w), LT_WIRE_E_SPACE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip_v4),
	    cmocka_unit_test(test_roundtrip_v6_x2),
	    cmocka_unit_test(test_keepalive_golden),
	    cmocka_unit_test(test_frame),
	    cmocka_unit_test(test_frame_errors),
	    cmocka_unit_test(test_max_pdu),
	    cmocka_unit_test(test_parse_attr_lengths),
	    cmocka_unit_test(test_parse_attr_errors),
	    cmocka_unit_test(test_parse_skips_unknown),
	    cmocka_unit_test(test_epoch_attr),
	    cmocka_unit_test(test_parse_lengths),
	    cmocka_unit_test(test_encode_errors),
	    cmocka_unit_test(test_uuid),
	    cmocka_unit_test(test_wire),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

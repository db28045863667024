/* tests/unit/test_codec.c: the PS-PDU codec (mediation/codec/pspdu.h). Every kind is encoded,
 * decoded back and compared field by field; boundaries, bad arguments, short buffers, framing,
 * malformed input, and golden vectors (the .ber files in tests/golden/: the exact bytes, so an
 * asn1c that encodes differently is caught). LAWTAP_GOLDEN_UPDATE=1 rewrites the golden files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mediation/codec/pspdu.h"
#include "mediation/codec/pspdu_int.h"

static uint8_t out[MED_PSPDU_MAX];
static uint8_t pkt[65536];

static struct med_header base_hdr(void)
{
	struct med_header h;
	memset(&h, 0, sizeof h);
	memcpy(h.liid, "LIID-0001", 9);
	h.liid_len = 9;
	strcpy(h.auth_cc, "NL");
	strcpy(h.deliv_cc, "DE");
	strcpy(h.operator_id, "lawtap-op");
	strcpy(h.ne_id, "med1");
	h.has_cin = 1;
	h.cin = 1;
	h.seq = 42;
	h.ts_sec = 1795000000;
	h.ts_usec = 123456;
	h.ts_form = MED_TS_MICRO;
	h.ts_qual = MED_TSQ_INTERCEPTION;
	strcpy(h.ipid, "iap1");
	return h;
}

static size_t make_packet(size_t n, int v6)
{
	for (size_t i = 0; i < n; i++)
		pkt[i] = (uint8_t)(i * 31 + 7);
	pkt[0] = v6 ? 0x60 : 0x45;
	return n;
}

static void assert_hdr_equal(const struct med_header *a, const struct med_header *b)
{
	assert_int_equal(a->liid_len, b->liid_len);
	assert_memory_equal(a->liid, b->liid, a->liid_len);
	assert_string_equal(a->auth_cc, b->auth_cc);
	assert_string_equal(a->deliv_cc, b->deliv_cc);
	assert_string_equal(a->operator_id, b->operator_id);
	assert_string_equal(a->ne_id, b->ne_id);
	assert_int_equal(a->has_cin, b->has_cin);
	if (a->has_cin)
		assert_int_equal(a->cin, b->cin);
	assert_int_equal(a->seq, b->seq);
	assert_int_equal(a->ts_form, b->ts_form);
	assert_int_equal(a->ts_sec, b->ts_sec);
	assert_int_equal(a->ts_usec, b->ts_usec);
	assert_int_equal(a->ts_qual, b->ts_qual);
	assert_string_equal(a->ipid, b->ipid);
}

/* Decodes out[0..n) as one framed record; the record must be whole and valid. */
static void decode_ok(long n, struct med_record *r)
{
	char err[128] = "";
	size_t rl = 0;
	assert_true(n > 0);
	assert_int_equal(med_frame(out, (size_t)n, MED_PSPDU_MAX, &rl), 0);
	assert_int_equal(rl, (size_t)n);
	int rc = med_decode(out, (size_t)n, r, err, sizeof err);
	if (rc != 0)
		fail_msg("decode failed: %s", err);
}

/* ---- CC ---- */

static void test_cc_roundtrip(void **state)
{
	static const size_t sizes[] = {20, 127, 128, 255, 256, 1500, 65535};
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		for (int v6 = 0; v6 <= 1; v6++) {
			struct med_header h = base_hdr();
			h.seq = (uint32_t)(i * 2 + (size_t)v6);
			int dir = (int)((i + (size_t)v6) % 5);
			size_t n = make_packet(sizes[i], v6);
			long len = med_encode_cc(&h, dir, pkt, n, out, sizeof out);
			struct med_record r;
			decode_ok(len, &r);
			assert_int_equal(r.kind, MED_REC_CC);
			assert_hdr_equal(&h, &r.hdr);
			assert_int_equal(r.dir, dir);
			assert_int_equal(r.pkt_len, n);
			assert_memory_equal(r.pkt, pkt, n);
			med_record_clear(&r);
			assert_null(r.pkt);
		}
	}
}

static void test_cc_no_direction(void **state)
{
	struct med_header h = base_hdr();
	size_t n = make_packet(40, 0);
	long len = med_encode_cc(&h, MED_DIR_NONE, pkt, n, out, sizeof out);
	struct med_record r;
	decode_ok(len, &r);
	assert_int_equal(r.dir, MED_DIR_NONE);
	med_record_clear(&r);
}

/* ---- header variants ---- */

static void test_header_variants(void **state)
{
	static const int forms[] = {MED_TS_MICRO, MED_TS_GENERALIZED, MED_TS_BOTH};
	static const uint32_t usecs[] = {0, 1, 10, 120000, 999999};
	size_t n = make_packet(20, 0);
	for (int fi = 0; fi < 3; fi++) {
		for (size_t ui = 0; ui < sizeof usecs / sizeof usecs[0]; ui++) {
			for (int q = MED_TSQ_NONE; q <= MED_TSQ_MEDIATION; q++) {
				struct med_header h = base_hdr();
				h.ts_form = forms[fi];
				h.ts_usec = usecs[ui];
				h.ts_qual = q;
				long len =
				    med_encode_cc(&h, MED_DIR_TO_TARGET, pkt, n, out, sizeof out);
				struct med_record r;
				decode_ok(len, &r);
				assert_hdr_equal(&h, &r.hdr);
				med_record_clear(&r);
			}
		}
	}
	/* Optional fields absent; LIID 1 and 25 octets; counters at their bounds. */
	struct med_header h = base_hdr();
	h.auth_cc[0] = h.deliv_cc[0] = h.ne_id[0] = h.ipid[0] = '\0';
	h.liid_len = 1;
	h.liid[0] = 0;
	h.seq = 0;
	h.cin = 0;
	h.ts_sec = 0;
	long len = med_encode_cc(&h, MED_DIR_FROM_TARGET, pkt, n, out, sizeof out);
	struct med_record r;
	decode_ok(len, &r);
	assert_hdr_equal(&h, &r.hdr);
	med_record_clear(&r);

	h = base_hdr();
	h.liid_len = 25;
	memcpy(h.liid, "ABCDEFGHIJKLMNOPQRSTUVWXY", 25);
	h.seq = UINT32_MAX;
	h.cin = UINT32_MAX;
	strcpy(h.operator_id, "0123456789abcdef");
	strcpy(h.ne_id, "fedcba9876543210");
	strcpy(h.ipid, "ABCDEFGH");
	h.ts_form = MED_TS_BOTH;
	h.ts_sec = INT64_C(253402300799); /* 9999-12-31T23:59:59Z */
	len = med_encode_cc(&h, MED_DIR_FROM_TARGET, pkt, n, out, sizeof out);
	decode_ok(len, &r);
	assert_hdr_equal(&h, &r.hdr);
	med_record_clear(&r);
}

/* ---- IRI ---- */

static struct med_iri_event base_event(void)
{
	struct med_iri_event ev;
	memset(&ev, 0, sizeof ev);
	ev.event = MED_EV_START_OF_INTERCEPTION_SESSION_ACTIVE;
	strcpy(ev.username, "alice");
	ev.access_type = 4;
	ev.ip_version = 1;
	return ev;
}

static void check_event(const struct med_header *h, int type, const struct med_iri_event *ev)
{
	long len = med_encode_iri_event(h, type, ev, out, sizeof out);
	struct med_record r;
	decode_ok(len, &r);
	assert_int_equal(r.kind, MED_REC_IRI);
	assert_int_equal(r.iri_content, 1);
	assert_int_equal(r.iri_type, type);
	assert_int_equal(r.dir, MED_DIR_NONE);
	assert_hdr_equal(h, &r.hdr);
	assert_int_equal(r.ev.event, ev->event);
	assert_string_equal(r.ev.username, ev->username);
	assert_int_equal(r.ev.access_type, ev->access_type);
	assert_int_equal(r.ev.ip_version, ev->ip_version);
	assert_int_equal(r.ev.has_target_ip, ev->has_target_ip);
	if (ev->has_target_ip) {
		assert_int_equal(r.ev.target_ipver, ev->target_ipver);
		assert_memory_equal(r.ev.target_ip, ev->target_ip, ev->target_ipver == 6 ? 16 : 4);
		assert_int_equal(r.ev.target_prefix, ev->target_prefix);
	}
	med_record_clear(&r);
}

static void test_iri_event_roundtrip(void **state)
{
	struct med_header h = base_hdr();
	h.ts_qual = MED_TSQ_MEDIATION;
	struct med_iri_event ev = base_event();
	check_event(&h, MED_IRI_BEGIN, &ev); /* no target address */
	ev.has_target_ip = 1;
	ev.target_ipver = 4;
	memcpy(ev.target_ip, (uint8_t[]){10, 0, 0, 1}, 4);
	for (int p = 0; p <= 32; p += 8) { /* 0: no subnet mask */
		ev.target_prefix = p;
		check_event(&h, MED_IRI_BEGIN, &ev);
	}
	ev.target_prefix = 29;
	check_event(&h, MED_IRI_CONTINUE, &ev);
	ev.target_ipver = 6;
	ev.ip_version = 2;
	memcpy(ev.target_ip, (uint8_t[]){0x20, 0x01, 0x0d, 0xb8, [15] = 9}, 16);
	ev.target_prefix = 64;
	check_event(&h, MED_IRI_BEGIN, &ev);
	ev.target_prefix = 128;
	ev.event = MED_EV_END_OF_INTERCEPTION_SESSION_ACTIVE;
	check_event(&h, MED_IRI_END, &ev);
	ev.target_prefix = 1;
	memset(ev.username, 'u', sizeof ev.username - 1); /* 255 octets */
	ev.username[sizeof ev.username - 1] = '\0';
	ev.access_type = 9;
	ev.ip_version = 3;
	ev.event = 10;
	check_event(&h, MED_IRI_REPORT, &ev);
}

static void check_report(int dir, const struct med_header_facts *f)
{
	struct med_header h = base_hdr();
	long len = med_encode_iri_report(&h, dir, f, out, sizeof out);
	struct med_record r;
	decode_ok(len, &r);
	assert_int_equal(r.kind, MED_REC_IRI);
	assert_int_equal(r.iri_content, 2);
	assert_int_equal(r.iri_type, MED_IRI_REPORT);
	assert_int_equal(r.dir, dir);
	assert_hdr_equal(&h, &r.hdr);
	assert_int_equal(r.facts.ip_version, f->ip_version);
	size_t al = f->ip_version == 6 ? 16 : 4;
	assert_memory_equal(r.facts.src, f->src, al);
	assert_memory_equal(r.facts.dst, f->dst, al);
	assert_int_equal(r.facts.proto, f->proto);
	if (f->proto == 6 || f->proto == 17) {
		assert_int_equal(r.facts.sport, f->sport);
		assert_int_equal(r.facts.dport, f->dport);
	} else {
		assert_int_equal(r.facts.sport, 0);
		assert_int_equal(r.facts.dport, 0);
	}
	med_record_clear(&r);
}

static void test_iri_report_roundtrip(void **state)
{
	struct med_header_facts f;
	memset(&f, 0, sizeof f);
	f.ip_version = 4;
	memcpy(f.src, (uint8_t[]){10, 0, 0, 1}, 4);
	memcpy(f.dst, (uint8_t[]){192, 0, 2, 7}, 4);
	f.proto = 6;
	f.sport = 65535;
	f.dport = 0;
	check_report(MED_DIR_FROM_TARGET, &f);
	f.proto = 17;
	f.sport = 53;
	f.dport = 1;
	check_report(MED_DIR_TO_TARGET, &f);
	f.proto = 1;
	check_report(MED_DIR_INDETERMINATE, &f);
	f.ip_version = 6;
	memcpy(f.src, (uint8_t[]){0x20, 0x01, 0x0d, 0xb8, [15] = 1}, 16);
	memcpy(f.dst, (uint8_t[]){0xfe, 0x80, [14] = 0xab, [15] = 0xcd}, 16);
	f.proto = 17;
	check_report(MED_DIR_COMBINED, &f);
	f.proto = 58;
	check_report(MED_DIR_NA, &f);
	f.proto = 0;
	check_report(MED_DIR_NONE, &f);
	f.proto = 255;
	check_report(MED_DIR_TO_TARGET, &f);
}

/* ---- keep-alive ---- */

static void test_keepalive(void **state)
{
	static const uint8_t ka[] = {0xa2, 0x04, 0xa2, 0x02, 0x83, 0x00};
	static const uint8_t kr[] = {0xa2, 0x04, 0xa2, 0x02, 0x84, 0x00};
	struct med_header h = base_hdr();
	h.liid[0] = '-';
	h.liid_len = 1;
	h.cin = 0;
	h.seq = 7;
	strcpy(h.auth_cc, "--");
	strcpy(h.deliv_cc, "--");
	for (int resp = 0; resp <= 1; resp++) {
		long len = med_encode_keepalive(&h, resp, out, sizeof out);
		assert_true(len > 6);
		/* TS 102 232-1 keep-alive: the payload is the PDU's last six bytes. */
		assert_memory_equal(out + len - 6, resp ? kr : ka, 6);
		struct med_record r;
		decode_ok(len, &r);
		assert_int_equal(r.kind, resp ? MED_REC_KEEPALIVE_RESP : MED_REC_KEEPALIVE);
		assert_hdr_equal(&h, &r.hdr);
		med_record_clear(&r);
	}
	h.has_cin = 0; /* the CIN is optional on a keep-alive */
	long len = med_encode_keepalive(&h, 0, out, sizeof out);
	struct med_record r;
	decode_ok(len, &r);
	assert_int_equal(r.kind, MED_REC_KEEPALIVE);
	assert_int_equal(r.hdr.has_cin, 0);
	med_record_clear(&r);
}

/* ---- bad arguments, short buffers ---- */

static long enc_cc(const struct med_header *h)
{
	size_t n = make_packet(20, 0);
	return med_encode_cc(h, MED_DIR_TO_TARGET, pkt, n, out, sizeof out);
}

static void test_bad_header(void **state)
{
	struct med_header h;
#define BAD(stmt)                                                                                  \
	do {                                                                                       \
		h = base_hdr();                                                                    \
		stmt;                                                                              \
		assert_int_equal(enc_cc(&h), MED_E_ARG);                                           \
	} while (0)
	BAD(h.liid_len = 0);
	BAD(h.liid_len = 26);
	BAD(strcpy(h.auth_cc, "N"));
	BAD(memcpy(h.auth_cc, "NLD", 3));
	BAD(strcpy(h.deliv_cc, "N*"));
	BAD(h.operator_id[0] = '\0');
	BAD(memset(h.operator_id, 'o', sizeof h.operator_id));
	BAD(memset(h.ne_id, 'n', sizeof h.ne_id));
	BAD(memset(h.ipid, 'i', sizeof h.ipid));
	BAD(strcpy(h.ipid, "a_b"));
	BAD(h.has_cin = 0);
	BAD(h.ts_usec = 1000000);
	BAD(h.ts_sec = -1);
	BAD(h.ts_form = 0);
	BAD(h.ts_form = 4);
	BAD((h.ts_form = MED_TS_GENERALIZED, h.ts_sec = INT64_C(253402300800)));
	BAD(h.ts_qual = -2);
	BAD(h.ts_qual = 4);
#undef BAD
	assert_int_equal(med_encode_cc(NULL, 0, pkt, 20, out, sizeof out), MED_E_ARG);
	assert_int_equal(med_encode_keepalive(NULL, 0, out, sizeof out), MED_E_ARG);
}

static void test_bad_payload(void **state)
{
	struct med_header h = base_hdr();
	size_t n = make_packet(20, 0);
	assert_int_equal(med_encode_cc(&h, 0, NULL, 20, out, sizeof out), MED_E_ARG);
	assert_int_equal(med_encode_cc(&h, 0, pkt, 0, out, sizeof out), MED_E_ARG);
	assert_int_equal(med_encode_cc(&h, 0, pkt, 65536, out, sizeof out), MED_E_ARG);
	assert_int_equal(med_encode_cc(&h, 5, pkt, n, out, sizeof out), MED_E_ARG);
	assert_int_equal(med_encode_cc(&h, -2, pkt, n, out, sizeof out), MED_E_ARG);
	assert_int_equal(med_encode_cc(&h, 0, pkt, n, NULL, sizeof out), MED_E_ARG);
	pkt[0] = 0x50; /* not an IPv4/IPv6 header */
	assert_int_equal(med_encode_cc(&h, 0, pkt, n, out, sizeof out), MED_E_ARG);

	struct med_iri_event ev;
#define BADEV(type, stmt)                                                                          \
	do {                                                                                       \
		ev = base_event();                                                                 \
		ev.has_target_ip = 1;                                                              \
		ev.target_ipver = 4;                                                               \
		stmt;                                                                              \
		assert_int_equal(med_encode_iri_event(&h, type, &ev, out, sizeof out), MED_E_ARG); \
	} while (0)
	BADEV(0, (void)0);
	BADEV(5, (void)0);
	BADEV(1, ev.username[0] = '\0');
	BADEV(1, memset(ev.username, 'u', sizeof ev.username));
	BADEV(1, ev.event = -1);
	BADEV(1, ev.event = 11);
	BADEV(1, ev.access_type = 10);
	BADEV(1, ev.ip_version = 0);
	BADEV(1, ev.ip_version = 4);
	BADEV(1, ev.target_ipver = 5);
	BADEV(1, ev.target_prefix = 33);
	BADEV(1, ev.target_prefix = -1);
	BADEV(1, (ev.target_ipver = 6, ev.target_prefix = 0));
	BADEV(1, (ev.target_ipver = 6, ev.target_prefix = 129));
#undef BADEV
	assert_int_equal(med_encode_iri_event(&h, 1, NULL, out, sizeof out), MED_E_ARG);

	struct med_header_facts f;
	memset(&f, 0, sizeof f);
	f.ip_version = 5;
	assert_int_equal(med_encode_iri_report(&h, 0, &f, out, sizeof out), MED_E_ARG);
	f.ip_version = 4;
	f.proto = 256;
	assert_int_equal(med_encode_iri_report(&h, 0, &f, out, sizeof out), MED_E_ARG);
	f.proto = -1;
	assert_int_equal(med_encode_iri_report(&h, 0, &f, out, sizeof out), MED_E_ARG);
	f.proto = 6;
	assert_int_equal(med_encode_iri_report(&h, 9, &f, out, sizeof out), MED_E_ARG);
	assert_int_equal(med_encode_iri_report(&h, 0, NULL, out, sizeof out), MED_E_ARG);
}

static void test_small_buffer(void **state)
{
	struct med_header h = base_hdr();
	struct med_iri_event ev = base_event();
	struct med_header_facts f = {.ip_version = 6, .proto = 6, .sport = 1, .dport = 2};
	static uint8_t copy[MED_PSPDU_MAX];
	for (int kind = 0; kind < 4; kind++) {
		size_t n = make_packet(kind == 0 ? 65535 : 300, 0);
		long full = 0;
		for (int pass = 0; pass < 3; pass++) {
			size_t cap = pass == 0   ? sizeof out
			             : pass == 1 ? (size_t)full - 1
			                         : (size_t)full;
			if (pass == 1 && full > 2) /* also a tiny buffer */
				assert_int_equal(
				    kind == 0   ? med_encode_cc(&h, 1, pkt, n, out, 1)
				    : kind == 1 ? med_encode_iri_event(&h, 1, &ev, out, 0)
				    : kind == 2 ? med_encode_iri_report(&h, 1, &f, out, 2)
				                : med_encode_keepalive(&h, 0, out, 3),
				    MED_E_SPACE);
			long rc = kind == 0   ? med_encode_cc(&h, 1, pkt, n, out, cap)
			          : kind == 1 ? med_encode_iri_event(&h, 1, &ev, out, cap)
			          : kind == 2 ? med_encode_iri_report(&h, 1, &f, out, cap)
			                      : med_encode_keepalive(&h, 0, out, cap);
			if (pass == 0) {
				assert_true(rc > 0);
				full = rc;
				memcpy(copy, out, (size_t)rc);
			} else if (pass == 1) {
				assert_int_equal(rc, MED_E_SPACE);
			} else {
				assert_int_equal(rc, full);
				assert_memory_equal(out, copy, (size_t)full);
			}
		}
	}
}

/* ---- framing ---- */

static void test_frame(void **state)
{
	size_t rl = 99;
	uint8_t b[16] = {0x30, 0x03, 1, 2, 3, 0x30};
	assert_int_equal(med_frame(b, 0, 100, &rl), MED_E_SHORT);
	assert_int_equal(med_frame(b, 1, 100, &rl), MED_E_SHORT);
	assert_int_equal(med_frame(b, 2, 100, &rl), MED_E_SHORT);
	assert_int_equal(med_frame(b, 4, 100, &rl), MED_E_SHORT);
	assert_int_equal(rl, 99);
	assert_int_equal(med_frame(b, 5, 100, &rl), 0);
	assert_int_equal(rl, 5);
	assert_int_equal(med_frame(b, 6, 100, &rl), 0); /* a second record follows */
	assert_int_equal(rl, 5);
	assert_int_equal(med_frame(b, 5, 4, &rl), MED_E_BER); /* record of 5 > max 4 */
	assert_int_equal(med_frame(b, 5, 5, &rl), 0);
	/* Non-minimal long forms are valid BER. */
	uint8_t nm1[] = {0x30, 0x81, 0x01, 9};
	assert_int_equal(med_frame(nm1, sizeof nm1, 100, &rl), 0);
	assert_int_equal(rl, 4);
	uint8_t nm4[] = {0x30, 0x84, 0, 0, 0, 2, 9, 9};
	assert_int_equal(med_frame(nm4, sizeof nm4, 100, &rl), 0);
	assert_int_equal(rl, 8);
	assert_int_equal(med_frame(nm4, 5, 100, &rl), MED_E_SHORT); /* length incomplete */
	assert_int_equal(med_frame(nm4, 7, 100, &rl), MED_E_SHORT);
	uint8_t nm8[] = {0x30, 0x88, 0, 0, 0, 0, 0, 0, 0, 1, 9};
	assert_int_equal(med_frame(nm8, sizeof nm8, 100, &rl), 0);
	assert_int_equal(rl, 11);
	/* 0x82 0x00 0x96 (OpenLI style) for 150. */
	static uint8_t big[200] = {0x30, 0x82, 0x00, 0x96};
	assert_int_equal(med_frame(big, sizeof big, 1000, &rl), 0);
	assert_int_equal(rl, 154);
	/* Indefinite, reserved 0xff, wrong outer tag. */
	uint8_t ind[] = {0x30, 0x80, 0, 0};
	assert_int_equal(med_frame(ind, sizeof ind, 100, &rl), MED_E_BER);
	uint8_t res[] = {0x30, 0xff, 0, 0};
	assert_int_equal(med_frame(res, sizeof res, 100, &rl), MED_E_BER);
	uint8_t tag[] = {0x31, 0x01, 0};
	assert_int_equal(med_frame(tag, sizeof tag, 100, &rl), MED_E_BER);
	assert_int_equal(med_frame(tag, 1, 100, &rl), MED_E_BER);
	/* Oversized: refused as soon as the length octets show it, even incomplete. */
	uint8_t over[] = {0x30, 0x84, 0x7f, 0xff, 0xff, 0xff};
	assert_int_equal(med_frame(over, sizeof over, MED_PSPDU_MAX, &rl), MED_E_BER);
	assert_int_equal(med_frame(over, 3, MED_PSPDU_MAX, &rl), MED_E_BER);
	uint8_t over9[] = {0x30, 0x89, 1, 0, 0, 0, 0, 0, 0, 0, 0};
	assert_int_equal(med_frame(over9, sizeof over9, MED_PSPDU_MAX, &rl), MED_E_BER);
	uint8_t edge[] = {0x30, 0x82, 0x01, 0x00};
	assert_int_equal(med_frame(edge, sizeof edge, 259, &rl), MED_E_BER);
	assert_int_equal(med_frame(edge, sizeof edge, 260, &rl), MED_E_SHORT);
	assert_int_equal(med_frame(NULL, 0, 100, &rl), MED_E_SHORT);
	assert_int_equal(med_frame(b, 5, 100, NULL), MED_E_BER);
	assert_int_equal(med_frame(b, 5, 0, &rl), 0); /* max 0: MED_PSPDU_MAX */
}

/* A record re-encoded with non-minimal lengths (outer and inner) still decodes. */
static void test_decode_non_minimal(void **state)
{
	struct med_header h = base_hdr();
	size_t n = make_packet(100, 0);
	long len = med_encode_cc(&h, MED_DIR_TO_TARGET, pkt, n, out, sizeof out);
	assert_true(len > 2 && len < 0x80 + 200);
	/* outer 30 81 LL -> 30 84 00 00 00 LL */
	static uint8_t nm[MED_PSPDU_MAX];
	assert_int_equal(out[0], 0x30);
	size_t hl = out[1] < 0x80 ? 2 : 2 + (out[1] & 0x7f);
	size_t cl = (size_t)len - hl;
	nm[0] = 0x30;
	nm[1] = 0x84;
	nm[2] = 0;
	nm[3] = 0;
	nm[4] = (uint8_t)(cl >> 8);
	nm[5] = (uint8_t)cl;
	memcpy(nm + 6, out + hl, cl);
	size_t rl;
	assert_int_equal(med_frame(nm, 6 + cl, MED_PSPDU_MAX, &rl), 0);
	assert_int_equal(rl, 6 + cl);
	struct med_record r;
	char err[128] = "";
	assert_int_equal(med_decode(nm, rl, &r, err, sizeof err), 0);
	assert_int_equal(r.kind, MED_REC_CC);
	assert_hdr_equal(&h, &r.hdr);
	assert_memory_equal(r.pkt, pkt, n);
	med_record_clear(&r);
}

/* Replaces a keep-alive PDU's 6-byte payload (a2 04 a2 02 83 00) in out[0..len) with pl[n] and
 * fixes the outer length (short form: the header is small). Returns the new length. */
static size_t swap_payload(long len, const uint8_t *pl, size_t n)
{
	assert_true(len > 8 && out[1] < 0x80);
	memcpy(out + len - 6, pl, n);
	size_t total = (size_t)len - 6 + n;
	assert_true(total - 2 < 0x80);
	out[1] = (uint8_t)(total - 2);
	return total;
}

/* Valid BER that is not DER: indefinite and non-minimal inner lengths decode. */
static void test_decode_ber_forms(void **state)
{
	struct med_header h = base_hdr();
	struct med_record r;
	char err[128] = "";
	static const uint8_t indef[] = {0xa2, 0x80, 0xa2, 0x80, 0x83, 0x00, 0, 0, 0, 0};
	static const uint8_t longlen[] = {0xa2, 0x83, 0,    0,    0x06, 0xa2,
	                                  0x81, 0x03, 0x84, 0x81, 0x00};
	long len = med_encode_keepalive(&h, 0, out, sizeof out);
	size_t n = swap_payload(len, indef, sizeof indef);
	if (med_decode(out, n, &r, err, sizeof err) != 0)
		fail_msg("indefinite inner lengths: %s", err);
	assert_int_equal(r.kind, MED_REC_KEEPALIVE);
	assert_hdr_equal(&h, &r.hdr);
	med_record_clear(&r);
	len = med_encode_keepalive(&h, 0, out, sizeof out);
	n = swap_payload(len, longlen, sizeof longlen);
	if (med_decode(out, n, &r, err, sizeof err) != 0)
		fail_msg("non-minimal inner lengths: %s", err);
	assert_int_equal(r.kind, MED_REC_KEEPALIVE_RESP);
	med_record_clear(&r);
}

/* Structurally broken BER is refused before asn1c sees it (asn1c 0.9.28 loops forever on
 * "00 xx" where an indefinite CHOICE expects end-of-contents). */
static void test_decode_ber_structure(void **state)
{
	struct med_header h = base_hdr();
	struct med_record r;
	char err[128] = "";
	static const uint8_t bad[][12] = {
	    /* CHOICE wrapper, indefinite, member, then 00 04: the asn1c endless loop */
	    {10, 0xa2, 0x80, 0xa2, 0x02, 0x83, 0x00, 0x00, 0x04, 0x00, 0x00},
	    /* no end-of-contents */
	    {6, 0xa2, 0x80, 0xa2, 0x02, 0x83, 0x00},
	    /* indefinite length on a primitive */
	    {8, 0xa2, 0x06, 0xa2, 0x04, 0x83, 0x80, 0x00, 0x00},
	    /* inner length beyond its parent */
	    {6, 0xa2, 0x04, 0xa2, 0x03, 0x83, 0x00},
	    /* misplaced end-of-contents */
	    {8, 0xa2, 0x06, 0xa2, 0x04, 0x00, 0x00, 0x83, 0x00},
	    /* reserved length octet, over-long length */
	    {6, 0xa2, 0x04, 0xa2, 0x02, 0x83, 0xff},
	    {8, 0xa2, 0x06, 0xa2, 0x04, 0x83, 0x89, 0x00, 0x00},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		long len = med_encode_keepalive(&h, 0, out, sizeof out);
		size_t n = swap_payload(len, bad[i] + 1, bad[i][0]);
		err[0] = '\0';
		assert_int_equal(med_decode(out, n, &r, err, sizeof err), MED_E_DECODE);
		assert_true(err[0] != '\0');
		med_record_clear(&r);
	}
	/* Nesting deeper than any PS-PDU: 200 levels of indefinite constructed TLVs. */
	static uint8_t deep[2 + 400 + 400 + 2];
	size_t p = 0;
	deep[p++] = 0x30;
	deep[p++] = 0x80;
	for (int i = 0; i < 200; i++) {
		deep[p++] = 0xa5;
		deep[p++] = 0x80;
	}
	for (int i = 0; i < 201; i++) {
		deep[p++] = 0;
		deep[p++] = 0;
	}
	assert_int_equal(med_decode(deep, p, &r, err, sizeof err), MED_E_DECODE);
	med_record_clear(&r);
}

/* ---- malformed input ---- */

static void test_decode_bad(void **state)
{
	struct med_header h = base_hdr();
	struct med_record r;
	char err[128];
	struct med_iri_event ev = base_event();
	ev.has_target_ip = 1;
	ev.target_ipver = 6;
	ev.target_prefix = 48;
	long len = med_encode_iri_event(&h, MED_IRI_BEGIN, &ev, out, sizeof out);
	assert_true(len > 0);
	/* Every truncation fails cleanly (and leaks nothing: see the sanitizer build). */
	for (long i = 0; i < len; i++) {
		err[0] = '\0';
		assert_int_equal(med_decode(out, (size_t)i, &r, err, sizeof err), MED_E_DECODE);
		assert_true(err[0] != '\0');
		med_record_clear(&r);
	}
	/* Trailing garbage after a whole record. */
	out[len] = 0;
	assert_int_equal(med_decode(out, (size_t)len + 1, &r, err, sizeof err), MED_E_DECODE);
	med_record_clear(&r);
	/* Every single-byte corruption either fails or decodes; never crashes or leaks. */
	static uint8_t mut[512];
	assert_true((size_t)len <= sizeof mut);
	for (long i = 0; i < len; i++) {
		for (int x = 1; x < 256; x <<= 1) {
			memcpy(mut, out, (size_t)len);
			mut[i] ^= (uint8_t)x;
			(void)med_decode(mut, (size_t)len, &r, NULL, 0);
			med_record_clear(&r);
		}
	}
	assert_int_equal(med_decode(NULL, 0, &r, err, sizeof err), MED_E_DECODE);
	med_record_clear(&r);
	assert_int_equal(med_decode(out, (size_t)len, NULL, err, sizeof err), MED_E_DECODE);
	med_record_clear(NULL);
}

/* Payload alternatives outside lawtap's profile decode as MED_REC_OTHER. */
static void test_decode_other(void **state)
{
	struct med_header h = base_hdr();
	struct med_record r;
	char err[128] = "";
	long len = med_encode_keepalive(&h, 0, out, sizeof out);
	assert_true(len > 6);
	static const uint8_t tags[] = {0x81, 0x86, 0x87, 0x8b, 0x8c, 0x8d, 0x9e};
	for (size_t i = 0; i < sizeof tags; i++) {
		out[len - 2] = tags[i]; /* testPDU, lastSegmentFlag, cINReset, ..., unknown [30] */
		if (med_decode(out, (size_t)len, &r, err, sizeof err) != 0)
			fail_msg("TRIPayload tag %02x: %s", tags[i], err);
		assert_int_equal(r.kind, MED_REC_OTHER);
		med_record_clear(&r);
	}
	/* Payload [5] (an extension outside the profile) */
	out[len - 2] = 0x83;
	out[len - 4] = 0xa5;
	assert_int_equal(med_decode(out, (size_t)len, &r, err, sizeof err), 0);
	assert_int_equal(r.kind, MED_REC_OTHER);
	med_record_clear(&r);
}

/* ---- TRI: option negotiation and PDU acknowledgement ---- */

static struct med_header tri_hdr(uint32_t seq)
{
	struct med_header h = base_hdr();
	h.liid[0] = '-';
	h.liid_len = 1;
	h.cin = 0;
	h.seq = seq;
	h.ts_qual = MED_TSQ_NONE;
	h.ipid[0] = '\0';
	return h;
}

static struct med_option_list opts(size_t n)
{
	struct med_option_list l;
	memset(&l, 0, sizeof l);
	l.n = n;
	for (size_t i = 0; i < n && i < MED_OPT_MAX; i++)
		l.opt[i] = MED_OPT_PDU_ACK;
	return l;
}

/* Decodes out[0..len) with med_decode_tri (and med_decode, which reports MED_REC_OTHER). */
static void decode_tri_ok(long len, int want, const struct med_header *h, struct med_tri_pdu *p)
{
	char err[160] = "";
	struct med_record r;
	assert_true(len > 0);
	if (med_decode_tri(out, (size_t)len, p, err, sizeof err) != 0)
		fail_msg("med_decode_tri: %s", err);
	assert_int_equal(p->tri, want);
	assert_hdr_equal(h, &p->hdr);
	decode_ok(len, &r);
	assert_int_equal(r.kind, want == MED_TRI_KEEPALIVE        ? MED_REC_KEEPALIVE
	                         : want == MED_TRI_KEEPALIVE_RESP ? MED_REC_KEEPALIVE_RESP
	                                                          : MED_REC_OTHER);
	assert_hdr_equal(h, &r.hdr);
	med_record_clear(&r);
}

/* Every TRI PDU of the negotiation: the payload bytes derived by hand from X.690 (payload [2]
 * and TRIPayload are CHOICEs, so explicitly tagged; the rest IMPLICIT), then the decode. */
static void test_tri_roundtrip(void **state)
{
	struct med_header h = tri_hdr(5);
	struct med_tri_pdu p;
	struct med_option_list one = opts(1), none = opts(0);
	static const uint8_t req[] = {0xa2, 0x08, 0xa2, 0x06, 0xa9, 0x04, 0xa0, 0x02, 0x80, 0x00};
	static const uint8_t req0[] = {0xa2, 0x06, 0xa2, 0x04, 0xa9, 0x02, 0xa0, 0x00};
	static const uint8_t acc[] = {0xa2, 0x0a, 0xa2, 0x08, 0xaa, 0x06,
	                              0xa0, 0x02, 0x80, 0x00, 0xa1, 0x00};
	static const uint8_t dec[] = {0xa2, 0x0a, 0xa2, 0x08, 0xaa, 0x06,
	                              0xa0, 0x00, 0xa1, 0x02, 0x80, 0x00};

	long len = med_encode_option_request(&h, &one, out, sizeof out);
	assert_true(len > (long)sizeof req);
	assert_memory_equal(out + len - sizeof req, req, sizeof req);
	decode_tri_ok(len, MED_TRI_OPTION_REQUEST, &h, &p);
	assert_int_equal(p.requested.n, 1);
	assert_int_equal(p.requested.opt[0], MED_OPT_PDU_ACK);
	assert_int_equal(p.requested.unknown, 0);
	assert_int_equal(p.accepted.n + p.declined.n, 0);
	assert_true(med_option_has(&p.requested, MED_OPT_PDU_ACK));
	assert_false(med_option_has(&p.accepted, MED_OPT_PDU_ACK));
	assert_false(med_option_has(NULL, MED_OPT_PDU_ACK));

	len = med_encode_option_request(&h, &none, out, sizeof out);
	assert_memory_equal(out + len - sizeof req0, req0, sizeof req0);
	decode_tri_ok(len, MED_TRI_OPTION_REQUEST, &h, &p);
	assert_int_equal(p.requested.n, 0);

	struct med_option_list full = opts(MED_OPT_MAX);
	len = med_encode_option_request(&h, &full, out, sizeof out);
	decode_tri_ok(len, MED_TRI_OPTION_REQUEST, &h, &p);
	assert_int_equal(p.requested.n, MED_OPT_MAX);

	h.seq = 0;
	len = med_encode_option_response(&h, &one, &none, out, sizeof out);
	assert_memory_equal(out + len - sizeof acc, acc, sizeof acc);
	decode_tri_ok(len, MED_TRI_OPTION_RESPONSE, &h, &p);
	assert_int_equal(p.accepted.n, 1);
	assert_int_equal(p.declined.n, 0);
	assert_true(med_option_has(&p.accepted, MED_OPT_PDU_ACK));

	len = med_encode_option_response(&h, &none, &one, out, sizeof out);
	assert_memory_equal(out + len - sizeof dec, dec, sizeof dec);
	decode_tri_ok(len, MED_TRI_OPTION_RESPONSE, &h, &p);
	assert_int_equal(p.accepted.n, 0);
	assert_int_equal(p.declined.n, 1);

	/* The NULL-valued ones: optionComplete [11], pDUAcknowledgement* [12]/[13], keep-alives. */
	static const struct {
		int tri;
		uint8_t tag;
	} nulls[] = {{MED_TRI_OPTION_COMPLETE, 0x8b},
	             {MED_TRI_PDU_ACK_REQUEST, 0x8c},
	             {MED_TRI_PDU_ACK_RESPONSE, 0x8d},
	             {MED_TRI_KEEPALIVE, 0x83},
	             {MED_TRI_KEEPALIVE_RESP, 0x84}};
	static uint8_t ka[MED_PSPDU_MAX];
	for (size_t i = 0; i < sizeof nulls / sizeof nulls[0]; i++) {
		h.seq = (uint32_t)i + 1;
		h.has_cin = i % 2; /* optional on TRI PDUs, as on keep-alives */
		len = med_encode_tri(&h, nulls[i].tri, out, sizeof out);
		uint8_t want[6] = {0xa2, 0x04, 0xa2, 0x02, nulls[i].tag, 0x00};
		assert_true(len > 6);
		assert_memory_equal(out + len - 6, want, 6);
		decode_tri_ok(len, nulls[i].tri, &h, &p);
		assert_int_equal(p.requested.n + p.accepted.n + p.declined.n, 0);
		if (nulls[i].tri == MED_TRI_KEEPALIVE || nulls[i].tri == MED_TRI_KEEPALIVE_RESP) {
			memcpy(ka, out, (size_t)len);
			long kl = med_encode_keepalive(&h, nulls[i].tri == MED_TRI_KEEPALIVE_RESP,
			                               out, sizeof out);
			assert_int_equal(kl, len);
			assert_memory_equal(out, ka, (size_t)len);
		}
	}
}

static void test_tri_bad_args(void **state)
{
	struct med_header h = tri_hdr(0);
	struct med_option_list one = opts(1), none = opts(0), big = opts(MED_OPT_MAX + 1);
	struct med_option_list unk = opts(1), odd = opts(1);
	unk.unknown = 1;
	odd.opt[0] = 5;
	assert_int_equal(med_encode_option_request(&h, NULL, out, sizeof out), MED_E_ARG);
	assert_int_equal(med_encode_option_request(&h, &one, NULL, sizeof out), MED_E_ARG);
	assert_int_equal(med_encode_option_request(NULL, &one, out, sizeof out), MED_E_ARG);
	assert_int_equal(med_encode_option_request(&h, &big, out, sizeof out), MED_E_ARG);
	assert_int_equal(med_encode_option_request(&h, &unk, out, sizeof out), MED_E_ARG);
	assert_int_equal(med_encode_option_request(&h, &odd, out, sizeof out), MED_E_ARG);
	assert_int_equal(med_encode_option_response(&h, &one, NULL, out, sizeof out), MED_E_ARG);
	assert_int_equal(med_encode_option_response(&h, NULL, &none, out, sizeof out), MED_E_ARG);
	assert_int_equal(med_encode_option_response(&h, &one, &odd, out, sizeof out), MED_E_ARG);
	assert_int_equal(med_encode_option_response(&h, &big, &none, out, sizeof out), MED_E_ARG);
	assert_int_equal(med_encode_option_response(&h, &one, &none, NULL, sizeof out), MED_E_ARG);
	static const int bad[] = {MED_TRI_NONE,
	                          MED_TRI_TEST,
	                          MED_TRI_PADDING,
	                          MED_TRI_CIN_RESET,
	                          MED_TRI_OTHER,
	                          MED_TRI_OPTION_REQUEST,
	                          MED_TRI_OPTION_RESPONSE,
	                          0,
	                          8,
	                          14};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(med_encode_tri(&h, bad[i], out, sizeof out), MED_E_ARG);
	assert_int_equal(med_encode_tri(&h, MED_TRI_OPTION_COMPLETE, NULL, 100), MED_E_ARG);
	assert_int_equal(med_encode_tri(NULL, MED_TRI_OPTION_COMPLETE, out, sizeof out), MED_E_ARG);
	h.liid_len = 0;
	assert_int_equal(med_encode_tri(&h, MED_TRI_PDU_ACK_REQUEST, out, sizeof out), MED_E_ARG);
	assert_int_equal(med_encode_option_request(&h, &one, out, sizeof out), MED_E_ARG);
	assert_int_equal(med_encode_option_response(&h, &one, &none, out, sizeof out), MED_E_ARG);
	h = tri_hdr(0);
	/* Short buffers: MED_E_SPACE, and the exact size works. */
	long full = med_encode_option_response(&h, &one, &one, out, sizeof out);
	assert_true(full > 0);
	assert_int_equal(med_encode_option_response(&h, &one, &one, out, (size_t)full - 1),
	                 MED_E_SPACE);
	assert_int_equal(med_encode_option_response(&h, &one, &one, out, (size_t)full), full);
	full = med_encode_tri(&h, MED_TRI_OPTION_COMPLETE, out, sizeof out);
	assert_int_equal(med_encode_tri(&h, MED_TRI_OPTION_COMPLETE, out, 3), MED_E_SPACE);
	full = med_encode_option_request(&h, &one, out, sizeof out);
	assert_int_equal(med_encode_option_request(&h, &one, out, (size_t)full - 1), MED_E_SPACE);
}

static void test_tri_decode(void **state)
{
	struct med_header h = tri_hdr(9);
	struct med_tri_pdu p;
	char err[160] = "";

	/* A CC record: no TRI payload, header read. */
	h.has_cin = 1;
	h.cin = 3;
	size_t n = make_packet(40, 0);
	long len = med_encode_cc(&h, MED_DIR_TO_TARGET, pkt, n, out, sizeof out);
	assert_int_equal(med_decode_tri(out, (size_t)len, &p, err, sizeof err), 0);
	assert_int_equal(p.tri, MED_TRI_NONE);
	assert_hdr_equal(&h, &p.hdr);

	/* Other TRIPayload alternatives, by patching a keep-alive's tag. */
	h = tri_hdr(9);
	len = med_encode_tri(&h, MED_TRI_KEEPALIVE, out, sizeof out);
	static const struct {
		uint8_t tag;
		int tri;
	} alt[] = {{0x81, MED_TRI_TEST},          {0x82, MED_TRI_PADDING},
	           {0x85, MED_TRI_FIRST_SEGMENT}, {0x86, MED_TRI_LAST_SEGMENT},
	           {0x87, MED_TRI_CIN_RESET},     {0x88, MED_TRI_OTHER},
	           {0x9e, MED_TRI_OTHER}};
	for (size_t i = 0; i < sizeof alt / sizeof alt[0]; i++) {
		out[len - 2] = alt[i].tag;
		if (med_decode_tri(out, (size_t)len, &p, err, sizeof err) != 0)
			fail_msg("tag %02x: %s", alt[i].tag, err);
		assert_int_equal(p.tri, alt[i].tri);
		assert_int_equal(p.hdr.seq, 9);
	}

	/* More options than lawtap reads: refused with a reason; the output is cleared. */
	struct med_option_list full = opts(MED_OPT_MAX);
	len = med_encode_option_request(&h, &full, out, sizeof out);
	/* Grow the list by one entry: every enclosing short length + 2, then "80 00". */
	static uint8_t big[512];
	memcpy(big, out, (size_t)len);
	big[len] = 0x80;
	big[len + 1] = 0x00;
	size_t lo = (size_t)len - 2 * MED_OPT_MAX; /* just after a0 LL */
	assert_int_equal(big[lo - 2], 0xa0);
	assert_int_equal(big[lo - 4], 0xa9);
	assert_int_equal(big[lo - 6], 0xa2);
	assert_int_equal(big[lo - 8], 0xa2);
	for (int k = 1; k <= 4; k++)
		big[lo - 2 * k + 1] = (uint8_t)(big[lo - 2 * k + 1] + 2);
	assert_true(big[1] < 0x7e);
	big[1] = (uint8_t)(big[1] + 2);
	assert_int_equal(med_decode_tri(big, (size_t)len + 2, &p, err, sizeof err), MED_E_DECODE);
	assert_non_null(strstr(err, "requestedOptions holds 17 options"));
	assert_int_equal(p.tri, MED_TRI_NONE);
	assert_int_equal(p.requested.n, 0);
	/* The same in a response (declinedOptions). */
	struct med_option_list none = opts(0);
	len = med_encode_option_response(&h, &none, &full, out, sizeof out);
	memcpy(big, out, (size_t)len);
	big[len] = 0x80;
	big[len + 1] = 0x00;
	lo = (size_t)len - 2 * MED_OPT_MAX;
	assert_int_equal(big[lo - 2], 0xa1);
	assert_int_equal(big[lo - 4], 0xa0);
	assert_int_equal(big[lo - 6], 0xaa);
	big[lo - 1] = (uint8_t)(big[lo - 1] + 2);
	big[lo - 5] = (uint8_t)(big[lo - 5] + 2);
	big[lo - 7] = (uint8_t)(big[lo - 7] + 2);
	big[lo - 9] = (uint8_t)(big[lo - 9] + 2);
	big[1] = (uint8_t)(big[1] + 2);
	assert_int_equal(med_decode_tri(big, (size_t)len + 2, &p, err, sizeof err), MED_E_DECODE);
	assert_non_null(strstr(err, "declinedOptions holds 17"));

	/* Malformed input: truncated, trailing bytes, empty, NULL. */
	len = med_encode_tri(&h, MED_TRI_PDU_ACK_REQUEST, out, sizeof out);
	assert_int_equal(med_decode_tri(out, (size_t)len - 1, &p, err, sizeof err), MED_E_DECODE);
	assert_int_equal(p.tri, MED_TRI_NONE);
	out[len] = 0;
	assert_int_equal(med_decode_tri(out, (size_t)len + 1, &p, err, sizeof err), MED_E_DECODE);
	assert_int_equal(med_decode_tri(out, 0, &p, err, sizeof err), MED_E_DECODE);
	assert_int_equal(med_decode_tri(NULL, 10, &p, NULL, 0), MED_E_DECODE);
	assert_int_equal(med_decode_tri(out, (size_t)len, NULL, err, sizeof err), MED_E_DECODE);
	/* An Option that is not NULL-valued where the profile says NULL: refused by asn1c. */
	struct med_option_list one = opts(1);
	len = med_encode_option_request(&h, &one, out, sizeof out);
	out[len - 2] = 0xa0; /* [0] constructed: not a NULL */
	assert_int_equal(med_decode_tri(out, (size_t)len, &p, err, sizeof err), MED_E_DECODE);
}

/* ---- GeneralizedTime ---- */

static void test_generalized_time(void **state)
{
	uint8_t b[24];
	int64_t s;
	uint32_t us;
	int n = med_gt_format(1795000000, 120000, b);
	assert_int_equal(n, 18);
	assert_memory_equal(b, "20261118110640.12Z", 18);
	n = med_gt_format(0, 0, b);
	assert_memory_equal(b, "19700101000000Z", 15);
	assert_int_equal(n, 15);
	n = med_gt_format(INT64_C(951782400), 1, b); /* 2000-02-29 */
	assert_memory_equal(b, "20000229000000.000001Z", 22);
	assert_int_equal(med_gt_format(INT64_C(253402300800), 0, b), -1);
	assert_int_equal(med_gt_format(-1, 0, b), -1);
#define GT(str, esec, eus)                                                                         \
	do {                                                                                       \
		assert_int_equal(med_gt_parse((const uint8_t *)str, strlen(str), &s, &us), 0);     \
		assert_int_equal(s, esec);                                                         \
		assert_int_equal(us, eus);                                                         \
	} while (0)
#define GTBAD(str) assert_int_equal(med_gt_parse((const uint8_t *)str, strlen(str), &s, &us), -1)
	GT("20261118110640.12Z", 1795000000, 120000);
	GT("20261118110640,1234567Z", 1795000000, 123456);
	GT("20261118110640Z", 1795000000, 0);
	GT("20261118110640", 1795000000, 0);
	GT("20261118120640+0100", 1795000000, 0);
	GT("20261118100640-01", 1795000000, 0);
	GT("2026111811Z", 1794999600, 0);
	GT("202611181106Z", 1794999960, 0);
	GTBAD("2026111609.5Z");
	GTBAD("20261116092640.Z");
	GTBAD("20261316092640Z");
	GTBAD("20261116252640Z");
	GTBAD("20261116092640ZZ");
	GTBAD("2026111");
	GTBAD("20261116092640+2500");
	GTBAD("19691231235959Z");
#undef GT
#undef GTBAD
}

/* ---- golden vectors ---- */

static const char *golden_dir(char *buf, size_t len)
{
	const char *src = getenv("LAWTAP_SOURCE_DIR");
	if (src) {
		snprintf(buf, len, "%s/tests/golden", src);
	} else { /* run by hand: beside this source file */
		const char *slash = strrchr(__FILE__, '/');
		int dl = slash ? (int)(slash - __FILE__) : 1;
		snprintf(buf, len, "%.*s/../golden", dl, slash ? __FILE__ : ".");
	}
	return buf;
}

static void golden(const char *name, long len)
{
	char dir[1024], path[1200];
	snprintf(path, sizeof path, "%s/%s", golden_dir(dir, sizeof dir), name);
	assert_true(len > 0);
	const char *upd = getenv("LAWTAP_GOLDEN_UPDATE");
	if (upd && *upd == '1') {
		FILE *f = fopen(path, "wb");
		assert_non_null(f);
		assert_int_equal(fwrite(out, 1, (size_t)len, f), (size_t)len);
		assert_int_equal(fclose(f), 0);
		return;
	}
	static uint8_t want[MED_PSPDU_MAX];
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("golden vector %s missing", path);
	size_t n = fread(want, 1, sizeof want, f);
	fclose(f);
	if (n != (size_t)len || memcmp(want, out, n) != 0)
		fail_msg("%s: encoding differs from the golden vector (%ld bytes, golden %zu)",
		         name, len, n);
}

static void test_golden(void **state)
{
	struct med_header h = base_hdr();
	h.seq = 0;
	size_t n = make_packet(60, 0);
	golden("pspdu_cc_v4.ber", med_encode_cc(&h, MED_DIR_TO_TARGET, pkt, n, out, sizeof out));
	h.ts_form = MED_TS_BOTH;
	h.seq = 1;
	n = make_packet(200, 1);
	golden("pspdu_cc_v6.ber", med_encode_cc(&h, MED_DIR_FROM_TARGET, pkt, n, out, sizeof out));

	h = base_hdr();
	h.seq = 0;
	h.ts_qual = MED_TSQ_MEDIATION;
	struct med_iri_event ev = base_event();
	ev.has_target_ip = 1;
	ev.target_ipver = 4;
	memcpy(ev.target_ip, (uint8_t[]){10, 0, 0, 1}, 4);
	ev.target_prefix = 32;
	golden("pspdu_iri_begin_v4.ber",
	       med_encode_iri_event(&h, MED_IRI_BEGIN, &ev, out, sizeof out));
	ev.event = MED_EV_END_OF_INTERCEPTION_SESSION_ACTIVE;
	ev.target_ipver = 6;
	ev.ip_version = 2;
	memcpy(ev.target_ip, (uint8_t[]){0x20, 0x01, 0x0d, 0xb8, [15] = 1}, 16);
	ev.target_prefix = 64;
	h.seq = 1;
	h.ts_form = MED_TS_GENERALIZED;
	golden("pspdu_iri_end_v6.ber", med_encode_iri_event(&h, MED_IRI_END, &ev, out, sizeof out));

	h = base_hdr();
	h.seq = 2;
	struct med_header_facts f = {.ip_version = 4, .proto = 6, .sport = 40000, .dport = 443};
	memcpy(f.src, (uint8_t[]){10, 0, 0, 1}, 4);
	memcpy(f.dst, (uint8_t[]){192, 0, 2, 80}, 4);
	golden("pspdu_iri_report_tcp4.ber",
	       med_encode_iri_report(&h, MED_DIR_FROM_TARGET, &f, out, sizeof out));
	f.ip_version = 6;
	f.proto = 17;
	memcpy(f.src, (uint8_t[]){0x20, 0x01, 0x0d, 0xb8, [15] = 2}, 16);
	memcpy(f.dst, (uint8_t[]){0x20, 0x01, 0x0d, 0xb8, [15] = 3}, 16);
	golden("pspdu_iri_report_udp6.ber",
	       med_encode_iri_report(&h, MED_DIR_TO_TARGET, &f, out, sizeof out));

	h = base_hdr();
	h.liid[0] = '-';
	h.liid_len = 1;
	h.cin = 0;
	h.seq = 0;
	h.ts_qual = MED_TSQ_NONE;
	h.ipid[0] = '\0';
	golden("pspdu_keepalive.ber", med_encode_keepalive(&h, 0, out, sizeof out));
	golden("pspdu_keepalive_resp.ber", med_encode_keepalive(&h, 1, out, sizeof out));

	/* The PDU acknowledgement negotiation (docs/pdu-ack.md), TRI numbering per connection. */
	struct med_option_list one = opts(1), none = opts(0);
	golden("pspdu_option_request.ber", med_encode_option_request(&h, &one, out, sizeof out));
	golden("pspdu_option_response_accept.ber",
	       med_encode_option_response(&h, &one, &none, out, sizeof out));
	golden("pspdu_option_response_decline.ber",
	       med_encode_option_response(&h, &none, &one, out, sizeof out));
	h.seq = 1;
	golden("pspdu_option_complete.ber",
	       med_encode_tri(&h, MED_TRI_OPTION_COMPLETE, out, sizeof out));
	h.seq = 2;
	golden("pspdu_pdu_ack_request.ber",
	       med_encode_tri(&h, MED_TRI_PDU_ACK_REQUEST, out, sizeof out));
	golden("pspdu_pdu_ack_response.ber",
	       med_encode_tri(&h, MED_TRI_PDU_ACK_RESPONSE, out, sizeof out));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cc_roundtrip),         cmocka_unit_test(test_cc_no_direction),
	    cmocka_unit_test(test_header_variants),      cmocka_unit_test(test_iri_event_roundtrip),
	    cmocka_unit_test(test_iri_report_roundtrip), cmocka_unit_test(test_keepalive),
	    cmocka_unit_test(test_bad_header),           cmocka_unit_test(test_bad_payload),
	    cmocka_unit_test(test_small_buffer),         cmocka_unit_test(test_frame),
	    cmocka_unit_test(test_decode_non_minimal),   cmocka_unit_test(test_decode_ber_forms),
	    cmocka_unit_test(test_decode_ber_structure), cmocka_unit_test(test_decode_bad),
	    cmocka_unit_test(test_decode_other),         cmocka_unit_test(test_tri_roundtrip),
	    cmocka_unit_test(test_tri_bad_args),         cmocka_unit_test(test_tri_decode),
	    cmocka_unit_test(test_generalized_time),     cmocka_unit_test(test_golden),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

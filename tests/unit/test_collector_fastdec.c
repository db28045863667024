/* tests/unit/test_collector_fastdec.c: the collector's fast decoder (handover/collector/fastdec.c)
 * against the asn1c decoder (med_decode). Every record it accepts must be one med_decode
 * accepts, with the same field values; the records lawtap's encoders make in its profile (CC
 * with IPCC iPPackets, keep-alives) must take the fast path; anything else must be left to
 * med_decode. Seeded random records (LAWTAP_SEED=<n> picks another seed; the seed is printed
 * on a failure) of every size class, IPv4/IPv6, with and without each optional field, each
 * time form and qualifier, each direction; then mutated, truncated and extended bytes, and BER
 * forms lawtap does not send (non-minimal lengths and integers), which must fall back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "handover/collector/collector.h"
#include "mediation/codec/pspdu.h"
#include "mediation/codec/pspdu_fast.h"

static uint8_t rec[MED_PSPDU_MAX + 64], mut[MED_PSPDU_MAX + 64];
static uint8_t pkt[65536 + 16];
static uint64_t rng_state, seed;
static unsigned long n_fast, n_fallback, n_mutated, n_mut_fast;

static uint64_t rnd(void)
{
	/* xorshift64*: reproducible across libcs. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * UINT64_C(2685821657736338717);
}

static uint64_t below(uint64_t n)
{
	return rnd() % n;
}

static const uint64_t u32_edges[] = {0,           1,           126,         127,        128,
                                     255,         256,         32767,       32768,      65535,
                                     65536,       8388607,     8388608,     16777215,   16777216,
                                     2147483647u, 2147483648u, 4294967294u, 4294967295u};
static const uint64_t sec_edges[] = {0,          1,          127,         128,        255,
                                     256,        32767,      32768,       8388607,    8388608,
                                     2147483647, 2147483648, 4294967295,  4294967296, 1795000000,
                                     951782400,  68169600,   253402300799};
static const uint64_t usec_edges[] = {0,      1,      9,      10,     100,   127,   128,
                                      255,    256,    32767,  32768,  65535, 65536, 100000,
                                      120000, 999999, 999990, 500000, 1000,  123456};
static const uint64_t len_edges[] = {1,     20,    40,    100,   120,   121,   122,  123,  124,
                                     125,   126,   127,   128,   129,   130,   240,  245,  250,
                                     252,   253,   254,   255,   256,   257,   576,  1500, 9000,
                                     65500, 65520, 65526, 65530, 65533, 65534, 65535};
#define PICK(a) (a[below(sizeof a / sizeof a[0])])

static void rand_print(char *s, size_t n)
{
	static const char pr[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 '()+,-./:=?";
	for (size_t i = 0; i < n; i++)
		s[i] = pr[below(sizeof pr - 1)];
	s[n] = '\0';
}

static void rand_octets(char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		s[i] = (char)(1 + below(255));
	s[n] = '\0';
}

static struct med_header rand_header(void)
{
	struct med_header h;
	memset(&h, 0, sizeof h);
	h.liid_len = 1 + below(MED_LIID_MAX);
	for (size_t i = 0; i < h.liid_len; i++)
		h.liid[i] = (uint8_t)rnd();
	if (below(3))
		rand_print(h.auth_cc, 2);
	if (below(3))
		rand_print(h.deliv_cc, 2);
	rand_octets(h.operator_id, 1 + below(MED_OPID_MAX));
	if (below(2))
		rand_octets(h.ne_id, 1 + below(MED_OPID_MAX));
	h.has_cin = 1;
	h.cin = (uint32_t)(below(2) ? PICK(u32_edges) : rnd());
	h.seq = (uint32_t)(below(2) ? PICK(u32_edges) : rnd());
	h.ts_form = (int)(MED_TS_MICRO + below(3));
	h.ts_qual = (int)(MED_TSQ_NONE + (int)below(5));
	if (below(3))
		rand_print(h.ipid, 1 + below(MED_IPID_MAX));
	h.ts_sec = (int64_t)(below(2) ? PICK(sec_edges) : below(253402300800ull));
	h.ts_usec = (uint32_t)(below(2) ? PICK(usec_edges) : below(1000000));
	return h;
}

static size_t rand_packet(void)
{
	size_t n = below(4) ? PICK(len_edges) : 1 + below(2000);
	for (size_t i = 0; i < n; i++)
		pkt[i] = (uint8_t)rnd();
	pkt[0] = (uint8_t)((below(2) ? 0x40 : 0x60) | (pkt[0] & 0x0f));
	return n;
}

/* Field by field, as the collector and its tap use them. */
static void assert_same(const struct med_record *a, const struct med_record *b)
{
	assert_int_equal(a->kind, b->kind);
	const struct med_header *x = &a->hdr, *y = &b->hdr;
	assert_int_equal(x->liid_len, y->liid_len);
	assert_memory_equal(x->liid, y->liid, x->liid_len);
	assert_memory_equal(x->auth_cc, y->auth_cc, sizeof x->auth_cc);
	assert_memory_equal(x->deliv_cc, y->deliv_cc, sizeof x->deliv_cc);
	assert_memory_equal(x->operator_id, y->operator_id, sizeof x->operator_id);
	assert_memory_equal(x->ne_id, y->ne_id, sizeof x->ne_id);
	assert_memory_equal(x->ipid, y->ipid, sizeof x->ipid);
	assert_int_equal(x->has_cin, y->has_cin);
	assert_int_equal(x->cin, y->cin);
	assert_int_equal(x->seq, y->seq);
	assert_int_equal(x->ts_sec, y->ts_sec);
	assert_int_equal(x->ts_usec, y->ts_usec);
	assert_int_equal(x->ts_form, y->ts_form);
	assert_int_equal(x->ts_qual, y->ts_qual);
	assert_int_equal(a->dir, b->dir);
	assert_int_equal(a->pkt_len, b->pkt_len);
	if (a->pkt_len)
		assert_memory_equal(a->pkt, b->pkt, a->pkt_len);
	assert_int_equal(a->iri_type, b->iri_type);
	assert_int_equal(a->iri_content, b->iri_content);
}

/* The prefix cache of col_fastdec_cached, kept over the whole run as a connection keeps it. */
static struct col_fastdec_cache cache;

/* With the cache, the same answer and byte for byte the same record as without it: on the
 * first call, which may miss (and refill it), and on the second, which takes the prefix from
 * it whenever the first one could decode the prefix. */
static void check_cached(const uint8_t *b, size_t len, int fast, const struct med_record *f)
{
	for (int k = 0; k < 2; k++) {
		struct med_record g;
		int r = col_fastdec_cached(b, len, &g, &cache);
		if (r != fast)
			fail_msg(
			    "seed %llu: %zu bytes: col_fastdec %d, with the cache %d (call %d)",
			    (unsigned long long)seed, len, fast, r, k + 1);
		assert_memory_equal(&g, f, sizeof g);
	}
}

/* The property: fast accepts => asn1c accepts with the same values. Returns 1 when fast took
 * it. Also checks col_decode's answer is med_decode's when fast declines, and that the cached
 * forms answer as the plain ones. */
static int check(const uint8_t *b, size_t len)
{
	struct med_record f, s;
	char why[160];
	int fast = col_fastdec(b, len, &f);
	check_cached(b, len, fast, &f);
	int rc = med_decode(b, len, &s, why, sizeof why);
	if (fast) {
		if (rc != 0)
			fail_msg(
			    "seed %llu: fast path accepted %zu bytes that med_decode refuses: %s",
			    (unsigned long long)seed, len, why);
		assert_ptr_not_equal(f.pkt_len ? f.pkt : (uint8_t *)1, NULL);
		if (f.pkt_len)
			assert_true(f.pkt >= b && f.pkt + f.pkt_len <= b + len);
		assert_same(&f, &s);
	} else {
		/* declined: nothing left behind, and col_decode falls back to the same answer */
		assert_null(f.pkt);
		assert_int_equal(f.kind, 0);
		struct med_record c;
		int used_fast = -1;
		int rc2 = col_decode(b, len, &c, &used_fast, why, sizeof why);
		assert_int_equal(used_fast, 0);
		assert_int_equal(rc2, rc);
		if (rc == 0)
			assert_same(&c, &s);
		col_record_release(&c, used_fast);
		used_fast = -1;
		rc2 = col_decode_cached(b, len, &c, &used_fast, why, sizeof why, &cache);
		assert_int_equal(used_fast, 0);
		assert_int_equal(rc2, rc);
		if (rc == 0)
			assert_same(&c, &s);
		col_record_release(&c, used_fast);
	}
	med_record_clear(&s);
	return fast;
}

/* Random CC records from both encoders (they produce the same bytes): all take the fast path. */
static void test_cc_records(void **state)
{
	struct med_cc_template tpl;
	memset(&tpl, 0, sizeof tpl);
	uint64_t hits = cache.hits;
	for (int i = 0; i < 6000; i++) {
		struct med_header h = rand_header();
		size_t pl = rand_packet();
		int dir = (int)below(6) - 1;
		long n = below(2) ? med_encode_cc(&h, dir, pkt, pl, rec, sizeof rec)
		                  : med_encode_cc_fast(&tpl, &h, dir, pkt, pl, rec, sizeof rec);
		assert_true(n > 0);
		if (!check(rec, (size_t)n))
			fail_msg(
			    "seed %llu: record %d (%ld bytes, packet %zu) not on the fast path",
			    (unsigned long long)seed, i, n, pl);
		n_fast++;
		/* the packet is the encoded one, in place */
		struct med_record f;
		assert_int_equal(col_fastdec(rec, (size_t)n, &f), 1);
		assert_int_equal(f.kind, MED_REC_CC);
		assert_int_equal(f.pkt_len, pl);
		assert_memory_equal(f.pkt, pkt, pl);
		assert_int_equal(f.hdr.seq, h.seq);
		assert_int_equal(f.hdr.cin, h.cin);
		assert_int_equal(f.dir, dir);
		assert_int_equal(f.hdr.ts_sec, h.ts_sec);
		assert_int_equal(f.hdr.ts_usec, h.ts_usec);
		assert_int_equal(f.hdr.ts_form, h.ts_form);
	}
	/* check_cached's second call took every record's prefix from the cache */
	assert_true(cache.hits - hits >= 6000);
}

static void test_keepalives(void **state)
{
	for (int i = 0; i < 2000; i++) {
		struct med_header h = rand_header();
		h.has_cin = (int)below(2);
		int resp = (int)below(2);
		long n = med_encode_keepalive(&h, resp, rec, sizeof rec);
		assert_true(n > 0);
		if (!check(rec, (size_t)n))
			fail_msg("seed %llu: keep-alive %d not on the fast path",
			         (unsigned long long)seed, i);
		n_fast++;
		struct med_record f;
		assert_int_equal(col_fastdec(rec, (size_t)n, &f), 1);
		assert_int_equal(f.kind, resp ? MED_REC_KEEPALIVE_RESP : MED_REC_KEEPALIVE);
		assert_int_equal(f.hdr.seq, h.seq);
	}
}

/* IRI records are outside the fast path: declined, and col_decode gives med_decode's record. */
static void test_iri_falls_back(void **state)
{
	for (int i = 0; i < 400; i++) {
		struct med_header h = rand_header();
		long n;
		if (below(2)) {
			struct med_iri_event ev;
			memset(&ev, 0, sizeof ev);
			ev.event = below(2) ? MED_EV_START_OF_INTERCEPTION_SESSION_ACTIVE
			                    : MED_EV_END_OF_INTERCEPTION_SESSION_ACTIVE;
			rand_print(ev.username, 1 + below(40));
			ev.access_type = (int)below(10);
			ev.ip_version = 1 + (int)below(3);
			n = med_encode_iri_event(&h, 1 + (int)below(4), &ev, rec, sizeof rec);
		} else {
			struct med_header_facts fa;
			memset(&fa, 0, sizeof fa);
			fa.ip_version = below(2) ? 4 : 6;
			for (int k = 0; k < 16; k++)
				fa.src[k] = (uint8_t)rnd(), fa.dst[k] = (uint8_t)rnd();
			fa.proto = (int)below(256);
			fa.sport = (uint16_t)rnd();
			fa.dport = (uint16_t)rnd();
			n = med_encode_iri_report(&h, (int)below(6) - 1, &fa, rec, sizeof rec);
		}
		assert_true(n > 0);
		assert_int_equal(check(rec, (size_t)n), 0);
		n_fallback++;
	}
}

/* Mutations of valid records: single bytes (random and at every position), truncation,
 * extension, inserted and deleted bytes. The property must hold for each. */
static void mutate_all(const uint8_t *b, size_t len, int exhaustive)
{
	static const uint8_t vals[] = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x30, 0x7f,
	                               0x80, 0x81, 0x82, 0x83, 0x84, 0xA1, 0xA2, 0xff};
	size_t lim = len < 400 ? len : 400; /* the header and payload wrappers */
	for (size_t pos = 0; pos < lim; pos++) {
		size_t nv = exhaustive ? sizeof vals + 2 : 3;
		for (size_t k = 0; k < nv; k++) {
			memcpy(mut, b, len);
			uint8_t v = k < sizeof vals
			                ? vals[exhaustive ? k : below(sizeof vals)]
			                : (uint8_t)(k == sizeof vals ? b[pos] + 1 : b[pos] - 1);
			if (v == b[pos])
				continue;
			mut[pos] = v;
			n_mut_fast += (unsigned long)check(mut, len);
			n_mutated++;
		}
	}
	/* every truncation of the wrappers, and a few longer ones */
	for (size_t cut = 0; cut < len; cut += cut < 200 ? 1 : 1 + below(len / 8 + 1)) {
		n_mut_fast += (unsigned long)check(b, cut);
		n_mutated++;
	}
	/* trailing bytes, inserted and deleted bytes */
	memcpy(mut, b, len);
	mut[len] = 0;
	n_mut_fast += (unsigned long)check(mut, len + 1);
	for (int k = 0; k < 20; k++) {
		size_t pos = below(lim);
		memcpy(mut, b, pos);
		mut[pos] = (uint8_t)rnd();
		memcpy(mut + pos + 1, b + pos, len - pos);
		n_mut_fast += (unsigned long)check(mut, len + 1);
		memcpy(mut, b, pos);
		memcpy(mut + pos, b + pos + 1, len - pos - 1);
		n_mut_fast += (unsigned long)check(mut, len - 1);
		n_mutated += 2;
	}
}

static void test_mutations(void **state)
{
	struct med_cc_template tpl;
	memset(&tpl, 0, sizeof tpl);
	for (int i = 0; i < 300; i++) {
		struct med_header h = rand_header();
		long n;
		if (below(5) == 0) {
			h.has_cin = (int)below(2);
			n = med_encode_keepalive(&h, (int)below(2), rec, sizeof rec);
		} else {
			size_t pl = below(3) ? 1 + below(64) : rand_packet();
			n = med_encode_cc_fast(&tpl, &h, (int)below(6) - 1, pkt, pl, rec,
			                       sizeof rec);
		}
		assert_true(n > 0);
		mutate_all(rec, (size_t)n, i < 40);
	}
}

/* BER forms lawtap does not send but med_decode reads: the fast path must decline them (the
 * record still decodes, through asn1c). */
static void test_ber_forms_fall_back(void **state)
{
	struct med_header h;
	memset(&h, 0, sizeof h);
	memcpy(h.liid, "LIID-0001", 9);
	h.liid_len = 9;
	strcpy(h.operator_id, "op");
	h.has_cin = 1;
	h.cin = 5;
	h.seq = 3;
	h.ts_sec = 1795000000;
	h.ts_form = MED_TS_MICRO;
	h.ts_qual = MED_TSQ_NONE;
	uint8_t p[20] = {0x45};
	long n = med_encode_cc(&h, MED_DIR_TO_TARGET, p, sizeof p, rec, sizeof rec);
	assert_true(n > 0 && n < 120);
	assert_int_equal(check(rec, (size_t)n), 1);
	/* outer length in the long form 81 xx (non-minimal): decodes, not fast */
	mut[0] = 0x30;
	mut[1] = 0x81;
	mut[2] = rec[1];
	memcpy(mut + 3, rec + 2, (size_t)n - 2);
	assert_int_equal(check(mut, (size_t)n + 1), 0);
	struct med_record r;
	char why[128];
	assert_int_equal(med_decode(mut, (size_t)n + 1, &r, why, sizeof why), 0);
	med_record_clear(&r);
	/* the sequence number with a redundant leading zero: 84 01 03 -> 84 02 00 03 */
	size_t at = 0;
	for (size_t i = 2; i + 2 < (size_t)n; i++)
		if (rec[i] == 0x84 && rec[i + 1] == 1 && rec[i + 2] == 3) {
			at = i;
			break;
		}
	assert_true(at > 0);
	memcpy(mut, rec, at);
	mut[at] = 0x84;
	mut[at + 1] = 2;
	mut[at + 2] = 0;
	mut[at + 3] = 3;
	memcpy(mut + at + 4, rec + at + 3, (size_t)n - at - 3);
	mut[1] = (uint8_t)(rec[1] + 1);
	mut[3] = (uint8_t)(rec[3] + 1); /* pSHeader length (short forms here) */
	assert_int_equal(mut[2], 0xA1);
	assert_int_equal(check(mut, (size_t)n + 1), 0);
	assert_int_equal(med_decode(mut, (size_t)n + 1, &r, why, sizeof why), 0);
	assert_int_equal(r.hdr.seq, 3);
	med_record_clear(&r);
	/* the GeneralizedTime alone: fast */
	h.ts_form = MED_TS_GENERALIZED;
	n = med_encode_cc(&h, MED_DIR_NONE, p, sizeof p, rec, sizeof rec);
	assert_true(n > 0);
	assert_int_equal(check(rec, (size_t)n), 1);
}

int main(void)
{
	const char *s = getenv("LAWTAP_SEED");
	seed = s && *s ? strtoull(s, NULL, 0) : UINT64_C(0x5eedfa57dec0de01);
	rng_state = seed ? seed : 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cc_records),          cmocka_unit_test(test_keepalives),
	    cmocka_unit_test(test_iri_falls_back),      cmocka_unit_test(test_mutations),
	    cmocka_unit_test(test_ber_forms_fall_back),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	printf("test_collector_fastdec: seed %llu, %lu records on the fast path, %lu declined, "
	       "%lu mutated inputs (%lu of them decoded fast, each equal to med_decode)\n",
	       (unsigned long long)seed, n_fast, n_fallback, n_mutated, n_mut_fast);
	return rc;
}

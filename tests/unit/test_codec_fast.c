/* tests/unit/test_codec_fast.c: the template CC encoder (mediation/codec/pspdu_fast.h) must
 * produce exactly the bytes of med_encode_cc (asn1c der_encode) for the same record. Seeded
 * random headers and records (LAWTAP_SEED=<n> picks another seed; the seed is printed on a
 * failure), every length-of-length and INTEGER sign-byte boundary, each time stamp form and
 * qualifier, each direction; and the same refusals for bad arguments. No timing here: the
 * speed is measured by tests/bench. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mediation/codec/pspdu.h"
#include "mediation/codec/pspdu_fast.h"

static uint8_t want[MED_PSPDU_MAX], got[MED_PSPDU_MAX];
static uint8_t pkt[65536 + 16];
static uint64_t rng_state;
static uint64_t seed;
static unsigned long compared;

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

static uint64_t pick(const uint64_t *v, size_t n)
{
	return v[below(n)];
}
#define PICK(a) pick(a, sizeof a / sizeof a[0])

static const uint64_t u32_edges[] = {0,           1,           126,         127,        128,
                                     255,         256,         32767,       32768,      65535,
                                     65536,       8388607,     8388608,     16777215,   16777216,
                                     2147483647u, 2147483648u, 4294967294u, 4294967295u};
static const uint64_t sec_edges[] = {0,
                                     1,
                                     127,
                                     128,
                                     255,
                                     256,
                                     32767,
                                     32768,
                                     8388607,
                                     8388608,
                                     2147483647,
                                     2147483648,
                                     4294967295,
                                     4294967296,
                                     1795000000,
                                     951782400 /* 2000-02-29 */,
                                     68169600 /* 1972-02-29 */,
                                     253402300799 /* 9999-12-31 */};
static const uint64_t usec_edges[] = {0,      1,      9,      10,     100,   127,   128,
                                      255,    256,    32767,  32768,  65535, 65536, 100000,
                                      120000, 999999, 999990, 500000, 1000,  123456};
/* Packet sizes around every place where one of the nested lengths changes its form. */
static const uint64_t len_edges[] = {
    1,     20,    40,    100,   110,   111,   112,   113,   114,   115,   116,   117,   118,
    119,   120,   121,   122,   123,   124,   125,   126,   127,   128,   129,   130,   230,
    240,   241,   242,   243,   244,   245,   246,   247,   248,   249,   250,   251,   252,
    253,   254,   255,   256,   257,   576,   1500,  9000,  65500, 65510, 65520, 65525, 65526,
    65527, 65528, 65529, 65530, 65531, 65532, 65533, 65534, 65535};

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
	/* OCTET STRING fields: any octet but NUL (they are C strings here). */
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
	h.ts_form = (int)(MED_TS_MICRO + below(3));
	h.ts_qual = (int)(MED_TSQ_NONE + (int)below(5));
	if (below(3))
		rand_print(h.ipid, 1 + below(MED_IPID_MAX));
	return h;
}

static size_t rand_packet(size_t n)
{
	for (size_t i = 0; i < n; i += 8) {
		uint64_t r = rnd();
		memcpy(pkt + i, &r, 8); /* pkt has 16 spare bytes at the end */
	}
	pkt[0] = below(2) ? 0x45 : 0x60;
	return n;
}

static void rand_record(struct med_header *h, int *dir, size_t *n)
{
	h->seq = (uint32_t)(below(2) ? PICK(u32_edges) : rnd());
	int64_t gt_max = INT64_C(253402300799);
	uint64_t s = below(3) ? PICK(sec_edges) : below(4) ? rnd() % (uint64_t)gt_max : rnd() >> 2;
	if ((h->ts_form & MED_TS_GENERALIZED) && s > (uint64_t)gt_max)
		s %= (uint64_t)gt_max;
	h->ts_sec = (int64_t)s;
	h->ts_usec = (uint32_t)(below(2) ? PICK(usec_edges) : below(1000000));
	*dir = (int)(MED_DIR_NONE + (int)below(6));
	size_t len = below(3) ? (size_t)PICK(len_edges) : 20 + (size_t)below(65535 - 20 + 1);
	*n = rand_packet(len);
}

/* One record both ways: same return value, same bytes. Returns the length (or error). */
static long check(struct med_cc_template *t, const struct med_header *h, int dir, size_t n,
                  size_t cap)
{
	long a = med_encode_cc(h, dir, pkt, n, want, cap);
	long b = med_cc_template_encode(t, h->seq, h->ts_sec, h->ts_usec, dir, pkt, n, got, cap);
	if (a != b || (a > 0 && memcmp(want, got, (size_t)a) != 0)) {
		size_t at = 0;
		while (a > 0 && at < (size_t)a && want[at] == got[at])
			at++;
		fail_msg(
		    "seed %llu: asn1c %ld, template %ld (first difference at byte %zu); seq %u "
		    "sec %lld usec %u dir %d len %zu form %d qual %d liid_len %zu",
		    (unsigned long long)seed, a, b, at, h->seq, (long long)h->ts_sec, h->ts_usec,
		    dir, n, h->ts_form, h->ts_qual, h->liid_len);
	}
	compared++;
	return a;
}

static void test_random_records(void **state)
{
	(void)state;
	for (int k = 0; k < 400; k++) {
		struct med_header h = rand_header();
		struct med_cc_template *t = med_cc_template_new(&h);
		assert_non_null(t);
		for (int r = 0; r < 60; r++) {
			int dir;
			size_t n;
			rand_record(&h, &dir, &n);
			assert_true(check(t, &h, dir, n, sizeof want) > 0);
		}
		med_cc_template_free(t);
	}
}

/* Every boundary value of each field, against the others held at ordinary values. */
static void test_boundaries(void **state)
{
	(void)state;
	for (int form = MED_TS_MICRO; form <= MED_TS_BOTH; form++) {
		for (int qual = MED_TSQ_NONE; qual <= 3; qual++) {
			struct med_header h = rand_header();
			h.ts_form = form;
			h.ts_qual = qual;
			struct med_cc_template t;
			assert_int_equal(med_cc_template_init(&t, &h), 0);
			h.ts_sec = 1795000000;
			h.ts_usec = 123456;
			h.seq = 7;
			for (size_t i = 0; i < sizeof u32_edges / sizeof u32_edges[0]; i++) {
				h.seq = (uint32_t)u32_edges[i];
				check(&t, &h, MED_DIR_TO_TARGET, rand_packet(60), sizeof want);
			}
			h.seq = 7;
			for (size_t i = 0; i < sizeof sec_edges / sizeof sec_edges[0]; i++) {
				h.ts_sec = (int64_t)sec_edges[i];
				for (size_t j = 0; j < sizeof usec_edges / sizeof usec_edges[0];
				     j++) {
					h.ts_usec = (uint32_t)usec_edges[j];
					check(&t, &h, MED_DIR_FROM_TARGET, rand_packet(40),
					      sizeof want);
				}
			}
			h.ts_sec = 1795000000;
			for (int dir = MED_DIR_NONE; dir <= MED_DIR_NA; dir++)
				for (size_t i = 0; i < sizeof len_edges / sizeof len_edges[0]; i++)
					check(&t, &h, dir, rand_packet((size_t)len_edges[i]),
					      sizeof want);
		}
	}
	/* Every packet size from 1 to 300 and the top 300 (each nested length crosses 127,
	 * 255 or 65535 somewhere in there), smallest and largest header. */
	for (int big = 0; big < 2; big++) {
		struct med_header h = rand_header();
		if (big) {
			h.liid_len = MED_LIID_MAX;
			rand_print(h.auth_cc, 2);
			rand_print(h.deliv_cc, 2);
			rand_octets(h.operator_id, MED_OPID_MAX);
			rand_octets(h.ne_id, MED_OPID_MAX);
			rand_print(h.ipid, MED_IPID_MAX);
			h.cin = UINT32_MAX;
			h.seq = UINT32_MAX;
			h.ts_form = MED_TS_BOTH;
			h.ts_qual = 3;
			h.ts_usec = 999999;
		} else {
			h.liid_len = 1;
			h.auth_cc[0] = h.deliv_cc[0] = h.ne_id[0] = h.ipid[0] = '\0';
			rand_octets(h.operator_id, 1);
			h.cin = 0;
			h.seq = 0;
			h.ts_form = MED_TS_MICRO;
			h.ts_qual = MED_TSQ_NONE;
			h.ts_usec = 0;
		}
		h.ts_sec = 1795000000;
		struct med_cc_template *t = med_cc_template_new(&h);
		assert_non_null(t);
		for (size_t n = 1; n <= 300; n++)
			check(t, &h, big ? MED_DIR_NA : MED_DIR_NONE, rand_packet(n), sizeof want);
		for (size_t n = 65535 - 299; n <= 65535; n++)
			check(t, &h, MED_DIR_COMBINED, rand_packet(n), sizeof want);
		med_cc_template_free(t);
	}
}

/* Streams as the mediator makes them: one template, the packet size and direction held, the
 * sequence number counting up across INTEGER sign-byte boundaries and the time moving on, so
 * most records take the same-shape path (the last record's bytes with the fields written
 * over) and some are a new shape; every one compared with asn1c. */
static void test_streams(void **state)
{
	(void)state;
	static const uint32_t starts[] = {0,     120,     250,         32760,
	                                  65530, 8388600, 2147483640u, 4294967290u};
	static const size_t sizes[] = {20, 60, 576, 1500};
	for (int form = MED_TS_MICRO; form <= MED_TS_BOTH; form++) {
		for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
			struct med_header h = rand_header();
			h.ts_form = form;
			struct med_cc_template t;
			assert_int_equal(med_cc_template_init(&t, &h), 0);
			int dir = (int)(MED_DIR_NONE + (int)below(6));
			h.ts_sec = 1795000000 - 3;
			h.ts_usec = 999990;
			for (size_t st = 0; st < sizeof starts / sizeof starts[0]; st++) {
				h.seq = starts[st];
				for (int r = 0; r < 40; r++, h.seq++) {
					/* µs steps of 1..64 (the fraction's length changes at
					 * trailing zeros), now and then into the next second */
					h.ts_usec += 1 + (uint32_t)below(64);
					if (h.ts_usec > 999999) {
						h.ts_usec -= 1000000;
						h.ts_sec++;
					}
					size_t n = rand_packet(sizes[si]);
					assert_true(check(&t, &h, dir, n, sizeof want) > 0);
				}
			}
		}
	}
}

/* The drop-in med_encode_cc_fast: headers changing under one slot rebuild it. */
static void test_dropin(void **state)
{
	(void)state;
	struct med_cc_template slot;
	memset(&slot, 0, sizeof slot);
	struct med_header hs[4];
	for (int i = 0; i < 4; i++)
		hs[i] = rand_header();
	hs[1] = hs[0];
	hs[1].cin ^= 1; /* differs only in the CIN */
	hs[2] = hs[0];
	snprintf(hs[2].ipid, sizeof hs[2].ipid, "%s", hs[0].ipid[0] == 'x' ? "y" : "x");
	for (int r = 0; r < 2000; r++) {
		struct med_header *h = &hs[below(4)];
		int dir;
		size_t n;
		rand_record(h, &dir, &n);
		long a = med_encode_cc(h, dir, pkt, n, want, sizeof want);
		long b = med_encode_cc_fast(&slot, h, dir, pkt, n, got, sizeof got);
		assert_int_equal(a, b);
		assert_true(a > 0);
		assert_memory_equal(want, got, (size_t)a);
		compared++;
	}
}

/* The same refusals as med_encode_cc, and short buffers. */
static void test_refusals(void **state)
{
	(void)state;
	struct med_header h = rand_header();
	h.ts_form = MED_TS_BOTH;
	h.ts_sec = 1795000000;
	h.ts_usec = 5;
	struct med_cc_template t;
	assert_int_equal(med_cc_template_init(&t, &h), 0);
	size_t n = rand_packet(100);
	check(&t, &h, 5, n, sizeof want);
	check(&t, &h, -2, n, sizeof want);
	check(&t, &h, 0, 0, sizeof want);
	check(&t, &h, 0, 65536, sizeof want);
	pkt[0] = 0x55;
	check(&t, &h, 0, n, sizeof want);
	pkt[0] = 0x00;
	check(&t, &h, 0, n, sizeof want);
	pkt[0] = 0x45;
	h.ts_usec = 1000000;
	check(&t, &h, 0, n, sizeof want);
	h.ts_usec = 0;
	h.ts_sec = -1;
	check(&t, &h, 0, n, sizeof want);
	h.ts_sec = INT64_C(253402300800); /* year 10000 with a GeneralizedTime */
	check(&t, &h, 0, n, sizeof want);
	h.ts_sec = 1795000000;
	/* Short buffers: every capacity near the size, and tiny ones. */
	long full = med_encode_cc(&h, 1, pkt, n, want, sizeof want);
	assert_true(full > 0);
	for (size_t cap = 0; cap <= (size_t)full + 1; cap++)
		check(&t, &h, 1, n, cap);
	assert_int_equal(med_cc_template_encode(&t, 1, 1, 1, 1, NULL, n, got, sizeof got),
	                 MED_E_ARG);
	assert_int_equal(med_cc_template_encode(&t, 1, 1, 1, 1, pkt, n, NULL, sizeof got),
	                 MED_E_ARG);
	assert_int_equal(med_cc_template_encode(NULL, 1, 1, 1, 1, pkt, n, got, sizeof got),
	                 MED_E_ARG);

	/* Headers med_encode_cc refuses cannot make a template. */
	for (int bad = 0; bad < 12; bad++) {
		struct med_header b = rand_header();
		b.ts_sec = 1795000000;
		switch (bad) {
		case 0:
			b.liid_len = 0;
			break;
		case 1:
			b.liid_len = MED_LIID_MAX + 1;
			break;
		case 2:
			strcpy(b.auth_cc, "N");
			break;
		case 3:
			strcpy(b.deliv_cc, "N_");
			break;
		case 4:
			b.operator_id[0] = '\0';
			break;
		case 5:
			strcpy(b.ipid, "a_b");
			break;
		case 6:
			b.has_cin = 0;
			break;
		case 7:
			b.ts_form = 0;
			break;
		case 8:
			b.ts_form = 4;
			break;
		case 9:
			b.ts_qual = -2;
			break;
		case 10:
			b.ts_qual = 4;
			break;
		default:
			memset(b.ne_id, 'n', sizeof b.ne_id);
			break; /* not NUL-terminated */
		}
		assert_int_equal(med_encode_cc(&b, 0, pkt, n, want, sizeof want), MED_E_ARG);
		assert_null(med_cc_template_new(&b));
		struct med_cc_template bt;
		assert_int_equal(med_cc_template_init(&bt, &b), MED_E_ARG);
		assert_int_equal(med_cc_template_encode(&bt, 1, 1, 1, 1, pkt, n, got, sizeof got),
		                 MED_E_ARG);
		memset(&bt, 0, sizeof bt);
		assert_int_equal(med_encode_cc_fast(&bt, &b, 0, pkt, n, got, sizeof got),
		                 MED_E_ARG);
	}
	med_cc_template_free(NULL);
}

int main(void)
{
	const char *s = getenv("LAWTAP_SEED");
	seed = s && *s ? strtoull(s, NULL, 0) : UINT64_C(0x1a5f7a9c0de5eed5);
	rng_state = seed ? seed : 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_random_records), cmocka_unit_test(test_boundaries),
	    cmocka_unit_test(test_streams),        cmocka_unit_test(test_dropin),
	    cmocka_unit_test(test_refusals),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	printf("test_codec_fast: seed %llu, %lu records compared byte for byte\n",
	       (unsigned long long)seed, compared);
	return rc;
}

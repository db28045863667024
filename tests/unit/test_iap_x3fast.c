/* Unit test for iap_x3_encode_fast (iap/uplink.c): the IAP's X3 encoder writes byte for byte
 * what lib/x2x3.c's lt_x2x3_encode writes for the same PDU (the shape lawtap-iap sends: IAP id,
 * sequence number, time stamp, run epoch, an IPv4 or IPv6 packet), for seeded random fields
 * (LAWTAP_SEED picks another seed), every IAP id length, payload lengths 0..1600 and up to
 * 65535, sequence numbers and times at their bounds; and it refuses what it cannot write
 * (short buffers at every capacity, bad ids and families, an oversized payload). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "iap/iap.h"
#include "lib/x2x3.h"

static uint64_t rng_state = 0x2545f4914f6cdd1dULL;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

static void random_fields(struct iap_x3_fields *x)
{
	static const uint32_t edges[] = {0,     1,     127,        128,         255,        256,
	                                 65535, 65536, 0x7fffffff, 0x80000000u, 0xffffffffu};
	memset(x, 0, sizeof *x);
	for (int i = 0; i < 16; i++)
		x->xid[i] = (uint8_t)rnd();
	x->correlation = rnd() % 3 ? (uint32_t)rnd() : rnd();
	x->direction = rnd() % 2 ? LT_DIR_TO_TARGET : LT_DIR_FROM_TARGET;
	x->family = rnd() % 2 ? 4 : 6;
	size_t idlen = 1 + rnd() % 8;
	for (size_t i = 0; i < idlen; i++)
		x->ipid[i] = (char)('A' + rnd() % 26);
	x->seq = rnd() % 4 ? edges[rnd() % (sizeof edges / sizeof edges[0])] : (uint32_t)rnd();
	x->ts_sec = rnd() % 4 ? edges[rnd() % (sizeof edges / sizeof edges[0])] : (uint32_t)rnd();
	x->ts_nsec = (uint32_t)(rnd() % 1000000000u);
	x->epoch = rnd();
}

/* The same PDU through the general encoder (as iap/uplink.c filled it before). */
static long reference(const struct iap_x3_fields *x, const uint8_t *ip, size_t len, uint8_t *out,
                      size_t cap)
{
	struct lt_x2x3_pdu p;
	memset(&p, 0, sizeof p);
	p.type = LT_X3;
	p.format = x->family == 4 ? LT_PF_IPV4 : LT_PF_IPV6;
	memcpy(p.xid, x->xid, 16);
	p.correlation = x->correlation;
	p.direction = (uint16_t)x->direction;
	p.has_ipid = 1;
	memcpy(p.ipid, x->ipid, sizeof x->ipid);
	p.has_seq = 1;
	p.seq = x->seq;
	p.has_ts = 1;
	p.ts_sec = x->ts_sec;
	p.ts_nsec = x->ts_nsec;
	p.has_epoch = 1;
	p.epoch = x->epoch;
	p.payload = ip;
	p.payload_len = (uint32_t)len;
	return lt_x2x3_encode(&p, out, cap);
}

static void check_one(const struct iap_x3_fields *x, const uint8_t *ip, size_t len, uint8_t *a,
                      uint8_t *b, size_t cap)
{
	memset(a, 0xa5, cap);
	memset(b, 0x5a, cap);
	long na = iap_x3_encode_fast(x, ip, len, a, cap);
	long nb = reference(x, ip, len, b, cap);
	assert_true(nb > 0);
	assert_int_equal(na, nb);
	assert_memory_equal(a, b, (size_t)na);
	/* And it parses back to the same fields. */
	struct lt_x2x3_pdu p;
	const char *why = NULL;
	assert_int_equal(lt_x2x3_parse(a, (size_t)na, &p, &why), 0);
	assert_int_equal(p.seq, x->seq);
	assert_int_equal(p.payload_len, len);
}

static void test_equal_random(void **state)
{
	const char *seed = getenv("LAWTAP_SEED");
	if (seed)
		rng_state = strtoull(seed, NULL, 0) * 0x9e3779b97f4a7c15ULL + 1;
	size_t cap = LT_X2X3_MAX_PDU;
	uint8_t *a = malloc(cap), *b = malloc(cap), *ip = malloc(65535);
	for (size_t i = 0; i < 65535; i++)
		ip[i] = (uint8_t)rnd();
	struct iap_x3_fields x;
	for (size_t len = 0; len <= 1600; len++) {
		random_fields(&x);
		check_one(&x, len ? ip : NULL, len, a, b, cap);
	}
	for (int i = 0; i < 3000; i++) {
		random_fields(&x);
		size_t len = rnd() % 4 ? rnd() % 1600 : 65535 - rnd() % 300;
		check_one(&x, ip, len, a, b, cap);
	}
	/* Every IAP id length, both families, both directions, the largest payload. */
	for (size_t idlen = 1; idlen <= 8; idlen++)
		for (int fam = 4; fam <= 6; fam += 2)
			for (int dir = LT_DIR_TO_TARGET; dir <= LT_DIR_FROM_TARGET; dir++) {
				random_fields(&x);
				memset(x.ipid, 0, sizeof x.ipid);
				memset(x.ipid, 'Z', idlen);
				x.family = fam;
				x.direction = dir;
				check_one(&x, ip, 65535, a, b, cap);
			}
	free(a);
	free(b);
	free(ip);
}

static void test_refusals(void **state)
{
	uint8_t out[512], ip[200];
	memset(ip, 0x45, sizeof ip);
	struct iap_x3_fields x;
	random_fields(&x);
	long full = iap_x3_encode_fast(&x, ip, sizeof ip, out, sizeof out);
	assert_true(full > 0);
	for (size_t cap = 0; cap < (size_t)full; cap++) {
		assert_int_equal(iap_x3_encode_fast(&x, ip, sizeof ip, out, cap), LT_X2X3_E_SPACE);
		assert_int_equal(reference(&x, ip, sizeof ip, out, cap), LT_X2X3_E_SPACE);
	}
	struct iap_x3_fields bad = x;
	memset(bad.ipid, 0, sizeof bad.ipid);
	assert_int_equal(iap_x3_encode_fast(&bad, ip, 10, out, sizeof out), LT_X2X3_E_BADHDR);
	memset(bad.ipid, 'A', sizeof bad.ipid); /* 9 characters, no NUL */
	assert_int_equal(iap_x3_encode_fast(&bad, ip, 10, out, sizeof out), LT_X2X3_E_BADHDR);
	bad = x;
	bad.family = 5;
	assert_int_equal(iap_x3_encode_fast(&bad, ip, 10, out, sizeof out), LT_X2X3_E_BADHDR);
	assert_int_equal(iap_x3_encode_fast(&x, NULL, 10, out, sizeof out), LT_X2X3_E_BADHDR);
	uint8_t *big = calloc(1, 70000);
	uint8_t *o = malloc(LT_X2X3_MAX_PDU + 100);
	assert_int_equal(iap_x3_encode_fast(&x, big, LT_X2X3_MAX_PDU, o, LT_X2X3_MAX_PDU + 100),
	                 LT_X2X3_E_TOOBIG);
	free(big);
	free(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_equal_random),
	    cmocka_unit_test(test_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

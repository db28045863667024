/* Unit tests for lib/crc32c.c: published check values, the byte table against a bit-at-a-time
 * reference written here, and the instruction path (three-way passes of 512, 64 and 32 byte
 * blocks, then one chain) against the byte table for every length up to 4200 and many up to
 * 70,000, at random start alignments and initial values, split at random points, and from
 * several threads that race to initialise the tables. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>

#include "lib/crc32c.h"

#define BIG 70000
#define PAD 64 /* room for start offsets 0..63 */

static uint64_t rng_state;

static void rng_seed(uint64_t s)
{
	rng_state = s ? s : 1;
}

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static uint8_t *random_buf(size_t len, uint64_t seed)
{
	uint8_t *b = malloc(len);
	assert_non_null(b);
	rng_seed(seed);
	for (size_t i = 0; i < len; i++)
		b[i] = (uint8_t)(rng() >> 32);
	return b;
}

/* CRC32C one bit at a time (reflected polynomial 0x82f63b78, ~ in and out): shares nothing
 * with lib/crc32c.c. */
static uint32_t crc_bitwise(uint32_t crc, const uint8_t *p, size_t len)
{
	crc = ~crc;
	for (size_t i = 0; i < len; i++) {
		crc ^= p[i];
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0x82f63b78u & (0u - (crc & 1)));
	}
	return ~crc;
}

/* Runs first (see main): threads compute CRCs while the tables may still be unbuilt. */
struct thr {
	const uint8_t *buf;
	size_t len;
	uint32_t check, big;
};

static void *thr_run(void *arg)
{
	struct thr *t = arg;
	t->check = lt_crc32c(0, "123456789", 9);
	t->big = lt_crc32c(0, t->buf, t->len);
	return NULL;
}

static void test_threads_first_use(void **state)
{
	(void)state;
	enum { N = 4 };
	size_t len = 5000;
	uint8_t *buf = random_buf(len, 11);
	pthread_t th[N];
	struct thr t[N];
	for (int i = 0; i < N; i++) {
		t[i] = (struct thr){.buf = buf, .len = len};
		assert_int_equal(pthread_create(&th[i], NULL, thr_run, &t[i]), 0);
	}
	for (int i = 0; i < N; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	uint32_t want = crc_bitwise(0, buf, len);
	for (int i = 0; i < N; i++) {
		assert_int_equal(t[i].check, 0xe3069283u);
		assert_int_equal(t[i].big, want);
	}
	free(buf);
}

static void test_known_vectors(void **state)
{
	(void)state;
	uint8_t b[32];
	uint32_t (*fns[])(uint32_t, const void *, size_t) = {lt_crc32c, lt_crc32c_sw};
	for (size_t f = 0; f < 2; f++) {
		uint32_t (*fn)(uint32_t, const void *, size_t) = fns[f];
		assert_int_equal(fn(0, "123456789", 9), 0xe3069283u);
		/* RFC 3720 B.4 */
		memset(b, 0, sizeof b);
		assert_int_equal(fn(0, b, sizeof b), 0x8a9136aau);
		memset(b, 0xff, sizeof b);
		assert_int_equal(fn(0, b, sizeof b), 0x62a8ab43u);
		for (int i = 0; i < 32; i++)
			b[i] = (uint8_t)i;
		assert_int_equal(fn(0, b, sizeof b), 0x46dd794eu);
		for (int i = 0; i < 32; i++)
			b[i] = (uint8_t)(31 - i);
		assert_int_equal(fn(0, b, sizeof b), 0x113fdb5cu);
		/* nothing to add: the value is unchanged */
		assert_int_equal(fn(0, NULL, 0), 0);
		assert_int_equal(fn(0xdeadbeefu, b, 0), 0xdeadbeefu);
		/* one byte at a time gives the same as the whole */
		const char *check = "123456789";
		uint32_t c = 0;
		for (int i = 0; i < 9; i++)
			c = fn(c, check + i, 1);
		assert_int_equal(c, 0xe3069283u);
	}
	printf("lt_crc32c_hw() = %d\n", lt_crc32c_hw());
}

static void test_table_vs_bitwise(void **state)
{
	(void)state;
	size_t maxlen = 2000;
	uint8_t *buf = random_buf(maxlen + PAD, 21);
	for (size_t len = 0; len <= maxlen; len++) {
		size_t off = rng() % PAD;
		uint32_t init = (uint32_t)rng();
		uint32_t want = crc_bitwise(init, buf + off, len);
		assert_int_equal(lt_crc32c_sw(init, buf + off, len), want);
		assert_int_equal(lt_crc32c(init, buf + off, len), want);
	}
	free(buf);
}

static void check_len(const uint8_t *buf, size_t len)
{
	size_t off = rng() % PAD;
	uint32_t init = (rng() & 3) == 0 ? 0 : (uint32_t)rng();
	uint32_t want = lt_crc32c_sw(init, buf + off, len);
	uint32_t got = lt_crc32c(init, buf + off, len);
	if (got != want)
		fail_msg("len %zu offset %zu init %08x: lt_crc32c %08x, table %08x", len, off, init,
		         got, want);
}

static void test_every_length(void **state)
{
	(void)state;
	uint8_t *buf = random_buf(BIG + PAD, 31);
	for (size_t len = 0; len <= 4200; len++)
		for (int rep = 0; rep < 3; rep++)
			check_len(buf, len);
	free(buf);
}

static void test_long_lengths(void **state)
{
	(void)state;
	uint8_t *buf = random_buf(BIG + PAD, 41);
	/* around every multiple of the long pass (3 * 512 bytes), then random lengths */
	for (size_t m = 3 * 512; m <= BIG; m += 3 * 512)
		for (size_t d = 0; d < 2 * 3 * 64 && m + d - 3 * 32 <= BIG; d += 1 + rng() % 8)
			check_len(buf, m + d - 3 * 32);
	for (int i = 0; i < 2000; i++)
		check_len(buf, 4201 + rng() % (BIG - 4200));
	check_len(buf, BIG);
	free(buf);
}

/* Special contents: all zeros, all ones, a single set bit anywhere. */
static void test_patterns(void **state)
{
	(void)state;
	size_t len = 3 * 512 + 3 * 64 + 3 * 32 + 7;
	uint8_t *buf = calloc(1, len);
	assert_non_null(buf);
	rng_seed(51);
	for (size_t n = 0; n <= len; n += 1 + n / 16) {
		assert_int_equal(lt_crc32c(0, buf, n), lt_crc32c_sw(0, buf, n));
		assert_int_equal(lt_crc32c(0xffffffffu, buf, n), lt_crc32c_sw(0xffffffffu, buf, n));
	}
	for (size_t i = 0; i < len; i++) {
		for (int bit = 0; bit < 8; bit += 1 + (int)(rng() % 4)) {
			buf[i] = (uint8_t)(1u << bit);
			assert_int_equal(lt_crc32c(0, buf, len), lt_crc32c_sw(0, buf, len));
			buf[i] = 0;
		}
	}
	memset(buf, 0xff, len);
	for (size_t n = 0; n <= len; n += 1 + n / 16)
		assert_int_equal(lt_crc32c(0x5a5a5a5au, buf, n), lt_crc32c_sw(0x5a5a5a5au, buf, n));
	free(buf);
}

static void test_chaining(void **state)
{
	(void)state;
	uint8_t *buf = random_buf(20000 + PAD, 61);
	for (int i = 0; i < 3000; i++) {
		size_t len = i < 1500 ? rng() % 2000 : rng() % 20000;
		size_t off = rng() % PAD;
		uint32_t init = (uint32_t)rng();
		const uint8_t *p = buf + off;
		uint32_t whole = lt_crc32c(init, p, len);
		assert_int_equal(whole, lt_crc32c_sw(init, p, len));
		size_t a = len ? rng() % (len + 1) : 0;
		size_t b = a + (len - a ? rng() % (len - a + 1) : 0);
		/* two pieces, then three, with either path for each piece */
		assert_int_equal(lt_crc32c(lt_crc32c(init, p, a), p + a, len - a), whole);
		assert_int_equal(lt_crc32c_sw(lt_crc32c(init, p, a), p + a, len - a), whole);
		assert_int_equal(lt_crc32c(lt_crc32c_sw(init, p, a), p + a, len - a), whole);
		uint32_t c = lt_crc32c(init, p, a);
		c = lt_crc32c(c, p + a, b - a);
		c = lt_crc32c(c, p + b, len - b);
		assert_int_equal(c, whole);
	}
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_threads_first_use), /* first: before anything built the tables */
	    cmocka_unit_test(test_known_vectors),     cmocka_unit_test(test_table_vs_bitwise),
	    cmocka_unit_test(test_every_length),      cmocka_unit_test(test_long_lengths),
	    cmocka_unit_test(test_patterns),          cmocka_unit_test(test_chaining),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit test for iap/pcapfile.c: the zero-copy reader returns what libpcap's pcap_next_ex
 * returns on the same file (codes, record headers, packet bytes, error texts), for classic pcap
 * files in both byte orders with µs and ns stamps, files of several MiB whose records straddle
 * the 1 MiB blocks, records longer than the file's snapshot length, time stamps at the edges of
 * 32 bits, a record past libpcap's maximum, and every file cut short at each byte of its last
 * records; and declines what libpcap reads differently (pcapng, version 2.3). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "iap/iap.h"

static uint64_t rng_state = 0x9b05688c2b3e6c1fULL;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

struct buf {
	uint8_t *p;
	size_t n, cap;
};

static void put(struct buf *b, const void *v, size_t n)
{
	if (b->n + n > b->cap) {
		b->cap = (b->n + n) * 2;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	memcpy(b->p + b->n, v, n);
	b->n += n;
}

static void put32(struct buf *b, uint32_t v, int big)
{
	uint8_t x[4];
	for (int i = 0; i < 4; i++)
		x[big ? 3 - i : i] = (uint8_t)(v >> (8 * i));
	put(b, x, 4);
}

static void put16(struct buf *b, uint16_t v, int big)
{
	uint8_t x[2] = {(uint8_t)(big ? v >> 8 : v), (uint8_t)(big ? v : v >> 8)};
	put(b, x, 2);
}

static void header(struct buf *b, int big, int nano, uint16_t minor, uint32_t snaplen)
{
	put32(b, nano ? 0xa1b23c4du : 0xa1b2c3d4u, big);
	put16(b, 2, big);
	put16(b, minor, big);
	put32(b, 0, big);
	put32(b, 0, big);
	put32(b, snaplen, big);
	put32(b, 1, big); /* Ethernet */
}

static void record(struct buf *b, int big, uint32_t sec, uint32_t frac, uint32_t caplen,
                   uint32_t len, size_t body)
{
	put32(b, sec, big);
	put32(b, frac, big);
	put32(b, caplen, big);
	put32(b, len, big);
	for (size_t i = 0; i < body; i++) {
		uint8_t c = (uint8_t)rnd();
		put(b, &c, 1);
	}
}

/* Reads bytes[0..n) with libpcap and with the reader and checks they agree. Returns the
 * records read, or -1 when the reader declined the file (then libpcap reads it). */
static long compare(const uint8_t *bytes, size_t n)
{
	char err[PCAP_ERRBUF_SIZE];
	int fd = memfd_create("test_iap_pcapfile", MFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, bytes, n), (ssize_t)n);
	FILE *fa = fdopen(dup(fd), "rb"), *fb = fdopen(dup(fd), "rb");
	close(fd);
	rewind(fa);
	pcap_t *pa = pcap_fopen_offline_with_tstamp_precision(fa, PCAP_TSTAMP_PRECISION_NANO, err);
	assert_non_null(pa);
	rewind(fb);
	pcap_t *pb = pcap_fopen_offline_with_tstamp_precision(fb, PCAP_TSTAMP_PRECISION_NANO, err);
	assert_non_null(pb);
	struct iap_pcapfile *f = iap_pcapfile_open(pb, fileno(fb));
	long recs = -1;
	if (f) {
		recs = 0;
		for (;;) {
			struct pcap_pkthdr *ha, *hb;
			const u_char *da, *db;
			int ra = pcap_next_ex(pa, &ha, &da), rb = iap_pcapfile_next(f, &hb, &db);
			assert_int_equal(ra, rb);
			if (ra == PCAP_ERROR)
				assert_string_equal(pcap_geterr(pa), iap_pcapfile_geterr(f));
			if (ra != 1)
				break;
			assert_int_equal(ha->caplen, hb->caplen);
			assert_int_equal(ha->len, hb->len);
			assert_int_equal(ha->ts.tv_sec, hb->ts.tv_sec);
			assert_int_equal(ha->ts.tv_usec, hb->ts.tv_usec);
			assert_memory_equal(da, db, ha->caplen);
			recs++;
		}
		iap_pcapfile_close(f);
	}
	pcap_close(pa); /* closes fa */
	pcap_close(pb);
	return recs;
}

static void test_formats_and_blocks(void **state)
{
	const char *seed = getenv("LAWTAP_SEED");
	if (seed)
		rng_state = strtoull(seed, NULL, 0) * 0x9e3779b97f4a7c15ULL + 1;
	for (int variant = 0; variant < 4; variant++) {
		int big = variant & 1, nano = variant >> 1;
		struct buf b = {0};
		header(&b, big, nano, 4, 65535);
		long want = 0;
		/* About 3 MiB: records of every size class straddle the 1 MiB blocks. */
		while (b.n < (3u << 20)) {
			uint64_t r = rnd();
			uint32_t cap =
			    r % 8 ? (uint32_t)(r >> 8) % 1600 : (uint32_t)(r >> 8) % 65536;
			uint32_t len = r % 16 ? cap : cap + (uint32_t)(r >> 40) % 100;
			uint32_t sec = r % 32 ? 1795000000u + (uint32_t)want
			                      : (uint32_t)(r >> 16); /* also >= 2^31 */
			uint32_t frac = r % 32
			                    ? (uint32_t)(r >> 20) % (nano ? 1000000000u : 1000000u)
			                    : (uint32_t)(r >> 24) | 0x80000000u;
			record(&b, big, sec, frac, cap, len, cap);
			want++;
		}
		assert_int_equal(compare(b.p, b.n), want);
		free(b.p);
	}
}

static void test_snaplen_and_limits(void **state)
{
	/* Records longer than the file's snapshot length are cut to it. */
	struct buf b = {0};
	header(&b, 0, 0, 4, 100);
	for (uint32_t cap = 0; cap < 400; cap += 7)
		record(&b, 0, 1, 2, cap, cap, cap);
	assert_int_equal(compare(b.p, b.n), 58);
	/* A record past the maximum (262144): an error after the good ones. */
	size_t good = b.n;
	record(&b, 0, 1, 2, 262145, 262145, 0);
	assert_int_equal(compare(b.p, b.n), 58);
	b.n = good;
	/* A snapshot length of 0 in the header means the maximum. */
	struct buf z = {0};
	header(&z, 1, 1, 4, 0);
	record(&z, 1, 5, 6, 70000, 70000, 70000);
	record(&z, 1, 5, 7, 262144, 262144, 262144);
	assert_int_equal(compare(z.p, z.n), 2);
	free(z.p);
	free(b.p);
}

static void test_truncated_everywhere(void **state)
{
	for (int variant = 0; variant < 2; variant++) {
		struct buf b = {0};
		header(&b, variant, variant, 4, variant ? 50 : 65535);
		for (int i = 0; i < 6; i++)
			record(&b, variant, 10, 20, 30 + (uint32_t)i * 20, 200,
			       30 + (size_t)i * 20);
		/* Cut at every byte from the file header on: the same packets, then the same
		 * error (or the same clean end). */
		for (size_t cut = 24; cut <= b.n; cut++)
			assert_true(compare(b.p, cut) >= 0);
		free(b.p);
	}
}

static void test_declined(void **state)
{
	struct buf b = {0};
	header(&b, 0, 0, 3, 65535); /* version 2.3: libpcap's length quirks apply */
	record(&b, 0, 1, 2, 10, 10, 10);
	assert_int_equal(compare(b.p, b.n), -1);
	free(b.p);
	/* pcapng: a section header block and an interface description block. */
	static const uint8_t ng[] = {
	    0x0a, 0x0d, 0x0d, 0x0a, 28,   0,    0,    0,    0x4d, 0x3c, 0x2b, 0x1a, 1,  0, 0, 0,
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 28,   0,    0,    0,    1,  0, 0, 0,
	    20,   0,    0,    0,    1,    0,    0,    0,    0,    0,    0,    0,    20, 0, 0, 0};
	assert_int_equal(compare(ng, sizeof ng), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_formats_and_blocks),
	    cmocka_unit_test(test_snaplen_and_limits),
	    cmocka_unit_test(test_truncated_everywhere),
	    cmocka_unit_test(test_declined),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

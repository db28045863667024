/* tests/bench/bench_crc.c: throughput of lt_crc32c (lib/crc32c.h), a micro-benchmark (not
 * run by scripts/bench or ctest).
 *
 *   bench_crc [--blocks N] [--ms M] [--sw] [SIZE...]
 *
 * For every SIZE (default 64 130 600 1650 16384 bytes) runs N blocks (default 7) of about M ms
 * (default 100) of thread CPU time each, calling lt_crc32c (lt_crc32c_sw with --sw) back to
 * back on a seeded buffer, each call continuing from the last result (so the calls form one
 * dependent chain, like a spool record followed by the next), and prints the best block:
 * "size=S MB/s=X ns/call=Y crc=Z" (MB: 10^6 bytes; crc: lt_crc32c(0, buffer, S), to compare
 * builds). Exit 0, 2 on a usage error. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/crc32c.h"

static uint64_t thread_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: bench_crc [--blocks N] [--ms M] [--sw] [SIZE...]\n");
}

static int parse_pos(const char *s, long max, long *out)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (end == s || *end || v < 1 || v > max)
		return -1;
	*out = v;
	return 0;
}

int main(int argc, char **argv)
{
	long blocks = 7, ms = 100;
	int use_sw = 0;
	size_t sizes[64], nsizes = 0;
	for (int i = 1; i < argc; i++) {
		long v;
		if (!strcmp(argv[i], "--blocks") && i + 1 < argc) {
			if (parse_pos(argv[++i], 1000, &blocks) < 0) {
				usage(stderr);
				return 2;
			}
		} else if (!strcmp(argv[i], "--ms") && i + 1 < argc) {
			if (parse_pos(argv[++i], 100000, &ms) < 0) {
				usage(stderr);
				return 2;
			}
		} else if (!strcmp(argv[i], "--sw")) {
			use_sw = 1;
		} else if (!strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else if (nsizes < sizeof sizes / sizeof sizes[0] &&
		           parse_pos(argv[i], 1 << 26, &v) == 0) {
			sizes[nsizes++] = (size_t)v;
		} else {
			fprintf(stderr, "bench_crc: bad argument '%s'\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (!nsizes) {
		static const size_t def[] = {64, 130, 600, 1650, 16384};
		for (size_t i = 0; i < sizeof def / sizeof def[0]; i++)
			sizes[nsizes++] = def[i];
	}
	size_t maxlen = 0;
	for (size_t i = 0; i < nsizes; i++)
		if (sizes[i] > maxlen)
			maxlen = sizes[i];
	uint8_t *buf = malloc(maxlen);
	if (!buf) {
		fprintf(stderr, "bench_crc: out of memory\n");
		return 2;
	}
	uint64_t x = 0x9e3779b97f4a7c15u;
	for (size_t i = 0; i < maxlen; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (uint8_t)x;
	}
	uint32_t sink = 0;
	uint32_t (*fn)(uint32_t, const void *, size_t) = use_sw ? lt_crc32c_sw : lt_crc32c;
	printf("# lt_crc32c%s, hw=%d, best of %ld blocks of ~%ld ms thread CPU time\n",
	       use_sw ? "_sw" : "", lt_crc32c_hw(), blocks, ms);
	for (size_t s = 0; s < nsizes; s++) {
		size_t len = sizes[s];
		/* calibrate: calls per block */
		uint64_t calls = 1;
		uint32_t crc = 0;
		for (;;) {
			uint64_t t0 = thread_ns();
			for (uint64_t c = 0; c < calls; c++)
				crc = fn(crc, buf, len);
			uint64_t dt = thread_ns() - t0;
			if (dt >= (uint64_t)ms * 1000000u / 4 || calls > (1u << 30))
				break;
			calls *= 2;
		}
		calls *= 4;
		double best = 0;
		for (long b = 0; b < blocks; b++) {
			uint64_t t0 = thread_ns();
			for (uint64_t c = 0; c < calls; c++)
				crc = fn(crc, buf, len);
			uint64_t dt = thread_ns() - t0;
			if (!dt)
				dt = 1;
			double ns = (double)dt / (double)calls;
			if (b == 0 || ns < best)
				best = ns;
		}
		sink ^= crc;
		printf("size=%zu MB/s=%.0f ns/call=%.1f crc=%08x\n", len, (double)len * 1e3 / best,
		       best, fn(0, buf, len));
	}
	printf("# sink=%08x\n", (unsigned)sink); /* the chains' results are used */
	free(buf);
	return 0;
}

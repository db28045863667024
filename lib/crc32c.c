/* lib/crc32c.c: CRC32C, SSE4.2 instruction with a table fallback (crc32c.h).
 *
 * The instruction path: the crc32 instruction has a latency of 3 cycles and a throughput of 1
 * per cycle, so one dependent chain of it runs at a third of what the CPU can do. Buffers long
 * enough are cut into passes of three adjacent blocks A, B, C of BLK bytes, each block with its
 * own chain (A's continues from the incoming register, B's and C's start from 0), and the three
 * registers are combined with the linear operators Z_n "run the register over n zero bytes":
 *   reg(c, A || B || C) = Z_2BLK(reg(c, A)) ^ Z_BLK(reg(0, B)) ^ reg(0, C)
 * (the raw register is linear over GF(2): reg(c, X || Y) = Z_|Y|(reg(c, X)) ^ reg(0, Y)). Both
 * operators are applied at once (not one after the other), which keeps the pass short enough
 * to pay off on blocks of 32 bytes. Each Z_n is four 256-entry tables, one per byte of the
 * register, built once (when the instruction is there) by linearity from the 32 single-bit
 * registers run over n zero bytes (Z_32 with the byte table, the longer ones by composing the
 * shorter: 20 KiB of tables, some tens of microseconds). Block sizes: 512 bytes for the bulk of
 * long buffers, then 64 and 32 so that buffers of a hundred bytes or more gain too; what is left
 * (less than 96 bytes) runs on one chain. The results are the same as the byte table's for every
 * input (test_crc32c.c). */
#include "crc32c.h"

#include <pthread.h>
#include <string.h>

#define CRC_POLY 0x82f63b78u

static uint32_t crc_table[256];
static int crc_ready; /* 1: tables built; the hw flag is valid */
static int crc_hw;
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

#if defined(__x86_64__)
/* The zero-byte operators: crc_zeros[i] is Z_n for n = zeros_len[i], by byte of the register:
 * Z_n(c) = [0][c & 0xff] ^ [1][(c >> 8) & 0xff] ^ [2][(c >> 16) & 0xff] ^ [3][c >> 24]. */
enum { Z32, Z64, Z128, Z512, Z1024, NZEROS };
static const uint32_t zeros_len[NZEROS] = {32, 64, 128, 512, 1024};
static uint32_t crc_zeros[NZEROS][4][256];

static inline uint32_t zeros(const uint32_t z[4][256], uint32_t c)
{
	return z[0][c & 0xff] ^ z[1][(c >> 8) & 0xff] ^ z[2][(c >> 16) & 0xff] ^ z[3][c >> 24];
}

/* Z_32 from the byte table; each longer one by composing the one before it (every length is
 * a multiple of the one before). */
static void zeros_init(void)
{
	for (int z = 0; z < NZEROS; z++) {
		uint32_t bit[32];
		for (int i = 0; i < 32; i++) {
			uint32_t c = 1u << i;
			if (z == 0)
				for (uint32_t n = 0; n < zeros_len[0]; n++)
					c = crc_table[c & 0xff] ^ (c >> 8);
			else
				for (uint32_t n = 0; n < zeros_len[z]; n += zeros_len[z - 1])
					c = zeros(crc_zeros[z - 1], c);
			bit[i] = c;
		}
		for (int k = 0; k < 4; k++) {
			crc_zeros[z][k][0] = 0;
			for (uint32_t b = 1; b < 256; b++)
				crc_zeros[z][k][b] =
				    crc_zeros[z][k][b & (b - 1)] ^ bit[8 * k + __builtin_ctz(b)];
		}
	}
}
#endif

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ CRC_POLY : c >> 1;
		crc_table[i] = c;
	}
#if defined(__x86_64__) || defined(__i386__)
	__builtin_cpu_init();
	crc_hw = __builtin_cpu_supports("sse4.2") ? 1 : 0;
#endif
#if defined(__x86_64__)
	if (crc_hw)
		zeros_init();
#endif
	__atomic_store_n(&crc_ready, 1, __ATOMIC_RELEASE);
}

/* Fast path: one acquire load (pairs with the release store at the end of crc_init). A caller
 * that sees the flag unset goes through pthread_once: it runs crc_init, or waits for the
 * thread that does and then sees everything it wrote. */
static inline void ready(void)
{
	if (!__atomic_load_n(&crc_ready, __ATOMIC_ACQUIRE))
		pthread_once(&crc_once, crc_init);
}

static uint32_t sw(uint32_t crc, const uint8_t *p, size_t len)
{
	while (len--)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return crc;
}

uint32_t lt_crc32c_sw(uint32_t crc, const void *buf, size_t len)
{
	ready();
	return ~sw(~crc, buf, len);
}

#if defined(__x86_64__)
/* One pass over p[0, 3 * blk) from register c0: three chains, combined with z1 = Z_blk and
 * z2 = Z_2blk (see the top of the file). */
__attribute__((target("sse4.2"), always_inline)) static inline uint64_t
pass3(uint64_t c0, const uint8_t *p, size_t blk, const uint32_t z1[4][256],
      const uint32_t z2[4][256])
{
	uint64_t c1 = 0, c2 = 0;
	const uint8_t *end = p + blk;
	do {
		uint64_t v0, v1, v2;
		memcpy(&v0, p, 8);
		memcpy(&v1, p + blk, 8);
		memcpy(&v2, p + 2 * blk, 8);
		c0 = __builtin_ia32_crc32di(c0, v0);
		c1 = __builtin_ia32_crc32di(c1, v1);
		c2 = __builtin_ia32_crc32di(c2, v2);
		p += 8;
	} while (p < end);
	return zeros(z2, (uint32_t)c0) ^ zeros(z1, (uint32_t)c1) ^ c2;
}

/* The raw register (no inversions) over p[0, len). */
__attribute__((target("sse4.2"))) static uint32_t hw(uint32_t crc, const uint8_t *p, size_t len)
{
	uint64_t c = crc;
	while (len >= 3 * 512) {
		c = pass3(c, p, 512, crc_zeros[Z512], crc_zeros[Z1024]);
		p += 3 * 512;
		len -= 3 * 512;
	}
	while (len >= 3 * 64) {
		c = pass3(c, p, 64, crc_zeros[Z64], crc_zeros[Z128]);
		p += 3 * 64;
		len -= 3 * 64;
	}
	if (len >= 3 * 32) { /* at most once: less than 3 * 64 bytes are left */
		c = pass3(c, p, 32, crc_zeros[Z32], crc_zeros[Z64]);
		p += 3 * 32;
		len -= 3 * 32;
	}
	/* unaligned 8-byte loads are cheap on x86: no alignment prologue */
	while (len >= 8) {
		uint64_t v;
		memcpy(&v, p, 8);
		c = __builtin_ia32_crc32di(c, v);
		p += 8;
		len -= 8;
	}
	while (len--)
		c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
	return (uint32_t)c;
}
#endif

uint32_t lt_crc32c(uint32_t crc, const void *buf, size_t len)
{
	ready();
#if defined(__x86_64__)
	if (crc_hw)
		return ~hw(~crc, buf, len);
#endif
	return ~sw(~crc, buf, len);
}

int lt_crc32c_hw(void)
{
	ready();
	return crc_hw;
}

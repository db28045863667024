/* lib/crc32c.c: CRC32C, SSE4.2 instruction with a table fallback (crc32c.h). */
#include "crc32c.h"

#include <string.h>

static uint32_t crc_table[256];
static int crc_ready; /* 1: table built; the hw flag is valid */
static int crc_hw;

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ 0x82f63b78u : c >> 1;
		crc_table[i] = c;
	}
#if defined(__x86_64__) || defined(__i386__)
	__builtin_cpu_init();
	crc_hw = __builtin_cpu_supports("sse4.2") ? 1 : 0;
#endif
	/* idempotent: racing initialisers write the same values */
	__atomic_store_n(&crc_ready, 1, __ATOMIC_RELEASE);
}

static inline void ready(void)
{
	if (!__atomic_load_n(&crc_ready, __ATOMIC_ACQUIRE))
		crc_init();
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
__attribute__((target("sse4.2"))) static uint32_t hw(uint32_t crc, const uint8_t *p, size_t len)
{
	uint64_t c = crc;
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

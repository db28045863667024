/* lib/crc32c.h: CRC32C (Castagnoli, reflected polynomial 0x82f63b78), the checksum of the
 * spool records and the spool cursor (handover/spool.h), the de-duplication file and the IAP's
 * buffer files (iap/buffer.c).
 *
 * Uses the SSE4.2 crc32 instruction when the CPU has it (checked once at run time; buffers of
 * 96 bytes or more run as three interleaved chains, see crc32c.c) and a byte-wise table
 * otherwise; both give the same value. Thread-safe, the tables built on first use. */
#ifndef LAWTAP_CRC32C_H
#define LAWTAP_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* CRC of buf[0, len) continuing from crc (0 to start): lt_crc32c(lt_crc32c(0, a), b) is the CRC
 * of a then b. */
uint32_t lt_crc32c(uint32_t crc, const void *buf, size_t len);
/* The same with the table only (for tests comparing both paths). */
uint32_t lt_crc32c_sw(uint32_t crc, const void *buf, size_t len);
/* 1 when lt_crc32c uses the CPU instruction. */
int lt_crc32c_hw(void);

#endif

/* Fuzz target: the mediator reads <state_dir>/dedup back at start (mediation/dedup.c), a file
 * of its own that the disk or an operator may have damaged: untrusted. The first input byte
 * picks the shape: bit 0 clear, the rest of the input is the file as it is; bit 0 set, the rest
 * becomes the entries of a file with a valid header and CRC (format LTD2, or LTD1 when bit 1 is
 * set), so the entry parser sees arbitrary entries behind a checksum that passes. Then a mark
 * is raised for a key (taken from the input), the marks are saved, and a second mediator start
 * must load the saved file and know the key: whatever the first file held, what the mediator
 * writes it reads back. */
#include "handover/spool.h"
#include "lib/crc32c.h"
#include "mediation/med_int.h"

#include "fuzz_dir.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ENTRY_LEN1 (1 + 16 + 8 + 16 + 4)                    /* LTD1 (mediation/dedup.c) */
#define ENTRY_LEN (1 + 16 + 1 + HO_LEA_ID_MAX + 8 + 16 + 4) /* LTD2 */

static uint8_t file[12 + 4096 * ENTRY_LEN];

static void be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t mode = data[0];
	const uint8_t *body = data + 1;
	size_t blen = size - 1;
	fuzz_dir_fresh("dedup");
	if (mode & 1) {
		size_t elen = (mode & 2) ? ENTRY_LEN1 : ENTRY_LEN;
		size_t n = blen / elen;
		if (n > 4096)
			n = 4096;
		be32(file, (mode & 2) ? 0x4c544431u : 0x4c544432u); /* "LTD1" / "LTD2" */
		be32(file + 4, (uint32_t)n);
		memcpy(file + 8, body, n * elen);
		size_t len = 8 + n * elen;
		be32(file + len, lt_crc32c(0, file, len));
		fuzz_dir_put("dedup", file, len + 4);
	} else {
		fuzz_dir_put("dedup", body, blen);
	}
	struct med_dedup *d = med_dedup_new(fuzz_dir);
	if (!d)
		abort(); /* a damaged file is ignored, never a failed start */
	/* a key from the input: IAP id, epoch, XID and sequence number */
	struct ho_spool_key k;
	memset(&k, 0, sizeof k);
	k.has = 1;
	size_t idn = blen < HO_SPOOL_ID_MAX ? blen : HO_SPOOL_ID_MAX;
	for (size_t i = 0; i < idn; i++)
		k.iap[i] = (char)('a' + body[i] % 26);
	if (idn == 0)
		k.iap[0] = 'x';
	for (size_t i = 0; i < 8 && i < blen; i++)
		k.epoch = k.epoch << 8 | body[blen - 1 - i];
	for (size_t i = 0; i < 16 && i < blen; i++)
		k.xid[i] = body[(i * 7) % blen];
	k.seq = blen ? (uint32_t)body[0] << 8 | body[blen / 2] : 7;
	(void)med_dedup_seen_lea(d, &k, "lea1");
	(void)med_dedup_seen(d, &k);
	uint32_t max;
	(void)med_dedup_mark_lea(d, &k, "lea1", &max);
	med_dedup_note_lea(d, &k, "lea1");
	if (!med_dedup_seen_lea(d, &k, "lea1"))
		abort();
	med_dedup_save(d);
	med_dedup_free(d);
	d = med_dedup_new(fuzz_dir);
	if (!d || !med_dedup_seen_lea(d, &k, "lea1"))
		abort(); /* the saved marks must come back */
	med_dedup_free(d);
	return 0;
}

/* Fuzz target: a spool segment image from disk is untrusted. The input becomes the one segment
 * file of a spool directory (with a cursor when the input is long enough to spare 36 bytes for
 * it); the spool is opened (scan, CRC checks, tail cut), read to its end, confirmed, reopened.
 * The record checker also runs over the raw bytes at every offset. */
#include "handover/spool.h"

#include "fuzz_dir.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint8_t batch[256 * 1024];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* the checker over raw bytes */
	for (size_t off = 0; off < size && off < 4096; off++) {
		size_t rl;
		const char *why;
		struct ho_spool_key k;
		(void)ho_spool_rec_check(data + off, size - off, &rl, &k, &why);
	}
	/* an input starting with "CUR!" carries a cursor image in its next 36 bytes */
	size_t skip = 0;
	fuzz_dir_fresh("spool");
	if (size >= 40 && memcmp(data, "CUR!", 4) == 0) {
		fuzz_dir_put("cursor", data + 4, 36);
		skip = 40;
	}
	fuzz_dir_put("00000000000000000000.seg", data + skip, size - skip);
	char err[512];
	struct ho_spool_conf c = {fuzz_dir, 64 * 1024, HO_FSYNC_NONE, "fuzz"};
	for (int round = 0; round < 2; round++) {
		struct ho_spool *sp = ho_spool_open(&c, NULL, NULL, err, sizeof err);
		if (!sp)
			abort(); /* a bad image is cut, never refused */
		struct ho_spool_pos pos = ho_spool_cursor(sp);
		uint64_t nrec, total = 0;
		while (ho_spool_read(sp, &pos, batch, sizeof batch, 1000, &nrec) > 0)
			total += nrec;
		if (pos.rec != ho_spool_end(sp).rec)
			abort();
		if (round == 0) {
			uint8_t pl[3] = {1, 2, 3};
			if (ho_spool_append(sp, NULL, pl, sizeof pl) != 0)
				abort();
			(void)ho_spool_read(sp, &pos, batch, sizeof batch, 1000, &nrec);
			if (nrec != 1 || ho_spool_confirm(sp, &pos) != 0)
				abort();
		} else if (ho_spool_cursor(sp).rec != ho_spool_end(sp).rec) {
			abort(); /* everything was confirmed in round 0 */
		}
		(void)total;
		ho_spool_close(sp);
	}
	return 0;
}

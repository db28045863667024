/* Fuzz target: the collector's output directory after a crash is untrusted on start. The input
 * becomes hi3.ber, hi2.ber, cc.pcap and iri.csv (an 8-byte prefix gives their lengths, u16
 * big-endian each; 0 = the file is absent); col_store_open reconciles them (counts the derived
 * files' records, cuts partial tails, appends what the BER files hold that they miss, decoded
 * by the live writers, or cuts what they hold beyond) and may refuse with a reason. Whatever it
 * made of the files, a second open must take them as they are. */
#include "handover/collector/collector.h"

#include "fuzz_dir.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 8)
		return 0;
	static const char *const names[4] = {"hi3.ber", "hi2.ber", "cc.pcap", "iri.csv"};
	fuzz_dir_fresh("colstore");
	size_t off = 8;
	for (int i = 0; i < 4; i++) {
		size_t n = (size_t)data[2 * i] << 8 | data[2 * i + 1];
		if (n > size - off)
			n = size - off;
		if (n)
			fuzz_dir_put(names[i], data + off, n);
		off += n;
	}
	char err[512];
	struct col_store *s = col_store_open(fuzz_dir, err, sizeof err);
	if (!s)
		return 0; /* refused, with a reason: e.g. a cc.pcap that is not ours */
	col_store_close(s);
	s = col_store_open(fuzz_dir, err, sizeof err);
	if (!s) {
		fprintf(stderr, "fuzz_collector_store: second open refused: %s\n", err);
		abort();
	}
	col_store_close(s);
	return 0;
}

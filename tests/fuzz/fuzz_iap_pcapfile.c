/* Differential fuzz target for iap/pcapfile.c: the input is a capture file; libpcap reads it
 * with pcap_next_ex and, when it is classic pcap 2.4, iap_pcapfile_next reads the same bytes.
 * Both must return the same codes, record headers, packet bytes and error texts. */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "iap/iap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[PCAP_ERRBUF_SIZE];
	int fd = memfd_create("fuzz_iap_pcapfile", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (size && write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	FILE *fa = fdopen(dup(fd), "rb"), *fb = fdopen(dup(fd), "rb");
	close(fd);
	if (!fa || !fb) {
		if (fa)
			fclose(fa);
		if (fb)
			fclose(fb);
		return 0;
	}
	rewind(fa);
	pcap_t *pa = pcap_fopen_offline_with_tstamp_precision(fa, PCAP_TSTAMP_PRECISION_NANO, err);
	if (!pa) {
		fclose(fa);
		fclose(fb);
		return 0;
	}
	rewind(fb);
	pcap_t *pb = pcap_fopen_offline_with_tstamp_precision(fb, PCAP_TSTAMP_PRECISION_NANO, err);
	if (!pb)
		abort(); /* the same bytes opened once already */
	struct iap_pcapfile *f = iap_pcapfile_open(pb, fileno(fb));
	for (int i = 0; f && i < 100000; i++) {
		struct pcap_pkthdr *ha, *hb;
		const u_char *da, *db;
		int ra = pcap_next_ex(pa, &ha, &da), rb = iap_pcapfile_next(f, &hb, &db);
		if (ra != rb)
			abort();
		if (ra == 1 &&
		    (ha->caplen != hb->caplen || ha->len != hb->len ||
		     ha->ts.tv_sec != hb->ts.tv_sec || ha->ts.tv_usec != hb->ts.tv_usec ||
		     memcmp(da, db, ha->caplen) != 0))
			abort();
		if (ra == PCAP_ERROR && strcmp(pcap_geterr(pa), iap_pcapfile_geterr(f)) != 0)
			abort();
		if (ra != 1)
			break;
	}
	iap_pcapfile_close(f);
	pcap_close(pa);
	pcap_close(pb);
	return 0;
}

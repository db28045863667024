/* tests/bench/bench_read.c: the raw libpcap read baseline of scripts/bench.
 *
 *   bench_read [--loops N] FILE.pcap
 *
 * Reads FILE N times (default 1) with pcap_next_ex through a 1 MiB stdio buffer, touching the
 * first and last byte of every packet (so the data is really read), and prints
 * "packets=N bytes=B wall_ns=W cpu_ns=C" (bytes: captured frame bytes). Exit 0, 2 on error. */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "bench_clock.h"

int main(int argc, char **argv)
{
	int loops = 1;
	const char *path = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--loops") && i + 1 < argc)
			loops = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--help")) {
			fprintf(stderr, "usage: bench_read [--loops N] FILE.pcap\n");
			return 0;
		} else
			path = argv[i];
	}
	if (!path || loops < 1) {
		fprintf(stderr, "usage: bench_read [--loops N] FILE.pcap\n");
		return 2;
	}
	static char vbuf[1 << 20];
	uint64_t pkts = 0, bytes = 0, sink = 0;
	uint64_t w0 = bench_now_ns(), c0 = bench_cpu_ns();
	for (int l = 0; l < loops; l++) {
		FILE *f = fopen(path, "rb");
		if (!f) {
			perror(path);
			return 2;
		}
		setvbuf(f, vbuf, _IOFBF, sizeof vbuf);
		char err[PCAP_ERRBUF_SIZE];
		pcap_t *p = pcap_fopen_offline(f, err);
		if (!p) {
			fprintf(stderr, "bench_read: %s: %s\n", path, err);
			return 2;
		}
		struct pcap_pkthdr *h;
		const u_char *d;
		int rc;
		while ((rc = pcap_next_ex(p, &h, &d)) == 1) {
			pkts++;
			bytes += h->caplen;
			if (h->caplen)
				sink += d[0] + d[h->caplen - 1];
		}
		if (rc != PCAP_ERROR_BREAK) {
			fprintf(stderr, "bench_read: %s: %s\n", path, pcap_geterr(p));
			return 2;
		}
		pcap_close(p); /* closes f */
	}
	uint64_t w = bench_now_ns() - w0, c = bench_cpu_ns() - c0;
	printf("packets=%llu bytes=%llu wall_ns=%llu cpu_ns=%llu sink=%llu\n",
	       (unsigned long long)pkts, (unsigned long long)bytes, (unsigned long long)w,
	       (unsigned long long)c, (unsigned long long)(sink & 0xff));
	return 0;
}

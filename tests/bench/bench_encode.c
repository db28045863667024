/* tests/bench/bench_encode.c: CC encoding speed of scripts/bench, template encoder
 * (mediation/codec/pspdu_fast.h) against asn1c (med_encode_cc), on the same record: a 576-byte
 * IPv4 packet, the header a mediator sends with the shipped defaults (LIID, both country codes,
 * operator and network element ids, CIN, microSecondTimeStamp, timeOfInterception,
 * interceptionPointID), sequence number and time advancing per record.
 *
 *   bench_encode [--template N] [--asn1c M]
 *
 * Runs 20 alternating blocks of N/20 template and M/20 asn1c encodings and prints
 * "template_ns=T asn1c_ns=A template_rate=R1 asn1c_rate=R2 equal=1": ns per record and records
 * per second of each encoder's fastest block (CPU time of this thread). Exit 0, 1 when the two
 * outputs differ. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mediation/codec/pspdu.h"
#include "mediation/codec/pspdu_fast.h"

#define BLOCKS 20

static uint64_t cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	long nt = 2000000, na = 60000;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--template") && i + 1 < argc)
			nt = atol(argv[++i]);
		else if (!strcmp(argv[i], "--asn1c") && i + 1 < argc)
			na = atol(argv[++i]);
		else {
			fprintf(stderr, "usage: bench_encode [--template N] [--asn1c M]\n");
			return strcmp(argv[i], "--help") ? 2 : 0;
		}
	}
	struct med_header h;
	memset(&h, 0, sizeof h);
	memcpy(h.liid, "LIID-0001", 9);
	h.liid_len = 9;
	strcpy(h.auth_cc, "NL");
	strcpy(h.deliv_cc, "NL");
	strcpy(h.operator_id, "lawtap-op");
	strcpy(h.ne_id, "med1");
	h.has_cin = 1;
	h.cin = 1;
	h.ts_sec = 1795000000;
	h.ts_form = MED_TS_MICRO;
	h.ts_qual = MED_TSQ_INTERCEPTION;
	strcpy(h.ipid, "iap1");
	static uint8_t pkt[576], a[MED_PSPDU_MAX], b[MED_PSPDU_MAX];
	for (size_t i = 0; i < sizeof pkt; i++)
		pkt[i] = (uint8_t)(i * 7 + 3);
	pkt[0] = 0x45;

	struct med_cc_template *t = med_cc_template_new(&h);
	if (!t)
		return 2;
	/* Alternating blocks of each encoder; each keeps its fastest block (the one least
	 * disturbed by other work on a shared machine). */
	uint64_t sink = 0, ct = UINT64_MAX, ca = UINT64_MAX;
	long bt = nt / BLOCKS, ba = na / BLOCKS, seq = 0;
	if (bt < 1 || ba < 1)
		return 2;
	for (int blk = 0; blk < BLOCKS; blk++) {
		uint64_t c0 = cpu_ns();
		for (long i = 0; i < bt; i++, seq++) {
			long n = med_cc_template_encode(
			    t, (uint32_t)seq, h.ts_sec + seq / 1000000, (uint32_t)(seq % 1000000),
			    MED_DIR_TO_TARGET, pkt, sizeof pkt, b, sizeof b);
			sink += (uint64_t)n + b[n / 2];
		}
		uint64_t c = cpu_ns() - c0;
		ct = c < ct ? c : ct;
		c0 = cpu_ns();
		for (long i = 0; i < ba; i++, seq++) {
			h.seq = (uint32_t)seq;
			h.ts_sec = 1795000000 + seq / 1000000;
			h.ts_usec = (uint32_t)(seq % 1000000);
			long n = med_encode_cc(&h, MED_DIR_TO_TARGET, pkt, sizeof pkt, a, sizeof a);
			sink += (uint64_t)n + a[n / 2];
		}
		c = cpu_ns() - c0;
		ca = c < ca ? c : ca;
	}
	/* The last asn1c record once more through the template: the same bytes. */
	long la = med_encode_cc(&h, MED_DIR_TO_TARGET, pkt, sizeof pkt, a, sizeof a);
	long lb = med_cc_template_encode(t, h.seq, h.ts_sec, h.ts_usec, MED_DIR_TO_TARGET, pkt,
	                                 sizeof pkt, b, sizeof b);
	int equal = la > 0 && la == lb && memcmp(a, b, (size_t)la) == 0;
	med_cc_template_free(t);
	double tns = (double)ct / (double)bt, ans = (double)ca / (double)ba;
	printf("template_ns=%.1f asn1c_ns=%.1f template_rate=%.0f asn1c_rate=%.0f record_bytes=%ld "
	       "equal=%d sink=%llu\n",
	       tns, ans, 1e9 / tns, 1e9 / ans, la, equal, (unsigned long long)(sink & 0xff));
	return equal ? 0 : 1;
}

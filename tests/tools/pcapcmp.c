/* tests/tools/pcapcmp.c: compares two captures record by record with libpcap.
 *
 *   pcapcmp [--quiet] [--no-linktype] EXPECTED.pcap ACTUAL.pcap
 *
 * Both files are read with microsecond time stamps (libpcap scales ns files). Records are equal
 * when their time stamps (s, µs), captured lengths, original lengths and captured bytes are.
 * The link types must match too unless --no-linktype. Prints the first difference (with a few
 * bytes around it) and a count line "expected=N actual=M equal=E", exit 0 when the files hold
 * the same records, 1 when they differ, 2 when a file cannot be read. */
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pcap_t *open_file(const char *path)
{
	char err[PCAP_ERRBUF_SIZE] = "";
	pcap_t *p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_MICRO, err);
	if (!p)
		fprintf(stderr, "pcapcmp: %s: %s\n", path, err);
	return p;
}

/* Returns 1 record, 0 end of file, -1 read error (message printed). */
static int next(pcap_t *p, const char *path, struct pcap_pkthdr **h, const u_char **d)
{
	int r = pcap_next_ex(p, h, d);
	if (r == 1)
		return 1;
	if (r == PCAP_ERROR_BREAK)
		return 0;
	fprintf(stderr, "pcapcmp: %s: %s\n", path, pcap_geterr(p));
	return -1;
}

static void dump(const char *tag, const u_char *d, uint32_t n, uint32_t at)
{
	uint32_t from = at > 8 ? at - 8 : 0;
	uint32_t to = at + 8 < n ? at + 8 : n;
	printf("  %s @%" PRIu32 ":", tag, from);
	for (uint32_t i = from; i < to; i++)
		printf(i == at ? " [%02x]" : " %02x", d[i]);
	printf("\n");
}

int main(int argc, char **argv)
{
	int quiet = 0, linktype = 1, ai = 1;
	for (; ai < argc && argv[ai][0] == '-' && argv[ai][1] == '-'; ai++) {
		if (!strcmp(argv[ai], "--quiet"))
			quiet = 1;
		else if (!strcmp(argv[ai], "--no-linktype"))
			linktype = 0;
		else
			break;
	}
	if (argc - ai != 2) {
		fprintf(stderr,
		        "usage: pcapcmp [--quiet] [--no-linktype] EXPECTED.pcap ACTUAL.pcap\n");
		return 2;
	}
	const char *pa = argv[ai], *pb = argv[ai + 1];
	pcap_t *a = open_file(pa), *b = open_file(pb);
	if (!a || !b) {
		if (a)
			pcap_close(a);
		if (b)
			pcap_close(b);
		return 2;
	}
	int differ = 0, ioerr = 0;
	if (linktype && pcap_datalink(a) != pcap_datalink(b)) {
		printf("pcapcmp: link types differ: %s has %d, %s has %d\n", pa, pcap_datalink(a),
		       pb, pcap_datalink(b));
		differ = 1;
	}
	long na = 0, nb = 0, equal = 0;
	int ea = 0, eb = 0;
	for (;;) {
		struct pcap_pkthdr *ha = NULL, *hb = NULL;
		const u_char *da = NULL, *db = NULL;
		int ra = ea ? 0 : next(a, pa, &ha, &da);
		int rb = eb ? 0 : next(b, pb, &hb, &db);
		if (ra < 0 || rb < 0) {
			ioerr = 1;
			break;
		}
		ea = !ra;
		eb = !rb;
		na += ra;
		nb += rb;
		if (ea && eb)
			break;
		if (ea || eb) {
			if (!differ)
				printf("pcapcmp: record %ld: only in %s\n", (ea ? nb : na) - 1,
				       ea ? pb : pa);
			differ = 1;
			continue; /* keep counting */
		}
		const char *what = NULL;
		uint32_t at = 0;
		if (ha->ts.tv_sec != hb->ts.tv_sec || ha->ts.tv_usec != hb->ts.tv_usec)
			what = "time stamps";
		else if (ha->caplen != hb->caplen)
			what = "captured lengths";
		else if (ha->len != hb->len)
			what = "original lengths";
		else {
			for (at = 0; at < ha->caplen && da[at] == db[at]; at++)
				;
			if (at < ha->caplen)
				what = "bytes";
		}
		if (!what) {
			equal++;
			continue;
		}
		if (!differ && !quiet) {
			printf("pcapcmp: record %ld: %s differ\n", na - 1, what);
			printf("  %s: ts=%lld.%06ld caplen=%u len=%u\n", pa,
			       (long long)ha->ts.tv_sec, (long)ha->ts.tv_usec, ha->caplen, ha->len);
			printf("  %s: ts=%lld.%06ld caplen=%u len=%u\n", pb,
			       (long long)hb->ts.tv_sec, (long)hb->ts.tv_usec, hb->caplen, hb->len);
			if (!strcmp(what, "bytes")) {
				dump("expected", da, ha->caplen, at);
				dump("actual  ", db, hb->caplen, at);
			}
		} else if (!differ) {
			printf("pcapcmp: record %ld: %s differ\n", na - 1, what);
		}
		differ = 1;
	}
	pcap_close(a);
	pcap_close(b);
	if (ioerr)
		return 2;
	printf("pcapcmp: expected=%ld actual=%ld equal=%ld %s\n", na, nb, equal,
	       differ ? "DIFFER" : "same");
	return differ ? 1 : 0;
}

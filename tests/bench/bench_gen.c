/* tests/bench/bench_gen.c: seeded captures for scripts/bench.
 *
 *   bench_gen --size 64|576|1500|imix --count N --match PERCENT [--seed S] -o IN.pcap
 *             [--expect OUT.pcap] [--targets N --targets-out FILE]
 *
 * IN.pcap: Ethernet frames (little-endian pcap, µs, LINKTYPE_ETHERNET) of the given frame size
 * (FCS not included: a "64 B" frame is 14 bytes of Ethernet and a 50-byte IPv4/UDP packet).
 * imix: 7:4:1 of 64, 576 and 1500 byte frames in a seeded random order. PERCENT of the
 * packets (spread evenly) go to or from the target 10.0.0.1 (alternately as destination and
 * as source); the others run between 192.0.2.0/24 and 198.18.0.0/15, which no target covers.
 * Time stamps start at 1795000000 s (2026-11-18) and advance 1 µs per packet.
 * --expect writes what lawtap-collector's cc.pcap must equal (as tests/tools/mkpcap does):
 * LINKTYPE_RAW, µs, snaplen 262144, the matched IP packets in order with their time stamps.
 * --targets N --targets-out FILE: N target lines (10.0.0.1 first, then /32 and /24 IPv4 and
 * /128 and /64 IPv6 targets that match nothing in the file), for the mediator's config.
 * Prints "packets=N matched=M ip_bytes=B frame_bytes=F". Exit 0, or 2 on a usage/I/O error. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 2685821657736338717ULL;
}

static void put16le(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32le(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static int write_file_header(FILE *f, uint32_t snaplen, uint32_t linktype)
{
	uint8_t h[24];
	put32le(h, 0xa1b2c3d4);
	put16le(h + 4, 2);
	put16le(h + 6, 4);
	put32le(h + 8, 0);
	put32le(h + 12, 0);
	put32le(h + 16, snaplen);
	put32le(h + 20, linktype);
	return fwrite(h, sizeof h, 1, f) == 1 ? 0 : -1;
}

static int write_record(FILE *f, uint32_t sec, uint32_t usec, const uint8_t *b, uint32_t n)
{
	uint8_t h[16];
	put32le(h, sec);
	put32le(h + 4, usec);
	put32le(h + 8, n);
	put32le(h + 12, n);
	return fwrite(h, sizeof h, 1, f) == 1 && fwrite(b, n, 1, f) == 1 ? 0 : -1;
}

static uint16_t ip_csum(const uint8_t *p, size_t n)
{
	uint32_t s = 0;
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* One Ethernet + IPv4 + UDP frame of flen bytes. */
static void make_frame(uint8_t *fr, size_t flen, uint32_t src, uint32_t dst, uint16_t id)
{
	static const uint8_t mac[12] = {2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2};
	memcpy(fr, mac, 12);
	fr[12] = 0x08;
	fr[13] = 0x00;
	uint8_t *ip = fr + 14;
	size_t iplen = flen - 14;
	memset(ip, 0, 28);
	ip[0] = 0x45;
	ip[2] = (uint8_t)(iplen >> 8);
	ip[3] = (uint8_t)iplen;
	ip[4] = (uint8_t)(id >> 8);
	ip[5] = (uint8_t)id;
	ip[8] = 64;
	ip[9] = 17;
	for (int i = 0; i < 4; i++) {
		ip[12 + i] = (uint8_t)(src >> (24 - 8 * i));
		ip[16 + i] = (uint8_t)(dst >> (24 - 8 * i));
	}
	uint16_t c = ip_csum(ip, 20);
	ip[10] = (uint8_t)(c >> 8);
	ip[11] = (uint8_t)c;
	uint8_t *udp = ip + 20;
	uint16_t sp = (uint16_t)(1024 + rnd() % 60000), dp = 443;
	udp[0] = (uint8_t)(sp >> 8);
	udp[1] = (uint8_t)sp;
	udp[2] = (uint8_t)(dp >> 8);
	udp[3] = (uint8_t)dp;
	udp[4] = (uint8_t)((iplen - 20) >> 8);
	udp[5] = (uint8_t)(iplen - 20);
	/* UDP checksum 0: none (allowed for IPv4). Payload: seeded bytes. */
	for (size_t i = 28; i < iplen; i += 8) {
		uint64_t r = rnd();
		size_t k = iplen - i < 8 ? iplen - i : 8;
		memcpy(ip + i, &r, k);
	}
}

static int write_targets(const char *path, int n)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fprintf(f, "10.0.0.1\n");
	for (int i = 1; i < n; i++) {
		switch (i % 4) {
		case 0:
			fprintf(f, "10.%d.%d.%d\n", 1 + i / 65536, (i / 256) % 256, i % 256);
			break;
		case 1:
			fprintf(f, "10.%d.%d.0/24\n", 100 + (i / 256) % 100, i % 256);
			break;
		case 2:
			fprintf(f, "2001:db8:%x::%x\n", i / 4096, i % 4096 + 1);
			break;
		default:
			fprintf(f, "2001:db8:1%03x:%x::/64\n", (i / 65536) % 4096, i % 65536);
			break;
		}
	}
	return fclose(f);
}

static void usage(void)
{
	fprintf(stderr, "usage: bench_gen --size 64|576|1500|imix --count N --match PERCENT "
	                "[--seed S] -o IN.pcap [--expect OUT.pcap] [--targets N --targets-out "
	                "FILE]\n");
}

int main(int argc, char **argv)
{
	const char *size = NULL, *out = NULL, *expect = NULL, *tout = NULL;
	long count = 0, ntargets = 0;
	double match = -1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage();
			return 0;
		}
		if (!v) {
			usage();
			return 2;
		}
		if (!strcmp(a, "--size"))
			size = v;
		else if (!strcmp(a, "--count"))
			count = atol(v);
		else if (!strcmp(a, "--match"))
			match = atof(v);
		else if (!strcmp(a, "--seed"))
			rng = strtoull(v, NULL, 0) * 0x9e3779b97f4a7c15ULL + 1;
		else if (!strcmp(a, "-o"))
			out = v;
		else if (!strcmp(a, "--expect"))
			expect = v;
		else if (!strcmp(a, "--targets"))
			ntargets = atol(v);
		else if (!strcmp(a, "--targets-out"))
			tout = v;
		else {
			usage();
			return 2;
		}
		i++;
	}
	int fsize = size && strcmp(size, "imix") ? atoi(size) : 0;
	if (!size || !out || count < 1 || match < 0 || match > 100 ||
	    (fsize && (fsize < 64 || fsize > 1514)) || (ntargets > 0) != (tout != NULL)) {
		usage();
		return 2;
	}
	if (tout && write_targets(tout, (int)ntargets) != 0) {
		perror(tout);
		return 2;
	}
	FILE *f = fopen(out, "wb"), *e = expect ? fopen(expect, "wb") : NULL;
	if (!f || (expect && !e)) {
		perror("bench_gen");
		return 2;
	}
	static char fbuf[1 << 20], ebuf[1 << 20];
	setvbuf(f, fbuf, _IOFBF, sizeof fbuf);
	if (e)
		setvbuf(e, ebuf, _IOFBF, sizeof ebuf);
	if (write_file_header(f, 65535, 1) != 0 || (e && write_file_header(e, 262144, 101) != 0))
		return 2;
	uint8_t fr[1514];
	const uint32_t target = 0x0a000001; /* 10.0.0.1 */
	long matched = 0;
	uint64_t ipbytes = 0, fbytes = 0;
	double acc = 0;
	for (long i = 0; i < count; i++) {
		size_t flen = (size_t)fsize;
		if (!flen) {
			uint64_t r = rnd() % 12;
			flen = r < 7 ? 64 : r < 11 ? 576 : 1500;
		}
		/* Evenly spread: packet i is matched when the running share crosses an integer. */
		acc += match / 100.0;
		int m = acc >= 1.0 - 1e-9;
		if (m)
			acc -= 1.0;
		uint32_t a = 0xc0000200u | (uint32_t)(1 + rnd() % 254);
		uint32_t b = 0xc6120000u | (uint32_t)(rnd() % 131072);
		uint32_t src = a, dst = b;
		if (m) {
			if (matched % 2)
				src = target;
			else
				dst = target;
		}
		make_frame(fr, flen, src, dst, (uint16_t)i);
		uint32_t sec = 1795000000u + (uint32_t)(i / 1000000),
		         usec = (uint32_t)(i % 1000000);
		if (write_record(f, sec, usec, fr, (uint32_t)flen) != 0)
			return 2;
		fbytes += flen;
		if (m) {
			matched++;
			ipbytes += flen - 14;
			if (e && write_record(e, sec, usec, fr + 14, (uint32_t)(flen - 14)) != 0)
				return 2;
		}
	}
	if (fclose(f) != 0 || (e && fclose(e) != 0)) {
		perror("bench_gen");
		return 2;
	}
	printf("packets=%ld matched=%ld ip_bytes=%llu frame_bytes=%llu\n", count, matched,
	       (unsigned long long)ipbytes, (unsigned long long)fbytes);
	return 0;
}

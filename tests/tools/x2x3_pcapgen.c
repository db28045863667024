/* x2x3_pcapgen: writes a pcap (Ethernet/IPv4/TCP) of one TCP stream carrying X2/X3 PDUs
 * encoded with lt_x2x3_encode, for checking the codec with a decoder we did not write (tshark's
 * 5gli, see tests/integration/x2x3_tshark.sh).
 *
 *   x2x3_pcapgen [-p PORT] [-n COUNT] [-q SEQBASE] [-s] OUT.pcap
 *
 * The stream (10.99.0.1:40000 -> 10.99.0.2:PORT, default 9000) has a 3-way handshake, proper
 * sequence and acknowledgement numbers, correct IPv4/TCP checksums, ACKs from the receiver and
 * a FIN exchange. PDUs cycle through: X3 IPv4 (ICMP echo), X3 IPv6 (ICMPv6 echo), X2 with
 * payloadFormat 4 and payloadLength 0 carrying attributes 7, 8, 9, 10, 11, 14, 15, 16 (IPv4
 * facts), keep-alive, X3 IPv4 (UDP), X3 IPv6 (UDP), X2 with attributes 12, 13 (IPv6 facts),
 * keep-alive ack. Some PDUs are split across segments and some segments carry the end of one
 * PDU and the start of the next. -s sends every PDU in a segment of its own (no splitting).
 * Sequence numbers (attribute 8) are SEQBASE + i (default 0), modulo 2^32.
 * Prints the number of PDUs written on stdout. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/wire.h"
#include "lib/x2x3.h"

#define MSS 1400

static FILE *out;
static uint32_t ts_usec = 0;
static const uint8_t cli_ip[4] = {10, 99, 0, 1}, srv_ip[4] = {10, 99, 0, 2};
static const uint16_t cli_port = 40000;
static uint16_t srv_port = 9000;
static uint32_t seq_base;

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)(p[n - 1] << 8);
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void put_csum(uint8_t *at, uint16_t c)
{
	at[0] = (uint8_t)(c >> 8);
	at[1] = (uint8_t)c;
}

/* An IPv4 header of total length tot for protocol proto at p (20 bytes), checksum filled. */
static void ipv4_hdr(uint8_t *p, uint16_t tot, uint8_t proto, const uint8_t src[4],
                     const uint8_t dst[4], uint16_t id)
{
	struct lt_wire_wr w = lt_wire_wr_init(p, 20);
	lt_wire_put_u8(&w, 0x45);
	lt_wire_put_u8(&w, 0);
	lt_wire_put_u16(&w, tot);
	lt_wire_put_u16(&w, id);
	lt_wire_put_u16(&w, 0x4000); /* DF */
	lt_wire_put_u8(&w, 64);
	lt_wire_put_u8(&w, proto);
	lt_wire_put_u16(&w, 0);
	lt_wire_put(&w, src, 4);
	lt_wire_put(&w, dst, 4);
	put_csum(p + 10, csum_fold(csum_add(0, p, 20)));
}

static void write_frame(const uint8_t *frame, size_t len)
{
	uint8_t rec[16];
	struct lt_wire_wr w = lt_wire_wr_init(rec, sizeof rec);
	ts_usec += 1000;
	/* pcap record header is in the file's (little-endian, see main) byte order */
	uint32_t v[4] = {1790000000u + ts_usec / 1000000u, ts_usec % 1000000u, (uint32_t)len,
	                 (uint32_t)len};
	for (int i = 0; i < 4; i++)
		for (int b = 0; b < 4; b++)
			lt_wire_put_u8(&w, (uint8_t)(v[i] >> (8 * b)));
	fwrite(rec, 1, sizeof rec, out);
	fwrite(frame, 1, len, out);
}

/* One TCP segment; dir 0 client->server, 1 server->client. */
static void tcp_seg(int dir, uint32_t seq, uint32_t ack, uint8_t flags, const uint8_t *data,
                    size_t dlen)
{
	static uint16_t ipid[2] = {100, 5000};
	uint8_t f[14 + 20 + 20 + MSS];
	static const uint8_t mac_c[6] = {0x02, 0, 0, 0, 0, 1}, mac_s[6] = {0x02, 0, 0, 0, 0, 2};
	struct lt_wire_wr w = lt_wire_wr_init(f, sizeof f);
	lt_wire_put(&w, dir ? mac_c : mac_s, 6);
	lt_wire_put(&w, dir ? mac_s : mac_c, 6);
	lt_wire_put_u16(&w, 0x0800);
	ipv4_hdr(f + 14, (uint16_t)(40 + dlen), 6, dir ? srv_ip : cli_ip, dir ? cli_ip : srv_ip,
	         ipid[dir]++);
	lt_wire_reserve(&w, 20);
	uint8_t *t = f + 34;
	lt_wire_put_u16(&w, dir ? srv_port : cli_port);
	lt_wire_put_u16(&w, dir ? cli_port : srv_port);
	lt_wire_put_u32(&w, seq);
	lt_wire_put_u32(&w, ack);
	lt_wire_put_u8(&w, 5 << 4);
	lt_wire_put_u8(&w, flags);
	lt_wire_put_u16(&w, 65535);
	lt_wire_put_u16(&w, 0);
	lt_wire_put_u16(&w, 0);
	lt_wire_put(&w, data, dlen);
	if (lt_wire_wr_err(&w)) {
		fprintf(stderr, "x2x3_pcapgen: segment too large\n");
		exit(1);
	}
	uint8_t ph[12];
	memcpy(ph, f + 26, 8);
	ph[8] = 0;
	ph[9] = 6;
	ph[10] = (uint8_t)((20 + dlen) >> 8);
	ph[11] = (uint8_t)(20 + dlen);
	put_csum(t + 16, csum_fold(csum_add(csum_add(0, ph, 12), t, 20 + dlen)));
	write_frame(f, lt_wire_wr_pos(&w));
}

/* Inner packets: clean, valid, with correct checksums. */
static size_t inner_v4(uint8_t *p, int udp, uint16_t n)
{
	static const uint8_t a[4] = {192, 0, 2, 10}, b[4] = {198, 51, 100, 20};
	static const char msg[] = "lawtap x2x3 interop";
	size_t plen = 8 + sizeof msg - 1;
	uint8_t *l4 = p + 20;
	ipv4_hdr(p, (uint16_t)(20 + plen), udp ? 17 : 1, a, b, n);
	struct lt_wire_wr w = lt_wire_wr_init(l4, plen);
	if (udp) {
		lt_wire_put_u16(&w, 50000);
		lt_wire_put_u16(&w, 50001);
		lt_wire_put_u16(&w, (uint16_t)plen);
		lt_wire_put_u16(&w, 0);
		lt_wire_put(&w, msg, sizeof msg - 1);
		uint8_t ph[12];
		memcpy(ph, a, 4);
		memcpy(ph + 4, b, 4);
		ph[8] = 0;
		ph[9] = 17;
		ph[10] = (uint8_t)(plen >> 8);
		ph[11] = (uint8_t)plen;
		uint16_t c = csum_fold(csum_add(csum_add(0, ph, 12), l4, plen));
		put_csum(l4 + 6, c ? c : 0xffff);
	} else {
		lt_wire_put_u8(&w, 8); /* echo request */
		lt_wire_put_u8(&w, 0);
		lt_wire_put_u16(&w, 0);
		lt_wire_put_u16(&w, 0x1234);
		lt_wire_put_u16(&w, n);
		lt_wire_put(&w, msg, sizeof msg - 1);
		put_csum(l4 + 2, csum_fold(csum_add(0, l4, plen)));
	}
	return 20 + plen;
}

static const uint8_t v6a[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0a};
static const uint8_t v6b[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x14};

static size_t inner_v6(uint8_t *p, int udp, uint16_t n)
{
	static const char msg[] = "lawtap x2x3 interop v6";
	size_t plen = 8 + sizeof msg - 1;
	uint8_t nh = udp ? 17 : 58;
	struct lt_wire_wr w = lt_wire_wr_init(p, 40 + plen);
	lt_wire_put_u32(&w, 0x60000000);
	lt_wire_put_u16(&w, (uint16_t)plen);
	lt_wire_put_u8(&w, nh);
	lt_wire_put_u8(&w, 64);
	lt_wire_put(&w, v6a, 16);
	lt_wire_put(&w, v6b, 16);
	uint8_t *l4 = p + 40;
	if (udp) {
		lt_wire_put_u16(&w, 50000);
		lt_wire_put_u16(&w, 50001);
		lt_wire_put_u16(&w, (uint16_t)plen);
		lt_wire_put_u16(&w, 0);
	} else {
		lt_wire_put_u8(&w, 128); /* ICMPv6 echo request */
		lt_wire_put_u8(&w, 0);
		lt_wire_put_u16(&w, 0);
		lt_wire_put_u16(&w, 0x1234);
		lt_wire_put_u16(&w, n);
	}
	lt_wire_put(&w, msg, sizeof msg - 1);
	uint8_t ph[40] = {0};
	memcpy(ph, v6a, 16);
	memcpy(ph + 16, v6b, 16);
	ph[34] = (uint8_t)(plen >> 8);
	ph[35] = (uint8_t)plen;
	ph[39] = nh;
	uint16_t c = csum_fold(csum_add(csum_add(0, ph, 40), l4, plen));
	put_csum(l4 + (udp ? 6 : 2), (udp && !c) ? 0xffff : c);
	return 40 + plen;
}

/* The i-th PDU of the cycle into buf; returns its length. */
static size_t make_pdu(unsigned i, uint8_t *buf, size_t cap)
{
	static const uint8_t xid[16] = {0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0x4d, 0xef,
	                                0x81, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
	uint8_t inner[128];
	struct lt_x2x3_pdu p;
	long n;
	memset(&p, 0, sizeof p);
	memcpy(p.xid, xid, 16);
	p.correlation = 42; /* the CIN */
	p.has_ipid = 1;
	strcpy(p.ipid, "iap1");
	p.has_seq = 1;
	p.seq = seq_base + i;
	p.has_ts = 1;
	p.ts_sec = 1790000000u + i;
	p.ts_nsec = 123456789;
	p.direction = (i & 1) ? LT_DIR_FROM_TARGET : LT_DIR_TO_TARGET;
	switch (i % 8) {
	case 0:
	case 4:
		p.type = LT_X3;
		p.format = LT_PF_IPV4;
		p.payload = inner;
		p.payload_len = (uint32_t)inner_v4(inner, i % 8 == 4, (uint16_t)i);
		break;
	case 1:
	case 5:
		p.type = LT_X3;
		p.format = LT_PF_IPV6;
		p.payload = inner;
		p.payload_len = (uint32_t)inner_v6(inner, i % 8 == 5, (uint16_t)i);
		break;
	case 2:
	case 6:
		p.type = LT_X2;
		p.format = LT_PF_PROPRIETARY; /* payloadLength 0, header facts in attributes */
		if (i % 8 == 2) {
			p.has_src_v4 = p.has_dst_v4 = 1;
			memcpy(p.src, "\xc0\x00\x02\x0a", 4);
			memcpy(p.dst, "\xc6\x33\x64\x14", 4);
		} else {
			p.has_src_v6 = p.has_dst_v6 = 1;
			memcpy(p.src, v6a, 16);
			memcpy(p.dst, v6b, 16);
		}
		p.has_sport = p.has_dport = p.has_proto = 1;
		p.sport = 50000;
		p.dport = 443;
		p.proto = 6;
		break;
	case 3:
		n = lt_x2x3_keepalive(0, seq_base + i, buf, cap);
		goto done;
	default:
		n = lt_x2x3_keepalive(1, seq_base + i - 4, buf, cap);
		goto done;
	}
	n = lt_x2x3_encode(&p, buf, cap);
done:
	if (n < 0) {
		fprintf(stderr, "x2x3_pcapgen: encode failed (%ld)\n", n);
		exit(1);
	}
	return (size_t)n;
}

int main(int argc, char **argv)
{
	unsigned count = 40;
	int single = 0;
	const char *path = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-p") && i + 1 < argc)
			srv_port = (uint16_t)strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "-n") && i + 1 < argc)
			count = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "-q") && i + 1 < argc)
			seq_base = (uint32_t)strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "-s"))
			single = 1;
		else if (argv[i][0] != '-' && !path)
			path = argv[i];
		else
			path = NULL, i = argc;
	}
	if (!path || !srv_port || count == 0 || count > 100000) {
		fprintf(stderr,
		        "usage: x2x3_pcapgen [-p PORT] [-n COUNT 1..100000] [-q SEQBASE] [-s] "
		        "OUT.pcap\n");
		return 2;
	}
	out = fopen(path, "wb");
	if (!out) {
		perror(path);
		return 1;
	}
	/* pcap global header, little-endian, microseconds, LINKTYPE_ETHERNET */
	static const uint8_t gh[24] = {0xd4, 0xc3, 0xb2, 0xa1, 2,    0,    4, 0, 0, 0, 0, 0,
	                               0,    0,    0,    0,    0xff, 0xff, 0, 0, 1, 0, 0, 0};
	fwrite(gh, 1, sizeof gh, out);

	uint32_t cseq = 1000000, sseq = 2000000;
	tcp_seg(0, cseq, 0, 0x02, NULL, 0); /* SYN */
	tcp_seg(1, sseq, cseq + 1, 0x12, NULL, 0);
	cseq++;
	sseq++;
	tcp_seg(0, cseq, sseq, 0x10, NULL, 0);

	/* The stream is all PDUs back to back, cut into segments: at every PDU end, except that
	 * every third PDU (i % 3 == 1) is cut in its middle instead, and its tail goes out together
	 * with the first 7 bytes of the next PDU (the next length field is split too). */
	size_t cap = (size_t)count * 256, len = 0, ncut = 0;
	uint8_t *stream = malloc(cap);
	size_t *cuts = malloc((2 * (size_t)count + 2) * sizeof *cuts);
	if (!stream || !cuts) {
		fprintf(stderr, "x2x3_pcapgen: out of memory\n");
		return 1;
	}
	for (unsigned i = 0; i < count; i++) {
		size_t n = make_pdu(i, stream + len, cap - len);
		int split = !single && i % 3 == 1 && i + 1 < count;
		if (split)
			cuts[ncut++] = len + n / 2 + 1;
		else if (!(!single && i % 3 == 2 && i > 0))
			cuts[ncut++] = len + n;
		if (!single && i % 3 == 2 && i > 0) {
			cuts[ncut++] = len + 7; /* tail of i-1 + 7 bytes of i */
			cuts[ncut++] = len + n;
		}
		len += n;
	}
	size_t pos = 0;
	for (size_t c = 0; c < ncut; c++) {
		while (pos < cuts[c]) {
			size_t take = cuts[c] - pos > MSS ? MSS : cuts[c] - pos;
			tcp_seg(0, cseq, sseq, 0x18, stream + pos, take);
			pos += take;
			cseq += (uint32_t)take;
			tcp_seg(1, sseq, cseq, 0x10, NULL, 0);
		}
	}
	if (pos != len) {
		fprintf(stderr, "x2x3_pcapgen: internal segmentation error\n");
		return 1;
	}
	free(stream);
	free(cuts);
	tcp_seg(0, cseq, sseq, 0x11, NULL, 0); /* FIN */
	tcp_seg(1, sseq, cseq + 1, 0x11, NULL, 0);
	tcp_seg(0, cseq + 1, sseq + 1, 0x10, NULL, 0);
	if (fclose(out) != 0) {
		perror(path);
		return 1;
	}
	printf("%u\n", count);
	return 0;
}

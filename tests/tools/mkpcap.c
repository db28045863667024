/* tests/tools/mkpcap.c: a seeded generator of test captures and of what lawtap must make of them.
 *
 *   mkpcap [--link ether|vlan|qinq|sll|sll2|raw|null|loop] [--endian little|big] [--nsec]
 *          [--pcapng] [--count N] [--seed S] [--target ADDR[/LEN]]... [--snaplen N] [--pad]
 *          [--linktype N] [--base-time SECONDS] [--port P] [--gap-every N --gap-ms MS]
 *          -o IN.pcap [--expect OUT.pcap] [--expect-iri FILE] [--expect-dir FILE]
 *          [--expect-target ADDR[/LEN]]... [--expect-port P]
 *
 * IN.pcap holds a traffic mix: IPv4 and IPv6 TCP/UDP/ICMP with valid lengths and checksums, to
 * and from the targets, between other hosts, inside a target prefix and just outside it, short
 * Ethernet frames padded to 60 bytes, and non-IP frames (ARP, LLDP) that must be skipped.
 * --pad also appends a few trailer bytes after the IP packet in a quarter of the frames (any
 * link type), so a reader has to cut every packet to its IP total length. --snaplen cuts the
 * captured frames. --linktype writes raw IP frames under another link type number (to test the
 * refusal of unknown link types).
 *
 * --expect writes what lawtap-collector's cc.pcap must equal: LINKTYPE_RAW (101), microseconds,
 * little-endian, snaplen 262144, exactly the IP packets to or from a target, in order, cut to
 * the IP total length (or to what the capture holds), same time stamps truncated to µs, and
 * record length = captured length. --expect-iri writes one line "src,dst,sport,dport,proto" per
 * matched packet (addresses as inet_ntop prints them, ports empty for ICMP, proto as a number),
 * as lawtap-collector writes those columns of iri.csv. --expect-dir writes one line per matched
 * packet: "toTarget" when its destination is a target (also when both ends are), else
 * "fromTarget" (the PS-PDU payloadDirection; X2/X3 direction 2 and 3).
 * --port P adds P to the service ports of TCP/UDP packets (a fifth choice: traffic to or from
 * port 6667 for a BPF "port 6667" filter). --gap-every N --gap-ms MS leaves MS milliseconds of
 * silence after every N packets, so a replay at the recorded pace has quiet phases in which a
 * change can take effect. --expect-target (repeatable) makes the expected outputs hold only
 * packets to or from those addresses (default: the --target set; a packet must still involve a
 * --target to be "matched"), --expect-port P only TCP/UDP packets from or to port P: what one
 * warrant of several, or a warrant narrowed by a filter, must deliver.
 * Prints "packets=N matched=M non_ip=K cut=C padded=P expected=E" on stdout (matched: packets
 * to or from any --target; expected: records written to --expect).
 * Exit 0 ok, 2 usage or I/O error. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define MAX_TARGETS 64
#define MAX_FRAME 2048
#define EXPECT_SNAPLEN 262144

enum link { L_ETHER, L_VLAN, L_QINQ, L_SLL, L_SLL2, L_RAW, L_NULL, L_LOOP };

struct addr {
	int fam; /* 4 or 6 */
	uint8_t b[16];
};

struct target {
	struct addr a;
	int len;
};

struct opts {
	enum link link;
	int big, nsec, pcapng, pad;
	long count;
	uint64_t seed;
	uint32_t snaplen;
	long linktype; /* -1: the link's own */
	long long base_time;
	const char *out, *expect, *expect_iri, *expect_dir;
	struct target t[MAX_TARGETS];
	int nt;
	struct target et[MAX_TARGETS]; /* --expect-target */
	int net;
	long port, expect_port; /* 0 = none */
	long gap_every, gap_ms;
};

/* ---- PRNG: xorshift64*, fully determined by the seed ---- */
static uint64_t rng_state;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

static uint32_t rn(uint32_t n) /* 0..n-1 */
{
	return n ? (uint32_t)(rnd() % n) : 0;
}

/* ---- output with a chosen byte order ---- */
struct out {
	FILE *f;
	const char *path;
	int big;
	int err;
};

static void o_bytes(struct out *o, const void *p, size_t n)
{
	if (n && fwrite(p, 1, n, o->f) != n)
		o->err = errno ? errno : EIO;
}

static void o_u16(struct out *o, uint16_t v)
{
	uint8_t b[2];
	if (o->big) {
		b[0] = (uint8_t)(v >> 8);
		b[1] = (uint8_t)v;
	} else {
		b[0] = (uint8_t)v;
		b[1] = (uint8_t)(v >> 8);
	}
	o_bytes(o, b, 2);
}

static void o_u32(struct out *o, uint32_t v)
{
	uint8_t b[4];
	for (int i = 0; i < 4; i++)
		b[o->big ? 3 - i : i] = (uint8_t)(v >> (8 * i));
	o_bytes(o, b, 4);
}

static void o_pcap_header(struct out *o, int nsec, uint32_t snaplen, uint32_t linktype)
{
	o_u32(o, nsec ? 0xa1b23c4dU : 0xa1b2c3d4U);
	o_u16(o, 2);
	o_u16(o, 4);
	o_u32(o, 0); /* thiszone */
	o_u32(o, 0); /* sigfigs */
	o_u32(o, snaplen);
	o_u32(o, linktype);
}

static void o_pcap_record(struct out *o, int nsec, uint64_t sec, uint32_t ns, const uint8_t *p,
                          uint32_t caplen, uint32_t len)
{
	o_u32(o, (uint32_t)sec);
	o_u32(o, nsec ? ns : ns / 1000);
	o_u32(o, caplen);
	o_u32(o, len);
	o_bytes(o, p, caplen);
}

static void o_pcapng_header(struct out *o, int nsec, uint32_t snaplen, uint32_t linktype)
{
	static const uint8_t ffs[8] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	/* Section Header Block: no options */
	o_u32(o, 0x0A0D0D0AU);
	o_u32(o, 28);
	o_u32(o, 0x1A2B3C4DU); /* byte-order magic, in the section's order */
	o_u16(o, 1);
	o_u16(o, 0);
	o_bytes(o, ffs, 8); /* section length unknown */
	o_u32(o, 28);
	/* Interface Description Block, with if_tsresol = 9 (ns) when asked */
	uint32_t len = 20 + (nsec ? 12 : 0);
	o_u32(o, 1);
	o_u32(o, len);
	o_u16(o, (uint16_t)linktype);
	o_u16(o, 0);
	o_u32(o, snaplen);
	if (nsec) {
		static const uint8_t res[4] = {9, 0, 0, 0};
		o_u16(o, 9); /* if_tsresol */
		o_u16(o, 1);
		o_bytes(o, res, 4);
		o_u16(o, 0); /* opt_endofopt */
		o_u16(o, 0);
	}
	o_u32(o, len);
}

static void o_pcapng_record(struct out *o, int nsec, uint64_t sec, uint32_t ns, const uint8_t *p,
                            uint32_t caplen, uint32_t len)
{
	static const uint8_t zero[4] = {0, 0, 0, 0};
	uint32_t padded = (caplen + 3) & ~3U;
	uint32_t blen = 32 + padded;
	uint64_t ts = nsec ? sec * 1000000000ULL + ns : sec * 1000000ULL + ns / 1000;
	o_u32(o, 6); /* Enhanced Packet Block */
	o_u32(o, blen);
	o_u32(o, 0); /* interface 0 */
	o_u32(o, (uint32_t)(ts >> 32));
	o_u32(o, (uint32_t)ts);
	o_u32(o, caplen);
	o_u32(o, len);
	o_bytes(o, p, caplen);
	o_bytes(o, zero, padded - caplen);
	o_u32(o, blen);
}

/* ---- addresses and targets ---- */
static int parse_target(const char *s, struct target *t)
{
	char buf[128];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	if (n >= sizeof buf)
		return -1;
	memcpy(buf, s, n);
	buf[n] = 0;
	memset(t, 0, sizeof *t);
	if (inet_pton(AF_INET, buf, t->a.b) == 1)
		t->a.fam = 4;
	else if (inet_pton(AF_INET6, buf, t->a.b) == 1)
		t->a.fam = 6;
	else
		return -1;
	int max = t->a.fam == 4 ? 32 : 128;
	t->len = max;
	if (slash) {
		char *end;
		long l = strtol(slash + 1, &end, 10);
		if (*end || end == slash + 1 || l < 1 || l > max)
			return -1;
		t->len = (int)l;
	}
	for (int i = t->len; i < max; i++) /* clear host bits */
		t->a.b[i / 8] &= (uint8_t) ~(0x80U >> (i % 8));
	return 0;
}

static int in_prefix(const struct addr *a, const struct target *t)
{
	if (a->fam != t->a.fam)
		return 0;
	for (int i = 0; i < t->len; i++) {
		unsigned m = 0x80U >> (i % 8);
		if ((a->b[i / 8] & m) != (t->a.b[i / 8] & m))
			return 0;
	}
	return 1;
}

static int is_target(const struct opts *o, const struct addr *a)
{
	for (int i = 0; i < o->nt; i++)
		if (in_prefix(a, &o->t[i]))
			return 1;
	return 0;
}

/* In the expected outputs' target set (--expect-target, else --target). */
static int is_expect_target(const struct opts *o, const struct addr *a)
{
	if (!o->net)
		return is_target(o, a);
	for (int i = 0; i < o->net; i++)
		if (in_prefix(a, &o->et[i]))
			return 1;
	return 0;
}

static int alen(int fam)
{
	return fam == 4 ? 4 : 16;
}

static void addr_add(struct addr *a, int delta) /* +1 or -1 with carry */
{
	for (int i = alen(a->fam) - 1; i >= 0; i--) {
		int v = a->b[i] + delta;
		a->b[i] = (uint8_t)v;
		if (v >= 0 && v <= 255)
			break;
	}
}

/* An address inside target t (host bits random, avoiding all-zero/all-one host parts). */
static struct addr inside(const struct target *t)
{
	struct addr a = t->a;
	int max = alen(a.fam) * 8;
	if (t->len == max)
		return a;
	for (int i = t->len; i < max; i++)
		if (rn(2))
			a.b[i / 8] |= (uint8_t)(0x80U >> (i % 8));
	if (max - t->len >= 2) { /* force the last bit to 1, a middle bit to 0: never all 0 or 1 */
		a.b[(max - 1) / 8] |= 1;
		a.b[t->len / 8] &= (uint8_t) ~(0x80U >> (t->len % 8));
	}
	return a;
}

/* An address just outside target t: one below its first or one above its last address. */
static struct addr outside(const struct target *t)
{
	struct addr a = t->a;
	int max = alen(a.fam) * 8;
	if (rn(2)) {
		addr_add(&a, -1);
	} else {
		for (int i = t->len; i < max; i++)
			a.b[i / 8] |= (uint8_t)(0x80U >> (i % 8));
		addr_add(&a, +1);
	}
	return a;
}

static struct addr other(int fam)
{
	struct addr a = {.fam = fam};
	if (fam == 4) {
		static const uint8_t nets[3][3] = {{192, 0, 2}, {198, 51, 100}, {203, 0, 113}};
		const uint8_t *n = nets[rn(3)];
		a.b[0] = n[0];
		a.b[1] = n[1];
		a.b[2] = n[2];
		a.b[3] = (uint8_t)(1 + rn(254));
	} else {
		static const uint8_t pre[6] = {0x20, 0x01, 0x0d, 0xb8, 0xbe, 0xef};
		memcpy(a.b, pre, 6);
		for (int i = 6; i < 16; i++)
			a.b[i] = (uint8_t)rn(256);
		if (rn(2))
			memset(a.b + 8, 0, 7); /* some short ones: 2001:db8:beef:xxxx::N */
		a.b[15] |= 1;
	}
	return a;
}

/* ---- packet building ---- */
static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static uint32_t sum_add(uint32_t s, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

static uint16_t sum_fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

struct pkt {
	struct addr src, dst;
	int proto; /* 6, 17, 1 or 58 */
	uint16_t sport, dport;
	uint8_t ip[MAX_FRAME];
	size_t iplen;
};

/* Fills p->ip from the fields and a payload of plen random bytes. */
static void build_ip(struct pkt *p, size_t plen)
{
	uint8_t l4[MAX_FRAME];
	size_t l4len;
	int v6 = p->src.fam == 6;
	if (p->proto == 6) {
		static const uint8_t flags[] = {0x02, 0x12, 0x10, 0x18, 0x11};
		memset(l4, 0, 20);
		put16(l4, p->sport);
		put16(l4 + 2, p->dport);
		put32(l4 + 4, (uint32_t)rnd());
		put32(l4 + 8, (uint32_t)rnd());
		l4[12] = 5 << 4;
		l4[13] = flags[rn(sizeof flags)];
		put16(l4 + 14, 65535);
		l4len = 20;
	} else if (p->proto == 17) {
		memset(l4, 0, 8);
		put16(l4, p->sport);
		put16(l4 + 2, p->dport);
		l4len = 8;
	} else { /* ICMP / ICMPv6 echo request or reply */
		memset(l4, 0, 8);
		l4[0] = v6 ? (uint8_t)(rn(2) ? 128 : 129) : (uint8_t)(rn(2) ? 8 : 0);
		put16(l4 + 4, (uint16_t)rnd());
		put16(l4 + 6, (uint16_t)rn(1000));
		l4len = 8;
	}
	for (size_t i = 0; i < plen; i++)
		l4[l4len + i] = (uint8_t)(' ' + rn(95)); /* printable: clean for dissectors */
	l4len += plen;
	if (p->proto == 17)
		put16(l4 + 4, (uint16_t)l4len);

	/* checksums: TCP/UDP/ICMPv6 with the pseudo header, ICMPv4 without */
	uint32_t s = 0;
	if (p->proto != 1) {
		uint8_t ph[8];
		s = sum_add(s, p->src.b, (size_t)alen(p->src.fam));
		s = sum_add(s, p->dst.b, (size_t)alen(p->dst.fam));
		if (v6) {
			put32(ph, (uint32_t)l4len);
			put32(ph + 4, (uint32_t)p->proto);
		} else {
			ph[0] = 0;
			ph[1] = (uint8_t)p->proto;
			put16(ph + 2, (uint16_t)l4len);
		}
		s = sum_add(s, ph, v6 ? 8 : 4);
	}
	s = sum_add(s, l4, l4len);
	uint16_t ck = sum_fold(s);
	if (p->proto == 17 && ck == 0)
		ck = 0xffff;
	put16(l4 + (p->proto == 6 ? 16 : p->proto == 17 ? 6 : 2), ck);

	if (v6) {
		uint8_t *h = p->ip;
		uint32_t flow = rn(2) ? (uint32_t)rn(0x100000) : 0;
		put32(h, 0x60000000U | flow);
		put16(h + 4, (uint16_t)l4len);
		h[6] = (uint8_t)p->proto;
		h[7] = 64;
		memcpy(h + 8, p->src.b, 16);
		memcpy(h + 24, p->dst.b, 16);
		memcpy(h + 40, l4, l4len);
		p->iplen = 40 + l4len;
	} else {
		uint8_t *h = p->ip;
		memset(h, 0, 20);
		h[0] = 0x45;
		put16(h + 2, (uint16_t)(20 + l4len));
		put16(h + 4, (uint16_t)rnd());
		put16(h + 6, 0x4000); /* DF */
		h[8] = 64;
		h[9] = (uint8_t)p->proto;
		memcpy(h + 12, p->src.b, 4);
		memcpy(h + 16, p->dst.b, 4);
		put16(h + 10, sum_fold(sum_add(0, h, 20)));
		memcpy(h + 20, l4, l4len);
		p->iplen = 20 + l4len;
	}
}

static const uint8_t mac_a[6] = {0x02, 0x00, 0x5e, 0x10, 0x00, 0x01};
static const uint8_t mac_b[6] = {0x02, 0x00, 0x5e, 0x10, 0x00, 0x02};

static int has_type_field(enum link l)
{
	return l == L_ETHER || l == L_VLAN || l == L_QINQ || l == L_SLL || l == L_SLL2;
}

static uint32_t link_dlt(enum link l)
{
	switch (l) {
	case L_ETHER:
	case L_VLAN:
	case L_QINQ:
		return 1;
	case L_SLL:
		return 113;
	case L_SLL2:
		return 276;
	case L_RAW:
		return 101;
	case L_NULL:
		return 0;
	case L_LOOP:
		return 108;
	}
	return 101;
}

/* Writes the link header for a payload of ethertype et into f; returns its length. */
static size_t link_header(const struct opts *o, uint8_t *f, uint16_t et, int outgoing)
{
	size_t n = 0;
	if (o->linktype >= 0)
		return 0;
	switch (o->link) {
	case L_ETHER:
	case L_VLAN:
	case L_QINQ:
		memcpy(f, outgoing ? mac_b : mac_a, 6);
		memcpy(f + 6, outgoing ? mac_a : mac_b, 6);
		n = 12;
		if (o->link == L_QINQ) {
			put16(f + n, rn(2) ? 0x88a8 : 0x8100); /* S-tag (or a doubled C-tag) */
			put16(f + n + 2, (uint16_t)(100 + rn(10)));
			n += 4;
		}
		if (o->link != L_ETHER) {
			put16(f + n, 0x8100);
			put16(f + n + 2, (uint16_t)((rn(8) << 13) | (10 + rn(20))));
			n += 4;
		}
		put16(f + n, et);
		return n + 2;
	case L_SLL:
		put16(f, outgoing ? 4 : 0);
		put16(f + 2, 1); /* ARPHRD_ETHER */
		put16(f + 4, 6);
		memset(f + 6, 0, 8);
		memcpy(f + 6, outgoing ? mac_a : mac_b, 6);
		put16(f + 14, et);
		return 16;
	case L_SLL2:
		put16(f, et);
		put16(f + 2, 0);
		put32(f + 4, 2); /* ifindex */
		put16(f + 8, 1);
		f[10] = outgoing ? 4 : 0;
		f[11] = 6;
		memset(f + 12, 0, 8);
		memcpy(f + 12, outgoing ? mac_a : mac_b, 6);
		return 20;
	case L_NULL:
	case L_LOOP: {
		static const uint32_t af6[3] = {24, 28, 30}; /* BSD AF_INET6 values */
		uint32_t af = et == 0x0800 ? 2 : et == 0x86DD ? af6[rn(3)] : 7;
		/* DLT_NULL: the writer's host byte order (= the file's); DLT_LOOP: network order */
		if (o->link == L_LOOP || o->big)
			put32(f, af);
		else
			for (int i = 0; i < 4; i++)
				f[i] = (uint8_t)(af >> (8 * i));
		return 4;
	}
	case L_RAW:
		return 0;
	}
	return 0;
}

static void usage(void)
{
	fprintf(
	    stderr,
	    "usage: mkpcap [--link ether|vlan|qinq|sll|sll2|raw|null|loop] [--endian little|big]\n"
	    "              [--nsec] [--pcapng] [--count N] [--seed S] [--target ADDR[/LEN]]...\n"
	    "              [--snaplen N] [--pad] [--linktype N] [--base-time SECONDS]\n"
	    "              [--port P] [--gap-every N --gap-ms MS]\n"
	    "              -o IN.pcap [--expect OUT.pcap] [--expect-iri FILE]\n"
	    "              [--expect-dir FILE] [--expect-target ADDR[/LEN]]... [--expect-port "
	    "P]\n");
	exit(2);
}

static long num(const char *opt, const char *s, long lo, long hi)
{
	char *end;
	errno = 0;
	long long v = strtoll(s ? s : "", &end, 0);
	if (!s || !*s || *end || errno || v < lo || v > hi) {
		fprintf(stderr, "mkpcap: %s needs a number in %ld..%ld, got '%s'\n", opt, lo, hi,
		        s ? s : "");
		exit(2);
	}
	return (long)v;
}

static void parse_args(int argc, char **argv, struct opts *o)
{
	static const char *links[] = {"ether", "vlan", "qinq", "sll",
	                              "sll2",  "raw",  "null", "loop"};
	memset(o, 0, sizeof *o);
	o->count = 200;
	o->seed = 1;
	o->snaplen = 65535;
	o->linktype = -1;
	o->base_time = 1772323200; /* 2026-03-01T00:00:00Z */
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--link")) {
			size_t k;
			for (k = 0; k < sizeof links / sizeof *links; k++)
				if (v && !strcmp(v, links[k]))
					break;
			if (k == sizeof links / sizeof *links) {
				fprintf(stderr, "mkpcap: unknown --link '%s'\n", v ? v : "");
				exit(2);
			}
			o->link = (enum link)k;
			i++;
		} else if (!strcmp(a, "--endian")) {
			if (!v || (strcmp(v, "little") && strcmp(v, "big")))
				usage();
			o->big = !strcmp(v, "big");
			i++;
		} else if (!strcmp(a, "--nsec")) {
			o->nsec = 1;
		} else if (!strcmp(a, "--pcapng")) {
			o->pcapng = 1;
		} else if (!strcmp(a, "--pad")) {
			o->pad = 1;
		} else if (!strcmp(a, "--count")) {
			o->count = num(a, v, 0, 10000000);
			i++;
		} else if (!strcmp(a, "--seed")) {
			o->seed = (uint64_t)num(a, v, 0, 0x7fffffffL);
			i++;
		} else if (!strcmp(a, "--snaplen")) {
			o->snaplen = (uint32_t)num(a, v, 64, 262144);
			i++;
		} else if (!strcmp(a, "--linktype")) {
			o->linktype = num(a, v, 0, 65535);
			i++;
		} else if (!strcmp(a, "--base-time")) {
			o->base_time = num(a, v, 0, 0xffffff00L);
			i++;
		} else if (!strcmp(a, "--target")) {
			if (!v || o->nt == MAX_TARGETS || parse_target(v, &o->t[o->nt])) {
				fprintf(stderr, "mkpcap: bad --target '%s' (ADDR[/LEN])\n",
				        v ? v : "");
				exit(2);
			}
			o->nt++;
			i++;
		} else if (!strcmp(a, "--expect-target")) {
			if (!v || o->net == MAX_TARGETS || parse_target(v, &o->et[o->net])) {
				fprintf(stderr, "mkpcap: bad --expect-target '%s' (ADDR[/LEN])\n",
				        v ? v : "");
				exit(2);
			}
			o->net++;
			i++;
		} else if (!strcmp(a, "--port")) {
			o->port = num(a, v, 1, 65535);
			i++;
		} else if (!strcmp(a, "--expect-port")) {
			o->expect_port = num(a, v, 1, 65535);
			i++;
		} else if (!strcmp(a, "--gap-every")) {
			o->gap_every = num(a, v, 1, 10000000);
			i++;
		} else if (!strcmp(a, "--gap-ms")) {
			o->gap_ms = num(a, v, 0, 3600000);
			i++;
		} else if (!strcmp(a, "-o")) {
			o->out = v;
			i++;
		} else if (!strcmp(a, "--expect")) {
			o->expect = v;
			i++;
		} else if (!strcmp(a, "--expect-iri")) {
			o->expect_iri = v;
			i++;
		} else if (!strcmp(a, "--expect-dir")) {
			o->expect_dir = v;
			i++;
		} else {
			usage();
		}
		if (i >= argc)
			usage();
	}
	if (!o->out || (!o->gap_every != !o->gap_ms))
		usage();
}

static FILE *open_out(const char *path)
{
	FILE *f = fopen(path, "wb");
	if (!f) {
		fprintf(stderr, "mkpcap: %s: %s\n", path, strerror(errno));
		exit(2);
	}
	return f;
}

static int close_out(struct out *o)
{
	if (!o->f)
		return 0;
	if (fclose(o->f) != 0 && !o->err)
		o->err = errno ? errno : EIO;
	if (o->err) {
		fprintf(stderr, "mkpcap: writing %s: %s\n", o->path, strerror(o->err));
		return -1;
	}
	return 0;
}

/* Picks an endpoint of one of four kinds for family fam. */
enum kind { K_TARGET, K_NEAR, K_OTHER };

static struct addr endpoint(const struct opts *o, int fam, enum kind k)
{
	int idx[MAX_TARGETS], n = 0;
	for (int i = 0; i < o->nt; i++)
		if (o->t[i].a.fam == fam)
			idx[n++] = i;
	if (!n || k == K_OTHER)
		return other(fam);
	const struct target *t = &o->t[idx[rn((uint32_t)n)]];
	return k == K_TARGET ? inside(t) : outside(t);
}

int main(int argc, char **argv)
{
	struct opts o;
	parse_args(argc, argv, &o);
	rng_state = o.seed * 0x9E3779B97F4A7C15ULL + 0x1234567ULL;
	if (!rng_state)
		rng_state = 1;

	struct out in = {.f = open_out(o.out), .path = o.out, .big = o.big};
	struct out ex = {0}, iri = {0}, dir = {0};
	uint32_t dlt = o.linktype >= 0 ? (uint32_t)o.linktype : link_dlt(o.link);
	if (o.pcapng)
		o_pcapng_header(&in, o.nsec, o.snaplen, dlt);
	else
		o_pcap_header(&in, o.nsec, o.snaplen, dlt);
	if (o.expect) {
		ex.f = open_out(o.expect);
		ex.path = o.expect;
		o_pcap_header(&ex, 0, EXPECT_SNAPLEN, 101);
	}
	if (o.expect_iri) {
		iri.f = open_out(o.expect_iri);
		iri.path = o.expect_iri;
	}
	if (o.expect_dir) {
		dir.f = open_out(o.expect_dir);
		dir.path = o.expect_dir;
	}

	int fams[2] = {0, 0}; /* targets per family */
	for (int i = 0; i < o.nt; i++)
		fams[o.t[i].a.fam == 6]++;

	long matched = 0, non_ip = 0, cut = 0, padded = 0, expected = 0;
	uint64_t sec = (uint64_t)o.base_time;
	uint32_t ns = 0;
	for (long i = 0; i < o.count; i++) {
		/* time: 1 µs .. 40 ms after the previous packet, any ns when --nsec */
		uint64_t step = 1000 + (uint64_t)rn(40000000);
		if (!o.nsec)
			step -= step % 1000;
		ns += (uint32_t)(step % 1000000000);
		sec += step / 1000000000 + ns / 1000000000;
		ns %= 1000000000;
		if (!o.nsec)
			ns -= ns % 1000;
		if (o.gap_every && i > 0 && i % o.gap_every == 0) /* a quiet phase */
			sec += (uint64_t)o.gap_ms / 1000,
			    ns += (uint32_t)(o.gap_ms % 1000) * 1000000;
		sec += ns / 1000000000;
		ns %= 1000000000;

		uint8_t frame[MAX_FRAME + 64];
		size_t flen, hlen;
		int outgoing = (int)rn(2);
		struct pkt p;
		int is_ip = !(has_type_field(o.link) && o.linktype < 0 && rn(100) < 6);
		if (!is_ip) {
			int lldp = rn(4) == 0; /* or a local experimental ethertype */
			hlen = link_header(&o, frame, lldp ? 0x88b5 : 0x0806, outgoing);
			uint8_t *b = frame + hlen;
			size_t bl = lldp ? 14 : 28;
			for (size_t k = 0; k < bl; k++)
				b[k] = (uint8_t)rn(256);
			if (!lldp) { /* ARP request/reply, Ethernet/IPv4 */
				put16(b, 1);
				put16(b + 2, 0x0800);
				b[4] = 6;
				b[5] = 4;
				put16(b + 6, (uint16_t)(1 + rn(2)));
			}
			flen = hlen + bl;
			non_ip++;
		} else {
			int fam;
			if (fams[0] && fams[1])
				fam = rn(2) ? 6 : 4;
			else if (fams[0] || fams[1])
				fam = rn(4) ? (fams[1] ? 6 : 4) : (fams[1] ? 4 : 6);
			else
				fam = rn(2) ? 6 : 4;
			unsigned r = rn(100);
			enum kind ks, kd;
			if (r < 35) {
				ks = K_TARGET;
				kd = K_OTHER;
			} else if (r < 70) {
				ks = K_OTHER;
				kd = K_TARGET;
			} else if (r < 75) {
				ks = K_TARGET;
				kd = K_TARGET;
			} else if (r < 85) {
				ks = rn(2) ? K_NEAR : K_OTHER;
				kd = ks == K_NEAR ? K_OTHER : K_NEAR;
			} else {
				ks = K_OTHER;
				kd = K_OTHER;
			}
			memset(&p, 0, sizeof p);
			p.src = endpoint(&o, fam, ks);
			p.dst = endpoint(&o, fam, kd);
			unsigned pr = rn(100);
			p.proto = pr < 45 ? 6 : pr < 85 ? 17 : (fam == 6 ? 58 : 1);
			if (p.proto != 1 && p.proto != 58) {
				static const uint16_t well[] = {7, 9, 12345,
				                                33333}; /* no dissector chokes */
				uint32_t nw = sizeof well / sizeof *well;
				uint32_t w = rn(o.port ? nw + 1 : nw);
				uint16_t svc = w < nw ? well[w] : (uint16_t)o.port;
				uint16_t eph = (uint16_t)(32768 + rn(28000));
				p.sport = rn(2) ? svc : eph;
				p.dport = p.sport == svc ? eph : svc;
			}
			unsigned lr = rn(100);
			size_t plen = lr < 30 ? rn(9) : lr < 85 ? 9 + rn(392) : 401 + rn(1000);
			build_ip(&p, plen);
			hlen = link_header(&o, frame, fam == 6 ? 0x86DD : 0x0800, outgoing);
			memcpy(frame + hlen, p.ip, p.iplen);
			flen = hlen + p.iplen;
			if (o.pad && rn(4) == 0) { /* trailer after the IP packet (e.g. an FCS) */
				size_t tl = 1 + rn(6);
				for (size_t k = 0; k < tl; k++)
					frame[flen + k] = (uint8_t)rn(256);
				flen += tl;
				padded++;
			}
		}
		int ether =
		    o.linktype < 0 && (o.link == L_ETHER || o.link == L_VLAN || o.link == L_QINQ);
		if (ether && flen < 60) { /* minimum Ethernet frame: zero padding */
			memset(frame + flen, 0, 60 - flen);
			flen = 60;
			padded++;
		}
		uint32_t caplen = flen < o.snaplen ? (uint32_t)flen : o.snaplen;
		if (o.pcapng)
			o_pcapng_record(&in, o.nsec, sec, ns, frame, caplen, (uint32_t)flen);
		else
			o_pcap_record(&in, o.nsec, sec, ns, frame, caplen, (uint32_t)flen);

		if (!is_ip)
			continue;
		size_t ipcap = caplen > hlen ? caplen - hlen : 0;
		size_t n = p.iplen < ipcap ? p.iplen : ipcap;
		if (n < p.iplen)
			cut++;
		if (!is_target(&o, &p.src) && !is_target(&o, &p.dst))
			continue;
		matched++;
		if (!is_expect_target(&o, &p.src) && !is_expect_target(&o, &p.dst))
			continue;
		if (o.expect_port && !((p.proto == 6 || p.proto == 17) &&
		                       (p.sport == o.expect_port || p.dport == o.expect_port)))
			continue;
		expected++;
		if (ex.f)
			o_pcap_record(&ex, 0, sec, ns - ns % 1000, frame + hlen, (uint32_t)n,
			              (uint32_t)n);
		if (iri.f) {
			char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
			int af = p.src.fam == 6 ? AF_INET6 : AF_INET;
			inet_ntop(af, p.src.b, s, sizeof s);
			inet_ntop(af, p.dst.b, d, sizeof d);
			char sp[8] = "", dp[8] = ""; /* ports only for TCP and UDP */
			if (p.proto == 6 || p.proto == 17) {
				snprintf(sp, sizeof sp, "%u", p.sport);
				snprintf(dp, sizeof dp, "%u", p.dport);
			}
			if (fprintf(iri.f, "%s,%s,%s,%s,%d\n", s, d, sp, dp, p.proto) < 0)
				iri.err = errno ? errno : EIO;
		}
		if (dir.f &&
		    fputs(is_expect_target(&o, &p.dst) ? "toTarget\n" : "fromTarget\n", dir.f) < 0)
			dir.err = errno ? errno : EIO;
	}
	int bad = close_out(&in) | close_out(&ex) | close_out(&iri) | close_out(&dir);
	if (bad)
		return 2;
	printf("packets=%ld matched=%ld non_ip=%ld cut=%ld padded=%ld expected=%ld\n", o.count,
	       matched, non_ip, cut, padded, expected);
	return 0;
}

/* iap/link.c: from a captured frame to the IP packet inside it, and the IP header facts.
 * Every byte is read through lib/wire.h's bounds-checked reader. */
#include "iap.h"

#include "lib/wire.h"

#include <string.h>

/* libpcap DLT_* values (as pcap_datalink reports them; LINKTYPE_RAW 101 maps to DLT_RAW, but
 * accept 101 too for callers that pass file link types). */
#define L_NULL 0
#define L_EN10MB 1
#define L_RAW 12
#define L_RAW_OPENBSD 14
#define L_RAW_LINKTYPE 101
#define L_LOOP 108
#define L_SLL 113
#define L_IPV4 228
#define L_IPV6 229
#define L_SLL2 276

#define ET_IPV4 0x0800
#define ET_IPV6 0x86dd
#define ET_8021Q 0x8100
#define ET_8021AD 0x88a8
#define ET_QINQ_OLD 0x9100

int iap_link_supported(int linktype)
{
	switch (linktype) {
	case L_NULL:
	case L_EN10MB:
	case L_RAW:
	case L_RAW_OPENBSD:
	case L_RAW_LINKTYPE:
	case L_LOOP:
	case L_SLL:
	case L_IPV4:
	case L_IPV6:
	case L_SLL2:
		return 1;
	default:
		return 0;
	}
}

/* Checks the IP header at the reader's position (want: 4, 6 or 0 = by version nibble) and fills
 * out with the packet's extent within the frame. */
static int ip_extent(struct lt_wire_rd *r, int want, struct iap_ip *out)
{
	size_t off = lt_wire_rd_pos(r);
	size_t avail = lt_wire_avail(r);
	struct lt_wire_rd h = *r;
	if (avail < 1)
		return IAP_LINK_SHORT;
	uint8_t v = lt_wire_u8(&h);
	int family = v >> 4;
	if ((family != 4 && family != 6) || (want && family != want))
		return IAP_LINK_NOT_IP;
	size_t total;
	if (family == 4) {
		size_t ihl = (size_t)(v & 0x0f) * 4;
		lt_wire_skip(&h, 1);
		total = lt_wire_u16(&h);
		if (ihl < 20)
			return IAP_LINK_NOT_IP;
		if (lt_wire_rd_err(&h) || avail < 20)
			return IAP_LINK_SHORT;
		if (total < ihl)
			return IAP_LINK_NOT_IP;
	} else {
		lt_wire_skip(&h, 3);
		uint16_t plen = lt_wire_u16(&h);
		if (lt_wire_rd_err(&h) || avail < 40)
			return IAP_LINK_SHORT;
		/* Payload length 0 is a jumbogram (RFC 2675) or junk: keep what was captured. */
		total = plen ? 40 + (size_t)plen : avail;
	}
	out->off = off;
	out->family = family;
	out->cut = total > avail;
	out->len = out->cut ? avail : total;
	return IAP_LINK_OK;
}

/* Walks any stack of VLAN tags after an EtherType, then the IP header. */
static int after_ethertype(struct lt_wire_rd *r, uint16_t et, struct iap_ip *out)
{
	for (int depth = 0; et == ET_8021Q || et == ET_8021AD || et == ET_QINQ_OLD; depth++) {
		if (depth >= IAP_VLAN_MAX_DEPTH)
			return IAP_LINK_NOT_IP;
		lt_wire_skip(r, 2); /* TCI */
		et = lt_wire_u16(r);
		if (lt_wire_rd_err(r))
			return IAP_LINK_SHORT;
	}
	if (et == ET_IPV4)
		return ip_extent(r, 4, out);
	if (et == ET_IPV6)
		return ip_extent(r, 6, out);
	return IAP_LINK_NOT_IP;
}

/* BSD loopback address family values for IPv6 differ by OS (24 NetBSD/OpenBSD, 28 FreeBSD,
 * 30 macOS); AF_INET is 2 everywhere. */
static int bsd_family(uint32_t af)
{
	if (af == 2)
		return 4;
	if (af == 24 || af == 28 || af == 30)
		return 6;
	return 0;
}

int iap_link_decode(int linktype, const uint8_t *frame, size_t caplen, struct iap_ip *out)
{
	struct lt_wire_rd r = lt_wire_rd_init(frame, caplen);
	uint16_t et;
	memset(out, 0, sizeof *out);
	switch (linktype) {
	case L_EN10MB:
		lt_wire_skip(&r, 12); /* destination, source MAC */
		et = lt_wire_u16(&r);
		if (lt_wire_rd_err(&r))
			return IAP_LINK_SHORT;
		return after_ethertype(&r, et, out);
	case L_SLL: /* packet type, ARPHRD, address length, 8 address bytes, protocol */
		lt_wire_skip(&r, 14);
		et = lt_wire_u16(&r);
		if (lt_wire_rd_err(&r))
			return IAP_LINK_SHORT;
		return after_ethertype(&r, et, out);
	case L_SLL2: /* protocol, reserved, ifindex, ARPHRD, packet type, address length, 8 bytes */
		et = lt_wire_u16(&r);
		lt_wire_skip(&r, 18);
		if (lt_wire_rd_err(&r))
			return IAP_LINK_SHORT;
		return after_ethertype(&r, et, out);
	case L_RAW:
	case L_RAW_OPENBSD:
	case L_RAW_LINKTYPE:
		return ip_extent(&r, 0, out);
	case L_IPV4:
		return ip_extent(&r, 4, out);
	case L_IPV6:
		return ip_extent(&r, 6, out);
	case L_NULL: {
		/* The family word is in the byte order of the host that wrote the file. */
		const uint8_t *p = lt_wire_take(&r, 4);
		if (!p)
			return IAP_LINK_SHORT;
		uint32_t be =
		    ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
		uint32_t le =
		    ((uint32_t)p[3] << 24) | ((uint32_t)p[2] << 16) | ((uint32_t)p[1] << 8) | p[0];
		int fam = bsd_family(be);
		if (!fam)
			fam = bsd_family(le);
		return fam ? ip_extent(&r, fam, out) : IAP_LINK_NOT_IP;
	}
	case L_LOOP: {
		uint32_t af = lt_wire_u32(&r);
		if (lt_wire_rd_err(&r))
			return IAP_LINK_SHORT;
		int fam = bsd_family(af);
		return fam ? ip_extent(&r, fam, out) : IAP_LINK_NOT_IP;
	}
	default:
		return IAP_LINK_UNSUPPORTED;
	}
}

/* IPv6 extension headers walked to reach TCP/UDP (RFC 8200 4.1): hop-by-hop, routing,
 * destination options, fragment. Anything else ends the walk. */
#define V6_HOPOPT 0
#define V6_ROUTING 43
#define V6_FRAGMENT 44
#define V6_DSTOPTS 60
#define V6_EXT_MAX 8
#define PROTO_TCP 6
#define PROTO_UDP 17

static void read_ports(struct lt_wire_rd *r, struct iap_pkt_facts *f)
{
	if (f->proto != PROTO_TCP && f->proto != PROTO_UDP)
		return;
	uint16_t sp = lt_wire_u16(r);
	uint16_t dp = lt_wire_u16(r);
	if (lt_wire_rd_err(r))
		return;
	f->has_ports = 1;
	f->sport = sp;
	f->dport = dp;
}

static int facts_v4(struct lt_wire_rd *r, struct iap_pkt_facts *f)
{
	uint8_t v = lt_wire_u8(r);
	size_t ihl = (size_t)(v & 0x0f) * 4;
	lt_wire_skip(r, 5);
	uint16_t frag = lt_wire_u16(r);
	lt_wire_skip(r, 1);
	f->proto = lt_wire_u8(r);
	lt_wire_skip(r, 2);
	lt_wire_read(r, f->src, 4);
	lt_wire_read(r, f->dst, 4);
	if (lt_wire_rd_err(r))
		return IAP_LINK_SHORT;
	if (ihl < 20)
		return IAP_LINK_NOT_IP;
	lt_wire_skip(r, ihl - 20);
	if ((frag & 0x1fff) == 0) /* only the first fragment carries the ports */
		read_ports(r, f);
	return 0;
}

static int facts_v6(struct lt_wire_rd *r, struct iap_pkt_facts *f)
{
	lt_wire_skip(r, 6);
	uint8_t nh = lt_wire_u8(r);
	lt_wire_skip(r, 1);
	lt_wire_read(r, f->src, 16);
	lt_wire_read(r, f->dst, 16);
	if (lt_wire_rd_err(r))
		return IAP_LINK_SHORT;
	for (int i = 0; i < V6_EXT_MAX; i++) {
		if (nh == V6_HOPOPT || nh == V6_ROUTING || nh == V6_DSTOPTS) {
			uint8_t next = lt_wire_u8(r);
			uint8_t hlen = lt_wire_u8(r);
			lt_wire_skip(r, 6 + (size_t)hlen * 8);
			if (lt_wire_rd_err(r))
				break;
			nh = next;
		} else if (nh == V6_FRAGMENT) {
			uint8_t next = lt_wire_u8(r);
			lt_wire_skip(r, 1);
			uint16_t off = lt_wire_u16(r);
			lt_wire_skip(r, 4);
			if (lt_wire_rd_err(r))
				break;
			nh = next;
			if (off & 0xfff8) { /* not the first fragment: no ports here */
				f->proto = nh;
				return 0;
			}
		} else {
			break;
		}
	}
	f->proto = nh;
	if (!lt_wire_rd_err(r))
		read_ports(r, f);
	return 0;
}

int iap_ip_facts(const uint8_t *ip, size_t len, struct iap_pkt_facts *f)
{
	struct lt_wire_rd r = lt_wire_rd_init(ip, len);
	memset(f, 0, sizeof *f);
	struct lt_wire_rd peek = r;
	uint8_t v = lt_wire_u8(&peek);
	if (lt_wire_rd_err(&peek))
		return IAP_LINK_SHORT;
	f->family = v >> 4;
	if (f->family == 4)
		return facts_v4(&r, f);
	if (f->family == 6)
		return facts_v6(&r, f);
	return IAP_LINK_NOT_IP;
}

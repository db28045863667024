/* Unit tests for iap/link.c: every link type, both byte orders of DLT_NULL, stacked VLANs,
 * padding removed, truncated frames, garbage, and the IP header facts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "iap/iap.h"

/* An IPv4 packet: 20-byte header (proto, src 10.0.0.1, dst 10.0.0.2) + plen payload bytes. */
static size_t ip4(uint8_t *b, uint8_t proto, size_t plen)
{
	size_t tot = 20 + plen;
	memset(b, 0, tot);
	b[0] = 0x45;
	b[2] = (uint8_t)(tot >> 8);
	b[3] = (uint8_t)tot;
	b[8] = 64;
	b[9] = proto;
	b[12] = 10, b[15] = 1;
	b[16] = 10, b[19] = 2;
	for (size_t i = 0; i < plen; i++)
		b[20 + i] = (uint8_t)(0xa0 + i);
	return tot;
}

/* An IPv6 packet: 40-byte header (next header nh, 2001:db8::1 -> 2001:db8::2) + plen bytes. */
static size_t ip6(uint8_t *b, uint8_t nh, size_t plen)
{
	memset(b, 0, 40 + plen);
	b[0] = 0x60;
	b[4] = (uint8_t)(plen >> 8);
	b[5] = (uint8_t)plen;
	b[6] = nh;
	b[7] = 64;
	b[8] = 0x20, b[9] = 0x01, b[10] = 0x0d, b[11] = 0xb8, b[23] = 1;
	b[24] = 0x20, b[25] = 0x01, b[26] = 0x0d, b[27] = 0xb8, b[39] = 2;
	return 40 + plen;
}

static void expect_ip(int lt, const uint8_t *f, size_t len, size_t off, size_t iplen, int fam,
                      int cut)
{
	struct iap_ip ip;
	int rc = iap_link_decode(lt, f, len, &ip);
	if (rc != IAP_LINK_OK)
		fail_msg("link %d len %zu: rc %d", lt, len, rc);
	assert_int_equal(ip.off, off);
	assert_int_equal(ip.len, iplen);
	assert_int_equal(ip.family, fam);
	assert_int_equal(ip.cut, cut);
}

static void expect_rc(int lt, const uint8_t *f, size_t len, int want)
{
	struct iap_ip ip;
	int rc = iap_link_decode(lt, f, len, &ip);
	if (rc != want)
		fail_msg("link %d len %zu: rc %d, want %d", lt, len, rc, want);
}

static size_t eth_hdr(uint8_t *f, const uint16_t *tags, size_t ntags, uint16_t et)
{
	size_t o = 12;
	memset(f, 0x11, 12);
	for (size_t i = 0; i < ntags; i++) {
		f[o++] = (uint8_t)(tags[i] >> 8);
		f[o++] = (uint8_t)tags[i];
		f[o++] = 0x00;
		f[o++] = (uint8_t)(i + 1); /* VLAN id */
	}
	f[o++] = (uint8_t)(et >> 8);
	f[o++] = (uint8_t)et;
	return o;
}

static void test_ethernet(void **state)
{
	uint8_t f[256];
	size_t h = eth_hdr(f, NULL, 0, 0x0800);
	size_t n = ip4(f + h, 17, 8);
	memset(f + h + n, 0, 60 - h - n); /* Ethernet minimum frame padding */
	expect_ip(1, f, 60, 14, 28, 4, 0);
	h = eth_hdr(f, NULL, 0, 0x86dd);
	n = ip6(f + h, 17, 8);
	f[h + n] = 0xee; /* trailing FCS-like byte is not part of the packet */
	expect_ip(1, f, h + n + 1, 14, 48, 6, 0);
	h = eth_hdr(f, NULL, 0, 0x0806); /* ARP */
	memset(f + h, 0, 28);
	expect_rc(1, f, h + 28, IAP_LINK_NOT_IP);
	h = eth_hdr(f, NULL, 0, 0x0040); /* 802.3 length field */
	expect_rc(1, f, h + 64, IAP_LINK_NOT_IP);
	h = eth_hdr(f, NULL, 0, 0x0800); /* EtherType IPv4 carrying an IPv6 header */
	n = ip6(f + h, 17, 8);
	expect_rc(1, f, h + n, IAP_LINK_NOT_IP);
}

static void test_vlans(void **state)
{
	uint8_t f[512];
	static const uint16_t one[] = {0x8100};
	static const uint16_t qinq[] = {0x88a8, 0x8100};
	static const uint16_t old[] = {0x9100, 0x9100, 0x8100};
	uint16_t deep[IAP_VLAN_MAX_DEPTH + 1];
	for (size_t i = 0; i < IAP_VLAN_MAX_DEPTH + 1; i++)
		deep[i] = (i % 2) ? 0x8100 : 0x88a8;
	size_t h = eth_hdr(f, one, 1, 0x0800);
	expect_ip(1, f, h + ip4(f + h, 6, 20), 18, 40, 4, 0);
	h = eth_hdr(f, qinq, 2, 0x86dd);
	expect_ip(1, f, h + ip6(f + h, 17, 8), 22, 48, 6, 0);
	h = eth_hdr(f, old, 3, 0x0800);
	expect_ip(1, f, h + ip4(f + h, 17, 0), 26, 20, 4, 0);
	h = eth_hdr(f, deep, IAP_VLAN_MAX_DEPTH, 0x0800);
	expect_ip(1, f, h + ip4(f + h, 17, 0), 14 + 4 * IAP_VLAN_MAX_DEPTH, 20, 4, 0);
	h = eth_hdr(f, deep, IAP_VLAN_MAX_DEPTH + 1, 0x0800);
	expect_rc(1, f, h + ip4(f + h, 17, 0), IAP_LINK_NOT_IP);
	h = eth_hdr(f, qinq, 2, 0x0800); /* cut inside the second tag */
	expect_rc(1, f, 19, IAP_LINK_SHORT);
	h = eth_hdr(f, qinq, 2, 0x0806); /* ARP behind tags */
	expect_rc(1, f, h + 28, IAP_LINK_NOT_IP);
}

static void test_sll(void **state)
{
	uint8_t f[256];
	memset(f, 0, sizeof f);
	f[14] = 0x08, f[15] = 0x00; /* SLL protocol */
	expect_ip(113, f, 16 + ip4(f + 16, 17, 4), 16, 24, 4, 0);
	f[14] = 0x86, f[15] = 0xdd;
	expect_ip(113, f, 16 + ip6(f + 16, 17, 4), 16, 44, 6, 0);
	f[14] = 0x81, f[15] = 0x00; /* a VLAN tag kept in the SLL payload */
	f[18] = 0x08, f[19] = 0x00;
	expect_ip(113, f, 20 + ip4(f + 20, 17, 4), 20, 24, 4, 0);
	f[14] = 0x00, f[15] = 0x04; /* 802.2 LLC */
	expect_rc(113, f, 40, IAP_LINK_NOT_IP);
	expect_rc(113, f, 15, IAP_LINK_SHORT);
	memset(f, 0, sizeof f);
	f[0] = 0x08, f[1] = 0x00; /* SLL2 protocol */
	expect_ip(276, f, 20 + ip4(f + 20, 17, 4), 20, 24, 4, 0);
	f[0] = 0x86, f[1] = 0xdd;
	expect_ip(276, f, 20 + ip6(f + 20, 17, 4), 20, 44, 6, 0);
	f[0] = 0x08, f[1] = 0x06;
	expect_rc(276, f, 48, IAP_LINK_NOT_IP);
	expect_rc(276, f, 19, IAP_LINK_SHORT);
}

static void test_raw(void **state)
{
	uint8_t f[256];
	static const int raw[] = {12, 14, 101};
	for (size_t i = 0; i < 3; i++) {
		expect_ip(raw[i], f, ip4(f, 17, 10), 0, 30, 4, 0);
		expect_ip(raw[i], f, ip6(f, 17, 10), 0, 50, 6, 0);
		f[0] = 0x50;
		expect_rc(raw[i], f, 40, IAP_LINK_NOT_IP);
		expect_rc(raw[i], f, 0, IAP_LINK_SHORT);
	}
	expect_ip(228, f, ip4(f, 17, 10), 0, 30, 4, 0);
	expect_rc(228, f, ip6(f, 17, 10), IAP_LINK_NOT_IP);
	expect_ip(229, f, ip6(f, 17, 10), 0, 50, 6, 0);
	expect_rc(229, f, ip4(f, 17, 10), IAP_LINK_NOT_IP);
}

static void test_null_loop(void **state)
{
	uint8_t f[256];
	static const uint32_t v6fams[] = {24, 28, 30};
	/* DLT_NULL: family word in the writer's byte order, both accepted. */
	memset(f, 0, 4);
	f[0] = 2; /* little-endian AF_INET */
	expect_ip(0, f, 4 + ip4(f + 4, 17, 2), 4, 22, 4, 0);
	memset(f, 0, 4);
	f[3] = 2; /* big-endian AF_INET */
	expect_ip(0, f, 4 + ip4(f + 4, 17, 2), 4, 22, 4, 0);
	for (size_t i = 0; i < 3; i++) {
		memset(f, 0, 4);
		f[0] = (uint8_t)v6fams[i];
		expect_ip(0, f, 4 + ip6(f + 4, 17, 2), 4, 42, 6, 0);
		memset(f, 0, 4);
		f[3] = (uint8_t)v6fams[i];
		expect_ip(0, f, 4 + ip6(f + 4, 17, 2), 4, 42, 6, 0);
	}
	memset(f, 0, 4);
	f[0] = 7; /* unknown family */
	expect_rc(0, f, 4 + ip4(f + 4, 17, 2), IAP_LINK_NOT_IP);
	expect_rc(0, f, 3, IAP_LINK_SHORT);
	/* DLT_LOOP: network byte order only. */
	memset(f, 0, 4);
	f[3] = 2;
	expect_ip(108, f, 4 + ip4(f + 4, 17, 2), 4, 22, 4, 0);
	memset(f, 0, 4);
	f[3] = 30;
	expect_ip(108, f, 4 + ip6(f + 4, 17, 2), 4, 42, 6, 0);
	memset(f, 0, 4);
	f[0] = 2;
	expect_rc(108, f, 4 + ip4(f + 4, 17, 2), IAP_LINK_NOT_IP);
}

static void test_truncated(void **state)
{
	uint8_t f[256];
	size_t h = eth_hdr(f, NULL, 0, 0x0800);
	size_t n = ip4(f + h, 17, 100);
	expect_ip(1, f, h + 60, 14, 60, 4, 1); /* snap length cut: what the capture holds */
	expect_rc(1, f, h + 19, IAP_LINK_SHORT);
	expect_rc(1, f, 13, IAP_LINK_SHORT);
	expect_ip(1, f, h + n, 14, 120, 4, 0);
	h = eth_hdr(f, NULL, 0, 0x86dd);
	ip6(f + h, 17, 100);
	expect_rc(1, f, h + 39, IAP_LINK_SHORT);
	expect_ip(1, f, h + 41, 14, 41, 6, 1);
	/* Malformed IPv4 headers. */
	ip4(f, 17, 10);
	f[0] = 0x44; /* IHL 16 bytes */
	expect_rc(12, f, 30, IAP_LINK_NOT_IP);
	ip4(f, 17, 10);
	f[2] = 0, f[3] = 12; /* total length below the header */
	expect_rc(12, f, 30, IAP_LINK_NOT_IP);
	/* IPv6 payload length 0 (jumbogram or junk): keep what was captured. */
	ip6(f, 0, 10);
	f[4] = f[5] = 0;
	expect_ip(12, f, 50, 0, 50, 6, 0);
}

static void test_unsupported_and_garbage(void **state)
{
	static const int types[] = {0, 1, 12, 14, 101, 108, 113, 228, 229, 276};
	uint8_t buf[128];
	struct iap_ip ip;
	assert_int_equal(iap_link_supported(9), 0);
	assert_int_equal(iap_link_supported(147), 0);
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
		assert_int_equal(iap_link_supported(types[i]), 1);
	expect_rc(9, buf, sizeof buf, IAP_LINK_UNSUPPORTED);
	srand(42);
	for (int round = 0; round < 2000; round++) {
		for (size_t i = 0; i < sizeof buf; i++)
			buf[i] = (uint8_t)rand();
		if (round % 3 == 0)
			buf[14] = (uint8_t)(0x40 | (buf[14] & 0x0f)); /* sometimes IPv4-ish */
		size_t len = (size_t)rand() % (sizeof buf + 1);
		for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
			uint8_t *exact = malloc(len ? len : 1);
			memcpy(exact, buf, len);
			if (iap_link_decode(types[i], exact, len, &ip) == IAP_LINK_OK) {
				assert_true(ip.off + ip.len <= len);
				assert_true(ip.len >= 20);
				struct iap_pkt_facts fa;
				(void)iap_ip_facts(exact + ip.off, ip.len, &fa);
			}
			free(exact);
		}
	}
}

static void test_facts(void **state)
{
	uint8_t b[256];
	struct iap_pkt_facts f;
	size_t n = ip4(b, 6, 20);
	b[20] = 0x1f, b[21] = 0x90, b[22] = 0x00, b[23] = 0x50; /* 8080 -> 80 */
	assert_int_equal(iap_ip_facts(b, n, &f), 0);
	assert_int_equal(f.family, 4);
	assert_int_equal(f.proto, 6);
	assert_int_equal(f.has_ports, 1);
	assert_int_equal(f.sport, 8080);
	assert_int_equal(f.dport, 80);
	assert_int_equal(f.src[0], 10);
	assert_int_equal(f.dst[3], 2);
	b[6] = 0x00, b[7] = 0x10; /* a later fragment: no ports */
	assert_int_equal(iap_ip_facts(b, n, &f), 0);
	assert_int_equal(f.has_ports, 0);
	n = ip4(b, 1, 8); /* ICMP */
	assert_int_equal(iap_ip_facts(b, n, &f), 0);
	assert_int_equal(f.proto, 1);
	assert_int_equal(f.has_ports, 0);
	assert_int_equal(iap_ip_facts(b, 19, &f), IAP_LINK_SHORT);
	/* IPv6, hop-by-hop options then UDP. */
	n = ip6(b, 0, 16);
	b[40] = 17, b[41] = 0; /* next UDP, 8 bytes */
	b[48] = 0x00, b[49] = 0x35, b[50] = 0x12, b[51] = 0x34;
	assert_int_equal(iap_ip_facts(b, n, &f), 0);
	assert_int_equal(f.family, 6);
	assert_int_equal(f.proto, 17);
	assert_int_equal(f.has_ports, 1);
	assert_int_equal(f.sport, 53);
	assert_int_equal(f.dport, 0x1234);
	assert_int_equal(f.dst[15], 2);
	/* IPv6 fragment header, a later fragment: protocol known, no ports. */
	n = ip6(b, 44, 16);
	b[40] = 6, b[42] = 0x00, b[43] = 0x08;
	assert_int_equal(iap_ip_facts(b, n, &f), 0);
	assert_int_equal(f.proto, 6);
	assert_int_equal(f.has_ports, 0);
	assert_int_equal(iap_ip_facts(b, 39, &f), IAP_LINK_SHORT);
	b[0] = 0x70;
	assert_int_equal(iap_ip_facts(b, 60, &f), IAP_LINK_NOT_IP);
}

/* The inline Ethernet/IPv4 path of iap/iap.h gives what iap_link_decode gives, for seeded
 * random and mutated frames (it may decline a frame; then the general decoder decides). */
static void test_fast_ether_v4(void **state)
{
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	uint8_t fr[128];
	unsigned taken = 0, cut = 0;
	for (int i = 0; i < 200000; i++) {
		x ^= x >> 12, x ^= x << 25, x ^= x >> 27;
		uint64_t r = x * 2685821657736338717ULL;
		size_t caplen = (size_t)(r % sizeof fr);
		for (size_t k = 0; k < sizeof fr; k++)
			fr[k] = (uint8_t)((r >> (k % 8 * 8)) ^ k * 131);
		/* Mostly plausible frames, each field sometimes off. */
		if (r % 16) {
			fr[12] = 0x08, fr[13] = r % 64 ? 0x00 : 0xdd;
			fr[14] = (uint8_t)((r % 32 ? 0x40 : 0x60) | (r % 8 ? 5 : (r >> 20) % 16));
			size_t total = (r >> 24) % 160;
			fr[16] = (uint8_t)(r % 128 ? total >> 8 : 0xff), fr[17] = (uint8_t)total;
		}
		int lt = r % 32 ? 1 : (int)((r >> 40) % 3) * 12;
		struct iap_ip a, b;
		memset(&a, 0x55, sizeof a);
		if (!iap_link_fast_ether_v4(lt, fr, caplen, &a))
			continue;
		taken++;
		assert_int_equal(iap_link_decode(lt, fr, caplen, &b), IAP_LINK_OK);
		assert_int_equal(a.off, b.off);
		assert_int_equal(a.len, b.len);
		assert_int_equal(a.family, b.family);
		assert_int_equal(a.cut, b.cut);
		cut += (unsigned)a.cut;
	}
	/* The path was exercised, with packets both cut by the capture and whole. */
	assert_true(taken > 50000);
	assert_true(cut > 1000 && taken - cut > 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ethernet),
	    cmocka_unit_test(test_vlans),
	    cmocka_unit_test(test_sll),
	    cmocka_unit_test(test_raw),
	    cmocka_unit_test(test_null_loop),
	    cmocka_unit_test(test_truncated),
	    cmocka_unit_test(test_unsupported_and_garbage),
	    cmocka_unit_test(test_facts),
	    cmocka_unit_test(test_fast_ether_v4),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

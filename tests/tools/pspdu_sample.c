/* tests/tools/pspdu_sample.c: writes an HI2-like and an HI3-like file of PS-PDUs made by the
 * codec from fixed fixtures (deterministic bytes), for the conformance check with etsi-check.
 *
 *   pspdu_sample HI2.ber HI3.ber [EDGE.ber]
 *
 * Sequence numbers run from 0 per (LIID, CIN) within each file, as on a real handover; each file
 * also carries a keep-alive and a keep-alive response (placeholder LIID, CIN 0, a sequence number
 * of the connection's own), which etsi-check --contiguous leaves out of the LIID numbering, and
 * the PDU acknowledgement negotiation of docs/pdu-ack.md (optionRequest, optionResponse,
 * optionComplete, pDUAcknowledgementRequest/Response; TRI numbering of the connection): HI3
 * with pDUAcknowledgement accepted, HI2 with it declined.
 * EDGE.ber holds records with every field at a bound (sequence numbers not contiguous). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mediation/codec/pspdu.h"

static uint8_t buf[MED_PSPDU_MAX];

static struct med_header hdr(const char *liid, uint32_t cin, uint32_t seq, int form, int qual)
{
	struct med_header h;
	memset(&h, 0, sizeof h);
	h.liid_len = strlen(liid);
	memcpy(h.liid, liid, h.liid_len);
	strcpy(h.auth_cc, "NL");
	strcpy(h.deliv_cc, "NL");
	strcpy(h.operator_id, "lawtap-op");
	strcpy(h.ne_id, "med1");
	h.has_cin = 1;
	h.cin = cin;
	h.seq = seq;
	h.ts_sec = 1795000000 + seq;
	h.ts_usec = (seq * 123457u) % 1000000u;
	h.ts_form = form;
	h.ts_qual = qual;
	strcpy(h.ipid, "iap1");
	return h;
}

static int put(FILE *f, long n, const char *what)
{
	if (n < 0) {
		fprintf(stderr, "pspdu_sample: encoding %s failed: %ld\n", what, n);
		return -1;
	}
	if (fwrite(buf, 1, (size_t)n, f) != (size_t)n) {
		perror("pspdu_sample: write");
		return -1;
	}
	return 0;
}

/* The header of a TRI PDU: the keep-alive conventions (placeholder LIID, CIN 0). */
static struct med_header tri_hdr(uint32_t seq)
{
	struct med_header h = hdr("-", 0, seq, MED_TS_MICRO, MED_TSQ_NONE);
	h.ipid[0] = '\0';
	return h;
}

static struct med_option_list opt_list(size_t n)
{
	struct med_option_list l;
	memset(&l, 0, sizeof l);
	l.n = n;
	for (size_t i = 0; i < n; i++)
		l.opt[i] = MED_OPT_PDU_ACK;
	return l;
}

/* The negotiation at the start of a connection: request, response (pDUAcknowledgement
 * accepted or declined), complete (TRI seq 0, 0, 1). */
static int negotiation(FILE *f, int accept)
{
	struct med_header h = tri_hdr(0);
	struct med_option_list one = opt_list(1), none = opt_list(0);
	if (put(f, med_encode_option_request(&h, &one, buf, sizeof buf), "optionRequest") ||
	    put(f,
	        med_encode_option_response(&h, accept ? &one : &none, accept ? &none : &one, buf,
	                                   sizeof buf),
	        "optionResponse"))
		return -1;
	h.seq = 1;
	return put(f, med_encode_tri(&h, MED_TRI_OPTION_COMPLETE, buf, sizeof buf),
	           "optionComplete");
}

/* A plausible IPv4/UDP or IPv6/UDP packet of n bytes (n >= 28 / 48). */
static size_t packet(uint8_t *p, size_t n, int v6, unsigned salt)
{
	memset(p, 0, n);
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 7 + salt);
	if (!v6) {
		uint8_t h[20] = {0x45,
		                 0,
		                 (uint8_t)(n >> 8),
		                 (uint8_t)n,
		                 0,
		                 1,
		                 0x40,
		                 0,
		                 64,
		                 17,
		                 0,
		                 0,
		                 10,
		                 0,
		                 0,
		                 1,
		                 192,
		                 0,
		                 2,
		                 (uint8_t)salt};
		memcpy(p, h, sizeof h);
	} else {
		size_t pl = n - 40;
		uint8_t h[8] = {0x60, 0, 0, 0, (uint8_t)(pl >> 8), (uint8_t)pl, 17, 64};
		memcpy(p, h, sizeof h);
		static const uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
		memcpy(p + 8, a, 16);
		memcpy(p + 24, a, 16);
		p[39] = (uint8_t)salt;
	}
	return n;
}

static int write_hi2(FILE *f)
{
	struct med_header h;
	struct med_iri_event ev;
	struct med_header_facts fa;
	uint32_t seq = 0, seq2 = 0;

	if (negotiation(f, 0))
		return -1;
	memset(&ev, 0, sizeof ev);
	ev.event = MED_EV_START_OF_INTERCEPTION_SESSION_ACTIVE;
	strcpy(ev.username, "alice");
	ev.access_type = 4;
	ev.ip_version = 1;
	ev.has_target_ip = 1;
	ev.target_ipver = 4;
	memcpy(ev.target_ip, (uint8_t[]){10, 0, 0, 1}, 4);
	ev.target_prefix = 32;
	h = hdr("LIID-0001", 1, seq++, MED_TS_MICRO, MED_TSQ_MEDIATION);
	if (put(f, med_encode_iri_event(&h, MED_IRI_BEGIN, &ev, buf, sizeof buf), "begin"))
		return -1;

	/* A second warrant, 25-octet LIID, IPv6 target with prefix, both time stamp forms. */
	struct med_iri_event ev6 = ev;
	strcpy(ev6.username, "unknownuser");
	ev6.ip_version = 2;
	ev6.target_ipver = 6;
	memcpy(ev6.target_ip, (uint8_t[]){0x20, 0x01, 0x0d, 0xb8}, 4);
	ev6.target_prefix = 64;
	h = hdr("ABCDEFGHIJKLMNOPQRSTUVWXY", 7, seq2++, MED_TS_BOTH, MED_TSQ_MEDIATION);
	if (put(f, med_encode_iri_event(&h, MED_IRI_BEGIN, &ev6, buf, sizeof buf), "begin v6"))
		return -1;

	memset(&fa, 0, sizeof fa);
	fa.ip_version = 4;
	memcpy(fa.src, (uint8_t[]){10, 0, 0, 1}, 4);
	memcpy(fa.dst, (uint8_t[]){192, 0, 2, 80}, 4);
	fa.proto = 6;
	fa.sport = 40000;
	fa.dport = 443;
	h = hdr("LIID-0001", 1, seq++, MED_TS_MICRO, MED_TSQ_INTERCEPTION);
	if (put(f, med_encode_iri_report(&h, MED_DIR_FROM_TARGET, &fa, buf, sizeof buf), "tcp"))
		return -1;

	/* Keep-alive on the connection: placeholder LIID, CIN 0, the connection's own number. */
	h = hdr("-", 0, 0, MED_TS_MICRO, MED_TSQ_NONE);
	strcpy(h.auth_cc, "--");
	strcpy(h.deliv_cc, "--");
	h.ipid[0] = '\0';
	if (put(f, med_encode_keepalive(&h, 0, buf, sizeof buf), "keep-alive"))
		return -1;

	fa.proto = 17;
	fa.sport = 53;
	fa.dport = 5353;
	h = hdr("LIID-0001", 1, seq++, MED_TS_GENERALIZED, MED_TSQ_INTERCEPTION);
	if (put(f, med_encode_iri_report(&h, MED_DIR_TO_TARGET, &fa, buf, sizeof buf), "udp"))
		return -1;

	struct med_header_facts f6;
	memset(&f6, 0, sizeof f6);
	f6.ip_version = 6;
	memcpy(f6.src, (uint8_t[]){0x20, 0x01, 0x0d, 0xb8, [15] = 2}, 16);
	memcpy(f6.dst, (uint8_t[]){0x20, 0x01, 0x0d, 0xb8, [15] = 3}, 16);
	f6.proto = 58; /* ICMPv6: no ports */
	h = hdr("ABCDEFGHIJKLMNOPQRSTUVWXY", 7, seq2++, MED_TS_BOTH, MED_TSQ_INTERCEPTION);
	if (put(f, med_encode_iri_report(&h, MED_DIR_INDETERMINATE, &f6, buf, sizeof buf), "icmp6"))
		return -1;

	ev.event = MED_EV_END_OF_INTERCEPTION_SESSION_ACTIVE;
	h = hdr("LIID-0001", 1, seq++, MED_TS_MICRO, MED_TSQ_MEDIATION);
	if (put(f, med_encode_iri_event(&h, MED_IRI_END, &ev, buf, sizeof buf), "end"))
		return -1;
	return 0;
}

static int write_hi3(FILE *f)
{
	static uint8_t pkt[65535];
	static const size_t sizes[] = {20, 127, 128, 255, 256, 1500, 65535};
	uint32_t seq = 0, seq2 = 0, tri_seq = 2;
	struct med_header h;

	if (negotiation(f, 1))
		return -1;
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		int v6 = (i % 2) == 1 && sizes[i] >= 48;
		size_t n = packet(pkt, sizes[i], v6, (unsigned)i);
		h = hdr("LIID-0001", 1, seq++, MED_TS_MICRO, MED_TSQ_INTERCEPTION);
		int dir = i % 2 ? MED_DIR_TO_TARGET : MED_DIR_FROM_TARGET;
		if (put(f, med_encode_cc(&h, dir, pkt, n, buf, sizeof buf), "cc"))
			return -1;
		if (i == 2) {
			h = hdr("-", 0, 0, MED_TS_MICRO, MED_TSQ_NONE);
			if (put(f, med_encode_keepalive(&h, 0, buf, sizeof buf), "keep-alive"))
				return -1;
			if (put(f, med_encode_keepalive(&h, 1, buf, sizeof buf), "keep-alive resp"))
				return -1;
		}
		if (i % 2 == 1) { /* every other record: a PDU acknowledgement and its answer */
			h = tri_hdr(tri_seq++);
			if (put(f, med_encode_tri(&h, MED_TRI_PDU_ACK_REQUEST, buf, sizeof buf),
			        "pDUAcknowledgementRequest") ||
			    put(f, med_encode_tri(&h, MED_TRI_PDU_ACK_RESPONSE, buf, sizeof buf),
			        "pDUAcknowledgementResponse"))
				return -1;
		}
		if (i % 3 == 0) {
			h = hdr("ABCDEFGHIJKLMNOPQRSTUVWXY", 7, seq2++, MED_TS_GENERALIZED,
			        MED_TSQ_INTERCEPTION);
			if (put(f, med_encode_cc(&h, MED_DIR_COMBINED, pkt, n, buf, sizeof buf),
			        "cc 2"))
				return -1;
		}
	}
	return 0;
}

/* Every field at a bound of its range. */
static int write_edge(FILE *f)
{
	static uint8_t pkt[65535];
	struct med_header h = hdr("L", UINT32_MAX, UINT32_MAX, MED_TS_BOTH, MED_TSQ_UNKNOWN);
	h.liid[0] = 0;
	h.ts_sec = INT64_C(253402300799); /* 9999-12-31T23:59:59.999999Z */
	h.ts_usec = 999999;
	strcpy(h.operator_id, "0123456789abcdef");
	strcpy(h.ne_id, "fedcba9876543210");
	strcpy(h.ipid, "ABCDEFGH");
	size_t n = packet(pkt, 65535, 1, 9);
	if (put(f, med_encode_cc(&h, MED_DIR_NA, pkt, n, buf, sizeof buf), "edge cc"))
		return -1;
	h = hdr("ABCDEFGHIJKLMNOPQRSTUVWXY", 0, 0, MED_TS_GENERALIZED, MED_TSQ_NONE);
	h.auth_cc[0] = h.deliv_cc[0] = h.ne_id[0] = h.ipid[0] = '\0';
	h.ts_sec = 0;
	h.ts_usec = 1;
	pkt[0] = 0x45;
	if (put(f, med_encode_cc(&h, MED_DIR_NONE, pkt, 1, buf, sizeof buf), "edge cc 1"))
		return -1;
	struct med_iri_event ev;
	memset(&ev, 0, sizeof ev);
	memset(ev.username, 'u', 255);
	ev.event = 10;
	ev.access_type = 9;
	ev.ip_version = 3;
	ev.has_target_ip = 1;
	ev.target_ipver = 4;
	ev.target_prefix = 1;
	h.seq = 1;
	if (put(f, med_encode_iri_event(&h, MED_IRI_CONTINUE, &ev, buf, sizeof buf), "edge ev"))
		return -1;
	ev.target_ipver = 6;
	ev.target_prefix = 128;
	ev.event = 0;
	ev.access_type = 0;
	h.seq = 2;
	if (put(f, med_encode_iri_event(&h, MED_IRI_REPORT, &ev, buf, sizeof buf), "edge ev6"))
		return -1;
	struct med_header_facts fa;
	memset(&fa, 0xff, sizeof fa);
	fa.ip_version = 4;
	fa.proto = 255;
	if (put(f, med_encode_iri_report(&h, MED_DIR_COMBINED, &fa, buf, sizeof buf), "edge rep"))
		return -1;
	fa.proto = 0;
	fa.ip_version = 6;
	if (put(f, med_encode_iri_report(&h, MED_DIR_NONE, &fa, buf, sizeof buf), "edge rep6"))
		return -1;
	fa.proto = 6;
	if (put(f, med_encode_iri_report(&h, MED_DIR_NA, &fa, buf, sizeof buf), "edge tcp6"))
		return -1;
	/* TRI: option lists empty and at their longest, sequence numbers at the bounds, both
	 * time stamp forms, no CIN. */
	struct med_option_list none = opt_list(0), full = opt_list(MED_OPT_MAX);
	h = hdr("ABCDEFGHIJKLMNOPQRSTUVWXY", 0, UINT32_MAX, MED_TS_BOTH, MED_TSQ_UNKNOWN);
	h.has_cin = 0;
	h.ipid[0] = '\0';
	if (put(f, med_encode_option_request(&h, &none, buf, sizeof buf), "edge optreq 0") ||
	    put(f, med_encode_option_request(&h, &full, buf, sizeof buf), "edge optreq max") ||
	    put(f, med_encode_option_response(&h, &full, &full, buf, sizeof buf), "edge optresp") ||
	    put(f, med_encode_option_response(&h, &none, &none, buf, sizeof buf), "edge optresp 0"))
		return -1;
	h.seq = 0;
	if (put(f, med_encode_tri(&h, MED_TRI_OPTION_COMPLETE, buf, sizeof buf), "edge complete") ||
	    put(f, med_encode_tri(&h, MED_TRI_PDU_ACK_REQUEST, buf, sizeof buf), "edge ackreq") ||
	    put(f, med_encode_tri(&h, MED_TRI_PDU_ACK_RESPONSE, buf, sizeof buf), "edge ackresp"))
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 3 && argc != 4) {
		fprintf(stderr, "usage: pspdu_sample HI2.ber HI3.ber [EDGE.ber]\n");
		return 2;
	}
	FILE *f2 = fopen(argv[1], "wb"), *f3 = fopen(argv[2], "wb");
	FILE *fe = argc == 4 ? fopen(argv[3], "wb") : NULL;
	if (!f2 || !f3 || (argc == 4 && !fe)) {
		perror("pspdu_sample: open");
		return 1;
	}
	int rc = write_hi2(f2) || write_hi3(f3) || (fe && write_edge(fe));
	if (fclose(f2) != 0 || fclose(f3) != 0 || (fe && fclose(fe) != 0))
		rc = 1;
	return rc ? 1 : 0;
}

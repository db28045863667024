/* tests/fuzz/fuzz_pspdu.c: the HI2/HI3 receive path on untrusted bytes: med_frame walks the
 * input as a stream of PS-PDUs, med_decode decodes each framed record. A decoded CC, IRI or
 * keep-alive record is encoded again and must decode to the same fields (when the encoder
 * accepts its fields: a foreign record may carry values lawtap never sends). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mediation/codec/pspdu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t enc[MED_PSPDU_MAX];

static void same_hdr(const struct med_header *a, const struct med_header *b)
{
	if (a->liid_len != b->liid_len || memcmp(a->liid, b->liid, a->liid_len) ||
	    strcmp(a->auth_cc, b->auth_cc) || strcmp(a->deliv_cc, b->deliv_cc) ||
	    strcmp(a->operator_id, b->operator_id) || strcmp(a->ne_id, b->ne_id) ||
	    a->has_cin != b->has_cin || (a->has_cin && a->cin != b->cin) || a->seq != b->seq ||
	    a->ts_sec != b->ts_sec || a->ts_usec != b->ts_usec || a->ts_form != b->ts_form ||
	    a->ts_qual != b->ts_qual || strcmp(a->ipid, b->ipid))
		abort();
}

static void reencode(const struct med_record *r)
{
	long n;
	switch (r->kind) {
	case MED_REC_CC:
		n = med_encode_cc(&r->hdr, r->dir, r->pkt, r->pkt_len, enc, sizeof enc);
		break;
	case MED_REC_IRI:
		if (r->iri_content == 1)
			n = med_encode_iri_event(&r->hdr, r->iri_type, &r->ev, enc, sizeof enc);
		else
			n = med_encode_iri_report(&r->hdr, r->dir, &r->facts, enc, sizeof enc);
		break;
	case MED_REC_KEEPALIVE:
	case MED_REC_KEEPALIVE_RESP:
		n = med_encode_keepalive(&r->hdr, r->kind == MED_REC_KEEPALIVE_RESP, enc,
		                         sizeof enc);
		break;
	default:
		return;
	}
	if (n == MED_E_ARG)
		return;
	if (n <= 0)
		abort(); /* fields the encoder accepted must encode */
	struct med_record again;
	if (med_decode(enc, (size_t)n, &again, NULL, 0) != 0 || again.kind != r->kind)
		abort();
	same_hdr(&r->hdr, &again.hdr);
	/* An IPIRI event is encoded without payloadDirection. */
	int event = r->kind == MED_REC_IRI && r->iri_content == 1;
	if ((!event && again.dir != r->dir) ||
	    (r->kind == MED_REC_CC &&
	     (again.pkt_len != r->pkt_len || memcmp(again.pkt, r->pkt, r->pkt_len))))
		abort();
	if (event) {
		const struct med_iri_event *a = &r->ev, *b = &again.ev;
		if (again.iri_type != r->iri_type || a->event != b->event ||
		    strcmp(a->username, b->username) || a->access_type != b->access_type ||
		    a->ip_version != b->ip_version || a->has_target_ip != b->has_target_ip ||
		    (a->has_target_ip &&
		     (a->target_ipver != b->target_ipver || a->target_prefix != b->target_prefix ||
		      memcmp(a->target_ip, b->target_ip, a->target_ipver == 6 ? 16 : 4))))
			abort();
	} else if (r->kind == MED_REC_IRI) {
		const struct med_header_facts *a = &r->facts, *b = &again.facts;
		size_t al = a->ip_version == 6 ? 16 : 4;
		if (a->ip_version != b->ip_version || memcmp(a->src, b->src, al) ||
		    memcmp(a->dst, b->dst, al) || a->proto != b->proto ||
		    ((a->proto == 6 || a->proto == 17) &&
		     (a->sport != b->sport || a->dport != b->dport)))
			abort();
	}
	med_record_clear(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;
	struct med_record r;
	char err[128];
	while (off < size) {
		size_t rl = 0;
		if (med_frame(data + off, size - off, MED_PSPDU_MAX, &rl) != 0)
			break;
		if (med_decode(data + off, rl, &r, err, sizeof err) == 0)
			reencode(&r);
		med_record_clear(&r);
		off += rl;
	}
	/* The decoder on its own, also where the framing refused the bytes. */
	if (off == 0 && size > 0) {
		(void)med_decode(data, size, &r, NULL, 0);
		med_record_clear(&r);
	}
	return 0;
}

/* tests/fuzz/fuzz_pspdu.c: the HI2/HI3 receive path on untrusted bytes: med_frame walks the
 * input as a stream of PS-PDUs, med_decode decodes each framed record. A decoded CC, IRI or
 * keep-alive record is encoded again and must decode to the same fields (when the encoder
 * accepts its fields: a foreign record may carry values lawtap never sends). med_decode_tri
 * reads each record too; a TRI PDU lawtap sends (option negotiation, PDU acknowledgement,
 * keep-alives) is encoded again and must decode to the same kind, header and option lists,
 * and must agree with med_decode on the header and on keep-alives. */
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

static void same_list(const struct med_option_list *a, const struct med_option_list *b)
{
	if (a->n != b->n || a->unknown != b->unknown)
		abort();
	for (size_t i = 0; i < a->n; i++)
		if (a->opt[i] != b->opt[i])
			abort();
}

/* The TRI view of one framed record, checked against med_decode's view (rc_rec, r). */
static void tri_check(const uint8_t *rec, size_t len, int rc_rec, const struct med_record *r)
{
	struct med_tri_pdu t, again;
	char err[128];
	int rc = med_decode_tri(rec, len, &t, err, sizeof err);
	if (rc != 0) {
		/* Refused: the output holds nothing half-filled. */
		if (rc != MED_E_DECODE || t.tri != MED_TRI_NONE || t.requested.n || t.accepted.n ||
		    t.declined.n)
			abort();
		return;
	}
	if (rc_rec != 0) /* med_decode refused it: only payload contents it reads can differ */
		return;
	same_hdr(&r->hdr, &t.hdr);
	if ((r->kind == MED_REC_KEEPALIVE) != (t.tri == MED_TRI_KEEPALIVE) ||
	    (r->kind == MED_REC_KEEPALIVE_RESP) != (t.tri == MED_TRI_KEEPALIVE_RESP) ||
	    ((r->kind == MED_REC_CC || r->kind == MED_REC_IRI) && t.tri != MED_TRI_NONE))
		abort();
	long n;
	struct med_option_list acc = t.accepted, dec = t.declined, req = t.requested;
	switch (t.tri) {
	case MED_TRI_OPTION_REQUEST:
		n = med_encode_option_request(&t.hdr, &req, enc, sizeof enc);
		break;
	case MED_TRI_OPTION_RESPONSE:
		n = med_encode_option_response(&t.hdr, &acc, &dec, enc, sizeof enc);
		break;
	case MED_TRI_OPTION_COMPLETE:
	case MED_TRI_PDU_ACK_REQUEST:
	case MED_TRI_PDU_ACK_RESPONSE:
	case MED_TRI_KEEPALIVE:
	case MED_TRI_KEEPALIVE_RESP:
		n = med_encode_tri(&t.hdr, t.tri, enc, sizeof enc);
		break;
	default:
		return;
	}
	if (n == MED_E_ARG) /* foreign values: unknown options, fields lawtap never sends */
		return;
	if (n <= 0 || med_decode_tri(enc, (size_t)n, &again, NULL, 0) != 0 || again.tri != t.tri)
		abort();
	same_hdr(&t.hdr, &again.hdr);
	same_list(&t.requested, &again.requested);
	same_list(&t.accepted, &again.accepted);
	same_list(&t.declined, &again.declined);
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
		int rc = med_decode(data + off, rl, &r, err, sizeof err);
		if (rc == 0)
			reencode(&r);
		tri_check(data + off, rl, rc, &r);
		med_record_clear(&r);
		off += rl;
	}
	/* The decoder on its own, also where the framing refused the bytes. */
	if (off == 0 && size > 0) {
		(void)med_decode(data, size, &r, NULL, 0);
		med_record_clear(&r);
		struct med_tri_pdu t;
		(void)med_decode_tri(data, size, &t, NULL, 0);
	}
	return 0;
}

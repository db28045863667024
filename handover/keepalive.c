/* handover/keepalive.c: keep-alives on HI2/HI3 (TS 102 232-1 clause 6: after TIME1 of
 * idleness a tRIPayload keep-alive; the LEA answers keep-aliveResponse with the same sequence
 * number within TIME3, otherwise the link is dropped and rebuilt). */
#include "ho_int.h"

#include "lib/timeutil.h"
#include "mediation/codec/pspdu.h"

#include <stdio.h>
#include <string.h>

void ho_tri_header(const struct ho_link *l, struct med_header *hp)
{
	struct med_header h;
	memset(&h, 0, sizeof h);
	memcpy(h.liid, l->lea->ka_liid, l->lea->ka_liid_len);
	h.liid_len = l->lea->ka_liid_len;
	/* The LEA's country codes on both fields (standards.md: keep-alives). */
	memcpy(h.auth_cc, l->lea->country, 3);
	memcpy(h.deliv_cc, l->lea->country, 3);
	snprintf(h.operator_id, sizeof h.operator_id, "%s", l->ho->site.operator_id);
	snprintf(h.ne_id, sizeof h.ne_id, "%s", l->ho->site.ne_id);
	h.has_cin = 1;
	h.cin = 0; /* keep-alives are no communication: CIN 0, own sequence per connection */
	h.seq = 0;
	int64_t sec;
	uint32_t nsec;
	lt_wallclock(&sec, &nsec);
	h.ts_sec = sec;
	h.ts_usec = nsec / 1000;
	h.ts_form = l->lea->ts_form;
	h.ts_qual = MED_TSQ_NONE;
	*hp = h;
}

long ho_ka_build(const struct ho_link *l, uint32_t seq, uint8_t *out, size_t cap)
{
	struct med_header h;
	ho_tri_header(l, &h);
	h.seq = seq;
	return med_encode_keepalive(&h, 0, out, cap);
}

static const char *kind_name(int kind)
{
	switch (kind) {
	case MED_REC_CC:
		return "a CC record";
	case MED_REC_IRI:
		return "an IRI record";
	case MED_REC_KEEPALIVE:
		return "a keep-alive";
	case MED_REC_KEEPALIVE_RESP:
		return "a keep-alive response";
	default:
		return "a PS-PDU of another kind";
	}
}

int ho_ka_check(const uint8_t *buf, size_t len, int outstanding, uint32_t want, char *why,
                size_t whylen)
{
	struct med_record r;
	char err[160] = "";
	memset(&r, 0, sizeof r);
	int rc = med_decode(buf, len, &r, err, sizeof err);
	if (rc != 0) {
		snprintf(why, whylen, "undecodable PS-PDU from the LEA: %s", err);
		med_record_clear(&r);
		return -1;
	}
	int kind = r.kind;
	uint32_t seq = r.hdr.seq;
	med_record_clear(&r);
	if (kind != MED_REC_KEEPALIVE_RESP) {
		snprintf(why, whylen, "unexpected data from the LEA: %s", kind_name(kind));
		return -1;
	}
	if (!outstanding) {
		snprintf(why, whylen, "keep-alive response seq %u without a keep-alive outstanding",
		         seq);
		return -1;
	}
	if (seq != want) {
		snprintf(why, whylen, "keep-alive response seq %u, expected %u", seq, want);
		return -1;
	}
	return 0;
}

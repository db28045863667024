/* mediation/codec/pspdu_fast.c: the template CC encoder (see pspdu_fast.h). It writes the same
 * DER as asn1c for the profile med_encode_cc implements (module LI-PS-PDU, IMPLICIT TAGS):
 *
 * 30 L  PS-PDU
 *   A1 L  pSHeader [1]
 *     80 07 <0.4.0.2.2.5.1.33>  81 L <LIID>  [82 02 <cc>]  A3 L <communicationIdentifier>
 *     84 L <sequenceNumber>  [85 L <GeneralizedTime>]  [86 L <interceptionPointID>]
 *     [A7 L { 80 L <seconds> 81 L <microSeconds> }]  [88 01 <timeStampQualifier>]
 *   A2 L  payload [2] (a CHOICE: explicit)
 *     A1 L  cCPayloadSequence [1]
 *       30 L  CCPayload
 *         [80 01 <payloadDirection>]
 *         A2 L  cCContents [2] (CHOICE: explicit)
 *           A2 L  iPCC [2]
 *             80 04 05 03 0E 02  iPCCObjId (TS 102 232-3 5.3.14.2)
 *             A1 L  iPCCContents [1] (CHOICE: explicit)
 *               80 L <IP packet>  iPPackets [0]
 *
 * The part from li-psDomainId to the end of communicationIdentifier is fixed per template;
 * the rest is written per record, lengths in their minimal (DER) form. The template also keeps
 * the last record's bytes up to the packet: the next record of the same shape (packet length,
 * direction, and the octet counts of the sequence number and time fields: the mediator's
 * common case) is that copy with its sequence number, time and packet written over. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pspdu_fast.h"
#include "pspdu_int.h"

/* ---- DER pieces ---- */

/* Octets of a definite length's encoding (X.690 8.1.3, DER minimal form). */
static inline size_t len_size(size_t n)
{
	return n < 0x80 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 4;
}

static inline uint8_t *put_len(uint8_t *p, size_t n)
{
	if (n < 0x80) {
		*p++ = (uint8_t)n;
	} else if (n < 0x100) {
		*p++ = 0x81;
		*p++ = (uint8_t)n;
	} else if (n < 0x10000) {
		*p++ = 0x82;
		*p++ = (uint8_t)(n >> 8);
		*p++ = (uint8_t)n;
	} else {
		*p++ = 0x83;
		*p++ = (uint8_t)(n >> 16);
		*p++ = (uint8_t)(n >> 8);
		*p++ = (uint8_t)n;
	}
	return p;
}

/* Content octets of a non-negative INTEGER (X.690 8.3: two's complement, minimal, so a leading
 * 00 when the top bit would be set). */
static inline size_t uint_size(uint64_t v)
{
	/* significant bits / 8 + 1: room for the sign bit (0x80 takes two octets). */
	return v ? (size_t)(64 - __builtin_clzll(v)) / 8 + 1 : 1;
}

/* The n (1..9, from uint_size) low octets of v, big-endian; the ninth a leading 00. One jump
 * per call instead of a loop (it runs for three fields of every record). */
static inline __attribute__((always_inline)) uint8_t *put_uint(uint8_t *p, uint64_t v, size_t n)
{
	switch (n) {
	case 9:
		*p++ = 0;
		__attribute__((fallthrough));
	case 8:
		*p++ = (uint8_t)(v >> 56);
		__attribute__((fallthrough));
	case 7:
		*p++ = (uint8_t)(v >> 48);
		__attribute__((fallthrough));
	case 6:
		*p++ = (uint8_t)(v >> 40);
		__attribute__((fallthrough));
	case 5:
		*p++ = (uint8_t)(v >> 32);
		__attribute__((fallthrough));
	case 4:
		*p++ = (uint8_t)(v >> 24);
		__attribute__((fallthrough));
	case 3:
		*p++ = (uint8_t)(v >> 16);
		__attribute__((fallthrough));
	case 2:
		*p++ = (uint8_t)(v >> 8);
		__attribute__((fallthrough));
	case 1:
		*p++ = (uint8_t)v;
		break;
	default:
		break;
	}
	return p;
}

/* Tag, length, INTEGER contents. */
static inline uint8_t *put_int_tlv(uint8_t *p, uint8_t tag, uint64_t v)
{
	size_t n = uint_size(v);
	*p++ = tag;
	*p++ = (uint8_t)n;
	return put_uint(p, v, n);
}

static uint8_t *put_tlv(uint8_t *p, uint8_t tag, const void *v, size_t n)
{
	*p++ = tag;
	p = put_len(p, n);
	memcpy(p, v, n);
	return p + n;
}

/* ---- template ---- */

/* "" (absent) or two PrintableString characters, as med_hdr_fill accepts. */
static int cc_len(const char cc[3])
{
	size_t n = strnlen(cc, 3);
	if (n == 0)
		return 0;
	return n == 2 && med_printable(cc, 2) ? 2 : -1;
}

int med_cc_template_init(struct med_cc_template *t, const struct med_header *h)
{
	if (!t)
		return MED_E_ARG;
	memset(t, 0, sizeof *t);
	/* The same acceptance rules as med_hdr_fill (need_cin = 1) for the fixed fields. */
	if (!h || h->liid_len < 1 || h->liid_len > MED_LIID_MAX)
		return MED_E_ARG;
	int acc = cc_len(h->auth_cc), dcc = cc_len(h->deliv_cc);
	size_t opl = strnlen(h->operator_id, sizeof h->operator_id);
	size_t nel = strnlen(h->ne_id, sizeof h->ne_id);
	size_t ipl = strnlen(h->ipid, sizeof h->ipid);
	if (acc < 0 || dcc < 0 || opl < 1 || opl > MED_OPID_MAX || nel > MED_OPID_MAX ||
	    ipl > MED_IPID_MAX || !med_printable(h->ipid, ipl) || !h->has_cin ||
	    h->ts_form < MED_TS_MICRO || h->ts_form > MED_TS_BOTH || h->ts_qual < MED_TSQ_NONE ||
	    h->ts_qual > 3)
		return MED_E_ARG;

	/* communicationIdentifier [3] (TS 102 232-1 5.2.4): networkIdentifier [0] {operator [0],
	 * networkElementIdentifier [1]}, communicationIdentityNumber [1], deliveryCountryCode
	 * [2]. At most 2+2+16+2+16 + 2+5 + 4 = 49 content octets: one length octet. */
	uint8_t ci[64], *c = ci;
	*c++ = 0xA0;
	*c++ = (uint8_t)(2 + opl + (nel ? 2 + nel : 0));
	c = put_tlv(c, 0x80, h->operator_id, opl);
	if (nel)
		c = put_tlv(c, 0x81, h->ne_id, nel);
	c = put_int_tlv(c, 0x81, h->cin);
	if (dcc)
		c = put_tlv(c, 0x82, h->deliv_cc, 2);

	uint8_t *p = t->pre;
	p = put_tlv(p, 0x80, med_oid_domain, sizeof med_oid_domain);
	p = put_tlv(p, 0x81, h->liid, h->liid_len);
	if (acc)
		p = put_tlv(p, 0x82, h->auth_cc, 2);
	p = put_tlv(p, 0xA3, ci, (size_t)(c - ci));
	t->pre_len = (uint8_t)(p - t->pre);

	/* 5.2.11 interceptionPointID [6]; timeStampQualifier [8] (ENUMERATED, one octet). */
	if (ipl)
		t->ipid_len = (uint8_t)(put_tlv(t->ipid, 0x86, h->ipid, ipl) - t->ipid);
	if (h->ts_qual != MED_TSQ_NONE) {
		t->tsq[0] = 0x88;
		t->tsq[1] = 1;
		t->tsq[2] = (uint8_t)h->ts_qual;
		t->tsq_len = 3;
	}
	t->ts_form = h->ts_form;
	t->gt_sec = -1;

	/* The key med_encode_cc_fast compares: the fixed fields, normalised. */
	struct med_header *k = &t->key;
	memcpy(k->liid, h->liid, h->liid_len);
	k->liid_len = h->liid_len;
	memcpy(k->auth_cc, h->auth_cc, (size_t)acc);
	memcpy(k->deliv_cc, h->deliv_cc, (size_t)dcc);
	memcpy(k->operator_id, h->operator_id, opl);
	memcpy(k->ne_id, h->ne_id, nel);
	memcpy(k->ipid, h->ipid, ipl);
	k->has_cin = 1;
	k->cin = h->cin;
	k->ts_form = h->ts_form;
	k->ts_qual = h->ts_qual;
	t->valid = 1;
	return 0;
}

struct med_cc_template *med_cc_template_new(const struct med_header *h)
{
	struct med_cc_template *t = malloc(sizeof *t);
	if (!t) {
		errno = ENOMEM;
		return NULL;
	}
	if (med_cc_template_init(t, h) != 0) {
		free(t);
		errno = EINVAL;
		return NULL;
	}
	return t;
}

void med_cc_template_free(struct med_cc_template *t)
{
	free(t);
}

/* ---- per record ---- */

/* GeneralizedTime contents "YYYYMMDDhhmmss[.f]Z" (as med_gt_format) into out[24]: the date
 * part is cached per second, the fraction written here. Length, or -1 out of range. */
static int gt_make(struct med_cc_template *t, int64_t sec, uint32_t usec, uint8_t out[24])
{
	if (sec != t->gt_sec) {
		uint8_t tmp[24];
		if (med_gt_format(sec, 0, tmp) != 15)
			return -1;
		memcpy(t->gt_date, tmp, 14);
		t->gt_sec = sec;
	}
	memcpy(out, t->gt_date, 14);
	int n = 14;
	if (usec) {
		/* X.690 11.7 (DER): no trailing zeros in the fraction. */
		out[n++] = '.';
		uint32_t div = 100000;
		while (usec) {
			out[n++] = (uint8_t)('0' + usec / div);
			usec %= div;
			div /= 10;
		}
	}
	out[n++] = 'Z';
	return n;
}

long med_cc_template_encode(struct med_cc_template *t, uint32_t seq, int64_t ts_sec,
                            uint32_t ts_usec, int dir, const uint8_t *pkt, size_t pkt_len,
                            uint8_t *out, size_t cap)
{
	if (!t || !t->valid || !out || !pkt || pkt_len == 0 || pkt_len > 65535 ||
	    dir < MED_DIR_NONE || dir > MED_DIR_NA || ((pkt[0] >> 4) != 4 && (pkt[0] >> 4) != 6) ||
	    ts_usec > 999999 || ts_sec < 0)
		return MED_E_ARG;

	/* 5.2.6 timeStamp [5] GeneralizedTime and/or microSecondTimeStamp [7]. */
	uint8_t gt[24];
	int gtn = 0;
	if (t->ts_form & MED_TS_GENERALIZED) {
		gtn = gt_make(t, ts_sec, ts_usec, gt);
		if (gtn < 0)
			return MED_E_ARG;
	}
	size_t seqn = uint_size(seq), secn = 0, usn = 0, usts = 0;
	if (t->ts_form & MED_TS_MICRO) {
		secn = uint_size((uint64_t)ts_sec);
		usn = uint_size(ts_usec);
		usts = 2 + secn + 2 + usn;
	}

	/* The same shape as the last record (every length and tag in the same place): its bytes
	 * with this record's sequence number, time and packet written over. */
	if (t->last_len && pkt_len == t->last_pkt_len && dir == t->last_dir &&
	    seqn == t->last_seqn && secn == t->last_secn && usn == t->last_usn &&
	    (size_t)gtn == t->last_gtn) {
		size_t total = (size_t)t->last_len + pkt_len;
		if (total > cap)
			return MED_E_SPACE;
		/* (A constant 256-byte copy compiles to rep movsq, slower here than the library's
		 * vector copy of the exact length.) */
		memcpy(out, t->last, t->last_len);
		put_uint(out + t->off_seq, seq, seqn);
		if (gtn)
			memcpy(out + t->off_gt, gt, (size_t)gtn);
		if (usts) {
			put_uint(out + t->off_sec, (uint64_t)ts_sec, secn);
			put_uint(out + t->off_usec, ts_usec, usn);
		}
		memcpy(out + t->last_len, pkt, pkt_len);
		return (long)total;
	}
	size_t hdr = t->pre_len + 2 + seqn + (gtn ? 2 + (size_t)gtn : 0) + t->ipid_len +
	             (usts ? 2 + usts : 0) + t->tsq_len;

	/* The payload, innermost first: content length c_x, whole TLV t_x. */
#define TLV(c) (1 + len_size(c) + (c))
	size_t t_pkt = TLV(pkt_len);                          /* 80 iPPackets */
	size_t c_cont = t_pkt, t_cont = TLV(c_cont);          /* A1 iPCCContents */
	size_t c_ipcc = 6 + t_cont, t_ipcc = TLV(c_ipcc);     /* A2 iPCC */
	size_t c_ccc = t_ipcc, t_ccc = TLV(c_ccc);            /* A2 cCContents */
	size_t c_ccp = (dir != MED_DIR_NONE ? 3 : 0) + t_ccc; /* 30 CCPayload */
	size_t c_seq = TLV(c_ccp), c_pay = TLV(c_seq);        /* A1 sequence, A2 payload */
	size_t c_pdu = TLV(hdr) + TLV(c_pay);
	size_t total = TLV(c_pdu);
#undef TLV
	if (total > cap)
		return MED_E_SPACE;

	uint8_t *p = out;
	*p++ = 0x30;
	p = put_len(p, c_pdu);
	*p++ = 0xA1;
	p = put_len(p, hdr);
	/* Fixed-size copies where the output has room beyond them (what follows overwrites the
	 * excess): a constant-length memcpy is a few vector moves, a variable one a loop. */
	if (total - (size_t)(p - out) >= sizeof t->pre)
		memcpy(p, t->pre, sizeof t->pre);
	else
		memcpy(p, t->pre, t->pre_len);
	p += t->pre_len;
	*p++ = 0x84;
	*p++ = (uint8_t)seqn;
	size_t off_seq = (size_t)(p - out);
	p = put_uint(p, seq, seqn);
	size_t off_gt = 0, off_sec = 0, off_usec = 0;
	if (gtn) {
		*p++ = 0x85;
		*p++ = (uint8_t)gtn;
		off_gt = (size_t)(p - out);
		memcpy(p, gt, (size_t)gtn);
		p += gtn;
	}
	if (t->ipid_len) {
		/* At least the payload's 20-odd octets follow: room for the whole array. */
		memcpy(p, t->ipid, sizeof t->ipid);
		p += t->ipid_len;
	}
	if (usts) {
		*p++ = 0xA7;
		*p++ = (uint8_t)usts;
		*p++ = 0x80;
		*p++ = (uint8_t)secn;
		off_sec = (size_t)(p - out);
		p = put_uint(p, (uint64_t)ts_sec, secn);
		*p++ = 0x81;
		*p++ = (uint8_t)usn;
		off_usec = (size_t)(p - out);
		p = put_uint(p, ts_usec, usn);
	}
	if (t->tsq_len) {
		memcpy(p, t->tsq, t->tsq_len);
		p += t->tsq_len;
	}
	*p++ = 0xA2;
	p = put_len(p, c_pay);
	*p++ = 0xA1;
	p = put_len(p, c_seq);
	*p++ = 0x30;
	p = put_len(p, c_ccp);
	if (dir != MED_DIR_NONE) {
		/* TS 102 232-1 6.2.2 payloadDirection [0] ENUMERATED. */
		*p++ = 0x80;
		*p++ = 1;
		*p++ = (uint8_t)dir;
	}
	*p++ = 0xA2;
	p = put_len(p, c_ccc);
	*p++ = 0xA2;
	p = put_len(p, c_ipcc);
	p = put_tlv(p, 0x80, med_roid_ipcc, sizeof med_roid_ipcc);
	*p++ = 0xA1;
	p = put_len(p, c_cont);
	p = put_tlv(p, 0x80, pkt, pkt_len);
	if ((size_t)(p - out) != total)
		return MED_E_ENCODE; /* a size computation above is wrong: never send it */
	/* This record's shape for the next one. */
	size_t pre = total - pkt_len;
	if (pre <= sizeof t->last) {
		memcpy(t->last, out, pre);
		t->last_len = (uint16_t)pre;
		t->last_pkt_len = (uint32_t)pkt_len;
		t->last_dir = (int8_t)dir;
		t->last_seqn = (uint8_t)seqn;
		t->last_secn = (uint8_t)secn;
		t->last_usn = (uint8_t)usn;
		t->last_gtn = (uint8_t)gtn;
		t->off_seq = (uint16_t)off_seq;
		t->off_gt = (uint16_t)off_gt;
		t->off_sec = (uint16_t)off_sec;
		t->off_usec = (uint16_t)off_usec;
	} else {
		t->last_len = 0;
	}
	return (long)total;
}

/* The fixed fields of h equal the template's key (strings compared up to their NUL). */
static int same_key(const struct med_header *k, const struct med_header *h)
{
	return k->liid_len == h->liid_len && memcmp(k->liid, h->liid, h->liid_len) == 0 &&
	       h->has_cin && k->cin == h->cin && k->ts_form == h->ts_form &&
	       k->ts_qual == h->ts_qual &&
	       strncmp(k->operator_id, h->operator_id, sizeof h->operator_id) == 0 &&
	       strncmp(k->ne_id, h->ne_id, sizeof h->ne_id) == 0 &&
	       strncmp(k->ipid, h->ipid, sizeof h->ipid) == 0 &&
	       strncmp(k->auth_cc, h->auth_cc, sizeof h->auth_cc) == 0 &&
	       strncmp(k->deliv_cc, h->deliv_cc, sizeof h->deliv_cc) == 0;
}

int med_cc_template_sync(struct med_cc_template *t, const struct med_header *h)
{
	if (!t)
		return MED_E_ARG;
	if (!h || h->liid_len < 1 || h->liid_len > MED_LIID_MAX) {
		t->valid = 0;
		return MED_E_ARG;
	}
	if (t->valid && same_key(&t->key, h))
		return 0;
	return med_cc_template_init(t, h);
}

long med_encode_cc_fast(struct med_cc_template *t, const struct med_header *h, int dir,
                        const uint8_t *pkt, size_t pkt_len, uint8_t *out, size_t cap)
{
	int rc = med_cc_template_sync(t, h);
	if (rc)
		return rc;
	return med_cc_template_encode(t, h->seq, h->ts_sec, h->ts_usec, dir, pkt, pkt_len, out,
	                              cap);
}

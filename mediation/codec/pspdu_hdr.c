/* mediation/codec/pspdu_hdr.c: the PSHeader (TS 102 232-1 clause 5.2) both ways, DER output,
 * and small helpers shared by the codec files. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "pspdu_int.h"

/* TS 102 232-1 (module LI-PS-PDU version 33): li-psDomainId {0 4 0 2 2 5 1 33}; the first two
 * arcs 0.4 encode as 40*0+4 = 4. */
const uint8_t med_oid_domain[7] = {4, 0, 2, 2, 5, 1, 33};
/* TS 102 232-3 annex B, relative to 0.4.0.2.2: li-ps(5) iPAccess(3) version14(14) x. */
const uint8_t med_roid_ipiri[4] = {5, 3, 14, 1};
const uint8_t med_roid_ipcc[4] = {5, 3, 14, 2};
const uint8_t med_roid_ipirionly[4] = {5, 3, 14, 3};

void med_err(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || errlen == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int med_printable(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
			continue;
		if (!c || !strchr(" '()+,-./:=?", c))
			return 0;
	}
	return 1;
}

/* ---- encoding ---- */

/* Country codes are "" (absent) or two PrintableString characters (ISO 3166 alpha-2, or the
 * "--" some LEAs use on keep-alives). */
static int cc_len(const char cc[3])
{
	size_t n = strnlen(cc, 3);
	if (n == 0)
		return 0;
	return n == 2 && med_printable(cc, 2) ? 2 : -1;
}

int med_hdr_fill(PS_PDU_t *pdu, struct med_enc_hdr *s, const struct med_header *h, int need_cin)
{
	PSHeader_t *ph = &pdu->pSHeader;
	if (!h || h->liid_len < 1 || h->liid_len > MED_LIID_MAX)
		return MED_E_ARG;
	int acc = cc_len(h->auth_cc), dcc = cc_len(h->deliv_cc);
	size_t opl = strnlen(h->operator_id, sizeof h->operator_id);
	size_t nel = strnlen(h->ne_id, sizeof h->ne_id);
	size_t ipl = strnlen(h->ipid, sizeof h->ipid);
	if (acc < 0 || dcc < 0 || opl < 1 || opl > MED_OPID_MAX || nel > MED_OPID_MAX ||
	    ipl > MED_IPID_MAX || !med_printable(h->ipid, ipl))
		return MED_E_ARG;
	if ((need_cin && !h->has_cin) || h->ts_usec > 999999 || h->ts_sec < 0 ||
	    h->ts_form < MED_TS_MICRO || h->ts_form > MED_TS_BOTH || h->ts_qual < MED_TSQ_NONE ||
	    h->ts_qual > 3)
		return MED_E_ARG;

	/* li-psDomainId; lawfulInterceptionIdentifier (TS 103 280 LIID, 1..25 octets). */
	ph->li_psDomainId.buf = med_unconst(med_oid_domain);
	ph->li_psDomainId.size = (int)sizeof med_oid_domain;
	ph->lawfulInterceptionIdentifier.buf = med_unconst(h->liid);
	ph->lawfulInterceptionIdentifier.size = (int)h->liid_len;
	/* 5.2.3 authorizationCountryCode. */
	if (acc) {
		s->auth_cc.buf = med_unconst(h->auth_cc);
		s->auth_cc.size = 2;
		ph->authorizationCountryCode = &s->auth_cc;
	}
	/* 5.2.4 communicationIdentifier: operator, network element, CIN, delivery country. */
	CommunicationIdentifier_t *ci = &ph->communicationIdentifier;
	ci->networkIdentifier.operatorIdentifier.buf = med_unconst(h->operator_id);
	ci->networkIdentifier.operatorIdentifier.size = (int)opl;
	if (nel) {
		s->ne_id.buf = med_unconst(h->ne_id);
		s->ne_id.size = (int)nel;
		ci->networkIdentifier.networkElementIdentifier = &s->ne_id;
	}
	if (h->has_cin) {
		s->cin = h->cin;
		ci->communicationIdentityNumber = &s->cin;
	}
	if (dcc) {
		s->deliv_cc.buf = med_unconst(h->deliv_cc);
		s->deliv_cc.size = 2;
		ci->deliveryCountryCode = &s->deliv_cc;
	}
	/* sequenceNumber: per (LIID, CIN) and handover, kept by the caller. */
	ph->sequenceNumber = h->seq;
	/* 5.2.6 timeStamp (GeneralizedTime) and/or microSecondTimeStamp (seconds + µs since 1970).
	 */
	if (h->ts_form & MED_TS_GENERALIZED) {
		int n = med_gt_format(h->ts_sec, h->ts_usec, s->gt_buf);
		if (n < 0)
			return MED_E_ARG;
		s->gt.buf = s->gt_buf;
		s->gt.size = n;
		ph->timeStamp = &s->gt;
	}
	if (h->ts_form & MED_TS_MICRO) {
		s->usts.seconds = (long)h->ts_sec;
		s->usts.microSeconds = (long)h->ts_usec;
		ph->microSecondTimeStamp = &s->usts;
	}
	/* 5.2.11 interceptionPointID. */
	if (ipl) {
		s->ipid.buf = med_unconst(h->ipid);
		s->ipid.size = (int)ipl;
		ph->interceptionPointID = &s->ipid;
	}
	/* timeStampQualifier: what the time stamp is the time of. */
	if (h->ts_qual != MED_TSQ_NONE) {
		s->tsq = h->ts_qual;
		ph->timeStampQualifier = &s->tsq;
	}
	return 0;
}

long med_der_out(PS_PDU_t *pdu, uint8_t *out, size_t cap)
{
	char why[128];
	size_t whylen = sizeof why;
	if (asn_check_constraints(&asn_DEF_PS_PDU, pdu, why, &whylen) != 0)
		return MED_E_ENCODE;
	asn_enc_rval_t er = der_encode_to_buffer(&asn_DEF_PS_PDU, pdu, out, cap);
	if (er.encoded >= 0)
		return (long)er.encoded;
	/* Failure path only: tell a short buffer from a refusal. */
	asn_enc_rval_t sz = der_encode(&asn_DEF_PS_PDU, pdu, NULL, NULL);
	if (sz.encoded > 0 && (size_t)sz.encoded > cap)
		return MED_E_SPACE;
	return MED_E_ENCODE;
}

/* ---- decoding ---- */

/* Copies a string of min..max octets; printable: PrintableString characters only. */
static int copy_str(char *dst, size_t dstsz, const OCTET_STRING_t *os, size_t min, size_t max,
                    int printable)
{
	size_t n = med_os_len(os);
	if (n < min || n > max || n >= dstsz ||
	    (printable && !med_printable((const char *)os->buf, n)))
		return -1;
	if (n)
		memcpy(dst, os->buf, n);
	dst[n] = '\0';
	return 0;
}

int med_hdr_read(const PSHeader_t *ph, struct med_header *h, char *err, size_t errlen)
{
	memset(h, 0, sizeof *h);
	h->ts_qual = MED_TSQ_NONE;
	/* li-psDomainId 0.4.0.2.2.5.1.<version>; any version decodes. */
	if (ph->li_psDomainId.size < 7 || memcmp(ph->li_psDomainId.buf, med_oid_domain, 6) != 0) {
		med_err(err, errlen, "li-psDomainId is not 0.4.0.2.2.5.1.x");
		return MED_E_DECODE;
	}
	const LIID_t *li = &ph->lawfulInterceptionIdentifier;
	size_t ll = med_os_len(li);
	if (ll < 1 || ll > MED_LIID_MAX) {
		med_err(err, errlen, "LIID of %zu octets (1..25)", ll);
		return MED_E_DECODE;
	}
	memcpy(h->liid, li->buf, ll);
	h->liid_len = ll;
	if (ph->authorizationCountryCode &&
	    copy_str(h->auth_cc, sizeof h->auth_cc, ph->authorizationCountryCode, 2, 2, 1) != 0) {
		med_err(err, errlen, "authorizationCountryCode is not 2 characters");
		return MED_E_DECODE;
	}
	const CommunicationIdentifier_t *ci = &ph->communicationIdentifier;
	if (copy_str(h->operator_id, sizeof h->operator_id,
	             &ci->networkIdentifier.operatorIdentifier, 1, MED_OPID_MAX, 0) != 0 ||
	    (ci->networkIdentifier.networkElementIdentifier &&
	     copy_str(h->ne_id, sizeof h->ne_id, ci->networkIdentifier.networkElementIdentifier, 1,
	              MED_OPID_MAX, 0) != 0)) {
		med_err(err, errlen, "networkIdentifier out of range (1..16 octets)");
		return MED_E_DECODE;
	}
	if (ci->communicationIdentityNumber) {
		if (*ci->communicationIdentityNumber > UINT32_MAX) {
			med_err(err, errlen, "CIN out of range");
			return MED_E_DECODE;
		}
		h->has_cin = 1;
		h->cin = (uint32_t)*ci->communicationIdentityNumber;
	}
	if (ci->deliveryCountryCode &&
	    copy_str(h->deliv_cc, sizeof h->deliv_cc, ci->deliveryCountryCode, 2, 2, 1) != 0) {
		med_err(err, errlen, "deliveryCountryCode is not 2 characters");
		return MED_E_DECODE;
	}
	if (ph->sequenceNumber > UINT32_MAX) {
		med_err(err, errlen, "sequenceNumber out of range");
		return MED_E_DECODE;
	}
	h->seq = (uint32_t)ph->sequenceNumber;
	if (ph->timeStamp) {
		if (med_gt_parse(ph->timeStamp->buf, med_os_len(ph->timeStamp), &h->ts_sec,
		                 &h->ts_usec) != 0) {
			med_err(err, errlen, "timeStamp is not a GeneralizedTime lawtap reads");
			return MED_E_DECODE;
		}
		h->ts_form |= MED_TS_GENERALIZED;
	}
	if (ph->microSecondTimeStamp) {
		const MicroSecondTimeStamp_t *us = ph->microSecondTimeStamp;
		if (us->seconds < 0 || us->microSeconds < 0 || us->microSeconds > 999999) {
			med_err(err, errlen, "microSecondTimeStamp out of range");
			return MED_E_DECODE;
		}
		/* The finer of the two when both are present. */
		h->ts_sec = us->seconds;
		h->ts_usec = (uint32_t)us->microSeconds;
		h->ts_form |= MED_TS_MICRO;
	}
	if (ph->interceptionPointID &&
	    copy_str(h->ipid, sizeof h->ipid, ph->interceptionPointID, 1, MED_IPID_MAX, 1) != 0) {
		med_err(err, errlen, "interceptionPointID is not 1..8 characters");
		return MED_E_DECODE;
	}
	if (ph->timeStampQualifier) {
		long q = *ph->timeStampQualifier;
		h->ts_qual = q >= 0 && q <= 3 ? (int)q : MED_TSQ_UNKNOWN;
	}
	return 0;
}

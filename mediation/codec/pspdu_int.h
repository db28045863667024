/* mediation/codec/pspdu_int.h: internals shared by the PS-PDU codec files (not a public door).
 * Only the codec's .c files include this header and, through it, asn1c's generated types. */
#ifndef LAWTAP_PSPDU_INT_H
#define LAWTAP_PSPDU_INT_H

#include <stddef.h>
#include <stdint.h>

#include "PS-PDU.h"
#include "pspdu.h"

/* Storage for an encoder's PSHeader: every OPTIONAL member points into this struct, and
 * OCTET STRINGs point at the caller's bytes, so encoding needs no allocation of ours. Nothing
 * here is ever handed to ASN_STRUCT_FREE. */
struct med_enc_hdr {
	PrintableString_t auth_cc, deliv_cc, ipid;
	OCTET_STRING_t ne_id;
	unsigned long cin;
	GeneralizedTime_t gt;
	uint8_t gt_buf[24]; /* "YYYYMMDDhhmmss.uuuuuuZ" */
	MicroSecondTimeStamp_t usts;
	long tsq;
};

/* Fills pdu->pSHeader from h, with storage in s. need_cin: CC and IRI records must carry a CIN
 * (TS 102 232-1 5.2.4). 0 or MED_E_ARG. */
int med_hdr_fill(PS_PDU_t *pdu, struct med_enc_hdr *s, const struct med_header *h, int need_cin);

/* Constraint check and DER encoding of pdu into out[cap]: bytes written, MED_E_SPACE,
 * MED_E_ENCODE. */
long med_der_out(PS_PDU_t *pdu, uint8_t *out, size_t cap);

/* BER-decodes one whole PS-PDU (structural check first, no bytes after it) into *pdu. 0 or
 * MED_E_DECODE with a reason. *pdu may be set also on failure: always ASN_STRUCT_FREE it. */
int med_pdu_decode(const uint8_t *buf, size_t len, PS_PDU_t **pdu, char *err, size_t errlen);

/* Reads a decoded PSHeader into h. 0 or MED_E_DECODE with a reason in err. */
int med_hdr_read(const PSHeader_t *ph, struct med_header *h, char *err, size_t errlen);

/* Structural BER check of untrusted bytes before asn1c decodes them: buf[0..len) must be
 * exactly one complete TLV, well nested, definite or (constructed only) indefinite lengths,
 * depth bounded. 0 or MED_E_DECODE with a reason. */
int med_ber_check(const uint8_t *buf, size_t len, char *err, size_t errlen);

/* GeneralizedTime text <-> seconds + microseconds since 1970 (UTC).
 * med_gt_format writes the DER form ("YYYYMMDDhhmmss[.f{1,6}]Z", fraction without trailing
 * zeros, X.690 11.7) into out[24]; returns its length or -1 when the year is outside 0..9999.
 * med_gt_parse accepts YYYYMMDDhh[mm[ss]][(.|,)f+][Z|(+|-)hh[mm]] (no zone: read as UTC);
 * 0 or -1. */
int med_gt_format(int64_t sec, uint32_t usec, uint8_t out[24]);
int med_gt_parse(const uint8_t *s, size_t len, int64_t *sec, uint32_t *usec);

/* RELATIVE-OID / OBJECT IDENTIFIER contents lawtap sends (TS 102 232-1 LI-PS-PDU v33, TS 102 232-3
 * IPAccessPDU v14): li-psDomainId 0.4.0.2.2.5.1.33 and the IP access object ids 5.3.14.x. */
extern const uint8_t med_oid_domain[7];
extern const uint8_t med_roid_ipiri[4], med_roid_ipcc[4], med_roid_ipirionly[4];

/* asn1c's structs take non-const buffers; the encoders only read through them. */
static inline uint8_t *med_unconst(const void *p)
{
	return (uint8_t *)(uintptr_t)p;
}

/* An asn1c OCTET STRING's length (asn1c 0.9.28 keeps it in an int). */
static inline size_t med_os_len(const OCTET_STRING_t *os)
{
	return os->size > 0 ? (size_t)os->size : 0;
}

/* snprintf into err[errlen] when err is given. */
void med_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* 1 when s[0..n) are PrintableString characters (X.680 41.4). */
int med_printable(const char *s, size_t n);

#endif

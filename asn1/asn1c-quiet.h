/* asn1/asn1c-quiet.h: force-included (-include) into every asn1c-generated source file.
 * asn1c 0.9.28 defines ASN_DEBUG as an empty *function* when debugging is off, so the
 * arguments of its many debug calls are still evaluated: ber_tlv_tag_string() formats a tag
 * with snprintf into one static buffer, on every tag decoded or encoded. That costs more than
 * the encoding itself and is a data race between threads. As a macro, the calls vanish. */
#ifndef LAWTAP_ASN1C_QUIET_H
#define LAWTAP_ASN1C_QUIET_H
#define ASN_DEBUG(...)                                                                             \
	do {                                                                                       \
	} while (0)
#endif

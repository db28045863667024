/* mediation/codec/pspdu_fast.h: the template CC encoder. The PSHeader bytes that stay the same
 * for every record of one (LIID, CIN, LEA header) are encoded once; per record only the
 * sequence number, the time stamp, the payload direction, the packet and the lengths around
 * them are written. The output is byte for byte what med_encode_cc (asn1c der_encode) produces
 * for the same record (tests/unit/test_codec_fast.c checks it on randomized records), without
 * asn1c and without any allocation per record. */
#ifndef LAWTAP_PSPDU_FAST_H
#define LAWTAP_PSPDU_FAST_H

#include <stddef.h>
#include <stdint.h>

#include "pspdu.h"

/* Room for the fixed header part: li-psDomainId, LIID, authorizationCountryCode and the whole
 * communicationIdentifier (at most 92 bytes with every field at its largest). */
#define MED_CC_TPL_PRE 112
/* Room for a whole record up to its packet: the fixed part, the per-record header fields and
 * the payload's nested tags and lengths (about 205 bytes at most; a longer one is not kept). */
#define MED_CC_TPL_LAST 256

/* A template. Its size is public so callers may embed one (or keep one per thread) and fill it
 * with med_cc_template_init; the members are the encoder's business. One template is used by
 * one thread at a time (it caches the date part of the last GeneralizedTime). */
struct med_cc_template {
	int valid;                   /* 1 once initialised from a valid header */
	uint8_t pre[MED_CC_TPL_PRE]; /* 80 07 <domain> 81 <LIID> [82 02 cc] A3 <comm. id> */
	uint8_t pre_len;
	uint8_t ipid[2 + MED_IPID_MAX]; /* [6] interceptionPointID TLV, or nothing */
	uint8_t ipid_len;
	uint8_t tsq[3]; /* [8] timeStampQualifier TLV, or nothing */
	uint8_t tsq_len;
	int ts_form;           /* enum med_ts_form */
	int64_t gt_sec;        /* second whose date part is in gt_date (-1: none) */
	uint8_t gt_date[14];   /* "YYYYMMDDhhmmss" */
	struct med_header key; /* the fields it was built from (seq and time zeroed) */
	/* The last record's bytes up to its packet, with the shape they were made for (packet
	 * length, direction, octets of the sequence number and of each time field) and where
	 * those fields lie: a record of the same shape is this copy with the per-record fields
	 * written over (last_len 0: none yet). */
	uint8_t last[MED_CC_TPL_LAST];
	uint16_t last_len;
	uint8_t last_seqn, last_secn, last_usn, last_gtn;
	int8_t last_dir;
	uint32_t last_pkt_len;
	uint16_t off_seq, off_gt, off_sec, off_usec;
};

/* Fills t from h's fixed fields: liid, auth_cc, deliv_cc, operator_id, ne_id, has_cin/cin,
 * ts_form, ts_qual, ipid (seq, ts_sec and ts_usec are ignored: they come per record).
 * 0, or MED_E_ARG (t->valid = 0) for the header med_encode_cc would refuse (same rules,
 * has_cin required). */
int med_cc_template_init(struct med_cc_template *t, const struct med_header *h);

/* The same on the heap: NULL with errno EINVAL (a field out of range) or ENOMEM.
 * med_cc_template_free accepts NULL. */
struct med_cc_template *med_cc_template_new(const struct med_header *h);
void med_cc_template_free(struct med_cc_template *t);

/* Encodes one CC PS-PDU (TS 102 232-3 IPCC iPPackets) with sequenceNumber seq, time stamp
 * {ts_sec, ts_usec} in the template's ts_form, payloadDirection dir (MED_DIR_NONE = left out)
 * and the packet, into out[cap]. Returns the bytes written or MED_E_ARG (t not valid, out or
 * pkt NULL, pkt_len not 1..65535, pkt[0] not an IPv4/IPv6 version nibble, dir not -1..4,
 * ts_usec over 999999, ts_sec negative or past year 9999 when the GeneralizedTime is sent) or
 * MED_E_SPACE (cap too small; nothing useful in out). Reads pkt, writes only out. */
long med_cc_template_encode(struct med_cc_template *t, uint32_t seq, int64_t ts_sec,
                            uint32_t ts_usec, int dir, const uint8_t *pkt, size_t pkt_len,
                            uint8_t *out, size_t cap);

/* Makes t the template of h's fixed fields (as med_cc_template_init lists them): rebuilt in
 * place only when they differ from those t was built for (or t is zero-filled or not valid).
 * 0, or MED_E_ARG (t->valid = 0) for a header med_cc_template_init refuses. For a caller that
 * keeps the fixed fields across many records: sync once when they may have changed, then
 * med_cc_template_encode per record. */
int med_cc_template_sync(struct med_cc_template *t, const struct med_header *h);

/* Drop-in for med_encode_cc with the same arguments, return values and bytes, plus a template
 * slot t: when h's fixed fields differ from those t was built for (or t is zero-filled), t is
 * rebuilt in place first (no allocation), then the record is encoded from it. Keep one slot per
 * (LIID, CIN, LEA) stream, or one per thread for a cheap rebuild on every change. */
long med_encode_cc_fast(struct med_cc_template *t, const struct med_header *h, int dir,
                        const uint8_t *pkt, size_t pkt_len, uint8_t *out, size_t cap);

#endif

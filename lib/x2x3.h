/* lib/x2x3.h: ETSI TS 103 221-2 X2/X3 PDUs (IAP -> mediator), big-endian binary.
 *
 * Layout (docs/standards facts): version major 0 minor 5 on send (any accepted on receipt),
 * pduType u16, headerLength u32 (40 + attributes), payloadLength u32, payloadFormat u16,
 * payloadDirection u16, XID 16 bytes, correlationID 8 bytes, then TLV attributes
 * (type u16, length u16, value), then the payload.
 * Parsing takes every span (fixed header, attribute area, each attribute's type/length and
 * value, payload) through a bounds-checked cursor and reads fields only inside a span so taken;
 * nothing else is indexed. */
#ifndef LAWTAP_X2X3_H
#define LAWTAP_X2X3_H

#include <stddef.h>
#include <stdint.h>

#define LT_X2X3_FIXED_HDR 40
/* The largest PDU lawtap sends or accepts: 40-byte header + up to 1024 bytes of attributes +
 * a 65535-byte IP packet. Larger PDUs are refused with LT_X2X3_E_TOOBIG. Documented in docs/. */
#define LT_X2X3_MAX_ATTRS 1024
#define LT_X2X3_MAX_PDU (LT_X2X3_FIXED_HDR + LT_X2X3_MAX_ATTRS + 65535)

enum lt_x2x3_type { LT_X2 = 1, LT_X3 = 2, LT_X2X3_KEEPALIVE = 3, LT_X2X3_KEEPALIVE_ACK = 4 };
enum lt_x2x3_format {
	LT_PF_KEEPALIVE = 0,
	LT_PF_ETSI102232 = 1,
	LT_PF_3GPP33128 = 2,
	LT_PF_3GPP33108 = 3,
	LT_PF_PROPRIETARY = 4,
	LT_PF_IPV4 = 5,
	LT_PF_IPV6 = 6,
	LT_PF_ETHERNET = 7
};
enum lt_x2x3_dir {
	LT_DIR_KEEPALIVE = 0,
	LT_DIR_UNKNOWN = 1,
	LT_DIR_TO_TARGET = 2,
	LT_DIR_FROM_TARGET = 3,
	LT_DIR_MULTIPLE = 4,
	LT_DIR_NA = 5
};
enum lt_x2x3_attr {
	LT_ATTR_DOMAIN_ID = 5,
	LT_ATTR_NF_ID = 6,
	LT_ATTR_IPID = 7,
	LT_ATTR_SEQ = 8,
	LT_ATTR_TIMESTAMP = 9,
	LT_ATTR_SRC_V4 = 10,
	LT_ATTR_DST_V4 = 11,
	LT_ATTR_SRC_V6 = 12,
	LT_ATTR_DST_V6 = 13,
	LT_ATTR_SRC_PORT = 14,
	LT_ATTR_DST_PORT = 15,
	LT_ATTR_PROTO = 16,
	LT_ATTR_MATCHED_TARGET = 17,
	/* lawtap-private: the sending IAP's run epoch, u64 big-endian (8 bytes). TS 103 221-2
	 * defines no private attribute range; 65280 (0xFF00) is far above the assigned types and
	 * documented in docs/internals.md. Used by the mediator's de-duplication key. */
	LT_ATTR_LAWTAP_EPOCH = 65280
};

/* Error codes (negative). */
#define LT_X2X3_E_SHORT (-1)   /* need more bytes (framing only) */
#define LT_X2X3_E_BADHDR (-2)  /* header malformed: headerLength < 40, bad attribute TLV, ... */
#define LT_X2X3_E_TOOBIG (-3)  /* exceeds LT_X2X3_MAX_PDU or the attribute limit */
#define LT_X2X3_E_BADTYPE (-4) /* pduType not 1..4 */
#define LT_X2X3_E_SPACE (-5)   /* encode: output buffer too small */

/* A PDU in plain form. Known attributes are decoded into fields (has_* flags); unknown ones are
 * skipped. payload points into the parsed buffer (no copy). */
struct lt_x2x3_pdu {
	uint8_t ver_major, ver_minor;
	uint16_t type, format, direction;
	uint8_t xid[16];
	uint64_t correlation; /* lawtap carries the CIN here (value = CIN) */
	int has_seq;
	uint32_t seq;
	int has_ts;
	uint32_t ts_sec, ts_nsec;
	int has_ipid;
	char ipid[33]; /* NUL-terminated, at most 32 octets kept */
	int has_src_v4, has_dst_v4, has_src_v6, has_dst_v6;
	uint8_t src[16], dst[16]; /* v4 uses the first 4 bytes */
	int has_sport, has_dport, has_proto;
	uint16_t sport, dport;
	uint8_t proto;
	int has_epoch; /* attribute 65280 (lawtap run epoch) */
	uint64_t epoch;
	const uint8_t *payload;
	uint32_t payload_len;
};

/* Framing: given the first len bytes of a stream, sets *pdu_len to the total size of the first
 * PDU. Returns 0 when the whole PDU is present, LT_X2X3_E_SHORT when more bytes are needed
 * (*pdu_len is set as soon as the first 12 bytes, up to payloadLength, are present and valid),
 * or another negative code when the header is invalid (pduType not 1..4, headerLength < 40) or
 * the PDU is too big (the stream cannot be resynchronised: drop the link). */
int lt_x2x3_frame(const uint8_t *buf, size_t len, size_t *pdu_len);
/* Parses exactly one PDU of len bytes. 0 or a negative code; *why (may be NULL) gets a static
 * or per-thread string naming the problem ("attribute 9 has length 4, expected 8"), valid until
 * the next call in the same thread. Refused (LT_X2X3_E_BADHDR): len != headerLength +
 * payloadLength (E_SHORT if less), a truncated attribute, a known attribute (7-16) with a wrong
 * length or twice (likewise 65280, 8 bytes), attribute 7 empty, longer than 32 octets or holding a
 * NUL, nanoseconds above 999999999, an IPv4 and an IPv6 address for the same end. Attributes 5, 6,
 * 17 and unknown ones are skipped. Format and direction are not checked (the caller's policy). */
int lt_x2x3_parse(const uint8_t *buf, size_t len, struct lt_x2x3_pdu *out, const char **why);
/* Encodes p (payload from p->payload/p->payload_len, attributes from the has_* fields in the
 * order 7, 8, 9, 10..16, 65280, version 0.5; p->ver_* is ignored) into out. Returns the number of
 * bytes written or LT_X2X3_E_SPACE / LT_X2X3_E_TOOBIG, LT_X2X3_E_BADTYPE (type not 1..4) or
 * LT_X2X3_E_BADHDR (p inconsistent: empty ipid, IPv4 and IPv6 for one end, payload NULL with
 * payload_len > 0). Nothing useful is in out on error. */
long lt_x2x3_encode(const struct lt_x2x3_pdu *p, uint8_t *out, size_t cap);
/* Keep-alive (type 3) and keep-alive ack (type 4) carrying sequence number seq. */
long lt_x2x3_keepalive(int ack, uint32_t seq, uint8_t *out, size_t cap);

/* UUID text <-> binary ("8-4-4-4-12" hex). 0 or -1. */
int lt_uuid_parse(const char *s, uint8_t out[16]);
void lt_uuid_format(const uint8_t in[16], char out[37]);
/* Random version-4 UUID (OpenSSL RAND_bytes). */
void lt_uuid_random(uint8_t out[16]);

#endif

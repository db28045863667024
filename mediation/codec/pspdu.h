/* mediation/codec/pspdu.h: ETSI TS 102 232-1 PS-PDU encode/decode (with TS 102 232-3 IP access
 * payloads). The only door to asn1c: callers use these plain structs and get bytes back.
 * Encoding is definite-length, canonical (DER-like minimal lengths) BER. */
#ifndef LAWTAP_PSPDU_H
#define LAWTAP_PSPDU_H

#include <stddef.h>
#include <stdint.h>

#define MED_LIID_MAX 25
#define MED_OPID_MAX 16
#define MED_IPID_MAX 8
/* Largest PS-PDU lawtap emits or accepts (a 65535-byte packet plus headers). */
#define MED_PSPDU_MAX (70 * 1024)

/* Error codes (negative). */
#define MED_E_ARG (-1)    /* a field out of its range (LIID length, country code, ...) */
#define MED_E_SPACE (-2)  /* output buffer too small */
#define MED_E_ENCODE (-3) /* asn1c refused to encode (constraint check failed) */
#define MED_E_SHORT (-4)  /* framing: need more bytes */
#define MED_E_BER (-5)    /* framing/decoding: malformed BER, indefinite length, too big */
#define MED_E_DECODE (-6) /* decoding: not a valid PS-PDU */

enum med_ts_form { MED_TS_MICRO = 1, MED_TS_GENERALIZED = 2, MED_TS_BOTH = 3 };
enum med_ts_qual {
	MED_TSQ_NONE = -1,
	MED_TSQ_UNKNOWN = 0,
	MED_TSQ_INTERCEPTION = 1,
	MED_TSQ_MEDIATION = 2
};
/* PS-PDU PayloadDirection values. */
enum med_dir {
	MED_DIR_FROM_TARGET = 0,
	MED_DIR_TO_TARGET = 1,
	MED_DIR_INDETERMINATE = 2,
	MED_DIR_COMBINED = 3,
	MED_DIR_NA = 4,
	MED_DIR_NONE = -1
};
enum med_iri_type { MED_IRI_BEGIN = 1, MED_IRI_END = 2, MED_IRI_CONTINUE = 3, MED_IRI_REPORT = 4 };
/* TS 102 232-3 accessEventType values lawtap uses. */
enum med_access_event {
	MED_EV_START_OF_INTERCEPTION_SESSION_ACTIVE = 7,
	MED_EV_END_OF_INTERCEPTION_SESSION_ACTIVE = 9
};

/* PSHeader fields (TS 102 232-1 5.2). Strings are NUL-terminated; "" means absent. */
struct med_header {
	uint8_t liid[MED_LIID_MAX];
	size_t liid_len;                    /* 1..25 */
	char auth_cc[3];                    /* authorizationCountryCode, 2 letters or "" */
	char deliv_cc[3];                   /* deliveryCountryCode, 2 letters or "" */
	char operator_id[MED_OPID_MAX + 1]; /* 1..16 */
	char ne_id[MED_OPID_MAX + 1];       /* networkElementIdentifier, 0..16 ("" = absent) */
	int has_cin;
	uint32_t cin;
	uint32_t seq;
	int64_t ts_sec;              /* time stamp (seconds since 1970, UTC) */
	uint32_t ts_usec;            /* 0..999999 */
	int ts_form;                 /* enum med_ts_form: which PSHeader time fields are sent */
	int ts_qual;                 /* enum med_ts_qual; MED_TSQ_NONE = field absent */
	char ipid[MED_IPID_MAX + 1]; /* interceptionPointID, PrintableString 1..8, "" = absent */
};

/* An IP packet's header facts for an IPIRIOnly report (pen register). */
struct med_header_facts {
	int ip_version; /* 4 or 6 */
	uint8_t src[16], dst[16];
	int proto; /* IP protocol number; TCP(6)/UDP(17) carry ports */
	uint16_t sport, dport;
};

/* IPIRI event made by the mediator. */
struct med_iri_event {
	int event;          /* enum med_access_event */
	char username[256]; /* targetUsername (mandatory; a placeholder when unknown) */
	int access_type;    /* internetAccessType: 0 undefined, 4 lAN, ... */
	int ip_version;     /* iPVersion: 1 v4, 2 v6, 3 v4 and v6 */
	int has_target_ip;  /* targetIPAddress, optional */
	int target_ipver;   /* 4 or 6 */
	uint8_t target_ip[16];
	int target_prefix; /* v6 prefix length (1..128) or v4 prefix length (mask), 0 = none */
};

/* Encoders: write one PS-PDU into out[cap]; return bytes written or a negative MED_E_*.
 * CC: TS 102 232-3 IPCC (object id 5.3.14.2), payloadDirection dir, the packet bytes as
 * iPPackets. IRI event: IPIRI (5.3.14.1) with iRIType iri_type. Report: IPIRIOnly (5.3.14.3)
 * as iRIType iRI-Report with payloadDirection dir. Keep-alive: tRIPayload keep-alive [3]
 * (response != 0: keep-aliveResponse [4]).
 * Time: microSecondTimeStamp {ts_sec, ts_usec} and/or timeStamp as GeneralizedTime in UTC,
 * DER form "YYYYMMDDhhmmss[.f]Z" (fraction without trailing zeros, none when ts_usec is 0).
 * No global state of lawtap's; the output is DER (a function of the inputs only). Several
 * threads may encode/decode at once, with one caveat from asn1c 0.9.28: its generated code
 * rewrites some type descriptors on every use, always with the same values (benign on real
 * hardware, but ThreadSanitizer reports it).
 * MED_E_ARG when: h or out or a payload pointer is NULL; liid_len not 1..25; a country code
 * neither "" nor 2 PrintableString characters; operator_id not 1..16, ne_id over 16, ipid
 * over 8 or not PrintableString (each must be NUL-terminated inside its array); ts_form not
 * 1..3; ts_qual not -1..3; ts_usec over 999999; ts_sec negative (or past year 9999 when the
 * GeneralizedTime is sent); a CC or IRI record without has_cin (TS 102 232-1 5.2.4; keep-alives
 * may leave it out); dir not MED_DIR_NONE (= field left out) or 0..4.
 * CC: pkt_len 1..65535 and pkt[0] an IPv4/IPv6 version nibble.
 * IRI event: iri_type 1..4; username 1..255 octets; event 0..10; access_type 0..9;
 * ip_version 1..3; with has_target_ip: target_ipver 4 (target_prefix 0..32, 0 = no
 * iPv4SubnetMask) or 6 (target_prefix 1..128, sent as iPv6PrefixLength, which the standard
 * makes mandatory for a binary IPv6 address). The event carries no payloadDirection.
 * Report: ip_version 4 or 6; proto 0..255, sent as IPv4 protocol / IPv6 nextHeader (one
 * octet); TCP (6) and UDP (17) also carry both ports, other protocols protocolInformation
 * none. */
long med_encode_cc(const struct med_header *h, int dir, const uint8_t *pkt, size_t pkt_len,
                   uint8_t *out, size_t cap);
long med_encode_iri_event(const struct med_header *h, int iri_type, const struct med_iri_event *ev,
                          uint8_t *out, size_t cap);
long med_encode_iri_report(const struct med_header *h, int dir, const struct med_header_facts *f,
                           uint8_t *out, size_t cap);
long med_encode_keepalive(const struct med_header *h, int response, uint8_t *out, size_t cap);

/* Framing: the length of the first BER TLV (a whole PS-PDU) in buf[len]. Returns 0 with
 * *rec_len set when complete, MED_E_SHORT when more bytes are needed, MED_E_BER when the bytes
 * cannot start a PS-PDU (wrong outer tag, indefinite or oversized length > max). Any definite
 * length form is accepted, non-minimal ones included (30 84 00 00 00 96). max bounds the
 * whole record (tag + length octets + contents); max 0 means MED_PSPDU_MAX. A length that
 * must exceed max is refused as soon as its first octets show it. rec_len NULL: MED_E_BER.
 * Reads only buf[0..len). */
int med_frame(const uint8_t *buf, size_t len, size_t max, size_t *rec_len);

enum med_kind {
	MED_REC_CC = 1,
	MED_REC_IRI = 2,
	MED_REC_KEEPALIVE = 3,
	MED_REC_KEEPALIVE_RESP = 4,
	MED_REC_OTHER = 5
};

/* A decoded record. pkt is malloc'd (freed by med_record_clear). */
struct med_record {
	int kind;              /* enum med_kind */
	struct med_header hdr; /* ts_form reports which time fields were present */
	int dir;               /* payloadDirection or MED_DIR_NONE */
	/* CC */
	uint8_t *pkt;
	size_t pkt_len;
	/* IRI */
	int iri_type;                  /* or 0 when absent */
	int iri_content;               /* 1 IPIRI event, 2 IPIRIOnly report */
	struct med_iri_event ev;       /* when iri_content == 1 */
	struct med_header_facts facts; /* when iri_content == 2 */
};

/* Decodes one whole PS-PDU (len bytes) with the asn1c BER decoder. 0 or MED_E_DECODE with a
 * reason in err. Always call med_record_clear afterwards, also on failure.
 * *out is overwritten without being freed first: clear a record before reusing it. err may be
 * NULL. Bytes after the PS-PDU are an error (frame with med_frame first). Object ids decode
 * for any version (5.3.<v>.x, 0.4.0.2.2.5.1.<v>). hdr.ts_form tells which time fields were
 * present (0: none); with both, ts_sec/ts_usec come from microSecondTimeStamp. A payload
 * sequence of more than one CCPayload/IRIPayload is refused (lawtap reads one per PDU).
 * Payloads outside lawtap's profile (other CC/IRI contents, other TRI choices, extension
 * alternatives) decode as MED_REC_OTHER with the header filled in. */
int med_decode(const uint8_t *buf, size_t len, struct med_record *out, char *err, size_t errlen);
void med_record_clear(struct med_record *r);

/* ---- TRI PDUs: option negotiation and PDU acknowledgement (TS 102 232-1 TRIPayload) ----
 * Additions for docs/pdu-ack.md. med_decode above keeps reporting these payloads as
 * MED_REC_OTHER; med_decode_tri reads any PS-PDU's TRI payload with its option lists. */

/* The TRIPayload alternative of a PS-PDU; the values are the TRIPayload context tags. */
enum med_tri {
	MED_TRI_NONE = -1, /* not a tRIPayload (a CC or IRI record, or another payload) */
	MED_TRI_TEST = 1,
	MED_TRI_PADDING = 2,
	MED_TRI_KEEPALIVE = 3,
	MED_TRI_KEEPALIVE_RESP = 4,
	MED_TRI_FIRST_SEGMENT = 5,
	MED_TRI_LAST_SEGMENT = 6,
	MED_TRI_CIN_RESET = 7,
	MED_TRI_OPTION_REQUEST = 9,
	MED_TRI_OPTION_RESPONSE = 10,
	MED_TRI_OPTION_COMPLETE = 11,
	MED_TRI_PDU_ACK_REQUEST = 12,
	MED_TRI_PDU_ACK_RESPONSE = 13,
	MED_TRI_OTHER = 99 /* an alternative outside lawtap's profile (integrityCheck, ...) */
};

/* TS 102 232-1 Option (a CHOICE; the value is its context tag). */
enum med_option { MED_OPT_PDU_ACK = 0 /* pDUAcknowledgement [0] NULL */ };

/* Entries in one SEQUENCE OF Option that lawtap encodes or accepts on decoding. */
#define MED_OPT_MAX 16

/* A SEQUENCE OF Option: the known options in their order (duplicates kept), and how many
 * entries were alternatives outside the profile (decoding only: asn1c skips their contents,
 * so they cannot be echoed; an encoder refuses unknown != 0). */
struct med_option_list {
	size_t n;
	int opt[MED_OPT_MAX]; /* enum med_option */
	size_t unknown;
};

/* A decoded TRI PDU. */
struct med_tri_pdu {
	int tri;                          /* enum med_tri */
	struct med_header hdr;            /* ts_form reports which time fields were present */
	struct med_option_list requested; /* optionRequest requestedOptions */
	struct med_option_list accepted;  /* optionResponse acceptedOptions */
	struct med_option_list declined;  /* optionResponse declinedOptions */
};

/* 1 when list holds option opt (enum med_option). */
int med_option_has(const struct med_option_list *list, int opt);

/* Encoders of TRI PDUs, as med_encode_keepalive: the header h as given (placeholder LIID, CIN
 * 0 or no CIN, the sequence number the caller chose), DER, bytes written or a negative MED_E_*.
 * med_encode_tri: a TRI alternative whose value is NULL: tri one of MED_TRI_KEEPALIVE,
 * MED_TRI_KEEPALIVE_RESP (same bytes as med_encode_keepalive), MED_TRI_OPTION_COMPLETE [11],
 * MED_TRI_PDU_ACK_REQUEST [12], MED_TRI_PDU_ACK_RESPONSE [13]; any other value: MED_E_ARG.
 * med_encode_option_request: optionRequest [9] { requestedOptions [0] req }.
 * med_encode_option_response: optionResponse [10] { acceptedOptions [0] acc,
 * declinedOptions [1] dec }.
 * Lists: n 0..MED_OPT_MAX, every opt a known enum med_option, unknown 0, else MED_E_ARG; a
 * NULL list pointer is MED_E_ARG (pass an empty list for an empty SEQUENCE OF). */
long med_encode_tri(const struct med_header *h, int tri, uint8_t *out, size_t cap);
long med_encode_option_request(const struct med_header *h, const struct med_option_list *req,
                               uint8_t *out, size_t cap);
long med_encode_option_response(const struct med_header *h, const struct med_option_list *acc,
                                const struct med_option_list *dec, uint8_t *out, size_t cap);

/* Decodes one whole PS-PDU (len bytes, framed by med_frame) like med_decode, and reports its
 * TRI payload: out->tri (MED_TRI_NONE for a CC/IRI record or any non-TRI payload, whose
 * contents are not examined beyond the BER decode), out->hdr, and the option lists of an
 * optionRequest/optionResponse (empty otherwise). 0, or MED_E_DECODE with a reason in err
 * (malformed, bytes after the PDU, a header field out of range, an option list of more than
 * MED_OPT_MAX entries). Nothing to free; *out is fully overwritten; err may be NULL. */
int med_decode_tri(const uint8_t *buf, size_t len, struct med_tri_pdu *out, char *err,
                   size_t errlen);

#endif

/* Fuzz target for lib/x2x3.c: frames the input as a stream of PDUs; each framed PDU is parsed,
 * re-encoded, parsed again, and the two parses must agree (and the second encoding must equal
 * the first byte for byte). Also exercises the UUID parser on the first 36 bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/x2x3.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same(const struct lt_x2x3_pdu *a, const struct lt_x2x3_pdu *b)
{
	int ok = a->type == b->type && a->format == b->format && a->direction == b->direction &&
	         memcmp(a->xid, b->xid, 16) == 0 && a->correlation == b->correlation &&
	         a->has_seq == b->has_seq && (!a->has_seq || a->seq == b->seq) &&
	         a->has_ts == b->has_ts &&
	         (!a->has_ts || (a->ts_sec == b->ts_sec && a->ts_nsec == b->ts_nsec)) &&
	         a->has_ipid == b->has_ipid && strcmp(a->ipid, b->ipid) == 0 &&
	         a->has_src_v4 == b->has_src_v4 && a->has_dst_v4 == b->has_dst_v4 &&
	         a->has_src_v6 == b->has_src_v6 && a->has_dst_v6 == b->has_dst_v6 &&
	         memcmp(a->src, b->src, 16) == 0 && memcmp(a->dst, b->dst, 16) == 0 &&
	         a->has_sport == b->has_sport && a->sport == b->sport &&
	         a->has_dport == b->has_dport && a->dport == b->dport &&
	         a->has_proto == b->has_proto && a->proto == b->proto &&
	         a->payload_len == b->payload_len &&
	         (a->payload_len == 0 || memcmp(a->payload, b->payload, a->payload_len) == 0);
	if (!ok)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t enc1[LT_X2X3_MAX_PDU], enc2[LT_X2X3_MAX_PDU];
	size_t off = 0;

	if (size >= 36) {
		char s[37];
		uint8_t u[16];
		memcpy(s, data, 36);
		s[36] = '\0';
		if (lt_uuid_parse(s, u) == 0) {
			char t[37];
			uint8_t v[16];
			lt_uuid_format(u, t);
			if (lt_uuid_parse(t, v) != 0 || memcmp(u, v, 16) != 0)
				abort();
		}
	}

	while (off < size) {
		size_t len = 0;
		int rc = lt_x2x3_frame(data + off, size - off, &len);
		if (rc != 0) {
			/* An incomplete PDU is still parsed (it must be refused, not overread). */
			struct lt_x2x3_pdu p;
			if (lt_x2x3_parse(data + off, size - off, &p, NULL) == 0)
				abort(); /* framing said no, parsing said yes */
			break;
		}
		if (len < LT_X2X3_FIXED_HDR || len > size - off)
			abort();
		struct lt_x2x3_pdu p, q;
		const char *why = NULL;
		if (lt_x2x3_parse(data + off, len, &p, &why) == 0) {
			long n1 = lt_x2x3_encode(&p, enc1, sizeof enc1);
			if (n1 < LT_X2X3_FIXED_HDR)
				abort(); /* whatever parses must re-encode */
			size_t fl;
			if (lt_x2x3_frame(enc1, (size_t)n1, &fl) != 0 || fl != (size_t)n1)
				abort();
			if (lt_x2x3_parse(enc1, (size_t)n1, &q, NULL) != 0)
				abort();
			same(&p, &q);
			long n2 = lt_x2x3_encode(&q, enc2, sizeof enc2);
			if (n2 != n1 || memcmp(enc1, enc2, (size_t)n1) != 0)
				abort();
		} else if (!why) {
			abort(); /* every refusal names its reason */
		}
		off += len;
	}
	return 0;
}

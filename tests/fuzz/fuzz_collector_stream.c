/* Fuzz target: bytes from a mediator through the collector's receive path (framing, decoding
 * on the fast path or through asn1c, each record checked against med_decode, keep-alive
 * answers, CSV/pcap writers and sequence tracking), without sockets. The first byte
 * picks how the input is cut into reads, as TLS records may cut it anywhere. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "handover/collector/collector.h"
#include "lib/log.h"

struct fz {
	FILE *sink;
	struct col_seqtrack *seq;
};

static int reply(void *arg, const uint8_t *buf, size_t len)
{
	size_t n = 0;
	/* the answer must itself be one whole PS-PDU */
	if (med_frame(buf, len, MED_PSPDU_MAX, &n) != 0 || n != len)
		__builtin_trap();
	return 0;
}

static void tap(void *arg, const uint8_t *bytes, size_t len, const struct med_record *r)
{
	struct fz *z = arg;
	/* the session may have taken the fast path (fastdec.c): asn1c must see the same record */
	struct med_record ref;
	if (med_decode(bytes, len, &ref, NULL, 0) != 0 || ref.kind != r->kind ||
	    ref.hdr.liid_len != r->hdr.liid_len ||
	    memcmp(ref.hdr.liid, r->hdr.liid, r->hdr.liid_len) != 0 ||
	    ref.hdr.has_cin != r->hdr.has_cin || ref.hdr.cin != r->hdr.cin ||
	    ref.hdr.seq != r->hdr.seq || ref.hdr.ts_sec != r->hdr.ts_sec ||
	    ref.hdr.ts_usec != r->hdr.ts_usec || ref.dir != r->dir || ref.pkt_len != r->pkt_len ||
	    (r->pkt_len && memcmp(ref.pkt, r->pkt, r->pkt_len) != 0))
		__builtin_trap();
	med_record_clear(&ref);
	if (r->kind == MED_REC_IRI) {
		col_csv_iri(z->sink, r);
	} else if (r->kind == MED_REC_CC) {
		col_pcap_write(z->sink, r->hdr.ts_sec, r->hdr.ts_usec, r->pkt, r->pkt_len);
	}
	if ((r->kind == MED_REC_IRI || r->kind == MED_REC_CC) && r->hdr.liid_len > 0)
		col_seqtrack_add(z->seq, r->hdr.liid, r->hdr.liid_len, r->hdr.cin,
		                 r->kind == MED_REC_CC ? COL_HI3 : COL_HI2, r->hdr.seq);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	if (!init) {
		lt_log_init("fuzz_collector_stream", -1);
		init = 1;
	}
	if (size == 0)
		return 0;
	size_t chunk = data[0] ? data[0] : 4096;
	data++;
	size--;
	struct fz z = {fopen("/dev/null", "w"), col_seqtrack_new()};
	struct col_session cs;
	memset(&cs, 0, sizeof cs);
	cs.stream = col_stream_new();
	cs.hi = COL_HI3;
	strcpy(cs.name, "fuzz");
	cs.reply = reply;
	cs.tap = tap;
	cs.tap_arg = &z;
	if (z.sink && z.seq && cs.stream) {
		size_t pos = 0;
		while (pos < size) {
			size_t n = size - pos < chunk ? size - pos : chunk;
			n = col_stream_feed(cs.stream, data + pos, n);
			pos += n;
			if (col_session_drain(&cs) != 0 || n == 0)
				break;
		}
		col_summary_write(z.sink, z.seq, &(struct col_counters){0});
	}
	col_stream_free(cs.stream);
	col_seqtrack_free(z.seq);
	if (z.sink)
		fclose(z.sink);
	return 0;
}

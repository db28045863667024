/* tests/fuzz/fuzz_collector_fastdec.c: the collector's fast decoder (handover/collector/fastdec.c)
 * cross-checked against the asn1c decoder on untrusted bytes. Whatever col_fastdec accepts,
 * med_decode must accept with the same field values (and the packet must lie inside the
 * input); whatever it declines, col_decode must answer exactly as med_decode. col_fastdec_cached
 * and col_decode_cached (a prefix cache kept across inputs) must answer as the plain forms, with
 * byte-identical records. The input is one record as framed by med_frame; the whole input is
 * also tried as is (unframed), since col_fastdec must refuse bytes after the record by itself. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "handover/collector/collector.h"
#include "mediation/codec/pspdu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same(const struct med_record *a, const struct med_record *b)
{
	const struct med_header *x = &a->hdr, *y = &b->hdr;
	if (a->kind != b->kind || x->liid_len != y->liid_len ||
	    memcmp(x->liid, y->liid, x->liid_len) != 0 ||
	    memcmp(x->auth_cc, y->auth_cc, sizeof x->auth_cc) != 0 ||
	    memcmp(x->deliv_cc, y->deliv_cc, sizeof x->deliv_cc) != 0 ||
	    memcmp(x->operator_id, y->operator_id, sizeof x->operator_id) != 0 ||
	    memcmp(x->ne_id, y->ne_id, sizeof x->ne_id) != 0 ||
	    memcmp(x->ipid, y->ipid, sizeof x->ipid) != 0 || x->has_cin != y->has_cin ||
	    x->cin != y->cin || x->seq != y->seq || x->ts_sec != y->ts_sec ||
	    x->ts_usec != y->ts_usec || x->ts_form != y->ts_form || x->ts_qual != y->ts_qual ||
	    a->dir != b->dir || a->pkt_len != b->pkt_len ||
	    (a->pkt_len && memcmp(a->pkt, b->pkt, a->pkt_len) != 0) || a->iri_type != b->iri_type ||
	    a->iri_content != b->iri_content)
		abort();
}

/* The prefix cache of col_fastdec_cached, kept across inputs as a connection keeps it. */
static struct col_fastdec_cache cache;

static void check(const uint8_t *buf, size_t len)
{
	struct med_record f, s;
	int fast = col_fastdec(buf, len, &f);
	/* with the cache: the same answer and the same record, whether it misses (first call, which
	 * may refill it) or hits (second call) */
	for (int k = 0; k < 2; k++) {
		struct med_record g;
		if (col_fastdec_cached(buf, len, &g, &cache) != fast ||
		    memcmp(&g, &f, sizeof g) != 0)
			abort();
	}
	int rc = med_decode(buf, len, &s, NULL, 0);
	if (fast) {
		/* accepted by the fast path: asn1c must agree, field for field */
		if (rc != 0)
			abort();
		if (f.pkt_len && (f.pkt < buf || f.pkt + f.pkt_len > buf + len))
			abort();
		same(&f, &s);
	} else {
		if (f.pkt || f.kind)
			abort();
		struct med_record c;
		int used = -1;
		if (col_decode(buf, len, &c, &used, NULL, 0) != rc || used != 0)
			abort();
		if (rc == 0)
			same(&c, &s);
		col_record_release(&c, used);
		used = -1;
		if (col_decode_cached(buf, len, &c, &used, NULL, 0, &cache) != rc || used != 0)
			abort();
		if (rc == 0)
			same(&c, &s);
		col_record_release(&c, used);
	}
	med_record_clear(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	/* exactly sized copies, so the sanitizers see any read past the record */
	uint8_t *all = malloc(size);
	if (!all)
		return 0;
	memcpy(all, data, size);
	check(all, size);
	size_t n = 0;
	if (med_frame(all, size, MED_PSPDU_MAX, &n) == 0 && n < size) {
		uint8_t *rec = malloc(n);
		if (rec) {
			memcpy(rec, all, n);
			check(rec, n);
			free(rec);
		}
	}
	free(all);
	return 0;
}

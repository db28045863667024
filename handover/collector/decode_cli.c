/* `lawtap-collector --decode FILE.ber [--json]`: the receive path's framing and decoding over a
 * file, one line per record, then the summary. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "collector.h"

struct dec {
	FILE *out;
	int json;
	struct col_seqtrack *seq;
	struct col_counters cnt;
};

/* Expected size of a truncated record from its BER header, 0 when the header is incomplete. */
static size_t expected_len(const uint8_t *p, size_t n)
{
	if (n < 2)
		return 0;
	if (p[1] < 0x80)
		return 2 + (size_t)p[1];
	size_t k = p[1] & 0x7f, len = 0;
	if (k == 0 || k > 7 || n < 2 + k)
		return 0;
	for (size_t i = 0; i < k; i++)
		len = (len << 8) | p[2 + i];
	return 2 + k + len;
}

static void print_text(struct dec *d, uint64_t off, size_t len, const struct med_record *r, int dup)
{
	const struct med_header *h = &r->hdr;
	char liid[4 * MED_LIID_MAX + 1], tm[COL_TIME_LEN] = "", a[COL_ADDR_LEN], b[COL_ADDR_LEN];
	col_fmt_liid(liid, sizeof liid, h->liid, h->liid_len);
	if (h->ts_form)
		col_fmt_time(tm, sizeof tm, h->ts_sec, h->ts_usec);
	fprintf(d->out, "offset=%" PRIu64 " seq=%u liid=%s cin=", off, h->seq, liid);
	if (h->has_cin)
		fprintf(d->out, "%u", h->cin);
	fprintf(d->out, " kind=%s time=%s", col_kind_name(r->kind), tm[0] ? tm : "-");
	if (r->kind == MED_REC_CC) {
		fprintf(d->out, " dir=%s len=%zu", r->dir >= 0 ? col_dir_name(r->dir) : "-",
		        r->pkt_len);
	} else if (r->kind == MED_REC_IRI) {
		const char *t = col_iri_type_name(r->iri_type);
		fprintf(d->out, " iri_type=%s", t[0] ? t : "-");
		if (r->iri_content == 1) {
			const char *ev = col_event_name(r->ev.event);
			fprintf(d->out, " event=%s username=", ev ? ev : "?");
			col_json_str(d->out, (const uint8_t *)r->ev.username,
			             strnlen(r->ev.username, sizeof r->ev.username));
			if (r->ev.has_target_ip) {
				col_fmt_addr(a, sizeof a, r->ev.target_ipver, r->ev.target_ip);
				fprintf(d->out, " target=%s", a);
			}
		} else if (r->iri_content == 2) {
			const struct med_header_facts *x = &r->facts;
			col_fmt_addr(a, sizeof a, x->ip_version, x->src);
			col_fmt_addr(b, sizeof b, x->ip_version, x->dst);
			fprintf(d->out, " event=headerReport dir=%s src=%s dst=%s proto=%d",
			        r->dir >= 0 ? col_dir_name(r->dir) : "-", a, b, x->proto);
			if (x->proto == 6 || x->proto == 17)
				fprintf(d->out, " sport=%u dport=%u", x->sport, x->dport);
		}
	}
	fprintf(d->out, " bytes=%zu%s\n", len, dup ? " duplicate" : "");
}

static void json_kv(FILE *f, const char *k, const char *v)
{
	fprintf(f, ",\"%s\":", k);
	col_json_str(f, (const uint8_t *)v, strlen(v));
}

static void print_json(struct dec *d, uint64_t off, size_t len, const struct med_record *r, int dup)
{
	const struct med_header *h = &r->hdr;
	FILE *f = d->out;
	char tm[COL_TIME_LEN] = "", a[COL_ADDR_LEN], b[COL_ADDR_LEN];
	fprintf(f, "{\"offset\":%" PRIu64 ",\"kind\":\"%s\",\"liid\":", off,
	        col_kind_name(r->kind));
	col_json_str(f, h->liid, h->liid_len);
	if (h->has_cin)
		fprintf(f, ",\"cin\":%u", h->cin);
	else
		fputs(",\"cin\":null", f);
	fprintf(f, ",\"seq\":%u", h->seq);
	if (h->ts_form) {
		col_fmt_time(tm, sizeof tm, h->ts_sec, h->ts_usec);
		json_kv(f, "time", tm);
	}
	if (r->dir >= 0)
		json_kv(f, "direction", col_dir_name(r->dir));
	if (r->kind == MED_REC_CC)
		fprintf(f, ",\"length\":%zu", r->pkt_len);
	if (r->kind == MED_REC_IRI) {
		json_kv(f, "iri_type", col_iri_type_name(r->iri_type));
		if (r->iri_content == 1) {
			const char *ev = col_event_name(r->ev.event);
			if (ev)
				json_kv(f, "event", ev);
			else
				fprintf(f, ",\"event\":%d", r->ev.event);
			fputs(",\"username\":", f);
			col_json_str(f, (const uint8_t *)r->ev.username,
			             strnlen(r->ev.username, sizeof r->ev.username));
			if (r->ev.has_target_ip) {
				col_fmt_addr(a, sizeof a, r->ev.target_ipver, r->ev.target_ip);
				json_kv(f, "target", a);
			}
		} else if (r->iri_content == 2) {
			const struct med_header_facts *x = &r->facts;
			col_fmt_addr(a, sizeof a, x->ip_version, x->src);
			col_fmt_addr(b, sizeof b, x->ip_version, x->dst);
			json_kv(f, "event", "headerReport");
			json_kv(f, "src", a);
			json_kv(f, "dst", b);
			fprintf(f, ",\"proto\":%d", x->proto);
			if (x->proto == 6 || x->proto == 17)
				fprintf(f, ",\"sport\":%u,\"dport\":%u", x->sport, x->dport);
		}
	}
	fprintf(f, ",\"bytes\":%zu,\"duplicate\":%s}\n", len, dup ? "true" : "false");
}

static int one(struct dec *d, const uint8_t *rec, size_t len, uint64_t off, const char *path)
{
	struct med_record r;
	char why[160] = "";
	int fast = 0;
	if (col_decode(rec, len, &r, &fast, why, sizeof why) != 0) {
		col_record_release(&r, fast);
		fprintf(stderr, "%s: offset %" PRIu64 ": record of %zu bytes does not decode: %s\n",
		        path, off, len, why[0] ? why : "invalid");
		d->cnt.decode_errors++;
		return -1;
	}
	int dup = 0;
	if (r.kind == MED_REC_CC || r.kind == MED_REC_IRI) {
		int hi = r.kind == MED_REC_CC ? COL_HI3 : COL_HI2;
		int rc = col_seqtrack_add(d->seq, r.hdr.liid, r.hdr.liid_len,
		                          r.hdr.has_cin ? r.hdr.cin : 0, hi, r.hdr.seq);
		dup = rc == COL_SEQ_DUP;
		if (rc == COL_SEQ_NEW && hi == COL_HI3)
			d->cnt.hi3_records++;
		else if (rc == COL_SEQ_NEW)
			d->cnt.hi2_records++;
	} else if (r.kind == MED_REC_KEEPALIVE) {
		d->cnt.keepalives++;
	} else {
		d->cnt.other++;
	}
	if (d->json)
		print_json(d, off, len, &r, dup);
	else
		print_text(d, off, len, &r, dup);
	col_record_release(&r, fast);
	return 0;
}

static int summary_json(const struct col_seq_stats *st, void *arg)
{
	FILE *f = arg;
	fputs("{\"summary\":\"stream\",\"liid\":", f);
	col_json_str(f, st->liid, st->liid_len);
	fprintf(f,
	        ",\"cin\":%u,\"hi\":%d,\"records\":%" PRIu64 ",\"first_seq\":%u,\"last_seq\":%u,"
	        "\"gaps\":%" PRIu64 ",\"duplicates\":%" PRIu64 "}\n",
	        st->cin, st->hi, st->records, st->first_seq, st->last_seq, st->gaps,
	        st->duplicates);
	return 0;
}

static void summary(struct dec *d)
{
	if (!d->json) {
		col_summary_write(d->out, d->seq, &d->cnt);
		return;
	}
	uint64_t gaps, dups;
	col_seqtrack_foreach(d->seq, summary_json, d->out);
	col_seqtrack_totals(d->seq, &gaps, &dups);
	fprintf(d->out,
	        "{\"summary\":\"total\",\"hi2_records\":%" PRIu64 ",\"hi3_records\":%" PRIu64
	        ",\"keepalives\":%" PRIu64 ",\"gaps\":%" PRIu64 ",\"duplicates\":%" PRIu64
	        ",\"decode_errors\":%" PRIu64 "}\n",
	        d->cnt.hi2_records, d->cnt.hi3_records, d->cnt.keepalives, gaps, dups,
	        d->cnt.decode_errors);
}

int col_decode_file(const char *path, int json)
{
	struct dec d = {stdout, json, col_seqtrack_new(), {0}};
	struct col_stream *st = col_stream_new();
	FILE *f = fopen(path, "rb");
	int status = 0, eof = 0, stop = 0;
	if (!f || !d.seq || !st) {
		fprintf(stderr, "%s: %s\n", path, f ? "out of memory" : strerror(errno));
		if (f)
			fclose(f);
		col_stream_free(st);
		col_seqtrack_free(d.seq);
		return 1;
	}
	while (!stop) {
		size_t room;
		uint8_t *p = col_stream_space(st, &room);
		if (!eof && room) {
			size_t n = fread(p, 1, room, f);
			col_stream_commit(st, n);
			eof = n == 0;
		}
		const uint8_t *rec;
		size_t len;
		uint64_t off;
		int rc;
		while ((rc = col_stream_next(st, &rec, &len, &off)) == 0)
			if (one(&d, rec, len, off, path) != 0)
				status = 1;
		if (rc == MED_E_BER) {
			fprintf(stderr,
			        "%s: offset %" PRIu64 ": not the start of a PS-PDU (bad BER tag or "
			        "length, or larger than %d bytes); cannot resynchronise\n",
			        path, off, MED_PSPDU_MAX);
			d.cnt.decode_errors++;
			status = 1;
			stop = 1;
		} else if (eof) {
			size_t left = col_stream_pending(st);
			if (left) {
				size_t room2;
				const uint8_t *q = col_stream_space(st, &room2) - left;
				size_t want = expected_len(q, left);
				if (want)
					fprintf(stderr,
					        "%s: offset %" PRIu64
					        ": truncated last record (%zu "
					        "of %zu bytes)\n",
					        path, off, left, want);
				else
					fprintf(stderr,
					        "%s: offset %" PRIu64
					        ": truncated last record (%zu "
					        "bytes, header incomplete)\n",
					        path, off, left);
				d.cnt.decode_errors++;
				status = 1;
			}
			stop = 1;
		}
	}
	if (ferror(f)) {
		fprintf(stderr, "%s: read error: %s\n", path, strerror(errno));
		status = 1;
	}
	fclose(f);
	summary(&d);
	col_stream_free(st);
	col_seqtrack_free(d.seq);
	return status;
}

/* Unit tests of lawtap-collector's parts: sequence tracking, pcap and CSV writers, framing and
 * the session's receive path, the output directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <pcap/pcap.h>

#include "handover/collector/collector.h"

#define L(s) (const uint8_t *)(s), strlen(s)

/* ---- sequence tracker ---- */
static void seq_in_order(void **state)
{
	struct col_seqtrack *t = col_seqtrack_new();
	struct col_seq_stats st;
	for (uint32_t i = 0; i < 100; i++)
		assert_int_equal(col_seqtrack_add(t, L("LIID-1"), 1, COL_HI3, i), COL_SEQ_NEW);
	assert_int_equal(col_seqtrack_get(t, L("LIID-1"), 1, COL_HI3, &st), 0);
	assert_int_equal(st.records, 100);
	assert_int_equal(st.first_seq, 0);
	assert_int_equal(st.last_seq, 99);
	assert_int_equal(st.gaps, 0);
	assert_int_equal(st.duplicates, 0);
	assert_int_equal(col_seqtrack_get(t, L("LIID-1"), 1, COL_HI2, &st), -1);
	col_seqtrack_free(t);
}

static void seq_duplicates(void **state)
{
	struct col_seqtrack *t = col_seqtrack_new();
	struct col_seq_stats st;
	assert_int_equal(col_seqtrack_add(t, L("A"), 7, COL_HI2, 0), COL_SEQ_NEW);
	assert_int_equal(col_seqtrack_add(t, L("A"), 7, COL_HI2, 1), COL_SEQ_NEW);
	assert_int_equal(col_seqtrack_add(t, L("A"), 7, COL_HI2, 1), COL_SEQ_DUP);
	assert_int_equal(col_seqtrack_add(t, L("A"), 7, COL_HI2, 0), COL_SEQ_DUP);
	/* out of order, then its duplicate */
	assert_int_equal(col_seqtrack_add(t, L("A"), 7, COL_HI2, 5), COL_SEQ_NEW);
	assert_int_equal(col_seqtrack_add(t, L("A"), 7, COL_HI2, 5), COL_SEQ_DUP);
	/* the same number in another stream is not a duplicate */
	assert_int_equal(col_seqtrack_add(t, L("A"), 7, COL_HI3, 1), COL_SEQ_NEW);
	assert_int_equal(col_seqtrack_add(t, L("A"), 8, COL_HI2, 1), COL_SEQ_NEW);
	assert_int_equal(col_seqtrack_add(t, L("B"), 7, COL_HI2, 1), COL_SEQ_NEW);
	assert_int_equal(col_seqtrack_get(t, L("A"), 7, COL_HI2, &st), 0);
	assert_int_equal(st.records, 3);
	assert_int_equal(st.duplicates, 3);
	assert_int_equal(st.gaps, 3); /* 2, 3, 4 */
	uint64_t gaps, dups;
	col_seqtrack_totals(t, &gaps, &dups);
	assert_int_equal(dups, 3);
	assert_int_equal(gaps, 3 + 1 + 1 + 1); /* the other streams miss their 0 */
	assert_int_equal(col_seqtrack_add(t, (const uint8_t *)"x", 0, 1, COL_HI2, 0), COL_E_ARG);
	col_seqtrack_free(t);
}

static void seq_gap_filled_later(void **state)
{
	struct col_seqtrack *t = col_seqtrack_new();
	struct col_seq_stats st;
	uint32_t order[] = {0, 1, 3, 4, 7, 9, 8};
	for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
		assert_int_equal(col_seqtrack_add(t, L("L"), 2, COL_HI3, order[i]), COL_SEQ_NEW);
	col_seqtrack_get(t, L("L"), 2, COL_HI3, &st);
	assert_int_equal(st.gaps, 3); /* 2, 5, 6 */
	assert_int_equal(st.last_seq, 9);
	assert_int_equal(col_seqtrack_add(t, L("L"), 2, COL_HI3, 5), COL_SEQ_NEW);
	assert_int_equal(col_seqtrack_add(t, L("L"), 2, COL_HI3, 2), COL_SEQ_NEW);
	col_seqtrack_get(t, L("L"), 2, COL_HI3, &st);
	assert_int_equal(st.gaps, 1);
	assert_int_equal(col_seqtrack_add(t, L("L"), 2, COL_HI3, 6), COL_SEQ_NEW);
	col_seqtrack_get(t, L("L"), 2, COL_HI3, &st);
	assert_int_equal(st.gaps, 0);
	assert_int_equal(st.records, 10);
	for (uint32_t i = 0; i < 10; i++)
		assert_int_equal(col_seqtrack_add(t, L("L"), 2, COL_HI3, i), COL_SEQ_DUP);
	/* a late start counts the numbers before it as missing until they come */
	assert_int_equal(col_seqtrack_add(t, L("M"), 1, COL_HI3, 5), COL_SEQ_NEW);
	col_seqtrack_get(t, L("M"), 1, COL_HI3, &st);
	assert_int_equal(st.first_seq, 5);
	assert_int_equal(st.gaps, 5);
	/* a long hole stays one range; the top of the 32-bit range works */
	for (uint32_t i = 100; i < 20000; i++)
		col_seqtrack_add(t, L("N"), 1, COL_HI2, i);
	assert_int_equal(col_seqtrack_add(t, L("N"), 1, COL_HI2, UINT32_MAX), COL_SEQ_NEW);
	assert_int_equal(col_seqtrack_add(t, L("N"), 1, COL_HI2, UINT32_MAX), COL_SEQ_DUP);
	col_seqtrack_get(t, L("N"), 1, COL_HI2, &st);
	assert_int_equal(st.records, 19901);
	assert_true(st.gaps == (uint64_t)UINT32_MAX + 1 - 19901);
	col_seqtrack_free(t);
}

struct order_check {
	char prev[64];
	int n;
};

static int check_order(const struct col_seq_stats *st, void *arg)
{
	struct order_check *o = arg;
	char key[64];
	snprintf(key, sizeof key, "%.*s/%010u/%d", (int)st->liid_len, (const char *)st->liid,
	         st->cin, st->hi);
	if (o->n > 0 && strcmp(o->prev, key) >= 0)
		return -1;
	strcpy(o->prev, key);
	o->n++;
	return st->records == 20 && st->gaps == 0 && st->duplicates == 1 ? 0 : -2;
}

static void seq_many_liids(void **state)
{
	struct col_seqtrack *t = col_seqtrack_new();
	char liid[32];
	for (int round = 0; round < 20; round++) {
		/* every stream gets its numbers in an order that opens and closes holes */
		uint32_t seq = (uint32_t)((round % 2) ? round - 1 : round + 1);
		for (int l = 0; l < 2000; l++) {
			snprintf(liid, sizeof liid, "LIID-%05d", l);
			for (uint32_t cin = 1; cin <= 2; cin++)
				for (int hi = COL_HI2; hi <= COL_HI3; hi++)
					assert_int_equal(col_seqtrack_add(t, L(liid), cin, hi, seq),
					                 COL_SEQ_NEW);
		}
	}
	for (int l = 0; l < 2000; l++) {
		snprintf(liid, sizeof liid, "LIID-%05d", l);
		for (uint32_t cin = 1; cin <= 2; cin++)
			for (int hi = COL_HI2; hi <= COL_HI3; hi++)
				assert_int_equal(col_seqtrack_add(t, L(liid), cin, hi, 7),
				                 COL_SEQ_DUP);
	}
	assert_int_equal(col_seqtrack_count(t), 8000);
	struct order_check o = {"", 0};
	assert_int_equal(col_seqtrack_foreach(t, check_order, &o), 0);
	assert_int_equal(o.n, 8000);
	col_seqtrack_free(t);
}

/* Streams interleaved at random, with duplicates, holes and late fills, against a plain model
 * (a bitmap per stream): the tracker's shortcuts (the previous stream kept by pointer, the
 * in-order step) must give the same answers and statistics as the general path. */
static void seq_interleaved_model(void **state)
{
	enum { NS = 5, MAXSEQ = 300 };
	static uint8_t seen[NS][MAXSEQ];
	uint64_t dups[NS] = {0};
	const char *liids[NS] = {"A", "A", "B", "LIID-long-one", "A"};
	const uint32_t cins[NS] = {1, 2, 1, 7, 1};
	const int his[NS] = {COL_HI3, COL_HI3, COL_HI3, COL_HI2, COL_HI2};
	memset(seen, 0, sizeof seen);
	struct col_seqtrack *t = col_seqtrack_new();
	uint64_t x = 88172645463325252ull;
	uint32_t next[NS] = {0};
	int k = 0;
	for (int i = 0; i < 20000; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		/* runs of one stream (the common case), mostly in order, some jumps back/ahead */
		if ((x >> 20) % 4 == 0)
			k = (int)(x % NS);
		uint32_t seq =
		    (x >> 8) % 8 == 0 ? (uint32_t)((x >> 16) % MAXSEQ) : next[k]++ % MAXSEQ;
		int want = seen[k][seq] ? COL_SEQ_DUP : COL_SEQ_NEW;
		if (seen[k][seq])
			dups[k]++;
		seen[k][seq] = 1;
		assert_int_equal(col_seqtrack_add(t, L(liids[k]), cins[k], his[k], seq), want);
	}
	for (k = 0; k < NS; k++) {
		struct col_seq_stats st;
		assert_int_equal(col_seqtrack_get(t, L(liids[k]), cins[k], his[k], &st), 0);
		uint64_t rec = 0;
		uint32_t first = MAXSEQ, last = 0;
		for (uint32_t q = 0; q < MAXSEQ; q++)
			if (seen[k][q]) {
				rec++;
				if (q < first)
					first = q;
				last = q;
			}
		assert_int_equal(st.records, rec);
		assert_int_equal(st.first_seq, first);
		assert_int_equal(st.last_seq, last);
		assert_int_equal(st.gaps, (uint64_t)last + 1 - rec);
		assert_int_equal(st.duplicates, dups[k]);
	}
	col_seqtrack_free(t);
}

static char *mem_text(void (*fill)(FILE *, void *), void *arg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	fill(f, arg);
	fclose(f);
	return buf;
}

static void fill_summary(FILE *f, void *arg)
{
	struct col_counters c = {.hi2_records = 1, .hi3_records = 3, .keepalives = 2};
	assert_int_equal(col_summary_write(f, arg, &c), 0);
}

static void summary_format(void **state)
{
	struct col_seqtrack *t = col_seqtrack_new();
	col_seqtrack_add(t, L("LIID-0001"), 1, COL_HI3, 0);
	col_seqtrack_add(t, L("LIID-0001"), 1, COL_HI3, 2);
	col_seqtrack_add(t, L("LIID-0001"), 1, COL_HI3, 2);
	col_seqtrack_add(t, L("LIID-0001"), 1, COL_HI3, 3);
	col_seqtrack_add(t, L("LIID-0001"), 1, COL_HI2, 0);
	char *s = mem_text(fill_summary, t);
	assert_string_equal(s, "liid=LIID-0001 cin=1 hi=2 records=1 first_seq=0 last_seq=0 gaps=0 "
	                       "duplicates=0\n"
	                       "liid=LIID-0001 cin=1 hi=3 records=3 first_seq=0 last_seq=3 gaps=1 "
	                       "duplicates=1\n"
	                       "total hi2_records=1 hi3_records=3 keepalives=2 gaps=1 duplicates=1 "
	                       "decode_errors=0\n");
	free(s);
	col_seqtrack_free(t);
}

/* ---- pcap writer, read back with libpcap ---- */
static void pcap_roundtrip(void **state)
{
	char path[] = "/tmp/test_collector_XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "wb");
	uint8_t p1[20] = {0x45, 0, 0, 20}, p2[1500];
	memset(p2, 0xab, sizeof p2);
	p2[0] = 0x60;
	assert_int_equal(col_pcap_header(f), 0);
	assert_int_equal(col_pcap_write(f, 1795000000, 123456, p1, sizeof p1), 0);
	assert_int_equal(col_pcap_write(f, 1795000001, 999999, p2, sizeof p2), 0);
	assert_int_equal(col_pcap_write(f, 0, 0, p2, COL_PCAP_SNAPLEN + 1), COL_E_ARG);
	fclose(f);
	f = fopen(path, "rb");
	uint32_t gh[6];
	assert_int_equal(fread(gh, sizeof gh[0], 6, f), 6);
	fclose(f);
	assert_int_equal(gh[0], 0xa1b2c3d4u); /* microseconds, host order */
	assert_int_equal(gh[5], 101);

	char err[PCAP_ERRBUF_SIZE];
	pcap_t *pc = pcap_open_offline(path, err);
	assert_non_null(pc);
	assert_int_equal(pcap_datalink(pc), DLT_RAW); /* the file says LINKTYPE_RAW (101) */
	assert_int_equal(pcap_snapshot(pc), COL_PCAP_SNAPLEN);
	struct pcap_pkthdr *h;
	const u_char *data;
	assert_int_equal(pcap_next_ex(pc, &h, &data), 1);
	assert_int_equal(h->ts.tv_sec, 1795000000);
	assert_int_equal(h->ts.tv_usec, 123456);
	assert_int_equal(h->caplen, sizeof p1);
	assert_int_equal(h->len, sizeof p1);
	assert_memory_equal(data, p1, sizeof p1);
	assert_int_equal(pcap_next_ex(pc, &h, &data), 1);
	assert_int_equal(h->ts.tv_usec, 999999);
	assert_int_equal(h->caplen, sizeof p2);
	assert_memory_equal(data, p2, sizeof p2);
	assert_int_equal(pcap_next_ex(pc, &h, &data), PCAP_ERROR_BREAK);
	pcap_close(pc);
	unlink(path);
}

/* ---- CSV ---- */
static void fill_fields(FILE *f, void *arg)
{
	const char *v[] = {"plain",    "a,b",  "say \"hi\"", "two\nlines", " lead", "trail ",
	                   "",         "cr\r", "x",          "=1+2",       "+x",    "-y",
	                   "@SUM(A1)", "\tz",  "\rw",        "=\"a\",b",   "a=b"};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		assert_int_equal(col_csv_field(f, v[i], strlen(v[i])), 0);
		fputc('|', f);
	}
}

static void csv_quoting(void **state)
{
	char *s = mem_text(fill_fields, NULL);
	assert_string_equal(s, "plain|\"a,b\"|\"say \"\"hi\"\"\"|\"two\nlines\"|\" lead\"|"
	                       "\"trail \"||\"cr\r\"|x|"
	                       "\"'=1+2\"|\"'+x\"|\"'-y\"|\"'@SUM(A1)\"|\"'\tz\"|\"'\rw\"|"
	                       "\"'=\"\"a\"\",b\"|a=b|");
	free(s);
}

static void fill_iri(FILE *f, void *arg)
{
	struct med_record *r = arg;
	assert_int_equal(col_csv_iri(f, r), 0);
}

static void csv_iri_lines(void **state)
{
	struct med_record r;
	memset(&r, 0, sizeof r);
	r.kind = MED_REC_IRI;
	memcpy(r.hdr.liid, "LI,1", 4);
	r.hdr.liid_len = 4;
	r.hdr.has_cin = 1;
	r.hdr.cin = 42;
	r.hdr.seq = 3;
	r.hdr.ts_sec = 1795000000; /* 2026-11-18T11:06:40Z */
	r.hdr.ts_usec = 5;
	r.hdr.ts_form = MED_TS_MICRO;
	r.iri_type = MED_IRI_BEGIN;
	r.iri_content = 1;
	r.ev.event = MED_EV_START_OF_INTERCEPTION_SESSION_ACTIVE;
	strcpy(r.ev.username, "alice \"a\"");
	r.ev.has_target_ip = 1;
	r.ev.target_ipver = 4;
	memcpy(r.ev.target_ip, "\x0a\x00\x00\x01", 4);
	char *s = mem_text(fill_iri, &r);
	assert_string_equal(s,
	                    "\"LI,1\",42,3,2026-11-18T11:06:40.000005Z,begin,"
	                    "startOfInterceptionWithSessionActive,\"alice \"\"a\"\"\",10.0.0.1,,,,"
	                    "\n");
	free(s);

	memset(&r.ev, 0, sizeof r.ev);
	r.iri_type = MED_IRI_REPORT;
	r.iri_content = 2;
	r.facts.ip_version = 6;
	r.facts.src[15] = 1;
	r.facts.dst[0] = 0x20;
	r.facts.dst[1] = 0x01;
	r.facts.proto = 6;
	r.facts.sport = 443;
	r.facts.dport = 51000;
	s = mem_text(fill_iri, &r);
	assert_string_equal(s, "\"LI,1\",42,3,2026-11-18T11:06:40.000005Z,report,headerReport,,::1,"
	                       "2001::,443,51000,6\n");
	free(s);
}

static void fill_json(FILE *f, void *arg)
{
	col_json_str(f, (const uint8_t *)"a\"b\\c\n\x01\xff", 8);
}

static void json_escaping(void **state)
{
	char *s = mem_text(fill_json, NULL);
	assert_string_equal(s, "\"a\\\"b\\\\c\\n\\u0001\\u00ff\"");
	free(s);
	char buf[64];
	col_fmt_liid(buf, sizeof buf, (const uint8_t *)"a b\\\x7f", 5);
	assert_string_equal(buf, "a\\x20b\\\\\\x7f");
	col_fmt_time(buf, sizeof buf, 0, 0);
	assert_string_equal(buf, "1970-01-01T00:00:00.000000Z");
}

/* ---- framing and the session path, with the real codec ---- */
static void header(struct med_header *h, const char *liid, uint32_t cin, uint32_t seq)
{
	memset(h, 0, sizeof *h);
	h->liid_len = strlen(liid);
	memcpy(h->liid, liid, h->liid_len);
	strcpy(h->auth_cc, "NL");
	strcpy(h->deliv_cc, "NL");
	strcpy(h->operator_id, "lawtap-op");
	h->has_cin = 1;
	h->cin = cin;
	h->seq = seq;
	h->ts_sec = 1795000000;
	h->ts_usec = 250000;
	h->ts_form = MED_TS_MICRO;
	h->ts_qual = MED_TSQ_INTERCEPTION;
}

static long make_cc(uint8_t *out, size_t cap, const char *liid, uint32_t seq)
{
	struct med_header h;
	uint8_t pkt[28] = {0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2};
	header(&h, liid, 1, seq);
	return med_encode_cc(&h, MED_DIR_TO_TARGET, pkt, sizeof pkt, out, cap);
}

struct replies {
	int n;
	uint8_t last[512];
	size_t last_len;
};

static int capture_reply(void *arg, const uint8_t *buf, size_t len)
{
	struct replies *r = arg;
	r->n++;
	assert_true(len <= sizeof r->last);
	memcpy(r->last, buf, len);
	r->last_len = len;
	return 0;
}

static void session_keepalive_and_garbage(void **state)
{
	uint8_t buf[4096];
	size_t len = 0;
	long n = make_cc(buf, sizeof buf, "LIID-0001", 0);
	assert_true(n > 0);
	len += (size_t)n;
	struct med_header kh;
	header(&kh, "-", 0, 77);
	kh.has_cin = 1;
	n = med_encode_keepalive(&kh, 0, buf + len, sizeof buf - len);
	assert_true(n > 0);
	len += (size_t)n;

	struct replies rep = {0};
	struct col_session cs;
	memset(&cs, 0, sizeof cs);
	cs.stream = col_stream_new();
	cs.hi = COL_HI3;
	strcpy(cs.name, "test");
	cs.reply = capture_reply;
	cs.reply_arg = &rep;
	/* one byte at a time: framing must wait for whole records */
	for (size_t i = 0; i < len; i++) {
		assert_int_equal(col_stream_feed(cs.stream, buf + i, 1), 1);
		assert_int_equal(col_session_drain(&cs), 0);
	}
	assert_int_equal(cs.records, 1);
	assert_int_equal(cs.keepalives, 1);
	assert_int_equal(rep.n, 1);
	struct med_record r;
	char why[128];
	memset(&r, 0, sizeof r);
	assert_int_equal(med_decode(rep.last, rep.last_len, &r, why, sizeof why), 0);
	assert_int_equal(r.kind, MED_REC_KEEPALIVE_RESP);
	assert_int_equal(r.hdr.seq, 77);
	assert_int_equal(r.hdr.liid_len, 1);
	assert_int_equal(r.hdr.liid[0], '-');
	assert_string_equal(r.hdr.operator_id, "lawtap-op");
	assert_string_equal(r.hdr.deliv_cc, "NL");
	med_record_clear(&r);

	/* garbage drops the connection */
	const uint8_t junk[] = {0x04, 0x02, 0xde, 0xad};
	col_stream_feed(cs.stream, junk, sizeof junk);
	assert_int_equal(col_session_drain(&cs), -1);
	uint64_t off = 0;
	const uint8_t *rec;
	size_t rl;
	assert_int_equal(col_stream_next(cs.stream, &rec, &rl, &off), MED_E_BER);
	assert_int_equal(off, len);
	col_stream_free(cs.stream);

	/* a well-framed record that does not decode drops it too */
	cs.stream = col_stream_new();
	const uint8_t bad[] = {0x30, 0x03, 0x02, 0x01, 0x00};
	col_stream_feed(cs.stream, bad, sizeof bad);
	assert_int_equal(col_session_drain(&cs), -1);
	col_stream_free(cs.stream);
}

/* The session decodes the common shapes on the fast path and everything else through asn1c:
 * what its tap sees must be med_decode's record either way. */
struct tapped {
	int n, cc, iri, fastable;
};

static void tap_compare(void *arg, const uint8_t *bytes, size_t len, const struct med_record *r)
{
	struct tapped *tp = arg;
	struct med_record ref, f;
	char why[128];
	assert_int_equal(med_decode(bytes, len, &ref, why, sizeof why), 0);
	assert_int_equal(r->kind, ref.kind);
	assert_int_equal(r->hdr.liid_len, ref.hdr.liid_len);
	assert_memory_equal(r->hdr.liid, ref.hdr.liid, ref.hdr.liid_len);
	assert_int_equal(r->hdr.cin, ref.hdr.cin);
	assert_int_equal(r->hdr.seq, ref.hdr.seq);
	assert_int_equal(r->hdr.ts_sec, ref.hdr.ts_sec);
	assert_int_equal(r->hdr.ts_usec, ref.hdr.ts_usec);
	assert_string_equal(r->hdr.operator_id, ref.hdr.operator_id);
	assert_int_equal(r->dir, ref.dir);
	assert_int_equal(r->pkt_len, ref.pkt_len);
	if (r->pkt_len)
		assert_memory_equal(r->pkt, ref.pkt, r->pkt_len);
	assert_int_equal(r->iri_content, ref.iri_content);
	med_record_clear(&ref);
	tp->n++;
	tp->cc += r->kind == MED_REC_CC;
	tp->iri += r->kind == MED_REC_IRI;
	tp->fastable += col_fastdec(bytes, len, &f);
}

static void session_fast_and_asn1c_paths(void **state)
{
	static uint8_t buf[65536];
	size_t len = 0;
	for (uint32_t i = 0; i < 50; i++) {
		long n = make_cc(buf + len, sizeof buf - len, "LIID-0001", i);
		assert_true(n > 0 && n < 128);
		if (i == 10) {
			/* the same record with a non-minimal outer length: asn1c only */
			memmove(buf + len + 3, buf + len + 2, (size_t)n - 2);
			buf[len + 2] = buf[len + 1];
			buf[len + 1] = 0x81;
			n++;
		}
		len += (size_t)n;
		if (i % 7 == 3) {
			struct med_header h;
			struct med_iri_event ev;
			header(&h, "LIID-0001", 1, i / 7);
			memset(&ev, 0, sizeof ev);
			ev.event = MED_EV_START_OF_INTERCEPTION_SESSION_ACTIVE;
			strcpy(ev.username, "alice");
			ev.ip_version = 1;
			n = med_encode_iri_event(&h, MED_IRI_BEGIN, &ev, buf + len,
			                         sizeof buf - len);
			assert_true(n > 0);
			len += (size_t)n;
		}
	}
	struct tapped tp = {0};
	struct col_session cs;
	memset(&cs, 0, sizeof cs);
	cs.stream = col_stream_new();
	cs.hi = COL_HI3;
	strcpy(cs.name, "test");
	cs.tap = tap_compare;
	cs.tap_arg = &tp;
	/* cut into uneven reads, as TLS records may cut it */
	for (size_t pos = 0, step = 1; pos < len; pos += step, step = step * 3 % 997 + 1) {
		size_t n = len - pos < step ? len - pos : step;
		assert_int_equal(col_stream_feed(cs.stream, buf + pos, n), n);
		assert_int_equal(col_session_drain(&cs), 0);
	}
	assert_int_equal(tp.cc, 50);
	assert_int_equal(tp.iri, 7);
	assert_int_equal(tp.n, 57);
	assert_int_equal(tp.fastable, 49); /* every CC but the non-minimal one */
	assert_int_equal(cs.records, 57);
	col_stream_free(cs.stream);
}

/* A keep-alive response confirms everything before it: the records must be in the files
 * (handed to the kernel) before the response is sent, although the outputs are buffered. */
struct flush_check {
	const char *dir;
	size_t want_ber;
	int replies;
};

static size_t file_size(const char *dir, const char *name)
{
	char path[600];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fclose(f);
	return (size_t)n;
}

static int reply_after_flush(void *arg, const uint8_t *buf, size_t len)
{
	struct flush_check *fc = arg;
	assert_int_equal(file_size(fc->dir, "hi3.ber"), fc->want_ber);
	fc->replies++;
	return 0;
}

static void store_flushed_before_keepalive_answer(void **state)
{
	char dir[] = "/tmp/test_collector_ka_XXXXXX";
	assert_non_null(mkdtemp(dir));
	char err[256];
	struct col_store *s = col_store_open(dir, err, sizeof err);
	assert_non_null(s);
	static uint8_t buf[65536];
	size_t len = 0;
	for (uint32_t i = 0; i < 100; i++) {
		long n = make_cc(buf + len, sizeof buf - len, "LIID-0001", i);
		assert_true(n > 0);
		len += (size_t)n;
	}
	size_t ccbytes = len;
	struct med_header kh;
	header(&kh, "-", 0, 5);
	long n = med_encode_keepalive(&kh, 0, buf + len, sizeof buf - len);
	assert_true(n > 0);
	len += (size_t)n;
	struct flush_check fc = {dir, ccbytes, 0};
	struct col_session cs;
	memset(&cs, 0, sizeof cs);
	cs.stream = col_stream_new();
	cs.store = s;
	cs.hi = COL_HI3;
	strcpy(cs.name, "test");
	cs.reply = reply_after_flush;
	cs.reply_arg = &fc;
	assert_int_equal(col_stream_feed(cs.stream, buf, len), len);
	assert_int_equal(col_session_drain(&cs), 0);
	assert_int_equal(fc.replies, 1);
	assert_int_equal(file_size(dir, "cc.pcap"), 24 + 100 * (16 + 28));
	/* records after the last keep-alive are in the files once the store is flushed/closed */
	n = make_cc(buf, sizeof buf, "LIID-0001", 100);
	assert_int_equal(col_stream_feed(cs.stream, buf, (size_t)n), (size_t)n);
	assert_int_equal(col_session_drain(&cs), 0);
	assert_int_equal(col_store_flush(s), 0);
	assert_int_equal(file_size(dir, "hi3.ber"), ccbytes + (size_t)n);
	struct col_counters c;
	col_store_counters(s, &c);
	assert_int_equal(c.hi3_records, 101);
	assert_int_equal(c.keepalives, 1);
	assert_int_equal(c.syncs, 0); /* no fdatasync unless asked (--sync) */
	/* --sync: the BER files are synced before the answer, and counted */
	col_store_set_sync(s, 1);
	header(&kh, "-", 0, 6);
	n = med_encode_keepalive(&kh, 0, buf, sizeof buf);
	assert_true(n > 0);
	fc.want_ber = file_size(dir, "hi3.ber"); /* nothing new since the flush above */
	assert_int_equal(col_stream_feed(cs.stream, buf, (size_t)n), (size_t)n);
	assert_int_equal(col_session_drain(&cs), 0);
	assert_int_equal(fc.replies, 2);
	col_store_counters(s, &c);
	assert_int_equal(c.syncs, 1);
	assert_int_equal(c.keepalives, 2);
	col_stream_free(cs.stream);
	col_store_close(s);
	char cmd[700];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/* ---- output directory ---- */
static char *slurp(const char *dir, const char *name, size_t *len)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	char *buf = malloc(1 << 20);
	*len = fread(buf, 1, 1 << 20, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

/* ---- PDU acknowledgement (docs/pdu-ack.md, LEA side) ---- */
struct pa_replies {
	const char *dir; /* with a store: hi3.ber must hold want_ber bytes when an answer goes */
	size_t want_ber;
	int n;
	struct med_tri_pdu last;
};

static int pa_reply(void *arg, const uint8_t *buf, size_t len)
{
	struct pa_replies *r = arg;
	char why[160] = "";
	if (r->dir)
		assert_int_equal(file_size(r->dir, "hi3.ber"), r->want_ber);
	if (med_decode_tri(buf, len, &r->last, why, sizeof why) != 0)
		fail_msg("the answer does not decode: %s", why);
	r->n++;
	return 0;
}

/* A TRI PDU from the mediator: keep-alive header conventions (placeholder LIID, CIN 0). */
static size_t make_tri(uint8_t *out, size_t cap, int tri, uint32_t seq)
{
	struct med_header h;
	header(&h, "-", 0, seq);
	h.ts_qual = MED_TSQ_NONE;
	long n;
	if (tri == MED_TRI_OPTION_REQUEST) {
		struct med_option_list req = {.n = 1, .opt = {MED_OPT_PDU_ACK}};
		n = med_encode_option_request(&h, &req, out, cap);
	} else {
		n = med_encode_tri(&h, tri, out, cap);
	}
	assert_true(n > 0);
	return (size_t)n;
}

static void feed(struct col_session *cs, const uint8_t *buf, size_t len)
{
	assert_int_equal(col_stream_feed(cs->stream, buf, len), len);
}

static void session_pdu_ack(void **state)
{
	char dir[] = "/tmp/test_collector_pa_XXXXXX";
	assert_non_null(mkdtemp(dir));
	char err[256];
	struct col_store *s = col_store_open(dir, err, sizeof err);
	assert_non_null(s);
	static uint8_t buf[65536];
	struct pa_replies rep = {dir, 0, 0, {0}};
	struct col_session cs;
	memset(&cs, 0, sizeof cs);
	cs.stream = col_stream_new();
	cs.store = s;
	cs.hi = COL_HI3;
	strcpy(cs.name, "test");
	cs.reply = pa_reply;
	cs.reply_arg = &rep;
	struct ho_pa_col_conf pc = {.accept = 1};
	ho_pa_col_init(&cs.pa, &pc);

	/* optionRequest seq 0: accepted, same sequence number */
	feed(&cs, buf, make_tri(buf, sizeof buf, MED_TRI_OPTION_REQUEST, 0));
	assert_int_equal(col_session_drain(&cs), 0);
	assert_int_equal(rep.n, 1);
	assert_int_equal(rep.last.tri, MED_TRI_OPTION_RESPONSE);
	assert_int_equal(rep.last.hdr.seq, 0);
	assert_true(med_option_has(&rep.last.accepted, MED_OPT_PDU_ACK));
	assert_false(med_option_has(&rep.last.declined, MED_OPT_PDU_ACK));
	/* optionComplete: no answer, PDU acknowledgement in force */
	feed(&cs, buf, make_tri(buf, sizeof buf, MED_TRI_OPTION_COMPLETE, 1));
	assert_int_equal(col_session_drain(&cs), 0);
	assert_int_equal(rep.n, 1);
	assert_int_equal(ho_pa_col_state(&cs.pa), HO_PA_COL_ACTIVE);

	/* 100 records then a request: answered once the records are in the files */
	size_t len = 0;
	for (uint32_t i = 0; i < 100; i++) {
		long n = make_cc(buf + len, sizeof buf - len, "LIID-0001", i);
		assert_true(n > 0);
		len += (size_t)n;
	}
	rep.want_ber = len;
	len += make_tri(buf + len, sizeof buf - len, MED_TRI_PDU_ACK_REQUEST, 2);
	feed(&cs, buf, len);
	assert_int_equal(col_session_drain(&cs), 0);
	assert_int_equal(rep.n, 2);
	assert_int_equal(rep.last.tri, MED_TRI_PDU_ACK_RESPONSE);
	assert_int_equal(rep.last.hdr.seq, 2);
	assert_int_equal(rep.last.hdr.liid_len, 1);
	assert_int_equal(cs.pdu_acks, 1);
	/* a keep-alive still gets its answer in pdu-ack mode */
	struct med_header kh;
	header(&kh, "-", 0, 3);
	long kn = med_encode_keepalive(&kh, 0, buf, sizeof buf);
	assert_true(kn > 0);
	feed(&cs, buf, (size_t)kn);
	assert_int_equal(col_session_drain(&cs), 0);
	assert_int_equal(cs.keepalives, 1);
	/* a second optionRequest on the connection breaks the protocol: dropped */
	feed(&cs, buf, make_tri(buf, sizeof buf, MED_TRI_OPTION_REQUEST, 4));
	assert_int_equal(col_session_drain(&cs), -1);
	col_stream_free(cs.stream);

	/* the summary counts the answered requests */
	assert_int_equal(col_store_write_summary(s), 0);
	size_t slen;
	char *sum = slurp(dir, "summary.txt", &slen);
	if (!strstr(sum, " decode_errors=0 pdu_acks=1\n"))
		fail_msg("summary without pdu_acks=1: %s", sum);
	free(sum);
	struct col_counters c;
	col_store_counters(s, &c);
	assert_int_equal(c.pdu_acks, 1);

	/* declining (lawtap-collector --no-pdu-ack): declined, and a request after the
	 * optionComplete is a protocol error */
	memset(&rep, 0, sizeof rep);
	cs.stream = col_stream_new();
	cs.pdu_acks = 0;
	pc.accept = 0;
	ho_pa_col_init(&cs.pa, &pc);
	feed(&cs, buf, make_tri(buf, sizeof buf, MED_TRI_OPTION_REQUEST, 0));
	assert_int_equal(col_session_drain(&cs), 0);
	assert_int_equal(rep.n, 1);
	assert_true(med_option_has(&rep.last.declined, MED_OPT_PDU_ACK));
	assert_false(med_option_has(&rep.last.accepted, MED_OPT_PDU_ACK));
	feed(&cs, buf, make_tri(buf, sizeof buf, MED_TRI_OPTION_COMPLETE, 1));
	assert_int_equal(col_session_drain(&cs), 0);
	assert_int_equal(ho_pa_col_state(&cs.pa), HO_PA_COL_OFF);
	feed(&cs, buf, make_tri(buf, sizeof buf, MED_TRI_PDU_ACK_REQUEST, 2));
	assert_int_equal(col_session_drain(&cs), -1);
	assert_int_equal(rep.n, 1);
	assert_int_equal(cs.pdu_acks, 0);
	col_stream_free(cs.stream);

	/* a request without any negotiation: dropped too */
	cs.stream = col_stream_new();
	pc.accept = 1;
	ho_pa_col_init(&cs.pa, &pc);
	feed(&cs, buf, make_tri(buf, sizeof buf, MED_TRI_PDU_ACK_REQUEST, 0));
	assert_int_equal(col_session_drain(&cs), -1);
	col_stream_free(cs.stream);
	col_store_close(s);
	char cmd[700];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

static void store_files(void **state)
{
	char dir[] = "/tmp/test_collector_dir_XXXXXX";
	assert_non_null(mkdtemp(dir));
	char sub[600], err[256];
	snprintf(sub, sizeof sub, "%s/a/b", dir);
	struct col_store *s = col_store_open(sub, err, sizeof err);
	assert_non_null(s);
	uint8_t recs[3][512];
	long n[3];
	for (int i = 0; i < 3; i++)
		n[i] = make_cc(recs[i], sizeof recs[i], "LIID-0001", (uint32_t)(i == 2 ? 0 : i));
	for (int i = 0; i < 3; i++) {
		struct med_record r;
		char why[128];
		memset(&r, 0, sizeof r);
		assert_int_equal(med_decode(recs[i], (size_t)n[i], &r, why, sizeof why), 0);
		assert_int_equal(col_store_record(s, COL_HI3, "test", recs[i], (size_t)n[i], &r),
		                 i == 2 ? COL_SEQ_DUP : COL_SEQ_NEW);
		med_record_clear(&r);
	}
	col_store_close(s);
	size_t len;
	char *ber = slurp(sub, "hi3.ber", &len);
	assert_int_equal(len, (size_t)(n[0] + n[1]));
	assert_memory_equal(ber, recs[0], (size_t)n[0]);
	assert_memory_equal(ber + n[0], recs[1], (size_t)n[1]);
	free(ber);
	char *sum = slurp(sub, "summary.txt", &len);
	assert_string_equal(sum, "liid=LIID-0001 cin=1 hi=3 records=2 first_seq=0 last_seq=1 "
	                         "gaps=0 duplicates=1\n"
	                         "total hi2_records=0 hi3_records=2 keepalives=0 gaps=0 "
	                         "duplicates=1 decode_errors=0\n");
	free(sum);
	char *csv = slurp(sub, "iri.csv", &len);
	assert_string_equal(csv, "liid,cin,seq,time,iri_type,event,username,src,dst,sport,dport,"
	                         "proto\n");
	free(csv);
	char *pc = slurp(sub, "cc.pcap", &len);
	assert_int_equal(len, 24 + 2 * (16 + 28));
	free(pc);

	/* a restart remembers what was stored: the old record is a duplicate */
	s = col_store_open(sub, err, sizeof err);
	assert_non_null(s);
	struct med_record r;
	char why[128];
	memset(&r, 0, sizeof r);
	assert_int_equal(med_decode(recs[1], (size_t)n[1], &r, why, sizeof why), 0);
	assert_int_equal(col_store_record(s, COL_HI3, "test", recs[1], (size_t)n[1], &r),
	                 COL_SEQ_DUP);
	med_record_clear(&r);
	col_store_close(s);
	ber = slurp(sub, "hi3.ber", &len);
	assert_int_equal(len, (size_t)(n[0] + n[1]));
	free(ber);
	char cmd[700];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/* ---- crash safety: cc.pcap / iri.csv reconciled with hi3.ber / hi2.ber on open ---- */
static void write_file(const char *dir, const char *name, const char *buf, size_t len)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void reopen(const char *dir, uint64_t want_hi2, uint64_t want_hi3)
{
	char err[256] = "";
	struct col_store *s = col_store_open(dir, err, sizeof err);
	if (!s)
		fail_msg("col_store_open: %s", err);
	struct col_counters c;
	col_store_counters(s, &c);
	assert_int_equal(c.hi2_records, want_hi2);
	assert_int_equal(c.hi3_records, want_hi3);
	col_store_close(s);
}

static void check_file(const char *dir, const char *name, const char *want, size_t want_len)
{
	size_t len;
	char *got = slurp(dir, name, &len);
	assert_int_equal(len, want_len);
	assert_memory_equal(got, want, len);
	free(got);
}

/* offset of the end of line n (1-based, the header is line 1) in a CSV text */
static size_t csv_line_end(const char *csv, size_t len, int n)
{
	int quoted = 0;
	for (size_t i = 0; i < len; i++) {
		if (csv[i] == '"')
			quoted = !quoted;
		else if (csv[i] == '\n' && !quoted && --n == 0)
			return i + 1;
	}
	fail_msg("CSV has fewer lines");
	return 0;
}

static void store_reconcile_after_crash(void **state)
{
	enum { NCC = 20, NIRI = 6, PREC = 16 + 28 };
	char dir[] = "/tmp/test_collector_rec_XXXXXX";
	assert_non_null(mkdtemp(dir));
	char err[256];
	struct col_store *s = col_store_open(dir, err, sizeof err);
	assert_non_null(s);
	static uint8_t cc[NCC][512], iri[NIRI][1024];
	size_t cclen[NCC], irilen[NIRI];
	for (int i = 0; i < NCC; i++) {
		long n = make_cc(cc[i], sizeof cc[i], "LIID-0001", (uint32_t)i);
		assert_true(n > 0);
		cclen[i] = (size_t)n;
	}
	for (int i = 0; i < NIRI; i++) {
		struct med_header h;
		header(&h, "LIID-0001", 1, (uint32_t)i);
		struct med_iri_event ev;
		memset(&ev, 0, sizeof ev);
		ev.event = MED_EV_START_OF_INTERCEPTION_SESSION_ACTIVE;
		/* quoted fields with a line feed and a quote: one row, two lines */
		ev.ip_version = 1;
		snprintf(ev.username, sizeof ev.username, "user %d\n\"x\",y", i);
		long n = med_encode_iri_event(&h, i == 0 ? MED_IRI_BEGIN : MED_IRI_CONTINUE, &ev,
		                              iri[i], sizeof iri[i]);
		assert_true(n > 0);
		irilen[i] = (size_t)n;
	}
	for (int i = 0; i < NCC; i++) {
		struct med_record r;
		char why[128];
		memset(&r, 0, sizeof r);
		assert_int_equal(med_decode(cc[i], cclen[i], &r, why, sizeof why), 0);
		assert_int_equal(col_store_record(s, COL_HI3, "test", cc[i], cclen[i], &r),
		                 COL_SEQ_NEW);
		med_record_clear(&r);
		if (i < NIRI) {
			memset(&r, 0, sizeof r);
			assert_int_equal(med_decode(iri[i], irilen[i], &r, why, sizeof why), 0);
			assert_int_equal(
			    col_store_record(s, COL_HI2, "test", iri[i], irilen[i], &r),
			    COL_SEQ_NEW);
			med_record_clear(&r);
		}
	}
	col_store_close(s);
	size_t plen, clen, b3len, b2len;
	char *pcap = slurp(dir, "cc.pcap", &plen);
	char *csv = slurp(dir, "iri.csv", &clen);
	char *ber3 = slurp(dir, "hi3.ber", &b3len);
	char *ber2 = slurp(dir, "hi2.ber", &b2len);
	assert_int_equal(plen, 24 + NCC * PREC);
	assert_int_equal(csv_line_end(csv, clen, 1 + NIRI), clen);

	/* hi3.ber/hi2.ber ahead: the missing records are appended, byte for byte as live */
	write_file(dir, "cc.pcap", pcap, 24 + 13 * PREC);
	write_file(dir, "iri.csv", csv, csv_line_end(csv, clen, 1 + 2));
	reopen(dir, NIRI, NCC);
	check_file(dir, "cc.pcap", pcap, plen);
	check_file(dir, "iri.csv", csv, clen);
	/* ... also from nothing (header only, and no file at all) */
	write_file(dir, "cc.pcap", pcap, 24);
	char path[600];
	snprintf(path, sizeof path, "%s/iri.csv", dir);
	assert_int_equal(unlink(path), 0);
	reopen(dir, NIRI, NCC);
	check_file(dir, "cc.pcap", pcap, plen);
	check_file(dir, "iri.csv", csv, clen);

	/* cc.pcap/iri.csv ahead (their BER records lost): cut back to the BER files' count */
	size_t b3cut = 0, b2cut = 0;
	for (int i = 0; i < 12; i++)
		b3cut += cclen[i];
	for (int i = 0; i < 4; i++)
		b2cut += irilen[i];
	write_file(dir, "hi3.ber", ber3, b3cut);
	write_file(dir, "hi2.ber", ber2, b2cut);
	reopen(dir, 4, 12);
	check_file(dir, "cc.pcap", pcap, 24 + 12 * PREC);
	check_file(dir, "iri.csv", csv, csv_line_end(csv, clen, 1 + 4));
	/* and with a partial BER tail too (cut, then the derived files follow) */
	write_file(dir, "hi3.ber", ber3, b3cut + cclen[12] / 2);
	write_file(dir, "hi2.ber", ber2, b2cut - irilen[3] / 2);
	reopen(dir, 3, 12);
	check_file(dir, "hi3.ber", ber3, b3cut);
	check_file(dir, "iri.csv", csv, csv_line_end(csv, clen, 1 + 3));
	/* ... down to none */
	write_file(dir, "hi3.ber", ber3, 0);
	write_file(dir, "hi2.ber", ber2, 0);
	reopen(dir, 0, 0);
	check_file(dir, "cc.pcap", pcap, 24);
	check_file(dir, "iri.csv", csv, csv_line_end(csv, clen, 1));
	write_file(dir, "hi3.ber", ber3, b3len);
	write_file(dir, "hi2.ber", ber2, b2len);
	reopen(dir, NIRI, NCC);
	check_file(dir, "cc.pcap", pcap, plen);
	check_file(dir, "iri.csv", csv, clen);

	/* a partial pcap record at the end is cut, the record received again from hi3.ber */
	write_file(dir, "cc.pcap", pcap, plen - 5);
	reopen(dir, NIRI, NCC);
	check_file(dir, "cc.pcap", pcap, plen);
	write_file(dir, "cc.pcap", pcap, plen - PREC + 9); /* inside the record header */
	reopen(dir, NIRI, NCC);
	check_file(dir, "cc.pcap", pcap, plen);
	/* a partial CSV row (inside its quoted field with a line feed) likewise */
	size_t last = csv_line_end(csv, clen, NIRI);
	const char *lf = memchr(csv + last, '\n', clen - last);
	assert_non_null(lf);
	write_file(dir, "iri.csv", csv, (size_t)(lf - csv) + 1);
	reopen(dir, NIRI, NCC);
	check_file(dir, "iri.csv", csv, clen);
	write_file(dir, "iri.csv", csv, clen - 1);
	reopen(dir, NIRI, NCC);
	check_file(dir, "iri.csv", csv, clen);
	/* a partial pcap file header: the file is written again */
	write_file(dir, "cc.pcap", pcap, 10);
	reopen(dir, NIRI, NCC);
	check_file(dir, "cc.pcap", pcap, plen);
	/* not ours: refused, not overwritten */
	write_file(dir, "cc.pcap", "not a pcap file at all, no", 26);
	assert_null(col_store_open(dir, err, sizeof err));
	assert_non_null(strstr(err, "not a LINKTYPE_RAW"));
	check_file(dir, "cc.pcap", "not a pcap file at all, no", 26);

	free(pcap);
	free(csv);
	free(ber3);
	free(ber2);
	char cmd[700];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(seq_in_order),
	    cmocka_unit_test(seq_duplicates),
	    cmocka_unit_test(seq_gap_filled_later),
	    cmocka_unit_test(seq_many_liids),
	    cmocka_unit_test(summary_format),
	    cmocka_unit_test(pcap_roundtrip),
	    cmocka_unit_test(csv_quoting),
	    cmocka_unit_test(csv_iri_lines),
	    cmocka_unit_test(json_escaping),
	    cmocka_unit_test(session_keepalive_and_garbage),
	    cmocka_unit_test(store_files),
	    cmocka_unit_test(seq_interleaved_model),
	    cmocka_unit_test(session_fast_and_asn1c_paths),
	    cmocka_unit_test(store_flushed_before_keepalive_answer),
	    cmocka_unit_test(session_pdu_ack),
	    cmocka_unit_test(store_reconcile_after_crash),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

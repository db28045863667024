/* Unit tests for the mediator's per-record path (mediation/records.c) and its de-duplication
 * (mediation/dedup.c): runs of records keep the de-duplication mark, the PSHeaders and the CC
 * templates for the run; each record must still get exactly the bytes med_encode_cc makes for
 * its header, and exactly the duplicate decisions of a per-record check (docs/delivery.md).
 * A real mediator context (store, spools, handovers) is built in a temporary directory with a
 * PKI from certs/mkpki; its handovers are never started (records stay in the spools). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "handover/spool.h"
#include "lib/timeutil.h"
#include "lib/x2x3.h"
#include "mediation/codec/pspdu.h"
#include "mediation/med_int.h"
#include "med_fixture.h"

#include <unistd.h>

#define CIN_ROLL_AT 8

static char dir[] = "/tmp/lawtap-test-records-XXXXXX";
static struct med_config cfg;
static struct med_ctx *m;
static struct med_warrant *w;
static uint8_t scratch[MED_PSPDU_MAX], want[MED_PSPDU_MAX], pkt[1500];
static int64_t now_s;
/* The tests' run: ended by end_run after each test, also after a failed assertion left it
 * holding the warrant's lock. */
static struct med_run run;

static int setup(void **state)
{
	(void)state;
	char extra[64];
	snprintf(extra, sizeof extra, "  cin_roll_at: %d\n", CIN_ROLL_AT);
	if (med_fixture_new("test_dedup", dir, extra,
	                    "leas:\n"
	                    "  - id: lea1\n"
	                    "    country: DE\n"
	                    "    hi2: 127.0.0.1:9\n"
	                    "    hi3: 127.0.0.1:9\n"
	                    "    timestamp: both\n"
	                    "warrants:\n"
	                    "  - liid: LIID-0001\n"
	                    "    country: NL\n"
	                    "    lea: lea1\n"
	                    "    mode: full\n"
	                    "    start: 2020-01-01T00:00:00Z\n"
	                    "    end: 2099-01-01T00:00:00Z\n"
	                    "    targets: [10.0.0.1]\n",
	                    &cfg, &m) != 0)
		return -1;
	uint32_t ns;
	lt_wallclock(&now_s, &ns);
	med_warrants_tick(m, now_s); /* the warrant starts (its begin event goes to HI2) */
	if (m->nw != 1)
		return -1;
	w = m->w[0];
	return w->state == MED_W_ACTIVE ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	med_free(m);
	med_config_clear(&cfg);
	char cmd[256];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* One X3 record (IPv4 packet of 60 bytes from the target) with IAP sequence number seq. */
static struct lt_x2x3_pdu x3(uint32_t seq, uint64_t epoch, int has_ts)
{
	memset(pkt, 0, 60);
	pkt[0] = 0x45;
	pkt[3] = 60;
	memcpy(pkt + 12, (uint8_t[]){10, 0, 0, 1}, 4);
	memcpy(pkt + 16, (uint8_t[]){192, 0, 2, (uint8_t)seq}, 4);
	pkt[40] = (uint8_t)(seq >> 8); /* the contents differ per record */
	struct lt_x2x3_pdu p;
	memset(&p, 0, sizeof p);
	p.type = LT_X3;
	p.format = LT_PF_IPV4;
	p.direction = LT_DIR_FROM_TARGET;
	memcpy(p.xid, w->xid, 16);
	p.correlation = w->cin;
	p.has_seq = 1;
	p.seq = seq;
	p.has_ts = has_ts;
	p.ts_sec = (uint32_t)now_s;
	p.ts_nsec = (seq * 7919u % 1000u) * 1000000u + seq; /* µs with and without zeros */
	p.has_epoch = 1;
	p.epoch = epoch;
	p.payload = pkt;
	p.payload_len = 60;
	return p;
}

static uint64_t records_in(void)
{
	return atomic_load(&m->records_in[HO_HI3]);
}

static uint64_t dups(void)
{
	return atomic_load(&m->duplicates);
}

/* The record left in scratch by the last med_record_in that spooled one is exactly what
 * med_encode_cc makes for its header: cin/seq as given, time of interception from p. */
static void expect_cc(const struct lt_x2x3_pdu *p, uint32_t cin, uint32_t seq)
{
	struct med_header h;
	memset(&h, 0, sizeof h);
	memcpy(h.liid, "LIID-0001", 9);
	h.liid_len = 9;
	strcpy(h.auth_cc, "NL");
	strcpy(h.deliv_cc, "DE");
	strcpy(h.operator_id, "lawtap-op");
	strcpy(h.ne_id, "med1");
	h.has_cin = 1;
	h.cin = cin;
	h.seq = seq;
	h.ts_sec = p->ts_sec;
	h.ts_usec = p->ts_nsec / 1000;
	h.ts_form = MED_TS_BOTH;
	h.ts_qual = MED_TSQ_INTERCEPTION;
	strcpy(h.ipid, "iap1");
	long n =
	    med_encode_cc(&h, MED_DIR_FROM_TARGET, p->payload, p->payload_len, want, sizeof want);
	assert_true(n > 0);
	size_t got = 0;
	assert_int_equal(med_frame(scratch, sizeof scratch, sizeof scratch, &got), 0);
	assert_int_equal(got, (size_t)n);
	assert_memory_equal(scratch, want, (size_t)n);
}

static int seen(uint64_t epoch, uint32_t seq)
{
	struct ho_spool_key k;
	memset(&k, 0, sizeof k);
	k.has = 1;
	strcpy(k.iap, "iap1");
	k.epoch = epoch;
	memcpy(k.xid, w->xid, 16);
	k.seq = seq;
	return med_dedup_seen_lea(m->dedup, &k, "lea1");
}

/* med_dedup_mark reads the mark med_dedup_note raised, per (IAP id, epoch, XID). */
static void test_mark(void **state)
{
	(void)state;
	struct ho_spool_key k;
	memset(&k, 0, sizeof k);
	strcpy(k.iap, "other");
	k.epoch = 77;
	memset(k.xid, 0xab, 16);
	uint32_t max = 99;
	assert_int_equal(med_dedup_mark(m->dedup, &k, &max), 0);
	assert_int_equal(max, 0);
	k.has = 1;
	k.seq = 41;
	med_dedup_note(m->dedup, &k);
	k.seq = 40; /* a lower one does not lower the mark */
	med_dedup_note(m->dedup, &k);
	assert_int_equal(med_dedup_mark(m->dedup, &k, &max), 1);
	assert_int_equal(max, 41);
	k.epoch = 78;
	assert_int_equal(med_dedup_mark(m->dedup, &k, &max), 0);
	k.epoch = 77;
	strcpy(k.iap, "othe");
	assert_int_equal(med_dedup_mark(m->dedup, &k, &max), 0);
	assert_int_equal(med_dedup_mark(NULL, &k, &max), 0);
}

/* One run: every record byte-exact, the CIN moving on at CIN_ROLL_AT within the run, a resend
 * inside the run dropped, and the counts and the mark in place once the run ends. */
static void test_run(void **state)
{
	(void)state;
	uint64_t r0 = records_in(), d0 = dups();
	uint32_t cin = w->cin, seq = w->lea[0].seq[HO_HI3];
	for (uint32_t i = 0; i < 12; i++) {
		struct lt_x2x3_pdu p = x3(i, 1, 1);
		assert_int_equal(med_record_in(m, &p, "iap1", scratch, sizeof scratch, &run), 0);
		if (seq >= CIN_ROLL_AT) { /* the communication moved to a new CIN */
			assert_true(w->cin != cin);
			cin = w->cin;
			seq = 0;
		}
		assert_int_equal(w->cin, cin);
		expect_cc(&p, cin, seq++);
	}
	struct lt_x2x3_pdu p = x3(3, 1, 1); /* a resend within the run */
	assert_int_equal(med_record_in(m, &p, "iap1", scratch, sizeof scratch, &run), 0);
	assert_int_equal(w->lea[0].seq[HO_HI3], seq); /* not numbered, not spooled */
	med_run_end(&run);
	assert_null(run.w);
	assert_int_equal(records_in() - r0, 12);
	assert_int_equal(dups() - d0, 1);
	assert_int_equal(seen(1, 11), 1);
	assert_int_equal(seen(1, 12), 0);
	/* The next run of the same key sees the mark the last one left. */
	p = x3(11, 1, 1);
	assert_int_equal(med_record_in(m, &p, "iap1", scratch, sizeof scratch, &run), 0);
	p = x3(12, 1, 1);
	assert_int_equal(med_record_in(m, &p, "iap1", scratch, sizeof scratch, &run), 0);
	expect_cc(&p, w->cin, seq++);
	med_run_end(&run);
	assert_int_equal(records_in() - r0, 13);
	assert_int_equal(dups() - d0, 2);
}

/* Another run epoch within a run is another key; a record without a time of interception
 * gets the mediation qualifier, and the next one with a time the interception one again. */
static void test_epoch_and_qualifier(void **state)
{
	(void)state;
	uint64_t r0 = records_in(), d0 = dups();
	struct lt_x2x3_pdu p = x3(0, 2, 1);
	assert_int_equal(med_record_in(m, &p, "iap1", scratch, sizeof scratch, &run), 0);
	p = x3(12, 1, 1); /* epoch 1 again: spooled in test_run */
	assert_int_equal(med_record_in(m, &p, "iap1", scratch, sizeof scratch, &run), 0);
	p = x3(13, 1, 0);
	assert_int_equal(med_record_in(m, &p, "iap1", scratch, sizeof scratch, &run), 0);
	struct med_record rec;
	char why[128];
	size_t n = 0;
	assert_int_equal(med_frame(scratch, sizeof scratch, sizeof scratch, &n), 0);
	int rc = med_decode(scratch, n, &rec, why, sizeof why);
	int qual = rec.hdr.ts_qual, kind = rec.kind;
	uint32_t rseq = rec.hdr.seq;
	med_record_clear(&rec);
	assert_int_equal(rc, 0);
	assert_int_equal(kind, MED_REC_CC);
	assert_int_equal(qual, MED_TSQ_MEDIATION);
	assert_int_equal(rseq, w->lea[0].seq[HO_HI3] - 1);
	p = x3(14, 1, 1);
	assert_int_equal(med_record_in(m, &p, "iap1", scratch, sizeof scratch, &run), 0);
	expect_cc(&p, w->cin, w->lea[0].seq[HO_HI3] - 1);
	p = x3(0, 2, 1); /* epoch 2's first record once more */
	assert_int_equal(med_record_in(m, &p, "iap1", scratch, sizeof scratch, &run), 0);
	med_run_end(&run);
	assert_int_equal(records_in() - r0, 3);
	assert_int_equal(dups() - d0, 2);
	assert_int_equal(seen(1, 14), 1);
	assert_int_equal(seen(1, 15), 0);
	assert_int_equal(seen(2, 0), 1);
	assert_int_equal(seen(2, 1), 0);
}

/* Without a run (run NULL) each record is its own run; records without a sequence number are
 * never duplicates; a run longer than MED_RUN_MAX goes on with the same decisions. */
static void test_single_and_long(void **state)
{
	(void)state;
	uint64_t r0 = records_in(), d0 = dups();
	struct lt_x2x3_pdu p = x3(14, 1, 1);
	assert_int_equal(med_record_in(m, &p, "iap1", scratch, sizeof scratch, NULL), 0);
	assert_int_equal(dups() - d0, 1);
	p = x3(15, 1, 1);
	assert_int_equal(med_record_in(m, &p, "iap1", scratch, sizeof scratch, NULL), 0);
	expect_cc(&p, w->cin, w->lea[0].seq[HO_HI3] - 1);
	assert_int_equal(records_in() - r0, 1);
	assert_int_equal(seen(1, 15), 1);
	for (int i = 0; i < 2; i++) {
		p = x3(5, 1, 1);
		p.has_seq = 0;
		assert_int_equal(med_record_in(m, &p, "iap1", scratch, sizeof scratch, NULL), 0);
	}
	assert_int_equal(records_in() - r0, 3);
	assert_int_equal(dups() - d0, 1);

	uint32_t first = 100, count = 3 * MED_RUN_MAX / 2;
	for (uint32_t i = 0; i < count; i++) {
		p = x3(first + i, 3, 1);
		assert_int_equal(med_record_in(m, &p, "iap1", scratch, sizeof scratch, &run), 0);
		expect_cc(&p, w->cin, w->lea[0].seq[HO_HI3] - 1);
	}
	/* Resends of the first records, past the run's first MED_RUN_MAX. */
	for (uint32_t i = 0; i < 4; i++) {
		p = x3(first + i, 3, 1);
		assert_int_equal(med_record_in(m, &p, "iap1", scratch, sizeof scratch, &run), 0);
	}
	med_run_end(&run);
	assert_int_equal(records_in() - r0, 3 + count);
	assert_int_equal(dups() - d0, 1 + 4);
	assert_int_equal(seen(3, first + count - 1), 1);
	assert_int_equal(seen(3, first + count), 0);
}

static int end_run(void **state)
{
	(void)state;
	med_run_end(&run);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_mark, end_run),
	    cmocka_unit_test_teardown(test_run, end_run),
	    cmocka_unit_test_teardown(test_epoch_and_qualifier, end_run),
	    cmocka_unit_test_teardown(test_single_and_long, end_run),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

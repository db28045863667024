/* Unit tests for handover/queue.c and handover/keepalive.c (internals: handover/ho_int.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "handover/ho_int.h"
#include "mediation/codec/pspdu.h"

/* A keep-alive PS-PDU with sequence number seq: a real, framable record of a few dozen bytes. */
static size_t make_record(uint32_t seq, int response, uint8_t *out, size_t cap)
{
	struct med_header h;
	memset(&h, 0, sizeof h);
	memcpy(h.liid, "L1", 2);
	h.liid_len = 2;
	strcpy(h.operator_id, "op");
	h.has_cin = 1;
	h.cin = 7;
	h.seq = seq;
	h.ts_sec = 1795000000;
	h.ts_form = MED_TS_MICRO;
	h.ts_qual = MED_TSQ_NONE;
	long n = med_encode_keepalive(&h, response, out, cap);
	assert_true(n > 0);
	return (size_t)n;
}

static void test_queue_confirm_rewind(void **state)
{
	(void)state;
	struct ho_queue q;
	memset(&q, 0, sizeof q);
	uint8_t rec[256], batch[HO_BATCH_MAX];
	size_t rl = 0;
	for (uint32_t i = 0; i < 10; i++) {
		rl = make_record(i, 0, rec, sizeof rec);
		assert_int_equal(ho_queue_push(&q, rec, rl), 0);
	}
	assert_int_equal(q.rec_end, 10);
	/* whole records only: a batch of 3.5 records takes 3 */
	size_t n = ho_queue_take(&q, batch, rl * 3 + rl / 2);
	assert_int_equal(n, rl * 3);
	assert_int_equal(q.rec_sent, 3);
	/* a keep-alive after 3 records confirms them */
	uint64_t mark = ho_queue_sent_abs(&q), mark_rec = q.rec_sent;
	n = ho_queue_take(&q, batch, sizeof batch);
	assert_int_equal(n, rl * 7);
	assert_int_equal(q.rec_sent_max, 10);
	ho_queue_confirm(&q, mark, mark_rec);
	assert_int_equal(q.rec_conf, 3);
	assert_int_equal(ho_queue_unconfirmed(&q), rl * 7);
	/* link lost: the 7 unconfirmed records go out again, from seq 3 */
	ho_queue_rewind(&q);
	assert_int_equal(q.rec_sent, 3);
	n = ho_queue_take(&q, batch, sizeof batch);
	assert_int_equal(n, rl * 7);
	struct med_record r;
	char err[128];
	memset(&r, 0, sizeof r);
	assert_int_equal(med_decode(batch, rl, &r, err, sizeof err), 0);
	assert_int_equal(r.hdr.seq, 3);
	med_record_clear(&r);
	ho_queue_confirm(&q, ho_queue_sent_abs(&q), q.rec_sent);
	assert_true(ho_queue_empty(&q));
	assert_int_equal(q.rec_conf, 10);
	ho_queue_free(&q);
}

static void test_queue_limit_and_big_record(void **state)
{
	(void)state;
	struct ho_queue q;
	memset(&q, 0, sizeof q);
	q.max = 1000;
	uint8_t rec[256];
	size_t rl = make_record(0, 0, rec, sizeof rec);
	size_t fit = 1000 / rl;
	for (size_t i = 0; i < fit; i++)
		assert_int_equal(ho_queue_push(&q, rec, rl), 0);
	assert_int_equal(ho_queue_push(&q, rec, rl), HO_E_FULL);
	ho_queue_free(&q);

	/* the largest record always fits one batch */
	memset(&q, 0, sizeof q);
	uint8_t *big = malloc(MED_PSPDU_MAX), *batch = malloc(HO_BATCH_MAX);
	uint8_t *pkt = calloc(1, 65535);
	pkt[0] = 0x45;
	pkt[2] = 0xff;
	pkt[3] = 0xff;
	struct med_header h;
	memset(&h, 0, sizeof h);
	memcpy(h.liid, "L1", 2);
	h.liid_len = 2;
	strcpy(h.operator_id, "op");
	h.has_cin = 1;
	h.cin = 1;
	h.ts_form = MED_TS_BOTH;
	h.ts_qual = MED_TSQ_INTERCEPTION;
	long n = med_encode_cc(&h, MED_DIR_TO_TARGET, pkt, 65535, big, MED_PSPDU_MAX);
	assert_true(n > 65535);
	assert_int_equal(ho_queue_push(&q, big, (size_t)n), 0);
	assert_int_equal(ho_queue_take(&q, batch, HO_BATCH_MAX), (size_t)n);
	ho_queue_free(&q);
	free(big);
	free(batch);
	free(pkt);
}

/* A backlog drained in small confirmed steps, with pushes in between: records come out whole,
 * in order, across compactions and buffer growth. */
static void test_queue_backlog(void **state)
{
	(void)state;
	struct ho_queue q;
	memset(&q, 0, sizeof q);
	uint8_t rec[256], batch[2048];
	uint32_t pushed = 0, next = 0;
	for (; pushed < 3000; pushed++) {
		size_t rl = make_record(pushed, 0, rec, sizeof rec);
		assert_int_equal(ho_queue_push(&q, rec, rl), 0);
	}
	while (!ho_queue_empty(&q)) {
		size_t n = ho_queue_take(&q, batch, sizeof batch);
		assert_true(n > 0);
		for (size_t off = 0; off < n;) {
			size_t rl = 0;
			assert_int_equal(med_frame(batch + off, n - off, sizeof batch, &rl), 0);
			struct med_record r;
			char err[128];
			memset(&r, 0, sizeof r);
			assert_int_equal(med_decode(batch + off, rl, &r, err, sizeof err), 0);
			assert_int_equal(r.hdr.seq, next);
			med_record_clear(&r);
			next++;
			off += rl;
		}
		ho_queue_confirm(&q, ho_queue_sent_abs(&q), q.rec_sent);
		if (pushed < 6000) {
			size_t rl = make_record(pushed++, 0, rec, sizeof rec);
			assert_int_equal(ho_queue_push(&q, rec, rl), 0);
		}
	}
	assert_int_equal(next, pushed);
	assert_int_equal(q.rec_conf, pushed);
	ho_queue_free(&q);
}

static void test_ka_check(void **state)
{
	(void)state;
	uint8_t rec[256];
	char why[256];
	size_t n = make_record(5, 1, rec, sizeof rec);
	assert_int_equal(ho_ka_check(rec, n, 1, 5, why, sizeof why), 0);
	assert_int_equal(ho_ka_check(rec, n, 1, 6, why, sizeof why), -1);
	assert_non_null(strstr(why, "seq 5, expected 6"));
	assert_int_equal(ho_ka_check(rec, n, 0, 5, why, sizeof why), -1);
	assert_non_null(strstr(why, "without a keep-alive outstanding"));
	n = make_record(5, 0, rec, sizeof rec); /* a keep-alive, not a response */
	assert_int_equal(ho_ka_check(rec, n, 1, 5, why, sizeof why), -1);
	assert_non_null(strstr(why, "unexpected data"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_queue_confirm_rewind),
	    cmocka_unit_test(test_queue_limit_and_big_record),
	    cmocka_unit_test(test_queue_backlog),
	    cmocka_unit_test(test_ka_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

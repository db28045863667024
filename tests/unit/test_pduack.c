/* tests/unit/test_pduack.c: the PDU acknowledgement state machines (handover/pduack.h). The
 * mediator side and the LEA side are driven against each other through the real codec: every
 * PDU one side asks to send is encoded (ho_pa_encode), framed and decoded (med_decode_tri)
 * before the other side sees it. Then every error path: declined option (fallback and strict),
 * timeouts, connections lost while negotiating, out-of-order and unexpected PDUs, caller
 * errors. Time is a plain number passed in (the machines have no clock). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "handover/pduack.h"
#include "mediation/codec/pspdu.h"

static uint8_t buf[MED_PSPDU_MAX];

/* The mediator's template: a keep-alive header (placeholder LIID, CIN 0). */
static struct med_header med_tmpl(void)
{
	struct med_header h;
	memset(&h, 0, sizeof h);
	h.liid[0] = '-';
	h.liid_len = 1;
	strcpy(h.auth_cc, "NL");
	strcpy(h.deliv_cc, "NL");
	strcpy(h.operator_id, "lawtap-op");
	h.has_cin = 1;
	h.cin = 0;
	h.ts_sec = 1795000000;
	h.ts_form = MED_TS_MICRO;
	h.ts_qual = MED_TSQ_NONE;
	return h;
}

/* Encodes tx with tmpl, frames and decodes it: what the other side reads. */
static void wire(const struct ho_pa_tx *tx, const struct med_header *tmpl, struct med_tri_pdu *p)
{
	char err[160] = "";
	size_t rl = 0;
	long n = ho_pa_encode(tx, tmpl, buf, sizeof buf);
	if (n <= 0)
		fail_msg("ho_pa_encode(%s) = %ld", ho_pa_tri_name(tx->tri), n);
	assert_int_equal(med_frame(buf, (size_t)n, 0, &rl), 0);
	assert_int_equal(rl, (size_t)n);
	if (med_decode_tri(buf, (size_t)n, p, err, sizeof err) != 0)
		fail_msg("decoding %s: %s", ho_pa_tri_name(tx->tri), err);
	assert_int_equal(p->tri, tx->tri);
	assert_int_equal(p->hdr.seq, tx->seq);
}

static struct ho_spool_pos pos(uint64_t rec)
{
	struct ho_spool_pos p = {1, rec * 100, rec};
	return p;
}

/* A PDU made by hand (no encoder round trip), for the error paths. */
static struct med_tri_pdu tri(int kind, uint32_t seq)
{
	struct med_tri_pdu p;
	memset(&p, 0, sizeof p);
	p.tri = kind;
	p.hdr = med_tmpl();
	p.hdr.seq = seq;
	return p;
}

/* A connected pair: the mediator sent its optionRequest, the LEA answered, the mediator sent
 * optionComplete, and the LEA read it. Returns the mediator's mode. */
static int negotiate(struct ho_pa_med *m, struct ho_pa_col *c, int64_t now)
{
	struct ho_pa_med_ev ev;
	struct ho_pa_tx tx;
	struct med_tri_pdu p;
	struct med_header t = med_tmpl();
	char note[HO_PA_NOTE_MAX];

	assert_int_equal(ho_pa_med_connected(m, now, &ev), 0);
	assert_int_equal(ho_pa_med_mode(m), HO_PA_NEGOTIATING);
	assert_int_equal(ev.tx.tri, MED_TRI_OPTION_REQUEST);
	wire(&ev.tx, &t, &p);
	assert_int_equal(p.requested.n, 1);
	assert_int_equal(p.requested.opt[0], MED_OPT_PDU_ACK);
	assert_int_equal(ho_pa_col_on_tri(c, &p, &tx, note, sizeof note), 0);
	assert_int_equal(tx.tri, MED_TRI_OPTION_RESPONSE);
	assert_int_equal(tx.seq, ev.tx.seq);
	assert_int_equal(ho_pa_col_state(c), HO_PA_COL_RESPONDED);
	wire(&tx, &p.hdr, &p); /* the LEA answers with the request's header */
	assert_int_equal(ho_pa_med_on_pdu(m, &p, now + 5, &ev), 0);
	assert_true(ev.mode_changed);
	assert_int_equal(ev.tx.tri, MED_TRI_OPTION_COMPLETE);
	assert_int_equal(ev.confirm, 0);
	wire(&ev.tx, &t, &p);
	assert_int_equal(ho_pa_col_on_tri(c, &p, &tx, note, sizeof note), 0);
	assert_int_equal(tx.tri, MED_TRI_NONE);
	return ho_pa_med_mode(m);
}

static void test_negotiate_and_acknowledge(void **state)
{
	(void)state;
	struct ho_pa_med m;
	struct ho_pa_col c;
	struct ho_pa_med_ev ev, ev2;
	struct ho_pa_tx tx;
	struct med_tri_pdu p;
	struct med_header t = med_tmpl();
	char note[HO_PA_NOTE_MAX];
	struct ho_pa_med_conf mc = {.timeout_ms = 30000, .max_outstanding = 4};
	struct ho_pa_col_conf cc = {.accept = 1};

	ho_pa_med_init(&m, &mc);
	ho_pa_col_init(&c, &cc);
	assert_int_equal(ho_pa_med_mode(&m), HO_PA_DOWN);
	assert_int_equal(negotiate(&m, &c, 1000), HO_PA_ACTIVE);
	assert_int_equal(ho_pa_col_state(&c), HO_PA_COL_ACTIVE);

	/* Records 0..9 written, a request; records 10..14, another: both outstanding. */
	for (int i = 0; i < 10; i++)
		ho_pa_col_on_record(&c, note, sizeof note);
	assert_true(ho_pa_med_can_request(&m));
	struct ho_spool_pos p10 = pos(10), p15 = pos(15);
	assert_int_equal(ho_pa_med_request(&m, 2000, &p10, &ev), 0);
	assert_int_equal(ev.tx.tri, MED_TRI_PDU_ACK_REQUEST);
	assert_int_equal(ev.tx.seq, 2); /* optionRequest 0, optionComplete 1 */
	assert_int_equal(ho_pa_med_request(&m, 2100, &p15, &ev2), 0);
	assert_int_equal(ev2.tx.seq, 3);
	assert_int_equal(ho_pa_med_outstanding(&m), 2);
	assert_int_equal(ho_pa_med_requested(&m).rec, 15);
	assert_int_equal(ho_pa_med_deadline(&m), 2000 + 30000);

	/* The LEA answers each after storing what came before (flush_first). */
	struct med_tri_pdu r1, r2;
	wire(&ev.tx, &t, &p);
	assert_int_equal(ho_pa_col_on_tri(&c, &p, &tx, note, sizeof note), 0);
	assert_int_equal(tx.tri, MED_TRI_PDU_ACK_RESPONSE);
	assert_int_equal(tx.seq, 2);
	assert_true(tx.flush_first);
	wire(&tx, &p.hdr, &r1);
	wire(&ev2.tx, &t, &p);
	assert_int_equal(ho_pa_col_on_tri(&c, &p, &tx, note, sizeof note), 0);
	wire(&tx, &p.hdr, &r2);

	assert_int_equal(ho_pa_med_on_pdu(&m, &r1, 2500, &ev), 0);
	assert_true(ev.confirm);
	assert_int_equal(ev.pos.rec, 10);
	assert_int_equal(ev.pos.off, 1000);
	assert_int_equal(ev.tx.tri, MED_TRI_NONE);
	assert_int_equal(ho_pa_med_deadline(&m), 2100 + 30000);
	assert_int_equal(ho_pa_med_on_pdu(&m, &r2, 2600, &ev), 0);
	assert_true(ev.confirm);
	assert_int_equal(ev.pos.rec, 15);
	assert_int_equal(ho_pa_med_outstanding(&m), 0);
	assert_int_equal(ho_pa_med_deadline(&m), INT64_MAX);

	/* A request with nothing new (a drain) is allowed; its answer confirms the same place. */
	assert_int_equal(ho_pa_med_request(&m, 2700, &p15, &ev), 0);
	wire(&ev.tx, &t, &p);
	assert_int_equal(ho_pa_col_on_tri(&c, &p, &tx, note, sizeof note), 0);
	wire(&tx, &p.hdr, &p);
	assert_int_equal(ho_pa_med_on_pdu(&m, &p, 2800, &ev), 0);
	assert_int_equal(ev.pos.rec, 15);

	/* In pdu-ack mode an idle keep-alive shows liveness only: it confirms nothing. */
	struct ho_spool_pos p20 = pos(20);
	assert_int_equal(ho_pa_med_keepalive(&m, 3000, &p20, &ev), 0);
	assert_int_equal(ev.tx.tri, MED_TRI_KEEPALIVE);
	assert_int_equal(ev.tx.seq, 5);
	assert_true(ho_pa_med_keepalive_out(&m));
	wire(&ev.tx, &t, &p);
	assert_int_equal(ho_pa_col_on_tri(&c, &p, &tx, note, sizeof note), 0);
	assert_int_equal(tx.tri, MED_TRI_KEEPALIVE_RESP);
	assert_true(tx.flush_first);
	wire(&tx, &p.hdr, &p);
	assert_int_equal(ho_pa_med_on_pdu(&m, &p, 3100, &ev), 0);
	assert_int_equal(ev.confirm, 0);
	assert_false(ho_pa_med_keepalive_out(&m));

	/* A new connection numbers its TRI PDUs from 0 again and negotiates again. */
	ho_pa_med_dropped(&m, 4000);
	assert_int_equal(ho_pa_med_mode(&m), HO_PA_DOWN);
	ho_pa_col_init(&c, &cc);
	assert_int_equal(ho_pa_med_connected(&m, 5000, &ev), 0);
	assert_int_equal(ev.tx.tri, MED_TRI_OPTION_REQUEST);
	assert_int_equal(ev.tx.seq, 0);
	assert_int_equal(ho_pa_med_outstanding(&m), 0);
	assert_int_equal(ho_pa_med_requested(&m).rec, 0);
}

/* Fills ev with the mediator's pending optionRequest answered by a LEA that declines. */
static void declined_answer(struct ho_pa_med *m, int64_t now, struct med_tri_pdu *ans)
{
	struct ho_pa_col c;
	struct ho_pa_col_conf cc = {.accept = 0};
	struct ho_pa_med_ev ev;
	struct ho_pa_tx tx;
	struct med_tri_pdu p;
	struct med_header t = med_tmpl();
	char note[HO_PA_NOTE_MAX];
	ho_pa_col_init(&c, &cc);
	assert_int_equal(ho_pa_med_connected(m, now, &ev), 0);
	assert_int_equal(ev.tx.tri, MED_TRI_OPTION_REQUEST);
	wire(&ev.tx, &t, &p);
	assert_int_equal(ho_pa_col_on_tri(&c, &p, &tx, note, sizeof note), 0);
	assert_int_equal(tx.acc.n, 0);
	assert_int_equal(tx.dec.n, 1);
	wire(&tx, &p.hdr, ans);
	assert_true(med_option_has(&ans->declined, MED_OPT_PDU_ACK));
	assert_false(med_option_has(&ans->accepted, MED_OPT_PDU_ACK));
}

static void test_declined_fallback(void **state)
{
	(void)state;
	struct ho_pa_med m;
	struct ho_pa_col c;
	struct ho_pa_med_ev ev;
	struct ho_pa_tx tx;
	struct med_tri_pdu p;
	struct med_header t = med_tmpl();
	char note[HO_PA_NOTE_MAX];
	struct ho_pa_med_conf mc = {.timeout_ms = 10000, .renegotiate_ms = 60000};
	struct ho_pa_col_conf off = {.accept = 0};

	ho_pa_med_init(&m, &mc);
	ho_pa_col_init(&c, &off);
	assert_int_equal(negotiate(&m, &c, 0), HO_PA_KEEPALIVE);
	assert_int_equal(ho_pa_col_state(&c), HO_PA_COL_OFF);

	/* Keepalive mode: no pDUAcknowledgementRequest; a keep-alive's answer confirms. */
	struct ho_spool_pos p7 = pos(7), p9 = pos(9);
	assert_false(ho_pa_med_can_request(&m));
	assert_int_equal(ho_pa_med_request(&m, 100, &p7, &ev), HO_PA_E_STATE);
	assert_int_equal(ho_pa_med_keepalive(&m, 100, &p7, &ev), 0);
	struct ho_pa_med_ev other;
	assert_int_equal(ho_pa_med_keepalive(&m, 100, &p9, &other), HO_PA_E_STATE);
	wire(&ev.tx, &t, &p);
	assert_int_equal(ho_pa_col_on_tri(&c, &p, &tx, note, sizeof note), 0);
	wire(&tx, &p.hdr, &p);
	assert_int_equal(ho_pa_med_on_pdu(&m, &p, 200, &ev), 0);
	assert_true(ev.confirm);
	assert_int_equal(ev.pos.rec, 7);

	/* The LEA (off) refuses a pDUAcknowledgementRequest. */
	struct med_tri_pdu rq = tri(MED_TRI_PDU_ACK_REQUEST, 9);
	assert_int_equal(ho_pa_col_on_tri(&c, &rq, &tx, note, sizeof note), HO_PA_E_PROTO);
	assert_non_null(strstr(note, "without PDU acknowledgement negotiated"));

	/* Fallback memory: within renegotiate_ms a new connection does not ask. */
	ho_pa_med_dropped(&m, 1000);
	assert_int_equal(ho_pa_med_connected(&m, 2000, &ev), 0);
	assert_int_equal(ho_pa_med_mode(&m), HO_PA_KEEPALIVE);
	assert_int_equal(ev.tx.tri, MED_TRI_NONE);
	assert_non_null(strstr(ev.note, "declined"));
	/* TRI numbering still from 0 on the new connection. */
	assert_int_equal(ho_pa_med_keepalive(&m, 2000, &p9, &ev), 0);
	assert_int_equal(ev.tx.seq, 0);
	ho_pa_med_dropped(&m, 3000);
	/* The decline came at 5: the memory lasts until 5 + renegotiate_ms, then the next
	 * connection asks again. */
	assert_int_equal(ho_pa_med_connected(&m, 60004, &ev), 0);
	assert_int_equal(ho_pa_med_mode(&m), HO_PA_KEEPALIVE);
	ho_pa_med_dropped(&m, 60004);
	assert_int_equal(ho_pa_med_connected(&m, 60005, &ev), 0);
	assert_int_equal(ho_pa_med_mode(&m), HO_PA_NEGOTIATING);
	assert_int_equal(ev.tx.tri, MED_TRI_OPTION_REQUEST);
}

static void test_declined_strict(void **state)
{
	(void)state;
	struct ho_pa_med m;
	struct ho_pa_med_ev ev;
	struct med_tri_pdu ans;
	struct ho_pa_med_conf mc = {.timeout_ms = 10000, .strict = 1};
	ho_pa_med_init(&m, &mc);
	declined_answer(&m, 0, &ans);
	assert_int_equal(ho_pa_med_on_pdu(&m, &ans, 10, &ev), HO_PA_E_DECLINED);
	assert_int_equal(ho_pa_med_mode(&m), HO_PA_FAILED);
	assert_int_equal(ev.tx.tri, MED_TRI_NONE); /* no optionComplete */
	assert_non_null(strstr(ev.note, "declined"));
	/* Failed: nothing else is accepted on this connection. */
	assert_int_equal(ho_pa_med_on_pdu(&m, &ans, 20, &ev), HO_PA_E_STATE);
	struct ho_spool_pos p0 = pos(0);
	assert_int_equal(ho_pa_med_keepalive(&m, 20, &p0, &ev), HO_PA_E_STATE);
	/* Strict keeps asking on every connection. */
	ho_pa_med_dropped(&m, 30);
	declined_answer(&m, 40, &ans);
	assert_int_equal(ho_pa_med_mode(&m), HO_PA_NEGOTIATING);
}

/* An answer that does not mention pDUAcknowledgement counts as declined. */
static void test_not_mentioned(void **state)
{
	(void)state;
	struct ho_pa_med m;
	struct ho_pa_med_ev ev;
	struct ho_pa_med_conf mc = {.timeout_ms = 10000};
	ho_pa_med_init(&m, &mc);
	assert_int_equal(ho_pa_med_connected(&m, 0, &ev), 0);
	struct med_tri_pdu ans = tri(MED_TRI_OPTION_RESPONSE, ev.tx.seq);
	assert_int_equal(ho_pa_med_on_pdu(&m, &ans, 10, &ev), 0);
	assert_int_equal(ho_pa_med_mode(&m), HO_PA_KEEPALIVE);
	assert_int_equal(ev.tx.tri, MED_TRI_OPTION_COMPLETE);
	assert_non_null(strstr(ev.note, "did not accept"));
}

static void test_negotiation_timeout(void **state)
{
	(void)state;
	struct ho_pa_med m;
	struct ho_pa_col c;
	struct ho_pa_med_ev ev;
	struct ho_pa_tx tx;
	struct med_tri_pdu p, late;
	struct med_header t = med_tmpl();
	char note[HO_PA_NOTE_MAX];
	struct ho_pa_med_conf mc = {.timeout_ms = 30000, .renegotiate_ms = 600000};
	struct ho_pa_col_conf cc = {.accept = 1};

	ho_pa_med_init(&m, &mc);
	ho_pa_col_init(&c, &cc);
	assert_int_equal(ho_pa_med_connected(&m, 1000, &ev), 0);
	assert_int_equal(ho_pa_med_deadline(&m), 31000);
	/* The LEA reads the request; its answer is late. */
	wire(&ev.tx, &t, &p);
	assert_int_equal(ho_pa_col_on_tri(&c, &p, &tx, note, sizeof note), 0);
	wire(&tx, &p.hdr, &late);
	assert_int_equal(ho_pa_med_tick(&m, 30999, &ev), 0);
	assert_int_equal(ho_pa_med_mode(&m), HO_PA_NEGOTIATING);
	assert_false(ev.mode_changed);
	assert_int_equal(ho_pa_med_tick(&m, 31000, &ev), 0);
	assert_true(ev.mode_changed);
	assert_int_equal(ho_pa_med_mode(&m), HO_PA_KEEPALIVE);
	assert_int_equal(ev.tx.tri, MED_TRI_NONE); /* no optionComplete after a timeout */
	assert_non_null(strstr(ev.note, "no optionResponse within 30 s"));
	assert_int_equal(ho_pa_med_deadline(&m), INT64_MAX);
	/* The late answer is ignored once; a second one breaks the protocol. */
	assert_int_equal(ho_pa_med_on_pdu(&m, &late, 32000, &ev), 0);
	assert_non_null(strstr(ev.note, "late optionResponse"));
	assert_int_equal(ho_pa_med_mode(&m), HO_PA_KEEPALIVE);
	/* The LEA sees records without optionComplete: the negotiation was given up. */
	ho_pa_col_on_record(&c, note, sizeof note);
	assert_int_equal(ho_pa_col_state(&c), HO_PA_COL_OFF);
	assert_non_null(strstr(note, "gave up"));
	ho_pa_col_on_record(&c, note, sizeof note);
	assert_string_equal(note, "");
	assert_int_equal(ho_pa_med_on_pdu(&m, &late, 33000, &ev), HO_PA_E_PROTO);
	assert_int_equal(ho_pa_med_mode(&m), HO_PA_FAILED);
	/* Fallback memory after the timeout. */
	ho_pa_med_dropped(&m, 34000);
	assert_int_equal(ho_pa_med_connected(&m, 35000, &ev), 0);
	assert_int_equal(ho_pa_med_mode(&m), HO_PA_KEEPALIVE);
	assert_non_null(strstr(ev.note, "no optionResponse"));

	/* Strict: the timeout fails the connection. */
	mc.strict = 1;
	ho_pa_med_init(&m, &mc);
	assert_int_equal(ho_pa_med_connected(&m, 0, &ev), 0);
	assert_int_equal(ho_pa_med_tick(&m, 30000, &ev), HO_PA_E_TIMEOUT);
	assert_int_equal(ho_pa_med_mode(&m), HO_PA_FAILED);
}

static void test_drops_while_negotiating(void **state)
{
	(void)state;
	struct ho_pa_med m;
	struct ho_pa_col c;
	struct ho_pa_med_ev ev;
	struct ho_pa_med_conf mc = {.timeout_ms = 30000, .renegotiate_ms = 100000};
	struct ho_pa_col_conf cc = {.accept = 1};
	ho_pa_med_init(&m, &mc);

	/* One loss, then a successful negotiation: the count starts over. */
	assert_int_equal(ho_pa_med_connected(&m, 0, &ev), 0);
	ho_pa_med_dropped(&m, 10);
	ho_pa_col_init(&c, &cc);
	assert_int_equal(negotiate(&m, &c, 20), HO_PA_ACTIVE);
	ho_pa_med_dropped(&m, 30);
	assert_int_equal(ho_pa_med_connected(&m, 40, &ev), 0);
	ho_pa_med_dropped(&m, 50);
	assert_int_equal(ho_pa_med_connected(&m, 60, &ev), 0);
	assert_int_equal(ho_pa_med_mode(&m), HO_PA_NEGOTIATING);
	/* Two losses in a row while negotiating (a LEMF that hangs up on an optionRequest):
	 * the next connections run in keepalive mode without asking. */
	ho_pa_med_dropped(&m, 70);
	assert_int_equal(ho_pa_med_connected(&m, 80, &ev), 0);
	assert_int_equal(ho_pa_med_mode(&m), HO_PA_KEEPALIVE);
	assert_non_null(strstr(ev.note, "lost 2 times while negotiating"));
	ho_pa_med_dropped(&m, 90);
	assert_int_equal(ho_pa_med_connected(&m, 100070, &ev), 0);
	assert_int_equal(ho_pa_med_mode(&m), HO_PA_NEGOTIATING);

	/* Strict never stops asking. */
	mc.strict = 1;
	ho_pa_med_init(&m, &mc);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(ho_pa_med_connected(&m, i * 10, &ev), 0);
		assert_int_equal(ho_pa_med_mode(&m), HO_PA_NEGOTIATING);
		ho_pa_med_dropped(&m, i * 10 + 5);
	}
}

static void test_out_of_order_and_bad_responses(void **state)
{
	(void)state;
	struct ho_pa_med m;
	struct ho_pa_col c;
	struct ho_pa_med_ev ev, e1, e2;
	struct ho_pa_med_conf mc = {.timeout_ms = 30000};
	struct ho_pa_col_conf cc = {.accept = 1};
	struct ho_spool_pos p1 = pos(1), p2 = pos(2);

	/* The second request's response first: out of order. */
	ho_pa_med_init(&m, &mc);
	ho_pa_col_init(&c, &cc);
	assert_int_equal(negotiate(&m, &c, 0), HO_PA_ACTIVE);
	assert_int_equal(ho_pa_med_request(&m, 10, &p1, &e1), 0);
	assert_int_equal(ho_pa_med_request(&m, 20, &p2, &e2), 0);
	struct med_tri_pdu r = tri(MED_TRI_PDU_ACK_RESPONSE, e2.tx.seq);
	assert_int_equal(ho_pa_med_on_pdu(&m, &r, 30, &ev), HO_PA_E_PROTO);
	assert_int_equal(ev.confirm, 0);
	assert_non_null(strstr(ev.note, "expected"));
	assert_int_equal(ho_pa_med_mode(&m), HO_PA_FAILED);
	assert_int_equal(ho_pa_med_request(&m, 40, &p2, &ev), HO_PA_E_STATE);
	assert_int_equal(ho_pa_med_tick(&m, 100000, &ev), 0); /* failed: no more timeouts */

	/* A response with no request outstanding. */
	ho_pa_med_dropped(&m, 50);
	ho_pa_col_init(&c, &cc);
	assert_int_equal(negotiate(&m, &c, 60), HO_PA_ACTIVE);
	r = tri(MED_TRI_PDU_ACK_RESPONSE, 2);
	assert_int_equal(ho_pa_med_on_pdu(&m, &r, 70, &ev), HO_PA_E_PROTO);
	assert_non_null(strstr(ev.note, "without a request outstanding"));

	/* optionResponse with the wrong seq; contradictory; accepting an unknown option. */
	for (int k = 0; k < 3; k++) {
		ho_pa_med_init(&m, &mc);
		assert_int_equal(ho_pa_med_connected(&m, 0, &ev), 0);
		struct med_tri_pdu a = tri(MED_TRI_OPTION_RESPONSE, ev.tx.seq);
		a.accepted.n = 1;
		a.accepted.opt[0] = MED_OPT_PDU_ACK;
		const char *want = NULL;
		if (k == 0) {
			a.hdr.seq = 7;
			want = "optionResponse seq 7, expected 0";
		} else if (k == 1) {
			a.declined = a.accepted;
			want = "both accepted and declined";
		} else {
			a.accepted.unknown = 1;
			want = "did not request";
		}
		assert_int_equal(ho_pa_med_on_pdu(&m, &a, 10, &ev), HO_PA_E_PROTO);
		assert_non_null(strstr(ev.note, want));
		assert_int_equal(ev.tx.tri, MED_TRI_NONE);
	}

	/* Keep-alive responses: none outstanding; wrong seq. */
	ho_pa_med_init(&m, &mc);
	ho_pa_col_init(&c, &cc);
	assert_int_equal(negotiate(&m, &c, 0), HO_PA_ACTIVE);
	r = tri(MED_TRI_KEEPALIVE_RESP, 2);
	assert_int_equal(ho_pa_med_on_pdu(&m, &r, 10, &ev), HO_PA_E_PROTO);
	assert_non_null(strstr(ev.note, "without a keep-alive outstanding"));
	ho_pa_med_dropped(&m, 20);
	ho_pa_col_init(&c, &cc);
	assert_int_equal(negotiate(&m, &c, 30), HO_PA_ACTIVE);
	assert_int_equal(ho_pa_med_keepalive(&m, 40, &p1, &e1), 0);
	r = tri(MED_TRI_KEEPALIVE_RESP, e1.tx.seq + 1);
	assert_int_equal(ho_pa_med_on_pdu(&m, &r, 50, &ev), HO_PA_E_PROTO);
	assert_non_null(strstr(ev.note, "keep-alive response seq"));
}

static void fallback_by_timeout(struct ho_pa_med *m)
{
	struct ho_pa_med_ev ev;
	assert_int_equal(ho_pa_med_connected(m, 0, &ev), 0);
	assert_int_equal(ho_pa_med_tick(m, 30000, &ev), 0);
	assert_int_equal(ho_pa_med_mode(m), HO_PA_KEEPALIVE);
}

static void test_unexpected_pdus_mediator(void **state)
{
	(void)state;
	struct ho_pa_med m;
	struct ho_pa_col c;
	struct ho_pa_med_ev ev;
	struct ho_pa_med_conf mc = {.timeout_ms = 30000};
	struct ho_pa_col_conf cc = {.accept = 1};
	/* Kinds a LEA must never send, in each mode. */
	static const int bad[] = {MED_TRI_NONE,
	                          MED_TRI_KEEPALIVE,
	                          MED_TRI_OPTION_REQUEST,
	                          MED_TRI_OPTION_COMPLETE,
	                          MED_TRI_PDU_ACK_REQUEST,
	                          MED_TRI_TEST,
	                          MED_TRI_OTHER};
	for (int mode = 0; mode < 3; mode++) {
		for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
			ho_pa_med_init(&m, &mc);
			ho_pa_col_init(&c, &cc);
			if (mode == 0)
				assert_int_equal(ho_pa_med_connected(&m, 0, &ev), 0);
			else if (mode == 1)
				assert_int_equal(negotiate(&m, &c, 0), HO_PA_ACTIVE);
			else /* keepalive mode after a negotiation timeout */
				fallback_by_timeout(&m);
			struct med_tri_pdu p = tri(bad[i], 0);
			assert_int_equal(ho_pa_med_on_pdu(&m, &p, 10, &ev), HO_PA_E_PROTO);
			assert_non_null(strstr(ev.note, "unexpected"));
			assert_non_null(strstr(ev.note, ho_pa_tri_name(bad[i])));
			assert_int_equal(ho_pa_med_mode(&m), HO_PA_FAILED);
		}
	}
	/* Responses in the wrong mode. */
	ho_pa_med_init(&m, &mc);
	assert_int_equal(ho_pa_med_connected(&m, 0, &ev), 0);
	struct med_tri_pdu p = tri(MED_TRI_PDU_ACK_RESPONSE, 0);
	assert_int_equal(ho_pa_med_on_pdu(&m, &p, 10, &ev), HO_PA_E_PROTO);
	ho_pa_med_init(&m, &mc);
	assert_int_equal(ho_pa_med_connected(&m, 0, &ev), 0);
	p = tri(MED_TRI_KEEPALIVE_RESP, 0);
	assert_int_equal(ho_pa_med_on_pdu(&m, &p, 10, &ev), HO_PA_E_PROTO);
	ho_pa_med_init(&m, &mc);
	ho_pa_col_init(&c, &cc);
	assert_int_equal(negotiate(&m, &c, 0), HO_PA_ACTIVE);
	p = tri(MED_TRI_OPTION_RESPONSE, 0); /* a second answer */
	assert_int_equal(ho_pa_med_on_pdu(&m, &p, 10, &ev), HO_PA_E_PROTO);
	/* Not connected: caller error. */
	ho_pa_med_init(&m, &mc);
	assert_int_equal(ho_pa_med_on_pdu(&m, &p, 10, &ev), HO_PA_E_STATE);
	assert_int_equal(ho_pa_med_on_pdu(&m, NULL, 10, &ev), HO_PA_E_STATE);
}

static void test_timeouts_active(void **state)
{
	(void)state;
	struct ho_pa_med m;
	struct ho_pa_col c;
	struct ho_pa_med_ev ev;
	struct ho_pa_med_conf mc = {.timeout_ms = 5000};
	struct ho_pa_col_conf cc = {.accept = 1};
	struct ho_spool_pos p1 = pos(1), p2 = pos(2);

	ho_pa_med_init(&m, &mc);
	ho_pa_col_init(&c, &cc);
	assert_int_equal(negotiate(&m, &c, 0), HO_PA_ACTIVE);
	assert_int_equal(ho_pa_med_request(&m, 1000, &p1, &ev), 0);
	assert_int_equal(ho_pa_med_request(&m, 2000, &p2, &ev), 0);
	assert_int_equal(ho_pa_med_deadline(&m), 6000);
	assert_int_equal(ho_pa_med_tick(&m, 5999, &ev), 0);
	assert_int_equal(ho_pa_med_tick(&m, 6000, &ev), HO_PA_E_TIMEOUT);
	assert_non_null(strstr(ev.note, "no pDUAcknowledgementResponse to seq 2 within 5 s"));
	assert_int_equal(ho_pa_med_mode(&m), HO_PA_FAILED);

	/* A keep-alive's deadline, earlier than a request's. */
	ho_pa_med_dropped(&m, 7000);
	ho_pa_col_init(&c, &cc);
	assert_int_equal(negotiate(&m, &c, 8000), HO_PA_ACTIVE);
	assert_int_equal(ho_pa_med_keepalive(&m, 9000, &p1, &ev), 0);
	assert_int_equal(ho_pa_med_request(&m, 9500, &p1, &ev), 0);
	assert_int_equal(ho_pa_med_deadline(&m), 14000);
	assert_int_equal(ho_pa_med_tick(&m, 14000, &ev), HO_PA_E_TIMEOUT);
	assert_non_null(strstr(ev.note, "no keep-alive response"));

	/* Keepalive (fallback) mode: the keep-alive deadline too. */
	ho_pa_med_init(&m, &mc);
	assert_int_equal(ho_pa_med_connected(&m, 0, &ev), 0);
	assert_int_equal(ho_pa_med_tick(&m, 5000, &ev), 0);
	assert_int_equal(ho_pa_med_mode(&m), HO_PA_KEEPALIVE);
	assert_int_equal(ho_pa_med_keepalive(&m, 6000, &p1, &ev), 0);
	assert_int_equal(ho_pa_med_deadline(&m), 11000);
	assert_int_equal(ho_pa_med_tick(&m, 11000, &ev), HO_PA_E_TIMEOUT);
}

static void test_caller_errors(void **state)
{
	(void)state;
	struct ho_pa_med m;
	struct ho_pa_col c;
	struct ho_pa_med_ev ev;
	struct ho_pa_med_conf mc = {.timeout_ms = 5000, .max_outstanding = 2};
	struct ho_pa_col_conf cc = {.accept = 1};
	struct ho_spool_pos p1 = pos(1), p2 = pos(2), p3 = pos(3);

	ho_pa_med_init(&m, &mc);
	/* Down: nothing may be sent. */
	assert_int_equal(ho_pa_med_request(&m, 0, &p1, &ev), HO_PA_E_STATE);
	assert_int_equal(ho_pa_med_keepalive(&m, 0, &p1, &ev), HO_PA_E_STATE);
	/* Negotiating: neither requests nor keep-alives. */
	assert_int_equal(ho_pa_med_connected(&m, 0, &ev), 0);
	assert_false(ho_pa_med_can_request(&m));
	assert_int_equal(ho_pa_med_request(&m, 0, &p1, &ev), HO_PA_E_STATE);
	assert_int_equal(ho_pa_med_keepalive(&m, 0, &p1, &ev), HO_PA_E_STATE);
	ho_pa_med_dropped(&m, 1);
	ho_pa_col_init(&c, &cc);
	assert_int_equal(negotiate(&m, &c, 10), HO_PA_ACTIVE);
	/* max_outstanding, positions going back, one keep-alive at a time, NULL. */
	assert_int_equal(ho_pa_med_request(&m, 20, &p2, &ev), 0);
	assert_int_equal(ho_pa_med_request(&m, 20, &p1, &ev), HO_PA_E_STATE);
	assert_int_equal(ho_pa_med_request(&m, 20, &p3, &ev), 0);
	assert_false(ho_pa_med_can_request(&m));
	assert_int_equal(ho_pa_med_request(&m, 20, &p3, &ev), HO_PA_E_STATE);
	assert_int_equal(ev.tx.tri, MED_TRI_NONE);
	assert_int_equal(ho_pa_med_request(&m, 20, NULL, &ev), HO_PA_E_STATE);
	assert_int_equal(ho_pa_med_keepalive(&m, 20, &p3, &ev), 0);
	assert_int_equal(ho_pa_med_keepalive(&m, 20, &p3, &ev), HO_PA_E_STATE);
	assert_int_equal(ho_pa_med_mode(&m), HO_PA_ACTIVE); /* caller errors change nothing */
	assert_int_equal(ho_pa_med_outstanding(&m), 2);

	/* Out-of-range configuration falls back to the defaults. */
	struct ho_pa_med_conf wild = {.timeout_ms = -1, .max_outstanding = 1000};
	ho_pa_med_init(&m, &wild);
	ho_pa_col_init(&c, &cc);
	assert_int_equal(negotiate(&m, &c, 0), HO_PA_ACTIVE);
	for (int i = 0; i < HO_PA_OUT_DEFAULT; i++)
		assert_int_equal(ho_pa_med_request(&m, 0, &p1, &ev), 0);
	assert_false(ho_pa_med_can_request(&m));
	ho_pa_med_init(&m, NULL);
	assert_int_equal(ho_pa_med_connected(&m, 0, &ev), 0);
	assert_int_equal(ho_pa_med_deadline(&m), 30000);

	/* Encoding nothing, or a kind the machines never send. */
	struct ho_pa_tx tx;
	struct med_header t = med_tmpl();
	memset(&tx, 0, sizeof tx);
	tx.tri = MED_TRI_NONE;
	assert_int_equal(ho_pa_encode(&tx, &t, buf, sizeof buf), MED_E_ARG);
	tx.tri = MED_TRI_TEST;
	assert_int_equal(ho_pa_encode(&tx, &t, buf, sizeof buf), MED_E_ARG);
	tx.tri = MED_TRI_OPTION_COMPLETE;
	assert_int_equal(ho_pa_encode(&tx, NULL, buf, sizeof buf), MED_E_ARG);
	assert_int_equal(ho_pa_encode(NULL, &t, buf, sizeof buf), MED_E_ARG);
	assert_int_equal(ho_pa_encode(&tx, &t, buf, 10), MED_E_SPACE);
}

static void test_lea_side(void **state)
{
	(void)state;
	struct ho_pa_col c;
	struct ho_pa_tx tx;
	char note[HO_PA_NOTE_MAX];
	struct ho_pa_col_conf cc = {.accept = 1};

	/* Before any negotiation: optionComplete and pDUAcknowledgementRequest are errors. */
	ho_pa_col_init(&c, &cc);
	struct med_tri_pdu p = tri(MED_TRI_OPTION_COMPLETE, 1);
	assert_int_equal(ho_pa_col_on_tri(&c, &p, &tx, note, sizeof note), HO_PA_E_PROTO);
	assert_non_null(strstr(note, "without an optionResponse"));
	p = tri(MED_TRI_PDU_ACK_REQUEST, 1);
	assert_int_equal(ho_pa_col_on_tri(&c, &p, &tx, note, sizeof note), HO_PA_E_PROTO);
	assert_int_equal(tx.tri, MED_TRI_NONE);
	/* Records are fine in any state; keep-alives are always answered. */
	ho_pa_col_on_record(&c, note, sizeof note);
	assert_int_equal(ho_pa_col_state(&c), HO_PA_COL_INIT);
	p = tri(MED_TRI_KEEPALIVE, 77);
	assert_int_equal(ho_pa_col_on_tri(&c, &p, &tx, note, sizeof note), 0);
	assert_int_equal(tx.tri, MED_TRI_KEEPALIVE_RESP);
	assert_int_equal(tx.seq, 77);
	/* TRI kinds without meaning here are ignored with a note. */
	static const int ignored[] = {
	    MED_TRI_KEEPALIVE_RESP, MED_TRI_TEST,      MED_TRI_PADDING, MED_TRI_FIRST_SEGMENT,
	    MED_TRI_LAST_SEGMENT,   MED_TRI_CIN_RESET, MED_TRI_OTHER};
	for (size_t i = 0; i < sizeof ignored / sizeof ignored[0]; i++) {
		p = tri(ignored[i], 3);
		assert_int_equal(ho_pa_col_on_tri(&c, &p, &tx, note, sizeof note), 0);
		assert_int_equal(tx.tri, MED_TRI_NONE);
		assert_non_null(strstr(note, "ignored"));
	}
	/* Answers a mediator never sends. */
	p = tri(MED_TRI_OPTION_RESPONSE, 3);
	assert_int_equal(ho_pa_col_on_tri(&c, &p, &tx, note, sizeof note), HO_PA_E_PROTO);
	p = tri(MED_TRI_PDU_ACK_RESPONSE, 3);
	assert_int_equal(ho_pa_col_on_tri(&c, &p, &tx, note, sizeof note), HO_PA_E_PROTO);
	p = tri(MED_TRI_NONE, 3);
	assert_int_equal(ho_pa_col_on_tri(&c, &p, &tx, note, sizeof note), HO_PA_E_STATE);
	assert_int_equal(ho_pa_col_on_tri(&c, NULL, &tx, note, sizeof note), HO_PA_E_STATE);

	/* An optionRequest without pDUAcknowledgement, with an unknown option: answered with
	 * empty lists, and a note. A second optionRequest is refused. */
	p = tri(MED_TRI_OPTION_REQUEST, 4);
	p.requested.unknown = 2;
	assert_int_equal(ho_pa_col_on_tri(&c, &p, &tx, note, sizeof note), 0);
	assert_int_equal(tx.tri, MED_TRI_OPTION_RESPONSE);
	assert_int_equal(tx.acc.n + tx.dec.n, 0);
	assert_non_null(strstr(note, "2 unknown option"));
	assert_int_equal(ho_pa_col_on_tri(&c, &p, &tx, note, sizeof note), HO_PA_E_PROTO);
	assert_non_null(strstr(note, "second optionRequest"));
	/* pDUAcknowledgementRequest before optionComplete. */
	p = tri(MED_TRI_PDU_ACK_REQUEST, 5);
	assert_int_equal(ho_pa_col_on_tri(&c, &p, &tx, note, sizeof note), HO_PA_E_PROTO);
	p = tri(MED_TRI_OPTION_COMPLETE, 5);
	assert_int_equal(ho_pa_col_on_tri(&c, &p, &tx, note, sizeof note), 0);
	assert_int_equal(ho_pa_col_state(&c), HO_PA_COL_OFF);
	assert_non_null(strstr(note, "not used"));
	/* A second optionComplete. */
	assert_int_equal(ho_pa_col_on_tri(&c, &p, &tx, note, sizeof note), HO_PA_E_PROTO);

	/* Requested twice in one list: accepted once. */
	ho_pa_col_init(&c, &cc);
	p = tri(MED_TRI_OPTION_REQUEST, 0);
	p.requested.n = 2;
	assert_int_equal(ho_pa_col_on_tri(&c, &p, &tx, note, sizeof note), 0);
	assert_int_equal(tx.acc.n, 1);
	assert_int_equal(tx.acc.opt[0], MED_OPT_PDU_ACK);
	assert_int_equal(tx.dec.n, 0);
	assert_string_equal(note, "");
}

/* The codec on an optionRequest carrying an option outside the profile (a future Option
 * alternative [5] NULL) and more options than lawtap reads. */
static void test_foreign_option_lists(void **state)
{
	(void)state;
	struct ho_pa_tx tx;
	struct med_tri_pdu p;
	struct med_header t = med_tmpl();
	char err[160];
	memset(&tx, 0, sizeof tx);
	tx.tri = MED_TRI_OPTION_REQUEST;
	tx.req.n = 1;
	tx.req.opt[0] = MED_OPT_PDU_ACK;
	long n = ho_pa_encode(&tx, &t, buf, sizeof buf);
	assert_true(n > 8);
	/* ... a9 04 a0 02 80 00: make room for "85 00" after the option. */
	assert_memory_equal(buf + n - 6, ((uint8_t[]){0xa9, 0x04, 0xa0, 0x02, 0x80, 0x00}), 6);
	uint8_t big[256];
	memcpy(big, buf, (size_t)n);
	big[n - 5] = 0x06;
	big[n - 3] = 0x04;
	big[n] = 0x85;
	big[n + 1] = 0x00;
	/* every enclosing length grows by 2: PS-PDU, payload [2], tRIPayload wrapper */
	big[1] = (uint8_t)(big[1] + 2);
	assert_true(big[n - 7] < 0x80 && big[n - 9] < 0x80);
	big[n - 7] = (uint8_t)(big[n - 7] + 2);
	big[n - 9] = (uint8_t)(big[n - 9] + 2);
	if (med_decode_tri(big, (size_t)n + 2, &p, err, sizeof err) != 0)
		fail_msg("foreign option: %s", err);
	assert_int_equal(p.tri, MED_TRI_OPTION_REQUEST);
	assert_int_equal(p.requested.n, 1);
	assert_int_equal(p.requested.unknown, 1);
	/* A LEA answers the option it knows. */
	struct ho_pa_col c;
	struct ho_pa_col_conf cc = {.accept = 1};
	char note[HO_PA_NOTE_MAX];
	ho_pa_col_init(&c, &cc);
	assert_int_equal(ho_pa_col_on_tri(&c, &p, &tx, note, sizeof note), 0);
	assert_int_equal(tx.acc.n, 1);
	assert_non_null(strstr(note, "1 unknown option"));
}

/* ---- randomized sessions ----
 * Both machines connected by two in-order queues (a TLS connection), driven by a seeded PRNG
 * (deterministic): records written, requests and keep-alives, PDUs delivered in random
 * interleavings, time passing, connections lost at random, the LEA accepting or declining.
 * Invariants: an honest pair never breaks the protocol; every confirmation covers only records
 * the LEA had received before it answered, and never moves the cursor back; once the link
 * stays up, everything gets confirmed. */
#define SIM_RECS 400
#define SIM_QMAX 256

struct sim_item {
	int rec; /* >= 0: a record (its number); -1: a TRI PDU in bytes */
	size_t len;
	uint8_t b[96];
};

struct sim_q {
	struct sim_item it[SIM_QMAX];
	size_t head, n;
};

static uint64_t sim_rng;
static uint32_t sim_rand(uint32_t n)
{
	sim_rng = sim_rng * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t)(sim_rng >> 33) % n;
}

static void q_push(struct sim_q *q, int rec, const struct ho_pa_tx *tx, const struct med_header *t)
{
	assert_true(q->n < SIM_QMAX);
	struct sim_item *it = &q->it[(q->head + q->n) % SIM_QMAX];
	it->rec = rec;
	it->len = 0;
	if (tx) {
		long n = ho_pa_encode(tx, t, it->b, sizeof it->b);
		assert_true(n > 0);
		it->len = (size_t)n;
	}
	q->n++;
}

static struct sim_item *q_pop(struct sim_q *q)
{
	if (q->n == 0)
		return NULL;
	struct sim_item *it = &q->it[q->head];
	q->head = (q->head + 1) % SIM_QMAX;
	q->n--;
	return it;
}

struct sim {
	struct ho_pa_med m;
	struct ho_pa_col c;
	struct sim_q m2c, c2m;
	int up;
	uint64_t cursor;  /* confirmed: every record before it */
	uint64_t written; /* next record to write on this connection */
	uint8_t received[SIM_RECS];
	int64_t now;
	unsigned confirms, fallbacks, actives, drops;
};

static void sim_drop(struct sim *s)
{
	ho_pa_med_dropped(&s->m, s->now);
	s->up = 0;
	s->m2c.n = s->c2m.n = 0;
	s->drops++;
}

static void sim_connect(struct sim *s, int accept)
{
	struct ho_pa_med_ev ev;
	struct ho_pa_col_conf cc = {.accept = accept};
	struct med_header t = med_tmpl();
	ho_pa_col_init(&s->c, &cc);
	s->m2c.head = s->m2c.n = s->c2m.head = s->c2m.n = 0;
	assert_int_equal(ho_pa_med_connected(&s->m, s->now, &ev), 0);
	s->up = 1;
	s->written = s->cursor; /* unconfirmed records first, in order */
	if (ev.tx.tri != MED_TRI_NONE)
		q_push(&s->m2c, -1, &ev.tx, &t);
}

/* A mediator event: 0 to go on, 1 when the connection was dropped (timeout). */
static int sim_med_ev(struct sim *s, int rc, const struct ho_pa_med_ev *ev)
{
	struct med_header t = med_tmpl();
	if (rc == HO_PA_E_TIMEOUT) {
		sim_drop(s);
		return 1;
	}
	if (rc != 0)
		fail_msg("mediator: %d %s", rc, ev->note);
	if (ev->mode_changed && ho_pa_med_mode(&s->m) == HO_PA_KEEPALIVE)
		s->fallbacks++;
	if (ev->mode_changed && ho_pa_med_mode(&s->m) == HO_PA_ACTIVE)
		s->actives++;
	if (ev->confirm) {
		assert_true(ev->pos.rec >= s->cursor); /* never back */
		assert_true(ev->pos.rec <= s->written);
		for (uint64_t r = 0; r < ev->pos.rec; r++)
			if (!s->received[r])
				fail_msg("record %llu confirmed but never received",
				         (unsigned long long)r);
		s->cursor = ev->pos.rec;
		s->confirms++;
	}
	if (ev->tx.tri != MED_TRI_NONE)
		q_push(&s->m2c, -1, &ev->tx, &t);
	return 0;
}

static void sim_step(struct sim *s, int may_drop)
{
	struct ho_pa_med_ev ev;
	struct ho_pa_tx tx;
	struct med_tri_pdu p;
	char note[HO_PA_NOTE_MAX];
	struct ho_spool_pos w = pos(s->written);
	int mode = ho_pa_med_mode(&s->m);
	switch (sim_rand(9)) {
	case 0: /* write a record */
	case 1:
		if ((mode == HO_PA_ACTIVE || mode == HO_PA_KEEPALIVE) && s->written < SIM_RECS &&
		    s->m2c.n < SIM_QMAX - 8)
			q_push(&s->m2c, (int)s->written++, NULL, NULL);
		break;
	case 2: /* ask for confirmation */
		if (ho_pa_med_can_request(&s->m) && ho_pa_med_requested(&s->m).rec < s->written)
			sim_med_ev(s, ho_pa_med_request(&s->m, s->now, &w, &ev), &ev);
		else if (mode == HO_PA_KEEPALIVE && !ho_pa_med_keepalive_out(&s->m))
			sim_med_ev(s, ho_pa_med_keepalive(&s->m, s->now, &w, &ev), &ev);
		break;
	case 3: /* an idle keep-alive */
		if ((mode == HO_PA_ACTIVE || mode == HO_PA_KEEPALIVE) &&
		    !ho_pa_med_keepalive_out(&s->m) && sim_rand(4) == 0)
			sim_med_ev(s, ho_pa_med_keepalive(&s->m, s->now, &w, &ev), &ev);
		break;
	case 4: /* the LEA reads one PDU */
	case 5: {
		struct sim_item *it = q_pop(&s->m2c);
		if (!it)
			break;
		if (it->rec >= 0) {
			s->received[it->rec] = 1;
			ho_pa_col_on_record(&s->c, note, sizeof note);
			break;
		}
		assert_int_equal(med_decode_tri(it->b, it->len, &p, NULL, 0), 0);
		int rc = ho_pa_col_on_tri(&s->c, &p, &tx, note, sizeof note);
		if (rc != 0)
			fail_msg("LEA: %d %s", rc, note);
		if (tx.tri != MED_TRI_NONE)
			q_push(&s->c2m, -1, &tx, &p.hdr);
		break;
	}
	case 6: { /* the mediator reads one PDU */
		struct sim_item *it = q_pop(&s->c2m);
		if (!it)
			break;
		assert_int_equal(med_decode_tri(it->b, it->len, &p, NULL, 0), 0);
		sim_med_ev(s, ho_pa_med_on_pdu(&s->m, &p, s->now, &ev), &ev);
		break;
	}
	case 7: /* time passes */
		s->now += sim_rand(400);
		sim_med_ev(s, ho_pa_med_tick(&s->m, s->now, &ev), &ev);
		break;
	default:
		if (may_drop && sim_rand(40) == 0)
			sim_drop(s);
		break;
	}
}

static void test_random_sessions(void **state)
{
	(void)state;
	static struct sim s;
	unsigned actives = 0, fallbacks = 0;
	for (uint64_t seed = 1; seed <= 40; seed++) {
		memset(&s, 0, sizeof s);
		sim_rng = seed;
		struct ho_pa_med_conf mc = {.timeout_ms = 3000,
		                            .max_outstanding = 1 + (int)(seed % 5),
		                            .renegotiate_ms = 20000};
		ho_pa_med_init(&s.m, &mc);
		for (int i = 0; i < 6000; i++) {
			if (!s.up)
				sim_connect(&s, sim_rand(5) != 0);
			sim_step(&s, 1);
		}
		/* The link stays up now, time passes slowly: everything is confirmed. */
		if (!s.up)
			sim_connect(&s, 1);
		for (int i = 0; i < 200000 && s.cursor < SIM_RECS; i++) {
			if (!s.up)
				sim_connect(&s, 1);
			sim_step(&s, 0);
		}
		if (s.cursor != SIM_RECS)
			fail_msg("seed %llu: %llu of %d records confirmed",
			         (unsigned long long)seed, (unsigned long long)s.cursor, SIM_RECS);
		assert_true(s.confirms > 0);
		assert_true(s.drops > 0);
		actives += s.actives;
		fallbacks += s.fallbacks;
	}
	/* Both outcomes of the negotiation were exercised. */
	assert_true(actives > 40);
	assert_true(fallbacks > 40);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_negotiate_and_acknowledge),
	    cmocka_unit_test(test_declined_fallback),
	    cmocka_unit_test(test_declined_strict),
	    cmocka_unit_test(test_not_mentioned),
	    cmocka_unit_test(test_negotiation_timeout),
	    cmocka_unit_test(test_drops_while_negotiating),
	    cmocka_unit_test(test_out_of_order_and_bad_responses),
	    cmocka_unit_test(test_unexpected_pdus_mediator),
	    cmocka_unit_test(test_timeouts_active),
	    cmocka_unit_test(test_caller_errors),
	    cmocka_unit_test(test_lea_side),
	    cmocka_unit_test(test_foreign_option_lists),
	    cmocka_unit_test(test_random_sessions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

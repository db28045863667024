/* handover/pduack.c: the PDU acknowledgement state machines (pduack.h, docs/pdu-ack.md). Pure:
 * the caller owns the socket, the clock and the spool. */
#include "pduack.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void note(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void note(char *buf, size_t len, const char *fmt, ...)
{
	if (!buf || len == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

const char *ho_pa_tri_name(int tri)
{
	switch (tri) {
	case MED_TRI_NONE:
		return "a CC/IRI record";
	case MED_TRI_TEST:
		return "testPDU";
	case MED_TRI_PADDING:
		return "paddingPDU";
	case MED_TRI_KEEPALIVE:
		return "keep-alive";
	case MED_TRI_KEEPALIVE_RESP:
		return "keep-aliveResponse";
	case MED_TRI_FIRST_SEGMENT:
		return "firstSegmentFlag";
	case MED_TRI_LAST_SEGMENT:
		return "lastSegmentFlag";
	case MED_TRI_CIN_RESET:
		return "cINReset";
	case MED_TRI_OPTION_REQUEST:
		return "optionRequest";
	case MED_TRI_OPTION_RESPONSE:
		return "optionResponse";
	case MED_TRI_OPTION_COMPLETE:
		return "optionComplete";
	case MED_TRI_PDU_ACK_REQUEST:
		return "pDUAcknowledgementRequest";
	case MED_TRI_PDU_ACK_RESPONSE:
		return "pDUAcknowledgementResponse";
	default:
		return "a TRI PDU outside lawtap's profile";
	}
}

const char *ho_pa_mode_name(int mode)
{
	switch (mode) {
	case HO_PA_DOWN:
		return "down";
	case HO_PA_NEGOTIATING:
		return "negotiating";
	case HO_PA_ACTIVE:
		return "pdu-ack";
	case HO_PA_KEEPALIVE:
		return "keepalive (fallback)";
	case HO_PA_FAILED:
		return "failed";
	default:
		return "?";
	}
}

long ho_pa_encode(const struct ho_pa_tx *tx, const struct med_header *tmpl, uint8_t *out,
                  size_t cap)
{
	if (!tx || !tmpl)
		return MED_E_ARG;
	struct med_header h = *tmpl;
	h.seq = tx->seq;
	switch (tx->tri) {
	case MED_TRI_OPTION_REQUEST:
		return med_encode_option_request(&h, &tx->req, out, cap);
	case MED_TRI_OPTION_RESPONSE:
		return med_encode_option_response(&h, &tx->acc, &tx->dec, out, cap);
	case MED_TRI_OPTION_COMPLETE:
	case MED_TRI_PDU_ACK_REQUEST:
	case MED_TRI_PDU_ACK_RESPONSE:
	case MED_TRI_KEEPALIVE:
	case MED_TRI_KEEPALIVE_RESP:
		return med_encode_tri(&h, tx->tri, out, cap);
	default:
		return MED_E_ARG;
	}
}

static void tx_clear(struct ho_pa_tx *tx)
{
	memset(tx, 0, sizeof *tx);
	tx->tri = MED_TRI_NONE;
}

static int pos_before(const struct ho_spool_pos *a, const struct ho_spool_pos *b)
{
	return a->rec < b->rec;
}

/* ================================ mediator side ================================ */

static void ev_clear(struct ho_pa_med_ev *ev)
{
	memset(ev, 0, sizeof *ev);
	tx_clear(&ev->tx);
}

static void med_reset_conn(struct ho_pa_med *m)
{
	m->mode = HO_PA_DOWN;
	m->next_seq = 0;
	m->opt_seq = 0;
	m->opt_deadline = 0;
	m->late_ok = 0;
	m->out_head = m->out_n = 0;
	memset(&m->last_pos, 0, sizeof m->last_pos);
	m->ka_out = 0;
}

void ho_pa_med_init(struct ho_pa_med *m, const struct ho_pa_med_conf *conf)
{
	memset(m, 0, sizeof *m);
	if (conf)
		m->conf = *conf;
	if (m->conf.timeout_ms <= 0)
		m->conf.timeout_ms = 30000;
	if (m->conf.max_outstanding <= 0 || m->conf.max_outstanding > HO_PA_OUT_MAX)
		m->conf.max_outstanding = HO_PA_OUT_DEFAULT;
	if (m->conf.renegotiate_ms <= 0)
		m->conf.renegotiate_ms = HO_PA_RENEGOTIATE_DEFAULT_MS;
	m->conf.strict = m->conf.strict ? 1 : 0;
	med_reset_conn(m);
}

int ho_pa_med_mode(const struct ho_pa_med *m)
{
	return m->mode;
}

size_t ho_pa_med_outstanding(const struct ho_pa_med *m)
{
	return m->out_n;
}

struct ho_spool_pos ho_pa_med_requested(const struct ho_pa_med *m)
{
	return m->last_pos;
}

int ho_pa_med_keepalive_out(const struct ho_pa_med *m)
{
	return m->ka_out;
}

int ho_pa_med_can_request(const struct ho_pa_med *m)
{
	return m->mode == HO_PA_ACTIVE && m->out_n < (size_t)m->conf.max_outstanding;
}

/* Starts the fallback memory: connections until now + renegotiate_ms skip the negotiation. */
static void remember_fallback(struct ho_pa_med *m, int64_t now, const char *why)
{
	if (m->conf.strict)
		return;
	m->skip_until = now + m->conf.renegotiate_ms;
	snprintf(m->skip_why, sizeof m->skip_why, "%s", why);
	m->neg_drops = 0;
}

int ho_pa_med_connected(struct ho_pa_med *m, int64_t now, struct ho_pa_med_ev *ev)
{
	ev_clear(ev);
	med_reset_conn(m);
	if (!m->conf.strict && now < m->skip_until) {
		m->mode = HO_PA_KEEPALIVE;
		ev->mode_changed = 1;
		note(ev->note, sizeof ev->note,
		     "pdu-ack not negotiated on this connection (%s; asking again in %lld s): "
		     "keepalive mode",
		     m->skip_why, (long long)((m->skip_until - now + 999) / 1000));
		return 0;
	}
	/* TS 102 232-1 option negotiation: the mediator (the sender) asks first. */
	m->mode = HO_PA_NEGOTIATING;
	m->opt_seq = m->next_seq++;
	m->opt_deadline = now + m->conf.timeout_ms;
	ev->mode_changed = 1;
	ev->tx.tri = MED_TRI_OPTION_REQUEST;
	ev->tx.seq = m->opt_seq;
	ev->tx.req.n = 1;
	ev->tx.req.opt[0] = MED_OPT_PDU_ACK;
	return 0;
}

void ho_pa_med_dropped(struct ho_pa_med *m, int64_t now)
{
	if (m->mode == HO_PA_NEGOTIATING && !m->conf.strict && ++m->neg_drops >= HO_PA_NEG_DROPS) {
		char why[96];
		snprintf(why, sizeof why, "the connection was lost %d times while negotiating",
		         m->neg_drops);
		remember_fallback(m, now, why);
	}
	med_reset_conn(m);
}

/* Any error: the connection is done. */
static int med_fail(struct ho_pa_med *m, struct ho_pa_med_ev *ev, int rc)
{
	m->mode = HO_PA_FAILED;
	ev->mode_changed = 1;
	tx_clear(&ev->tx);
	ev->confirm = 0;
	return rc;
}

int ho_pa_med_request(struct ho_pa_med *m, int64_t now, const struct ho_spool_pos *written,
                      struct ho_pa_med_ev *ev)
{
	ev_clear(ev);
	if (!written || !ho_pa_med_can_request(m) || pos_before(written, &m->last_pos))
		return HO_PA_E_STATE;
	struct ho_pa_out *o = &m->out[(m->out_head + m->out_n) % HO_PA_OUT_MAX];
	o->seq = m->next_seq++;
	o->pos = *written;
	o->deadline = now + m->conf.timeout_ms;
	m->out_n++;
	m->last_pos = *written;
	ev->tx.tri = MED_TRI_PDU_ACK_REQUEST;
	ev->tx.seq = o->seq;
	return 0;
}

int ho_pa_med_keepalive(struct ho_pa_med *m, int64_t now, const struct ho_spool_pos *written,
                        struct ho_pa_med_ev *ev)
{
	ev_clear(ev);
	if (!written || m->ka_out || (m->mode != HO_PA_ACTIVE && m->mode != HO_PA_KEEPALIVE))
		return HO_PA_E_STATE;
	m->ka_out = 1;
	m->ka.seq = m->next_seq++;
	m->ka.pos = *written;
	m->ka.deadline = now + m->conf.timeout_ms;
	ev->tx.tri = MED_TRI_KEEPALIVE;
	ev->tx.seq = m->ka.seq;
	return 0;
}

static int on_option_response(struct ho_pa_med *m, const struct med_tri_pdu *p, int64_t now,
                              struct ho_pa_med_ev *ev)
{
	if (p->hdr.seq != m->opt_seq) {
		note(ev->note, sizeof ev->note, "optionResponse seq %u, expected %u", p->hdr.seq,
		     m->opt_seq);
		return med_fail(m, ev, HO_PA_E_PROTO);
	}
	int acc = med_option_has(&p->accepted, MED_OPT_PDU_ACK);
	int dec = med_option_has(&p->declined, MED_OPT_PDU_ACK);
	if (acc && dec) {
		note(ev->note, sizeof ev->note,
		     "optionResponse lists pDUAcknowledgement as both accepted and declined");
		return med_fail(m, ev, HO_PA_E_PROTO);
	}
	if (p->accepted.unknown > 0) {
		note(ev->note, sizeof ev->note,
		     "optionResponse accepts %zu option(s) lawtap did not request",
		     p->accepted.unknown);
		return med_fail(m, ev, HO_PA_E_PROTO);
	}
	if (!acc && m->conf.strict) {
		note(ev->note, sizeof ev->note,
		     "the LEA %s pDUAcknowledgement and ack_mode pdu-ack allows no fallback",
		     dec ? "declined" : "did not accept");
		return med_fail(m, ev, HO_PA_E_DECLINED);
	}
	/* Negotiation over, whatever the outcome: optionComplete puts the accepted options in
	 * force (docs/pdu-ack.md, assumption A2). */
	ev->tx.tri = MED_TRI_OPTION_COMPLETE;
	ev->tx.seq = m->next_seq++;
	ev->mode_changed = 1;
	if (acc) {
		m->mode = HO_PA_ACTIVE;
		m->neg_drops = 0;
		m->skip_until = 0;
		note(ev->note, sizeof ev->note, "pdu-ack negotiated: PDU acknowledgement in force");
	} else {
		m->mode = HO_PA_KEEPALIVE;
		const char *why = dec ? "the LEA declined pDUAcknowledgement"
		                      : "the LEA did not accept pDUAcknowledgement";
		remember_fallback(m, now, why);
		note(ev->note, sizeof ev->note, "%s: keepalive mode (asked again in %lld s)", why,
		     (long long)(m->conf.renegotiate_ms / 1000));
	}
	return 0;
}

int ho_pa_med_on_pdu(struct ho_pa_med *m, const struct med_tri_pdu *p, int64_t now,
                     struct ho_pa_med_ev *ev)
{
	ev_clear(ev);
	if (!p || m->mode == HO_PA_DOWN || m->mode == HO_PA_FAILED)
		return HO_PA_E_STATE;
	switch (p->tri) {
	case MED_TRI_OPTION_RESPONSE:
		if (m->mode == HO_PA_NEGOTIATING)
			return on_option_response(m, p, now, ev);
		if (m->mode == HO_PA_KEEPALIVE && m->late_ok && p->hdr.seq == m->opt_seq) {
			m->late_ok = 0;
			note(ev->note, sizeof ev->note,
			     "late optionResponse (seq %u) ignored: negotiation had timed out, "
			     "staying in keepalive mode",
			     p->hdr.seq);
			return 0;
		}
		break;
	case MED_TRI_PDU_ACK_RESPONSE:
		if (m->mode != HO_PA_ACTIVE)
			break;
		if (m->out_n == 0) {
			note(ev->note, sizeof ev->note,
			     "pDUAcknowledgementResponse seq %u without a request outstanding",
			     p->hdr.seq);
			return med_fail(m, ev, HO_PA_E_PROTO);
		}
		if (p->hdr.seq != m->out[m->out_head].seq) {
			note(ev->note, sizeof ev->note,
			     "pDUAcknowledgementResponse seq %u, expected %u (responses come in "
			     "request order)",
			     p->hdr.seq, m->out[m->out_head].seq);
			return med_fail(m, ev, HO_PA_E_PROTO);
		}
		ev->confirm = 1;
		ev->pos = m->out[m->out_head].pos;
		m->out_head = (m->out_head + 1) % HO_PA_OUT_MAX;
		m->out_n--;
		return 0;
	case MED_TRI_KEEPALIVE_RESP:
		if (m->mode != HO_PA_ACTIVE && m->mode != HO_PA_KEEPALIVE)
			break;
		if (!m->ka_out) {
			note(ev->note, sizeof ev->note,
			     "keep-alive response seq %u without a keep-alive outstanding",
			     p->hdr.seq);
			return med_fail(m, ev, HO_PA_E_PROTO);
		}
		if (p->hdr.seq != m->ka.seq) {
			note(ev->note, sizeof ev->note, "keep-alive response seq %u, expected %u",
			     p->hdr.seq, m->ka.seq);
			return med_fail(m, ev, HO_PA_E_PROTO);
		}
		m->ka_out = 0;
		/* Only in keepalive mode does a keep-alive's answer confirm records. */
		if (m->mode == HO_PA_KEEPALIVE) {
			ev->confirm = 1;
			ev->pos = m->ka.pos;
		}
		return 0;
	default:
		break;
	}
	note(ev->note, sizeof ev->note, "unexpected %s (seq %u) from the LEA in %s mode",
	     ho_pa_tri_name(p->tri), p->hdr.seq, ho_pa_mode_name(m->mode));
	return med_fail(m, ev, HO_PA_E_PROTO);
}

int ho_pa_med_tick(struct ho_pa_med *m, int64_t now, struct ho_pa_med_ev *ev)
{
	ev_clear(ev);
	long long secs = (long long)(m->conf.timeout_ms / 1000);
	if (m->mode == HO_PA_NEGOTIATING && now >= m->opt_deadline) {
		if (m->conf.strict) {
			note(ev->note, sizeof ev->note,
			     "no optionResponse within %lld s and ack_mode pdu-ack allows no "
			     "fallback",
			     secs);
			return med_fail(m, ev, HO_PA_E_TIMEOUT);
		}
		m->mode = HO_PA_KEEPALIVE;
		m->late_ok = 1;
		ev->mode_changed = 1;
		char why[96];
		snprintf(why, sizeof why, "no optionResponse within %lld s", secs);
		remember_fallback(m, now, why);
		note(ev->note, sizeof ev->note, "%s: keepalive mode (asked again in %lld s)", why,
		     (long long)(m->conf.renegotiate_ms / 1000));
		return 0;
	}
	if (m->mode == HO_PA_ACTIVE && m->out_n > 0 && now >= m->out[m->out_head].deadline) {
		note(ev->note, sizeof ev->note,
		     "no pDUAcknowledgementResponse to seq %u within %lld s",
		     m->out[m->out_head].seq, secs);
		return med_fail(m, ev, HO_PA_E_TIMEOUT);
	}
	if ((m->mode == HO_PA_ACTIVE || m->mode == HO_PA_KEEPALIVE) && m->ka_out &&
	    now >= m->ka.deadline) {
		note(ev->note, sizeof ev->note, "no keep-alive response to seq %u within %lld s",
		     m->ka.seq, secs);
		return med_fail(m, ev, HO_PA_E_TIMEOUT);
	}
	return 0;
}

int64_t ho_pa_med_deadline(const struct ho_pa_med *m)
{
	int64_t d = INT64_MAX;
	if (m->mode == HO_PA_NEGOTIATING)
		d = m->opt_deadline;
	if (m->mode == HO_PA_ACTIVE && m->out_n > 0 && m->out[m->out_head].deadline < d)
		d = m->out[m->out_head].deadline;
	if ((m->mode == HO_PA_ACTIVE || m->mode == HO_PA_KEEPALIVE) && m->ka_out &&
	    m->ka.deadline < d)
		d = m->ka.deadline;
	return d;
}

/* ================================ LEA side ================================ */

void ho_pa_col_init(struct ho_pa_col *c, const struct ho_pa_col_conf *conf)
{
	memset(c, 0, sizeof *c);
	if (conf)
		c->conf = *conf;
	c->state = HO_PA_COL_INIT;
}

int ho_pa_col_state(const struct ho_pa_col *c)
{
	return c->state;
}

void ho_pa_col_on_record(struct ho_pa_col *c, char *notebuf, size_t notelen)
{
	if (notebuf && notelen)
		notebuf[0] = '\0';
	if (c->state == HO_PA_COL_RESPONDED) {
		c->state = HO_PA_COL_OFF;
		note(notebuf, notelen,
		     "records before optionComplete: the mediator gave up the option negotiation, "
		     "no PDU acknowledgement on this connection");
	}
}

int ho_pa_col_on_tri(struct ho_pa_col *c, const struct med_tri_pdu *p, struct ho_pa_tx *tx,
                     char *notebuf, size_t notelen)
{
	tx_clear(tx);
	if (notebuf && notelen)
		notebuf[0] = '\0';
	if (!p || p->tri == MED_TRI_NONE)
		return HO_PA_E_STATE;
	switch (p->tri) {
	case MED_TRI_KEEPALIVE:
		tx->tri = MED_TRI_KEEPALIVE_RESP;
		tx->seq = p->hdr.seq;
		tx->flush_first = 1;
		return 0;
	case MED_TRI_OPTION_REQUEST: {
		if (c->state != HO_PA_COL_INIT) {
			note(notebuf, notelen, "a second optionRequest (seq %u) on this connection",
			     p->hdr.seq);
			return HO_PA_E_PROTO;
		}
		/* Answer every option requested that lawtap knows (one entry each); unknown
		 * ones cannot be echoed (their contents were skipped by the decoder). */
		int want = med_option_has(&p->requested, MED_OPT_PDU_ACK);
		c->accepted = want && c->conf.accept;
		tx->tri = MED_TRI_OPTION_RESPONSE;
		tx->seq = p->hdr.seq;
		if (want) {
			struct med_option_list *l = c->accepted ? &tx->acc : &tx->dec;
			l->opt[l->n++] = MED_OPT_PDU_ACK;
		}
		if (p->requested.unknown)
			note(notebuf, notelen,
			     "optionRequest seq %u: %zu unknown option(s) neither accepted nor "
			     "declined",
			     p->hdr.seq, p->requested.unknown);
		c->state = HO_PA_COL_RESPONDED;
		return 0;
	}
	case MED_TRI_OPTION_COMPLETE:
		if (c->state != HO_PA_COL_RESPONDED) {
			note(notebuf, notelen, "optionComplete (seq %u) without an optionResponse",
			     p->hdr.seq);
			return HO_PA_E_PROTO;
		}
		c->state = c->accepted ? HO_PA_COL_ACTIVE : HO_PA_COL_OFF;
		note(notebuf, notelen, "option negotiation complete: PDU acknowledgement %s",
		     c->accepted ? "in force" : "not used");
		return 0;
	case MED_TRI_PDU_ACK_REQUEST:
		if (c->state != HO_PA_COL_ACTIVE) {
			note(notebuf, notelen,
			     "pDUAcknowledgementRequest (seq %u) without PDU acknowledgement "
			     "negotiated",
			     p->hdr.seq);
			return HO_PA_E_PROTO;
		}
		tx->tri = MED_TRI_PDU_ACK_RESPONSE;
		tx->seq = p->hdr.seq;
		tx->flush_first = 1;
		return 0;
	case MED_TRI_OPTION_RESPONSE:
	case MED_TRI_PDU_ACK_RESPONSE:
		note(notebuf, notelen, "unexpected %s (seq %u) from the mediator",
		     ho_pa_tri_name(p->tri), p->hdr.seq);
		return HO_PA_E_PROTO;
	default:
		note(notebuf, notelen, "%s (seq %u) ignored", ho_pa_tri_name(p->tri), p->hdr.seq);
		return 0;
	}
}
